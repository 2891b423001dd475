"""A component as ``cdx_bulk`` writes it, when it can be written without cyclonedx-python-lib.

``bulk_form`` returns None for anything the library must handle: a model or data component
(model card and ``data`` are added to the library's output), an empty optional value, a purl
that is not canonical, a hash algorithm or reference type outside the known ones, a URL that is
no URI, a supplier without a name, two references that differ only in their hashes. Those go
through the library, which also reports the problems among them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from scanner.core.model import Component, Hash, Origin
from scanner.sbom.cdx_bulk_text import BulkComponent, HashPair, Reference
from scanner.sbom.cdx_model_card import xml_safe
from scanner.sbom.cdx_values import (
    HASHLIB_NAMES,
    KIND_TO_CDX,
    display_name,
    licenses,
    occurrences,
    optional_text,
    uri_or_none,
)

if TYPE_CHECKING:
    from cyclonedx.model.license import License

#: Component types written here (the others carry a model card or ``data``).
_TYPES = frozenset({"library", "file", "application"})

#: Reference types every supported spec version has under the same name.
_REFERENCE_TYPES = frozenset(
    {"distribution", "vcs", "website", "documentation", "issue-tracker", "support", "license"}
)

#: Spec versions whose organisational entity has no address and whose occurrences have no
#: additional context: the library leaves them out.
_WITHOUT_ADDRESS_AND_CONTEXT = frozenset({"1.5"})


class _NeedsTheLibrary(Exception):
    """The component has something only the library writes (or reports)."""


def bulk_form(
    component: Component,
    spec_version: str,
    properties: Iterable[tuple[str, str]],
    supplier: Origin | None = None,
) -> BulkComponent | None:
    """``component`` (top level, without lineage) with its ``properties`` and the origin its
    ``supplier`` names (``supplier_origin``), or None."""
    try:
        return _bulk_form(component, spec_version, properties, supplier)
    except _NeedsTheLibrary:
        return None


def _bulk_form(
    component: Component,
    spec_version: str,
    properties: Iterable[tuple[str, str]],
    supplier: Origin | None,
) -> BulkComponent:
    cdx_type, data_type = KIND_TO_CDX[component.kind]
    if cdx_type not in _TYPES or data_type is not None:
        raise _NeedsTheLibrary
    group, version, description = (
        _optional(v) for v in (component.group, component.version, component.description)
    )
    _check_purl(component.purl)
    old = spec_version in _WITHOUT_ADDRESS_AND_CONTEXT
    return BulkComponent(
        ref=component.ref,
        name=display_name(component),
        type=cdx_type,
        group=group,
        version=version,
        description=description,
        supplier=_supplier(supplier, spec_version),
        hashes=_hashes(component.hashes),
        licenses=license_entries(licenses(component.licenses)),
        purl=component.purl,
        references=_references(component),
        properties=tuple(sorted({(xml_safe(n), xml_safe(v)) for n, v in properties})),
        occurrences=tuple(
            (ref, location, None if old else context)
            for ref, location, context in occurrences(component)
        ),
    )


def license_entries(made: Iterable[License]) -> tuple[tuple[str, str], ...]:
    """("expression" | "id" | "name", text) in the library's order: the expression, then
    licences with an id by id, then the others by name; equal ones once."""
    from cyclonedx.model.license import LicenseExpression

    entries: set[tuple[int, str, str]] = set()
    for licence in made:
        if isinstance(licence, LicenseExpression):
            entries.add((0, "expression", licence.value))
        elif licence.id is not None:
            entries.add((1, "id", licence.id))
        else:
            entries.add((2, "name", licence.name or ""))
    return tuple((kind, text) for _, kind, text in sorted(entries))


def _optional(text: str | None) -> str | None:
    cleaned = optional_text(text)
    if cleaned == "":
        raise _NeedsTheLibrary
    return cleaned


def _hashes(digests: Iterable[Hash]) -> tuple[HashPair, ...]:
    pairs = {(digest.alg, digest.value) for digest in digests}
    if any(alg not in HASHLIB_NAMES for alg, _ in pairs):
        raise _NeedsTheLibrary
    return tuple(sorted(pairs))


def _references(component: Component) -> tuple[Reference, ...]:
    """The external references in the library's order (type, URL, comment, a missing one
    last)."""
    found: set[Reference] = set()
    for kind, url in component.external_urls:
        uri = uri_or_none(url)
        if uri is None:
            continue  # the library leaves it out too
        if kind not in _REFERENCE_TYPES:
            raise _NeedsTheLibrary
        found.add((kind, uri, None, ()))
    for distribution in component.distributions:
        uri = uri_or_none(distribution.url)
        if uri is None:
            raise _NeedsTheLibrary
        comment = _optional(distribution.comment)
        found.add(("distribution", uri, comment, _hashes(distribution.hashes)))
    ordered = sorted(found, key=lambda r: (r[0], r[1], r[2] is None, r[2] or "", r[3]))
    keys = [reference[:3] for reference in ordered]
    if len(set(keys)) != len(keys):  # told apart by their hashes alone: the library's order
        raise _NeedsTheLibrary
    return tuple(ordered)


def _supplier(origin: Origin | None, spec_version: str) -> tuple[str, str | None] | None:
    """(name, country or None) for a known organisation, None without one."""
    if origin is None or not (origin.organization or origin.country):
        return None
    name = optional_text(origin.organization)
    if not name:  # a country alone: the library's entity without a name
        raise _NeedsTheLibrary
    if spec_version in _WITHOUT_ADDRESS_AND_CONTEXT or not origin.country:
        return (name, None)
    return (name, origin.country)


def _check_purl(purl: str | None) -> None:
    """A purl that does not parse or is not canonical is the library's to report."""
    if purl is None:
        return
    if any(char.isspace() for char in purl):
        raise _NeedsTheLibrary
    from packageurl import PackageURL

    try:
        canonical = PackageURL.from_string(purl).to_string()
    except ValueError:
        raise _NeedsTheLibrary from None
    if canonical != purl:
        raise _NeedsTheLibrary
