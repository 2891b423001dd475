"""The handlers of the opcodes that push values: numbers, strings, bytes, constants,
persistent ids, and the memo's GET, PUT and MEMOIZE.

Only short strings and small ints are kept (they may name an import or size an array); longer
payloads are stepped over. Protocol-0 text arguments are read as CPython reads them.
"""

from __future__ import annotations

import codecs
import warnings
from typing import TYPE_CHECKING, Final

from scanner.analysis.pickle.reader import MAX_NAME_BYTES, Stop
from scanner.analysis.pickle.values import ANY, LONG_STR, MISSING

if TYPE_CHECKING:
    from collections.abc import Callable

    from scanner.analysis.pickle.machine import Handler, Walker


def _read_int_line(walker: Walker, what: str) -> int | None:
    text, complete = walker.reader.line(what, number=True)
    if not complete:
        return None
    try:
        return int(text.rstrip(b"L").decode("ascii"), 0)
    except ValueError:
        try:
            return int(text.rstrip(b"L").decode("ascii"))
        except ValueError:
            return None


def little_endian(data: bytes, *, signed: bool = False) -> int:
    """The integer ``data`` holds, little-endian."""
    return int.from_bytes(data, "little", signed=signed)


def _push_constant(value: object) -> Callable[[Walker], bool]:
    def handler(walker: Walker) -> bool:
        walker.push(value)
        return False

    return handler


def _skip_line_push_any(what: str, *, number: bool = False) -> Callable[[Walker], bool]:
    def handler(walker: Walker) -> bool:
        walker.reader.line(what, number=number)
        walker.push(ANY)
        return False

    return handler


def _h_int(walker: Walker) -> bool:
    text, complete = walker.reader.line("INT", number=True)
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
        walker.push(little_endian(walker.reader.exact(size, "integer"), signed=signed))
        return False

    return handler


def _h_long1(walker: Walker) -> bool:
    size = walker.reader.byte()
    if size < 0:
        raise Stop("LONG1 runs past the end of the data")
    walker.push(little_endian(walker.reader.exact(size, "LONG1"), signed=True))
    return False


def _h_long4(walker: Walker) -> bool:
    position = walker.reader.position - 1
    size = little_endian(walker.reader.exact(4, "LONG4"), signed=True)
    if size < 0:
        raise Stop(f"LONG4 at byte {position} has a negative length")
    if size <= 16:
        walker.push(little_endian(walker.reader.exact(size, "LONG4"), signed=True))
    else:
        walker.reader.skip(size, "LONG4")
        walker.push(ANY)
    return False


def _sized_string(length_size: int, *, signed: bool = False, kind: str) -> Callable[[Walker], bool]:
    """BINUNICODE and friends (``kind`` "utf-8"), BINSTRING and friends ("ascii"), bytes ("")."""

    def handler(walker: Walker) -> bool:
        position = walker.reader.position - 1
        size = little_endian(walker.reader.exact(length_size, "length"), signed=signed)
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


def _get(size: int) -> Callable[[Walker], bool]:
    def handler(walker: Walker) -> bool:
        if size == 1:
            key: int | None = walker.reader.byte()
            if key == -1:
                raise Stop("BINGET runs past the end of the data")
        elif size:
            key = little_endian(walker.reader.exact(size, "memo key"))
        else:
            key = _read_int_line(walker, "GET")
        walker.push(walker.memo.get(key) if key is not None else MISSING)
        return False

    return handler


def _put(size: int) -> Callable[[Walker], bool]:
    def handler(walker: Walker) -> bool:
        if size:
            key: int | None = little_endian(walker.reader.exact(size, "memo key"))
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


#: The rows of the opcode table these handlers fill (``opcodes.HANDLERS`` holds them all).
LITERAL_HANDLERS: Final[dict[bytes, Handler]] = {
    b"F": _skip_line_push_any("FLOAT"),
    b"I": _h_int,
    b"J": _fixed_int(4, signed=True),
    b"K": _fixed_int(1, signed=False),
    b"L": _skip_line_push_any("LONG", number=True),
    b"M": _fixed_int(2, signed=False),
    b"N": _push_constant(None),
    b"P": _h_persid,
    b"Q": _h_binpersid,
    b"S": _h_string,
    b"T": _sized_string(4, signed=True, kind="ascii"),
    b"U": _sized_string(1, kind="ascii"),
    b"V": _h_unicode,
    b"X": _sized_string(4, kind="utf-8"),
    b"g": _get(0),
    b"h": _get(1),
    b"j": _get(4),
    b"]": _push_constant(ANY),
    b"p": _put(0),
    b"q": _put(1),
    b"r": _put(4),
    b")": _push_constant(()),
    b"G": _h_binfloat,
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
    b"\x94": _h_memoize,
    b"\x96": _sized_string(8, kind=""),
    b"\x97": _push_constant(ANY),
}
