"""Regression tests for bypasses of the pickle analysis (issue #12: load analysis by content).

Every input is written opcode by opcode (or byte by byte) and only scanned, never unpickled.
Each case names its source: the issue item, or the public advisory that documents it.
"""

from __future__ import annotations

import io
import struct
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.analysis.dispatch import analyze_stream
from scanner.analysis.load_risk import FileAnalysis, RiskKind
from scanner.analysis.pickle.machine import MAX_MARK_DEPTH, MAX_STACK_ITEMS
from scanner.analysis.pickle.scan import scan_pickle_file
from scanner.formats.model.model_formats import format_of
from tests.unit.analysis.pickle.pickles import HIGH, MEDIUM, OS_SYSTEM_V0, kinds, stream

#: GLOBAL os system, MARK, STRING 'id', TUPLE, REDUCE: the call, without its STOP.
CALL_V0 = OS_SYSTEM_V0[:-1]


def _high_callables(analysis: FileAnalysis) -> set[str]:
    return {c for risk in analysis.risks if risk.severity == HIGH for c in risk.callables}


# --- caps an attacker can reach (issue #12 item 5) ------------------------------------------------

CAP_CASES = {
    # 200,000 nested MARKs, then the call: the MARK cap is reached before the payload.
    "marks-then-call": b"(" * (2 * MAX_MARK_DEPTH) + OS_SYSTEM_V0,
    # The call, then 200,000 nested MARKs before STOP: the cap comes after the payload.
    "call-then-marks": CALL_V0 + b"(" * (2 * MAX_MARK_DEPTH) + b".",
    # Over a million NONEs on the stack, then the call (the stack cap first).
    "stack-then-call": b"N" * (MAX_STACK_ITEMS + 1) + OS_SYSTEM_V0,
    # Protocol 4: 200,000 MARKs, then STACK_GLOBAL of strings pushed after the cap.
    "marks-then-stack-global": b"\x80\x04"
    + b"(" * (2 * MAX_MARK_DEPTH)
    + b"\x8c\x02os\x8c\x06system\x93\x8c\x02id\x85R.",
}


@pytest.mark.parametrize("name", ["notes.txt", "model.safetensors", "weights.xyz"])
@pytest.mark.parametrize("data", CAP_CASES.values(), ids=CAP_CASES.keys())
def test_a_cap_does_not_hide_the_call_under_any_name(data: bytes, name: str) -> None:
    analysis = analyze_stream(io.BytesIO(data), name)
    assert analysis is not None
    assert "os.system" in _high_callables(analysis)


@pytest.mark.parametrize("data", CAP_CASES.values(), ids=CAP_CASES.keys())
def test_a_cap_does_not_hide_the_call(data: bytes) -> None:
    scan = stream(data)
    assert not scan.complete
    assert {RiskKind.UNSAFE_IMPORT, RiskKind.UNREADABLE} <= kinds(scan.risks)
    assert "os.system" in {c for risk in scan.risks for c in risk.callables}
    analysis = scan_pickle_file(io.BytesIO(data), "pytorch_model.bin")
    assert "os.system" in _high_callables(analysis)
    assert RiskKind.UNREADABLE in kinds(analysis.risks)


# --- by content, not by name (issue #12 item 1) ---------------------------------------------------

#: Protocol-0/1 and PROTO-less openings before the call; each is a pickle CPython reads (the
#: first opcodes push a value that POP drops). Source: issue #12 item 1.
OPENINGS = {
    "none-pop": b"N0",
    "int-pop": b"I1\n0",
    "float-pop": b"F1.5\n0",
    "string-pop": b"S'x'\n0",
    "unicode-pop": b"Vx\n0",
    "proto-1": b"\x80\x01",
    "empty-list-pop": b"]0",
    "binint1-pop": b"K\x010",
    "none": b"",
}
#: Protocol 4 opcodes without a PROTO: SHORT_BINUNICODE, STACK_GLOBAL, TUPLE1, REDUCE.
P4_NO_PROTO = b"\x8c\x02os\x8c\x06system\x93\x8c\x02id\x85R."
#: Every kind of name a file may have: loader names, other formats' names, text, no suffix.
NAMES = (
    "pytorch_model.bin",
    "model.pt",
    "model.ckpt",
    "model.sav",
    "model.data",
    "tokenizer.model",
    "weights",
    "model.h5",
    "flax_model.msgpack",
    "notes.txt",
    "config.json",
    "README.md",
    "model.safetensors",
    "model.gguf",
    "model.onnx",
    "model.tflite",
    "weights.xyz",
)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    "data",
    [*(opening + OS_SYSTEM_V0 for opening in OPENINGS.values()), P4_NO_PROTO],
    ids=[*OPENINGS, "protocol-4-no-proto"],
)
def test_a_pickle_is_analysed_whatever_its_name(name: str, data: bytes) -> None:
    analysis = analyze_stream(io.BytesIO(data), name)
    assert analysis is not None
    assert "os.system" in _high_callables(analysis)


#: A call a loader runs before it fails (no STOP): reported under any name.
TRUNCATED = CALL_V0 + b"\x00"


@pytest.mark.parametrize("name", NAMES)
def test_a_call_before_a_failure_is_analysed_whatever_its_name(name: str) -> None:
    analysis = analyze_stream(io.BytesIO(TRUNCATED), name)
    assert analysis is not None
    assert "os.system" in _high_callables(analysis)


def _safetensors(header_size: int) -> bytes:
    header = b'{"__metadata__":{"format":"pt"}}'
    return struct.pack("<Q", header_size) + header.ljust(header_size)


#: Valid files of other formats and text whose first bytes look like opcodes: no HIGH, no
#: analysis. Source: issue #12 item 1 (the 0x0280 safetensors header length starts ``80 02``).
def _hdf5_weights() -> bytes:
    """A real HDF5 file holding one weights dataset and no Keras model config (h5py writes it:
    HDF5 cannot be written with the standard library)."""
    h5py = pytest.importorskip("h5py")
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as document:
        document.create_dataset("dense/kernel", data=[[0.5, 0.25]])
    return buffer.getvalue()


LOOK_ALIKES = {
    "safetensors-0x0280": ("model.safetensors", _safetensors(0x0280)),
    # 0x63 is GLOBAL: the header is read as one long line, which would be a hidden import.
    "safetensors-0x0463": ("model.safetensors", _safetensors(0x0463)),
    "safetensors-0x0469-inst": ("model.safetensors", _safetensors(0x0469)),
    "gguf": ("model.gguf", b"GGUF\x03\x00\x00\x00" + bytes(16)),
    # A clone without LFS leaves pointers in the weights' place (as in the shared corpus).
    "lfs-pointer": (
        "model.safetensors",
        b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"c0" * 32 + b"\nsize 8\n",
    ),
    "hdf5": ("model.h5", _hdf5_weights()),
    "msgpack": ("flax_model.msgpack", b"\x81\xa6params\x80"),
    # Raw weights whose tail holds a zip end-record signature by chance: no zip behind them.
    "raw-bin-with-end-signature": (
        "openvino_model.bin",
        b"\x00" + bytes(range(256)) * 64 + b"PK\x05\x06" + bytes(range(18)) + bytes(100),
    ),
    "text-hello": ("notes.txt", b"hello.\n"),
    "python": ("run.py", b"import os\nos.system('x')\n"),
    "requirements": ("requirements.txt", b"certifi==1\nos.system\n"),
    "markdown": ("README.md", b"# model\n"),
    "json": ("config.json", b'{"a": "cos\\nsystem\\n"}'),
}


@pytest.mark.parametrize(("name", "data"), LOOK_ALIKES.values(), ids=LOOK_ALIKES.keys())
def test_a_benign_look_alike_is_not_read_as_a_pickle(name: str, data: bytes) -> None:
    assert analyze_stream(io.BytesIO(data), name) is None


def test_a_valid_file_of_its_format_that_is_also_a_dangerous_pickle_is_high() -> None:
    # Flax's msgpack map of 12 entries whose first key is a 160-byte string starts
    # ``8c a0``: SHORT_BINUNICODE of 160 bytes to a pickle. Popped, then posix.system: a
    # polyglot that a msgpack reader accepts and torch.load / pickle.load would run.
    polyglot = b"\x8c\xa0" + b"k" * 160 + b"0" + b"cposix\nsystem\n\x8c\x02id\x85R."
    assert format_of("flax_model.msgpack").is_instance(io.BytesIO(polyglot), len(polyglot))  # type: ignore[misc]
    analysis = analyze_stream(io.BytesIO(polyglot), "flax_model.msgpack")
    assert analysis is not None
    assert analysis.imports == ("posix.system",)
    assert HIGH in {risk.severity for risk in analysis.risks}
    assert any("also a pickle" in problem for problem in analysis.problems)


#: Files named as weights that are neither a valid file of their format nor a pickle: their
#: loading cannot be vouched for. Source: issue #12 item 1.
NEITHER = {
    "safetensors-short": ("model.safetensors", struct.pack("<Q", 0x0280) + b"{}"),
    "gguf-truncated": ("model.gguf", b"GGUF\x03\x00\x00\x00"),
    "h5-garbage": ("model.h5", b"\x00garbage"),
    "msgpack-garbage": ("flax_model.msgpack", b"\x00\x01"),
}


@pytest.mark.parametrize(("name", "data"), NEITHER.values(), ids=NEITHER.keys())
def test_weights_that_are_neither_their_format_nor_a_pickle_are_unreadable(
    name: str, data: bytes
) -> None:
    analysis = analyze_stream(io.BytesIO(data), name)
    assert analysis is not None
    assert kinds(analysis.risks) == {RiskKind.UNREADABLE}
    assert HIGH not in {risk.severity for risk in analysis.risks}


# --- callables (issue #12 item 4) -----------------------------------------------------------------

#: ``(module, name, source)``: each must be HIGH when a pickle imports it.
DANGEROUS = [
    # Dotted paths through module attributes resolve to what they name (issue #12 item 4).
    ("torch", "os.system", "issue #12 item 4"),
    ("posixpath", "os.system", "issue #12 item 4"),
    ("argparse", "_os.system", "issue #12 item 4: argparse imports os as _os"),
    ("numpy", "__builtins__.eval", "https://github.com/protectai/modelscan/issues/89"),
    ("numpy", "__builtins__", "https://github.com/protectai/modelscan/issues/330"),
    ("numpy.__builtins__", "eval", "issue #12 item 4: a dunder module segment"),
    ("builtins", "__dict__", "issue #12 item 4: a dunder segment anywhere"),
    ("builtins", "__loader__.load_module", "issue #12 item 4"),
    ("numpy", "core._internal.sys.modules", "https://github.com/protectai/modelscan/issues/89"),
    ("torch", "_C._load_for_lite_interpreter", "issue #12 item 4: torch._C loaders"),
    ("torch._C", "import_ir_module", "issue #12 item 4: torch._C loaders"),
    ("torch", "storage._load_from_bytes", "issue #12 item 4"),
    # The import machinery and its private aliases.
    ("importlib._bootstrap", "_load", "https://github.com/mmaitre314/picklescan/issues/66"),
    ("_frozen_importlib", "_load", "https://github.com/mmaitre314/picklescan/issues/66"),
    ("_frozen_importlib_external", "SourceFileLoader", "picklescan issue 66"),
    ("_imp", "create_dynamic", "https://github.com/mmaitre314/picklescan/issues/66"),
    ("importlib", "import_module", "https://github.com/protectai/modelscan/issues/331"),
    ("pkgutil", "resolve_name", "GHSA-vvpj-8cmc-gx39 (picklescan)"),
    ("operator", "attrgetter", "https://github.com/mmaitre314/picklescan/pull/25"),
    ("operator", "methodcaller", "https://github.com/trailofbits/fickling/pull/210"),
    ("_operator", "itemgetter", "https://github.com/trailofbits/fickling/pull/210"),
    ("functools", "partial", "https://github.com/trailofbits/fickling/pull/210"),
    ("functools", "reduce", "issue #12 item 4"),
    ("_functools", "reduce", "issue #12 item 4"),
    ("builtins", "getattr", "https://github.com/protectai/modelscan/issues/331"),
    # Gadgets of public advisories.
    ("pip", "main", "CVE-2025-1716, https://github.com/promptfoo/modelaudit/pull/598"),
    ("pip._internal.cli.main", "main", "CVE-2025-1716"),
    ("ensurepip", "_run_pip", "GHSA-xp4f-hrf8-rxw7"),
    ("distutils.file_util", "write_file", "CVE-2025-10155/10156, fickling PR 210"),
    ("_io", "FileIO", "CVE-2025-10156, fickling PR 210"),
    ("asyncio.unix_events", "_UnixSubprocessTransport", "CVE-2025-10157, fickling PR 210"),
    ("runpy", "_run_code", "issue #12 item 4"),
    ("timeit", "timeit", "GHSA-v7x6-rv5q-mhwc"),
    ("cProfile", "runctx", "GHSA-9w88-8rmg-7g2p"),
    ("pdb", "Pdb.run", "https://github.com/mmaitre314/picklescan/pull/29"),
    ("code", "InteractiveInterpreter.runsource", "issue #12 item 4"),
    ("ctypes", "CDLL", "issue #12 item 4"),
    ("subprocess", "getoutput", "issue #12 item 4"),
    ("torch.hub", "load", "issue #12 item 4"),
    ("torch.jit", "load", "issue #12 item 4"),
    ("numpy", "load", "issue #12 item 4"),
    ("numpy.lib._npyio_impl", "load", "numpy.load's NumPy 2 home"),
    ("numpy.f2py.crackfortran", "getlincoef", "https://github.com/trailofbits/fickling/pull/210"),
    ("pandas", "read_pickle", "issue #12 item 4"),
    ("pandas.io.parsers.readers", "read_csv", "https://github.com/protectai/modelscan/issues/338"),
    ("mlflow.projects.backend.local", "_run_entry_point", "modelscan issue 338"),
    ("joblib", "load", "issue #12 item 4"),
    ("shutil", "rmtree", "https://github.com/mmaitre314/picklescan/pull/29"),
    ("webbrowser", "open", "issue #12 item 4"),
    ("smtplib", "SMTP", "issue #12 item 4"),
    ("socket", "create_connection", "issue #12 item 4"),
    ("urllib.request", "urlopen", "issue #12 item 4"),
    ("setuptools._distutils.spawn", "spawn", "issue #12 item 4"),
    ("multiprocessing.util", "spawnv_passfds", "https://github.com/protectai/modelscan/issues/338"),
    ("torch.utils.bottleneck.__main__", "run_autograd_prof", "GHSA-4whj-rm5r-c2v8"),
    ("logging", "FileHandler", "CVE-2026-56304"),
    ("uuid", "_get_command_stdout", "CVE-2026-56315"),
]


def _stack_global(module: str, name: str) -> bytes:
    """Protocol 4: BINUNICODE module and name, STACK_GLOBAL, EMPTY_TUPLE, REDUCE, STOP."""

    def text(value: str) -> bytes:
        raw = value.encode()
        return b"X" + struct.pack("<I", len(raw)) + raw

    return b"\x80\x04" + text(module) + text(name) + b"\x93)R."


@pytest.mark.parametrize(
    ("module", "name"),
    [(module, name) for module, name, _ in DANGEROUS],
    ids=[f"{module}.{name}" for module, name, _ in DANGEROUS],
)
def test_a_dangerous_callable_is_high(module: str, name: str) -> None:
    scan = stream(_stack_global(module, name))
    high = {c for risk in scan.risks if risk.severity == HIGH for c in risk.callables}
    assert f"{module}.{name}" in high


#: What a weight file may legitimately reconstruct stays allowed (no risk at all).
ALLOWED = [
    ("collections", "OrderedDict"),
    ("torch._utils", "_rebuild_tensor_v2"),
    ("numpy.random._pickle", "__randomstate_ctor"),
    ("copyreg", "__newobj__"),
    ("__builtin__", "set"),
]


@pytest.mark.parametrize(("module", "name"), ALLOWED)
def test_an_allowlisted_callable_stays_allowed(module: str, name: str) -> None:
    assert stream(_stack_global(module, name)).risks == ()


@pytest.mark.parametrize(
    ("module", "name"),
    [("__main__", "MyTransformer"), ("sklearn.pipeline", "Pipeline"), ("functools", "wraps")],
)
def test_an_unknown_callable_is_at_least_medium(module: str, name: str) -> None:
    scan = stream(_stack_global(module, name))
    assert {risk.severity for risk in scan.risks} == {MEDIUM}


# --- memo runs walked at once (issue #12 item 5) --------------------------------------------------

#: One instruction of each kind the walker applies as a run; the values pushed are short
#: strings, so the memo's byte model is exercised too.
MEMO_TOKENS = [
    b"\x94",
    b"q\x00",
    b"q\x07",
    b"r\x03\x00\x00\x00",
    b"r\x00\x00\x01\x00",
    b"p2\n",
    b"p0\n",
    b"p007\n",
    b"h\x000",
    b"h00",  # BINGET 0x30, POP: a key byte that looks like POP
    b"q0",
    b"j0000" + b"0",
    b"j\x02\x00\x00\x000",
    b"g1\n0",
    b"N0",
    b"]0",
    b"K\x070",
    b"J\x01\x00\x00\x000",
    b"(1",
    b"(0",
    b"\x880",
    b"\x8c\x01a",  # a new top of stack between runs
    b"0",
    b"(",
    b"h\x00",
]


def _walk(data: bytes, monkeypatch: pytest.MonkeyPatch, *, runs: bool) -> tuple[object, ...]:
    from scanner.analysis.pickle import machine
    from scanner.analysis.pickle.opcodes import HANDLERS
    from scanner.analysis.pickle.reader import Reader

    with monkeypatch.context() as patch:
        if not runs:
            patch.setattr(machine, "MEMO_RUNS", {})
            patch.setattr(machine, "_NOOP_STEPS", {})
        walker = machine.Walker(
            Reader(io.BytesIO(data), max_bytes=1 << 30, seekable=True),
            machine.Budget(),
            machine.Mode.MAIN,
            HANDLERS,
        )
        walker.run()
    memo = walker.memo
    return (
        memo._dense,
        memo._sparse,
        memo.dropped_any,
        walker.stack,
        walker.marks,
        list(walker.findings.imports),
        walker.findings.problems,
        walker.complete,
        walker.budget.opcodes_left,
    )


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(st.sampled_from(MEMO_TOKENS), st.integers(1, 40)), max_size=12))
def test_memo_runs_walk_as_one_opcode_at_a_time(
    monkeypatch: pytest.MonkeyPatch, pieces: list[tuple[bytes, int]]
) -> None:
    data = b"\x80\x04\x8c\x01x" + b"".join(token * count for token, count in pieces)
    data += b"\x8c\x02os\x8c\x06system\x93."
    *batched, budget_left = _walk(data, monkeypatch, runs=True)
    *single, single_left = _walk(data, monkeypatch, runs=False)
    assert batched == single
    # Runs of no-ops cost less of the opcode budget (padding must not spend it), never more.
    assert budget_left >= single_left  # type: ignore[operator]


def test_padding_of_no_ops_does_not_spend_the_budget_before_a_payload() -> None:
    # 3,000,000 pairs of MARK/POP_MARK and EMPTY_LIST/POP (12 million opcodes, over the
    # 10 million cap) hid the call after them (issue #12 item 5); now walked at regex speed.
    data = b"\x80\x02" + b"(1]0" * 3_000_000 + OS_SYSTEM_V0
    started = time.perf_counter()
    scan = stream(data)
    assert time.perf_counter() - started < 5  # about 0.2 s; generous for loaded machines
    assert scan.complete
    assert "os.system" in {c for risk in scan.risks for c in risk.callables}


def test_six_million_memo_opcodes_are_walked_fast() -> None:
    # 6,000,000 MEMOIZEs then the call (hand-written; ~9 s per case before runs were batched).
    data = b"\x80\x04N" + b"\x94" * 6_000_000 + b"0" + OS_SYSTEM_V0
    started = time.perf_counter()
    scan = stream(data)
    assert time.perf_counter() - started < 5  # about 0.1 s; generous for loaded machines
    assert scan.complete
    assert "os.system" in {c for risk in scan.risks for c in risk.callables}
