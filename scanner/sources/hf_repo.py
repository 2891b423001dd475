"""Scan one Hugging Face Hub repo at a commit into an inventory, from metadata only.

The repo's small metadata files are fetched (never its weights), written into a private
temporary folder and read by the same readers as a local folder. GGUF and safetensors headers
are read from the first bytes of their files by HTTP range requests; pickle-format files are
checked for what loading them would run from the byte ranges the analysers need
(``scanner.sources.hub_load_analysis``). LFS files become components with the SHA-256 and size
the Hub lists for them. When a file cannot be fetched (a gated repo), the Hub API's own view of
the card (``cardData``) and config stands in for it. A dataset repo asked for directly is
inventoried from the Hub's dataset info alone.
"""

from __future__ import annotations

import io
import json
import re
import tempfile
from dataclasses import replace
from functools import partial
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, BinaryIO, Final, TypeVar

import yaml

from scanner.core.errors import MalformedFileError
from scanner.core.ids import parse_hub_id
from scanner.core.model import (
    Component,
    ComponentKind,
    Evidence,
    Hash,
    Layer,
    Relation,
    RelationKind,
    ScanIssue,
    Severity,
)
from scanner.core.properties import PropertyName
from scanner.formats.model.gguf import GgufMetadata, read_gguf_stream
from scanner.formats.model.hf_config import read_tokenizer_config
from scanner.formats.model.safetensors import SafetensorsHeader, read_safetensors_stream
from scanner.formats.model.vocabulary import (
    GGUF_VOCABULARY_KEYS,
    MAX_TOKENIZER_FILE_BYTES,
    Vocabulary,
    gguf_vocabulary,
)
from scanner.resolve.hub.client import HubClient
from scanner.resolve.hub.ranged_file import (
    RangeBudget,
    RangedFileError,
    RangedHubFile,
    RangeOfflineError,
)
from scanner.resolve.hub.types import HubFile, HubProblem, HubRepoInfo, thaw_json
from scanner.sources.folder_facts import (
    MAX_VOCABULARY_FILES,
    VOCABULARY_FILES,
    read_folder_facts,
)
from scanner.sources.hub_load_analysis import unanalysed, with_hub_load_analysis
from scanner.sources.identity import ModelIdentity
from scanner.sources.inventory import FileDigest, Inventory, build_inventory
from scanner.sources.load_analysis import (
    MAX_TEMPLATE_FILE_BYTES,
    TEMPLATE_JSON_FILES,
    TEMPLATE_SUFFIX,
    file_analyses,
)
from scanner.sources.python.components import python_parts
from scanner.sources.python.files import dependency_reader, read_dependency_files
from scanner.sources.walk import walk_target

if TYPE_CHECKING:
    from collections.abc import Callable

#: The metadata files fetched from a repo (all small JSON/Markdown files at the top level).
METADATA_FILES: Final = (
    "README.md",
    "config.json",
    "adapter_config.json",
    "tokenizer_config.json",
    "generation_config.json",
    "model_index.json",
    "modules.json",
    "config_sentence_transformers.json",
)
#: Most chat-template files (``*.jinja``, ``chat_template.json`` …) fetched per repo; the rest
#: are reported unanalysed.
MAX_TEMPLATE_FILES: Final = 16
#: Most bytes of tokenizer files fetched per repo (Qwen's tokenizer.json, vocab.json and
#: merges.txt together are ~11 MB; Gemma's tokenizer.json ~33 MB).
MAX_VOCABULARY_FETCH_BYTES: Final = 64 * 1024 * 1024
#: Most Python dependency files (requirements*.txt, pyproject.toml, lockfiles) fetched per repo.
MAX_DEPENDENCY_FILES: Final = 8
#: Largest metadata file fetched; real cards and configs are far smaller.
MAX_METADATA_FILE_BYTES: Final = 1024 * 1024
#: Most GGUF files per repo whose header is read (the first by path); each costs one request.
MAX_GGUF_HEADERS: Final = 4
#: Bytes of a GGUF file fetched: llama.cpp writes ``general.*`` before the tokenizer arrays, so
#: this prefix holds the provenance keys even when the vocabulary runs past it.
GGUF_HEADER_BYTES: Final = 512 * 1024
#: Most safetensors files per repo whose header is read (all of them, or none: the parameter
#: count is a sum over every file).
MAX_SAFETENSORS_HEADERS: Final = 4
#: Largest safetensors JSON header fetched; bigger ones (thousands of tensors) are skipped
#: quietly to keep the transfer low (the reader itself accepts up to its own cap).
MAX_SAFETENSORS_HEADER_FETCH: Final = 1024 * 1024
_SAFETENSORS_LENGTH_BYTES: Final = 8
#: First request for a safetensors header: most fit in it (one tensor costs ~100 bytes).
SAFETENSORS_FIRST_READ_BYTES: Final = 16 * 1024
#: Most repo files turned into components (a listing larger than this is truncated, reported).
MAX_FILE_COMPONENTS: Final = 10_000

_Header = TypeVar("_Header", GgufMetadata, SafetensorsHeader)

_TAG_RELATIONS: Final = {
    "finetune": RelationKind.FINETUNE,
    "adapter": RelationKind.ADAPTER,
    "quantized": RelationKind.QUANTIZED,
    "merge": RelationKind.MERGE,
}
_BASE_MODEL_TAG = re.compile(r"^base_model:(?:(?P<kind>[a-z]+):)?(?P<id>[^:]+)$")


def scan_hub_repo(
    client: HubClient, info: HubRepoInfo, hub: str, repo_id: str | None = None
) -> Inventory:
    """The inventory of ``info``'s repo at ``info.commit``; what cannot be read is an issue.

    ``repo_id``: the id the repo was named by (its bom-ref), when it differs in spelling from
    the Hub's canonical one, so that references to it and its scan meet in one component.
    """
    name = repo_id or info.repo_id
    hub_id = parse_hub_id(name)
    if hub_id is None:  # a legacy single-name repo (gpt2): its own namespace
        hub_id = parse_hub_id(f"{name}/{name}")
    assert hub_id is not None  # noqa: S101  (repo ids are validated by the client)
    issues: list[ScanIssue] = []
    if info.note:
        issues.append(ScanIssue(location=info.url, problem=info.note, severity=Severity.LOW))
    with tempfile.TemporaryDirectory(prefix="sovscan-hub-") as folder:
        fetched, unread = _fetch_metadata(client, info, Path(folder), issues)
        walk = walk_target(Path(folder))
        facts = read_folder_facts(walk)
        documents, python_issues = read_dependency_files(Path(folder), walk.files)
        # What loading the fetched files would do: chat templates above all.
        analysed, analysis_issues = file_analyses(walk.files)
    for path, reason in unread.items():
        analysed[path] = [unanalysed(reason)]
    gguf = _gguf_headers(client, info, issues)
    safetensors = _safetensors_headers(client, info, issues)
    facts = replace(
        facts,
        python_files=_python_files(info),
        gguf=(*facts.gguf, *gguf),
        safetensors=(*facts.safetensors, *safetensors),
        vocabularies=facts.vocabularies or _gguf_vocabulary(client, info, issues),
    )
    identity = ModelIdentity(
        name=hub_id.name,
        hub_id=hub_id,
        revision=info.commit,
        evidence=(Evidence(location=info.url, field="sha", value=info.commit, method="hub-api"),),
    )
    listed = info.files[:MAX_FILE_COMPONENTS]
    if len(info.files) > MAX_FILE_COMPONENTS:
        issues.append(
            ScanIssue(
                location=info.url,
                problem=f"{len(info.files)} files listed; only the first "
                f"{MAX_FILE_COMPONENTS} are inventoried",
                severity=Severity.MEDIUM,
            )
        )
    files = [(PurePosixPath(item.path), item.size or 0) for item in listed]
    digests = {
        PurePosixPath(item.path): FileDigest(sha256=item.sha256, from_cache=False)
        for item in listed
        if item.sha256 is not None
    }
    inventory = build_inventory(identity, facts, files, digests, hub=hub)
    inventory = with_hub_load_analysis(
        client,
        info,
        inventory,
        fetched=fetched,
        analysed=analysed,
        known_issues=analysis_issues,
    )
    components = tuple(_hub_hashed(c) for c in inventory.components)
    components, relations = _tag_lineage(info, inventory, components, hub)
    python = python_parts(documents, [inventory.subject_ref])
    located = [
        replace(issue, location=f"{info.url}/blob/{info.commit}/{issue.location}")
        if issue.location not in {"", "."}
        else replace(issue, location=info.url)
        for issue in (*facts.issues, *inventory.issues, *python_issues, *python.issues)
    ]
    return Inventory(
        subject_ref=inventory.subject_ref,
        components=(*components, *python.components),
        relations=(*relations, *python.relations),
        issues=tuple(dict.fromkeys((*issues, *located))),
        findings=inventory.findings,
    )


def _fetch_metadata(
    client: HubClient, info: HubRepoInfo, folder: Path, issues: list[ScanIssue]
) -> tuple[frozenset[str], dict[str, str]]:
    """Write each fetchable metadata file into ``folder``; stand-ins from the API otherwise.

    Returns the paths of the files asked for (the reasons of those refused are issues), and
    the chat-template files not read, each with the reason: what loading the model would
    render from them is unknown.
    """
    fetched: set[str] = set()
    templates, left_out = _template_files(info)
    over = f"over the limit of {MAX_TEMPLATE_FILES} chat-template files read per repo"
    unread = dict.fromkeys(left_out, over)
    names = [*dict.fromkeys([*METADATA_FILES, *templates]), *_dependency_files(info)]
    for name in names:
        listed = info.file(name)
        if listed is None:
            continue
        cap = MAX_TEMPLATE_FILE_BYTES if name in templates else MAX_METADATA_FILE_BYTES
        data = client.small_file(info, name, max_bytes=cap)
        if isinstance(data, HubProblem):
            severity = Severity.LOW if data.kind == "offline-miss" else Severity.MEDIUM
            issues.append(ScanIssue(location=info.url, problem=data.message, severity=severity))
            if name in templates:
                unread[name] = f"a chat template that could not be read ({data.kind})"
            elif data.kind == "gated":
                fetched.add(name)  # a range read would be refused alike: reported once, here
            continue
        fetched.add(name)
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    if not (folder / "README.md").exists() and info.card_data:
        card = yaml.safe_dump(thaw_json(info.card_data), sort_keys=False, allow_unicode=True)
        (folder / "README.md").write_text(f"---\n{card}---\n", encoding="utf-8")
    if not (folder / "config.json").exists() and info.config:
        config = thaw_json(info.config)
        if isinstance(config, dict):
            config.pop("peft", None)
            (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    vocabulary = _fetch_vocabulary_file(client, info, folder, issues)
    return frozenset(fetched | vocabulary), unread


def _fetch_vocabulary_file(
    client: HubClient, info: HubRepoInfo, folder: Path, issues: list[ScanIssue]
) -> set[str]:
    """Write the files a tokenizer's vocabulary may be read from into ``folder``: those its
    tokenizer config names and every top-level one (``VOCABULARY_FILES``, ``*.tiktoken``), so
    that a decoy cannot stand in for the file a loader reads; smallest first, within
    ``MAX_VOCABULARY_FETCH_BYTES`` (the rest are MEDIUM issues). Each is fetched by one range
    read (it may be in LFS) that the Hub cache keeps by commit; returns the paths fetched."""
    named = _named_vocabulary_files(folder)
    listed = sorted(
        (
            item
            for item in info.files
            if (
                item.path in VOCABULARY_FILES
                or item.path in named
                or ("/" not in item.path and item.path.endswith(".tiktoken"))
            )
            and item.size is not None
            and 0 < item.size <= MAX_TOKENIZER_FILE_BYTES
        ),
        key=lambda item: (item.path not in named, item.size or 0, item.path),
    )
    fetched: set[str] = set()
    budget = MAX_VOCABULARY_FETCH_BYTES
    for item in listed:
        size = item.size or 0
        if size > budget or len(fetched) >= MAX_VOCABULARY_FILES:
            issues.append(
                ScanIssue(
                    location=f"{info.url}/{item.path}",
                    problem="tokenizer vocabulary not read: over the limit of "
                    f"{MAX_VOCABULARY_FETCH_BYTES} bytes or {MAX_VOCABULARY_FILES} files of "
                    "vocabulary fetched per repo",
                    severity=Severity.MEDIUM,
                )
            )
            continue
        data = client.header_bytes(info, item.path, length=size)
        if isinstance(data, HubProblem):
            severity = Severity.LOW if data.kind == "offline-miss" else Severity.MEDIUM
            issues.append(ScanIssue(location=info.url, problem=data.message, severity=severity))
            continue
        target = folder / item.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        fetched.add(item.path)
        budget -= size
    return fetched


def _named_vocabulary_files(folder: Path) -> frozenset[str]:
    """The files the fetched ``tokenizer_config.json`` names for the tokenizer to load."""
    try:
        config = read_tokenizer_config(folder / "tokenizer_config.json")
    except (MalformedFileError, OSError):  # absent, or reported when the folder is read
        return frozenset()
    return frozenset(config.vocabulary_files)


def _gguf_vocabulary(
    client: HubClient, info: HubRepoInfo, issues: list[ScanIssue]
) -> tuple[tuple[PurePosixPath, Vocabulary], ...]:
    """The vocabulary of the repo's first GGUF file (by path), its key-value section read by
    range (the load analysis reads it whole anyway, from the prefix this leaves in the cache)."""
    first = min(
        (item for item in info.files[:MAX_FILE_COMPONENTS] if item.path.endswith(".gguf")),
        key=lambda item: item.path,
        default=None,
    )
    if first is None or not first.size:
        return ()
    metadata = _ranged_header(
        client,
        info,
        first,
        issues,
        partial(read_gguf_stream, keep=GGUF_VOCABULARY_KEYS),
        max_bytes=min(first.size, MAX_TOKENIZER_FILE_BYTES),
    )
    vocabulary = gguf_vocabulary(metadata) if metadata is not None else None
    return ((PurePosixPath(first.path), vocabulary),) if vocabulary is not None else ()


def _template_files(info: HubRepoInfo) -> tuple[list[str], list[str]]:
    """(the files holding chat templates that loading the model renders — ``*.jinja`` and the
    JSON files with a ``chat_template`` key, at any depth — and those over
    ``MAX_TEMPLATE_FILES``), shallowest first."""
    found = [
        item.path
        for item in info.files[:MAX_FILE_COMPONENTS]
        if _safe_relative(item.path)
        and (
            PurePosixPath(item.path).name in TEMPLATE_JSON_FILES
            or item.path.lower().endswith(TEMPLATE_SUFFIX)
        )
    ]
    found.sort(key=lambda path: (path.count("/"), path))
    return found[:MAX_TEMPLATE_FILES], found[MAX_TEMPLATE_FILES:]


def _dependency_files(info: HubRepoInfo) -> list[str]:
    """Python manifests and lockfiles the repo ships (requirements*.txt, pyproject.toml, …),
    at most ``MAX_DEPENDENCY_FILES``, shallowest first."""
    found = [
        item.path
        for item in info.files
        if _safe_relative(item.path)
        and item.path.count("/") <= 1
        and item.sha256 is None  # kept in git, not LFS: a text file
        and dependency_reader(PurePosixPath(item.path)) is not None
    ]
    found.sort(key=lambda path: (path.count("/"), path))
    return found[:MAX_DEPENDENCY_FILES]


def _safe_relative(path: str) -> bool:
    """Whether a Hub path can name a file inside the private folder (it is untrusted)."""
    parts = PurePosixPath(path).parts
    return (
        bool(parts)
        and not path.startswith("/")
        and all(part not in {"", ".", ".."} and "\\" not in part for part in parts)
    )


def _gguf_headers(
    client: HubClient, info: HubRepoInfo, issues: list[ScanIssue]
) -> list[tuple[PurePosixPath, GgufMetadata]]:
    """The key-value metadata of the first GGUF files, read by range up to their first
    ``GGUF_HEADER_BYTES`` (the pairs past it are left out: ``complete`` False)."""
    listed = sorted(
        (item for item in info.files[:MAX_FILE_COMPONENTS] if item.path.endswith(".gguf")),
        key=lambda item: item.path,
    )
    found = []
    for item in listed[:MAX_GGUF_HEADERS]:
        if not item.size:  # empty or of unknown size: nothing a header read can tell
            continue
        length = min(GGUF_HEADER_BYTES, item.size)
        meta = _ranged_header(client, info, item, issues, _gguf_within_fetch_cap, max_bytes=length)
        if meta is not None:
            found.append((PurePosixPath(item.path), meta))
    return found


def _safetensors_headers(
    client: HubClient, info: HubRepoInfo, issues: list[ScanIssue]
) -> list[tuple[PurePosixPath, SafetensorsHeader]]:
    """The headers of every safetensors file, when there are few and no shard index; a header
    over ``MAX_SAFETENSORS_HEADER_FETCH`` bytes is left out quietly."""
    listed = sorted(
        (item for item in info.files[:MAX_FILE_COMPONENTS] if item.path.endswith(".safetensors")),
        key=lambda item: item.path,
    )
    indexed = any(item.path.endswith(".safetensors.index.json") for item in info.files)
    if not listed or len(listed) > MAX_SAFETENSORS_HEADERS or (indexed and len(listed) > 1):
        return []
    found = []
    for item in listed:
        if item.size is None or item.size < _SAFETENSORS_LENGTH_BYTES:
            continue
        header = _ranged_header(
            client,
            info,
            item,
            issues,
            _safetensors_within_fetch_cap,
            max_bytes=_SAFETENSORS_LENGTH_BYTES + MAX_SAFETENSORS_HEADER_FETCH,
            first_read=SAFETENSORS_FIRST_READ_BYTES,
        )
        if header is not None:
            found.append((PurePosixPath(item.path), header))
    return found


def _gguf_within_fetch_cap(stream: BinaryIO, size: int) -> GgufMetadata:
    """The pairs within the first ``GGUF_HEADER_BYTES`` (``complete`` False if more follow)."""
    return read_gguf_stream(stream, min(size, GGUF_HEADER_BYTES), partial_ok=True)


def _safetensors_within_fetch_cap(stream: BinaryIO, size: int) -> SafetensorsHeader | None:
    """The header, unless it is over ``MAX_SAFETENSORS_HEADER_FETCH`` bytes (then None)."""
    header_size = int.from_bytes(stream.read(_SAFETENSORS_LENGTH_BYTES), "little")
    if header_size > MAX_SAFETENSORS_HEADER_FETCH:
        return None
    return read_safetensors_stream(stream, size)


def _ranged_header(
    client: HubClient,
    info: HubRepoInfo,
    item: HubFile,
    issues: list[ScanIssue],
    read: Callable[[BinaryIO, int], _Header | None],
    *,
    max_bytes: int,
    first_read: int | None = None,
) -> _Header | None:
    """Run a header reader over ``item`` read by range (at most ``max_bytes`` fetched): the
    same reader as for a local file. A failed read or malformed content is an issue naming the
    repo and file. ``first_read``: the size of the first request (and of the blocks after
    it), for a header that is usually small; by default the ranged file's blocks and
    read-ahead."""
    location = f"{info.url}/blob/{info.commit}/{item.path}"
    budget = RangeBudget(max_bytes, scope="file")
    small = {"block_size": first_read, "readahead_bytes": 0} if first_read else {}
    try:
        with RangedHubFile(client, info, item.path, budget=budget, **small) as remote:
            return read(io.BufferedReader(remote), remote.size)
    except RangedFileError as exc:
        severity = Severity.LOW if isinstance(exc, RangeOfflineError) else Severity.MEDIUM
        problem = exc.problem.message if exc.problem is not None else str(exc)
        issues.append(ScanIssue(location=location, problem=problem, severity=severity))
    except (MalformedFileError, OSError) as exc:
        problem = exc.problem if isinstance(exc, MalformedFileError) else f"cannot read: {exc}"
        issues.append(ScanIssue(location=location, problem=problem, severity=Severity.HIGH))
    return None


def _python_files(info: HubRepoInfo) -> tuple[PurePosixPath, ...]:
    return tuple(
        PurePosixPath(item.path)
        for item in info.files[:MAX_FILE_COMPONENTS]
        if item.path.endswith(".py")
    )


def _hub_hashed(component: Component) -> Component:
    """A file whose SHA-256 came from the Hub listing says so (it was not read by us)."""
    if component.kind is not ComponentKind.FILE or not component.hashes:
        return component
    properties = tuple(
        (PropertyName.FILE_HASH_SOURCE, "hub")
        if name == PropertyName.FILE_HASH_SOURCE
        else (name, value)
        for name, value in component.properties
    )
    return replace(component, properties=properties)


def _tag_lineage(
    info: HubRepoInfo,
    inventory: Inventory,
    components: tuple[Component, ...],
    hub: str,
) -> tuple[tuple[Component, ...], tuple[Relation, ...]]:
    """Ancestors the Hub's ``base_model:*`` tags name that the files did not declare."""
    subject = inventory.subject_ref
    known = {rel.dst for rel in inventory.relations if rel.src == subject}
    extra_components: list[Component] = []
    extra_relations: list[Relation] = []
    for tag in info.tags:
        match = _BASE_MODEL_TAG.match(tag)
        hub_id = parse_hub_id(match["id"]) if match else None
        if match is None or hub_id is None:
            continue
        purl = f"pkg:huggingface/{hub_id.namespace}/{hub_id.name}"
        if purl in known or purl == subject:
            continue
        known.add(purl)
        evidence = Evidence(location=info.url, field="tags", value=tag, method="hub-api")
        extra_components.append(
            Component(
                ref=purl,
                kind=ComponentKind.MODEL,
                name=hub_id.name,
                group=hub_id.namespace,
                purl=purl,
                layer=Layer.WEIGHTS,
                evidence=(evidence,),
                external_urls=(("website", f"{hub.rstrip('/')}/{hub_id.repo_id}"),),
            )
        )
        kind = _TAG_RELATIONS.get(match["kind"] or "", RelationKind.FINETUNE)
        extra_relations.append(Relation(src=subject, dst=purl, kind=kind, evidence=(evidence,)))
    return (*components, *extra_components), (*inventory.relations, *extra_relations)


def scan_hub_dataset(info: HubRepoInfo, hub: str, repo_id: str | None = None) -> Inventory:
    """The inventory of a dataset repo asked for directly, from the Hub's dataset info alone.

    The subject is a ``dataset:ORG/NAME`` component (the ref a model's card gives it, so both
    meet in one component) at ``info.commit``, with the card's licence and the listed files.
    """
    dataset_id = repo_id or info.repo_id
    namespace, _, name = dataset_id.rpartition("/")
    commit_evidence = Evidence(location=info.url, field="sha", value=info.commit, method="hub-api")
    properties = [(PropertyName.DATASET_COMMIT, info.commit)]
    evidence = [commit_evidence]
    if info.author:
        properties.append((PropertyName.DATASET_AUTHOR, info.author))
        evidence.append(
            Evidence(location=info.url, field="author", value=info.author, method="hub-api")
        )
    license_value = info.card_data.get("license")
    licenses = (license_value,) if isinstance(license_value, str) and license_value else ()
    if licenses:
        evidence.append(
            Evidence(
                location=info.url, field="cardData.license", value=licenses[0], method="hub-api"
            )
        )
    subject = Component(
        ref=f"dataset:{dataset_id}",
        kind=ComponentKind.DATASET,
        name=name,
        group=namespace or info.author,
        version=info.commit,
        licenses=licenses,
        layer=Layer.DATASETS,
        evidence=tuple(evidence),
        properties=tuple(properties),
        external_urls=(("distribution", f"{hub.rstrip('/')}/datasets/{dataset_id}"),),
    )
    issues: list[ScanIssue] = []
    if info.note:
        issues.append(ScanIssue(location=info.url, problem=info.note, severity=Severity.LOW))
    if len(info.files) > MAX_FILE_COMPONENTS:
        issues.append(
            ScanIssue(
                location=info.url,
                problem=f"{len(info.files)} files listed; only the first "
                f"{MAX_FILE_COMPONENTS} are inventoried",
                severity=Severity.MEDIUM,
            )
        )
    files = [_dataset_file(dataset_id, info, item) for item in info.files[:MAX_FILE_COMPONENTS]]
    relations = [Relation(src=subject.ref, dst=f.ref, kind=RelationKind.CONTAINS) for f in files]
    return Inventory(
        subject_ref=subject.ref,
        components=(subject, *files),
        relations=tuple(relations),
        issues=tuple(issues),
    )


def _dataset_file(dataset_id: str, info: HubRepoInfo, item: HubFile) -> Component:
    """A dataset repo's file with the size and SHA-256 the Hub lists (never downloaded)."""
    evidence: tuple[Evidence, ...] = ()
    properties: tuple[tuple[str, str], ...] = ()
    if item.sha256 is not None:
        location = f"{info.url}/blob/{info.commit}/{item.path}"
        evidence = (
            Evidence(location=location, field="lfs.sha256", value=item.sha256, method="hub-api"),
        )
        properties = ((PropertyName.FILE_HASH_SOURCE, "hub"),)
    return Component(
        ref=f"file:datasets/{dataset_id}/{item.path}",
        kind=ComponentKind.FILE,
        name=item.path,
        path=item.path,
        size=item.size,
        hashes=(Hash(alg="SHA-256", value=item.sha256),) if item.sha256 else (),
        layer=Layer.FILES,
        evidence=evidence,
        properties=properties,
    )
