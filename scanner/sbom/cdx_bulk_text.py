"""A bulk component, and it or a dependency entry as the text cyclonedx-python-lib writes.

JSON: what ``json.dumps(doc, indent=2)`` writes for an item of the top-level ``components`` or
``dependencies`` (keys in the library's alphabetical order). XML: what ``ET.indent`` and
``ET.tostring`` write for the library's elements, in the schema's order, with the library's
value types (``normalizedString`` values have tabs and line breaks as spaces, hash contents are
``token``s) and the parser's line-end normalisation of the other texts. ``cdx_bulk`` merges these
into the library's output; its tests hold them byte-equal to the library's own.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii as _quoted  # json.dumps's own, for a str
from typing import Any

#: (CycloneDX algorithm, lowercase hex content).
HashPair = tuple[str, str]

#: An external reference: (type, URL, comment or None, hashes).
Reference = tuple[str, str, str | None, tuple[HashPair, ...]]


@dataclass(frozen=True, slots=True, kw_only=True)
class BulkComponent:
    """A top-level component without pedigree, model card or data, its values XML-safe and
    already in the form and order the library writes (``cdx_bulk_text``)."""

    ref: str
    name: str
    type: str = "file"
    group: str | None = None
    version: str | None = None
    description: str | None = None
    supplier: tuple[str, str | None] | None = None
    """(organisation, alpha-2 country or None: the library drops the address before 1.6)."""
    hashes: tuple[HashPair, ...] = ()
    licenses: tuple[tuple[str, str], ...] = ()
    """("id" | "name" | "expression", text), in the library's order."""
    purl: str | None = None
    references: tuple[Reference, ...] = ()
    properties: tuple[tuple[str, str], ...] = ()
    occurrences: tuple[tuple[str, str, str | None], ...] = ()
    """(bom-ref, location, additional context or None: the library drops it before 1.6)."""

    def is_file_shaped(self) -> bool:
        """Nothing but a name, hashes and properties: what a walked file is."""
        return not (
            self.group is not None
            or self.version is not None
            or self.description is not None
            or self.supplier
            or self.licenses
            or self.purl is not None
            or self.references
            or self.occurrences
        )

    def shape(self) -> tuple[object, ...]:
        """What the schema can tell apart: the keys, hash algorithms, property names, licence
        kinds and reference shapes (the values are checked one by one)."""
        if self.is_file_shaped():
            return (
                self.type,
                tuple(alg for alg, _ in self.hashes),
                tuple(name for name, _ in self.properties),
            )
        return (
            self.type,
            self.group is not None,
            self.version is not None,
            self.description is not None,
            self.supplier is not None and self.supplier[1] is not None,
            tuple(alg for alg, _ in self.hashes),
            tuple(kind for kind, _ in self.licenses),
            self.purl is not None,
            tuple((r[0], r[2] is not None, tuple(a for a, _ in r[3])) for r in self.references),
            tuple(name for name, _ in self.properties),
            tuple(context is not None for _, _, context in self.occurrences),
        )

    def texts(self) -> Iterator[object]:
        """Every value the document will hold as a string."""
        yield self.ref
        yield self.name
        yield self.type
        yield from (v for v in (self.group, self.version, self.description, self.purl) if v)
        if self.supplier:
            yield from (v for v in self.supplier if v is not None)
        for pairs in (self.hashes, self.licenses, self.properties):
            yield from (text for pair in pairs for text in pair)
        for kind, url, comment, hashes in self.references:
            yield from (kind, url, *([comment] if comment is not None else []))
            yield from (text for pair in hashes for text in pair)
        for facts in self.occurrences:
            yield from (text for text in facts if text is not None)


#: Indentation of a top-level component's keys (``components`` → item → key).
_JSON_DEPTH = " " * 4


# --- JSON ----------------------------------------------------------------------------------


def component_json(component: BulkComponent) -> dict[str, Any]:
    """The component as the library's JSON has it (keys in its order)."""
    found: dict[str, Any] = {"bom-ref": component.ref}
    if component.description is not None:
        found["description"] = component.description
    if component.occurrences:
        found["evidence"] = {
            "occurrences": [
                {"additionalContext": context, "bom-ref": ref, "location": location}
                if context is not None
                else {"bom-ref": ref, "location": location}
                for ref, location, context in component.occurrences
            ]
        }
    if component.references:
        found["externalReferences"] = [_reference_json(r) for r in component.references]
    if component.group is not None:
        found["group"] = component.group
    if component.hashes:
        found["hashes"] = _hashes_json(component.hashes)
    if component.licenses:
        found["licenses"] = [
            {"expression": text} if kind == "expression" else {"license": {kind: text}}
            for kind, text in component.licenses
        ]
    found["name"] = component.name
    if component.properties:
        found["properties"] = [{"name": n, "value": v} for n, v in component.properties]
    if component.purl is not None:
        found["purl"] = component.purl
    if component.supplier is not None:
        name, country = component.supplier
        found["supplier"] = (
            {"address": {"country": country}, "name": name} if country else {"name": name}
        )
    found["type"] = component.type
    if component.version is not None:
        found["version"] = component.version
    return found


def component_json_text(component: BulkComponent) -> str:
    """The component as ``json.dumps(indent=2)`` writes an item of the top-level
    ``components`` (its first line unindented, the rest at six spaces and deeper)."""
    if component.is_file_shaped():  # most of a big folder: written without the encoder
        lines = ["{", f'      "bom-ref": {json.dumps(component.ref)},']
        lines += _pairs_json("hashes", ("alg", "content"), component.hashes)
        lines.append(f'      "name": {json.dumps(component.name)},')
        lines += _pairs_json("properties", ("name", "value"), component.properties)
        lines.append(f'      "type": {json.dumps(component.type)}')
        lines.append("    }")
        return "\n".join(lines)
    return _indented(component_json(component), _JSON_DEPTH)


def dependency_json(ref: str, targets: Iterable[str]) -> dict[str, Any]:
    """An entry as the library writes it (keys in alphabetical order), with ``dependsOn``
    even for a leaf (``cdx_consumers``)."""
    return {"dependsOn": sorted(set(targets)), "ref": ref}


def dependency_json_text(ref_value: str, needed: Sequence[str]) -> str:
    """A dependencies entry as ``json.dumps(indent=2)`` writes an item of that list."""
    ref = f'"ref": {json.dumps(ref_value)}'
    if not needed:
        return f'{{\n      "dependsOn": [],\n      {ref}\n    }}'
    targets = ",\n".join(f"        {json.dumps(target)}" for target in needed)
    return f'{{\n      "dependsOn": [\n{targets}\n      ],\n      {ref}\n    }}'


def _indented(value: Any, indent: str) -> str:
    """``value`` (dictionaries, lists and strings) as ``json.dumps(indent=2)`` writes it at
    ``indent``: the standard encoder walks an indented value in pure Python, ~5x slower."""
    if isinstance(value, str):
        return _quoted(value)
    inner = indent + "  "
    if isinstance(value, dict) and value:
        items = ",\n".join(f"{inner}{_quoted(k)}: {_indented(v, inner)}" for k, v in value.items())
        return f"{{\n{items}\n{indent}}}"
    if isinstance(value, list) and value:
        items = ",\n".join(inner + _indented(v, inner) for v in value)
        return f"[\n{items}\n{indent}]"
    return json.dumps(value)


def _reference_json(reference: tuple[str, str, str | None, tuple[tuple[str, str], ...]]) -> Any:
    kind, url, comment, hashes = reference
    found: dict[str, Any] = {}
    if comment is not None:
        found["comment"] = comment
    if hashes:
        found["hashes"] = _hashes_json(hashes)
    found["type"] = kind
    found["url"] = url
    return found


def _hashes_json(hashes: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"alg": alg, "content": content} for alg, content in hashes]


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


# --- XML -----------------------------------------------------------------------------------

#: An element: (tag, attributes, text or children). Children are elements; text is written as is.
_Element = tuple[str, tuple[tuple[str, str], ...], "str | list[Any]"]


def component_xml_text(component: BulkComponent, indent: str) -> str:
    """The component as the library's ``<component>``, indented from ``indent``."""
    from py_serializable.xml import xs_normalizedString as normalized
    from py_serializable.xml import xs_token as token

    if component.is_file_shaped():  # most of a big folder: lines written directly
        inner = indent + "  "
        lines = [
            f'{indent}<component type="{_attrib(component.type)}" '
            f'bom-ref="{_attrib(component.ref)}">',
            f"{inner}<name>{_cdata(normalized(component.name))}</name>"
            if component.name
            else f"{inner}<name />",
        ]
        lines += _pairs_xml("hashes", "hash", "alg", component.hashes, inner, token)
        lines += _pairs_xml(
            "properties", "property", "name", component.properties, inner, normalized
        )
        lines.append(f"{indent}</component>")
        return "\n".join(lines) + "\n"
    children: list[_Element] = []
    if component.supplier is not None:
        name, country = component.supplier
        supplier: list[_Element] = [("name", (), normalized(name))]
        if country:
            supplier.append(("address", (), [("country", (), _plain(country))]))
        children.append(("supplier", (), supplier))
    if component.group is not None:
        children.append(("group", (), normalized(component.group)))
    children.append(("name", (), normalized(component.name)))
    if component.version is not None:
        children.append(("version", (), normalized(component.version)))
    if component.description is not None:
        children.append(("description", (), normalized(component.description)))
    if component.hashes:
        children.append(_hashes_xml(component.hashes, token))
    if component.licenses:
        children.append(
            (
                "licenses",
                (),
                [
                    ("expression", (), normalized(text))
                    if kind == "expression"
                    else ("license", (), [(kind, (), normalized(text) if kind == "name" else text)])
                    for kind, text in component.licenses
                ],
            )
        )
    if component.purl is not None:
        children.append(("purl", (), _plain(component.purl)))
    if component.references:
        references: list[_Element] = []
        for kind, url, comment, hashes in component.references:
            parts: list[_Element] = [("url", (), _plain(url))]
            if comment is not None:
                parts.append(("comment", (), _plain(comment)))
            if hashes:
                parts.append(_hashes_xml(hashes, token))
            references.append(("reference", (("type", kind),), parts))
        children.append(("externalReferences", (), references))
    if component.properties:
        children.append(
            (
                "properties",
                (),
                [("property", (("name", n),), normalized(v)) for n, v in component.properties],
            )
        )
    if component.occurrences:
        occurrences: list[_Element] = []
        for ref, location, context in component.occurrences:
            facts: list[_Element] = [("location", (), _plain(location))]
            if context is not None:
                facts.append(("additionalContext", (), _plain(context)))
            occurrences.append(("occurrence", (("bom-ref", ref),), facts))
        children.append(("evidence", (), [("occurrences", (), occurrences)]))
    element: _Element = (
        "component",
        (("type", component.type), ("bom-ref", component.ref)),
        children,
    )
    written: list[str] = []
    _write_element(element, indent, written)
    return "\n".join(written) + "\n"


def dependency_xml_text(ref: str, targets: Iterable[str], indent: str) -> str:
    """A ``<dependency>`` entry as the library's, indented from ``indent``."""
    needed = sorted(set(targets))
    if not needed:
        return f'{indent}<dependency ref="{_attrib(ref)}" />\n'
    inner = indent + "  "
    lines = [f'{indent}<dependency ref="{_attrib(ref)}">']
    lines.extend(f'{inner}<dependency ref="{_attrib(target)}" />' for target in needed)
    lines.append(f"{indent}</dependency>")
    return "\n".join(lines) + "\n"


def _pairs_xml(
    holder: str,
    tag: str,
    attribute: str,
    pairs: Sequence[tuple[str, str]],
    indent: str,
    value_type: Any,
) -> list[str]:
    """``<holder><tag attribute="a">text</tag>…</holder>`` as lines at ``indent``, each text of
    the library's XML ``value_type``."""
    if not pairs:
        return []
    deeper = indent + "  "
    lines = [f"{indent}<{holder}>"]
    for value, text in pairs:
        opening = f'{tag} {attribute}="{_attrib(value)}"'
        typed = value_type(text)
        lines.append(
            f"{deeper}<{opening}>{_cdata(typed)}</{tag}>" if typed else f"{deeper}<{opening} />"
        )
    lines.append(f"{indent}</{holder}>")
    return lines


def _hashes_xml(hashes: Sequence[tuple[str, str]], token: Any) -> _Element:
    return ("hashes", (), [("hash", (("alg", alg),), token(content)) for alg, content in hashes])


def _plain(text: str) -> str:
    """A plain string as it reads after the library's XML is parsed again: the parser turns
    every line end into a line feed."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _write_element(element: _Element, indent: str, lines: list[str]) -> None:
    tag, attributes, content = element
    opening = tag + "".join(f' {name}="{_attrib(value)}"' for name, value in attributes)
    if isinstance(content, str):
        text = f"<{opening}>{_cdata(content)}</{tag}>" if content else f"<{opening} />"
        lines.append(indent + text)
        return
    if not content:
        lines.append(f"{indent}<{opening} />")
        return
    lines.append(f"{indent}<{opening}>")
    for child in content:
        _write_element(child, indent + "  ", lines)
    lines.append(f"{indent}</{tag}>")


# ElementTree's own escaping, so that these elements read exactly as the ones it serialises.
_cdata = ET._escape_cdata  # type: ignore[attr-defined]
_attrib = ET._escape_attrib  # type: ignore[attr-defined]
