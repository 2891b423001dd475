"""Origins and policy tiers end to end: verdicts, exit codes and what the outputs say."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from scanner.cli import cli
from scanner.core.properties import PropertyName
from tests.conftest import EXAMPLES, REPO
from tests.integration.test_scan_cli import components, props, scan

RU_ATTESTATION = """\
claims:
  - claim: developers_citizenship
    value: RU
    attested_by: Example Org compliance office
  - claim: training_location
    value: RU
    attested_by: Example Org compliance office
  - claim: data_collected_in
    value: RU
    attested_by: Example Org compliance office
"""

EXAMPLE_ORG = """\
entries:
  - id: example-org
    kind: hf-namespace
    organisation: Example Org LLC
    country: RU
    confidence: high
    source: our own registry extract
"""


def run(target: Path | str, tmp_path: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    out = tmp_path / "bom.cdx.json"
    result = scan(str(target), "-o", str(out), *extra)
    assert result.exit_code in {0, 1, 3}, result.output + result.stderr
    return result.exit_code, json.loads(out.read_text())


def verdicts(bom: dict[str, Any]) -> dict[str, str]:
    prefix = "sovscan:verdict:"
    return {
        p["name"].removeprefix(prefix): p["value"]
        for p in bom["metadata"]["properties"]
        if p["name"].startswith(prefix)
    }


def bom_property(bom: dict[str, Any], name: str) -> list[str]:
    return [p["value"] for p in bom["metadata"]["properties"] if p["name"] == name]


def test_russian_lora_on_llama_fails_sovereign_with_exit_1(tmp_path: Path) -> None:
    code, bom = run(EXAMPLES / "ru-chat-lora", tmp_path, "--policy", "sovereign")
    assert code == 1
    assert verdicts(bom)["sovereign"] == "FAIL"
    assert verdicts(bom)["national"] == "FAIL"  # llama3: foreign-controlled terms
    assert bom_property(bom, PropertyName.POLICY) == ["sovereign"]
    assert bom_property(bom, PropertyName.JURISDICTION) == ["RU"]
    base = components(bom)["pkg:huggingface/meta-llama/Meta-Llama-3-8B-Instruct"]
    assert base["supplier"] == {"name": "Meta Platforms, Inc.", "address": {"country": "US"}}
    assert props(base)[PropertyName.ORIGIN_COUNTRY] == ["US"]
    assert props(base)[PropertyName.ORIGIN_BASIS] == ["curated"]


def test_without_policy_every_tier_is_reported_and_exit_is_0(tmp_path: Path) -> None:
    code, bom = run(EXAMPLES / "ru-chat-lora", tmp_path)
    assert code == 0
    assert set(verdicts(bom)) == {"sovereign", "national", "trusted", "adversary"}
    assert bom_property(bom, PropertyName.POLICY) == []


def test_all_domestic_chain_needs_attestation_to_pass(tmp_path: Path) -> None:
    origins = tmp_path / "origins.yaml"
    origins.write_text(EXAMPLE_ORG)
    attestation = tmp_path / "attestation.yaml"
    attestation.write_text(RU_ATTESTATION)
    common = ("--name", "example-org/ru-legal-8b", "--origins", str(origins))
    code, bom = run(EXAMPLES / "ru-legal-8b", tmp_path, *common, "--policy", "sovereign")
    assert (code, verdicts(bom)["sovereign"]) == (3, "UNKNOWN")  # no attestation yet
    code, bom = run(
        EXAMPLES / "ru-legal-8b",
        tmp_path,
        *common,
        "--attestation",
        str(attestation),
        "--policy",
        "sovereign",
    )
    assert (code, verdicts(bom)["sovereign"]) == (0, "PASS")
    # The policy and its result are in the BOM as a standard and an attestation too.
    standard = next(
        s for s in bom["definitions"]["standards"] if s["bom-ref"] == "standard:sovereign"
    )
    assert {"SOV001", "ATT001"} <= {r["identifier"] for r in standard["requirements"]}
    attestation_map = next(
        a for a in bom["declarations"]["attestations"] if a["summary"] == "sovereign: PASS"
    )["map"]
    assert attestation_map[0]["conformance"]["score"] == 1
    subject = bom["metadata"]["component"]
    assert subject["supplier"]["address"]["country"] == "RU"
    assert props(subject)[PropertyName.ORIGIN_BASIS] == ["override"]
    yandex = components(bom)["pkg:huggingface/yandex/YandexGPT-5-Lite-8B-pretrain"]
    assert yandex["supplier"]["address"]["country"] == "RU"
    # Under RU the adversary screen uses Russia's list of unfriendly states: Yandex passes it,
    # and the BOM names the list and its source.
    assert verdicts(bom)["adversary"] == "PASS"
    basis = props(bom["metadata"])["sovscan:basis:adversary"]
    assert basis[0].startswith("deny list ru-order-430-r: ")
    # Screened for the US, the same Russian model fails (15 CFR 791.4 names Russia).
    code, bom = run(
        EXAMPLES / "ru-legal-8b", tmp_path, *common, "--jurisdiction", "US", "--policy", "adversary"
    )
    assert (code, verdicts(bom)["adversary"]) == (1, "FAIL")
    assert props(bom["metadata"])["sovscan:basis:adversary"][0].startswith(
        "deny list us-15-cfr-791.4: "
    )
    # A jurisdiction with no default list is UNKNOWN until --deny names one.
    code, bom = run(
        EXAMPLES / "ru-legal-8b", tmp_path, *common, "--jurisdiction", "DE", "--policy", "adversary"
    )
    assert (code, verdicts(bom)["adversary"]) == (3, "UNKNOWN")


def test_unknown_subject_is_never_sovereign(tmp_path: Path) -> None:
    code, bom = run(EXAMPLES / "ru-legal-8b", tmp_path, "--policy", "sovereign")
    assert (code, verdicts(bom)["sovereign"]) == (3, "UNKNOWN")


def test_qwen_based_finetune_passes_national_fails_sovereign(tmp_path: Path) -> None:
    # A T-pro-style model: a Russian organisation's Apache-2.0 fine-tune of an Apache-2.0 Qwen
    # base. The base folder is scanned too, so its licence is known.
    derived = tmp_path / "t-tech__T-pro-it-1.0"
    derived.mkdir()
    (derived / "README.md").write_text(
        "---\nbase_model: Qwen/Qwen2.5-32B-Instruct\nlicense: apache-2.0\n---\n# T-pro\n"
    )
    base = tmp_path / "Qwen__Qwen2.5-32B-Instruct"
    base.mkdir()
    (base / "README.md").write_text("---\nlicense: apache-2.0\n---\n# Qwen2.5\n")
    out = tmp_path / "bom.cdx.json"
    result = scan(str(derived), str(base), "-o", str(out), "--policy", "national")
    assert result.exit_code == 0, result.output
    bom = json.loads(out.read_text())
    assert verdicts(bom)["national"] == "PASS"
    assert verdicts(bom)["sovereign"] == "FAIL"
    qwen = components(bom)["pkg:huggingface/Qwen/Qwen2.5-32B-Instruct"]
    assert qwen["supplier"]["address"]["country"] == "CN"


def test_corpus_lora_on_yandexgpt_has_no_foreign_component(corpus: Path, tmp_path: Path) -> None:
    folder = corpus / "models/DMalakhov1__YandexGPT-5-Lite-8B-instruct-lora"
    code, bom = run(folder, tmp_path, "--policy", "sovereign")
    yandex = components(bom)["pkg:huggingface/yandex/YandexGPT-5-Lite-8B-instruct"]
    assert yandex["supplier"]["address"]["country"] == "RU"
    # The lineage is domestic; what is missing is who the uploader is and the attestation.
    assert (code, verdicts(bom)["sovereign"]) == (3, "UNKNOWN")
    report = tmp_path / "report.md"
    scan(str(folder), "-o", str(report))
    assert "SOV001" not in report.read_text()


def test_corpus_saiga_on_llama3_fails_sovereign(corpus: Path, tmp_path: Path) -> None:
    code, bom = run(
        corpus / "models/IlyaGusev__saiga_llama3_8b_gguf", tmp_path, "--policy", "sovereign"
    )
    assert (code, verdicts(bom)["sovereign"]) == (1, "FAIL")
    subject = bom["metadata"]["component"]
    hints = props(subject).get(PropertyName.ORIGIN_HINT, [])
    assert any("Meta" in hint and "US" in hint for hint in hints)


def test_sarif_and_markdown_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)  # SARIF paths are relative to where the scan runs (the repo root)
    sarif, report = tmp_path / "x.sarif", tmp_path / "report.md"
    result = scan(
        "examples/ru-chat-lora", "-o", str(sarif), "-o", str(report), "--policy", "sovereign"
    )
    assert result.exit_code == 1
    log = json.loads(sarif.read_text())
    assert log["version"] == "2.1.0"
    run_ = log["runs"][0]
    rule_ids = {rule["id"] for rule in run_["tool"]["driver"]["rules"]}
    assert "SOV001" in rule_ids
    located = [
        r["locations"][0]["physicalLocation"] for r in run_["results"] if r["ruleId"] == "SOV001"
    ]
    # The foreign base is declared on the model card's base_model line (line 2).
    assert {
        "artifactLocation": {"uri": "examples/ru-chat-lora/README.md"},
        "region": {"startLine": 2},
    } in located
    text = report.read_text()
    assert "Meta Platforms, Inc." in text
    assert "FAIL" in text


def test_bad_policy_file_is_a_usage_error(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("name: mine\nlayers: [weights, nonsense]\n")
    result = scan(str(EXAMPLES / "ru-chat-lora"), "--policy", str(policy))
    assert result.exit_code == 2
    assert "policy.yaml" in result.stderr


def test_bad_jurisdiction_is_a_usage_error() -> None:
    result = scan(str(EXAMPLES / "ru-chat-lora"), "--jurisdiction", "Russia")
    assert result.exit_code == 2
    assert "--jurisdiction" in result.stderr


def test_deny_list_can_be_changed(tmp_path: Path) -> None:
    _, bom = run(EXAMPLES / "ru-chat-lora", tmp_path, "--deny", "us")
    assert verdicts(bom)["adversary"] == "FAIL"  # the Llama base is Meta's (US)


def test_origins_show_explains_an_entry() -> None:
    result = CliRunner().invoke(cli, ["origins", "show", "yandex"])
    assert result.exit_code == 0
    assert "hf-namespace yandex" in result.output
    assert "country:                RU" in result.output
    assert "source:" in result.output


def test_origins_show_consumer_mail_is_no_organization() -> None:
    result = CliRunner().invoke(cli, ["origins", "show", "someone@gmail.com"])
    assert result.exit_code == 0
    assert "consumer" in result.output.lower()


def test_origins_list_by_country_with_user_overlay(tmp_path: Path) -> None:
    origins = tmp_path / "origins.yaml"
    origins.write_text(EXAMPLE_ORG)
    result = CliRunner().invoke(
        cli, ["origins", "list", "--country", "ru", "--origins", str(origins)]
    )
    assert result.exit_code == 0
    rows = result.output.splitlines()[1:]
    assert rows
    assert all(" RU " in row for row in rows)
    assert any("example-org" in row and "Example Org LLC" in row for row in rows)


def test_malformed_origins_file_is_a_usage_error(tmp_path: Path) -> None:
    origins = tmp_path / "origins.yaml"
    origins.write_text("entries:\n  - id: x\n    kind: hf-namespace\n    country: Russia\n")
    result = scan(str(EXAMPLES / "ru-chat-lora"), "--origins", str(origins))
    assert result.exit_code == 2
    assert "origins.yaml" in result.stderr


def test_trusted_tier_checks_the_registry(tmp_path: Path) -> None:
    registry = tmp_path / "registry.yaml"
    registry.write_text(
        "components:\n"
        "  - purl: pkg:huggingface/yandex/YandexGPT-5-Lite-8B-pretrain\n"
        "  - ref: dataset:ai-forever/MERA\n"
    )
    report = tmp_path / "report.md"
    result = scan(
        str(EXAMPLES / "ru-legal-8b"),
        "--trusted-registry",
        str(registry),
        "--policy",
        "trusted",
        "-o",
        str(report),
    )
    text = report.read_text()
    # The base and the dataset are registered; the model itself and its tokenizer are not.
    assert "TRU001" in text
    trusted_rows = [line for line in text.splitlines() if "| TRU001" in line]
    assert trusted_rows
    assert not any("YandexGPT-5-Lite-8B-pretrain" in row for row in trusted_rows)
    assert result.exit_code == 1


def test_misspelt_tier_is_a_usage_error_naming_the_tiers() -> None:
    result = scan(str(EXAMPLES / "ru-chat-lora"), "--policy", "soverign")
    assert result.exit_code == 2
    assert "not a built-in tier (sovereign, national, trusted, adversary)" in result.stderr
