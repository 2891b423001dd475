"""Turn Python dependency documents into library components, their graph and their evidence.

Documents from one directory describe one project: its lockfile (when there is one) gives the
exact versions, hashes and graph; its manifests (requirements files, pyproject.toml, setup.cfg)
say which packages the project asks for itself. Packages are merged by canonical name and
version across documents; the subject model depends on each project's direct packages.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from urllib.parse import parse_qs, quote

from packageurl import PackageURL

from scanner.core.model import (
    Component,
    ComponentKind,
    Distribution,
    Evidence,
    Hash,
    Layer,
    Relation,
    RelationKind,
    ScanIssue,
    Severity,
)
from scanner.core.properties import PropertyName
from scanner.formats.python.dependency_files import PINNING_KINDS
from scanner.formats.python.document_kind import DocumentKind
from scanner.formats.python.records import (
    Artifact,
    DependencyDocument,
    DependencyScope,
    PackageMetadata,
    PythonPackage,
)
from scanner.sources.inventory_builder import merge_components

#: Where packages come from when a document names no index.
PYPI_SIMPLE = "https://pypi.org/simple"
#: Evidence methods of package metadata (read by the origin attribution).
INSTALLED_METADATA_METHOD = "installed-metadata"
INDEX_METADATA_METHOD = "package-index"
URL_FIELD_PREFIX = "project_url"

_SCOPE_ORDER = (DependencyScope.REQUIRED, DependencyScope.OPTIONAL, DependencyScope.DEV)
#: Local version labels of CUDA builds (``2.1.0+cu121``) and the CUDA libraries wheels vendor.
_CUDA_LOCAL_VERSION = re.compile(r"(?:^|[.+])cu(?:da)?(\d{2,3})(?:$|\.)", re.IGNORECASE)
_CUDA_LIBRARY = re.compile(
    r"(?:^|/)lib(cudart|cublas|cublasLt|cudnn|nccl|nvrtc|nvJitLink|cufft|curand|cusparse|"
    r"cusolver|cupti|nvToolsExt)[^/]*\.(?:so|dll|dylib)",
    re.IGNORECASE,
)
_URL_TYPES = {
    "homepage": "website",
    "home": "website",
    "home-page": "website",
    "website": "website",
    "source": "vcs",
    "source code": "vcs",
    "repository": "vcs",
    "code": "vcs",
    "github": "vcs",
    "documentation": "documentation",
    "docs": "documentation",
    "issues": "issue-tracker",
    "bug tracker": "issue-tracker",
    "tracker": "issue-tracker",
    "changelog": "release-notes",
    "release notes": "release-notes",
}
_MAX_LICENSE_NAME = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class PythonParts:
    """The library components, graph edges and problems of a set of documents."""

    components: tuple[Component, ...] = ()
    relations: tuple[Relation, ...] = ()
    issues: tuple[ScanIssue, ...] = ()


def python_parts(
    documents: Sequence[DependencyDocument], subject_refs: Sequence[str]
) -> PythonParts:
    """Components for every package the documents name, and each subject's dependency edges.

    Documents are grouped by directory (an environment is its own group): a group with a
    lockfile takes its versions from it and its direct packages from the manifests next to
    it (or from the lock itself where it records them); a group without one takes the
    manifests' packages as declared, unpinned ones without a version.
    """
    collector = _Collector()
    for group in _groups(documents):
        collector.add_group(group, subject_refs)
    return collector.parts()


def _groups(documents: Sequence[DependencyDocument]) -> list[list[DependencyDocument]]:
    by_dir: dict[str, list[DependencyDocument]] = defaultdict(list)
    for document in documents:
        key = (
            f"env:{document.location}"
            if document.kind is DocumentKind.ENVIRONMENT
            else PurePosixPath(document.location).parent.as_posix()
        )
        by_dir[key].append(document)
    return [by_dir[key] for key in sorted(by_dir)]


@dataclass
class _Collector:
    components: dict[str, Component] = field(default_factory=dict)
    relations: dict[tuple[str, str, str], Relation] = field(default_factory=dict)
    issues: list[ScanIssue] = field(default_factory=list)

    def parts(self) -> PythonParts:
        return PythonParts(
            components=tuple(sorted(self.components.values(), key=lambda c: c.ref)),
            relations=tuple(sorted(self.relations.values(), key=lambda r: (r.src, r.dst, r.kind))),
            issues=tuple(self.issues),
        )

    def add_group(self, group: list[DependencyDocument], subjects: Sequence[str]) -> None:
        for document in group:
            self.issues.extend(
                ScanIssue(location=document.location, problem=problem, severity=Severity.MEDIUM)
                for problem in document.problems
            )
            self.issues.extend(
                ScanIssue(location=document.location, problem=note, severity=Severity.LOW)
                for note in document.notes
            )
        locks = [d for d in group if d.kind in PINNING_KINDS]
        manifests = [d for d in group if d.kind not in PINNING_KINDS]
        declared = _declared(manifests)
        locked_names: set[str] = set()
        for lock in locks:
            refs = self._add_lock(lock, declared)
            locked_names.update(name for name, _ in refs)
            self._depend(subjects, _roots(lock, declared, refs), lock)
        unlocked = [
            (document, package)
            for document in manifests
            for package in document.packages
            if package.name not in locked_names
        ]
        for document, package in unlocked:
            if locks:
                self.issues.append(
                    ScanIssue(
                        location=package.location or document.location,
                        problem=f"{package.display_name} is declared but not in "
                        f"{', '.join(lock.location for lock in locks)}",
                        severity=Severity.LOW,
                    )
                )
            ref = self._add(package, document, direct=True)
            self._depend(subjects, [ref], document)

    def _add_lock(
        self,
        lock: DependencyDocument,
        declared: dict[str, tuple[PythonPackage, DependencyDocument]],
    ) -> dict[tuple[str, str | None], str]:
        """Every locked package as a component; returns (canonical name, version) → ref."""
        refs: dict[str, str] = {}  # name → the ref of its first locked version
        by_version: dict[tuple[str, str | None], str] = {}
        for package in lock.packages:
            manifest = declared.get(package.name)
            direct = package.direct
            if direct is None and declared:
                direct = manifest is not None
            if manifest is not None and package.scope is DependencyScope.REQUIRED:
                package = replace(package, scope=manifest[0].scope, groups=manifest[0].groups)
            ref = self._add(package, lock, direct=direct)
            refs.setdefault(package.name, ref)
            by_version[(package.name, package.version)] = ref
            if manifest is not None:
                self._add_evidence(ref, _evidence(manifest[0], manifest[1]))
        for package in lock.packages:
            src = by_version[(package.name, package.version)]
            for link in package.dependencies:
                dst = by_version.get((link.name, link.version)) or refs.get(link.name)
                if dst is None or dst == src:
                    continue
                self._relate(src, dst, _link_evidence(lock, package, link.name, link.marker))
        return by_version

    def _depend(
        self, subjects: Sequence[str], refs: Iterable[str], document: DependencyDocument
    ) -> None:
        for ref in refs:
            for subject in subjects:
                evidence = Evidence(
                    location=document.location,
                    field="dependency",
                    value=self.components[ref].name,
                    method=document.kind.value,
                )
                self._relate(subject, ref, evidence)

    def _relate(self, src: str, dst: str, evidence: Evidence) -> None:
        key = (src, dst, RelationKind.DEPENDS_ON.value)
        seen = self.relations.get(key)
        if seen is None:
            self.relations[key] = Relation(
                src=src, dst=dst, kind=RelationKind.DEPENDS_ON, evidence=(evidence,)
            )
        elif evidence not in seen.evidence:
            self.relations[key] = replace(seen, evidence=(*seen.evidence, evidence))

    def _add(
        self, package: PythonPackage, document: DependencyDocument, *, direct: bool | None
    ) -> str:
        component = library_component(package, document, direct=direct)
        seen = self.components.get(component.ref)
        self.components[component.ref] = (
            component if seen is None else merge_components(seen, component)
        )
        files, contained = record_file_components(package, component.ref, document.location)
        for file in files:
            self.components.setdefault(file.ref, file)
        for relation in contained:
            self.relations.setdefault((relation.src, relation.dst, relation.kind.value), relation)
        for native in native_parts(package, component, _evidence(package, document)):
            self.components.setdefault(native.ref, native)
            self.relations.setdefault(
                (component.ref, native.ref, RelationKind.CONTAINS.value),
                Relation(
                    src=component.ref,
                    dst=native.ref,
                    kind=RelationKind.CONTAINS,
                    evidence=native.evidence,
                ),
            )
        return component.ref

    def _add_evidence(self, ref: str, evidence: Evidence) -> None:
        component = self.components[ref]
        if evidence not in component.evidence:
            self.components[ref] = replace(component, evidence=(*component.evidence, evidence))


def _declared(
    manifests: Sequence[DependencyDocument],
) -> dict[str, tuple[PythonPackage, DependencyDocument]]:
    """Canonical name → (its declaration, the manifest), the least restrictive scope winning."""
    found: dict[str, tuple[PythonPackage, DependencyDocument]] = {}
    for document in manifests:
        for package in document.packages:
            seen = found.get(package.name)
            if seen is None or _SCOPE_ORDER.index(package.scope) < _SCOPE_ORDER.index(
                seen[0].scope
            ):
                found[package.name] = (package, document)
    return found


def _roots(
    lock: DependencyDocument,
    declared: dict[str, tuple[PythonPackage, DependencyDocument]],
    refs: dict[tuple[str, str | None], str],
) -> list[str]:
    """The refs the subject depends on directly through this lock (every locked version of a
    root: a fork locks several, one per environment).

    Without a graph (Pipfile.lock, most pylock.toml files) nothing else links the packages, so
    the subject depends on every one. With a graph: the lock's own direct marks first, then the
    manifests next to it, else the packages nothing else in the lock needs.
    """
    if not lock.has_graph:
        chosen = list(lock.packages)
    elif any(p.direct for p in lock.packages):
        chosen = [p for p in lock.packages if p.direct]
    elif declared:
        chosen = [p for p in lock.packages if p.name in declared]
    else:
        needed = {link.name for p in lock.packages for link in p.dependencies}
        chosen = [p for p in lock.packages if p.name not in needed]
    return list(dict.fromkeys(refs[(p.name, p.version)] for p in chosen))


# --- one package -------------------------------------------------------------------------------


def library_component(
    package: PythonPackage, document: DependencyDocument, *, direct: bool | None
) -> Component:
    """The library component of one package as one document declares it."""
    purl = package_purl(package)
    version = package.version
    ref = f"pkg:pypi/{package.name}@{version}" if version else f"pkg:pypi/{package.name}"
    if purl is None:
        ref = f"python:local:{package.name}@{version or 'unversioned'}"
    properties: list[tuple[str, str]] = [
        (PropertyName.PYTHON_SCOPE, package.scope.value),
        (PropertyName.PYTHON_DIRECT, "unknown" if direct is None else str(direct).lower()),
        (PropertyName.PYTHON_DECLARED_IN, document.location),
    ]
    properties += [(PropertyName.PYTHON_GROUP, group) for group in package.groups]
    if package.marker:
        properties.append((PropertyName.PYTHON_MARKER, package.marker))
    if package.specifier and not version:
        properties.append((PropertyName.PYTHON_SPECIFIER, package.specifier))
    if package.editable:
        properties.append((PropertyName.PYTHON_EDITABLE, "true"))
    properties += [(PropertyName.PYTHON_VENDORED_LIBRARY, lib) for lib in package.vendored]
    metadata = package.metadata
    evidence = [_evidence(package, document)]
    if metadata is not None:
        evidence += metadata_evidence(metadata, INSTALLED_METADATA_METHOD)
    return Component(
        ref=ref,
        kind=ComponentKind.LIBRARY,
        name=package.display_name if purl is None else PackageURL.from_string(purl).name,
        version=version,
        purl=purl,
        description=metadata.summary if metadata else None,
        licenses=metadata_licenses(metadata) if metadata else (),
        hashes=_single_artifact_hashes(package),
        layer=Layer.PYTHON,
        evidence=tuple(evidence),
        properties=tuple(properties),
        external_urls=metadata_urls(metadata) if metadata else _source_urls(package),
        distributions=tuple(_distributions(package, document)),
    )


def package_purl(package: PythonPackage) -> str | None:
    """``pkg:pypi/NAME[@VERSION]`` (purl rules: lower case, ``_`` → ``-``, dots kept), with
    ``vcs_url`` / ``download_url`` for direct references and ``repository_url`` for another
    index; None for local paths (not a package of any registry)."""
    qualifiers: dict[str, str] = {}
    url = package.url
    subpath = None
    if url is not None:
        if url.startswith(("git+", "hg+", "svn+", "bzr+")):
            # pip's ``#egg=NAME&subdirectory=DIR`` is not part of the repository's address.
            url, _, fragment = url.partition("#")
            qualifiers["vcs_url"] = url
            subpath = parse_qs(fragment).get("subdirectory", [None])[0]
        elif url.startswith(("http://", "https://")):
            qualifiers["download_url"] = url
        else:
            return None
    if package.index_url and _index_root(package.index_url) != PYPI_SIMPLE:
        qualifiers["repository_url"] = package.index_url
    return PackageURL(
        type="pypi",
        name=package.display_name,
        version=package.version,
        qualifiers=qualifiers or None,
        subpath=subpath,
    ).to_string()


def _evidence(package: PythonPackage, document: DependencyDocument) -> Evidence:
    spec = f"=={package.version}" if package.version else package.specifier
    extras = f"[{','.join(package.extras)}]" if package.extras else ""
    return Evidence(
        location=package.location or document.location,
        field="package" if document.locked else "requirement",
        value=f"{package.display_name}{extras}{spec}"[:300],
        method=document.kind.value,
        line=package.line,
    )


def _link_evidence(
    document: DependencyDocument, package: PythonPackage, needs: str, marker: str | None
) -> Evidence:
    guard = f"; {marker}" if marker else ""
    return Evidence(
        location=document.location,
        field=f"dependencies of {package.name}",
        value=f"{needs}{guard}"[:300],
        method=document.kind.value,
        line=package.line,
    )


def _single_artifact_hashes(package: PythonPackage) -> tuple[Hash, ...]:
    """An installed package's archive hash (direct_url.json): the bytes that were installed."""
    if package.metadata is not None and len(package.artifacts) == 1:
        return package.artifacts[0].hashes
    return ()


def _distributions(package: PythonPackage, document: DependencyDocument) -> Iterable[Distribution]:
    index = _index_root(package.index_url) if package.index_url else PYPI_SIMPLE
    for artifact in package.artifacts:
        url = _artifact_url(artifact, package, index)
        if url is not None and artifact.hashes:
            yield Distribution(url=url, hashes=artifact.hashes, comment=f"from {document.location}")


def _artifact_url(artifact: Artifact, package: PythonPackage, index: str) -> str | None:
    if artifact.url and artifact.url.startswith(("http://", "https://")):
        return artifact.url
    if package.url and package.url.startswith(("http://", "https://")):
        return package.url
    if package.url:
        return None  # a VCS or local source: no index file to point at
    anchor = f"#{quote(artifact.filename)}" if artifact.filename else ""
    return f"{index}/{quote(package.name)}/{anchor}"


def _index_root(url: str) -> str:
    return url.rstrip("/")


def _source_urls(package: PythonPackage) -> tuple[tuple[str, str], ...]:
    if package.url and package.url.startswith(("git+", "hg+", "svn+", "bzr+")):
        return (("vcs", package.url.split("+", 1)[1].partition("#")[0]),)
    return ()


# --- metadata ----------------------------------------------------------------------------------


def metadata_evidence(metadata: PackageMetadata, method: str) -> list[Evidence]:
    """The metadata fields origin attribution reads, as evidence at the metadata's source."""
    where = metadata.source or method
    found: list[Evidence] = []
    for name, value in (
        ("author", metadata.author),
        ("author_email", metadata.author_email),
        ("maintainer", metadata.maintainer),
        ("maintainer_email", metadata.maintainer_email),
        ("home_page", metadata.home_page),
    ):
        if value and value.strip() and value.strip().upper() != "UNKNOWN":
            found.append(
                Evidence(location=where, field=name, value=value.strip()[:300], method=method)
            )
    for label, url in metadata.project_urls:
        found.append(
            Evidence(
                location=where,
                field=f"{URL_FIELD_PREFIX}:{label}"[:100],
                value=url[:300],
                method=method,
            )
        )
    return found


def metadata_licenses(metadata: PackageMetadata) -> tuple[str, ...]:
    """The declared licence: License-Expression, else a short License field, else the licence
    classifiers (``License :: OSI Approved :: MIT License`` → ``MIT License``)."""
    if metadata.license_expression and metadata.license_expression.strip():
        return (metadata.license_expression.strip(),)
    text = (metadata.license or "").strip()
    if text and "\n" not in text and len(text) <= _MAX_LICENSE_NAME and text.upper() != "UNKNOWN":
        return (text,)
    classifiers = [c for c in metadata.classifiers if c.startswith("License ::")]
    return tuple(
        dict.fromkeys(
            c.rsplit("::", 1)[1].strip() if c.count("::") >= 2 else c for c in classifiers
        )
    )


def metadata_urls(metadata: PackageMetadata) -> tuple[tuple[str, str], ...]:
    """External references from Home-page and Project-URL (labels mapped to CycloneDX types)."""
    urls: list[tuple[str, str]] = []
    if metadata.home_page and metadata.home_page.startswith(("http://", "https://")):
        urls.append(("website", metadata.home_page))
    for label, url in metadata.project_urls:
        kind = _URL_TYPES.get(label.strip().lower())
        if kind is not None and url.startswith(("http://", "https://")):
            urls.append((kind, url))
    return tuple(dict.fromkeys(urls))


def with_index_metadata(component: Component, metadata: PackageMetadata) -> Component:
    """``component`` with what the index says about its release (never replacing installed
    metadata, which describes the bytes actually present)."""
    if any(e.method == INSTALLED_METADATA_METHOD for e in component.evidence):
        return component
    evidence = tuple(
        dict.fromkeys((*component.evidence, *metadata_evidence(metadata, INDEX_METADATA_METHOD)))
    )
    return replace(
        component,
        description=component.description or metadata.summary,
        licenses=component.licenses or metadata_licenses(metadata),
        evidence=evidence,
        external_urls=tuple(dict.fromkeys((*component.external_urls, *metadata_urls(metadata)))),
    )


# --- native parts ------------------------------------------------------------------------------


def native_parts(
    package: PythonPackage, component: Component, declared: Evidence
) -> list[Component]:
    """NVIDIA CUDA libraries a package carries or needs: a CUDA build (``+cu121`` local version:
    torch, flash-attn, llama-cpp wheels, …), or CUDA shared libraries vendored in the wheel
    (RECORD's ``*.libs``). ``declared`` is where the package is declared (the evidence)."""
    found: dict[str, Component] = {}
    local = package.version.split("+", 1)[1] if package.version and "+" in package.version else ""
    cuda = _CUDA_LOCAL_VERSION.search(local)
    if cuda is not None:
        label = f"cu{cuda.group(1)}"
        found[label] = _native_component(
            component,
            name="nvidia-cuda-runtime",
            version=label,
            evidence=replace(declared, field="version", method="native-part"),
            why=f"a CUDA build ({package.version}) runs on NVIDIA's CUDA runtime",
        )
    for library in package.vendored:
        match = _CUDA_LIBRARY.search(library)
        if match is not None:
            name = f"nvidia-{match.group(1).lower()}"
            found.setdefault(
                name,
                _native_component(
                    component,
                    name=name,
                    version=None,
                    evidence=replace(
                        declared, field="RECORD", value=library[:300], method="native-part"
                    ),
                    why=f"the wheel vendors the NVIDIA library {library}",
                ),
            )
    return list(found.values())


def _native_component(
    owner: Component, *, name: str, version: str | None, evidence: Evidence, why: str
) -> Component:
    return Component(
        ref=f"native:{name}{'@' + version if version else ''}:in:{owner.ref}",
        kind=ComponentKind.LIBRARY,
        name=name,
        version=version,
        description=f"{why} (inside {owner.name} {owner.version or ''})".replace(" )", ")"),
        layer=Layer.PYTHON,
        evidence=(evidence,),
        properties=((PropertyName.PYTHON_NATIVE_PART_OF, owner.ref),),
    )


def record_file_components(
    package: PythonPackage, owner_ref: str, location: str
) -> tuple[list[Component], list[Relation]]:
    """Model-weight files an installed package ships (RECORD gives path, SHA-256 and size)."""
    components: list[Component] = []
    relations: list[Relation] = []
    for path, digest, size in package.record_files:
        ref = f"file:python:{package.name}/{path}"
        evidence = Evidence(location=location, field="RECORD", value=path[:300], method="record")
        components.append(
            Component(
                ref=ref,
                kind=ComponentKind.FILE,
                name=PurePosixPath(path).name,
                hashes=(digest,),
                size=size,
                path=path,
                layer=Layer.FILES,
                evidence=(evidence,),
                properties=((PropertyName.FILE_HASH_SOURCE, "record"),),
            )
        )
        relations.append(
            Relation(src=owner_ref, dst=ref, kind=RelationKind.CONTAINS, evidence=(evidence,))
        )
    return components, relations
