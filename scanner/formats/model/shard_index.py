"""Read a sharded checkpoint's index (``*.safetensors.index.json``,
``pytorch_model.bin.index.json``): its total size, metadata and shard files, whose names are
untrusted paths."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from scanner.formats.model.json_fields import (
    MAX_MAP_ENTRIES,
    MAX_VALUE_CHARS,
    Fields,
    a_kind,
    is_relative_path,
    read_object,
)

if TYPE_CHECKING:
    from pathlib import Path

#: Most distinct shard files kept from a weight index (DeepSeek-R1 has 163).
MAX_SHARDS = 65_536


@dataclass(frozen=True, slots=True, kw_only=True)
class SafetensorsIndex:
    """A sharded checkpoint's ``*.safetensors.index.json`` (or ``pytorch_model.bin.index.json``)."""

    total_size: int | None = None
    metadata: tuple[tuple[str, str], ...] = ()
    """``metadata`` entries other than ``total_size``, as text, in file order."""
    shards: tuple[str, ...] = ()
    """Distinct shard files named by ``weight_map``, sorted; unsafe names are dropped."""
    tensor_count: int = 0
    """Entries in ``weight_map``."""
    problems: tuple[str, ...] = ()


def read_safetensors_index(path: Path) -> SafetensorsIndex:
    """Read a sharded checkpoint index (``*.safetensors.index.json`` or ``*.bin.index.json``).

    Shard names are untrusted paths: absolute names, ``..``, backslashes and empty segments are
    reported and dropped.

    Raises:
        MalformedFileError: not a capped, strict JSON object.
        OSError: the file cannot be opened or read.
    """
    fields = read_object(path, "index")
    metadata = fields.mapping("metadata") or {}
    meta_fields = fields.sub("metadata", metadata)
    total_size = meta_fields.integer("total_size")
    if total_size is not None and total_size < 0:
        meta_fields.note("total_size", "negative; ignored")
        total_size = None
    pairs = (
        (key, meta_fields.as_text(key, value))
        for key, value in list(metadata.items())[:MAX_MAP_ENTRIES]
        if key != "total_size"
    )
    weight_map = fields.mapping("weight_map")
    if weight_map is None:
        fields.note("weight_map", "missing")
    shards, tensor_count = _shards(fields.sub("weight_map", weight_map or {}))
    return SafetensorsIndex(
        total_size=total_size,
        metadata=tuple((key, text) for key, text in pairs if text is not None),
        shards=shards,
        tensor_count=tensor_count,
        problems=fields.problems.freeze(),
    )


def _shards(fields: Fields) -> tuple[tuple[str, ...], int]:
    names: set[str] = set()
    rejected: set[str] = set()
    for tensor, shard in fields.document.items():
        if not isinstance(shard, str):
            fields.note(tensor, f"{a_kind(shard)} where a shard file name was expected")
        elif shard in names or shard in rejected:
            continue
        elif not is_relative_path(shard) or len(shard) > MAX_VALUE_CHARS:
            rejected.add(shard)
            fields.note(tensor, f"shard {shard[:80]!r} is not a relative path inside the model")
        elif len(names) >= MAX_SHARDS:
            fields.note(tensor, f"more than {MAX_SHARDS} shards; the rest are ignored")
            break
        else:
            names.add(shard)
    return tuple(sorted(names)), len(fields.document)
