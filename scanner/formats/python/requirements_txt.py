"""Read pip requirements files, following ``-r`` / ``-c`` includes that stay inside the root."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Final
from urllib.parse import unquote

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from scanner.core.capped_io import read_text_capped
from scanner.core.errors import MalformedFileError
from scanner.formats.python.dependency_fields import (
    MAX_PACKAGES,
    ProblemLog,
    direct_url_artifacts,
    document_location,
    package_from_requirement,
    quoted,
    redact_url,
    requirement_problem,
)
from scanner.formats.python.document_kind import DocumentKind
from scanner.formats.python.pep508 import (
    ARCHIVE_SUFFIXES,
    VCS_SCHEME,
    UnsupportedHashAlgorithm,
    archive_filename,
    archive_release,
    archive_version,
    check_requirement_size,
    normalized_extras,
    parse_hash,
    parse_marker,
    parse_pep508,
    pinned_version,
)
from scanner.formats.python.records import (
    Artifact,
    DependencyDocument,
    PythonPackage,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from scanner.core.model import Hash

#: Largest requirements file read, in bytes; a hash-pinned export of a large project is a few
#: hundred KB.
REQUIREMENTS_MAX_BYTES = 4 * 1024 * 1024
#: Most bytes read over one document and everything it includes.
REQUIREMENTS_MAX_TOTAL_BYTES = 32 * 1024 * 1024
#: Deepest chain of ``-r`` / ``-c`` includes followed (the document itself is depth 0).
MAX_INCLUDE_DEPTH = 16
#: Most files pulled in by includes for one document.
MAX_INCLUDED_FILES = 256
#: Most physical lines read over one document and its includes.
MAX_TOTAL_LINES = 1_000_000
#: Longest logical line (continuations joined, options and hashes included); longer is skipped.
MAX_LINE_CHARS = 256 * 1024

_URL_SCHEMES = frozenset({"http", "https", "file", "ftp"})
_EGG_FRAGMENT = re.compile(r"(?:^|&)egg=([^&]*)")
_EXTRAS_SUFFIX = re.compile(r"^(.+)(\[[^\]]+\])$")

#: Options taking a value, by every spelling pip accepts → the long name.
_VALUE_OPTIONS: Final[dict[str, str]] = {
    "-r": "--requirement",
    "--requirement": "--requirement",
    "-c": "--constraint",
    "--constraint": "--constraint",
    "-e": "--editable",
    "--editable": "--editable",
    "-i": "--index-url",
    "--index-url": "--index-url",
    "--extra-index-url": "--extra-index-url",
    "-f": "--find-links",
    "--find-links": "--find-links",
    "--trusted-host": "--trusted-host",
    "--no-binary": "--no-binary",
    "--only-binary": "--only-binary",
    "--use-feature": "--use-feature",
    "--hash": "--hash",
    "--config-settings": "--config-settings",
    "--global-option": "--global-option",
    "--install-option": "--install-option",
}
#: Options without a value; none of them names a package.
_FLAG_OPTIONS = frozenset({"--no-index", "--pre", "--prefer-binary", "--require-hashes"})


def read_requirements(path: Path, root: Path) -> DependencyDocument:
    """Read the pip requirements file at ``path`` and the files it includes under ``root``.

    Includes (``-r``, ``-c``) are followed relative to the including file, only when they
    resolve (symlinks included) inside ``root``; constraint files pin packages required
    elsewhere and add none. Lines that cannot be read, and includes that are not followed,
    become ``problems``.

    Raises:
        MalformedFileError: the file itself is too large, not a regular file or not UTF-8.
        OSError: the file itself cannot be opened or read.
    """
    text = read_text_capped(path, max_bytes=REQUIREMENTS_MAX_BYTES)
    location = document_location(path, root)
    reader = _RequirementsReader(root.resolve())
    reader.read_document(text, path=path, location=location)
    return DependencyDocument(
        location=location,
        kind=DocumentKind.REQUIREMENTS,
        packages=reader.constrained_packages(),
        problems=reader.problems.freeze(),
        includes=tuple(reader.includes),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class _Source:
    """One file being read: where it is, how it is reported, and how it was pulled in."""

    path: Path
    """The path as pip would open it (includes are relative to this, unresolved)."""
    real: Path
    location: str
    included: bool
    depth: int
    constraint: bool


class _RequirementsReader:
    """Reads one document and its includes into packages, constraints and problems."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self.problems = ProblemLog()
        self.includes: list[str] = []
        self._packages: list[PythonPackage] = []
        self._constraints: list[PythonPackage] = []
        self._open: set[Path] = set()
        self._done: set[tuple[Path, bool]] = set()
        self._files = 0
        self._lines = 0
        self._bytes = 0
        self._full = False

    def read_document(self, text: str, *, path: Path, location: str) -> None:
        """Read the top-level file, whose text is already loaded."""
        source = _Source(
            path=path,
            real=path.resolve(),
            location=location,
            included=False,
            depth=0,
            constraint=False,
        )
        self._read_source(source, text)

    def constrained_packages(self) -> tuple[PythonPackage, ...]:
        """The packages read, with the document's constraints applied to them."""
        by_name: dict[str, list[PythonPackage]] = {}
        for constraint in self._constraints:
            by_name.setdefault(constraint.name, []).append(constraint)
        return tuple(
            _constrained(package, by_name.get(package.name, ())) for package in self._packages
        )

    def _read_source(self, source: _Source, text: str) -> None:
        self._bytes += len(text.encode())
        self._open.add(source.real)
        self._done.add((source.real, source.constraint))
        first_package = len(self._packages)
        index_url: str | None = None
        lines = text.splitlines()  # pip's own line splitting, so line numbers agree with pip
        if self._lines + len(lines) > MAX_TOTAL_LINES:
            self.problems.add(
                f"{source.location}: more than {MAX_TOTAL_LINES} lines over the document and "
                "its includes; the rest is not read"
            )
            lines = lines[: max(0, MAX_TOTAL_LINES - self._lines)]
        self._lines += len(lines)
        for number, line in _logical_lines(lines):
            if self._full:
                break
            if self.problems.full:
                self.problems.stop_reading(source.location)
                self._full = True
                break
            index_url = self._read_line(source, number, line) or index_url
        self._open.discard(source.real)
        if index_url is not None:
            for position in range(first_package, len(self._packages)):
                package = self._packages[position]
                if package.index_url is None and package.url is None:
                    self._packages[position] = replace(package, index_url=index_url)

    def _read_line(self, source: _Source, number: int, line: str) -> str | None:
        """Read one logical line; return the index URL it sets, if it sets one."""
        where = f"{source.location} line {number}"
        if len(line) > MAX_LINE_CHARS:
            self.problems.add(f"{where}: line longer than {MAX_LINE_CHARS} characters skipped")
            return None
        requirement_text, options_text = _split_requirement_and_options(line)
        options = self._options(where, options_text)
        if requirement_text:
            hashes = self._hashes(where, [value for name, value in options if name == "--hash"])
            self._add(source, number, requirement_text, editable=False, hashes=hashes)
            return None
        index_url: str | None = None
        for name, value in options:
            if name in ("--requirement", "--constraint"):
                constraint = source.constraint or name == "--constraint"
                self._include(source, number, value, option=name, constraint=constraint)
            elif name == "--editable":
                self._add(source, number, value, editable=True, hashes=())
            elif name == "--index-url":
                index_url = redact_url(value)
            # every other option (extra indexes, find-links, --pre, …) names no package
        return index_url

    def _options(self, where: str, text: str) -> list[tuple[str, str]]:
        """The (long name, value) options of a line; unknown or broken ones are problems."""
        if not text:
            return []
        try:
            # shlex is slow on long lines; pip quotes nothing in the common case
            tokens = shlex.split(text) if any(c in text for c in "\"'\\") else text.split()
        except ValueError as error:
            self.problems.add(f"{where}: options cannot be split: {error}")
            return []
        options: list[tuple[str, str]] = []
        position = 0
        while position < len(tokens):
            token = tokens[position]
            position += 1
            if token.startswith("--"):
                spelled, equals, value = token.partition("=")
            elif token.startswith("-") and len(token) > 1:
                spelled, value = token[:2], token[2:]
                equals = "=" if value else ""
            else:
                self.problems.add(f"{where}: unexpected {quoted(token)} after the options")
                continue
            if spelled in _FLAG_OPTIONS and not equals:
                continue
            name = _VALUE_OPTIONS.get(spelled)
            if name is None:
                self.problems.add(f"{where}: unknown option {quoted(spelled)} ignored")
                continue
            if not equals:
                if position >= len(tokens):
                    self.problems.add(f"{where}: option {spelled} needs a value")
                    continue
                value = tokens[position]
                position += 1
            options.append((name, value))
        return options

    def _hashes(self, where: str, values: list[str]) -> tuple[Hash, ...]:
        hashes: list[Hash] = []
        for value in values:
            algorithm, _, digest = value.partition(":")
            try:
                hash_ = parse_hash(algorithm, digest)
            except UnsupportedHashAlgorithm:
                self.problems.add(
                    f"{where}: unsupported hash algorithm {quoted(algorithm)}; hash ignored"
                )
                continue
            except ValueError as error:
                self.problems.add(
                    f"{where}: {algorithm} hash {quoted(digest)} {error}; hash ignored"
                )
                continue
            if hash_ not in hashes:
                hashes.append(hash_)
        return tuple(hashes)

    def _add(
        self,
        source: _Source,
        number: int,
        text: str,
        *,
        editable: bool,
        hashes: tuple[Hash, ...],
    ) -> None:
        where = f"{source.location} line {number}"
        if editable and source.constraint:
            self.problems.add(f"{where}: editable requirement in a constraints file ignored")
            return
        try:
            named, marker = _named_from_line(text)
        except ValueError as error:
            self.problems.add(requirement_problem(source.location, number, text, str(error)))
            return
        package = replace(
            named,
            marker=marker or named.marker,
            editable=editable,
            artifacts=_with_hashes(named.artifacts, hashes),
            line=number,
            location=source.location if source.included else None,
        )
        if len(self._packages) + len(self._constraints) >= MAX_PACKAGES:
            self.problems.add(
                f"{source.location}: more than {MAX_PACKAGES} packages; the rest is not read"
            )
            self._full = True
            return
        (self._constraints if source.constraint else self._packages).append(package)

    def _include(
        self, source: _Source, number: int, value: str, *, option: str, constraint: bool
    ) -> None:
        where = f"{source.location} line {number}: {option} {quoted(value)}"
        if _is_url(value):
            self.problems.add(f"{where}: includes from a URL are not followed")
            return
        path = source.path.parent / value
        try:
            real = path.resolve()
        except (OSError, RuntimeError, ValueError):  # symlink loop, NUL byte, name too long
            self.problems.add(f"{where}: the path cannot be resolved; not followed")
            return
        if not real.is_relative_to(self._root):
            self.problems.add(f"{where}: the file is outside the scanned folder; not followed")
            return
        if real in self._open:
            self.problems.add(f"{where}: include cycle, the file is already being read")
            return
        if (real, constraint) in self._done:
            return  # included twice without a cycle (a diamond): read once
        if source.depth >= MAX_INCLUDE_DEPTH:
            self.problems.add(
                f"{where}: includes nested deeper than {MAX_INCLUDE_DEPTH} levels; not followed"
            )
            return
        if self._files >= MAX_INCLUDED_FILES:
            self.problems.add(
                f"{where}: more than {MAX_INCLUDED_FILES} included files; not followed"
            )
            return
        budget = REQUIREMENTS_MAX_TOTAL_BYTES - self._bytes
        if budget <= 0:
            self.problems.add(
                f"{where}: more than {REQUIREMENTS_MAX_TOTAL_BYTES} bytes read for the document; "
                "not followed"
            )
            return
        try:
            text = read_text_capped(real, max_bytes=min(REQUIREMENTS_MAX_BYTES, budget))
        except FileNotFoundError:
            self.problems.add(f"{where}: the file does not exist")
            return
        except MalformedFileError as error:
            self.problems.add(f"{where}: {error.problem}; not followed")
            return
        except OSError as error:
            self.problems.add(f"{where}: the file cannot be read ({error.strerror or error})")
            return
        self._files += 1
        location = real.relative_to(self._root).as_posix()
        if location not in self.includes:
            self.includes.append(location)
        included = _Source(
            path=path,
            real=real,
            location=location,
            included=True,
            depth=source.depth + 1,
            constraint=constraint,
        )
        self._read_source(included, text)


def _logical_lines(lines: list[str]) -> Iterator[tuple[int, str]]:
    """Join ``\\`` continuations and drop comments as pip does; yield (first line, text)."""
    pending: list[str] = []
    first = 0
    for number, line in enumerate(lines, start=1):
        is_comment = line.lstrip().startswith("#")
        if is_comment or not line.endswith("\\"):
            if is_comment:
                line = " " + line  # a comment ends a continuation and is dropped below
            if pending:
                pending.append(line)
                yield first, _strip_comment("".join(pending))
                pending = []
            else:
                yield number, _strip_comment(line)
        else:
            if not pending:
                first = number
            pending.append(line.strip("\\"))
    if pending:
        yield first, _strip_comment("".join(pending))


def _strip_comment(line: str) -> str:
    """Drop a ``#`` comment: one at the start of the line or after whitespace (pip's rule)."""
    position = line.find("#")
    while position != -1:
        if position == 0 or line[position - 1].isspace():
            return line[:position].strip()
        position = line.find("#", position + 1)
    return line.strip()


def _split_requirement_and_options(line: str) -> tuple[str, str]:
    """Split at the first space-separated token starting with ``-``, as pip does."""
    tokens = line.split(" ")
    for position, token in enumerate(tokens):
        if token.startswith("-"):
            return " ".join(tokens[:position]), " ".join(tokens[position:])
    return line, ""


def _is_url(text: str) -> bool:
    scheme, colon, _ = text.partition(":")
    if not colon:
        return False
    scheme = scheme.lower()
    return scheme in _URL_SCHEMES or VCS_SCHEME.fullmatch(scheme) is not None


def _looks_like_path(text: str) -> bool:
    return "/" in text or "\\" in text or text.startswith(".")


def _is_local_path(text: str) -> bool:
    """pip's test: a path or an archive file name, unless it is ``name @ url``."""
    before_at, at, _ = text.partition("@")
    if at and not _looks_like_path(before_at):
        return False
    stripped = _EXTRAS_SUFFIX.sub(r"\1", text)
    return _looks_like_path(text) or stripped.lower().endswith(ARCHIVE_SUFFIXES)


def _named_from_line(text: str) -> tuple[PythonPackage, str | None]:
    """The package a requirement line (or an ``-e`` value) names, and the line's marker.

    Raises:
        ValueError: the text is not a requirement, or no package name can be told from it.
    """
    check_requirement_size(text)
    url_like = _is_url(text)
    # pip: a URL's marker needs "; ", so that a ";" inside the URL survives
    target, separator, marker_text = text.partition("; " if url_like else ";")
    target = target.strip()
    marker = parse_marker(marker_text.strip()) if separator and marker_text.strip() else None
    if url_like:
        named = _url_package(target)
    elif _is_local_path(target):
        named = _path_package(target)
    else:
        named = package_from_requirement(parse_pep508(target))
    return named, str(marker) if marker is not None else None


def _url_package(url: str) -> PythonPackage:
    """A bare URL or VCS line: the name from ``#egg=``, else from a wheel or sdist file name."""
    archive = archive_release(url)
    egg = _EGG_FRAGMENT.search(url.partition("#")[2])
    extras: tuple[str, ...] = ()
    if egg is not None and egg.group(1):
        named = parse_pep508(unquote(egg.group(1)))
        display_name = named.name
        extras = normalized_extras(named.extras)
    elif archive is not None:
        display_name = archive[0]
    else:
        raise ValueError("the package name is unknown (no #egg= and not a wheel or sdist URL)")
    name = canonicalize_name(display_name)
    return PythonPackage(
        name=name,
        display_name=display_name,
        version=archive_version(url, name),
        extras=extras,
        direct=True,
        url=redact_url(url),
        artifacts=direct_url_artifacts(url),
    )


def _path_package(text: str) -> PythonPackage:
    """A local path: named only when it is a wheel or sdist file."""
    match = _EXTRAS_SUFFIX.match(text)
    path, extras_text = (match.group(1), match.group(2)) if match else (text, "")
    archive = archive_release(path)
    if archive is None:
        raise ValueError("the package name of a local directory or archive is unknown")
    extras = parse_pep508(f"placeholder{extras_text}").extras if extras_text else set()
    return PythonPackage(
        name=canonicalize_name(archive[0]),
        display_name=archive[0],
        version=archive[1],
        extras=normalized_extras(extras),
        direct=True,
        url=path,
        artifacts=(Artifact(filename=archive_filename(path)),),
    )


def _with_hashes(artifacts: tuple[Artifact, ...], hashes: tuple[Hash, ...]) -> tuple[Artifact, ...]:
    """Attach ``--hash`` values: all to a direct URL's one file, else one artifact per hash.

    A hash on an index requirement names one acceptable file (a wheel or the sdist) each.
    """
    if not hashes:
        return artifacts
    if len(artifacts) == 1:
        return (replace(artifacts[0], hashes=hashes),)
    return tuple(Artifact(hashes=(hash_,)) for hash_ in hashes)


def _constrained(package: PythonPackage, constraints: Iterable[PythonPackage]) -> PythonPackage:
    """Apply the constraints on the package's name whose marker is absent or the same."""
    matching = [c for c in constraints if c.marker is None or c.marker == package.marker]
    if not matching:
        return package
    specifier = SpecifierSet(package.specifier)
    for constraint in matching:
        specifier &= SpecifierSet(constraint.specifier)
    artifacts = list(package.artifacts)
    for constraint in matching:
        artifacts.extend(a for a in constraint.artifacts if a not in artifacts)
    constraint_version = next((c.version for c in matching if c.version), None)
    return replace(
        package,
        specifier=str(specifier),
        version=package.version or pinned_version(specifier) or constraint_version,
        url=package.url or next((c.url for c in matching if c.url), None),
        artifacts=tuple(artifacts),
    )
