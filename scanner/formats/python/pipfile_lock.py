"""Read Pipenv's ``Pipfile.lock`` (JSON) into a dependency document."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from scanner.core.capped_io import parse_json_text, read_text_capped
from scanner.core.errors import MalformedFileError
from scanner.formats.python.dependency_fields import (
    MAX_FILES_PER_PACKAGE,
    MAX_GROUPS,
    Fields,
    ProblemLog,
    document_location,
    first_packages,
)
from scanner.formats.python.document_kind import DocumentKind
from scanner.formats.python.entry_lines import pipfile_entry_lines, with_entry_lines
from scanner.formats.python.pep508 import MAX_NAME_CHARS, vcs_url
from scanner.formats.python.records import (
    Artifact,
    DependencyDocument,
    DependencyScope,
    PythonPackage,
)

if TYPE_CHECKING:
    from pathlib import Path

#: Largest Pipfile.lock read, in bytes; real ones with every wheel hash stay under 1 MB.
PIPFILE_LOCK_MAX_BYTES = 16 * 1024 * 1024
#: Deepest JSON nesting accepted; a real lock nests 4 levels.
PIPFILE_LOCK_MAX_DEPTH = 16
#: The section of runtime packages, and of development packages.
DEFAULT_SECTION = "default"
DEVELOP_SECTION = "develop"

_SCOPE_ORDER = (DependencyScope.REQUIRED, DependencyScope.OPTIONAL, DependencyScope.DEV)


def read_pipfile_lock(path: Path, root: Path) -> DependencyDocument:
    """Read a ``Pipfile.lock``: the ``default`` (REQUIRED) and ``develop`` (DEV) sections, and
    Pipenv's custom categories (DEV, the category in ``groups``).

    ``"==1.2"`` gives the version, other specifiers stay in ``specifier``; each hash is one
    artifact. A package in several sections with the same version and source is listed once,
    with the least restrictive scope. Packages from an index name it (``index``, else the
    first of ``_meta.sources``). The lock has no graph and does not say what is direct.

    Raises:
        MalformedFileError: not JSON, too large or deep, or not an object of sections.
        OSError: the file cannot be opened or read.
    """
    text = read_text_capped(path, max_bytes=PIPFILE_LOCK_MAX_BYTES)
    document = parse_json_text(text, max_depth=PIPFILE_LOCK_MAX_DEPTH)
    if not isinstance(document, dict):
        raise MalformedFileError("a Pipfile.lock is a JSON object of sections")
    log = ProblemLog()
    sources = _sources(document, log)
    merged: dict[tuple[str, str | None, str | None, str | None], PythonPackage] = {}
    entries = [(section, *item) for section, items in _sections(document, log) for item in items]
    for section, raw_name, entry in first_packages(entries, log):
        fields = Fields(log, f"{section} {raw_name[:60]!r}")
        package = _package(fields, section, raw_name, entry, sources)
        if package is not None:
            key = (package.name, package.version, package.url, package.index_url)
            merged[key] = _merge(merged[key], package) if key in merged else package
    return DependencyDocument(
        location=document_location(path, root),
        kind=DocumentKind.PIPFILE_LOCK,
        packages=with_entry_lines(merged.values(), pipfile_entry_lines(text)),
        locked=True,
        problems=log.freeze(),
    )


def _sources(document: Mapping[str, object], log: ProblemLog) -> dict[str, str]:
    """Index name → URL from ``_meta.sources``, in order (the first is the default index)."""
    fields = Fields(log, "_meta")
    meta = fields.table(document, "_meta")
    if meta is None:
        log.add("'_meta' is missing")
        return {}
    found: dict[str, str] = {}
    for position, source in enumerate(fields.array(meta, "sources", limit=MAX_GROUPS), start=1):
        if not isinstance(source, dict):
            fields.note(f"source {position} is not an object")
            continue
        name = fields.text(source, "name", max_chars=MAX_NAME_CHARS)
        url = fields.url(source, "url")
        if name is None or url is None:
            fields.note(f"source {position} lacks a name or a url")
        else:
            found.setdefault(name, url)
    return found


def _sections(
    document: Mapping[str, object], log: ProblemLog
) -> list[tuple[str, list[tuple[str, object]]]]:
    """(section name, its entries) for ``default``, ``develop`` and every custom category."""
    sections = [(name, entries) for name, entries in document.items() if not name.startswith("_")]
    if len(sections) > MAX_GROUPS:
        log.add(f"{len(sections)} sections; only the first {MAX_GROUPS} are read")
    found: list[tuple[str, list[tuple[str, object]]]] = []
    for section, entries in sections[:MAX_GROUPS]:
        if not isinstance(entries, dict):
            log.add(f"section {section[:60]!r} is not an object")
            continue
        found.append((section[:MAX_NAME_CHARS], list(entries.items())))
    return found


def _package(
    fields: Fields, section: str, raw_name: str, entry: object, sources: dict[str, str]
) -> PythonPackage | None:
    if not isinstance(entry, dict):
        fields.note("is not an object")
        return None
    name = fields.checked_name(raw_name)
    if name is None:
        return None
    version, specifier = _version(fields, fields.text(entry, "version"))
    marker = fields.optional_marker(entry, "markers")
    url = _url(fields, entry)
    index_name = fields.text(entry, "index", max_chars=MAX_NAME_CHARS)
    index_url = _index_url(fields, index_name, sources, from_index=url is None)
    return PythonPackage(
        name=name[0],
        display_name=name[1],
        version=version,
        specifier=specifier,
        extras=fields.extras(fields.strings(entry, "extras")),
        marker=marker,
        scope=DependencyScope.REQUIRED if section == DEFAULT_SECTION else DependencyScope.DEV,
        groups=() if section in {DEFAULT_SECTION, DEVELOP_SECTION} else (section,),
        url=url,
        editable=bool(fields.flag(entry, "editable")),
        index_url=index_url,
        artifacts=_hashes(fields, entry),
    )


def _version(fields: Fields, raw: str | None) -> tuple[str | None, str]:
    """(exact version, other specifier) of ``"==1.2.3"`` / ``"===x"`` / ``"*"`` / ``">=1"``."""
    if raw is None:
        return None, ""
    if raw.startswith("==="):
        return raw[3:].strip(), ""
    if raw.startswith("==") and "," not in raw and "*" not in raw:
        return fields.version(raw[2:].strip()), ""
    if raw.strip() in {"", "*"}:
        return None, ""
    try:
        return None, str(SpecifierSet(raw))
    except InvalidSpecifier:
        fields.note(f"version {raw[:60]!r} is neither a version nor a specifier")
        return None, raw


def _url(fields: Fields, entry: Mapping[str, object]) -> str | None:
    """A VCS URL (``git`` + ``ref``), an archive (``file``) or a local ``path``."""
    subdirectory = fields.text(entry, "subdirectory")
    for kind in ("git", "hg", "svn", "bzr"):
        location = fields.url(entry, kind)
        if location is not None:
            return vcs_url(kind, location, fields.text(entry, "ref"), subdirectory)
    location = fields.url(entry, "file") or fields.text(entry, "path")
    if location is not None and subdirectory:
        return f"{location}#subdirectory={subdirectory}"
    return location


def _index_url(
    fields: Fields, name: str | None, sources: dict[str, str], *, from_index: bool
) -> str | None:
    if name is not None:
        url = sources.get(name)
        if url is None:
            fields.note(f"index {name!r} is not one of _meta.sources")
        return url
    return next(iter(sources.values()), None) if from_index else None


def _hashes(fields: Fields, entry: Mapping[str, object]) -> tuple[Artifact, ...]:
    found: list[Artifact] = []
    for raw in fields.strings(entry, "hashes", limit=MAX_FILES_PER_PACKAGE):
        digest = fields.prefixed_hash(raw, "hashes")
        if digest is not None:
            found.append(Artifact(hashes=(digest,)))
    return tuple(dict.fromkeys(found))


def _merge(first: PythonPackage, second: PythonPackage) -> PythonPackage:
    """One package from two sections: the least restrictive scope, and its groups."""
    rank = _SCOPE_ORDER.index
    if rank(second.scope) < rank(first.scope):
        first, second = second, first
    groups = first.groups + second.groups if first.scope is second.scope else first.groups
    return replace(
        first,
        groups=tuple(dict.fromkeys(groups)),
        extras=tuple(dict.fromkeys(first.extras + second.extras)),
        artifacts=first.artifacts or second.artifacts,
    )
