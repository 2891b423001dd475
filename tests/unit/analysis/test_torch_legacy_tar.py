"""PyTorch's legacy tar checkpoints, as ``torch.load`` reads them.

Source: torch/serialization.py, ``_legacy_load.legacy_load`` (pytorch/pytorch): the tar's
``storages`` (a count, then per storage an ``(key, location, storage_type)`` pickle, an int64
element count and the raw bytes, then the views pickle), ``tensors`` (a count, then per tensor
a ``(key, storage_id, tensor_type)`` pickle, int32 ndim, 4 bytes, sizes, strides, offset) and
``pickle`` are unpickled in that order; ``sys_info`` is written, not read. Every member is
written with tarfile around hand-written pickles.
"""

from __future__ import annotations

import io
import struct
import tarfile
from typing import TYPE_CHECKING

import pytest

from scanner.analysis.dispatch import analyze_path, route_of
from tests.unit.analysis.archives import high_callables

if TYPE_CHECKING:
    from pathlib import Path

EVIL = b"\x80\x02cposix\nsystem\n\x8c\x02id\x85R."
SYS_INFO = b"\x80\x02}q\x00(X\x10\x00\x00\x00protocol_versionq\x01M\xe9\x03u."
COUNT_ONE = b"\x80\x02K\x01."
STORAGE_ARGS = b"\x80\x02X\x01\x00\x00\x000X\x03\x00\x00\x00cpuctorch\nFloatStorage\n\x87q\x00."
STORAGE_RAW = struct.pack("<q", 2) + struct.pack("<2f", 1.0, 2.0)
NO_VIEWS = b"\x80\x02]q\x00."
TENSOR_ARGS = b"\x80\x02X\x01\x00\x00\x001X\x01\x00\x00\x000ctorch\nFloatTensor\n\x87q\x00."
TENSOR_RAW = struct.pack("<i", 1) + bytes(4) + struct.pack("<qqq", 2, 1, 0)
# {"weight": persistent id "1"}: the object, its tensor by persistent id.
OBJECT = b"\x80\x02}q\x00X\x06\x00\x00\x00weightX\x01\x00\x00\x001Qs."


def legacy_tar(path: Path, **members: bytes) -> Path:
    """A tar in torch's legacy layout (PAX format, as ``_legacy_save`` wrote it)."""
    layout = {
        "sys_info": SYS_INFO,
        "storages": COUNT_ONE + STORAGE_ARGS + STORAGE_RAW + NO_VIEWS,
        "tensors": COUNT_ONE + TENSOR_ARGS + TENSOR_RAW,
        "pickle": OBJECT,
    }
    layout.update(members)
    with tarfile.open(path, "w:", format=tarfile.PAX_FORMAT) as tar:
        for name, data in layout.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_a_benign_legacy_tar_raises_nothing(tmp_path: Path) -> None:
    analysis = analyze_path(legacy_tar(tmp_path / "model.pt"))
    assert analysis is not None
    assert analysis.format == "pytorch-legacy-tar"
    # torch.FloatTensor is a legacy tensor class torch.load's weights_only unpickler allows.
    assert analysis.risks == ()
    assert "torch.FloatTensor" in analysis.imports
    assert not analysis.problems


@pytest.mark.parametrize(
    "members",
    [
        {"pickle": EVIL},
        {"sys_info": EVIL},
        # After a storage's raw bytes: found only by stepping over the record.
        {"storages": COUNT_ONE + STORAGE_ARGS + STORAGE_RAW + EVIL},
        {"tensors": COUNT_ONE + TENSOR_ARGS + TENSOR_RAW + EVIL},
        {"storages": EVIL},
    ],
    ids=["pickle", "sys_info", "after-a-storage", "after-a-tensor", "storages"],
)
def test_every_pickle_torch_load_reads_is_walked(tmp_path: Path, members: dict[str, bytes]) -> None:
    analysis = analyze_path(legacy_tar(tmp_path / "model.bin", **members))
    assert analysis is not None
    assert "posix.system" in high_callables(analysis)


def test_a_tar_is_recognised_whatever_its_name(tmp_path: Path) -> None:
    path = legacy_tar(tmp_path / "checkpoint", pickle=EVIL)
    with path.open("rb") as stream:
        route = route_of(stream, "checkpoint")
    assert route is not None
    assert route.name == "torch-legacy-tar"


def test_a_corrupt_tar_is_unreadable(tmp_path: Path) -> None:
    path = legacy_tar(tmp_path / "model.pt")
    data = bytearray(path.read_bytes())
    data[148:156] = b"garbage\x00"  # the first header's checksum
    path.write_bytes(bytes(data))
    analysis = analyze_path(path)
    assert analysis is not None
    assert analysis.risks


def test_a_pickle_posing_as_a_tar_is_walked_as_the_pickle_torch_loads(tmp_path: Path) -> None:
    # "ustar" at offset 257 inside a pickle string: tarfile refuses it, torch.load unpickles it.
    padding = b"X" + struct.pack("<I", 300) + bytes(250) + b"ustar\x00" + bytes(44) + b"0"
    path = tmp_path / "model.pt"
    path.write_bytes(b"\x80\x02" + padding + b"cposix\nsystem\n\x8c\x02id\x85R.")
    analysis = analyze_path(path)
    assert analysis is not None
    assert "posix.system" in high_callables(analysis)
