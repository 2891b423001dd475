"""Read the installed environment of a Python interpreter (``--python PATH``) without importing it.

The interpreter runs ``env_probe.py`` with ``-I -S -B``: no ``site.py``, no ``.pth`` code, no
``PYTHON*`` variables, no bytecode written. The probe lists the distributions with
``importlib.metadata`` and sends back each one's METADATA header block and the few files this
reader needs; everything else (metadata fields, direct URLs, RECORD hashes, the dependency
graph with its markers evaluated by ``packaging`` against the probe's marker environment) is
worked out here.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from email.message import Message
from email.parser import HeaderParser
from pathlib import Path
from typing import IO

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import InvalidName, canonicalize_name
from packaging.version import InvalidVersion, Version

from scanner.core.capped_io import parse_json_text
from scanner.core.errors import MalformedFileError, TargetError
from scanner.core.model import Hash
from scanner.formats.model.model_formats import WEIGHT_SUFFIXES
from scanner.formats.python.dependency_fields import redact_url
from scanner.formats.python.document_kind import DocumentKind
from scanner.formats.python.pep508 import (
    HASH_ALGORITHMS,
    UnsupportedHashAlgorithm,
    artifact_filename,
    parse_hash,
    vcs_url,
)
from scanner.formats.python.records import (
    Artifact,
    DependencyDocument,
    PackageLink,
    PackageMetadata,
    PythonPackage,
)

#: The script the scanned interpreter runs.
PROBE_SCRIPT = Path(__file__).with_name("env_probe.py")
#: The output layout this reader understands (``PROBE_FORMAT`` in the probe).
PROBE_FORMAT = "sovscan-env-probe/1"
#: Most bytes read from the probe's stdout; the process is killed past it. A 1,000-package
#: environment answers in about 2 MB.
PROBE_OUTPUT_MAX_BYTES = 64 * 1024 * 1024
#: Bytes of the probe's stderr kept for the error message (the rest is read and dropped).
PROBE_STDERR_MAX_BYTES = 8 * 1024
#: Seconds the pipe readers get to finish once the probe is dead.
_READER_GRACE_SECONDS = 1.0
#: Most distributions taken from one environment (the probe's own cap).
MAX_DISTRIBUTIONS = 50_000
#: Longest METADATA header block accepted, in characters (the probe reads 256 KiB).
METADATA_HEADER_MAX_CHARS = 256 * 1024
#: Most RECORD rows taken per distribution, for vendored libraries and for weight files each.
MAX_RECORD_ROWS = 10_000
#: The free-text License field is clipped to this many characters (it is often a whole text).
LICENSE_MAX_CHARS = 2_000
#: Most problems kept; an environment broken everywhere says so once it reaches this.
MAX_PROBLEMS = 10_000

#: The only variables the probe's process inherits: enough to start an interpreter (pyenv
#: shims need PATH and PYENV_*), nothing that steers Python itself.
_INHERITED_VARIABLES = (
    "PATH", "HOME", "SYSTEMROOT", "TMPDIR", "TEMP", "TMP", "LANG", "LC_ALL", "LC_CTYPE",
    "PYENV_ROOT", "PYENV_VERSION",
)  # fmt: skip
_MARKER_KEYS = (
    "implementation_name", "implementation_version", "os_name", "platform_machine",
    "platform_release", "platform_system", "platform_version", "python_full_version",
    "platform_python_implementation", "python_version", "sys_platform",
)  # fmt: skip
#: The ``HASH_ALGORITHMS`` a RECORD row may use (the wheel spec: sha256 or stronger).
_RECORD_HASHES = frozenset({"sha256", "sha384", "sha512"})
_SIZE = re.compile(r"[0-9]{1,19}")
_FOLDED_LINE = re.compile(r"\r?\n(?: {7}\|| {8}|\t)?")


def read_environment(python: Path, *, timeout: float = 60.0) -> DependencyDocument:
    """Read every distribution installed for the interpreter ``python`` and their graph.

    ``direct`` is True for the distributions with a ``REQUESTED`` file (pip and uv write it for
    what was asked for). An environment without such installer records (conda, setup.py
    installs, some tools) gets its graph's roots instead: the packages no other installed
    package requires. Extras propagate: ``foo[bar]`` activates ``foo``'s ``extra == "bar"``
    requirements. The user's own site-packages are left out, as ``python -I`` leaves them out.

    Raises:
        TargetError: the interpreter is missing, cannot be run, fails, takes longer than
            ``timeout`` seconds, or answers with anything but the probe's JSON.
    """
    return parse_probe_output(python, _run_probe(python, timeout))


def parse_probe_output(python: Path, output: bytes) -> DependencyDocument:
    """Build the document from what ``env_probe.py`` printed when ``python`` ran it.

    Raises:
        TargetError: ``output`` is not the probe's JSON.
    """
    return _EnvironmentReader(python, _parse_report(python, output)).document()


# --- running the probe ---------------------------------------------------------------------


@dataclass(slots=True)
class _ProbeRun:
    stdout: bytes = b""
    stderr: bytes = b""
    returncode: int | None = None
    timed_out: bool = False
    overflowed: bool = False


def _run_probe(python: Path, timeout: float) -> bytes:
    """Run the probe under ``python`` and return its stdout, or raise TargetError."""
    executable = _interpreter(python)
    command = [str(executable), "-I", "-S", "-B", str(PROBE_SCRIPT), ",".join(WEIGHT_SUFFIXES)]
    with tempfile.TemporaryDirectory(prefix="sovscan-python-env-") as workdir:
        try:
            process = subprocess.Popen(  # noqa: S603 (an argument list, no shell)
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=workdir,
                env=_probe_environment(),
                start_new_session=os.name == "posix",
            )
        except OSError as error:
            raise TargetError(f"{python}: cannot run it: {error.strerror or error}") from None
        run = _collect(process, timeout)
    return _checked_output(python, run, timeout)


def _interpreter(python: Path) -> Path:
    """The absolute path to run: ``python`` itself, or a bare name (``python3``) found on PATH.

    Symlinks are kept: a venv's ``bin/python`` is a link to the base interpreter, and only the
    link's place tells the interpreter which venv it belongs to.
    """
    if not python.exists() and len(python.parts) == 1:
        found = shutil.which(str(python))
        if found is not None:
            return Path(found).absolute()
    if not python.exists():
        raise TargetError(f"{python}: no such interpreter")
    if python.is_dir():
        raise TargetError(f"{python}: is a folder; give the interpreter (e.g. {python}/bin/python)")
    if not os.access(python, os.X_OK):
        raise TargetError(f"{python}: is not executable")
    return python.absolute()


def _probe_environment() -> dict[str, str]:
    return {name: os.environ[name] for name in _INHERITED_VARIABLES if name in os.environ}


def _collect(process: subprocess.Popen[bytes], timeout: float) -> _ProbeRun:
    """Read both pipes within ``timeout`` seconds and the output cap; kill the probe past them."""
    assert process.stdout is not None  # noqa: S101 (Popen was given PIPE)
    assert process.stderr is not None  # noqa: S101
    run = _ProbeRun()
    stdout_chunks: list[bytes] = []
    stderr_chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    stdout = process.stdout

    def read_stdout() -> None:
        if not _read_capped(stdout, stdout_chunks, PROBE_OUTPUT_MAX_BYTES):
            run.overflowed = True
            _kill(process)

    readers = [
        threading.Thread(target=read_stdout, daemon=True),
        threading.Thread(
            target=_read_capped,
            args=(process.stderr, stderr_chunks, PROBE_STDERR_MAX_BYTES),
            kwargs={"drain": True},
            daemon=True,
        ),
    ]
    for reader in readers:
        reader.start()
    try:
        # A process (or a child it left behind) that keeps a pipe open cannot hold us up: the
        # readers are daemon threads and we stop waiting for them at the deadline.
        for reader in readers:
            reader.join(max(0.0, deadline - time.monotonic()))
        run.returncode = process.wait(max(0.0, deadline - time.monotonic()))
        if any(reader.is_alive() for reader in readers):
            run.timed_out = True
    except subprocess.TimeoutExpired:
        run.timed_out = True
    finally:
        if run.timed_out or process.poll() is None:
            _kill(process)
            process.wait()
        for reader, stream in zip(readers, (process.stdout, process.stderr), strict=True):
            reader.join(_READER_GRACE_SECONDS)  # the kill closed the pipes' far ends
            if not reader.is_alive():  # closing under a blocked reader could block us too
                stream.close()
    run.stdout = b"".join(stdout_chunks)
    run.stderr = b"".join(stderr_chunks)
    return run


def _read_capped(
    stream: IO[bytes], chunks: list[bytes], limit: int, *, drain: bool = False
) -> bool:
    """Append ``stream``'s bytes to ``chunks`` up to ``limit``; False when there were more.

    With ``drain``, bytes past the limit are read and dropped (so the writer never blocks).
    """
    total = 0
    while chunk := os.read(stream.fileno(), 64 * 1024):
        if total + len(chunk) > limit:
            chunks.append(chunk[: limit - total])
            total = limit
            if not drain:
                return False
            continue
        chunks.append(chunk)
        total += len(chunk)
    return True


def _kill(process: subprocess.Popen[bytes]) -> None:
    """Kill the probe and, on POSIX, its whole session (nothing it started outlives it)."""
    try:
        if os.name == "posix":
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
    except (ProcessLookupError, PermissionError):
        pass  # already gone


def _checked_output(python: Path, run: _ProbeRun, timeout: float) -> bytes:
    if run.timed_out:
        raise TargetError(f"{python}: the interpreter did not answer within {timeout:g} s")
    if run.overflowed:
        raise TargetError(
            f"{python}: the interpreter wrote more than {PROBE_OUTPUT_MAX_BYTES} bytes; "
            "that is not the answer of sovscan's probe"
        )
    if run.returncode != 0:
        raise TargetError(f"{python}: {_failure(run)}")
    return run.stdout


def _failure(run: _ProbeRun) -> str:
    """Why the probe failed, in the interpreter's own words where it left some."""
    try:
        answer = parse_json_text(run.stdout.decode("ascii"))
    except (UnicodeDecodeError, MalformedFileError):
        answer = None
    if isinstance(answer, dict) and isinstance(answer.get("error"), str):
        return f"{_clean(answer['error'])}; sovscan reads environments of Python 3.8 or later"
    returncode = run.returncode or 0
    status = (
        f"was killed by signal {-returncode}"
        if returncode < 0
        else f"exited with status {returncode}"
    )
    lines = run.stderr.decode("utf-8", "replace").strip().splitlines()
    said = f": {_clean(lines[-1])[:500]}" if lines else ""
    return f"the interpreter {status}{said} (sovscan needs CPython or PyPy 3.8 or later)"


# --- checking the probe's answer -----------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class _Distribution:
    """One distribution as the probe describes it."""

    path: str
    metadata_path: str | None
    header: str | None
    requested: bool
    direct_url: str | None
    vendored: tuple[tuple[str, ...], ...]
    weights: tuple[tuple[str, ...], ...]
    problems: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class _Report:
    marker_environment: dict[str, str]
    distributions: tuple[_Distribution, ...]
    truncated: bool


class _NotAProbeAnswerError(Exception):
    """The output parsed as JSON but is not what the probe prints."""


def _parse_report(python: Path, output: bytes) -> _Report:
    try:
        document = parse_json_text(output.decode("ascii"))
    except UnicodeDecodeError:
        raise TargetError(
            f"{python}: did not answer like a Python interpreter (its output is not ASCII JSON)"
        ) from None
    except MalformedFileError as error:
        raise TargetError(
            f"{python}: did not answer like a Python interpreter ({error.problem})"
        ) from None
    try:
        return _report(document)
    except _NotAProbeAnswerError as error:
        raise TargetError(
            f"{python}: did not answer like a Python interpreter running sovscan's probe ({error})"
        ) from None


def _report(document: object) -> _Report:
    if not isinstance(document, dict) or document.get("probe") != PROBE_FORMAT:
        raise _NotAProbeAnswerError(f"no {PROBE_FORMAT!r} object")
    environment = document.get("marker_environment")
    if not isinstance(environment, dict) or not all(
        isinstance(environment.get(key), str) for key in _MARKER_KEYS
    ):
        raise _NotAProbeAnswerError("no marker environment")
    entries = document.get("distributions")
    if not isinstance(entries, list) or len(entries) > MAX_DISTRIBUTIONS:
        raise _NotAProbeAnswerError("no list of distributions")
    return _Report(
        marker_environment={key: _clean(environment[key]) for key in _MARKER_KEYS},
        distributions=tuple(_distribution(entry) for entry in entries),
        truncated=document.get("truncated") is True,
    )


def _distribution(entry: object) -> _Distribution:
    if not isinstance(entry, dict):
        raise _NotAProbeAnswerError("a distribution that is not an object")
    path = _optional_text(entry, "path")
    if path is None:
        raise _NotAProbeAnswerError("a distribution without a path")
    return _Distribution(
        path=path,
        metadata_path=_optional_text(entry, "metadata_path"),
        header=_optional_text(entry, "metadata_header"),
        requested=entry.get("requested") is True,
        direct_url=_optional_text(entry, "direct_url"),
        vendored=_rows(entry, "vendored"),
        weights=_rows(entry, "weights"),
        problems=tuple(_clean(problem) for problem in _string_list(entry, "problems")),
    )


def _optional_text(entry: dict[str, object], key: str) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _NotAProbeAnswerError(f"{key} is not a string")
    return _clean(value)


def _string_list(entry: dict[str, object], key: str) -> list[str]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _NotAProbeAnswerError(f"{key} is not a list of strings")
    return value


def _rows(entry: dict[str, object], key: str) -> tuple[tuple[str, ...], ...]:
    value = entry.get(key, [])
    if not isinstance(value, list) or len(value) > MAX_RECORD_ROWS:
        raise _NotAProbeAnswerError(f"{key} is not a list of RECORD rows")
    rows = []
    for row in value:
        if not isinstance(row, list) or not row or not all(isinstance(cell, str) for cell in row):
            raise _NotAProbeAnswerError(f"{key} holds a row that is not a list of strings")
        rows.append(tuple(_clean(cell) for cell in row[:3]))
    return tuple(rows)


def _clean(text: str) -> str:
    """``text`` with lone surrogates (undecodable file names, hostile escapes) replaced."""
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


# --- building the document -----------------------------------------------------------------


@dataclass(slots=True)
class _Installed:
    """A distribution being turned into a package: its record so far and its requirements."""

    package: PythonPackage
    requirements: list[Requirement]
    requested: bool
    extras: set[str] = field(default_factory=set)
    links: dict[tuple[str, tuple[str, ...], str | None], PackageLink] = field(default_factory=dict)


class _EnvironmentReader:
    """Turns the probe's report into a DependencyDocument, collecting problems on the way."""

    def __init__(self, python: Path, report: _Report) -> None:
        self.python = python
        self.report = report
        self.problems: dict[str, None] = {}  # an ordered set
        self.notes: dict[str, None] = {}  # environment consistency (pip check), not missing data
        self.installed: dict[str, _Installed] = {}

    def document(self) -> DependencyDocument:
        if self.report.truncated:
            self._problem(f"only the first {MAX_DISTRIBUTIONS} distributions were read")
        for distribution in self.report.distributions:
            self._add(distribution)
        self._resolve_graph()
        roots = self._roots()
        packages = [self._finished(name, roots) for name in sorted(self.installed)]
        return DependencyDocument(
            location=str(self.python),
            kind=DocumentKind.ENVIRONMENT,
            packages=tuple(packages),
            locked=True,
            has_graph=True,
            problems=tuple(self.problems),
            notes=tuple(self.notes),
        )

    def _note(self, text: str) -> None:
        if len(self.notes) < MAX_PROBLEMS:
            self.notes[text] = None

    def _problem(self, text: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems[text] = None
        elif len(self.problems) == MAX_PROBLEMS:
            self.problems[f"more than {MAX_PROBLEMS} problems; the rest are not listed"] = None

    # -- one distribution

    def _add(self, distribution: _Distribution) -> None:
        where = distribution.metadata_path or distribution.path
        for problem in distribution.problems:
            self._problem(f"{where}: {problem}")
        if distribution.header is None:
            return
        if len(distribution.header) > METADATA_HEADER_MAX_CHARS:
            self._problem(f"{where}: its metadata header exceeds the size limit")
            return
        message = HeaderParser().parsestr(distribution.header)
        identity = self._identity(distribution, message)
        if identity is None:
            return
        name, display_name, version = identity
        first = self.installed.get(name)
        if first is not None:
            self._problem(
                f"{distribution.path}: {display_name} {version} is installed a second time; "
                f"importlib.metadata finds {first.package.display_name} "
                f"{first.package.version} first, so that one counts"
            )
            return
        metadata = _package_metadata(message, source=where)
        url, editable, artifacts = self._direct_origin(distribution)
        self.installed[name] = _Installed(
            package=PythonPackage(
                name=name,
                display_name=display_name,
                version=version,
                url=url,
                editable=editable,
                artifacts=artifacts,
                metadata=metadata,
                vendored=tuple(row[0] for row in distribution.vendored),
                record_files=tuple(self._record_files(distribution)),
            ),
            requirements=list(self._requirements(display_name, version, metadata)),
            requested=distribution.requested,
        )

    def _identity(
        self, distribution: _Distribution, message: Message
    ) -> tuple[str, str, str | None] | None:
        """(canonical name, name as written, version), from the header or the folder's name."""
        where = distribution.metadata_path or distribution.path
        from_folder = _name_version_from_folder(distribution.path)
        display_name = _single_line(message.get("Name"))
        version = _single_line(message.get("Version"))
        if display_name is None:
            if from_folder is None:
                self._problem(f"{where}: its metadata has no Name; the distribution is skipped")
                return None
            display_name = from_folder[0]
            self._problem(f"{where}: its metadata has no Name; {display_name!r} is the folder's")
        if version is None:
            self._problem(f"{where}: its metadata has no Version")
            version = from_folder[1] if from_folder else None
        try:
            name = canonicalize_name(display_name, validate=True)
        except InvalidName:
            self._problem(
                f"{where}: {display_name[:200]!r} is not a valid distribution name; skipped"
            )
            return None
        return name, display_name, version

    def _requirements(
        self, display_name: str, version: str | None, metadata: PackageMetadata
    ) -> Iterator[Requirement]:
        for text in metadata.requires_dist:
            try:
                yield Requirement(text)
            except InvalidRequirement as error:
                self._problem(
                    f"{metadata.source}: {display_name} {version}: invalid Requires-Dist "
                    f"{text[:200]!r}: {str(error)[:300]}"
                )

    def _direct_origin(
        self, distribution: _Distribution
    ) -> tuple[str | None, bool, tuple[Artifact, ...]]:
        """(url, editable, artifacts) from direct_url.json (PEP 610), when there is one."""
        if distribution.direct_url is None:
            return None, False, ()
        where = f"{distribution.path}/direct_url.json"
        try:
            document = parse_json_text(distribution.direct_url)
        except MalformedFileError as error:
            self._problem(f"{where}: {error.problem}")
            return None, False, ()
        if not isinstance(document, dict) or not isinstance(document.get("url"), str):
            self._problem(f"{where}: no url")
            return None, False, ()
        url = redact_url(document["url"])
        vcs_info = document.get("vcs_info")
        if isinstance(vcs_info, dict):
            return _vcs_url(url, vcs_info), False, ()
        dir_info = document.get("dir_info")
        if isinstance(dir_info, dict):
            return url, dir_info.get("editable") is True, ()
        archive_info = document.get("archive_info")
        if isinstance(archive_info, dict):
            hashes = tuple(self._archive_hashes(archive_info, where))
            artifact = Artifact(filename=artifact_filename(url), url=url, hashes=hashes)
            return url, False, (artifact,)
        return url, False, ()

    def _archive_hashes(self, archive_info: dict[str, object], where: str) -> Iterator[Hash]:
        pairs: list[tuple[object, object]] = []
        hashes = archive_info.get("hashes")
        if isinstance(hashes, dict):
            pairs.extend(hashes.items())
        legacy = archive_info.get("hash")  # the deprecated "sha256=<hex>" spelling
        if isinstance(legacy, str) and "=" in legacy:
            legacy_algorithm, _, legacy_value = legacy.partition("=")
            pairs.append((legacy_algorithm, legacy_value))
        seen: set[str] = set()
        for algorithm, value in pairs:
            try:
                digest = parse_hash(str(algorithm), str(value))
            except UnsupportedHashAlgorithm:
                continue
            except ValueError:
                self._problem(
                    f"{where}: {str(algorithm)[:20]} hash {str(value)[:140]!r} is not hex"
                )
                continue
            if digest.alg not in seen:
                seen.add(digest.alg)
                yield digest

    def _record_files(self, distribution: _Distribution) -> Iterator[tuple[str, Hash, int | None]]:
        where = f"{distribution.path}/RECORD"
        for row in distribution.weights:
            path, hash_text, size_text = (*row, "", "")[:3]
            if not hash_text:
                continue  # RECORD may leave a file unhashed; nothing to report then
            digest = _record_hash(hash_text)
            if digest is None:
                self._problem(f"{where}: {path[:300]}: unreadable hash {hash_text[:140]!r}")
                continue
            size = int(size_text) if _SIZE.fullmatch(size_text) else None
            yield path, digest, size

    # -- the graph

    def _resolve_graph(self) -> None:
        """Follow every active requirement from every package, activating extras on the way."""
        pending: deque[tuple[str, str]] = deque((name, "") for name in self.installed)
        activated = set(pending)
        while pending:
            name, extra = pending.popleft()
            for requirement, target in self._active_requirements(name, extra):
                for target_extra in requirement.extras:
                    activation = (target, canonicalize_name(target_extra))
                    if activation not in activated:
                        activated.add(activation)
                        self.installed[target].extras.add(activation[1])
                        pending.append(activation)

    def _active_requirements(self, name: str, extra: str) -> Iterator[tuple[Requirement, str]]:
        """The requirements of ``name`` active with ``extra`` whose target is installed."""
        dependent = self.installed[name]
        package = dependent.package
        environment = {**self.report.marker_environment, "extra": extra}
        for requirement in dependent.requirements:
            if extra and (requirement.marker is None or "extra" not in str(requirement.marker)):
                continue  # already followed with the base requirements
            if not self._is_active(requirement.marker, environment, package):
                continue
            target = canonicalize_name(requirement.name)
            installed = self.installed.get(target)
            if installed is None:
                self._note(
                    f"{package.display_name} {package.version} requires "
                    f"{_requirement_text(requirement)}, which is not installed"
                )
                continue
            self._check_version(package, requirement, installed.package)
            if target != name:  # foo[all] requiring foo[bar] activates extras, not an edge
                extras = tuple(sorted(requirement.extras))
                marker = str(requirement.marker) if requirement.marker is not None else None
                dependent.links.setdefault(
                    (target, extras, marker), PackageLink(name=target, extras=extras, marker=marker)
                )
            yield requirement, target

    def _is_active(
        self, marker: Marker | None, environment: dict[str, str], package: PythonPackage
    ) -> bool:
        if marker is None:
            return True
        try:
            return marker.evaluate(environment)
        except ValueError as error:  # packaging's Undefined* and InvalidMarker errors
            self._problem(
                f"{package.display_name} {package.version}: marker {str(marker)[:200]!r} "
                f"cannot be evaluated: {str(error)[:200]}"
            )
            return False

    def _check_version(
        self, dependent: PythonPackage, requirement: Requirement, target: PythonPackage
    ) -> None:
        if not requirement.specifier or target.version is None:
            return
        try:
            version = Version(target.version)
        except (InvalidVersion, ValueError):  # ValueError: over int()'s 4300-digit limit
            return
        if not requirement.specifier.contains(version, prereleases=True):
            self._note(
                f"{dependent.display_name} {dependent.version} requires "
                f"{_requirement_text(requirement)}, but {target.display_name} {target.version} "
                "is installed"
            )

    def _finished(self, name: str, roots: frozenset[str]) -> PythonPackage:
        installed = self.installed[name]
        return replace(
            installed.package,
            direct=name in roots,
            extras=tuple(sorted(installed.extras)),
            dependencies=tuple(installed.links.values()),
        )

    def _roots(self) -> frozenset[str]:
        """The requested packages or, with no installer records at all, the unrequired ones."""
        requested = frozenset(name for name, item in self.installed.items() if item.requested)
        if requested:
            return requested
        required = {link.name for item in self.installed.values() for link in item.links.values()}
        return frozenset(self.installed) - required


# --- reading fields --------------------------------------------------------------------------


def _package_metadata(message: Message, *, source: str) -> PackageMetadata:
    """The core metadata fields of a METADATA / PKG-INFO header block."""
    license_text = _multi_line(message.get("License"))
    return PackageMetadata(
        summary=_single_line(message.get("Summary")),
        author=_single_line(message.get("Author")),
        author_email=_single_line(message.get("Author-email")),
        maintainer=_single_line(message.get("Maintainer")),
        maintainer_email=_single_line(message.get("Maintainer-email")),
        home_page=_single_line(message.get("Home-page")),
        project_urls=tuple(_project_urls(_all(message, "Project-URL"))),
        license=license_text[:LICENSE_MAX_CHARS] if license_text else None,
        license_expression=_single_line(message.get("License-Expression")),
        classifiers=tuple(_all(message, "Classifier")),
        requires_dist=tuple(_all(message, "Requires-Dist")),
        requires_python=_single_line(message.get("Requires-Python")),
        source=source,
    )


def _all(message: Message, name: str) -> list[str]:
    values = (_single_line(value) for value in message.get_all(name, []))
    return [value for value in values if value]


def _single_line(value: object) -> str | None:
    """A header value with its folding undone; None when absent, empty or ``UNKNOWN``."""
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text if text and text != "UNKNOWN" else None


def _multi_line(value: object) -> str | None:
    """A multi-line header (License) with the continuation indent of core metadata removed."""
    if value is None:
        return None
    text = _FOLDED_LINE.sub("\n", str(value)).strip()
    return text if text and text != "UNKNOWN" else None


def _project_urls(values: Iterable[str]) -> Iterator[tuple[str, str]]:
    for value in values:
        label, comma, url = value.partition(",")
        if comma and url.strip():
            yield label.strip(), redact_url(url.strip())


def _name_version_from_folder(path: str) -> tuple[str, str | None] | None:
    """(name, version) from ``NAME-VERSION.dist-info`` / ``.egg-info``, when it is so named."""
    folder = path.replace("\\", "/").rstrip("/").rpartition("/")[2]
    stem, dot, suffix = folder.rpartition(".")
    if not dot or suffix.lower() not in {"dist-info", "egg-info"} or not stem:
        return None
    name, _, version = stem.partition("-")
    return (name, version.partition("-")[0] or None) if name else None


def _requirement_text(requirement: Requirement) -> str:
    extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
    return f"{requirement.name}{extras}{requirement.specifier}"


def _vcs_url(url: str, vcs_info: dict[str, object]) -> str:
    """``git+URL@COMMIT`` (pip's spelling of a pinned VCS requirement)."""
    vcs = vcs_info.get("vcs")
    commit = vcs_info.get("commit_id")
    revision = commit if isinstance(commit, str) and commit else None
    if isinstance(vcs, str) and vcs:
        return vcs_url(vcs, url, revision, None)
    return f"{url}@{revision}" if revision else url


def _record_hash(text: str) -> Hash | None:
    """A RECORD hash (``sha256=<urlsafe base64, unpadded>``) as lowercase hex; None if bad."""
    algorithm, equals, encoded = text.partition("=")
    algorithm = algorithm.lower()
    if not equals or algorithm not in _RECORD_HASHES:
        return None
    alg, length = HASH_ALGORITHMS[algorithm]
    try:
        padded = encoded + "=" * (-len(encoded) % 4)
        digest = base64.b64decode(padded, altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(digest) * 2 != length:
        return None
    return Hash(alg=alg, value=digest.hex())
