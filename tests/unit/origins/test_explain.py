"""``sovscan origins show`` and ``origins list`` text."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.origins.explain import explain, list_entries
from scanner.origins.knowledge import EntryKind, KnowledgeBase, load_builtin, load_overlay


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_builtin()


def test_show_entry_lists_every_field_and_the_source(kb: KnowledgeBase) -> None:
    text = explain(kb, "numpy")
    assert text.startswith("pypi-package numpy (built-in knowledge base)\n")
    assert "github-org numpy (built-in knowledge base)" in text
    for line in (
        "  organisation:           NumPy project (community)",
        "  community:              yes",
        "  fiscal sponsor:         NumFOCUS",
        "  fiscal sponsor country: US",
        "  confidence:             high",
        "  checked against source: 2026-11",
        "  as of:                  2026-11",
    ):
        assert line in text.splitlines()
    assert "source:                 https://pypi.org/project/numpy/2.4.6/ (" in text
    assert "verified:" not in text
    assert "steward community; basis curated" in text
    folded = explain(kb, "QWEN")
    assert "matched: Qwen (ignoring case; the Hub namespace is spelt so)" in folded
    assert "country none" in text


def test_show_says_whether_the_entry_was_checked_against_its_source(kb: KnowledgeBase) -> None:
    lines = explain(kb, "facebook").splitlines()
    assert "  source:                 https://huggingface.co/facebook" in lines
    assert "  not checked against its source" in lines
    assert "  as of:                  2026" in lines
    assert not any(line.startswith("  checked against source:") for line in lines)


@pytest.mark.parametrize(
    ("verified", "expected"),
    [
        (None, None),
        ("checked", "  checked against source: 2026-10"),
        ("unchecked", "  not checked against its source"),
        ("our legal review", "  verified:               our legal review"),
    ],
)
def test_show_user_entry_verification(
    kb: KnowledgeBase, tmp_path: Path, verified: str | None, expected: str | None
) -> None:
    path = tmp_path / "mine.yaml"
    field = f"  verified: {verified}\n" if verified else ""
    path.write_text(
        "entries:\n- id: acme-labs\n  kind: hf-namespace\n  organisation: Acme Labs LLC\n"
        "  country: DE\n  confidence: high\n  source: https://example.org/acme\n"
        f"  as_of: 2026-10\n{field}",
        encoding="utf-8",
    )
    lines = explain(load_overlay(kb, path), "acme-labs").splitlines()
    checked = [line for line in lines if "checked against" in line or "verified:" in line]
    assert checked == ([expected] if expected else [])


def test_show_reuploader_and_consumer_mail(kb: KnowledgeBase) -> None:
    assert "re-uploader: not the origin of the weights" in explain(kb, "TheBloke")
    text = explain(kb, "ivan@ya.ru")
    assert text.startswith("email-domain ya.ru (built-in knowledge base)")
    assert "consumer mail: never an organisation" in text


def test_show_by_purl_hub_id_and_parent_domain(kb: KnowledgeBase) -> None:
    assert explain(kb, "pkg:huggingface/Qwen/Qwen2.5-7B").startswith("hf-namespace Qwen ")
    assert explain(kb, "hf:yandex/YandexGPT-5-Lite-8B-pretrain@main").startswith(
        "hf-namespace yandex "
    )
    assert explain(kb, "pkg:pypi/catboost@1.2").startswith("pypi-package catboost ")
    text = explain(kb, "dev@mail.yandex-team.ru")
    assert "matched: yandex-team.ru (a parent domain of the one asked for)" in text
    assert "country RU" in text


def test_show_license_is_a_lineage_hint(kb: KnowledgeBase) -> None:
    text = explain(kb, "llama3")
    assert "licence llama3 (built-in knowledge base)" in text
    assert "lineage hint (a licence shows an ancestor, not authorship): Meta; country US" in text


def test_show_inference_without_entry(kb: KnowledgeBase) -> None:
    text = explain(kb, "https://github.com/ai-forever/gigachat")
    assert "url: github-org ai-forever is Sber AI" in text
    assert "-> Sber AI; country RU" in text
    hint = explain(kb, "someone@example.de")
    assert "weak DE hint" in hint
    assert "confidence low" in hint
    named = explain(kb, "Meta Llama")
    assert "organisation name: 'Meta Llama' names Meta Platforms, Inc." in named


@pytest.mark.parametrize("query", ["someone-unknown", "x@project.ai", "apache-2.0"])
def test_show_unknown_is_not_foreign(kb: KnowledgeBase, query: str) -> None:
    text = explain(kb, query)
    assert text.startswith(f"{query}: no entry in the knowledge base under this id")
    assert text.rstrip().endswith("no entry; unknown (not foreign)")


@pytest.mark.parametrize("query", ["", "   ", "x" * 10_000, "pkg:", "@", "://", "a/b/c/d"])
def test_show_odd_queries(kb: KnowledgeBase, query: str) -> None:
    assert explain(kb, query).endswith("\n")


def test_show_user_entry(kb: KnowledgeBase, tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(
        "- {id: acme-labs, kind: hf-namespace, organisation: Acme, country: RU, confidence: high}\n"
    )
    text = explain(load_overlay(kb, path), "acme-labs")
    assert text.startswith(f"hf-namespace acme-labs (user file {path})")
    assert f"defined in:             {path}" in text
    assert "basis override" in text


def test_list_filters_and_sorts(kb: KnowledgeBase) -> None:
    text = list_entries(kb, country="ru", kind=EntryKind.GITHUB_ORG)
    lines = text.splitlines()
    assert lines[0].split() == ["KIND", "ID", "ORGANISATION", "COUNTRY", "CONFIDENCE"]
    ids = [line.split()[1] for line in lines[1:]]
    assert ids == sorted(ids, key=str.casefold)
    assert {"yandex", "ai-forever", "catboost", "VKCOM"} <= set(ids)
    assert all(line.split()[-2] == "RU" for line in lines[1:])
    assert all(line.startswith("github-org ") for line in lines[1:])


def test_list_without_country_and_all_kinds(kb: KnowledgeBase) -> None:
    none = list_entries(kb, country="none", kind=EntryKind.PYPI_PACKAGE).splitlines()
    assert any(line.split()[1] == "numpy" for line in none[1:])
    assert all(line.split()[-2] == "-" for line in none[1:])
    everything = list_entries(kb).splitlines()
    assert len(everything) == len(kb) + 1
    kinds = [line.split()[0] for line in everything[1:]]
    assert kinds == sorted(kinds)


def test_list_marks_user_entries_and_handles_no_match(kb: KnowledgeBase, tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(
        "- {id: acme-labs, kind: hf-namespace, organisation: Acme, country: RU, confidence: high}\n"
    )
    text = list_entries(load_overlay(kb, path), country="RU", kind=EntryKind.HF_NAMESPACE)
    assert "acme-labs (user)" in text
    assert list_entries(kb, country="ZZ") == "no entries\n"
