"""A chat template's print: the same text however it is indented or where it is saved; real
revisions of a template close, different templates apart."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanner.core.errors import MalformedFileError
from scanner.formats.model.chat_template_text import (
    MAX_NAMED_TEMPLATES,
    MAX_TEMPLATE_FILE_BYTES,
    SKETCH_SIZE,
    named_prints,
    read_template_prints,
    similarity,
    template_print,
)

if TYPE_CHECKING:
    from pathlib import Path

QVIKHR = "models/DMalakhov1__QVikhr-3-1.7B-lora/chat_template.jinja"
YANDEX_LORA = "models/DMalakhov1__YandexGPT-5-Lite-8B-instruct-lora/tokenizer_config.json"
TINYLLAMA = "models/CaoThanhNammm__tinyLlama_llama2_lora_qa_human_hybrid/tokenizer_config.json"


def test_indentation_and_trim_markers_do_not_change_the_signature(corpus: Path) -> None:
    text = (corpus / QVIKHR).read_text()
    reindented = "\n".join("    " + line.strip() for line in text.splitlines())
    untrimmed = text.replace("{%-", "{%").replace("-%}", "%}").replace("{{-", "{{")
    assert template_print(reindented).signature == template_print(text).signature
    assert template_print(untrimmed).signature == template_print(text).signature
    # A changed word is another template, though a close one.
    edited = text.replace("assistant", "helper", 1)
    assert template_print(edited).signature != template_print(text).signature
    assert similarity(template_print(edited).sketch, template_print(text).sketch) > 0.95


def test_the_same_template_reads_alike_from_each_file_it_is_saved_in(
    corpus: Path, tmp_path: Path
) -> None:
    text = (corpus / QVIKHR).read_text()
    (tmp_path / "chat_template.json").write_text(json.dumps({"chat_template": text}))
    (tmp_path / "tool_use.jinja").write_text(text)
    [(name, from_json)] = read_template_prints(tmp_path / "chat_template.json")
    [(other, from_jinja)] = read_template_prints(tmp_path / "tool_use.jinja")
    [(default, real)] = read_template_prints(corpus / QVIKHR)
    assert (name, other, default) == ("default", "tool_use", "default")
    assert from_json == from_jinja == real
    assert len(real.sketch) == SKETCH_SIZE


def test_unrelated_real_templates_are_far_apart(corpus: Path) -> None:
    qvikhr = template_print((corpus / QVIKHR).read_text())
    prints = {
        path: named_prints(json.loads((corpus / path).read_text())["chat_template"])[0][1]
        for path in (YANDEX_LORA, TINYLLAMA)
    }
    for other in prints.values():
        assert similarity(qvikhr.sketch, other.sketch) < 0.2
    assert similarity(prints[YANDEX_LORA].sketch, prints[TINYLLAMA].sketch) < 0.2


def test_named_templates_and_hostile_values() -> None:
    named = named_prints(
        [
            {"name": "default", "template": "{{ messages }}"},
            {"name": "rag", "template": "{{ documents }}"},
            {"template": 3},
            "not an entry",
        ]
    )
    assert [name for name, _ in named] == ["default", "rag"]
    assert named_prints({"template": "x"}) == ()
    assert named_prints("   ") == ()
    many = [{"name": str(i), "template": str(i)} for i in range(MAX_NAMED_TEMPLATES + 10)]
    assert len(named_prints(many)) == MAX_NAMED_TEMPLATES


def test_a_template_file_over_the_cap_or_not_text_is_malformed(tmp_path: Path) -> None:
    big = tmp_path / "chat_template.jinja"
    with big.open("wb") as stream:
        stream.truncate(MAX_TEMPLATE_FILE_BYTES + 1)
    with pytest.raises(MalformedFileError):
        read_template_prints(big)
    (tmp_path / "bad.jinja").write_bytes(b"\xff\xfe{{ x }}")
    with pytest.raises(MalformedFileError):
        read_template_prints(tmp_path / "bad.jinja")
    (tmp_path / "chat_template.json").write_text("[1, 2]")
    with pytest.raises(MalformedFileError):
        read_template_prints(tmp_path / "chat_template.json")


@given(st.text(max_size=300), st.text(max_size=300))
def test_similarity_is_a_share(first: str, second: str) -> None:
    a, b = template_print(first), template_print(second)
    assert 0.0 <= similarity(a.sketch, b.sketch) <= 1.0
    assert similarity(a.sketch, a.sketch) == 1.0
