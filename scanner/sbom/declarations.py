"""The policy and its result as CycloneDX 1.6+ ``definitions.standards`` and ``declarations``.

cyclonedx-python-lib 11.x cannot build ``declarations`` (and ``definitions`` must sit after it in
XML), so both are made here as JSON-shaped dicts and added after serialisation, like modelCard.

- ``definitions.standards``: one standard per evaluated tier, "sovscan <tier> policy (<J>)". Its
  requirements are one for the tier as a whole (bom-ref ``requirement:<tier>``, identifier the
  tier's name) and, as its children, one per rule the tier applies (``requirement:<tier>:<rule>``,
  identifier the rule id, title its name, text its description). Which rules a tier applies comes
  from ``tier_rules`` (the profiles) when given, else from the findings of that tier.
- ``declarations.assessors``: sovscan itself (``assessor:sovscan``, not a third party).
- ``declarations.claims``: one per finding (``claim:<n>``, findings in a stable sort): target =
  the component, predicate = the message, reasoning = rule, severity, tier and layer, evidence =
  its evidence entries.
- ``declarations.evidence``: one per evidence of a finding (``claim:<n>:evidence:<m>``):
  propertyName = the field, description = where and how it was read, data = the value read;
  created = the BOM timestamp (left out when the BOM has none).
- ``declarations.attestations``: one per tier ("<tier>: <VERDICT>", by sovscan), mapping the
  tier requirement (counter-claims: every finding of the tier; rationale: the verdict's reasons)
  and each rule requirement (counter-claims: that rule's findings).

Scores (``conformance`` is how far the requirement is met, ``confidence`` how sure that is):

========================  ===========  ==========
tier verdict              conformance  confidence
========================  ===========  ==========
PASS, NOT-APPLICABLE      1            1
FAIL                      0            1
UNKNOWN                   0            0
========================  ===========  ==========

UNKNOWN is not 0.5: the tool fails closed, so a reader that thresholds on conformance must never
count missing evidence as half a pass; confidence 0 is what tells it apart from FAIL. A rule with
findings scores 0 (no confidence given); a rule without findings scores 1, with the tier's
confidence (none under a FAIL, which says nothing of how complete that rule's evidence was).

Findings without a tier (or of a tier without a verdict) still become claims, mapped to no
requirement. A scan without verdicts and findings gets neither part, nor does CycloneDX 1.5.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scanner.core.model import Evidence, Finding, ScanResult, Severity, TierVerdict, Verdict
from scanner.sbom.cdx_model_card import xml_safe
from scanner.sbom.rendering import RuleDescription, describe_rule

#: Spec versions that have ``declarations`` and ``definitions``.
COMPLIANCE_SPEC_VERSIONS = frozenset({"1.6", "1.7"})
ASSESSOR_REF = "assessor:sovscan"
OWNER = "sovscan"

#: Tier verdict → (conformance score, confidence score); see the module docstring.
VERDICT_SCORES: dict[Verdict, tuple[int, int]] = {
    Verdict.PASS: (1, 1),
    Verdict.NOT_APPLICABLE: (1, 1),
    Verdict.FAIL: (0, 1),
    Verdict.UNKNOWN: (0, 0),
}
#: Why the tier's confidence is what it is.
CONFIDENCE_RATIONALES: dict[Verdict, str] = {
    Verdict.PASS: "every fact the tier needs was found",
    Verdict.NOT_APPLICABLE: "the tier does not apply to this scan",
    Verdict.FAIL: "a violation was found; no missing evidence could undo it",
    Verdict.UNKNOWN: "evidence is missing; the tier cannot pass without it",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Compliance:
    """The two top-level parts, in CycloneDX JSON shape."""

    declarations: dict[str, Any]
    definitions: dict[str, Any]

    def json_parts(self) -> dict[str, Any]:
        """The top-level keys to add to the JSON document, in order."""
        return {"declarations": self.declarations, "definitions": self.definitions}


def standard_ref(tier: str) -> str:
    """bom-ref of a tier's standard."""
    return f"standard:{tier}"


def requirement_ref(tier: str, rule_id: str | None = None) -> str:
    """bom-ref of a tier's requirement as a whole (no rule), or of one of its rules."""
    return f"requirement:{tier}" if rule_id is None else f"requirement:{tier}:{rule_id}"


def build_compliance(
    result: ScanResult,
    rules: Mapping[str, RuleDescription],
    *,
    created: str | None,
    tool_version: str,
    tier_rules: Mapping[str, Collection[str]] | None = None,
) -> Compliance | None:
    """The standards and declarations of ``result``; None when there is nothing to declare.

    ``created`` is the BOM timestamp (ISO 8601); ``tier_rules`` the rule ids each tier applies.
    """
    if not result.verdicts and not result.findings:
        return None
    findings = sorted(result.findings, key=_finding_key)
    width = len(str(max(len(findings) - 1, 0)))
    numbered = [(f"claim:{number:0{width}d}", finding) for number, finding in enumerate(findings)]
    claims: list[dict[str, Any]] = []
    evidence: list[dict[str, Any]] = []
    for claim_ref, finding in numbered:
        entries = [
            _evidence_json(f"{claim_ref}:evidence:{index}", seen, created)
            for index, seen in enumerate(finding.evidence)
        ]
        evidence.extend(entries)
        claims.append(_claim_json(claim_ref, finding, rules, [e["bom-ref"] for e in entries]))
    standards = []
    attestations = []
    for verdict in result.verdicts:
        of_tier = [
            (ref, finding)
            for ref, finding in numbered
            if verdict.tier in finding.tiers and finding.accepted is None
        ]
        applied = sorted(
            {finding.rule_id for _, finding in of_tier}
            | set(verdict.rules)
            | set((tier_rules or {}).get(verdict.tier, ()))
        )
        standards.append(_standard_json(verdict, result.jurisdiction, applied, rules, tool_version))
        attestations.append(_attestation_json(verdict, applied, of_tier))
    declarations: dict[str, Any] = {
        "assessors": [
            {"bom-ref": ASSESSOR_REF, "thirdParty": False, "organization": {"name": OWNER}}
        ]
    }
    if attestations:
        declarations["attestations"] = attestations
    if claims:
        declarations["claims"] = claims
    if evidence:
        declarations["evidence"] = evidence
    # Tier names come from profile files, rule ids from the engine: everything is cleaned once,
    # here, so that refs and their targets stay equal after cleaning.
    return Compliance(
        declarations=_xml_safe_tree(declarations),
        definitions=_xml_safe_tree({"standards": standards}),
    )


def _xml_safe_tree(node: Any) -> Any:
    """``node`` (JSON-shaped) with every string made XML-safe."""
    if isinstance(node, str):
        return xml_safe(node)
    if isinstance(node, list):
        return [_xml_safe_tree(item) for item in node]
    if isinstance(node, dict):
        return {key: _xml_safe_tree(value) for key, value in node.items()}
    return node


def _finding_key(finding: Finding) -> tuple[str, ...]:
    return (
        ",".join(finding.tiers),
        finding.rule_id,
        finding.key,
        finding.component_ref,
        finding.message,
        repr(finding.evidence),
    )


def _claim_json(
    ref: str, finding: Finding, rules: Mapping[str, RuleDescription], evidence_refs: list[str]
) -> dict[str, Any]:
    rule = describe_rule(rules, finding.rule_id, finding.severity)
    context = [f"rule {finding.rule_id} ({rule.name})", f"severity {finding.severity}"]
    if finding.tiers:
        context.append(f"tiers {', '.join(finding.tiers)}")
    if finding.layer is not None:
        context.append(f"layer {finding.layer}")
    waiver = finding.accepted
    if waiver is not None:
        context.append(
            f"accepted by {waiver.accepted_by} until {waiver.expires} ({waiver.reason}; "
            f"{waiver.source} entry {waiver.entry})"
        )
    if finding.remediation:
        context.append(f"what to do: {finding.remediation}")
    claim: dict[str, Any] = {
        "bom-ref": ref,
        "target": finding.component_ref,
        "predicate": finding.message,
        "reasoning": ", ".join(context),
    }
    if evidence_refs:
        claim["evidence"] = evidence_refs
    return claim


def _evidence_json(ref: str, seen: Evidence, created: str | None) -> dict[str, Any]:
    where = seen.location if seen.line is None else f"{seen.location}:{seen.line}"
    return {
        "bom-ref": ref,
        "propertyName": seen.field,
        "description": f"{seen.field} read from {where} ({seen.method})",
        "data": [
            {
                "name": where,
                "contents": {"attachment": {"contentType": "text/plain", "content": seen.value}},
            }
        ],
        **({"created": created} if created else {}),
    }


def _standard_json(
    verdict: TierVerdict,
    jurisdiction: str | None,
    applied: Sequence[str],
    rules: Mapping[str, RuleDescription],
    tool_version: str,
) -> dict[str, Any]:
    tier = verdict.tier
    scope = f" ({jurisdiction})" if jurisdiction else ""
    whole = requirement_ref(tier)
    requirements: list[dict[str, Any]] = [
        {
            "bom-ref": whole,
            "identifier": tier,
            "title": f"{tier} tier",
            "text": f"Every component in the layers the {tier} tier counts satisfies its rules"
            f"{' for ' + jurisdiction if jurisdiction else ''}; missing evidence is UNKNOWN, "
            "never PASS.",
        }
    ]
    for rule_id in applied:
        rule = describe_rule(rules, rule_id, Severity.MEDIUM)
        requirements.append(
            {
                "bom-ref": requirement_ref(tier, rule_id),
                "identifier": rule_id,
                "title": rule.name,
                "text": rule.description,
                "parent": whole,
            }
        )
    return {
        "bom-ref": standard_ref(tier),
        "name": f"sovscan {tier} policy{scope}",
        "version": tool_version,
        "description": f"The {tier} tier of sovscan's provenance policy"
        f"{' for jurisdiction ' + jurisdiction if jurisdiction else ''}, "
        f"as evaluated by sovscan {tool_version}.",
        "owner": OWNER,
        "requirements": requirements,
    }


def _attestation_json(
    verdict: TierVerdict,
    applied: Sequence[str],
    of_tier: Sequence[tuple[str, Finding]],
) -> dict[str, Any]:
    conformance, confidence = VERDICT_SCORES[verdict.verdict]
    reasons = "; ".join(verdict.reasons)
    rationale = reasons or f"{verdict.verdict.value}: no reason given"
    whole: dict[str, Any] = {"requirement": requirement_ref(verdict.tier)}
    counter = [ref for ref, _ in of_tier]
    if counter:
        whole["counterClaims"] = counter
    whole["conformance"] = {"score": conformance, "rationale": rationale}
    whole["confidence"] = {
        "score": confidence,
        "rationale": CONFIDENCE_RATIONALES[verdict.verdict],
    }
    entries = [whole]
    for rule_id in applied:
        fired = [ref for ref, finding in of_tier if finding.rule_id == rule_id]
        entry: dict[str, Any] = {"requirement": requirement_ref(verdict.tier, rule_id)}
        if fired:
            entry["counterClaims"] = fired
            entry["conformance"] = {
                "score": 0,
                "rationale": f"{len(fired)} finding(s) of {rule_id}",
            }
        else:
            entry["conformance"] = {"score": 1, "rationale": f"no finding of {rule_id}"}
            if verdict.verdict is not Verdict.FAIL:
                # A FAIL says nothing about how complete the evidence for this rule was.
                entry["confidence"] = {
                    "score": confidence,
                    "rationale": CONFIDENCE_RATIONALES[verdict.verdict],
                }
        entries.append(entry)
    return {
        "summary": f"{verdict.tier}: {verdict.verdict.value}",
        "assessor": ASSESSOR_REF,
        "map": entries,
    }


# --- XML -----------------------------------------------------------------------------------


def compliance_xml(compliance: Compliance) -> list[ET.Element]:
    """``<declarations>`` and ``<definitions>`` (XSD order), unqualified like model_card's."""
    return [_declarations_xml(compliance.declarations), _definitions_xml(compliance.definitions)]


def _declarations_xml(declarations: Mapping[str, Any]) -> ET.Element:
    root = ET.Element("declarations")
    assessors = ET.SubElement(root, "assessors")
    for assessor in declarations["assessors"]:
        element = ET.SubElement(assessors, "assessor", {"bom-ref": assessor["bom-ref"]})
        ET.SubElement(element, "thirdParty").text = str(assessor["thirdParty"]).lower()
        organization = ET.SubElement(element, "organization")
        ET.SubElement(organization, "name").text = assessor["organization"]["name"]
    if declarations.get("attestations"):
        holder = ET.SubElement(root, "attestations")
        for attestation in declarations["attestations"]:
            holder.append(_attestation_xml(attestation))
    if declarations.get("claims"):
        holder = ET.SubElement(root, "claims")
        for claim in declarations["claims"]:
            holder.append(_claim_xml(claim))
    if declarations.get("evidence"):
        holder = ET.SubElement(root, "evidence")
        for entry in declarations["evidence"]:
            holder.append(_evidence_xml(entry))
    return root


def _attestation_xml(attestation: Mapping[str, Any]) -> ET.Element:
    element = ET.Element("attestation")
    ET.SubElement(element, "summary").text = attestation["summary"]
    ET.SubElement(element, "assessor").text = attestation["assessor"]
    for entry in attestation["map"]:
        mapped = ET.SubElement(element, "map")
        ET.SubElement(mapped, "requirement").text = entry["requirement"]
        for key, child in (("claims", "claim"), ("counterClaims", "counterClaim")):
            if entry.get(key):
                refs = ET.SubElement(mapped, key)
                for ref in entry[key]:
                    ET.SubElement(refs, child).text = ref
        for key in ("conformance", "confidence"):
            if key in entry:
                scored = ET.SubElement(mapped, key)
                ET.SubElement(scored, "score").text = str(entry[key]["score"])
                ET.SubElement(scored, "rationale").text = entry[key]["rationale"]
    return element


def _claim_xml(claim: Mapping[str, Any]) -> ET.Element:
    element = ET.Element("claim", {"bom-ref": claim["bom-ref"]})
    ET.SubElement(element, "target").text = claim["target"]
    ET.SubElement(element, "predicate").text = claim["predicate"]
    ET.SubElement(element, "reasoning").text = claim["reasoning"]
    for ref in claim.get("evidence", ()):
        ET.SubElement(element, "evidence").text = ref
    return element


def _evidence_xml(entry: Mapping[str, Any]) -> ET.Element:
    element = ET.Element("evidence", {"bom-ref": entry["bom-ref"]})
    ET.SubElement(element, "propertyName").text = entry["propertyName"]
    ET.SubElement(element, "description").text = entry["description"]
    for data in entry["data"]:
        holder = ET.SubElement(element, "data")
        ET.SubElement(holder, "name").text = data["name"]
        attachment = data["contents"]["attachment"]
        contents = ET.SubElement(holder, "contents")
        ET.SubElement(
            contents, "attachment", {"content-type": attachment["contentType"]}
        ).text = attachment["content"]
    if "created" in entry:
        ET.SubElement(element, "created").text = entry["created"]
    return element


def _definitions_xml(definitions: Mapping[str, Any]) -> ET.Element:
    root = ET.Element("definitions")
    standards = ET.SubElement(root, "standards")
    for standard in definitions["standards"]:
        element = ET.SubElement(standards, "standard", {"bom-ref": standard["bom-ref"]})
        # name, version, description and owner are required in XML (optional in JSON).
        for key in ("name", "version", "description", "owner"):
            ET.SubElement(element, key).text = standard[key]
        requirements = ET.SubElement(element, "requirements")
        for requirement in standard["requirements"]:
            item = ET.SubElement(requirements, "requirement", {"bom-ref": requirement["bom-ref"]})
            for key in ("identifier", "title", "text", "parent"):
                if key in requirement:
                    ET.SubElement(item, key).text = requirement[key]
    return root
