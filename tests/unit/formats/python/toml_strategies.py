"""Hypothesis strategies, a TOML serialiser and fuzz scaffolding for the dependency-file tests."""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING

from hypothesis import strategies as st

from scanner.core.errors import MalformedFileError
from scanner.formats.python.records import DependencyDocument

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

#: Short strings of any Unicode that UTF-8 can encode (no lone surrogates).
TEXT = st.text(max_size=12)


def nested_values(
    leaves: st.SearchStrategy[object], keys: st.SearchStrategy[str]
) -> st.SearchStrategy[object]:
    """``leaves`` and arrays / tables of them (tables keyed by ``keys``), 25 leaves at most."""
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(keys, children, max_size=5),
        ),
        max_leaves=25,
    )


def toml_values(keys: Sequence[str], samples: Sequence[str]) -> st.SearchStrategy[object]:
    """Values a lock might hold: text, ``samples``, small integers and booleans, nested in
    arrays and tables keyed mostly by ``keys`` (the field names the reader looks for)."""
    leaves = st.one_of(TEXT, st.sampled_from(samples), st.integers(-5, 5), st.booleans())
    return nested_values(leaves, st.one_of(st.sampled_from(keys), TEXT))


def fragment_texts(fragments: Sequence[str]) -> st.SearchStrategy[str]:
    """Text of up to 40 pieces, each one of ``fragments`` (the syntax a reader knows) or noise."""
    pieces = st.lists(st.one_of(st.sampled_from(fragments), st.text(max_size=8)), max_size=40)
    return pieces.map("".join)


def toml_value(value: object) -> str:
    """``value`` (bool, int, str, list, dict of those) as one TOML inline value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    assert isinstance(value, dict)
    pairs = (f"{toml_string(key)} = {toml_value(item)}" for key, item in value.items())
    return "{" + ", ".join(pairs) + "}"


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string: JSON's escapes are TOML's, but TOML also bars DEL."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def assert_reads_or_refuses(
    read: Callable[[Path, Path], DependencyDocument],
    directory: Path,
    name: str,
    content: str | bytes,
) -> None:
    """Write ``content`` (text as UTF-8) as ``directory / name`` and read it, ``directory`` the
    scanned folder: the reader gives a document or raises MalformedFileError, nothing else."""
    path = directory / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    with contextlib.suppress(MalformedFileError):
        assert isinstance(read(path, directory), DependencyDocument)
