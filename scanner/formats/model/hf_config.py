"""Read the Hugging Face JSON metadata files of a model folder: configs, adapters, indexes.

Every reader takes a path and returns a frozen dataclass whose fields are all optional. A file
that is not JSON, breaks a cap or has the wrong top-level type raises ``MalformedFileError``;
a field of the wrong type is converted or dropped and described in the result's ``problems``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from scanner.core.errors import MalformedFileError
from scanner.core.ids import parse_code_reference
from scanner.formats.model.architecture_shape import ArchitectureShape, shape_from_config
from scanner.formats.model.chat_template_text import TemplatePrint, named_prints
from scanner.formats.model.json_fields import (
    MAX_LIST_ITEMS,
    MAX_MAP_ENTRIES,
    MAX_VALUE_CHARS,
    Fields,
    a_kind,
    read_object,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from pathlib import Path

#: Most ``added_tokens_decoder`` entries kept (Llama 3 declares 256).
MAX_ADDED_TOKENS = 4096
#: How deep nested sub-configs (``text_config.vision_config``...) are followed.
MAX_SUB_CONFIG_DEPTH = 4
#: ``tokenizer_config.json`` keys naming the file a tokenizer loads its vocabulary from.
VOCABULARY_FILE_KEYS = ("tokenizer_file", "vocab_file")

_SUB_CONFIG_MARKERS = ("model_type", "_name_or_path", "architectures")
_COMMIT = re.compile(r"[0-9a-f]{40}")


# ---------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True, slots=True, kw_only=True)
class QuantizationConfig:
    """``quantization_config`` of a transformers config."""

    quant_method: str | None = None
    """``gptq``, ``awq``, ``bitsandbytes``, ``fp8``, ..."""
    bits: int | None = None
    """Weight bits: ``bits``, or 4/8 from bitsandbytes' ``load_in_4bit``/``load_in_8bit``."""
    raw: tuple[tuple[str, str], ...] = ()
    """Every key with its value as JSON text (strings unquoted), in file order."""
    problems: tuple[str, ...] = ()

    @property
    def source_model(self) -> str | None:
        """``model_name_or_path``: what the quantizer (AutoGPTQ, GPTQModel) read; a hint."""
        value = dict(self.raw).get("model_name_or_path")
        return value if value and value != "null" else None


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelConfig:
    """``config.json`` of a transformers model (or a diffusers component)."""

    name_or_path: str | None = None
    """``_name_or_path``: a Hub id, a local path, or anything; a hint, never proof."""
    architectures: tuple[str, ...] = ()
    model_type: str | None = None
    auto_map: tuple[tuple[str, str], ...] = ()
    """(auto class, code reference) pairs, flattened; see ``parse_code_reference``. Invalid
    references are kept (they still mean remote code) and also listed in ``problems``."""
    quantization: QuantizationConfig | None = None
    torch_dtype: str | None = None
    """``torch_dtype``, or ``dtype`` in newer transformers."""
    transformers_version: str | None = None
    custom_pipelines: tuple[tuple[str, str], ...] = ()
    """(task, ``impl`` code reference) pairs."""
    class_name: str | None = None
    """``_class_name`` of a diffusers component config."""
    diffusers_version: str | None = None
    commit_hash: str | None = None
    """``_commit_hash``: the Hub commit the config was loaded from, when saved with it."""
    sub_configs: tuple[tuple[str, ModelConfig], ...] = ()
    """Nested configs (``text_config``, ``vision_config``...); their problems are reported on
    the top-level config, prefixed with their key."""
    shape: ArchitectureShape | None = None
    """The widths, depth, heads and vocabulary size it declares."""
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class PeftAutoMapping:
    """``auto_mapping`` of a PEFT adapter: the class the adapter was trained on."""

    base_model_class: str | None = None
    parent_library: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AdapterConfig:
    """``adapter_config.json`` of a PEFT adapter."""

    base_model_name_or_path: str | None = None
    revision: str | None = None
    """Revision of the base model, when pinned."""
    peft_type: str | None = None
    task_type: str | None = None
    peft_version: str | None = None
    auto_mapping: PeftAutoMapping | None = None
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenizerConfig:
    """``tokenizer_config.json``."""

    name_or_path: str | None = None
    tokenizer_class: str | None = None
    auto_map: tuple[tuple[str, str], ...] = ()
    """(auto class, code reference) pairs; ``AutoTokenizer`` maps to [slow, fast]."""
    has_chat_template: bool = False
    chat_template_length: int = 0
    """Total characters of chat template text (templates are code run at inference)."""
    chat_template_names: tuple[str, ...] = ()
    """Names of the templates when ``chat_template`` is a list of named templates."""
    chat_template_prints: tuple[tuple[str, TemplatePrint], ...] = ()
    """``(name, print)`` of each template."""
    added_tokens: tuple[tuple[int, str], ...] = ()
    """``(id, text)`` of the tokens ``added_tokens_decoder`` declares, by id."""
    vocabulary_files: tuple[str, ...] = ()
    """Files inside the model folder it names for the tokenizer to load (``tokenizer_file``,
    ``vocab_file``; relative POSIX paths): transformers reads these instead of the usual names.
    Paths outside the folder (an absolute path left by the machine that saved it) are left
    out."""
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class GenerationConfig:
    """``generation_config.json``: only what identifies the producer."""

    transformers_version: str | None = None
    bos_token_id: int | None = None
    eos_token_ids: tuple[int, ...] = ()
    pad_token_id: int | None = None
    problems: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------
# config.json


def _code_reference_pairs(fields: Fields, key: str, value: object) -> tuple[tuple[str, str], ...]:
    """Flatten an ``auto_map``: ``{cls: ref}`` or ``{cls: [slow, fast]}`` with nulls."""
    if value is None:
        return ()
    if not isinstance(value, dict):
        fields.note(key, f"{a_kind(value)} where an object was expected; ignored")
        return ()
    if len(value) > MAX_MAP_ENTRIES:
        fields.note(key, f"{len(value)} entries; only the first {MAX_MAP_ENTRIES} are kept")
    pairs: list[tuple[str, str]] = []
    for auto_class, references in list(value.items())[:MAX_MAP_ENTRIES]:
        entry_key = f"{key}.{auto_class}"
        items = references if isinstance(references, list) else [references]
        for item in items[:MAX_MAP_ENTRIES]:
            if item is None:
                continue
            reference = fields.as_text(entry_key, item)
            if reference is None:
                continue
            _check_code_reference(fields, entry_key, reference)
            pairs.append((auto_class, reference))
    return tuple(pairs)


def _check_code_reference(fields: Fields, key: str, reference: str) -> None:
    # Kept even when invalid: a hostile reference is still a sign of remote code.
    try:
        parse_code_reference(reference)
    except MalformedFileError as error:
        fields.note(key, error.problem)


def read_model_config(path: Path) -> ModelConfig:
    """Read a transformers ``config.json`` (also a diffusers component ``config.json``).

    Raises:
        MalformedFileError: not a capped, strict JSON object.
        OSError: the file cannot be opened or read.
    """
    fields = read_object(path, "config.json")
    config = _model_config(fields, depth=0)
    return replace(config, problems=fields.problems.freeze())


def _model_config(fields: Fields, *, depth: int) -> ModelConfig:
    return ModelConfig(
        name_or_path=fields.text("_name_or_path"),
        architectures=fields.texts("architectures"),
        model_type=fields.text("model_type"),
        auto_map=_code_reference_pairs(fields, "auto_map", fields.document.get("auto_map")),
        quantization=_quantization(fields),
        torch_dtype=fields.text("torch_dtype", "dtype"),
        transformers_version=fields.text("transformers_version"),
        custom_pipelines=_custom_pipelines(fields),
        class_name=fields.text("_class_name"),
        diffusers_version=fields.text("_diffusers_version"),
        commit_hash=_commit_hash(fields),
        sub_configs=_sub_configs(fields, depth=depth),
        shape=shape_from_config(fields.document),
    )


def _commit_hash(fields: Fields) -> str | None:
    value = fields.text("_commit_hash")
    if value is None or _COMMIT.fullmatch(value):
        return value
    fields.note("_commit_hash", f"{value[:60]!r} is not a 40-hex commit; ignored")
    return None


def read_quantize_config(path: Path) -> QuantizationConfig:
    """Read AutoGPTQ's ``quantize_config.json`` (``config.json``'s ``quantization_config``
    saved on its own).

    Raises:
        MalformedFileError: not a capped, strict JSON object.
        OSError: the file cannot be opened or read.
    """
    fields = read_object(path, "quantize_config.json")
    found = _quantization_section(fields, fields.document)
    return replace(found, problems=fields.problems.freeze())


def _quantization(fields: Fields) -> QuantizationConfig | None:
    section = fields.mapping("quantization_config")
    if section is None:
        return None
    return _quantization_section(fields.sub("quantization_config", section), section)


def _quantization_section(sub: Fields, section: Mapping[str, object]) -> QuantizationConfig:
    raw: list[tuple[str, str]] = []
    for key, value in list(section.items())[:MAX_MAP_ENTRIES]:
        text = value if isinstance(value, str) else json.dumps(value)
        if len(text) > MAX_VALUE_CHARS:
            sub.note(key, f"a {len(text)}-character value exceeds {MAX_VALUE_CHARS}; ignored")
            continue
        raw.append((key, text))
    bits = sub.integer("bits")
    if bits is None and section.get("load_in_4bit") is True:
        bits = 4
    elif bits is None and section.get("load_in_8bit") is True:
        bits = 8
    return QuantizationConfig(quant_method=sub.text("quant_method"), bits=bits, raw=tuple(raw))


def _custom_pipelines(fields: Fields) -> tuple[tuple[str, str], ...]:
    section = fields.mapping("custom_pipelines")
    if section is None:
        return ()
    sub = fields.sub("custom_pipelines", section)
    pairs: list[tuple[str, str]] = []
    for task in list(section)[:MAX_MAP_ENTRIES]:
        task_spec = sub.mapping(task)
        if task_spec is None:
            continue
        task_fields = sub.sub(task, task_spec)
        reference = task_fields.text("impl")
        if reference is not None:
            _check_code_reference(task_fields, "impl", reference)
            pairs.append((task, reference))
    return tuple(pairs)


def _sub_configs(fields: Fields, *, depth: int) -> tuple[tuple[str, ModelConfig], ...]:
    found: list[tuple[str, ModelConfig]] = []
    for key, value in fields.document.items():
        if not isinstance(value, dict) or not any(mark in value for mark in _SUB_CONFIG_MARKERS):
            continue
        if depth >= MAX_SUB_CONFIG_DEPTH:
            fields.note(key, f"sub-configs nested over {MAX_SUB_CONFIG_DEPTH} deep are ignored")
            continue
        if len(found) >= MAX_MAP_ENTRIES:
            fields.note(key, f"more than {MAX_MAP_ENTRIES} sub-configs; the rest are ignored")
            break
        found.append((key, _model_config(fields.sub(key, value), depth=depth + 1)))
    return tuple(found)


# ---------------------------------------------------------------------------------------------
# adapter_config.json, tokenizer_config.json, generation_config.json


def read_adapter_config(path: Path) -> AdapterConfig:
    """Read a PEFT ``adapter_config.json``.

    Raises:
        MalformedFileError: not a capped, strict JSON object.
        OSError: the file cannot be opened or read.
    """
    fields = read_object(path, "adapter_config.json")
    return AdapterConfig(
        base_model_name_or_path=fields.text("base_model_name_or_path"),
        revision=fields.text("revision"),
        peft_type=fields.text("peft_type"),
        task_type=fields.text("task_type"),
        peft_version=fields.text("peft_version"),
        auto_mapping=_peft_auto_mapping(fields),
        problems=fields.problems.freeze(),
    )


def _peft_auto_mapping(fields: Fields) -> PeftAutoMapping | None:
    section = fields.mapping("auto_mapping")
    if section is None:
        return None
    sub = fields.sub("auto_mapping", section)
    return PeftAutoMapping(
        base_model_class=sub.text("base_model_class"),
        parent_library=sub.text("parent_library"),
    )


def read_tokenizer_config(path: Path) -> TokenizerConfig:
    """Read a ``tokenizer_config.json``.

    Raises:
        MalformedFileError: not a capped, strict JSON object.
        OSError: the file cannot be opened or read.
    """
    fields = read_object(path, "tokenizer_config.json")
    auto_map = fields.document.get("auto_map")
    if isinstance(auto_map, list):
        # transformers' legacy form: the [slow, fast] pair for AutoTokenizer alone.
        auto_map = {"AutoTokenizer": auto_map}
    length, names = _chat_templates(fields)
    return TokenizerConfig(
        name_or_path=fields.text("name_or_path", "_name_or_path"),
        tokenizer_class=fields.text("tokenizer_class"),
        auto_map=_code_reference_pairs(fields, "auto_map", auto_map),
        has_chat_template=length > 0,
        chat_template_length=length,
        chat_template_names=names,
        chat_template_prints=named_prints(fields.document.get("chat_template")),
        added_tokens=_added_tokens(fields),
        vocabulary_files=_files_inside(fields.text(key) for key in VOCABULARY_FILE_KEYS),
        problems=fields.problems.freeze(),
    )


def _added_tokens(fields: Fields) -> tuple[tuple[int, str], ...]:
    """``added_tokens_decoder``: ``{"151643": {"content": "<|endoftext|>", …}, …}``."""
    section = fields.mapping("added_tokens_decoder")
    if section is None:
        return ()
    found: list[tuple[int, str]] = []
    for key, entry in list(section.items())[:MAX_ADDED_TOKENS]:
        content = entry.get("content") if isinstance(entry, dict) else None
        if key.isdigit() and len(key) < 10 and isinstance(content, str):
            found.append((int(key), content[:MAX_VALUE_CHARS]))
    return tuple(sorted(found))


def _files_inside(names: Iterable[str | None]) -> tuple[str, ...]:
    """The relative paths among ``names`` that stay inside the folder, POSIX-spelt."""
    found: list[str] = []
    for name in names:
        path = PurePosixPath((name or "").strip().replace("\\", "/"))
        if path.parts and not path.is_absolute() and ".." not in path.parts:
            found.append(path.as_posix())
    return tuple(dict.fromkeys(found))


def _chat_templates(fields: Fields) -> tuple[int, tuple[str, ...]]:
    """Total template length and template names of ``chat_template``."""
    value = fields.document.get("chat_template")
    if value is None:
        return 0, ()
    if isinstance(value, str):
        return len(value), ()
    if not isinstance(value, list):
        fields.note("chat_template", f"{a_kind(value)} where text was expected; ignored")
        return 0, ()
    length = 0
    names: list[str] = []
    for entry in value[:MAX_LIST_ITEMS]:
        template = entry.get("template") if isinstance(entry, dict) else None
        if not isinstance(template, str):
            fields.note("chat_template", "an entry without a template string; ignored")
            continue
        length += len(template)
        name = fields.as_text("chat_template.name", entry.get("name"))
        if name is not None:
            names.append(name)
    return length, tuple(names)


def read_generation_config(path: Path) -> GenerationConfig:
    """Read a ``generation_config.json``.

    Raises:
        MalformedFileError: not a capped, strict JSON object.
        OSError: the file cannot be opened or read.
    """
    fields = read_object(path, "generation_config.json")
    return GenerationConfig(
        transformers_version=fields.text("transformers_version"),
        bos_token_id=fields.integer("bos_token_id"),
        eos_token_ids=fields.integers("eos_token_id"),
        pad_token_id=fields.integer("pad_token_id"),
        problems=fields.problems.freeze(),
    )
