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
  waiver accepts (``PropertyName.ACCEPTED``) is not counted.
- Every finding that decides a verdict carries a remediation naming what to change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from scanner.core.detection import detection_confidence
from scanner.core.errors import UsageError
from scanner.core.model import Finding, Layer, ScanResult, TierVerdict, Verdict
from scanner.policy.checks import (
    CHECKS,
    check_attestations,
    check_completeness,
    check_dangerous_code,
)
from scanner.policy.deny_lists import DenyList, default_deny_list
from scanner.policy.layers import component_layers
from scanner.policy.profile import Profile, RuleKind, parse_country
from scanner.policy.rules import (
    DANGEROUS_CODE_RULE,
    POSSIBLE_ANCESTOR_RULE,
    RULES,
    applied_rules,
)
from scanner.policy.tier import Checked, Facts, Hit, Tier, clip, count, counted_components

if TYPE_CHECKING:
    from scanner.policy.attestation import Attestation
    from scanner.policy.registry import TrustedRegistry

#: Most components a reason lists by name; the rest are counted.
MAX_REASON_ITEMS = 5
#: Most evidence items copied onto one finding.
MAX_FINDING_EVIDENCE = 10

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
    facts = Facts.of(result)
    findings = _without_tiers(result.findings, set(names))
    verdicts = [verdict for verdict in result.verdicts if verdict.tier not in names]
    for profile in profiles:
        tier_jurisdiction = profile.jurisdiction_for(run_jurisdiction)
        tier = Tier(
            result=result,
            facts=facts,
            profile=profile,
            jurisdiction=tier_jurisdiction,
            counted=counted_components(result, layers, profile),
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


# --- the tier ----------------------------------------------------------------------------------


def _evaluate_tier(tier: Tier) -> tuple[list[Finding], TierVerdict]:
    profile = tier.profile
    if not profile.layers or not tier.counted:
        # Dangerous code fails a tier whatever it counts; otherwise nothing is proven.
        dangerous = sorted(check_dangerous_code(tier).hits, key=_hit_order)
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
    checked = Checked()
    checks = (
        check_dangerous_code,
        check_completeness,
        *(CHECKS[kind] for kind in profile.rules),
        check_attestations,
    )
    for check in checks:
        _merge(checked, check(tier))
    hits = sorted((_unless_doubtful(tier, hit) for hit in checked.hits), key=_hit_order)
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
            f"{count(len(accepted), 'finding')} accepted by --accept: "
            + "; ".join(dict.fromkeys(clip(hit.item or hit.message) for hit in accepted))
        )
    findings = [_finding(hit, profile.name) for hit in hits]
    basis = f"deny list {tier.deny.describe()}" if tier.deny is not None else ""
    return findings, _verdict(profile, verdict, reasons, basis)


def _merge(into: Checked, more: Checked) -> None:
    into.hits += more.hits
    into.passes += more.passes


def _unless_doubtful(tier: Tier, hit: Hit) -> Hit:
    """``hit``, or GEN002 (UNKNOWN) in its place when it would fail the tier on a component
    that only a medium-confidence fingerprint found: a doubtful ancestor decides nothing."""
    if RULES[hit.rule].outcome is not Verdict.FAIL:
        return hit
    component = tier.facts.by_ref.get(hit.ref)
    if component is None or detection_confidence(component.evidence) != "medium":
        return hit
    return replace(
        hit,
        rule=POSSIBLE_ANCESTOR_RULE,
        message=f"{hit.message} — if the model derives from it, which only a "
        f"medium-confidence fingerprint shows (rule {hit.rule})",
        noun=("possible ancestor", "possible ancestors"),
        key=f"{hit.rule}:{hit.key}",
        remediation="Establish whether the model derives from it (declare base_model if it "
        f"does); if it does: {hit.remediation}",
    )


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


def _finding(hit: Hit, tier: str) -> Finding:
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


def _hit_order(hit: Hit) -> tuple[bool, str, int, str]:
    # Dangerous code first; stable otherwise: hits of one rule on one component keep their
    # order (claims in profile order).
    rank = _LAYER_RANK[hit.layer] if hit.layer is not None else len(_LAYER_RANK)
    return hit.rule != DANGEROUS_CODE_RULE, hit.rule, rank, hit.ref


def _reasons(hits: list[Hit], outcome: Verdict) -> list[str]:
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
