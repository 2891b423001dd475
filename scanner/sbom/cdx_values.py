"""A component's values in the form a CycloneDX document holds them: its type, display name,
URIs, hash algorithms, licences and evidence occurrences, shared by the library's Bom
(``cyclonedx``) and the components written without it (``cdx_bulk_form``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import quote

from scanner.core.model import Component, ComponentKind, Evidence
from scanner.sbom.cdx_model_card import xml_safe
from scanner.sbom.integrity import is_absolute_uri

if TYPE_CHECKING:
    from cyclonedx.model.license import License

#: sovscan kind → (CycloneDX component type, ``data[].type`` for ``data`` components).
#: - model, adapter: weights → machine-learning-model.
#: - dataset → data/dataset. tokenizer → data/configuration: vocabulary and merge rules are data
#:   that configure the model; neither weights nor code.
#: - code → library: remote code (``auto_map``, ``*.py``) runs in-process like a library, and
#:   "file" would claim bytes a reference may not have. ``sovscan:kind`` keeps the distinction.
#: - library → library; file → file (with its SHA-256).
KIND_TO_CDX: dict[ComponentKind, tuple[str, str | None]] = {
    ComponentKind.MODEL: ("machine-learning-model", None),
    ComponentKind.ADAPTER: ("machine-learning-model", None),
    ComponentKind.DATASET: ("data", "dataset"),
    ComponentKind.TOKENIZER: ("data", "configuration"),
    ComponentKind.CODE: ("library", None),
    ComponentKind.LIBRARY: ("library", None),
    ComponentKind.FILE: ("file", None),
    ComponentKind.APPLICATION: ("application", None),
}

#: CycloneDX hash algorithm → hashlib name, for HashTypeFactory.
HASHLIB_NAMES = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
    "SHA3-256": "sha3_256",
    "SHA3-384": "sha3_384",
    "SHA3-512": "sha3_512",
}


def display_name(component: Component) -> str:
    """A file's name is its path relative to the target root."""
    if component.kind is ComponentKind.FILE and component.path:
        return xml_safe(component.path)
    return xml_safe(component.name)


def optional_text(text: str | None) -> str | None:
    """``text`` XML-safe, None kept."""
    return None if text is None else xml_safe(text)


def uri_or_none(url: str | None) -> str | None:
    """``url`` as an absolute ASCII URI, or None if it cannot be one (a hostile card's URL).

    The library escapes what xs:anyURI rejects (spaces, quotes, brackets); non-ASCII characters
    are percent-encoded as UTF-8 (RFC 3987 §3.1), which names the same resource.
    """
    if not url:
        return None
    from cyclonedx.exception.model import InvalidUriException
    from cyclonedx.model import XsUri

    try:
        escaped = str(XsUri(xml_safe(url)))
    except InvalidUriException:
        return None
    ascii_uri = "".join(char if char.isascii() else quote(char, safe="") for char in escaped)
    return ascii_uri if is_absolute_uri(ascii_uri) else None


def occurrences(component: Component) -> list[tuple[str, str, str]]:
    """Where the component's facts (and its origin's) were read, deduplicated and sorted:
    (bom-ref, location, context). The library orders occurrences by bom-ref first, so each gets
    one that follows that order."""
    observed: Iterable[Evidence] = component.evidence
    if component.origin is not None:
        observed = (*component.evidence, *component.origin.evidence)
    seen = {
        (xml_safe(e.location), xml_safe(f"{e.field}={e.value} ({e.method})"))
        for e in observed
        if e.location
    }
    width = len(str(len(seen) - 1))
    return [
        (f"{component.ref}#evidence:{index:0{width}d}", location, context)
        for index, (location, context) in enumerate(sorted(seen))
    ]


def licenses(declared: Iterable[str]) -> list[License]:
    """The library's licences for the ``declared`` strings: one per string, an SPDX id or
    expression where it is one, else a name; an expression only when it is the only one."""
    texts = sorted({xml_safe(s).strip() for s in declared} - {""})
    if not texts:
        return []  # and the SPDX tables behind the factory never load
    from cyclonedx.contrib.license.factories import LicenseFactory
    from cyclonedx.exception import CycloneDxException
    from cyclonedx.model.license import LicenseExpression

    factory = LicenseFactory()
    made: list[License] = []
    for text in texts:
        try:
            found = factory.make_from_string(text)
        except CycloneDxException:
            found = factory.make_with_name(text)
        if isinstance(found, LicenseExpression) and len(texts) > 1:
            # The schema forbids an expression next to other licences.
            found = factory.make_with_name(text)
        made.append(found)
    return made
