"""modelCard and data: built from facts, added to the library's JSON and XML in schema order."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from cyclonedx.schema import OutputFormat, SchemaVersion
from cyclonedx.validation import make_schemabased_validator

from scanner.core.model import ModelCardFacts
from scanner.sbom.cdx_model_card import (
    ComponentExtras,
    data_json,
    inject_json,
    inject_xml,
    model_card_json,
    xml_safe,
)

NS17 = "http://cyclonedx.org/schema/bom/1.7"


def test_full_facts_become_parameters_and_properties() -> None:
    facts = ModelCardFacts(
        task="text-generation",
        architecture_family="qwen2",
        architecture="Qwen2ForCausalLM",
        dataset_refs=("dataset:b/two", "dataset:a/one", "dataset:b/two"),
        languages=("zh", "en", "zh"),
        parameter_count=494_032_768,
        quantization="Q4_K_M",
    )
    assert model_card_json("m", facts) == {
        "bom-ref": "m#model-card",
        "modelParameters": {
            "task": "text-generation",
            "architectureFamily": "qwen2",
            "modelArchitecture": "Qwen2ForCausalLM",
            "datasets": [{"ref": "dataset:a/one"}, {"ref": "dataset:b/two"}],
        },
        "properties": [
            {"name": "cdx:ai-ml:model:hyperparameter:quantization", "value": "Q4_K_M"},
            {"name": "cdx:ai-ml:model:language", "value": "en"},
            {"name": "cdx:ai-ml:model:language", "value": "zh"},
            {"name": "cdx:ai-ml:model:parameter:count", "value": "494032768"},
        ],
    }


def test_empty_parts_are_left_out() -> None:
    assert model_card_json("m", ModelCardFacts()) == {"bom-ref": "m#model-card"}
    assert model_card_json("m", ModelCardFacts(task="", parameter_count=0)) == {
        "bom-ref": "m#model-card",
        "properties": [{"name": "cdx:ai-ml:model:parameter:count", "value": "0"}],
    }
    assert "modelParameters" in model_card_json("m", ModelCardFacts(task="fill-mask"))


def test_data_entries() -> None:
    assert data_json("dataset", "alpaca", "https://x.test/a") == {
        "type": "dataset",
        "name": "alpaca",
        "contents": {"url": "https://x.test/a"},
    }
    assert data_json("configuration", "tok\x01", None) == {"type": "configuration", "name": "tok"}


def test_xml_safe_drops_only_what_xml_cannot_carry() -> None:
    assert xml_safe("a\x00b\x08c\x0bd\x1fe\ufffef\uffff") == "abcdef"
    assert xml_safe("tab\tnl\ncr\r ünï €") == "tab\tnl\ncr\r ünï €"
    assert xml_safe("\ud800x") == "x"


def test_inject_json_adds_keys_sorted_and_orders_the_top_level() -> None:
    library = json.dumps(
        {
            "version": 1,
            "metadata": {
                "component": {"type": "machine-learning-model", "name": "m", "bom-ref": "m"}
            },
            "specVersion": "1.6",
            "components": [
                {"type": "data", "name": "d", "bom-ref": "d"},
                {"type": "file", "name": "f", "bom-ref": "f"},
            ],
            "bomFormat": "CycloneDX",
        }
    )
    extras = {
        "m": ComponentExtras(model_card={"bom-ref": "m#model-card"}),
        "d": ComponentExtras(data=({"type": "dataset", "name": "d"},)),
    }
    text, doc = inject_json(library, extras)
    assert json.loads(text) == doc
    assert text.endswith("}\n")
    assert list(doc) == ["bomFormat", "specVersion", "version", "metadata", "components"]
    subject = doc["metadata"]["component"]
    assert list(subject) == ["bom-ref", "modelCard", "name", "type"]
    assert subject["modelCard"] == {"bom-ref": "m#model-card"}
    assert list(doc["components"][0]) == ["bom-ref", "data", "name", "type"]
    assert doc["components"][1] == {"type": "file", "name": "f", "bom-ref": "f"}


def _xml_bom(component_body: str) -> str:
    return (
        f'<?xml version="1.0" ?>\n<bom xmlns="{NS17}" version="1"><components>'
        f'<component type="machine-learning-model" bom-ref="m">{component_body}</component>'
        '<component type="data" bom-ref="d"><name>d</name><tags><tag>t</tag></tags></component>'
        "</components></bom>"
    )


def test_inject_xml_follows_the_xsd_sequence_and_validates() -> None:
    raw = _xml_bom(
        "<name>m</name><evidence><occurrences><occurrence><location>x</location>"
        "</occurrence></occurrences></evidence><tags><tag>llm</tag></tags>"
    )
    card = model_card_json("m", ModelCardFacts(task="t", dataset_refs=("d",), languages=("en",)))
    extras = {
        "m": ComponentExtras(model_card=card),
        "d": ComponentExtras(
            data=(data_json("dataset", "d", "https://x.test/d"), data_json("other", "e", None))
        ),
    }
    text = inject_xml(raw, extras, "1.7")
    validator = make_schemabased_validator(OutputFormat.XML, SchemaVersion.V1_7)
    assert validator.validate_str(text) is None
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<bom xmlns="')
    root = ET.fromstring(text)  # noqa: S314 - our own output
    model, data = root.iterfind(f"{{{NS17}}}components/{{{NS17}}}component")
    assert [c.tag.split("}")[1] for c in model] == ["name", "evidence", "modelCard", "tags"]
    assert [c.tag.split("}")[1] for c in data] == ["name", "data", "data", "tags"]
    assert [d.findtext(f"{{{NS17}}}name") for d in data.iterfind(f"{{{NS17}}}data")] == ["d", "e"]
    card_element = model.find(f"{{{NS17}}}modelCard")
    assert card_element is not None
    assert card_element.get("bom-ref") == "m#model-card"
    assert (
        card_element.findtext(f"{{{NS17}}}modelParameters/{{{NS17}}}datasets/{{{NS17}}}ref") == "d"
    )
    prop = card_element.find(f"{{{NS17}}}properties/{{{NS17}}}property")
    assert prop is not None
    assert (prop.get("name"), prop.text) == ("cdx:ai-ml:model:language", "en")


def test_inject_xml_stops_before_extension_elements() -> None:
    raw = _xml_bom('<name>m</name><x:ext xmlns:x="urn:example">e</x:ext>')
    extras = {"m": ComponentExtras(model_card={"bom-ref": "m#model-card"})}
    root = ET.fromstring(inject_xml(raw, extras, "1.7"))  # noqa: S314 - our own output
    model = root.find(f"{{{NS17}}}components/{{{NS17}}}component")
    assert model is not None
    assert [c.tag for c in model] == [f"{{{NS17}}}name", f"{{{NS17}}}modelCard", "{urn:example}ext"]


def test_inject_xml_leaves_unknown_refs_alone() -> None:
    raw = _xml_bom("<name>m</name>")
    text = inject_xml(raw, {"nobody": ComponentExtras(model_card={"bom-ref": "x"})}, "1.7")
    assert "modelCard" not in text
    assert '<component type="machine-learning-model" bom-ref="m">' in text
