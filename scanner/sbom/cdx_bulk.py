"""Plain file components and their dependency entries, written without cyclonedx-python-lib.

The library keeps every component and dependency in sorted sets whose comparisons build long
tuples: about 2 ms per component per document, so a 100,000-file folder would take minutes per
format. A file component that carries only a name, hashes and properties (what a walked file
is, unless attribution gave it a supplier) is written here instead, exactly as the library
writes it: same keys, same XML elements, merged into the library's output in the library's
order (components by type, group, name, version and bom-ref, a missing value last;
dependencies by ref). Tests render the same scans both ways and require identical bytes.
"""

from __future__ import annotations

import heapq
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

_Key = tuple[Any, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class BulkComponent:
    """A component with nothing but a type, a name, hashes and properties (all XML-safe)."""

    ref: str
    name: str
    type: str = "file"
    hashes: tuple[tuple[str, str], ...] = ()
    """(CycloneDX algorithm, hex content)."""
    properties: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class BulkPart:
    """What the library does not write: components, and dependency targets by ref."""

    components: tuple[BulkComponent, ...] = ()
    depends_on: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """For a bulk component, all it depends on; for any other ref, its bulk targets only."""

    def __bool__(self) -> bool:
        return bool(self.components or self.depends_on)


def _optional(value: str | None) -> tuple[int, str]:
    """The library's order of an optional value: any value before none."""
    return (1, "") if value is None else (0, value)


def component_key(kind: str, group: str | None, name: str, version: str | None, ref: str) -> _Key:
    """The library's sort key of a top-level component (bom-refs are unique, so it is total)."""
    return (kind, _optional(group), name, _optional(version), ref)


# --- JSON ----------------------------------------------------------------------------------


def splice_json(doc: dict[str, Any], part: BulkPart) -> None:
    """Add ``part`` to the library's JSON ``doc`` (in place), in the library's order."""
    if not part:
        return
    ordered = sorted(part.components, key=_bulk_key)
    if ordered:
        doc["components"] = list(
            heapq.merge(
                doc.get("components", []),
                (_component_json(component) for component in ordered),
                key=_json_component_key,
            )
        )
    entries = [
        _dependency_json(
            entry["ref"], (*entry.get("dependsOn", ()), *part.depends_on[entry["ref"]])
        )
        if entry["ref"] in part.depends_on
        else entry
        for entry in doc.get("dependencies", [])
    ]
    refs = sorted(component.ref for component in ordered)
    ours = (_dependency_json(ref, part.depends_on.get(ref, ())) for ref in refs)
    doc["dependencies"] = list(heapq.merge(entries, ours, key=lambda entry: entry["ref"]))


def _component_json(component: BulkComponent) -> dict[str, Any]:
    found: dict[str, Any] = {"bom-ref": component.ref}
    if component.hashes:
        found["hashes"] = [{"alg": alg, "content": content} for alg, content in component.hashes]
    found["name"] = component.name
    if component.properties:
        found["properties"] = [{"name": n, "value": v} for n, v in component.properties]
    found["type"] = component.type
    return found


def _dependency_json(ref: str, targets: Iterable[str]) -> dict[str, Any]:
    """An entry as the library writes it (keys in alphabetical order)."""
    needed = sorted(set(targets))
    return {"dependsOn": needed, "ref": ref} if needed else {"ref": ref}


def _bulk_key(component: BulkComponent) -> _Key:
    return component_key(component.type, None, component.name, None, component.ref)


def _json_component_key(component: Mapping[str, Any]) -> _Key:
    return component_key(
        component["type"],
        component.get("group"),
        component["name"],
        component.get("version"),
        component.get("bom-ref", ""),
    )


# --- XML -----------------------------------------------------------------------------------

#: ``<bom>`` children that come after ``<components>`` (XSD order), for a BOM that had none.
_AFTER_COMPONENTS = frozenset(
    {"services", "externalReferences", "dependencies", "compositions", "properties",
     "vulnerabilities", "annotations", "formulation", "declarations", "definitions"}
)  # fmt: skip


def splice_xml(root: ET.Element, part: BulkPart) -> None:
    """Add ``part`` to the library's XML tree ``root`` (local names, in place)."""
    if not part:
        return
    ordered = sorted(part.components, key=_bulk_key)
    if ordered:
        holder = root.find("components")
        if holder is None:
            holder = ET.Element("components")
            root.insert(_position(root, _AFTER_COMPONENTS), holder)
        merged = list(
            heapq.merge(
                list(holder),
                (_component_xml(component) for component in ordered),
                key=_xml_component_key,
            )
        )
        holder[:] = merged
    dependencies = root.find("dependencies")
    if dependencies is None:
        return
    for entry in dependencies:
        extra = part.depends_on.get(entry.get("ref", ""))
        if extra:
            refs = sorted({*(child.get("ref", "") for child in entry), *extra})
            entry[:] = [ET.Element("dependency", {"ref": ref}) for ref in refs]
    refs = sorted(component.ref for component in ordered)
    ours = (_dependency_xml(ref, part.depends_on.get(ref, ())) for ref in refs)
    dependencies[:] = list(
        heapq.merge(list(dependencies), ours, key=lambda entry: entry.get("ref", ""))
    )


def _component_xml(component: BulkComponent) -> ET.Element:
    element = ET.Element("component", {"type": component.type, "bom-ref": component.ref})
    ET.SubElement(element, "name").text = component.name
    if component.hashes:
        hashes = ET.SubElement(element, "hashes")
        for alg, content in component.hashes:
            ET.SubElement(hashes, "hash", {"alg": alg}).text = content
    if component.properties:
        properties = ET.SubElement(element, "properties")
        for name, value in component.properties:
            ET.SubElement(properties, "property", {"name": name}).text = value
    return element


def _dependency_xml(ref: str, targets: Iterable[str]) -> ET.Element:
    element = ET.Element("dependency", {"ref": ref})
    for target in sorted(set(targets)):
        ET.SubElement(element, "dependency", {"ref": target})
    return element


def _xml_component_key(element: ET.Element) -> _Key:
    def text(tag: str) -> str | None:
        child = element.find(tag)
        return None if child is None else (child.text or "")

    return component_key(
        element.get("type", ""),
        text("group"),
        text("name") or "",
        text("version"),
        element.get("bom-ref", ""),
    )


def _position(root: ET.Element, later: frozenset[str]) -> int:
    return next((i for i, child in enumerate(root) if child.tag in later), len(root))
