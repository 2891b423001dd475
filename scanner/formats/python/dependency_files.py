"""The Python dependency files sovscan reads, in one table: a new kind is one reader plus a row.

Each row says which file names it matches (glob patterns, compared without case), its reader,
whether it pins exact versions (a lockfile: its versions, hashes and graph win over the
manifests beside it) and whether it names the project that holds it (rows earlier in the table
name it first).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from scanner.formats.python.pipfile_lock import read_pipfile_lock
from scanner.formats.python.poetry_lock import read_poetry_lock
from scanner.formats.python.pylock_toml import read_pylock
from scanner.formats.python.pyproject_toml import read_pyproject
from scanner.formats.python.records import DependencyDocument, DocumentKind
from scanner.formats.python.requirements_txt import read_requirements
from scanner.formats.python.setup_cfg import read_setup_cfg
from scanner.formats.python.uv_lock import read_uv_lock

#: Reads the file at the first path, found under the scanned root (the second).
DependencyReader = Callable[[Path, Path], DependencyDocument]


@dataclass(frozen=True, slots=True, kw_only=True)
class DependencyFileFormat:
    """One kind of Python dependency file."""

    kind: DocumentKind
    patterns: tuple[str, ...]
    """File-name globs, lower-case (``requirements*.txt``)."""
    read: DependencyReader
    pins_versions: bool = False
    """A lockfile: exact versions, hashes and the dependency graph."""
    names_project: bool = False
    """Its project name (when it has one) names the scanned project."""


#: Every dependency file kind. Earlier rows name the project first.
DEPENDENCY_FILES: Final[tuple[DependencyFileFormat, ...]] = (
    DependencyFileFormat(
        kind=DocumentKind.PYPROJECT,
        patterns=("pyproject.toml",),
        read=read_pyproject,
        names_project=True,
    ),
    DependencyFileFormat(
        kind=DocumentKind.SETUP_CFG,
        patterns=("setup.cfg",),
        read=read_setup_cfg,
        names_project=True,
    ),
    DependencyFileFormat(
        kind=DocumentKind.UV_LOCK,
        patterns=("uv.lock",),
        read=read_uv_lock,
        pins_versions=True,
        names_project=True,
    ),
    DependencyFileFormat(
        kind=DocumentKind.POETRY_LOCK,
        patterns=("poetry.lock",),
        read=read_poetry_lock,
        pins_versions=True,
        names_project=True,
    ),
    DependencyFileFormat(
        kind=DocumentKind.PIPFILE_LOCK,
        patterns=("pipfile.lock",),
        read=read_pipfile_lock,
        pins_versions=True,
    ),
    DependencyFileFormat(
        kind=DocumentKind.PYLOCK,
        patterns=("pylock.toml", "pylock.*.toml"),
        read=read_pylock,
        pins_versions=True,
    ),
    DependencyFileFormat(
        kind=DocumentKind.REQUIREMENTS, patterns=("requirements*.txt",), read=read_requirements
    ),
)

#: Document kinds whose versions are exact: the lockfiles, and an installed environment.
PINNING_KINDS: Final = frozenset(
    {row.kind for row in DEPENDENCY_FILES if row.pins_versions} | {DocumentKind.ENVIRONMENT}
)
#: Document kinds that name the scanned project, best first.
PROJECT_NAMING_KINDS: Final = tuple(row.kind for row in DEPENDENCY_FILES if row.names_project)
