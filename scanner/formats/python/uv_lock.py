"""Read ``uv.lock`` files: packages, sources, artifacts, the graph, and who depends on what."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from itertools import chain
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit, urlunsplit

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from scanner.core.capped_io import TOML_MAX_BYTES, parse_toml_text, read_text_capped
from scanner.formats.python.dependency_fields import (
    MAX_DEPENDENCIES_PER_PACKAGE,
    MAX_FILES_PER_PACKAGE,
    MAX_GROUPS,
    PROJECT_PATHS,
    EdgeBudget,
    Fields,
    ProblemLog,
    document_location,
    merge_links,
    package_tables,
    package_where,
    sdist_and_wheels,
)
from scanner.formats.python.document_kind import DocumentKind
from scanner.formats.python.entry_lines import toml_entry_lines, with_entry_lines
from scanner.formats.python.pep508 import artifact_filename, vcs_url
from scanner.formats.python.records import (
    Artifact,
    DependencyDocument,
    DependencyScope,
    PackageLink,
    PythonPackage,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

#: The lock format version this reader was written for (``version = 1``).
UV_LOCK_VERSION = 1
#: Most distinct extras and groups of the project tracked for scopes; beyond them a package
#: still gets the right scope, without the group's name.
MAX_SCOPE_LABELS = 64

#: Source kinds whose value is a local path (workspace members, path dependencies).
_LOCAL_SOURCES = ("editable", "virtual", "directory")
_SOURCE_KINDS = ("registry", "git", "url", "path", *_LOCAL_SOURCES)
_GIT_REVISION_KEYS = ("rev", "tag", "branch")
_SCOPE_ORDER = (DependencyScope.REQUIRED, DependencyScope.OPTIONAL, DependencyScope.DEV)


def read_uv_lock(path: Path, root: Path) -> DependencyDocument:
    """Read a ``uv.lock``.

    The project's own packages (source ``editable``/``virtual``/``directory`` at ``"."``, and
    the workspace members of ``[manifest]``) are the roots: they are not listed, the first
    names ``project``. Packages a root names are direct; each package's scope follows the
    roots' entries that reach it (``dependencies`` → REQUIRED, ``optional-dependencies`` →
    OPTIONAL, ``dev-dependencies`` → DEV, with the extra or group in ``groups``), the least
    restrictive winning. A package's extras' edges carry an ``extra == "…"`` marker.

    Raises:
        MalformedFileError: not TOML, too large or deep, or ``package`` is not an array.
        OSError: the file cannot be opened or read.
    """
    text = read_text_capped(path, max_bytes=TOML_MAX_BYTES)
    document = parse_toml_text(text)
    log = ProblemLog()
    _check_version(document, log)
    members = _workspace_members(document, log)
    budget = EdgeBudget(log)
    entries: list[_Entry] = []
    seen: set[tuple[str, object]] = set()
    for index, raw in enumerate(package_tables(document, "package", log), start=1):
        fields = Fields(log, package_where(index, raw))
        if not isinstance(raw, dict):
            fields.note("is not a table")
            continue
        entry = _entry(fields, raw, members, budget)
        if entry is None:
            continue
        key = (entry.package.name, _version_key(entry.package.version))
        if key in seen:
            fields.note("is listed twice; the first entry is kept")
            continue
        seen.add(key)
        entries.append(entry)
    graph = _Graph(entries, log)
    roots = [entry for entry in entries if entry.is_root]
    own = next((e.package for e in roots if e.is_project), None)
    if own is None and len(roots) == 1:
        own = roots[0].package
    return DependencyDocument(
        location=document_location(path, root),
        kind=DocumentKind.UV_LOCK,
        packages=with_entry_lines(graph.packages(roots), toml_entry_lines(text, "package")),
        project=own.name if own else None,
        project_version=own.version if own else None,
        locked=True,
        has_graph=True,
        problems=log.freeze(),
    )


def _check_version(document: Mapping[str, object], log: ProblemLog) -> None:
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        log.add("'version' is missing or not an integer")
    elif version != UV_LOCK_VERSION:
        log.add(f"lock version {version} is not one this reader knows")


def _workspace_members(document: Mapping[str, object], log: ProblemLog) -> frozenset[str]:
    fields = Fields(log, "[manifest]")
    manifest = fields.table(document, "manifest")
    if manifest is None:
        return frozenset()
    names = (fields.checked_name(member) for member in fields.strings(manifest, "members"))
    return frozenset(name[0] for name in names if name is not None)


# --- one [[package]] -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class _Entry:
    """One ``[[package]]`` before the graph is known."""

    package: PythonPackage
    """Everything but specifier, scope, groups, direct and dependencies."""
    is_root: bool
    """The project itself (a local source at ".") or a workspace member."""
    is_project: bool
    requires: list[PackageLink]
    optional: dict[str, list[PackageLink]]
    dev: dict[str, list[PackageLink]]
    specifiers: dict[str, set[str]]
    """Roots only: canonical name → the specifiers ``[package.metadata]`` declares for it."""


def _entry(
    fields: Fields, raw: Mapping[str, object], members: frozenset[str], budget: EdgeBudget
) -> _Entry | None:
    name = fields.package_name(raw)
    if name is None:
        return None
    version = fields.optional_version(raw)
    source_kind, source_value = _source(fields, raw)
    url, index_url = _source_location(fields, source_kind, source_value, raw)
    is_local = source_kind in _LOCAL_SOURCES
    is_project = is_local and source_value in PROJECT_PATHS
    is_root = is_project or (is_local and name[0] in members)
    package = PythonPackage(
        name=name[0],
        display_name=name[1],
        version=version,
        url=url,
        editable=source_kind == "editable",
        index_url=index_url,
        artifacts=_artifacts(fields, raw),
    )
    return _Entry(
        package=package,
        is_root=is_root,
        is_project=is_project,
        requires=_dependency_list(fields, raw, "dependencies", budget),
        optional=_dependency_table(fields, raw, "optional-dependencies", budget),
        dev=_dependency_table(fields, raw, "dev-dependencies", budget),
        specifiers=_declared_specifiers(fields, raw) if is_root else {},
    )


def _source(fields: Fields, raw: Mapping[str, object]) -> tuple[str | None, str | None]:
    """(kind, value) of ``source = {registry = URL}`` and the like."""
    source = fields.table(raw, "source")
    if source is None:
        fields.note("'source' is missing")
        return None, None
    for kind in _SOURCE_KINDS:
        if kind in source:
            return kind, fields.url(source, kind)
    fields.note("'source' names no kind this reader knows")
    return None, None


def _source_location(
    fields: Fields, kind: str | None, value: str | None, raw: Mapping[str, object]
) -> tuple[str | None, str | None]:
    """(url, index_url) of a package's source."""
    if value is None:
        return None, None
    if kind == "registry":
        return None, value
    if kind == "git":
        return _git_url(fields, value), None
    if kind == "url":
        source = fields.table(raw, "source") or {}
        subdirectory = fields.text(source, "subdirectory")
        return (f"{value}#subdirectory={subdirectory}" if subdirectory else value), None
    return value, None  # a local path: path, directory, editable, virtual


def _git_url(fields: Fields, value: str) -> str:
    """``https://host/repo?rev=v1&subdirectory=x#<commit>`` → ``git+https://host/repo@<commit>…``."""
    try:
        parts = urlsplit(value)
    except ValueError:
        fields.note(f"git source {value[:80]!r} is not a URL")
        return value
    query = parse_qs(parts.query)
    revision = parts.fragment or next(
        (query[key][0] for key in _GIT_REVISION_KEYS if query.get(key)), None
    )
    subdirectory = query["subdirectory"][0] if query.get("subdirectory") else None
    base = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return vcs_url("git", base, revision, subdirectory)


def _artifacts(fields: Fields, raw: Mapping[str, object]) -> tuple[Artifact, ...]:
    return tuple(sdist_and_wheels(fields, raw, _artifact)[:MAX_FILES_PER_PACKAGE])


def _artifact(fields: Fields, table: Mapping[str, object], what: str) -> Artifact | None:
    url = fields.url(table, "url")
    location = url or fields.text(table, "path") or fields.text(table, "filename")
    raw_hash = fields.text(table, "hash")
    digest = fields.prefixed_hash(raw_hash, what) if raw_hash is not None else None
    filename = artifact_filename(location) if location else None
    if filename is None and digest is None:
        fields.note(f"{what} names no file and no hash")
        return None
    return Artifact(filename=filename, url=url, hashes=(digest,) if digest else ())


def _dependency_list(
    fields: Fields, table: Mapping[str, object], key: str, budget: EdgeBudget
) -> list[PackageLink]:
    items = fields.array(table, key, limit=MAX_DEPENDENCIES_PER_PACKAGE)
    found: list[PackageLink] = []
    for item in items[: budget.take(len(items))]:
        if not isinstance(item, dict):
            fields.note(f"{key!r} holds an item that is not a table")
            continue
        name = fields.package_name(item)
        if name is None:
            continue
        version = fields.optional_version(item)
        marker = fields.optional_marker(item, "marker")
        extras = fields.extras(fields.strings(item, "extra"))
        found.append(PackageLink(name=name[0], version=version, extras=extras, marker=marker))
    return found


def _dependency_table(
    fields: Fields, raw: Mapping[str, object], key: str, budget: EdgeBudget
) -> dict[str, list[PackageLink]]:
    """``[package.optional-dependencies]`` / ``[package.dev-dependencies]``: name → entries."""
    table = fields.table(raw, key)
    if table is None:
        return {}
    if len(table) > MAX_GROUPS:
        fields.note(f"{key!r} has {len(table)} entries; only the first {MAX_GROUPS} are read")
    found: dict[str, list[PackageLink]] = {}
    for group in list(table)[:MAX_GROUPS]:
        name = fields.checked_name(group)
        if name is not None:
            found.setdefault(name[0], []).extend(_dependency_list(fields, table, group, budget))
    return found


def _declared_specifiers(fields: Fields, raw: Mapping[str, object]) -> dict[str, set[str]]:
    """Canonical name → specifiers a root's ``[package.metadata]`` requires-dist/-dev declare."""
    metadata = fields.table(raw, "metadata")
    if metadata is None:
        return {}
    requires_dev = fields.table(metadata, "requires-dev") or {}
    lists = [fields.array(metadata, "requires-dist", limit=MAX_DEPENDENCIES_PER_PACKAGE)]
    lists += [
        fields.array(requires_dev, group, limit=MAX_DEPENDENCIES_PER_PACKAGE)
        for group in list(requires_dev)[:MAX_GROUPS]
    ]
    found: dict[str, set[str]] = {}
    for item in chain.from_iterable(lists):
        if not isinstance(item, dict):
            continue  # only a hint: a malformed entry is not worth a problem of its own
        name = fields.package_name(item)
        raw_specifier = fields.text(item, "specifier")
        if name is not None:
            found.setdefault(name[0], set()).add(_specifier(fields, raw_specifier))
    return found


def _specifier(fields: Fields, raw: str | None) -> str:
    if raw is None:
        return ""
    try:
        return str(SpecifierSet(raw))
    except InvalidSpecifier:
        fields.note(f"specifier {raw[:60]!r} is not valid")
        return raw


# --- the graph -------------------------------------------------------------------------------


_Node = tuple[int, str]
"""(entry index, extra or "" for the package itself)."""


class _Graph:
    """Resolves dependency entries to packages and spreads the roots' scopes through them."""

    def __init__(self, entries: list[_Entry], log: ProblemLog) -> None:
        self._entries = entries
        self._log = log
        self._by_name: dict[str, list[int]] = {}
        self._by_version: dict[tuple[str, object], int] = {}
        for index, entry in enumerate(entries):
            self._by_name.setdefault(entry.package.name, []).append(index)
            self._by_version[(entry.package.name, _version_key(entry.package.version))] = index
        self._missing: set[str] = set()

    def packages(self, roots: list[_Entry]) -> tuple[PythonPackage, ...]:
        """Every non-root package, with its links, scope, groups, direct mark and specifier."""
        labels = _Labels(self._log)
        masks, direct = self._spread(roots, labels)
        specifiers = _unique_specifiers(roots)
        found: list[PythonPackage] = []
        for index, entry in enumerate(self._entries):
            if entry.is_root:
                continue
            is_direct = index in direct if roots else None
            scope, groups = labels.scope(masks.get(index, 0))
            found.append(
                replace(
                    entry.package,
                    specifier=specifiers.get(entry.package.name, "") if is_direct else "",
                    scope=scope,
                    groups=groups,
                    direct=is_direct,
                    dependencies=self._links(entry),
                )
            )
        return tuple(found)

    def _spread(self, roots: list[_Entry], labels: _Labels) -> tuple[dict[int, int], set[int]]:
        """(entry index → the label bits it is reached under, the entries roots name).

        Nodes are (package, extra): a package's extra leads on only through the entries of
        that extra, so optional dependencies count only where some entry asks for the extra.
        """
        masks: dict[_Node, int] = {}
        direct: set[int] = set()
        pending: list[_Node] = []
        for root in roots:
            seeds = [(labels.bit(DependencyScope.REQUIRED, None), root.requires)]
            seeds += [
                (labels.bit(DependencyScope.OPTIONAL, x), d) for x, d in root.optional.items()
            ]
            seeds += [(labels.bit(DependencyScope.DEV, g), d) for g, d in root.dev.items()]
            for bit, dependencies in seeds:
                for dependency in dependencies:
                    for node in self._targets(dependency):
                        direct.add(node[0])
                        self._mark(masks, pending, node, bit)
        while pending:
            index, extra = pending.pop()
            entry = self._entries[index]
            children = entry.optional.get(extra, []) if extra else entry.requires
            for dependency in children:
                for node in self._targets(dependency):
                    self._mark(masks, pending, node, masks[(index, extra)])
        package_masks: dict[int, int] = {}
        for (index, _extra), mask in masks.items():
            package_masks[index] = package_masks.get(index, 0) | mask
        return package_masks, direct

    def _targets(self, dependency: PackageLink) -> Iterator[_Node]:
        """The nodes an entry reaches: the package (or the version it names), and its extras."""
        key = (dependency.name, _version_key(dependency.version))
        if dependency.version is not None and key in self._by_version:
            indexes = [self._by_version[key]]
        else:
            indexes = self._by_name.get(dependency.name, [])
        if not indexes and dependency.name not in self._missing:
            self._missing.add(dependency.name)
            self._log.add(f"dependency {dependency.name!r} is not a package of the lock")
        for index in indexes:
            yield index, ""
            for extra in dependency.extras:
                yield index, extra

    @staticmethod
    def _mark(masks: dict[_Node, int], pending: list[_Node], node: _Node, bits: int) -> None:
        seen = masks.get(node, 0)
        if bits & ~seen:
            masks[node] = seen | bits
            pending.append(node)

    def _links(self, entry: _Entry) -> tuple[PackageLink, ...]:
        """The package's edges; those of its extras carry ``extra == "…"``."""
        fields = Fields(self._log, f"package {entry.package.display_name!r}")
        links = list(entry.requires)
        for extra, dependencies in entry.optional.items():
            links += [replace(d, marker=fields.with_extra(d.marker, extra)) for d in dependencies]
        return merge_links(links, fields)


class _Labels:
    """Bits of the (scope, extra-or-group) labels a package can be reached under."""

    def __init__(self, log: ProblemLog) -> None:
        self._log = log
        self._labels: list[tuple[DependencyScope, str | None]] = []
        self._bits: dict[tuple[DependencyScope, str | None], int] = {}
        self._overflowed = False

    def bit(self, scope: DependencyScope, group: str | None) -> int:
        """The bit of ``(scope, group)``; past MAX_SCOPE_LABELS, of ``(scope, None)``."""
        label = (scope, group)
        if label not in self._bits and len(self._labels) >= MAX_SCOPE_LABELS and group:
            if not self._overflowed:
                self._overflowed = True
                self._log.add(
                    f"the project has more than {MAX_SCOPE_LABELS} extras and groups; "
                    "packages of the others are not named by group"
                )
            label = (scope, None)
        if label not in self._bits:
            self._bits[label] = 1 << len(self._labels)
            self._labels.append(label)
        return self._bits[label]

    def scope(self, mask: int) -> tuple[DependencyScope, tuple[str, ...]]:
        """The least restrictive scope in ``mask``, with the groups that give it."""
        reached = [label for bit, label in enumerate(self._labels) if mask >> bit & 1]
        for scope in _SCOPE_ORDER:
            groups = [group for kind, group in reached if kind is scope]
            if groups:
                return scope, tuple(dict.fromkeys(g for g in groups if g is not None))
        return DependencyScope.REQUIRED, ()


def _version_key(version: str | None) -> object:
    """What versions are matched by: equal versions match however they are spelled."""
    if version is None:
        return None
    try:
        return Version(version)
    except ValueError:  # InvalidVersion, or a number past Python's int digit limit
        return version


def _unique_specifiers(roots: list[_Entry]) -> dict[str, str]:
    """Canonical name → the one specifier the roots declare for it (none when they differ)."""
    declared: dict[str, set[str]] = {}
    for root in roots:
        for name, specifiers in root.specifiers.items():
            declared.setdefault(name, set()).update(specifiers)
    return {name: next(iter(found)) for name, found in declared.items() if len(found) == 1}
