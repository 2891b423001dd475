"""What cyclonedx-python-lib cannot build: ``modelCard`` and ``data``, added after serialisation.

The library (11.x) has no ``Component.model_card`` / ``Component.data`` (issues #912, #913), so the
exporter serialises the BOM first and this module adds both to the text, keyed by bom-ref:

- JSON: ``json.loads`` → add the keys → ``json.dumps(indent=2)``; keys of every touched object are
  sorted like the library sorts its own, so the output is deterministic.
- XML: parse → insert elements where the XSD's ``xs:sequence`` wants them (``modelCard`` after
  ``evidence``/``releaseNotes``, then ``data``; before ``cryptoProperties``/``tags``) → indent.
- Top-level parts the library lacks (``declarations``, ``definitions``; see
  ``scanner.sbom.declarations``) are appended to the document the same way, after what the
  library wrote.

Both renderings are built from the same JSON-shaped payloads, so they say the same thing.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scanner.core.model import ModelCardFacts
from scanner.core.properties import CdxPropertyName

#: Component children that must come after ``modelCard`` (1.6/1.7 XSD order; 1.5 has neither).
_AFTER_MODEL_CARD = frozenset({"data", "cryptoProperties", "tags"})
#: Component children that must come after ``data``.
_AFTER_DATA = frozenset({"cryptoProperties", "tags"})
#: ``<bom>`` children that must come after ``declarations`` and ``definitions`` (1.7 XSD).
_AFTER_DEFINITIONS = frozenset({"citations"})
#: Top-level keys first, in this order; the rest follow as the library wrote them.
_TOP_LEVEL_ORDER = (
    "$schema",
    "bomFormat",
    "specVersion",
    "serialNumber",
    "version",
    "metadata",
    "components",
    "dependencies",
)

#: Characters XML 1.0 cannot carry (C0 controls but TAB/LF/CR, surrogates, U+FFFE/U+FFFF).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot represent (a hostile card may hold them)."""
    return _XML_ILLEGAL.sub("", text)


@dataclass(frozen=True, slots=True, kw_only=True)
class ComponentExtras:
    """The parts of one component the library cannot serialise, in CycloneDX JSON shape."""

    model_card: dict[str, Any] | None = None
    data: tuple[dict[str, Any], ...] = ()


def model_card_json(component_ref: str, facts: ModelCardFacts) -> dict[str, Any]:
    """The ``modelCard`` object for ``facts``; empty parts are left out.

    Facts go to ``modelCard.properties`` (``modelParameters`` has no ``properties`` in the schema).
    """
    parameters: dict[str, Any] = {}
    if facts.task:
        parameters["task"] = xml_safe(facts.task)
    if facts.architecture_family:
        parameters["architectureFamily"] = xml_safe(facts.architecture_family)
    if facts.architecture:
        parameters["modelArchitecture"] = xml_safe(facts.architecture)
    if facts.dataset_refs:
        parameters["datasets"] = [{"ref": ref} for ref in sorted(set(facts.dataset_refs))]
    properties = [
        {"name": CdxPropertyName.MODEL_LANGUAGE.value, "value": xml_safe(language)}
        for language in sorted(set(facts.languages))
    ]
    if facts.parameter_count is not None:
        properties.append(
            {"name": CdxPropertyName.PARAMETER_COUNT.value, "value": str(facts.parameter_count)}
        )
    if facts.quantization:
        properties.append(
            {"name": CdxPropertyName.QUANTIZATION.value, "value": xml_safe(facts.quantization)}
        )
    card: dict[str, Any] = {"bom-ref": f"{component_ref}#model-card"}
    if parameters:
        card["modelParameters"] = parameters
    if properties:
        card["properties"] = sorted(properties, key=lambda p: (p["name"], p["value"]))
    return card


def data_json(data_type: str, name: str, url: str | None) -> dict[str, Any]:
    """One ``data`` entry (``type``: dataset, configuration, …), with ``contents.url`` if known."""
    entry: dict[str, Any] = {"type": data_type, "name": xml_safe(name)}
    if url:
        entry["contents"] = {"url": url}
    return entry


def inject_json(
    text: str,
    extras: Mapping[str, ComponentExtras],
    top_level: Mapping[str, Any] | None = None,
) -> tuple[str, dict[str, Any]]:
    """The library's JSON ``text`` with ``extras`` (per component) and ``top_level`` (keys the
    library cannot write, e.g. ``declarations``; appended in order) added; the text and its dict.
    """
    doc = injected_json(text, extras, top_level)
    return json.dumps(doc, indent=2) + "\n", doc


def injected_json(
    text: str,
    extras: Mapping[str, ComponentExtras],
    top_level: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The document of ``inject_json``, not yet written out."""
    doc: dict[str, Any] = json.loads(text)
    for component in _json_components(doc):
        extra = extras.get(component.get("bom-ref", ""))
        if extra is None:
            continue
        if extra.model_card is not None:
            component["modelCard"] = extra.model_card
        if extra.data:
            component["data"] = list(extra.data)
        ordered = dict(sorted(component.items()))
        component.clear()
        component.update(ordered)
    head = {key: doc[key] for key in _TOP_LEVEL_ORDER if key in doc}
    doc = head | {key: value for key, value in doc.items() if key not in head}
    doc.update(top_level or {})
    return doc


def _json_components(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """metadata.component and the top-level components: the ones extras are keyed to."""
    found: list[dict[str, Any]] = []
    subject = doc.get("metadata", {}).get("component")
    if isinstance(subject, dict):
        found.append(subject)
    found.extend(c for c in doc.get("components", []) if isinstance(c, dict))
    return found


def inject_xml(
    text: str,
    extras: Mapping[str, ComponentExtras],
    spec_version: str,
    top_level: Sequence[ET.Element] = (),
    *,
    extend: Callable[[ET.Element], None] | None = None,
) -> str:
    """The library's (unindented) XML ``text`` with ``extras`` (per component) and ``top_level``
    (unqualified ``<bom>`` children in XSD order, e.g. declarations) added, indented by two
    spaces. ``extend`` may add to the tree (local names) first (``scanner.sbom.cdx_bulk``)."""
    ns = f"http://cyclonedx.org/schema/bom/{spec_version}"
    # Our own serialiser's output, never a scanned file: the stdlib parser is safe here.
    root = ET.fromstring(text)  # noqa: S314
    # ElementTree cannot write a default namespace next to unqualified attributes (bom-ref), so
    # the tree is handled in local names and the namespace is declared on the root by hand.
    _strip_namespace(root, ns)
    if extend is not None:
        extend(root)
    for element in [*root.findall("metadata/component"), *root.findall("components/component")]:
        extra = extras.get(element.get("bom-ref", ""))
        if extra is None:
            continue
        if extra.model_card is not None:
            position = _insert_position(element, _AFTER_MODEL_CARD)
            element.insert(position, _model_card_xml(extra.model_card))
        for entry in extra.data:
            # Each lands after the data inserted before it: ``data`` is not in _AFTER_DATA.
            element.insert(_insert_position(element, _AFTER_DATA), _data_xml(entry))
    for child in top_level:
        # Each lands after the one before it (the same reasoning as for ``data``).
        root.insert(_insert_position(root, _AFTER_DEFINITIONS), child)
    root.attrib = {"xmlns": ns, **root.attrib}
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'


def _strip_namespace(root: ET.Element, ns: str) -> None:
    """Rename ``{ns}local`` tags to ``local``; tags of other namespaces keep theirs."""
    prefix = f"{{{ns}}}"
    for element in root.iter():
        if element.tag.startswith(prefix):
            element.tag = element.tag[len(prefix) :]


def _insert_position(element: ET.Element, later: frozenset[str]) -> int:
    """Index of the first child that must follow the new one (XSD sequence), else the end."""
    for index, child in enumerate(element):
        # A qualified tag is an extension (xs:any ##other), which ends the sequence.
        if child.tag.startswith("{") or child.tag in later:
            return index
    return len(element)


def _model_card_xml(card: Mapping[str, Any]) -> ET.Element:
    """``<modelCard>`` in XSD order: modelParameters (task … datasets), then properties."""
    element = ET.Element("modelCard", {"bom-ref": card["bom-ref"]})
    parameters = card.get("modelParameters")
    if parameters:
        holder = ET.SubElement(element, "modelParameters")
        for key in ("task", "architectureFamily", "modelArchitecture"):
            if key in parameters:
                ET.SubElement(holder, key).text = parameters[key]
        if parameters.get("datasets"):
            datasets = ET.SubElement(holder, "datasets")
            for dataset in parameters["datasets"]:
                ET.SubElement(datasets, "ref").text = dataset["ref"]
    if card.get("properties"):
        _properties_xml(element, card["properties"])
    return element


def _data_xml(entry: Mapping[str, Any]) -> ET.Element:
    """``<data>`` in XSD order: type, name, contents/url."""
    element = ET.Element("data")
    ET.SubElement(element, "type").text = entry["type"]
    if "name" in entry:
        ET.SubElement(element, "name").text = entry["name"]
    if "contents" in entry:
        contents = ET.SubElement(element, "contents")
        ET.SubElement(contents, "url").text = entry["contents"]["url"]
    return element


def _properties_xml(parent: ET.Element, properties: list[dict[str, str]]) -> None:
    """``<properties><property name="…">value</property>…</properties>`` under ``parent``."""
    holder = ET.SubElement(parent, "properties")
    for prop in properties:
        ET.SubElement(holder, "property", {"name": prop["name"]}).text = prop["value"]
