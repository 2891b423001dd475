"""InventoryBuilder and merge_components: one component per ref, every fact and evidence kept."""

from __future__ import annotations

from dataclasses import replace

import pytest

from scanner.core.ids import HubId
from scanner.core.model import (
    Component,
    ComponentKind,
    Distribution,
    Evidence,
    Hash,
    Layer,
    ModelCardFacts,
    RelationKind,
    Severity,
)
from scanner.core.properties import PropertyName
from scanner.sources.identity import ModelIdentity
from scanner.sources.inventory_builder import InventoryBuilder, merge_components, merge_evidence

HUB = "https://hub.example.org"
SUBJECT = "pkg:huggingface/acme/lora"
CARD = Evidence(location="README.md", field="base_model", value="acme/base", method="model-card")
CONFIG = Evidence(
    location="config.json", field="_name_or_path", value="acme/base", method="config-hint"
)
ADAPTER = Evidence(
    location="adapter_config.json",
    field="base_model_name_or_path",
    value="acme/base",
    method="adapter-config",
)


def builder() -> InventoryBuilder:
    identity = ModelIdentity(
        name="lora", hub_id=HubId(namespace="acme", name="lora"), revision=None, evidence=()
    )
    return InventoryBuilder(identity=identity, hub=HUB)


def model(ref: str, *evidence: Evidence, licenses: tuple[str, ...] = ()) -> Component:
    name = ref.rsplit("/", 1)[-1]
    return Component(
        ref=ref, kind=ComponentKind.MODEL, name=name, licenses=licenses, evidence=evidence
    )


# --- add -----------------------------------------------------------------------------------------


def test_add_returns_the_ref_and_stores_the_component() -> None:
    b = builder()
    component = model(SUBJECT, CARD)
    assert b.add(component) == SUBJECT
    assert b.components == {SUBJECT: component}


def test_adding_a_ref_twice_merges_evidence_and_keeps_the_first_identity() -> None:
    b = builder()
    b.add(model("pkg:huggingface/acme/base", CARD, CONFIG, licenses=("mit",)))
    b.add(
        Component(
            ref="pkg:huggingface/acme/base",
            kind=ComponentKind.DATASET,
            name="impostor",
            licenses=("llama3",),
            evidence=(CONFIG, ADAPTER),
        )
    )
    (stored,) = b.components.values()
    assert stored.evidence == (CARD, CONFIG, ADAPTER)
    assert (stored.kind, stored.name, stored.licenses) == (ComponentKind.MODEL, "base", ("mit",))


# --- relate --------------------------------------------------------------------------------------


def test_the_same_edge_twice_is_one_relation_with_both_evidence() -> None:
    b = builder()
    b.relate(SUBJECT, "pkg:huggingface/acme/base", RelationKind.ADAPTER, ADAPTER)
    b.relate(SUBJECT, "pkg:huggingface/acme/base", RelationKind.ADAPTER, CARD, ADAPTER)
    b.relate(SUBJECT, "pkg:huggingface/acme/base", RelationKind.FINETUNE, CARD)
    assert {(r.kind, r.evidence) for r in b.relations.values()} == {
        (RelationKind.ADAPTER, (ADAPTER, CARD)),
        (RelationKind.FINETUNE, (CARD,)),
    }
    assert b.issues == []


@pytest.mark.parametrize(
    ("evidence", "location"),
    [((CARD, CONFIG), "README.md"), ((), ".")],
    ids=["named-in-the-card", "no-evidence"],
)
def test_a_relation_from_the_model_to_itself_is_an_issue_not_lineage(
    evidence: tuple[Evidence, ...], location: str
) -> None:
    b = builder()
    b.relate(SUBJECT, SUBJECT, RelationKind.FINETUNE, *evidence)
    assert b.relations == {}
    (issue,) = b.issues
    assert issue.location == location
    assert issue.problem == "finetune relation from the model to itself ignored"
    assert issue.severity is Severity.LOW


def test_issue_defaults_to_low_severity() -> None:
    b = builder()
    b.issue("config.json", "something odd")
    b.issue("README.md", "something worse", Severity.HIGH)
    assert [(i.location, i.problem, i.severity) for i in b.issues] == [
        ("config.json", "something odd", Severity.LOW),
        ("README.md", "something worse", Severity.HIGH),
    ]


# --- model_ref / hub_model -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["acme/base", "https://huggingface.co/acme/base", "https://hf.co/acme/base/tree/main"],
    ids=["repo-id", "hub-url", "hf-co-url-with-path"],
)
def test_a_hub_id_becomes_an_unpinned_hub_model(value: str) -> None:
    b = builder()
    evidence = Evidence(location="README.md", field="base_model", value=value, method="model-card")
    ref = b.model_ref(value, evidence, "README.md")
    assert ref == "pkg:huggingface/acme/base"
    base = b.components[ref]
    assert (base.kind, base.group, base.name, base.purl, base.version) == (
        ComponentKind.MODEL,
        "acme",
        "base",
        "pkg:huggingface/acme/base",
        None,
    )
    assert base.layer is Layer.WEIGHTS
    assert base.external_urls == (("website", f"{HUB}/acme/base"),)
    assert base.evidence == (evidence,)
    assert b.issues == []


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("/kaggle/input/llama-7b", "llama-7b"),
        ("C:\\models\\llama-2-7b", "llama-2-7b"),
        ("./out/checkpoint-500/", "checkpoint-500"),
        ("gpt2", "gpt2"),
        ("acme/base/extra", "extra"),
        ("evil--org/name", "name"),
        ("/", "/"),
    ],
    ids=[
        "posix-path",
        "windows-path",
        "relative-dir",
        "bare-name",
        "three-parts",
        "dashes",
        "root",
    ],
)
def test_a_value_that_is_no_hub_id_stays_an_unresolved_ancestor(value: str, name: str) -> None:
    b = builder()
    evidence = Evidence(
        location="adapter_config.json",
        field="base_model_name_or_path",
        value=value,
        method="adapter-config",
    )
    ref = b.model_ref(value, evidence, "adapter_config.json")
    assert ref == f"model:unresolved:{value}"
    base = b.components[ref]
    assert (base.kind, base.name, base.purl, base.layer) == (
        ComponentKind.MODEL,
        name,
        None,
        Layer.WEIGHTS,
    )
    assert base.unresolved
    assert base.properties == ()
    (issue,) = b.issues
    assert issue.location == "adapter_config.json"
    assert issue.severity is Severity.MEDIUM
    assert issue.problem == (
        f"base_model_name_or_path {value!r} is not a Hugging Face repo id; "
        "the ancestor stays unresolved"
    )


def test_one_ancestor_named_by_several_files_is_one_component() -> None:
    b = builder()
    first = b.model_ref("acme/base", CARD, "README.md")
    second = b.model_ref("https://huggingface.co/acme/base", CONFIG, "config.json")
    assert first == second
    assert b.components[first].evidence == (CARD, CONFIG)


def test_hub_model_keeps_the_layer_asked_for() -> None:
    b = builder()
    ref = b.hub_model(HubId(namespace="acme", name="tok"), CARD, Layer.TOKENIZER)
    assert b.components[ref].layer is Layer.TOKENIZER


# --- merge_components / merge_evidence -----------------------------------------------------------


def _reference() -> Component:
    """The base as a fine-tune's card names it: unpinned, no facts of its own."""
    return Component(
        ref="pkg:huggingface/acme/base",
        kind=ComponentKind.MODEL,
        name="base",
        group="acme",
        purl="pkg:huggingface/acme/base",
        evidence=(CARD,),
        external_urls=(("website", "https://huggingface.co/acme/base"),),
    )


def _scanned() -> Component:
    """The same base scanned as a target of its own: card facts, licence, digest."""
    return Component(
        ref="pkg:huggingface/acme/base",
        kind=ComponentKind.MODEL,
        name="base (scanned)",
        version="a" * 40,
        description="The base model.",
        licenses=("apache-2.0",),
        hashes=(Hash(alg="SHA-256", value="1" * 64),),
        evidence=(Evidence(location=".", field="folder", value="acme/base", method="folder-name"),),
        properties=((PropertyName.MODEL_DIGEST, "sovscan-manifest-v1 over 3 files"),),
        model_card=ModelCardFacts(task="text-generation"),
        distributions=(Distribution(url="https://example.org/base.tar"),),
    )


@pytest.mark.parametrize("scanned_first", [True, False], ids=["scanned-first", "scanned-second"])
def test_the_scanned_sighting_wins_whatever_the_order(scanned_first: bool) -> None:
    reference, scanned = _reference(), _scanned()
    pair = (scanned, reference) if scanned_first else (reference, scanned)
    merged = merge_components(*pair)
    assert merged.name == "base (scanned)"
    assert merged.model_card == ModelCardFacts(task="text-generation")
    assert (merged.version, merged.purl, merged.description) == (
        "a" * 40,
        "pkg:huggingface/acme/base",
        "The base model.",
    )
    assert merged.licenses == ("apache-2.0",)
    assert merged.hashes == scanned.hashes
    assert merged.evidence == (*scanned.evidence, CARD)
    assert merged.external_urls == reference.external_urls
    assert merged.distributions == scanned.distributions
    assert merged.properties == scanned.properties


def test_merging_unions_lists_without_duplicates_primary_first() -> None:
    first = Component(
        ref="pkg:pypi/numpy@2.1.0",
        kind=ComponentKind.LIBRARY,
        name="numpy",
        licenses=("BSD-3-Clause",),
        hashes=(Hash(alg="SHA-256", value="a" * 64),),
        evidence=(CARD,),
    )
    second = Component(
        ref="pkg:pypi/numpy@2.1.0",
        kind=ComponentKind.LIBRARY,
        name="numpy",
        licenses=("BSD-3-Clause", "0BSD"),
        hashes=(Hash(alg="SHA-256", value="b" * 64), Hash(alg="SHA-256", value="a" * 64)),
        evidence=(CONFIG, CARD),
    )
    merged = merge_components(first, second)
    # Equal richness: the first sighting is the primary one.
    assert merged.licenses == ("BSD-3-Clause", "0BSD")
    assert [h.value[0] for h in merged.hashes] == ["a", "b"]
    assert merged.evidence == (CARD, CONFIG)


def test_richness_card_beats_license_beats_hash_beats_nothing() -> None:
    bare = Component(ref="r", kind=ComponentKind.MODEL, name="bare")
    hashed = Component(
        ref="r", kind=ComponentKind.MODEL, name="hashed", hashes=(Hash(alg="SHA-256", value="c"),)
    )
    licensed = Component(ref="r", kind=ComponentKind.MODEL, name="licensed", licenses=("mit",))
    assert merge_components(bare, hashed).name == "hashed"
    assert merge_components(hashed, licensed).name == "licensed"
    assert merge_components(licensed, hashed).name == "licensed"
    carded = Component(
        ref="r", kind=ComponentKind.MODEL, name="carded", model_card=ModelCardFacts(task="x")
    )
    both = replace(licensed, name="licensed and hashed", hashes=hashed.hashes)
    assert merge_components(both, carded).name == "carded"  # a scanned model outweighs them


def test_merge_evidence_keeps_first_occurrences_in_order() -> None:
    assert merge_evidence((CARD, CONFIG), (ADAPTER, CARD, CONFIG)) == (CARD, CONFIG, ADAPTER)
    assert merge_evidence((), ()) == ()
