"""A scan after attribution and policy evaluation, shaped like examples/ru-chat-lora, and the
tests' own rule table (the exporters never import scanner.policy)."""

from __future__ import annotations

from dataclasses import dataclass

from scanner.core.model import (
    Component,
    ComponentKind,
    Confidence,
    Evidence,
    Finding,
    Hash,
    Layer,
    ModelCardFacts,
    Origin,
    OriginBasis,
    Relation,
    RelationKind,
    ScanIssue,
    ScanResult,
    Severity,
    StewardKind,
    TierVerdict,
    Verdict,
)

TARGET = "examples/ru-chat-lora"
SUBJECT = "model:ru-chat-lora"
INSTRUCT = "pkg:huggingface/meta-llama/Meta-Llama-3-8B-Instruct"
BASE = "pkg:huggingface/meta-llama/Meta-Llama-3-8B"
SAIGA = "dataset:IlyaGusev/ru_turbo_saiga"
SHAREGPT = "dataset:IlyaGusev/ru_sharegpt_cleaned"
TOKENIZER = "tokenizer:ru-chat-lora"
VLLM = "pkg:pypi/vllm@0.5.0"
README = "file:ru-chat-lora/README.md"
ADAPTER_CONFIG = "file:ru-chat-lora/adapter_config.json"
WEIGHTS = "file:ru-chat-lora/adapter_model.safetensors"
TOKENIZER_CONFIG = "file:ru-chat-lora/tokenizer_config.json"


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """The tests' rule description (scanner.policy has its own)."""

    id: str
    name: str
    description: str
    help: str
    severity: Severity


RULES = {
    rule.id: rule
    for rule in (
        Rule(
            id="SOV001",
            name="foreign-component",
            description="A component in a counted layer comes from another country. The tier "
            "needs every one to be domestic.",
            help="Replace the component with a domestic one, or choose a lower tier.",
            severity=Severity.HIGH,
        ),
        Rule(
            id="SOV002",
            name="unknown-origin",
            description="Nobody could be named as the component's origin.",
            help="Add an entry to your `--origins` file, with its source.",
            severity=Severity.MEDIUM,
        ),
        Rule(
            id="NAT001",
            name="restrictive-foreign-licence",
            description="A foreign component's licence restricts modification or commercial use.",
            help="Use an openly licensed base model.",
            severity=Severity.HIGH,
        ),
        Rule(
            id="TRU001",
            name="not-registered",
            description="The component is not on the trusted registry.",
            help="Register it with its SHA-256 after review.",
            severity=Severity.MEDIUM,
        ),
    )
}

META = Origin(
    organization="Meta Platforms, Inc.",
    steward=StewardKind.ORGANIZATION,
    country="US",
    basis=OriginBasis.CURATED,
    confidence=Confidence.HIGH,
    evidence=(
        Evidence(
            location="https://about.meta.com/", field="meta-llama", value="US", method="curated"
        ),
    ),
)
CURATED = Evidence(location="origins.yaml", field="meta-llama", value="US", method="curated")
BASE_MODEL_LINE = Evidence(
    location="README.md",
    field="base_model",
    value="meta-llama/Meta-Llama-3-8B-Instruct",
    method="model-card",
    line=2,
)
ADAPTER_BASE = Evidence(
    location="adapter_config.json",
    field="base_model_name_or_path",
    value="meta-llama/Meta-Llama-3-8B-Instruct",
    method="adapter-config",
)
LICENSE_LINE = Evidence(
    location="README.md", field="license", value="llama3", method="model-card", line=5
)
DATASETS_LINE = Evidence(
    location="README.md",
    field="datasets",
    value="IlyaGusev/ru_sharegpt_cleaned",
    method="model-card",
    line=8,
)


def _file(ref: str, path: str, size: int, digit: str) -> Component:
    return Component(
        ref=ref,
        kind=ComponentKind.FILE,
        name=path,
        path=path,
        size=size,
        hashes=(Hash(alg="SHA-256", value=digit * 64),),
        layer=Layer.FILES,
    )


def assessed_result() -> ScanResult:
    """An adapter of Llama 3 Instruct (a fine-tune of Llama 3), with datasets, tokenizer, a
    library, four files, findings in three tiers and one without a tier, and an issue."""
    components = (
        Component(
            ref=SUBJECT,
            kind=ComponentKind.ADAPTER,
            name="ru-chat-lora",
            licenses=("llama3",),
            layer=Layer.WEIGHTS,
            origin=Origin(
                organization=None,
                steward=StewardKind.UNKNOWN,
                country=None,
                basis=OriginBasis.METADATA,
                confidence=Confidence.LOW,
            ),
            origin_hints=(
                Origin(
                    organization="Meta Platforms, Inc.",
                    steward=StewardKind.ORGANIZATION,
                    country="US",
                    basis=OriginBasis.LICENSE,
                    confidence=Confidence.MEDIUM,
                    evidence=(LICENSE_LINE,),
                ),
            ),
            evidence=(LICENSE_LINE,),
            model_card=ModelCardFacts(task="text-generation", dataset_refs=(SAIGA, SHAREGPT)),
        ),
        Component(
            ref=INSTRUCT,
            kind=ComponentKind.MODEL,
            name="Meta-Llama-3-8B-Instruct",
            group="meta-llama",
            purl=INSTRUCT,
            licenses=("llama3",),
            layer=Layer.WEIGHTS,
            origin=META,
            evidence=(BASE_MODEL_LINE, ADAPTER_BASE),
        ),
        Component(
            ref=BASE,
            kind=ComponentKind.MODEL,
            name="Meta-Llama-3-8B",
            group="meta-llama",
            purl=BASE,
            licenses=("llama3",),
            layer=Layer.WEIGHTS,
            origin=Origin(
                organization="Meta Platforms, Inc.",
                steward=StewardKind.ORGANIZATION,
                country="US",
                basis=OriginBasis.INHERITED,
                confidence=Confidence.HIGH,
            ),
        ),
        Component(
            ref=SAIGA,
            kind=ComponentKind.DATASET,
            name="ru_turbo_saiga",
            group="IlyaGusev",
            layer=Layer.DATASETS,
            origin=Origin(
                organization=None,
                steward=StewardKind.INDIVIDUAL,
                country=None,
                basis=OriginBasis.METADATA,
                confidence=Confidence.LOW,
                note="an individual's namespace with no known organisation",
            ),
        ),
        Component(
            ref=SHAREGPT,
            kind=ComponentKind.DATASET,
            name="ru_sharegpt_cleaned",
            group="IlyaGusev",
            layer=Layer.DATASETS,
        ),
        Component(
            ref=TOKENIZER,
            kind=ComponentKind.TOKENIZER,
            name="ru-chat-lora tokenizer",
            layer=Layer.TOKENIZER,
        ),
        Component(
            ref=VLLM,
            kind=ComponentKind.LIBRARY,
            name="vllm",
            version="0.5.0",
            purl=VLLM,
            layer=Layer.PYTHON,
            origin=Origin(
                organization="vLLM project",
                steward=StewardKind.COMMUNITY,
                country=None,
                basis=OriginBasis.CURATED,
                confidence=Confidence.HIGH,
                parent="LF AI & Data Foundation",
                note="community project, fiscal sponsor LF AI & Data",
            ),
        ),
        _file(README, "README.md", 452, "1"),
        _file(ADAPTER_CONFIG, "adapter_config.json", 226, "2"),
        _file(WEIGHTS, "adapter_model.safetensors", 4368, "3"),
        _file(TOKENIZER_CONFIG, "tokenizer_config.json", 184, "4"),
    )
    relations = (
        Relation(src=SUBJECT, dst=INSTRUCT, kind=RelationKind.ADAPTER, evidence=(BASE_MODEL_LINE,)),
        Relation(src=INSTRUCT, dst=BASE, kind=RelationKind.FINETUNE),
        Relation(src=SUBJECT, dst=SAIGA, kind=RelationKind.TRAINED_ON),
        Relation(src=SUBJECT, dst=SHAREGPT, kind=RelationKind.TRAINED_ON),
        Relation(src=SUBJECT, dst=TOKENIZER, kind=RelationKind.DEPENDS_ON),
        Relation(src=TOKENIZER, dst=INSTRUCT, kind=RelationKind.TOKENIZER_FROM),
        Relation(src=SUBJECT, dst=VLLM, kind=RelationKind.DEPENDS_ON),
        *(
            Relation(src=SUBJECT, dst=ref, kind=RelationKind.CONTAINS)
            for ref in (README, ADAPTER_CONFIG, WEIGHTS, TOKENIZER_CONFIG)
        ),
    )
    findings = (
        Finding(
            rule_id="SOV001",
            severity=Severity.HIGH,
            component_ref=INSTRUCT,
            message="meta-llama/Meta-Llama-3-8B-Instruct comes from US (Meta Platforms, Inc.)",
            evidence=(CURATED, BASE_MODEL_LINE, ADAPTER_BASE),
            layer=Layer.WEIGHTS,
            tiers=("sovereign",),
            remediation="Replace meta-llama/Meta-Llama-3-8B-Instruct with a component from RU",
        ),
        Finding(
            rule_id="SOV001",
            severity=Severity.HIGH,
            component_ref=BASE,
            message="meta-llama/Meta-Llama-3-8B comes from US (Meta Platforms, Inc.)",
            evidence=(CURATED,),
            layer=Layer.WEIGHTS,
            tiers=("sovereign",),
        ),
        Finding(
            rule_id="SOV002",
            severity=Severity.MEDIUM,
            component_ref=SHAREGPT,
            message="dataset IlyaGusev/ru_sharegpt_cleaned has no known origin",
            evidence=(DATASETS_LINE,),
            layer=Layer.DATASETS,
            tiers=("sovereign",),
            remediation="Add an --origins entry for the Hub namespace IlyaGusev",
        ),
        Finding(
            rule_id="NAT001",
            severity=Severity.HIGH,
            component_ref=INSTRUCT,
            message="llama3 restricts use; Meta-Llama-3-8B-Instruct is foreign",
            evidence=(LICENSE_LINE,),
            layer=Layer.WEIGHTS,
            tiers=("national", "trusted"),
            remediation="Replace meta-llama/Meta-Llama-3-8B-Instruct with an openly licensed one",
        ),
        Finding(
            rule_id="TRU001",
            severity=Severity.MEDIUM,
            component_ref=SUBJECT,
            message="ru-chat-lora is not on the trusted registry",
            layer=Layer.WEIGHTS,
            tiers=("trusted",),
        ),
        Finding(
            rule_id="XYZ001",
            severity=Severity.LOW,
            component_ref=TOKENIZER,
            message="the tokenizer has a chat template",
        ),
    )
    verdicts = (
        TierVerdict(
            tier="sovereign",
            verdict=Verdict.FAIL,
            reasons=(
                "2 weights components come from US",
                "UNKNOWN: dataset IlyaGusev/ru_sharegpt_cleaned has no known origin",
            ),
        ),
        TierVerdict(
            tier="national",
            verdict=Verdict.FAIL,
            reasons=("Meta-Llama-3-8B-Instruct is foreign under the restrictive licence llama3",),
        ),
        TierVerdict(
            tier="trusted",
            verdict=Verdict.UNKNOWN,
            reasons=("no trusted registry was given (--trusted-registry)",),
        ),
        TierVerdict(
            tier="adversary",
            verdict=Verdict.PASS,
            reasons=("no component comes from CN, CU, IR, KP, RU or VE",),
        ),
    )
    return ScanResult(
        subjects=(SUBJECT,),
        components=components,
        relations=relations,
        findings=findings,
        issues=(
            ScanIssue(
                location=f"{TARGET}/tokenizer.json", problem="not valid JSON: line 1 column 1"
            ),
        ),
        jurisdiction="RU",
        verdicts=verdicts,
        policy="sovereign",
        roots=((SUBJECT, TARGET),),
    )
