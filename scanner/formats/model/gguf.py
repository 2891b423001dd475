"""Read a GGUF file's header and key-value metadata, stopping before tensor infos and data."""

from __future__ import annotations

import functools
import os
import struct
from dataclasses import dataclass, field
from enum import IntEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, BinaryIO, TypeAlias

from scanner.core.capped_io import open_regular_file
from scanner.core.errors import MalformedFileError

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

#: Most key-value pairs accepted; real files carry a few dozen.
MAX_KV_COUNT = 65_536
#: Largest tensor count accepted (it is only reported; tensor infos are never read).
MAX_TENSOR_COUNT = 1_000_000
#: Longest key, in bytes (the GGUF spec's limit).
MAX_KEY_BYTES = 65_535
#: Longest string value, in bytes; chat templates are a few KiB.
MAX_STRING_BYTES = 16 * 1024 * 1024
#: Most elements in one array; vocabularies reach a few hundred thousand tokens.
MAX_ARRAY_COUNT = 4 * 1024 * 1024
#: Deepest array nesting accepted (an array of arrays of arrays).
MAX_ARRAY_DEPTH = 3
#: Most string elements and nested arrays walked over the whole file (each costs a loop turn).
MAX_WALKED_ITEMS = 4 * 1024 * 1024
#: The header and all key-value pairs must end within this many bytes from the file start.
MAX_METADATA_BYTES = 256 * 1024 * 1024
#: Arrays up to this size keep their values (languages, tags); longer ones are summarised.
MAX_KEPT_ARRAY_ITEMS = 256
#: Most ``general.base_model.N`` / ``general.dataset.N`` entries collected.
MAX_REFERENCES = 64

_MAGIC = b"GGUF"
_SUPPORTED_VERSIONS = (1, 2, 3)
_BIG_ENDIAN_THRESHOLD = 0xFFFF
_WALK_CHUNK_BYTES = 1024 * 1024


class GgufType(IntEnum):
    """The value type ids of the GGUF spec."""

    UINT8 = 0
    INT8 = 1
    UINT16 = 2
    INT16 = 3
    UINT32 = 4
    INT32 = 5
    FLOAT32 = 6
    BOOL = 7
    STRING = 8
    ARRAY = 9
    UINT64 = 10
    INT64 = 11
    FLOAT64 = 12


_SCALAR_FORMATS: dict[GgufType, str] = {
    GgufType.UINT8: "B",
    GgufType.INT8: "b",
    GgufType.UINT16: "H",
    GgufType.INT16: "h",
    GgufType.UINT32: "I",
    GgufType.INT32: "i",
    GgufType.FLOAT32: "f",
    GgufType.BOOL: "B",
    GgufType.UINT64: "Q",
    GgufType.INT64: "q",
    GgufType.FLOAT64: "d",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class GgufArray:
    """An array too long (or too nested) to keep: only its element type and length."""

    item_type: str
    """Element type name, e.g. ``"string"``, ``"float32"``, ``"array"``."""
    count: int
    """Number of elements declared."""


GgufScalar: TypeAlias = int | float | bool | str
GgufValue: TypeAlias = GgufScalar | tuple[GgufScalar, ...] | GgufArray


@dataclass(frozen=True, slots=True, kw_only=True)
class GgufReference:
    """One ``general.base_model.N.*`` or ``general.dataset.N.*`` entry."""

    name: str | None = None
    author: str | None = None
    version: str | None = None
    organization: str | None = None
    description: str | None = None
    url: str | None = None
    doi: str | None = None
    uuid: str | None = None
    repo_url: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GgufBaseModel(GgufReference):
    """A parent model named by ``general.base_model.N.*``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GgufDataset(GgufReference):
    """A training data set named by ``general.dataset.N.*`` or ``general.datasets``."""


_REFERENCE_FIELDS = (
    "name",
    "author",
    "version",
    "organization",
    "description",
    "url",
    "doi",
    "uuid",
    "repo_url",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class GgufMetadata:
    """A GGUF header and its key-value metadata; tensor infos and data are never read."""

    version: int
    """GGUF format version (1, 2 or 3)."""
    tensor_count: int
    """Number of tensors the header declares."""
    kv_count: int
    """Number of key-value pairs."""
    big_endian: bool
    """Whether the file is big-endian."""
    metadata_size: int
    """Offset at which the key-value section ends (tensor infos start there)."""
    values: Mapping[str, GgufValue] = field(hash=False)
    """Every key's value, in file order (read-only)."""
    complete: bool = True
    """False when a prefix was read with ``partial_ok`` and ended inside the key-value section:
    ``values`` then holds only the pairs before the cut and ``metadata_size`` is where it ended."""

    def _string(self, key: str) -> str | None:
        value = self.values.get(key)
        return value if isinstance(value, str) else None

    def _strings(self, key: str) -> tuple[str, ...]:
        value = self.values.get(key)
        if isinstance(value, tuple):
            return tuple(item for item in value if isinstance(item, str))
        return ()

    def _integer(self, key: str) -> int | None:
        value = self.values.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def name(self) -> str | None:
        """``general.name``."""
        return self._string("general.name")

    @property
    def organization(self) -> str | None:
        """``general.organization``."""
        return self._string("general.organization")

    @property
    def author(self) -> str | None:
        """``general.author``."""
        return self._string("general.author")

    @property
    def basename(self) -> str | None:
        """``general.basename``."""
        return self._string("general.basename")

    @property
    def finetune(self) -> str | None:
        """``general.finetune``."""
        return self._string("general.finetune")

    @property
    def size_label(self) -> str | None:
        """``general.size_label`` (``7B``, ``8x7B``)."""
        return self._string("general.size_label")

    @property
    def version_label(self) -> str | None:
        """``general.version`` (the model's version, not the GGUF format's)."""
        return self._string("general.version")

    @property
    def quantized_by(self) -> str | None:
        """``general.quantized_by``."""
        return self._string("general.quantized_by")

    @property
    def license(self) -> str | None:
        """``general.license``."""
        return self._string("general.license")

    @property
    def license_name(self) -> str | None:
        """``general.license.name``."""
        return self._string("general.license.name")

    @property
    def license_link(self) -> str | None:
        """``general.license.link``."""
        return self._string("general.license.link")

    @property
    def architecture(self) -> str | None:
        """``general.architecture``."""
        return self._string("general.architecture")

    @property
    def file_type(self) -> int | None:
        """``general.file_type`` (the llama.cpp quantisation enum)."""
        return self._integer("general.file_type")

    @property
    def url(self) -> str | None:
        """``general.url``."""
        return self._string("general.url")

    @property
    def repo_url(self) -> str | None:
        """``general.repo_url``."""
        return self._string("general.repo_url")

    @property
    def source_url(self) -> str | None:
        """``general.source.url``."""
        return self._string("general.source.url")

    @property
    def source_repo_url(self) -> str | None:
        """``general.source.repo_url``."""
        return self._string("general.source.repo_url")

    @property
    def source_hf_repository(self) -> str | None:
        """``general.source.huggingface.repository`` (older converters)."""
        return self._string("general.source.huggingface.repository")

    @property
    def base_models(self) -> tuple[GgufBaseModel, ...]:
        """Parent models from ``general.base_model.count`` and ``general.base_model.N.*``."""
        return tuple(
            GgufBaseModel(**fields)
            for fields in _numbered_entries(self.values, "general.base_model")
        )

    @property
    def datasets(self) -> tuple[GgufDataset, ...]:
        """Data sets from ``general.dataset.N.*``, then the older ``general.datasets`` list."""
        numbered = (
            GgufDataset(**fields) for fields in _numbered_entries(self.values, "general.dataset")
        )
        legacy = (GgufDataset(name=name) for name in self._strings("general.datasets"))
        return (*numbered, *legacy)

    @property
    def tags(self) -> tuple[str, ...]:
        """``general.tags``."""
        return self._strings("general.tags")

    @property
    def languages(self) -> tuple[str, ...]:
        """``general.languages``."""
        return self._strings("general.languages")

    @property
    def tokenizer_model(self) -> str | None:
        """``tokenizer.ggml.model`` (e.g. ``llama``, ``gpt2``, ``bert``)."""
        return self._string("tokenizer.ggml.model")

    @property
    def tokenizer_pre(self) -> str | None:
        """``tokenizer.ggml.pre``, the pre-tokenizer id."""
        return self._string("tokenizer.ggml.pre")

    @property
    def has_chat_template(self) -> bool:
        """Whether ``tokenizer.chat_template`` is present."""
        return "tokenizer.chat_template" in self.values

    @property
    def chat_template(self) -> str | None:
        """``tokenizer.chat_template``, if it is a string."""
        return self._string("tokenizer.chat_template")

    @property
    def chat_template_length(self) -> int | None:
        """Length of ``tokenizer.chat_template`` in characters, if it is a string."""
        template = self._string("tokenizer.chat_template")
        return None if template is None else len(template)

    @property
    def vocab_size(self) -> int | None:
        """Number of entries in ``tokenizer.ggml.tokens``, if present."""
        tokens = self.values.get("tokenizer.ggml.tokens")
        if isinstance(tokens, GgufArray):
            return tokens.count
        return len(tokens) if isinstance(tokens, tuple) else None


def _numbered_entries(values: Mapping[str, GgufValue], prefix: str) -> list[dict[str, str]]:
    """Collect ``{prefix}.N.*`` string fields for N below ``{prefix}.count`` (capped).

    Without a count, entries are taken from N = 0 until the first missing one.
    """
    declared = values.get(f"{prefix}.count")
    if isinstance(declared, int) and not isinstance(declared, bool):
        limit, has_count = min(declared, MAX_REFERENCES), True
    else:
        limit, has_count = MAX_REFERENCES, False
    entries = []
    for index in range(limit):
        fields = {
            name: value
            for name in _REFERENCE_FIELDS
            if isinstance(value := values.get(f"{prefix}.{index}.{name}"), str)
        }
        if fields:
            entries.append(fields)
        elif not has_count:
            break
    return entries


class _TruncatedError(MalformedFileError):
    """The input ends before the structure it declares (not any other malformation)."""


def read_gguf_metadata(path: Path, *, partial_ok: bool = False) -> GgufMetadata:
    """Read the header and key-value metadata of the GGUF file at ``path``.

    Versions 1 to 3 are read, little- or big-endian. Reading stops after the last key-value
    pair; numeric arrays are skipped by seeking, string arrays are walked, and only arrays of
    at most ``MAX_KEPT_ARRAY_ITEMS`` scalars or strings keep their values. Every declared
    length is checked against the bytes left before anything is read.

    ``partial_ok``: the file is a prefix of a larger one (a ranged download). If it ends in the
    middle of the key-value section, the pairs read so far are returned with ``complete`` False
    instead of raising; any other malformation still raises.

    Raises:
        MalformedFileError: the content is not GGUF, is truncated or breaks a cap, or the
            path is not a regular file (a FIFO would block).
        OSError: the file cannot be opened or read (left to the caller to report).
    """
    with open_regular_file(path) as stream:
        file_size = os.fstat(stream.fileno()).st_size
        return read_gguf_stream(stream, file_size, partial_ok=partial_ok)


def read_gguf_stream(
    stream: BinaryIO, size: int, *, partial_ok: bool = False, keep: frozenset[str] = frozenset()
) -> GgufMetadata:
    """Read GGUF metadata from a seekable binary stream of ``size`` bytes holding the file from
    its first byte (see ``read_gguf_metadata``; the stream's position does not matter).

    Raises:
        MalformedFileError: the content is not GGUF, is truncated or breaks a cap.
        OSError: the stream cannot be read.
    """
    stream.seek(0)
    return _read_metadata(_Cursor(stream, size), partial_ok=partial_ok, keep=keep)


@functools.cache
def _struct(fmt: str) -> struct.Struct:
    return struct.Struct(fmt)


class _Cursor:
    """Bounded, endianness-aware reads from the start of an open file."""

    def __init__(self, stream: BinaryIO, file_size: int) -> None:
        self._stream = stream
        self._file_size = file_size
        self.position = 0
        self.walked_items = 0
        self.byte_order = "<"
        self.long_counts = True

    def require(self, size: int, what: str) -> None:
        """Fail unless ``size`` more bytes can be read, without reading them."""
        if size > self.remaining():
            error = (
                _TruncatedError if self.position + size > self._file_size else MalformedFileError
            )
            raise error(f"truncated: {what} need at least {size} bytes, {self.remaining()} remain")

    def remaining(self) -> int:
        """Bytes left before the end of the file or the metadata cap, whichever is first."""
        return min(self._file_size, MAX_METADATA_BYTES) - self.position

    def _claim(self, size: int, what: str) -> None:
        if size <= self.remaining():
            return
        if self.position + size > self._file_size:
            raise _TruncatedError(
                f"truncated: {what} needs {size} bytes at offset {self.position}, "
                f"the file has {self._file_size}"
            )
        raise MalformedFileError(
            f"{what} at offset {self.position} runs past the {MAX_METADATA_BYTES}-byte metadata cap"
        )

    def take(self, size: int, what: str) -> bytes:
        """Read exactly ``size`` bytes."""
        self._claim(size, what)
        data = self._stream.read(size)
        if len(data) != size:  # the file shrank under us
            raise _TruncatedError(f"truncated: {what} at offset {self.position}")
        self.position += size
        return data

    def skip(self, size: int, what: str) -> None:
        """Move past ``size`` bytes without reading them."""
        self._claim(size, what)
        self._stream.seek(size, os.SEEK_CUR)
        self.position += size

    def rewind(self, size: int) -> None:
        """Give back the last ``size`` bytes read, so the next read starts there again."""
        self._stream.seek(-size, os.SEEK_CUR)
        self.position -= size

    def unpack(self, fmt: str, what: str) -> tuple[int | float, ...]:
        """Read and unpack one struct in the file's byte order."""
        layout = _struct(self.byte_order + fmt)
        return layout.unpack(self.take(layout.size, what))

    def integer(self, fmt: str, what: str) -> int:
        """Read one unsigned integer."""
        (value,) = self.unpack(fmt, what)
        return int(value)

    def count(self, what: str) -> int:
        """Read a length or count: u64, or u32 in GGUF v1."""
        return self.integer("Q" if self.long_counts else "I", what)

    @property
    def count_size(self) -> int:
        """Size in bytes of a length or count."""
        return 8 if self.long_counts else 4

    def walk(self, items: int) -> None:
        """Account for ``items`` more loop turns over string elements or nested arrays."""
        self.walked_items += items
        if self.walked_items > MAX_WALKED_ITEMS:
            raise MalformedFileError(f"metadata walks more than {MAX_WALKED_ITEMS} array elements")


def _read_metadata(cursor: _Cursor, *, partial_ok: bool, keep: frozenset[str]) -> GgufMetadata:
    magic = cursor.take(len(_MAGIC), "the GGUF magic")
    if magic != _MAGIC:
        raise MalformedFileError(f"bad magic {magic!r}, not a GGUF file")
    version = cursor.integer("I", "the version")
    big_endian = version > _BIG_ENDIAN_THRESHOLD
    if big_endian:
        cursor.byte_order = ">"
        version = int.from_bytes(version.to_bytes(4, "little"), "big")
    if version not in _SUPPORTED_VERSIONS:
        raise MalformedFileError(f"unsupported GGUF version {version}")
    cursor.long_counts = version != 1  # v1 used u32 counts and lengths
    tensor_count = cursor.count("the tensor count")
    if tensor_count > MAX_TENSOR_COUNT:
        raise MalformedFileError(f"tensor count {tensor_count} exceeds the cap {MAX_TENSOR_COUNT}")
    kv_count = cursor.count("the key-value count")
    _check_kv_count(cursor, kv_count, partial_ok=partial_ok)
    values: dict[str, GgufValue] = {}
    complete = True
    try:
        _read_pairs(cursor, kv_count, values, keep)
    except _TruncatedError:
        if not partial_ok:
            raise
        complete = False
    return GgufMetadata(
        version=version,
        tensor_count=tensor_count,
        kv_count=kv_count,
        big_endian=big_endian,
        metadata_size=cursor.position,
        values=MappingProxyType(values),
        complete=complete,
    )


def _read_pairs(
    cursor: _Cursor, kv_count: int, values: dict[str, GgufValue], keep: frozenset[str]
) -> None:
    """Read ``kv_count`` pairs into ``values``; on truncation, the pairs before it stay. The
    arrays of the keys in ``keep`` are kept whole (a vocabulary), the others summarised."""
    for _ in range(kv_count):
        key = _read_key(cursor)
        if key in values:
            raise MalformedFileError(f"key {key!r} appears twice")
        type_id = cursor.integer("I", f"the type of {key!r}")
        value_type = _value_type(type_id, key)
        if key in keep and value_type is GgufType.ARRAY:
            values[key] = _read_whole_array(cursor, key)
        else:
            values[key] = _read_value(cursor, value_type, key, depth=0)


def _check_kv_count(cursor: _Cursor, kv_count: int, *, partial_ok: bool) -> None:
    if kv_count > MAX_KV_COUNT:
        raise MalformedFileError(f"key-value count {kv_count} exceeds the cap {MAX_KV_COUNT}")
    if partial_ok:  # a prefix is expected to hold fewer bytes than the pairs need
        return
    # The smallest pair is an empty key, a type id and a one-byte value.
    cursor.require(kv_count * (cursor.count_size + 4 + 1), f"{kv_count} key-value pairs")


def _value_type(type_id: int, key: str) -> GgufType:
    try:
        return GgufType(type_id)
    except ValueError:
        raise MalformedFileError(f"{key!r} has unknown value type {type_id}") from None


def _read_key(cursor: _Cursor) -> str:
    length = cursor.count("a key length")
    if length > MAX_KEY_BYTES:
        raise MalformedFileError(f"key length {length} exceeds the cap {MAX_KEY_BYTES}")
    raw = cursor.take(length, "a key")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedFileError(f"key {raw[:80]!r} is not UTF-8") from None


def _read_string(cursor: _Cursor, key: str) -> str:
    length = cursor.count(f"the string length of {key!r}")
    if length > MAX_STRING_BYTES:
        raise MalformedFileError(
            f"{key!r} declares a {length}-byte string, cap is {MAX_STRING_BYTES}"
        )
    # Values are free text (token pieces included): keep them readable rather than reject.
    return cursor.take(length, f"the string of {key!r}").decode("utf-8", errors="replace")


def _read_scalar(cursor: _Cursor, value_type: GgufType, key: str) -> GgufScalar:
    (value,) = cursor.unpack(_SCALAR_FORMATS[value_type], f"the value of {key!r}")
    if value_type is GgufType.BOOL:
        if value not in (0, 1):
            raise MalformedFileError(f"{key!r} has bool value {value}, not 0 or 1")
        return bool(value)
    return value


def _read_value(cursor: _Cursor, value_type: GgufType, key: str, *, depth: int) -> GgufValue:
    if value_type is GgufType.STRING:
        return _read_string(cursor, key)
    if value_type is GgufType.ARRAY:
        return _read_array(cursor, key, depth=depth + 1)
    return _read_scalar(cursor, value_type, key)


def _read_array(cursor: _Cursor, key: str, *, depth: int) -> tuple[GgufScalar, ...] | GgufArray:
    if depth > MAX_ARRAY_DEPTH:
        raise MalformedFileError(f"{key!r} nests arrays deeper than {MAX_ARRAY_DEPTH}")
    item_type = _value_type(cursor.integer("I", f"the array type of {key!r}"), key)
    count = cursor.count(f"the array length of {key!r}")
    if count > MAX_ARRAY_COUNT:
        raise MalformedFileError(
            f"{key!r} declares {count} array elements, cap is {MAX_ARRAY_COUNT}"
        )
    summary = GgufArray(item_type=item_type.name.lower(), count=count)
    if item_type is GgufType.ARRAY:
        _walk_nested_arrays(cursor, key, count, depth=depth)
        return summary
    if item_type is GgufType.STRING:
        return _read_string_array(cursor, key, count, summary)
    item_size = struct.calcsize(_SCALAR_FORMATS[item_type])
    if count > MAX_KEPT_ARRAY_ITEMS:
        cursor.skip(count * item_size, f"the {summary.item_type} array of {key!r}")
        return summary
    return tuple(_read_scalar(cursor, item_type, key) for _ in range(count))


def _read_whole_array(cursor: _Cursor, key: str) -> tuple[GgufScalar, ...] | GgufArray:
    """An array of strings or numbers, every element kept (up to ``MAX_ARRAY_COUNT``)."""
    item_type = _value_type(cursor.integer("I", f"the array type of {key!r}"), key)
    count = cursor.count(f"the array length of {key!r}")
    if count > MAX_ARRAY_COUNT:
        raise MalformedFileError(
            f"{key!r} declares {count} array elements, cap is {MAX_ARRAY_COUNT}"
        )
    if item_type is GgufType.STRING:
        cursor.require(count * cursor.count_size, f"{count} strings of {key!r}")
        cursor.walk(count)
        return _collect_strings(cursor, key, count)
    if item_type is GgufType.ARRAY:
        _walk_nested_arrays(cursor, key, count, depth=1)
        return GgufArray(item_type="array", count=count)
    layout = struct.Struct(f"{cursor.byte_order}{count}{_SCALAR_FORMATS[item_type]}")
    return tuple(layout.unpack(cursor.take(layout.size, f"the array of {key!r}")))


def _collect_strings(cursor: _Cursor, key: str, count: int) -> tuple[str, ...]:
    """``count`` strings, parsed out of large chunks (as ``_skip_strings`` does)."""
    prefix = _struct(cursor.byte_order + ("Q" if cursor.long_counts else "I"))
    what = f"the strings of {key!r}"
    buffer, offset = b"", 0
    found: list[str] = []

    def ensure(size: int) -> None:
        nonlocal buffer, offset
        if len(buffer) - offset < size:
            missing = size - (len(buffer) - offset)
            chunk = max(missing, min(_WALK_CHUNK_BYTES, cursor.remaining()))
            buffer, offset = buffer[offset:] + cursor.take(chunk, what), 0

    for _ in range(count):
        ensure(prefix.size)
        (length,) = prefix.unpack_from(buffer, offset)
        if length > MAX_STRING_BYTES:
            raise MalformedFileError(
                f"{key!r} declares a {length}-byte string, cap is {MAX_STRING_BYTES}"
            )
        ensure(prefix.size + length)
        start = offset + prefix.size
        found.append(buffer[start : start + length].decode("utf-8", errors="replace"))
        offset = start + length
    cursor.rewind(len(buffer) - offset)
    return tuple(found)


def _read_string_array(
    cursor: _Cursor, key: str, count: int, summary: GgufArray
) -> tuple[GgufScalar, ...] | GgufArray:
    # Each element has at least its length prefix: reject impossible counts before looping.
    cursor.require(count * cursor.count_size, f"{count} strings of {key!r}")
    cursor.walk(count)
    if count <= MAX_KEPT_ARRAY_ITEMS:
        return tuple(_read_string(cursor, key) for _ in range(count))
    _skip_strings(cursor, key, count)
    return summary


def _skip_strings(cursor: _Cursor, key: str, count: int) -> None:
    # Parse the length prefixes out of large chunks: one file read per string costs ~4 µs,
    # which would make a vocabulary of a few hundred thousand tokens take seconds.
    prefix = _struct(cursor.byte_order + ("Q" if cursor.long_counts else "I"))
    what = f"the strings of {key!r}"
    buffer = b""
    offset = 0
    for _ in range(count):
        if len(buffer) - offset < prefix.size:
            missing = prefix.size - (len(buffer) - offset)
            chunk = max(missing, min(_WALK_CHUNK_BYTES, cursor.remaining()))
            buffer = buffer[offset:] + cursor.take(chunk, what)
            offset = 0
        (length,) = prefix.unpack_from(buffer, offset)
        if length > MAX_STRING_BYTES:
            raise MalformedFileError(
                f"{key!r} declares a {length}-byte string, cap is {MAX_STRING_BYTES}"
            )
        offset += prefix.size + length
        if offset > len(buffer):
            cursor.skip(offset - len(buffer), what)
            buffer, offset = b"", 0
    cursor.rewind(len(buffer) - offset)


def _walk_nested_arrays(cursor: _Cursor, key: str, count: int, *, depth: int) -> None:
    # Each nested array has at least its type id and its count.
    cursor.require(count * (4 + cursor.count_size), f"{count} nested arrays of {key!r}")
    cursor.walk(count)
    for _ in range(count):
        _read_array(cursor, key, depth=depth + 1)
