"""Property names sovscan writes into its documents, in one place (see the README)."""

from __future__ import annotations

from enum import StrEnum

from scanner.core.model import Origin

#: Prefix of the BOM-level verdict properties: ``sovscan:verdict:<tier>`` = PASS | FAIL | …
VERDICT_PREFIX = "sovscan:verdict:"
#: Prefix of what a tier was judged against: ``sovscan:basis:adversary`` = the deny list.
BASIS_PREFIX = "sovscan:basis:"


class PropertyName(StrEnum):
    """sovscan's own property names (namespace ``sovscan:``)."""

    # On components.
    KIND = "sovscan:kind"
    """The sovscan component kind (model, adapter, dataset, tokenizer, code, library, file)."""
    LAYER = "sovscan:layer"
    """The policy layer the component belongs to (weights, tokenizer, code, …)."""
    RELATION = "sovscan:relation"
    """How another component of the scan relates to this one (finetune, contains, …), per kind."""
    ORIGIN_COUNTRY = "sovscan:origin:country"
    ORIGIN_ORGANIZATION = "sovscan:origin:organization"
    ORIGIN_CONFIDENCE = "sovscan:origin:confidence"
    ORIGIN_BASIS = "sovscan:origin:basis"
    ORIGIN_STEWARD = "sovscan:origin:steward"
    ORIGIN_PARENT = "sovscan:origin:parent"
    """The ultimate parent organisation, where it differs from the organisation."""
    ORIGIN_NOTE = "sovscan:origin:note"
    """E.g. a community project's fiscal sponsor, or a re-uploader that is not the origin."""
    ORIGIN_HINT = "sovscan:origin:hint"
    """A weaker signal about the component's lineage, never its own origin, one per hint:
    ``<basis> <value seen> → <organisation> (<country>), <confidence> confidence``."""
    UNRESOLVED = "sovscan:unresolved"
    """``true`` on a declared reference that could not be resolved (see Component.unresolved)."""
    FILE_SIZE = "sovscan:file:size"
    FILE_FORMAT = "sovscan:file:format"
    FILE_LFS_POINTER = "sovscan:file:lfs-pointer"
    # On the BOM (metadata.properties).
    POLICY = "sovscan:policy"
    JURISDICTION = "sovscan:jurisdiction"
    ISSUE = "sovscan:issue"
    """One per ScanIssue: ``[severity] location: problem`` (what could not be read)."""


class CdxPropertyName(StrEnum):
    """Names reused from the official CycloneDX property taxonomy (``cdx:``), for modelCard."""

    MODEL_LANGUAGE = "cdx:ai-ml:model:language"
    PARAMETER_COUNT = "cdx:ai-ml:model:parameter:count"
    QUANTIZATION = "cdx:ai-ml:model:hyperparameter:quantization"


def verdict_property(tier: str) -> str:
    """The BOM-level property name that carries the verdict of ``tier`` (e.g. ``sovereign``)."""
    return f"{VERDICT_PREFIX}{tier}"


def basis_property(tier: str) -> str:
    """The BOM-level property name that names what ``tier`` was judged against."""
    return f"{BASIS_PREFIX}{tier}"


def origin_hint_value(hint: Origin) -> str:
    """The ``sovscan:origin:hint`` value of one hint, e.g.
    ``license llama3 → Meta Platforms, Inc. (US), medium confidence``."""
    who = hint.organization or "unknown organisation"
    where = hint.country or "no country"
    seen = f" {hint.evidence[0].value}" if hint.evidence else ""
    return f"{hint.basis}{seen} → {who} ({where}), {hint.confidence} confidence"
