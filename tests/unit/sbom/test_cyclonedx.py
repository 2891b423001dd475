"""CycloneDX export: the real content of the JSON and XML documents, validity, determinism."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from cyclonedx.schema import OutputFormat, SchemaVersion
from cyclonedx.validation import make_schemabased_validator
from hypothesis import given, settings
from hypothesis import strategies as st

import scanner
from scanner.core.errors import InvalidOutputError, UsageError
from scanner.core.model import (
    Component,
    ComponentKind,
    Confidence,
    Evidence,
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
)
from scanner.core.properties import PropertyName
from scanner.sbom.cyclonedx import SPEC_VERSIONS, BomOptions, render_cyclonedx
from scanner.sbom.rendering import Authorship

REPO = Path(__file__).resolve().parents[3]
SHA = "0123456789abcdef0123456789abcdef01234567"
WHEN = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
FIXED = BomOptions(timestamp=WHEN)

SUBJECT = f"pkg:huggingface/acme/sov-merge@{SHA}"
FINETUNE = "pkg:huggingface/acme/llama-ft"
ADAPTER = "pkg:huggingface/hobbyist/llama-lora"
BASE = "pkg:huggingface/meta-llama/Meta-Llama-3-8B"
DATASET = "dataset:tatsu-lab/alpaca"
TOKENIZER = "tokenizer:acme/sov-tokenizer"
CODE = "code:acme/custom-code"
TORCH = "pkg:pypi/torch@2.3.0"
WEIGHTS = "file:model.safetensors"
CONFIG = "file:config.json"
WEIGHTS_SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
CONFIG_SHA = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"

META = Origin(
    organization="Meta Platforms, Inc.",
    steward=StewardKind.ORGANIZATION,
    country="US",
    basis=OriginBasis.CURATED,
    confidence=Confidence.HIGH,
    evidence=(Evidence(location="origins.yaml", field="meta-llama", value="US", method="curated"),),
)
ACME = Origin(
    organization="ACME AO",
    steward=StewardKind.ORGANIZATION,
    country="RU",
    basis=OriginBasis.EMAIL_DOMAIN,
    confidence=Confidence.MEDIUM,
)


def _model(ref: str, name: str, group: str, **extra: Any) -> Component:
    purl = ref if ref.startswith("pkg:") else None
    return Component(ref=ref, kind=ComponentKind.MODEL, name=name, group=group, purl=purl, **extra)


def scan_result() -> ScanResult:
    """A merge of a fine-tune and an adapter of one base, with data, tokenizer, code, files."""
    components = (
        _model(
            SUBJECT,
            "sov-merge",
            "acme",
            version=SHA,
            licenses=("apache-2.0", "llama3", "other"),
            layer=Layer.WEIGHTS,
            origin=ACME,
            description="A merged model\x00 with a stray NUL",
            evidence=(
                Evidence(
                    location="README.md",
                    field="base_model",
                    value="acme/llama-ft",
                    method="model-card",
                ),
                Evidence(
                    location="README.md",
                    field="base_model",
                    value="acme/llama-ft",
                    method="model-card",
                ),
                Evidence(
                    location="config.json", field="model_type", value="llama", method="config"
                ),
            ),
            model_card=ModelCardFacts(
                task="text-generation",
                architecture_family="llama",
                architecture="LlamaForCausalLM",
                dataset_refs=(DATASET,),
                languages=("ru", "en"),
                parameter_count=8_030_261_248,
                quantization="bf16",
            ),
            external_urls=(("website", "https://huggingface.co/acme/sov-merge"),),
        ),
        _model(FINETUNE, "llama-ft", "acme", origin=ACME, licenses=("llama3",)),
        replace(
            _model(ADAPTER, "llama-lora", "hobbyist", licenses=("mit",)),
            kind=ComponentKind.ADAPTER,
        ),
        _model(BASE, "Meta-Llama-3-8B", "meta-llama", origin=META, licenses=("llama3",)),
        Component(
            ref=DATASET,
            kind=ComponentKind.DATASET,
            name="alpaca",
            group="tatsu-lab",
            layer=Layer.DATASETS,
            external_urls=(("distribution", "https://huggingface.co/datasets/tatsu-lab/alpaca"),),
        ),
        Component(ref=TOKENIZER, kind=ComponentKind.TOKENIZER, name="sov-tokenizer", group="acme"),
        Component(
            ref=CODE,
            kind=ComponentKind.CODE,
            name="custom-code",
            group="acme",
            layer=Layer.CODE,
            evidence=(
                Evidence(
                    location="config.json",
                    field="auto_map.AutoModel",
                    value="acme/custom-code--modeling.Model",
                    method="config",
                ),
            ),
        ),
        Component(
            ref=TORCH,
            kind=ComponentKind.LIBRARY,
            name="torch",
            version="2.3.0",
            purl=TORCH,
            licenses=("BSD-3-Clause",),
            layer=Layer.PYTHON,
        ),
        Component(
            ref=WEIGHTS,
            kind=ComponentKind.FILE,
            name="model.safetensors",
            path="model.safetensors",
            size=16_060_556_376,
            hashes=(Hash(alg="SHA-256", value=WEIGHTS_SHA),),
            layer=Layer.FILES,
            properties=(
                (PropertyName.FILE_FORMAT, "safetensors"),
                (PropertyName.FILE_LFS_POINTER, "no"),
            ),
        ),
        Component(
            ref=CONFIG,
            kind=ComponentKind.FILE,
            name="config.json",
            path="config.json",
            size=654,
            hashes=(Hash(alg="SHA-256", value=CONFIG_SHA),),
        ),
    )
    relations = (
        Relation(src=SUBJECT, dst=FINETUNE, kind=RelationKind.MERGE),
        Relation(src=SUBJECT, dst=ADAPTER, kind=RelationKind.MERGE),
        Relation(src=SUBJECT, dst=DATASET, kind=RelationKind.TRAINED_ON),
        Relation(src=SUBJECT, dst=TOKENIZER, kind=RelationKind.TOKENIZER_FROM),
        Relation(src=SUBJECT, dst=CODE, kind=RelationKind.REMOTE_CODE_FROM),
        Relation(src=SUBJECT, dst=TORCH, kind=RelationKind.DEPENDS_ON),
        Relation(src=SUBJECT, dst=WEIGHTS, kind=RelationKind.CONTAINS),
        Relation(src=SUBJECT, dst=CONFIG, kind=RelationKind.CONTAINS),
        Relation(src=FINETUNE, dst=BASE, kind=RelationKind.FINETUNE),
        Relation(src=ADAPTER, dst=BASE, kind=RelationKind.ADAPTER),
    )
    return ScanResult(
        subjects=(SUBJECT,),
        components=components,
        relations=relations,
        issues=(
            ScanIssue(location="tokenizer.json", problem="not valid JSON: line 1"),
            ScanIssue(location="escape", problem="symlink points outside", severity=Severity.HIGH),
        ),
        properties=(
            ("sovscan:verdict:sovereign", "FAIL"),
            (PropertyName.POLICY, "sovereign"),
            (PropertyName.JURISDICTION, "RU"),
        ),
    )


@cache
def rendered(fmt: str, spec_version: str = "1.6") -> str:
    options = replace(FIXED, spec_version=spec_version)
    return render_cyclonedx(scan_result(), fmt, options)  # type: ignore[arg-type]


def bom() -> dict[str, Any]:
    return json.loads(rendered("json"))


def top(doc: dict[str, Any], ref: str) -> dict[str, Any]:
    (found,) = [c for c in doc["components"] if c["bom-ref"] == ref]
    return found


def props(component: dict[str, Any]) -> list[tuple[str, str]]:
    return [(p["name"], p["value"]) for p in component.get("properties", [])]


# --- metadata ------------------------------------------------------------------------------


def test_single_subject_is_metadata_component_with_model_card() -> None:
    doc = bom()
    subject = doc["metadata"]["component"]
    assert subject["type"] == "machine-learning-model"
    assert subject["bom-ref"] == SUBJECT
    assert subject["purl"] == SUBJECT
    assert subject["description"] == "A merged model with a stray NUL"
    assert SUBJECT not in {c["bom-ref"] for c in doc["components"]}
    assert subject["modelCard"] == {
        "bom-ref": f"{SUBJECT}#model-card",
        "modelParameters": {
            "task": "text-generation",
            "architectureFamily": "llama",
            "modelArchitecture": "LlamaForCausalLM",
            "datasets": [{"ref": DATASET}],
        },
        "properties": [
            {"name": "cdx:ai-ml:model:hyperparameter:quantization", "value": "bf16"},
            {"name": "cdx:ai-ml:model:language", "value": "en"},
            {"name": "cdx:ai-ml:model:language", "value": "ru"},
            {"name": "cdx:ai-ml:model:parameter:count", "value": "8030261248"},
        ],
    }


def test_metadata_tool_timestamp_issues_and_sorted_bom_properties() -> None:
    metadata = bom()["metadata"]
    assert metadata["tools"] == {
        "components": [{"type": "application", "name": "sovscan", "version": scanner.__version__}]
    }
    assert metadata["timestamp"] == "2024-05-01T12:00:00+00:00"
    assert props(metadata) == [
        (PropertyName.ISSUE, "[high] escape: symlink points outside"),
        (PropertyName.ISSUE, "[medium] tokenizer.json: not valid JSON: line 1"),
        (PropertyName.JURISDICTION, "RU"),
        (PropertyName.POLICY, "sovereign"),
        ("sovscan:verdict:sovereign", "FAIL"),
    ]


def test_licenses_go_through_the_factory() -> None:
    licenses = bom()["metadata"]["component"]["licenses"]
    assert licenses == [
        {"license": {"id": "Apache-2.0"}},
        {"license": {"name": "llama3"}},
        {"license": {"name": "other"}},
    ]
    assert top(bom(), ADAPTER)["licenses"] == [{"license": {"id": "MIT"}}]


def test_a_single_spdx_expression_stays_an_expression() -> None:
    result = scan_result()
    torch = replace(result.component(TORCH), licenses=("MIT OR Apache-2.0",))
    changed = replace(
        result, components=tuple(torch if c.ref == TORCH else c for c in result.components)
    )
    doc = json.loads(render_cyclonedx(changed, "json", FIXED))
    assert top(doc, TORCH)["licenses"] == [{"expression": "MIT OR Apache-2.0"}]


# --- lineage -------------------------------------------------------------------------------


def test_merge_lists_both_parents_as_ancestor_copies() -> None:
    pedigree = bom()["metadata"]["component"]["pedigree"]
    assert pedigree["notes"] == "base_model_relation=merge"
    ancestors = {a["bom-ref"]: a for a in pedigree["ancestors"]}
    assert set(ancestors) == {f"{SUBJECT}#ancestor:{FINETUNE}", f"{SUBJECT}#ancestor:{ADAPTER}"}
    finetune_copy = ancestors[f"{SUBJECT}#ancestor:{FINETUNE}"]
    assert finetune_copy["purl"] == FINETUNE
    assert finetune_copy["supplier"] == {"name": "ACME AO", "address": {"country": "RU"}}
    assert props(finetune_copy) == [(PropertyName.KIND, "model"), (PropertyName.RELATION, "merge")]
    assert props(ancestors[f"{SUBJECT}#ancestor:{ADAPTER}"])[0] == (PropertyName.KIND, "adapter")


def test_finetune_and_adapter_have_the_base_as_ancestor() -> None:
    doc = bom()
    finetune, adapter = top(doc, FINETUNE), top(doc, ADAPTER)
    assert finetune["pedigree"]["notes"] == "base_model_relation=finetune"
    assert adapter["pedigree"]["notes"] == "base_model_relation=adapter"
    assert [a["bom-ref"] for a in finetune["pedigree"]["ancestors"]] == [
        f"{FINETUNE}#ancestor:{BASE}"
    ]
    base_copy = adapter["pedigree"]["ancestors"][0]
    assert base_copy["bom-ref"] == f"{ADAPTER}#ancestor:{BASE}"
    assert base_copy["supplier"]["address"]["country"] == "US"
    assert adapter["type"] == "machine-learning-model"
    assert (PropertyName.KIND, "adapter") in props(adapter)


def test_base_is_top_level_with_supplier_and_origin_properties() -> None:
    base = top(bom(), BASE)
    assert base["type"] == "machine-learning-model"
    assert base["supplier"] == {"name": "Meta Platforms, Inc.", "address": {"country": "US"}}
    assert props(base) == [
        ("cdx:ai:kind", "model"),  # what cdxgen's AI rules read
        (PropertyName.KIND, "model"),
        (PropertyName.ORIGIN_BASIS, "curated"),
        (PropertyName.ORIGIN_CONFIDENCE, "high"),
        (PropertyName.ORIGIN_COUNTRY, "US"),
        (PropertyName.ORIGIN_ORGANIZATION, "Meta Platforms, Inc."),
        (PropertyName.ORIGIN_STEWARD, "organization"),
        (PropertyName.RELATION, "adapter"),
        (PropertyName.RELATION, "finetune"),
    ]
    assert base["evidence"] == {
        "occurrences": [
            {
                "bom-ref": f"{BASE}#evidence:0",
                "location": "origins.yaml",
                "additionalContext": "meta-llama=US (curated)",
            }
        ]
    }


def _with_origin(ref: str, origin: Origin | None, hints: tuple[Origin, ...] = ()) -> ScanResult:
    result = scan_result()
    changed = replace(result.component(ref), origin=origin, origin_hints=hints)
    return replace(
        result, components=tuple(changed if c.ref == ref else c for c in result.components)
    )


def test_supplier_follows_what_the_origin_knows() -> None:
    community = Origin(
        organization="vLLM project",
        steward=StewardKind.COMMUNITY,
        country=None,
        basis=OriginBasis.CURATED,
        confidence=Confidence.HIGH,
        parent="LF AI & Data Foundation",
        note="community project; fiscal sponsor LF AI & Data",
    )
    doc = json.loads(render_cyclonedx(_with_origin(TORCH, community), "json", FIXED))
    torch = top(doc, TORCH)
    assert torch["supplier"] == {"name": "vLLM project"}  # no single country: no address
    assert [p for p in props(torch) if p[0].startswith("sovscan:origin:")] == [
        (PropertyName.ORIGIN_BASIS, "curated"),
        (PropertyName.ORIGIN_CONFIDENCE, "high"),
        (PropertyName.ORIGIN_NOTE, "community project; fiscal sponsor LF AI & Data"),
        (PropertyName.ORIGIN_ORGANIZATION, "vLLM project"),
        (PropertyName.ORIGIN_PARENT, "LF AI & Data Foundation"),
        (PropertyName.ORIGIN_STEWARD, "community"),
    ]
    country_only = replace(ACME, organization=None)
    doc = json.loads(render_cyclonedx(_with_origin(TORCH, country_only), "json", FIXED))
    assert top(doc, TORCH)["supplier"] == {"address": {"country": "RU"}}
    unknown = Origin(
        organization=None,
        steward=StewardKind.UNKNOWN,
        country=None,
        basis=OriginBasis.METADATA,
        confidence=Confidence.LOW,
    )
    doc = json.loads(render_cyclonedx(_with_origin(TORCH, unknown), "json", FIXED))
    assert "supplier" not in top(doc, TORCH)
    assert (PropertyName.ORIGIN_STEWARD, "unknown") in props(top(doc, TORCH))
    assert not any(p[0] == PropertyName.ORIGIN_COUNTRY for p in props(top(doc, TORCH)))


def test_origin_hints_become_hint_properties_never_the_supplier() -> None:
    hint = Origin(
        organization="Meta Platforms, Inc.",
        steward=StewardKind.ORGANIZATION,
        country="US",
        basis=OriginBasis.LICENSE,
        confidence=Confidence.MEDIUM,
        evidence=(Evidence(location="README.md", field="license", value="llama3", method="mc"),),
    )
    nameless = replace(hint, organization=None, country=None, evidence=())
    result = _with_origin(ADAPTER, None, (hint, nameless))
    for fmt in ("json", "xml"):
        assert "license llama3 " in render_cyclonedx(result, fmt, FIXED)
    adapter = top(json.loads(render_cyclonedx(result, "json", FIXED)), ADAPTER)
    assert "supplier" not in adapter
    assert [p for p in props(adapter) if p[0] == PropertyName.ORIGIN_HINT] == [
        (PropertyName.ORIGIN_HINT, "license llama3 → Meta Platforms, Inc. (US), medium confidence"),
        (
            PropertyName.ORIGIN_HINT,
            "license → unknown organisation (no country), medium confidence",
        ),
    ]


def test_several_lineage_kinds_to_one_base_are_noted_together() -> None:
    result = scan_result()
    extra = Relation(src=FINETUNE, dst=BASE, kind=RelationKind.QUANTIZED)
    doc = json.loads(
        render_cyclonedx(replace(result, relations=(*result.relations, extra)), "json", FIXED)
    )
    pedigree = top(doc, FINETUNE)["pedigree"]
    assert pedigree["notes"] == "base_model_relation=finetune; base_model_relation=quantized"
    (copy,) = pedigree["ancestors"]
    assert props(copy)[1:] == [
        (PropertyName.RELATION, "finetune"),
        (PropertyName.RELATION, "quantized"),
    ]


# --- dependencies --------------------------------------------------------------------------


def test_every_relation_is_an_edge_from_the_root_first() -> None:
    """Lineage and datasets are edges too (pedigree and the model card keep them as well):
    tools that walk the graph from the root see the whole model. Every entry has
    ``dependsOn`` (cdxgen's validator requires it) and the root's entry is first."""
    entries = bom()["dependencies"]
    assert all("dependsOn" in entry for entry in entries)
    edges = {d["ref"]: d["dependsOn"] for d in entries}
    assert edges[SUBJECT] == sorted(
        [FINETUNE, ADAPTER, DATASET, CODE, CONFIG, WEIGHTS, TOKENIZER, TORCH]
    )
    assert edges[ADAPTER] == [BASE]
    assert edges[FINETUNE] == [BASE]
    assert edges[BASE] == []
    assert edges[DATASET] == []
    everything = {
        SUBJECT,
        FINETUNE,
        ADAPTER,
        BASE,
        DATASET,
        TOKENIZER,
        CODE,
        TORCH,
        WEIGHTS,
        CONFIG,
    }
    assert set(edges) == everything
    assert {c["bom-ref"] for c in bom()["components"]} == everything - {SUBJECT}
    assert [d["ref"] for d in entries] == [SUBJECT, *sorted(edges.keys() - {SUBJECT})]


def test_the_xml_lists_the_root_s_entry_first() -> None:
    root = ET.fromstring(rendered("xml"))  # noqa: S314 - our own output
    ns = {"c": "http://cyclonedx.org/schema/bom/1.6"}
    refs = [d.get("ref", "") for d in root.findall("c:dependencies/c:dependency", ns)]
    assert refs[0] == SUBJECT
    assert refs[1:] == sorted(refs[1:])


def test_relation_properties_name_how_components_are_used() -> None:
    doc = bom()
    assert (PropertyName.RELATION, "trained-on") in props(top(doc, DATASET))
    assert (PropertyName.RELATION, "tokenizer-from") in props(top(doc, TOKENIZER))
    assert (PropertyName.RELATION, "remote-code-from") in props(top(doc, CODE))
    assert (PropertyName.RELATION, "depends-on") in props(top(doc, TORCH))
    assert (PropertyName.RELATION, "contains") in props(top(doc, WEIGHTS))


# --- component kinds -----------------------------------------------------------------------


def test_files_carry_path_hash_size_and_their_properties() -> None:
    weights = top(bom(), WEIGHTS)
    assert weights["type"] == "file"
    assert weights["name"] == "model.safetensors"
    assert weights["hashes"] == [{"alg": "SHA-256", "content": WEIGHTS_SHA}]
    assert props(weights) == [
        (PropertyName.FILE_FORMAT, "safetensors"),
        (PropertyName.FILE_LFS_POINTER, "no"),
        (PropertyName.FILE_SIZE, "16060556376"),
        (PropertyName.KIND, "file"),
        (PropertyName.LAYER, "files"),
        (PropertyName.RELATION, "contains"),
    ]


def test_dataset_tokenizer_code_and_library_types() -> None:
    doc = bom()
    dataset = top(doc, DATASET)
    assert dataset["type"] == "data"
    assert "purl" not in dataset
    assert dataset["data"] == [
        {
            "type": "dataset",
            "name": "alpaca",
            "contents": {"url": "https://huggingface.co/datasets/tatsu-lab/alpaca"},
        }
    ]
    assert dataset["externalReferences"] == [
        {"type": "distribution", "url": "https://huggingface.co/datasets/tatsu-lab/alpaca"}
    ]
    tokenizer = top(doc, TOKENIZER)
    assert tokenizer["type"] == "data"
    assert tokenizer["data"] == [{"type": "configuration", "name": "sov-tokenizer"}]
    code = top(doc, CODE)
    assert code["type"] == "library"
    assert (PropertyName.KIND, "code") in props(code)
    assert code["evidence"]["occurrences"] == [
        {
            "bom-ref": f"{CODE}#evidence:0",
            "location": "config.json",
            "additionalContext": "auto_map.AutoModel=acme/custom-code--modeling.Model (config)",
        }
    ]
    torch = top(doc, TORCH)
    assert (torch["type"], torch["purl"], torch["version"]) == ("library", TORCH, "2.3.0")
    assert "modelCard" not in torch
    assert "data" not in torch


def test_subject_evidence_is_deduplicated_and_sorted() -> None:
    occurrences = bom()["metadata"]["component"]["evidence"]["occurrences"]
    assert occurrences == [
        {
            "bom-ref": f"{SUBJECT}#evidence:0",
            "location": "README.md",
            "additionalContext": "base_model=acme/llama-ft (model-card)",
        },
        {
            "bom-ref": f"{SUBJECT}#evidence:1",
            "location": "config.json",
            "additionalContext": "model_type=llama (config)",
        },
    ]


def test_supplier_of_the_subject_and_model_card_of_a_base_without_facts() -> None:
    doc = bom()
    assert doc["metadata"]["component"]["supplier"] == {
        "name": "ACME AO",
        "address": {"country": "RU"},
    }
    assert top(doc, BASE)["modelCard"] == {"bom-ref": f"{BASE}#model-card"}


def test_several_subjects_hang_under_a_synthesised_root() -> None:
    result = replace(scan_result(), subjects=(SUBJECT, BASE))
    doc = json.loads(render_cyclonedx(result, "json", FIXED))
    root = doc["metadata"]["component"]
    assert (root["type"], root["name"], root["bom-ref"]) == ("application", "sovscan scan", "scan")
    subject = top(doc, SUBJECT)
    assert subject["modelCard"]["modelParameters"]["task"] == "text-generation"
    assert top(doc, BASE)["modelCard"] == {"bom-ref": f"{BASE}#model-card"}
    edges = {d["ref"]: d.get("dependsOn", []) for d in doc["dependencies"]}
    assert edges["scan"] == sorted([SUBJECT, BASE])


# --- XML -----------------------------------------------------------------------------------

NS = "{http://cyclonedx.org/schema/bom/1.6}"


def xml_component(root: ET.Element, ref: str) -> ET.Element:
    for element in root.iter(f"{NS}component"):
        if element.get("bom-ref") == ref:
            return element
    raise AssertionError(ref)


def test_xml_carries_model_card_and_data_in_schema_order() -> None:
    root = ET.fromstring(rendered("xml"))  # noqa: S314 - our own output
    subject = root.find(f"{NS}metadata/{NS}component")
    assert subject is not None
    assert subject.get("bom-ref") == SUBJECT
    children = [child.tag.removeprefix(NS) for child in subject]
    assert children[-3:] == ["properties", "evidence", "modelCard"]
    card = subject.find(f"{NS}modelCard")
    assert card is not None
    assert card.get("bom-ref") == f"{SUBJECT}#model-card"
    assert card.findtext(f"{NS}modelParameters/{NS}task") == "text-generation"
    assert card.findtext(f"{NS}modelParameters/{NS}modelArchitecture") == "LlamaForCausalLM"
    assert [r.text for r in card.iterfind(f"{NS}modelParameters/{NS}datasets/{NS}ref")] == [DATASET]
    assert [(p.get("name"), p.text) for p in card.iterfind(f"{NS}properties/{NS}property")][
        1:3
    ] == [("cdx:ai-ml:model:language", "en"), ("cdx:ai-ml:model:language", "ru")]
    dataset = xml_component(root, DATASET)
    assert dataset.findtext(f"{NS}data/{NS}type") == "dataset"
    assert dataset.findtext(f"{NS}data/{NS}contents/{NS}url") == (
        "https://huggingface.co/datasets/tatsu-lab/alpaca"
    )
    assert [child.tag.removeprefix(NS) for child in dataset][-1] == "data"
    country = xml_component(root, BASE).findtext(f"{NS}supplier/{NS}address/{NS}country")
    assert country == "US"


def test_xml_and_json_name_the_same_refs_and_serial() -> None:
    root = ET.fromstring(rendered("xml"))  # noqa: S314 - our own output
    xml_refs = sorted(e.get("bom-ref", "") for e in root.iter() if e.get("bom-ref"))
    doc = bom()
    json_refs: list[str] = []
    stack: list[Any] = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "bom-ref" in node:
                json_refs.append(node["bom-ref"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    assert xml_refs == sorted(json_refs)
    assert root.get("serialNumber") == doc["serialNumber"]


# --- validity and determinism --------------------------------------------------------------


@pytest.mark.parametrize("spec_version", ["1.5", "1.6", "1.7"])
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_every_version_and_format_validates(fmt: str, spec_version: str) -> None:
    text = rendered(fmt, spec_version)
    output_format = OutputFormat.JSON if fmt == "json" else OutputFormat.XML
    validator = make_schemabased_validator(output_format, SchemaVersion.from_version(spec_version))
    assert validator.validate_str(text) is None
    assert f"{SUBJECT}#model-card" in text
    assert "configuration" in text
    if fmt == "json":
        assert json.loads(text)["specVersion"] == spec_version
    else:
        assert f"http://cyclonedx.org/schema/bom/{spec_version}" in text


def test_reproducible_output_is_byte_identical() -> None:
    for fmt in ("json", "xml"):
        first = render_cyclonedx(scan_result(), fmt, FIXED)
        second = render_cyclonedx(scan_result(), fmt, FIXED)
        assert first == second
    serial = bom()["serialNumber"]
    assert serial.startswith("urn:uuid:")
    assert serial[len("urn:uuid:") :][14] == "5"  # a uuid5


def test_serial_follows_content_and_timestamp_never_chance() -> None:
    base_serial = bom()["serialNumber"]
    result = scan_result()
    other = replace(result, properties=(*result.properties, ("sovscan:note", "x")))
    assert json.loads(render_cyclonedx(other, "json", FIXED))["serialNumber"] != base_serial
    later = replace(FIXED, timestamp=datetime(2025, 1, 1, tzinfo=UTC))
    assert json.loads(render_cyclonedx(result, "json", later))["serialNumber"] != base_serial
    again = json.loads(render_cyclonedx(result, "json", FIXED))
    assert again["serialNumber"] == base_serial
    assert again["metadata"]["timestamp"] == "2024-05-01T12:00:00+00:00"
    # How the target was typed (relative, absolute, through a symlink) does not count.
    typed = replace(result, roots=((result.subjects[0], "/somewhere/else/model"),))
    assert json.loads(render_cyclonedx(typed, "json", FIXED))["serialNumber"] == base_serial


def test_without_a_timestamp_the_bom_has_none_and_is_byte_stable() -> None:
    # A run's clock is no fact about the model: without SOURCE_DATE_EPOCH there is no timestamp.
    for fmt in ("json", "xml"):
        first = render_cyclonedx(scan_result(), fmt, BomOptions())
        assert first == render_cyclonedx(scan_result(), fmt, BomOptions())
        assert "timestamp" not in first
        assert '"created"' not in first
        assert "<created>" not in first
    doc = json.loads(render_cyclonedx(scan_result(), "json", BomOptions()))
    assert "timestamp" not in doc["metadata"]
    assert doc["serialNumber"].startswith("urn:uuid:")


# --- broken input never becomes output -----------------------------------------------------


def _broken(result: ScanResult, *expected: str) -> None:
    for fmt in ("json", "xml"):
        with pytest.raises(InvalidOutputError) as caught:
            render_cyclonedx(result, fmt, FIXED)
        joined = "\n".join(caught.value.problems)
        for text in expected:
            assert text in joined
        assert caught.value.exit_code == 70


def test_duplicate_component_refs_are_refused() -> None:
    result = scan_result()
    twin = replace(result.component(CONFIG), name="other.json")
    _broken(replace(result, components=(*result.components, twin)), f"{CONFIG!r} is used more")


def test_a_relation_to_an_unknown_ref_is_refused() -> None:
    result = scan_result()
    dangling = Relation(src=SUBJECT, dst="file:missing.bin", kind=RelationKind.CONTAINS)
    _broken(replace(result, relations=(*result.relations, dangling)), "'file:missing.bin'")


def test_non_canonical_purls_are_refused() -> None:
    result = scan_result()
    for purl in ("pkg:pypi/torch nightly@2.3.0", "pkg:PyPI/Torch@2.3.0", "not a purl"):
        torch = replace(result.component(TORCH), purl=purl)
        components = tuple(torch if c.ref == TORCH else c for c in result.components)
        _broken(replace(result, components=components), repr(purl))


def test_a_model_card_naming_an_unknown_dataset_is_refused() -> None:
    result = scan_result()
    facts = ModelCardFacts(dataset_refs=("dataset:nobody/nothing",))
    subject = replace(result.component(SUBJECT), model_card=facts)
    components = tuple(subject if c.ref == SUBJECT else c for c in result.components)
    _broken(replace(result, components=components), "'dataset:nobody/nothing'")


def test_uppercase_and_short_hashes_are_refused() -> None:
    result = scan_result()
    weights = replace(
        result.component(WEIGHTS),
        hashes=(Hash(alg="SHA-256", value=WEIGHTS_SHA.upper()), Hash(alg="SHA-1", value="ab")),
    )
    components = tuple(weights if c.ref == WEIGHTS else c for c in result.components)
    _broken(replace(result, components=components), "lowercase hex")


def test_unknown_hash_algorithm_and_reference_type_are_refused() -> None:
    result = scan_result()
    weights = replace(
        result.component(WEIGHTS),
        hashes=(Hash(alg="CRC32", value="abcd1234"),),
        external_urls=(("homepage", "https://example.org/"),),
    )
    components = tuple(weights if c.ref == WEIGHTS else c for c in result.components)
    _broken(replace(result, components=components), "'CRC32'", "'homepage'")


def test_a_subject_that_is_not_a_component_is_refused() -> None:
    _broken(replace(scan_result(), subjects=("pkg:huggingface/nobody/nothing",)), "subject")


def test_unsupported_versions_and_formats_are_usage_errors() -> None:
    with pytest.raises(UsageError, match=r"1\.4"):
        render_cyclonedx(scan_result(), "json", BomOptions(spec_version="1.4"))
    with pytest.raises(UsageError, match="yaml"):
        render_cyclonedx(scan_result(), "yaml", FIXED)  # type: ignore[arg-type]


# --- hostile text --------------------------------------------------------------------------


def test_hostile_strings_and_urls_still_give_valid_documents() -> None:
    result = scan_result()
    dataset = replace(
        result.component(DATASET),
        name="alp\x1baca\x7f",
        description="line\nbreak\x0bvertical tab",
        external_urls=(
            ("distribution", "https://huggingface.co/datasets/tatsu-lab/ал пака"),
            ("website", "https://example.org/%zz"),
            ("vcs", "https://example.org/a#b#c"),
            ("documentation", "javascript:alert(1)\n"),
        ),
        properties=(("sovscan:note", "\x00\ufffe"),),
    )
    components = tuple(dataset if c.ref == DATASET else c for c in result.components)
    changed = replace(result, components=components)
    for fmt in ("json", "xml"):
        assert render_cyclonedx(changed, fmt, FIXED)
    doc = json.loads(render_cyclonedx(changed, "json", FIXED))
    data = top(doc, DATASET)
    encoded = "https://huggingface.co/datasets/tatsu-lab/%D0%B0%D0%BB%20%D0%BF%D0%B0%D0%BA%D0%B0"
    assert data["externalReferences"] == [{"type": "distribution", "url": encoded}]
    assert data["data"][0]["contents"] == {"url": encoded}
    assert data["name"] == "alpaca\x7f"
    assert ("sovscan:note", "") in props(data)


# --- size and start-up ---------------------------------------------------------------------


def test_many_files_validate_in_slices() -> None:
    """More components and dependencies than one validation slice, each with a URL."""
    subject = Component(ref=SUBJECT, kind=ComponentKind.MODEL, name="m", purl=SUBJECT)
    files = tuple(
        Component(
            ref=f"file:shard-{index:03d}.bin",
            kind=ComponentKind.FILE,
            name=f"shard-{index:03d}.bin",
            path=f"shard-{index:03d}.bin",
            size=index,
            hashes=(Hash(alg="SHA-256", value=f"{index:064x}"),),
            external_urls=(("distribution", f"https://example.org/shard-{index:03d}.bin"),),
        )
        for index in range(150)
    )
    result = ScanResult(
        subjects=(SUBJECT,),
        components=(subject, *files),
        relations=tuple(
            Relation(src=SUBJECT, dst=f.ref, kind=RelationKind.CONTAINS) for f in files
        ),
    )
    doc = json.loads(render_cyclonedx(result, "json", FIXED))
    assert len(doc["components"]) == 150
    assert doc["components"][149]["hashes"][0]["content"] == f"{149:064x}"
    edges = {d["ref"]: d.get("dependsOn", []) for d in doc["dependencies"]}
    assert edges[SUBJECT] == [f.ref for f in files]


def test_importing_the_exporter_does_not_import_cyclonedx() -> None:
    code = (
        "import sys, scanner.sbom.cyclonedx\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('cyclonedx', 'jsonschema')))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert run.stdout.strip() == "[]"


def test_output_does_not_depend_on_hash_seeds() -> None:
    """Set iteration order changes with PYTHONHASHSEED; the bytes must not."""
    code = (
        "import hashlib\n"
        "from scanner.sbom.cyclonedx import render_cyclonedx\n"
        "from tests.unit.sbom.test_cyclonedx import FIXED, scan_result\n"
        "for fmt in ('json', 'xml'):\n"
        "    text = render_cyclonedx(scan_result(), fmt, FIXED)\n"
        "    print(hashlib.sha256(text.encode()).hexdigest())\n"
    )
    digests = [
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
        ).stdout
        for seed in ("1", "2")
    ]
    assert digests[0] == digests[1]
    expected = "\n".join(
        hashlib.sha256(rendered(fmt).encode()).hexdigest() for fmt in ("json", "xml")
    )
    assert digests[0].strip() == expected


@pytest.mark.parametrize("compiled", [False, True], ids=["library", "compiled-first"])
def test_sliced_schema_check_reports_errors_where_the_whole_would(
    compiled: bool, tmp_path: Path
) -> None:
    from scanner.sbom.cdx_validation import json_schema_problems

    components: list[dict[str, Any]] = [
        {"type": "file", "name": f"f{index}", "bom-ref": f"f{index}"} for index in range(150)
    ]
    components[100]["type"] = "weights"
    components[3]["externalReferences"] = [{"type": "website", "url": "https://ok.test/"}]
    components[140]["externalReferences"] = [
        {"type": "website", "url": "https://bad.test/a b"},
        {"type": "no-such-type", "url": "https://ok.test/"},
    ]
    dependencies: list[dict[str, Any]] = [{"ref": f"f{index}"} for index in range(150)]
    dependencies[120]["dependsOn"] = "f1"
    doc = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "metadata": {"timestamp": "yesterday"},
        "components": components,
        "dependencies": dependencies,
    }
    problems = json_schema_problems(doc, "1.6", tmp_path if compiled else None)
    assert "url 'https://bad.test/a b' is not a valid absolute URI" in problems
    joined = "\n".join(problems)
    assert "schema: components/100/type: 'weights' is not one of" in joined
    assert "'no-such-type' is not one of" in joined
    assert "schema: dependencies/120/dependsOn: 'f1' is not of type 'array'" in joined
    assert "schema: metadata/timestamp: 'yesterday' is not a 'date-time'" in joined
    assert len(problems) == 5
    assert components[3]["externalReferences"][0]["url"] == "https://ok.test/"  # input untouched


def test_hostile_file_names_in_refs_are_cleaned_everywhere() -> None:
    result = scan_result()
    hostile = replace(result.component(CONFIG), ref="file:con\x01fig.json", path="con\x01fig.json")
    components = tuple(hostile if c.ref == CONFIG else c for c in result.components)
    relations = tuple(
        replace(r, dst=hostile.ref) if r.dst == CONFIG else r for r in result.relations
    )
    changed = replace(result, components=components, relations=relations)
    for fmt in ("json", "xml"):
        assert "file:config.json" in render_cyclonedx(changed, fmt, FIXED)
    doc = json.loads(render_cyclonedx(changed, "json", FIXED))
    assert top(doc, CONFIG)["name"] == "config.json"
    edges = {d["ref"]: d.get("dependsOn", []) for d in doc["dependencies"]}
    assert CONFIG in edges[SUBJECT]


def test_refs_that_only_differ_in_hostile_characters_collide() -> None:
    result = scan_result()
    twin = replace(result.component(CONFIG), ref="file:config.json\x00")
    _broken(replace(result, components=(*result.components, twin)), f"{CONFIG!r} is used more")


def test_an_empty_ref_is_refused() -> None:
    result = scan_result()
    nameless = Component(ref="", kind=ComponentKind.FILE, name="x")
    _broken(replace(result, components=(*result.components, nameless)), "empty ref")


_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)


@settings(max_examples=25, deadline=None)
@given(
    name=_TEXT,
    description=_TEXT,
    licenses=st.lists(_TEXT, max_size=4),
    url=_TEXT,
    url_type=st.sampled_from(["distribution", "website", "vcs", "model-card"]),
    prop=st.tuples(_TEXT, _TEXT),
    evidence=st.tuples(_TEXT, _TEXT, _TEXT, _TEXT),
    task=_TEXT,
)
def test_fuzzed_text_always_renders_valid_documents(
    name: str,
    description: str,
    licenses: list[str],
    url: str,
    url_type: str,
    prop: tuple[str, str],
    evidence: tuple[str, str, str, str],
    task: str,
) -> None:
    location, field, value, method = evidence
    subject = Component(
        ref=SUBJECT,
        kind=ComponentKind.MODEL,
        name=name,
        description=description,
        licenses=tuple(licenses),
        external_urls=((url_type, url), ("website", "https://" + url)),
        properties=(prop,),
        evidence=(Evidence(location=location, field=field, value=value, method=method),),
        model_card=ModelCardFacts(task=task, architecture=name, languages=(task,)),
        origin=replace(ACME, organization=name or None),
    )
    dataset = Component(
        ref=DATASET, kind=ComponentKind.DATASET, name=name, external_urls=(("distribution", url),)
    )
    result = ScanResult(
        subjects=(SUBJECT,),
        components=(subject, dataset),
        relations=(Relation(src=SUBJECT, dst=DATASET, kind=RelationKind.TRAINED_ON),),
        properties=(prop,),
    )
    for fmt in ("json", "xml"):
        text = render_cyclonedx(result, fmt, FIXED)
        assert SUBJECT in text


def test_a_file_is_supplied_by_whoever_supplies_all_that_contains_it() -> None:
    """The subject (ACME, RU) contains its weights and config: they name ACME as supplier,
    in both writers, while their own origin properties stay absent. A file that a second
    component with another origin (or none) also contains names no supplier."""
    for bulk in (True, False):
        options = replace(FIXED, bulk_files=bulk)
        doc = json.loads(render_cyclonedx(scan_result(), "json", options))
        for ref in (WEIGHTS, CONFIG):
            file = top(doc, ref)
            assert file["supplier"] == {"name": "ACME AO", "address": {"country": "RU"}}
            assert not [p for p in props(file) if p[0].startswith("sovscan:origin:")]
    result = scan_result()
    shared = Relation(src=BASE, dst=CONFIG, kind=RelationKind.CONTAINS)  # Meta's, not ACME's
    doc = json.loads(
        render_cyclonedx(replace(result, relations=(*result.relations, shared)), "json", FIXED)
    )
    assert "supplier" not in top(doc, CONFIG)
    assert top(doc, WEIGHTS)["supplier"]["name"] == "ACME AO"
    orphan = _with_origin(SUBJECT, None)
    doc = json.loads(render_cyclonedx(orphan, "json", FIXED))
    assert "supplier" not in top(doc, WEIGHTS)


def test_the_bom_names_who_made_it_only_when_told() -> None:
    assert "authors" not in bom()["metadata"]
    made_by = Authorship.parse(["Jane Roe <jane@example.org>", "Security Team"], "Example Bank")
    for spec in SPEC_VERSIONS:
        options = replace(FIXED, spec_version=spec, authorship=made_by)
        doc = json.loads(render_cyclonedx(scan_result(), "json", options))  # schema-checked
        assert doc["metadata"]["authors"] == [
            {"email": "jane@example.org", "name": "Jane Roe"},
            {"name": "Security Team"},
        ]
        # 1.5 has no metadata.manufacturer (its "manufacture" means the component's maker).
        expected = None if spec == "1.5" else {"name": "Example Bank"}
        assert doc["metadata"].get("manufacturer") == expected
        xml = render_cyclonedx(scan_result(), "xml", options)
        assert "<name>Jane Roe</name>" in xml
    told = json.loads(render_cyclonedx(scan_result(), "json", replace(FIXED, authorship=made_by)))
    assert told["serialNumber"] != bom()["serialNumber"]  # another document, another serial


@pytest.mark.parametrize(
    "text", ["", "<jane@example.org>", "Jane <not-an-address>", "Jane\x00Roe", "x" * 201]
)
def test_an_author_must_be_a_name_with_an_optional_address(text: str) -> None:
    with pytest.raises(UsageError, match="--author"):
        Authorship.parse([text], None)


@pytest.mark.parametrize("text", ["", "   ", "Example\x00Bank", "x" * 201])
def test_a_manufacturer_must_be_a_printable_name(text: str) -> None:
    with pytest.raises(UsageError, match="--manufacturer"):
        Authorship.parse([], text)


def test_cdxgen_s_ai_properties_mirror_the_declared_lineage() -> None:
    """cdxgen's AI rules (cdx-audit AIG-003 and friends) read ``cdx:ai:*``: a model's declared
    lineage becomes its variant, beside sovscan's own properties."""
    doc = bom()

    def ai(ref: str) -> list[tuple[str, str]]:
        component = doc["metadata"]["component"] if ref == SUBJECT else top(doc, ref)
        return [p for p in props(component) if p[0].startswith("cdx:ai:")]

    assert ("cdx:ai:variant", "merged") in ai(SUBJECT)
    assert ("cdx:ai:kind", "model") in ai(SUBJECT)
    assert not [p for p in ai(SUBJECT) if p[1] in {"fine-tuned", "adapter"}]
    assert ai(FINETUNE) == [("cdx:ai:kind", "model"), ("cdx:ai:variant", "fine-tuned")]
    assert ("cdx:ai:variant", "adapter") in ai(ADAPTER)
    assert ai(BASE) == [("cdx:ai:kind", "model")]  # no declared base: no variant
    assert not [p for p in props(top(doc, TORCH)) if p[0].startswith("cdx:ai:")]
