"""Property names sovscan writes into its documents, in one place (see the README)."""

from __future__ import annotations

from enum import StrEnum

from scanner.core.model import Origin

#: Prefix of the BOM-level verdict properties: ``sovscan:verdict:<tier>`` = PASS | FAIL | …
VERDICT_PREFIX = "sovscan:verdict:"
#: Prefix of what a tier was judged against: ``sovscan:basis:adversary`` = the deny list.
BASIS_PREFIX = "sovscan:basis:"
#: Prefixes of copied key-value maps: ``<prefix><key>`` = value.
SAFETENSORS_METADATA_PREFIX = "sovscan:safetensors:metadata:"
ONNX_METADATA_PREFIX = "sovscan:onnx:metadata:"
#: ``sovscan:sentence-transformers:saved-with:<library>`` = the version that saved the model.
SAVED_WITH_PREFIX = "sovscan:sentence-transformers:saved-with:"


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
    FILE_HASH_SOURCE = "sovscan:file:hash-source"
    """Where a file's SHA-256 comes from: ``content`` (read here), ``hub``, ``record``, …"""
    FILE_VERIFIED = "sovscan:file:verified"
    FILE_HUB_VERIFIED = "sovscan:file:hub-verified"
    FILE_HUB_COMMIT = "sovscan:file:hub-commit"
    FILE_HUB_ETAG_MATCH = "sovscan:file:hub-etag-match"
    # Model facts read from its metadata files.
    MODEL_DIGEST = "sovscan:model:digest"
    """sovscan-manifest-v1: the SHA-256 of the model's sorted ``sha256sum`` listing."""
    MODEL_DIGEST_UNAVAILABLE = "sovscan:model:digest-unavailable"
    MODEL_REVISION_SOURCE = "sovscan:model:revision-source"
    MODEL_LIBRARY = "sovscan:model:library"
    MODEL_NEW_VERSION = "sovscan:model:new-version"
    MODEL_LICENSE_LINK = "sovscan:model:license-link"
    MODEL_TORCH_DTYPE = "sovscan:model:torch-dtype"
    MODEL_TRANSFORMERS_VERSION = "sovscan:model:transformers-version"
    MODEL_DIFFUSERS_VERSION = "sovscan:model:diffusers-version"
    ADAPTER_PEFT_TYPE = "sovscan:adapter:peft-type"
    ADAPTER_TASK_TYPE = "sovscan:adapter:task-type"
    TOKENIZER_CLASS = "sovscan:tokenizer:class"
    TOKENIZER_CHAT_TEMPLATE = "sovscan:tokenizer:chat-template"
    TOKENIZER_GGUF_MODEL = "sovscan:tokenizer:gguf-model"
    TOKENIZER_GGUF_PRE = "sovscan:tokenizer:gguf-pre"
    TOKENIZER_VOCABULARY_SHA256 = "sovscan:tokenizer:vocabulary-sha256"
    """SHA-256 of the ordinary tokens in id order: the same vocabulary in any format."""
    TOKENIZER_FAMILY = "sovscan:tokenizer:family"
    """The published vocabulary it is, or comes from (``identical``/``derived``, confidence)."""
    TOKENIZER_SPECIALS_OF = "sovscan:tokenizer:special-tokens-of"
    """A published tokenizer whose distinctive special tokens it declares at the same ids:
    ``REPO (N at its ids, FILE)`` (a supporting signal)."""
    TOKENIZER_CHAT_TEMPLATE_OF = "sovscan:tokenizer:chat-template-of"
    """The published chat template it is or revises: ``REPO (identical|near, FILE)``."""
    ARCHITECTURE_SHAPE = "sovscan:architecture:shape"
    """The model's widths, depth, heads, vocabulary size and RoPE base, in words."""
    ARCHITECTURE_SHAPE_OF = "sovscan:architecture:shape-of"
    """A published configuration it copies (``exact``, or ``dimensions`` alone: reuse)."""
    DETECTED_SAME_SHAPE = "sovscan:detected:same-shape"
    """Other published models of the publisher with the shape a detected ancestor was found by."""
    CODE_CLASS = "sovscan:code:class"
    DATASET_COMMIT = "sovscan:dataset:commit"
    DATASET_AUTHOR = "sovscan:dataset:author"
    # Weight-file headers.
    SAFETENSORS_TENSORS = "sovscan:safetensors:tensors"
    SAFETENSORS_PARAMETERS = "sovscan:safetensors:parameters"
    SAFETENSORS_DTYPES = "sovscan:safetensors:dtypes"
    GGUF_VERSION = "sovscan:gguf:version"
    GGUF_NAME = "sovscan:gguf:name"
    GGUF_ORGANIZATION = "sovscan:gguf:organization"
    """A GGUF header's ``general.organization``."""
    GGUF_AUTHOR = "sovscan:gguf:author"
    GGUF_ARCHITECTURE = "sovscan:gguf:architecture"
    GGUF_FILE_TYPE = "sovscan:gguf:file-type"
    GGUF_NAMES_PUBLISHED = "sovscan:gguf:names-published"
    """A published model a GGUF header's name names: ``REPO (FIELD)`` (a supporting signal)."""
    GGUF_QUANTIZED_BY = "sovscan:gguf:quantized-by"
    GGUF_TOKENIZER_MODEL = "sovscan:gguf:tokenizer-model"
    GGUF_TOKENIZER_PRE = "sovscan:gguf:tokenizer-pre"
    ONNX_PRODUCER = "sovscan:onnx:producer"
    ONNX_PRODUCER_VERSION = "sovscan:onnx:producer-version"
    ONNX_IR_VERSION = "sovscan:onnx:ir-version"
    # What loading a file would do (static analysis).
    SECURITY_RISK = "sovscan:security:risk"
    SECURITY_FORMAT = "sovscan:security:format"
    SECURITY_IMPORT = "sovscan:security:import"
    SECURITY_EXECUTABLE_ON_LOAD = "sovscan:security:executable-on-load"
    SECURITY_EMBEDDED_CODE = "sovscan:security:embedded-code"
    """On the ``code`` component standing for what a model file runs on load."""
    SECURITY_HUB_BYTES_READ = "sovscan:security:hub-bytes-read"
    # Python packages.
    PYTHON_SCOPE = "sovscan:python:scope"
    PYTHON_DIRECT = "sovscan:python:direct"
    PYTHON_GROUP = "sovscan:python:group"
    PYTHON_MARKER = "sovscan:python:marker"
    PYTHON_SPECIFIER = "sovscan:python:specifier"
    PYTHON_DECLARED_IN = "sovscan:python:declared-in"
    PYTHON_VENDORED_LIBRARY = "sovscan:python:vendored-library"
    PYTHON_EDITABLE = "sovscan:python:editable"
    PYTHON_NATIVE_PART_OF = "sovscan:python:native-part-of"
    LICENSE_BASIS = "sovscan:license:basis"
    """``knowledge-base`` on a package whose licence comes from the knowledge base (no metadata
    of its release was read); absent when the licence is the package's own."""
    LICENSE_AS_OF = "sovscan:license:as-of"
    """When that knowledge-base licence was read from the release's metadata (``YYYY-MM``)."""
    ACCEPTED = "sovscan:accepted"
    """On a finding accepted by a waiver (``--accept``)."""
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
