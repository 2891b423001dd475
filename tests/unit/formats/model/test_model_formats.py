"""The model-format table: one row per format, each row's facts used everywhere they matter."""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path

import pytest

from scanner.core.config import ScanConfig
from scanner.core.errors import MalformedFileError
from scanner.core.properties import PropertyName
from scanner.formats.model.gguf import GgufMetadata
from scanner.formats.model.model_formats import (
    FIRST_BYTES_CHECKED,
    MODEL_FORMATS,
    UNLISTED,
    WEIGHT_SUFFIXES,
    ModelFormat,
    PickleUse,
    format_of,
    holds_weights,
)
from scanner.formats.model.onnx import OnnxMetadata
from scanner.formats.model.safetensors import SafetensorsHeader
from scanner.sources.folder_facts import read_folder_facts
from scanner.sources.inventory import Inventory
from scanner.sources.local_dir import holds_a_model, scan_local
from scanner.sources.walk import walk_target
from tests.conftest import CORPUS


def _scan(folder: Path) -> Inventory:
    config = ScanConfig(cache_dir=folder.parent / "cache", jobs=1, name="m", progress=False)
    return scan_local(folder, config, cache=None)


ROWS = {f"{row.name}{row.suffixes}": row for row in MODEL_FORMATS}


def test_every_suffix_names_one_row() -> None:
    suffixes = [suffix for row in MODEL_FORMATS for suffix in row.suffixes]
    assert len(suffixes) == len(set(suffixes))
    assert all(s == s.lower() and (s == "" or s.startswith(".")) for s in suffixes)


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
def test_row_is_found_by_each_suffix_in_any_case(row: ModelFormat) -> None:
    for suffix in row.suffixes:
        assert format_of(f"dir.d/model{suffix}") is row
        assert format_of(Path(f"MODEL{suffix.upper()}")) is row
        assert holds_weights(f"w{suffix}") is row.holds_weights
        assert (suffix in WEIGHT_SUFFIXES) is row.holds_weights


def test_unlisted_suffix() -> None:
    assert format_of("weights.xyz") is UNLISTED
    assert UNLISTED.pickle is PickleUse.IF_ITS_CONTENT_IS_ONE
    assert not holds_weights("weights.xyz")


def test_only_loader_formats_run_code_on_load() -> None:
    running = {s for row in MODEL_FORMATS if row.loading_may_run_code for s in row.suffixes}
    assert running == {
        ".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib", ".sav", ".npy", ".npz",
        ".keras", ".h5", ".hdf5",
    }  # fmt: skip
    own = {s for row in MODEL_FORMATS if row.pickle is PickleUse.UNLESS_VALID for s in row.suffixes}
    assert ".safetensors" in own
    # Only HDF5 is both: a valid file is no pickle, but Keras' legacy loader runs its Lambdas.
    assert own & running == {".h5", ".hdf5"}
    # A format read as a pickle unless valid can tell a valid file from another.
    assert all(
        row.is_instance is not None for row in MODEL_FORMATS if row.pickle is PickleUse.UNLESS_VALID
    )


def _safetensors() -> bytes:
    header = json.dumps(
        {"w": {"dtype": "F16", "shape": [2, 2], "data_offsets": [0, 8]}, "__metadata__": {}}
    ).encode()
    return struct.pack("<Q", len(header)) + header + b"\0" * 8


def _gguf() -> bytes:
    key = b"general.architecture"
    value = b"llama"
    return (
        b"GGUF"
        + struct.pack("<IQQ", 3, 0, 1)
        + struct.pack("<Q", len(key))
        + key
        + struct.pack("<I", 8)
        + struct.pack("<Q", len(value))
        + value
    )


def _onnx() -> bytes:
    return bytes([0x08, 0x07])  # ModelProto.ir_version = 7


READERS = {
    ".safetensors": (_safetensors, SafetensorsHeader),
    ".gguf": (_gguf, GgufMetadata),
    ".onnx": (_onnx, OnnxMetadata),
}
HEADER_ROWS = [row for row in MODEL_FORMATS if row.read_header is not None]


#: A valid file of each format read as a pickle unless valid (issue #12 item 1).
VALID_INSTANCES = {
    ".safetensors": _safetensors(),
    ".gguf": _gguf(),
    ".onnx": _onnx(),
    ".h5": b"\x89HDF\r\n\x1a\n" + bytes(8),
    ".msgpack": b"\x81\xa6params\x80",
    ".tflite": b"\x1c\x00\x00\x00TFL3" + bytes(8),
}
INSTANCE_ROWS = [row for row in MODEL_FORMATS if row.is_instance is not None]


@pytest.mark.parametrize("row", INSTANCE_ROWS, ids=[row.suffixes[0] for row in INSTANCE_ROWS])
def test_instance_check_tells_a_valid_file_from_a_pickle(row: ModelFormat) -> None:
    assert row.is_instance is not None
    valid = VALID_INSTANCES[row.suffixes[0]]
    assert row.is_instance(io.BytesIO(valid), len(valid))
    for other in (b"cos\nsystem\n(S'id'\ntR.", b"\x8c\x02os\x8c\x06system\x93", b""):
        assert not row.is_instance(io.BytesIO(other), len(other))


class CountingStream(io.BytesIO):
    """Records the furthest byte read."""

    furthest = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.furthest = max(self.furthest, self.tell())
        return data


@pytest.mark.parametrize("row", INSTANCE_ROWS, ids=[row.suffixes[0] for row in INSTANCE_ROWS])
def test_first_bytes_check_vouches_for_what_the_instance_check_does(row: ModelFormat) -> None:
    check = row.first_bytes_check()
    assert check is not None
    valid = VALID_INSTANCES[row.suffixes[0]]
    assert check(io.BytesIO(valid), len(valid))
    for other in (b"cos\nsystem\n(S'id'\ntR.", b"\x8c\x02os\x8c\x06system\x93", b""):
        assert not check(io.BytesIO(other), len(other))
    # Bytes in front of a valid file: the instance check and the first-bytes check refuse it.
    shifted = bytes(16) + valid
    assert not check(io.BytesIO(shifted), len(shifted))
    assert not row.is_instance(io.BytesIO(shifted), len(shifted))  # type: ignore[misc]


def test_first_bytes_checks_read_no_further_than_their_cap() -> None:
    # A GGUF with a 5 MB vocabulary: the check parses the pairs of its first bytes only.
    key, value = b"tokenizer.ggml.pad", b"t" * 5_000_000
    big = _gguf()[:16] + struct.pack("<Q", 2) + _gguf()[24:]
    big += struct.pack("<Q", len(key)) + key + struct.pack("<IQ", 8, len(value)) + value
    stream = CountingStream(big)
    gguf = format_of("model.gguf").first_bytes_check()
    assert gguf is not None
    assert gguf(stream, len(big))
    assert stream.furthest <= FIRST_BYTES_CHECKED
    # A safetensors header over the cap is not vouched for by its first bytes (read whole).
    header = json.dumps({"__metadata__": {"pad": "p" * FIRST_BYTES_CHECKED}}).encode()
    long_header = struct.pack("<Q", len(header)) + header
    stream = CountingStream(long_header)
    safetensors = format_of("model.safetensors").first_bytes_check()
    assert safetensors is not None
    assert not safetensors(stream, len(long_header))
    assert stream.furthest == 8
    assert format_of("model.safetensors").is_instance(io.BytesIO(long_header), len(long_header))  # type: ignore[misc]


def test_header_rows_are_the_ones_with_readers_here() -> None:
    assert {row.suffixes[0] for row in HEADER_ROWS} == set(READERS)


@pytest.mark.parametrize("row", HEADER_ROWS, ids=[row.suffixes[0] for row in HEADER_ROWS])
def test_header_reader_reads_a_stream_from_any_position(row: ModelFormat) -> None:
    build, record = READERS[row.suffixes[0]]
    data = build()
    stream = io.BytesIO(data)
    stream.seek(len(data) // 2)
    assert row.read_header is not None
    assert isinstance(row.read_header(stream, len(data)), record)
    with pytest.raises(MalformedFileError):
        row.read_header(io.BytesIO(b"\x00" * 3), 3)


@pytest.mark.parametrize("row", HEADER_ROWS, ids=[row.suffixes[0] for row in HEADER_ROWS])
def test_header_rows_feed_the_folder_scan(row: ModelFormat, tmp_path: Path) -> None:
    build, _ = READERS[row.suffixes[0]]
    (tmp_path / f"model{row.suffixes[0].upper()}").write_bytes(build())
    inventory = _scan(tmp_path)
    files = [c for c in inventory.components if c.name == f"model{row.suffixes[0].upper()}"]
    assert files
    assert (PropertyName.FILE_FORMAT, row.name) in files[0].properties


def test_real_gguf_through_the_table() -> None:
    path = CORPUS / "gguf" / "ggml-vocab-phi-3.gguf"
    if not path.is_file():
        pytest.skip("corpus GGUF is absent")
    row = format_of(path)
    assert row.read_header is not None
    with path.open("rb") as stream:
        meta = row.read_header(stream, path.stat().st_size)
    assert isinstance(meta, GgufMetadata)
    assert meta.architecture == "phi3"


@pytest.mark.parametrize("suffix", [".npy", ".sav", ".hdf5", ".tflite", ".ggml"])
def test_a_lone_weights_file_makes_a_model_folder(suffix: str, tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("requests==2.32.3\n")
    walk = walk_target(tmp_path)
    assert not holds_a_model(read_folder_facts(walk), walk.files)
    (tmp_path / f"weights{suffix}").write_bytes(b"\x00" * 16)
    walk = walk_target(tmp_path)
    assert holds_a_model(read_folder_facts(walk), walk.files)
