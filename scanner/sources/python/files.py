"""Find the Python manifests and lockfiles in a scanned folder and read each with its reader."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from scanner.core.errors import MalformedFileError
from scanner.core.model import ScanIssue, Severity
from scanner.formats.python.dependency_files import DEPENDENCY_FILES, DependencyFileFormat
from scanner.formats.python.document_kind import DocumentKind
from scanner.sources.walk import FileEntry

if TYPE_CHECKING:
    from scanner.formats.python.records import DependencyDocument

#: Directories whose dependency files belong to someone else (installed environments,
#: vendored trees): a project's own manifests never live there.
_FOREIGN_DIRS = frozenset({"site-packages", "dist-packages", "node_modules", "__pypackages__"})
#: Every name a dependency file can have ends in one of these (checked by a test).
_SUFFIXES = (".txt", ".toml", ".lock", ".cfg")


def dependency_reader(relpath: PurePosixPath) -> DependencyFileFormat | None:
    """The table row that reads a dependency file at ``relpath``, or None when it is not one.

    ``requirements*.txt`` anywhere, and any ``*.txt`` in a ``requirements/`` folder; files under
    hidden folders (``.venv``, ``.tox``) or installed trees (``site-packages``) are skipped.
    """
    name = relpath.name.lower()
    if not name.endswith(_SUFFIXES):
        return None  # the common case, decided without looking at the folders
    parts = relpath.parts[:-1]
    if any(part.startswith(".") or part in _FOREIGN_DIRS for part in parts):
        return None
    for row in DEPENDENCY_FILES:
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in row.patterns):
            return row
    if name.endswith(".txt") and parts and parts[-1].lower() == "requirements":
        return next(row for row in DEPENDENCY_FILES if row.kind is DocumentKind.REQUIREMENTS)
    return None


def read_dependency_files(
    root: Path, files: Iterable[FileEntry]
) -> tuple[list[DependencyDocument], list[ScanIssue]]:
    """Every dependency document in the walked folder; a file that cannot be read is an issue.

    A requirements file pulled in by another one's ``-r``/``-c`` is read as part of it only
    (a constraints file read on its own would turn its pins into requirements).
    """
    documents: list[DependencyDocument] = []
    issues: list[ScanIssue] = []
    # A ``requirements/`` folder scanned itself: its *.txt files are requirements files too.
    inside = PurePosixPath(root.name) if root.name.lower() == "requirements" else PurePosixPath()
    for entry in files:
        reader = dependency_reader(inside / entry.relpath)
        if reader is None:
            continue
        location = entry.relpath.as_posix()
        try:
            documents.append(reader.read(root / entry.relpath, root))
        except MalformedFileError as error:
            issues.append(
                ScanIssue(location=location, problem=error.problem, severity=Severity.MEDIUM)
            )
        except OSError as error:
            issues.append(
                ScanIssue(
                    location=location,
                    problem=f"cannot read: {error.strerror or error}",
                    severity=Severity.MEDIUM,
                )
            )
    return [d for d in documents if not _included_elsewhere(d, documents)], issues


def _included_elsewhere(document: DependencyDocument, documents: list[DependencyDocument]) -> bool:
    """Whether another requirements file includes ``document`` (and is not included by it)."""
    return any(
        other is not document
        and other.kind is DocumentKind.REQUIREMENTS
        and document.location in other.includes
        and other.location not in document.includes
        for other in documents
    )
