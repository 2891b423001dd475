"""The policy and its verdicts as CycloneDX definitions.standards + declarations (1.6, 1.7)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime
from functools import cache
from typing import Any

import pytest
from cyclonedx.schema import OutputFormat, SchemaVersion
from cyclonedx.validation import make_schemabased_validator
from hypothesis import given, settings
from hypothesis import strategies as st

import scanner
from scanner.core.errors import InvalidOutputError
from scanner.core.model import Evidence, Finding, Severity, TierVerdict, Verdict
from scanner.core.properties import PropertyName
from scanner.sbom.cyclonedx import BomOptions, render_cyclonedx
from scanner.sbom.declarations import build_compliance
from tests.unit.sbom.assessed import (
    BASE,
    INSTRUCT,
    RULES,
    SHAREGPT,
    SUBJECT,
    TOKENIZER,
    assessed_result,
)

WHEN = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
FIXED = BomOptions(timestamp=WHEN)
CREATED = "2024-05-01T12:00:00+00:00"


@cache
def rendered(fmt: str = "json", spec_version: str = "1.6") -> str:
    options = replace(FIXED, spec_version=spec_version)
    return render_cyclonedx(assessed_result(), fmt, options, RULES)  # type: ignore[arg-type]


def bom(spec_version: str = "1.6") -> dict[str, Any]:
    return json.loads(rendered("json", spec_version))


def claim_of(doc: dict[str, Any], rule: str, target: str) -> dict[str, Any]:
    (found,) = [
        c
        for c in doc["declarations"]["claims"]
        if c["target"] == target and c["reasoning"].startswith(f"rule {rule} ")
    ]
    return found


def attestation(doc: dict[str, Any], tier: str) -> dict[str, Any]:
    (found,) = [a for a in doc["declarations"]["attestations"] if a["summary"].startswith(tier)]
    return found


# --- content -------------------------------------------------------------------------------


def test_one_standard_per_tier_with_the_rules_it_applied() -> None:
    standards = bom()["definitions"]["standards"]
    assert [s["bom-ref"] for s in standards] == [
        "standard:sovereign",
        "standard:national",
        "standard:trusted",
        "standard:adversary",
    ]
    sovereign = standards[0]
    assert sovereign["name"] == "sovscan sovereign policy (RU)"
    assert sovereign["version"] == scanner.__version__
    assert sovereign["owner"] == "sovscan"
    assert "jurisdiction RU" in sovereign["description"]
    requirements = sovereign["requirements"]
    assert [(r["bom-ref"], r["identifier"]) for r in requirements] == [
        ("requirement:sovereign", "sovereign"),
        ("requirement:sovereign:SOV001", "SOV001"),
        ("requirement:sovereign:SOV002", "SOV002"),
    ]
    assert requirements[1] == {
        "bom-ref": "requirement:sovereign:SOV001",
        "identifier": "SOV001",
        "title": "foreign-component",
        "text": RULES["SOV001"].description,
        "parent": "requirement:sovereign",
    }
    # A tier without findings has only its requirement as a whole.
    assert [r["identifier"] for r in standards[3]["requirements"]] == ["adversary"]


def test_the_assessor_is_sovscan_itself() -> None:
    assert bom()["declarations"]["assessors"] == [
        {"bom-ref": "assessor:sovscan", "thirdParty": False, "organization": {"name": "sovscan"}}
    ]


def test_one_claim_per_finding_with_its_evidence() -> None:
    doc = bom()
    claims = doc["declarations"]["claims"]
    assert len(claims) == len(assessed_result().findings)
    instruct = claim_of(doc, "SOV001", INSTRUCT)
    assert instruct["predicate"] == (
        "meta-llama/Meta-Llama-3-8B-Instruct comes from US (Meta Platforms, Inc.)"
    )
    assert instruct["reasoning"] == (
        "rule SOV001 (foreign-component), severity high, tiers sovereign, layer weights, "
        "what to do: Replace meta-llama/Meta-Llama-3-8B-Instruct with a component from RU"
    )
    # One claim for a finding that two tiers raise, a counter-claim in each tier's attestation.
    nat001 = claim_of(doc, "NAT001", INSTRUCT)
    assert "tiers national, trusted" in nat001["reasoning"]
    for tier in ("national", "trusted"):
        whole = attestation(doc, tier)["map"][0]
        assert nat001["bom-ref"] in whole["counterClaims"]
    evidence = {e["bom-ref"]: e for e in doc["declarations"]["evidence"]}
    first, second, third = (evidence[ref] for ref in instruct["evidence"])
    assert first == {
        "bom-ref": instruct["evidence"][0],
        "propertyName": "meta-llama",
        "description": "meta-llama read from origins.yaml (curated)",
        "data": [
            {
                "name": "origins.yaml",
                "contents": {"attachment": {"contentType": "text/plain", "content": "US"}},
            }
        ],
        "created": CREATED,
    }
    assert second["description"] == "base_model read from README.md:2 (model-card)"
    assert second["data"][0]["name"] == "README.md:2"
    assert third["propertyName"] == "base_model_name_or_path"
    assert claim_of(doc, "XYZ001", TOKENIZER)["reasoning"] == "rule XYZ001 (xyz001), severity low"
    assert "evidence" not in claim_of(doc, "TRU001", SUBJECT)


def test_attestations_score_each_tier_and_each_rule() -> None:
    doc = bom()
    sovereign = attestation(doc, "sovereign")
    assert sovereign["summary"] == "sovereign: FAIL"
    assert sovereign["assessor"] == "assessor:sovscan"
    whole, sov001, sov002 = sovereign["map"]
    fired = [
        claim_of(doc, "SOV001", BASE)["bom-ref"],
        claim_of(doc, "SOV001", INSTRUCT)["bom-ref"],
        claim_of(doc, "SOV002", SHAREGPT)["bom-ref"],
    ]
    assert whole == {
        "requirement": "requirement:sovereign",
        "counterClaims": sorted(fired),
        "conformance": {
            "score": 0,
            "rationale": "2 weights components come from US; "
            "UNKNOWN: dataset IlyaGusev/ru_sharegpt_cleaned has no known origin",
        },
        "confidence": {
            "score": 1,
            "rationale": "a violation was found; no missing evidence could undo it",
        },
    }
    assert sov001 == {
        "requirement": "requirement:sovereign:SOV001",
        "counterClaims": sorted(fired[:2]),
        "conformance": {"score": 0, "rationale": "2 finding(s) of SOV001"},
    }
    assert sov002["counterClaims"] == [fired[2]]


def test_unknown_is_no_conformance_with_no_confidence_and_pass_is_full() -> None:
    doc = bom()
    trusted, *rules = attestation(doc, "trusted")["map"]
    assert [entry["requirement"] for entry in rules] == [
        "requirement:trusted:NAT001",
        "requirement:trusted:TRU001",
    ]
    assert trusted["conformance"] == {
        "score": 0,
        "rationale": "no trusted registry was given (--trusted-registry)",
    }
    assert trusted["confidence"]["score"] == 0
    adversary = attestation(doc, "adversary")
    assert adversary["summary"] == "adversary: PASS"
    assert adversary["map"] == [
        {
            "requirement": "requirement:adversary",
            "conformance": {
                "score": 1,
                "rationale": "no component comes from CN, CU, IR, KP, RU or VE",
            },
            "confidence": {"score": 1, "rationale": "every fact the tier needs was found"},
        }
    ]


def test_tier_rules_add_the_rules_that_did_not_fire() -> None:
    tier_rules = {"adversary": ["ADV001"], "sovereign": ["SOV003", "SOV001"], "trusted": ["TRU002"]}
    compliance = build_compliance(
        assessed_result(), RULES, created=CREATED, tool_version="9", tier_rules=tier_rules
    )
    assert compliance is not None
    standards = {s["bom-ref"]: s for s in compliance.definitions["standards"]}
    assert [r["identifier"] for r in standards["standard:sovereign"]["requirements"]] == [
        "sovereign",
        "SOV001",
        "SOV002",
        "SOV003",
    ]
    adversary_rule = standards["standard:adversary"]["requirements"][1]
    assert adversary_rule["title"] == "adv001"  # not in the table: described generically
    maps = {
        entry["requirement"]: entry
        for a in compliance.declarations["attestations"]
        for entry in a["map"]
    }
    assert maps["requirement:adversary:ADV001"] == {
        "requirement": "requirement:adversary:ADV001",
        "conformance": {"score": 1, "rationale": "no finding of ADV001"},
        "confidence": {"score": 1, "rationale": "every fact the tier needs was found"},
    }
    # Under a FAIL, a rule without findings says nothing of how complete its evidence was.
    assert "confidence" not in maps["requirement:sovereign:SOV003"]
    assert maps["requirement:trusted:TRU002"]["confidence"]["score"] == 0
    assert standards["standard:sovereign"]["version"] == "9"


def test_nothing_to_declare_without_verdicts_or_findings() -> None:
    bare = replace(assessed_result(), verdicts=(), findings=())
    assert build_compliance(bare, RULES, created=CREATED, tool_version="1") is None
    doc = json.loads(render_cyclonedx(bare, "json", FIXED, RULES))
    assert "declarations" not in doc
    assert "definitions" not in doc


def test_findings_without_verdicts_are_claims_without_attestations() -> None:
    result = replace(assessed_result(), verdicts=())
    compliance = build_compliance(result, {}, created=CREATED, tool_version="1")
    assert compliance is not None
    assert "attestations" not in compliance.declarations
    assert len(compliance.declarations["claims"]) == 6
    assert compliance.definitions == {"standards": []}
    json.loads(render_cyclonedx(result, "json", FIXED))  # still valid


def test_bom_properties_carry_policy_jurisdiction_and_verdicts_in_every_version() -> None:
    for version in ("1.5", "1.6", "1.7"):
        props = [(p["name"], p["value"]) for p in bom(version)["metadata"]["properties"]]
        assert props == [
            (
                PropertyName.ISSUE,
                "[medium] examples/ru-chat-lora/tokenizer.json: not valid JSON: line 1 column 1",
            ),
            (PropertyName.JURISDICTION, "RU"),
            (PropertyName.POLICY, "sovereign"),
            ("sovscan:verdict:adversary", "PASS"),
            ("sovscan:verdict:national", "FAIL"),
            ("sovscan:verdict:sovereign", "FAIL"),
            ("sovscan:verdict:trusted", "UNKNOWN"),
        ]


def test_cyclonedx_1_5_has_no_declarations() -> None:
    doc = bom("1.5")
    assert "declarations" not in doc
    assert "definitions" not in doc
    assert "<declarations>" not in rendered("xml", "1.5")


# --- validity ------------------------------------------------------------------------------


@pytest.mark.parametrize("spec_version", ["1.5", "1.6", "1.7"])
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_every_version_and_format_validates(fmt: str, spec_version: str) -> None:
    text = rendered(fmt, spec_version)
    output_format = OutputFormat.JSON if fmt == "json" else OutputFormat.XML
    validator = make_schemabased_validator(output_format, SchemaVersion.from_version(spec_version))
    assert validator.validate_str(text) is None
    assert ("requirement:sovereign:SOV001" in text) is (spec_version != "1.5")


def test_the_schema_sees_the_declarations() -> None:
    """A wrong score or an unknown key in declarations fails: the parts are really validated."""
    from scanner.sbom.cdx_validation import json_schema_problems

    doc = bom()
    doc["declarations"]["attestations"][0]["map"][0]["conformance"]["score"] = 2
    doc["declarations"]["claims"][0]["verdict"] = "FAIL"
    problems = "\n".join(json_schema_problems(doc, "1.6", None))
    assert "2 is greater than the maximum of 1" in problems
    assert "'verdict' was unexpected" in problems


NS = "{http://cyclonedx.org/schema/bom/1.6}"


def test_xml_puts_declarations_then_definitions_last_in_schema_order() -> None:
    root = ET.fromstring(rendered("xml"))  # noqa: S314 - our own output
    assert [child.tag.removeprefix(NS) for child in root][-2:] == ["declarations", "definitions"]
    declarations = root.find(f"{NS}declarations")
    assert declarations is not None
    assert [child.tag.removeprefix(NS) for child in declarations] == [
        "assessors",
        "attestations",
        "claims",
        "evidence",
    ]
    standard = root.find(f"{NS}definitions/{NS}standards/{NS}standard")
    assert standard is not None
    assert standard.get("bom-ref") == "standard:sovereign"
    assert [child.tag.removeprefix(NS) for child in standard] == [
        "name",
        "version",
        "description",
        "owner",
        "requirements",
    ]
    first_map = declarations.find(f"{NS}attestations/{NS}attestation/{NS}map")
    assert first_map is not None
    assert [child.tag.removeprefix(NS) for child in first_map] == [
        "requirement",
        "counterClaims",
        "conformance",
        "confidence",
    ]
    assert first_map.findtext(f"{NS}conformance/{NS}score") == "0"


def test_xml_and_json_declare_the_same_things() -> None:
    root = ET.fromstring(rendered("xml"))  # noqa: S314 - our own output
    doc = bom()
    xml_claims = [
        (c.get("bom-ref"), c.findtext(f"{NS}target"), c.findtext(f"{NS}predicate"))
        for c in root.iterfind(f"{NS}declarations/{NS}claims/{NS}claim")
    ]
    assert xml_claims == [
        (c["bom-ref"], c["target"], c["predicate"]) for c in doc["declarations"]["claims"]
    ]
    xml_summaries = [
        a.findtext(f"{NS}summary")
        for a in root.iterfind(f"{NS}declarations/{NS}attestations/{NS}attestation")
    ]
    assert xml_summaries == [a["summary"] for a in doc["declarations"]["attestations"]]


def test_reproducible_output_is_byte_identical() -> None:
    for fmt in ("json", "xml"):
        assert render_cyclonedx(assessed_result(), fmt, FIXED, RULES) == rendered(fmt)


def test_declarations_do_not_depend_on_the_order_of_findings() -> None:
    result = assessed_result()
    again = replace(result, findings=tuple(reversed(result.findings)))
    doc = json.loads(render_cyclonedx(again, "json", FIXED, RULES))
    assert doc["declarations"] == bom()["declarations"]
    assert doc["definitions"] == bom()["definitions"]


# --- refs that must resolve ----------------------------------------------------------------


def test_a_finding_about_an_unknown_component_is_refused() -> None:
    result = assessed_result()
    stray = Finding(
        rule_id="SOV001", severity=Severity.HIGH, component_ref="pkg:ghost/x", message="m"
    )
    for fmt in ("json", "xml"):
        with pytest.raises(InvalidOutputError) as caught:
            render_cyclonedx(replace(result, findings=(stray,)), fmt, FIXED, RULES)
        assert "claim 'claim:0' names 'pkg:ghost/x', which is no component" in (
            caught.value.problems
        )


def test_hostile_text_in_findings_and_verdicts_still_validates() -> None:
    result = assessed_result()
    hostile = replace(
        result.findings[0],
        message="\x00evil\x1b\ufffe <x/> & ]]>",
        evidence=(replace(result.findings[0].evidence[0], value="\x0b", field="\ud800"),),
        component_ref=INSTRUCT,
    )
    verdict = TierVerdict(tier="sovereign", verdict=Verdict.UNKNOWN, reasons=("a\x00b", ""))
    changed = replace(result, findings=(hostile,), verdicts=(verdict,))
    for fmt in ("json", "xml"):
        text = render_cyclonedx(changed, fmt, FIXED, RULES)
        assert "evil" in text
    doc = json.loads(render_cyclonedx(changed, "json", FIXED, RULES))
    assert doc["declarations"]["claims"][0]["predicate"] == "evil <x/> & ]]>"
    assert doc["declarations"]["attestations"][0]["map"][0]["conformance"]["rationale"] == "ab; "


_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=30)


@settings(max_examples=25, deadline=None)
@given(
    message=_TEXT,
    rule_id=_TEXT,
    tier=_TEXT,
    reason=_TEXT,
    evidence=st.tuples(_TEXT, _TEXT, _TEXT, st.none() | st.integers(-3, 10**9)),
    verdict=st.sampled_from(list(Verdict)),
)
def test_fuzzed_findings_and_verdicts_always_give_valid_documents(
    message: str,
    rule_id: str,
    tier: str,
    reason: str,
    evidence: tuple[str, str, str, int | None],
    verdict: Verdict,
) -> None:
    location, field, value, line = evidence
    finding = Finding(
        rule_id=rule_id,
        severity=Severity.HIGH,
        component_ref=INSTRUCT,
        message=message,
        evidence=(Evidence(location=location, field=field, value=value, method="m", line=line),),
        tiers=(tier,),
        key=message,
        remediation=reason,
    )
    result = replace(
        assessed_result(),
        findings=(finding,),
        verdicts=(TierVerdict(tier=tier, verdict=verdict, reasons=(reason,)),),
        policy=tier,
        jurisdiction=reason[:2] or None,
    )
    for fmt in ("json", "xml"):
        assert "claim:0" in render_cyclonedx(result, fmt, FIXED, RULES)
