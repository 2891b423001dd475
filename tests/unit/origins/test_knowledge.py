"""The shipped knowledge base, its look-ups and the user's ``--origins`` overlay."""

from __future__ import annotations

import dataclasses
import json
import re
import tempfile
from importlib import resources
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.core.errors import UsageError
from scanner.core.model import Confidence
from scanner.origins import knowledge
from scanner.origins.knowledge import (
    BUILTIN_LOCATION,
    EntryKind,
    KnowledgeBase,
    OriginEntry,
    load_builtin,
    load_overlay,
)

REFERENCE = Path(__file__).resolve().parents[3] / ".." / "shared" / "reference" / "origins.yaml"
#: Facts that deliberately differ from the shared reference: Prosus N.V. is registered in NL but
#: controlled by Naspers (ZA), and the data records the controlling jurisdiction.
CORRECTED_COUNTRIES = {(EntryKind.HF_NAMESPACE, "ProsusAI"): ("NL", "ZA")}
#: Organisation names reworded without changing the fact (the old text spoke of how it was found).
_EVILFREELANCER = (EntryKind.HF_NAMESPACE, "evilfreelancer")
REWORDED_ORGANIZATIONS = {_EVILFREELANCER: "evilfreelancer (individual; reportedly Pavel Rykov)"}
#: Steward facts corrected after checking them against the sources: natasha's own metadata names
#: "Natasha contributors" in the natasha GitHub organisation, not one person with a reported
#: country (https://github.com/natasha/natasha/blob/082a49c4ace0772b1399dc4d2fba81029cfdd2c3/setup.py);
#: no cited source makes the PSF the fiscal sponsor of requests (it hosts the repository).
_NATASHA = (EntryKind.PYPI_PACKAGE, "natasha")
CORRECTED_FIELDS: dict[tuple[EntryKind, str], dict[str, object]] = {
    _NATASHA: {
        "organisation": "Natasha project (community)",
        "individual": False,
        "community": True,
        "reported_origin": None,
    },
    (EntryKind.PYPI_PACKAGE, "requests"): {"fiscal_sponsor": None},
}
#: Words about how the data was researched: what users see speaks of the product and its sources.
PROCESS_PHRASES = (
    "this session",
    "this-session",
    "background knowledge",
    "background-knowledge",
    "from background",
    "(background",
    "find_repos",
    "code search",
    "pip download",
    "jurisdiction.md",
    "shared/",
    "corpus/",
    "research notes",
    "CORRECTED",
    "ADDED 20",
    "ADDED this",
    "CHANGED",
    "converted from",
    "not re-checked",
    "re-verified this",
    "local METADATA",
    "(org page)",
)
#: A reference a user can follow: a URL (PyPI releases, GitHub, the Hub, licence texts, sites).
_FOLLOWABLE = re.compile(r"https?://[^\s/;]+\.[^\s;]*\S")
_URL = re.compile(r"https?://\S+")
#: Further words the file's own description must not use (entries may: "Microsoft Research").
_PROCESS_WORDS = re.compile(
    r"\bconvert(ed|ing)?\b|\bconversion|research|\breference\b|session", re.I
)


def _data_text() -> str:
    return resources.files("scanner.origins").joinpath("data").joinpath("origins.yaml").read_text()


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_builtin()


@pytest.fixture(scope="module")
def reference() -> dict[str, object]:
    if not REFERENCE.is_file():
        pytest.skip(f"reference not available: {REFERENCE}")
    data = yaml.safe_load(REFERENCE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


# --- the shipped data ----------------------------------------------------------------------------
def test_builtin_is_cached_and_nonempty(kb: KnowledgeBase) -> None:
    assert load_builtin() is kb
    assert len(kb) > 500
    assert all(entry.defined_in == BUILTIN_LOCATION and not entry.user for entry in kb)


@pytest.mark.parametrize(
    ("kind", "ident", "country", "organization_part"),
    [
        (EntryKind.HF_NAMESPACE, "meta-llama", "US", "Meta"),
        (EntryKind.HF_NAMESPACE, "yandex", "RU", "Yandex"),
        (EntryKind.HF_NAMESPACE, "ai-forever", "RU", "Sber"),
        (EntryKind.HF_NAMESPACE, "Qwen", "CN", "Alibaba"),
        (EntryKind.HF_NAMESPACE, "01-ai", "CN", "01.AI"),
        (EntryKind.HF_NAMESPACE, "mistralai", "FR", "Mistral AI"),
        (EntryKind.GITHUB_ORG, "catboost", "RU", "Yandex"),
        (EntryKind.PYPI_PACKAGE, "gigachat", "RU", "Sber"),
        (EntryKind.EMAIL_DOMAIN, "yandex-team.ru", "RU", "Yandex"),
        (EntryKind.LICENSE, "llama3", "US", "Meta"),
    ],
)
def test_known_entries(
    kb: KnowledgeBase, kind: EntryKind, ident: str, country: str, organization_part: str
) -> None:
    entry = kb.lookup(kind, ident)
    assert entry is not None
    assert entry.country == country
    assert organization_part in entry.organization
    assert entry.source


def test_meta_llama_is_high_confidence(kb: KnowledgeBase) -> None:
    entry = kb.lookup(EntryKind.HF_NAMESPACE, "meta-llama")
    assert entry is not None
    assert entry.confidence is Confidence.HIGH
    assert entry.verified == knowledge.CHECKED
    assert "https://huggingface.co/meta-llama" in entry.source


@pytest.mark.parametrize(
    ("license", "organization", "country"),
    [
        ("llama2", "Meta", "US"),
        ("llama3", "Meta", "US"),
        ("llama3.1", "Meta", "US"),
        ("llama3.2", "Meta", "US"),
        ("llama3.3", "Meta", "US"),
        ("llama4", "Meta", "US"),
        ("gemma", "Google", "US"),
        ("qwen", "Alibaba", "CN"),
        ("tongyi-qianwen", "Alibaba", "CN"),
        ("qwen-research", "Alibaba", "CN"),
        ("deepseek", "DeepSeek", "CN"),
        ("yandexgpt-5-lite-8b", "Yandex", "RU"),
        ("yandexgpt-5-lite-8b-pretrain", "Yandex", "RU"),
        ("exaone", "LG AI Research", "KR"),
        ("hyperclovax-seed", "NAVER Cloud", "KR"),
        ("falcon-llm-license", "TII", "AE"),
        ("tencent-hunyuan-community", "Tencent", "CN"),
        ("mnpl", "Mistral AI", "FR"),
        ("mrl", "Mistral AI", "FR"),
        ("flux-1-dev-non-commercial-license", "Black Forest Labs", "DE"),
        ("ai2-impact-license", "Ai2", "US"),
        ("apple-amlr", "Apple", "US"),
        ("apple-ascl", "Apple", "US"),
        ("nvidia-open-model-license", "NVIDIA", "US"),
        ("glm-4", "Zhipu AI", "CN"),
    ],
)
def test_license_entries(kb: KnowledgeBase, license: str, organization: str, country: str) -> None:
    entry = kb.lookup(EntryKind.LICENSE, license)
    assert entry is not None
    assert (entry.organization, entry.country) == (organization, country)
    assert _FOLLOWABLE.match(entry.source), entry.source


@pytest.mark.parametrize(
    "namespace",
    [
        "TheBloke",
        "bartowski",
        "mradermacher",
        "mlx-community",
        "lmstudio-community",
        "unsloth",
        "MaziyarPanahi",
        "QuantFactory",
        "second-state",
    ],
)
def test_reuploaders_are_flagged(kb: KnowledgeBase, namespace: str) -> None:
    entry = kb.lookup(EntryKind.HF_NAMESPACE, namespace)
    assert entry is not None
    assert entry.reuploader


def test_first_party_publishers_are_not_reuploaders(kb: KnowledgeBase) -> None:
    for namespace in ("meta-llama", "Qwen", "yandex", "NousResearch", "ehartford"):
        entry = kb.lookup(EntryKind.HF_NAMESPACE, namespace)
        assert entry is not None
        assert not entry.reuploader, namespace


@pytest.mark.parametrize(
    "domain", ["gmail.com", "ya.ru", "yandex.ru", "mail.ru", "qq.com", "163.com"]
)
def test_consumer_mail_is_flagged(kb: KnowledgeBase, domain: str) -> None:
    entry = kb.lookup(EntryKind.EMAIL_DOMAIN, domain)
    assert entry is not None
    assert entry.consumer_mail


def test_builtin_entries_are_well_formed(kb: KnowledgeBase) -> None:
    for entry in kb:
        assert entry.source, entry.id
        assert entry.as_of, entry.id
        assert entry.verified in knowledge.VERIFIED_VALUES, entry.id
        if entry.individual or entry.community:
            assert entry.country is None, f"{entry.id}: individuals/communities have no country"


def test_every_builtin_source_is_followable(kb: KnowledgeBase) -> None:
    """Each ``" ; "``-separated reference starts with a URL a user can open."""
    for entry in kb:
        references = entry.source.split(" ; ")
        assert all(_FOLLOWABLE.match(ref) for ref in references), (entry.id, entry.source)


def test_no_entry_speaks_of_how_it_was_researched(kb: KnowledgeBase) -> None:
    for entry in kb:
        for name in ("source", "note", "organization"):
            text = getattr(entry, name) or ""
            found = [phrase for phrase in PROCESS_PHRASES if phrase.lower() in text.lower()]
            assert not found, (entry.id, name, found)
            # "reference" as a word (outside URLs) named the research file entries came from
            assert not re.search(r"\breference\b", _URL.sub("", text), re.I), (entry.id, name)


def test_file_header_and_meta_describe_the_product_only() -> None:
    text = _data_text()
    header = text[: text.index("\nmeta:")]
    meta = yaml.safe_dump(yaml.safe_load(text)["meta"])
    for part in (header, meta):
        found = [phrase for phrase in PROCESS_PHRASES if phrase.lower() in part.lower()]
        assert not found, found
        process = _PROCESS_WORDS.search(part)
        assert process is None, process
    assert "--origins FILE" in header
    assert "checked" in header
    assert "unchecked" in header


def test_counts_match_the_file_header(kb: KnowledgeBase) -> None:
    text = _data_text()
    meta = yaml.safe_load(text)["meta"]["counts"]
    by_kind = {kind.value: len(kb.of_kind(kind)) for kind in EntryKind}
    verified = {
        value: sum(1 for entry in kb if entry.verified == value)
        for value in (knowledge.CHECKED, knowledge.UNCHECKED)
    }
    assert meta["total"] == len(kb) == sum(by_kind.values())
    assert meta["by_kind"] == by_kind
    assert meta["verified"] == verified
    assert sum(verified.values()) == len(kb)
    comment = re.search(r"verified checked (\d+), unchecked (\d+)", text)
    assert comment is not None
    assert (int(comment[1]), int(comment[2])) == (
        verified[knowledge.CHECKED],
        verified[knowledge.UNCHECKED],
    )
    assert f"Counts: {len(kb)} entries" in text


def test_as_of_follows_verification(kb: KnowledgeBase) -> None:
    """Checked entries carry the month of their comparison, at the latest the data's last
    check (``meta.as_of_checked``, which some entry carries); others a year or a month."""
    checked_month = str(yaml.safe_load(_data_text())["meta"]["as_of_checked"])
    assert re.fullmatch(r"\d{4}-\d{2}", checked_month)
    months = {entry.as_of for entry in kb if entry.verified == knowledge.CHECKED}
    assert checked_month in months
    for entry in kb:
        if entry.verified == knowledge.CHECKED:
            assert entry.as_of is not None
            assert re.fullmatch(r"\d{4}-\d{2}", entry.as_of), entry.id
            assert entry.as_of <= checked_month, entry.id
        else:
            assert entry.as_of is not None
            assert re.fullmatch(r"\d{4}(-\d{2})?", entry.as_of), entry.id


def test_both_verification_states_occur(kb: KnowledgeBase) -> None:
    numpy = kb.lookup(EntryKind.PYPI_PACKAGE, "numpy")
    facebook = kb.lookup(EntryKind.HF_NAMESPACE, "facebook")
    assert numpy is not None
    assert facebook is not None
    assert numpy.verified == knowledge.CHECKED
    assert numpy.source.startswith("https://pypi.org/project/numpy/2.4.6/ (")
    assert facebook.verified == knowledge.UNCHECKED
    assert facebook.source == "https://huggingface.co/facebook"


def test_builtin_verified_must_be_checked_or_unchecked() -> None:
    document = {
        "entries": [
            {
                "id": "a",
                "kind": "licence",
                "organisation": "A",
                "confidence": "low",
                "source": "https://example.org/",
                "verified": "this-session",
                "as_of": "2026-11",
            }
        ]
    }
    expected = "verified must be one of checked, unchecked"
    with pytest.raises(knowledge._InvalidDocument, match=expected):
        knowledge._parse_document(document, user=False, defined_in="test")


def test_every_reference_entry_is_carried_over(
    kb: KnowledgeBase, reference: dict[str, object]
) -> None:
    entries = reference["entries"]
    assert isinstance(entries, list)
    assert len(entries) > 500
    changed = {}
    for raw in entries:
        kind = EntryKind(raw["kind"])
        entry = kb.lookup(kind, raw["id"])
        assert entry is not None, raw["id"]
        assert entry.id == raw["id"]
        assert entry.confidence.value == raw["confidence"]
        corrected = CORRECTED_FIELDS.get((kind, raw["id"]), {})
        expected = REWORDED_ORGANIZATIONS.get((kind, raw["id"]), raw["organisation"])
        assert entry.organization == corrected.get("organisation", expected)
        for flag in ("community", "individual", "consumer_mail", "url_domain"):
            wanted = corrected.get(flag, bool(raw.get(flag)))
            assert getattr(entry, flag) == wanted, (raw["id"], flag)
        for name in ("parent", "origin_country", "fiscal_sponsor", "reported_origin"):
            assert getattr(entry, name) == corrected.get(name, raw.get(name)), (raw["id"], name)
        if entry.country != raw["country"]:
            changed[(kind, raw["id"])] = (raw["country"], entry.country)
    assert changed == CORRECTED_COUNTRIES


def test_reference_license_and_tld_signals_are_carried_over(
    kb: KnowledgeBase, reference: dict[str, object]
) -> None:
    signals = reference["license_signals"]
    assert isinstance(signals, list)
    for raw in signals:
        entry = kb.lookup(EntryKind.LICENSE, raw["license_id"])
        assert entry is not None, raw["license_id"]
        assert (entry.organization, entry.country) == (raw["organisation"], raw["country"])
        assert entry.confidence.value == raw["confidence"]
    tlds = reference["tld_signals"]
    assert isinstance(tlds, list)
    for raw in tlds:
        signal = kb.tld_signal(raw["tld"])
        assert signal is not None
        assert signal.country == raw["country"]


# --- look-ups ------------------------------------------------------------------------------------
def test_hub_namespace_exact_then_case_insensitive(kb: KnowledgeBase) -> None:
    exact = kb.match(EntryKind.HF_NAMESPACE, "meta-llama")
    folded = kb.match(EntryKind.HF_NAMESPACE, "Meta-Llama")
    assert exact is not None
    assert exact.exact
    assert folded is not None
    assert not folded.exact
    assert folded.entry is exact.entry
    assert kb.match(EntryKind.HF_NAMESPACE, "meta-llama-fake") is None


@pytest.mark.parametrize(
    ("asked", "found"),
    [
        ("pyyaml", "PyYAML"),
        ("Huggingface_Hub", "huggingface-hub"),
        ("sentence.transformers", "sentence-transformers"),
        ("  NumPy ", "numpy"),
    ],
)
def test_pypi_names_are_pep503_normalised(kb: KnowledgeBase, asked: str, found: str) -> None:
    match = kb.match(EntryKind.PYPI_PACKAGE, asked)
    assert match is not None
    assert match.entry.id == found
    assert match.exact  # the index itself compares normalised names


def test_domains_fall_back_to_parent_domains(kb: KnowledgeBase) -> None:
    match = kb.match(EntryKind.EMAIL_DOMAIN, "Mail.Yandex-Team.RU.")
    assert match is not None
    assert match.entry.id == "yandex-team.ru"
    assert match.matched == "yandex-team.ru"
    assert not match.exact
    # a label suffix is not a parent domain, and a bare TLD is no entry
    assert kb.match(EntryKind.EMAIL_DOMAIN, "evil-yandex-team.ru") is None
    assert kb.match(EntryKind.EMAIL_DOMAIN, "ru") is None


def test_github_orgs_and_licenses_ignore_case(kb: KnowledgeBase) -> None:
    org = kb.lookup(EntryKind.GITHUB_ORG, "vkcom")
    license = kb.lookup(EntryKind.LICENSE, " LLaMA3 ")
    assert org is not None
    assert org.id == "VKCOM"
    assert license is not None
    assert license.id == "llama3"


@pytest.mark.parametrize("ident", ["", "   ", "x" * 10_000])
def test_odd_lookups_find_nothing(kb: KnowledgeBase, ident: str) -> None:
    for kind in EntryKind:
        assert kb.match(kind, ident) is None


def test_knowledge_base_is_immutable(kb: KnowledgeBase) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        kb.entries = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        kb._by_key[(EntryKind.LICENSE, "x")] = kb.entries[0]  # type: ignore[index]


def test_later_entries_win_and_the_base_is_unchanged(kb: KnowledgeBase) -> None:
    mine = OriginEntry(
        id="Yandex",
        kind=EntryKind.HF_NAMESPACE,
        organization="Someone else",
        country="DE",
        source="test",
        confidence=Confidence.LOW,
        user=True,
    )
    layered = kb.with_entries([mine])
    assert layered.lookup(EntryKind.HF_NAMESPACE, "yandex") is mine
    assert len(layered) == len(kb)
    original = kb.lookup(EntryKind.HF_NAMESPACE, "yandex")
    assert original is not None
    assert original.country == "RU"


# --- the user's overlay --------------------------------------------------------------------------
def _write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def test_overlay_adds_an_override_entry(kb: KnowledgeBase, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "mine.yaml",
        "entries:\n"
        "- id: acme-labs\n  kind: hf-namespace\n  organisation: Acme Labs LLC\n"
        "  country: RU\n  confidence: high\n",
    )
    layered = load_overlay(kb, path)
    entry = layered.lookup(EntryKind.HF_NAMESPACE, "acme-labs")
    assert entry is not None
    assert entry.user
    assert entry.defined_in == str(path)
    assert entry.country == "RU"
    assert entry.source == f"user origins file {path}"
    assert kb.lookup(EntryKind.HF_NAMESPACE, "acme-labs") is None


def test_overlay_wins_over_builtin_and_accepts_json(kb: KnowledgeBase, tmp_path: Path) -> None:
    document = [
        {
            "id": "mistralai",
            "kind": "hf-namespace",
            "organisation": "Mistral AI (as we see it)",
            "country": "FR",
            "confidence": "medium",
            "source": "our legal review 2026-10",
            "as_of": "2026-10",
        }
    ]
    layered = load_overlay(kb, _write(tmp_path, "mine.json", json.dumps(document)))
    entry = layered.lookup(EntryKind.HF_NAMESPACE, "mistralai")
    assert entry is not None
    assert entry.user
    assert entry.organization == "Mistral AI (as we see it)"
    assert entry.source == "our legal review 2026-10"
    assert len(layered) == len(kb)


def test_overlay_reads_native_yaml_dates(kb: KnowledgeBase, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "dated.yml",
        "- {id: x.example, kind: email-domain, organisation: X, confidence: low, "
        "as_of: 2026-08-01}\n",
    )
    entry = load_overlay(kb, path).lookup(EntryKind.EMAIL_DOMAIN, "x.example")
    assert entry is not None
    assert entry.as_of == "2026-08-01"


ENTRY = "  kind: hf-namespace\n  organisation: A\n  confidence: high\n"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("entries:\n- id: a\n  country: ru\n" + ENTRY, r"entry 1 \('a'\): country 'ru' is not"),
        ("entries:\n- id: a\n  country: NO\n" + ENTRY, r"quote country codes"),
        ("entries:\n- id: a\n  country: RUS\n" + ENTRY, r"country 'RUS'"),
        (
            "entries:\n- id: a\n  kind: galaxy\n  organisation: A\n  confidence: high\n",
            r"kind 'galaxy' is not one of hf-namespace",
        ),
        (
            "entries:\n- id: a\n  kind: licence\n  organisation: A\n  confidence: certain\n",
            r"confidence 'certain' is not one of high, medium, low",
        ),
        ("entries:\n- id: a\n  contry: RU\n" + ENTRY, r"unknown field\(s\) contry"),
        ("entries:\n- id: a\n  kind: licence\n  confidence: low\n", r"organisation is missing"),
        ("entries:\n- kind: licence\n  organisation: A\n  confidence: low\n", r"entry 1: id is"),
        ("entries:\n- id: a\n  community: 'yes'\n" + ENTRY, r"community must be true or false"),
        ("entries:\n- id: a\n  community: true\n  individual: true\n" + ENTRY, r"both community"),
        ("entries:\n- id: a\n  consumer_mail: true\n" + ENTRY, r"email-domain entries only"),
        ("entries:\n- id: a\n" + ENTRY + "- id: A\n" + ENTRY, r"entry 2 .* repeats entry 1"),
        ("entries:\n- just a string\n", r"entry 1: expected a mapping"),
        ("entries: {id: a}\n", r"must be lists"),
        ("- id: a\n  user: true\n" + ENTRY, r"unknown field\(s\) user"),
        ("42\n", r"expected a mapping"),
        ("origins: []\n", r"unknown top-level key\(s\) origins"),
        ("entries: [\n", r"is not valid YAML"),
        ("tld_signals:\n- tld: 'a b'\n  country: RU\n", r"not a top-level domain"),
    ],
)
def test_malformed_overlay_names_the_file_and_entry(
    kb: KnowledgeBase, tmp_path: Path, content: str, expected: str
) -> None:
    path = _write(tmp_path, "bad.yaml", content)
    with pytest.raises(UsageError, match=expected) as caught:
        load_overlay(kb, path)
    assert str(path) in str(caught.value)
    assert caught.value.exit_code == 2


def test_malformed_json_overlay(kb: KnowledgeBase, tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.json", '{"entries": [')
    with pytest.raises(UsageError, match=r"bad\.json is not valid JSON"):
        load_overlay(kb, path)


def test_unreadable_overlays(kb: KnowledgeBase, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"cannot read origins file .*missing\.yaml"):
        load_overlay(kb, tmp_path / "missing.yaml")
    with pytest.raises(UsageError, match=r"cannot read origins file"):
        load_overlay(kb, tmp_path)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(UsageError, match=r"binary\.yaml is not valid YAML"):
        load_overlay(kb, binary)


def test_oversized_overlay_is_refused(
    kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(knowledge, "MAX_FILE_BYTES", 64)
    path = _write(tmp_path, "big.yaml", "entries: []\n" + "#" * 100 + "\n")
    with pytest.raises(UsageError, match=r"big\.yaml is larger than 64 bytes"):
        load_overlay(kb, path)


def test_deeply_nested_overlay_is_a_usage_error(kb: KnowledgeBase, tmp_path: Path) -> None:
    path = _write(tmp_path, "deep.yaml", "[" * 50_000 + "]" * 50_000)
    with pytest.raises(UsageError, match=r"deep\.yaml"):
        load_overlay(kb, path)


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=12),
    st.sampled_from(["RU", "hf-namespace", "licence", "high", "low", "NO", "ru"]),
)
_FIELDS = st.sampled_from(
    ["id", "kind", "organisation", "country", "confidence", "community", "as_of", "x", "source"]
)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.text(max_size=300),
        st.lists(st.dictionaries(_FIELDS, _SCALARS, max_size=8), max_size=4).map(
            lambda entries: yaml.safe_dump({"entries": entries})
        ),
    )
)
def test_fuzzed_overlays_load_or_raise_usage_error(content: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.yaml"
        path.write_text(content, encoding="utf-8")
        message = ""
        try:
            layered = load_overlay(KnowledgeBase(), path)
        except UsageError as exc:
            message = str(exc)
        else:
            assert all(entry.user for entry in layered)
        assert not message or str(path) in message


@pytest.mark.parametrize(
    "name",
    ["Requests", "ruamel.yaml", "zope_interface", "A--B__C..D", "typing-extensions", "PyYAML", "x"],
)
def test_pypi_ids_normalise_as_packaging_does(name: str) -> None:
    """The knowledge base writes PEP 503's rule itself (packaging loads only when needed)."""
    from packaging.utils import canonicalize_name

    from scanner.origins.knowledge import EntryKind, normalise_id

    assert normalise_id(EntryKind.PYPI_PACKAGE, name) == canonicalize_name(name)


def test_built_in_packages_and_github_orgs_are_parsed_on_first_need() -> None:
    """A model scan never asks about PyPI packages: those entries wait until one is asked."""
    knowledge.load_builtin.cache_clear()
    try:
        kb = knowledge.load_builtin()

        def waiting() -> bool:
            return kb.deferred is not None

        assert waiting()
        assert kb.lookup(EntryKind.HF_NAMESPACE, "meta-llama") is not None
        assert waiting()  # a Hub namespace needs none of them
        assert kb.lookup(EntryKind.PYPI_PACKAGE, "numpy") is not None
        assert not waiting()
        assert kb.lookup(EntryKind.GITHUB_ORG, "pallets") is not None
        kinds = {entry.kind for entry in kb}
        assert {EntryKind.PYPI_PACKAGE, EntryKind.GITHUB_ORG, EntryKind.HF_NAMESPACE} <= kinds
    finally:
        knowledge.load_builtin.cache_clear()


def test_a_users_entry_still_wins_over_a_deferred_built_in_one(tmp_path: Path) -> None:
    knowledge.load_builtin.cache_clear()
    try:
        mine = tmp_path / "mine.yaml"
        mine.write_text(
            "- id: numpy\n  kind: pypi-package\n  organisation: Mine\n  confidence: low\n"
        )
        kb = load_overlay(knowledge.load_builtin(), mine)
        found = kb.lookup(EntryKind.PYPI_PACKAGE, "numpy")
        assert found is not None
        assert found.organization == "Mine"
        assert sum(1 for e in kb if e.kind is EntryKind.PYPI_PACKAGE and e.key == "numpy") == 1
    finally:
        knowledge.load_builtin.cache_clear()
