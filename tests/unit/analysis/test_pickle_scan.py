"""Tests for the static pickle analyser: the real malicious/benign corpus, hand-built and hostile
pickles, joblib and legacy PyTorch layouts. Inputs are built with ``pickle.dumps`` or byte by
byte; nothing is ever unpickled."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import pickle
import pickletools
import re
import struct
import time
import zipfile
import zlib
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.analysis import pickle_scan
from scanner.analysis.load_risk import FileAnalysis, LoadRisk, RiskKind
from scanner.analysis.pickle_scan import (
    LEGACY_TORCH_MAGIC,
    MAX_MARK_DEPTH,
    MAX_NAME_BYTES,
    MAX_PICKLE_BYTES,
    SAFE_GLOBALS,
    UNSAFE_GLOBALS,
    PickleScan,
    classify_import,
    scan_pickle_file,
    scan_pickle_stream,
)
from scanner.core.errors import MalformedFileError
from scanner.core.model import Severity
from tests.conftest import CORPUS as CORPUS_ROOT

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from _typeshed import WriteableBuffer

CORPUS = CORPUS_ROOT
PICKLE_SUFFIXES = {".pkl", ".pickle", ".bin", ".pt", ".joblib"}

HIGH = Severity.HIGH
MEDIUM = Severity.MEDIUM


class Sample:
    """A class outside the allowlist, pickled by reference to this test module."""

    def __init__(self) -> None:
        self.value = 1


# --- byte builders ---------------------------------------------------------------------------

PROTO4 = b"\x80\x04"
STOP = b"."


def short_str(text: str) -> bytes:
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def glob(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def stream(
    data: bytes, *, max_bytes: int = MAX_PICKLE_BYTES, member: str | None = None
) -> PickleScan:
    return scan_pickle_stream(io.BytesIO(data), max_bytes=max_bytes, member=member)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def severities(risks: Iterable[LoadRisk]) -> set[Severity]:
    return {risk.severity for risk in risks}


def kinds(risks: Iterable[LoadRisk]) -> set[RiskKind]:
    return {risk.kind for risk in risks}


# A benign-looking payload-free call to os.system in protocol 0 (never loaded, only scanned).
OS_SYSTEM_V0 = b"cos\nsystem\n(S'id'\ntR."


# --- the real corpus --------------------------------------------------------------------------


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
    analysis = scan_pickle_file(path)
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
    analysis = scan_pickle_file(corpus / "pickles" / name)
    assert analysis.imports == imports
    assert analysis.executable_on_load
    unsafe = {c for risk in analysis.risks if risk.severity == HIGH for c in risk.callables}
    assert unsafe <= set(imports)
    assert unsafe


def test_memo_exploits_report_a_hidden_import(corpus: Path) -> None:
    for name in ("keyerror-exploit.pkl", "type-confusion-exploit.pkl"):
        analysis = scan_pickle_file(corpus / "pickles" / "picklescan" / "data2" / name)
        assert analysis.imports == ("os.system",)
        hidden = [r for r in analysis.risks if "not known strings" in r.message]
        assert len(hidden) == 1
        assert hidden[0].severity == HIGH
        assert hidden[0].kind == RiskKind.UNKNOWN_IMPORT


def test_module_attribute_overwrite_is_caught(corpus: Path) -> None:
    analysis = scan_pickle_file(corpus / "pickles/picklescan/data/sys_module_override_sploit.pkl")
    messages = [risk.message for risk in analysis.risks if risk.severity == HIGH]
    assert any("overwrites attributes of the imported torch._utils" in m for m in messages)
    assert any("not known strings" in m for m in messages)


def test_broken_pickle_keeps_what_it_saw(corpus: Path) -> None:
    analysis = scan_pickle_file(corpus / "pickles/picklescan/data/broken_model.pkl")
    assert analysis.imports == ("builtins.exec",)
    assert kinds(analysis.risks) == {RiskKind.UNSAFE_IMPORT, RiskKind.UNREADABLE}
    assert "declares 543558206 bytes but only 63 remain" in analysis.problems[0]


def test_legacy_pytorch_checkpoint(corpus: Path) -> None:
    analysis = scan_pickle_file(corpus / "pickles/picklescan/data/pytorch_model.bin")
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
    analysis = scan_pickle_file(corpus / "pickles/real_world/e_lan_v_prod_experience_scaler.joblib")
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


@pytest.mark.parametrize(
    ("name", "callables"),
    [
        (
            "e_lan_v_prod_one_hot_encoder.pkl",
            ("sklearn.preprocessing._encoders.OneHotEncoder",),
        ),
        (
            "rupersonaagent_faiss_index.pkl",
            (
                "langchain_community.docstore.in_memory.InMemoryDocstore",
                "langchain_core.documents.base.Document",
            ),
        ),
    ],
)
def test_real_world_pickles_are_medium_for_their_classes(
    corpus: Path, name: str, callables: tuple[str, ...]
) -> None:
    analysis = scan_pickle_file(corpus / "pickles" / "real_world" / name)
    (risk,) = analysis.risks
    assert risk.severity == MEDIUM
    assert risk.callables == callables


@pytest.mark.parametrize(
    ("compress", "magic"),
    [
        (gzip.compress, b"\x1f\x8b"),
        (zlib.compress, b"x"),
        (bz2.compress, b"BZh"),
        (lzma.compress, b"\xfd7zXZ"),
        (lambda data: lzma.compress(data, format=lzma.FORMAT_ALONE), b"\x5d"),
    ],
)
def test_compressed_joblib_dumps_are_decompressed(
    corpus: Path, tmp_path: Path, compress: Callable[[bytes], bytes], magic: bytes
) -> None:
    original = corpus / "pickles/real_world/e_lan_v_prod_experience_scaler.joblib"
    packed = compress(original.read_bytes())
    assert packed.startswith(magic)
    analysis = scan_pickle_file(write(tmp_path, "scaler.joblib", packed))
    assert analysis == scan_pickle_file(original)


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


# --- classification ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "name", "expected"),
    [
        ("posix", "system", HIGH),
        ("os", "system", HIGH),
        ("os.path", "join", HIGH),
        ("builtins", "eval", HIGH),
        ("__builtin__", "eval", HIGH),  # read as Python 3 reads protocol-0 pickles
        ("builtins", "getattr", HIGH),
        ("builtins", "eval.__call__", HIGH),
        ("torch", "load", HIGH),
        ("torch.storage", "_load_from_bytes", HIGH),
        ("torch.jit", "load", HIGH),
        ("httplib", "HTTPSConnection", HIGH),
        ("pathlib", "Path.write_text", HIGH),
        ("uuid", "_get_command_stdout", HIGH),
        ("types", "CodeType", HIGH),
        ("collections", "OrderedDict.__init__.__globals__", HIGH),
        ("collections", "OrderedDict", None),
        ("copy_reg", "_reconstructor", None),  # Python 2 name of copyreg
        ("__builtin__", "set", None),
        ("builtins", "set", None),
        ("torch._utils", "_rebuild_tensor_v2", None),
        ("torch", "FloatStorage", None),
        ("torch", "bfloat16", None),
        ("torch.jit._pickle", "build_intlist", None),
        ("numpy.core.multiarray", "_reconstruct", None),
        ("numpy.dtypes", "Float64DType", None),
        ("pathlib", "PosixPath", None),
        ("types", "SimpleNamespace", None),
        ("uuid", "UUID", None),
        ("torch", "_C.FloatStorage", MEDIUM),  # a wildcard never matches a dotted name
        ("torch", "_utils", MEDIUM),
        ("functools", "partial", MEDIUM),
        ("builtins", "print", MEDIUM),
        ("posixpath", "join", MEDIUM),
        ("sklearn.preprocessing._data", "StandardScaler", MEDIUM),
    ],
)
def test_classify_import(module: str, name: str, expected: Severity | None) -> None:
    verdict = classify_import(module, name)
    assert (verdict[0] if verdict else None) == expected
    if expected == MEDIUM:
        assert verdict == (MEDIUM, "not on the allowlist of tensor-rebuilding globals")


def _example(rule: str) -> tuple[str, str]:
    module, _, pattern = rule.partition(":")
    return module, (pattern or "anything").replace("*", "Float")


@pytest.mark.parametrize(("rule", "reason"), UNSAFE_GLOBALS)
def test_every_unsafe_rule_is_high(rule: str, reason: str) -> None:
    module, name = _example(rule)
    assert classify_import(module, name) == (HIGH, reason)
    if ":" not in rule:
        assert classify_import(f"{module}.sub", name) == (HIGH, reason)


@pytest.mark.parametrize("rule", SAFE_GLOBALS)
def test_every_safe_rule_is_allowed(rule: str) -> None:
    assert classify_import(*_example(rule)) is None


def test_every_cpython_opcode_has_a_handler() -> None:
    known = {op.code.encode("latin-1")[0] for op in pickletools.opcodes}
    handled = {code for code, handler in enumerate(pickle_scan._HANDLERS) if handler is not None}
    assert handled == known


# --- synthetic pickles: plain data in every protocol -----------------------------------------

PLAIN_DATA = {
    "list": [1, 2.5, "x", None, True, False],
    "tuple": (1, (2, (3,))),
    "set": {1, 2},
    "frozenset": frozenset({3}),
    "bytes": b"\x00\xff" * 3,
    "bytearray": bytearray(b"ab"),
    "big": 2**100,
    "negative": -(2**40),
    "ordered": OrderedDict(a=1, b=[1, 2]),
    "complex": 1 + 2j,
    "text": "é" * 300,
    "nested": [[[[]]]],
}


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_plain_containers_in_every_protocol(protocol: int) -> None:
    data = pickle.dumps(PLAIN_DATA, protocol=protocol)
    scan = stream(data)
    assert scan.complete
    assert scan.risks == ()
    assert scan.problems == ()
    assert scan.end_offset == len(data)
    assert scan.protocol == (protocol if protocol >= 2 else None)
    assert "collections.OrderedDict" in scan.imports
    assert scan.calls > 0


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_a_class_outside_the_allowlist_is_medium(protocol: int) -> None:
    scan = stream(pickle.dumps([Sample(), Sample()], protocol=protocol))
    # Protocols 0 and 1 rebuild instances with copy_reg._reconstructor(cls, object, None).
    sample = f"{__name__}.Sample"
    expected = (
        ("copy_reg._reconstructor", sample, "__builtin__.object") if protocol < 2 else (sample,)
    )
    assert scan.imports == expected
    (risk,) = scan.risks
    assert (risk.kind, risk.severity) == (RiskKind.UNKNOWN_IMPORT, MEDIUM)
    assert risk.callables == (f"{__name__}.Sample",)


def test_stream_is_left_just_past_stop() -> None:
    first = pickle.dumps([1, 2], protocol=4)
    data = io.BytesIO(first + pickle.dumps(OS_SYSTEM_V0))
    scan = scan_pickle_stream(data)
    assert scan.end_offset == len(first) == data.tell()
    assert scan.imports == ()


def test_member_is_named_in_risks_and_problems() -> None:
    scan = stream(OS_SYSTEM_V0[:-3], member="archive/data.pkl")
    assert {risk.member for risk in scan.risks} == {"archive/data.pkl"}
    assert scan.problems[0].startswith("archive/data.pkl: ")


# --- synthetic pickles: imports and calls ----------------------------------------------------


def test_stack_global_through_memo_indirection() -> None:
    data = (
        PROTO4
        + short_str("posix")
        + b"\x94"  # MEMOIZE -> 0
        + short_str("torch")
        + b"\x94"  # decoy -> 1
        + b"0"
        + short_str("system")
        + b"r"
        + struct.pack("<I", 70_000)  # LONG_BINPUT 70000
        + b"0"
        + b"h\x00"  # BINGET 0
        + b"j"
        + struct.pack("<I", 70_000)  # LONG_BINGET 70000
        + b"\x93"
        + short_str("id")
        + b"\x85R."
    )
    scan = stream(data)
    assert scan.complete
    assert scan.imports == ("posix.system",)
    assert [r.callables for r in scan.risks] == [("posix.system",)]
    assert scan.calls == 1


def test_stack_global_through_protocol_0_memo_lines() -> None:
    data = b"Vos\np7\n0Vsystem\np8\n0g7\ng8\n\x93(S'id'\ntR."
    assert stream(data).imports == ("os.system",)


@pytest.mark.parametrize(
    "operands",
    [
        b"h\x05h\x06",  # memo keys never set
        b"K*" + short_str("os"),  # an int where a string must be
        glob("builtins", "str") + short_str("x"),  # a global's result
    ],
)
def test_stack_global_on_unknown_operands_is_high(operands: bytes) -> None:
    scan = stream(PROTO4 + operands + b"\x93" + b"N\x85R.")
    (risk,) = scan.risks[-1:]
    assert risk.severity == HIGH
    assert risk.message == (
        "STACK_GLOBAL with operands that are not known strings: the imported callable is hidden"
    )
    assert scan.complete


def test_inst_obj_and_newobj_ex_count_as_calls() -> None:
    inst = b"(S'ls'\nios\nsystem\n."
    obj = b"(cposix\nsystem\nS'ls'\no."
    newobj_ex = PROTO4 + glob("subprocess", "Popen") + b")}\x92."
    for data, name in ((inst, "os.system"), (obj, "posix.system"), (newobj_ex, "subprocess.Popen")):
        scan = stream(data)
        assert scan.imports == (name,)
        assert scan.calls == 1
        assert HIGH in severities(scan.risks)


@pytest.mark.parametrize(
    ("ext", "code"),
    [(b"\x82\x07", 7), (b"\x83\x00\x01", 256), (b"\x84\xff\xff\xff\x00", 2**24 - 1)],
)
def test_extension_codes_are_medium_unknown_imports(ext: bytes, code: int) -> None:
    scan = stream(b"\x80\x02" + ext + b")R.")
    (risk,) = scan.risks
    assert (risk.kind, risk.severity) == (RiskKind.UNKNOWN_IMPORT, MEDIUM)
    assert f"extension code {code} " in risk.message


def test_build_on_an_imported_global_is_high() -> None:
    scan = stream(PROTO4 + glob("builtins", "set") + b"}" + short_str("x") + b"Nsb.")
    (risk,) = scan.risks
    assert risk.severity == HIGH
    assert risk.callables == ("builtins.set",)
    assert "overwrites attributes" in risk.message


@pytest.mark.parametrize("module", ["a" * (MAX_NAME_BYTES + 1), "é" * MAX_NAME_BYTES])
def test_overlong_global_name_is_a_hidden_import(module: str) -> None:
    scan = stream(b"c" + module.encode() + b"\nsystem\n.")
    assert scan.complete
    (risk,) = scan.risks
    assert risk.severity == HIGH
    assert "longer than 256 bytes" in risk.message


def test_dunder_qualname_is_high() -> None:
    data = PROTO4 + short_str("collections") + short_str("OrderedDict.__init__.__globals__")
    scan = stream(data + b"\x93.")
    assert scan.imports == ("collections.OrderedDict.__init__.__globals__",)
    assert severities(scan.risks) == {HIGH}


# --- files: several pickles, legacy PyTorch, joblib, not a pickle ----------------------------


def test_concatenated_pickles_and_trailing_raw_bytes(tmp_path: Path) -> None:
    data = pickle.dumps([1]) + OS_SYSTEM_V0 + b"\x00\x13garbage"
    analysis = scan_pickle_file(write(tmp_path, "two.pkl", data))
    assert analysis.imports == ("os.system",)
    assert analysis.problems == ()
    assert kinds(analysis.risks) == {RiskKind.UNSAFE_IMPORT}


def test_trailing_data_keeps_only_named_unsafe_imports(tmp_path: Path) -> None:
    # A partial pickle after the first: a loader calling load() again would run its REDUCE.
    partial = b"cos\nsystem\n(S'id'\ntR\x00"
    analysis = scan_pickle_file(write(tmp_path, "tail.pkl", pickle.dumps(1) + partial))
    assert analysis.imports == ("os.system",)
    # Random bytes that happen to hold STACK_GLOBAL or EXT are not reported.
    noise = pickle.dumps(1) + b"\x8c\x01a\x8c\x01b\x93\x82\x05\x00"
    assert scan_pickle_file(write(tmp_path, "noise.pkl", noise)) == FileAnalysis(format="pickle")


def _legacy_torch(data_pickle: bytes) -> bytes:
    return (
        pickle.dumps(LEGACY_TORCH_MAGIC, protocol=2)
        + pickle.dumps(1001, protocol=2)
        + pickle.dumps({"protocol_version": 1001, "little_endian": True}, protocol=2)
        + data_pickle
        + pickle.dumps(["0"], protocol=2)
        + struct.pack("<q", 4)
        + b"\x00\x00\x80?" * 4
    )


def test_legacy_pytorch_layout(tmp_path: Path) -> None:
    benign = b"\x80\x02" + glob("collections", "OrderedDict") + b")R."
    analysis = scan_pickle_file(write(tmp_path, "model.pt", _legacy_torch(benign)))
    assert analysis == FileAnalysis(format="pytorch-legacy", imports=("collections.OrderedDict",))
    unsafe = b"\x80\x02" + glob("posix", "system") + b"X\x02\x00\x00\x00id\x85R."
    analysis = scan_pickle_file(write(tmp_path, "evil.pt", _legacy_torch(unsafe)))
    assert analysis.format == "pytorch-legacy"
    assert analysis.imports == ("posix.system",)
    assert analysis.executable_on_load


def _joblib(
    raw: bytes,
    *,
    descr: str = "f8",
    shape: tuple[int, ...] = (2,),
    padding: bytes | None = b"\x03\xff\xff\xff",
) -> bytes:
    """A joblib dump of one array: the wrapper's BUILD is followed by the raw array bytes.

    joblib >= 1.2 writes a padding-length byte and padding first (``padding``; None for older
    dumps, whose state has no alignment entry); object arrays are a nested pickle, unpadded.
    """
    if descr.startswith("O"):
        padding = None
    dims = b"(" + b"".join(b"J" + struct.pack("<i", size) for size in shape) + b"t"
    dtype = (
        glob("numpy", "dtype")
        + short_str(descr)
        + b"\x89\x88\x87R"  # dtype(descr, False, True)
        + b"(K\x03"
        + short_str("<")
        + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
    )
    state = (
        b"}("
        + short_str("shape")
        + dims
        + short_str("dtype")
        + dtype
        + (short_str("numpy_array_alignment_bytes") + b"K\x10" if padding is not None else b"")
        + b"u"
    )
    wrapper = glob("joblib.numpy_pickle", "NumpyArrayWrapper") + b")\x81"
    return PROTO4 + b"]" + wrapper + state + b"b" + (padding or b"") + raw + b"a."


def test_joblib_arrays_are_stepped_over(tmp_path: Path) -> None:
    data = _joblib(struct.pack("<2d", 1.0, 2.0))
    analysis = scan_pickle_file(write(tmp_path, "array.joblib", data))
    assert analysis == FileAnalysis(
        format="joblib", imports=("joblib.numpy_pickle.NumpyArrayWrapper", "numpy.dtype")
    )
    scan = stream(data)
    assert scan.complete
    assert scan.end_offset == len(data)


@pytest.mark.parametrize(
    ("raw", "padding"),
    [
        (b"cos\nsystem\n0\x00\x00\x00\x00", None),
        # The padding-length byte 0x28 is MARK for pickle.load, and the 40 padding bytes follow.
        (b"\x00" * 16, b"(" + b"cos\nsystem\n0" + b"N0" * 14),
    ],
)
def test_joblib_array_bytes_are_also_read_as_plain_pickle_opcodes(
    raw: bytes, padding: bytes | None
) -> None:
    # pickle.load (not joblib.load) would run these bytes as opcodes.
    data = _joblib(raw, padding=padding)
    scan = stream(data)
    assert scan.complete
    assert scan.end_offset == len(data)
    assert "os.system" in scan.imports
    assert HIGH in severities(scan.risks)


def test_joblib_object_arrays_are_nested_pickles() -> None:
    nested = b"\x80\x02" + glob("posix", "system") + b"."
    scan = stream(_joblib(nested, descr="O8"))
    assert scan.complete
    assert "posix.system" in scan.imports


@pytest.mark.parametrize(
    ("data", "problem", "analyser_limit"),
    [
        (_joblib(b"", shape=(2**31 - 1,) * 8), "more than any file", False),
        (_joblib(b"\x00" * 4), "declares 16 bytes but only", False),
        (_joblib(b"", descr="V"), "cannot size", True),
    ],
)
def test_joblib_arrays_that_cannot_be_sized(
    tmp_path: Path, data: bytes, problem: str, analyser_limit: bool
) -> None:
    scan = stream(data)
    assert not scan.complete
    assert problem in scan.problems[0]
    assert RiskKind.UNREADABLE in kinds(scan.risks)
    # After a complete first pickle, data every loader fails on is trailing raw bytes; a limit
    # of this analyser keeps the file unknown.
    analysis = scan_pickle_file(write(tmp_path, "second.joblib", pickle.dumps(0) + data))
    assert (RiskKind.UNREADABLE in kinds(analysis.risks)) == analyser_limit


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
    analysis = scan_pickle_file(write(tmp_path, name, data))
    assert analysis.risks == ()
    assert not analysis.executable_on_load
    assert len(analysis.problems) == 1
    assert analysis.problems[0].startswith("not a pickle (")


@pytest.mark.parametrize(
    ("compress", "name"),
    [
        (gzip.compress, "model.pkl.gz"),
        (zlib.compress, "model.joblib"),
        (bz2.compress, "model.pkl"),
        (lzma.compress, "model.pkl"),
        (lambda data: lzma.compress(data, format=lzma.FORMAT_ALONE), "model.joblib"),
    ],
)
def test_compressed_pickles(tmp_path: Path, compress: Callable[[bytes], bytes], name: str) -> None:
    analysis = scan_pickle_file(write(tmp_path, name, compress(OS_SYSTEM_V0)))
    assert analysis.imports == ("os.system",)
    assert analysis.problems == ()


def test_unsupported_and_corrupt_compression(tmp_path: Path) -> None:
    lz4 = scan_pickle_file(write(tmp_path, "a.joblib", b"\x04\x22\x4d\x18" + b"\x00" * 32))
    assert kinds(lz4.risks) == {RiskKind.UNREADABLE}
    assert lz4.executable_on_load
    rows = [OrderedDict(row=index) for index in range(5000)]
    packed = gzip.compress(pickle.dumps(rows, protocol=2))
    torn = scan_pickle_file(write(tmp_path, "b.pkl", packed[: len(packed) // 2]))
    # What was decompressed before the tear is analysed; the rest is unknown.
    assert torn.imports == ("collections.OrderedDict",)
    assert kinds(torn.risks) == {RiskKind.UNREADABLE}
    assert torn.problems == (
        "the gzip data cannot be decompressed: the compressed data ends early",
    )


def test_decompression_is_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pickle_scan, "MAX_DECOMPRESSED_BYTES", 1024 * 1024)
    bomb = gzip.compress(pickle.dumps(b"\x00" * (8 * 1024 * 1024), protocol=4))
    analysis = scan_pickle_file(write(tmp_path, "bomb.pkl", bomb))
    assert kinds(analysis.risks) == {RiskKind.UNREADABLE}
    assert "byte limit" in analysis.problems[0]


def test_special_files_are_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "model.pkl"
    os.mkfifo(fifo)
    with pytest.raises(MalformedFileError, match="not a regular file"):
        scan_pickle_file(fifo)


# --- hostile pickles: truncation, huge lengths, nesting, caps --------------------------------


def test_every_truncation_is_incomplete_and_unreadable() -> None:
    data = pickle.dumps(PLAIN_DATA, protocol=4)
    for end in range(len(data)):
        scan = stream(data[:end])
        assert not scan.complete
        assert RiskKind.UNREADABLE in kinds(scan.risks)
        assert scan.end_offset <= end


class Unseekable(io.RawIOBase):
    """A pipe-like stream: no seek, no tell."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        view = memoryview(buffer).cast("B")
        chunk = self._data.read(len(view))
        view[: len(chunk)] = chunk
        return len(chunk)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (PROTO4 + b"\x8d" + struct.pack("<Q", 2**62), "more than any file"),
        (PROTO4 + b"\x8e" + struct.pack("<Q", 2**40) + b"abc", "but only 3 remain"),
        (PROTO4 + b"\x96" + struct.pack("<Q", 2**33), "but only 0 remain"),
        (PROTO4 + b"\x95" + struct.pack("<Q", 2**60) + b"N.", "more than the data holds"),
        (b"\x80\x02\x8b" + struct.pack("<i", 2**31 - 1) + b"\x00", "but only 1 remain"),
        (b"T" + struct.pack("<i", -5), "negative length"),
        (b"X" + struct.pack("<I", 2**32 - 1), "but only 0 remain"),
        (b"\x80\x02\x8a\xff\x01", "runs past the end"),
    ],
)
def test_huge_declared_lengths(data: bytes, problem: str) -> None:
    started = time.monotonic()
    scan = stream(data)
    assert not scan.complete
    assert problem in scan.problems[-1]
    unseekable = scan_pickle_stream(io.BufferedReader(Unseekable(data)))
    assert not unseekable.complete
    assert time.monotonic() - started < 5


def test_byte_limit() -> None:
    scan = stream(pickle.dumps(list(range(10_000)), protocol=2), max_bytes=1000)
    assert not scan.complete
    assert "byte limit" in scan.problems[0]


def test_deep_nesting() -> None:
    nested: list[object] = []
    for _ in range(300):
        nested = [nested]
    assert stream(pickle.dumps(nested, protocol=4)).complete
    # Tuples nested 200,000 deep: modelled without recursion.
    tuples = stream(PROTO4 + b"N" + b"\x85" * 200_000 + STOP)
    assert tuples.complete
    marks = stream(PROTO4 + b"(" * (MAX_MARK_DEPTH + 1))
    assert not marks.complete
    assert f"more than {MAX_MARK_DEPTH} nested MARKs" in marks.problems[0]


@pytest.mark.parametrize(
    ("cap", "value", "data", "problem"),
    [
        ("MAX_OPCODES", 1000, b"N0" * 1000 + b"N.", "more than 1000 opcodes"),
        ("MAX_STACK_ITEMS", 100, b"(" + b"N" * 101 + b"t.", "more than 100 items"),
        (
            "MAX_SPARSE_MEMO_ENTRIES",
            3,
            b"N" + b"".join(b"r" + struct.pack("<I", 1000 + 7 * i) for i in range(4)) + b".",
            "more than 3 out-of-sequence memo keys",
        ),
        (
            "MAX_IMPORTS",
            2,
            b"".join(glob("m", f"n{i}") + b"0" for i in range(3)) + b"N.",
            "more than 2 distinct imports",
        ),
    ],
)
def test_caps_make_the_scan_incomplete(
    monkeypatch: pytest.MonkeyPatch, cap: str, value: int, data: bytes, problem: str
) -> None:
    monkeypatch.setattr(pickle_scan, cap, value)
    scan = stream(data)
    assert not scan.complete
    assert problem in scan.problems[0]
    assert RiskKind.UNREADABLE in kinds(scan.risks)


def test_memo_model_limit_is_reported_not_guessed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pickle_scan, "MAX_MEMO_MODEL_BYTES", 100)
    data = PROTO4 + short_str("os") + b"\x94" + short_str("system") + b"\x94" + b"00"
    scan = stream(data + b"h\x00h\x01\x93.")
    (risk,) = scan.risks
    assert (risk.kind, risk.severity) == (RiskKind.UNREADABLE, MEDIUM)
    assert "memo limit" in risk.message


def test_pickles_per_file_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pickle_scan, "MAX_PICKLES_PER_FILE", 3)
    analysis = scan_pickle_file(write(tmp_path, "many.pkl", pickle.dumps(1) * 5))
    assert analysis.problems == ("more than 3 pickles in one file",)
    assert kinds(analysis.risks) == {RiskKind.UNREADABLE}


def test_stack_underflow_is_reported_and_walked_past() -> None:
    scan = stream(b"0" + OS_SYSTEM_V0)
    assert scan.complete
    assert scan.imports == ("os.system",)
    assert scan.problems == ("stack underflow at byte 0 (a loader fails there)",)


# --- fuzzing ----------------------------------------------------------------------------------

SEEDS = [pickle.dumps(PLAIN_DATA, protocol=p) for p in range(pickle.HIGHEST_PROTOCOL + 1)] + [
    OS_SYSTEM_V0,
    _joblib(struct.pack("<2d", 1.0, 2.0)),
    _legacy_torch(b"\x80\x02" + glob("collections", "OrderedDict") + b")R."),
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
            analysis = scan_pickle_file(path)
        except MalformedFileError:
            return
    assert analysis.executable_on_load == any(
        risk.kind != RiskKind.TEMPLATE for risk in analysis.risks
    )
