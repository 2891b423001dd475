"""Document-level helpers every Python dependency reader shares.

Capped problem logs and their wording, document locations, credential redaction, the caps on
packages, files and edges, checked access to the fields of a lock's tables (a wrong type, an
invalid name, version, marker or hash becomes a problem, never an exception) and the merging of
dependency edges.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from packaging.utils import InvalidName, canonicalize_name
from packaging.version import Version

from scanner.core.errors import MalformedFileError
from scanner.formats.python.pep508 import (
    MAX_NAME_CHARS,
    VCS_SCHEME,
    UnsupportedHashAlgorithm,
    archive_filename,
    archive_version,
    normalized_extras,
    parse_hash,
    parse_marker,
    pinned_version,
)
from scanner.formats.python.records import Artifact, DependencyScope, PackageLink, PythonPackage

if TYPE_CHECKING:
    from pathlib import Path

    from packaging.requirements import Requirement

    from scanner.core.model import Hash

#: Most packages kept per document (a lock's entries, a manifest's requirements and
#: constraints); the largest real monorepo locks hold a few thousand.
MAX_PACKAGES = 20_000
#: Most problems kept per document; further ones are only counted (a requirements file stops
#: being read there: a file this broken is not worth reading on).
MAX_PROBLEMS = 200
#: Longest piece of a scanned file quoted in a problem.
MAX_QUOTED_CHARS = 200
#: Most artifacts (wheels, sdist, hashes) kept per package; numpy and torch releases ship ~60.
MAX_FILES_PER_PACKAGE = 1_000
#: Most dependency entries read per package (or per extra / group of a package).
MAX_DEPENDENCIES_PER_PACKAGE = 1_000
#: Most dependency entries read per lock: a 32 MB file could otherwise hold millions of edges.
MAX_DEPENDENCIES_PER_LOCK = 200_000
#: Most extras, groups or categories read per package, table or project; real projects < 30.
MAX_GROUPS = 256
#: Longest string kept from a lock (URLs, paths, markers, specifiers); real markers < 2 KB.
MAX_STRING_CHARS = 8_192

#: How a lock names the project's own folder (a directory or workspace source at the root).
PROJECT_PATHS = frozenset({"", ".", "./"})

_AUTHORITY_END = re.compile(r"[/?#\s]")
#: ``extra == "name"`` (or reversed) as packaging prints it.
_EXTRA_TERM = re.compile(r'extra == "(?P<left>[^"]+)"|"(?P<right>[^"]+)" == extra')
#: The one user name an ssh URL keeps: it says which service account, not who.
_PUBLIC_SSH_USER = "git"

_Item = TypeVar("_Item")


class ProblemLog:
    """The non-fatal problems of one document: the first ``MAX_PROBLEMS``, then a count."""

    def __init__(self) -> None:
        self._kept: list[str] = []
        self._dropped = 0

    @property
    def full(self) -> bool:
        """True once ``MAX_PROBLEMS`` are kept."""
        return len(self._kept) >= MAX_PROBLEMS

    def add(self, problem: str) -> None:
        """Record one problem (one clear sentence naming where, when known)."""
        if self.full:
            self._dropped += 1
        else:
            self._kept.append(problem)

    def stop_reading(self, location: str) -> None:
        """Record, past the cap, that ``location`` is not read further for its problems."""
        self._kept.append(f"{location}: more than {MAX_PROBLEMS} problems; the rest is not read")

    def freeze(self) -> tuple[str, ...]:
        """The problems for ``DependencyDocument.problems``, a last line counting those left out."""
        more = (f"... and {self._dropped} more problems",) if self._dropped else ()
        return (*self._kept, *more)


def document_location(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` as a POSIX string (its name when it is not under ``root``)."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        pass
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError, RuntimeError):
        return path.name


def at_line(location: str, line: int | None) -> str:
    """How a problem names its place: ``requirements.txt line 3``, or the file alone."""
    return f"{location} line {line}" if line is not None else location


def quoted(text: str) -> str:
    """``text`` fit for a problem message: credentials redacted, clipped, in single quotes."""
    text = redact_url(text)
    if len(text) > MAX_QUOTED_CHARS:
        text = text[:MAX_QUOTED_CHARS] + "…"
    return f"'{text}'"


def requirement_problem(location: str, line: int | None, text: str, reason: str) -> str:
    """The problem sentence for a requirement that cannot be read."""
    return f"{at_line(location, line)}: invalid requirement {quoted(text)}: {reason}"


def redact_url(text: str) -> str:
    """Replace the credentials of every URL in ``text`` with ``****``.

    ``https://user:secret@host`` becomes ``https://user:****@host`` and a lone user (often a
    token) becomes ``****``; only ``git@`` on an ssh URL (``git+ssh://git@github.com/…``) is
    kept. A lone ``${VAR}`` placeholder is masked too: what it stands for is unknown.
    """
    if "://" not in text:
        return text
    pieces: list[str] = []
    start = 0
    while (separator := text.find("://", start)) != -1:
        authority = separator + 3
        end_match = _AUTHORITY_END.search(text, authority)
        end = end_match.start() if end_match else len(text)
        at = text.rfind("@", authority, end)
        if at == -1:
            pieces.append(text[start:end])
        else:
            user, colon, _ = text[authority:at].partition(":")
            if colon:
                userinfo = f"{user}:****"
            elif user == _PUBLIC_SSH_USER and text[:separator].lower().endswith("ssh"):
                userinfo = user
            else:
                userinfo = "****"
            pieces.append(f"{text[start:authority]}{userinfo}{text[at:end]}")
        start = end
    pieces.append(text[start:])
    return "".join(pieces)


def direct_url_artifacts(url: str) -> tuple[Artifact, ...]:
    """The one file a direct (non-VCS) URL names, credentials redacted; a VCS URL names none."""
    if VCS_SCHEME.match(url.partition(":")[0].lower()):
        return ()
    return (Artifact(filename=archive_filename(url), url=redact_url(url)),)


def package_from_requirement(
    requirement: Requirement,
    *,
    scope: DependencyScope = DependencyScope.REQUIRED,
    groups: tuple[str, ...] = (),
    line: int | None = None,
) -> PythonPackage:
    """The package a PEP 508 requirement asks for, as a direct dependency of the document.

    A direct reference to a wheel or sdist (``name @ https://…/name-1.0.tar.gz``) takes its
    version from the file name; its URL is kept with the credentials redacted.
    """
    name = canonicalize_name(requirement.name)
    url = requirement.url
    version = pinned_version(requirement.specifier)
    if url is not None and version is None:
        version = archive_version(url, name)
    return PythonPackage(
        name=name,
        display_name=requirement.name,
        version=version,
        specifier=str(requirement.specifier),
        extras=normalized_extras(requirement.extras),
        marker=str(requirement.marker) if requirement.marker is not None else None,
        scope=scope,
        groups=groups,
        direct=True,
        url=redact_url(url) if url is not None else None,
        artifacts=direct_url_artifacts(url) if url is not None else (),
        line=line,
    )


def first_packages(items: list[_Item], log: ProblemLog) -> list[_Item]:
    """The first ``MAX_PACKAGES`` package entries of a lock; more is a problem."""
    if len(items) > MAX_PACKAGES:
        log.add(f"{len(items)} packages; only the first {MAX_PACKAGES} are read")
        return items[:MAX_PACKAGES]
    return items


def package_tables(document: Mapping[str, object], key: str, log: ProblemLog) -> list[object]:
    """The array of package tables at ``document[key]`` (absent → empty), cut to MAX_PACKAGES.

    Raises:
        MalformedFileError: ``document[key]`` is not an array.
    """
    value = document.get(key, [])
    if not isinstance(value, list):
        raise MalformedFileError(f"{key!r} is not an array of tables")
    return first_packages(value, log)


def package_where(index: int, entry: object) -> str:
    """How problems name the ``index``-th (1-based) package entry: ``package 12 ('foo')``."""
    name = entry.get("name") if isinstance(entry, dict) else None
    return f"package {index} ({name[:60]!r})" if isinstance(name, str) else f"package {index}"


class EdgeBudget:
    """What is left of ``MAX_DEPENDENCIES_PER_LOCK`` for one lock."""

    def __init__(self, log: ProblemLog) -> None:
        self._log = log
        self._left = MAX_DEPENDENCIES_PER_LOCK
        self._reported = False

    def take(self, wanted: int) -> int:
        """How many of ``wanted`` more dependency entries may still be read."""
        granted = min(wanted, self._left)
        self._left -= granted
        if granted < wanted and not self._reported:
            self._reported = True
            self._log.add(
                f"more than {MAX_DEPENDENCIES_PER_LOCK} dependency entries; the rest are not read"
            )
        return granted


@dataclass(frozen=True, slots=True)
class Fields:
    """Checked access to the tables of one entry; a wrong value becomes a problem naming it."""

    log: ProblemLog
    where: str
    """How problems name the entry: ``package 12 ('foo')``."""

    def note(self, problem: str) -> None:
        """Record a problem of this entry."""
        self.log.add(f"{self.where}: {problem}")

    def text(
        self, table: Mapping[str, object], key: str, *, max_chars: int = MAX_STRING_CHARS
    ) -> str | None:
        """``table[key]`` when it is a string of at most ``max_chars``; absent or null → None."""
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            self.note(f"{key!r} is not a string")
            return None
        if len(value) > max_chars:
            self.note(f"{key!r} is longer than {max_chars} characters")
            return None
        return value

    def url(self, table: Mapping[str, object], key: str) -> str | None:
        """``text(table, key)`` with any password or token in it replaced by ``****``."""
        value = self.text(table, key)
        return redact_url(value) if value is not None else None

    def flag(self, table: Mapping[str, object], key: str) -> bool | None:
        """``table[key]`` when it is a boolean; absent or null → None."""
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, bool):
            self.note(f"{key!r} is not a boolean")
            return None
        return value

    def table(self, table: Mapping[str, object], key: str) -> dict[str, object] | None:
        """``table[key]`` when it is a table; absent or null → None."""
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.note(f"{key!r} is not a table")
            return None
        return value

    def array(self, table: Mapping[str, object], key: str, *, limit: int) -> list[object]:
        """``table[key]`` when it is an array, cut to ``limit`` items; absent → empty."""
        value = table.get(key)
        return [] if value is None else self.capped_array(value, repr(key), limit=limit)

    def capped_array(self, value: object, what: str, *, limit: int) -> list[object]:
        """``value`` (named ``what`` in problems) when it is an array, cut to ``limit`` items."""
        if not isinstance(value, list):
            self.note(f"{what} is not an array")
            return []
        if len(value) > limit:
            self.note(f"{what} has {len(value)} items; only the first {limit} are read")
            return value[:limit]
        return value

    def strings(
        self, table: Mapping[str, object], key: str, *, limit: int = MAX_GROUPS
    ) -> list[str]:
        """The strings of the array ``table[key]`` (other items are problems)."""
        found: list[str] = []
        for item in self.array(table, key, limit=limit):
            if isinstance(item, str) and len(item) <= MAX_STRING_CHARS:
                found.append(item)
            else:
                self.note(f"{key!r} holds an item that is not a string")
        return found

    def package_name(
        self, table: Mapping[str, object], key: str = "name"
    ) -> tuple[str, str] | None:
        """(canonical, as written) of the package name at ``table[key]``, or None (a problem)."""
        raw = table.get(key)
        if not isinstance(raw, str):
            self.note(f"{key!r} is missing or not a string")
            return None
        return self.checked_name(raw)

    def checked_name(self, raw: str) -> tuple[str, str] | None:
        """(canonical, as written) of a package or extra name, or None (a problem)."""
        if len(raw) > MAX_NAME_CHARS:
            self.note(f"name {raw[:60]!r}… is longer than {MAX_NAME_CHARS} characters")
            return None
        try:
            return canonicalize_name(raw, validate=True), raw
        except InvalidName:
            self.note(f"{raw!r} is not a valid package name")
            return None

    def extras(self, raw: Iterable[str]) -> tuple[str, ...]:
        """Canonical extra names (PEP 685), in order, without repeats; invalid ones are problems."""
        found = (self.checked_name(extra) for extra in raw)
        return tuple(dict.fromkeys(name[0] for name in found if name is not None))

    def version(self, raw: str) -> str:
        """``raw`` normalised by ``packaging``; an invalid version is kept as written."""
        try:
            return str(Version(raw))
        except ValueError:  # InvalidVersion, or a number past Python's int digit limit
            self.note(f"version {raw[:60]!r} is not a valid version")
            return raw

    def optional_version(self, table: Mapping[str, object], key: str = "version") -> str | None:
        """``version(table[key])`` when it is a string; absent or null → None."""
        raw = self.text(table, key)
        return self.version(raw) if raw is not None else None

    def marker(self, raw: str) -> str:
        """``raw`` as ``packaging`` prints it; an invalid marker is kept as written."""
        normalized = _normalized_marker(raw)
        if normalized is None:
            self.note(f"marker {raw[:60]!r} is not a valid environment marker")
            return raw
        return normalized

    def optional_marker(self, table: Mapping[str, object], key: str) -> str | None:
        """``marker(table[key])`` when it is a string; absent or null → None."""
        raw = self.text(table, key)
        return self.marker(raw) if raw is not None else None

    def any_marker(self, markers: Iterable[str], what: str) -> str | None:
        """The markers or-ed together (one of them enough); None when too long to keep."""
        distinct = list(dict.fromkeys(markers))
        if len(distinct) == 1:
            return distinct[0]
        combined = " or ".join(f"({marker})" for marker in distinct)
        if len(combined) > MAX_STRING_CHARS:
            self.note(f"the markers of {what} are too long to combine; the edge is kept bare")
            return None
        # None: one part was invalid, which is already a problem
        return _normalized_marker(combined) or combined

    def with_extra(self, marker: str | None, extra: str) -> str:
        """``marker`` narrowed to when ``extra`` (a canonical extra name) is asked for."""
        condition = f'extra == "{extra}"'
        if marker is None:
            return condition
        combined = f"({marker}) and {condition}"
        return _normalized_marker(combined) or combined

    def prefixed_hash(self, raw: str, what: str) -> Hash | None:
        """A ``sha256:<hex>`` digest, or None (a problem)."""
        algorithm, separator, value = raw.partition(":")
        if not separator:
            self.note(f"{what}: hash {raw[:80]!r} does not name its algorithm")
            return None
        return self.hash_value(algorithm, value, what)

    def hash_table(self, table: Mapping[str, object], what: str) -> tuple[Hash, ...]:
        """The digests of a ``{sha256 = "<hex>", …}`` table; bad ones are problems."""
        found: list[Hash] = []
        for algorithm, value in list(table.items())[:MAX_GROUPS]:
            if not isinstance(value, str):
                self.note(f"{what}: hash {algorithm[:40]!r} is not a string")
            elif digest := self.hash_value(algorithm, value, what):
                found.append(digest)
        return tuple(found)

    def hash_value(self, algorithm: str, value: str, what: str) -> Hash | None:
        """The digest ``value`` (hex) of hashlib ``algorithm``, or None (a problem)."""
        try:
            return parse_hash(algorithm, value)
        except UnsupportedHashAlgorithm:
            self.note(f"{what}: hash algorithm {algorithm[:40]!r} is not supported")
        except ValueError as error:
            self.note(f"{what}: {algorithm} hash {value[:80]!r} {error}")
        return None


def sdist_and_wheels(
    fields: Fields,
    entry: Mapping[str, object],
    read: Callable[[Fields, Mapping[str, object], str], Artifact | None],
) -> list[Artifact]:
    """The artifacts of a lock entry's ``sdist`` table and ``wheels`` array of tables, each
    read by ``read(fields, table, "sdist" | "wheel N")`` (None: nothing worth keeping)."""
    found: list[Artifact] = []
    sdist = fields.table(entry, "sdist")
    if sdist is not None and (artifact := read(fields, sdist, "sdist")):
        found.append(artifact)
    wheels = fields.array(entry, "wheels", limit=MAX_FILES_PER_PACKAGE)
    for position, wheel in enumerate(wheels, start=1):
        if not isinstance(wheel, dict):
            fields.note(f"wheel {position} is not a table")
        elif artifact := read(fields, wheel, f"wheel {position}"):
            found.append(artifact)
    return found


def merge_links(links: Iterable[PackageLink], fields: Fields) -> tuple[PackageLink, ...]:
    """One edge per dependency (name and version), in first-seen order: extras joined, markers
    or-ed. An entry without a marker makes the edge unconditional."""
    by_target: dict[tuple[str, str | None], list[PackageLink]] = {}
    for link in links:
        by_target.setdefault((link.name, link.version), []).append(link)
    merged: list[PackageLink] = []
    for (name, version), group in by_target.items():
        extras = tuple(dict.fromkeys(extra for link in group for extra in link.extras))
        markers = [link.marker for link in group]
        marker = (
            None
            if any(m is None for m in markers)
            else fields.any_marker((m for m in markers if m is not None), f"dependency {name!r}")
        )
        merged.append(
            PackageLink(name=name, extras=extras[:MAX_GROUPS], marker=marker, version=version)
        )
    return tuple(merged)


def extras_required(marker: str) -> tuple[str, ...]:
    """The extras ``marker`` cannot hold without: each of its ``or`` branches has an
    ``extra == "…"`` condition joined by ``and``. Empty when some branch needs no extra, or
    the marker is invalid.
    """
    text = _normalized_marker(marker)
    if text is None:
        return ()
    return tuple(sorted(_needed_extras(text) or ()))


def _normalized_marker(text: str) -> str | None:
    """``text`` as ``packaging`` prints the marker, or None when it is not a valid one."""
    try:
        return str(parse_marker(text))
    except ValueError:
        return None


def _needed_extras(text: str) -> set[str] | None:
    """Extras every branch of the normalised marker ``text`` names, or None (markers nest at
    most ``MAX_MARKER_NESTING`` levels, which bounds the recursion)."""
    needed: set[str] = set()
    for branch in _split_top_level(text, " or "):
        found: set[str] = set()
        for term in _split_top_level(branch, " and "):
            if term.startswith("(") and term.endswith(")"):
                found |= _needed_extras(term[1:-1]) or set()
            elif match := _EXTRA_TERM.fullmatch(term):
                found.add(match["left"] or match["right"])
        if not found:
            return None
        needed |= found
    return needed


def _split_top_level(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` outside quotes and parentheses."""
    parts: list[str] = []
    depth, quote, start, position = 0, "", 0, 0
    while position < len(text):
        char = text[position]
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "()":
            depth += 1 if char == "(" else -1
        elif depth == 0 and text.startswith(separator, position):
            parts.append(text[start:position].strip())
            start = position = position + len(separator)
            continue
        position += 1
    parts.append(text[start:].strip())
    return parts
