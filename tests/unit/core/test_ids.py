"""Tests for Hub repo id and remote-code reference recognition."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.core.errors import MalformedFileError
from scanner.core.ids import CodeReference, HubId, parse_code_reference, parse_hub_id
from scanner.formats.model.model_card import read_model_card
from tests.conftest import CORPUS as CORPUS_ROOT

CORPUS = CORPUS_ROOT


@pytest.mark.parametrize(
    ("value", "repo_id"),
    [
        ("yandex/YandexGPT-5-Lite-8B-instruct", "yandex/YandexGPT-5-Lite-8B-instruct"),
        ("01-ai/Yi-1.5-6B", "01-ai/Yi-1.5-6B"),
        ("unsloth/qwen2.5-0.5b-unsloth-bnb-4bit", "unsloth/qwen2.5-0.5b-unsloth-bnb-4bit"),
        ("  TinyLlama/TinyLlama-1.1B-Chat-v1.0\n", "TinyLlama/TinyLlama-1.1B-Chat-v1.0"),
        ("a/b_", "a/b_"),
        ("https://huggingface.co/Qwen/Qwen2.5-1.5B-Instruct", "Qwen/Qwen2.5-1.5B-Instruct"),
        (
            "https://huggingface.co/Qwen/Qwen2.5-1.5B-Instruct-GGUF/blob/main/LICENSE",
            "Qwen/Qwen2.5-1.5B-Instruct-GGUF",
        ),
        ("https://hf.co/slovak-nlp/mistral-sk-7b?x=1#top", "slovak-nlp/mistral-sk-7b"),
        ("http://www.huggingface.co/IlyaGusev/saiga_llama3_8b", "IlyaGusev/saiga_llama3_8b"),
    ],
)
def test_recognises_hub_ids(value: str, repo_id: str) -> None:
    hub_id = parse_hub_id(value)
    assert hub_id is not None
    assert hub_id.repo_id == repo_id
    assert str(hub_id) == repo_id
    assert hub_id == HubId(namespace=repo_id.split("/")[0], name=repo_id.split("/")[1])


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "gpt2",
        "phi-1.5-half",
        "/x/y",
        "/workspace/process/wizard-vicuna-30b/HF/",
        "/root/.cache/torch/sentence_transformers/BAAI_bge-large-zh/",
        "./x",
        "../x",
        "~/x",
        "C:\\x",
        "C:/models/x",
        "x\\y",
        "a/b/c",
        "a/",
        "/a",
        "a//b",
        "-a/b",
        "a/b-",
        "a/.b",
        "a/b.",
        "a--b/c",
        "a/b--c",
        "a/b..c",
        "a/b.git",
        "café/x",
        "a b/c",
        "a/" + "n" * 97,
        "https://github.com/THUDM/ChatGLM-6B",
        "https://huggingface.co/datasets/IlyaGusev/saiga_scored",
        "https://huggingface.co/spaces/CompVis/stable-diffusion-license",
        "https://huggingface.co/docs/transformers",
        "https://huggingface.co/gpt2",
        "https://huggingface.co@evil.example/a/b",
        "https://user@huggingface.co/a/b",
        "https://huggingface.co:8443/a/b",
        "https://huggingface.co:bad/a/b",
        "ftp://huggingface.co/a/b",
        "file:///a/b",
        "hf://a/b",
        "https://huggingface.co/a/b..c",
        "x" * 600 + "/y",
    ],
)
def test_rejects_what_is_not_a_hub_id(value: str) -> None:
    assert parse_hub_id(value) is None


def test_name_of_96_characters_is_accepted() -> None:
    assert parse_hub_id("a/" + "n" * 96) == HubId(namespace="a", name="n" * 96)


def test_every_base_model_in_the_corpus_cards_is_a_hub_id() -> None:
    cards = sorted((CORPUS / "models").glob("*/README.md"))
    if not cards:
        pytest.skip("corpus is absent")
    base_models = [base for card in cards for base in read_model_card(card).base_models]
    assert len(base_models) == 11
    assert all(parse_hub_id(base) is not None for base in base_models)


# --- code references -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "modeling_chatglm.ChatGLMForConditionalGeneration",
            CodeReference(
                repo=None,
                module="modeling_chatglm",
                class_name="ChatGLMForConditionalGeneration",
                module_file="modeling_chatglm.py",
            ),
        ),
        (
            "THUDM/chatglm-6b--tokenization_chatglm.ChatGLMTokenizer",
            CodeReference(
                repo=HubId(namespace="THUDM", name="chatglm-6b"),
                module="tokenization_chatglm",
                class_name="ChatGLMTokenizer",
                module_file="tokenization_chatglm.py",
            ),
        ),
        (
            "pkg.sub.Model",
            CodeReference(
                repo=None, module="pkg.sub", class_name="Model", module_file="pkg/sub.py"
            ),
        ),
        (
            "configuration-x.XConfig",
            CodeReference(
                repo=None,
                module="configuration-x",
                class_name="XConfig",
                module_file="configuration-x.py",
            ),
        ),
    ],
)
def test_parses_code_references(value: str, expected: CodeReference) -> None:
    assert parse_code_reference(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("NoDot", "not of the form module.Class"),
        ("module.", "not of the form module.Class"),
        (".Class", "not of the form module.Class"),
        ("../evil.Class", "not a relative module path"),
        ("..evil.Class", "not a relative module path"),
        ("a..b.Class", "not a relative module path"),
        ("/abs/path.Class", "not a relative module path"),
        ("C:\\x.Class", "not a relative module path"),
        ("mod ule.Class", "not a relative module path"),
        ("module.1Class", "not a class name"),
        ("module.Cla ss", "not a class name"),
        ("gpt2--modeling.Model", "not a Hub repo id of the form ORG/NAME"),
        ("../x--modeling.Model", "not a Hub repo id"),
        ("https://huggingface.co/a/b--modeling.Model", "not a Hub repo id"),
        ("a/b--m--n.Class", "more than one '--'"),
        ("a/b--" + "m" * 600 + ".C", "over the 512-character limit"),
    ],
)
def test_rejects_hostile_code_references(value: str, message: str) -> None:
    with pytest.raises(MalformedFileError, match=message):
        parse_code_reference(value)


# --- fuzz ------------------------------------------------------------------------------------

_ID_ALPHABET = "aZ09-_./\\:~ --..@?#"


@settings(max_examples=200, deadline=None)
@given(value=st.one_of(st.text(max_size=120), st.text(alphabet=_ID_ALPHABET, max_size=40)))
def test_fuzz_parse_hub_id_round_trips(value: str) -> None:
    hub_id = parse_hub_id(value)
    if hub_id is not None:
        assert parse_hub_id(hub_id.repo_id) == hub_id
        assert ".." not in hub_id.repo_id
        assert not hub_id.repo_id.startswith(("/", "."))


@settings(max_examples=200, deadline=None)
@given(value=st.one_of(st.text(max_size=120), st.text(alphabet=_ID_ALPHABET + "Cm", max_size=40)))
def test_fuzz_parse_code_reference(value: str) -> None:
    try:
        reference = parse_code_reference(value)
    except MalformedFileError:
        return
    assert reference.module_file.endswith(".py")
    assert not reference.module_file.startswith("/")
    assert ".." not in reference.module_file.split("/")
    assert "\\" not in reference.module_file
