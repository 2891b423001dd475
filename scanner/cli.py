"""The ``sovscan`` command: flags → ScanConfig → pipeline → exporters. No logic of its own."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from contextlib import nullcontext
from pathlib import Path
from typing import NoReturn

import click

from scanner import __version__
from scanner.config import ScanConfig, default_cache_dir, source_date_epoch
from scanner.errors import ScannerError, UsageError
from scanner.hashing import default_jobs

EXIT_INTERNAL = 70

_FORMATS = ("cyclonedx-json", "cyclonedx-xml", "summary")
_SPEC_VERSIONS = ("1.5", "1.6", "1.7")

_EPILOG = """\b
Targets:
  PATH                      a model folder or a single model file
\b
Output (-o is repeatable; the format follows the suffix, else --format):
  x.cdx.json / x.cdx.xml    CycloneDX ML-BOM (JSON is the default)
  x.txt                     the human summary
  -                         standard output, in --format
  no -o                     the human summary on standard output
\b
Exit codes:
  0  scan done (no policy asked for)     2  usage error or unreadable target
  4  network failure, nothing to report  70 internal error (please report it)
\b
Environment: SOURCE_DATE_EPOCH fixes the BOM timestamp and makes the serial number
content-derived (byte-identical output); SOVSCAN_CACHE_DIR moves the cache.
"""


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
    type=click.Choice(_FORMATS),
    help="Format for -o files without a known suffix, or for stdout.",
)
@click.option(
    "--spec-version",
    type=click.Choice(_SPEC_VERSIONS),
    default="1.6",
    show_default=True,
    help="CycloneDX specification version.",
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
    help="Hugging Face Hub URL used in links [env: HF_ENDPOINT].",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
def scan(
    targets: tuple[str, ...],
    outputs: tuple[str, ...],
    fmt: str | None,
    spec_version: str,
    name: str | None,
    offline: bool,
    no_cache: bool,
    cache_dir: Path | None,
    jobs: int | None,
    hub_endpoint: str | None,
    quiet: bool,
    debug: bool,
) -> None:
    """Scan model folders or files into a provenance inventory and CycloneDX ML-BOM."""
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(message)s")
    try:
        config = ScanConfig(
            offline=offline,
            use_cache=not no_cache,
            cache_dir=cache_dir or default_cache_dir(),
            jobs=jobs or default_jobs(),
            name=name,
            progress=not quiet,
            hub_endpoint=hub_endpoint,
        )
        _scan(config, targets, outputs, fmt, spec_version)
    except ScannerError as exc:
        _fail(exc.diagnostics(), exc.exit_code)
    except Exception as exc:
        if debug:
            raise
        _fail(
            f"internal error: {type(exc).__name__}: {exc}\n"
            "Run again with --debug for the traceback, and please report it.",
            EXIT_INTERNAL,
        )


def _scan(
    config: ScanConfig,
    raw_targets: tuple[str, ...],
    outputs: tuple[str, ...],
    fmt: str | None,
    spec_version: str,
) -> None:
    # Heavy modules (cyclonedx, and huggingface_hub later) load only once a scan really runs.
    from sbom.cyclonedx import BomOptions
    from sbom.outputs import OutputFormat, format_for_path, render
    from scanner.offline import network_blocked
    from scanner.pipeline import run
    from scanner.targets import parse_target

    targets = [parse_target(raw) for raw in dict.fromkeys(raw_targets)]
    chosen = OutputFormat(fmt) if fmt else None
    plan = [(path, format_for_path(path, chosen)) for path in outputs]
    if not plan:
        plan = [("-", chosen or OutputFormat.SUMMARY)]
    stdout_count = sum(1 for path, _ in plan if path == "-")
    if stdout_count > 1:
        raise UsageError("only one output can go to standard output")
    timestamp = source_date_epoch()
    options = BomOptions(
        spec_version=spec_version, timestamp=timestamp, reproducible=timestamp is not None
    )
    with network_blocked() if config.offline else nullcontext():
        result = run(config, targets)
        # Render everything first: a document that fails validation is never written.
        documents = [(path, render(result, out_fmt, options)) for path, out_fmt in plan]
    for path, text in documents:
        _write(path, text)


def _write(path: str, text: str) -> None:
    """Write atomically (temp file + rename), so a failed run never leaves half a BOM."""
    if path == "-":
        click.echo(text, nl=not text.endswith("\n"))
        return
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        Path(tmp).replace(target)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write: {exc.strerror or exc}") from exc


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"sovscan: {message}", err=True)
    sys.exit(code)


def main() -> None:
    """Console entry point."""
    cli(prog_name="sovscan")
