"""The model file formats sovscan knows, in one table: a new format is one row (plus its reader).

Each row says which suffixes name the format, whether such a file holds model weights (a folder
with one is a model folder; an installed package with one vendors weights), whether a loader may
unpickle it, the ``sovscan:file:format`` value recorded on its file component, and the
header-only reader that runs on it (and the ``FolderFacts`` field its result goes to).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from functools import partial
from pathlib import PurePath
from typing import BinaryIO, Final

from scanner.core.errors import MalformedFileError
from scanner.core.lazy import later
from scanner.formats.model.lfs_pointer import starts_like_pointer

#: The header readers, imported when a file of their format is read.
_read_safetensors = later("scanner.formats.model.safetensors", "read_safetensors_stream")
_read_gguf = later("scanner.formats.model.gguf", "read_gguf_stream")
_read_onnx = later("scanner.formats.model.onnx", "read_onnx_stream")


class PickleUse(Enum):
    """Whether a loader may unpickle a file of the format, and so how the load analysis reads it."""

    ALWAYS = "always"
    """A pickle by definition (``pickle.load``, ``joblib.load``): walked whatever its start."""
    PARSE = "parse"
    """A loader may unpickle it (``torch.load``, ``numpy.load(allow_pickle=True)``): parsed as a
    pickle whatever its first opcode, and left alone only when it is no pickle at all."""
    IF_ITS_CONTENT_IS_ONE = "if-its-content-is-one"
    """No loader unpickles it by name: walked when its content is a pickle a loader would read
    (it parses to STOP, or names a dangerous callable before it fails)."""
    UNLESS_VALID = "unless-valid"
    """Its own format, whose first bytes may look like a pickle by chance (a safetensors header
    length of 0x0280 starts ``80 02``): a valid instance (``is_instance``) is never walked as a
    pickle; anything else is, as ``IF_ITS_CONTENT_IS_ONE`` says (an attacker names the file)."""


#: Reads a header from a seekable binary stream holding the file from its first byte, given the
#: file's size; raises MalformedFileError on malformed content.
HeaderReader = Callable[[BinaryIO, int], object]
#: Whether a seekable binary stream holding a file from its first byte, given its size, is a
#: valid instance of the format (header-only checks; False on malformed content).
InstanceCheck = Callable[[BinaryIO, int], bool]

#: Most bytes a first-bytes check (``ModelFormat.starts_like``) reads: a file read by range
#: pays for what it reads, so a check that needs more says no and the file is analysed whole.
FIRST_BYTES_CHECKED: Final = 1024 * 1024
#: Bytes of a GGUF file whose key-value pairs the first-bytes check parses.
_GGUF_PAIRS_CHECKED: Final = 64 * 1024

#: HDF5's signature, at offset 0 or after a user block of 512 bytes times a power of two.
HDF5_SIGNATURE: Final = b"\x89HDF\r\n\x1a\n"
_HDF5_OFFSETS: Final = (0, 512, 1024, 2048, 4096, 8192, 16384)


def _reads(reader: HeaderReader) -> InstanceCheck:
    """An instance check that the format's header reader accepts the file."""

    def check(stream: BinaryIO, size: int) -> bool:
        try:
            reader(stream, size)
        except MalformedFileError:
            return False
        return True

    return check


def _or_lfs_pointer(check: InstanceCheck) -> InstanceCheck:
    """``check``, or the Git LFS pointer a clone without LFS leaves in the file's place (the
    inventory reports it; there are no weights to read)."""

    def either(stream: BinaryIO, size: int) -> bool:
        if starts_like_pointer(stream, size):
            return True
        stream.seek(0)
        return check(stream, size)

    return either


def _safetensors_start(stream: BinaryIO, size: int) -> bool:
    """The header parses, and it is within ``FIRST_BYTES_CHECKED`` (a longer one is checked
    with the whole file)."""
    stream.seek(0)
    length = int.from_bytes(stream.read(8), "little")
    if not 2 <= length <= min(size, FIRST_BYTES_CHECKED) - 8:
        return False
    return _reads(_read_safetensors)(stream, size)


def _gguf_start(stream: BinaryIO, size: int) -> bool:
    """The key-value pairs within the first ``_GGUF_PAIRS_CHECKED`` bytes parse."""
    return _reads(partial(_read_gguf_prefix, limit=_GGUF_PAIRS_CHECKED))(stream, size)


def _read_gguf_prefix(stream: BinaryIO, size: int, *, limit: int) -> object:
    return _read_gguf(stream, min(size, limit), partial_ok=True)


def _onnx_start(stream: BinaryIO, size: int) -> bool:
    """The ONNX writers put ``ir_version`` (field 1, a varint) first: ``08`` and a small
    version. A model written otherwise is not vouched for by its first bytes."""
    stream.seek(0)
    head = stream.read(2)
    return size >= 2 and len(head) == 2 and head[0] == 0x08 and 1 <= head[1] < 0x80


def _hdf5(stream: BinaryIO, size: int) -> bool:
    for offset in _HDF5_OFFSETS:
        if offset + len(HDF5_SIGNATURE) > size:
            return False
        stream.seek(offset)
        if stream.read(len(HDF5_SIGNATURE)) == HDF5_SIGNATURE:
            return True
    return False


def _msgpack_map(stream: BinaryIO, size: int) -> bool:
    """Flax serialises a state dict as one MessagePack map (fixmap, map 16 or map 32) whose
    first key is a string (fixstr, str 8/16/32)."""
    head = stream.read(4)
    if size < 3 or len(head) < 3:
        return False
    offset = {0xDE: 3, 0xDF: 5}.get(head[0], 1)
    if offset == 1 and not 0x81 <= head[0] <= 0x8F:
        return False
    stream.seek(offset)
    key = stream.read(1)
    return bool(key) and (0xA0 <= key[0] <= 0xBF or key[0] in (0xD9, 0xDA, 0xDB))


def _tflite(stream: BinaryIO, size: int) -> bool:
    """A TFLite flatbuffer names its schema, ``TFL3``, at bytes 4 to 8."""
    return size >= 8 and stream.read(8)[4:] == b"TFL3"


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelFormat:
    """One file format found in model folders."""

    name: str | None
    """The ``sovscan:file:format`` value, or None when the suffix says nothing reliable."""
    suffixes: tuple[str, ...]
    """Lower-case suffixes, with the dot; ``""`` stands for a file without one."""
    holds_weights: bool = False
    pickle: PickleUse = PickleUse.IF_ITS_CONTENT_IS_ONE
    loading_may_run_code: bool = False
    """Whether the usual loader of the format may run code (a pickle inside, a Keras Lambda):
    such files are analysed even in Hub repos, by ranged reads."""
    header_field: str | None = None
    """The ``FolderFacts`` field that collects the header reader's results."""
    read_header: HeaderReader | None = None
    is_instance: InstanceCheck | None = None
    """Whether a file is a valid instance of the format (``PickleUse.UNLESS_VALID`` rows)."""
    starts_like: InstanceCheck | None = None
    """For a file read by range (in a Hub repo): whether its first bytes (at most
    ``FIRST_BYTES_CHECKED``) are those of a valid instance; a file they do not vouch for is
    analysed whole. None: ``is_instance`` reads no more than that."""

    def first_bytes_check(self) -> InstanceCheck | None:
        """``starts_like``, else ``is_instance``."""
        return self.starts_like or self.is_instance


_W = True  # holds weights

#: Every format, one row each. Suffixes are unique across rows (tested).
MODEL_FORMATS: Final[tuple[ModelFormat, ...]] = (
    ModelFormat(
        name="safetensors",
        suffixes=(".safetensors",),
        holds_weights=_W,
        pickle=PickleUse.UNLESS_VALID,
        header_field="safetensors",
        read_header=_read_safetensors,
        is_instance=_or_lfs_pointer(_reads(_read_safetensors)),
        starts_like=_or_lfs_pointer(_safetensors_start),
    ),
    ModelFormat(
        name="gguf",
        suffixes=(".gguf",),
        holds_weights=_W,
        pickle=PickleUse.UNLESS_VALID,
        header_field="gguf",
        read_header=_read_gguf,
        is_instance=_or_lfs_pointer(_reads(_read_gguf)),
        starts_like=_or_lfs_pointer(_gguf_start),
    ),
    ModelFormat(
        name="onnx",
        suffixes=(".onnx",),
        holds_weights=_W,
        pickle=PickleUse.UNLESS_VALID,
        header_field="onnx",
        read_header=_read_onnx,
        is_instance=_or_lfs_pointer(_reads(_read_onnx)),
        starts_like=_or_lfs_pointer(_onnx_start),
    ),
    ModelFormat(
        name="pytorch-pickle",
        suffixes=(".bin", ".pt", ".pth", ".ckpt"),
        holds_weights=_W,
        pickle=PickleUse.PARSE,
        loading_may_run_code=True,
    ),
    ModelFormat(
        name="pickle",
        suffixes=(".pkl", ".pickle", ".joblib"),
        holds_weights=_W,
        pickle=PickleUse.ALWAYS,
        loading_may_run_code=True,
    ),
    ModelFormat(
        name="pickle",
        suffixes=(".sav",),
        holds_weights=_W,
        pickle=PickleUse.PARSE,
        loading_may_run_code=True,
    ),
    ModelFormat(
        name="numpy",
        suffixes=(".npy", ".npz"),
        holds_weights=_W,
        pickle=PickleUse.PARSE,
        loading_may_run_code=True,
    ),
    # Keras' legacy loader rebuilds the layers (Lambda too) of a root ``model_config``; the
    # load analysis reads it by the HDF5 route, ahead of any pickle one.
    ModelFormat(
        name="hdf5",
        suffixes=(".h5", ".hdf5"),
        holds_weights=_W,
        pickle=PickleUse.UNLESS_VALID,
        is_instance=_or_lfs_pointer(_hdf5),
        loading_may_run_code=True,
    ),
    ModelFormat(name="keras", suffixes=(".keras",), holds_weights=_W, loading_may_run_code=True),
    ModelFormat(
        name="flax-msgpack",
        suffixes=(".msgpack",),
        holds_weights=_W,
        pickle=PickleUse.UNLESS_VALID,
        is_instance=_or_lfs_pointer(_msgpack_map),
    ),
    ModelFormat(
        name="tflite",
        suffixes=(".tflite",),
        holds_weights=_W,
        pickle=PickleUse.UNLESS_VALID,
        is_instance=_or_lfs_pointer(_tflite),
    ),
    ModelFormat(name="coreml", suffixes=(".mlmodel",), holds_weights=_W),
    ModelFormat(name="ggml", suffixes=(".ggml",), holds_weights=_W),
    ModelFormat(name="sentencepiece", suffixes=(".model",), pickle=PickleUse.PARSE),
    ModelFormat(name=None, suffixes=("", ".data"), pickle=PickleUse.PARSE),
    ModelFormat(name="python", suffixes=(".py",)),
    ModelFormat(name="json", suffixes=(".json",)),
    ModelFormat(name="markdown", suffixes=(".md",)),
    ModelFormat(name="text", suffixes=(".txt",)),
    ModelFormat(name="jinja", suffixes=(".jinja",)),
)

_BY_SUFFIX: Final[dict[str, ModelFormat]] = {
    suffix: row for row in MODEL_FORMATS for suffix in row.suffixes
}
#: What a file of an unlisted suffix is: no format recorded, walked if it starts like a pickle.
UNLISTED: Final = ModelFormat(name=None, suffixes=())

#: Suffixes of files that hold weights, for code that cannot import this table (env_probe.py).
WEIGHT_SUFFIXES: Final[tuple[str, ...]] = tuple(
    suffix for row in MODEL_FORMATS if row.holds_weights for suffix in row.suffixes
)


def suffixes_read(pickle: PickleUse) -> frozenset[str]:
    """The suffixes of every format whose files the load analysis reads as ``pickle`` says."""
    return frozenset(
        suffix for row in MODEL_FORMATS if row.pickle is pickle for suffix in row.suffixes
    )


def format_of(path: PurePath | str) -> ModelFormat:
    """The row for ``path``'s suffix (case-insensitive), or ``UNLISTED``."""
    suffix = (PurePath(path) if isinstance(path, str) else path).suffix.lower()
    return _BY_SUFFIX.get(suffix, UNLISTED)


#: Formats a loader opens whatever the file is called (llama.cpp reads any path as GGUF), by
#: the magic bytes their files start with.
_BY_MAGIC: Final[tuple[tuple[bytes, ModelFormat], ...]] = ((b"GGUF", _BY_SUFFIX[".gguf"]),)
#: Bytes of a file's start ``format_by_magic`` needs.
MAGIC_BYTES: Final = max(len(magic) for magic, _ in _BY_MAGIC)


def format_by_magic(prefix: bytes) -> ModelFormat | None:
    """The format a file starting with ``prefix`` is, whatever its name; None for others."""
    return next((row for magic, row in _BY_MAGIC if prefix.startswith(magic)), None)


def holds_weights(path: PurePath | str) -> bool:
    """Whether a file of this name holds model weights (or a pickled model)."""
    return format_of(path).holds_weights
