"""The Python dependency files sovscan reads, in one table: a new kind is one reader plus a row.

Each row says which file names it matches (glob patterns, compared without case), its reader,
whether it pins exact versions (a lockfile: its versions, hashes and graph win over the
manifests beside it) and whether it names the project that holds it (rows earlier in the table
name it first).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, cast

from scanner.formats.python.document_kind import DocumentKind

if TYPE_CHECKING:
    from scanner.formats.python.records import DependencyDocument

#: Reads the file at the first path, found under the scanned root (the second).
DependencyReader = Callable[[Path, Path], "DependencyDocument"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DependencyFileFormat:
    """One kind of Python dependency file."""

    kind: DocumentKind
    patterns: tuple[str, ...]
    """File-name globs, lower-case (``requirements*.txt``)."""
    reader: str
    """``module:function`` of its ``DependencyReader``, imported on first use (a folder without
    Python files never loads the readers, nor packaging behind them)."""
    pins_versions: bool = False
    """A lockfile: exact versions, hashes and the dependency graph."""
    names_project: bool = False
    """Its project name (when it has one) names the scanned project."""

    def read(self, path: Path, root: Path) -> DependencyDocument:
        """Read the file at ``path``, found under ``root``, with this row's reader."""
        module, _, function = self.reader.partition(":")
        reader = cast("DependencyReader", getattr(importlib.import_module(module), function))
        return reader(path, root)


#: Every dependency file kind. Earlier rows name the project first.
DEPENDENCY_FILES: Final[tuple[DependencyFileFormat, ...]] = (
    DependencyFileFormat(
        kind=DocumentKind.PYPROJECT,
        patterns=("pyproject.toml",),
        reader="scanner.formats.python.pyproject_toml:read_pyproject",
        names_project=True,
    ),
    DependencyFileFormat(
        kind=DocumentKind.SETUP_CFG,
        patterns=("setup.cfg",),
        reader="scanner.formats.python.setup_cfg:read_setup_cfg",
        names_project=True,
    ),
    DependencyFileFormat(
        kind=DocumentKind.UV_LOCK,
        patterns=("uv.lock",),
        reader="scanner.formats.python.uv_lock:read_uv_lock",
        pins_versions=True,
        names_project=True,
    ),
    DependencyFileFormat(
        kind=DocumentKind.POETRY_LOCK,
        patterns=("poetry.lock",),
        reader="scanner.formats.python.poetry_lock:read_poetry_lock",
        pins_versions=True,
        names_project=True,
    ),
    DependencyFileFormat(
        kind=DocumentKind.PIPFILE_LOCK,
        patterns=("pipfile.lock",),
        reader="scanner.formats.python.pipfile_lock:read_pipfile_lock",
        pins_versions=True,
    ),
    DependencyFileFormat(
        kind=DocumentKind.PYLOCK,
        patterns=("pylock.toml", "pylock.*.toml"),
        reader="scanner.formats.python.pylock_toml:read_pylock",
        pins_versions=True,
    ),
    DependencyFileFormat(
        kind=DocumentKind.REQUIREMENTS,
        patterns=("requirements*.txt",),
        reader="scanner.formats.python.requirements_txt:read_requirements",
    ),
)

#: Document kinds whose versions are exact: the lockfiles, and an installed environment.
PINNING_KINDS: Final = frozenset(
    {row.kind for row in DEPENDENCY_FILES if row.pins_versions} | {DocumentKind.ENVIRONMENT}
)
#: Document kinds that name the scanned project, best first.
PROJECT_NAMING_KINDS: Final = tuple(row.kind for row in DEPENDENCY_FILES if row.names_project)
