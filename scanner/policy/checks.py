"""The policy's rules, each run over one tier: which components hit which rule, and why.

Each ``check_*`` returns the hits of its rules and the reasons the tier passes them; the table
``CHECKS`` says which rule kind runs which check. Every tier also runs ``check_dangerous_code``,
``check_completeness`` and ``check_attestations``.
"""

from __future__ import annotations

from scanner.core.detection import detection_confidence
from scanner.core.model import (
    Component,
    Confidence,
    Evidence,
    Finding,
    Layer,
    Origin,
    Severity,
    StewardKind,
)
from scanner.core.properties import PropertyName
from scanner.policy.licenses import LicenseClass, LicenseClassification
from scanner.policy.profile import Profile, RuleKind
from scanner.policy.remedies import (
    OnLoad,
    accept_hint,
    attestation_remedy,
    foreign_remedy,
    issue_remedy,
    license_remedy,
    origin_remedy,
    unresolved_remedy,
)
from scanner.policy.remedies import label as remedy_label
from scanner.policy.rules import DANGEROUS_CODE_RULE, ON_LOAD_RULES, is_dangerous
from scanner.policy.tier import (
    Checked,
    Hit,
    Standing,
    Tier,
    also,
    clip,
    count,
    foreign_hint,
    hint_hit,
    hint_source,
    label_of,
    layer_names,
    license_evidence,
    license_of,
    origin_evidence,
    origin_hit,
    origin_text,
    projects_only,
    role_of,
    standing_of,
)

_BLOCKING_ISSUES = frozenset({Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM})


def check_dangerous_code(tier: Tier) -> Checked:
    """SEC100: a file whose loading runs a dangerous callable or embedded code (a HIGH
    load-analysis finding) fails every tier, unless every such finding is accepted."""
    out = Checked()
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
            Hit(
                rule=DANGEROUS_CODE_RULE,
                ref=ref,
                message=f"{where}: loading it runs dangerous code: {what}",
                item=f"{where} ({clip(what, 120)})",
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


def check_completeness(tier: Tier) -> Checked:
    """GEN001: scan issues of medium severity or worse, and unresolved counted ancestors."""
    out = Checked()
    for issue in tier.result.issues:
        if issue.severity in _BLOCKING_ISSUES:
            text = f"{issue.location}: {issue.problem}"
            out.hits.append(
                Hit(
                    rule="GEN001",
                    ref=tier.anchor(),
                    message=f"The scan is incomplete ({issue.severity.value}): {text}",
                    item=clip(text),
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
        if component.unresolved:
            label = label_of(component)
            out.hits.append(
                Hit(
                    rule="GEN001",
                    ref=component.ref,
                    layer=layers[0],
                    message=f"{label} could not be resolved to a known repository; "
                    f"what it contains is unknown{also(layers)}",
                    item=label,
                    noun=("unresolved ancestor", "unresolved ancestors"),
                    evidence=component.evidence,
                    remediation=unresolved_remedy(label),
                )
            )
    return out


def check_domestic(tier: Tier) -> Checked:
    """domestic-only: SOV001 foreign, SOV005/SOV006 foreign and found only by a fingerprint
    (certain, or not), SOV004 community, SOV003 foreign hint, SOV002 unknown."""
    out = Checked()
    jurisdiction = tier.jurisdiction
    for component, layers in tier.counted:
        origin = tier.facts.origins[component.ref]
        standing = standing_of(origin, jurisdiction)
        label, where = label_of(component), also(layers)
        described = f"{label} ({origin_text(origin)})"
        hint = foreign_hint(component, jurisdiction)
        detected = detection_confidence(component.evidence)
        if standing is Standing.FOREIGN and detected is not None:
            certain = detected == "high"
            out.hits.append(
                origin_hit(
                    "SOV005" if certain else "SOV006",
                    component,
                    layers,
                    origin,
                    f"{described} is in the model although no file declares it: "
                    f"{_detection_text(component)}{where}",
                    (
                        "foreign component found by fingerprint",
                        "foreign components found by fingerprint",
                    )
                    if certain
                    else ("possible foreign component", "possible foreign components"),
                    foreign_remedy(component, jurisdiction),
                )
            )
        elif standing is Standing.FOREIGN:
            role = role_of(tier, component, layers[0])
            out.hits.append(
                origin_hit(
                    "SOV001",
                    component,
                    layers,
                    origin,
                    f"{described}, {role}, is foreign: not from {jurisdiction}{where}",
                    ("foreign component", "foreign components"),
                    foreign_remedy(component, jurisdiction),
                )
            )
        elif standing is Standing.COMMUNITY:
            out.hits.append(
                origin_hit(
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
            out.hits.append(hint_hit("SOV003", component, layers, hint, jurisdiction))
        elif standing is Standing.UNKNOWN:
            out.hits.append(_unknown_origin_hit(tier, component, layers, origin))
    if not out.hits:
        out.passes.append(
            f"PASS: all {count(len(tier.counted), 'counted component')} "
            f"({layer_names(tier)}) are of {jurisdiction} origin"
        )
    return out


def _detection_text(component: Component) -> str:
    return "; ".join(dict.fromkeys(e.value for e in component.evidence))


def _unknown_origin_hit(
    tier: Tier, component: Component, layers: tuple[Layer, ...], origin: Origin | None
) -> Hit:
    """SOV002, worded alike by every tier so that it is reported once."""
    return origin_hit(
        "SOV002",
        component,
        layers,
        origin,
        f"Origin of {label_of(component)} ({origin_text(origin)}) is not established{also(layers)}",
        ("component of unknown origin", "components of unknown origin"),
        origin_remedy(
            (owner := tier.facts.owner.get(component.ref, component)),
            subject=owner.ref in tier.result.subjects,
            on_load=_on_load(tier, component),
        ),
    )


def _on_load(tier: Tier, component: Component) -> OnLoad | None:
    """For code a file runs on load: the file and the rules a waiver would accept."""
    if (PropertyName.SECURITY_EMBEDDED_CODE, "true") not in component.properties:
        return None
    file = tier.facts.container.get(component.ref)
    rules = sorted(
        {
            finding.rule_id
            for finding in (tier.facts.findings.get(file.ref, ()) if file is not None else ())
            if not finding.tiers and finding.rule_id in ON_LOAD_RULES
        }
    )
    return file, tuple(rules) or (DANGEROUS_CODE_RULE,)


def check_open_license(tier: Tier) -> Checked:
    """open-licence-for-foreign: NAT001 restrictive, NAT002 unknown licence, SOV002."""
    out = Checked()
    jurisdiction = tier.jurisdiction
    domestic = open_ = 0
    for component, layers in tier.counted:
        origin = tier.facts.origins[component.ref]
        standing = standing_of(origin, jurisdiction)
        license, source = license_of(tier, component)
        hint = foreign_hint(component, jurisdiction)
        restrictive = license.license_class is LicenseClass.RESTRICTIVE
        if standing is Standing.DOMESTIC and not (hint is not None and restrictive):
            domestic += 1
        elif license.license_class is LicenseClass.OPEN:
            open_ += 1
        elif restrictive and (standing is not Standing.UNKNOWN or hint is not None):
            out.hits.append(_restrictive_hit(tier, component, layers, license, source, hint))
        elif restrictive:
            out.hits.append(_unknown_origin_hit(tier, component, layers, origin))
        else:
            out.hits.append(_unknown_license_hit(tier, component, layers, license, source))
    if not out.hits:
        out.passes.append(
            f"PASS: {count(domestic, 'domestic component')} and "
            f"{count(open_, 'openly licensed non-domestic component')} in the counted layers "
            f"({layer_names(tier)}); no restrictive foreign licence"
        )
    return out


def _restrictive_hit(
    tier: Tier,
    component: Component,
    layers: tuple[Layer, ...],
    license: LicenseClassification,
    source: Component | None,
    hint: Origin | None,
) -> Hit:
    origin = tier.facts.origins[component.ref]
    standing = standing_of(origin, tier.jurisdiction)
    label = label_of(component)
    taken = f" (taken from {label_of(source)})" if source is not None else ""
    if standing in (Standing.FOREIGN, Standing.COMMUNITY):
        whose = origin_text(origin)
    else:
        whose = f"licence controlled by {origin_text(hint)}"
    return Hit(
        rule="NAT001",
        ref=component.ref,
        layer=layers[0],
        message=f"{label} ({whose}) is under {license.license!r}{taken}, a restrictive "
        f"licence: {license.reason}{also(layers)}",
        item=f"{label} ({whose}; {license.license})",
        noun=(
            "component under a restrictive foreign licence",
            "components under restrictive foreign licences",
        ),
        evidence=(*license_evidence(component, source), *origin_evidence(origin, hint)),
        remediation=f"Replace {remedy_label(component)} with a component from "
        f"{tier.jurisdiction} or "
        f"one under an open licence; {license.license!r} does not allow free modification and "
        "commercial use",
    )


def _unknown_license_hit(
    tier: Tier,
    component: Component,
    layers: tuple[Layer, ...],
    license: LicenseClassification,
    source: Component | None,
) -> Hit:
    origin = tier.facts.origins[component.ref]
    label = label_of(component)
    declared = repr(license.license) if license.license else "no licence"
    return Hit(
        rule="NAT002",
        ref=component.ref,
        layer=layers[0],
        message=f"{label} ({origin_text(origin)}) is not known to be from {tier.jurisdiction} "
        f"and its licence is unknown: {declared} ({license.reason}){also(layers)}",
        item=f"{label} ({origin_text(origin)}; {license.license or 'no licence'})",
        noun=(
            "component with an unknown licence",
            "components with unknown licences",
        ),
        evidence=(*license_evidence(component, source), *origin_evidence(origin, None)),
        remediation=license_remedy(
            (owner := tier.facts.owner.get(component.ref, component)),
            subject=owner.ref in tier.result.subjects,
            on_load=_on_load(tier, component),
        ),
    )


def check_registry(tier: Tier) -> Checked:
    """registry: TRU001 not listed, TRU002 hash mismatch, TRU003 cannot be checked, TRU004 no
    registry."""
    out = Checked()
    registry = tier.registry
    if registry is None:
        out.hits.append(
            Hit(
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
    from scanner.policy.registry import MatchStatus

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
        label = label_of(component)
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
            Hit(
                rule=rule,
                ref=component.ref,
                layer=layers[0],
                message=f"{label} {verb}: {match.detail}{also(layers)}",
                item=f"{label} ({match.detail})",
                noun=nouns[rule],
                evidence=tuple(evidence),
                remediation=match.remedy,
            )
        )
    if not out.hits:
        out.passes.append(
            f"PASS: all {count(len(tier.counted), 'counted component')} are on the registry "
            f"{registry.source}, with matching SHA-256 where one is pinned"
        )
    return out


def check_deny(tier: Tier) -> Checked:
    """deny-list: ADV001 denied origin or hint; SOV002 unknown origin; ADV002 no list; community
    passes."""
    out = Checked()
    if tier.deny is None:
        out.hits.append(
            Hit(
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
        label = label_of(component)
        remedy = (
            f"Replace {remedy_label(component)} with a component from outside {listed}, or "
            "correct its "
            "origin with an --origins entry if the attribution is wrong"
        )
        if country in deny:
            out.hits.append(
                origin_hit(
                    "ADV001",
                    component,
                    layers,
                    origin,
                    f"{label} ({origin_text(origin)}) comes from {country}, on {listed}"
                    f"{also(layers)}",
                    ("component from a denied country", "components from denied countries"),
                    remedy,
                )
            )
        elif hint is not None:
            out.hits.append(
                Hit(
                    rule="ADV001",
                    ref=component.ref,
                    layer=layers[0],
                    message=f"{label} carries a signal of {origin_text(hint)} in its lineage, "
                    f"a country on {listed}{hint_source(hint)}{also(layers)}",
                    item=f"{label} (lineage signal: {origin_text(hint)})",
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
            f"PASS: none of the {count(len(tier.counted), 'counted component')} comes from a "
            f"country on {listed}"
            + (
                f" ({count(community, 'community project')} attributed to no state)"
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


def check_attestations(tier: Tier) -> Checked:
    """ATT001 claim missing, ATT002 claim differs from what the profile requires."""
    out = Checked()
    if tier.profile.attestations and projects_only(tier):
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
                Hit(
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
                Hit(
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


CHECKS = {
    RuleKind.DOMESTIC_ONLY: check_domestic,
    RuleKind.OPEN_LICENSE_FOR_FOREIGN: check_open_license,
    RuleKind.REGISTRY: check_registry,
    RuleKind.DENY_LIST: check_deny,
}
