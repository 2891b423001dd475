"""Top-level components and their dependency entries, written without cyclonedx-python-lib.

The library keeps every component in sorted sets whose comparisons build long tuples: about
2 ms and 17 sorted sets per component, so a 100,000-file folder or a 5,000-package lock would
take minutes and hundreds of megabytes per format. A component without pedigree, model card or
data (a walked file, a package, remote code) is written here instead, exactly as the library
writes it (``cdx_bulk_text``), merged into the library's output in the library's order
(components by type, group, name, version and bom-ref, a missing value last; dependencies by
ref). Tests render the same scans both ways and require identical bytes.
"""

from __future__ import annotations

import heapq
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TextIO

from scanner.sbom.cdx_bulk_text import (
    BulkComponent,
    HashPair,
    component_json,
    component_json_text,
    component_xml_text,
    dependency_json,
    dependency_json_text,
    dependency_xml_text,
)
from scanner.sbom.cdx_consumers import root_ref
from scanner.sbom.integrity import HASH_HEX_LENGTHS, LOWER_HEX, walk_objects

_Key = tuple[Any, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class BulkPart:
    """What the library does not write: components, and dependency targets by ref."""

    components: tuple[BulkComponent, ...] = ()
    depends_on: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """For a bulk component, all it depends on; for any other ref, its bulk targets only."""

    def __bool__(self) -> bool:
        return bool(self.components or self.depends_on)

    def representatives(self) -> frozenset[str]:
        """One component of each shape (``BulkComponent.shape`` and whether it depends on
        anything): what the schema is asked about; the values are checked one by one
        (``value_problems``, and ``bulk_problems``)."""
        chosen: dict[tuple[object, ...], str] = {}
        for component in self.components:
            chosen.setdefault((component.shape(), component.ref in self.depends_on), component.ref)
        return frozenset(chosen.values())

    def value_problems(self) -> list[str]:
        """What the schema would check in every component's values: non-empty strings."""
        return [
            f"component {component.ref!r} has a value that is no text"
            for component in self.components
            if not component.ref or not all(isinstance(text, str) for text in component.texts())
        ]


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
    return _spliced(doc, part, chosen, component_json, dependency_json)


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
        lambda c: later(partial(component_json_text, c)),
        lambda ref, needed: later(partial(dependency_json_text, ref, needed)),
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
        dependency_json(e["ref"], (*e.get("dependsOn", ()), *part.depends_on[e["ref"]]))
        if e["ref"] in part.depends_on
        else e
        for e in doc.get("dependencies", [])
    ]
    refs = sorted(c.ref for c in chosen)
    mine = ((ref, ref) for ref in refs)
    root = root_ref(doc)
    rest = ((e["ref"], e) for e in existing if e["ref"] != root)
    merged = heapq.merge(rest, mine, key=lambda pair: pair[0])
    spliced["dependencies"] = [
        *(e for e in existing if e["ref"] == root),  # the root's entry first (cdx_consumers)
        *(
            entry(item, sorted(set(part.depends_on.get(item, ()))))
            if isinstance(item, str)
            else item
            for _, item in merged
        ),
    ]
    return spliced


def bulk_problems(doc: Mapping[str, Any], part: BulkPart) -> list[str]:
    """What ``check_integrity`` would find in ``splice_json(doc, part)`` beyond what it finds
    in ``doc``: a bom-ref used twice, an edge to no component, a hash that is not lowercase hex
    of its algorithm's length; and values that are not text."""
    problems = part.value_problems()
    known_elsewhere = {
        obj["bom-ref"] for obj in walk_objects(doc) if isinstance(obj.get("bom-ref"), str)
    }
    seen: set[str] = set()
    for component in part.components:
        for ref in (component.ref, *(occurrence[0] for occurrence in component.occurrences)):
            if ref in seen or ref in known_elsewhere:
                problems.append(f"bom-ref {ref!r} is used more than once")
            seen.add(ref)
        # (``cdx_bulk_form`` admits canonical purls only: the library reports the others.)
        problems.extend(_hash_problems(component.ref, component.hashes))
        for reference in component.references:
            problems.extend(_hash_problems(f"{component.ref} {reference[1]}", reference[3]))
    top_level = {c.get("bom-ref") for c in doc.get("components", [])}
    subject = doc.get("metadata", {}).get("component", {})
    known = {c.ref for c in part.components} | top_level | {subject.get("bom-ref")}
    for ref, targets in part.depends_on.items():
        problems.extend(
            f"{ref!r} depends on {target!r}, which is no top-level component"
            for target in targets
            if target not in known
        )
    return problems


def _hash_problems(ref: str, hashes: Sequence[HashPair]) -> Iterator[str]:
    for alg, content in hashes:
        length = HASH_HEX_LENGTHS.get(alg)
        if length is None or len(content) != length or not LOWER_HEX.fullmatch(content):
            yield f"{alg} of {ref!r} is not {length} lowercase hex digits: {content!r}"


#: Stands for a bulk entry while the rest of the document is encoded (NUL never survives
#: ``xml_safe``, so no real value can look like it).
_PLACEHOLDER = "\x00sovscan-bulk\x00"
_PLACEHOLDER_JSON = json.dumps(_PLACEHOLDER)


def _bulk_key(component: BulkComponent) -> _Key:
    return component_key(
        component.type, component.group, component.name, component.version, component.ref
    )


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
                out.write(component_xml_text(component, indent))
            continue
        ref = refs[index]
        if keep is None or ref in keep:
            out.write(dependency_xml_text(ref, part.depends_on.get(ref, ()), indent))
    out.write(text[written:])


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
