"""Read an ONNX model's top-level metadata by hand-parsing its protobuf, skipping the graph."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from scanner.errors import MalformedFileError
from scanner.formats.capped_io import open_regular_file

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

# NOTE: external-data locations (TensorProto.external_data inside the graph's initializers)
# are not reported: finding them means parsing the graph, which this reader skips by design.

#: Longest protobuf varint, in bytes (a 64-bit value).
MAX_VARINT_BYTES = 10
#: Longest string kept for names, domains and metadata keys and values, in bytes.
MAX_STRING_BYTES = 1024 * 1024
#: Longest prefix of ``doc_string`` kept, in bytes; the rest is skipped.
MAX_DOC_STRING_BYTES = 64 * 1024
#: Most ``opset_import`` entries; real models import a handful of domains.
MAX_OPSET_IMPORTS = 1024
#: Most ``metadata_props`` entries.
MAX_METADATA_PROPS = 4096
#: Most fields read at the top level or inside one entry; real models have a few dozen.
MAX_FIELDS = 100_000
#: Most bytes read into memory over the whole file (everything else is skipped by seeking).
MAX_READ_BYTES = 64 * 1024 * 1024

_WIRE_VARINT = 0
_WIRE_FIXED64 = 1
_WIRE_LENGTH_DELIMITED = 2
_WIRE_GROUP_START = 3
_WIRE_GROUP_END = 4
_WIRE_FIXED32 = 5
_MAX_FIELD_NUMBER = 2**29 - 1
_ENTRY_MAX_BYTES = 2 * MAX_STRING_BYTES + 2 * (1 + MAX_VARINT_BYTES)

# ModelProto field numbers (onnx/onnx.proto).
_IR_VERSION = 1
_PRODUCER_NAME = 2
_PRODUCER_VERSION = 3
_DOMAIN = 4
_MODEL_VERSION = 5
_DOC_STRING = 6
_GRAPH = 7
_OPSET_IMPORT = 8
_METADATA_PROPS = 14
_TRAINING_INFO = 20
_FUNCTIONS = 25


@dataclass(frozen=True, slots=True, kw_only=True)
class OnnxOpset:
    """One ``opset_import`` entry."""

    domain: str
    """Operator domain; ``""`` is the default ``ai.onnx`` domain."""
    version: int
    """Opset version imported."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OnnxMetadata:
    """The top-level fields of an ONNX ``ModelProto``; the graph is never read."""

    ir_version: int
    """ONNX IR version."""
    producer_name: str | None = None
    """Tool that wrote the model (e.g. ``pytorch``)."""
    producer_version: str | None = None
    """Version of that tool."""
    domain: str | None = None
    """Reverse-DNS model namespace."""
    model_version: int | None = None
    """The model's own version number."""
    doc_string: str | None = None
    """Documentation, cut to ``MAX_DOC_STRING_BYTES``."""
    doc_string_size: int = 0
    """Full size of ``doc_string`` in bytes."""
    graph_size: int | None = None
    """Size in bytes of the (skipped) graph, or None when the model has none."""
    opset_imports: tuple[OnnxOpset, ...] = ()
    """Operator sets imported, in file order."""
    metadata_props: tuple[tuple[str, str], ...] = ()
    """``metadata_props`` key-value pairs, in file order."""
    function_count: int = 0
    """Number of model-local functions (field 25)."""
    training_info_count: int = 0
    """Number of ``training_info`` entries (field 20)."""


def read_onnx_metadata(path: Path) -> OnnxMetadata:
    """Read the top-level ``ModelProto`` fields of the ONNX file at ``path``.

    The graph (field 7), training info and functions are skipped by seeking; unknown fields of
    wire types 0, 1, 2 and 5 are skipped too. A file without ``ir_version`` is not ONNX.

    Raises:
        MalformedFileError: the content is not a well-formed ModelProto, is truncated, breaks
            a cap, or the path is not a regular file (a FIFO would block).
        OSError: the file cannot be opened or read (left to the caller to report).
    """
    with open_regular_file(path) as stream:
        file_size = os.fstat(stream.fileno()).st_size
        if file_size == 0:
            raise MalformedFileError("file is empty")
        return _read_model(_Cursor(stream, file_size, max_read=MAX_READ_BYTES))


class _Cursor:
    """Bounded protobuf reads from a stream of known size."""

    def __init__(self, stream: BinaryIO, size: int, *, max_read: int) -> None:
        self._stream = stream
        self._size = size
        self._read_left = max_read
        self.position = 0

    def at_end(self) -> bool:
        """Whether every byte has been consumed."""
        return self.position >= self._size

    def _claim(self, size: int, what: str) -> None:
        if size > self._size - self.position:
            raise MalformedFileError(
                f"truncated: {what} needs {size} bytes at offset {self.position}, "
                f"{self._size - self.position} remain"
            )

    def take(self, size: int, what: str) -> bytes:
        """Read exactly ``size`` bytes."""
        self._claim(size, what)
        if size > self._read_left:
            raise MalformedFileError(
                f"{what} at offset {self.position} would exceed the {MAX_READ_BYTES}-byte read cap"
            )
        data = self._stream.read(size)
        if len(data) != size:  # the file shrank under us
            raise MalformedFileError(f"truncated: {what} at offset {self.position}")
        self._read_left -= size
        self.position += size
        return data

    def skip(self, size: int, what: str) -> None:
        """Move past ``size`` bytes without reading them."""
        self._claim(size, what)
        self._stream.seek(size, os.SEEK_CUR)
        self.position += size

    def varint(self, what: str) -> int:
        """Read one base-128 varint of at most 64 bits."""
        value = 0
        for index in range(MAX_VARINT_BYTES):
            byte = self.take(1, what)[0]
            value |= (byte & 0x7F) << (7 * index)
            if byte < 0x80:  # the continuation bit is clear
                if value >= 2**64:
                    raise MalformedFileError(f"{what} overflows 64 bits")
                return value
        raise MalformedFileError(f"{what} is longer than {MAX_VARINT_BYTES} bytes")

    def length(self, what: str) -> int:
        """Read a length prefix and check that many bytes remain."""
        size = self.varint(f"the length of {what}")
        self._claim(size, what)
        return size


def _signed64(value: int) -> int:
    return value - 2**64 if value >= 2**63 else value


def _fields(cursor: _Cursor, what: str) -> Iterator[tuple[int, int]]:
    """Yield each field's number and wire type; the caller consumes or skips the value."""
    for _ in range(MAX_FIELDS):
        if cursor.at_end():
            return
        key = cursor.varint(f"a field key in {what}")
        number, wire_type = key >> 3, key & 7
        if not 0 < number <= _MAX_FIELD_NUMBER:
            raise MalformedFileError(f"field number {number} in {what} is out of range")
        if wire_type in (_WIRE_GROUP_START, _WIRE_GROUP_END):
            raise MalformedFileError(f"field {number} in {what} uses a group (ONNX has none)")
        if wire_type not in (_WIRE_VARINT, _WIRE_FIXED64, _WIRE_LENGTH_DELIMITED, _WIRE_FIXED32):
            raise MalformedFileError(f"field {number} in {what} has invalid wire type {wire_type}")
        yield number, wire_type
    if not cursor.at_end():
        raise MalformedFileError(f"{what} has more than {MAX_FIELDS} fields")


def _skip_value(cursor: _Cursor, number: int, wire_type: int) -> None:
    what = f"field {number}"
    if wire_type == _WIRE_VARINT:
        cursor.varint(what)
    elif wire_type == _WIRE_FIXED64:
        cursor.skip(8, what)
    elif wire_type == _WIRE_FIXED32:
        cursor.skip(4, what)
    else:
        cursor.skip(cursor.length(what), what)


def _expect(wire_type: int, expected: int, name: str) -> None:
    if wire_type != expected:
        raise MalformedFileError(f"{name} has wire type {wire_type}, expected {expected}")


def _read_string(cursor: _Cursor, name: str) -> str:
    size = cursor.length(name)
    if size > MAX_STRING_BYTES:
        raise MalformedFileError(f"{name} is {size} bytes, cap is {MAX_STRING_BYTES}")
    raw = cursor.take(size, name)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedFileError(f"{name} is not UTF-8") from None


def _read_entry(cursor: _Cursor, name: str) -> _Cursor:
    """Read one small embedded message into memory and return a cursor over it."""
    size = cursor.length(name)
    if size > _ENTRY_MAX_BYTES:
        raise MalformedFileError(f"{name} entry is {size} bytes, cap is {_ENTRY_MAX_BYTES}")
    return _Cursor(io.BytesIO(cursor.take(size, name)), size, max_read=size)


def _read_opset(cursor: _Cursor) -> OnnxOpset:
    entry = _read_entry(cursor, "opset_import")
    domain = ""
    version = 0
    for number, wire_type in _fields(entry, "opset_import"):
        if number == 1:
            _expect(wire_type, _WIRE_LENGTH_DELIMITED, "opset_import.domain")
            domain = _read_string(entry, "opset_import.domain")
        elif number == 2:  # OperatorSetIdProto.version
            _expect(wire_type, _WIRE_VARINT, "opset_import.version")
            version = _signed64(entry.varint("opset_import.version"))
        else:
            _skip_value(entry, number, wire_type)
    return OnnxOpset(domain=domain, version=version)


def _read_metadata_prop(cursor: _Cursor) -> tuple[str, str]:
    entry = _read_entry(cursor, "metadata_props")
    key = ""
    value = ""
    for number, wire_type in _fields(entry, "metadata_props"):
        if number == 1:
            _expect(wire_type, _WIRE_LENGTH_DELIMITED, "metadata_props.key")
            key = _read_string(entry, "metadata_props.key")
        elif number == 2:  # StringStringEntryProto.value
            _expect(wire_type, _WIRE_LENGTH_DELIMITED, "metadata_props.value")
            value = _read_string(entry, "metadata_props.value")
        else:
            _skip_value(entry, number, wire_type)
    return key, value


def _read_doc_string(cursor: _Cursor) -> tuple[str, int]:
    size = cursor.length("doc_string")
    kept = cursor.take(min(size, MAX_DOC_STRING_BYTES), "doc_string")
    cursor.skip(size - len(kept), "doc_string")
    # Replace rather than reject: the cut may split a multi-byte character.
    return kept.decode("utf-8", errors="replace"), size


class _ModelFields:
    """The ModelProto fields collected so far (protobuf: the last scalar wins)."""

    def __init__(self) -> None:
        self.ir_version: int | None = None
        self.strings: dict[int, str] = {}
        self.model_version: int | None = None
        self.doc_string: str | None = None
        self.doc_string_size = 0
        self.graph_size: int | None = None
        self.opsets: list[OnnxOpset] = []
        self.props: list[tuple[str, str]] = []
        self.function_count = 0
        self.training_info_count = 0


_STRING_FIELDS = {
    _PRODUCER_NAME: "producer_name",
    _PRODUCER_VERSION: "producer_version",
    _DOMAIN: "domain",
}


def _read_model(cursor: _Cursor) -> OnnxMetadata:
    model = _ModelFields()
    for number, wire_type in _fields(cursor, "ModelProto"):
        _read_model_field(cursor, model, number, wire_type)
    if model.ir_version is None:
        raise MalformedFileError("no ir_version field: not an ONNX model")
    return OnnxMetadata(
        ir_version=model.ir_version,
        producer_name=model.strings.get(_PRODUCER_NAME),
        producer_version=model.strings.get(_PRODUCER_VERSION),
        domain=model.strings.get(_DOMAIN),
        model_version=model.model_version,
        doc_string=model.doc_string,
        doc_string_size=model.doc_string_size,
        graph_size=model.graph_size,
        opset_imports=tuple(model.opsets),
        metadata_props=tuple(model.props),
        function_count=model.function_count,
        training_info_count=model.training_info_count,
    )


def _read_model_field(cursor: _Cursor, model: _ModelFields, number: int, wire_type: int) -> None:
    if number in (_IR_VERSION, _MODEL_VERSION):
        name = "ir_version" if number == _IR_VERSION else "model_version"
        _expect(wire_type, _WIRE_VARINT, name)
        value = _signed64(cursor.varint(name))
        if number == _IR_VERSION:
            model.ir_version = value
        else:
            model.model_version = value
    elif number in _STRING_FIELDS:
        name = _STRING_FIELDS[number]
        _expect(wire_type, _WIRE_LENGTH_DELIMITED, name)
        model.strings[number] = _read_string(cursor, name)
    elif number == _DOC_STRING:
        _expect(wire_type, _WIRE_LENGTH_DELIMITED, "doc_string")
        model.doc_string, model.doc_string_size = _read_doc_string(cursor)
    elif number == _GRAPH:
        _expect(wire_type, _WIRE_LENGTH_DELIMITED, "graph")
        size = cursor.length("graph")
        cursor.skip(size, "graph")
        # A repeated embedded message is merged by protobuf: count every part.
        model.graph_size = (model.graph_size or 0) + size
    elif number == _OPSET_IMPORT:
        _expect(wire_type, _WIRE_LENGTH_DELIMITED, "opset_import")
        if len(model.opsets) >= MAX_OPSET_IMPORTS:
            raise MalformedFileError(f"more than {MAX_OPSET_IMPORTS} opset_import entries")
        model.opsets.append(_read_opset(cursor))
    elif number == _METADATA_PROPS:
        _expect(wire_type, _WIRE_LENGTH_DELIMITED, "metadata_props")
        if len(model.props) >= MAX_METADATA_PROPS:
            raise MalformedFileError(f"more than {MAX_METADATA_PROPS} metadata_props entries")
        model.props.append(_read_metadata_prop(cursor))
    elif number in (_TRAINING_INFO, _FUNCTIONS):
        _expect(wire_type, _WIRE_LENGTH_DELIMITED, "training_info or functions")
        cursor.skip(cursor.length(f"field {number}"), f"field {number}")
        if number == _TRAINING_INFO:
            model.training_info_count += 1
        else:
            model.function_count += 1
    else:
        _skip_value(cursor, number, wire_type)
