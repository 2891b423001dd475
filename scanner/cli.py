"""The ``sovscan`` command: flags → ScanConfig → pipeline → exporters. No logic of its own."""

from __future__ import annotations

import io
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import date
from functools import partial
from pathlib import Path
from typing import NoReturn, TextIO

import click

from scanner import __version__
from scanner.core.config import ScanConfig, country_code, default_cache_dir, source_date_epoch
from scanner.core.errors import ScannerError, UsageError
from scanner.core.model import ScanResult
from scanner.core.shipped_data import keep_parsed_in
from scanner.hashing.digest import default_jobs
from scanner.sbom.exporters import EXPORTERS, FORMAT_NAMES
from scanner.sbom.rendering import Authorship

EXIT_INTERNAL = 70
#: Exit code of a scan stopped by Ctrl-C (128 + SIGINT) or by SIGTERM (128 + 15).
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143

_SPEC_VERSIONS = ("1.5", "1.6", "1.7")

_EPILOG_TEMPLATE = """\b
Targets:
  PATH                      a model folder or a single model file
  hf:ORG/NAME[@REV]         a Hugging Face Hub repo (metadata only; no weights downloaded)
  https://huggingface.co/ORG/NAME[/tree/REV]
  hf-cache: / hf-cache:DIR  every model in the local Hugging Face cache (default or DIR)
\b
Output (-o is repeatable; the format follows the suffix, else --format):
{outputs}
  -                         standard output, in --format
  no -o                     the human summary on standard output
\b
Nothing scanned is ever loaded or run: pickles, PyTorch / NumPy / Keras archives, ONNX
external data and chat templates are analysed statically; what loading a file would run
is reported as findings SEC001-SEC008 and counted as code of unknown origin, and a file
that runs dangerous code fails every tier (SEC100). --accept FILE accepts reviewed files
by SHA-256, rule, reason, author and expiry.
\b
Deny lists of the adversary tier: US, 15 CFR 791.4; RU, order 430-r as amended; any
other jurisdiction needs --deny. A registry pin on a model is checked against its
manifest digest (the SHA-256 of its files' sha256sum listing, sorted by path).
\b
Exit codes:
  0  no --policy, or the policy passes   1  the --policy tier FAILs (outputs written)
  2  usage error, unreadable target or   3  the --policy verdict is UNKNOWN
     a target with nothing to scan
  4  network failure, nothing to report  70 internal error (please report it)
  130 interrupted (Ctrl-C; 143 on SIGTERM): no output is written
\b
Outputs are byte-stable: the same model gives the same BOM, SARIF and Markdown bytes
whatever path reached it. Environment: SOURCE_DATE_EPOCH adds a BOM timestamp (there is
none otherwise); SOVSCAN_CACHE_DIR moves the cache; SOVSCAN_INDEX_URL names the package
index (as --index-url).
"""
_EPILOG = _EPILOG_TEMPLATE.replace(
    "{outputs}",
    "\n".join(
        f"  {' / '.join('x' + suffix for suffix in exporter.suffixes):<25} {exporter.summary}"
        for exporter in EXPORTERS
    ),
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sovscan")
def cli() -> None:
    """Where did this model come from? Scan AI models into a CycloneDX ML-BOM."""


@cli.command(epilog=_EPILOG)
@click.argument("targets", nargs=-1, required=True, metavar="TARGET...")
@click.option(
    "-o",
    "--output",
    "outputs",
    multiple=True,
    metavar="FILE",
    help="Write a document to FILE ('-' for stdout); repeatable.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMAT_NAMES),
    help="Format for -o files without a known suffix, or for stdout.",
)
@click.option(
    "--spec-version",
    type=click.Choice(_SPEC_VERSIONS),
    default="1.6",
    show_default=True,
    help="CycloneDX specification version.",
)
@click.option(
    "--author",
    "authors",
    multiple=True,
    metavar="'NAME <EMAIL>'",
    help="Who authored the BOM (CycloneDX metadata.authors, SPDX creators); repeatable.",
)
@click.option(
    "--manufacturer",
    metavar="NAME",
    help="The organisation that made the BOM (CycloneDX 1.6+ metadata.manufacturer).",
)
@click.option("--name", help="Name of the scanned model (ORG/NAME or NAME); default: the folder.")
@click.option("--offline", is_flag=True, help="Never touch the network (enforced).")
@click.option("--no-cache", is_flag=True, help="Do not read or write the persistent hash cache.")
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Cache folder [default: $SOVSCAN_CACHE_DIR or ~/.cache/sovscan].",
)
@click.option("-j", "--jobs", type=click.IntRange(1, 64), help="Parallel hashing workers.")
@click.option(
    "--hub-endpoint",
    envvar="HF_ENDPOINT",
    help="Hugging Face Hub to query and link to [env: HF_ENDPOINT; default: huggingface.co].",
)
@click.option(
    "--max-depth",
    type=click.IntRange(0, 100),
    default=10,
    show_default=True,
    help="Most base_model hops followed on the Hub.",
)
@click.option(
    "--resolve",
    is_flag=True,
    help="Also resolve on the Hub the ancestors that local folders name (with --offline: "
    "from the cache only). Hub targets are always resolved.",
)
@click.option(
    "--python",
    "python",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PYTHON",
    help="Also scan the packages installed for this interpreter (e.g. .venv/bin/python): "
    "read from its metadata, never imported.",
)
@click.option(
    "--index-url",
    envvar="SOVSCAN_INDEX_URL",
    metavar="URL",
    help="Package index for library metadata (PyPI JSON API) [env: SOVSCAN_INDEX_URL; "
    "default: https://pypi.org, asked only with --resolve, --index-url or a Hub target].",
)
@click.option(
    "--verify",
    is_flag=True,
    help="hf-cache: rehash blobs instead of trusting their SHA-256 names, and compare them "
    "with the Hub's hashes (unless --offline).",
)
@click.option(
    "--policy",
    metavar="TIER|FILE",
    help="Tier that decides the exit code: sovereign, national, trusted, adversary, or a "
    "profile file. Without it every tier is reported and the exit code reflects errors only.",
)
@click.option(
    "--jurisdiction",
    default="RU",
    show_default=True,
    metavar="XX",
    help="ISO 3166-1 alpha-2 country the tiers are evaluated for.",
)
@click.option(
    "--deny",
    metavar="XX,YY",
    multiple=True,
    help="Countries for the adversary screen, repeatable [default: the jurisdiction's list: "
    "US, 15 CFR 791.4; RU, order 430-r; none for others].",
)
@click.option(
    "--origins",
    "origins_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Your own origin entries, layered over the built-in knowledge base.",
)
@click.option(
    "--attestation",
    "attestation_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Claims no file shows (developers' citizenship, training location, …), YAML or JSON.",
)
@click.option(
    "--trusted-registry",
    "registry_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Approved components (purl or ref, with SHA-256 pins) for the trusted tier.",
)
@click.option(
    "--accept",
    "accept_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Waivers: reviewed load-analysis findings to accept, each naming a file's SHA-256, "
    "the rule, a reason, who accepted it and an expiry date.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress lines, no verdict line on stderr.")
@click.option(
    "--debug", is_flag=True, help="Log requests and cache use; show tracebacks of internal errors."
)
def scan(
    targets: tuple[str, ...],
    outputs: tuple[str, ...],
    fmt: str | None,
    spec_version: str,
    authors: tuple[str, ...],
    manufacturer: str | None,
    name: str | None,
    offline: bool,
    no_cache: bool,
    cache_dir: Path | None,
    jobs: int | None,
    hub_endpoint: str | None,
    max_depth: int,
    resolve: bool,
    python: Path | None,
    index_url: str | None,
    verify: bool,
    policy: str | None,
    jurisdiction: str,
    deny: tuple[str, ...],
    origins_file: Path | None,
    attestation_file: Path | None,
    registry_file: Path | None,
    accept_file: Path | None,
    quiet: bool,
    debug: bool,
) -> None:
    """Scan model folders or files: lineage, origins, policy verdicts and a CycloneDX ML-BOM.

    Python dependencies count too: requirements files, pyproject.toml, setup.cfg and lockfiles
    (poetry.lock, uv.lock, Pipfile.lock, pylock.toml) found in a scanned folder, and with
    --python the packages installed for an interpreter.
    """
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(message)s")
    progress = _Progress()
    previous = {
        signal.SIGINT: signal.signal(signal.SIGINT, progress.on_signal),
        signal.SIGTERM: signal.signal(signal.SIGTERM, progress.on_signal),
    }
    try:
        _check_name(name, targets)
        config = ScanConfig(
            offline=offline,
            use_cache=not no_cache,
            cache_dir=cache_dir or default_cache_dir(),
            jobs=jobs or default_jobs(),
            name=name,
            progress=not quiet,
            hub_endpoint=hub_endpoint,
            max_depth=max_depth,
            resolve=resolve,
            python=python,
            index_url=index_url or None,
            verify=verify,
            jurisdiction=country_code(jurisdiction, "--jurisdiction"),
            policy=policy,
            deny=_deny_list(deny),
            origins_file=origins_file,
            attestation_file=attestation_file,
            registry_file=registry_file,
            accept_file=accept_file,
        )
        authorship = Authorship.parse(authors, manufacturer)
        sys.exit(_scan(config, targets, outputs, fmt, spec_version, authorship, progress))
    except ScannerError as exc:
        _fail(exc.diagnostics(), exc.exit_code)
    except (KeyboardInterrupt, _Terminated):
        progress.stop()
    except Exception as exc:
        if progress.signals:
            # A library may turn the interrupt raised inside it into another error.
            progress.stop()
        if debug:
            raise
        _fail(
            f"internal error: {type(exc).__name__}: {exc}\n"
            "Run again with --debug for the traceback, and please report it.",
            EXIT_INTERNAL,
        )
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _check_name(name: str | None, targets: tuple[str, ...]) -> None:
    if name is not None and len(dict.fromkeys(targets)) > 1:
        raise UsageError("--name names one model: give it with a single target")


class _Terminated(BaseException):
    """SIGTERM: stop like Ctrl-C (readers cancelled, no partial output), exit 143."""


class _Progress:
    """What a run has done, for the message and exit code of an interrupted one."""

    def __init__(self) -> None:
        self.signals: list[int] = []
        self.written: list[str] = []

    def on_signal(self, signum: int, frame: object) -> None:
        """SIGINT raises KeyboardInterrupt, SIGTERM _Terminated; both are remembered."""
        self.signals.append(signum)
        if signum == signal.SIGTERM:
            raise _Terminated
        raise KeyboardInterrupt

    def stop(self) -> NoReturn:
        """Exit 130 (Ctrl-C) or 143 (SIGTERM), saying what was written."""
        terminated = signal.SIGTERM in self.signals
        what = "terminated" if terminated else "interrupted"
        done = (
            f"after writing {', '.join(self.written)}" if self.written else "no output was written"
        )
        _fail(f"{what}; {done}", EXIT_TERMINATED if terminated else EXIT_INTERRUPTED)


def _deny_list(given: tuple[str, ...]) -> tuple[str, ...] | None:
    """Every country of every ``--deny`` (None when none was given: the default list)."""
    if not given:
        return None
    codes = [
        country_code(part, "--deny") for raw in given for part in raw.split(",") if part.strip()
    ]
    if not codes:
        raise UsageError("--deny: give at least one country code")
    return tuple(dict.fromkeys(codes))


def _scan(
    config: ScanConfig,
    raw_targets: tuple[str, ...],
    outputs: tuple[str, ...],
    fmt: str | None,
    spec_version: str,
    authorship: Authorship,
    progress: _Progress,
) -> int:
    """Run the scan, write every output, and return the exit code the chosen policy implies."""
    # Heavy modules (cyclonedx, and huggingface_hub later) load only once a scan really runs.
    from scanner.core.offline import network_blocked
    from scanner.pipeline import run
    from scanner.policy.rules import RULES
    from scanner.sbom.exporters import STDOUT_DEFAULT, exporter_for_path, exporter_named
    from scanner.sbom.rendering import RenderOptions
    from scanner.sources.targets import parse_target

    keep_parsed_in(config.cache_dir)
    targets = [parse_target(raw) for raw in dict.fromkeys(raw_targets)]
    chosen = exporter_named(fmt) if fmt else None
    plan = [(path, exporter_for_path(path, chosen)) for path in outputs]
    if not plan:
        plan = [("-", chosen or STDOUT_DEFAULT)]
    stdout_count = sum(1 for path, _ in plan if path == "-")
    if stdout_count > 1:
        raise UsageError("only one output can go to standard output")
    timestamp = source_date_epoch()
    options = RenderOptions(
        spec_version=spec_version,
        timestamp=timestamp,
        rules=RULES,
        schema_cache=config.cache_dir / "schemas",
        authorship=authorship,
    )
    with network_blocked() if config.offline else nullcontext():
        result = run(config, targets)
        # Each document is validated as it is rendered and staged beside its path; none is put
        # in place before all are: a document that fails validation is never written. Only one
        # document is held in memory at a time (a BOM of 100,000 files is ~100 MB of text).
        with _Staged() as staged:
            for path, exporter in plan:
                staged.add(path, partial(exporter.write, result, options))
            with _signals_held():
                staged.commit()
                progress.written = [path for path, _ in plan if path != "-"]
    if staged.stdout is not None:
        click.echo(staged.stdout, nl=not staged.stdout.endswith("\n"))
    code = exit_code(result)
    if outputs and code != 0 and config.progress:
        for line in gate_lines(result, [path for path in outputs if path != "-"]):
            click.echo(f"sovscan: {line}", err=True)
    return code


def gate_lines(result: ScanResult, written: list[str]) -> list[str]:
    """What a CI log shows when the chosen tier does not pass and the report went to files:
    dangerous code first, then the tier's verdict, its first reason and where the rest is."""
    from scanner.policy.rules import DANGEROUS_CODE_RULE
    from scanner.sbom.summary import plain

    lines = [
        f"DANGEROUS {plain(finding.message)}"
        for finding in result.findings
        if finding.rule_id == DANGEROUS_CODE_RULE and finding.accepted is None
    ]
    for verdict in result.verdicts:
        if verdict.tier != result.policy:
            continue
        first = plain(verdict.reasons[0]) if verdict.reasons else "no reason given"
        deciding = sum(1 for f in result.findings if verdict.tier in f.tiers and f.accepted is None)
        where = f"; see {', '.join(written)}" if written else ""
        lines.append(
            f"{verdict.tier}: {verdict.verdict} — {first.removeprefix(f'{verdict.verdict}: ')} "
            f"({deciding} finding(s) to act on{where})"
        )
    return lines


#: Exit codes of a chosen policy's verdict (the README's "Exit codes").
VERDICT_EXIT_CODES = {"PASS": 0, "NOT-APPLICABLE": 0, "FAIL": 1, "UNKNOWN": 3}


def exit_code(result: ScanResult) -> int:
    """0 without a chosen policy; else what its verdict means: FAIL 1, UNKNOWN 3, PASS 0."""
    if result.policy is None:
        return 0
    for verdict in result.verdicts:
        if verdict.tier == result.policy:
            return VERDICT_EXIT_CODES[verdict.verdict]
    return VERDICT_EXIT_CODES["UNKNOWN"]  # fail closed: a chosen tier that was not evaluated


@cli.group()
def origins() -> None:
    """Explore the knowledge base: which organisation and country an id maps to, and why."""


_origins_file_option = click.option(
    "--origins",
    "origins_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Your own origin entries, layered over the built-in knowledge base.",
)


@origins.command("show")
@click.argument("identifier", metavar="ID")
@_origins_file_option
def origins_show(identifier: str, origins_file: Path | None) -> None:
    """Explain ID: a Hub namespace, PyPI package, GitHub org, domain, e-mail or licence."""
    from scanner.assess import knowledge_base
    from scanner.origins.explain import explain

    try:
        click.echo(explain(knowledge_base(origins_file), identifier).rstrip("\n"))
    except ScannerError as exc:
        _fail(exc.diagnostics(), exc.exit_code)


@origins.command("list")
@click.option("--country", metavar="XX", help="Only entries of this country.")
@_origins_file_option
def origins_list(country: str | None, origins_file: Path | None) -> None:
    """List the knowledge base's entries (organisation, country, confidence)."""
    from scanner.assess import knowledge_base
    from scanner.origins.explain import list_entries

    try:
        code = country_code(country, "--country") if country else None
        click.echo(list_entries(knowledge_base(origins_file), code, None).rstrip("\n"))
    except ScannerError as exc:
        _fail(exc.diagnostics(), exc.exit_code)


@origins.command("stats")
@click.option(
    "--top",
    type=click.IntRange(1, 1000),
    default=10,
    show_default=True,
    help="How many countries to list by name.",
)
@_origins_file_option
def origins_stats(top: int, origins_file: Path | None) -> None:
    """Coverage of the knowledge base: entries by kind, steward kind, country and source age
    (entries older than 12 months are stale), and PyPI packages with a licence."""
    from scanner.assess import knowledge_base
    from scanner.origins.coverage import stats

    try:
        click.echo(stats(knowledge_base(origins_file), date.today(), top).rstrip("\n"))
    except ScannerError as exc:
        _fail(exc.diagnostics(), exc.exit_code)


@origins.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@_origins_file_option
def origins_check(file: Path, origins_file: Path | None) -> None:
    """Which packages of FILE (requirements*.txt, pyproject.toml, setup.cfg, uv.lock,
    poetry.lock, Pipfile.lock, pylock.toml) have no entry, and whether each one's licence is
    known offline."""
    from scanner.assess import knowledge_base
    from scanner.origins.coverage import check

    try:
        click.echo(check(knowledge_base(origins_file), file, date.today()).rstrip("\n"))
    except ScannerError as exc:
        _fail(exc.diagnostics(), exc.exit_code)


@cli.command("fingerprint")
@click.argument("target")
@click.option(
    "--name", help="Name of the model (ORG/NAME): its publisher's own shapes are not ancestors."
)
@click.option(
    "--offline", is_flag=True, help="Never touch the network (hf: targets from the cache)."
)
@click.option(
    "--hub-endpoint",
    envvar="HF_ENDPOINT",
    help="Hugging Face Hub to query [env: HF_ENDPOINT; default: huggingface.co].",
)
def fingerprint_command(
    target: str, name: str | None, offline: bool, hub_endpoint: str | None
) -> None:
    """Say which published tokenizer and model a vocabulary or a model comes from, and why.

    TARGET is a tokenizer file (tokenizer.json, vocab.json, vocab.txt, a SentencePiece or
    tiktoken tokenizer.model, a .gguf file), a model folder, or a Hub repo (hf:ORG/NAME[@REV]).
    For a folder or a repo the model's shape (config.json, a GGUF header, or the safetensors
    tensors' shapes) is matched too, and the ancestors the shape and the vocabulary show
    together are named; a shape whose widths alone match, beside a vocabulary of its own, is
    architecture reuse, not lineage. Nothing is loaded; a folder is not
    hashed; a repo is read from its metadata and header ranges. Exit 2 when TARGET holds
    neither a vocabulary nor a shape.
    """
    from scanner.core.offline import network_blocked
    from scanner.fingerprint import file_report, folder_report, hub_report

    try:
        config = ScanConfig(
            offline=offline,
            cache_dir=default_cache_dir(),
            jobs=default_jobs(),
            name=name,
            hub_endpoint=hub_endpoint,
        )
        path = Path(target)
        if target.startswith("hf:"):
            with network_blocked() if offline else nullcontext():
                report = hub_report(target, config)
        elif path.is_dir():
            report = folder_report(path, config)
        elif path.exists():
            report = file_report(path)
        else:
            raise UsageError(f"{target}: no such file, folder or hf: repo")
    except ScannerError as exc:
        _fail(exc.diagnostics(), exc.exit_code)
    click.echo(report)


@contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM while the outputs are written: all of them or none; a signal
    that comes meanwhile is delivered after."""
    held = {signal.SIGINT, signal.SIGTERM}
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


class _Staged:
    """Output files written to temporaries beside them, renamed into place all at once by
    ``commit``; whatever is not committed is removed when the block ends."""

    def __init__(self) -> None:
        self.files: list[tuple[Path, Path]] = []
        self.stdout: str | None = None

    def add(self, path: str, write: Callable[[TextIO], None]) -> None:
        """Stage what ``write`` writes for ``path`` ("-": standard output, printed after the
        commit)."""
        if path == "-":
            buffer = io.StringIO()
            write(buffer)
            self.stdout = buffer.getvalue()
            return
        try:
            self.files.append((_stage(path, write), Path(path)))
        except OSError as exc:
            raise UsageError(
                f"{exc.filename or path}: cannot write: {exc.strerror or exc}"
            ) from exc

    def commit(self) -> None:
        """Rename every staged file into place."""
        try:
            for tmp, target in self.files:
                tmp.replace(target)
        except OSError as exc:
            raise UsageError(f"{exc.filename or ''}: cannot write: {exc.strerror or exc}") from exc

    def __enter__(self) -> _Staged:
        return self

    def __exit__(self, *_: object) -> None:
        for tmp, _target in self.files:
            tmp.unlink(missing_ok=True)


def _stage(path: str, write: Callable[[TextIO], None]) -> Path:
    """A temporary file beside ``path`` holding what ``write`` writes."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            write(handle)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def _umask() -> int:
    """The process umask (read by setting it and putting it back)."""
    current = os.umask(0o022)
    os.umask(current)
    return current


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"sovscan: {message}", err=True)
    sys.exit(code)


def main() -> None:
    """Console entry point: click's own handling, except that Ctrl-C exits 130 (not 1)."""
    try:
        code = cli.main(prog_name="sovscan", standalone_mode=False)
    except click.exceptions.Abort:
        _fail("interrupted; no output was written", EXIT_INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)
