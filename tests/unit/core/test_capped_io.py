"""Tests for capped text and JSON reading."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.core.capped_io import (
    METADATA_JSON_MAX_DEPTH,
    json_depth,
    read_bytes_capped,
    read_json_capped,
    read_text_capped,
)
from scanner.core.errors import MalformedFileError
from tests.conftest import CORPUS as CORPUS_ROOT

CORPUS = CORPUS_ROOT


def corpus_file(relative: str) -> Path:
    path = CORPUS / relative
    if not path.is_file():
        pytest.skip(f"corpus file {relative} is absent")
    return path


def write(tmp_path: Path, data: bytes | str, name: str = "file.json") -> Path:
    path = tmp_path / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


# --- text ------------------------------------------------------------------------------------


def test_reads_real_text_file() -> None:
    text = read_text_capped(corpus_file("models/THUDM__chatglm-6b/config.json"), max_bytes=1 << 20)
    assert text.startswith("{")
    assert '"_name_or_path": "THUDM/chatglm-6b"' in text


def test_drops_a_leading_byte_order_mark(tmp_path: Path) -> None:
    path = write(tmp_path, b"\xef\xbb\xbfhello")
    assert read_text_capped(path, max_bytes=100) == "hello"


def test_invalid_utf8_names_the_byte_offset(tmp_path: Path) -> None:
    path = write(tmp_path, b"abc\xffdef")
    with pytest.raises(MalformedFileError, match="invalid UTF-8 at byte offset 3"):
        read_text_capped(path, max_bytes=100)


def test_file_at_the_cap_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, b"x" * 64)
    assert read_bytes_capped(path, max_bytes=64) == b"x" * 64


def test_file_over_the_cap_is_refused_with_its_size(tmp_path: Path) -> None:
    path = write(tmp_path, b"x" * 1000)
    with pytest.raises(
        MalformedFileError,
        match=r"^1000 bytes exceeds the 999-byte limit for metadata files$",
    ):
        read_text_capped(path, max_bytes=999)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "config.json"
    os.mkfifo(fifo)
    with pytest.raises(MalformedFileError, match="not a regular file"):
        read_json_capped(fifo)


def test_directory_is_left_to_the_caller(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError):
        read_text_capped(tmp_path, max_bytes=10)


def test_missing_file_is_left_to_the_caller(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_text_capped(tmp_path / "absent", max_bytes=10)


# --- JSON ------------------------------------------------------------------------------------


def test_reads_real_json() -> None:
    document = read_json_capped(
        corpus_file("models/sentence-transformers__all-MiniLM-L6-v2/config.json")
    )
    assert isinstance(document, dict)
    assert document["_name_or_path"] == "nreimers/MiniLM-L6-H384-uncased"
    assert document["hidden_size"] == 384


def test_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, '{\n  "a": 1,\n  "b": }\n')
    with pytest.raises(MalformedFileError, match="line 3, column 8"):
        read_json_capped(path)


def test_ten_thousand_levels_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "[" * 10_000 + "]" * 10_000)
    with pytest.raises(MalformedFileError, match="nesting"):
        read_json_capped(path)


def test_depth_limit_is_exact(tmp_path: Path) -> None:
    limit = METADATA_JSON_MAX_DEPTH
    at_limit = write(tmp_path, "[" * limit + "]" * limit, "ok.json")
    assert json_depth(read_json_capped(at_limit)) == limit
    over = write(tmp_path, '{"a":' * (limit + 1) + "1" + "}" * (limit + 1), "deep.json")
    with pytest.raises(MalformedFileError, match=f"depth {limit + 1} exceeds the {limit}-level"):
        read_json_capped(over)


def test_brackets_inside_strings_do_not_count_as_depth(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps({"template": "[" * 500 + "{" * 500}))
    assert read_json_capped(path, max_depth=1) == {"template": "[" * 500 + "{" * 500}


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_constants_are_refused(tmp_path: Path, constant: str) -> None:
    path = write(tmp_path, f'{{"x": {constant}}}')
    with pytest.raises(MalformedFileError, match="is not valid JSON"):
        read_json_capped(path)


def test_float_overflow_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, '{"x": 1e999}')
    with pytest.raises(MalformedFileError, match="does not fit a 64-bit float"):
        read_json_capped(path)


def test_integer_over_python_digit_limit_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, '{"x": ' + "9" * 5000 + "}")
    with pytest.raises(MalformedFileError, match="invalid JSON number"):
        read_json_capped(path)


def test_big_but_valid_integer_is_kept(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps({"total_size": 2**100}))
    assert read_json_capped(path) == {"total_size": 2**100}


def test_json_over_the_cap_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps({"x": "y" * 200}))
    with pytest.raises(MalformedFileError, match="exceeds the 100-byte limit"):
        read_json_capped(path, max_bytes=100)


@pytest.mark.parametrize(
    ("document", "depth"),
    [(1, 0), ("s", 0), ([], 1), ({}, 1), ({"a": [{}]}, 3), ([1, [2, [3]], {"k": 1}], 3)],
)
def test_json_depth(document: object, depth: int) -> None:
    assert json_depth(document) == depth


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=512))
def test_fuzz_random_bytes(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    path = write(tmp_path_factory.mktemp("fuzz"), data)
    with contextlib.suppress(MalformedFileError):
        read_json_capped(path, max_bytes=256)


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet='[]{}"\\:,0123456789.eE+-ntrufalsNIy ', max_size=300))
def test_fuzz_json_like_text(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    path = write(tmp_path_factory.mktemp("fuzz"), text)
    try:
        document = read_json_capped(path, max_depth=8)
    except MalformedFileError:
        return
    assert json_depth(document) <= 8
