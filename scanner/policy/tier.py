"""What a policy tier sees of a scan, and how a rule's hit on one component is worded.

``scanner.policy.checks`` runs the rules over a ``Tier`` and returns ``Hit``s;
``scanner.policy.evaluate`` turns them into findings and verdicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, auto
from typing import TYPE_CHECKING

from scanner.core.model import (
    Acceptance,
    Component,
    ComponentKind,
    Confidence,
    Evidence,
    Finding,
    Layer,
    Origin,
    RelationKind,
    ScanResult,
    StewardKind,
)
from scanner.core.properties import PropertyName
from scanner.policy.deny_lists import DenyList
from scanner.policy.licenses import LicenseClassification, classify_licenses
from scanner.policy.profile import Profile
from scanner.policy.remedies import label as remedy_label

if TYPE_CHECKING:
    from scanner.policy.attestation import Attestation
    from scanner.policy.registry import PurlIdentity, TrustedRegistry


@dataclass(frozen=True, slots=True, kw_only=True)
class Facts:
    """Per-scan lookups every tier shares: effective origins and licences."""

    by_ref: Mapping[str, Component]
    origins: Mapping[str, Origin | None]
    licenses: Mapping[str, tuple[tuple[str, ...], Component | None]]
    """Declared licences, and the component they were taken from when not its own."""
    container: Mapping[str, Component]
    """The component that contains a component (a file holding code run on load)."""
    owner: Mapping[str, Component]
    """The model a local tokenizer or code component belongs to (it takes its origin and
    licence from it, so a remedy is about that model)."""
    findings: Mapping[str, tuple[Finding, ...]]
    """The scan's findings by the component they are about."""

    @classmethod
    def of(cls, result: ScanResult) -> Facts:
        """The lookups of ``result``."""
        by_ref = {component.ref: component for component in result.components}
        container = {
            relation.dst: by_ref[relation.src]
            for relation in result.relations
            if relation.kind is RelationKind.CONTAINS and relation.src in by_ref
        }
        owner = {
            relation.dst: by_ref[relation.src]
            for relation in result.relations
            if relation.kind is RelationKind.DEPENDS_ON
            and relation.src in by_ref
            and relation.dst in by_ref
            and by_ref[relation.dst].kind in (ComponentKind.TOKENIZER, ComponentKind.CODE)
            and by_ref[relation.dst].purl is None
        }
        findings: dict[str, list[Finding]] = {}
        for finding in result.findings:
            findings.setdefault(finding.component_ref, []).append(finding)
        return cls(
            by_ref=by_ref,
            origins=effective_origins(result, by_ref),
            licenses=effective_licenses(result, by_ref),
            container=container,
            owner=owner,
            findings={ref: tuple(found) for ref, found in findings.items()},
        )


def effective_origins(
    result: ScanResult, by_ref: Mapping[str, Component]
) -> dict[str, Origin | None]:
    """Every component's origin; a file without one takes its container's."""
    origins = {ref: component.origin for ref, component in by_ref.items()}
    for relation in result.relations:
        target = by_ref.get(relation.dst)
        container = by_ref.get(relation.src)
        if (
            relation.kind is RelationKind.CONTAINS
            and target is not None
            and target.kind is ComponentKind.FILE
            and origins[target.ref] is None
            and container is not None
        ):
            origins[target.ref] = container.origin
    return origins


def _parse_purl(purl: str) -> tuple[PurlIdentity, str | None] | None:
    """``scanner.policy.registry.parse_purl``, imported when a component has a purl."""
    from scanner.policy.registry import parse_purl

    return parse_purl(purl)


def effective_licenses(
    result: ScanResult, by_ref: Mapping[str, Component]
) -> dict[str, tuple[tuple[str, ...], Component | None]]:
    """Declared licences, and the component they were taken from when not its own."""
    by_identity: dict[PurlIdentity, Component] = {}
    for component in result.components:
        parsed = _parse_purl(component.purl) if component.purl and component.licenses else None
        if parsed is not None:
            by_identity.setdefault(parsed[0], component)
    local_parent: dict[str, Component] = {}
    for relation in result.relations:
        parent = by_ref.get(relation.src)
        if relation.kind is RelationKind.DEPENDS_ON and parent is not None and parent.licenses:
            local_parent.setdefault(relation.dst, parent)
    found: dict[str, tuple[tuple[str, ...], Component | None]] = {}
    for component in result.components:
        source: Component | None = None
        if not component.licenses:
            parsed = _parse_purl(component.purl) if component.purl else None
            if parsed is not None:
                source = by_identity.get(parsed[0])
            elif component.kind in (ComponentKind.CODE, ComponentKind.TOKENIZER):
                source = local_parent.get(component.ref)
        licenses = source.licenses if source is not None else component.licenses
        found[component.ref] = (licenses, source)
    return found


def counted_components(
    result: ScanResult, layers: Mapping[str, frozenset[Layer]], profile: Profile
) -> tuple[tuple[Component, tuple[Layer, ...]], ...]:
    """The components ``profile`` counts, each with the layers it counts them in."""
    counted = []
    for component in result.components:
        if any(name == PropertyName.ACCEPTED for name, _ in component.properties):
            continue  # accepted by a waiver: reported, not counted
        own = layers.get(component.ref, frozenset())
        mine = tuple(layer for layer in profile.layers if layer in own)
        if mine:
            counted.append((component, mine))
    return tuple(counted)


@dataclass(frozen=True, slots=True, kw_only=True)
class Tier:
    """One profile evaluated over one scan, with everything its rules read."""

    result: ScanResult
    facts: Facts
    profile: Profile
    jurisdiction: str
    counted: tuple[tuple[Component, tuple[Layer, ...]], ...]
    attestation: Attestation | None
    registry: TrustedRegistry | None
    deny: DenyList | None = None

    def anchor(self) -> str:
        """Where scan-wide findings are reported: the (first) scanned model."""
        return self.result.subjects[0] if self.result.subjects else self.counted[0][0].ref

    def subjects(self) -> tuple[str, ...]:
        """The scanned models (at least the anchor)."""
        return self.result.subjects or (self.anchor(),)


@dataclass(frozen=True, slots=True, kw_only=True)
class Hit:
    """One rule firing on one component, before it becomes a Finding and a reason."""

    rule: str
    ref: str
    message: str
    layer: Layer | None = None
    item: str = ""
    """How a grouped reason names the component."""
    noun: tuple[str, str] = ("component", "components")
    """Singular and plural of what a grouped reason counts."""
    reason: str | None = None
    """A verbatim reason instead of a grouped one (attestations)."""
    evidence: tuple[Evidence, ...] = ()
    key: str = ""
    """What tells it apart from other hits of its rule on the component (``Finding.key``)."""
    remediation: str = ""
    accepted: Acceptance | None = None


@dataclass(slots=True)
class Checked:
    """What a check found: hits, and the reasons its rules pass when none fire."""

    hits: list[Hit] = field(default_factory=list)
    passes: list[str] = field(default_factory=list)


class Standing(Enum):
    """Where a component's origin stands for the jurisdiction."""

    DOMESTIC = auto()
    FOREIGN = auto()
    COMMUNITY = auto()
    UNKNOWN = auto()


def standing_of(origin: Origin | None, jurisdiction: str) -> Standing:
    """Where an origin stands for ``jurisdiction``: domestic, foreign, community, unknown."""
    if origin is None:
        return Standing.UNKNOWN
    country = origin.country.upper() if origin.country else None
    if country == jurisdiction:
        # PASS needs proof: a low-confidence domestic attribution is not.
        low = origin.confidence is Confidence.LOW
        return Standing.UNKNOWN if low else Standing.DOMESTIC
    if country is not None:
        return Standing.FOREIGN
    if origin.steward is StewardKind.COMMUNITY:
        return Standing.COMMUNITY
    return Standing.UNKNOWN


def foreign_hint(component: Component, jurisdiction: str) -> Origin | None:
    """The first origin hint of ``component`` that names another country."""
    return next(
        (h for h in component.origin_hints if h.country and h.country.upper() != jurisdiction),
        None,
    )


def origin_hit(
    rule: str,
    component: Component,
    layers: tuple[Layer, ...],
    origin: Origin | None,
    message: str,
    noun: tuple[str, str],
    remediation: str,
) -> Hit:
    """A hit about a component's origin, with the origin's evidence."""
    return Hit(
        rule=rule,
        ref=component.ref,
        layer=layers[0],
        message=message,
        item=f"{label_of(component)} ({origin_text(origin)})",
        noun=noun,
        evidence=origin_evidence(origin, None) or component.evidence,
        remediation=remediation,
    )


def hint_hit(
    rule: str, component: Component, layers: tuple[Layer, ...], hint: Origin, jurisdiction: str
) -> Hit:
    """A hit about a licence signal that ties a component to a foreign lineage."""
    label = label_of(component)
    return Hit(
        rule=rule,
        ref=component.ref,
        layer=layers[0],
        message=f"{label} carries a signal of a foreign lineage: {origin_text(hint)}, not "
        f"{jurisdiction}{hint_source(hint)}{also(layers)}",
        item=f"{label} (lineage signal: {origin_text(hint)})",
        noun=(
            "component with a foreign lineage signal",
            "components with foreign lineage signals",
        ),
        evidence=hint.evidence,
        remediation=f"The {hint.basis.value} ties {remedy_label(component)} to "
        f"{hint.organization or 'a foreign vendor'} ({hint.country}): declare its base model "
        "(base_model) so the lineage can be checked, replace it, or correct the declaration if "
        "it is wrong",
    )


def hint_source(hint: Origin) -> str:
    """`` (from field 'value'; …)`` naming where a hint was seen."""
    shown = "; ".join(f"{e.field} {e.value!r}" for e in hint.evidence[:2])
    return f" (from {shown})" if shown else f" ({hint.basis.value})"


def license_of(tier: Tier, component: Component) -> tuple[LicenseClassification, Component | None]:
    """The classification of a component's effective licence, and where it was taken from."""
    licenses, source = tier.facts.licenses[component.ref]
    return classify_licenses(licenses), source


def license_evidence(component: Component, source: Component | None) -> tuple[Evidence, ...]:
    """The licence evidence of the component the licence was taken from."""
    holder = source or component
    return tuple(e for e in holder.evidence if "licen" in e.field.lower())


def origin_evidence(origin: Origin | None, hint: Origin | None) -> tuple[Evidence, ...]:
    """The evidence of an origin and of a hint."""
    return (*(origin.evidence if origin else ()), *(hint.evidence if hint else ()))


def origin_text(origin: Origin | None) -> str:
    """``Meta Platforms, Inc., US`` (or what is known) for messages."""
    if origin is None:
        return "origin not attributed"
    name = origin.organization
    if origin.steward is StewardKind.COMMUNITY:
        country = f", {origin.country.upper()}" if origin.country else ""
        return f"{name or 'community'}, community project{country}"
    if origin.country is not None:
        low = ", low confidence" if origin.confidence is Confidence.LOW else ""
        return f"{name or 'unknown organisation'}, {origin.country.upper()}{low}"
    if origin.steward is StewardKind.INDIVIDUAL:
        return f"{name}, individual, country unknown" if name else "individual, country unknown"
    return f"{name}, country unknown" if name else "origin unknown"


def projects_only(tier: Tier) -> bool:
    """Whether every subject is a project folder without a model (kind APPLICATION)."""
    subjects = [c for c in tier.result.components if c.ref in tier.result.subjects]
    return bool(subjects) and all(c.kind is ComponentKind.APPLICATION for c in subjects)


def label_of(component: Component) -> str:
    """How messages name a component."""
    if component.kind is ComponentKind.TOKENIZER:
        return component.name
    if (PropertyName.SECURITY_EMBEDDED_CODE, "true") in component.properties:
        return component.name
    if component.kind is ComponentKind.LIBRARY and not component.ref.startswith("pkg:"):
        return f"{component.name}@{component.version}" if component.version else component.name
    if component.ref.startswith("pkg:"):
        return f"{component.group}/{component.name}" if component.group else component.name
    return component.ref.partition(":")[2] or component.ref


def role_of(tier: Tier, component: Component, layer: Layer) -> str:
    """``the scanned model``, ``an ancestor in the weights lineage``, ``a tokenizer component``."""
    if component.ref in tier.result.subjects:
        return (
            "the scanned project"
            if component.kind is ComponentKind.APPLICATION
            else "the scanned model"
        )
    return (
        "an ancestor in the weights lineage" if layer is Layer.WEIGHTS else f"a {layer} component"
    )


def also(layers: tuple[Layer, ...]) -> str:
    """`` (layer x)`` or `` (layers x, y)``."""
    if len(layers) == 1:
        return f" (layer {layers[0].value})"
    return f" (layers {', '.join(layer.value for layer in layers)})"


def layer_names(tier: Tier) -> str:
    """The profile's counted layers, comma-separated."""
    return ", ".join(layer.value for layer in tier.profile.layers)


def clip(text: str, limit: int = 160) -> str:
    """``text`` cut to ``limit`` characters."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def count(number: int, singular: str) -> str:
    """``1 thing`` or ``3 things``."""
    return f"{number} {singular}" if number == 1 else f"{number} {singular}s"
