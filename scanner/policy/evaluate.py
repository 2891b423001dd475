"""Evaluate policy tiers over a scan: findings with stable rule ids and one verdict per tier.

Every tier fails closed: FAIL beats UNKNOWN beats PASS, and PASS needs positive evidence for
every counted component. An unresolved ancestor or a scan issue of medium severity or worse
(GEN001), a missing attestation (ATT001), an unknown origin (SOV002) or licence (NAT002), a
missing registry and a profile that counts nothing all leave the tier UNKNOWN at best.

Decisions:

- A domestic origin only counts as proof at medium or high confidence; a low-confidence one is
  an unknown origin. A foreign signal fails at any confidence, and so does a foreign origin
  *hint* (e.g. a ``llama3`` licence → Meta, US): hints can fail a tier, never pass it.
- Community projects (steward COMMUNITY, no country) are not domestic for ``domestic-only``
  (SOV004, FAIL), are judged by their licence for ``open-licence-for-foreign`` and belong to no
  state for ``deny-list``. An individual or an organisation without a known country is unknown.
- ``open-licence-for-foreign``: a domestic component passes whatever its licence, unless a
  foreign hint shows that its restrictive licence is a foreign vendor's (NAT001,
  "foreign-controlled terms"). Any other component needs an open licence (``licences.py``). A
  component with no licence of its own takes that of a component with the same purl, and local
  code or tokenizer files that of the model they ship with. No attestation is required.
- A file component without an origin takes that of the component that contains it.
- One finding per component and rule, on its first counted layer; the message names the others.
  A finding that several tiers raise alike is one finding listing those tiers; re-evaluating a
  tier replaces its findings and verdict.
- Every tier applies SEC100 (dangerous code): a file whose loading runs a dangerous callable or
  embedded code (a HIGH load-analysis finding) fails every tier unless an ``--accept`` waiver
  accepts it. Code that merely cannot be analysed is code of unknown origin (UNKNOWN).
- An accepted finding (``Finding.accepted``) is reported but decides no verdict; a component a
  waiver accepts (``ACCEPTED_PROPERTY``) is not counted.
- Every finding that decides a verdict carries a remediation naming what to change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum, auto

from scanner.errors import UsageError
from scanner.formats.load_risk import EMBEDDED_CODE_PROPERTY
from scanner.model import (
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
    Severity,
    StewardKind,
    TierVerdict,
    Verdict,
)
from scanner.policy.attestation import Attestation
from scanner.policy.deny_lists import DenyList, default_deny_list
from scanner.policy.layers import component_layers
from scanner.policy.licences import LicenceClass, LicenceClassification, classify_licences
from scanner.policy.profile import Profile, RuleKind, parse_country
from scanner.policy.registry import MatchStatus, PurlIdentity, TrustedRegistry, parse_purl
from scanner.policy.remedies import (
    OnLoad,
    accept_hint,
    attestation_remedy,
    foreign_remedy,
    issue_remedy,
    licence_remedy,
    origin_remedy,
    unresolved_remedy,
)
from scanner.policy.remedies import label as remedy_label
from scanner.policy.rules import DANGEROUS_CODE_RULE, RULES, applied_rules, is_dangerous
from scanner.policy.waivers import ACCEPTED_PROPERTY, ON_LOAD_RULES

#: Most components a reason lists by name; the rest are counted.
MAX_REASON_ITEMS = 5
#: Most evidence items copied onto one finding.
MAX_FINDING_EVIDENCE = 10

_BLOCKING_ISSUES = frozenset({Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM})
_UNRESOLVED = ("sovscan:unresolved", "true")
_LAYER_RANK = {layer: rank for rank, layer in enumerate(Layer)}


def evaluate(
    result: ScanResult,
    profiles: Sequence[Profile],
    *,
    jurisdiction: str,
    attestation: Attestation | None = None,
    registry: TrustedRegistry | None = None,
    chosen: str | None = None,
) -> ScanResult:
    """``result`` with findings and one verdict per profile, evaluated for ``jurisdiction``.

    ``chosen`` is the tier that decides the exit code (``--policy``), or None. Raises
    ``UsageError`` for a bad jurisdiction, duplicate profile names or an unknown ``chosen``.
    """
    run_jurisdiction = parse_country(jurisdiction, where="--jurisdiction")
    names = [profile.name for profile in profiles]
    if len(set(names)) != len(names):
        raise UsageError(f"profiles evaluated twice: {', '.join(sorted(names))}")
    if chosen is not None and chosen not in names:
        raise UsageError(f"--policy {chosen!r} is not among the evaluated profiles")
    layers = component_layers(result)
    facts = _Facts.of(result)
    findings = _without_tiers(result.findings, set(names))
    verdicts = [verdict for verdict in result.verdicts if verdict.tier not in names]
    for profile in profiles:
        tier_jurisdiction = profile.jurisdiction_for(run_jurisdiction)
        tier = _Tier(
            result=result,
            facts=facts,
            profile=profile,
            jurisdiction=tier_jurisdiction,
            counted=_counted(result, layers, profile),
            attestation=attestation,
            registry=registry,
            deny=_deny_list(profile, tier_jurisdiction),
        )
        tier_findings, verdict = _evaluate_tier(tier)
        findings += tier_findings
        verdicts.append(verdict)
    return replace(
        result,
        findings=_merged_findings(findings),
        verdicts=tuple(verdicts),
        jurisdiction=run_jurisdiction,
        policy=chosen,
    )


def _deny_list(profile: Profile, jurisdiction: str) -> DenyList | None:
    """The countries a deny-list profile denies for ``jurisdiction``: its own list, or the
    jurisdiction's default one (None when there is none: the tier is then UNKNOWN)."""
    if RuleKind.DENY_LIST not in profile.rules:
        return None
    if profile.deny_default:
        return default_deny_list(jurisdiction)
    if jurisdiction in profile.deny:
        raise UsageError(
            f"the deny list of {profile.name} names {jurisdiction}, the jurisdiction it is "
            "evaluated for: a jurisdiction cannot deny itself"
        )
    source = "--deny" if profile.source.startswith("builtin:") else profile.source
    return DenyList(
        id=source,
        title=f"countries given in {source} ({', '.join(profile.deny)})",
        countries=profile.deny,
    )


def _without_tiers(findings: Sequence[Finding], names: set[str]) -> list[Finding]:
    """``findings`` no longer raised by the tiers in ``names`` (they are evaluated again)."""
    kept = []
    for finding in findings:
        if not finding.tiers:
            kept.append(finding)
            continue
        tiers = tuple(tier for tier in finding.tiers if tier not in names)
        if tiers:
            kept.append(replace(finding, tiers=tiers))
    return kept


def _merged_findings(findings: Sequence[Finding]) -> tuple[Finding, ...]:
    """One finding for what several tiers raise alike, listing every such tier in order."""
    merged: dict[tuple[object, ...], Finding] = {}
    for finding in findings:
        identity = (
            finding.rule_id,
            finding.component_ref,
            finding.layer,
            finding.key,
            finding.message,
            finding.accepted,
            not finding.tiers,
        )
        seen = merged.get(identity)
        if seen is None:
            merged[identity] = finding
        else:
            tiers = tuple(dict.fromkeys((*seen.tiers, *finding.tiers)))
            merged[identity] = replace(seen, tiers=tiers)
    return tuple(merged.values())


# --- what a tier sees --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class _Facts:
    """Per-scan lookups every tier shares: effective origins and licences."""

    by_ref: Mapping[str, Component]
    origins: Mapping[str, Origin | None]
    licences: Mapping[str, tuple[tuple[str, ...], Component | None]]
    """Declared licences, and the component they were taken from when not its own."""
    container: Mapping[str, Component]
    """The component that contains a component (a file holding code run on load)."""
    owner: Mapping[str, Component]
    """The model a local tokenizer or code component belongs to (it takes its origin and
    licence from it, so a remedy is about that model)."""

    @classmethod
    def of(cls, result: ScanResult) -> _Facts:
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
        return cls(
            by_ref=by_ref,
            origins=_origins(result, by_ref),
            licences=_licences(result, by_ref),
            container=container,
            owner=owner,
        )


def _origins(result: ScanResult, by_ref: Mapping[str, Component]) -> dict[str, Origin | None]:
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


def _licences(
    result: ScanResult, by_ref: Mapping[str, Component]
) -> dict[str, tuple[tuple[str, ...], Component | None]]:
    by_identity: dict[PurlIdentity, Component] = {}
    for component in result.components:
        parsed = parse_purl(component.purl) if component.purl and component.licenses else None
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
            parsed = parse_purl(component.purl) if component.purl else None
            if parsed is not None:
                source = by_identity.get(parsed[0])
            elif component.kind in (ComponentKind.CODE, ComponentKind.TOKENIZER):
                source = local_parent.get(component.ref)
        licences = source.licenses if source is not None else component.licenses
        found[component.ref] = (licences, source)
    return found


def _counted(
    result: ScanResult, layers: Mapping[str, frozenset[Layer]], profile: Profile
) -> tuple[tuple[Component, tuple[Layer, ...]], ...]:
    counted = []
    for component in result.components:
        if any(name == ACCEPTED_PROPERTY for name, _ in component.properties):
            continue  # accepted by a waiver: reported, not counted
        own = layers.get(component.ref, frozenset())
        mine = tuple(layer for layer in profile.layers if layer in own)
        if mine:
            counted.append((component, mine))
    return tuple(counted)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Tier:
    result: ScanResult
    facts: _Facts
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
        return self.result.subjects or (self.anchor(),)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Hit:
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
class _Checked:
    hits: list[_Hit] = field(default_factory=list)
    passes: list[str] = field(default_factory=list)


class _Standing(Enum):
    DOMESTIC = auto()
    FOREIGN = auto()
    COMMUNITY = auto()
    UNKNOWN = auto()


def _standing(origin: Origin | None, jurisdiction: str) -> _Standing:
    if origin is None:
        return _Standing.UNKNOWN
    country = origin.country.upper() if origin.country else None
    if country == jurisdiction:
        # PASS needs proof: a low-confidence domestic attribution is not.
        low = origin.confidence is Confidence.LOW
        return _Standing.UNKNOWN if low else _Standing.DOMESTIC
    if country is not None:
        return _Standing.FOREIGN
    if origin.steward is StewardKind.COMMUNITY:
        return _Standing.COMMUNITY
    return _Standing.UNKNOWN


def _foreign_hint(component: Component, jurisdiction: str) -> Origin | None:
    return next(
        (h for h in component.origin_hints if h.country and h.country.upper() != jurisdiction),
        None,
    )


# --- the tier ----------------------------------------------------------------------------------


def _evaluate_tier(tier: _Tier) -> tuple[list[Finding], TierVerdict]:
    profile = tier.profile
    if not profile.layers or not tier.counted:
        # Dangerous code fails a tier whatever it counts; otherwise nothing is proven.
        dangerous = sorted(_check_dangerous_code(tier).hits, key=_hit_order)
        live = [hit for hit in dangerous if hit.accepted is None]
        names = ", ".join(layer.value for layer in profile.layers)
        gap = (
            "UNKNOWN: the profile counts no layers: nothing to evaluate"
            if not profile.layers
            else f"UNKNOWN: nothing to evaluate: no component in the counted layers ({names})"
        )
        findings = [_finding(hit, profile.name) for hit in dangerous]
        if live:
            return findings, _verdict(profile, Verdict.FAIL, _reasons(live, Verdict.FAIL))
        return findings, _verdict(profile, Verdict.UNKNOWN, [gap])
    checked = _Checked()
    checks = (
        _check_dangerous_code,
        _check_completeness,
        *(_CHECKS[kind] for kind in profile.rules),
        _check_attestations,
    )
    for check in checks:
        _merge(checked, check(tier))
    hits = sorted(checked.hits, key=_hit_order)
    live = [hit for hit in hits if hit.accepted is None]
    outcomes = {RULES[hit.rule].outcome for hit in live}
    if Verdict.FAIL in outcomes:
        verdict = Verdict.FAIL
    elif Verdict.UNKNOWN in outcomes:
        verdict = Verdict.UNKNOWN
    else:
        verdict = Verdict.PASS
    accepted = [hit for hit in hits if hit.accepted is not None]
    if verdict is Verdict.PASS:
        reasons = checked.passes
    else:
        reasons = [*_reasons(live, Verdict.FAIL), *_reasons(live, Verdict.UNKNOWN)]
    if accepted:
        reasons.append(
            f"{_count(len(accepted), 'finding')} accepted by --accept: "
            + "; ".join(dict.fromkeys(_clip(hit.item or hit.message) for hit in accepted))
        )
    findings = [_finding(hit, profile.name) for hit in hits]
    basis = f"deny list {tier.deny.describe()}" if tier.deny is not None else ""
    return findings, _verdict(profile, verdict, reasons, basis)


def _merge(into: _Checked, more: _Checked) -> None:
    into.hits += more.hits
    into.passes += more.passes


def _verdict(
    profile: Profile, verdict: Verdict, reasons: list[str], basis: str = ""
) -> TierVerdict:
    return TierVerdict(
        tier=profile.name,
        verdict=verdict,
        reasons=tuple(dict.fromkeys(reasons)),
        rules=applied_rules(profile),
        basis=basis,
    )


def _finding(hit: _Hit, tier: str) -> Finding:
    return Finding(
        rule_id=hit.rule,
        severity=RULES[hit.rule].severity,
        component_ref=hit.ref,
        message=hit.message,
        evidence=tuple(dict.fromkeys(hit.evidence))[:MAX_FINDING_EVIDENCE],
        layer=hit.layer,
        tiers=(tier,),
        key=hit.key,
        remediation=hit.remediation,
        accepted=hit.accepted,
    )


def _hit_order(hit: _Hit) -> tuple[bool, str, int, str]:
    # Dangerous code first; stable otherwise: hits of one rule on one component keep their
    # order (claims in profile order).
    rank = _LAYER_RANK[hit.layer] if hit.layer is not None else len(_LAYER_RANK)
    return hit.rule != DANGEROUS_CODE_RULE, hit.rule, rank, hit.ref


def _reasons(hits: list[_Hit], outcome: Verdict) -> list[str]:
    """One sentence per rule and layer (hits already sorted), listing what it found."""
    groups: dict[tuple[str, tuple[str, str], Layer | None], list[str]] = {}
    verbatim: list[str] = []
    for hit in hits:
        if RULES[hit.rule].outcome is not outcome:
            continue
        if hit.reason is not None:
            verbatim.append(hit.reason)
            continue
        items = groups.setdefault((hit.rule, hit.noun, hit.layer), [])
        if hit.item not in items:
            items.append(hit.item)
    reasons = []
    for (_, noun, layer), items in groups.items():
        shown = "; ".join(items[:MAX_REASON_ITEMS])
        if len(items) > MAX_REASON_ITEMS:
            shown += f"; … and {len(items) - MAX_REASON_ITEMS} more"
        where = f" in the {layer.value} layer" if layer is not None else ""
        what = noun[0] if len(items) == 1 else noun[1]
        reasons.append(f"{outcome.value}: {len(items)} {what}{where}: {shown}")
    return [*reasons, *verbatim]


# --- rules -------------------------------------------------------------------------------------


def _check_dangerous_code(tier: _Tier) -> _Checked:
    """SEC100: a file whose loading runs a dangerous callable or embedded code (a HIGH
    load-analysis finding) fails every tier, unless every such finding is accepted."""
    out = _Checked()
    dangerous: dict[str, list[Finding]] = {}
    for finding in tier.result.findings:
        if is_dangerous(finding):
            dangerous.setdefault(finding.component_ref, []).append(finding)
    for ref, findings in sorted(dangerous.items()):
        file = tier.facts.by_ref.get(ref)
        where = (file.path or file.name) if file is not None else ref
        what = "; ".join(dict.fromkeys(_after_location(f.message, where) for f in findings))
        pending = [f for f in findings if f.accepted is None]
        out.hits.append(
            _Hit(
                rule=DANGEROUS_CODE_RULE,
                ref=ref,
                message=f"{where}: loading it runs dangerous code: {what}",
                item=f"{where} ({_clip(what, 120)})",
                noun=(
                    "file that runs dangerous code on load",
                    "files that run dangerous code on load",
                ),
                evidence=tuple(e for f in findings for e in f.evidence),
                key=where,
                remediation=f"Do not load {where}: remove it (or convert its weights to "
                f"safetensors); to keep it after a review, "
                f"{accept_hint(file, (DANGEROUS_CODE_RULE,))}",
                accepted=None if pending else findings[0].accepted,
            )
        )
    return out


def _after_location(message: str, location: str) -> str:
    """An analysis finding's message without its leading ``location: ``."""
    return message.removeprefix(f"{location}: ")


def _check_completeness(tier: _Tier) -> _Checked:
    """GEN001: scan issues of medium severity or worse, and unresolved counted ancestors."""
    out = _Checked()
    for issue in tier.result.issues:
        if issue.severity in _BLOCKING_ISSUES:
            text = f"{issue.location}: {issue.problem}"
            out.hits.append(
                _Hit(
                    rule="GEN001",
                    ref=tier.anchor(),
                    message=f"The scan is incomplete ({issue.severity.value}): {text}",
                    item=_clip(text),
                    noun=("scan problem", "scan problems"),
                    evidence=(
                        Evidence(
                            location=issue.location,
                            field="problem",
                            value=issue.problem,
                            method="scan-issue",
                        ),
                    ),
                    key=text,
                    remediation=issue_remedy(issue),
                )
            )
    for component, layers in tier.counted:
        if _UNRESOLVED in component.properties:
            label = _label(component)
            out.hits.append(
                _Hit(
                    rule="GEN001",
                    ref=component.ref,
                    layer=layers[0],
                    message=f"{label} could not be resolved to a known repository; "
                    f"what it contains is unknown{_also(layers)}",
                    item=label,
                    noun=("unresolved ancestor", "unresolved ancestors"),
                    evidence=component.evidence,
                    remediation=unresolved_remedy(label),
                )
            )
    return out


def _check_domestic(tier: _Tier) -> _Checked:
    """domestic-only: SOV001 foreign, SOV004 community, SOV003 foreign hint, SOV002 unknown."""
    out = _Checked()
    jurisdiction = tier.jurisdiction
    for component, layers in tier.counted:
        origin = tier.facts.origins[component.ref]
        standing = _standing(origin, jurisdiction)
        label, where = _label(component), _also(layers)
        described = f"{label} ({_origin_text(origin)})"
        hint = _foreign_hint(component, jurisdiction)
        if standing is _Standing.FOREIGN:
            role = _role(tier, component, layers[0])
            out.hits.append(
                _origin_hit(
                    "SOV001",
                    component,
                    layers,
                    origin,
                    f"{described}, {role}, is foreign: not from {jurisdiction}{where}",
                    ("foreign component", "foreign components"),
                    foreign_remedy(component, jurisdiction),
                )
            )
        elif standing is _Standing.COMMUNITY:
            out.hits.append(
                _origin_hit(
                    "SOV004",
                    component,
                    layers,
                    origin,
                    f"{described} is an international community project, not a "
                    f"{jurisdiction} one{where}",
                    ("community project (not domestic)", "community projects (not domestic)"),
                    f"Replace {remedy_label(component)} with a component from {jurisdiction}; "
                    "community "
                    "projects are never domestic (the national tier accepts them when open)",
                )
            )
        elif hint is not None:
            out.hits.append(_hint_hit("SOV003", component, layers, hint, jurisdiction))
        elif standing is _Standing.UNKNOWN:
            out.hits.append(_unknown_origin_hit(tier, component, layers, origin))
    if not out.hits:
        out.passes.append(
            f"PASS: all {_count(len(tier.counted), 'counted component')} "
            f"({_layer_names(tier)}) are of {jurisdiction} origin"
        )
    return out


def _unknown_origin_hit(
    tier: _Tier, component: Component, layers: tuple[Layer, ...], origin: Origin | None
) -> _Hit:
    """SOV002, worded alike by every tier so that it is reported once."""
    return _origin_hit(
        "SOV002",
        component,
        layers,
        origin,
        f"Origin of {_label(component)} ({_origin_text(origin)}) is not established{_also(layers)}",
        ("component of unknown origin", "components of unknown origin"),
        origin_remedy(
            (owner := tier.facts.owner.get(component.ref, component)),
            subject=owner.ref in tier.result.subjects,
            on_load=_on_load(tier, component),
        ),
    )


def _on_load(tier: _Tier, component: Component) -> OnLoad | None:
    """For code a file runs on load: the file and the rules a waiver would accept."""
    if (EMBEDDED_CODE_PROPERTY, "true") not in component.properties:
        return None
    file = tier.facts.container.get(component.ref)
    rules = sorted(
        {
            finding.rule_id
            for finding in tier.result.findings
            if file is not None
            and not finding.tiers
            and finding.component_ref == file.ref
            and finding.rule_id in ON_LOAD_RULES
        }
    )
    return file, tuple(rules) or (DANGEROUS_CODE_RULE,)


def _check_open_licence(tier: _Tier) -> _Checked:
    """open-licence-for-foreign: NAT001 restrictive, NAT002 unknown licence, SOV002."""
    out = _Checked()
    jurisdiction = tier.jurisdiction
    domestic = open_ = 0
    for component, layers in tier.counted:
        origin = tier.facts.origins[component.ref]
        standing = _standing(origin, jurisdiction)
        licence, source = _licence_of(tier, component)
        hint = _foreign_hint(component, jurisdiction)
        restrictive = licence.licence_class is LicenceClass.RESTRICTIVE
        if standing is _Standing.DOMESTIC and not (hint is not None and restrictive):
            domestic += 1
        elif licence.licence_class is LicenceClass.OPEN:
            open_ += 1
        elif restrictive and (standing is not _Standing.UNKNOWN or hint is not None):
            out.hits.append(_restrictive_hit(tier, component, layers, licence, source, hint))
        elif restrictive:
            out.hits.append(_unknown_origin_hit(tier, component, layers, origin))
        else:
            out.hits.append(_unknown_licence_hit(tier, component, layers, licence, source))
    if not out.hits:
        out.passes.append(
            f"PASS: {_count(domestic, 'domestic component')} and "
            f"{_count(open_, 'openly licensed non-domestic component')} in the counted layers "
            f"({_layer_names(tier)}); no restrictive foreign licence"
        )
    return out


def _restrictive_hit(
    tier: _Tier,
    component: Component,
    layers: tuple[Layer, ...],
    licence: LicenceClassification,
    source: Component | None,
    hint: Origin | None,
) -> _Hit:
    origin = tier.facts.origins[component.ref]
    standing = _standing(origin, tier.jurisdiction)
    label = _label(component)
    taken = f" (taken from {_label(source)})" if source is not None else ""
    if standing in (_Standing.FOREIGN, _Standing.COMMUNITY):
        whose = _origin_text(origin)
    else:
        whose = f"licence controlled by {_origin_text(hint)}"
    return _Hit(
        rule="NAT001",
        ref=component.ref,
        layer=layers[0],
        message=f"{label} ({whose}) is under {licence.licence!r}{taken}, a restrictive "
        f"licence: {licence.reason}{_also(layers)}",
        item=f"{label} ({whose}; {licence.licence})",
        noun=(
            "component under a restrictive foreign licence",
            "components under restrictive foreign licences",
        ),
        evidence=(*_licence_evidence(component, source), *_origin_evidence(origin, hint)),
        remediation=f"Replace {remedy_label(component)} with a component from "
        f"{tier.jurisdiction} or "
        f"one under an open licence; {licence.licence!r} does not allow free modification and "
        "commercial use",
    )


def _unknown_licence_hit(
    tier: _Tier,
    component: Component,
    layers: tuple[Layer, ...],
    licence: LicenceClassification,
    source: Component | None,
) -> _Hit:
    origin = tier.facts.origins[component.ref]
    label = _label(component)
    declared = repr(licence.licence) if licence.licence else "no licence"
    return _Hit(
        rule="NAT002",
        ref=component.ref,
        layer=layers[0],
        message=f"{label} ({_origin_text(origin)}) is not known to be from {tier.jurisdiction} "
        f"and its licence is unknown: {declared} ({licence.reason}){_also(layers)}",
        item=f"{label} ({_origin_text(origin)}; {licence.licence or 'no licence'})",
        noun=(
            "component with an unknown licence",
            "components with unknown licences",
        ),
        evidence=(*_licence_evidence(component, source), *_origin_evidence(origin, None)),
        remediation=licence_remedy(
            (owner := tier.facts.owner.get(component.ref, component)),
            subject=owner.ref in tier.result.subjects,
            on_load=_on_load(tier, component),
        ),
    )


def _check_registry(tier: _Tier) -> _Checked:
    """registry: TRU001 not listed, TRU002 hash mismatch, TRU003 cannot be checked, TRU004 no
    registry."""
    out = _Checked()
    registry = tier.registry
    if registry is None:
        out.hits.append(
            _Hit(
                rule="TRU004",
                ref=tier.anchor(),
                message="No trusted registry was given: the tier cannot check that the "
                "components are approved",
                reason="UNKNOWN: no --trusted-registry: cannot check that the components are "
                "approved",
                remediation="Pass --trusted-registry FILE listing the approved components "
                "(purl or ref, with their SHA-256)",
            )
        )
        return out
    rules = {
        MatchStatus.NOT_REGISTERED: ("TRU001", "is not on the trusted registry"),
        MatchStatus.HASH_MISMATCH: ("TRU002", "does not match the trusted registry"),
        MatchStatus.UNVERIFIABLE: ("TRU003", "cannot be checked against the trusted registry"),
    }
    nouns = {
        "TRU001": ("component not on the trusted registry", "components not on the registry"),
        "TRU002": ("component whose SHA-256 differs", "components whose SHA-256 differs"),
        "TRU003": ("component that cannot be checked", "components that cannot be checked"),
    }
    for component, layers in tier.counted:
        match = registry.match(component)
        if match.status is MatchStatus.REGISTERED:
            continue
        rule, verb = rules[match.status]
        label = _label(component)
        entry = match.entry
        evidence = (
            [
                Evidence(
                    location=registry.source,
                    field=f"entry {entry.position}",
                    value=entry.purl or entry.ref or entry.sha256 or "",
                    method="trusted-registry",
                )
            ]
            if entry is not None
            else []
        )
        out.hits.append(
            _Hit(
                rule=rule,
                ref=component.ref,
                layer=layers[0],
                message=f"{label} {verb}: {match.detail}{_also(layers)}",
                item=f"{label} ({match.detail})",
                noun=nouns[rule],
                evidence=tuple(evidence),
                remediation=match.remedy,
            )
        )
    if not out.hits:
        out.passes.append(
            f"PASS: all {_count(len(tier.counted), 'counted component')} are on the registry "
            f"{registry.source}, with matching SHA-256 where one is pinned"
        )
    return out


def _check_deny(tier: _Tier) -> _Checked:
    """deny-list: ADV001 denied origin or hint; SOV002 unknown origin; ADV002 no list; community
    passes."""
    out = _Checked()
    if tier.deny is None:
        out.hits.append(
            _Hit(
                rule="ADV002",
                ref=tier.anchor(),
                message=f"sovscan ships no deny list for {tier.jurisdiction} and none was "
                "given: the screen has nothing to screen against",
                reason=f"UNKNOWN: no deny list for {tier.jurisdiction}: give one with "
                f"{_deny_flag(tier.profile)}",
                remediation=f"Name the countries {tier.jurisdiction} screens out with "
                f"{_deny_flag(tier.profile)}",
            )
        )
        return out
    deny = set(tier.deny.countries)
    listed = f"the {tier.deny.id} list"
    community = 0
    for component, layers in tier.counted:
        origin = tier.facts.origins[component.ref]
        country = origin.country.upper() if origin and origin.country else None
        hint = next(
            (h for h in component.origin_hints if h.country and h.country.upper() in deny), None
        )
        label = _label(component)
        remedy = (
            f"Replace {remedy_label(component)} with a component from outside {listed}, or "
            "correct its "
            "origin with an --origins entry if the attribution is wrong"
        )
        if country in deny:
            out.hits.append(
                _origin_hit(
                    "ADV001",
                    component,
                    layers,
                    origin,
                    f"{label} ({_origin_text(origin)}) comes from {country}, on {listed}"
                    f"{_also(layers)}",
                    ("component from a denied country", "components from denied countries"),
                    remedy,
                )
            )
        elif hint is not None:
            out.hits.append(
                _Hit(
                    rule="ADV001",
                    ref=component.ref,
                    layer=layers[0],
                    message=f"{label} carries a signal of {_origin_text(hint)} in its lineage, "
                    f"a country on {listed}{_hint_source(hint)}{_also(layers)}",
                    item=f"{label} (lineage signal: {_origin_text(hint)})",
                    noun=("component from a denied country", "components from denied countries"),
                    evidence=hint.evidence,
                    remediation=remedy,
                )
            )
        elif origin is not None and country is None and origin.steward is StewardKind.COMMUNITY:
            community += 1
        elif origin is None or country is None or origin.confidence is Confidence.LOW:
            out.hits.append(_unknown_origin_hit(tier, component, layers, origin))
    if not out.hits:
        out.passes.append(
            f"PASS: none of the {_count(len(tier.counted), 'counted component')} comes from a "
            f"country on {listed}"
            + (
                f" ({_count(community, 'community project')} attributed to no state)"
                if community
                else ""
            )
        )
    return out


def _deny_flag(profile: Profile) -> str:
    """Where a deny list is given: --deny for the built-in screen, else the profile's key."""
    if profile.source.startswith("builtin:"):
        return "--deny XX,YY"
    return f"the 'deny' key of {profile.source}"


def _check_attestations(tier: _Tier) -> _Checked:
    """ATT001 claim missing, ATT002 claim differs from what the profile requires."""
    out = _Checked()
    if tier.profile.attestations and _projects_only(tier):
        out.passes.append(
            "PASS: no model was scanned (only projects' Python dependencies): the profile's "
            "attestations about a model's development do not apply"
        )
        return out
    attestation = tier.attestation
    for requirement in tier.profile.attestations:
        expected = requirement.expected(tier.jurisdiction)
        claim = attestation.value(requirement.claim) if attestation is not None else None
        if attestation is None or claim is None:
            missing = "" if attestation is not None else " (no --attestation file)"
            out.hits += [
                _Hit(
                    rule="ATT001",
                    ref=subject,
                    message=f"no attestation for {requirement.claim}{missing}; the profile "
                    "requires " + (f"{expected!r}" if expected else "the claim"),
                    reason=f"UNKNOWN: no attestation for {requirement.claim}{missing}",
                    key=requirement.claim,
                    remediation=attestation_remedy(requirement.claim, expected),
                )
                for subject in tier.subjects()
            ]
            continue
        evidence = Evidence(
            location=attestation.source,
            field=claim.claim,
            value=claim.value,
            method="attestation",
        )
        attested = f"{claim.claim} is {claim.value!r} (attested by {claim.attested_by})"
        if expected is not None and claim.value.casefold() != expected.casefold():
            out.hits += [
                _Hit(
                    rule="ATT002",
                    ref=subject,
                    message=f"attestation {attested}; the profile requires {expected!r}",
                    reason=f"FAIL: attestation {attested}; the profile requires {expected!r}",
                    evidence=(evidence,),
                    key=requirement.claim,
                    remediation=f"If {attestation.source} states {claim.claim} wrongly, correct "
                    f"it; otherwise the model does not meet this tier ({expected!r} required)",
                )
                for subject in tier.subjects()
            ]
        else:
            out.passes.append(f"PASS: attested {attested}")
    return out


_CHECKS = {
    RuleKind.DOMESTIC_ONLY: _check_domestic,
    RuleKind.OPEN_LICENCE_FOR_FOREIGN: _check_open_licence,
    RuleKind.REGISTRY: _check_registry,
    RuleKind.DENY_LIST: _check_deny,
}


# --- wording and evidence ----------------------------------------------------------------------


def _origin_hit(
    rule: str,
    component: Component,
    layers: tuple[Layer, ...],
    origin: Origin | None,
    message: str,
    noun: tuple[str, str],
    remediation: str,
) -> _Hit:
    return _Hit(
        rule=rule,
        ref=component.ref,
        layer=layers[0],
        message=message,
        item=f"{_label(component)} ({_origin_text(origin)})",
        noun=noun,
        evidence=_origin_evidence(origin, None) or component.evidence,
        remediation=remediation,
    )


def _hint_hit(
    rule: str, component: Component, layers: tuple[Layer, ...], hint: Origin, jurisdiction: str
) -> _Hit:
    label = _label(component)
    return _Hit(
        rule=rule,
        ref=component.ref,
        layer=layers[0],
        message=f"{label} carries a signal of a foreign lineage: {_origin_text(hint)}, not "
        f"{jurisdiction}{_hint_source(hint)}{_also(layers)}",
        item=f"{label} (lineage signal: {_origin_text(hint)})",
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


def _hint_source(hint: Origin) -> str:
    shown = "; ".join(f"{e.field} {e.value!r}" for e in hint.evidence[:2])
    return f" (from {shown})" if shown else f" ({hint.basis.value})"


def _licence_of(
    tier: _Tier, component: Component
) -> tuple[LicenceClassification, Component | None]:
    licences, source = tier.facts.licences[component.ref]
    return classify_licences(licences), source


def _licence_evidence(component: Component, source: Component | None) -> tuple[Evidence, ...]:
    holder = source or component
    return tuple(e for e in holder.evidence if "licen" in e.field.lower())


def _origin_evidence(origin: Origin | None, hint: Origin | None) -> tuple[Evidence, ...]:
    return (*(origin.evidence if origin else ()), *(hint.evidence if hint else ()))


def _origin_text(origin: Origin | None) -> str:
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


def _projects_only(tier: _Tier) -> bool:
    """Whether every subject is a project folder without a model (kind APPLICATION)."""
    subjects = [c for c in tier.result.components if c.ref in tier.result.subjects]
    return bool(subjects) and all(c.kind is ComponentKind.APPLICATION for c in subjects)


def _label(component: Component) -> str:
    if component.kind is ComponentKind.TOKENIZER:
        return component.name
    if (EMBEDDED_CODE_PROPERTY, "true") in component.properties:
        return component.name
    if component.kind is ComponentKind.LIBRARY and not component.ref.startswith("pkg:"):
        return f"{component.name}@{component.version}" if component.version else component.name
    if component.ref.startswith("pkg:"):
        return f"{component.group}/{component.name}" if component.group else component.name
    return component.ref.partition(":")[2] or component.ref


def _role(tier: _Tier, component: Component, layer: Layer) -> str:
    if component.ref in tier.result.subjects:
        return (
            "the scanned project"
            if component.kind is ComponentKind.APPLICATION
            else "the scanned model"
        )
    return (
        "an ancestor in the weights lineage" if layer is Layer.WEIGHTS else f"a {layer} component"
    )


def _also(layers: tuple[Layer, ...]) -> str:
    if len(layers) == 1:
        return f" (layer {layers[0].value})"
    return f" (layers {', '.join(layer.value for layer in layers)})"


def _layer_names(tier: _Tier) -> str:
    return ", ".join(layer.value for layer in tier.profile.layers)


def _clip(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _count(number: int, singular: str) -> str:
    return f"{number} {singular}" if number == 1 else f"{number} {singular}s"
