"""The database of published chat templates, and how a template is matched against it."""

from __future__ import annotations

import itertools
import json
from typing import TYPE_CHECKING

import pytest

from scanner.formats.model.chat_template_text import (
    TemplatePrint,
    named_prints,
    read_template_prints,
    similarity,
)
from scanner.sources.chat_templates import (
    NEAR,
    decode_sketch,
    encode_sketch,
    load_templates,
    match_template,
    parse_templates,
)

if TYPE_CHECKING:
    from pathlib import Path


def test_every_template_matches_itself_and_names_its_repos() -> None:
    templates = load_templates()
    assert len(templates) >= 30
    for template in templates:
        found = match_template(TemplatePrint(template.signature, template.sketch))
        assert found is not None
        assert (found.template, found.relation) == (template, "identical")
        assert all("/" in repo for repo, _ in template.repos)
        assert template.source[0].startswith("PyPI llama-cpp-python ")


def test_russian_publishers_templates_are_held() -> None:
    repos = {repo for template in load_templates() for repo, _ in template.repos}
    assert {"yandex/YandexGPT-5-Lite-8B-instruct", "ai-sage/GigaChat-20B-A3B-instruct"} <= repos


def test_different_publishers_templates_stay_below_the_threshold() -> None:
    # What makes NEAR safe: no two publishers' templates in the database come close to it.
    closest = max(
        similarity(a.sketch, b.sketch)
        for a, b in itertools.combinations(load_templates(), 2)
        if not set(a.publishers) & set(b.publishers)
    )
    assert closest < NEAR - 0.3


@pytest.mark.parametrize(
    ("path", "repo"),
    [
        # Vikhr's Qwen3-based model ships Qwen3's template, revised.
        ("models/DMalakhov1__QVikhr-3-1.7B-lora/chat_template.jinja", "Qwen/Qwen3-0.6B"),
        # A LoRA on YandexGPT-5-Lite keeps an earlier revision of Yandex's template.
        (
            "models/DMalakhov1__YandexGPT-5-Lite-8B-instruct-lora/tokenizer_config.json",
            "yandex/YandexGPT-5-Lite-8B-instruct",
        ),
    ],
)
def test_real_revisions_of_a_published_template_are_near_it(
    path: str, repo: str, corpus: Path
) -> None:
    if path.endswith(".jinja"):
        [(_, print_)] = read_template_prints(corpus / path)
    else:
        [(_, print_)] = named_prints(json.loads((corpus / path).read_text())["chat_template"])
    found = match_template(print_)
    assert found is not None
    assert found.relation == "near"
    assert found.template.repos[0][0] == repo
    assert found.similarity >= NEAR
    assert f"of {repo}'s (read from PyPI llama-cpp-python" in found.describe()


@pytest.mark.parametrize(
    "path",
    [
        "models/CaoThanhNammm__tinyLlama_llama2_lora_qa_human_hybrid/tokenizer_config.json",
        "models/YouriLalain__2PRYMMAL-Yi1.5-6B-SLERP/tokenizer_config.json",
    ],
)
def test_templates_the_database_does_not_hold_match_nothing(path: str, corpus: Path) -> None:
    [(_, print_)] = named_prints(json.loads((corpus / path).read_text())["chat_template"])
    assert match_template(print_) is None


def test_sketches_round_trip_and_a_malformed_database_is_refused() -> None:
    sketch = (0, 1, 2**64 - 1)
    assert decode_sketch(encode_sketch(sketch)) == sketch
    with pytest.raises(TypeError):
        parse_templates({"entries": [{"signature": "x"}], "as_of": "2026-01-01"})
    with pytest.raises(TypeError):
        parse_templates(
            {
                "entries": [{"signature": "x", "sketch": "!!", "templates": [], "source": []}],
                "as_of": "2026-01-01",
            }
        )
    with pytest.raises(TypeError):
        parse_templates([])
