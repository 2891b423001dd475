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
from typing import TYPE_CHECKING, TypeGuard

from scanner.core.capped_io import read_json_capped
from scanner.core.errors import MalformedFileError
from scanner.core.ids import parse_code_reference
from scanner.formats.model.architecture_shape import ArchitectureShape, shape_from_config
from scanner.formats.model.chat_template_text import TemplatePrint, named_prints
from scanner.formats.model.json_fields import (
    MAX_LIST_ITEMS,
    MAX_VALUE_CHARS,
    Fields,
    Problems,
    a_kind,
    kind_of,
    read_object,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from pathlib import Path

#: Most ``added_tokens_decoder`` entries kept (Llama 3 declares 256).
MAX_ADDED_TOKENS = 4096
#: Most ``auto_map`` / ``custom_pipelines`` / ``quantization_config`` entries kept.
MAX_MAP_ENTRIES = 256
#: How deep nested sub-configs (``text_config.vision_config``...) are followed.
MAX_SUB_CONFIG_DEPTH = 4
#: Most distinct shard files kept from a weight index (DeepSeek-R1 has 163).
MAX_SHARDS = 65_536
#: ``tokenizer_config.json`` keys naming the file a tokenizer loads its vocabulary from.
VOCABULARY_FILE_KEYS = ("tokenizer_file", "vocab_file")

#: Libraries a diffusers ``model_index.json`` component may name without being repo code:
#: diffusers' LOADABLE_CLASSES keys, then the ``diffusers.pipelines`` subpackages of 2026, then
#: older subpackage names since moved under ``deprecated``.
KNOWN_DIFFUSERS_LIBRARIES = frozenset(
    """
    diffusers transformers onnxruntime.training

    ace_step allegro animatediff anyflow audioldm2 aura_flow auto_pipeline bria bria_fibo chroma
    chronoedit cogvideo cogview3 cogview4 consisid consistency_models controlnet
    controlnet_hunyuandit controlnet_sd3 cosmos ddim ddpm deepfloyd_if deprecated diffusion_gemma
    dit dreamlite easyanimate ernie_image flux flux2 glm_image helios hidream_image hunyuan_image
    hunyuan_video hunyuan_video1_5 hunyuandit ideogram4 joyimage kandinsky kandinsky2_2
    kandinsky3 kandinsky5 kolors krea2 latent_consistency_models latent_diffusion latte
    ledits_pp llada2 longcat_audio_dit longcat_image ltx ltx2 lucy lumina lumina2 marigold mochi
    motif_video nucleusmoe_image omnigen onnx_utils ovis_image pag pipeline_utils pixart_alpha
    prx qwenimage sana sana_video shap_e skyreels_v2 stable_audio stable_cascade
    stable_diffusion stable_diffusion_3 stable_diffusion_xl stable_video_diffusion t2i_adapter
    visualcloze wan z_image

    alt_diffusion amused audio_diffusion audioldm blip_diffusion controlnet_xs dance_diffusion
    i2vgen_xl musicldm paint_by_example pia pndm repaint score_sde_ve semantic_stable_diffusion
    spectrogram_diffusion stable_diffusion_attend_and_excite stable_diffusion_diffedit
    stable_diffusion_gligen stable_diffusion_ldm3d stable_diffusion_panorama
    stable_diffusion_safe stable_diffusion_sag stochastic_karras_ve text_to_video_synthesis
    unclip unidiffuser versatile_diffusion vq_diffusion wuerstchen
    """.split()  # noqa: SIM905 (a table of words reads better than 120 quoted strings)
)
_SENTENCE_TRANSFORMERS_PREFIX = "sentence_transformers."
_SUB_CONFIG_MARKERS = ("model_type", "_name_or_path", "architectures")
_COMMIT = re.compile(r"[0-9a-f]{40}")
# Folder and module names in a diffusers index: one relative path segment.
_COMPONENT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", re.ASCII)


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


@dataclass(frozen=True, slots=True, kw_only=True)
class DiffusersComponent:
    """One component of a diffusers pipeline: ``"unet": ["diffusers", "UNet2DConditionModel"]``."""

    name: str
    """Component name, also its subfolder."""
    library: str | None
    class_name: str | None
    is_custom_code: bool
    """The library is neither a known library nor a diffusers pipeline module: the class is
    loaded from a ``.py`` in the repo (``[null, null]`` is a disabled component, not code)."""
    module_file: str | None = None
    """Where custom code would live: ``<name>/<library>.py``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelIndex:
    """Diffusers ``model_index.json``."""

    class_name: str | None = None
    """``_class_name``: the pipeline class."""
    custom_pipeline_module: str | None = None
    """Set when ``_class_name`` is ``[module, Class]``: a pipeline defined in repo code."""
    diffusers_version: str | None = None
    name_or_path: str | None = None
    components: tuple[DiffusersComponent, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def is_custom_code(self) -> bool:
        """Whether the pipeline or any component is loaded from repo code."""
        return self.custom_pipeline_module is not None or any(
            component.is_custom_code for component in self.components
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SentenceTransformersModule:
    """One entry of a sentence-transformers ``modules.json``."""

    idx: int | None = None
    name: str | None = None
    path: str | None = None
    """Subfolder of the module ("" for the root); None when absent or unsafe."""
    type: str | None = None
    is_custom_code: bool = False
    """``type`` is not a ``sentence_transformers.`` class: it is imported from elsewhere."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SentenceTransformersModules:
    """Sentence-transformers ``modules.json``."""

    modules: tuple[SentenceTransformersModule, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def is_custom_code(self) -> bool:
        """Whether any module is loaded from outside sentence-transformers."""
        return any(module.is_custom_code for module in self.modules)


@dataclass(frozen=True, slots=True, kw_only=True)
class SentenceTransformersConfig:
    """``config_sentence_transformers.json``: the library versions it was saved with."""

    versions: tuple[tuple[str, str], ...] = ()
    """``__version__``: (library, version) pairs in file order."""
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SafetensorsIndex:
    """A sharded checkpoint's ``*.safetensors.index.json`` (or ``pytorch_model.bin.index.json``)."""

    total_size: int | None = None
    metadata: tuple[tuple[str, str], ...] = ()
    """``metadata`` entries other than ``total_size``, as text, in file order."""
    shards: tuple[str, ...] = ()
    """Distinct shard files named by ``weight_map``, sorted; unsafe names are dropped."""
    tensor_count: int = 0
    """Entries in ``weight_map``."""
    problems: tuple[str, ...] = ()


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


# ---------------------------------------------------------------------------------------------
# config.json


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


# ---------------------------------------------------------------------------------------------
# diffusers model_index.json


def read_model_index(path: Path) -> ModelIndex:
    """Read a diffusers ``model_index.json``.

    Raises:
        MalformedFileError: not a capped, strict JSON object.
        OSError: the file cannot be opened or read.
    """
    fields = read_object(path, "model_index.json")
    class_name, custom_module = _pipeline_class(fields)
    components: list[DiffusersComponent] = []
    for key, value in fields.document.items():
        if key.startswith("_") or not _is_component_spec(value):
            continue  # "_diffusers_version" and pipeline options such as requires_safety_checker
        component = _component(fields, key, value)
        if component is not None:
            components.append(component)
        if len(components) >= MAX_MAP_ENTRIES:
            fields.note(key, f"more than {MAX_MAP_ENTRIES} components; the rest are ignored")
            break
    return ModelIndex(
        class_name=class_name,
        custom_pipeline_module=custom_module,
        diffusers_version=fields.text("_diffusers_version"),
        name_or_path=fields.text("_name_or_path"),
        components=tuple(components),
        problems=fields.problems.freeze(),
    )


def _is_component_spec(value: object) -> TypeGuard[list[str | None]]:
    return (
        isinstance(value, list)
        and len(value) == 2
        and all(item is None or isinstance(item, str) for item in value)
    )


def _pipeline_class(fields: Fields) -> tuple[str | None, str | None]:
    """``_class_name``: a class, or ``[module, Class]`` for a pipeline in repo code."""
    value = fields.document.get("_class_name")
    if not _is_component_spec(value):
        return fields.text("_class_name"), None
    module, class_name = (fields.as_text("_class_name", item) for item in value)
    if module is None:
        fields.note("_class_name", "a [module, Class] pair without a module")
    return class_name, module


def _component(fields: Fields, name: str, spec: list[str | None]) -> DiffusersComponent | None:
    if not _is_safe_segment(name):
        fields.note(name, "component name is not a plain folder name; ignored")
        return None
    library = fields.as_text(name, spec[0])
    class_name = fields.as_text(name, spec[1])
    if library is None:
        # [null, null] is a component saved as None (e.g. a disabled safety checker).
        return DiffusersComponent(
            name=name, library=None, class_name=class_name, is_custom_code=class_name is not None
        )
    if library in KNOWN_DIFFUSERS_LIBRARIES:
        return DiffusersComponent(
            name=name, library=library, class_name=class_name, is_custom_code=False
        )
    module_file = f"{name}/{library}.py" if _is_safe_segment(library) else None
    if module_file is None:
        fields.note(name, f"custom module {library[:60]!r} is not a plain module name")
    return DiffusersComponent(
        name=name,
        library=library,
        class_name=class_name,
        is_custom_code=True,
        module_file=module_file,
    )


def _is_safe_segment(value: str) -> bool:
    return _COMPONENT_NAME.fullmatch(value) is not None and ".." not in value


# ---------------------------------------------------------------------------------------------
# sentence-transformers


def read_sentence_transformers_modules(path: Path) -> SentenceTransformersModules:
    """Read a sentence-transformers ``modules.json`` (a JSON array of module entries).

    Raises:
        MalformedFileError: not a capped, strict JSON array.
        OSError: the file cannot be opened or read.
    """
    document = read_json_capped(path)
    if not isinstance(document, list):
        raise MalformedFileError(f"modules.json is a JSON {kind_of(document)}, not an array")
    problems = Problems()
    if len(document) > MAX_LIST_ITEMS:
        problems.add(f"{len(document)} modules; only the first {MAX_LIST_ITEMS} are kept")
    modules: list[SentenceTransformersModule] = []
    for position, entry in enumerate(document[:MAX_LIST_ITEMS]):
        if not isinstance(entry, dict):
            problems.add(f"[{position}]: {a_kind(entry)} where an object was expected")
            continue
        modules.append(_sentence_transformers_module(Fields(entry, problems, f"[{position}].")))
    return SentenceTransformersModules(modules=tuple(modules), problems=problems.freeze())


def _sentence_transformers_module(fields: Fields) -> SentenceTransformersModule:
    module_type = fields.text("type")
    if module_type is None:
        fields.note("type", "missing")
    return SentenceTransformersModule(
        idx=fields.integer("idx"),
        name=fields.text("name"),
        path=_module_path(fields),
        type=module_type,
        is_custom_code=module_type is not None
        and not module_type.startswith(_SENTENCE_TRANSFORMERS_PREFIX),
    )


def _module_path(fields: Fields) -> str | None:
    value = fields.document.get("path")
    if value == "":
        return ""  # the root module
    path = fields.as_text("path", value)
    if path is None:
        return None
    if not _is_relative_path(path):
        fields.note("path", f"{path[:60]!r} is not a relative path inside the model; ignored")
        return None
    return path


def read_sentence_transformers_config(path: Path) -> SentenceTransformersConfig:
    """Read ``config_sentence_transformers.json``: the ``__version__`` map only.

    Raises:
        MalformedFileError: not a capped, strict JSON object.
        OSError: the file cannot be opened or read.
    """
    fields = read_object(path, "config_sentence_transformers.json")
    section = fields.mapping("__version__") or {}
    sub = fields.sub("__version__", section)
    versions = (
        (library, sub.as_text(library, value))
        for library, value in list(section.items())[:MAX_MAP_ENTRIES]
    )
    return SentenceTransformersConfig(
        versions=tuple((library, version) for library, version in versions if version),
        problems=fields.problems.freeze(),
    )


# ---------------------------------------------------------------------------------------------
# Shard indexes


def read_safetensors_index(path: Path) -> SafetensorsIndex:
    """Read a sharded checkpoint index (``*.safetensors.index.json`` or ``*.bin.index.json``).

    Shard names are untrusted paths: absolute names, ``..``, backslashes and empty segments are
    reported and dropped.

    Raises:
        MalformedFileError: not a capped, strict JSON object.
        OSError: the file cannot be opened or read.
    """
    fields = read_object(path, "index")
    metadata = fields.mapping("metadata") or {}
    meta_fields = fields.sub("metadata", metadata)
    total_size = meta_fields.integer("total_size")
    if total_size is not None and total_size < 0:
        meta_fields.note("total_size", "negative; ignored")
        total_size = None
    pairs = (
        (key, meta_fields.as_text(key, value))
        for key, value in list(metadata.items())[:MAX_MAP_ENTRIES]
        if key != "total_size"
    )
    weight_map = fields.mapping("weight_map")
    if weight_map is None:
        fields.note("weight_map", "missing")
    shards, tensor_count = _shards(fields.sub("weight_map", weight_map or {}))
    return SafetensorsIndex(
        total_size=total_size,
        metadata=tuple((key, text) for key, text in pairs if text is not None),
        shards=shards,
        tensor_count=tensor_count,
        problems=fields.problems.freeze(),
    )


def _shards(fields: Fields) -> tuple[tuple[str, ...], int]:
    names: set[str] = set()
    rejected: set[str] = set()
    for tensor, shard in fields.document.items():
        if not isinstance(shard, str):
            fields.note(tensor, f"{a_kind(shard)} where a shard file name was expected")
        elif shard in names or shard in rejected:
            continue
        elif not _is_relative_path(shard) or len(shard) > MAX_VALUE_CHARS:
            rejected.add(shard)
            fields.note(tensor, f"shard {shard[:80]!r} is not a relative path inside the model")
        elif len(names) >= MAX_SHARDS:
            fields.note(tensor, f"more than {MAX_SHARDS} shards; the rest are ignored")
            break
        else:
            names.add(shard)
    return tuple(sorted(names)), len(fields.document)


def _is_relative_path(value: str) -> bool:
    """A POSIX path inside the model folder: no root, drive, ``..``, ``.`` or empty parts."""
    if not value or "\\" in value or "\x00" in value or value.startswith("/"):
        return False
    return all(part not in {"", ".", ".."} for part in value.split("/")) and ":" not in value
