"""The mutable accumulator that folder readers feed: components, relations, issues."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath

from scanner.core.ids import HubId, parse_hub_id
from scanner.core.model import (
    Component,
    ComponentKind,
    Evidence,
    Finding,
    Layer,
    Relation,
    RelationKind,
    ScanIssue,
    Severity,
)
from scanner.sources.identity import ModelIdentity


@dataclass
class InventoryBuilder:
    """Accumulates components and relations; the same ref twice merges evidence."""

    identity: ModelIdentity
    hub: str
    components: dict[str, Component] = field(default_factory=dict)
    relations: dict[tuple[str, str, RelationKind], Relation] = field(default_factory=dict)
    issues: list[ScanIssue] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def add(self, component: Component) -> str:
        """Add a component (merging evidence into one already there); returns its ref."""
        existing = self.components.get(component.ref)
        if existing is None:
            self.components[component.ref] = component
        else:
            self.components[component.ref] = replace(
                existing, evidence=merge_evidence(existing.evidence, component.evidence)
            )
        return component.ref

    def relate(self, src: str, dst: str, kind: RelationKind, *evidence: Evidence) -> None:
        """Record ``src`` → ``dst``; the same edge twice keeps all its evidence."""
        if src == dst:  # a card naming the model as its own base: not lineage
            where = evidence[0].location if evidence else "."
            self.issue(where, f"{kind} relation from the model to itself ignored")
            return
        key = (src, dst, kind)
        existing = self.relations.get(key)
        merged = merge_evidence(existing.evidence if existing else (), evidence)
        self.relations[key] = Relation(src=src, dst=dst, kind=kind, evidence=merged)

    def issue(self, location: str, problem: str, severity: Severity = Severity.LOW) -> None:
        """Record something that could not be read or resolved."""
        self.issues.append(ScanIssue(location=location, problem=problem, severity=severity))

    def model_ref(self, value: str, evidence: Evidence, location: str) -> str:
        """A Hub model component for ``value``, or an unresolved one when it is not a Hub id."""
        hub_id = parse_hub_id(value)
        if hub_id is not None:
            return self.hub_model(hub_id, evidence, Layer.WEIGHTS)
        self.issue(
            location,
            f"{evidence.field} {value!r} is not a Hugging Face repo id; "
            "the ancestor stays unresolved",
            Severity.MEDIUM,
        )
        name = PurePosixPath(value.replace("\\", "/")).name or value
        return self.add(
            Component(
                ref=f"model:unresolved:{value}",
                kind=ComponentKind.MODEL,
                name=name,
                layer=Layer.WEIGHTS,
                evidence=(evidence,),
                unresolved=True,
            )
        )

    def hub_model(self, hub_id: HubId, evidence: Evidence, layer: Layer) -> str:
        """A Hub model named in metadata (unpinned until the Hub is asked)."""
        purl = hub_ref(hub_id)
        return self.add(
            Component(
                ref=purl,
                kind=ComponentKind.MODEL,
                name=hub_id.name,
                group=hub_id.namespace,
                purl=purl,
                layer=layer,
                evidence=(evidence,),
                external_urls=(("website", f"{self.hub}/{hub_id.repo_id}"),),
            )
        )


def hub_ref(hub_id: HubId) -> str:
    """The ref (and unpinned purl) of a Hub model named in metadata."""
    return f"pkg:huggingface/{hub_id.namespace}/{hub_id.name}"


def merge_components(first: Component, second: Component) -> Component:
    """One component from two sightings of the same ref (e.g. an ancestor named by one target
    and scanned as another): every fact of both, the scanned one's identity first."""
    primary, other = (second, first) if _richness(second) > _richness(first) else (first, second)
    return replace(
        primary,
        version=primary.version or other.version,
        purl=primary.purl or other.purl,
        description=primary.description or other.description,
        licenses=tuple(dict.fromkeys((*primary.licenses, *other.licenses))),
        hashes=tuple(dict.fromkeys((*primary.hashes, *other.hashes))),
        evidence=merge_evidence(primary.evidence, other.evidence),
        properties=tuple(dict.fromkeys((*primary.properties, *other.properties))),
        model_card=primary.model_card or other.model_card,
        external_urls=tuple(dict.fromkeys((*primary.external_urls, *other.external_urls))),
        distributions=tuple(dict.fromkeys((*primary.distributions, *other.distributions))),
        origin_hints=tuple(dict.fromkeys((*primary.origin_hints, *other.origin_hints))),
    )


def _richness(component: Component) -> int:
    """How much a sighting knows: a scanned model (with a model card) beats a mere reference."""
    return (
        (component.model_card is not None) * 4
        + bool(component.licenses) * 2
        + bool(component.hashes)
    )


def merge_evidence(first: Iterable[Evidence], second: Iterable[Evidence]) -> tuple[Evidence, ...]:
    """Both evidence lists, first occurrence kept, order preserved."""
    return tuple(dict.fromkeys((*first, *second)))
