"""Tests for the ONNX ModelProto reader, on protobuf bytes built here (the corpus has no ONNX)."""

from __future__ import annotations

import contextlib
import os
import struct
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.errors import MalformedFileError
from scanner.formats.onnx import (
    MAX_DOC_STRING_BYTES,
    MAX_METADATA_PROPS,
    MAX_OPSET_IMPORTS,
    MAX_READ_BYTES,
    MAX_STRING_BYTES,
    OnnxMetadata,
    OnnxOpset,
    read_onnx_metadata,
)

CORPUS = Path(__file__).resolve().parents[3] / ".." / "shared" / "corpus"

# --- a tiny protobuf encoder ----------------------------------------------------------------


def varint(value: int) -> bytes:
    value %= 2**64  # negative int64 values are sent as their two's complement
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def key(number: int, wire_type: int) -> bytes:
    return varint(number << 3 | wire_type)


def f_varint(number: int, value: int) -> bytes:
    return key(number, 0) + varint(value)


def f_bytes(number: int, value: bytes | str) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return key(number, 2) + varint(len(raw)) + raw


def f_fixed64(number: int, value: int) -> bytes:
    return key(number, 1) + struct.pack("<Q", value)


def f_fixed32(number: int, value: int) -> bytes:
    return key(number, 5) + struct.pack("<I", value)


def opset(domain: str, version: int) -> bytes:
    return f_bytes(8, (f_bytes(1, domain) if domain else b"") + f_varint(2, version))


def prop(name: str, value: str) -> bytes:
    return f_bytes(14, f_bytes(1, name) + f_bytes(2, value))


def write(tmp_path: Path, content: bytes, name: str = "model.onnx") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


FULL_MODEL = b"".join(
    [
        f_varint(1, 8),
        f_bytes(2, "pytorch"),
        f_bytes(3, "2.1.0"),
        f_bytes(4, "org.example"),
        f_varint(5, 3),
        f_bytes(6, "A tiny classifier."),
        f_bytes(7, f_bytes(1, "node-bytes") + bytes(50)),  # the graph: never parsed
        opset("", 17),
        opset("com.microsoft", 1),
        prop("author", "Jane Doe"),
        prop("license", "MIT"),
        f_varint(99, 12345),  # unknown fields of every allowed wire type
        f_fixed64(100, 2**64 - 1),
        f_fixed32(101, 7),
        f_bytes(102, b"\x00\xff"),
        f_bytes(20, b"training"),
        f_bytes(25, b"function-a"),
        f_bytes(25, b"function-b"),
        f_bytes(2, "onnxruntime"),  # a repeated scalar field: the last one wins
    ]
)


# --- well-formed models ---------------------------------------------------------------------


def test_every_top_level_field(tmp_path: Path) -> None:
    meta = read_onnx_metadata(write(tmp_path, FULL_MODEL))
    assert meta == OnnxMetadata(
        ir_version=8,
        producer_name="onnxruntime",
        producer_version="2.1.0",
        domain="org.example",
        model_version=3,
        doc_string="A tiny classifier.",
        doc_string_size=18,
        graph_size=62,
        opset_imports=(
            OnnxOpset(domain="", version=17),
            OnnxOpset(domain="com.microsoft", version=1),
        ),
        metadata_props=(("author", "Jane Doe"), ("license", "MIT")),
        function_count=2,
        training_info_count=1,
    )


def test_minimal_model_has_defaults(tmp_path: Path) -> None:
    meta = read_onnx_metadata(write(tmp_path, f_varint(1, 3)))
    assert meta == OnnxMetadata(ir_version=3)
    assert meta.graph_size is None


def test_negative_int64_and_unknown_fields_inside_entries(tmp_path: Path) -> None:
    entry = f_bytes(1, "ai.onnx.ml") + f_fixed32(9, 1) + f_varint(2, -2) + f_bytes(10, b"x")
    content = f_varint(1, -1) + f_bytes(8, entry) + f_bytes(14, f_varint(3, 1) + f_bytes(2, "v"))
    meta = read_onnx_metadata(write(tmp_path, content))
    assert meta.ir_version == -1
    assert meta.opset_imports == (OnnxOpset(domain="ai.onnx.ml", version=-2),)
    assert meta.metadata_props == (("", "v"),)


def test_multi_megabyte_graph_is_skipped_not_read(tmp_path: Path) -> None:
    # Sparse file: a graph larger than the whole read budget, then fields after it.
    graph_size = MAX_READ_BYTES + 5 * 1024 * 1024
    path = tmp_path / "big.onnx"
    with path.open("wb") as stream:
        stream.write(f_varint(1, 9) + key(7, 2) + varint(graph_size))
        stream.seek(graph_size, os.SEEK_CUR)
        stream.write(opset("", 21) + prop("source", "after the graph"))
    started = time.perf_counter()
    meta = read_onnx_metadata(path)
    assert time.perf_counter() - started < 1
    assert meta.graph_size == graph_size
    assert meta.opset_imports == (OnnxOpset(domain="", version=21),)
    assert meta.metadata_props == (("source", "after the graph"),)


def test_long_doc_string_is_cut_and_its_size_kept(tmp_path: Path) -> None:
    doc = "é" * MAX_DOC_STRING_BYTES  # two bytes each: the cut falls on a character boundary
    odd = "x" + doc  # ... and here in the middle of one
    for text in (doc, odd):
        content = f_varint(1, 7) + f_bytes(6, text) + f_bytes(2, "after")
        meta = read_onnx_metadata(write(tmp_path, content))
        assert meta.doc_string_size == len(text.encode())
        assert meta.doc_string is not None
        assert len(meta.doc_string.encode()) <= MAX_DOC_STRING_BYTES + 2
        assert meta.doc_string.startswith(text[:100])
        assert meta.producer_name == "after"


def test_caps_are_inclusive(tmp_path: Path) -> None:
    content = (
        f_varint(1, 7) + opset("", 1) * MAX_OPSET_IMPORTS + prop("k", "v") * MAX_METADATA_PROPS
    )
    meta = read_onnx_metadata(write(tmp_path, content))
    assert len(meta.opset_imports) == MAX_OPSET_IMPORTS
    assert len(meta.metadata_props) == MAX_METADATA_PROPS


# --- malformed and hostile ------------------------------------------------------------------

HOSTILE: list[tuple[str, bytes, str]] = [
    ("empty", b"", r"file is empty"),
    ("no-ir-version", f_bytes(2, "pytorch"), r"no ir_version field"),
    ("lfs-pointer", b"version https://git-lfs.github.com/spec/v1\n", r"invalid wire type 6"),
    ("truncated-key", b"\x80", r"truncated: a field key in ModelProto"),
    ("truncated-varint", b"\x08\x80\x80", r"truncated: ir_version needs 1 bytes"),
    ("varint-11-bytes", b"\x08" + b"\xff" * 10 + b"\x01", r"ir_version is longer than 10 bytes"),
    ("varint-overflow", b"\x08" + b"\xff" * 9 + b"\x7f", r"ir_version overflows 64 bits"),
    ("length-past-eof", f_varint(1, 7) + key(7, 2) + varint(1000) + bytes(10), r"truncated: graph"),
    ("length-2^63", f_varint(1, 7) + key(99, 2) + varint(2**63), r"truncated: field 99 needs"),
    ("fixed64-past-eof", f_varint(1, 7) + key(99, 1) + b"\x00" * 7, r"truncated: field 99 needs 8"),
    ("fixed32-past-eof", f_varint(1, 7) + key(99, 5) + b"\x00" * 3, r"truncated: field 99 needs 4"),
    ("group-start", f_varint(1, 7) + key(99, 3), r"field 99 in ModelProto uses a group"),
    ("group-end", f_varint(1, 7) + key(99, 4), r"field 99 in ModelProto uses a group"),
    ("wire-type-6", f_varint(1, 7) + key(99, 6), r"invalid wire type 6"),
    ("wire-type-7", f_varint(1, 7) + key(99, 7), r"invalid wire type 7"),
    ("field-number-0", b"\x00", r"field number 0 in ModelProto is out of range"),
    ("field-number-too-big", key(2**29, 0) + b"\x00", r"field number 536870912 .* out of range"),
    ("ir-version-as-bytes", f_bytes(1, b"\x08"), r"ir_version has wire type 2, expected 0"),
    ("producer-as-varint", f_varint(1, 7) + f_varint(2, 1), r"producer_name has wire type 0"),
    ("graph-as-fixed32", f_varint(1, 7) + f_fixed32(7, 1), r"graph has wire type 5"),
    ("producer-not-utf8", f_varint(1, 7) + f_bytes(2, b"\xff\xfe"), r"producer_name is not UTF-8"),
    (
        "producer-over-cap",
        f_varint(1, 7) + key(2, 2) + varint(MAX_STRING_BYTES + 1) + bytes(MAX_STRING_BYTES + 1),
        r"producer_name is 1048577 bytes, cap is 1048576",
    ),
    (
        "opset-entry-over-cap",
        f_varint(1, 7) + key(8, 2) + varint(3 * MAX_STRING_BYTES) + bytes(3 * MAX_STRING_BYTES),
        r"opset_import entry is 3145728 bytes",
    ),
    (
        "opset-version-as-bytes",
        f_varint(1, 7) + f_bytes(8, f_bytes(2, b"17")),
        r"opset_import.version has wire type 2",
    ),
    (
        "opset-entry-truncated-inside",
        f_varint(1, 7) + f_bytes(8, key(1, 2) + varint(50) + b"ai"),
        r"truncated: opset_import.domain needs 50 bytes",
    ),
    (
        "prop-key-as-varint",
        f_varint(1, 7) + f_bytes(14, f_varint(1, 5)),
        r"metadata_props.key has wire type 0",
    ),
    (
        "prop-group",
        f_varint(1, 7) + f_bytes(14, key(2, 3)),
        r"field 2 in metadata_props uses a group",
    ),
    (
        "too-many-opsets",
        f_varint(1, 7) + opset("", 1) * (MAX_OPSET_IMPORTS + 1),
        r"more than 1024 opset_import entries",
    ),
    (
        "too-many-props",
        f_varint(1, 7) + prop("k", "v") * (MAX_METADATA_PROPS + 1),
        r"more than 4096 metadata_props entries",
    ),
]


@pytest.mark.parametrize(
    ("content", "message"),
    [(content, message) for _, content, message in HOSTILE],
    ids=[name for name, _, _ in HOSTILE],
)
def test_hostile_models_fail_fast(tmp_path: Path, content: bytes, message: str) -> None:
    path = write(tmp_path, content)
    started = time.perf_counter()
    with pytest.raises(MalformedFileError, match=message):
        read_onnx_metadata(path)
    assert time.perf_counter() - started < 1


def test_too_many_fields(tmp_path: Path) -> None:
    path = write(tmp_path, f_varint(1, 7) + f_varint(99, 0) * 100_000)
    with pytest.raises(MalformedFileError, match=r"ModelProto has more than 100000 fields"):
        read_onnx_metadata(path)


def test_read_budget_covers_the_whole_file(tmp_path: Path) -> None:
    # Sparse: 65 metadata values of 1 MiB each are each within the caps, not in total.
    value = f_bytes(1, "k") + key(2, 2) + varint(MAX_STRING_BYTES)
    path = tmp_path / "props.onnx"
    with path.open("wb") as stream:
        stream.write(f_varint(1, 7))
        for _ in range(MAX_READ_BYTES // MAX_STRING_BYTES + 1):
            stream.write(key(14, 2) + varint(len(value) + MAX_STRING_BYTES) + value)
            stream.seek(MAX_STRING_BYTES, os.SEEK_CUR)
        stream.write(b"\x00")  # materialise the last hole
    with pytest.raises(MalformedFileError, match=r"exceed the 67108864-byte read cap"):
        read_onnx_metadata(path)


def test_real_git_lfs_pointer_is_malformed() -> None:
    path = CORPUS / "models" / "BAAI__bge-large-zh-v1.5" / "pytorch_model.bin"
    if not path.is_file():
        pytest.skip("corpus LFS pointer is absent")
    with pytest.raises(MalformedFileError):
        read_onnx_metadata(path)


def test_directory_is_an_os_error_not_malformed(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError):
        read_onnx_metadata(tmp_path)


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "model.onnx"
    os.mkfifo(fifo)
    with pytest.raises(MalformedFileError, match="not a regular file"):
        read_onnx_metadata(fifo)


# --- fuzz -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One directory for every fuzz example (hypothesis cannot use function-scoped tmp_path)."""
    return tmp_path_factory.mktemp("fuzz")


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_fuzz_mutated_model(fuzz_dir: Path, data: st.DataObject) -> None:
    content = bytearray(FULL_MODEL[: data.draw(st.integers(0, len(FULL_MODEL)), label="cut")])
    for _ in range(data.draw(st.integers(0, 6), label="mutations")):
        if content:
            position = data.draw(st.integers(0, len(content) - 1), label="position")
            content[position] = data.draw(st.integers(0, 255), label="byte")
    path = write(fuzz_dir, bytes(content))
    with contextlib.suppress(MalformedFileError):
        read_onnx_metadata(path)


@settings(max_examples=200, deadline=None)
@given(content=st.binary(max_size=200))
def test_fuzz_random_bytes(fuzz_dir: Path, content: bytes) -> None:
    path = write(fuzz_dir, f_varint(1, 7) + content)
    try:
        meta = read_onnx_metadata(path)
    except MalformedFileError:
        return
    assert len(meta.opset_imports) <= MAX_OPSET_IMPORTS
