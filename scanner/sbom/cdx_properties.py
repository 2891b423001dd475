"""The ``sovscan:`` properties of a CycloneDX document and of its components (the output
contract's names, ``scanner.core.properties``), as (name, value) pairs in the order they are
added; the writers sort them."""

from __future__ import annotations

from collections.abc import Mapping

from scanner.core.model import Component, ComponentKind, ScanResult
from scanner.core.properties import (
    PropertyName,
    basis_property,
    origin_hint_value,
    verdict_property,
)


def bom_properties(result: ScanResult) -> list[tuple[str, str]]:
    """``metadata.properties``: the result's own; the jurisdiction, the chosen policy, one
    ``sovscan:verdict:<tier>`` per tier (and ``sovscan:basis:<tier>`` naming what a tier was
    judged against, e.g. its deny list); one ``sovscan:issue`` per scan issue."""
    pairs = list(result.properties)
    if result.jurisdiction:
        pairs.append((PropertyName.JURISDICTION.value, result.jurisdiction))
    if result.policy:
        pairs.append((PropertyName.POLICY.value, result.policy))
    pairs.extend((verdict_property(v.tier), v.verdict.value) for v in result.verdicts)
    pairs.extend((basis_property(v.tier), v.basis) for v in result.verdicts if v.basis)
    pairs.extend(
        (PropertyName.ISSUE.value, f"[{issue.severity}] {issue.location}: {issue.problem}")
        for issue in result.issues
    )
    return pairs


def component_properties(
    component: Component, incoming: Mapping[str, set[str]]
) -> list[tuple[str, str]]:
    """The ``sovscan:`` properties of a top-level component."""
    pairs = list(component.properties)
    pairs.append((PropertyName.KIND.value, component.kind.value))
    if component.unresolved:
        pairs.append((PropertyName.UNRESOLVED.value, "true"))
    if component.layer is not None:
        pairs.append((PropertyName.LAYER.value, component.layer.value))
    if component.kind is ComponentKind.FILE and component.size is not None:
        pairs.append((PropertyName.FILE_SIZE.value, str(component.size)))
    pairs.extend((PropertyName.RELATION.value, kind) for kind in incoming.get(component.ref, ()))
    origin = component.origin
    if origin is not None:
        pairs.append((PropertyName.ORIGIN_STEWARD.value, origin.steward.value))
        pairs.append((PropertyName.ORIGIN_BASIS.value, origin.basis.value))
        pairs.append((PropertyName.ORIGIN_CONFIDENCE.value, origin.confidence.value))
        if origin.country:
            pairs.append((PropertyName.ORIGIN_COUNTRY.value, origin.country))
        if origin.organization:
            pairs.append((PropertyName.ORIGIN_ORGANIZATION.value, origin.organization))
        if origin.parent:
            pairs.append((PropertyName.ORIGIN_PARENT.value, origin.parent))
        if origin.note:
            pairs.append((PropertyName.ORIGIN_NOTE.value, origin.note))
    pairs.extend(
        (PropertyName.ORIGIN_HINT.value, origin_hint_value(hint)) for hint in component.origin_hints
    )
    return pairs
