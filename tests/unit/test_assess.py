"""Assessor: the user's origins, policy, attestation, registry and waiver files, then the tiers."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from scanner.assess import Assessor, knowledge_base
from scanner.core.config import ScanConfig
from scanner.core.errors import UsageError
from scanner.core.model import (
    Component,
    ComponentKind,
    Evidence,
    Finding,
    Hash,
    Layer,
    OriginBasis,
    Relation,
    RelationKind,
    ScanResult,
    Severity,
    Verdict,
)
from scanner.core.properties import PropertyName
from scanner.origins.knowledge import EntryKind
from scanner.policy.profile import BUILTIN_TIERS, load_builtin

TODAY = dt.date(2026, 12, 5)
EVIL = "e" * 64
OUR_ORG = """\
entries:
  - id: acme-labs
    kind: hf-namespace
    organisation: Acme Labs LLC
    country: RU
    confidence: high
    source: our own registry extract
"""
RU_ATTESTATION = """\
claims:
  - claim: developers_citizenship
    value: RU
    attested_by: Acme Labs compliance office
  - claim: training_location
    value: RU
    attested_by: Acme Labs compliance office
  - claim: data_collected_in
    value: RU
    attested_by: Acme Labs compliance office
"""
CUSTOM_PROFILE = """\
name: open-weights-only
description: Foreign weights must be openly licensed.
rule: open-licence-for-foreign
layers: [weights]
"""


def config(tmp_path: Path, **fields: Any) -> ScanConfig:
    return replace(ScanConfig(cache_dir=tmp_path / "cache", jobs=1, today=TODAY), **fields)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def model(namespace: str, name: str, license: str = "mit") -> Component:
    purl = f"pkg:huggingface/{namespace}/{name}"
    return Component(
        ref=purl,
        kind=ComponentKind.MODEL,
        name=name,
        group=namespace,
        purl=purl,
        licenses=(license,),
        layer=Layer.WEIGHTS,
    )


OURS = model("acme-labs", "ru-chat")
RU_ONLY = ScanResult(subjects=(OURS.ref,), components=(OURS,))


def on_llama() -> ScanResult:
    """A Russian (Sber) fine-tune of Meta's Llama 3.1."""
    tune = model("ai-forever", "ru-llama", "llama3.1")
    base = model("meta-llama", "Llama-3.1-8B", "llama3.1")
    return ScanResult(
        subjects=(tune.ref,),
        components=(tune, base),
        relations=(Relation(src=tune.ref, dst=base.ref, kind=RelationKind.FINETUNE),),
    )


def verdicts(result: ScanResult) -> dict[str, Verdict]:
    return {v.tier: v.verdict for v in result.verdicts}


def rules(result: ScanResult) -> set[str]:
    return {f.rule_id for f in result.findings}


# --- the knowledge base --------------------------------------------------------------------------


def test_knowledge_base_is_the_builtin_one_without_a_file() -> None:
    kb = knowledge_base(None)
    yandex = kb.lookup(EntryKind.HF_NAMESPACE, "yandex")
    assert yandex is not None
    assert (yandex.country, yandex.user) == ("RU", False)
    assert kb.lookup(EntryKind.HF_NAMESPACE, "acme-labs") is None


def test_knowledge_base_layers_the_users_file_over_the_builtin_one(tmp_path: Path) -> None:
    kb = knowledge_base(write(tmp_path, "origins.yaml", OUR_ORG))
    ours = kb.lookup(EntryKind.HF_NAMESPACE, "acme-labs")
    assert ours is not None
    assert (ours.organization, ours.country, ours.user) == ("Acme Labs LLC", "RU", True)
    assert kb.lookup(EntryKind.HF_NAMESPACE, "yandex") is not None  # built-in entries stay


def test_a_broken_origins_file_fails_before_the_scan(tmp_path: Path) -> None:
    broken = write(tmp_path, "origins.yaml", "entries:\n  - id: [unclosed\n")
    with pytest.raises(UsageError, match=r"origins file .*origins\.yaml is not valid YAML"):
        Assessor.from_config(config(tmp_path, origins_file=broken))


# --- from_config: what is loaded -----------------------------------------------------------------


def test_defaults_evaluate_every_builtin_tier_for_the_jurisdiction(tmp_path: Path) -> None:
    assessor = Assessor.from_config(config(tmp_path))
    assert tuple(p.name for p in assessor.profiles) == BUILTIN_TIERS
    assert assessor.profiles == tuple(load_builtin(name) for name in BUILTIN_TIERS)
    assert (assessor.chosen, assessor.jurisdiction, assessor.today) == (None, "RU", TODAY)
    assert (assessor.attestation, assessor.registry, assessor.waivers) == (None, None, None)


def test_deny_replaces_the_adversary_list_only(tmp_path: Path) -> None:
    assessor = Assessor.from_config(config(tmp_path, jurisdiction="US", deny=("CN", "IR", "CN")))
    by_name = {p.name: p for p in assessor.profiles}
    assert by_name["adversary"].deny == ("CN", "IR")
    assert by_name["adversary"].deny_default is False
    for name in ("sovereign", "national", "trusted"):
        assert by_name[name] == load_builtin(name)


def test_a_jurisdiction_cannot_deny_itself(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"--deny CN,RU: RU is the jurisdiction itself"):
        Assessor.from_config(config(tmp_path, jurisdiction="RU", deny=("CN", "RU")))


@pytest.mark.parametrize(
    ("jurisdiction", "deny"), [("RU", ("ru",)), ("ru", ("RU",))], ids=["deny-lower", "lower"]
)
def test_a_jurisdiction_cannot_deny_itself_in_any_spelling(
    tmp_path: Path, jurisdiction: str, deny: tuple[str, ...]
) -> None:
    with pytest.raises(UsageError, match="cannot deny itself"):
        Assessor.from_config(config(tmp_path, jurisdiction=jurisdiction, deny=deny))


def test_a_builtin_policy_is_chosen_by_name(tmp_path: Path) -> None:
    assessor = Assessor.from_config(config(tmp_path, policy="national"))
    assert assessor.chosen == "national"
    assert tuple(p.name for p in assessor.profiles) == BUILTIN_TIERS


def test_a_policy_file_adds_its_profile_and_is_chosen_by_its_name(tmp_path: Path) -> None:
    path = write(tmp_path, "mine.yaml", CUSTOM_PROFILE)
    assessor = Assessor.from_config(config(tmp_path, policy=str(path)))
    assert assessor.chosen == "open-weights-only"
    assert tuple(p.name for p in assessor.profiles) == (*BUILTIN_TIERS, "open-weights-only")
    assert assessor.profiles[-1].source == str(path)


def test_a_builtin_name_wins_over_a_file_of_that_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "sovereign", CUSTOM_PROFILE)
    assessor = Assessor.from_config(config(tmp_path, policy="sovereign"))
    assert assessor.chosen == "sovereign"
    assert tuple(p.name for p in assessor.profiles) == BUILTIN_TIERS


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (None, None, r"--policy .*nope\.yaml: not a built-in tier \(sovereign, national, "),
        ("bad.yaml", "name: [x\n", r"bad\.yaml: the policy profile is not valid YAML"),
        ("builtin.yaml", CUSTOM_PROFILE.replace("open-weights-only", "national"), "built-in"),
        ("folder", "", "cannot read the policy profile"),
    ],
    ids=["missing", "not-yaml", "named-like-a-builtin", "a-folder"],
)
def test_a_bad_policy_fails_before_the_scan(
    tmp_path: Path, name: str | None, text: str | None, message: str
) -> None:
    if name is None:
        policy = tmp_path / "nope.yaml"
    elif name == "folder":
        policy = tmp_path / "folder"
        policy.mkdir()
    else:
        assert text is not None
        policy = write(tmp_path, name, text)
    with pytest.raises(UsageError, match=message):
        Assessor.from_config(config(tmp_path, policy=str(policy)))


def test_attestation_registry_and_waivers_are_loaded(tmp_path: Path) -> None:
    attestation = write(tmp_path, "attestation.yaml", RU_ATTESTATION)
    registry = write(tmp_path, "registry.yaml", f"components:\n  - purl: {OURS.purl}\n")
    accept = write(tmp_path, "accept.yaml", waiver(EVIL))
    assessor = Assessor.from_config(
        config(tmp_path, attestation_file=attestation, registry_file=registry, accept_file=accept)
    )
    assert assessor.attestation is not None
    assert [(c.claim, c.value) for c in assessor.attestation.claims] == [
        ("developers_citizenship", "RU"),
        ("training_location", "RU"),
        ("data_collected_in", "RU"),
    ]
    assert assessor.registry is not None
    assert [e.purl for e in assessor.registry.entries] == [OURS.purl]
    assert assessor.waivers is not None
    assert [(w.sha256, w.rule) for w in assessor.waivers.entries] == [(EVIL, "SEC100")]


@pytest.mark.parametrize(
    ("field", "text", "message"),
    [
        ("attestation_file", "claims:\n  - claim: Bad Name\n", "claim 1: key 'claim': must match"),
        ("registry_file", "components:\n  - note: x\n", "entry 1: needs a purl, a ref or a sha256"),
        ("accept_file", "accepted:\n  - sha256: 1234\n", "entry 1: key 'sha256': quote the hash"),
    ],
)
def test_a_bad_side_file_fails_before_the_scan(
    tmp_path: Path, field: str, text: str, message: str
) -> None:
    path = write(tmp_path, "side.yaml", text)
    with pytest.raises(UsageError, match=message):
        Assessor.from_config(config(tmp_path, **{field: path}))


# --- assess: attribute, then evaluate ------------------------------------------------------------


def test_assess_attributes_every_component_and_evaluates_every_tier(tmp_path: Path) -> None:
    result = Assessor.from_config(config(tmp_path, policy="national")).assess(on_llama())
    origins = {
        c.name: (c.origin.organization, c.origin.country) for c in result.components if c.origin
    }
    assert origins == {
        "ru-llama": ("Sber AI / SberDevices (PJSC Sberbank)", "RU"),
        "Llama-3.1-8B": ("Meta Platforms, Inc.", "US"),
    }
    assert (result.jurisdiction, result.policy) == ("RU", "national")
    # A Meta ancestor under a restrictive licence fails every tier for Russia.
    assert verdicts(result) == dict.fromkeys(BUILTIN_TIERS, Verdict.FAIL)
    assert {"SOV001", "NAT001", "ADV001"} <= rules(result)


def test_the_jurisdiction_decides_the_deny_list(tmp_path: Path) -> None:
    ours = config(tmp_path, origins_file=write(tmp_path, "origins.yaml", OUR_ORG))
    for_ru = Assessor.from_config(ours).assess(RU_ONLY)
    assert verdicts(for_ru)["adversary"] is Verdict.PASS
    for_us = Assessor.from_config(replace(ours, jurisdiction="US")).assess(RU_ONLY)
    assert for_us.jurisdiction == "US"
    assert verdicts(for_us)["adversary"] is Verdict.FAIL
    only_cn = Assessor.from_config(replace(ours, jurisdiction="US", deny=("CN",)))
    assert verdicts(only_cn.assess(RU_ONLY))["adversary"] is Verdict.PASS


def test_origins_file_then_attestation_make_a_domestic_model_sovereign(tmp_path: Path) -> None:
    unknown = Assessor.from_config(config(tmp_path)).assess(RU_ONLY)
    guessed = unknown.component(OURS.ref).origin
    assert guessed is not None
    assert guessed.country is None  # an unknown namespace: unknown, never foreign
    assert verdicts(unknown)["sovereign"] is Verdict.UNKNOWN

    origins = write(tmp_path, "origins.yaml", OUR_ORG)
    known = Assessor.from_config(config(tmp_path, origins_file=origins)).assess(RU_ONLY)
    origin = known.component(OURS.ref).origin
    assert origin is not None
    assert (origin.country, origin.basis) == ("RU", OriginBasis.OVERRIDE)
    assert verdicts(known)["sovereign"] is Verdict.UNKNOWN  # no attestation yet
    assert "ATT001" in rules(known)

    attestation = write(tmp_path, "attestation.yaml", RU_ATTESTATION)
    attested = Assessor.from_config(
        config(tmp_path, origins_file=origins, attestation_file=attestation)
    ).assess(RU_ONLY)
    assert verdicts(attested)["sovereign"] is Verdict.PASS
    assert "ATT001" not in rules(attested)


def test_a_registry_is_what_the_trusted_tier_checks(tmp_path: Path) -> None:
    without = Assessor.from_config(config(tmp_path)).assess(RU_ONLY)
    assert "TRU004" in rules(without)  # no registry given
    registry = write(tmp_path, "registry.yaml", f"components:\n  - purl: {OURS.purl}\n")
    listed = Assessor.from_config(config(tmp_path, registry_file=registry)).assess(RU_ONLY)
    assert "TRU004" not in rules(listed)
    assert verdicts(listed)["trusted"] is Verdict.PASS


# --- waivers: applied first, against the configured date -----------------------------------------


def waiver(digest: str, expires: str = "2027-06-30") -> str:
    return (
        f'accepted:\n  - sha256: "{digest}"\n    rule: SEC100\n    reason: reviewed\n'
        f"    accepted_by: Jane Doe <jane@example.org>\n    expires: {expires}\n"
    )


def with_pickle() -> ScanResult:
    """Our model holding a pickle whose loading runs a shell command (SEC001)."""
    file = Component(
        ref="file:ru-chat/pytorch_model.bin",
        kind=ComponentKind.FILE,
        name="pytorch_model.bin",
        path="pytorch_model.bin",
        hashes=(Hash(alg="SHA-256", value=EVIL),),
        properties=((PropertyName.FILE_HASH_SOURCE, "content"),),
    )
    finding = Finding(
        rule_id="SEC001",
        severity=Severity.HIGH,
        component_ref=file.ref,
        message="pytorch_model.bin: data.pkl: imports posix.system (runs shell commands)",
        evidence=(
            Evidence(
                location="pytorch_model.bin", field="data.pkl", value="posix.system", method="x"
            ),
        ),
        layer=Layer.FILES,
    )
    return ScanResult(
        subjects=(OURS.ref,),
        components=(OURS, file),
        relations=(Relation(src=OURS.ref, dst=file.ref, kind=RelationKind.CONTAINS),),
        findings=(finding,),
    )


@pytest.mark.parametrize(
    ("today", "accepted"),
    [(dt.date(2027, 6, 30), True), (dt.date(2027, 7, 1), False)],
    ids=["on-the-expiry-day", "the-day-after"],
)
def test_waivers_are_applied_as_of_the_configured_day(
    tmp_path: Path, today: dt.date, accepted: bool
) -> None:
    accept = write(tmp_path, "accept.yaml", waiver(EVIL))
    origins = write(tmp_path, "origins.yaml", OUR_ORG)
    assessor = Assessor.from_config(
        config(tmp_path, accept_file=accept, origins_file=origins, today=today)
    )
    result = assessor.assess(with_pickle())
    sec001 = next(f for f in result.findings if f.rule_id == "SEC001")
    assert (sec001.accepted is not None) is accepted
    assert (verdicts(result)["national"] is Verdict.PASS) is accepted
    if not accepted:
        assert set(verdicts(result).values()) == {Verdict.FAIL}
        (issue,) = result.issues
        assert issue.location == str(accept)
        assert "expired on 2027-06-30; not applied" in issue.problem


def test_without_waivers_dangerous_code_fails_every_tier(tmp_path: Path) -> None:
    result = Assessor.from_config(config(tmp_path)).assess(with_pickle())
    assert set(verdicts(result).values()) == {Verdict.FAIL}
    assert "SEC100" in rules(result)
