"""Policy tiers over hand-built scans: findings, verdicts and reasons per tier."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from scanner.core.errors import UsageError
from scanner.core.model import (
    Component,
    ComponentKind,
    Confidence,
    Evidence,
    Hash,
    Layer,
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
from scanner.policy.attestation import Attestation, Claim
from scanner.policy.evaluate import evaluate
from scanner.policy.profile import BUILTIN_TIERS, load_builtin, load_profile_file, with_deny
from scanner.policy.registry import RegistryEntry, TrustedRegistry, parse_purl
from scanner.policy.rules import RULES

# --- building blocks ---------------------------------------------------------------------------


def org(name: str, country: str | None, *, confidence: Confidence = Confidence.HIGH) -> Origin:
    return Origin(
        organization=name,
        steward=StewardKind.ORGANIZATION,
        country=country,
        basis=OriginBasis.CURATED,
        confidence=confidence,
        evidence=(
            Evidence(location="origins.yaml", field="country", value=str(country), method="kb"),
        ),
    )


SBER = org("Sber", "RU")
META = org("Meta Platforms, Inc.", "US")
ALIBABA = org("Alibaba Cloud", "CN")
ALEPH = org("Aleph Alpha", "DE")
NUMPY = Origin(
    organization="NumPy",
    steward=StewardKind.COMMUNITY,
    country=None,
    basis=OriginBasis.CURATED,
    confidence=Confidence.HIGH,
)
SOMEONE = Origin(
    organization=None,
    steward=StewardKind.INDIVIDUAL,
    country=None,
    basis=OriginBasis.METADATA,
    confidence=Confidence.LOW,
)
META_HINT = Origin(
    organization="Meta",
    steward=StewardKind.ORGANIZATION,
    country="US",
    basis=OriginBasis.LICENSE,
    confidence=Confidence.MEDIUM,
    evidence=(Evidence(location="README.md", field="license", value="llama3", method="card"),),
)

ATTESTED_RU = Attestation(
    source="attestation.yaml",
    claims=tuple(
        Claim(claim=name, value="RU", attested_by="OOO Example, CTO")
        for name in ("developers_citizenship", "training_location", "data_collected_in")
    ),
)
PROFILES = [load_builtin(name) for name in BUILTIN_TIERS]
#: The adversary screen without RU, so a Russian chain can pass it.
CN_ONLY = with_deny(load_builtin("adversary"), ["CN"])


def hub(
    ns: str,
    name: str,
    origin: Origin | None,
    *,
    licenses: tuple[str, ...] = (),
    kind: ComponentKind = ComponentKind.MODEL,
    hints: tuple[Origin, ...] = (),
    properties: tuple[tuple[str, str], ...] = (),
) -> Component:
    purl = f"pkg:huggingface/{ns}/{name}"
    return Component(
        ref=purl,
        kind=kind,
        name=name,
        group=ns,
        purl=purl,
        licenses=licenses,
        layer=Layer.WEIGHTS,
        origin=origin,
        origin_hints=hints,
        properties=properties,
    )


def library(name: str, origin: Origin | None, license: str, version: str = "2.1.0") -> Component:
    return Component(
        ref=f"pkg:pypi/{name}@{version}",
        kind=ComponentKind.LIBRARY,
        name=name,
        version=version,
        purl=f"pkg:pypi/{name}@{version}",
        licenses=(license,),
        hashes=(Hash(alg="SHA-256", value="a" * 64),),
        layer=Layer.PYTHON,
        origin=origin,
    )


def rel(src: Component, dst: Component, kind: RelationKind) -> Relation:
    return Relation(src=src.ref, dst=dst.ref, kind=kind)


def scan(
    subject: Component,
    *others: Component,
    relations: tuple[Relation, ...] = (),
    issues: tuple[ScanIssue, ...] = (),
) -> ScanResult:
    return ScanResult(
        subjects=(subject.ref,),
        components=(subject, *others),
        relations=relations,
        issues=issues,
    )


def verdict_of(result: ScanResult, tier: str) -> TierVerdict:
    return next(v for v in result.verdicts if v.tier == tier)


def rules_of(result: ScanResult, tier: str) -> list[tuple[str, str, Layer | None]]:
    return [(f.rule_id, f.component_ref, f.layer) for f in result.findings if tier in f.tiers]


def run(result: ScanResult, *profiles, attestation=None, registry=None, jurisdiction="RU"):
    return evaluate(
        result,
        profiles or PROFILES,
        jurisdiction=jurisdiction,
        attestation=attestation,
        registry=registry,
    )


# --- scenarios ---------------------------------------------------------------------------------

RU_MODEL = hub("ai-forever", "ru-chat", SBER, licenses=("mit",))
RU_BASE = hub("ai-forever", "ru-base", SBER, licenses=("mit",))
RU_TOKENIZER = Component(
    ref="tokenizer:ai-forever/ru-chat",
    kind=ComponentKind.TOKENIZER,
    name="ai-forever/ru-chat tokenizer",
    layer=Layer.TOKENIZER,
    origin=SBER,
)
RU_DATASET = Component(
    ref="dataset:ai-forever/ru-corpus",
    kind=ComponentKind.DATASET,
    name="ru-corpus",
    group="ai-forever",
    layer=Layer.DATASETS,
    origin=SBER,
)


def domestic_chain(*extra: Component, relations: tuple[Relation, ...] = ()) -> ScanResult:
    return scan(
        RU_MODEL,
        RU_BASE,
        RU_TOKENIZER,
        RU_DATASET,
        *extra,
        relations=(
            rel(RU_MODEL, RU_BASE, RelationKind.FINETUNE),
            rel(RU_MODEL, RU_TOKENIZER, RelationKind.DEPENDS_ON),
            rel(RU_MODEL, RU_DATASET, RelationKind.TRAINED_ON),
            *relations,
        ),
    )


def test_domestic_chain_with_attestation_passes_sovereign_and_national() -> None:
    result = run(domestic_chain(), attestation=ATTESTED_RU)
    sovereign = verdict_of(result, "sovereign")
    assert sovereign.verdict is Verdict.PASS
    assert sovereign.reasons == (
        "PASS: all 4 counted components (weights, tokenizer, code, datasets, python) are of "
        "RU origin",
        "PASS: attested developers_citizenship is 'RU' (attested by OOO Example, CTO)",
        "PASS: attested training_location is 'RU' (attested by OOO Example, CTO)",
        "PASS: attested data_collected_in is 'RU' (attested by OOO Example, CTO)",
    )
    assert verdict_of(result, "national").verdict is Verdict.PASS
    assert rules_of(result, "sovereign") == []
    assert rules_of(result, "national") == []
    assert result.jurisdiction == "RU"
    assert [v.tier for v in result.verdicts] == list(BUILTIN_TIERS)


def test_default_adversary_screen_never_denies_its_own_jurisdiction() -> None:
    # Under RU, the default list is the Government's list of unfriendly states: RU is not on it.
    result = run(domestic_chain(), attestation=ATTESTED_RU)
    adversary = verdict_of(result, "adversary")
    assert adversary.verdict is Verdict.PASS
    assert adversary.basis.startswith("deny list ru-order-430-r: ")
    assert "publication.pravo.gov.ru" in adversary.basis
    assert rules_of(result, "adversary") == []


def test_default_adversary_screen_of_the_us_denies_russia() -> None:
    # The same chain screened for the US: Russia is a foreign adversary under 15 CFR 791.4.
    result = run(domestic_chain(), load_builtin("adversary"), jurisdiction="US")
    adversary = verdict_of(result, "adversary")
    assert adversary.verdict is Verdict.FAIL
    assert adversary.basis.startswith("deny list us-15-cfr-791.4: ")
    assert "ecfr.gov" in adversary.basis
    assert {(ref, layer) for rule, ref, layer in rules_of(result, "adversary")} == {
        (RU_MODEL.ref, Layer.WEIGHTS),
        (RU_BASE.ref, Layer.WEIGHTS),
        (RU_TOKENIZER.ref, Layer.TOKENIZER),
        (RU_DATASET.ref, Layer.DATASETS),
    }
    assert {rule for rule, _, _ in rules_of(result, "adversary")} == {"ADV001"}
    finding = next(f for f in result.findings if f.component_ref == RU_BASE.ref)
    assert "comes from RU, on the us-15-cfr-791.4 list" in finding.message
    assert finding.remediation.startswith("Replace ai-forever/ru-base")


def test_a_jurisdiction_without_a_default_list_needs_deny() -> None:
    result = run(domestic_chain(), load_builtin("adversary"), jurisdiction="DE")
    adversary = verdict_of(result, "adversary")
    assert adversary.verdict is Verdict.UNKNOWN
    assert rules_of(result, "adversary") == [("ADV002", RU_MODEL.ref, None)]
    assert adversary.reasons == ("UNKNOWN: no deny list for DE: give one with --deny XX,YY",)
    finding = result.findings[0]
    assert finding.remediation == "Name the countries DE screens out with --deny XX,YY"
    denied = run(domestic_chain(), with_deny(load_builtin("adversary"), ["RU"]), jurisdiction="DE")
    assert verdict_of(denied, "adversary").verdict is Verdict.FAIL
    assert (
        verdict_of(denied, "adversary").basis == "deny list --deny: countries given in --deny (RU)"
    )


def test_a_deny_list_naming_the_jurisdiction_itself_is_refused() -> None:
    with pytest.raises(UsageError, match="cannot deny itself"):
        run(domestic_chain(), with_deny(load_builtin("adversary"), ["RU", "CN"]))


def test_domestic_chain_without_attestation_is_unknown_per_claim() -> None:
    result = run(domestic_chain(), load_builtin("sovereign"))
    sovereign = verdict_of(result, "sovereign")
    assert sovereign.verdict is Verdict.UNKNOWN
    assert rules_of(result, "sovereign") == [("ATT001", RU_MODEL.ref, None)] * 3
    assert sovereign.reasons == (
        "UNKNOWN: no attestation for developers_citizenship (no --attestation file)",
        "UNKNOWN: no attestation for training_location (no --attestation file)",
        "UNKNOWN: no attestation for data_collected_in (no --attestation file)",
    )


def test_partial_attestation_names_only_the_missing_claim() -> None:
    partial = Attestation(source="a.yaml", claims=ATTESTED_RU.claims[:2])
    result = run(domestic_chain(), load_builtin("sovereign"), attestation=partial)
    assert verdict_of(result, "sovereign").reasons == (
        "UNKNOWN: no attestation for data_collected_in",
    )
    (finding,) = result.findings
    assert (finding.rule_id, finding.severity) == ("ATT001", Severity.MEDIUM)


def test_attestation_with_another_country_fails() -> None:
    claims = (
        *ATTESTED_RU.claims[:2],
        Claim(claim="data_collected_in", value="de", attested_by="X"),
    )
    attestation = Attestation(source="a.yaml", claims=claims)
    result = run(domestic_chain(), load_builtin("sovereign"), attestation=attestation)
    sovereign = verdict_of(result, "sovereign")
    assert sovereign.verdict is Verdict.FAIL
    assert sovereign.reasons == (
        "FAIL: attestation data_collected_in is 'de' (attested by X); the profile requires 'RU'",
    )
    (finding,) = result.findings
    assert finding.rule_id == "ATT002"
    assert finding.evidence[0].location == "a.yaml"
    assert finding.evidence[0].method == "attestation"


def test_attestation_values_compare_case_insensitively() -> None:
    claims = tuple(Claim(claim=c.claim, value="ru", attested_by="X") for c in ATTESTED_RU.claims)
    result = run(
        domestic_chain(),
        load_builtin("sovereign"),
        attestation=Attestation(source="a.yaml", claims=claims),
    )
    assert verdict_of(result, "sovereign").verdict is Verdict.PASS


LLAMA = hub("meta-llama", "Meta-Llama-3-8B-Instruct", META, licenses=("llama3",))
RU_LORA = hub(
    "ru-lab",
    "llama3-lora",
    SBER,
    licenses=("llama3",),
    kind=ComponentKind.ADAPTER,
    hints=(META_HINT,),
)
LORA_TOKENIZER = Component(
    ref="tokenizer:ru-lab/llama3-lora",
    kind=ComponentKind.TOKENIZER,
    name="ru-lab/llama3-lora tokenizer",
    layer=Layer.TOKENIZER,
    origin=SBER,
)


def lora_on_llama() -> ScanResult:
    return scan(
        RU_LORA,
        LLAMA,
        LORA_TOKENIZER,
        relations=(
            rel(RU_LORA, LLAMA, RelationKind.ADAPTER),
            rel(RU_LORA, LORA_TOKENIZER, RelationKind.DEPENDS_ON),
            rel(LORA_TOKENIZER, LLAMA, RelationKind.TOKENIZER_FROM),
        ),
    )


def test_russian_lora_on_llama_fails_sovereign_on_the_base() -> None:
    result = run(lora_on_llama(), attestation=ATTESTED_RU)
    sovereign = verdict_of(result, "sovereign")
    assert sovereign.verdict is Verdict.FAIL
    assert rules_of(result, "sovereign") == [
        ("SOV001", LLAMA.ref, Layer.WEIGHTS),
        ("SOV003", RU_LORA.ref, Layer.WEIGHTS),
    ]
    assert sovereign.reasons[0] == (
        "FAIL: 1 foreign component in the weights layer: "
        "meta-llama/Meta-Llama-3-8B-Instruct (Meta Platforms, Inc., US)"
    )
    sov001 = next(f for f in result.findings if f.rule_id == "SOV001")
    assert sov001.severity is Severity.HIGH
    assert "an ancestor in the weights lineage" in sov001.message
    assert "(layers weights, tokenizer)" in sov001.message
    assert sov001.evidence[0].location == "origins.yaml"
    sov003 = next(f for f in result.findings if f.rule_id == "SOV003")
    assert "Meta, US" in sov003.message
    assert "license 'llama3'" in sov003.message


def test_russian_lora_on_llama_fails_national_on_the_llama_license() -> None:
    result = run(lora_on_llama(), attestation=ATTESTED_RU)
    national = verdict_of(result, "national")
    assert national.verdict is Verdict.FAIL
    assert rules_of(result, "national") == [
        ("NAT001", LLAMA.ref, Layer.WEIGHTS),
        ("NAT001", RU_LORA.ref, Layer.WEIGHTS),
    ]
    base = next(f for f in result.findings if "national" in f.tiers)
    assert "Llama community licence" in base.message
    assert national.reasons == (
        "FAIL: 2 components under restrictive foreign licences in the weights layer: "
        "meta-llama/Meta-Llama-3-8B-Instruct (Meta Platforms, Inc., US; llama3); "
        "ru-lab/llama3-lora (licence controlled by Meta, US; llama3)",
    )


QWEN = hub("Qwen", "Qwen2.5-7B", ALIBABA, licenses=("apache-2.0",))
RU_QWEN_FT = hub("ru-lab", "qwen-ru", SBER, licenses=("apache-2.0",))


def finetune_on_qwen() -> ScanResult:
    return scan(RU_QWEN_FT, QWEN, relations=(rel(RU_QWEN_FT, QWEN, RelationKind.FINETUNE),))


def test_russian_finetune_on_apache_qwen() -> None:
    result = run(finetune_on_qwen(), *PROFILES, replace(CN_ONLY, name="cn-screen"))
    assert verdict_of(result, "sovereign").verdict is Verdict.FAIL
    assert ("SOV001", QWEN.ref, Layer.WEIGHTS) in rules_of(result, "sovereign")
    national = verdict_of(result, "national")
    assert national.verdict is Verdict.PASS
    assert national.reasons == (
        "PASS: 1 domestic component and 1 openly licensed non-domestic component in the "
        "counted layers (weights, tokenizer, code, datasets, python); no restrictive foreign "
        "licence",
    )
    # China is not on Russia's list of unfriendly states: the RU screen passes Qwen.
    assert verdict_of(result, "adversary").verdict is Verdict.PASS
    assert rules_of(result, "cn-screen") == [("ADV001", QWEN.ref, Layer.WEIGHTS)]
    assert verdict_of(result, "cn-screen").reasons == (
        "FAIL: 1 component from a denied country in the weights layer: "
        "Qwen/Qwen2.5-7B (Alibaba Cloud, CN)",
    )
    us = run(finetune_on_qwen(), load_builtin("adversary"), jurisdiction="US")
    assert ("ADV001", QWEN.ref, Layer.WEIGHTS) in rules_of(us, "adversary")


def test_unknown_origin_ancestor_is_never_pass() -> None:
    base = hub("someone", "tiny-base", SOMEONE, licenses=("apache-2.0",))
    result = run(
        scan(RU_MODEL, base, relations=(rel(RU_MODEL, base, RelationKind.FINETUNE),)),
        load_builtin("sovereign"),
        load_builtin("national"),
        CN_ONLY,
        attestation=ATTESTED_RU,
    )
    sovereign = verdict_of(result, "sovereign")
    assert sovereign.verdict is Verdict.UNKNOWN
    assert rules_of(result, "sovereign") == [("SOV002", base.ref, Layer.WEIGHTS)]
    assert sovereign.reasons == (
        "UNKNOWN: 1 component of unknown origin in the weights layer: "
        "someone/tiny-base (individual, country unknown)",
    )
    # An open licence is enough for national whatever the origin.
    assert verdict_of(result, "national").verdict is Verdict.PASS
    assert verdict_of(result, "adversary").verdict is Verdict.UNKNOWN
    assert rules_of(result, "adversary") == [("SOV002", base.ref, Layer.WEIGHTS)]


def test_low_confidence_domestic_origin_is_not_proof() -> None:
    weak = hub("ru-user", "model", org("Some LLC", "RU", confidence=Confidence.LOW))
    result = run(scan(weak), load_builtin("sovereign"), attestation=ATTESTED_RU)
    assert verdict_of(result, "sovereign").verdict is Verdict.UNKNOWN
    assert rules_of(result, "sovereign") == [("SOV002", weak.ref, Layer.WEIGHTS)]


def test_low_confidence_foreign_origin_still_fails() -> None:
    weak = hub("us-user", "model", org("Some Inc", "US", confidence=Confidence.LOW))
    result = run(scan(weak), load_builtin("sovereign"), attestation=ATTESTED_RU)
    assert rules_of(result, "sovereign") == [("SOV001", weak.ref, Layer.WEIGHTS)]


def test_unattributed_component_is_unknown() -> None:
    bare = hub("x", "y", None)
    result = run(scan(bare), load_builtin("sovereign"), attestation=ATTESTED_RU)
    assert verdict_of(result, "sovereign").reasons == (
        "UNKNOWN: 1 component of unknown origin in the weights layer: x/y (origin not attributed)",
    )


def test_community_library() -> None:
    numpy = library("numpy", NUMPY, "BSD-3-Clause")
    subject = hub("aleph-alpha", "model", ALEPH, licenses=("apache-2.0",))
    result = run(
        scan(subject, numpy, relations=(rel(subject, numpy, RelationKind.DEPENDS_ON),)),
        load_builtin("sovereign"),
        load_builtin("national"),
        with_deny(load_builtin("adversary"), ["CN", "IR"]),
        jurisdiction="DE",
        attestation=Attestation(
            source="a.yaml",
            claims=tuple(
                Claim(claim=c.claim, value="DE", attested_by="X") for c in ATTESTED_RU.claims
            ),
        ),
    )
    sovereign = verdict_of(result, "sovereign")
    assert sovereign.verdict is Verdict.FAIL
    assert rules_of(result, "sovereign") == [("SOV004", numpy.ref, Layer.PYTHON)]
    assert sovereign.reasons == (
        "FAIL: 1 community project (not domestic) in the python layer: "
        "numpy (NumPy, community project)",
    )
    assert verdict_of(result, "national").verdict is Verdict.PASS
    adversary = verdict_of(result, "adversary")
    assert adversary.verdict is Verdict.PASS
    assert adversary.reasons == (
        "PASS: none of the 2 counted components comes from a country on the --deny list "
        "(1 community project attributed to no state)",
    )


def test_community_project_under_a_restrictive_license_fails_national() -> None:
    odd = library("oddlib", NUMPY, "cc-by-nc-4.0")
    result = run(
        scan(RU_MODEL, odd, relations=(rel(RU_MODEL, odd, RelationKind.DEPENDS_ON),)),
        load_builtin("national"),
    )
    assert rules_of(result, "national") == [("NAT001", odd.ref, Layer.PYTHON)]


@pytest.mark.parametrize(
    ("license", "rule", "verdict"),
    [
        ("other", "NAT001", Verdict.FAIL),
        ("gemma", "NAT001", Verdict.FAIL),
        ("some-custom-name", "NAT002", Verdict.UNKNOWN),
        (None, "NAT002", Verdict.UNKNOWN),
        ("cc-by-4.0", None, Verdict.PASS),
    ],
)
def test_national_license_classes(license, rule, verdict) -> None:
    base = hub("google", "base", org("Google LLC", "US"), licenses=(license,) if license else ())
    result = run(
        scan(RU_MODEL, base, relations=(rel(RU_MODEL, base, RelationKind.FINETUNE),)),
        load_builtin("national"),
    )
    assert verdict_of(result, "national").verdict is verdict
    expected = [(rule, base.ref, Layer.WEIGHTS)] if rule else []
    assert rules_of(result, "national") == expected


def test_national_restrictive_license_of_unknown_origin_is_unknown() -> None:
    base = hub("someone", "base", SOMEONE, licenses=("cc-by-nc-4.0",))
    result = run(
        scan(RU_MODEL, base, relations=(rel(RU_MODEL, base, RelationKind.FINETUNE),)),
        load_builtin("national"),
    )
    assert verdict_of(result, "national").verdict is Verdict.UNKNOWN
    assert rules_of(result, "national") == [("SOV002", base.ref, Layer.WEIGHTS)]


def test_national_unknown_origin_with_foreign_hint_and_restrictive_license_fails() -> None:
    base = hub("someone", "llama-ft", SOMEONE, licenses=("llama3",), hints=(META_HINT,))
    result = run(
        scan(RU_MODEL, base, relations=(rel(RU_MODEL, base, RelationKind.FINETUNE),)),
        load_builtin("national"),
    )
    assert rules_of(result, "national") == [("NAT001", base.ref, Layer.WEIGHTS)]


def test_local_code_takes_the_license_of_its_model() -> None:
    subject = hub("google", "model", org("Google LLC", "US"), licenses=("apache-2.0",))
    code = Component(
        ref="code:google/model/modeling.py",
        kind=ComponentKind.CODE,
        name="modeling.py",
        path="modeling.py",
        layer=Layer.CODE,
        origin=org("Google LLC", "US"),
    )
    result = run(
        scan(subject, code, relations=(rel(subject, code, RelationKind.DEPENDS_ON),)),
        load_builtin("national"),
    )
    assert verdict_of(result, "national").verdict is Verdict.PASS


def test_remote_code_takes_the_license_of_its_repository() -> None:
    repo = hub("Qwen", "Qwen-7B", ALIBABA, licenses=("tongyi-qianwen",))
    code = Component(
        ref="code:Qwen/Qwen-7B/modeling_qwen.py",
        kind=ComponentKind.CODE,
        name="modeling_qwen.py",
        group="Qwen",
        purl="pkg:huggingface/Qwen/Qwen-7B",
        layer=Layer.CODE,
        origin=ALIBABA,
    )
    result = run(
        scan(RU_MODEL, code, repo, relations=(rel(RU_MODEL, code, RelationKind.REMOTE_CODE_FROM),)),
        load_builtin("national"),
    )
    findings = [f for f in result.findings if f.component_ref == code.ref]
    assert [(f.rule_id, f.layer) for f in findings] == [("NAT001", Layer.CODE)]
    assert "taken from Qwen/Qwen-7B" in findings[0].message


# --- fail closed -------------------------------------------------------------------------------


def passing_everywhere() -> tuple[ScanResult, TrustedRegistry]:
    result = domestic_chain()
    entries = tuple(
        RegistryEntry(position=i + 1, ref=c.ref) if c.purl is None else _purl_entry(i + 1, c.purl)
        for i, c in enumerate(result.components)
    )
    return result, TrustedRegistry(source="registry.yaml", entries=entries)


def _purl_entry(position: int, purl: str) -> RegistryEntry:
    parsed = parse_purl(purl)
    assert parsed is not None
    return RegistryEntry(position=position, purl=purl, identity=parsed[0], version=parsed[1])


def run_all(result: ScanResult, registry: TrustedRegistry) -> dict[str, Verdict]:
    profiles = [*(load_builtin(n) for n in ("sovereign", "national", "trusted")), CN_ONLY]
    evaluated = evaluate(
        result, profiles, jurisdiction="RU", attestation=ATTESTED_RU, registry=registry
    )
    return {v.tier: v.verdict for v in evaluated.verdicts}


def test_baseline_passes_every_tier() -> None:
    result, registry = passing_everywhere()
    assert set(run_all(result, registry).values()) == {Verdict.PASS}


def test_unresolved_ancestor_blocks_every_tier() -> None:
    result, registry = passing_everywhere()
    lost = Component(
        ref="model:unresolved:./checkpoints/base",
        kind=ComponentKind.MODEL,
        name="base",
        layer=Layer.WEIGHTS,
        origin=SBER,
        licenses=("mit",),
        unresolved=True,
    )
    result = ScanResult(
        subjects=result.subjects,
        components=(*result.components, lost),
        relations=(
            *result.relations,
            Relation(src=RU_MODEL.ref, dst=lost.ref, kind=RelationKind.FINETUNE),
        ),
    )
    registry = TrustedRegistry(
        source=registry.source,
        entries=(*registry.entries, RegistryEntry(position=99, ref=lost.ref)),
    )
    verdicts = run_all(result, registry)
    assert set(verdicts.values()) == {Verdict.UNKNOWN}
    evaluated = evaluate(result, [load_builtin("national")], jurisdiction="RU")
    assert rules_of(evaluated, "national") == [("GEN001", lost.ref, Layer.WEIGHTS)]
    assert verdict_of(evaluated, "national").reasons == (
        "UNKNOWN: 1 unresolved ancestor in the weights layer: unresolved:./checkpoints/base",
    )


@pytest.mark.parametrize(
    ("severity", "blocks"),
    [
        (Severity.CRITICAL, True),
        (Severity.HIGH, True),
        (Severity.MEDIUM, True),
        (Severity.LOW, False),
        (Severity.INFO, False),
    ],
)
def test_scan_issues_block_every_tier(severity, blocks) -> None:
    result, registry = passing_everywhere()
    issue = ScanIssue(location="model.safetensors", problem="header unreadable", severity=severity)
    verdicts = run_all(replace(result, issues=(issue,)), registry)
    assert set(verdicts.values()) == ({Verdict.UNKNOWN} if blocks else {Verdict.PASS})


def test_scan_issue_finding_and_reason() -> None:
    issue = ScanIssue(location="config.json", problem="not JSON", severity=Severity.HIGH)
    result = evaluate(
        replace(domestic_chain(), issues=(issue,)),
        [load_builtin("national")],
        jurisdiction="RU",
    )
    (finding,) = result.findings
    assert (finding.rule_id, finding.component_ref, finding.layer) == ("GEN001", RU_MODEL.ref, None)
    assert finding.evidence == (
        Evidence(location="config.json", field="problem", value="not JSON", method="scan-issue"),
    )
    assert verdict_of(result, "national").reasons == (
        "UNKNOWN: 1 scan problem: config.json: not JSON",
    )


def test_profile_without_layers_is_unknown() -> None:
    empty = replace(load_builtin("sovereign"), name="empty", layers=())
    result = evaluate(domestic_chain(), [empty], jurisdiction="RU", attestation=ATTESTED_RU)
    assert verdict_of(result, "empty") == TierVerdict(
        tier="empty",
        verdict=Verdict.UNKNOWN,
        reasons=("UNKNOWN: the profile counts no layers: nothing to evaluate",),
        rules=(
            "ATT001",
            "ATT002",
            "GEN001",
            "GEN002",
            "SEC100",
            "SOV001",
            "SOV002",
            "SOV003",
            "SOV004",
            "SOV005",
            "SOV006",
        ),
    )


def test_nothing_counted_is_unknown() -> None:
    files_only = replace(load_builtin("national"), name="files-only", layers=(Layer.FILES,))
    result = evaluate(domestic_chain(), [files_only], jurisdiction="RU")
    assert verdict_of(result, "files-only").reasons == (
        "UNKNOWN: nothing to evaluate: no component in the counted layers (files)",
    )


# --- trusted -----------------------------------------------------------------------------------


def test_trusted_without_registry_is_unknown() -> None:
    result = run(domestic_chain(), load_builtin("trusted"))
    trusted = verdict_of(result, "trusted")
    assert trusted.verdict is Verdict.UNKNOWN
    assert trusted.reasons == (
        "UNKNOWN: no --trusted-registry: cannot check that the components are approved",
    )


def test_trusted_hash_mismatch_and_unlisted_component() -> None:
    numpy = library("numpy", NUMPY, "BSD-3-Clause")
    requests_ = library("requests", NUMPY, "Apache-2.0")
    result, registry = passing_everywhere()
    result = ScanResult(
        subjects=result.subjects,
        components=(*result.components, numpy, requests_),
        relations=(
            *result.relations,
            rel(RU_MODEL, numpy, RelationKind.DEPENDS_ON),
            rel(RU_MODEL, requests_, RelationKind.DEPENDS_ON),
        ),
    )
    pinned = _purl_entry(50, "pkg:pypi/NumPy@2.1")
    registry = TrustedRegistry(
        source="registry.yaml",
        entries=(*registry.entries, replace(pinned, sha256="b" * 64)),
    )
    evaluated = run(result, load_builtin("trusted"), registry=registry)
    trusted = verdict_of(evaluated, "trusted")
    assert trusted.verdict is Verdict.FAIL
    assert rules_of(evaluated, "trusted") == [
        ("TRU001", requests_.ref, Layer.PYTHON),
        ("TRU002", numpy.ref, Layer.PYTHON),
    ]
    mismatch = next(f for f in evaluated.findings if f.rule_id == "TRU002")
    assert mismatch.severity is Severity.CRITICAL
    assert "aaaaaaaaaaaa… differs from the approved bbbbbbbbbbbb…" in mismatch.message
    assert mismatch.evidence[0].location == "registry.yaml"
    assert mismatch.evidence[0].field == "entry 50"
    assert trusted.reasons == (
        "FAIL: 1 component not on the trusted registry in the python layer: "
        "requests (no registry entry)",
        "FAIL: 1 component whose SHA-256 differs in the python layer: "
        "numpy (SHA-256 aaaaaaaaaaaa… differs from the approved bbbbbbbbbbbb…)",
    )


def test_trusted_includes_national_findings() -> None:
    result = run(lora_on_llama(), load_builtin("trusted"))
    assert [rule for rule, _, _ in rules_of(result, "trusted")] == ["NAT001", "NAT001", "TRU004"]
    assert verdict_of(result, "trusted").reasons[-1] == (
        "UNKNOWN: no --trusted-registry: cannot check that the components are approved"
    )
    missing = next(f for f in result.findings if f.rule_id == "TRU004")
    assert missing.remediation.startswith("Pass --trusted-registry FILE")


def test_a_finding_raised_alike_by_several_tiers_is_reported_once() -> None:
    result = run(lora_on_llama(), load_builtin("national"), load_builtin("trusted"))
    nat001 = [f for f in result.findings if f.rule_id == "NAT001"]
    assert len(nat001) == 2  # the adapter's base and its base: one finding each, not per tier
    assert {f.tiers for f in nat001} == {("national", "trusted")}
    assert all(f.remediation.startswith("Replace ") for f in nat001)
    assert all("does not allow free modification" in f.remediation for f in nat001)


# --- custom profiles, jurisdictions and the result -----------------------------------------------


def test_custom_profile_file_is_evaluated(tmp_path: Path) -> None:
    path = tmp_path / "kii.yaml"
    path.write_text(
        "name: ru-kii\n"
        "description: National plus an FSTEC certificate.\n"
        "extends: national\n"
        "layers: [weights]\n"
        "attestations:\n"
        "  - claim: fstec_certificate\n",
        encoding="utf-8",
    )
    profile = load_profile_file(path)
    bare = run(finetune_on_qwen(), profile)
    assert verdict_of(bare, "ru-kii").verdict is Verdict.UNKNOWN
    assert rules_of(bare, "ru-kii") == [("ATT001", RU_QWEN_FT.ref, None)]
    certified = Attestation(
        source="a.yaml",
        claims=(Claim(claim="fstec_certificate", value="No. 4567", attested_by="FSTEC"),),
    )
    result = run(finetune_on_qwen(), profile, attestation=certified)
    assert verdict_of(result, "ru-kii").verdict is Verdict.PASS
    assert "PASS: attested fstec_certificate is 'No. 4567' (attested by FSTEC)" in (
        verdict_of(result, "ru-kii").reasons
    )


def test_custom_profile_counting_files_inherits_origin_from_the_container(tmp_path: Path) -> None:
    path = tmp_path / "files.json"
    path.write_text(
        '{"name": "files-domestic", "description": "d", "rule": "domestic-only",'
        ' "layers": ["files"]}',
        encoding="utf-8",
    )
    weights = Component(
        ref="file:ai-forever/ru-chat/model.safetensors",
        kind=ComponentKind.FILE,
        name="model.safetensors",
        layer=Layer.FILES,
    )
    result = run(
        scan(RU_MODEL, weights, relations=(rel(RU_MODEL, weights, RelationKind.CONTAINS),)),
        load_profile_file(path),
    )
    assert verdict_of(result, "files-domestic").verdict is Verdict.PASS


def test_other_jurisdiction() -> None:
    result = run(lora_on_llama(), load_builtin("sovereign"), jurisdiction="us")
    assert result.jurisdiction == "US"
    found = rules_of(result, "sovereign")
    assert ("SOV001", RU_LORA.ref, Layer.WEIGHTS) in found
    assert all(ref != LLAMA.ref for _, ref, _ in found)


def test_fixed_profile_jurisdiction_wins(tmp_path: Path) -> None:
    path = tmp_path / "us.yaml"
    path.write_text(
        "name: us-only\ndescription: d\nrule: domestic-only\nlayers: [weights]\njurisdiction: US\n",
        encoding="utf-8",
    )
    result = run(scan(LLAMA), load_profile_file(path), jurisdiction="RU")
    assert verdict_of(result, "us-only").verdict is Verdict.PASS
    assert result.jurisdiction == "RU"


def test_chosen_policy_and_bad_arguments() -> None:
    chosen = evaluate(domestic_chain(), PROFILES, jurisdiction="RU", chosen="national")
    assert chosen.policy == "national"
    with pytest.raises(UsageError, match="--jurisdiction"):
        evaluate(domestic_chain(), PROFILES, jurisdiction="Russia")
    with pytest.raises(UsageError, match="not among the evaluated"):
        evaluate(domestic_chain(), PROFILES, jurisdiction="RU", chosen="strict")
    with pytest.raises(UsageError, match="evaluated twice"):
        evaluate(domestic_chain(), [*PROFILES, PROFILES[0]], jurisdiction="RU")


def test_evaluation_is_deterministic_and_replaces_its_own_findings() -> None:
    first = run(lora_on_llama(), attestation=ATTESTED_RU)
    again = run(first, attestation=ATTESTED_RU)
    assert again.findings == first.findings
    assert again.verdicts == first.verdicts
    shuffled = ScanResult(
        subjects=first.subjects,
        components=tuple(reversed(lora_on_llama().components)),
        relations=tuple(reversed(lora_on_llama().relations)),
    )
    assert run(shuffled, attestation=ATTESTED_RU).findings == first.findings


def test_findings_keep_earlier_ones_of_other_tiers() -> None:
    national = run(lora_on_llama(), load_builtin("national"))
    both = run(national, load_builtin("sovereign"), attestation=ATTESTED_RU)
    assert {tier for f in both.findings for tier in f.tiers} == {"national", "sovereign"}
    assert [v.tier for v in both.verdicts] == ["national", "sovereign"]


def test_every_finding_uses_a_known_rule() -> None:
    result = run(lora_on_llama(), attestation=ATTESTED_RU)
    for finding in result.findings:
        rule = RULES[finding.rule_id]
        assert finding.severity is rule.severity
        assert finding.tiers
        assert set(finding.tiers) <= set(BUILTIN_TIERS)
        assert finding.remediation, finding


def test_rule_table() -> None:
    assert list(RULES) == [
        "SOV001",
        "SOV002",
        "SOV003",
        "SOV004",
        "SOV005",
        "SOV006",
        "NAT001",
        "NAT002",
        "TRU001",
        "TRU002",
        "TRU003",
        "TRU004",
        "ADV001",
        "ADV002",
        "ATT001",
        "ATT002",
        "SEC100",
        "GEN001",
        "GEN002",
        *(f"SEC00{n}" for n in range(1, 9)),
        "LIN001",
    ]
    assert RULES["SOV001"].name == "foreign-ancestor"
    assert RULES["GEN001"].outcome is Verdict.UNKNOWN
    untiered = ("SEC00", "LIN")
    policy = [rule for rule in RULES.values() if not rule.id.startswith(untiered)]
    assert {rule.outcome for rule in policy} == {Verdict.FAIL, Verdict.UNKNOWN}
    # What the files show of the lineage is reported to every reader, decided by no tier.
    assert RULES["LIN001"].outcome is Verdict.NOT_APPLICABLE
    assert RULES["SEC100"].outcome is Verdict.FAIL
    # Static-analysis rules belong to no tier: the code they find is counted as a component,
    # and SEC100 (every tier) fails on the dangerous ones.
    analysis = [rule for rule in RULES.values() if rule.id.startswith("SEC00")]
    assert {rule.outcome for rule in analysis} == {Verdict.NOT_APPLICABLE}
    assert all(rule.description and rule.help for rule in RULES.values())


def test_verdicts_name_the_rules_their_tier_applies() -> None:
    result = evaluate(
        domestic_chain(), [load_builtin("national"), load_builtin("adversary")], jurisdiction="RU"
    )
    assert verdict_of(result, "national").rules == (
        "GEN001",
        "GEN002",
        "NAT001",
        "NAT002",
        "SEC100",
        "SOV002",
    )
    assert verdict_of(result, "adversary").rules == (
        "ADV001",
        "ADV002",
        "GEN001",
        "GEN002",
        "SEC100",
        "SOV002",
    )
