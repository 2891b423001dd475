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
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TextIO

from scanner.sbom.integrity import HASH_HEX_LENGTHS, LOWER_HEX, walk_objects

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

    def representatives(self) -> frozenset[str]:
        """One component of each shape (hash algorithms, property names, whether it depends
        on anything): what the schema is asked about; the values are checked one by one
        (``value_problems``, and the integrity checks on the whole document)."""
        chosen: dict[tuple[object, ...], str] = {}
        for component in self.components:
            shape = (
                tuple(alg for alg, _ in component.hashes),
                tuple(name for name, _ in component.properties),
                component.ref in self.depends_on,
            )
            chosen.setdefault(shape, component.ref)
        return frozenset(chosen.values())

    def value_problems(self) -> list[str]:
        """What the schema would check in every component's values: non-empty strings."""
        problems = []
        for component in self.components:
            texts = (
                component.ref,
                component.name,
                *(text for pair in component.hashes for text in pair),
                *(text for pair in component.properties for text in pair),
            )
            if not component.ref or not all(isinstance(text, str) for text in texts):
                problems.append(f"file component {component.ref!r} has a value that is no text")
        return problems


def _optional(value: str | None) -> tuple[int, str]:
    """The library's order of an optional value: any value before none."""
    return (1, "") if value is None else (0, value)


def component_key(kind: str, group: str | None, name: str, version: str | None, ref: str) -> _Key:
    """The library's sort key of a top-level component (bom-refs are unique, so it is total)."""
    return (kind, _optional(group), name, _optional(version), ref)


# --- JSON ----------------------------------------------------------------------------------


def splice_json(
    doc: dict[str, Any], part: BulkPart, *, keep: frozenset[str] | None = None
) -> dict[str, Any]:
    """A copy of the library's JSON ``doc`` (shallow, but for the lists it changes) with the
    components of ``part`` in ``keep`` (None: all) and their dependency entries merged in, in
    the library's order; the edges to them are added to the other entries."""
    chosen = sorted((c for c in part.components if keep is None or c.ref in keep), key=_bulk_key)
    if keep is not None:  # the other entries' edges to the files left out go too
        part = BulkPart(
            components=part.components,
            depends_on={
                ref: targets if ref in keep else [t for t in targets if t in keep]
                for ref, targets in part.depends_on.items()
            },
        )
    return _spliced(doc, part, chosen, lambda c: _component_json(c), _dependency_json)


def write_json(doc: dict[str, Any], part: BulkPart, out: TextIO) -> None:
    """Write ``json.dumps(splice_json(doc, part), indent=2) + "\n"`` to ``out``, the bulk
    entries from templates, one at a time: the standard encoder walks every value in Python
    when it indents, and 100,000 components held as dictionaries or texts cost ~1 GB."""
    if not part:
        json.dump(doc, out, indent=2)  # written as it is encoded, never one whole text
        out.write("\n")
        return
    items: list[Callable[[], str]] = []

    def later(text: Callable[[], str]) -> str:
        items.append(text)
        return _PLACEHOLDER

    shallow = _spliced(
        doc,
        part,
        sorted(part.components, key=_bulk_key),
        lambda c: later(partial(_component_text, c)),
        lambda ref, needed: later(partial(_entry_text, ref, needed)),
    )
    pieces = json.dumps(shallow, indent=2).split(_PLACEHOLDER_JSON)
    if len(pieces) != len(items) + 1:  # some value spells the placeholder: take the slow road
        out.write(json.dumps(splice_json(doc, part), indent=2) + "\n")
        return
    out.write(pieces[0])
    for text, piece in zip(items, pieces[1:], strict=True):
        out.write(text())
        out.write(piece)
    out.write("\n")


def _spliced(
    doc: dict[str, Any],
    part: BulkPart,
    chosen: Sequence[BulkComponent],
    component: Callable[[BulkComponent], Any],
    entry: Callable[[str, Sequence[str]], Any],
) -> dict[str, Any]:
    """``doc`` with ``chosen`` (in the library's order) written by ``component`` and their
    dependency entries by ``entry``; placeholders or dictionaries, in the order of the texts."""
    spliced = dict(doc)
    if chosen:
        if "components" not in spliced:  # the library wrote none: they follow the metadata
            spliced = {}
            for key, value in doc.items():
                spliced[key] = value
                if key == "metadata":
                    spliced["components"] = []
            spliced.setdefault("components", [])
        ours = ((_bulk_key(c), c) for c in chosen)
        theirs = ((_json_component_key(c), c) for c in doc.get("components", []))
        spliced["components"] = [
            component(item) if isinstance(item, BulkComponent) else item
            for _, item in heapq.merge(theirs, ours, key=lambda pair: pair[0])
        ]
    existing = [
        _dependency_json(e["ref"], (*e.get("dependsOn", ()), *part.depends_on[e["ref"]]))
        if e["ref"] in part.depends_on
        else e
        for e in doc.get("dependencies", [])
    ]
    refs = sorted(c.ref for c in chosen)
    mine = ((ref, ref) for ref in refs)
    merged = heapq.merge(((e["ref"], e) for e in existing), mine, key=lambda pair: pair[0])
    spliced["dependencies"] = [
        entry(item, sorted(set(part.depends_on.get(item, ())))) if isinstance(item, str) else item
        for _, item in merged
    ]
    return spliced


def bulk_problems(doc: Mapping[str, Any], part: BulkPart) -> list[str]:
    """What ``check_integrity`` would find in ``splice_json(doc, part)`` beyond what it finds
    in ``doc``: a bom-ref used twice, an edge to no component, a hash that is not lowercase hex
    of its algorithm's length; and values that are not text."""
    problems = part.value_problems()
    refs = [component.ref for component in part.components]
    known_elsewhere = {
        obj["bom-ref"] for obj in walk_objects(doc) if isinstance(obj.get("bom-ref"), str)
    }
    seen: set[str] = set()
    for ref in refs:
        if ref in seen or ref in known_elsewhere:
            problems.append(f"bom-ref {ref!r} is used more than once")
        seen.add(ref)
    top_level = {c.get("bom-ref") for c in doc.get("components", [])}
    subject = doc.get("metadata", {}).get("component", {})
    known = seen | top_level | {subject.get("bom-ref")}
    for ref, targets in part.depends_on.items():
        problems.extend(
            f"{ref!r} depends on {target!r}, which is no top-level component"
            for target in targets
            if target not in known
        )
    for component in part.components:
        for alg, content in component.hashes:
            length = HASH_HEX_LENGTHS.get(alg)
            if length is None or len(content) != length or not LOWER_HEX.fullmatch(content):
                problems.append(
                    f"{alg} of {component.ref!r} is not {length} lowercase hex digits: {content!r}"
                )
    return problems


#: Stands for a bulk entry while the rest of the document is encoded (NUL never survives
#: ``xml_safe``, so no real value can look like it).
_PLACEHOLDER = "\x00sovscan-bulk\x00"
_PLACEHOLDER_JSON = json.dumps(_PLACEHOLDER)


def _component_text(component: BulkComponent) -> str:
    """The component as ``json.dumps(indent=2)`` writes an item of the top-level
    ``components`` (its first line unindented, the rest at six spaces and deeper)."""
    lines = ["{", f'      "bom-ref": {json.dumps(component.ref)},']
    lines += _pairs_json("hashes", ("alg", "content"), component.hashes)
    lines.append(f'      "name": {json.dumps(component.name)},')
    lines += _pairs_json("properties", ("name", "value"), component.properties)
    lines.append(f'      "type": {json.dumps(component.type)}')
    lines.append("    }")
    return "\n".join(lines)


def _pairs_json(key: str, names: tuple[str, str], pairs: Sequence[tuple[str, str]]) -> list[str]:
    """The lines of ``"key": [{names[0]: …, names[1]: …}, …],`` at a component's depth."""
    if not pairs:
        return []
    first, second = (json.dumps(name) for name in names)
    items = ",\n".join(
        f"        {{\n          {first}: {json.dumps(one)},\n"
        f"          {second}: {json.dumps(two)}\n        }}"
        for one, two in pairs
    )
    return [f"      {json.dumps(key)}: [", items, "      ],"]


def _entry_text(ref_value: str, needed: Sequence[str]) -> str:
    """A dependencies entry as ``json.dumps(indent=2)`` writes an item of that list."""
    ref = f'"ref": {json.dumps(ref_value)}'
    if not needed:
        return f"{{\n      {ref}\n    }}"
    targets = ",\n".join(f"        {json.dumps(target)}" for target in needed)
    return f'{{\n      "dependsOn": [\n{targets}\n      ],\n      {ref}\n    }}'


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
    """Add ``part`` to the library's XML tree ``root`` (local names, in place) as placeholder
    elements, in the library's order; ``fill_xml`` writes them into the serialised text."""
    if not part:
        return
    ordered = sorted(part.components, key=_bulk_key)
    if ordered:
        holder = root.find("components")
        if holder is None:
            holder = ET.Element("components")
            root.insert(_position(root, _AFTER_COMPONENTS), holder)
        ours = (
            (_bulk_key(component), ET.Element(_PLACEHOLDER_TAG, {"c": str(index)}))
            for index, component in enumerate(ordered)
        )
        theirs = ((_xml_component_key(element), element) for element in holder)
        holder[:] = [element for _, element in heapq.merge(theirs, ours, key=lambda p: p[0])]
    dependencies = root.find("dependencies")
    if dependencies is None:
        return
    for entry in dependencies:
        extra = part.depends_on.get(entry.get("ref", ""))
        if extra:
            refs = sorted({*(child.get("ref", "") for child in entry), *extra})
            entry[:] = [ET.Element("dependency", {"ref": ref}) for ref in refs]
    refs = sorted(component.ref for component in ordered)
    entries = (
        (ref, ET.Element(_PLACEHOLDER_TAG, {"d": str(index)})) for index, ref in enumerate(refs)
    )
    existing = ((entry.get("ref", ""), entry) for entry in dependencies)
    dependencies[:] = [e for _, e in heapq.merge(existing, entries, key=lambda p: p[0])]


_PLACEHOLDER_TAG = "sovscan-bulk"
_PLACEHOLDER_LINE = re.compile(r'^( *)<sovscan-bulk ([cd])="(\d+)" />\n', re.MULTILINE)


def fill_xml(text: str, part: BulkPart, keep: frozenset[str] | None = None) -> str:
    """``text`` with its placeholders written (see ``write_xml``)."""
    out = io.StringIO()
    write_xml(text, part, out, keep)
    return out.getvalue()


def write_xml(text: str, part: BulkPart, out: TextIO, keep: frozenset[str] | None = None) -> None:
    """Write ``text`` (serialised after ``splice_xml`` and indenting) to ``out``, each
    placeholder as the element the library would write; with ``keep``, only those refs'."""
    ordered = sorted(part.components, key=_bulk_key)
    refs = sorted(component.ref for component in ordered)
    written = 0
    for match in _PLACEHOLDER_LINE.finditer(text):
        out.write(text[written : match.start()])
        written = match.end()
        indent, kind, index = match.group(1), match.group(2), int(match.group(3))
        if kind == "c":
            component = ordered[index]
            if keep is None or component.ref in keep:
                out.write(_component_xml_text(component, indent))
            continue
        ref = refs[index]
        if keep is None or ref in keep:
            out.write(_dependency_xml_text(ref, part.depends_on.get(ref, ()), indent))
    out.write(text[written:])


def _component_xml_text(component: BulkComponent, indent: str) -> str:
    """The component as ``ET.indent`` and ``ET.tostring`` write it (the library's elements:
    name, hashes, properties), with the library's XML value types: the name and property values
    are ``normalizedString`` (tabs and line breaks become spaces), hash contents ``token``."""
    from py_serializable.xml import xs_normalizedString, xs_token

    inner = indent + "  "
    lines = [
        f'{indent}<component type="{_attrib(component.type)}" bom-ref="{_attrib(component.ref)}">',
        inner + _leaf("name", None, None, xs_normalizedString(component.name)),
    ]
    hashes = [(alg, xs_token(content)) for alg, content in component.hashes]
    lines += _pairs_xml("hashes", "hash", "alg", hashes, inner)
    properties = [(name, xs_normalizedString(value)) for name, value in component.properties]
    lines += _pairs_xml("properties", "property", "name", properties, inner)
    lines.append(f"{indent}</component>")
    return "\n".join(lines) + "\n"


def _pairs_xml(
    holder: str, tag: str, attribute: str, pairs: Sequence[tuple[str, str]], indent: str
) -> list[str]:
    """``<holder><tag attribute="a">text</tag>…</holder>`` as lines at ``indent``."""
    if not pairs:
        return []
    deeper = indent + "  "
    return [
        f"{indent}<{holder}>",
        *(deeper + _leaf(tag, attribute, value, text) for value, text in pairs),
        f"{indent}</{holder}>",
    ]


def _dependency_xml_text(ref: str, targets: Iterable[str], indent: str) -> str:
    needed = sorted(set(targets))
    if not needed:
        return f'{indent}<dependency ref="{_attrib(ref)}" />\n'
    inner = indent + "  "
    lines = [f'{indent}<dependency ref="{_attrib(ref)}">']
    lines.extend(f'{inner}<dependency ref="{_attrib(target)}" />' for target in needed)
    lines.append(f"{indent}</dependency>")
    return "\n".join(lines) + "\n"


def _leaf(tag: str, attribute: str | None, value: str | None, text: str) -> str:
    """An element with at most one attribute, text and no children, as ElementTree writes it
    (without text: self-closed)."""
    opening = tag if attribute is None else f'{tag} {attribute}="{_attrib(value)}"'
    if not text:
        return f"<{opening} />"
    return f"<{opening}>{_cdata(text)}</{tag}>"


# ElementTree's own escaping, so that these elements read exactly as the ones it serialises.
_cdata = ET._escape_cdata  # type: ignore[attr-defined]
_attrib = ET._escape_attrib  # type: ignore[attr-defined]


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
