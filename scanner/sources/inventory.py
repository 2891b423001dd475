"""Turn what a folder declares into components and relations, each fact with its evidence."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from scanner.core.config import DEFAULT_HUB
from scanner.core.ids import parse_hub_id
from scanner.core.model import (
    Component,
    ComponentKind,
    Evidence,
    Finding,
    Hash,
    Layer,
    ModelCardFacts,
    Relation,
    RelationKind,
    ScanIssue,
    Severity,
)
from scanner.core.properties import (
    ONNX_METADATA_PREFIX,
    SAFETENSORS_METADATA_PREFIX,
    SAVED_WITH_PREFIX,
    PropertyName,
)
from scanner.formats.model.model_formats import format_of
from scanner.sources.detected_lineage import add_detected_lineage
from scanner.sources.folder_facts import FolderFacts
from scanner.sources.identity import ModelIdentity
from scanner.sources.inventory_builder import InventoryBuilder
from scanner.sources.lineage import add_lineage
from scanner.sources.remote_code import add_code

if TYPE_CHECKING:
    from scanner.formats.model.gguf import GgufDataset, GgufMetadata
    from scanner.formats.model.onnx import OnnxMetadata
    from scanner.formats.model.safetensors import SafetensorsHeader

#: Files that make up a tokenizer.
TOKENIZER_FILES = frozenset(
    {
        "tokenizer.json",
        "tokenizer_config.json",
        "tokenizer.model",
        "special_tokens_map.json",
        "added_tokens.json",
        "vocab.txt",
        "vocab.json",
        "merges.txt",
        "spiece.model",
        "sentencepiece.bpe.model",
        "chat_template.jinja",
        "chat_template.json",
    }
)

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_DATASET_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}(/[A-Za-z0-9][A-Za-z0-9._-]{0,95})?$")


@dataclass(frozen=True, slots=True, kw_only=True)
class FileDigest:
    """A file's SHA-256 as computed (or taken from the hash cache)."""

    sha256: str
    from_cache: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Inventory:
    """One folder's components and relations; the subject is ``subject_ref``."""

    subject_ref: str
    components: tuple[Component, ...]
    relations: tuple[Relation, ...]
    issues: tuple[ScanIssue, ...]
    findings: tuple[Finding, ...] = ()
    """Analysis findings (what loading a file would do); policy findings come later."""


def build_inventory(
    identity: ModelIdentity,
    facts: FolderFacts,
    files: Iterable[tuple[PurePosixPath, int]],
    digests: dict[PurePosixPath, FileDigest],
    hub: str = DEFAULT_HUB,
) -> Inventory:
    """Build the inventory of one scanned folder.

    ``files`` are (relative path, size) of every file; ``digests`` their SHA-256 where hashed.
    """
    builder = InventoryBuilder(identity=identity, hub=hub.rstrip("/"))
    subject = _subject(identity, facts, builder.hub)
    builder.add(subject)
    file_refs = _add_files(builder, subject.ref, facts, files, digests)
    add_lineage(builder, subject.ref, facts)
    dataset_refs = _add_datasets(builder, subject.ref, facts)
    tokenizer_ref = _add_tokenizer(builder, subject.ref, facts, file_refs)
    add_detected_lineage(builder, subject.ref, tokenizer_ref, facts)
    add_code(builder, subject.ref, facts, file_refs)
    builder.components[subject.ref] = replace(
        builder.components[subject.ref], model_card=_model_card(facts, dataset_refs)
    )
    return Inventory(
        subject_ref=subject.ref,
        components=tuple(builder.components.values()),
        relations=tuple(builder.relations.values()),
        issues=tuple(builder.issues),
        findings=tuple(builder.findings),
    )


def _subject(identity: ModelIdentity, facts: FolderFacts, hub: str) -> Component:
    purl = identity.purl
    kind = ComponentKind.ADAPTER if facts.adapter is not None else ComponentKind.MODEL
    licenses, license_evidence = _licenses(facts)
    external: list[tuple[str, str]] = []
    if identity.hub_id is not None:
        external.append(("website", f"{hub}/{identity.hub_id.repo_id}"))
    declared = None if identity.revision else _gguf_version(facts)
    return Component(
        ref=purl.split("@")[0] if purl else f"model:{identity.label}",
        kind=kind,
        name=identity.name,
        group=identity.hub_id.namespace if identity.hub_id else None,
        version=identity.revision or (declared.value if declared else None),
        purl=purl,
        licenses=licenses,
        layer=Layer.WEIGHTS,
        evidence=(*identity.evidence, *license_evidence, *((declared,) if declared else ())),
        properties=(
            *_subject_properties(facts),
            *_revision_source(identity),
            # A version the files declare proves nothing about their bytes (a registry pin).
            *(((PropertyName.MODEL_REVISION_SOURCE, declared.method),) if declared else ()),
        ),
        external_urls=tuple(external),
    )


def _revision_source(identity: ModelIdentity) -> tuple[tuple[str, str], ...]:
    if identity.revision is None:
        return ()
    methods = [
        e.method for e in identity.evidence if e.method in {"download-metadata", "hf-cache-layout"}
    ]
    return ((PropertyName.MODEL_REVISION_SOURCE, methods[0]),) if methods else ()


def _subject_properties(facts: FolderFacts) -> tuple[tuple[str, str], ...]:
    """Declared facts about the model that have no CycloneDX field of their own."""
    card, config, adapter = facts.card, facts.config(), facts.adapter
    candidates: list[tuple[str, str | None]] = [
        (PropertyName.MODEL_LIBRARY, card.library_name if card else None),
        (PropertyName.MODEL_NEW_VERSION, card.new_version if card else None),
        (PropertyName.MODEL_LICENSE_LINK, card.license_link if card else None),
        (PropertyName.ADAPTER_PEFT_TYPE, adapter.peft_type if adapter else None),
        (PropertyName.ADAPTER_TASK_TYPE, adapter.task_type if adapter else None),
        (PropertyName.MODEL_TORCH_DTYPE, config.torch_dtype if config else None),
        (
            PropertyName.MODEL_TRANSFORMERS_VERSION,
            (config.transformers_version if config else None)
            or (facts.generation.transformers_version if facts.generation else None),
        ),
        (
            PropertyName.MODEL_DIFFUSERS_VERSION,
            facts.model_index.diffusers_version if facts.model_index else None,
        ),
    ]
    if facts.st_config is not None:
        candidates += [
            (SAVED_WITH_PREFIX + lib.replace("_", "-"), version)
            for lib, version in facts.st_config.versions
        ]
    return tuple((name, value) for name, value in candidates if value)


def _licenses(facts: FolderFacts) -> tuple[tuple[str, ...], tuple[Evidence, ...]]:
    card = facts.card
    if card is not None and card.license:
        value = card.license_name if card.license == "other" and card.license_name else card.license
        field_name = "license_name" if value != card.license else "license"
        return (value,), (facts.card_evidence(field_name, value),)
    for path, gguf in facts.gguf:
        if gguf.license:
            return (gguf.license,), (
                Evidence(
                    location=path.as_posix(),
                    field="general.license",
                    value=gguf.license,
                    method="gguf-metadata",
                ),
            )
    return (), ()


# --- files -------------------------------------------------------------------------------------


def _add_files(
    builder: InventoryBuilder,
    subject_ref: str,
    facts: FolderFacts,
    files: Iterable[tuple[PurePosixPath, int]],
    digests: dict[PurePosixPath, FileDigest],
) -> dict[PurePosixPath, str]:
    pointers = dict(facts.lfs_pointers)
    downloads = dict(facts.downloads)
    safetensors = dict(facts.safetensors)
    gguf = dict(facts.gguf)
    onnx = dict(facts.onnx)
    refs: dict[PurePosixPath, str] = {}
    for rel, size in files:
        properties: list[tuple[str, str]] = []
        evidence: list[Evidence] = []
        fmt = format_of(rel).name
        if fmt:
            properties.append((PropertyName.FILE_FORMAT, fmt))
        pointer = pointers.get(rel)
        digest = digests.get(rel)
        sha256: str | None = None
        if pointer is not None:
            sha256, size = pointer.sha256, pointer.size
            properties.append((PropertyName.FILE_LFS_POINTER, "true"))
            evidence.append(
                Evidence(location=rel.as_posix(), field="oid", value=sha256, method="lfs-pointer")
            )
        elif digest is not None:
            sha256 = digest.sha256
            properties.append((PropertyName.FILE_HASH_SOURCE, "content"))
        download = downloads.get(rel)
        if download is not None:
            properties.append((PropertyName.FILE_HUB_COMMIT, download.commit))
            evidence.append(
                Evidence(
                    location=f".cache/huggingface/download/{rel.as_posix()}.metadata",
                    field="etag",
                    value=download.etag,
                    method="download-metadata",
                )
            )
            if sha256 is not None and _SHA256.match(download.etag):
                matches = download.etag == sha256
                properties.append((PropertyName.FILE_HUB_ETAG_MATCH, str(matches).lower()))
                if not matches:
                    builder.issue(
                        rel.as_posix(),
                        "content differs from what was downloaded from the Hub "
                        f"(sha256 {sha256[:12]}…, Hub etag {download.etag[:12]}…)",
                        Severity.HIGH,
                    )
        properties.extend(_header_properties(rel, safetensors, gguf, onnx))
        ref = builder.add(
            Component(
                ref=f"file:{builder.identity.label}/{rel.as_posix()}",
                kind=ComponentKind.FILE,
                name=rel.as_posix(),
                path=rel.as_posix(),
                size=size,
                hashes=(Hash(alg="SHA-256", value=sha256),) if sha256 else (),
                layer=Layer.FILES,
                evidence=tuple(evidence),
                properties=tuple(properties),
            )
        )
        refs[rel] = ref
        builder.relate(subject_ref, ref, RelationKind.CONTAINS)
    _check_shards(builder, facts, refs)
    return refs


def _gguf_version(facts: FolderFacts) -> Evidence | None:
    """The model version the folder's GGUF files declare (``general.version``), when they
    all declare the same one; a Hub revision, when known, is the version instead."""
    declared = {(meta.version_label or "").strip() for _, meta in facts.gguf}
    if len(declared) != 1 or "" in declared:
        return None
    rel = next(rel for rel, meta in facts.gguf if meta.version_label)
    return Evidence(
        location=str(rel), field="general.version", value=declared.pop(), method="gguf-metadata"
    )


def _header_properties(
    rel: PurePosixPath,
    safetensors: dict[PurePosixPath, SafetensorsHeader],
    gguf: dict[PurePosixPath, GgufMetadata],
    onnx: dict[PurePosixPath, OnnxMetadata],
) -> list[tuple[str, str]]:
    """Facts from a weight file's header, as file properties."""
    props: list[tuple[str, str]] = []
    header = safetensors.get(rel)
    if header is not None:
        props += [
            (PropertyName.SAFETENSORS_TENSORS, str(header.tensor_count)),
            (PropertyName.SAFETENSORS_PARAMETERS, str(header.parameter_count)),
            (PropertyName.SAFETENSORS_DTYPES, ",".join(header.dtypes)),
        ]
        props += [(SAFETENSORS_METADATA_PREFIX + k, v[:200]) for k, v in header.metadata[:20]]
    meta = gguf.get(rel)
    if meta is not None:
        props.append((PropertyName.GGUF_VERSION, str(meta.version)))
        for key, value in (
            (PropertyName.GGUF_NAME, meta.name),
            (PropertyName.GGUF_ORGANIZATION, meta.organization),
            (PropertyName.GGUF_AUTHOR, meta.author),
            (PropertyName.GGUF_ARCHITECTURE, meta.architecture),
            (PropertyName.GGUF_FILE_TYPE, None if meta.file_type is None else str(meta.file_type)),
            (PropertyName.GGUF_QUANTIZED_BY, meta.quantized_by),
            (PropertyName.GGUF_TOKENIZER_MODEL, meta.tokenizer_model),
            (PropertyName.GGUF_TOKENIZER_PRE, meta.tokenizer_pre),
        ):
            if value:
                props.append((key, str(value)[:200]))
    model = onnx.get(rel)
    if model is not None:
        for key, value in (
            (PropertyName.ONNX_PRODUCER, model.producer_name),
            (PropertyName.ONNX_PRODUCER_VERSION, model.producer_version),
            (PropertyName.ONNX_IR_VERSION, str(model.ir_version)),
        ):
            if value:
                props.append((key, str(value)[:200]))
        props += [(ONNX_METADATA_PREFIX + k, v[:200]) for k, v in model.metadata_props[:20]]
    return props


def _check_shards(
    builder: InventoryBuilder, facts: FolderFacts, refs: dict[PurePosixPath, str]
) -> None:
    for index_path, index in facts.safetensors_indexes:
        for shard in index.shards:
            shard_path = index_path.parent / shard
            if shard_path not in refs:
                builder.issue(
                    index_path.as_posix(),
                    f"shard {shard} listed in the index is missing from the folder",
                    Severity.MEDIUM,
                )


# --- datasets and tokenizer ----------------------------------------------------------------------


def _add_datasets(
    builder: InventoryBuilder, subject_ref: str, facts: FolderFacts
) -> tuple[str, ...]:
    declared: list[tuple[str, Evidence]] = []
    if facts.card is not None:
        declared += [
            (
                value,
                facts.card_evidence("datasets", value),
            )
            for value in facts.card.datasets
        ]
    for path, meta in facts.gguf:
        for index, dataset in enumerate(meta.datasets):
            value = _gguf_dataset_id(dataset)
            if value:
                declared.append(
                    (
                        value,
                        Evidence(
                            location=path.as_posix(),
                            field=f"general.dataset.{index}",
                            value=value,
                            method="gguf-metadata",
                        ),
                    )
                )
    refs: list[str] = []
    for value, evidence in declared:
        dataset_id = value.strip()
        if not _DATASET_ID.match(dataset_id):
            builder.issue(
                evidence.location,
                f"dataset {value!r} is not a Hugging Face dataset id; recorded by name only",
            )
        namespace, _, name = dataset_id.rpartition("/")
        ref = builder.add(
            Component(
                ref=f"dataset:{dataset_id}",
                kind=ComponentKind.DATASET,
                name=name,
                group=namespace or None,
                layer=Layer.DATASETS,
                evidence=(evidence,),
                external_urls=(("distribution", f"{builder.hub}/datasets/{dataset_id}"),)
                if _DATASET_ID.match(dataset_id)
                else (),
            )
        )
        builder.relate(subject_ref, ref, RelationKind.TRAINED_ON, evidence)
        if ref not in refs:
            refs.append(ref)
    return tuple(refs)


def _gguf_dataset_id(dataset: GgufDataset) -> str | None:
    """A Hub dataset id from a GGUF dataset entry: its Hub URL, else organization/name."""
    for url in (dataset.repo_url, dataset.url):
        if url and "/datasets/" in url:
            tail = url.split("/datasets/", 1)[1].strip("/")
            if _DATASET_ID.match(tail):
                return tail
    if dataset.organization and dataset.name:
        return f"{dataset.organization}/{dataset.name}"
    return dataset.name


def _add_tokenizer(
    builder: InventoryBuilder,
    subject_ref: str,
    facts: FolderFacts,
    file_refs: dict[PurePosixPath, str],
) -> str | None:
    """The model's tokenizer component, with what its files declare; None without one."""
    tokenizer_files = [ref for rel, ref in file_refs.items() if rel.name in TOKENIZER_FILES]
    gguf_tokenizers = [(p, m) for p, m in facts.gguf if m.tokenizer_model]
    if (
        not tokenizer_files
        and facts.tokenizer is None
        and not gguf_tokenizers
        and facts.vocabulary is None
    ):
        return None
    properties: list[tuple[str, str]] = []
    evidence: list[Evidence] = []
    config = facts.tokenizer
    if config is not None:
        if config.tokenizer_class:
            properties.append((PropertyName.TOKENIZER_CLASS, config.tokenizer_class))
            evidence.append(
                Evidence(
                    location="tokenizer_config.json",
                    field="tokenizer_class",
                    value=config.tokenizer_class,
                    method="tokenizer-config",
                )
            )
        properties.append(
            (PropertyName.TOKENIZER_CHAT_TEMPLATE, str(config.has_chat_template).lower())
        )
    for path, meta in gguf_tokenizers:
        properties.append((PropertyName.TOKENIZER_GGUF_MODEL, str(meta.tokenizer_model)))
        if meta.tokenizer_pre:
            properties.append((PropertyName.TOKENIZER_GGUF_PRE, meta.tokenizer_pre))
        evidence.append(
            Evidence(
                location=path.as_posix(),
                field="tokenizer.ggml.model",
                value=str(meta.tokenizer_model),
                method="gguf-metadata",
            )
        )
    label = builder.identity.label
    ref = builder.add(
        Component(
            ref=f"tokenizer:{label}",
            kind=ComponentKind.TOKENIZER,
            name=f"{label} tokenizer",
            layer=Layer.TOKENIZER,
            evidence=tuple(evidence),
            properties=tuple(dict.fromkeys(properties)),
        )
    )
    builder.relate(subject_ref, ref, RelationKind.DEPENDS_ON)
    for file_ref in tokenizer_files:
        builder.relate(ref, file_ref, RelationKind.CONTAINS)
    if config is not None and config.name_or_path:
        hub_id = parse_hub_id(config.name_or_path)
        own = builder.identity.hub_id
        if hub_id is not None and (own is None or hub_id.repo_id != own.repo_id):
            hint = Evidence(
                location="tokenizer_config.json",
                field="name_or_path",
                value=config.name_or_path,
                method="tokenizer-config",
            )
            source = builder.hub_model(hub_id, hint, Layer.TOKENIZER)
            builder.relate(ref, source, RelationKind.TOKENIZER_FROM, hint)
    return ref


# --- model card --------------------------------------------------------------------------------


def _model_card(facts: FolderFacts, dataset_refs: tuple[str, ...]) -> ModelCardFacts:
    config = facts.config()
    card = facts.card
    parameters = sum(header.parameter_count for _, header in facts.safetensors) or None
    quantization: str | None = None
    if config is not None and config.quantization is not None:
        quantization = config.quantization.quant_method
    elif facts.gguf:
        file_type = facts.gguf[0][1].file_type
        quantization = f"gguf-file-type-{file_type}" if file_type is not None else "gguf"
    architecture_family = config.model_type if config else None
    architecture = config.architectures[0] if config and config.architectures else None
    if facts.model_index is not None:
        architecture = architecture or facts.model_index.class_name
    if architecture_family is None and facts.gguf:
        architecture_family = facts.gguf[0][1].architecture
    return ModelCardFacts(
        task=card.pipeline_tag if card else None,
        architecture_family=architecture_family,
        architecture=architecture,
        dataset_refs=dataset_refs,
        languages=card.languages if card else (),
        parameter_count=parameters,
        quantization=quantization,
    )
