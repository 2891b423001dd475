"""Attribution of a whole scan: namespaces, re-uploads, inheritance, hints and overrides."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from scanner.core.config import ScanConfig
from scanner.core.model import (
    Component,
    ComponentKind,
    Confidence,
    Evidence,
    Origin,
    OriginBasis,
    Relation,
    RelationKind,
    ScanResult,
    StewardKind,
)
from scanner.core.properties import PropertyName
from scanner.origins.attribute import attribute
from scanner.origins.knowledge import KnowledgeBase, load_builtin, load_overlay
from scanner.sources.local_dir import scan_local
from tests.conftest import CORPUS as CORPUS_ROOT

CORPUS = CORPUS_ROOT


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_builtin()


def hub(
    repo_id: str, *, licenses: tuple[str, ...] = (), kind: ComponentKind = ComponentKind.MODEL
) -> Component:
    namespace, name = repo_id.split("/")
    return Component(
        ref=f"pkg:huggingface/{repo_id}",
        kind=kind,
        name=name,
        group=namespace,
        purl=f"pkg:huggingface/{repo_id}",
        licenses=licenses,
        external_urls=(("website", f"https://huggingface.co/{repo_id}"),),
    )


def rel(src: Component, dst: Component, kind: RelationKind) -> Relation:
    evidence = Evidence(
        location="README.md", field="base_model", value=dst.ref, method="model-card"
    )
    return Relation(src=src.ref, dst=dst.ref, kind=kind, evidence=(evidence,))


def scan(*components: Component, relations: tuple[Relation, ...] = ()) -> ScanResult:
    return ScanResult(subjects=(components[0].ref,), components=components, relations=relations)


def origin(result: ScanResult, comp: Component) -> Origin:
    found = result.component(comp.ref).origin
    assert found is not None
    return found


def assert_unknown(found: Origin) -> None:
    assert found.organization is None
    assert found.country is None
    assert found.steward is StewardKind.UNKNOWN
    assert found.basis is OriginBasis.METADATA
    assert found.confidence is Confidence.LOW


# --- namespaces ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("repo_id", "country", "confidence"),
    [
        ("meta-llama/Llama-3.1-8B", "US", Confidence.HIGH),
        ("yandex/YandexGPT-5-Lite-8B-pretrain", "RU", Confidence.HIGH),
        ("ai-forever/ruGPT-3.5-13B", "RU", Confidence.HIGH),
        ("Qwen/Qwen2.5-7B", "CN", Confidence.HIGH),
        ("01-ai/Yi-1.5-6B", "CN", Confidence.HIGH),
        ("mistralai/Mistral-7B-v0.1", "FR", Confidence.HIGH),
        ("Meta-Llama/Llama-3.1-8B", "US", Confidence.MEDIUM),  # case-insensitive fallback
    ],
)
def test_curated_namespace(
    kb: KnowledgeBase, repo_id: str, country: str, confidence: Confidence
) -> None:
    model = hub(repo_id)
    found = origin(attribute(scan(model), kb), model)
    assert found.country == country
    assert found.steward is StewardKind.ORGANIZATION
    assert found.basis is OriginBasis.CURATED
    assert found.confidence is confidence
    namespace, entry = found.evidence
    assert (namespace.field, namespace.value) == ("namespace", model.group)
    assert namespace.location == f"https://huggingface.co/{repo_id}"
    assert entry.method == "origins-curated"


def test_unknown_namespace_is_unknown_not_foreign(kb: KnowledgeBase) -> None:
    model = hub("some-person-1234/my-finetune")
    found = origin(attribute(scan(model), kb), model)
    assert_unknown(found)
    assert found.evidence[0].value == "some-person-1234"
    assert found.note is not None
    assert "not foreign" in found.note


def test_individual_namespace_has_no_country(kb: KnowledgeBase) -> None:
    model = hub("IlyaGusev/saiga_llama3_8b")
    found = origin(attribute(scan(model), kb), model)
    assert found.steward is StewardKind.INDIVIDUAL
    assert found.country is None
    assert found.organization == "Ilya Gusev (individual)"
    assert found.note is not None
    assert "reported origin RU" in found.note


def test_subject_without_namespace_and_unresolved_ancestor(kb: KnowledgeBase) -> None:
    subject = Component(ref="model:my-model", kind=ComponentKind.MODEL, name="my-model")
    unresolved = Component(
        ref="model:unresolved:/home/me/base", kind=ComponentKind.MODEL, name="base"
    )
    result = attribute(
        scan(subject, unresolved, relations=(rel(subject, unresolved, RelationKind.FINETUNE),)),
        kb,
    )
    assert_unknown(origin(result, subject))
    assert_unknown(origin(result, unresolved))
    assert "/home/me/base" in (origin(result, unresolved).note or "")


# --- re-uploaders --------------------------------------------------------------------------------
def test_reupload_inherits_from_its_base(kb: KnowledgeBase) -> None:
    gptq = hub("TheBloke/Wizard-Vicuna-30B-Uncensored-GPTQ")
    base = hub("ehartford/Wizard-Vicuna-30B-Uncensored")
    result = attribute(scan(gptq, base, relations=(rel(gptq, base, RelationKind.QUANTIZED),)), kb)
    found = origin(result, gptq)
    assert found.basis is OriginBasis.INHERITED
    assert found.organization == origin(result, base).organization
    assert found.steward is StewardKind.INDIVIDUAL
    assert found.country is None
    assert found.note is not None
    assert found.note.startswith(
        "re-uploaded by TheBloke; weights from ehartford/Wizard-Vicuna-30B-Uncensored"
    )
    assert any(e.field == "base_model" for e in found.evidence)
    assert any(e.field == "hf-namespace:TheBloke" for e in found.evidence)


def test_reupload_chain_reaches_the_original(kb: KnowledgeBase) -> None:
    gguf = hub("bartowski/Qwen2.5-7B-Instruct-GGUF")
    mlx = hub("mlx-community/Qwen2.5-7B-Instruct-4bit")
    base = hub("Qwen/Qwen2.5-7B-Instruct")
    result = attribute(
        scan(
            gguf,
            mlx,
            base,
            relations=(
                rel(gguf, mlx, RelationKind.QUANTIZED),
                rel(mlx, base, RelationKind.QUANTIZED),
            ),
        ),
        kb,
    )
    found = origin(result, gguf)
    assert found.country == "CN"
    assert found.basis is OriginBasis.INHERITED
    assert found.note is not None
    assert "bartowski" in found.note
    assert "mlx-community" in found.note


def test_reupload_without_known_base_is_unknown(kb: KnowledgeBase) -> None:
    lonely = hub("mradermacher/Something-GGUF")
    unknown_base = hub("nobody-known/Something")
    result = attribute(
        scan(lonely, unknown_base, relations=(rel(lonely, unknown_base, RelationKind.QUANTIZED),)),
        kb,
    )
    found = origin(result, lonely)
    assert_unknown(found)
    assert found.note == (
        "re-uploaded by mradermacher; weights from nobody-known/Something, whose origin is unknown"
    )
    bare = hub("unsloth/qwen2.5-0.5b-unsloth-bnb-4bit")
    found = origin(attribute(scan(bare), kb), bare)
    assert_unknown(found)
    assert "re-uploaded by unsloth" in (found.note or "")


def test_reupload_of_a_merge_keeps_first_parent_and_hints_the_rest(kb: KnowledgeBase) -> None:
    gguf = hub("QuantFactory/Merged-GGUF")
    first = hub("yandex/YandexGPT-5-Lite-8B-instruct")
    second = hub("Qwen/Qwen2.5-7B")
    result = attribute(
        scan(
            gguf,
            first,
            second,
            relations=(rel(gguf, first, RelationKind.MERGE), rel(gguf, second, RelationKind.MERGE)),
        ),
        kb,
    )
    comp = result.component(gguf.ref)
    assert comp.origin is not None
    assert comp.origin.country == "RU"
    assert [hint.country for hint in comp.origin_hints] == ["CN"]
    assert comp.origin_hints[0].basis is OriginBasis.INHERITED


def test_reupload_cycle_terminates_unknown(kb: KnowledgeBase) -> None:
    one = hub("TheBloke/A-GGUF")
    two = hub("bartowski/A-GGUF")
    result = attribute(
        scan(
            one,
            two,
            relations=(
                rel(one, two, RelationKind.QUANTIZED),
                rel(two, one, RelationKind.QUANTIZED),
            ),
        ),
        kb,
    )
    assert_unknown(origin(result, one))
    assert_unknown(origin(result, two))


def test_very_deep_reupload_chain_stops_unknown(kb: KnowledgeBase) -> None:
    chain = [hub(f"TheBloke/M{index}-GGUF") for index in range(200)]
    chain.append(hub("Qwen/Qwen2.5-7B"))
    relations = tuple(
        rel(chain[index], chain[index + 1], RelationKind.QUANTIZED) for index in range(200)
    )
    result = attribute(scan(*chain, relations=relations), kb)
    assert_unknown(origin(result, chain[0]))
    assert origin(result, chain[-2]).country == "CN"  # short chains still resolve


# --- datasets, tokenizers, code, libraries, files ------------------------------------------------
def test_datasets_use_hub_namespaces(kb: KnowledgeBase) -> None:
    model = hub("ai-forever/ruGPT-3.5-13B")
    named = Component(
        ref="dataset:ai-forever/MERA", kind=ComponentKind.DATASET, name="MERA", group="ai-forever"
    )
    bare = Component(ref="dataset:s2orc", kind=ComponentKind.DATASET, name="s2orc")
    result = attribute(scan(model, named, bare), kb)
    assert origin(result, named).country == "RU"
    assert_unknown(origin(result, bare))


def test_tokenizer_follows_its_source_else_its_model(kb: KnowledgeBase) -> None:
    subject = hub("some-person/ruadapt-model")
    own_tok = Component(
        ref="tokenizer:some-person/ruadapt-model", kind=ComponentKind.TOKENIZER, name="t"
    )
    source = hub("Qwen/Qwen2.5-7B")
    other = hub("yandex/YandexGPT-5-Lite-8B-pretrain")
    other_tok = Component(
        ref="tokenizer:yandex/YandexGPT-5-Lite-8B-pretrain", kind=ComponentKind.TOKENIZER, name="t"
    )
    result = attribute(
        scan(
            subject,
            own_tok,
            source,
            other,
            other_tok,
            relations=(
                rel(subject, own_tok, RelationKind.DEPENDS_ON),
                rel(own_tok, source, RelationKind.TOKENIZER_FROM),
                rel(other, other_tok, RelationKind.DEPENDS_ON),
            ),
        ),
        kb,
    )
    from_source = origin(result, own_tok)
    assert from_source.country == "CN"
    assert from_source.basis is OriginBasis.INHERITED
    assert from_source.note is not None
    assert from_source.note.startswith("tokenizer from Qwen/Qwen2.5-7B")
    from_model = origin(result, other_tok)
    assert from_model.country == "RU"
    assert from_model.basis is OriginBasis.INHERITED


def test_code_follows_namespace_or_its_model(kb: KnowledgeBase) -> None:
    subject = hub("THUDM/chatglm-6b")
    local = Component(
        ref="code:THUDM/chatglm-6b/modeling_chatglm.py",
        kind=ComponentKind.CODE,
        name="modeling_chatglm.py",
    )
    remote = Component(
        ref="code:deepseek-ai/DeepSeek-V3/modeling_deepseek.py",
        kind=ComponentKind.CODE,
        name="modeling_deepseek.py",
        group="deepseek-ai",
    )
    orphan = Component(ref="code:x/y.py", kind=ComponentKind.CODE, name="y.py")
    result = attribute(
        scan(
            subject,
            local,
            remote,
            orphan,
            relations=(
                rel(subject, local, RelationKind.DEPENDS_ON),
                rel(subject, remote, RelationKind.REMOTE_CODE_FROM),
            ),
        ),
        kb,
    )
    assert origin(result, local).country == "CN"
    assert origin(result, local).basis is OriginBasis.INHERITED
    assert origin(result, remote).basis is OriginBasis.CURATED
    assert origin(result, remote).organization == "Hangzhou DeepSeek AI (High-Flyer)"
    assert_unknown(origin(result, orphan))


@pytest.mark.parametrize(
    ("name", "sponsor"), [("numpy", "NumFOCUS"), ("vllm", "PyTorch Foundation (Linux Foundation)")]
)
def test_community_libraries_have_no_country(kb: KnowledgeBase, name: str, sponsor: str) -> None:
    lib = Component(
        ref=f"pkg:pypi/{name}@1.0",
        kind=ComponentKind.LIBRARY,
        name=name,
        purl=f"pkg:pypi/{name}@1.0",
    )
    found = origin(attribute(scan(lib), kb), lib)
    assert found.steward is StewardKind.COMMUNITY
    assert found.country is None
    assert found.note is not None
    assert f"fiscal sponsor {sponsor} (US): a note, not an origin" in found.note


def test_libraries_by_normalised_name(kb: KnowledgeBase) -> None:
    known = Component(
        ref="lib:1", kind=ComponentKind.LIBRARY, name="x", purl="pkg:pypi/Yandex_Cloud_ML_SDK@0.1"
    )
    unknown = Component(
        ref="lib:2", kind=ComponentKind.LIBRARY, name="left-pad-ai", purl="pkg:pypi/left-pad-ai"
    )
    npm = Component(ref="lib:3", kind=ComponentKind.LIBRARY, name="numpy", purl="pkg:npm/numpy@1")
    result = attribute(scan(known, unknown, npm), kb)
    assert origin(result, known).country == "RU"
    assert_unknown(origin(result, unknown))
    assert_unknown(origin(result, npm))


def test_files_get_no_origin(kb: KnowledgeBase) -> None:
    model = hub("meta-llama/Llama-3.1-8B")
    weights = Component(
        ref="file:x/model.safetensors", kind=ComponentKind.FILE, name="model.safetensors"
    )
    result = attribute(
        scan(model, weights, relations=(rel(model, weights, RelationKind.CONTAINS),)), kb
    )
    assert result.component(weights.ref).origin is None
    assert result.component(weights.ref).origin_hints == ()


# --- hints ---------------------------------------------------------------------------------------
def test_license_on_a_subject_without_namespace_is_only_a_hint(kb: KnowledgeBase) -> None:
    subject = Component(
        ref="model:saiga",
        kind=ComponentKind.MODEL,
        name="saiga",
        licenses=("llama3",),
        evidence=(
            Evidence(
                location="README.md", field="license_name", value="llama3", method="model-card"
            ),
        ),
    )
    comp = attribute(scan(subject), kb).component(subject.ref)
    assert comp.origin is not None
    assert_unknown(comp.origin)
    (hint,) = comp.origin_hints
    assert (hint.organization, hint.country, hint.basis) == ("Meta", "US", OriginBasis.LICENSE)
    observed = hint.evidence[0]
    assert (observed.location, observed.field, observed.value) == ("README.md", "license", "llama3")


def test_license_hint_on_a_derivative_does_not_change_its_origin(kb: KnowledgeBase) -> None:
    model = hub("t-tech/T-pro-it-1.0", licenses=("qwen", "apache-2.0"))
    comp = attribute(scan(model), kb).component(model.ref)
    assert comp.origin is not None
    assert comp.origin.country == "RU"
    assert [(h.organization, h.country) for h in comp.origin_hints] == [("Alibaba", "CN")]


def test_gguf_organization_is_a_hint(kb: KnowledgeBase) -> None:
    subject = Component(ref="model:local-gguf", kind=ComponentKind.MODEL, name="local-gguf")
    weights = Component(
        ref="file:local-gguf/model.gguf",
        kind=ComponentKind.FILE,
        name="model.gguf",
        path="model.gguf",
        properties=((PropertyName.GGUF_ORGANIZATION, "Yandex"),),
    )
    comp = attribute(
        scan(subject, weights, relations=(rel(subject, weights, RelationKind.CONTAINS),)), kb
    ).component(subject.ref)
    assert comp.origin is not None
    assert comp.origin.country is None
    (hint,) = comp.origin_hints
    assert hint.country == "RU"
    assert hint.basis is OriginBasis.METADATA
    assert hint.evidence[0].location == "model.gguf"


# --- overrides and purity ------------------------------------------------------------------------
def test_user_entry_overrides(kb: KnowledgeBase, tmp_path: Path) -> None:
    path = tmp_path / "origins.yaml"
    path.write_text(
        "entries:\n"
        "- {id: acme-labs, kind: hf-namespace, organisation: Acme Labs, country: RU,\n"
        "   confidence: high}\n"
        "- {id: IlyaGusev, kind: hf-namespace, organisation: Ilya Gusev, individual: true,\n"
        "   country: RU, confidence: medium, source: signed attestation 2026-11}\n",
        encoding="utf-8",
    )
    layered = load_overlay(kb, path)
    acme = hub("acme-labs/model")
    gusev = hub("IlyaGusev/saiga")
    result = attribute(scan(acme, gusev), layered)
    found = origin(result, acme)
    assert (found.country, found.basis) == ("RU", OriginBasis.OVERRIDE)
    assert found.evidence[-1].location == str(path)
    assert found.evidence[-1].method == "origins-override"
    assert found.note is not None
    assert str(path) in found.note
    individual = origin(result, gusev)
    assert individual.steward is StewardKind.INDIVIDUAL
    assert individual.country == "RU"  # the user says so


def test_attribute_is_pure_and_idempotent(kb: KnowledgeBase) -> None:
    model = hub("TheBloke/X-GGUF", licenses=("llama2",))
    base = hub("meta-llama/Llama-2-7b-hf")
    original = scan(model, base, relations=(rel(model, base, RelationKind.QUANTIZED),))
    once = attribute(original, kb)
    assert all(comp.origin is None for comp in original.components)
    assert attribute(once, kb) == once
    assert once.relations == original.relations
    assert once.subjects == original.subjects


# --- real corpus folders -------------------------------------------------------------------------
def _scan_corpus(name: str) -> ScanResult:
    folder = CORPUS / "models" / name
    if not folder.is_dir():
        pytest.skip(f"corpus not available: {folder}")
    with tempfile.TemporaryDirectory() as cache:
        config = ScanConfig(cache_dir=Path(cache), jobs=1, use_cache=False, progress=False)
        inventory = scan_local(folder, config, None)
    return ScanResult(
        subjects=(inventory.subject_ref,),
        components=inventory.components,
        relations=inventory.relations,
    )


def test_corpus_thebloke_gptq_inherits_from_ehartford(kb: KnowledgeBase) -> None:
    result = attribute(_scan_corpus("TheBloke__Wizard-Vicuna-30B-Uncensored-GPTQ"), kb)
    subject = result.component(result.subjects[0])
    assert subject.origin is not None
    assert subject.origin.basis is OriginBasis.INHERITED
    assert subject.origin.organization is not None
    assert subject.origin.organization.startswith("Eric Hartford")
    assert "re-uploaded by TheBloke" in (subject.origin.note or "")
    for comp in result.components:
        assert (comp.origin is None) == (comp.kind is ComponentKind.FILE), comp.ref


def test_corpus_lora_on_sber_base(kb: KnowledgeBase) -> None:
    result = attribute(_scan_corpus("evilfreelancer__ruGPT-3.5-13B-lora"), kb)
    base = result.component("pkg:huggingface/ai-forever/ruGPT-3.5-13B")
    assert base.origin is not None
    assert base.origin.country == "RU"
    subject = result.component(result.subjects[0])
    assert subject.origin is not None
    assert subject.origin.steward is StewardKind.INDIVIDUAL
    assert subject.origin.country is None
