"""Read what a model folder's metadata files say, header-only, one reader per file kind."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from scanner.core.capped_io import open_regular_file, read_prefix
from scanner.core.errors import MalformedFileError
from scanner.core.lazy import later
from scanner.core.model import Evidence, ScanIssue, Severity
from scanner.formats.model.chat_template_text import TemplatePrint, read_template_prints
from scanner.formats.model.download_metadata import (
    DownloadMetadata,
    download_metadata_target,
    read_download_metadata,
)
from scanner.formats.model.hf_config import (
    AdapterConfig,
    GenerationConfig,
    ModelConfig,
    QuantizationConfig,
    TokenizerConfig,
    read_adapter_config,
    read_generation_config,
    read_model_config,
    read_quantize_config,
    read_tokenizer_config,
)
from scanner.formats.model.lfs_pointer import LfsPointer, read_lfs_pointer
from scanner.formats.model.model_card import ModelCardMetadata, read_model_card
from scanner.formats.model.model_formats import (
    MAGIC_BYTES,
    HeaderReader,
    format_by_magic,
    format_of,
)
from scanner.formats.model.vocabulary import Vocabulary, read_vocabulary
from scanner.sources.walk import FileEntry, WalkResult

if TYPE_CHECKING:
    from scanner.formats.model.diffusers_index import ModelIndex
    from scanner.formats.model.gguf import GgufMetadata
    from scanner.formats.model.onnx import OnnxMetadata
    from scanner.formats.model.safetensors import SafetensorsHeader
    from scanner.formats.model.sentence_transformers_config import (
        SentenceTransformersConfig,
        SentenceTransformersModules,
    )
    from scanner.formats.model.shard_index import SafetensorsIndex

#: Readers of files most folders lack, imported when a folder has one.
_read_model_index = later("scanner.formats.model.diffusers_index", "read_model_index")
_read_st_modules = later(
    "scanner.formats.model.sentence_transformers_config", "read_sentence_transformers_modules"
)
_read_st_config = later(
    "scanner.formats.model.sentence_transformers_config", "read_sentence_transformers_config"
)
_read_shard_index = later("scanner.formats.model.shard_index", "read_safetensors_index")

#: Files at least this big whose name gives no header reader are checked for a format's magic
#: bytes (a GGUF file holding a model or a vocabulary is far bigger).
MAGIC_SNIFF_MIN_SIZE = 64 * 1024
#: Files no bigger than this are checked for being Git LFS pointers.
LFS_POINTER_MAX_SIZE = 1024
#: Files a tokenizer's vocabulary is read from, in the order they are preferred (then
#: ``*.tiktoken``, then GGUF files).
VOCABULARY_FILES = (
    "tokenizer.json",
    "vocab.json",
    "vocab.txt",
    "tokenizer.model",
    "spiece.model",
    "sentencepiece.bpe.model",
)
#: transformers' folder of named chat templates, and its JSON file of templates.
_MORE_TEMPLATES = "additional_chat_templates"
_TEMPLATE_JSON = PurePosixPath("chat_template.json")
#: Most tokenizer files read per model (each within the reader's size cap); those past it are
#: issues.
MAX_VOCABULARY_FILES = 12


@dataclass(frozen=True, slots=True, kw_only=True)
class FolderFacts:
    """Everything the metadata files of one folder declare, keyed by relative path."""

    card: ModelCardMetadata | None = None
    configs: tuple[tuple[PurePosixPath, ModelConfig], ...] = ()
    adapter: AdapterConfig | None = None
    tokenizer: TokenizerConfig | None = None
    quantize: QuantizationConfig | None = None
    """AutoGPTQ's ``quantize_config.json``."""
    generation: GenerationConfig | None = None
    model_index: ModelIndex | None = None
    st_modules: SentenceTransformersModules | None = None
    st_config: SentenceTransformersConfig | None = None
    safetensors_indexes: tuple[tuple[PurePosixPath, SafetensorsIndex], ...] = ()
    safetensors: tuple[tuple[PurePosixPath, SafetensorsHeader], ...] = ()
    gguf: tuple[tuple[PurePosixPath, GgufMetadata], ...] = ()
    onnx: tuple[tuple[PurePosixPath, OnnxMetadata], ...] = ()
    lfs_pointers: tuple[tuple[PurePosixPath, LfsPointer], ...] = ()
    downloads: tuple[tuple[PurePosixPath, DownloadMetadata], ...] = ()
    """huggingface_hub download metadata, keyed by the downloaded file's path."""
    python_files: tuple[PurePosixPath, ...] = ()
    chat_templates: tuple[tuple[PurePosixPath, tuple[tuple[str, TemplatePrint], ...]], ...] = ()
    """``(name, print)`` of the templates of ``chat_template.json`` and the ``*.jinja``
    files transformers loads (top level, ``additional_chat_templates/``), by file."""
    vocabularies: tuple[tuple[PurePosixPath, Vocabulary], ...] = ()
    """The vocabulary of every tokenizer file, in the order a loader prefers them (those
    ``tokenizer_config.json`` names, then ``VOCABULARY_FILES``, shallowest first; GGUF files
    last): a decoy read first must not hide the file a loader really reads."""
    issues: tuple[ScanIssue, ...] = ()

    def card_evidence(self, field: str, value: str) -> Evidence:
        """Evidence for a model-card field, with the README.md line it stands on."""
        lines = dict(self.card.field_lines) if self.card is not None else {}
        return Evidence(
            location="README.md",
            field=field,
            value=value,
            method="model-card",
            line=lines.get(field),
        )

    @property
    def vocabulary(self) -> tuple[PurePosixPath, Vocabulary] | None:
        """The first vocabulary of ``vocabularies``: the tokenizer's, as a loader would read it."""
        return self.vocabularies[0] if self.vocabularies else None

    def config(self) -> ModelConfig | None:
        """The top-level ``config.json``, if any."""
        for path, cfg in self.configs:
            if path == PurePosixPath("config.json"):
                return cfg
        return None


@dataclass
class _Collector:
    """Mutable gathering state, frozen into FolderFacts at the end."""

    values: dict[str, Any] = field(default_factory=dict)
    lists: dict[str, list[tuple[PurePosixPath, Any]]] = field(default_factory=dict)
    python_files: list[PurePosixPath] = field(default_factory=list)
    issues: list[ScanIssue] = field(default_factory=list)

    def add(self, key: str, rel: PurePosixPath, value: Any) -> None:
        self.lists.setdefault(key, []).append((rel, value))

    def problems(self, rel: PurePosixPath, problems: tuple[str, ...]) -> None:
        for problem in problems:
            self.issues.append(ScanIssue(location=rel.as_posix(), problem=problem))


#: Readers of single files at the folder's top level: file name → (FolderFacts field, reader).
_TOP_LEVEL_READERS: dict[str, tuple[str, Callable[..., Any]]] = {
    "README.md": ("card", read_model_card),
    "adapter_config.json": ("adapter", read_adapter_config),
    "tokenizer_config.json": ("tokenizer", read_tokenizer_config),
    "generation_config.json": ("generation", read_generation_config),
    "quantize_config.json": ("quantize", read_quantize_config),
    "model_index.json": ("model_index", _read_model_index),
    "modules.json": ("st_modules", _read_st_modules),
    "config_sentence_transformers.json": ("st_config", _read_st_config),
}


def read_folder_facts(walk: WalkResult) -> FolderFacts:
    """Run the matching reader over each file; a file that cannot be read becomes an issue."""
    state = _Collector()
    for entry in walk.files:
        _read_entry(entry, state)
    for entry in walk.hf_metadata:
        _read_download_metadata(entry, state)
    facts: dict[str, Any] = dict(state.values)
    for key, items in state.lists.items():
        facts[key] = tuple(sorted(items, key=lambda item: item[0].as_posix()))
    facts["python_files"] = tuple(state.python_files)
    facts["vocabularies"] = _vocabularies(walk.files, state)
    facts["issues"] = tuple(state.issues)
    return FolderFacts(**facts)


def _vocabularies(
    files: Sequence[FileEntry], state: _Collector
) -> tuple[tuple[PurePosixPath, Vocabulary], ...]:
    """The vocabulary of each tokenizer file, up to ``MAX_VOCABULARY_FILES``. One that does
    not read, and files past the limit, are MEDIUM issues: a vocabulary that is not read cannot
    be told apart from a published one, so no tier passes on it."""
    # A GGUF file is tried only when its header read declares tokens (a broken one is an
    # issue already).
    gguf_with_tokens = {
        rel for rel, meta in state.lists.get("gguf", ()) if meta.vocab_size is not None
    }
    pointers = {rel for rel, _ in state.lists.get("lfs_pointers", ())}  # no content to read
    config: TokenizerConfig | None = state.values.get("tokenizer")
    named = frozenset(map(PurePosixPath, config.vocabulary_files if config else ()))
    ranked = sorted(
        (
            (0 if rank < 0 else len(entry.relpath.parts), rank, entry.relpath.as_posix(), entry)
            for entry in files
            if (rank := _vocabulary_rank(entry.relpath, named, gguf_with_tokens)) is not None
            and entry.relpath not in pointers
        ),
        key=lambda item: item[:3],
    )
    found: list[tuple[PurePosixPath, Vocabulary]] = []
    for _, rank, _, entry in ranked[:MAX_VOCABULARY_FILES]:
        try:
            # Named by the tokenizer config, or a GGUF file of another name: read by content.
            by_content = rank < 0 or (
                rank == _GGUF_RANK and entry.relpath.suffix.lower() != ".gguf"
            )
            vocabulary = read_vocabulary(entry.path, by_content=by_content, name=entry.relpath.name)
        except (MalformedFileError, OSError) as error:
            problem = error.problem if isinstance(error, MalformedFileError) else str(error)
            state.issues.append(
                ScanIssue(
                    location=entry.relpath.as_posix(),
                    problem=f"tokenizer vocabulary not read: {problem}",
                    severity=Severity.MEDIUM,
                )
            )
            continue
        if vocabulary is not None:
            found.append((entry.relpath, vocabulary))
    for _, _, location, _ in ranked[MAX_VOCABULARY_FILES:]:
        state.issues.append(
            ScanIssue(
                location=location,
                problem=f"tokenizer vocabulary not read: over the limit of "
                f"{MAX_VOCABULARY_FILES} tokenizer files read per model",
                severity=Severity.MEDIUM,
            )
        )
    return tuple(found)


def _vocabulary_rank(
    relpath: PurePosixPath, named: frozenset[PurePosixPath], gguf: set[PurePosixPath]
) -> int | None:
    """Where a file stands among the vocabulary files: first those the tokenizer config names
    (-1), then ``VOCABULARY_FILES`` in order, ``*.tiktoken``, GGUF files whose header declares
    tokens (``gguf``, whatever their name); None for others."""
    if relpath in named:
        return -1
    lowered = relpath.name.lower()
    if lowered in VOCABULARY_FILES:
        return VOCABULARY_FILES.index(lowered)
    if lowered.endswith(".tiktoken"):
        return len(VOCABULARY_FILES)
    return _GGUF_RANK if relpath in gguf else None


_GGUF_RANK = len(VOCABULARY_FILES) + 1


def _read_entry(entry: FileEntry, state: _Collector) -> None:
    rel = entry.relpath
    name = rel.name
    if entry.size <= LFS_POINTER_MAX_SIZE:
        pointer = _guarded(entry, read_lfs_pointer, state)
        if pointer is not None:
            state.add("lfs_pointers", rel, pointer)
            return
    if rel.suffix == ".py":
        state.python_files.append(rel)
    top_level = len(rel.parts) == 1
    if top_level and name in _TOP_LEVEL_READERS:
        key, reader = _TOP_LEVEL_READERS[name]
        _store_single(key, entry, reader, state)
    elif name == "config.json":
        _store_listed("configs", entry, read_model_config, state)
    elif _is_template_file(rel):
        _store_listed("chat_templates", entry, read_template_prints, state)
    elif name.endswith((".safetensors.index.json", ".bin.index.json")):
        _store_listed("safetensors_indexes", entry, _read_shard_index, state)
    elif (fmt := format_of(rel)).read_header is not None and fmt.header_field is not None:
        _store_listed(fmt.header_field, entry, partial(_read_header, fmt.read_header), state)
    elif entry.size >= MAGIC_SNIFF_MIN_SIZE and (found := _reader_by_magic(entry, state)):
        _store_listed(found[0], entry, partial(_read_header, found[1]), state)


def _reader_by_magic(entry: FileEntry, state: _Collector) -> tuple[str, HeaderReader] | None:
    """The ``FolderFacts`` field and header reader of a file whose name gives none, from its
    first bytes (a GGUF file saved as ``model.bin`` loads all the same)."""
    prefix = _guarded(entry, partial(read_prefix, max_bytes=MAGIC_BYTES), state)
    found = format_by_magic(prefix) if isinstance(prefix, bytes) else None
    if found is None or found.header_field is None or found.read_header is None:
        return None
    return found.header_field, found.read_header


def _is_template_file(rel: PurePosixPath) -> bool:
    """Whether transformers loads ``rel`` as a chat template (besides tokenizer_config.json)."""
    if rel.suffix.lower() == ".jinja":
        return len(rel.parts) == 1 or (len(rel.parts) == 2 and rel.parts[0] == _MORE_TEMPLATES)
    return rel == _TEMPLATE_JSON


def _store_single(
    key: str, entry: FileEntry, reader: Callable[..., Any], state: _Collector
) -> None:
    value = _guarded(entry, reader, state)
    if value is not None:
        state.values[key] = value
        state.problems(entry.relpath, getattr(value, "problems", ()))


def _store_listed(
    key: str, entry: FileEntry, reader: Callable[..., Any], state: _Collector
) -> None:
    value = _guarded(entry, reader, state)
    if value is not None:
        state.add(key, entry.relpath, value)
        state.problems(entry.relpath, getattr(value, "problems", ()))


def _read_download_metadata(entry: FileEntry, state: _Collector) -> None:
    if entry.relpath.suffix != ".metadata":
        return
    value = _guarded(entry, read_download_metadata, state)
    if value is not None:
        state.add("downloads", download_metadata_target(entry.relpath), value)


def _guarded(entry: FileEntry, reader: Callable[..., Any], state: _Collector) -> Any:
    """Call a reader; malformed content and I/O errors become issues naming the file."""
    try:
        return reader(entry.path)
    except MalformedFileError as exc:
        state.issues.append(
            ScanIssue(
                location=entry.relpath.as_posix(), problem=exc.problem, severity=Severity.HIGH
            )
        )
    except OSError as exc:
        state.issues.append(
            ScanIssue(
                location=entry.relpath.as_posix(),
                problem=f"cannot read: {exc.strerror or exc}",
                severity=Severity.HIGH,
            )
        )
    return None


def _read_header(read: HeaderReader, path: Path) -> object:
    """Run a catalog header reader over the regular file at ``path``."""
    with open_regular_file(path) as stream:
        return read(stream, os.fstat(stream.fileno()).st_size)
