"""Inference from licences, addresses, URLs and organisation names: separate, scored signals."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.core.model import Confidence, OriginBasis, StewardKind
from scanner.origins.inference import (
    cctld_country,
    email_domain,
    from_email,
    from_license,
    from_organization_name,
    from_url,
    infer_email,
    infer_license,
    infer_organization_name,
    infer_url,
)
from scanner.origins.knowledge import EntryKind, KnowledgeBase, OriginEntry, load_builtin


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_builtin()


# --- licences ------------------------------------------------------------------------------------
def test_llama3_license_points_to_meta(kb: KnowledgeBase) -> None:
    origin = from_license("llama3", kb, location="README.md")
    assert origin is not None
    assert (origin.organization, origin.country) == ("Meta", "US")
    assert origin.basis is OriginBasis.LICENSE
    assert origin.confidence is Confidence.MEDIUM
    observed = origin.evidence[0]
    assert (observed.location, observed.field, observed.value) == ("README.md", "license", "llama3")
    assert origin.evidence[1].field == "licence:llama3"
    assert origin.note is not None
    assert "not authorship" in origin.note


@pytest.mark.parametrize(
    ("license", "country"),
    [("Qwen-Research", "CN"), ("yandexgpt-5-lite-8b-pretrain", "RU"), ("GEMMA", "US")],
)
def test_license_ids_compare_without_case(kb: KnowledgeBase, license: str, country: str) -> None:
    origin = from_license(license, kb)
    assert origin is not None
    assert origin.country == country


@pytest.mark.parametrize("license", ["apache-2.0", "mit", "other", "", "   ", "x" * 5000])
def test_permissive_or_odd_licenses_carry_no_signal(kb: KnowledgeBase, license: str) -> None:
    assert from_license(license, kb) is None
    assert infer_license(license, kb).reason


def test_community_license_has_no_country(kb: KnowledgeBase) -> None:
    origin = from_license("bigscience-bloom-rail-1.0", kb)
    assert origin is not None
    assert origin.steward is StewardKind.COMMUNITY
    assert origin.country is None


# --- email ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "address",
    [
        "someone@gmail.com",
        "ivan@ya.ru",
        "ivan@yandex.ru",
        "ivan@mail.ru",
        "li@qq.com",
        "li@163.com",
        "Someone <x@BK.RU>",
        "12345+dev@users.noreply.github.com",
    ],
)
def test_consumer_mail_is_never_an_organization(kb: KnowledgeBase, address: str) -> None:
    assert from_email(address, kb) is None
    assert "consumer mail" in infer_email(address, kb).reason


@pytest.mark.parametrize(
    "address",
    [
        "catboost@yandex-team.ru",
        "Ydb Team <ydb@yandex-team.ru>",
        "someone@mail.yandex-team.ru",
    ],
)
def test_organizational_domain_gives_its_entry(kb: KnowledgeBase, address: str) -> None:
    origin = from_email(address, kb, location="PKG-INFO")
    assert origin is not None
    assert origin.organization is not None
    assert "Yandex" in origin.organization
    assert origin.country == "RU"
    assert origin.steward is StewardKind.ORGANIZATION
    assert origin.basis is OriginBasis.EMAIL_DOMAIN
    assert origin.confidence is Confidence.HIGH
    assert origin.evidence[0].location == "PKG-INFO"
    assert origin.evidence[0].field == "email"


def test_org_domain_under_generic_tld_still_counts(kb: KnowledgeBase) -> None:
    origin = from_email("team@deeppavlov.ai", kb)
    assert origin is not None
    assert origin.country == "RU"


@pytest.mark.parametrize(
    ("address", "country"),
    [
        ("me@kluyver.de", "DE"),
        ("me@iki.fi", "FI"),
        ("me@example.su", "RU"),
        ("me@example.co.uk", "GB"),
        ("me@example.xn--p1ai", "RU"),
    ],
)
def test_cctld_is_a_weak_country_hint(kb: KnowledgeBase, address: str, country: str) -> None:
    origin = from_email(address, kb)
    assert origin is not None
    assert origin.country == country
    assert origin.confidence is Confidence.LOW
    assert origin.steward is StewardKind.UNKNOWN
    assert origin.organization is None


@pytest.mark.parametrize("tld", ["ai", "io", "co", "me", "dev", "tv", "app", "eu", "com", "org"])
def test_generic_tlds_carry_no_country(kb: KnowledgeBase, tld: str) -> None:
    assert from_email(f"me@someproject.{tld}", kb) is None
    assert cctld_country(tld, kb) is None


@pytest.mark.parametrize(
    "address", ["", "not an address", "@example.de", "me@", "me@-bad-.de", "me@exa mple.de", "a@b"]
)
def test_non_addresses_give_nothing(kb: KnowledgeBase, address: str) -> None:
    assert from_email(address, kb) is None
    assert email_domain(address) is None


# --- URLs ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "organization_part", "country"),
    [
        ("https://github.com/ai-forever/gigachat", "Sber", "RU"),
        ("https://www.github.com/Yandex/YaLM-100B/issues", "Yandex", "RU"),
        ("git@github.com:ydb-platform/ydb-python-sdk.git", "Yandex", "RU"),
        ("git+https://github.com/QwenLM/Qwen.git@main", "Alibaba", "CN"),
        ("https://catboost.github.io/", "Yandex", "RU"),
        ("https://huggingface.co/Qwen/Qwen2.5-7B", "Alibaba", "CN"),
        ("https://hf.co/datasets/ai-forever/MERA", "Sber", "RU"),
        ("https://pypi.org/project/catboost/", "Yandex", "RU"),
        ("https://deeppavlov.ai/docs", "DeepPavlov", "RU"),
        ("github.com/mistralai/mistral-inference", "Mistral", "FR"),
        ("https://huggingface.co/docs/transformers", "Hugging Face", "US"),  # a site page
    ],
)
def test_urls_resolve_through_their_owner(
    kb: KnowledgeBase, url: str, organization_part: str, country: str
) -> None:
    origin = from_url(url, kb, location="METADATA")
    assert origin is not None
    assert origin.organization is not None
    assert organization_part in origin.organization
    assert origin.country == country
    assert origin.basis is OriginBasis.URL
    assert origin.evidence[0].value == url


def test_hosting_domains_are_weak_hints(kb: KnowledgeBase) -> None:
    origin = from_url("https://gitee.com/someone/project", kb)
    assert origin is not None
    assert origin.country == "CN"
    assert origin.organization is None
    assert origin.steward is StewardKind.UNKNOWN
    assert origin.confidence is Confidence.LOW
    assert origin.note is not None
    assert "not who wrote it" in origin.note


def test_community_github_org_has_no_country(kb: KnowledgeBase) -> None:
    origin = from_url("https://github.com/numpy/numpy", kb)
    assert origin is not None
    assert origin.steward is StewardKind.COMMUNITY
    assert origin.country is None
    assert origin.note is not None
    assert "NumFOCUS" in origin.note


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/some-unknown-org/repo",
        "https://gitlab.com/ai-forever/anything",  # no org table for other forges
        "https://huggingface.co/TheBloke/Foo-GGUF",  # a re-uploader is no origin by itself
        "https://huggingface.co/some-unknown-user/model",  # not the Hub's own domain entry
        "https://example.com/project",
        "javascript:alert(1)",
        "ftp://github.com/ai-forever/x",
        "https://[::1/",
        "https://github.com:notaport/ai-forever",
        "",
        "x" * 5000,
    ],
)
def test_urls_without_a_signal(kb: KnowledgeBase, url: str) -> None:
    assert from_url(url, kb) is None
    assert infer_url(url, kb).reason


def test_hub_url_namespace_case_fallback_is_capped(kb: KnowledgeBase) -> None:
    origin = from_url("https://huggingface.co/META-LLAMA/Llama-3.1-8B", kb)
    assert origin is not None
    assert origin.country == "US"
    assert origin.confidence is Confidence.MEDIUM


# --- organisation names --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "country"),
    [
        ("Yandex", "RU"),
        ("Meta Llama", "US"),
        ("Google LLC", "US"),
        ("qwen", "CN"),
        ("Sber AI", "RU"),
    ],
)
def test_organization_names(kb: KnowledgeBase, name: str, country: str) -> None:
    origin = from_organization_name(name, kb, location="model.gguf")
    assert origin is not None
    assert origin.country == country
    assert origin.basis is OriginBasis.METADATA
    assert origin.confidence in {Confidence.MEDIUM, Confidence.LOW}
    assert origin.evidence[0].field == "organization"


@pytest.mark.parametrize(
    "name", ["", "  ", "Inc.", "Unknown Research Collective", "The Bloke", "x" * 5000]
)
def test_unknown_or_empty_names(kb: KnowledgeBase, name: str) -> None:
    assert from_organization_name(name, kb) is None


def test_conflicting_names_give_nothing() -> None:
    def entry(ident: str, country: str) -> OriginEntry:
        return OriginEntry(
            id=ident,
            kind=EntryKind.HF_NAMESPACE,
            organization="Acme",
            country=country,
            source="test",
            confidence=Confidence.HIGH,
        )

    kb = KnowledgeBase((entry("acme-de", "DE"), entry("acme-us", "US")))
    result = infer_organization_name("ACME Inc.", kb)
    assert result.origin is None
    assert "DE, US" in result.reason


# --- never raises --------------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_inference_is_total(text: str) -> None:
    kb = load_builtin()
    for function in (from_license, from_email, from_url, from_organization_name):
        origin = function(text, kb)
        assert origin is None or origin.evidence
