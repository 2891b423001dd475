"""The terminal summary: origins on every lineage node, verdicts, findings, safe text."""

from __future__ import annotations

from dataclasses import replace

from scanner.core.model import (
    Acceptance,
    Component,
    ComponentKind,
    Confidence,
    Finding,
    Origin,
    OriginBasis,
    Relation,
    RelationKind,
    ScanResult,
    Severity,
    StewardKind,
    TierVerdict,
    Verdict,
)
from scanner.sbom.rendering import RenderOptions
from scanner.sbom.summary import (
    MAX_DATASETS_SHOWN,
    human_size,
    origin_label,
    plain,
    render_summary,
)
from tests.unit.sbom.assessed import INSTRUCT, RULES, WEIGHTS, assessed_result

WITH_RULES = RenderOptions(rules=RULES)


def lines() -> list[str]:
    return render_summary(assessed_result()).splitlines()


def test_model_origin_hint_and_lineage_with_organization_and_country() -> None:
    text = lines()
    assert text[:3] == [
        "Model     ru-chat-lora  (adapter)",
        "Origin    origin unknown (country unknown)",
        "  hint: license llama3 → Meta Platforms, Inc. (US)",
    ]
    assert (
        "  └─ adapter: meta-llama/Meta-Llama-3-8B-Instruct — Meta Platforms, Inc. (US)  [README.md]"
    ) in text
    assert "    └─ finetune: meta-llama/Meta-Llama-3-8B — Meta Platforms, Inc. (US)" in text


def test_tokenizer_and_datasets_with_their_origins() -> None:
    text = lines()
    assert "Tokenizer from meta-llama/Meta-Llama-3-8B-Instruct — Meta Platforms, Inc. (US)" in text
    start = text.index("Datasets  2:")
    assert text[start + 1 : start + 3] == [
        "  - IlyaGusev/ru_turbo_saiga — an individual (country unknown)",
        "  - IlyaGusev/ru_sharegpt_cleaned — origin not attributed",
    ]
    assert "Files     4, 5.1 KiB" in text


def test_verdicts_block_marks_the_chosen_tier_with_the_first_reason() -> None:
    text = lines()
    start = text.index("Verdicts for RU")
    assert text[start + 1 : start + 5] == [
        "  sovereign (chosen): FAIL — 2 weights components come from US (+1 more)",
        "  national: FAIL — Meta-Llama-3-8B-Instruct is foreign under the restrictive licence "
        "llama3",
        "  trusted: UNKNOWN — no trusted registry was given (--trusted-registry)",
        "  adversary: PASS — no component comes from CN, CU, IR, KP, RU or VE",
    ]
    assert (
        "Findings  6 (sovereign 3, national 1, trusted 2, file analysis 1); "
        "-o report.md or x.sarif lists them"
    ) in text
    assert text[-2:] == [
        "Issues (1): the scan went on without these",
        "  [medium] examples/ru-chat-lora/tokenizer.json: not valid JSON: line 1 column 1",
    ]


def test_each_deciding_finding_is_listed_once_with_tiers_and_what_to_do() -> None:
    text = render_summary(assessed_result(), WITH_RULES).splitlines()
    start = text.index("To do     5 finding(s) decide the verdicts (each listed once):")
    assert text[start + 1 : start + 3] == [
        "  [FAIL: national, trusted] NAT001 restrictive-foreign-licence: llama3 restricts use; "
        "Meta-Llama-3-8B-Instruct is foreign",
        "      → Replace meta-llama/Meta-Llama-3-8B-Instruct with an openly licensed one",
    ]
    # FAIL before UNKNOWN, each with its remediation
    assert text[start + 7 : start + 9] == [
        "  [UNKNOWN: sovereign] SOV002 unknown-origin: dataset IlyaGusev/ru_sharegpt_cleaned has "
        "no known origin",
        "      → Add an --origins entry for the Hub namespace IlyaGusev",
    ]


def test_dangerous_code_heads_the_summary_naming_the_file_and_the_callable() -> None:
    result = assessed_result()
    dangerous = Finding(
        rule_id="SEC100",
        severity=Severity.CRITICAL,
        component_ref=WEIGHTS,
        message="pytorch_model.bin: loading it runs dangerous code: "
        "archive/data.pkl: imports posix.system (runs shell commands)",
        tiers=("sovereign", "national", "trusted", "adversary"),
        remediation="Do not load pytorch_model.bin",
    )
    text = render_summary(replace(result, findings=(*result.findings, dangerous)), WITH_RULES)
    lines = text.splitlines()
    assert lines[0] == "DANGEROUS  1 file(s) run dangerous code when loaded; every tier FAILs:"
    assert lines[1].startswith("  - pytorch_model.bin: loading it runs dangerous code")
    assert "posix.system" in lines[1]
    actions = lines[lines.index(next(x for x in lines if x.startswith("To do"))) + 1]
    assert actions.startswith("  [FAIL: every tier] SEC100")
    waiver = Acceptance(
        source="w.yaml", entry=1, reason="ours", accepted_by="Ann", expires="2030-01-01"
    )
    quiet = render_summary(
        replace(result, findings=(*result.findings, replace(dangerous, accepted=waiver))),
        WITH_RULES,
    )
    assert not quiet.startswith("DANGEROUS")
    assert (
        "  - SEC100 pytorch_model.bin: loading it runs dangerous code: "
        "archive/data.pkl: imports posix.system (runs shell commands) — ours (Ann, until "
        "2030-01-01; w.yaml entry 1)"
    ) in quiet.splitlines()


def test_without_a_policy_there_is_no_verdict_block() -> None:
    result = replace(assessed_result(), verdicts=(), findings=(), issues=(), policy=None)
    text = render_summary(result)
    assert "Verdicts" not in text
    assert "Findings" not in text
    assert text.endswith("Issues: none\n")
    reasonless = replace(
        result, verdicts=(TierVerdict(tier="custom", verdict=Verdict.NOT_APPLICABLE),)
    )
    assert "  custom: NOT-APPLICABLE\n" in render_summary(reasonless)


def test_origin_labels() -> None:
    def origin(**changes: object) -> Origin:
        base = Origin(
            organization="Yandex LLC",
            steward=StewardKind.ORGANIZATION,
            country="RU",
            basis=OriginBasis.CURATED,
            confidence=Confidence.HIGH,
        )
        return replace(base, **changes)  # type: ignore[arg-type]

    assert origin_label(origin()) == "Yandex LLC (RU)"
    assert origin_label(origin(country=None)) == "Yandex LLC (country unknown)"
    assert origin_label(origin(organization=None)) == "unknown organisation (RU)"
    community = origin(organization="numpy", steward=StewardKind.COMMUNITY, country=None)
    assert origin_label(community) == "numpy (no single country)"
    assert origin_label(None) == "origin not attributed"


def test_scanned_text_cannot_drive_the_terminal() -> None:
    result = assessed_result()
    instruct = replace(result.component(INSTRUCT), name="evil\x1b]0;pwned\x07\x9b2J\nname")
    components = tuple(instruct if c.ref == INSTRUCT else c for c in result.components)
    text = render_summary(replace(result, components=components))
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\x9b" not in text
    assert "meta-llama/evil ]0;pwned 2J name — Meta Platforms, Inc. (US)" in text
    assert plain(" a\r\nb\u2028c ") == "a b c"


def test_many_datasets_are_capped() -> None:
    subject = Component(ref="model:m", kind=ComponentKind.MODEL, name="m")
    datasets = tuple(
        Component(ref=f"dataset:d{index:02d}", kind=ComponentKind.DATASET, name=f"d{index:02d}")
        for index in range(MAX_DATASETS_SHOWN + 3)
    )
    result = ScanResult(
        subjects=(subject.ref,),
        components=(subject, *datasets),
        relations=tuple(
            Relation(src=subject.ref, dst=d.ref, kind=RelationKind.TRAINED_ON) for d in datasets
        ),
    )
    text = render_summary(result).splitlines()
    assert f"Datasets  {MAX_DATASETS_SHOWN + 3}:" in text
    assert "  … and 3 more (see the BOM)" in text
    assert sum(line.startswith("  - d") for line in text) == MAX_DATASETS_SHOWN


def test_human_size() -> None:
    assert [human_size(n) for n in (0, 1023, 1536, 5 * 1024**3)] == [
        "0 B",
        "1023 B",
        "1.5 KiB",
        "5.0 GiB",
    ]
