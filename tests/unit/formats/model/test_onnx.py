"""Tests for the ONNX ModelProto reader and its external-data references, on protobuf bytes
built here (the corpus has no ONNX)."""

from __future__ import annotations

import contextlib
import os
import re
import struct
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.analysis.load_risk import LoadRisk, RiskKind
from scanner.analysis.onnx_external_data import MAX_LOCATION_RISKS, external_data_risks
from scanner.core.errors import MalformedFileError
from scanner.core.model import Severity
from scanner.formats.model import onnx
from scanner.formats.model.onnx import (
    MAX_DOC_STRING_BYTES,
    MAX_EXTERNAL_DATA_ENTRIES,
    MAX_GRAPH_DEPTH,
    MAX_GROUP_DEPTH,
    MAX_METADATA_PROPS,
    MAX_OPSET_IMPORTS,
    MAX_READ_BYTES,
    MAX_STRING_BYTES,
    MAX_TENSOR_NAME_BYTES,
    OnnxExternalData,
    OnnxMetadata,
    OnnxOpset,
    read_onnx_metadata,
)
from tests.conftest import CORPUS as CORPUS_ROOT

CORPUS = CORPUS_ROOT

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
        f_bytes(7, f_bytes(1, "node-bytes") + bytes(50)),  # a graph that is not protobuf
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
        graph_problems=(
            "the graph at offset 55 is malformed (field 13 in NodeProto has invalid wire "
            "type 6): its tensors were not examined for external data",
            "the function at offset 215 is malformed (field 12 in FunctionProto has invalid "
            "wire type 6): its tensors were not examined for external data",
            "the function at offset 228 is malformed (field 12 in FunctionProto has invalid "
            "wire type 6): its tensors were not examined for external data",
        ),
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


# --- external data: builders ---------------------------------------------------------------


def entry(name: str, value: str | bytes) -> bytes:
    return f_bytes(13, f_bytes(1, name) + f_bytes(2, value))


def tensor(
    name: str = "w",
    *,
    location: str | bytes | None = None,
    external: bool = True,
    extra: bytes = b"",
    raw_data: bytes = b"",
) -> bytes:
    """A TensorProto: dims [4], FLOAT, the name, then data or external-data entries."""
    body = f_varint(1, 4) + f_varint(2, 1) + f_bytes(8, name) + extra
    if raw_data:
        body += f_bytes(9, raw_data)
    if location is not None:
        body += entry("location", location) + entry("offset", "4096") + entry("length", "16")
    if external:
        body += f_varint(14, 1)
    return body


def initializer(body: bytes) -> bytes:
    return f_bytes(5, body)


def node(*attributes: bytes, field: int = 1) -> bytes:
    """A NodeProto in a graph (field 1), or in a function with ``field=7``."""
    fields = f_bytes(1, "x") + f_bytes(2, "y") + f_bytes(4, "Constant")
    return f_bytes(field, fields + b"".join(f_bytes(5, a) for a in attributes))


def tensor_attribute(body: bytes) -> bytes:
    return f_bytes(1, "value") + f_varint(20, 4) + f_bytes(5, body)


def graph_attribute(graph: bytes) -> bytes:
    return f_bytes(1, "then_branch") + f_varint(20, 5) + f_bytes(6, graph)


def model(graph: bytes, *after: bytes) -> bytes:
    return f_varint(1, 8) + f_bytes(7, graph) + opset("", 17) + b"".join(after)


def ref(tensor: str, location: str) -> OnnxExternalData:
    return OnnxExternalData(tensor=tensor, location=location, offset=4096, length=16)


def read(tmp_path: Path, content: bytes) -> OnnxMetadata:
    return read_onnx_metadata(write(tmp_path, content))


# --- external data: where it is found -------------------------------------------------------


def test_initializers_with_external_data(tmp_path: Path) -> None:
    graph = (
        f_bytes(2, "main")
        + initializer(tensor("embed", location="model.onnx_data"))
        + initializer(tensor("bias", external=False, raw_data=b"\x00" * 16))
        + initializer(tensor("head", location="weights/head.bin"))
    )
    meta = read(tmp_path, model(graph, prop("k", "v")))
    assert meta.external_data == (ref("embed", "model.onnx_data"), ref("head", "weights/head.bin"))
    assert meta.tensors_examined == 3
    assert meta.graph_problems == ()
    assert meta.graph_size == len(graph)
    assert meta.metadata_props == (("k", "v"),)
    assert external_data_risks(meta) == ()


def test_every_external_data_entry_is_kept(tmp_path: Path) -> None:
    body = (
        f_bytes(8, "w")
        + entry("location", "w.bin")
        + entry("offset", "0")
        + entry("length", "not-a-number")
        + entry("checksum", "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        + entry("offset", "8192")  # repeated: the last one wins
        + f_varint(14, 1)
    )
    meta = read(tmp_path, model(initializer(body)))
    assert meta.external_data == (
        OnnxExternalData(
            tensor="w",
            location="w.bin",
            offset=8192,
            length=None,
            checksum="da39a3ee5e6b4b0d3255bfef95601890afd80709",
        ),
    )


def test_tensors_in_nodes_subgraphs_sparse_initializers_and_functions(tmp_path: Path) -> None:
    subgraph = initializer(tensor("inner", location="../inner.bin"))
    sparse = f_bytes(1, tensor("values", location="v.bin")) + f_bytes(2, tensor("indices"))
    graph = (
        node(tensor_attribute(tensor("constant", location="c.bin")))
        + node(graph_attribute(subgraph))
        + node(f_bytes(1, "list") + f_bytes(10, tensor("listed", location="l.bin")))
        + f_bytes(15, sparse)
    )
    function = f_bytes(1, "f") + node(
        tensor_attribute(tensor("in-function", location="/f")), field=7
    )
    function_defaults = f_bytes(11, tensor_attribute(tensor("default", location="d.bin")))
    meta = read(tmp_path, model(graph, f_bytes(25, function + function_defaults)))
    assert meta.external_data == (
        ref("constant", "c.bin"),
        ref("inner", "../inner.bin"),
        ref("listed", "l.bin"),
        ref("values", "v.bin"),
        OnnxExternalData(tensor="indices", location=""),  # marked EXTERNAL, no location
        ref("in-function", "/f"),
        ref("default", "d.bin"),
    )
    assert meta.tensors_examined == 7
    assert meta.function_count == 1


def test_training_info_is_not_walked(tmp_path: Path) -> None:
    training = f_bytes(1, initializer(tensor("t", location="../t.bin")))
    meta = read(tmp_path, model(b"", f_bytes(20, training)))
    assert meta.external_data == ()
    assert meta.training_info_count == 1


def test_location_without_the_external_flag_is_still_listed(tmp_path: Path) -> None:
    meta = read(tmp_path, model(initializer(tensor("w", location="../x", external=False))))
    assert meta.external_data == (ref("w", "../x"),)


def test_every_distinct_location_of_a_tensor_is_listed(tmp_path: Path) -> None:
    body = tensor("w", extra=entry("location", "../../etc/shadow"), location="plain.bin")
    meta = read(tmp_path, model(initializer(body)))
    assert [r.location for r in meta.external_data] == ["../../etc/shadow", "plain.bin"]
    (risk,) = external_data_risks(meta)
    assert "'../../etc/shadow'" in risk.message


def test_raw_data_is_skipped_not_read(tmp_path: Path) -> None:
    # Sparse file: one initializer holds more raw bytes than the whole read budget.
    raw_size = MAX_READ_BYTES + 1024 * 1024
    big_head = f_varint(1, 4) + f_bytes(8, "big") + key(9, 2) + varint(raw_size)
    big_len = len(big_head) + raw_size
    after = initializer(tensor("next", location="../../etc/passwd"))
    graph_len = len(key(5, 2) + varint(big_len)) + big_len + len(after)
    path = tmp_path / "big.onnx"
    with path.open("wb") as stream:
        stream.write(f_varint(1, 8) + key(7, 2) + varint(graph_len))
        stream.write(key(5, 2) + varint(big_len) + big_head)
        stream.seek(raw_size, os.SEEK_CUR)
        stream.write(after + prop("source", "after the graph"))
    started = time.perf_counter()
    meta = read_onnx_metadata(path)
    assert time.perf_counter() - started < 1
    assert meta.external_data == (ref("next", "../../etc/passwd"),)
    assert meta.tensors_examined == 2
    assert meta.metadata_props == (("source", "after the graph"),)


@pytest.mark.parametrize("window", [32, onnx._WINDOW_BYTES])
def test_large_graph_is_walked_across_read_windows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, window: int
) -> None:
    # Names of every length up to 300 bytes put field boundaries at every offset of the
    # reader's window, with one- and two-byte lengths; a tiny window also makes names longer
    # than the window, read apart.
    monkeypatch.setattr(onnx, "_WINDOW_BYTES", window)
    expected = []
    graph = b""
    for n in range(600):
        name = f"{n}-" + "x" * (n % 300)
        if n % 7 == 0:
            graph += initializer(tensor(name, location=f"../{n}"))
            expected.append(ref(name, f"../{n}"))
        else:
            graph += node(tensor_attribute(tensor(name, external=False, raw_data=bytes(n))))
    meta = read(tmp_path, model(graph, prop("k", "v")))
    assert len(graph) > 100_000
    assert meta.external_data == tuple(expected)
    assert meta.tensors_examined == 600
    assert meta.graph_problems == ()
    assert meta.metadata_props == (("k", "v"),)


def test_long_tensor_name_is_cut(tmp_path: Path) -> None:
    name = "n" * (MAX_TENSOR_NAME_BYTES + 10)
    meta = read(tmp_path, model(initializer(tensor(name, location="w.bin"))))
    assert meta.external_data[0].tensor == "n" * MAX_TENSOR_NAME_BYTES


def test_unknown_groups_and_mistyped_fields_are_skipped_like_protobuf(tmp_path: Path) -> None:
    group = key(30, 3) + f_varint(1, 5) + key(31, 3) + f_bytes(2, "x") + key(31, 4) + key(30, 4)
    graph = (
        group
        + f_varint(5, 7)  # initializer with a varint wire type: an unknown field to protobuf
        + f_fixed32(40, 1)
        + f_fixed64(2**20, 2)
        + f_varint(2**28, 2**63)  # a five-byte key and a ten-byte value
        + initializer(tensor("w", extra=group, location="../w"))
    )
    meta = read(tmp_path, model(graph))
    assert meta.external_data == (ref("w", "../w"),)
    assert meta.graph_problems == ()


def test_non_utf8_location_is_shown_and_still_judged(tmp_path: Path) -> None:
    meta = read(tmp_path, model(initializer(tensor("w", location=b"../\xff/x"))))
    assert meta.external_data[0].location == "../\ufffd/x"
    (risk,) = external_data_risks(meta)
    assert risk.message == "tensor 'w' reads its data from '../\ufffd/x': outside the model folder"


# --- external data: malformed graphs and caps -----------------------------------------------

MALFORMED_GRAPHS: list[tuple[str, bytes, str]] = [
    ("garbage", b"\xff", r"truncated: a field key in GraphProto"),
    ("field-zero", bytes(4), r"field number 0 in GraphProto is out of range"),
    ("stray-group-end", key(9, 4), r"field 9 in GraphProto ends a group that was not open"),
    ("unclosed-group", key(9, 3) + f_varint(1, 1), r"truncated: group 9 in GraphProto never ends"),
    ("mismatched-group", key(9, 3) + key(8, 4), r"group end 8 in GraphProto does not match"),
    (
        "deep-groups",
        b"".join(key(9, 3) for _ in range(MAX_GROUP_DEPTH + 1)),
        rf"groups in GraphProto nest deeper than {MAX_GROUP_DEPTH}",
    ),
    (
        "initializer-overruns-graph",
        key(5, 2) + varint(100) + b"x",
        r"truncated: TensorProto needs 100 bytes",
    ),
    (
        "tensor-field-overruns-tensor",
        initializer(key(9, 2) + varint(50)),
        r"truncated: field 9 needs 50 bytes",
    ),
    (
        "too-many-entries",
        initializer(entry("offset", "0") * (MAX_EXTERNAL_DATA_ENTRIES + 1)),
        rf"tensor '' has more than {MAX_EXTERNAL_DATA_ENTRIES} external_data entries",
    ),
    (
        "oversized-entry",
        initializer(key(13, 2) + varint(3 * MAX_STRING_BYTES) + bytes(3 * MAX_STRING_BYTES)),
        r"external_data entry is 3145728 bytes",
    ),
]


@pytest.mark.parametrize(
    ("graph", "problem"),
    [(graph, problem) for _, graph, problem in MALFORMED_GRAPHS],
    ids=[name for name, _, _ in MALFORMED_GRAPHS],
)
def test_malformed_graph_is_a_problem_not_an_error(
    tmp_path: Path, graph: bytes, problem: str
) -> None:
    good = initializer(tensor("first", location="../first"))
    content = model(good) + f_bytes(7, graph) + prop("k", "v")
    meta = read(tmp_path, content)
    assert meta.external_data == (ref("first", "../first"),)  # the well-formed part counts
    assert meta.metadata_props == (("k", "v"),)  # what follows the graph is still read
    assert meta.graph_size == len(good) + len(graph)
    (found,) = meta.graph_problems
    assert found.startswith(
        f"the graph at offset {len(content) - len(prop('k', 'v')) - len(graph)}"
    )
    assert re.search(problem, found), found
    assert found.endswith(": its tensors were not examined for external data")


def test_subgraphs_deeper_than_the_cap_are_not_walked(tmp_path: Path) -> None:
    def nested(levels: int) -> bytes:
        graph = initializer(tensor(f"level-{levels}", location="../deep"))
        for level in range(levels - 1, -1, -1):
            graph = initializer(tensor(f"level-{level}")) + node(graph_attribute(graph))
        return graph

    meta = read(tmp_path, model(nested(MAX_GRAPH_DEPTH + 1)))
    assert [r.tensor for r in meta.external_data] == [f"level-{n}" for n in range(17)]
    assert meta.graph_problems == (
        f"subgraphs nested deeper than {MAX_GRAPH_DEPTH} levels were not examined for "
        "external data",
    )
    assert read(tmp_path, model(nested(MAX_GRAPH_DEPTH))).graph_problems == ()


@pytest.mark.parametrize(
    ("cap", "value", "problem"),
    [
        (
            "MAX_TENSORS_EXAMINED",
            3,
            "the model has more than 3 tensors: the rest were not examined for external data",
        ),
        (
            "MAX_EXTERNAL_REFS",
            3,
            "more than 3 external-data references: the rest were not examined",
        ),
        (
            "MAX_GRAPH_FIELDS",
            30,
            "the graphs have more than 30 fields: the rest was not examined for external data",
        ),
    ],
)
def test_walk_caps_stop_the_walk_with_a_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cap: str, value: int, problem: str
) -> None:
    monkeypatch.setattr(onnx, cap, value)
    graph = b"".join(initializer(tensor(f"t{n}", location=f"t{n}.bin")) for n in range(10))
    meta = read(tmp_path, model(graph, model(graph)[2:], prop("k", "v")))
    assert meta.graph_problems == (problem,)
    assert len(meta.external_data) <= 3
    assert meta.metadata_props == (("k", "v"),)
    assert meta.opset_imports == (OnnxOpset(domain="", version=17),) * 2
    risks = external_data_risks(meta)
    assert risks == (LoadRisk(kind=RiskKind.UNREADABLE, severity=Severity.MEDIUM, message=problem),)


def test_graph_problems_are_capped(tmp_path: Path) -> None:
    content = f_varint(1, 8) + b"".join(f_bytes(7, bytes([n]) * 2) for n in range(40))
    meta = read(tmp_path, content)
    assert len(meta.graph_problems) == onnx.MAX_GRAPH_PROBLEMS


# --- external data: risks -------------------------------------------------------------------

HOSTILE_LOCATIONS: list[tuple[str, str]] = [
    ("../../etc/passwd", "outside the model folder"),
    ("weights/../../../x", "outside the model folder"),
    ("..", "outside the model folder"),
    ("./../w.bin", "outside the model folder"),
    ("a/../b/../../w.bin", "outside the model folder"),
    ("weights/../w.bin", "a '..' segment"),
    ("/etc/passwd", "an absolute path"),
    ("//server/share/w", "an absolute path"),
    ("C:/Windows/win.ini", "a drive letter: an absolute Windows path"),
    ("c:w.bin", "a drive letter: an absolute Windows path"),
    ("..\\..\\secret", "a backslash (a Windows path)"),
    ("\\\\server\\share", "a backslash (a Windows path)"),
    ("w.bin\x00.png", "a NUL byte (the path is cut there)"),
    ("https://evil.example/w.bin", "a URL"),
    ("file:///etc/passwd", "a URL"),
    ("w.bin:stream", "a colon (a drive, a URL scheme or an alternate data stream)"),
    ("", "an empty location (the runtime would open the model's folder itself)"),
]


@pytest.mark.parametrize(("location", "reason"), HOSTILE_LOCATIONS)
def test_hostile_locations_are_high(location: str, reason: str) -> None:
    meta = OnnxMetadata(ir_version=8, external_data=(ref("w", location),))
    assert external_data_risks(meta) == (
        LoadRisk(
            kind=RiskKind.EXTERNAL_DATA,
            severity=Severity.HIGH,
            message=f"tensor 'w' reads its data from {location!r}: {reason}",
        ),
    )


@pytest.mark.parametrize(
    "location",
    ["model.onnx_data", "weights/layer.0.bin", "./w.bin", "..w.bin", "w..bin", "a/.../b", "é.bin"],
)
def test_plain_relative_locations_are_no_risk(location: str) -> None:
    meta = OnnxMetadata(ir_version=8, external_data=(ref("w", location),))
    assert external_data_risks(meta) == ()


def test_the_brief_example_message(tmp_path: Path) -> None:
    meta = read(tmp_path, model(initializer(tensor("T", location="../../etc/passwd"))))
    assert [r.message for r in external_data_risks(meta)] == [
        "tensor 'T' reads its data from '../../etc/passwd': outside the model folder"
    ]


def test_risks_group_tensors_by_location_and_are_capped() -> None:
    shared = tuple(ref(f"t{n}", "/shared") for n in range(3))
    many = tuple(ref(f"u{n}", f"/u{n}") for n in range(MAX_LOCATION_RISKS + 4))
    meta = OnnxMetadata(ir_version=8, external_data=shared + many, graph_problems=("p",))
    risks = external_data_risks(meta)
    assert risks[
        0
    ].message == "tensor 't0' (and 2 more tensors) reads its data from '/shared': " + (
        "an absolute path"
    )
    assert len(risks) == MAX_LOCATION_RISKS + 2
    assert risks[-2] == LoadRisk(
        kind=RiskKind.EXTERNAL_DATA,
        severity=Severity.HIGH,
        message="5 more hostile external-data locations, not listed",
    )
    assert risks[-1] == LoadRisk(kind=RiskKind.UNREADABLE, severity=Severity.MEDIUM, message="p")


def test_long_locations_are_cut_in_messages() -> None:
    meta = OnnxMetadata(ir_version=8, external_data=(ref("w", "../" + "a" * 500),))
    (risk,) = external_data_risks(meta)
    assert risk.message == f"tensor 'w' reads its data from {'../' + 'a' * 197 + '…'!r}: " + (
        "outside the model folder"
    )


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


EXTERNAL_MODEL = model(
    f_bytes(2, "main")
    + initializer(tensor("a", location="a.bin"))
    + node(tensor_attribute(tensor("b", location="../b")))
    + node(graph_attribute(initializer(tensor("c", location="/c"))))
    + f_bytes(15, f_bytes(1, tensor("d", location="d.bin")))
    + key(30, 3)
    + f_varint(1, 1)
    + key(30, 4),
    f_bytes(25, node(tensor_attribute(tensor("e", location="C:/e")), field=7)),
    prop("k", "v"),
)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_fuzz_mutated_external_data_model(fuzz_dir: Path, data: st.DataObject) -> None:
    content = bytearray(EXTERNAL_MODEL)
    for _ in range(data.draw(st.integers(1, 6), label="mutations")):
        position = data.draw(st.integers(0, len(content) - 1), label="position")
        content[position] = data.draw(st.integers(0, 255), label="byte")
    cut = data.draw(st.integers(0, len(content)), label="cut")
    path = write(fuzz_dir, bytes(content[:cut]))
    try:
        meta = read_onnx_metadata(path)
    except MalformedFileError:
        return
    risks = external_data_risks(meta)
    assert len(meta.external_data) <= meta.tensors_examined * MAX_EXTERNAL_DATA_ENTRIES or (
        meta.tensors_examined == 0 and not meta.external_data
    )
    assert all(risk.kind in (RiskKind.EXTERNAL_DATA, RiskKind.UNREADABLE) for risk in risks)


@settings(max_examples=200, deadline=None)
@given(graph=st.binary(max_size=200))
def test_fuzz_random_graph_bytes(fuzz_dir: Path, graph: bytes) -> None:
    meta = read_onnx_metadata(write(fuzz_dir, model(graph, prop("k", "v"))))
    # Whatever the graph holds, the fields around it are read.
    assert meta.opset_imports == (OnnxOpset(domain="", version=17),)
    assert meta.metadata_props == (("k", "v"),)
    assert len(meta.graph_problems) <= 1
    external_data_risks(meta)


def test_fuzz_seed_is_read_whole(tmp_path: Path) -> None:
    meta = read(tmp_path, EXTERNAL_MODEL)
    assert [(r.tensor, r.location) for r in meta.external_data] == [
        ("a", "a.bin"),
        ("b", "../b"),
        ("c", "/c"),
        ("d", "d.bin"),
        ("e", "C:/e"),
    ]
    assert [r.severity for r in external_data_risks(meta)] == [Severity.HIGH] * 3
