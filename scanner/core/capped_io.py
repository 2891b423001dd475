"""Size-, depth- and encoding-checked reading of the small text and JSON files in a model folder."""

from __future__ import annotations

import json
import math
import stat
import tomllib
from typing import TYPE_CHECKING, BinaryIO, NoReturn

from scanner.core.errors import MalformedFileError

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

#: Largest metadata JSON file read, in bytes. The biggest real ones are shard indexes
#: (DeepSeek-R1's is 8.9 MB) and tokenizer configs with long chat templates (well under 1 MB).
METADATA_JSON_MAX_BYTES = 16 * 1024 * 1024
#: Deepest nesting of arrays and objects accepted in metadata JSON; real configs nest < 10.
METADATA_JSON_MAX_DEPTH = 64

_UTF8_BOM = "\ufeff"


def read_bytes_capped(path: Path, *, max_bytes: int) -> bytes:
    """Return the whole content of the regular file at ``path``, refusing more than ``max_bytes``.

    Raises:
        MalformedFileError: the path is not a regular file (a FIFO would block) or holds more
            than ``max_bytes`` bytes.
        OSError: the file cannot be opened or read (left to the caller to report).
    """
    data = read_prefix(path, max_bytes=max_bytes + 1)
    if len(data) > max_bytes:
        size = max(len(data), path.stat().st_size)
        raise MalformedFileError(
            f"{size} bytes exceeds the {max_bytes}-byte limit for metadata files"
        )
    return data


def open_regular_file(path: Path) -> BinaryIO:
    """Open ``path`` for binary reading, refusing anything but a regular file.

    Raises:
        MalformedFileError: the path is a FIFO, socket or device (opening a FIFO planted in a
            scanned folder would block forever).
        OSError: the file cannot be opened (a directory raises IsADirectoryError).
    """
    mode = path.stat().st_mode
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):  # open() reports directories itself
        raise MalformedFileError("not a regular file")
    return path.open("rb")


def read_prefix(path: Path, *, max_bytes: int) -> bytes:
    """Return at most the first ``max_bytes`` bytes of the regular file at ``path``.

    Raises:
        MalformedFileError: the path is not a regular file.
        OSError: the file cannot be opened or read.
    """
    with open_regular_file(path) as stream:
        return stream.read(max_bytes)


def decode_utf8(data: bytes, *, base_offset: int = 0) -> str:
    """Decode ``data`` as strict UTF-8, dropping one leading byte-order mark.

    ``base_offset`` is added to the offset reported when ``data`` is a slice of a file.

    Raises:
        MalformedFileError: naming the byte offset of the first invalid sequence.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MalformedFileError(
            f"invalid UTF-8 at byte offset {base_offset + error.start}"
        ) from None
    return text.removeprefix(_UTF8_BOM)


def read_text_capped(path: Path, *, max_bytes: int) -> str:
    """Read the file at ``path`` as strict UTF-8 text of at most ``max_bytes`` bytes.

    A leading byte-order mark is dropped.

    Raises:
        MalformedFileError: the file is too large, not a regular file, or not valid UTF-8.
        OSError: the file cannot be opened or read.
    """
    return decode_utf8(read_bytes_capped(path, max_bytes=max_bytes))


def read_json_capped(
    path: Path,
    *,
    max_bytes: int = METADATA_JSON_MAX_BYTES,
    max_depth: int = METADATA_JSON_MAX_DEPTH,
) -> object:
    """Read the file at ``path`` as one strict JSON document.

    NaN, Infinity and numbers that overflow a 64-bit float are rejected (Python's json accepts
    them; other readers do not). Duplicate keys keep the last value, as every JSON reader the
    Hub ecosystem uses does.

    Raises:
        MalformedFileError: the file is too large, not UTF-8, not JSON, nested deeper than
            ``max_depth``, or holds a number Python refuses (over 4300 digits).
        OSError: the file cannot be opened or read.
    """
    return parse_json_text(read_text_capped(path, max_bytes=max_bytes), max_depth=max_depth)


def parse_json_text(text: str, *, max_depth: int = METADATA_JSON_MAX_DEPTH) -> object:
    """Parse ``text`` as strict JSON no deeper than ``max_depth`` (see ``read_json_capped``)."""
    try:
        document: object = json.loads(
            text, parse_constant=_reject_constant, parse_float=_finite_float
        )
    except json.JSONDecodeError as error:
        raise MalformedFileError(
            f"invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None
    except RecursionError:
        # The C decoder guards its own recursion; anything this deep is far past max_depth.
        raise MalformedFileError(f"JSON nesting exceeds the {max_depth}-level limit") from None
    except ValueError as error:  # int() digit limit
        raise MalformedFileError(f"invalid JSON number: {error}") from None
    depth = json_depth(document)
    if depth > max_depth:
        raise MalformedFileError(f"JSON nesting depth {depth} exceeds the {max_depth}-level limit")
    return document


#: Largest TOML file read (pyproject.toml, lockfiles), in bytes. The biggest real lockfiles are a
#: few MB (fickling's uv.lock is 384 KB; large monorepo locks reach 5 MB).
TOML_MAX_BYTES = 32 * 1024 * 1024


def read_toml_capped(
    path: Path, *, max_bytes: int = TOML_MAX_BYTES, max_depth: int = METADATA_JSON_MAX_DEPTH
) -> dict[str, object]:
    """Read the file at ``path`` as one TOML document (``tomllib``), no deeper than ``max_depth``.

    Raises:
        MalformedFileError: too large, not UTF-8, not TOML, or nested too deep.
        OSError: the file cannot be opened or read.
    """
    return parse_toml_text(read_text_capped(path, max_bytes=max_bytes), max_depth=max_depth)


def parse_toml_text(text: str, *, max_depth: int = METADATA_JSON_MAX_DEPTH) -> dict[str, object]:
    """Parse ``text`` as TOML no deeper than ``max_depth`` (see ``read_toml_capped``)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise MalformedFileError(f"invalid TOML: {error}") from None
    except RecursionError:
        # tomllib is recursive; anything this deep is far past max_depth.
        raise MalformedFileError(f"TOML nesting exceeds the {max_depth}-level limit") from None
    except ValueError as error:  # int() digit limit
        raise MalformedFileError(f"invalid TOML number: {error}") from None
    depth = json_depth(document)
    if depth > max_depth:
        raise MalformedFileError(f"TOML nesting depth {depth} exceeds the {max_depth}-level limit")
    return document


def json_depth(document: object) -> int:
    """Return the deepest nesting of lists and dicts in ``document`` (a scalar is 0).

    Iterative, so a deep document cannot exhaust the Python stack.
    """
    deepest = 0
    pending: list[tuple[object, int]] = [(document, 1)]
    while pending:
        node, depth = pending.pop()
        children: Iterable[object]
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def _reject_constant(name: str) -> NoReturn:
    raise MalformedFileError(f"{name} is not valid JSON")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise MalformedFileError(f"number {literal[:40]} does not fit a 64-bit float")
    return value
