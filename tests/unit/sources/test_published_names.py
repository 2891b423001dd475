"""A GGUF's names told to name a published model, whatever order its fields give the words."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.formats.model.gguf import read_gguf_metadata
from scanner.sources.published_names import gguf_names, name_words, repos_named


@pytest.mark.parametrize(
    ("parts", "repo"),
    [
        # llama.cpp's converter splits a repo's name into basename, size label, fine-tune and
        # version (gguf-py 0.19.0 Metadata.get_model_id_components).
        (("Qwen2.5", "7B", "Instruct", None), "Qwen/Qwen2.5-7B-Instruct"),
        (("Mistral", "7B", None, "v0.1"), "mistralai/Mistral-7B-v0.1"),
        (("Meta-Llama-3", "8B", None, None), "meta-llama/Meta-Llama-3-8B"),
        (("YandexGPT-5-Lite", "8B", "instruct", None), "yandex/YandexGPT-5-Lite-8B-instruct"),
        # general.name, in title case.
        (("Qwen2.5 7B Instruct",), "Qwen/Qwen2.5-7B-Instruct"),
    ],
)
def test_a_converter_s_names_name_the_published_repo(
    parts: tuple[str | None, ...], repo: str
) -> None:
    assert repo in repos_named(name_words(*parts))


@pytest.mark.parametrize("name", ["models", "Phi3", "llama-spm", "Qwen2.5 7B Chat-RU", ""])
def test_names_of_no_published_model_name_none(name: str) -> None:
    assert repos_named(name_words(name)) == ()


def test_real_gguf_headers_name_no_published_model(corpus: Path) -> None:
    # llama.cpp's test vocabularies and a Russian persona model: their general.name is a label.
    for path in sorted((corpus / "gguf").glob("*.gguf")):
        for _field, _value, words in gguf_names(read_gguf_metadata(path)):
            assert repos_named(words) == (), path.name
