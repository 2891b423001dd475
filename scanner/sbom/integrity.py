"""Checks the CycloneDX schema cannot make: unique bom-refs, resolvable refs, canonical purls.

Refs that must resolve: dependencies (to top-level components), modelCard datasets (to data
components) and the compliance parts: a claim's target (a top-level component) and evidence, an
attestation's assessor, a map entry's requirement and (counter-)claims, a requirement's parent.

``check_integrity`` runs on the final JSON document (for XML output, on the JSON rendering of the
same BOM: both come from one ``Bom`` and one set of injected parts, so their refs are the same).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

#: Hex digest length per CycloneDX hash algorithm.
HASH_HEX_LENGTHS: dict[str, int] = {
    "MD5": 32,
    "SHA-1": 40,
    "SHA-256": 64,
    "SHA-384": 96,
    "SHA-512": 128,
    "SHA3-256": 64,
    "SHA3-384": 96,
    "SHA3-512": 128,
    "BLAKE2b-256": 64,
    "BLAKE2b-384": 96,
    "BLAKE2b-512": 128,
    "BLAKE3": 64,
    "Streebog-256": 64,
    "Streebog-512": 128,
}

#: References in BOM-Link form point into another document; they cannot be resolved here.
_BOM_LINK_PREFIX = "urn:cdx:"
LOWER_HEX = re.compile(r"[0-9a-f]+")
#: An authority that ends in ``:``, i.e. an empty port.
_EMPTY_PORT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*:(?:[/?#]|$)")


def is_absolute_uri(text: str) -> bool:
    """True if ``text`` is an absolute RFC 3986 URI that both schemas accept.

    Such a URI is also an RFC 3987 IRI reference (JSON ``iri-reference``) and, without an empty
    port (``https://host:``, which libxml2 rejects), an XSD ``anyURI``.
    """
    # jsonschema's own ``uri`` checker; a regex, so fast where the IRI one is not.
    from rfc3986_validator import validate_rfc3986  # type: ignore[import-untyped]

    # Its pattern ends in ``$``, which also matches before a trailing newline.
    if any(char.isspace() or not char.isprintable() for char in text):
        return False
    if _EMPTY_PORT.match(text):
        return False
    return validate_rfc3986(text, rule="URI") is not None


def check_integrity(doc: dict[str, Any], elsewhere: frozenset[str] = frozenset()) -> list[str]:
    """Problems in a CycloneDX JSON document that schema validation does not catch; [] if none.

    ``elsewhere``: refs of top-level components written outside ``doc`` (``cdx_bulk``), which
    declarations may name; ``cdx_bulk.bulk_problems`` checks those components themselves.
    """
    objects = list(walk_objects(doc))  # walked once: a BOM may hold 100,000 components
    return [
        *_duplicate_bom_refs(objects),
        *_dangling_dependencies(doc),
        *_dangling_dataset_refs(doc, objects),
        *_bad_purls(objects),
        *_bad_hashes(objects),
        *_dangling_declaration_refs(doc, elsewhere),
    ]


def walk_objects(node: Any) -> Iterator[dict[str, Any]]:
    """Every object in the document, depth first, without recursion."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            yield current
            stack.extend(reversed(list(current.values())))
        elif isinstance(current, list):
            stack.extend(reversed(current))


def _top_level_components(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """metadata.component, the components and their nested components (not pedigree copies)."""
    subject = doc.get("metadata", {}).get("component")
    stack = [subject] if isinstance(subject, dict) else []
    stack.extend(c for c in reversed(doc.get("components", [])) if isinstance(c, dict))
    while stack:
        component = stack.pop()
        yield component
        stack.extend(c for c in reversed(component.get("components", [])) if isinstance(c, dict))


def _duplicate_bom_refs(objects: list[dict[str, Any]]) -> list[str]:
    counts = Counter(obj["bom-ref"] for obj in objects if isinstance(obj.get("bom-ref"), str))
    return [
        f"bom-ref {ref!r} is used {count} times"
        for ref, count in sorted(counts.items())
        if count > 1
    ]


def _dangling_dependencies(doc: dict[str, Any]) -> list[str]:
    known = {c["bom-ref"] for c in _top_level_components(doc) if "bom-ref" in c}
    problems: list[str] = []
    seen: Counter[str] = Counter()
    for entry in doc.get("dependencies", []):
        ref = entry.get("ref")
        seen[ref] += 1
        if ref not in known:
            problems.append(f"dependencies entry {ref!r} names no top-level component")
        problems.extend(
            f"{ref!r} depends on {target!r}, which is no top-level component"
            for target in entry.get("dependsOn", [])
            if target not in known
        )
    problems.extend(
        f"dependencies has {count} entries for {ref!r}"
        for ref, count in sorted(seen.items())
        if count > 1
    )
    return problems


def _dangling_dataset_refs(doc: dict[str, Any], objects: list[dict[str, Any]]) -> list[str]:
    data_refs = {
        c["bom-ref"]
        for c in _top_level_components(doc)
        if c.get("type") == "data" and "bom-ref" in c
    }
    problems: list[str] = []
    for obj in objects:
        card = obj.get("modelCard")
        if not isinstance(card, dict):
            continue
        for dataset in card.get("modelParameters", {}).get("datasets", []):
            ref = dataset.get("ref")
            if ref is None or str(ref).startswith(_BOM_LINK_PREFIX):
                continue
            if ref not in data_refs:
                problems.append(
                    f"modelCard of {obj.get('bom-ref')!r} names dataset {ref!r}, "
                    "which is no data component"
                )
    return problems


def _bad_purls(objects: list[dict[str, Any]]) -> list[str]:
    from packageurl import PackageURL

    problems: list[str] = []
    for obj in objects:
        purl = obj.get("purl")
        if not isinstance(purl, str):
            continue
        if any(char.isspace() for char in purl):
            problems.append(f"purl {purl!r} contains whitespace")
            continue
        try:
            canonical = PackageURL.from_string(purl).to_string()
        except ValueError as error:
            problems.append(f"purl {purl!r} does not parse: {error}")
            continue
        if canonical != purl:
            problems.append(f"purl {purl!r} is not canonical (expected {canonical!r})")
    return problems


def _bad_hashes(objects: list[dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    for obj in objects:
        hashes = obj.get("hashes")
        if not isinstance(hashes, list):
            continue
        for digest in hashes:
            alg, content = digest.get("alg"), digest.get("content")
            length = HASH_HEX_LENGTHS.get(alg) if isinstance(alg, str) else None
            if length is None:
                problems.append(f"hash algorithm {alg!r} of {obj.get('bom-ref')!r} is unknown")
            elif (
                not isinstance(content, str)
                or len(content) != length
                or not LOWER_HEX.fullmatch(content)
            ):
                problems.append(
                    f"{alg} of {obj.get('bom-ref')!r} is not {length} lowercase hex digits: "
                    f"{content!r}"
                )
    return problems


def _dangling_declaration_refs(doc: dict[str, Any], elsewhere: frozenset[str]) -> list[str]:
    """Refs inside ``declarations`` and ``definitions`` that name nothing of the right kind."""
    declarations = doc.get("declarations", {})
    standards = doc.get("definitions", {}).get("standards", [])
    requirements = [r for s in standards for r in s.get("requirements", [])]
    known = {
        "component": {c["bom-ref"] for c in _top_level_components(doc) if "bom-ref" in c}
        | elsewhere,
        "requirement": _refs(requirements),
        "claim": _refs(declarations.get("claims", [])),
        "evidence": _refs(declarations.get("evidence", [])),
        "assessor": _refs(declarations.get("assessors", [])),
    }
    wanted: list[tuple[str, str, Any]] = [
        (f"requirement {requirement.get('bom-ref')!r}", "requirement", requirement["parent"])
        for requirement in requirements
        if "parent" in requirement
    ]
    for claim in declarations.get("claims", []):
        where = f"claim {claim.get('bom-ref')!r}"
        if "target" in claim:
            wanted.append((where, "component", claim["target"]))
        wanted.extend(
            (where, "evidence", ref)
            for key in ("evidence", "counterEvidence")
            for ref in claim.get(key, [])
        )
    for number, attestation in enumerate(declarations.get("attestations", [])):
        where = f"attestation {number}"
        if "assessor" in attestation:
            wanted.append((where, "assessor", attestation["assessor"]))
        for entry in attestation.get("map", []):
            if "requirement" in entry:
                wanted.append((where, "requirement", entry["requirement"]))
            wanted.extend(
                (where, "claim", ref)
                for key in ("claims", "counterClaims")
                for ref in entry.get(key, [])
            )
    return [
        f"{where} names {ref!r}, which is no {kind}"
        for where, kind, ref in wanted
        if not str(ref).startswith(_BOM_LINK_PREFIX) and ref not in known[kind]
    ]


def _refs(items: list[Any]) -> set[str]:
    return {item["bom-ref"] for item in items if isinstance(item, dict) and "bom-ref" in item}
