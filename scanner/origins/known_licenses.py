"""A Python package's licence from the knowledge base, when no metadata of its release is read.

Offline, a requirements or lock file names packages without their metadata, so their licences
would be unknown and no tier that needs an open licence could pass. A ``pypi-package`` entry
records the SPDX expression of one release, read from that release's own metadata, and the
version ranges whose licence differs (``license_changes``). It is used only for a package with
no licence and no metadata of its own (installed or from the index: those describe the actual
release and always win), and only where the version decides it: a package without a version
whose entry records a change gets no licence (it may be either).
"""

from __future__ import annotations

from dataclasses import replace

from scanner.core.detection import KNOWLEDGE_BASE
from scanner.core.model import Component, ComponentKind, Evidence, ScanResult
from scanner.core.properties import PropertyName
from scanner.origins.knowledge import EntryKind, KnowledgeBase, OriginEntry
from scanner.origins.package_metadata import is_metadata_evidence, is_pypi_release, pypi_name

#: The method of a licence taken from the knowledge base.
KNOWLEDGE_BASE_METHOD = KNOWLEDGE_BASE


def with_known_licenses(result: ScanResult, kb: KnowledgeBase) -> ScanResult:
    """``result`` with knowledge-base licences on the packages that have none of their own."""
    changed = False
    components = []
    for component in result.components:
        licensed = _with_known_license(component, kb)
        changed = changed or licensed is not component
        components.append(licensed)
    return replace(result, components=tuple(components)) if changed else result


def known_license(entry: OriginEntry, version: str | None) -> str | None:
    """The licence ``entry`` gives release ``version`` (None: no version), or None when it
    cannot tell: no licence recorded, a version in no range it can compare, or no version
    while a change is recorded."""
    if entry.license is None:
        return None
    if not entry.license_changes:
        return entry.license
    if version is None:
        return None
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    try:
        release = Version(version)
        for change in entry.license_changes:
            if SpecifierSet(change.versions).contains(release, prereleases=True):
                return change.license
    except (InvalidSpecifier, InvalidVersion):
        return None
    return entry.license


def _with_known_license(component: Component, kb: KnowledgeBase) -> Component:
    purl = component.purl or ""
    if (
        component.kind is not ComponentKind.LIBRARY
        or component.licenses
        or not is_pypi_release(purl)
        or any(is_metadata_evidence(e) for e in component.evidence)
    ):
        return component
    found = kb.match(EntryKind.PYPI_PACKAGE, pypi_name(purl))
    if found is None or not found.exact:  # a family names a publisher, not a licence
        return component
    entry = found.entry
    expression = known_license(entry, component.version)
    if expression is None:
        return component
    recorded = f"release {entry.license_release}" if entry.license_release else "a release"
    evidence = Evidence(
        location=entry.defined_in,
        field="license",
        value=expression,
        method=f"{KNOWLEDGE_BASE_METHOD} ({entry.id}: {recorded}, as of {entry.as_of})",
    )
    properties = [(PropertyName.LICENSE_BASIS.value, KNOWLEDGE_BASE_METHOD)]
    if entry.as_of:
        properties.append((PropertyName.LICENSE_AS_OF.value, entry.as_of))
    return replace(
        component,
        licenses=(expression,),
        evidence=(*component.evidence, evidence),
        properties=(*component.properties, *properties),
    )
