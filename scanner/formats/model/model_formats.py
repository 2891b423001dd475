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
from pathlib import PurePath
from typing import BinaryIO, Final

from scanner.formats.model.gguf import read_gguf_stream
from scanner.formats.model.onnx import read_onnx_stream
from scanner.formats.model.safetensors import read_safetensors_stream


class PickleUse(Enum):
    """Whether a loader may unpickle a file of the format, and so how the load analysis reads it."""

    ALWAYS = "always"
    """A pickle by definition (``pickle.load``, ``joblib.load``): walked whatever its start."""
    PARSE = "parse"
    """A loader may unpickle it (``torch.load``, ``numpy.load(allow_pickle=True)``): parsed as a
    pickle whatever its first opcode, and left alone only when it is no pickle at all."""
    IF_IT_STARTS_LIKE_ONE = "if-it-starts-like-one"
    """No loader unpickles it by name: walked when its first bytes start a pickle."""
    NEVER = "never"
    """Its own format, whose first bytes may look like a pickle by chance (a safetensors header
    length of 0x0280 starts ``80 02``): never walked as a pickle."""


#: Reads a header from a seekable binary stream holding the file from its first byte, given the
#: file's size; raises MalformedFileError on malformed content.
HeaderReader = Callable[[BinaryIO, int], object]


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelFormat:
    """One file format found in model folders."""

    name: str | None
    """The ``sovscan:file:format`` value, or None when the suffix says nothing reliable."""
    suffixes: tuple[str, ...]
    """Lower-case suffixes, with the dot; ``""`` stands for a file without one."""
    holds_weights: bool = False
    pickle: PickleUse = PickleUse.IF_IT_STARTS_LIKE_ONE
    loading_may_run_code: bool = False
    """Whether the usual loader of the format may run code (a pickle inside, a Keras Lambda):
    such files are analysed even in Hub repos, by ranged reads."""
    header_field: str | None = None
    """The ``FolderFacts`` field that collects the header reader's results."""
    read_header: HeaderReader | None = None


_W = True  # holds weights

#: Every format, one row each. Suffixes are unique across rows (tested).
MODEL_FORMATS: Final[tuple[ModelFormat, ...]] = (
    ModelFormat(
        name="safetensors",
        suffixes=(".safetensors",),
        holds_weights=_W,
        pickle=PickleUse.NEVER,
        header_field="safetensors",
        read_header=lambda stream, size: read_safetensors_stream(stream, size),
    ),
    ModelFormat(
        name="gguf",
        suffixes=(".gguf",),
        holds_weights=_W,
        pickle=PickleUse.NEVER,
        header_field="gguf",
        read_header=lambda stream, size: read_gguf_stream(stream, size),
    ),
    ModelFormat(
        name="onnx",
        suffixes=(".onnx",),
        holds_weights=_W,
        pickle=PickleUse.NEVER,
        header_field="onnx",
        read_header=lambda stream, size: read_onnx_stream(stream, size),
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
        name="hdf5", suffixes=(".h5", ".hdf5"), holds_weights=_W, loading_may_run_code=True
    ),
    ModelFormat(name="keras", suffixes=(".keras",), holds_weights=_W, loading_may_run_code=True),
    ModelFormat(
        name="flax-msgpack", suffixes=(".msgpack",), holds_weights=_W, pickle=PickleUse.NEVER
    ),
    ModelFormat(name="tflite", suffixes=(".tflite",), holds_weights=_W, pickle=PickleUse.NEVER),
    ModelFormat(name="coreml", suffixes=(".mlmodel",), holds_weights=_W),
    ModelFormat(name="ggml", suffixes=(".ggml",), holds_weights=_W),
    ModelFormat(name="sentencepiece", suffixes=(".model",), pickle=PickleUse.PARSE),
    ModelFormat(name=None, suffixes=("", ".data"), pickle=PickleUse.PARSE),
    ModelFormat(name="python", suffixes=(".py",)),
    ModelFormat(name="json", suffixes=(".json",), pickle=PickleUse.NEVER),
    ModelFormat(name="markdown", suffixes=(".md",), pickle=PickleUse.NEVER),
    ModelFormat(name="text", suffixes=(".txt",), pickle=PickleUse.NEVER),
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


def holds_weights(path: PurePath | str) -> bool:
    """Whether a file of this name holds model weights (or a pickled model)."""
    return format_of(path).holds_weights
