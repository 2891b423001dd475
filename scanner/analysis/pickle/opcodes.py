"""The opcode table: one handler per pickle opcode, each returning True at STOP.

This module handles imports, calls, the stack and its marks, containers and framing; the
opcodes that push values are handled in ``literals``. The handlers mirror CPython's C
unpickler: a stream is given up only where every loader fails too (unknown opcode, end of
data, undecodable names).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from scanner.analysis.pickle.literals import LITERAL_HANDLERS, little_endian
from scanner.analysis.pickle.reader import MAX_DECLARED_LENGTH, MAX_NAME_BYTES, Stop
from scanner.analysis.pickle.values import (
    ANY,
    ARRAY_WRAPPERS,
    DROPPED,
    MAX_MODELLED_DICT,
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
        code = little_endian(walker.reader.exact(size, "EXT"))
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
    size = little_endian(reader.exact(8, "FRAME"))
    if size > MAX_DECLARED_LENGTH or (reader.end is not None and position + 9 + size > reader.end):
        raise Stop(f"FRAME at byte {position} declares {size} bytes, more than the data holds")
    return False


def _h_readonly_buffer(walker: Walker) -> bool:
    walker.top()
    return False


HANDLERS: Final[list[Handler | None]] = [None] * 256
for _code, _handler in {
    **LITERAL_HANDLERS,
    b"(": _h_mark,
    b".": _h_stop,
    b"0": _h_pop,
    b"1": _h_pop_mark,
    b"2": _h_dup,
    b"R": _h_reduce,
    b"a": _h_append,
    b"b": _h_build,
    b"c": _h_global,
    b"d": _h_dict,
    b"}": _h_empty_dict,
    b"e": _h_appends,
    b"i": _h_inst,
    b"l": _h_list,
    b"o": _h_obj,
    b"s": _h_setitem,
    b"t": _h_tuple,
    b"u": _h_setitems,
    b"\x80": _h_proto,
    b"\x81": _h_newobj,
    b"\x82": _ext(1),
    b"\x83": _ext(2),
    b"\x84": _ext(4),
    b"\x85": _tuple_n(1),
    b"\x86": _tuple_n(2),
    b"\x87": _tuple_n(3),
    b"\x90": _h_additems,
    b"\x91": _h_frozenset,
    b"\x92": _h_newobj_ex,
    b"\x93": _h_stack_global,
    b"\x95": _h_frame,
    b"\x98": _h_readonly_buffer,
}.items():
    HANDLERS[_code[0]] = _handler
