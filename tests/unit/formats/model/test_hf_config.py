"""Tests for the Hugging Face JSON metadata readers."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.core.errors import MalformedFileError
from scanner.core.ids import parse_code_reference
from scanner.formats.model.diffusers_index import DiffusersComponent, read_model_index
from scanner.formats.model.hf_config import (
    MAX_SUB_CONFIG_DEPTH,
    PeftAutoMapping,
    read_adapter_config,
    read_generation_config,
    read_model_config,
    read_quantize_config,
    read_tokenizer_config,
)
from scanner.formats.model.json_fields import MAX_PROBLEMS
from scanner.formats.model.sentence_transformers_config import (
    SentenceTransformersModule,
    read_sentence_transformers_config,
    read_sentence_transformers_modules,
)
from scanner.formats.model.shard_index import read_safetensors_index
from tests.conftest import CORPUS as CORPUS_ROOT

CORPUS = CORPUS_ROOT
MODELS = CORPUS / "models"

READERS: dict[str, Callable[[Path], object]] = {
    "config.json": read_model_config,
    "config_original.json": read_model_config,
    "adapter_config.json": read_adapter_config,
    "tokenizer_config.json": read_tokenizer_config,
    "generation_config.json": read_generation_config,
    "model_index.json": read_model_index,
    "modules.json": read_sentence_transformers_modules,
    "config_sentence_transformers.json": read_sentence_transformers_config,
    "*.index.json": read_safetensors_index,
    "quantize_config.json": read_quantize_config,
}


def model_file(relative: str) -> Path:
    path = MODELS / relative
    if not path.is_file():
        pytest.skip(f"corpus file {relative} is absent")
    return path


def write(tmp_path: Path, document: object, name: str = "config.json") -> Path:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def corpus_cases() -> list[tuple[Path, Callable[[Path], object]]]:
    return [
        (path, reader)
        for pattern, reader in READERS.items()
        for path in sorted(MODELS.rglob(pattern))
    ]


# --- every real file -------------------------------------------------------------------------


def test_corpus_has_every_kind_of_file() -> None:
    if not MODELS.is_dir():
        pytest.skip("corpus is absent")
    kinds = {reader for _, reader in corpus_cases()}
    assert kinds == set(READERS.values())
    assert len(corpus_cases()) >= 60


@pytest.mark.parametrize(
    ("path", "reader"),
    corpus_cases(),
    ids=[str(path.relative_to(MODELS)) for path, _ in corpus_cases()],
)
def test_every_corpus_file_reads_without_problems(
    path: Path, reader: Callable[[Path], object]
) -> None:
    result = reader(path)
    assert getattr(result, "problems") == ()  # noqa: B009


# --- config.json -----------------------------------------------------------------------------


def test_remote_code_config() -> None:
    config = read_model_config(model_file("THUDM__chatglm-6b/config.json"))
    assert config.name_or_path == "THUDM/chatglm-6b"
    assert config.architectures == ("ChatGLMModel",)
    assert config.model_type == "chatglm"
    assert config.torch_dtype == "float16"
    assert config.transformers_version == "4.23.1"
    assert config.auto_map == (
        ("AutoConfig", "configuration_chatglm.ChatGLMConfig"),
        ("AutoModel", "modeling_chatglm.ChatGLMForConditionalGeneration"),
        ("AutoModelForSeq2SeqLM", "modeling_chatglm.ChatGLMForConditionalGeneration"),
    )
    references = [parse_code_reference(reference) for _, reference in config.auto_map]
    assert {reference.module_file for reference in references} == {
        "configuration_chatglm.py",
        "modeling_chatglm.py",
    }
    assert all(reference.repo is None for reference in references)


def test_sentence_transformers_config_hint() -> None:
    config = read_model_config(model_file("sentence-transformers__all-MiniLM-L6-v2/config.json"))
    assert config.name_or_path == "nreimers/MiniLM-L6-H384-uncased"
    assert config.model_type == "bert"
    assert config.auto_map == ()
    assert config.quantization is None


def test_local_path_hint_is_kept_verbatim() -> None:
    config = read_model_config(
        model_file("TheBloke__Wizard-Vicuna-30B-Uncensored-GPTQ/config.json")
    )
    assert config.name_or_path == "/workspace/process/wizard-vicuna-30b/HF/"
    assert config.quantization is not None
    assert config.quantization.quant_method == "gptq"
    assert config.quantization.bits == 4
    assert ("group_size", "-1") in config.quantization.raw


def test_added_tokens_are_read_by_id_and_hostile_entries_skipped(tmp_path: Path) -> None:
    document = {
        "added_tokens_decoder": {
            "151644": {"content": "<|im_start|>", "special": True},
            "151643": {"content": "<|endoftext|>"},
            "-1": {"content": "negative"},
            "x": {"content": "not an id"},
            "7": {"content": 3},
            "8": "not an entry",
        }
    }
    config = read_tokenizer_config(write(tmp_path, document, "tokenizer_config.json"))
    assert config.added_tokens == ((151643, "<|endoftext|>"), (151644, "<|im_start|>"))


def test_autogptq_s_quantize_config_and_the_model_it_read() -> None:
    found = read_quantize_config(
        model_file("TheBloke__Wizard-Vicuna-30B-Uncensored-GPTQ/quantize_config.json")
    )
    assert (found.bits, found.source_model) == (4, None)
    # Qwen's Int4 config leaves model_name_or_path null: no source.
    qwen = read_model_config(model_file("Qwen__Qwen-VL-Chat-Int4/config.json"))
    assert qwen.quantization is not None
    assert qwen.quantization.source_model is None


def test_fp8_quantization_keeps_raw_keys() -> None:
    config = read_model_config(model_file("deepseek-ai__DeepSeek-R1/config.json"))
    assert config.quantization is not None
    assert config.quantization.quant_method == "fp8"
    assert config.quantization.bits is None
    assert config.quantization.raw == (
        ("activation_scheme", "dynamic"),
        ("fmt", "e4m3"),
        ("quant_method", "fp8"),
        ("weight_block_size", "[128, 128]"),
    )
    assert config.torch_dtype == "bfloat16"


def test_merge_config_names_one_parent() -> None:
    config = read_model_config(model_file("YouriLalain__2PRYMMAL-Yi1.5-6B-SLERP/config.json"))
    assert config.name_or_path == "01-ai/Yi-1.5-6B-Chat"


def test_nested_sub_configs_and_commit_hash() -> None:
    config = read_model_config(
        model_file("runwayml__stable-diffusion-v1-5/safety_checker/config.json")
    )
    assert config.name_or_path == "CompVis/stable-diffusion-safety-checker"
    assert config.commit_hash == "4bb648a606ef040e7685bde262611766a5fdd67b"
    sub_configs = dict(config.sub_configs)
    assert set(sub_configs) == {"text_config", "vision_config"}
    assert sub_configs["text_config"].model_type == "clip_text_model"
    assert sub_configs["text_config"].name_or_path is None  # "" in the file
    assert sub_configs["vision_config"].model_type == "clip_vision_model"


def test_diffusers_component_config() -> None:
    config = read_model_config(model_file("runwayml__stable-diffusion-v1-5/unet/config.json"))
    assert config.class_name == "UNet2DConditionModel"
    assert config.diffusers_version == "0.6.0"
    assert config.model_type is None


def test_config_that_is_a_list_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MalformedFileError, match=r"config\.json is a JSON array, not an object"):
        read_model_config(write(tmp_path, [{"model_type": "bert"}]))


def test_config_with_nan_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MalformedFileError, match="NaN is not valid JSON"):
        read_model_config(write(tmp_path, '{"layer_norm_eps": NaN}'))


def test_config_with_huge_number_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MalformedFileError, match="invalid JSON number"):
        read_model_config(write(tmp_path, '{"vocab_size": ' + "1" * 5000 + "}"))


def test_config_ten_thousand_levels_deep_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MalformedFileError, match="nesting"):
        read_model_config(write(tmp_path, '{"a":' * 10_000 + "1" + "}" * 10_000))


def test_wrong_types_are_converted_or_dropped(tmp_path: Path) -> None:
    config = read_model_config(
        write(
            tmp_path,
            {
                "_name_or_path": 7,
                "architectures": "LlamaForCausalLM",
                "model_type": ["llama"],
                "torch_dtype": {"x": 1},
                "transformers_version": True,
                "auto_map": ["modeling.X"],
                "quantization_config": "gptq",
                "custom_pipelines": 3,
                "_commit_hash": "main",
                "_class_name": "x" * 5000,
            },
        )
    )
    assert config.name_or_path == "7"
    assert config.architectures == ("LlamaForCausalLM",)
    assert config.model_type is None
    assert config.torch_dtype is None
    assert config.transformers_version == "true"
    assert config.auto_map == ()
    assert config.quantization is None
    assert config.custom_pipelines == ()
    assert config.commit_hash is None
    assert config.class_name is None
    assert config.problems == (
        "_name_or_path: a number (7) where text was expected",
        "architectures: a string where an array was expected",
        "model_type: an array where text was expected; ignored",
        "auto_map: an array where an object was expected; ignored",
        "quantization_config: a string where an object was expected; ignored",
        "torch_dtype: an object where text was expected; ignored",
        "transformers_version: a boolean (true) where text was expected",
        "custom_pipelines: a number where an object was expected; ignored",
        "_class_name: a 5000-character value exceeds 1024; ignored",
        "_commit_hash: 'main' is not a 40-hex commit; ignored",
    )


def test_auto_map_lists_and_remote_repos(tmp_path: Path) -> None:
    config = read_model_config(
        write(
            tmp_path,
            {
                "auto_map": {
                    "AutoConfig": "other/repo--configuration_x.XConfig",
                    "AutoTokenizer": ["x/y--tok.T", None],
                    "AutoModel": ["../../etc/passwd.X", 5],
                },
                "dtype": "bfloat16",
            },
        )
    )
    assert config.auto_map == (
        ("AutoConfig", "other/repo--configuration_x.XConfig"),
        ("AutoTokenizer", "x/y--tok.T"),
        ("AutoModel", "../../etc/passwd.X"),
        ("AutoModel", "5"),
    )
    assert config.torch_dtype == "bfloat16"
    remote = parse_code_reference(config.auto_map[0][1])
    assert remote.repo is not None
    assert remote.repo.repo_id == "other/repo"
    assert len(config.problems) == 3
    assert "auto_map.AutoModel: code reference '../../etc/passwd.X'" in config.problems[0]
    assert config.problems[1] == "auto_map.AutoModel: a number (5) where text was expected"
    assert "not of the form module.Class" in config.problems[2]


def test_custom_pipelines(tmp_path: Path) -> None:
    config = read_model_config(
        write(
            tmp_path,
            {
                "custom_pipelines": {
                    "text-classification": {"impl": "pipe.MyPipeline", "pt": ["AutoModel"]},
                    "summarization": {"impl": "/abs.X"},
                    "broken": "x",
                }
            },
        )
    )
    assert config.custom_pipelines == (
        ("text-classification", "pipe.MyPipeline"),
        ("summarization", "/abs.X"),
    )
    assert len(config.problems) == 2
    assert config.problems[0].startswith("custom_pipelines.summarization.impl: code reference")
    assert config.problems[1] == (
        "custom_pipelines.broken: a string where an object was expected; ignored"
    )


def test_bitsandbytes_bits(tmp_path: Path) -> None:
    config = read_model_config(
        write(
            tmp_path,
            {"quantization_config": {"quant_method": "bitsandbytes", "load_in_4bit": True}},
        )
    )
    assert config.quantization is not None
    assert config.quantization.bits == 4
    assert config.quantization.raw == (("quant_method", "bitsandbytes"), ("load_in_4bit", "true"))


def test_sub_configs_are_depth_limited(tmp_path: Path) -> None:
    document: dict[str, object] = {"model_type": "leaf", "_name_or_path": "org/leaf"}
    for level in range(MAX_SUB_CONFIG_DEPTH + 2):
        document = {"model_type": f"level{level}", "inner_config": document}
    top = read_model_config(write(tmp_path, document))
    config, depth = top, 0
    while config.sub_configs:
        ((_, config),) = config.sub_configs
        depth += 1
    assert depth == MAX_SUB_CONFIG_DEPTH
    assert config.model_type == "level1"
    path = ".".join(["inner_config"] * (MAX_SUB_CONFIG_DEPTH + 1))
    assert top.problems == (
        f"{path}: sub-configs nested over {MAX_SUB_CONFIG_DEPTH} deep are ignored",
    )


def test_sub_config_problems_are_reported_with_their_path(tmp_path: Path) -> None:
    config = read_model_config(
        write(tmp_path, {"text_config": {"model_type": 5, "_name_or_path": "org/text"}})
    )
    ((name, text_config),) = config.sub_configs
    assert name == "text_config"
    assert text_config.name_or_path == "org/text"
    assert text_config.problems == ()
    assert config.problems == ("text_config.model_type: a number (5) where text was expected",)


# --- adapter_config.json ---------------------------------------------------------------------


def test_adapter_names_its_base() -> None:
    adapter = read_adapter_config(
        model_file("DMalakhov1__YandexGPT-5-Lite-8B-instruct-lora/adapter_config.json")
    )
    assert adapter.base_model_name_or_path == "yandex/YandexGPT-5-Lite-8B-instruct"
    assert adapter.revision is None
    assert adapter.peft_type == "LORA"
    assert adapter.task_type == "CAUSAL_LM"
    assert adapter.auto_mapping is None


def test_adapter_auto_mapping_and_version() -> None:
    adapter = read_adapter_config(
        model_file("datmieu204__qwen2.5-0.5b_ner_model/adapter_config.json")
    )
    assert adapter.base_model_name_or_path == "unsloth/qwen2.5-0.5b-unsloth-bnb-4bit"
    assert adapter.peft_version == "0.18.0"
    assert adapter.auto_mapping == PeftAutoMapping(
        base_model_class="Qwen2ForCausalLM",
        parent_library="transformers.models.qwen2.modeling_qwen2",
    )


def test_adapter_wrong_types(tmp_path: Path) -> None:
    adapter = read_adapter_config(
        write(tmp_path, {"base_model_name_or_path": ["a/b"], "revision": 3, "auto_mapping": "x"})
    )
    assert adapter.base_model_name_or_path is None
    assert adapter.revision == "3"
    assert adapter.auto_mapping is None
    assert len(adapter.problems) == 3


# --- tokenizer_config.json -------------------------------------------------------------------


def test_tokenizer_remote_code() -> None:
    tokenizer = read_tokenizer_config(model_file("THUDM__chatglm-6b/tokenizer_config.json"))
    assert tokenizer.name_or_path == "THUDM/chatglm-6b"
    assert tokenizer.tokenizer_class == "ChatGLMTokenizer"
    assert tokenizer.auto_map == (("AutoTokenizer", "tokenization_chatglm.ChatGLMTokenizer"),)
    assert not tokenizer.has_chat_template


def test_tokenizer_chat_template() -> None:
    tokenizer = read_tokenizer_config(model_file("deepseek-ai__DeepSeek-R1/tokenizer_config.json"))
    assert tokenizer.tokenizer_class == "LlamaTokenizerFast"
    assert tokenizer.has_chat_template
    assert tokenizer.chat_template_length == 2566
    assert tokenizer.chat_template_names == ()


def test_tokenizer_named_templates_and_legacy_auto_map(tmp_path: Path) -> None:
    tokenizer = read_tokenizer_config(
        write(
            tmp_path,
            {
                "_name_or_path": "org/tok",
                "auto_map": ["tokenization_x.Slow", "org/other--tokenization_x.Fast"],
                "chat_template": [
                    {"name": "default", "template": "{{ messages }}"},
                    {"name": "tool_use", "template": "{% for m in messages %}{% endfor %}"},
                    {"name": "broken"},
                ],
            },
            "tokenizer_config.json",
        )
    )
    assert tokenizer.name_or_path == "org/tok"
    assert tokenizer.auto_map == (
        ("AutoTokenizer", "tokenization_x.Slow"),
        ("AutoTokenizer", "org/other--tokenization_x.Fast"),
    )
    assert tokenizer.has_chat_template
    assert tokenizer.chat_template_length == len("{{ messages }}") + len(
        "{% for m in messages %}{% endfor %}"
    )
    assert tokenizer.chat_template_names == ("default", "tool_use")
    assert tokenizer.problems == ("chat_template: an entry without a template string; ignored",)


@pytest.mark.parametrize("template", ["", [], None])
def test_empty_chat_template_is_no_template(tmp_path: Path, template: object) -> None:
    tokenizer = read_tokenizer_config(write(tmp_path, {"chat_template": template}))
    assert not tokenizer.has_chat_template
    assert tokenizer.problems == ()


def test_chat_template_of_wrong_type(tmp_path: Path) -> None:
    tokenizer = read_tokenizer_config(write(tmp_path, {"chat_template": 5}))
    assert not tokenizer.has_chat_template
    assert tokenizer.problems == ("chat_template: a number where text was expected; ignored",)


# --- generation_config.json ------------------------------------------------------------------


def test_generation_config() -> None:
    generation = read_generation_config(
        model_file("evilfreelancer__ruGPT-3.5-13B-lora/generation_config.json")
    )
    assert generation.transformers_version == "4.34.0"
    assert generation.bos_token_id == 2
    assert generation.eos_token_ids == (3,)
    assert generation.pad_token_id == 0


def test_generation_config_eos_list_and_wrong_types(tmp_path: Path) -> None:
    generation = read_generation_config(
        write(tmp_path, {"eos_token_id": [1, 2.0, "3"], "bos_token_id": True})
    )
    assert generation.eos_token_ids == (1, 2)
    assert generation.bos_token_id is None
    assert len(generation.problems) == 3


# --- model_index.json ------------------------------------------------------------------------


def test_stable_diffusion_index() -> None:
    index = read_model_index(model_file("runwayml__stable-diffusion-v1-5/model_index.json"))
    assert index.class_name == "StableDiffusionPipeline"
    assert index.diffusers_version == "0.6.0"
    assert index.custom_pipeline_module is None
    assert not index.is_custom_code
    components = {component.name: component for component in index.components}
    assert set(components) == {
        "feature_extractor",
        "safety_checker",
        "scheduler",
        "text_encoder",
        "tokenizer",
        "unet",
        "vae",
    }
    assert components["safety_checker"] == DiffusersComponent(
        name="safety_checker",
        library="stable_diffusion",
        class_name="StableDiffusionSafetyChecker",
        is_custom_code=False,
    )
    assert components["unet"].library == "diffusers"


def test_custom_components_and_pipeline(tmp_path: Path) -> None:
    index = read_model_index(
        write(
            tmp_path,
            {
                "_class_name": ["pipeline_mine", "MyPipeline"],
                "_diffusers_version": "0.30.0",
                "_name_or_path": "org/pipe",
                "unet": ["my_unet", "MyUNet"],
                "safety_checker": [None, None],
                "vae": [None, "SomeVae"],
                "../escape": ["diffusers", "X"],
                "text_encoder": ["../../evil", "X"],
                "requires_safety_checker": True,
                "force_zeros": [1, 2],
            },
            "model_index.json",
        )
    )
    assert index.class_name == "MyPipeline"
    assert index.custom_pipeline_module == "pipeline_mine"
    assert index.name_or_path == "org/pipe"
    assert index.is_custom_code
    assert index.components == (
        DiffusersComponent(
            name="unet",
            library="my_unet",
            class_name="MyUNet",
            is_custom_code=True,
            module_file="unet/my_unet.py",
        ),
        DiffusersComponent(
            name="safety_checker", library=None, class_name=None, is_custom_code=False
        ),
        DiffusersComponent(name="vae", library=None, class_name="SomeVae", is_custom_code=True),
        DiffusersComponent(
            name="text_encoder", library="../../evil", class_name="X", is_custom_code=True
        ),
    )
    assert index.problems == (
        "../escape: component name is not a plain folder name; ignored",
        "text_encoder: custom module '../../evil' is not a plain module name",
    )


def test_model_index_that_is_a_list_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MalformedFileError, match="not an object"):
        read_model_index(write(tmp_path, [], "model_index.json"))


# --- sentence-transformers -------------------------------------------------------------------


def test_sentence_transformers_modules() -> None:
    modules = read_sentence_transformers_modules(
        model_file("sentence-transformers__all-MiniLM-L6-v2/modules.json")
    )
    assert modules.modules == (
        SentenceTransformersModule(
            idx=0, name="0", path="", type="sentence_transformers.models.Transformer"
        ),
        SentenceTransformersModule(
            idx=1, name="1", path="1_Pooling", type="sentence_transformers.models.Pooling"
        ),
        SentenceTransformersModule(
            idx=2, name="2", path="2_Normalize", type="sentence_transformers.models.Normalize"
        ),
    )
    assert not modules.is_custom_code


def test_custom_and_hostile_modules(tmp_path: Path) -> None:
    modules = read_sentence_transformers_modules(
        write(
            tmp_path,
            [
                {"idx": 0, "name": "0", "path": "", "type": "custom_st.MyModule"},
                {"idx": 1, "name": "1", "path": "../../x", "type": "sentence_transformers_x.Y"},
                {"idx": 2, "path": "/etc"},
                "junk",
            ],
            "modules.json",
        )
    )
    assert [module.is_custom_code for module in modules.modules] == [True, True, False]
    assert [module.path for module in modules.modules] == ["", None, None]
    assert modules.is_custom_code
    assert modules.problems == (
        "[1].path: '../../x' is not a relative path inside the model; ignored",
        "[2].type: missing",
        "[2].path: '/etc' is not a relative path inside the model; ignored",
        "[3]: a string where an object was expected",
    )


def test_modules_json_that_is_an_object_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MalformedFileError, match=r"modules\.json is a JSON object, not an array"):
        read_sentence_transformers_modules(write(tmp_path, {"idx": 0}, "modules.json"))


def test_sentence_transformers_versions() -> None:
    config = read_sentence_transformers_config(
        model_file("cointegrated__rubert-tiny2/config_sentence_transformers.json")
    )
    assert config.versions == (
        ("sentence_transformers", "3.0.1"),
        ("transformers", "4.44.2"),
        ("pytorch", "2.4.1"),
    )


def test_sentence_transformers_versions_wrong_types(tmp_path: Path) -> None:
    config = read_sentence_transformers_config(
        write(tmp_path, {"__version__": {"torch": 2, "x": None, "y": []}, "prompts": {"q": 1}})
    )
    assert config.versions == (("torch", "2"),)
    assert len(config.problems) == 2


# --- shard indexes ---------------------------------------------------------------------------


def test_merge_shard_index() -> None:
    index = read_safetensors_index(
        model_file("YouriLalain__2PRYMMAL-Yi1.5-6B-SLERP/model.safetensors.index.json")
    )
    assert index.total_size == 12_122_071_040
    assert index.metadata == (("mergekit_version", "0.0.4.4"),)
    assert index.shards == (
        "model-00001-of-00003.safetensors",
        "model-00002-of-00003.safetensors",
        "model-00003-of-00003.safetensors",
    )
    assert index.tensor_count == 291


def test_pytorch_shard_index() -> None:
    index = read_safetensors_index(model_file("THUDM__chatglm-6b/pytorch_model.bin.index.json"))
    assert index.total_size == 13_744_473_856
    assert index.shards == tuple(f"pytorch_model-0000{n}-of-00008.bin" for n in range(1, 9))


def test_hostile_shard_names_are_dropped(tmp_path: Path) -> None:
    index = read_safetensors_index(
        write(
            tmp_path,
            {
                "metadata": {"total_size": 10, "format": "pt"},
                "weight_map": {
                    "a": "model-1.safetensors",
                    "b": "/etc/passwd",
                    "c": "../outside.safetensors",
                    "d": "sub/../../x",
                    "e": "C:\\x.safetensors",
                    "f": "",
                    "g": "a//b",
                    "h": 5,
                    "i": "sub/model-2.safetensors",
                    "j": "model-1.safetensors",
                    "k": "../outside.safetensors",
                },
            },
            "model.safetensors.index.json",
        )
    )
    assert index.shards == ("model-1.safetensors", "sub/model-2.safetensors")
    assert index.total_size == 10
    assert index.metadata == (("format", "pt"),)
    assert index.tensor_count == 11
    assert len(index.problems) == 7
    assert index.problems[0] == (
        "weight_map.b: shard '/etc/passwd' is not a relative path inside the model"
    )


def test_problem_list_is_capped(tmp_path: Path) -> None:
    weight_map = {f"t{n}": f"/abs/{n}.safetensors" for n in range(MAX_PROBLEMS + 50)}
    index = read_safetensors_index(write(tmp_path, {"weight_map": weight_map}))
    assert index.shards == ()
    assert len(index.problems) == MAX_PROBLEMS + 1
    assert index.problems[-1] == "... and 50 more problems"


def test_index_without_weight_map(tmp_path: Path) -> None:
    index = read_safetensors_index(write(tmp_path, {"metadata": {"total_size": "12"}}))
    assert index.total_size is None
    assert index.problems == (
        "metadata.total_size: a string where an integer was expected; ignored",
        "weight_map: missing",
    )


def test_index_negative_and_huge_total_size(tmp_path: Path) -> None:
    negative = read_safetensors_index(write(tmp_path, {"metadata": {"total_size": -1}}, "a.json"))
    assert negative.total_size is None
    huge = read_safetensors_index(write(tmp_path, {"metadata": {"total_size": 10**30}}, "b.json"))
    assert huge.total_size == 10**30


# --- fuzz ------------------------------------------------------------------------------------

_FIELD_NAMES = (
    "_name_or_path",
    "name_or_path",
    "architectures",
    "model_type",
    "auto_map",
    "AutoTokenizer",
    "quantization_config",
    "bits",
    "quant_method",
    "custom_pipelines",
    "impl",
    "text_config",
    "_class_name",
    "_commit_hash",
    "base_model_name_or_path",
    "auto_mapping",
    "chat_template",
    "template",
    "name",
    "eos_token_id",
    "unet",
    "path",
    "type",
    "__version__",
    "metadata",
    "total_size",
    "weight_map",
)
_JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["a/b--m.C", "m.C", "../x.C", "diffusers", "sentence_transformers.X", ""]),
)
_JSON_VALUES = st.recursive(
    _JSON_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(_FIELD_NAMES), children, max_size=5),
    ),
    max_leaves=30,
)
_ALL_READERS = sorted(set(READERS.values()), key=lambda reader: reader.__name__)


@settings(max_examples=200, deadline=None)
@given(document=_JSON_VALUES, reader=st.sampled_from(_ALL_READERS))
def test_fuzz_structured_json(
    tmp_path_factory: pytest.TempPathFactory,
    document: object,
    reader: Callable[[Path], object],
) -> None:
    path = write(tmp_path_factory.mktemp("fuzz"), json.dumps(document))
    try:
        result = reader(path)
    except MalformedFileError:
        return
    assert all(isinstance(problem, str) for problem in getattr(result, "problems"))  # noqa: B009


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=300), reader=st.sampled_from(_ALL_READERS))
def test_fuzz_random_bytes(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, reader: Callable[[Path], object]
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "config.json"
    path.write_bytes(data)
    with contextlib.suppress(MalformedFileError):
        reader(path)
