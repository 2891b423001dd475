"""Legacy Keras HDF5 files: the model config in the root group's attributes, analysed as a
``.keras`` file's ``config.json`` is.

``model.save("model.h5")`` writes the root attributes ``model_config`` (the model as JSON),
``keras_version`` and ``backend``; ``load_model`` rebuilds every layer that config names,
Lambda layers included, and ignores ``safe_mode`` on this path (CVE-2025-9905; Keras
keras/src/legacy/saving/legacy_h5_format.py, ``load_model_from_hdf5``). Only those root
attributes are read, through h5py (a parser: nothing in the file is executed); an HDF5 file
without ``model_config`` holds weights only, and loading it rebuilds no layer.
"""

from __future__ import annotations

import importlib.util
import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from scanner.analysis.builder import AnalysisBuilder, display_text
from scanner.analysis.h5_child import root_attributes_in_child
from scanner.analysis.keras_archive import MAX_CONFIG_BYTES, MAX_CONFIG_DEPTH, report_keras_config
from scanner.analysis.magic import HDF5_MAGIC as HDF5_MAGIC
from scanner.core.capped_io import decode_utf8, parse_json_text
from scanner.core.errors import MalformedFileError

if TYPE_CHECKING:
    from typing import BinaryIO

    from scanner.analysis.load_risk import FileAnalysis

HDF5_SUFFIXES: Final = frozenset({".h5", ".hdf5"})
CONFIG_ATTRIBUTE = "model_config"
#: Root attributes shown when present (what wrote the file).
_VERSION_ATTRIBUTES = ("keras_version", "backend")
#: Longest version attribute read, in bytes.
_MAX_VERSION_BYTES = 256
#: Errors h5py raises on a file it cannot parse.
_H5_ERRORS = (OSError, ValueError, KeyError, RuntimeError, TypeError)


def analyze_keras_h5(stream: BinaryIO, name: str) -> FileAnalysis | None:
    """Analyse an HDF5 file (``stream``, read from its start; ``name``, its path) as Keras'
    legacy loader reads it; None when it holds no model config (weights only).

    An HDF5 file that cannot be parsed, or h5py missing, leaves what it loads unknown: it is
    unreadable, never clean.

    Raises:
        OSError: the stream cannot be read.
    """
    builder = AnalysisBuilder()
    if importlib.util.find_spec("h5py") is None:
        builder.unreadable(
            "HDF5 file: h5py is not installed, so a Keras model config in it is not analysed"
        )
        return builder.build("hdf5")
    try:
        found = _root_attributes(stream)
    except MalformedFileError as error:
        builder.unreadable(f"HDF5 {error.problem}", member=CONFIG_ATTRIBUTE)
        return builder.build("keras-h5")
    except _H5_ERRORS as error:
        builder.unreadable(f"HDF5 file cannot be read: {display_text(str(error))}")
        return builder.build("hdf5")
    if found is None:
        return None
    config, versions = found
    if versions:
        builder.problem(
            f"legacy Keras HDF5 model ({', '.join(versions)}): safe_mode does not apply"
        )
    try:
        report_keras_config(parse_json_text(config, max_depth=MAX_CONFIG_DEPTH), builder)
    except MalformedFileError as error:
        builder.unreadable(f"HDF5 {CONFIG_ATTRIBUTE}: {error.problem}", member=CONFIG_ATTRIBUTE)
    return builder.build("keras-h5")


def _root_attributes(stream: BinaryIO) -> tuple[str, list[str]] | None:
    """(model_config, the version lines) of the file, or None when it has no model config,
    read by h5py in a child process stopped after ``h5_child.PARSE_TIMEOUT_S`` (libhdf5 can
    loop forever on a crafted file): it opens a file on disk itself, and is served any other
    stream (a ranged Hub file) read by read.

    Raises:
        MalformedFileError: an attribute is not what Keras writes, or the parse timed out.
        RuntimeError: h5py cannot parse the file.
        OSError: the stream cannot be read.
    """
    return root_attributes_in_child(stream, _path_of(stream), MAX_CONFIG_BYTES)


def read_root_attributes(
    attributes: Any, max_config_bytes: int | None = None
) -> tuple[str, list[str]] | None:
    """(model_config, the version lines) from an open file's root attributes, or None;
    ``max_config_bytes`` defaults to ``MAX_CONFIG_BYTES``."""
    if CONFIG_ATTRIBUTE not in attributes:
        return None
    limit = MAX_CONFIG_BYTES if max_config_bytes is None else max_config_bytes
    config = _text_attribute(attributes, CONFIG_ATTRIBUTE, limit)
    versions = [
        f"{key} {display_text(_text_attribute(attributes, key, _MAX_VERSION_BYTES))}"
        for key in _VERSION_ATTRIBUTES
        if key in attributes
    ]
    return config, versions


def _path_of(stream: BinaryIO) -> str | None:
    """The path of the regular file ``stream`` reads, when it reads one (checked by stat)."""
    name = getattr(stream, "name", None)
    if not isinstance(name, str):
        return None
    try:
        same = os.path.samestat(os.fstat(stream.fileno()), Path(name).stat())
    except (OSError, ValueError, io.UnsupportedOperation):
        return None
    return name if same else None


def _text_attribute(attributes: object, key: str, max_bytes: int) -> str:
    """A scalar string attribute as Keras reads it (``decode`` when it is bytes), capped.

    Raises:
        MalformedFileError: not a scalar string, over ``max_bytes``, or not UTF-8.
    """
    # A fixed-length string (how Keras writes model_config) is sized before it is read; a
    # variable-length one stores pointers here, and is bounded by the file's own size.
    stored = attributes.get_id(key).get_storage_size()  # type: ignore[attr-defined]
    if stored > max_bytes:
        raise MalformedFileError(
            f"attribute {key} of {stored} bytes exceeds the {max_bytes}-byte limit"
        )
    value = attributes[key]  # type: ignore[index]
    shape = getattr(value, "shape", ())
    if shape not in ((), None):
        raise MalformedFileError(f"attribute {key} is an array of shape {shape}, not a string")
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, str):
        value = value.encode("utf-8", errors="surrogatepass")
    if not isinstance(value, bytes):
        raise MalformedFileError(f"attribute {key} is a {type(value).__name__}, not a string")
    if len(value) > max_bytes:
        raise MalformedFileError(
            f"attribute {key} of {len(value)} bytes exceeds the {max_bytes}-byte limit"
        )
    return decode_utf8(value)
