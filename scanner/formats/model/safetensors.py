"""Read a safetensors file's JSON header (names, dtypes, shapes, metadata) without its tensors."""

from __future__ import annotations

import json
import math
import os
import re
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO, Final

from scanner.core.capped_io import open_regular_file
from scanner.core.errors import MalformedFileError

if TYPE_CHECKING:
    from pathlib import Path

#: Largest header accepted, in bytes: huggingface_hub's cap (the Rust crate allows 100 MB).
MAX_HEADER_BYTES = 25_000_000
#: Most tensors one header may declare; real checkpoints hold a few thousand per shard.
MAX_TENSORS = 1_000_000
#: Most entries in ``__metadata__``; kohya and modelspec headers hold a few hundred at most.
MAX_METADATA_ENTRIES = 100_000
#: Highest tensor rank accepted; real tensors have at most a handful of dimensions.
MAX_SHAPE_RANK = 64
#: Largest single dimension or offset: the Rust reader stores them as ``usize``.
MAX_DIMENSION = 2**63 - 1

#: Most tensor shapes kept for ``TensorLayout`` (those outside the repeated blocks and those of
#: the first block): a mixture of experts' first block holds a few hundred.
MAX_LAYOUT_TENSORS: Final = 4096
#: Most block indices kept per stack of blocks (the deepest published models have ~130).
MAX_LAYOUT_BLOCKS: Final = 4096

_LENGTH_PREFIX = struct.Struct("<Q")
#: A tensor inside a numbered block: ``model.layers.12.mlp.up_proj.weight`` is block 12 of the
#: stack ``model.layers``, tensor ``mlp.up_proj.weight`` (the spellings of transformers' models).
_BLOCK = re.compile(r"^((?:.+\.)?(?:layers|layer|h|blocks|block))\.(\d{1,9})\.(.+)$")
_METADATA_KEY = "__metadata__"

#: Bytes per element of the byte-aligned dtypes, used to check each tensor's byte span.
#: Sub-byte dtypes (F4, F6_*) and unknown ones are not size-checked.
_DTYPE_BYTES: dict[str, int] = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E5M2": 1,
    "F8_E4M3": 1,
    "F8_E8M0": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "I64": 8,
    "U64": 8,
    "F64": 8,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class TensorLayout:
    """A checkpoint's layout as its tensor names and shapes show it: each stack of numbered
    blocks with the indices present (shards of one checkpoint hold different blocks), and the
    shapes of the tensors outside any block and of each stack's block 0. Names are kept as
    declared; nothing here says what they mean."""

    shapes: tuple[tuple[str, tuple[int, ...]], ...]
    """``(name, shape)`` of the tensors outside any block and, as ``<stack>.0.<tensor>``, of
    each stack's block 0, at most ``MAX_LAYOUT_TENSORS``, sorted by name."""
    stacks: tuple[tuple[str, frozenset[int]], ...]
    """``(stack, block indices)`` for each stack of numbered blocks, sorted by stack."""
    truncated: bool = False
    """Whether a cap left tensors out (a header padded to hide its embedding or its blocks)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SafetensorsHeader:
    """What a safetensors header declares; no tensor data is read."""

    header_size: int
    """Length of the JSON header in bytes (the file's leading u64)."""
    tensor_count: int
    """Number of tensors declared."""
    parameter_count: int
    """Sum over tensors of the product of their shape (a scalar counts as 1)."""
    dtypes: tuple[str, ...]
    """The distinct dtypes declared, sorted."""
    data_size: int
    """Bytes of tensor data the header accounts for (the largest ``data_offsets`` end)."""
    metadata: tuple[tuple[str, str], ...]
    """The ``__metadata__`` string map, sorted by key."""
    layout: TensorLayout = field(default_factory=lambda: TensorLayout(shapes=(), stacks=()))
    """The shapes that show the network's widths and depth."""


def read_safetensors_header(path: Path, *, file_size: int | None = None) -> SafetensorsHeader:
    """Read and validate the header of the safetensors file at ``path``.

    Only the 8-byte length prefix and the JSON header are read. ``__metadata__`` must map
    strings to strings, as the reference (Rust) reader requires; any other value makes the
    file malformed rather than being stringified.

    ``file_size``: the size of the whole file when ``path`` holds only a prefix of it (a ranged
    download); the header's lengths and data offsets are checked against it. The prefix must
    still hold the whole header.

    Raises:
        MalformedFileError: the content is not a well-formed safetensors header, breaks a
            cap, or declares tensor data past the end of the file; or the path is not a
            regular file (a FIFO would block).
        OSError: the file cannot be opened or read (left to the caller to report).
    """
    with open_regular_file(path) as stream:
        present = os.fstat(stream.fileno()).st_size
        if file_size is None:
            file_size = present
        elif file_size < present:
            raise MalformedFileError(f"a {present}-byte prefix of a {file_size}-byte file")
        return read_safetensors_stream(stream, file_size)


def read_safetensors_stream(stream: BinaryIO, file_size: int) -> SafetensorsHeader:
    """Read the header of a safetensors file of ``file_size`` bytes from a seekable binary
    stream holding (at least the start of) it; see ``read_safetensors_header``.

    Raises:
        MalformedFileError: the content is not a well-formed safetensors header.
        OSError: the stream cannot be read.
    """
    stream.seek(0)
    prefix = stream.read(_LENGTH_PREFIX.size)
    if len(prefix) < _LENGTH_PREFIX.size:
        raise MalformedFileError(
            f"file is {len(prefix)} bytes, too short for the 8-byte header length"
        )
    (header_size,) = _LENGTH_PREFIX.unpack(prefix)
    _check_header_size(header_size, file_size)
    raw_header = stream.read(header_size)
    if len(raw_header) < header_size:
        raise MalformedFileError(
            f"truncated header: {header_size} bytes declared, {len(raw_header)} present"
        )
    document = _parse_json_object(raw_header)
    buffer_size = file_size - _LENGTH_PREFIX.size - header_size
    return _interpret(document, header_size=header_size, buffer_size=buffer_size)


def _check_header_size(header_size: int, file_size: int) -> None:
    if header_size > MAX_HEADER_BYTES:
        raise MalformedFileError(
            f"header length {header_size} exceeds the {MAX_HEADER_BYTES}-byte cap"
        )
    if header_size > file_size - _LENGTH_PREFIX.size:
        raise MalformedFileError(
            f"header length {header_size} runs past the end of a {file_size}-byte file"
        )
    if header_size < len(b"{}"):
        raise MalformedFileError(f"header length {header_size} is too small for a JSON object")


def _reject_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    # json.loads keeps the last duplicate silently; a repeated tensor name could hide one.
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise MalformedFileError(f"header repeats the key {key!r}")
        result[key] = value
    return result


def _parse_json_object(raw_header: bytes) -> dict[str, object]:
    try:
        text = raw_header.decode("utf-8")
        document = json.loads(text, object_pairs_hook=_reject_duplicate_keys)
    except RecursionError:
        raise MalformedFileError("header JSON is nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, int digit limit
        raise MalformedFileError(f"header is not valid UTF-8 JSON: {error}") from None
    if not isinstance(document, dict):
        raise MalformedFileError(f"header is a JSON {type(document).__name__}, not an object")
    return document


def _interpret(
    document: dict[str, object], *, header_size: int, buffer_size: int
) -> SafetensorsHeader:
    metadata = _interpret_metadata(document.get(_METADATA_KEY))
    tensor_count = len(document) - (_METADATA_KEY in document)
    if tensor_count > MAX_TENSORS:
        raise MalformedFileError(f"header declares {tensor_count} tensors, cap is {MAX_TENSORS}")
    parameter_count = 0
    data_size = 0
    dtypes: set[str] = set()
    layout = _LayoutCollector()
    for name, entry in document.items():
        if name == _METADATA_KEY:
            continue
        dtype, shape, end = _interpret_tensor(name, entry)
        dtypes.add(dtype)
        parameter_count += math.prod(shape)
        data_size = max(data_size, end)
        layout.add(name, shape)
    if data_size > buffer_size:
        raise MalformedFileError(
            f"truncated: tensors need {data_size} bytes, file has {buffer_size}"
        )
    return SafetensorsHeader(
        header_size=header_size,
        tensor_count=tensor_count,
        parameter_count=parameter_count,
        dtypes=tuple(sorted(dtypes)),
        data_size=data_size,
        metadata=metadata,
        layout=layout.layout(),
    )


class _LayoutCollector:
    """Gathers a ``TensorLayout`` tensor by tensor, within its caps."""

    def __init__(self) -> None:
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.stacks: dict[str, set[int]] = {}
        self.truncated = False

    def add(self, name: str, shape: tuple[int, ...]) -> None:
        block = _BLOCK.match(name)
        if block is not None:
            index = int(block[2])
            indices = self.stacks.setdefault(block[1], set())
            if len(indices) < MAX_LAYOUT_BLOCKS:
                indices.add(index)
            elif index not in indices:
                self.truncated = True
            if index:
                return
        if len(self.shapes) < MAX_LAYOUT_TENSORS:
            self.shapes[name] = shape
        else:
            self.truncated = True

    def layout(self) -> TensorLayout:
        return TensorLayout(
            shapes=tuple(sorted(self.shapes.items())),
            stacks=tuple((stack, frozenset(self.stacks[stack])) for stack in sorted(self.stacks)),
            truncated=self.truncated,
        )


def _interpret_metadata(value: object) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise MalformedFileError(f"__metadata__ is a {type(value).__name__}, not an object")
    if len(value) > MAX_METADATA_ENTRIES:
        raise MalformedFileError(
            f"__metadata__ has {len(value)} entries, cap is {MAX_METADATA_ENTRIES}"
        )
    for key, item in value.items():
        if not isinstance(item, str):
            raise MalformedFileError(
                f"__metadata__[{key!r}] is a {type(item).__name__}, not a string"
            )
    return tuple(sorted(value.items()))


def _interpret_tensor(name: str, entry: object) -> tuple[str, tuple[int, ...], int]:
    """Check one tensor entry; return its dtype, shape and data end offset."""
    if not isinstance(entry, dict):
        raise MalformedFileError(f"tensor {name!r} is a {type(entry).__name__}, not an object")
    dtype = entry.get("dtype")
    if not isinstance(dtype, str):
        raise MalformedFileError(f"tensor {name!r} has no string dtype")
    shape = _interpret_shape(name, entry.get("shape"))
    begin, end = _interpret_offsets(name, entry.get("data_offsets"))
    element_count = math.prod(shape)
    item_size = _DTYPE_BYTES.get(dtype)
    if item_size is not None and end - begin != element_count * item_size:
        raise MalformedFileError(
            f"tensor {name!r} spans {end - begin} bytes, its {dtype} shape {list(shape)} "
            f"needs {element_count * item_size}"
        )
    return dtype, shape, end


def _is_count(value: object) -> bool:
    # bool is an int subclass; JSON true/false is not a dimension.
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_DIMENSION


def _interpret_shape(name: str, shape: object) -> tuple[int, ...]:
    if not isinstance(shape, list):
        raise MalformedFileError(f"tensor {name!r} has no shape list")
    if len(shape) > MAX_SHAPE_RANK:
        raise MalformedFileError(f"tensor {name!r} has rank {len(shape)}, cap is {MAX_SHAPE_RANK}")
    if not all(_is_count(dimension) for dimension in shape):
        raise MalformedFileError(f"tensor {name!r} has a shape that is not non-negative integers")
    return tuple(shape)


def _interpret_offsets(name: str, offsets: object) -> tuple[int, int]:
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_is_count, offsets))):
        raise MalformedFileError(f"tensor {name!r} data_offsets is not two non-negative integers")
    begin, end = offsets
    if begin > end:
        raise MalformedFileError(f"tensor {name!r} data_offsets [{begin}, {end}] is reversed")
    return begin, end
