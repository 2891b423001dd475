"""Zips inside zips and members a loader may unpickle whatever their names.

Sources: keras/src/saving/saving_lib.py (``NpzIOStore``: ``model.weights.npz`` inside a
``.keras``, read with ``np.load(..., allow_pickle=True)``); numpy/lib/format.py (an object
array's data is a pickle); torch/serialization.py (``_load(..., pickle_file="data.pkl")`` and
torch/jit's ``constants.pkl``: the pickle member's name is a parameter). Archives are written
with zipfile around hand-written pickles and ``.npy`` headers.
"""

from __future__ import annotations

import io
import zipfile
from typing import TYPE_CHECKING

import pytest

from scanner.analysis.dispatch import analyze_path
from scanner.analysis.load_risk import RiskKind
from scanner.analysis.zip_nested import MAX_NESTING
from scanner.core.model import Severity
from tests.unit.analysis.archives import high_callables

if TYPE_CHECKING:
    from pathlib import Path

EVIL = b"\x80\x02cposix\nsystem\n\x8c\x02id\x85R."
EVIL_V0 = b"cposix\nsystem\n(S'id'\ntR."
ORDERED_DICT_V2 = b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01."
KERAS_CONFIG = b'{"module": "keras", "class_name": "Sequential", "config": {"layers": []}}'
KERAS_METADATA = b'{"keras_version": "3.4.1"}'


def npy(descr: str, shape: tuple[int, ...], data: bytes) -> bytes:
    """A version 1.0 ``.npy``: magic, header length, dict literal padded to 64 bytes, data."""
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape!r}, }}".encode()
    size = -(-(10 + len(header) + 1) // 64) * 64 - 10
    return (
        b"\x93NUMPY\x01\x00"
        + len(header.ljust(size - 1) + b"\n").to_bytes(2, "little")
        + (header.ljust(size - 1) + b"\n")
        + data
    )


def zipped(members: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def keras_with_npz_weights(arrays: dict[str, bytes], method: int) -> bytes:
    """A ``.keras`` whose weights are the npz Keras' NpzIOStore writes."""
    return zipped(
        {
            "metadata.json": KERAS_METADATA,
            "config.json": KERAS_CONFIG,
            "model.weights.npz": zipped(arrays, method),
        },
        method,
    )


@pytest.mark.parametrize(
    "method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED], ids=["stored", "deflated"]
)
def test_an_object_array_in_keras_npz_weights_is_walked(tmp_path: Path, method: int) -> None:
    path = tmp_path / "model.keras"
    path.write_bytes(keras_with_npz_weights({"dense/0.npy": npy("|O", (1,), EVIL)}, method))
    analysis = analyze_path(path)
    assert analysis is not None
    assert "posix.system" in high_callables(analysis)
    assert any(r.member == "model.weights.npz/dense/0.npy" for r in analysis.risks)


def test_plain_keras_npz_weights_raise_nothing(tmp_path: Path) -> None:
    path = tmp_path / "model.keras"
    weights = {"dense/0.npy": npy("<f4", (2,), bytes(8)), "dense/1.npy": npy("<f4", (1,), bytes(4))}
    path.write_bytes(keras_with_npz_weights(weights, zipfile.ZIP_STORED))
    analysis = analyze_path(path)
    assert analysis is not None
    assert analysis.risks == ()


def test_a_checkpoint_zipped_inside_a_zip_is_walked(tmp_path: Path) -> None:
    inner = zipped({"archive/data.pkl": EVIL, "archive/version": b"3\n"})
    path = tmp_path / "bundle.zip"
    path.write_bytes(zipped({"README.md": b"weights", "model.pt": inner}, zipfile.ZIP_DEFLATED))
    analysis = analyze_path(path)
    assert analysis is not None
    assert "posix.system" in high_callables(analysis)


def test_nesting_is_capped(tmp_path: Path) -> None:
    data = zipped({"archive/data.pkl": EVIL, "archive/version": b"3\n"})
    for _ in range(MAX_NESTING + 1):
        data = zipped({"inner.zip": data})
    path = tmp_path / "deep.zip"
    path.write_bytes(data)
    analysis = analyze_path(path)
    assert analysis is not None
    assert any(r.kind is RiskKind.UNREADABLE and "nested over" in r.message for r in analysis.risks)


@pytest.mark.parametrize(
    "pickle_member",
    ["archive/data.pkl", "archive/constants.pkl", "my_model/data.pkl", "archive/custom_name"],
)
def test_a_protocol_0_pickle_under_any_name_is_walked(tmp_path: Path, pickle_member: str) -> None:
    path = tmp_path / "model.pt"
    path.write_bytes(
        zipped(
            {
                "archive/data.pkl": ORDERED_DICT_V2,
                "archive/version": b"3\n",
                "archive/byteorder": b"little",
                pickle_member: EVIL_V0,
            }
        )
    )
    analysis = analyze_path(path)
    assert analysis is not None
    assert "posix.system" in high_callables(analysis)


def test_text_members_of_a_real_torch_layout_are_no_pickles(tmp_path: Path) -> None:
    path = tmp_path / "pytorch_model.bin"
    path.write_bytes(
        zipped(
            {
                "archive/data.pkl": ORDERED_DICT_V2,
                "archive/byteorder": b"little",
                "archive/data/0": bytes(64),
                "archive/version": b"3\n",
                "archive/.data/serialization_id": b"1234567890123456789012345678901234567890",
                "archive/.format_version": b"1",
                "archive/.storage_alignment": b"64",
                "archive/notes.txt": b"cat\ndog\nthis is text, not a pickle",
            }
        )
    )
    analysis = analyze_path(path)
    assert analysis is not None
    assert analysis.imports == ("collections.OrderedDict",)
    assert all(risk.severity is not Severity.HIGH for risk in analysis.risks)


@pytest.mark.parametrize("name", ["arrays.npz", "array.npy"])
@pytest.mark.parametrize("payload", [EVIL, EVIL_V0], ids=["protocol-2", "protocol-0"])
def test_a_pickle_named_like_numpy_is_walked(tmp_path: Path, name: str, payload: bytes) -> None:
    # numpy/lib/npyio.py load: a file that is neither a zip nor a .npy is unpickled when
    # allow_pickle=True (an npz member without the .npy magic is returned as bytes instead).
    path = tmp_path / name
    path.write_bytes(payload)
    analysis = analyze_path(path)
    assert analysis is not None
    assert "posix.system" in high_callables(analysis)


def test_nested_zips_are_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("scanner.analysis.zip_nested.MAX_NESTED_ARCHIVES", 2)
    inner = zipped({"archive/data.pkl": ORDERED_DICT_V2, "archive/version": b"3\n"})
    path = tmp_path / "many.zip"
    path.write_bytes(zipped({f"{index}.pt": inner for index in range(3)}))
    analysis = analyze_path(path)
    assert analysis is not None
    assert any("more than 2 nested zips" in r.message for r in analysis.risks)
