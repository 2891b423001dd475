"""The containers the load analysis opens, read from the Hub by range: the same analysis as a
local file's, from fewer bytes than the file where the format allows.

Sources as in tests/unit/analysis/test_torch_legacy_tar.py, test_zip_nested.py and
test_keras_h5.py (torch/serialization.py ``_legacy_load``; keras saving_lib ``NpzIOStore``;
keras legacy_h5_format ``load_model_from_hdf5``, CVE-2025-9905).
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import zipfile
from typing import TYPE_CHECKING

import pytest

from scanner.analysis.load_risk import RiskKind
from tests.integration.test_hub_load_analysis import MALICIOUS, npy, remote_analysis, risk_kinds

if TYPE_CHECKING:
    from pathlib import Path


def legacy_tar(pickle: bytes, padding: int) -> bytes:
    buffer = io.BytesIO()
    members = {
        "storages": b"\x80\x02K\x00.].",
        "tensors": b"\x80\x02K\x00.",
        "pickle": pickle,
        "padding": hashlib.shake_256(b"t").digest(padding),
    }
    with tarfile.open(fileobj=buffer, mode="w:", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def keras_with_npz(weights: bytes) -> bytes:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("big/0.npy", npy("<f4", (len(weights) // 4,), weights))
        archive.writestr("dense/0.npy", npy("|O", (1,), MALICIOUS))
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w") as archive:
        archive.writestr("metadata.json", b'{"keras_version": "3.4.1"}')
        archive.writestr("config.json", b'{"module": "keras", "class_name": "Sequential"}')
        archive.writestr("model.weights.npz", inner.getvalue())
    return outer.getvalue()


SEEDS = {
    "legacy-tar.bin": legacy_tar(MALICIOUS, 400_000),
    "nested.keras": keras_with_npz(hashlib.shake_256(b"w").digest(400_000)),
}


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_range_analysis_of_a_container_equals_the_local_one(name: str, tmp_path: Path) -> None:
    local_file = tmp_path / name
    local_file.write_bytes(SEEDS[name])
    remote = remote_analysis(SEEDS[name], name, tmp_path)
    kinds, imports = risk_kinds(local_file)
    assert RiskKind.UNSAFE_IMPORT.value in kinds
    assert (remote.kinds, remote.imports) == (kinds, imports)
    assert not remote.shortfall
    assert remote.served < len(SEEDS[name])


def test_a_keras_h5_model_is_analysed_from_the_hub(tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    numpy = pytest.importorskip("numpy")
    local_file = tmp_path / "model.h5"
    layer = {"class_name": "Lambda", "config": {"name": "l", "function": ["AAAA", None, None]}}
    with h5py.File(local_file, "w") as document:
        document.attrs["keras_version"] = "2.15.0"
        document.attrs["model_config"] = json.dumps(
            {"class_name": "Sequential", "config": {"layers": [layer]}}
        ).encode()
        document.create_dataset("weights", data=numpy.frombuffer(bytes(400_000), dtype="u1"))
    content = local_file.read_bytes()
    remote = remote_analysis(content, "model.h5", tmp_path)
    kinds, imports = risk_kinds(local_file)
    assert RiskKind.EMBEDDED_CODE.value in kinds
    assert (remote.kinds, remote.imports) == (kinds, imports)
    assert not remote.shortfall
    assert remote.served < len(content)
