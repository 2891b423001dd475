"""Read an ONNX model's top-level metadata and its tensors' external-data references by
hand-parsing its protobuf, seeking past every tensor's data.

The graph, its subgraphs and the model-local functions are walked only down to the tensors
(initializers, sparse initializers, node-attribute tensors) and, in each tensor, only its name
and external-data fields are read: ``raw_data`` and the other payloads are skipped by seeking.
A malformed graph, or a walk that hits a cap, is recorded in ``graph_problems`` and skipped;
it does not hide the top-level metadata. ``training_info`` graphs are not walked (inference
runtimes do not load them).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from scanner.core.capped_io import open_regular_file
from scanner.core.errors import MalformedFileError

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

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
#: Most tensors examined for external data over the whole file; large models have thousands.
MAX_TENSORS_EXAMINED = 1_000_000
#: Most external-data references kept; a model split into one file per tensor has thousands.
MAX_EXTERNAL_REFS = 100_000
#: Most protobuf fields walked inside the graphs and functions, over the whole file; each node,
#: attribute and tensor field costs one (a node about 15). A graph of 50,000 nodes has some
#: 700,000 and takes under 2 s; a hostile graph made of the slowest fields, about 10 s.
MAX_GRAPH_FIELDS = 2_000_000
#: Deepest subgraph nesting walked (If / Loop / Scan bodies inside bodies).
MAX_GRAPH_DEPTH = 16
#: Deepest nesting of protobuf groups skipped (unknown fields; ONNX itself has none).
MAX_GROUP_DEPTH = 32
#: Longest prefix of a tensor name kept, in bytes.
MAX_TENSOR_NAME_BYTES = 4096
#: Most ``external_data`` entries in one tensor; the format defines four keys.
MAX_EXTERNAL_DATA_ENTRIES = 64
#: Most distinct graph problems kept (one per malformed graph or function, one per cap).
MAX_GRAPH_PROBLEMS = 16

_WIRE_VARINT = 0
_WIRE_FIXED64 = 1
_WIRE_LENGTH_DELIMITED = 2
_WIRE_GROUP_START = 3
_WIRE_GROUP_END = 4
_WIRE_FIXED32 = 5
_MAX_FIELD_NUMBER = 2**29 - 1
_MAX_DECIMAL_DIGITS = 20
_WINDOW_BYTES = 8 * 1024  # small: after each skipped tensor payload, the window is refilled
_ENTRY_MAX_BYTES = 2 * MAX_STRING_BYTES + 2 * (1 + MAX_VARINT_BYTES)

# ModelProto field numbers (onnx/onnx.proto).
_IR_VERSION = 1
_PRODUCER_NAME = 2
_PRODUCER_VERSION = 3
_DOMAIN = 4
_MODEL_VERSION = 5
_DOC_STRING = 6
_GRAPH_FIELD = 7
_OPSET_IMPORT = 8
_METADATA_PROPS = 14
_TRAINING_INFO = 20
_FUNCTIONS = 25

# The length-delimited fields that lead to tensors, per message (onnx/onnx.proto field numbers).
_GRAPH, _NODE, _ATTRIBUTE, _SPARSE, _FUNCTION, _TENSOR = (
    "GraphProto",
    "NodeProto",
    "AttributeProto",
    "SparseTensorProto",
    "FunctionProto",
    "TensorProto",
)
_CHILDREN: dict[str, dict[int, str]] = {
    # node, initializer, sparse_initializer
    _GRAPH: {1: _NODE, 5: _TENSOR, 15: _SPARSE},
    # attribute
    _NODE: {5: _ATTRIBUTE},
    # t, g, tensors, graphs, sparse_tensor, sparse_tensors
    _ATTRIBUTE: {5: _TENSOR, 6: _GRAPH, 10: _TENSOR, 11: _GRAPH, 22: _SPARSE, 23: _SPARSE},
    # values, indices
    _SPARSE: {1: _TENSOR, 2: _TENSOR},
    # node, attribute_proto (default attribute values)
    _FUNCTION: {7: _NODE, 11: _ATTRIBUTE},
}
# TensorProto fields read; every other one (raw_data, *_data) is skipped.
_TENSOR_NAME = 8
_TENSOR_EXTERNAL_DATA = 13
_TENSOR_DATA_LOCATION = 14
_DATA_LOCATION_EXTERNAL = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class OnnxOpset:
    """One ``opset_import`` entry."""

    domain: str
    """Operator domain; ``""`` is the default ``ai.onnx`` domain."""
    version: int
    """Opset version imported."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OnnxExternalData:
    """A tensor whose data the runtime reads from another file (``TensorProto.external_data``)."""

    tensor: str
    """The tensor's name (cut to ``MAX_TENSOR_NAME_BYTES``); ``""`` when it has none."""
    location: str
    """The ``location`` entry, as written: a path meant to be relative to the model's folder.
    ``""`` when the tensor is marked external but names no location."""
    offset: int | None = None
    """The ``offset`` entry, when it is a decimal number."""
    length: int | None = None
    """The ``length`` entry, when it is a decimal number."""
    checksum: str | None = None
    """The ``checksum`` entry (a SHA-1 of the file, by the spec)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OnnxMetadata:
    """The top-level fields of an ONNX ``ModelProto`` and its external-data references."""

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
    external_data: tuple[OnnxExternalData, ...] = ()
    """Tensors stored in other files, in file order: one entry per distinct location of a tensor
    marked EXTERNAL or naming a location, in the graph, its subgraphs and the functions."""
    tensors_examined: int = 0
    """Tensors whose fields were examined for external data."""
    graph_problems: tuple[str, ...] = ()
    """What could not be examined for external data (a malformed graph, a cap), one sentence
    each: external data there is unknown."""


def read_onnx_metadata(path: Path) -> OnnxMetadata:
    """Read the top-level ``ModelProto`` fields of the ONNX file at ``path``.

    Training info is skipped by seeking; the graph (field 7) and the functions (field 25) are
    walked for their tensors' external-data references (see the module docstring), and a
    problem there only adds to ``graph_problems``. Unknown top-level fields of wire types 0, 1,
    2 and 5 are skipped. A file without ``ir_version`` is not ONNX.

    Raises:
        MalformedFileError: the content is not a well-formed ModelProto, is truncated, breaks
            a cap, or the path is not a regular file (a FIFO would block).
        OSError: the file cannot be opened or read (left to the caller to report).
    """
    with open_regular_file(path) as stream:
        return read_onnx_stream(stream, os.fstat(stream.fileno()).st_size)


def read_onnx_stream(stream: BinaryIO, size: int) -> OnnxMetadata:
    """Read the top-level ``ModelProto`` fields from a seekable binary stream of ``size`` bytes
    holding the file from its first byte; see ``read_onnx_metadata``.

    Raises:
        MalformedFileError: the content is not a well-formed ModelProto, is truncated or
            breaks a cap.
        OSError: the stream cannot be read.
    """
    if size == 0:
        raise MalformedFileError("file is empty")
    stream.seek(0)
    return _read_model(_Cursor(_Source(stream), size, budget=_ReadBudget(MAX_READ_BYTES)))


class _ReadBudget:
    """Bytes that may still be kept in memory, shared by a cursor and its sub-cursors."""

    __slots__ = ("left",)

    def __init__(self, left: int) -> None:
        self.left = left


class _Source:
    """The file's bytes, read through a window so that small reads and skips cost no I/O call;
    or bytes already in memory (a ``_read_entry`` entry)."""

    def __init__(self, stream: BinaryIO | None, data: bytes = b"", start: int = 0) -> None:
        self._stream = stream
        self._data = data
        self._start = start
        """The offset of ``_data[0]``."""

    def view(self, position: int, size: int, what: str) -> tuple[bytes, int]:
        """A buffer and the index in it of the ``size`` bytes at ``position``."""
        index = position - self._start
        if index >= 0 and index + size <= len(self._data):
            return self._data, index
        if self._stream is None or size > _WINDOW_BYTES:  # callers claim first: unreachable
            raise MalformedFileError(f"truncated: {what} at offset {position}")
        self._stream.seek(position)
        self._data = self._stream.read(_WINDOW_BYTES)
        self._start = position
        if len(self._data) < size:  # the file shrank under us
            raise MalformedFileError(f"truncated: {what} at offset {position}")
        return self._data, 0

    def read(self, position: int, size: int, what: str) -> bytes:
        """The ``size`` bytes at ``position``."""
        if size <= _WINDOW_BYTES or self._stream is None:
            data, index = self.view(position, size, what)
            return data[index : index + size]
        self._stream.seek(position)
        data = self._stream.read(size)
        if len(data) != size:  # the file shrank under us
            raise MalformedFileError(f"truncated: {what} at offset {position}")
        return data


class _Cursor:
    """Bounded protobuf reads up to the ``end`` of the message being read.

    Positions are offsets in the file (or, for a ``_read_entry`` cursor, in the entry). Only
    what ``take`` returns is kept, and counts against the read budget.
    """

    def __init__(self, source: _Source, end: int, *, budget: _ReadBudget, start: int = 0) -> None:
        self.source = source
        self.end = end
        self._budget = budget
        self.position = start

    def at_end(self) -> bool:
        """Whether every byte of the message has been consumed."""
        return self.position >= self.end

    def _claim(self, size: int, what: str) -> None:
        if size > self.end - self.position:
            raise MalformedFileError(
                f"truncated: {what} needs {size} bytes at offset {self.position}, "
                f"{self.end - self.position} remain"
            )

    def take(self, size: int, what: str) -> bytes:
        """Read exactly ``size`` bytes."""
        self._claim(size, what)
        if size > self._budget.left:
            raise MalformedFileError(
                f"{what} at offset {self.position} would exceed the {MAX_READ_BYTES}-byte read cap"
            )
        data = self.source.read(self.position, size, what)
        self._budget.left -= size
        self.position += size
        return data

    def skip(self, size: int, what: str) -> None:
        """Move past ``size`` bytes without reading them."""
        self._claim(size, what)
        self.position += size

    def within(self, size: int, what: str) -> _Cursor:
        """A cursor over the next ``size`` bytes (an embedded message)."""
        self._claim(size, what)
        end = self.position + size
        return _Cursor(self.source, end, budget=self._budget, start=self.position)

    def varint(self, what: str) -> int:
        """Read one base-128 varint of at most 64 bits."""
        available = min(self.end - self.position, MAX_VARINT_BYTES)
        data, index = self.source.view(self.position, available, what)
        value = 0
        for count in range(available):
            byte = data[index + count]
            value |= (byte & 0x7F) << (7 * count)
            if byte < 0x80:  # the continuation bit is clear
                self.position += count + 1
                if value >= 2**64:
                    raise MalformedFileError(f"{what} overflows 64 bits")
                return value
        self.position += available
        self._claim(1, what)  # the message ended inside the varint
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
        yield _field_key(cursor, what, groups=False)
    if not cursor.at_end():
        raise MalformedFileError(f"{what} has more than {MAX_FIELDS} fields")


def _field_key(cursor: _Cursor, what: str, *, groups: bool) -> tuple[int, int]:
    """Read and check one field key; group wire types are refused unless ``groups``."""
    key = cursor.varint(f"a field key in {what}")
    number, wire_type = key >> 3, key & 7
    if not 0 < number <= _MAX_FIELD_NUMBER:
        raise MalformedFileError(f"field number {number} in {what} is out of range")
    if wire_type in (_WIRE_GROUP_START, _WIRE_GROUP_END) and not groups:
        raise MalformedFileError(f"field {number} in {what} uses a group (ONNX has none)")
    if wire_type > _WIRE_FIXED32:
        raise MalformedFileError(f"field {number} in {what} has invalid wire type {wire_type}")
    return number, wire_type


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
    return _Cursor(_Source(None, cursor.take(size, name)), size, budget=_ReadBudget(size))


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
    return _read_text_prefix(cursor, "doc_string", MAX_DOC_STRING_BYTES)


def _read_text_prefix(cursor: _Cursor, name: str, cap: int) -> tuple[str, int]:
    """Read a string's first ``cap`` bytes, skip the rest; return the text and the full size."""
    size = cursor.length(name)
    kept = cursor.take(min(size, cap), name)
    cursor.skip(size - len(kept), name)
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
        self.walk = _GraphWalk()


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
        external_data=tuple(model.walk.external),
        tensors_examined=model.walk.tensors,
        graph_problems=tuple(model.walk.problems),
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
    elif number == _GRAPH_FIELD:
        _expect(wire_type, _WIRE_LENGTH_DELIMITED, "graph")
        size = cursor.length("graph")
        _walk_part(cursor, size, model.walk, _GRAPH)
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
        size = cursor.length(f"field {number}")
        if number == _TRAINING_INFO:
            cursor.skip(size, f"field {number}")
            model.training_info_count += 1
        else:
            _walk_part(cursor, size, model.walk, _FUNCTION)
            model.function_count += 1
    else:
        _skip_value(cursor, number, wire_type)


# --- external data --------------------------------------------------------------------------


class _GraphWalk:
    """What walking the graphs and functions found so far, and the caps they share."""

    def __init__(self) -> None:
        self.external: list[OnnxExternalData] = []
        self.tensors = 0
        self.fields = 0
        self.problems: list[str] = []
        self.stopped = False
        """A cap was hit: the rest of the file is not walked."""

    def note(self, problem: str) -> None:
        """Record a problem once, up to ``MAX_GRAPH_PROBLEMS``."""
        if len(self.problems) < MAX_GRAPH_PROBLEMS and problem not in self.problems:
            self.problems.append(problem)

    def stop(self, problem: str) -> None:
        """Stop walking, for the reason given."""
        self.note(problem)
        self.stopped = True


def _walk_part(cursor: _Cursor, size: int, walk: _GraphWalk, message: str) -> None:
    """Walk one graph or function of ``size`` bytes, then continue after it whatever happened."""
    start = cursor.position
    part = cursor.within(size, message)
    if not walk.stopped:
        try:
            _walk_message(part, walk, message, depth=0)
        except MalformedFileError as error:
            label = "graph" if message == _GRAPH else "function"
            walk.note(
                f"the {label} at offset {start} is malformed ({error.problem}): its tensors "
                "were not examined for external data"
            )
    cursor.position = part.end


def _walk_message(cursor: _Cursor, walk: _GraphWalk, message: str, *, depth: int) -> None:
    """Walk down to the tensors of ``message``, skipping every other field."""
    if message == _TENSOR:
        _walk_tensor(cursor, walk)
        return
    for child, size in _skim(cursor, walk, message, _CHILDREN[message]):
        child_depth = depth + 1 if child == _GRAPH else depth
        if child_depth > MAX_GRAPH_DEPTH:
            walk.note(
                f"subgraphs nested deeper than {MAX_GRAPH_DEPTH} levels were not examined for "
                "external data"
            )
            cursor.skip(size, child)
            continue
        inner = cursor.within(size, child)
        _walk_message(inner, walk, child, depth=child_depth)
        cursor.position = inner.end


def _skim(
    cursor: _Cursor, walk: _GraphWalk, what: str, wanted: dict[int, str]
) -> Iterator[tuple[str, int]]:
    """Yield the message type and size of each length-delimited field in ``wanted``, the cursor
    at its value (the caller moves past it); skip every other field in place.

    Keys, varints and lengths are decoded here from the source's window rather than through
    the cursor's methods: a graph of many small nodes is walked several times faster. Anything
    unusual (fixed-size values, groups, a field split by the window's end) takes the slow path.
    """
    while not cursor.at_end() and _count_field(walk):
        position = cursor.position
        limit = min(cursor.end - position, 2 * MAX_VARINT_BYTES)
        data, start = cursor.source.view(position, limit, what)
        limit += start
        key, index = _decode_varint(data, start, limit)
        number, wire_type = key >> 3, key & 7
        value = -1
        if index > 0 and 0 < number <= _MAX_FIELD_NUMBER:
            if wire_type in (_WIRE_VARINT, _WIRE_LENGTH_DELIMITED):
                value, index = _decode_varint(data, index, limit)
            elif wire_type in (_WIRE_FIXED64, _WIRE_FIXED32):
                value = 0
        if value < 0 or index < 0:  # a group, an invalid key or a varint past the window
            number, wire_type = _field_key(cursor, what, groups=True)
            if wire_type == _WIRE_GROUP_END:  # protobuf parsers reject it too
                raise MalformedFileError(f"field {number} in {what} ends a group that was not open")
            _skip_any(cursor, walk, number, wire_type, what)
            continue
        cursor.position = position + index - start
        if wire_type == _WIRE_LENGTH_DELIMITED:
            child = wanted.get(number)
            if child is None:
                cursor.skip(value, what)
            else:
                yield child, value
        elif wire_type != _WIRE_VARINT:
            cursor.skip(8 if wire_type == _WIRE_FIXED64 else 4, what)


def _decode_varint(data: bytes, index: int, limit: int) -> tuple[int, int]:
    """The varint at ``data[index]`` and the index after it; ``(-1, -1)`` when it does not end
    before ``limit`` or overflows (the caller's slow path then reports it)."""
    byte = data[index] if index < limit else 0x80
    if byte < 0x80:  # the usual one-byte varint
        return byte, index + 1
    value = 0
    for count in range(min(limit - index, MAX_VARINT_BYTES)):
        byte = data[index + count]
        value |= (byte & 0x7F) << (7 * count)
        if byte < 0x80:
            return (value, index + count + 1) if value < 2**64 else (-1, -1)
    return -1, -1


def _walked_fields(cursor: _Cursor, walk: _GraphWalk, what: str) -> Iterator[tuple[int, int]]:
    """Like ``_fields`` with groups allowed, counted against the walk's field cap."""
    while not cursor.at_end() and _count_field(walk):
        number, wire_type = _field_key(cursor, what, groups=True)
        if wire_type == _WIRE_GROUP_END:  # protobuf parsers reject it too
            raise MalformedFileError(f"field {number} in {what} ends a group that was not open")
        yield number, wire_type


def _count_field(walk: _GraphWalk) -> bool:
    """Count one more field walked; False (and the walk stopped) past the cap."""
    if walk.stopped:
        return False
    if walk.fields >= MAX_GRAPH_FIELDS:
        walk.stop(
            f"the graphs have more than {MAX_GRAPH_FIELDS} fields: the rest was not examined "
            "for external data"
        )
        return False
    walk.fields += 1
    return True


def _skip_any(cursor: _Cursor, walk: _GraphWalk, number: int, wire_type: int, what: str) -> None:
    """Skip a field's value, groups included: protobuf keeps unknown groups, and so must we."""
    if wire_type != _WIRE_GROUP_START:
        _skip_value(cursor, number, wire_type)
        return
    open_groups = [number]
    while open_groups and _count_field(walk):
        if cursor.at_end():
            raise MalformedFileError(f"truncated: group {open_groups[-1]} in {what} never ends")
        inner_number, inner_type = _field_key(cursor, what, groups=True)
        if inner_type == _WIRE_GROUP_START:
            if len(open_groups) >= MAX_GROUP_DEPTH:
                raise MalformedFileError(f"groups in {what} nest deeper than {MAX_GROUP_DEPTH}")
            open_groups.append(inner_number)
        elif inner_type == _WIRE_GROUP_END:
            if inner_number != open_groups.pop():
                raise MalformedFileError(f"group end {inner_number} in {what} does not match")
        else:
            _skip_value(cursor, inner_number, inner_type)


def _walk_tensor(cursor: _Cursor, walk: _GraphWalk) -> None:
    """Read a TensorProto's name and external-data fields; seek past its data."""
    if walk.tensors >= MAX_TENSORS_EXAMINED:
        walk.stop(
            f"the model has more than {MAX_TENSORS_EXAMINED} tensors: the rest were not "
            "examined for external data"
        )
        return
    walk.tensors += 1
    name = ""
    data_location = 0
    entries: list[tuple[str, str]] = []
    for number, wire_type in _walked_fields(cursor, walk, _TENSOR):
        if number == _TENSOR_NAME and wire_type == _WIRE_LENGTH_DELIMITED:
            name = _read_text_prefix(cursor, "TensorProto.name", MAX_TENSOR_NAME_BYTES)[0]
        elif number == _TENSOR_EXTERNAL_DATA and wire_type == _WIRE_LENGTH_DELIMITED:
            if len(entries) >= MAX_EXTERNAL_DATA_ENTRIES:
                raise MalformedFileError(
                    f"tensor {name!r} has more than {MAX_EXTERNAL_DATA_ENTRIES} external_data "
                    "entries"
                )
            entries.append(_read_external_entry(cursor, walk))
        elif number == _TENSOR_DATA_LOCATION and wire_type == _WIRE_VARINT:
            data_location = cursor.varint("TensorProto.data_location")
        else:  # raw_data and the typed *_data fields: seek past them
            _skip_any(cursor, walk, number, wire_type, _TENSOR)
    if data_location == _DATA_LOCATION_EXTERNAL or entries:
        _keep_external(walk, name, entries)


def _read_external_entry(cursor: _Cursor, walk: _GraphWalk) -> tuple[str, str]:
    """One ``external_data`` key-value entry (StringStringEntryProto)."""
    entry = _read_entry(cursor, "external_data")
    key = value = ""
    for number, wire_type in _walked_fields(entry, walk, "external_data"):
        if number in (1, 2) and wire_type == _WIRE_LENGTH_DELIMITED:
            size = entry.length("external_data entry")
            # Runtimes use the bytes as a path without checking UTF-8; keep what can be shown.
            text = entry.take(size, "external_data entry").decode("utf-8", errors="replace")
            if number == 1:
                key = text
            else:
                value = text
        else:
            _skip_any(entry, walk, number, wire_type, "external_data")
    return key, value


def _keep_external(walk: _GraphWalk, name: str, entries: list[tuple[str, str]]) -> None:
    last = dict(entries)  # a repeated key: the last one wins, as in onnx and onnxruntime
    locations = [value for key, value in entries if key == "location"] or [""]
    # Every distinct location is kept: a runtime that took another than the last must not
    # hide a hostile one behind a plain one.
    for location in dict.fromkeys(locations):
        if len(walk.external) >= MAX_EXTERNAL_REFS:
            walk.stop(
                f"more than {MAX_EXTERNAL_REFS} external-data references: the rest were not "
                "examined"
            )
            return
        walk.external.append(
            OnnxExternalData(
                tensor=name,
                location=location,
                offset=_decimal(last.get("offset")),
                length=_decimal(last.get("length")),
                checksum=last.get("checksum"),
            )
        )


def _decimal(text: str | None) -> int | None:
    if text is None or not (text.isascii() and text.isdigit()) or len(text) > _MAX_DECIMAL_DIGITS:
        return None
    return int(text)
