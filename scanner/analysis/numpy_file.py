"""Static analysis of NumPy ``.npy`` and ``.npz`` files: object arrays carry a pickle.

``numpy.load(..., allow_pickle=True)`` unpickles the data of any array whose dtype holds Python
objects; plain dtypes are read as raw bytes and run nothing. The header is a Python dict
literal, read with ``ast.literal_eval`` on its capped text only.
"""

from __future__ import annotations

import ast
import io
import re
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from scanner.analysis.builder import AnalysisBuilder, display_text
from scanner.analysis.magic import NPY_MAGIC
from scanner.analysis.pickle.scan import scan_pickle_stream
from scanner.analysis.zip_archive import bomb_ratio
from scanner.analysis.zip_members import (
    readable,
    report_member_names,
    report_renamed_members,
)
from scanner.core.errors import MalformedFileError

if TYPE_CHECKING:
    from scanner.analysis.load_risk import FileAnalysis
    from scanner.analysis.pickle.report import PickleScan
    from scanner.analysis.zip_archive import ZipArchive, ZipMember

#: Longest header read, in bytes. NumPy itself refuses headers over 10 000 bytes unless
#: ``allow_pickle=True`` (which lifts its limit), so a few structured dtypes fit with room.
MAX_HEADER_BYTES = 64 * 1024
#: Deepest nesting of structured / sub-array dtype descriptions followed.
MAX_DESCR_DEPTH = 32
#: Most dtype fields (over all nesting levels) examined.
MAX_DESCR_FIELDS = 10_000
#: Most bytes of an object array's pickle walked.
MAX_OBJECT_PICKLE_BYTES = 256 * 1024 * 1024

MAGIC = NPY_MAGIC
_PREAMBLE = len(MAGIC) + 2
_HEADER_KEYS = frozenset({"descr", "fortran_order", "shape"})
# dtype strings numpy writes for plain data: byte order, kind, item size, datetime unit.
_PLAIN_TYPECODE = re.compile(
    r"[<>|=]?(?:[biufcSUV]\d+|[mM]8(?:\[\d*[A-Za-z]+\])?|[?bBhHiIlLqQpPefdgFDG])"
)
_PLAIN_NAME = re.compile(
    r"(?:bool_?|(?:u?int|float|complex)(?:\d+)?|half|single|double|longdouble|bytes_?|str_?|void"
    r"|(?:datetime|timedelta)64(?:\[\d*[A-Za-z]+\])?)"
)
_OBJECT = re.compile(r"[<>|=]?O\d*|object_?")
_PICKLE_OPENING = b"\x80"


@dataclass(frozen=True, slots=True, kw_only=True)
class NpyHeader:
    """What a ``.npy`` header declares."""

    version: tuple[int, int]
    descr: str
    """The dtype description as written (structured ones shown as their literal)."""
    fortran_order: bool
    shape: tuple[int, ...]
    holds_objects: bool | None
    """True: the data is a pickle numpy unpickles; False: raw bytes; None: the dtype is not
    one numpy writes (numpy may refuse it)."""
    data_offset: int
    """Offset of the array data from the start of the magic."""


def read_npy_header(stream: BinaryIO) -> NpyHeader:
    """Read a ``.npy`` header from ``stream`` (positioned at the magic), leaving it at the data.

    Raises:
        MalformedFileError: no magic, unknown version, header over ``MAX_HEADER_BYTES``, or a
            header that is not the plain dict literal numpy writes.
    """
    preamble = stream.read(_PREAMBLE)
    if len(preamble) < _PREAMBLE or not preamble.startswith(MAGIC):
        raise MalformedFileError("not a .npy file (no \\x93NUMPY magic)")
    version = (preamble[6], preamble[7])
    if version[0] == 1:
        length_bytes = stream.read(2)
    elif version[0] in (2, 3):
        length_bytes = stream.read(4)
    else:
        raise MalformedFileError(f".npy format version {version[0]}.{version[1]} is unknown")
    header_length = int.from_bytes(length_bytes, "little")
    if len(length_bytes) not in (2, 4):
        raise MalformedFileError(".npy header length is truncated")
    if header_length > MAX_HEADER_BYTES:
        raise MalformedFileError(
            f".npy header of {header_length} bytes exceeds the {MAX_HEADER_BYTES}-byte limit"
        )
    raw = stream.read(header_length)
    if len(raw) < header_length:
        raise MalformedFileError(f".npy header is truncated ({len(raw)} of {header_length} bytes)")
    try:
        text = raw.decode("utf-8" if version[0] == 3 else "latin-1")
    except UnicodeDecodeError:
        raise MalformedFileError(".npy version 3 header is not valid UTF-8") from None
    fields = _parse_header_dict(text)
    descr, holds_objects = _interpret_descr(fields["descr"])
    return NpyHeader(
        version=version,
        descr=descr,
        fortran_order=_interpret_fortran_order(fields["fortran_order"]),
        shape=_interpret_shape(fields["shape"]),
        holds_objects=holds_objects,
        data_offset=_PREAMBLE + len(length_bytes) + header_length,
    )


def _parse_header_dict(text: str) -> dict[str, object]:
    if not text.lstrip().startswith("{"):
        raise MalformedFileError(".npy header is not a dict literal")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escapes in a hostile header warn
            value = ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise MalformedFileError(".npy header is not a valid Python literal") from None
    if not isinstance(value, dict):
        raise MalformedFileError(".npy header is not a dict literal")
    if set(value) != _HEADER_KEYS:
        keys = ", ".join(sorted(display_text(repr(key)) for key in value))
        raise MalformedFileError(f".npy header keys are {{{keys}}}, not descr/fortran_order/shape")
    return value


def _interpret_fortran_order(value: object) -> bool:
    if not isinstance(value, bool):
        raise MalformedFileError(".npy header fortran_order is not a bool")
    return value


def _interpret_shape(value: object) -> tuple[int, ...]:
    if not isinstance(value, tuple) or not all(
        isinstance(dim, int) and not isinstance(dim, bool) and dim >= 0 for dim in value
    ):
        raise MalformedFileError(".npy header shape is not a tuple of non-negative ints")
    return value


def _interpret_descr(descr: object) -> tuple[str, bool | None]:
    """Return the descr as text and whether it holds objects (None: not a dtype numpy writes)."""
    shown = display_text(descr if isinstance(descr, str) else repr(descr))
    verdicts: list[bool | None] = []
    pending: list[tuple[object, int]] = [(descr, 0)]
    while pending:
        if len(verdicts) > MAX_DESCR_FIELDS:
            raise MalformedFileError(f".npy dtype has over {MAX_DESCR_FIELDS} fields")
        node, depth = pending.pop()
        if depth > MAX_DESCR_DEPTH:
            raise MalformedFileError(f".npy dtype nests over {MAX_DESCR_DEPTH} levels")
        if isinstance(node, str):
            verdicts.append(_string_holds_objects(node))
        elif isinstance(node, tuple) and len(node) == 2:
            pending.append((node[0], depth + 1))  # (base dtype, sub-array shape)
        elif isinstance(node, list):
            pending.extend((_field_dtype(field), depth + 1) for field in node)
        else:
            verdicts.append(None)
    if True in verdicts:
        return shown, True
    return shown, None if None in verdicts else False


def _field_dtype(field: object) -> object:
    """The dtype of one structured field ``(name, dtype[, shape])``."""
    if isinstance(field, tuple) and len(field) in (2, 3):
        return field[1]
    return None


def _string_holds_objects(descr: str) -> bool | None:
    if _OBJECT.fullmatch(descr):
        return True
    if _PLAIN_TYPECODE.fullmatch(descr) or _PLAIN_NAME.fullmatch(descr):
        return False
    return None


def scan_npy_stream(
    stream: BinaryIO,
    builder: AnalysisBuilder,
    *,
    member: str | None,
    pickle_refusal: str | None = None,
) -> None:
    """Read a ``.npy`` header from ``stream`` and walk the pickle of an object array.

    ``member`` names the array inside an archive (None for a file of its own). When
    ``pickle_refusal`` is set (a zip-bomb member), an object array's pickle is not walked: the
    refusal is recorded as an UNREADABLE risk instead.

    Raises:
        MalformedFileError: the header is malformed (see ``read_npy_header``).
    """
    where = f"member {member}" if member is not None else ".npy data"
    header = read_npy_header(stream)
    if header.holds_objects is False:
        return
    if header.holds_objects is None:
        builder.problem(
            f"{where}: dtype {header.descr} is not one numpy writes (numpy may refuse it)"
        )
        # A structured or sub-array dtype with an object field ('O,i4', '(2,)O') is unpickled
        # by numpy too: walk it whatever its first byte.
        if "O" not in header.descr and not _data_starts_like_pickle(stream):
            return
    if pickle_refusal is not None:
        builder.unreadable(pickle_refusal, member=member)
        return
    start = stream.tell() if stream.seekable() else None
    scan = scan_pickle_stream(stream, max_bytes=MAX_OBJECT_PICKLE_BYTES, member=member)
    if header.holds_objects is None and start is not None and _no_pickle_at_all(scan, start):
        return  # numpy would fail on the first byte: nothing runs
    builder.pickle_scan(scan)


def _no_pickle_at_all(scan: PickleScan, start: int) -> bool:
    """Whether the walk stopped at the very first opcode, having seen nothing."""
    return not scan.complete and not scan.imports and scan.end_offset - start <= 1


def _data_starts_like_pickle(stream: BinaryIO) -> bool:
    peek = getattr(stream, "peek", None)
    if peek is None:  # cannot look ahead: walk it, the walker says what it is
        return True
    head: bytes = peek(1)
    return head[:1] == _PICKLE_OPENING


def analyze_npy(stream: BinaryIO, name: str) -> FileAnalysis:
    """Analyse a ``.npy`` file (``stream``, read from its start wherever it is positioned;
    ``name``, its path relative to the scanned folder): an object array's pickle is walked;
    plain dtypes are no risk.

    Raises:
        OSError: the stream cannot be read.
    """
    builder = AnalysisBuilder()
    stream.seek(0)
    try:
        scan_npy_stream(stream, builder, member=None)
    except MalformedFileError as error:
        builder.problem(error.problem)
    return builder.build("numpy")


def analyze_npz_members(archive: ZipArchive, builder: AnalysisBuilder) -> str:
    """Analyse every ``.npy`` member of an open npz archive into ``builder``; return the
    format, ``npz``."""
    report_member_names(archive, builder)
    for member in archive.members:
        # Only the header is read unless the array holds objects: a highly compressed plain
        # array (savez_compressed of zeros) is no bomb for this reader, and no risk.
        if member.name.endswith("/") or not readable(archive, member, builder, check_ratio=False):
            continue
        try:
            is_npy = archive.peek(member, len(MAGIC)) == MAGIC
        except MalformedFileError as error:
            builder.unreadable(f"member {member.shown}: {error.problem}", member=member.shown)
            continue
        if is_npy:
            analyze_npy_member(archive, member, builder)
    report_renamed_members(archive, builder)
    return "npz"


def analyze_npy_member(archive: ZipArchive, member: ZipMember, builder: AnalysisBuilder) -> None:
    """Analyse one ``.npy`` member of an archive through a capped stream."""
    try:
        reader = archive.open_member(
            member, max_bytes=MAX_HEADER_BYTES + 16 + MAX_OBJECT_PICKLE_BYTES
        )
    except MalformedFileError as error:
        builder.unreadable(f"member {member.shown}: {error.problem}", member=member.shown)
        return
    stream = io.BufferedReader(reader)
    try:
        scan_npy_stream(stream, builder, member=member.shown, pickle_refusal=bomb_ratio(member))
    except MalformedFileError as error:
        builder.problem(f"member {member.shown}: {error.problem}")
        return
    if reader.damage is not None:
        builder.problem(f"member {member.shown}: {reader.damage}")
