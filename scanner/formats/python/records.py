"""What Python manifests, lockfiles and installed environments declare: the shared records.

Every reader (requirements files, pyproject.toml, setup.cfg, poetry.lock, uv.lock, Pipfile.lock,
pylock.toml, an installed environment) returns a ``DependencyDocument``; ``scanner.sources``
turns documents into library components. Names, versions, specifiers and markers are checked
with ``packaging``; records keep them as the normalised strings ``packaging`` prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from scanner.core.model import Hash
from scanner.formats.python.document_kind import DocumentKind


class DependencyScope(StrEnum):
    """Why a package is there: needed to run, asked for as an extra, or for development only."""

    REQUIRED = "required"
    OPTIONAL = "optional"
    DEV = "dev"


@dataclass(frozen=True, slots=True, kw_only=True)
class Artifact:
    """One distributable file of a release (a wheel or sdist), or a direct URL, with its hashes."""

    filename: str | None = None
    url: str | None = None
    hashes: tuple[Hash, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class PackageLink:
    """An edge of the dependency graph: this package needs ``name`` (canonical PEP 503 name)."""

    name: str
    extras: tuple[str, ...] = ()
    marker: str | None = None
    """The environment marker guarding the edge, as ``packaging`` prints it."""
    version: str | None = None
    """The exact version the edge leads to, when the lock says (uv forks lock several versions
    of one name); None: the name's only (or first) locked version."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PackageMetadata:
    """Core metadata of a release, from an installed METADATA file or the index's JSON API."""

    summary: str | None = None
    author: str | None = None
    author_email: str | None = None
    maintainer: str | None = None
    maintainer_email: str | None = None
    home_page: str | None = None
    project_urls: tuple[tuple[str, str], ...] = ()
    """(label, url) pairs, e.g. ``("Source", "https://github.com/psf/requests")``."""
    license: str | None = None
    """The free-text ``License`` field (may be a whole licence text; callers clip it)."""
    license_expression: str | None = None
    """``License-Expression`` (PEP 639, an SPDX expression)."""
    classifiers: tuple[str, ...] = ()
    requires_dist: tuple[str, ...] = ()
    requires_python: str | None = None
    source: str = ""
    """Where the metadata was read: a METADATA path, or the index URL it came from."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PythonPackage:
    """One package a document names: pinned (locks, environments, ``==`` pins) or not."""

    name: str
    """Canonical PEP 503 name (``canonicalize_name``): what packages are matched by."""
    display_name: str
    """The name as written in the document."""
    version: str | None = None
    """The exact version when the document pins or locks one; None for a range or no version."""
    specifier: str = ""
    """The version specifier as declared (``>=2.0,<3``), empty when none."""
    extras: tuple[str, ...] = ()
    """Extras requested for this package (``requests[socks]`` → ``("socks",)``)."""
    marker: str | None = None
    """Environment marker of the requirement, as ``packaging`` prints it."""
    scope: DependencyScope = DependencyScope.REQUIRED
    groups: tuple[str, ...] = ()
    """Extras / optional-dependency / dependency-group names that bring it in, when known."""
    direct: bool | None = None
    """True: the project asks for it; False: only another package needs it; None: unknown."""
    url: str | None = None
    """A direct URL, VCS (``git+https://…@rev``) or local path requirement, when not an index."""
    editable: bool = False
    index_url: str | None = None
    """The package index the document says it came from, when it says."""
    artifacts: tuple[Artifact, ...] = ()
    dependencies: tuple[PackageLink, ...] = ()
    """Edges to the packages it needs (locks and environments); empty when the document has
    no graph."""
    metadata: PackageMetadata | None = None
    """Installed environments only: the release's own metadata."""
    vendored: tuple[str, ...] = ()
    """Native libraries shipped inside the wheel (``numpy.libs/libopenblas….so``), from RECORD."""
    record_files: tuple[tuple[str, Hash, int | None], ...] = ()
    """Installed environments only: model-weight files listed in RECORD as (path, hash, size)."""
    location: str | None = None
    """The file that declares it when not the document itself (a ``-r`` include), relative to
    the scanned root."""
    line: int | None = None
    """1-based line in ``location`` (else the document) where the package is declared."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DependencyDocument:
    """Everything one manifest, lockfile or environment declares, and what could not be read."""

    location: str
    """POSIX path relative to the scanned root (or the interpreter path for environments)."""
    kind: DocumentKind
    packages: tuple[PythonPackage, ...] = ()
    project: str | None = None
    """Canonical name of the project the document belongs to, when it names one."""
    project_version: str | None = None
    """The project's own version, when the document states it literally."""
    locked: bool = False
    """True for lockfiles and environments: versions are exact and the set is complete."""
    has_graph: bool = False
    """True when ``PythonPackage.dependencies`` carry the dependency graph."""
    problems: tuple[str, ...] = ()
    """Non-fatal problems, one clear sentence each (``line 12: invalid requirement …``): what
    they concern could not be read, so evidence is missing."""
    notes: tuple[str, ...] = ()
    """Facts worth reporting that leave no evidence missing (an environment where a required
    package is not installed, or installed at a version outside the requirement)."""
    includes: tuple[str, ...] = ()
    """Requirements files only: the files pulled in with ``-r`` / ``-c`` (relative to the root)."""


def literal_version(value: object) -> str | None:
    """A project version as a manifest states it literally (``1.2.0``), normalised; None for
    anything else (``attr: pkg.__version__``, ``file: VERSION``, not a PEP 440 version)."""
    if not isinstance(value, str):
        return None
    from packaging.version import InvalidVersion, Version

    try:
        return str(Version(value.strip()))
    except InvalidVersion:
        return None
