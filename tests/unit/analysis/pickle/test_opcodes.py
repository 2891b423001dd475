"""Tests for the opcode handlers: every opcode, every protocol, imports and calls."""

from __future__ import annotations

import pickle
import pickletools

import pytest

from scanner.analysis.load_risk import RiskKind
from scanner.analysis.pickle.opcodes import HANDLERS
from scanner.analysis.pickle.reader import MAX_NAME_BYTES
from tests.unit.analysis.pickle.pickles import (
    HIGH,
    MEDIUM,
    PLAIN_DATA,
    PROTO4,
    glob,
    severities,
    short_str,
    stream,
)


def test_every_cpython_opcode_has_a_handler() -> None:
    known = {op.code.encode("latin-1")[0] for op in pickletools.opcodes}
    handled = {code for code, handler in enumerate(HANDLERS) if handler is not None}
    assert handled == known


class Sample:
    """A class outside the allowlist, pickled by reference to this test module."""

    def __init__(self) -> None:
        self.value = 1


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
