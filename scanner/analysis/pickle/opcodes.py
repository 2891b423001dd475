"""The opcode table: one handler per pickle opcode, each returning True at STOP.

The handlers mirror CPython's C unpickler: a stream is given up only where every loader fails
too (unknown opcode, end of data, undecodable names).
"""

from __future__ import annotations

import codecs
import warnings
from typing import TYPE_CHECKING, Final

from scanner.analysis.pickle.reader import MAX_DECLARED_LENGTH, MAX_NAME_BYTES, Stop
from scanner.analysis.pickle.values import (
    ANY,
    ARRAY_WRAPPERS,
    DROPPED,
    LONG_STR,
    MAX_MODELLED_DICT,
    MISSING,
    Global,
    Instance,
    PlainDict,
    StateDict,
    model_tuple,
)
from scanner.analysis.trainer_classes import RESTORE_FORMS

if TYPE_CHECKING:
    from collections.abc import Callable

    from scanner.analysis.pickle.machine import Handler, Walker

#: Highest pickle protocol CPython reads.
HIGHEST_PROTOCOL = 5


def _read_int_line(walker: Walker, what: str) -> int | None:
    text, complete = walker.reader.line(what)
    if not complete:
        return None
    try:
        return int(text.rstrip(b"L").decode("ascii"), 0)
    except ValueError:
        try:
            return int(text.rstrip(b"L").decode("ascii"))
        except ValueError:
            return None


def _le(data: bytes, *, signed: bool = False) -> int:
    return int.from_bytes(data, "little", signed=signed)


def _decode_name(data: bytes, what: str, position: int) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise Stop(f"{what} at byte {position} is not valid UTF-8") from None


def _op_global(walker: Walker, what: str) -> Global | None:
    position = walker.reader.position - 1
    module_bytes, module_complete = walker.reader.line(what)
    name_bytes, name_complete = walker.reader.line(what)
    if not (module_complete and name_complete):
        # Only the start was kept (it may end inside a character): the callable stays unknown.
        walker.hidden_import(f"{what} with a name longer than {MAX_NAME_BYTES} bytes")
        return None
    module = _decode_name(module_bytes, what, position)
    name = _decode_name(name_bytes, what, position)
    return walker.import_global(module, name)


def _h_global(walker: Walker) -> bool:
    found = _op_global(walker, "GLOBAL")
    walker.push(found if found is not None else ANY)
    return False


def _h_inst(walker: Walker) -> bool:
    found = _op_global(walker, "INST")
    walker.pop_mark()
    walker.findings.calls += 1
    if found is not None and (found.module, found.name) in RESTORE_FORMS:
        walker.findings.framework_misuse[found] = None  # INST calls the class with arguments
    walker.push(Instance(found) if found is not None else ANY)
    return False


def _h_stack_global(walker: Walker) -> bool:
    name = walker.pop()
    module = walker.pop()
    if isinstance(module, str) and isinstance(name, str):
        walker.push(walker.import_global(module, name))
        return False
    if module is DROPPED or name is DROPPED:
        walker.findings.dropped_operands += 1
    else:
        walker.hidden_import("STACK_GLOBAL with operands that are not known strings")
    walker.push(ANY)
    return False


def _ext(size: int) -> Callable[[Walker], bool]:
    def handler(walker: Walker) -> bool:
        position = walker.reader.position - 1
        code = _le(walker.reader.exact(size, "EXT"))
        if code <= 0:
            raise Stop(f"EXT at byte {position} names extension code {code}")
        walker.findings.extension_codes[code] = None
        walker.push(ANY)
        return False

    return handler


def _h_reduce(walker: Walker) -> bool:
    args = walker.pop()
    callee = walker.pop()
    walker.push(walker.call(callee, args, "reduce"))
    return False


def _h_newobj(walker: Walker) -> bool:
    args = walker.pop()
    cls = walker.pop()
    walker.push(walker.call(cls, args, "newobj"))
    return False


def _h_newobj_ex(walker: Walker) -> bool:
    walker.pop()  # kwargs
    args = walker.pop()
    cls = walker.pop()
    walker.push(walker.call(cls, args, "newobj_ex"))
    return False


def _h_obj(walker: Walker) -> bool:
    items = walker.pop_mark()
    if not items:
        walker.note_underflow()
        walker.push(ANY)
        return False
    walker.push(walker.call(items[0], tuple(items[1:]), "obj"))
    return False


def _h_build(walker: Walker) -> bool:
    walker.build()
    return False


def _h_stop(walker: Walker) -> bool:
    walker.result = walker.pop()
    return True


def _h_mark(walker: Walker) -> bool:
    walker.push_mark()
    return False


def _h_pop(walker: Walker) -> bool:
    # As CPython: POP right after MARK discards the mark.
    if walker.marks and walker.marks[-1] == len(walker.stack):
        walker.drop_mark()
    else:
        walker.pop()
    return False


def _h_pop_mark(walker: Walker) -> bool:
    walker.pop_mark()
    return False


def _h_dup(walker: Walker) -> bool:
    walker.push(walker.top())
    return False


def _push_constant(value: object) -> Callable[[Walker], bool]:
    def handler(walker: Walker) -> bool:
        walker.push(value)
        return False

    return handler


def _skip_line_push_any(what: str) -> Callable[[Walker], bool]:
    def handler(walker: Walker) -> bool:
        walker.reader.line(what)
        walker.push(ANY)
        return False

    return handler


def _h_int(walker: Walker) -> bool:
    text, complete = walker.reader.line("INT")
    if complete and text in (b"00", b"01"):
        walker.push(text == b"01")
        return False
    value: object = ANY
    if complete:
        try:
            value = int(text.decode("ascii"), 0)
        except ValueError:
            value = ANY  # lenient: CPython's parser differs in corner cases; keep walking
    walker.push(value)
    return False


def _fixed_int(size: int, *, signed: bool) -> Callable[[Walker], bool]:
    def handler(walker: Walker) -> bool:
        walker.push(_le(walker.reader.exact(size, "integer"), signed=signed))
        return False

    return handler


def _h_long1(walker: Walker) -> bool:
    size = walker.reader.byte()
    if size < 0:
        raise Stop("LONG1 runs past the end of the data")
    walker.push(_le(walker.reader.exact(size, "LONG1"), signed=True))
    return False


def _h_long4(walker: Walker) -> bool:
    position = walker.reader.position - 1
    size = _le(walker.reader.exact(4, "LONG4"), signed=True)
    if size < 0:
        raise Stop(f"LONG4 at byte {position} has a negative length")
    if size <= 16:
        walker.push(_le(walker.reader.exact(size, "LONG4"), signed=True))
    else:
        walker.reader.skip(size, "LONG4")
        walker.push(ANY)
    return False


def _sized_string(length_size: int, *, signed: bool = False, kind: str) -> Callable[[Walker], bool]:
    """BINUNICODE and friends (``kind`` "utf-8"), BINSTRING and friends ("ascii"), bytes ("")."""

    def handler(walker: Walker) -> bool:
        position = walker.reader.position - 1
        size = _le(walker.reader.exact(length_size, "length"), signed=signed)
        if size < 0:
            raise Stop(f"a string at byte {position} has a negative length")
        if not kind or size > MAX_NAME_BYTES:
            walker.reader.skip(size, "a string" if kind else "a bytes value")
            walker.push(LONG_STR if kind else ANY)
            return False
        data = walker.reader.exact(size, "a string")
        if kind == "ascii":
            # Python 2 strings load as str through the default ASCII encoding.
            walker.push(data.decode("ascii") if data.isascii() else LONG_STR)
            return False
        try:
            walker.push(data.decode("utf-8", "surrogatepass"))
        except UnicodeDecodeError:
            raise Stop(f"a string at byte {position} is not valid UTF-8") from None
        return False

    return handler


def _h_string(walker: Walker) -> bool:
    position = walker.reader.position - 1
    text, complete = walker.reader.line("STRING")
    if not complete:
        walker.push(LONG_STR)
        return False
    if len(text) < 2 or text[0] != text[-1] or text[:1] not in (b"'", b'"'):
        raise Stop(f"STRING at byte {position} is not quoted")
    try:
        with warnings.catch_warnings():
            # "invalid escape sequence" warnings: the loader accepts those escapes.
            warnings.simplefilter("ignore")
            data = codecs.escape_decode(text[1:-1])[0]
    except ValueError:
        raise Stop(f"STRING at byte {position} has an invalid escape") from None
    walker.push(data.decode("ascii") if data.isascii() else LONG_STR)
    return False


def _h_unicode(walker: Walker) -> bool:
    position = walker.reader.position - 1
    text, complete = walker.reader.line("UNICODE")
    if not complete:
        walker.push(LONG_STR)
        return False
    try:
        walker.push(text.decode("raw-unicode-escape"))
    except UnicodeDecodeError:
        raise Stop(f"UNICODE at byte {position} cannot be decoded") from None
    return False


def _h_binfloat(walker: Walker) -> bool:
    walker.reader.exact(8, "BINFLOAT")
    walker.push(ANY)
    return False


def _h_persid(walker: Walker) -> bool:
    walker.reader.line("PERSID")
    walker.push(ANY)
    return False


def _h_binpersid(walker: Walker) -> bool:
    walker.pop()
    walker.push(ANY)
    return False


def _h_append(walker: Walker) -> bool:
    walker.pop()
    walker.top()
    return False


def _h_appends(walker: Walker) -> bool:
    walker.pop_mark()
    walker.top()
    return False


def _wrapper_below(walker: Walker, depth: int) -> bool:
    """Whether the object a BUILD would target is a joblib array wrapper."""
    if len(walker.stack) < depth:
        return False
    below = walker.stack[-depth]
    return isinstance(below, Instance) and below.cls in ARRAY_WRAPPERS


def _framework_below(walker: Walker) -> bool:
    """Whether the object a BUILD would target is a Trainer class restored by its form."""
    below = walker.stack[-1] if walker.stack else None
    return isinstance(below, Instance) and below.framework


def _h_empty_dict(walker: Walker) -> bool:
    if _framework_below(walker):
        walker.push(PlainDict())
        return False
    walker.push(StateDict() if _wrapper_below(walker, 1) else ANY)
    return False


def _h_dict(walker: Walker) -> bool:
    items = walker.pop_mark()
    if _framework_below(walker):
        state: object = PlainDict()
        _set_items(state, items)
        walker.push(state)
    elif _wrapper_below(walker, 1) and len(items) <= 2 * MAX_MODELLED_DICT:
        state = StateDict()
        _set_items(state, items)
        walker.push(state)
    else:
        walker.push(ANY)
    return False


def _set_items(target: object, items: list[object]) -> None:
    if isinstance(target, PlainDict):
        target.str_keys = target.str_keys and all(isinstance(key, str) for key in items[::2])
        return
    if not isinstance(target, StateDict):
        return
    for key, value in zip(items[::2], items[1::2], strict=False):
        if isinstance(key, str) and (
            key in target.entries or len(target.entries) < MAX_MODELLED_DICT
        ):
            target.entries[key] = value


def _h_setitem(walker: Walker) -> bool:
    value = walker.pop()
    key = walker.pop()
    _set_items(walker.top(), [key, value])
    return False


def _h_setitems(walker: Walker) -> bool:
    items = walker.pop_mark()
    _set_items(walker.top(), items)
    return False


def _h_list(walker: Walker) -> bool:
    walker.pop_mark()
    walker.push(ANY)
    return False


def _h_tuple(walker: Walker) -> bool:
    walker.push(model_tuple(walker.pop_mark()))
    return False


def _tuple_n(size: int) -> Callable[[Walker], bool]:
    def handler(walker: Walker) -> bool:
        items = [walker.pop() for _ in range(size)]
        items.reverse()
        walker.push(model_tuple(items))
        return False

    return handler


def _h_additems(walker: Walker) -> bool:
    walker.pop_mark()
    walker.top()
    return False


def _h_frozenset(walker: Walker) -> bool:
    walker.pop_mark()
    walker.push(ANY)
    return False


def _get(size: int) -> Callable[[Walker], bool]:
    def handler(walker: Walker) -> bool:
        if size == 1:
            key: int | None = walker.reader.byte()
            if key == -1:
                raise Stop("BINGET runs past the end of the data")
        elif size:
            key = _le(walker.reader.exact(size, "memo key"))
        else:
            key = _read_int_line(walker, "GET")
        walker.push(walker.memo.get(key) if key is not None else MISSING)
        return False

    return handler


def _put(size: int) -> Callable[[Walker], bool]:
    def handler(walker: Walker) -> bool:
        if size:
            key: int | None = _le(walker.reader.exact(size, "memo key"))
        else:
            key = _read_int_line(walker, "PUT")
        value = walker.top()
        if key is not None:
            walker.memo.put(key, value)
        return False

    return handler


def _h_memoize(walker: Walker) -> bool:
    memo = walker.memo
    stack = walker.stack
    memo.put(memo.size, stack[-1] if len(stack) > walker.fence else walker.top())
    return False


def _h_proto(walker: Walker) -> bool:
    position = walker.reader.position - 1
    version = walker.reader.byte()
    if version < 0:
        raise Stop("PROTO runs past the end of the data")
    if version > HIGHEST_PROTOCOL:
        walker.findings.add_problem(
            f"PROTO at byte {position} declares protocol {version} (CPython reads up to "
            f"{HIGHEST_PROTOCOL})"
        )
    if walker.protocol is None:
        walker.protocol = version
    return False


def _h_frame(walker: Walker) -> bool:
    # Frames only group opcodes; the walk reads through them. A frame longer than the data
    # makes every loader fail.
    reader = walker.reader
    position = reader.position - 1
    size = _le(reader.exact(8, "FRAME"))
    if size > MAX_DECLARED_LENGTH or (reader.end is not None and position + 9 + size > reader.end):
        raise Stop(f"FRAME at byte {position} declares {size} bytes, more than the data holds")
    return False


def _h_readonly_buffer(walker: Walker) -> bool:
    walker.top()
    return False


HANDLERS: Final[list[Handler | None]] = [None] * 256
for _code, _handler in {
    b"(": _h_mark,
    b".": _h_stop,
    b"0": _h_pop,
    b"1": _h_pop_mark,
    b"2": _h_dup,
    b"F": _skip_line_push_any("FLOAT"),
    b"I": _h_int,
    b"J": _fixed_int(4, signed=True),
    b"K": _fixed_int(1, signed=False),
    b"L": _skip_line_push_any("LONG"),
    b"M": _fixed_int(2, signed=False),
    b"N": _push_constant(None),
    b"P": _h_persid,
    b"Q": _h_binpersid,
    b"R": _h_reduce,
    b"S": _h_string,
    b"T": _sized_string(4, signed=True, kind="ascii"),
    b"U": _sized_string(1, kind="ascii"),
    b"V": _h_unicode,
    b"X": _sized_string(4, kind="utf-8"),
    b"a": _h_append,
    b"b": _h_build,
    b"c": _h_global,
    b"d": _h_dict,
    b"}": _h_empty_dict,
    b"e": _h_appends,
    b"g": _get(0),
    b"h": _get(1),
    b"i": _h_inst,
    b"j": _get(4),
    b"l": _h_list,
    b"]": _push_constant(ANY),
    b"o": _h_obj,
    b"p": _put(0),
    b"q": _put(1),
    b"r": _put(4),
    b"s": _h_setitem,
    b"t": _h_tuple,
    b")": _push_constant(()),
    b"u": _h_setitems,
    b"G": _h_binfloat,
    b"\x80": _h_proto,
    b"\x81": _h_newobj,
    b"\x82": _ext(1),
    b"\x83": _ext(2),
    b"\x84": _ext(4),
    b"\x85": _tuple_n(1),
    b"\x86": _tuple_n(2),
    b"\x87": _tuple_n(3),
    b"\x88": _push_constant(True),
    b"\x89": _push_constant(False),
    b"\x8a": _h_long1,
    b"\x8b": _h_long4,
    b"B": _sized_string(4, kind=""),
    b"C": _sized_string(1, kind=""),
    b"\x8c": _sized_string(1, kind="utf-8"),
    b"\x8d": _sized_string(8, kind="utf-8"),
    b"\x8e": _sized_string(8, kind=""),
    b"\x8f": _push_constant(ANY),
    b"\x90": _h_additems,
    b"\x91": _h_frozenset,
    b"\x92": _h_newobj_ex,
    b"\x93": _h_stack_global,
    b"\x94": _h_memoize,
    b"\x95": _h_frame,
    b"\x96": _sized_string(8, kind=""),
    b"\x97": _push_constant(ANY),
    b"\x98": _h_readonly_buffer,
}.items():
    HANDLERS[_code[0]] = _handler
