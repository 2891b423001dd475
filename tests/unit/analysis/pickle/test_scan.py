"""Tests for the pickle analyser's entry points: the real malicious/benign corpus, files of
several pickles, legacy PyTorch and joblib layouts, fuzzing. Inputs are built with
``pickle.dumps`` or byte by byte; nothing is ever unpickled."""

from __future__ import annotations

import os
import pickle
import re
import struct
import zipfile
from pathlib import Path
from typing import BinaryIO, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.analysis.dispatch import analyze_path
from scanner.analysis.load_risk import FileAnalysis, RiskKind
from scanner.analysis.pickle.report import PickleScan
from scanner.analysis.pickle.scan import scan_pickle_file, scan_pickle_stream
from scanner.core.errors import MalformedFileError
from tests.conftest import CORPUS as CORPUS_ROOT
from tests.unit.analysis.files import analyse_file
from tests.unit.analysis.pickle.pickles import (
    HIGH,
    MEDIUM,
    OS_SYSTEM_V0,
    PLAIN_DATA,
    glob,
    joblib_dump,
    kinds,
    legacy_torch,
    severities,
    stream,
    write,
)

CORPUS = CORPUS_ROOT


PICKLE_SUFFIXES = {".pkl", ".pickle", ".bin", ".pt", ".joblib"}


# --- the real corpus ------------------------------------------------------------------------------


def _manifest_rows() -> list[tuple[str, str]]:
    """``(path under pickles/, label)`` for every pickle-like file of the MANIFEST table."""
    manifest = CORPUS / "MANIFEST.md"
    if not manifest.is_file():
        return []
    text = manifest.read_text(encoding="utf-8")
    table = text.split("## Pickles - file table", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in table.splitlines():
        match = re.match(r"^\| `pickles/([^`]+)` \|", line)
        if match is None or Path(match.group(1)).suffix not in PICKLE_SUFFIXES:
            continue
        what = line.rstrip(" |").rsplit("|", 1)[1]
        if "**malicious**" in what:
            label = "malicious"
        elif "**benign" in what:
            label = "benign"
        elif "**not-a-pickle**" in what or "Git LFS pointer" in what:
            label = "not-a-pickle"
        else:
            label = "unlabelled"
        rows.append((match.group(1), label))
    return rows


MANIFEST_ROWS = _manifest_rows() or [("(corpus absent)", "absent")]


def _zip_data_pickle(path: Path) -> PickleScan:
    """Scan the ``data.pkl`` member of a PyTorch zip archive (read as a stream, not extracted)."""
    with zipfile.ZipFile(path) as archive:
        member = next(name for name in archive.namelist() if name.endswith("data.pkl"))
        with archive.open(member) as data:
            return scan_pickle_stream(cast("BinaryIO", data), member=member)


@pytest.mark.parametrize(("name", "label"), MANIFEST_ROWS)
def test_corpus_sample_matches_its_label(corpus: Path, name: str, label: str) -> None:
    path = corpus / "pickles" / name
    analysis = analyse_file(scan_pickle_file, path)
    if path.read_bytes()[:4] == b"PK\x03\x04":
        # A PyTorch zip archive: the archive analyser reads it; its data.pkl is a pickle stream.
        assert analysis.problems[0].startswith("not a pickle (a zip archive")
        scan = _zip_data_pickle(path)
        assert scan.complete
        found = severities(scan.risks)
    else:
        found = severities(analysis.risks)
    if label == "malicious":
        assert HIGH in found, analysis
        assert analysis.executable_on_load or analysis.problems[0].startswith("not a pickle (a zip")
    elif label == "benign":
        assert HIGH not in found, analysis
    elif label == "not-a-pickle":
        assert analysis.risks == ()
        assert not analysis.executable_on_load
        assert analysis.problems[0].startswith("not a pickle")
    else:
        pytest.fail(f"no label in MANIFEST.md for {name}")


@pytest.mark.parametrize(
    ("name", "imports"),
    [
        ("picklescan/data/malicious14.pkl", ("runpy._run_code",)),
        ("picklescan/data/malicious1_v4.pkl", ("builtins.eval",)),
        ("picklescan/data/malicious1_v0.pkl", ("__builtin__.eval",)),
        ("picklescan/data/malicious2_v0.pkl", ("posix.system",)),
        # Decoy strings say torch.LongStorage; the memo round-trips resolve os.system.
        ("picklescan/data/malicious11.pkl", ("os.system",)),
        ("picklescan/data/malicious-invalid-bytes.pkl", ("os.system",)),
        # The second of two concatenated pickles.
        ("picklescan/data/malicious6.pkl", ("requests.api.get",)),
        ("picklescan/data/malicious13a.pkl", ("_codecs.encode", "pickle.loads")),
        (
            "picklescan/data/malicious0.pkl",
            (
                "__builtin__.apply",
                "__builtin__.compile",
                "__builtin__.dict",
                "__builtin__.eval",
                "__builtin__.getattr",
                "__builtin__.globals",
            ),
        ),
        ("picklescan/data/pytorch_magic_bypass.pt", ("__builtin__.eval", "posix.system")),
        # STACK_GLOBAL on protocol-0 STRING operands.
        ("picklescan/data2/malicious23.pkl", ("os.system",)),
        ("picklescan/data2/io_FileIO.pkl", ("_io.FileIO",)),
        ("picklescan/data2/GHSA-vvpj-8cmc-gx39.pkl", ("pkgutil.resolve_name",)),
    ],
)
def test_corpus_sample_imports(corpus: Path, name: str, imports: tuple[str, ...]) -> None:
    analysis = analyse_file(scan_pickle_file, corpus / "pickles" / name)
    assert analysis.imports == imports
    assert analysis.executable_on_load
    unsafe = {c for risk in analysis.risks if risk.severity == HIGH for c in risk.callables}
    assert unsafe <= set(imports)
    assert unsafe


def test_legacy_pytorch_checkpoint(corpus: Path) -> None:
    analysis = analyse_file(scan_pickle_file, corpus / "pickles/picklescan/data/pytorch_model.bin")
    assert analysis == FileAnalysis(
        format="pytorch-legacy",
        imports=(
            "collections.OrderedDict",
            "torch.FloatStorage",
            "torch._utils._rebuild_tensor_v2",
        ),
    )


def test_zip_checkpoints_are_left_to_the_archive_analyser(corpus: Path) -> None:
    benign = _zip_data_pickle(corpus / "pickles/picklescan/data/new_pytorch_model.bin")
    assert benign.risks == ()
    assert "torch._utils._rebuild_tensor_v2" in benign.imports
    unsafe = _zip_data_pickle(corpus / "pickles/modelscan/unsafe_zip_pytorch.pt")
    assert "posix.system" in unsafe.imports
    assert all(risk.member and risk.member.endswith("data.pkl") for risk in unsafe.risks)


def test_real_world_joblib_is_walked_past_its_arrays(corpus: Path) -> None:
    analysis = analyse_file(
        scan_pickle_file, corpus / "pickles/real_world/e_lan_v_prod_experience_scaler.joblib"
    )
    assert analysis.format == "joblib"
    assert analysis.problems == ()
    assert analysis.imports == (
        "joblib.numpy_pickle.NumpyArrayWrapper",
        "numpy.core.multiarray.scalar",
        "numpy.dtype",
        "numpy.ndarray",
        "sklearn.preprocessing._data.StandardScaler",
    )
    # The benign, non-allowlisted outcome: one medium risk naming the sklearn class.
    (risk,) = analysis.risks
    assert (risk.kind, risk.severity) == (RiskKind.UNKNOWN_IMPORT, MEDIUM)
    assert risk.callables == ("sklearn.preprocessing._data.StandardScaler",)
    assert analysis.executable_on_load


def test_object_npy_arrays_hold_pickles(corpus: Path) -> None:
    def npy_pickle(path: Path) -> PickleScan:
        data = path.read_bytes()
        assert data[:6] == b"\x93NUMPY"
        size_bytes = 2 if data[6] == 1 else 4
        header_end = 8 + size_bytes + int.from_bytes(data[8 : 8 + size_bytes], "little")
        return stream(data[header_end:])

    root = corpus / "pickles/picklescan/data2"
    malicious = npy_pickle(root / "dns_exfiltration.npy")
    assert "ssl.get_server_certificate" in malicious.imports
    assert HIGH in severities(malicious.risks)
    benign = npy_pickle(root / "object_array.npy")
    assert benign.complete
    assert benign.risks == ()
    assert benign.imports == (
        "numpy.core.multiarray._reconstruct",
        "numpy.ndarray",
        "numpy.dtype",
    )


# --- files: several pickles, legacy PyTorch, joblib, not a pickle ---------------------------------


def test_concatenated_pickles_and_trailing_raw_bytes(tmp_path: Path) -> None:
    data = pickle.dumps([1]) + OS_SYSTEM_V0 + b"\x00\x13garbage"
    analysis = analyse_file(scan_pickle_file, write(tmp_path, "two.pkl", data))
    assert analysis.imports == ("os.system",)
    assert analysis.problems == ()
    assert kinds(analysis.risks) == {RiskKind.UNSAFE_IMPORT}


def test_trailing_data_keeps_only_named_unsafe_imports(tmp_path: Path) -> None:
    # A partial pickle after the first: a loader calling load() again would run its REDUCE.
    partial = b"cos\nsystem\n(S'id'\ntR\x00"
    analysis = analyse_file(
        scan_pickle_file, write(tmp_path, "tail.pkl", pickle.dumps(1) + partial)
    )
    assert analysis.imports == ("os.system",)
    # Random bytes that happen to hold STACK_GLOBAL or EXT are not reported.
    noise = pickle.dumps(1) + b"\x8c\x01a\x8c\x01b\x93\x82\x05\x00"
    assert analyse_file(scan_pickle_file, write(tmp_path, "noise.pkl", noise)) == FileAnalysis(
        format="pickle"
    )


def test_legacy_pytorch_layout(tmp_path: Path) -> None:
    benign = b"\x80\x02" + glob("collections", "OrderedDict") + b")R."
    analysis = analyse_file(scan_pickle_file, write(tmp_path, "model.pt", legacy_torch(benign)))
    assert analysis == FileAnalysis(format="pytorch-legacy", imports=("collections.OrderedDict",))
    unsafe = b"\x80\x02" + glob("posix", "system") + b"X\x02\x00\x00\x00id\x85R."
    analysis = analyse_file(scan_pickle_file, write(tmp_path, "evil.pt", legacy_torch(unsafe)))
    assert analysis.format == "pytorch-legacy"
    assert analysis.imports == ("posix.system",)
    assert analysis.executable_on_load


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("image.pt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
        ("notes.pkl", b"hello world\n"),
        ("lfs.bin", b"version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 1\n"),
        ("empty.pkl", b""),
        ("archive.pt", b"PK\x03\x04" + b"\x00" * 40),
        ("bad-name.bin", b"cmod\n\xf8\n"),
        ("torn.pkl", b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00]"),
    ],
)
def test_not_a_pickle(tmp_path: Path, name: str, data: bytes) -> None:
    analysis = analyse_file(scan_pickle_file, write(tmp_path, name, data))
    assert analysis.risks == ()
    assert not analysis.executable_on_load
    assert len(analysis.problems) == 1
    assert analysis.problems[0].startswith("not a pickle (")


def test_special_files_are_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "model.pkl"
    os.mkfifo(fifo)
    with pytest.raises(MalformedFileError, match="not a regular file"):
        analyze_path(fifo)


def test_pickles_per_file_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("scanner.analysis.pickle.scan.MAX_PICKLES_PER_FILE", 3)
    analysis = analyse_file(scan_pickle_file, write(tmp_path, "many.pkl", pickle.dumps(1) * 5))
    assert analysis.problems == ("more than 3 pickles in one file",)
    assert kinds(analysis.risks) == {RiskKind.UNREADABLE}


# --- fuzzing --------------------------------------------------------------------------------------


SEEDS = [pickle.dumps(PLAIN_DATA, protocol=p) for p in range(pickle.HIGHEST_PROTOCOL + 1)] + [
    OS_SYSTEM_V0,
    joblib_dump(struct.pack("<2d", 1.0, 2.0)),
    legacy_torch(b"\x80\x02" + glob("collections", "OrderedDict") + b")R."),
]


OPCODE_PIECES = [
    b"(",
    b".",
    b"0",
    b"1",
    b"2",
    b"N",
    b")",
    b"]",
    b"}",
    b"t",
    b"l",
    b"d",
    b"a",
    b"e",
    b"s",
    b"u",
    b"R",
    b"b",
    b"o",
    b"\x81",
    b"\x85",
    b"\x86",
    b"\x87",
    b"\x88",
    b"\x89",
    b"\x8f",
    b"\x90",
    b"\x91",
    b"\x92",
    b"\x93",
    b"\x94",
    b"\x97",
    b"\x98",
    b"K\x01",
    b"J\xff\xff\xff\xff",
    b"h\x00",
    b"h\x01",
    b"q\x00",
    b"q\x01",
    b"\x82\x01",
    b"\x8a\x01\x05",
    b"\x80\x04",
    b"\x95\x05\x00\x00\x00\x00\x00\x00\x00",
    b"\x8c\x02os",
    b"\x8c\x06system",
    b"Vos\n",
    b"S'x'\n",
    b"I12\n",
    b"g0\n",
    b"p0\n",
    b"cos\nsystem\n",
    b"ibuiltins\nset\n",
    b"X\x01\x00\x00\x00x",
    b"C\x01z",
    glob("joblib.numpy_pickle", "NumpyArrayWrapper"),
    glob("numpy", "dtype"),
]


def _check(data: bytes) -> None:
    try:
        scan = stream(data)
    except MalformedFileError:
        return
    assert 0 <= scan.end_offset <= len(data)
    assert scan.complete or RiskKind.UNREADABLE in kinds(scan.risks)
    assert severities(scan.risks) <= {HIGH, MEDIUM}


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_fuzz_random_bytes(data: bytes) -> None:
    _check(data)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(OPCODE_PIECES), max_size=80))
def test_fuzz_opcode_sequences(pieces: list[bytes]) -> None:
    _check(b"".join(pieces))


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(SEEDS),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6),
    st.integers(0, 10_000),
)
def test_fuzz_mutated_pickles(seed: bytes, flips: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(seed)
    for position, value in flips:
        data[position % len(data)] = value
    _check(bytes(data[: max(cut, 1)]) if cut < len(data) else bytes(data))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SEEDS), st.binary(max_size=40), st.integers(0, 10_000))
def test_fuzz_files(seed: bytes, tail: bytes, cut: int) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.pkl"
        path.write_bytes(seed[: cut % (len(seed) + 1)] + tail)
        try:
            analysis = analyse_file(scan_pickle_file, path)
        except MalformedFileError:
            return
    assert analysis.executable_on_load == any(
        risk.kind != RiskKind.TEMPLATE for risk in analysis.risks
    )
