"""Tests for the dispatcher: which analyser reads a file, by content then name."""

from __future__ import annotations

import gzip
import io
import os
import struct
import tarfile
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.analysis.dispatch import (
    ROUTES,
    ZIP_LAYOUTS,
    Route,
    ZipLayout,
    analyze_path,
    analyze_stream,
    layout_of,
    route_of,
)
from scanner.analysis.load_risk import FileAnalysis
from scanner.analysis.seven_zip import SEVEN_ZIP_MAGIC
from scanner.analysis.zip_archive import read_zip
from scanner.core.errors import MalformedFileError
from tests.unit.analysis.archives import (
    EVIL_PICKLE,
    analyze_archive,
    corpus_file,
    high_callables,
    torch_zip,
)

if TYPE_CHECKING:
    from scanner.analysis.builder import AnalysisBuilder
    from scanner.analysis.zip_archive import ZipArchive


#: A safetensors header of exactly 0x0280 bytes: the file starts ``80 02``, a pickle's PROTO 2.
SAFETENSORS_0280 = struct.pack("<Q", 0x0280) + b'{"__metadata__":{"format":"pt"}}'.ljust(0x0280)


# --- dispatch -------------------------------------------------------------------------------------


def test_png_named_pt_is_not_a_model_file() -> None:
    assert analyze_path(corpus_file("picklescan/data/bad_pytorch.pt")) is None


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("model.safetensors", SAFETENSORS_0280),  # a real header that starts 80 02 like a pickle
        ("model.gguf", b"GGUF\x03\x00\x00\x00" + bytes(16)),
        ("model.msgpack", b"\x81\xa6params\x80"),  # {"params": {}}
        ("model.tflite", b"\x1c\x00\x00\x00TFL3" + bytes(8)),
        ("README.txt", b"hello.\n"),  # 'h' is BINGET, '.' STOP: but LIST underflows first
        ("run.py", b"import os\nos.system('x')\n"),  # INST "mport os" "os.system('x')"
        ("model.onnx", b"\x08\x07\x12\x07pytorch"),
        ("ggml-model.bin", b"lmgg\x01\x00\x00\x00"),
        ("raw.bin", b"\x00\x01\x02\x03"),
        ("README.md", b"# a model\n"),
        ("empty.pt", b""),
    ],
)
def test_dispatch_has_nothing_to_say(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert analyze_path(path) is None


def test_dispatch_by_magic(tmp_path: Path) -> None:
    zip_named_bin = torch_zip(tmp_path / "pytorch_model.bin", EVIL_PICKLE)
    legacy = tmp_path / "legacy.pt"
    legacy.write_bytes(EVIL_PICKLE)
    pickle_as_npy = tmp_path / "array.npy"  # numpy.load unpickles a non-.npy file
    pickle_as_npy.write_bytes(EVIL_PICKLE)
    protocol0 = tmp_path / "old.pkl"
    protocol0.write_bytes(b"cposix\nsystem\n(S'id'\ntR.")
    for path in (zip_named_bin, legacy, pickle_as_npy, protocol0):
        analysis = analyze_path(path)
        assert analysis is not None, path
        assert "posix.system" in high_callables(analysis), path
    analysis = analyze_path(zip_named_bin)
    assert analysis is not None
    assert analysis.format == "pytorch-zip"


def test_dispatch_refuses_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "model.pt"
    os.mkfifo(fifo)
    with pytest.raises(MalformedFileError, match="not a regular file"):
        analyze_path(fifo)


# --- the dispatch tables: every row reached by an input of its own -------------------------------

# Protocol 0 and 2 pickles written opcode by opcode (never by pickling an object).
OS_SYSTEM_V0 = b"cos\nsystem\n(S'id'\ntR."
ORDERED_DICT_V2 = b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01."
KERAS_CONFIG = b'{"module": "keras", "class_name": "Sequential", "config": {"layers": []}}'
KERAS_METADATA = b'{"keras_version": "3.4.1"}'


def npy(descr: str, shape: tuple[int, ...], data: bytes) -> bytes:
    """A version 1.0 .npy file written by hand: magic, header length, dict literal, data."""
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape!r}, }}".encode()
    size = -(-(10 + len(header) + 1) // 64) * 64 - 10  # numpy aligns the data to 64 bytes
    padded = header.ljust(size - 1) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(padded)) + padded + data


def zipped(members: dict[str, bytes]) -> bytes:
    """A zip of ``members``, built in memory."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return buffer.getvalue()


def legacy_tar_bytes(data_pickle: bytes) -> bytes:
    """A tar holding one ``pickle`` member, as torch's legacy format names it."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("pickle")
        info.size = len(data_pickle)
        tar.addfile(info, io.BytesIO(data_pickle))
    return buffer.getvalue()


INT_NPY = npy("<i4", (2,), struct.pack("<2i", 1, 2))
TORCH_ZIP = zipped({"archive/data.pkl": ORDERED_DICT_V2, "archive/version": b"3\n"})

#: Per row of ``ROUTES``: (file name, content, the format its analysis has; None: no analysis).
ROUTE_INPUTS: dict[str, tuple[str, bytes, str | None]] = {
    "zip": ("pytorch_model.bin", TORCH_ZIP, "pytorch-zip"),
    "7z": ("model.pt", SEVEN_ZIP_MAGIC + bytes(26), "7z"),
    "npy": ("weights.npy", INT_NPY, "numpy"),
    "torch-legacy-tar": ("model.pt", legacy_tar_bytes(ORDERED_DICT_V2), "pytorch-legacy-tar"),
    "zip-by-name": (
        "model.keras",
        b"#!/bin/sh\n" + zipped({"config.json": KERAS_CONFIG, "metadata.json": KERAS_METADATA}),
        "keras",
    ),
    # Not an HDF5 file h5py can parse: what Keras would load from it is unknown.
    "keras-h5": ("model.h5", b"\x89HDF\r\n\x1a\n" + bytes(56), "hdf5"),
    "pickle-by-name": ("model.joblib", OS_SYSTEM_V0, "joblib"),
    "own-format": ("model.safetensors", SAFETENSORS_0280, None),
    "compressed-pickle": ("model.pkl.gz", gzip.compress(ORDERED_DICT_V2), "pickle"),
    "pickle-by-opcode": ("state.dat", ORDERED_DICT_V2, "pickle"),
    "pickle-by-loader": ("legacy.bin", OS_SYSTEM_V0, "pickle"),
    "pickle-by-content": ("notes.txt", b"N0" + OS_SYSTEM_V0, "pickle"),
}
#: Per row of ``ZIP_LAYOUTS``: (file name, the zip's members, the format its analysis has).
LAYOUT_INPUTS: dict[str, tuple[str, dict[str, bytes], str]] = {
    "keras": (
        "model.keras",
        {"config.json": KERAS_CONFIG, "metadata.json": KERAS_METADATA},
        "keras",
    ),
    "keras-like": (
        "model.zip",
        {"config.json": KERAS_CONFIG, "metadata.json": KERAS_METADATA, "x.pkl": OS_SYSTEM_V0},
        "keras",
    ),
    "npz": ("arrays.zip", {"a.npy": INT_NPY, "b.npy": INT_NPY}, "npz"),
    "pytorch-or-zip": (
        "model.pt",
        {"archive/data.pkl": ORDERED_DICT_V2, "archive/version": b"3\n"},
        "pytorch-zip",
    ),
}


def test_every_row_has_an_input() -> None:
    assert set(ROUTE_INPUTS) == {route.name for route in ROUTES}
    assert set(LAYOUT_INPUTS) == {layout.name for layout in ZIP_LAYOUTS}


def _recording(row: Route, calls: list[str]) -> Route:
    def analyse(stream: BinaryIO, name: str) -> FileAnalysis | None:
        calls.append(row.name)
        return row.analyse(stream, name)

    return replace(row, analyse=analyse)


def _recording_layout(row: ZipLayout, calls: list[str]) -> ZipLayout:
    def analyse(archive: ZipArchive, builder: AnalysisBuilder) -> str:
        calls.append(row.name)
        return row.analyse(archive, builder)

    return replace(row, analyse=analyse)


def _analyse_from_start_and_mid_file(data: bytes, name: str) -> FileAnalysis | None:
    """The analysis of ``data`` from a stream at its start, checked to be the same from a
    stream positioned mid-file."""
    from_start = analyze_stream(io.BytesIO(data), name)
    mid_file = io.BytesIO(data)
    mid_file.seek(len(data) // 2)
    assert analyze_stream(mid_file, name) == from_start
    return from_start


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.name)
def test_each_route_reaches_its_analyser(
    route: Route, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, data, expected = ROUTE_INPUTS[route.name]
    calls: list[str] = []
    monkeypatch.setattr(
        "scanner.analysis.dispatch.ROUTES", tuple(_recording(row, calls) for row in ROUTES)
    )
    analysis = _analyse_from_start_and_mid_file(data, name)
    assert calls == [route.name, route.name]
    monkeypatch.undo()
    assert (analysis.format if analysis is not None else None) == expected
    path = tmp_path / name
    path.write_bytes(data)
    assert analyze_path(path) == analysis
    with path.open("rb") as stream:
        stream.seek(len(data) // 2)
        assert route_of(stream, name) is route


@pytest.mark.parametrize("layout", ZIP_LAYOUTS, ids=lambda layout: layout.name)
def test_each_zip_layout_reaches_its_analyser(
    layout: ZipLayout, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, members, expected = LAYOUT_INPUTS[layout.name]
    data = zipped(members)
    calls: list[str] = []
    monkeypatch.setattr(
        "scanner.analysis.dispatch.ZIP_LAYOUTS",
        tuple(_recording_layout(row, calls) for row in ZIP_LAYOUTS),
    )
    analysis = _analyse_from_start_and_mid_file(data, name)
    assert calls == [layout.name, layout.name]
    assert analysis is not None
    assert analysis.format == expected
    monkeypatch.undo()
    assert layout_of(read_zip(io.BytesIO(data)), name) is layout


def test_routes_find_what_they_say() -> None:
    # The unsafe import of each pickle input is seen whichever row read it.
    for route in ("pickle-by-name", "pickle-by-loader", "pickle-by-content"):
        name, data, _ = ROUTE_INPUTS[route]
        analysis = analyze_stream(io.BytesIO(data), name)
        assert analysis is not None
        assert "os.system" in high_callables(analysis)
    name, members, _ = LAYOUT_INPUTS["keras-like"]
    analysis = analyze_stream(io.BytesIO(zipped(members)), name)
    assert analysis is not None
    assert "os.system" in high_callables(analysis)  # its pickles count too


# --- fuzz -----------------------------------------------------------------------------------------


_FUZZ = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_SEED_ZIP = io.BytesIO()
with zipfile.ZipFile(_SEED_ZIP, "w", compression=zipfile.ZIP_DEFLATED) as _seed:
    _seed.writestr("archive/data.pkl", EVIL_PICKLE)
    _seed.writestr("archive/version", b"3\n")
    _seed.writestr("archive/code/x.py", b"pass\n")
SEED = _SEED_ZIP.getvalue()


def _analyse_or_malformed(path: Path) -> None:
    try:
        result = analyze_path(path)
    except MalformedFileError:
        return
    assert result is None or isinstance(result, FileAnalysis)


@_FUZZ
@given(st.binary(max_size=2048))
def test_fuzz_arbitrary_bytes(tmp_path: Path, data: bytes) -> None:
    for prefix in (b"", b"PK\x03\x04"):
        path = tmp_path / "fuzz.pt"
        path.write_bytes(prefix + data)
        _analyse_or_malformed(path)


@_FUZZ
@given(st.lists(st.tuples(st.integers(0, len(SEED) - 1), st.integers(0, 255)), max_size=8))
def test_fuzz_mutated_zip(tmp_path: Path, flips: list[tuple[int, int]]) -> None:
    data = bytearray(SEED)
    for offset, value in flips:
        data[offset] = value
    path = tmp_path / "fuzz.pt"
    path.write_bytes(bytes(data))
    _analyse_or_malformed(path)


def test_seed_zip_is_what_the_fuzz_mutates(tmp_path: Path) -> None:
    path = tmp_path / "seed.pt"
    path.write_bytes(SEED)
    analysis = analyze_archive(path)
    assert analysis.format == "torchscript"
    assert "posix.system" in high_callables(analysis)


def test_the_opcode_start_is_every_opcode_and_nothing_else() -> None:
    """The route that reads any file as a pickle first tests its first byte against every
    opcode the standard library's pickletools knows, which the analyser's table handles too."""
    import pickletools

    from scanner.analysis.magic import PICKLE_OPCODE_START
    from scanner.analysis.pickle.opcodes import HANDLERS

    opcodes = {ord(op.code) for op in pickletools.opcodes}
    assert {b for b in range(256) if PICKLE_OPCODE_START.match(bytes([b]))} == opcodes
    assert {b for b, handler in enumerate(HANDLERS) if handler is not None} == opcodes


def test_a_file_whose_first_byte_is_no_opcode_is_no_pickle() -> None:
    """What the first-byte test skips, the analyser would have found harmless: the unpickler
    stops at an unknown first opcode, before any call could be named."""
    import io

    from scanner.analysis.magic import PICKLE_OPCODE_START
    from scanner.analysis.pickle.scan import scan_pickle_content

    evil = b"cposix\nsystem\n(S'id'\ntR."  # protocol 0: GLOBAL, MARK, STRING, TUPLE, REDUCE
    assert scan_pickle_content(io.BytesIO(evil), "notes.txt") is not None
    for first in range(256):
        if PICKLE_OPCODE_START.match(bytes([first])):
            continue
        data = bytes([first]) + evil
        assert scan_pickle_content(io.BytesIO(data), "notes.txt") is None, first
        assert analyze_stream(io.BytesIO(data), "notes.txt") is None, first
        # torch.load's names: parsed whatever the first opcode, and dropped when none
        assert analyze_stream(io.BytesIO(data), "pytorch_model.bin") is None, first
