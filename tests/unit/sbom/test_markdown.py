"""The Markdown report: golden file, escaping of scanned text, caps.

``golden/report.md`` is rewritten with UPDATE_GOLDEN=1 (see golden_files.py).
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.core.model import (
    Acceptance,
    Component,
    ComponentKind,
    Finding,
    Relation,
    RelationKind,
    ScanResult,
    Severity,
    TierVerdict,
    Verdict,
)
from scanner.sbom.markdown import MAX_FILES_SHOWN, MAX_FINDINGS_SHOWN, md, render_markdown
from scanner.sbom.rendering import RenderOptions
from tests.unit.sbom.assessed import (
    INSTRUCT,
    README,
    RULES,
    SUBJECT,
    WEIGHTS,
    assessed_result,
)
from tests.unit.sbom.golden_files import assert_golden

WITH_RULES = RenderOptions(rules=RULES)


def report(result: ScanResult | None = None) -> str:
    return render_markdown(result or assessed_result(), WITH_RULES)


def section(text: str, title: str) -> str:
    """The body of ``## title`` up to the next ``## ``."""
    head = f"## {title}\n"
    start = text.index(head) + len(head)
    end = text.find("\n## ", start)
    return text[start : end if end != -1 else len(text)]


def test_golden_report() -> None:
    assert_golden("report.md", report())


def test_verdict_table_marks_the_chosen_tier_and_lists_every_reason() -> None:
    verdicts = section(report(), "Verdicts")
    assert (
        "| sovereign (chosen) | **FAIL** | 2 weights components come from US<br>"
        "UNKNOWN: dataset IlyaGusev/ru\\_sharegpt\\_cleaned has no known origin |"
    ) in verdicts
    assert "| adversary | PASS | no component comes from CN, CU, IR, KP, RU or VE |" in verdicts
    assert "| trusted | **UNKNOWN** |" in verdicts


def test_lineage_names_each_node_organization_and_country() -> None:
    lineage = section(report(), "ru-chat-lora")
    assert (
        "  - adapter → meta-llama/Meta-Llama-3-8B-Instruct — "
        "Meta Platforms, Inc. (US), curated, high"
    ) in lineage
    assert (
        "    - finetune → meta-llama/Meta-Llama-3-8B — Meta Platforms, Inc. (US), inherited, high"
    ) in lineage
    assert "  - hint: license llama3 → Meta Platforms, Inc. (US), medium" in lineage
    assert (
        "- tokenizer from meta-llama/Meta-Llama-3-8B-Instruct — Meta Platforms, Inc. (US)"
    ) in lineage
    assert "- dataset IlyaGusev/ru\\_sharegpt\\_cleaned — origin not attributed" in lineage
    assert "parent LF AI & Data Foundation" in lineage


def test_each_finding_is_listed_once_with_its_tiers_and_what_to_do() -> None:
    findings = section(report(), "Findings")
    order = [line for line in findings.splitlines() if line.startswith("### ")]
    assert order == ["### What to do (5)", "### File analysis: what loading a file would run (1)"]
    assert (
        "| FAIL: national, trusted | NAT001 restrictive-foreign-licence (high) "
        "| meta-llama/Meta-Llama-3-8B-Instruct "
        "| llama3 restricts use; Meta-Llama-3-8B-Instruct is foreign "
        "| Replace meta-llama/Meta-Llama-3-8B-Instruct with an openly licensed one "
        "| README.md:5 (license=llama3) |"
    ) in findings
    assert findings.count("NAT001") == 1
    # FAIL before UNKNOWN
    assert findings.index("FAIL: sovereign") < findings.index("UNKNOWN: sovereign")
    assert "| XYZ001 xyz001 (low) | ru-chat-lora tokenizer |" in findings


def test_accepted_findings_and_dangerous_code_are_shown_apart() -> None:
    result = assessed_result()
    waiver = Acceptance(
        source="waivers.yaml", entry=2, reason="reviewed", accepted_by="Ann", expires="2030-01-01"
    )
    dangerous = Finding(
        rule_id="SEC100",
        severity=Severity.CRITICAL,
        component_ref=WEIGHTS,
        message="adapter_model.bin: loading it runs dangerous code: posix.system",
        tiers=("sovereign", "national", "trusted", "adversary"),
        key="adapter_model.bin",
        remediation="Do not load adapter_model.bin",
    )
    accepted = replace(dangerous, component_ref=README, accepted=waiver, message="other file")
    text = report(replace(result, findings=(*result.findings, dangerous, accepted)))
    assert text.index("> **Dangerous code: 1 file(s)") < text.index("## Scanned models")
    assert "> - adapter\\_model.bin: loading it runs dangerous code" in text
    findings = section(text, "Findings")
    assert "| FAIL: every tier | SEC100 sec100 (critical) |" in findings
    assert findings.index("SEC100") < findings.index("NAT001")
    accepted_rows = findings[findings.index("### Accepted (1)") :]
    assert "| other file | Ann | reviewed | 2030-01-01 (waivers.yaml entry 2) |" in accepted_rows


def test_missing_evidence_lists_unknown_tiers_unattributed_components_and_issues() -> None:
    missing = section(report(), "Missing evidence")
    assert missing.startswith(
        "\n- **sovereign** (FAIL): dataset IlyaGusev/ru\\_sharegpt\\_cleaned has no known origin\n"
        "- **trusted** (UNKNOWN): no trusted registry was given (--trusted-registry)\n"
    )
    assert "- no known country of origin: dataset IlyaGusev/ru\\_turbo\\_saiga" in missing
    assert "vllm" not in missing  # a community: known to have no single country
    assert "meta-llama" not in missing
    assert (
        "- could not read [medium] examples/ru-chat-lora/tokenizer.json: "
        "not valid JSON: line 1 column 1"
    ) in missing


def test_unknown_tiers_without_reasons_still_show() -> None:
    result = replace(
        assessed_result(),
        verdicts=(
            TierVerdict(tier="custom", verdict=Verdict.UNKNOWN),
            TierVerdict(tier="other", verdict=Verdict.FAIL, reasons=("FAIL: x", "unknown : y")),
        ),
    )
    missing = section(report(result), "Missing evidence")
    assert "- **custom** (UNKNOWN): no reason given\n" in missing
    assert "- **other** (FAIL): y\n" in missing
    assert "FAIL): x" not in missing


def test_a_plain_scan_says_what_it_lacks() -> None:
    subject = Component(ref="model:x", kind=ComponentKind.MODEL, name="x")
    text = render_markdown(ScanResult(subjects=(subject.ref,), components=(subject,)))
    assert "no policy chosen: report only" in text
    assert "No policy tier was evaluated." in text
    assert "No findings." in text
    assert "- no known country of origin: model x" in text
    assert "0 files, 0 B." in text


def test_scanned_text_cannot_inject_markdown_or_html() -> None:
    result = assessed_result()
    evil = replace(
        result.findings[0],
        message="ok | <img src=x onerror=alert(1)> [link](https://evil.test) `code`\n# head",
    )
    text = report(replace(result, findings=(evil,)))
    row = next(line for line in text.splitlines() if "| SOV001" in line)
    assert row.count(" | ") == 5  # the message's pipe does not open a cell
    assert "\\<img src=x onerror=alert(1)\\>" in row
    assert "\\[link\\](https://evil.test)" in row
    assert "\\`code\\` # head" in row


def test_long_lists_are_capped_with_a_count() -> None:
    result = assessed_result()
    files = tuple(
        Component(
            ref=f"file:x/f{index:04d}",
            kind=ComponentKind.FILE,
            name=f"f{index:04d}",
            path=f"f{index:04d}",
            size=1,
        )
        for index in range(MAX_FILES_SHOWN + 5)
    )
    findings = tuple(
        Finding(
            rule_id="SOV001",
            severity=Severity.HIGH,
            component_ref=INSTRUCT,
            message=f"finding {index}",
            tiers=("sovereign",),
        )
        for index in range(MAX_FINDINGS_SHOWN + 7)
    )
    changed = replace(
        result,
        components=(*result.components, *files),
        relations=(
            *result.relations,
            *(Relation(src=SUBJECT, dst=f.ref, kind=RelationKind.CONTAINS) for f in files),
        ),
        findings=findings,
    )
    text = report(changed)
    assert "… and 7 more findings (see the SARIF or BOM)." in text
    assert text.count("| SOV001 ") == MAX_FINDINGS_SHOWN
    assert "- … and 9 more (see the BOM)" in section(text, "Files")
    assert f"{MAX_FILES_SHOWN + 9} files" in section(text, "Files")


def test_output_is_deterministic() -> None:
    result = assessed_result()
    shuffled = replace(result, findings=tuple(reversed(result.findings)))
    assert report(shuffled) == report(result)


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(codec=None, exclude_categories=()), max_size=40))
def test_escaped_text_stays_on_one_line_without_raw_syntax(text: str) -> None:
    escaped = md(text)
    assert "\n" not in escaped
    assert "\r" not in escaped
    unescaped = escaped.replace("\\\\", "")
    for char in "|<>[]`*_~":
        assert unescaped.count(char) == unescaped.count("\\" + char)
