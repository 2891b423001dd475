"""Damaged containers never raise: a legacy tar, a nested zip, LZMA/bzip2 members, compressed
pickles and HDF5 are analysed or reported unreadable, whatever their bytes."""

from __future__ import annotations

import bz2
import gzip
import io
import zipfile

from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.analysis.dispatch import analyze_stream
from tests.unit.analysis.test_torch_legacy_tar import COUNT_ONE, STORAGE_ARGS, STORAGE_RAW
from tests.unit.analysis.test_zip_nested import EVIL, keras_with_npz_weights, npy


def _legacy_tar() -> bytes:
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:", format=tarfile.PAX_FORMAT) as tar:
        for name, data in (
            ("storages", COUNT_ONE + STORAGE_ARGS + STORAGE_RAW + b"]."),
            ("pickle", EVIL),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _zip(method: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        archive.writestr("config.json", b'{"module": "keras", "class_name": "Sequential"}')
        archive.writestr("metadata.json", b"{}")
        archive.writestr("x.npy", npy("|O", (1,), EVIL))
    return buffer.getvalue()


SEEDS = {
    "model.pt": _legacy_tar(),
    "model.keras": keras_with_npz_weights({"a.npy": npy("|O", (1,), EVIL)}, zipfile.ZIP_DEFLATED),
    "lzma.zip": _zip(zipfile.ZIP_LZMA),
    "bzip2.keras": _zip(zipfile.ZIP_BZIP2),
    "model.pkl.gz": gzip.compress(EVIL),
    "model.joblib": bz2.compress(EVIL),
    "model.h5": b"\x89HDF\r\n\x1a\n" + bytes(200),
}


@st.composite
def damaged(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(SEEDS)))
    data = bytearray(SEEDS[name])
    for _ in range(draw(st.integers(0, 8))):
        where = draw(st.integers(0, len(data) - 1))
        data[where] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(1, len(data)))]
    return name, bytes(data)


@settings(max_examples=300, deadline=None)
@given(case=damaged())
def test_damaged_containers_never_raise(case: tuple[str, bytes]) -> None:
    name, data = case
    analyze_stream(io.BytesIO(data), name)
