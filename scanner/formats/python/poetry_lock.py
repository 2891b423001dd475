"""Read ``poetry.lock`` files (lock versions 1.x and 2.x) into a dependency document."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import Version

from scanner.core.capped_io import TOML_MAX_BYTES, parse_toml_text, read_text_capped
from scanner.formats.python.dependency_fields import (
    MAX_DEPENDENCIES_PER_PACKAGE,
    MAX_FILES_PER_PACKAGE,
    MAX_GROUPS,
    EdgeBudget,
    Fields,
    ProblemLog,
    document_location,
    extras_required,
    merge_links,
    package_tables,
    package_where,
)
from scanner.formats.python.document_kind import DocumentKind
from scanner.formats.python.entry_lines import toml_entry_lines, with_entry_lines
from scanner.formats.python.pep508 import MAX_NAME_CHARS, vcs_url
from scanner.formats.python.records import (
    Artifact,
    DependencyDocument,
    DependencyScope,
    PackageLink,
    PythonPackage,
)

if TYPE_CHECKING:
    from pathlib import Path

#: Lock versions Poetry has written; others are read the same way, with a problem.
KNOWN_LOCK_VERSIONS = frozenset({"1.0", "1.1", "2.0", "2.1"})
#: The Poetry group of the project's own runtime dependencies.
MAIN_GROUP = "main"

_URL_SOURCES = frozenset({"url", "file"})


def read_poetry_lock(path: Path, root: Path) -> DependencyDocument:
    """Read a ``poetry.lock``: every ``[[package]]`` with its version, files, source and edges.

    Scope comes from ``groups`` (lock 2.1) or ``category`` (lock 1.x): a package outside the
    ``main`` group is DEV (``groups``: its Poetry groups); in ``main`` it is OPTIONAL when
    ``optional = true`` or its ``main`` marker needs an extra (``groups``: those extras), else
    REQUIRED. Lock 2.0 records no group: its packages count as ``main``. ``direct`` stays
    None: only ``pyproject.toml`` says what the project asks for.

    Raises:
        MalformedFileError: not TOML, too large or deep, or ``package`` is not an array.
        OSError: the file cannot be opened or read.
    """
    text = read_text_capped(path, max_bytes=TOML_MAX_BYTES)
    document = parse_toml_text(text)
    log = ProblemLog()
    metadata = _metadata(document, log)
    entries = package_tables(document, "package", log)
    legacy = _LegacyFiles(metadata, entries, log)
    budget = EdgeBudget(log)
    packages: list[PythonPackage] = []
    for index, entry in enumerate(entries, start=1):
        fields = Fields(log, package_where(index, entry))
        if not isinstance(entry, dict):
            fields.note("is not a table")
            continue
        package = _package(fields, entry, legacy, budget)
        if package is not None:
            packages.append(package)
    return DependencyDocument(
        location=document_location(path, root),
        kind=DocumentKind.POETRY_LOCK,
        packages=with_entry_lines(packages, toml_entry_lines(text, "package")),
        locked=True,
        has_graph=True,
        problems=log.freeze(),
    )


def _metadata(document: Mapping[str, object], log: ProblemLog) -> dict[str, object]:
    fields = Fields(log, "[metadata]")
    metadata = fields.table(document, "metadata")
    if metadata is None:
        log.add("no [metadata] table: the lock version is unknown")
        return {}
    version = fields.text(metadata, "lock-version")
    if version is None:
        fields.note("'lock-version' is missing")
    elif version not in KNOWN_LOCK_VERSIONS:
        fields.note(f"lock-version {version[:20]!r} is not one this reader knows")
    return metadata


def _package(
    fields: Fields,
    entry: Mapping[str, object],
    legacy: _LegacyFiles,
    budget: EdgeBudget,
) -> PythonPackage | None:
    name = fields.package_name(entry)
    if name is None:
        return None
    if "version" not in entry:
        fields.note("'version' is missing")
    version = fields.optional_version(entry)
    groups = _groups(fields, entry)
    marker = _marker(fields, entry, groups)
    scope, scope_groups = _scope(groups, bool(fields.flag(entry, "optional")), marker)
    url, index_url = _source(fields, entry)
    files = _files(fields, entry) if "files" in entry else legacy.files(fields, name[0], version)
    return PythonPackage(
        name=name[0],
        display_name=name[1],
        version=version,
        marker=marker,
        scope=scope,
        groups=scope_groups,
        url=url,
        editable=bool(fields.flag(entry, "develop")),
        index_url=index_url,
        artifacts=files,
        dependencies=_dependencies(fields, entry, budget),
    )


def _groups(fields: Fields, entry: Mapping[str, object]) -> tuple[str, ...]:
    """Lock 2.1 ``groups``, else the lock 1.x ``category`` (lock 2.0 has neither)."""
    groups = tuple(dict.fromkeys(fields.strings(entry, "groups", limit=MAX_GROUPS)))
    category = fields.text(entry, "category", max_chars=MAX_NAME_CHARS)
    return (category,) if not groups and category is not None else groups


def _scope(
    groups: tuple[str, ...], optional: bool, marker: str | None
) -> tuple[DependencyScope, tuple[str, ...]]:
    """(scope, groups): outside ``main`` DEV with its groups; in ``main`` OPTIONAL with the
    extras its marker needs when optional or only wanted by extras, else REQUIRED."""
    if groups and MAIN_GROUP not in groups:
        return DependencyScope.DEV, groups
    extras = extras_required(marker) if marker is not None else ()
    if optional or extras:
        return DependencyScope.OPTIONAL, extras
    return DependencyScope.REQUIRED, ()


def _marker(fields: Fields, entry: Mapping[str, object], groups: tuple[str, ...]) -> str | None:
    """The package's marker: a string, or (lock 2.1) a table of one marker per group.

    With a table, the groups that set the scope count (``main`` when present, else all of
    them); a group without an entry makes the package unconditional.
    """
    raw = entry.get("markers")
    if raw is None or isinstance(raw, str):
        return fields.optional_marker(entry, "markers")
    per_group = fields.table(entry, "markers")
    if per_group is None:
        return None
    relevant = (MAIN_GROUP,) if MAIN_GROUP in groups else groups or tuple(per_group)
    markers: list[str] = []
    for group in relevant[:MAX_GROUPS]:
        text = fields.text(per_group, group)
        if text is None:
            return None
        markers.append(fields.marker(text))
    return fields.any_marker(markers, "the package") if markers else None


def _source(fields: Fields, entry: Mapping[str, object]) -> tuple[str | None, str | None]:
    """(url, index_url) from ``[package.source]``."""
    source = fields.table(entry, "source")
    if source is None:
        return None, None
    kind = fields.text(source, "type", max_chars=MAX_NAME_CHARS)
    url = fields.url(source, "url")
    subdirectory = fields.text(source, "subdirectory")
    if url is None:
        fields.note("'source' has no url")
        return None, None
    if kind == "legacy":
        return None, url
    if kind in {"git", "hg"}:
        revision = fields.text(source, "resolved_reference") or fields.text(source, "reference")
        return vcs_url(kind, url, revision, subdirectory), None
    if kind in _URL_SOURCES or kind == "directory":
        return (f"{url}#subdirectory={subdirectory}" if subdirectory else url), None
    fields.note(f"source type {kind!r} is not one this reader knows")
    return url, None


def _files(fields: Fields, entry: Mapping[str, object]) -> tuple[Artifact, ...]:
    """Lock 2.x ``files = [{file, hash}]``."""
    return _artifacts(fields, fields.array(entry, "files", limit=MAX_FILES_PER_PACKAGE))


def _artifacts(fields: Fields, items: list[object]) -> tuple[Artifact, ...]:
    found: list[Artifact] = []
    for position, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            fields.note(f"file {position} is not a table")
            continue
        filename = fields.text(item, "file", max_chars=MAX_NAME_CHARS)
        raw_hash = fields.text(item, "hash")
        what = f"file {filename or position!r}"
        digest = fields.prefixed_hash(raw_hash, what) if raw_hash is not None else None
        url = fields.url(item, "url")
        if filename is None and url is None:
            fields.note(f"file {position} has no name")
            continue
        found.append(Artifact(filename=filename, url=url, hashes=(digest,) if digest else ()))
    return tuple(found)


def _dependencies(
    fields: Fields, entry: Mapping[str, object], budget: EdgeBudget
) -> tuple[PackageLink, ...]:
    """``[package.dependencies]``: name = "spec" | {version, markers, extras, …} | [{…}, …]."""
    table = fields.table(entry, "dependencies")
    if table is None:
        return ()
    items = list(table.items())
    if len(items) > MAX_DEPENDENCIES_PER_PACKAGE:
        fields.note(
            f"{len(items)} dependencies; only the first {MAX_DEPENDENCIES_PER_PACKAGE} are read"
        )
        items = items[:MAX_DEPENDENCIES_PER_PACKAGE]
    links: list[PackageLink] = []
    for raw_name, constraint in items[: budget.take(len(items))]:
        name = fields.checked_name(raw_name)
        if name is not None:
            links.extend(_constraint_links(fields, name[0], constraint, budget))
    return merge_links(links, fields)


def _constraint_links(
    fields: Fields, name: str, constraint: object, budget: EdgeBudget
) -> list[PackageLink]:
    if isinstance(constraint, str):
        return [PackageLink(name=name)]
    if isinstance(constraint, dict):
        constraints: list[object] = [constraint]
    elif isinstance(constraint, list):
        # Each constraint of a multi-constraint entry is one more entry to read.
        wanted = min(len(constraint), MAX_DEPENDENCIES_PER_PACKAGE)
        constraints = constraint[: budget.take(wanted)]
    else:
        fields.note(f"dependency {name!r} is neither a string, a table nor an array")
        return []
    links: list[PackageLink] = []
    for item in constraints:
        if not isinstance(item, dict):
            fields.note(f"dependency {name!r} holds an item that is not a table")
            continue
        marker = fields.optional_marker(item, "markers")
        extras = fields.extras(fields.strings(item, "extras"))
        links.append(PackageLink(name=name, extras=extras, marker=marker))
    return links


class _LegacyFiles:
    """Lock 1.x keeps files apart: ``[metadata.files]`` name → [{file, hash}] (1.1), or
    ``[metadata.hashes]`` name → ["<sha256 hex>"] (1.0), shared by every version of a name."""

    def __init__(
        self, metadata: Mapping[str, object], entries: list[object], log: ProblemLog
    ) -> None:
        fields = Fields(log, "[metadata]")
        self._files = self._by_name(fields.table(metadata, "files"))
        self._hashes = self._by_name(fields.table(metadata, "hashes"))
        self._versions: dict[str, int] = {}
        for entry in entries:
            name = entry.get("name") if isinstance(entry, dict) else None
            if isinstance(name, str):
                key = _loose_name(name)
                self._versions[key] = self._versions.get(key, 0) + 1

    @staticmethod
    def _by_name(table: dict[str, object] | None) -> dict[str, object]:
        return {_loose_name(name): value for name, value in (table or {}).items()}

    def files(self, fields: Fields, name: str, version: str | None) -> tuple[Artifact, ...]:
        """The artifacts of release ``name`` ``version``."""
        if name in self._files:
            items = fields.capped_array(
                self._files[name], "its entry in [metadata.files]", limit=MAX_FILES_PER_PACKAGE
            )
            found = _artifacts(fields, items)
        elif name in self._hashes:
            items = fields.capped_array(
                self._hashes[name], "its entry in [metadata.hashes]", limit=MAX_FILES_PER_PACKAGE
            )
            found = self._bare_hashes(fields, items)
        else:
            return ()
        if self._versions.get(name, 0) > 1 and version is not None:
            # Several versions of one name share the list: keep the files of this version.
            found = tuple(a for a in found if _file_of_version(a.filename, version))
        return found

    @staticmethod
    def _bare_hashes(fields: Fields, items: list[object]) -> tuple[Artifact, ...]:
        found: list[Artifact] = []
        for item in items:
            if not isinstance(item, str):
                fields.note("[metadata.hashes] holds an item that is not a string")
            elif digest := fields.hash_value("sha256", item, "[metadata.hashes]"):
                found.append(Artifact(hashes=(digest,)))
        return tuple(found)


def _loose_name(name: str) -> str:
    """The canonical form of any string (invalid names too), to match ``[metadata.files]``."""
    return canonicalize_name(name)


def _file_of_version(filename: str | None, version: str) -> bool:
    """Whether a wheel or sdist file name carries ``version`` (True when either does not parse)."""
    if filename is None:
        return True
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[1] == Version(version)
        return parse_sdist_filename(filename)[1] == Version(version)
    except ValueError:  # Invalid*Filename and InvalidVersion are ValueErrors
        return True
