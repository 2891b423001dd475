"""Containers loaders open, each hiding a dangerous call: none may PASS the gate.

Sources per case: joblib/numpy_pickle_utils.py (compressed dumps detected by magic);
torch/serialization.py ``_legacy_load`` (legacy tar); CPython Lib/zipfile.py (archive found from
its end, names cut at a NUL, the last entry of a name kept); keras/src/saving/saving_lib.py
(``.keras`` read with zipfile, ``model.weights.npz`` with ``np.load(allow_pickle=True)``);
keras/src/legacy/saving/legacy_h5_format.py and CVE-2025-9905 (Lambda in an ``.h5`` config).
Every file is written with the standard library (h5py for HDF5) around hand-written pickles.
"""

from __future__ import annotations

import gzip
import io
import lzma
import tarfile
from typing import TYPE_CHECKING

import pytest

from tests.integration.test_attacks import P0, P2, baseline, national, npy
from tests.unit.analysis.test_zip_loader_views import (
    BENIGN_CONFIG,
    LAMBDA_CONFIG,
    METADATA,
    zipped,
)

if TYPE_CHECKING:
    from pathlib import Path


def legacy_tar(pickle: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:", format=tarfile.PAX_FORMAT) as tar:
        for name, data in (
            ("storages", b"\x80\x02K\x00.]."),
            ("tensors", b"\x80\x02K\x00."),
            ("pickle", pickle),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


CASES: dict[str, tuple[str, bytes]] = {
    "pkl-gz": ("model.pkl.gz", gzip.compress(P2)),
    "joblib-xz-no-suffix": ("scaler", lzma.compress(P0)),
    "legacy-tar": ("pytorch_model.bin", legacy_tar(P2)),
    "keras-prepended-bytes": (
        "model.keras",
        b"#!/bin/sh\n" + zipped([("config.json", LAMBDA_CONFIG), ("metadata.json", METADATA)]),
    ),
    "keras-npz-object-array": (
        "model.keras",
        zipped(
            [
                ("config.json", BENIGN_CONFIG),
                ("metadata.json", METADATA),
                ("model.weights.npz", zipped([("d/0.npy", npy("|O", P2))])),
            ]
        ),
    ),
    "keras-nul-shadowed-config": (
        "model.keras",
        zipped(
            [
                ("config.json", BENIGN_CONFIG),
                ("metadata.json", METADATA),
                ("config.json#.bak", LAMBDA_CONFIG),
            ]
        ).replace(b"config.json#.bak", b"config.json\x00.bak"),
    ),
    # torch.load refuses it (only the first four bytes are checked); zipfile reads it.
    "torch-zip-behind-bytes": (
        "model.pt",
        bytes(512) + zipped([("archive/data.pkl", P2), ("archive/version", b"3\n")]),
    ),
    "torch-zip-behind-bytes-no-suffix": (
        "checkpoint",
        b"\x7fELF" + zipped([("archive/data.pkl", P2), ("archive/version", b"3\n")]),
    ),
    "torch-zip-protocol-0-custom-name": (
        "model.pt",
        zipped(
            [
                ("archive/data.pkl", b"\x80\x02}."),
                ("archive/version", b"3\n"),
                ("archive/extra", P0),
            ]
        ),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_no_container_hides_a_call(tmp_path: Path, case: str) -> None:
    name, data = CASES[case]
    folder = baseline(tmp_path / "m")
    (folder / name).write_bytes(data)
    code, verdicts = national(folder, tmp_path)
    assert code == 1, verdicts
    assert "PASS" not in verdicts.values()


def test_a_lambda_in_a_legacy_h5_model_does_not_pass(tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    folder = baseline(tmp_path / "m")
    with h5py.File(folder / "model.h5", "w") as document:
        document.attrs["keras_version"] = "2.15.0"
        document.attrs["model_config"] = LAMBDA_CONFIG
    code, verdicts = national(folder, tmp_path)
    assert code == 1, verdicts
    assert "PASS" not in verdicts.values()
