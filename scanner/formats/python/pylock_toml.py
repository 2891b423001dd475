"""Read PEP 751 ``pylock.toml`` lockfiles into a dependency document."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from scanner.core.capped_io import TOML_MAX_BYTES, parse_toml_text, read_text_capped
from scanner.core.errors import MalformedFileError
from scanner.formats.python.dependency_fields import (
    MAX_DEPENDENCIES_PER_PACKAGE,
    MAX_FILES_PER_PACKAGE,
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
from scanner.formats.python.pep508 import MAX_NAME_CHARS, artifact_filename, vcs_url
from scanner.formats.python.records import (
    Artifact,
    DependencyDocument,
    PackageLink,
    PythonPackage,
)

if TYPE_CHECKING:
    from pathlib import Path

#: Lock versions of PEP 751 this reader understands (the major version must match).
PYLOCK_MAJOR_VERSION = 1

_MAJOR_VERSION = re.compile(r"[0-9]{1,6}")


def read_pylock(path: Path, root: Path) -> DependencyDocument:
    """Read a PEP 751 ``pylock.toml`` (or ``pylock.NAME.toml``).

    Every ``[[packages]]`` entry becomes a package, except the project itself (a ``directory``
    at ``"."``), which names ``project``. ``has_graph`` is set only when some package lists
    ``dependencies`` (they are optional in PEP 751). Scope is REQUIRED and ``direct`` unknown:
    the file does not record them.

    Raises:
        MalformedFileError: not TOML, too large or deep, ``packages`` is not an array, or the
            lock's major version is not 1.
        OSError: the file cannot be opened or read.
    """
    text = read_text_capped(path, max_bytes=TOML_MAX_BYTES)
    document = parse_toml_text(text)
    log = ProblemLog()
    _check_lock_version(document, log)
    budget = EdgeBudget(log)
    project: str | None = None
    packages: list[PythonPackage] = []
    has_graph = False
    for index, entry in enumerate(package_tables(document, "packages", log), start=1):
        fields = Fields(log, package_where(index, entry))
        if not isinstance(entry, dict):
            fields.note("is not a table")
            continue
        name = fields.package_name(entry)
        if name is None:
            continue
        if _is_project(entry):
            project = project or name[0]
            continue
        has_graph = has_graph or "dependencies" in entry
        packages.append(_pylock_package(fields, entry, name, budget))
    return DependencyDocument(
        location=document_location(path, root),
        kind=DocumentKind.PYLOCK,
        packages=with_entry_lines(packages, toml_entry_lines(text, "packages")),
        project=project,
        locked=True,
        has_graph=has_graph,
        problems=log.freeze(),
    )


def _check_lock_version(document: Mapping[str, object], log: ProblemLog) -> None:
    raw = document.get("lock-version")
    if not isinstance(raw, str):
        log.add("'lock-version' is missing or not a string")
        return
    major = raw.split(".", 1)[0]
    if _MAJOR_VERSION.fullmatch(major) is None or int(major) != PYLOCK_MAJOR_VERSION:
        raise MalformedFileError(f"lock-version {raw[:40]!r} is not a PEP 751 version 1.x")


def _is_project(entry: Mapping[str, object]) -> bool:
    """Whether the entry is the project itself (a directory at "."); checked silently, since
    ``_pylock_source`` reports a malformed ``directory``."""
    directory = entry.get("directory")
    path = directory.get("path") if isinstance(directory, dict) else None
    return isinstance(path, str) and path in PROJECT_PATHS


def _pylock_package(
    fields: Fields,
    entry: Mapping[str, object],
    name: tuple[str, str],
    budget: EdgeBudget,
) -> PythonPackage:
    version = fields.optional_version(entry)
    marker = fields.optional_marker(entry, "marker")
    url, editable, source_artifacts = _pylock_source(fields, entry)
    artifacts = [*source_artifacts, *sdist_and_wheels(fields, entry, _pylock_artifact)]
    return PythonPackage(
        name=name[0],
        display_name=name[1],
        version=version,
        marker=marker,
        url=url,
        editable=editable,
        index_url=fields.url(entry, "index"),
        artifacts=tuple(artifacts[:MAX_FILES_PER_PACKAGE]),
        dependencies=_pylock_dependencies(fields, entry, budget),
    )


def _pylock_source(
    fields: Fields, entry: Mapping[str, object]
) -> tuple[str | None, bool, list[Artifact]]:
    """(url, editable, artifacts) of a ``vcs``, ``directory`` or ``archive`` package."""
    vcs = fields.table(entry, "vcs")
    if vcs is not None:
        kind = fields.text(vcs, "type") or "git"
        location = fields.url(vcs, "url") or fields.text(vcs, "path")
        revision = fields.text(vcs, "commit-id") or fields.text(vcs, "requested-revision")
        if location is None:
            fields.note("'vcs' names neither a url nor a path")
            return None, False, []
        return vcs_url(kind, location, revision, fields.text(vcs, "subdirectory")), False, []
    directory = fields.table(entry, "directory")
    if directory is not None:
        return fields.text(directory, "path"), bool(fields.flag(directory, "editable")), []
    archive = fields.table(entry, "archive")
    if archive is not None:
        artifact = _pylock_artifact(fields, archive, "archive")
        location = fields.url(archive, "url") or fields.text(archive, "path")
        return location, False, [artifact] if artifact else []
    return None, False, []


def _pylock_artifact(fields: Fields, table: Mapping[str, object], what: str) -> Artifact | None:
    url = fields.url(table, "url")
    location = url or fields.text(table, "path")
    filename = fields.text(table, "name", max_chars=MAX_NAME_CHARS)
    hashes_table = fields.table(table, "hashes")
    hashes = fields.hash_table(hashes_table, what) if hashes_table is not None else ()
    filename = filename or (artifact_filename(location) if location else None)
    if filename is None and url is None and not hashes:
        fields.note(f"{what} names no file, url or hash")
        return None
    return Artifact(filename=filename, url=url, hashes=hashes)


def _pylock_dependencies(
    fields: Fields, entry: Mapping[str, object], budget: EdgeBudget
) -> tuple[PackageLink, ...]:
    """The ``dependencies`` tables: a name, and the version when the lock has several."""
    links: list[PackageLink] = []
    entries = fields.array(entry, "dependencies", limit=MAX_DEPENDENCIES_PER_PACKAGE)
    for position, dependency in enumerate(entries[: budget.take(len(entries))], start=1):
        if not isinstance(dependency, dict):
            fields.note(f"dependency {position} is not a table")
            continue
        name = fields.package_name(dependency)
        if name is not None:
            links.append(PackageLink(name=name[0], version=fields.optional_version(dependency)))
    return merge_links(links, fields)
