"""Turn what a folder declares into components and relations, each fact with its evidence."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath

from scanner.errors import MalformedFileError
from scanner.formats.gguf import GgufDataset, GgufMetadata
from scanner.formats.hf_config import ModelConfig
from scanner.formats.hub_id import HubId, parse_code_reference, parse_hub_id
from scanner.formats.onnx import OnnxMetadata
from scanner.formats.safetensors import SafetensorsHeader
from scanner.model import (
    Component,
    ComponentKind,
    Evidence,
    Hash,
    Layer,
    ModelCardFacts,
    Relation,
    RelationKind,
    ScanIssue,
    Severity,
)
from scanner.sources.folder_facts import FolderFacts
from scanner.sources.identity import ModelIdentity

DEFAULT_HUB = "https://huggingface.co"

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

#: File formats by suffix, recorded as ``sovscan:file:format``.
FILE_FORMATS = {
    ".safetensors": "safetensors",
    ".gguf": "gguf",
    ".onnx": "onnx",
    ".bin": "pytorch-pickle",
    ".pt": "pytorch-pickle",
    ".pth": "pytorch-pickle",
    ".ckpt": "pytorch-pickle",
    ".pkl": "pickle",
    ".pickle": "pickle",
    ".joblib": "pickle",
    ".npy": "numpy",
    ".npz": "numpy",
    ".h5": "hdf5",
    ".keras": "keras",
    ".msgpack": "flax-msgpack",
    ".py": "python",
    ".json": "json",
    ".md": "markdown",
    ".txt": "text",
    ".model": "sentencepiece",
    ".jinja": "jinja",
}

_RELATION_NAMES = {
    "finetune": RelationKind.FINETUNE,
    "adapter": RelationKind.ADAPTER,
    "quantized": RelationKind.QUANTIZED,
    "merge": RelationKind.MERGE,
}
_QUANTIZED_TAGS = frozenset({"gguf", "gptq", "awq", "exl2", "bnb", "4-bit", "8-bit", "mlx"})
#: Repo-name endings that re-uploaders use for quantized copies (``…-GGUF``, ``…-AWQ``, …).
_QUANTIZED_NAME = re.compile(r"[-_.](gguf|gptq|awq|exl2|mlx|bnb-4bit|4bit|8bit|int4|int8)$", re.I)
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
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


@dataclass
class _Builder:
    """Accumulates components and relations; the same ref twice merges evidence."""

    identity: ModelIdentity
    hub: str
    components: dict[str, Component] = field(default_factory=dict)
    relations: dict[tuple[str, str, RelationKind], Relation] = field(default_factory=dict)
    issues: list[ScanIssue] = field(default_factory=list)

    def add(self, component: Component) -> str:
        existing = self.components.get(component.ref)
        if existing is None:
            self.components[component.ref] = component
        else:
            self.components[component.ref] = replace(
                existing, evidence=_merge(existing.evidence, component.evidence)
            )
        return component.ref

    def relate(self, src: str, dst: str, kind: RelationKind, *evidence: Evidence) -> None:
        if src == dst:  # a card naming the model as its own base: not lineage
            where = evidence[0].location if evidence else "."
            self.issue(where, f"{kind} relation from the model to itself ignored")
            return
        key = (src, dst, kind)
        existing = self.relations.get(key)
        merged = _merge(existing.evidence if existing else (), evidence)
        self.relations[key] = Relation(src=src, dst=dst, kind=kind, evidence=merged)

    def issue(self, location: str, problem: str, severity: Severity = Severity.LOW) -> None:
        self.issues.append(ScanIssue(location=location, problem=problem, severity=severity))

    def hub_model(self, hub_id: HubId, evidence: Evidence, layer: Layer) -> str:
        """A Hub model named in metadata (unpinned until the Hub is asked)."""
        purl = f"pkg:huggingface/{hub_id.namespace}/{hub_id.name}"
        return self.add(
            Component(
                ref=purl,
                kind=ComponentKind.MODEL,
                name=hub_id.name,
                group=hub_id.namespace,
                purl=purl,
                layer=layer,
                evidence=(evidence,),
                external_urls=(("website", f"{self.hub}/{hub_id.repo_id}"),),
            )
        )


def _merge(first: Iterable[Evidence], second: Iterable[Evidence]) -> tuple[Evidence, ...]:
    return tuple(dict.fromkeys((*first, *second)))


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
    builder = _Builder(identity=identity, hub=hub.rstrip("/"))
    subject = _subject(identity, facts)
    builder.add(subject)
    file_refs = _add_files(builder, subject.ref, facts, files, digests)
    _add_lineage(builder, subject.ref, facts)
    dataset_refs = _add_datasets(builder, subject.ref, facts)
    _add_tokenizer(builder, subject.ref, facts, file_refs)
    _add_code(builder, subject.ref, facts, file_refs)
    builder.components[subject.ref] = replace(
        builder.components[subject.ref], model_card=_model_card(facts, dataset_refs)
    )
    return Inventory(
        subject_ref=subject.ref,
        components=tuple(builder.components.values()),
        relations=tuple(builder.relations.values()),
        issues=tuple(builder.issues),
    )


def _subject(identity: ModelIdentity, facts: FolderFacts) -> Component:
    purl = identity.purl
    kind = ComponentKind.ADAPTER if facts.adapter is not None else ComponentKind.MODEL
    licenses, license_evidence = _licenses(facts)
    properties: list[tuple[str, str]] = []
    card = facts.card
    if card is not None:
        if card.library_name:
            properties.append(("sovscan:model:library", card.library_name))
        if card.new_version:
            properties.append(("sovscan:model:new-version", card.new_version))
        if card.license_link:
            properties.append(("sovscan:model:license-link", card.license_link))
    external: list[tuple[str, str]] = []
    if identity.hub_id is not None:
        external.append(("website", f"{DEFAULT_HUB}/{identity.hub_id.repo_id}"))
    return Component(
        ref=purl.split("@")[0] if purl else f"model:{identity.label}",
        kind=kind,
        name=identity.name,
        group=identity.hub_id.namespace if identity.hub_id else None,
        version=identity.revision,
        purl=purl,
        licenses=licenses,
        layer=Layer.WEIGHTS,
        evidence=(*identity.evidence, *license_evidence),
        properties=tuple(properties),
        external_urls=tuple(external),
    )


def _licenses(facts: FolderFacts) -> tuple[tuple[str, ...], tuple[Evidence, ...]]:
    card = facts.card
    if card is not None and card.license:
        value = card.license_name if card.license == "other" and card.license_name else card.license
        field_name = "license_name" if value != card.license else "license"
        return (value,), (
            Evidence(location="README.md", field=field_name, value=value, method="model-card"),
        )
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
    builder: _Builder,
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
        fmt = FILE_FORMATS.get(rel.suffix.lower())
        if fmt:
            properties.append(("sovscan:file:format", fmt))
        pointer = pointers.get(rel)
        digest = digests.get(rel)
        sha256: str | None = None
        if pointer is not None:
            sha256, size = pointer.sha256, pointer.size
            properties.append(("sovscan:file:lfs-pointer", "true"))
            evidence.append(
                Evidence(location=rel.as_posix(), field="oid", value=sha256, method="lfs-pointer")
            )
        elif digest is not None:
            sha256 = digest.sha256
            properties.append(
                ("sovscan:file:hash-source", "cache" if digest.from_cache else "read")
            )
        download = downloads.get(rel)
        if download is not None:
            properties.append(("sovscan:file:hub-commit", download.commit))
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
                properties.append(("sovscan:file:hub-etag-match", str(matches).lower()))
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
            ("sovscan:safetensors:tensors", str(header.tensor_count)),
            ("sovscan:safetensors:parameters", str(header.parameter_count)),
            ("sovscan:safetensors:dtypes", ",".join(header.dtypes)),
        ]
        props += [(f"sovscan:safetensors:metadata:{k}", v[:200]) for k, v in header.metadata[:20]]
    meta = gguf.get(rel)
    if meta is not None:
        props.append(("sovscan:gguf:version", str(meta.version)))
        for key, value in (
            ("name", meta.name),
            ("organization", meta.organization),
            ("author", meta.author),
            ("architecture", meta.architecture),
            ("file-type", None if meta.file_type is None else str(meta.file_type)),
            ("quantized-by", meta.quantized_by),
            ("tokenizer-model", meta.tokenizer_model),
            ("tokenizer-pre", meta.tokenizer_pre),
        ):
            if value:
                props.append((f"sovscan:gguf:{key}", str(value)[:200]))
    model = onnx.get(rel)
    if model is not None:
        for key, value in (
            ("producer", model.producer_name),
            ("producer-version", model.producer_version),
            ("ir-version", str(model.ir_version)),
        ):
            if value:
                props.append((f"sovscan:onnx:{key}", str(value)[:200]))
        props += [(f"sovscan:onnx:metadata:{k}", v[:200]) for k, v in model.metadata_props[:20]]
    return props


def _check_shards(builder: _Builder, facts: FolderFacts, refs: dict[PurePosixPath, str]) -> None:
    for index_path, index in facts.safetensors_indexes:
        for shard in index.shards:
            shard_path = index_path.parent / shard
            if shard_path not in refs:
                builder.issue(
                    index_path.as_posix(),
                    f"shard {shard} listed in the index is missing from the folder",
                    Severity.MEDIUM,
                )


# --- lineage -----------------------------------------------------------------------------------


def _add_lineage(builder: _Builder, subject_ref: str, facts: FolderFacts) -> None:
    """Declared ancestors: card base_model, adapter base, GGUF source/base, config hints."""
    declared = _card_bases(builder, facts)
    explicit = _explicit_relation(builder, facts)
    adapter_base = _adapter_base(builder, facts)
    inferred = _inferred_relation(facts, len(declared), builder.identity.name)
    for ref, evidence in declared:
        if explicit is not None:
            kind = explicit
        elif adapter_base is not None and adapter_base[0] == ref:
            kind = RelationKind.ADAPTER
        else:
            kind = inferred
        builder.relate(subject_ref, ref, kind, evidence)
    if adapter_base is not None and adapter_base[0] not in {ref for ref, _ in declared}:
        builder.relate(subject_ref, adapter_base[0], RelationKind.ADAPTER, adapter_base[1])
    _gguf_lineage(builder, subject_ref, facts)
    known = {rel.dst for rel in builder.relations.values() if rel.src == subject_ref}
    for ref, evidence in _config_hints(builder, facts):
        if ref in known:
            builder.relate(subject_ref, ref, _relation_to(builder, subject_ref, ref), evidence)
        else:
            builder.relate(subject_ref, ref, inferred, evidence)
            known.add(ref)


def _relation_to(builder: _Builder, src: str, dst: str) -> RelationKind:
    for s, d, kind in builder.relations:
        if s == src and d == dst:
            return kind
    raise KeyError(dst)


def _card_bases(builder: _Builder, facts: FolderFacts) -> list[tuple[str, Evidence]]:
    card = facts.card
    if card is None:
        return []
    found = []
    for value in card.base_models:
        evidence = Evidence(
            location="README.md", field="base_model", value=value, method="model-card"
        )
        found.append((_model_ref(builder, value, evidence, "README.md"), evidence))
    return found


def _model_ref(builder: _Builder, value: str, evidence: Evidence, location: str) -> str:
    """A Hub model component for ``value``, or an unresolved one when it is not a Hub id."""
    hub_id = parse_hub_id(value)
    if hub_id is not None:
        return builder.hub_model(hub_id, evidence, Layer.WEIGHTS)
    builder.issue(
        location,
        f"{evidence.field} {value!r} is not a Hugging Face repo id; the ancestor stays unresolved",
        Severity.MEDIUM,
    )
    name = PurePosixPath(value.replace("\\", "/")).name or value
    return builder.add(
        Component(
            ref=f"model:unresolved:{value}",
            kind=ComponentKind.MODEL,
            name=name,
            layer=Layer.WEIGHTS,
            evidence=(evidence,),
            properties=(("sovscan:unresolved", "true"),),
        )
    )


def _explicit_relation(builder: _Builder, facts: FolderFacts) -> RelationKind | None:
    card = facts.card
    if card is None or not card.base_model_relation:
        return None
    kind = _RELATION_NAMES.get(card.base_model_relation.strip().lower())
    if kind is None:
        builder.issue(
            "README.md",
            f"unknown base_model_relation {card.base_model_relation!r}; relation inferred instead",
        )
    return kind


def _adapter_base(builder: _Builder, facts: FolderFacts) -> tuple[str, Evidence] | None:
    adapter = facts.adapter
    if adapter is None:
        return None
    if not adapter.base_model_name_or_path:
        builder.issue(
            "adapter_config.json",
            "adapter declares no base_model_name_or_path; its base stays unknown",
            Severity.MEDIUM,
        )
        return None
    evidence = Evidence(
        location="adapter_config.json",
        field="base_model_name_or_path",
        value=adapter.base_model_name_or_path,
        method="adapter-config",
    )
    ref = _model_ref(builder, adapter.base_model_name_or_path, evidence, "adapter_config.json")
    if adapter.revision and _COMMIT.match(adapter.revision.lower()):
        base = builder.components[ref]
        builder.components[ref] = (
            replace(
                base,
                version=adapter.revision.lower(),
                purl=f"{base.purl}@{adapter.revision.lower()}",
            )
            if base.purl and base.version is None
            else base
        )
    return ref, evidence


def _inferred_relation(facts: FolderFacts, base_count: int, name: str) -> RelationKind:
    """The Hub's own inference when the card does not say: adapter, merge, quantized, finetune.

    ``name`` is the model's own name: re-uploaders mark quantized copies in it (``…-GGUF``).
    """
    if facts.adapter is not None:
        return RelationKind.ADAPTER
    if base_count > 1:
        return RelationKind.MERGE
    config = facts.config()
    tags = {tag.lower() for tag in (facts.card.tags if facts.card else ())}
    if (
        (config is not None and config.quantization is not None)
        or _QUANTIZED_NAME.search(name)
        or facts.gguf
        or tags & _QUANTIZED_TAGS
    ):
        return RelationKind.QUANTIZED
    return RelationKind.FINETUNE


def _gguf_lineage(builder: _Builder, subject_ref: str, facts: FolderFacts) -> None:
    """A GGUF's source repo is what it was quantized from; its base models are that one's."""
    for path, meta in facts.gguf:
        location = path.as_posix()
        source_ref: str | None = None
        for field_name, value in (
            ("general.source.huggingface.repository", meta.source_hf_repository),
            ("general.source.repo_url", meta.source_repo_url),
            ("general.source.url", meta.source_url),
        ):
            hub_id = parse_hub_id(value) if value else None
            if hub_id is not None and value is not None:
                evidence = Evidence(
                    location=location, field=field_name, value=value, method="gguf-metadata"
                )
                source_ref = builder.hub_model(hub_id, evidence, Layer.WEIGHTS)
                builder.relate(subject_ref, source_ref, RelationKind.QUANTIZED, evidence)
                break
        parent = source_ref or subject_ref
        bases = meta.base_models
        for index, base in enumerate(bases):
            candidate = next((v for v in (base.repo_url, base.url) if v and parse_hub_id(v)), None)
            if candidate is None and base.organization and base.name:
                candidate = f"{base.organization}/{base.name}"
            if candidate is None:
                continue
            evidence = Evidence(
                location=location,
                field=f"general.base_model.{index}",
                value=candidate,
                method="gguf-metadata",
            )
            ref = _model_ref(builder, candidate, evidence, location)
            kind = RelationKind.MERGE if len(bases) > 1 else RelationKind.FINETUNE
            if parent == subject_ref and source_ref is None:
                kind = RelationKind.MERGE if len(bases) > 1 else RelationKind.QUANTIZED
            builder.relate(parent, ref, kind, evidence)


def _config_hints(builder: _Builder, facts: FolderFacts) -> list[tuple[str, Evidence]]:
    """``_name_or_path`` values that name another Hub repo: weaker lineage evidence."""
    own = builder.identity.hub_id
    hints: list[tuple[str, Evidence]] = []
    for path, config in facts.configs:
        for field_name, value in _name_or_paths(config):
            hub_id = parse_hub_id(value) if value else None
            if hub_id is None or (own is not None and hub_id.repo_id == own.repo_id):
                continue
            evidence = Evidence(
                location=path.as_posix(), field=field_name, value=value, method="config-hint"
            )
            hints.append((builder.hub_model(hub_id, evidence, Layer.WEIGHTS), evidence))
    return hints


def _name_or_paths(config: ModelConfig, prefix: str = "") -> list[tuple[str, str]]:
    found = [(f"{prefix}_name_or_path", config.name_or_path)] if config.name_or_path else []
    for key, sub in config.sub_configs:
        found += _name_or_paths(sub, f"{prefix}{key}.")
    return found


# --- datasets, tokenizer, code -----------------------------------------------------------------


def _add_datasets(builder: _Builder, subject_ref: str, facts: FolderFacts) -> tuple[str, ...]:
    declared: list[tuple[str, Evidence]] = []
    if facts.card is not None:
        declared += [
            (
                value,
                Evidence(location="README.md", field="datasets", value=value, method="model-card"),
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
    builder: _Builder, subject_ref: str, facts: FolderFacts, file_refs: dict[PurePosixPath, str]
) -> None:
    tokenizer_files = [ref for rel, ref in file_refs.items() if rel.name in TOKENIZER_FILES]
    gguf_tokenizers = [(p, m) for p, m in facts.gguf if m.tokenizer_model]
    if not tokenizer_files and facts.tokenizer is None and not gguf_tokenizers:
        return
    properties: list[tuple[str, str]] = []
    evidence: list[Evidence] = []
    config = facts.tokenizer
    if config is not None:
        if config.tokenizer_class:
            properties.append(("sovscan:tokenizer:class", config.tokenizer_class))
            evidence.append(
                Evidence(
                    location="tokenizer_config.json",
                    field="tokenizer_class",
                    value=config.tokenizer_class,
                    method="tokenizer-config",
                )
            )
        properties.append(
            ("sovscan:tokenizer:chat-template", str(config.has_chat_template).lower())
        )
    for path, meta in gguf_tokenizers:
        properties.append(("sovscan:tokenizer:gguf-model", str(meta.tokenizer_model)))
        if meta.tokenizer_pre:
            properties.append(("sovscan:tokenizer:gguf-pre", meta.tokenizer_pre))
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


def _code_references(facts: FolderFacts) -> list[tuple[str, str, str]]:
    """(location, field, ``module.Class`` or ``ORG/NAME--module.Class``) of repo code to run."""
    found: list[tuple[str, str, str]] = []
    for path, config in facts.configs:
        found += [(path.as_posix(), f"auto_map.{cls}", ref) for cls, ref in config.auto_map]
        found += [
            (path.as_posix(), f"custom_pipelines.{task}", ref)
            for task, ref in config.custom_pipelines
        ]
    if facts.tokenizer is not None:
        found += [
            ("tokenizer_config.json", f"auto_map.{cls}", ref)
            for cls, ref in facts.tokenizer.auto_map
        ]
    index = facts.model_index
    if index is not None:
        if index.custom_pipeline_module:
            found.append(
                ("model_index.json", "_class_name", f"{index.custom_pipeline_module}.Pipeline")
            )
        # A custom component's class lives in <component>/<library>.py: the reference is
        # written relative to that subfolder's (virtual) config.
        found += [
            (f"{c.name}/model_index.json", f"model_index.{c.name}", f"{c.library}.{c.class_name}")
            for c in index.components
            if c.is_custom_code and c.library and c.class_name
        ]
    if facts.st_modules is not None:
        found += [
            ("modules.json", f"modules.{module.idx}.type", module.type)
            for module in facts.st_modules.modules
            if module.is_custom_code and module.type
        ]
    return found


def _add_code(
    builder: _Builder, subject_ref: str, facts: FolderFacts, file_refs: dict[PurePosixPath, str]
) -> None:
    """Remote code: auto_map references (possibly to other repos) and ``*.py`` files."""
    label = builder.identity.label
    referenced: set[PurePosixPath] = set()
    missing: dict[PurePosixPath, list[str]] = {}
    for location, field_name, value in _code_references(facts):
        evidence = Evidence(location=location, field=field_name, value=value, method="auto-map")
        try:
            code = parse_code_reference(value)
        except MalformedFileError as exc:
            builder.issue(location, f"{field_name}: {exc.problem}", Severity.MEDIUM)
            continue
        module_file = PurePosixPath(code.module_file)
        if code.repo is not None:
            repo = code.repo
            purl = f"pkg:huggingface/{repo.namespace}/{repo.name}"
            ref = builder.add(
                Component(
                    ref=f"code:{repo.repo_id}/{module_file.as_posix()}",
                    kind=ComponentKind.CODE,
                    name=module_file.as_posix(),
                    group=repo.namespace,
                    purl=purl,
                    layer=Layer.CODE,
                    evidence=(evidence,),
                    properties=(("sovscan:code:class", code.class_name),),
                    external_urls=(("vcs", f"{builder.hub}/{repo.repo_id}"),),
                )
            )
            builder.relate(subject_ref, ref, RelationKind.REMOTE_CODE_FROM, evidence)
            continue
        local = PurePosixPath(location).parent / module_file
        referenced.add(local)
        ref = _local_code(builder, label, local, file_refs, evidence)
        builder.relate(subject_ref, ref, RelationKind.DEPENDS_ON, evidence)
        if local not in file_refs:
            missing.setdefault(local, []).append(f"{location}:{field_name}")
    for module, needed_by in missing.items():
        builder.issue(
            needed_by[0].split(":")[0] if len(needed_by) == 1 else ".",
            f"{module.as_posix()} is not in the folder but {', '.join(needed_by)} "
            f"need{'s' if len(needed_by) == 1 else ''} it (remote code that cannot be checked)",
            Severity.MEDIUM,
        )
    for path in facts.python_files:
        if path not in referenced:
            evidence = Evidence(
                location=path.as_posix(), field="file", value=path.name, method="python-file"
            )
            ref = _local_code(builder, label, path, file_refs, evidence)
            builder.relate(subject_ref, ref, RelationKind.DEPENDS_ON, evidence)


def _local_code(
    builder: _Builder,
    label: str,
    module: PurePosixPath,
    file_refs: dict[PurePosixPath, str],
    evidence: Evidence,
) -> str:
    file_ref = file_refs.get(module)
    hashes = builder.components[file_ref].hashes if file_ref else ()
    ref = builder.add(
        Component(
            ref=f"code:{label}/{module.as_posix()}",
            kind=ComponentKind.CODE,
            name=module.as_posix(),
            path=module.as_posix(),
            hashes=hashes,
            layer=Layer.CODE,
            evidence=(evidence,),
        )
    )
    if file_ref:
        builder.relate(ref, file_ref, RelationKind.CONTAINS)
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
