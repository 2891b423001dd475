"""The serial number of a BOM: a uuid5 of a digest of the scan result and the options that
shape the document, so that the JSON and XML of one scan share it and a rescan gives it again."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import fields, is_dataclass
from datetime import datetime
from typing import Any, Final

from scanner.core.model import ScanResult


def serial_number(
    result: ScanResult,
    *,
    spec_version: str,
    tool_version: str,
    timestamp: datetime | None,
    made_by: Sequence[str] = (),
) -> uuid.UUID:
    """uuid5 of a canonical digest of the result and the options that shape the document.

    Derived from the data, not the text, so the JSON and XML of one scan share a serial; the
    targets as typed (``roots``) are left out, so that how a folder was named does not count.
    """
    digest = _result_digest(result)
    digest.update(
        json.dumps(
            {
                "spec_version": spec_version,
                "timestamp": timestamp.isoformat() if timestamp else None,
                "tool_version": tool_version,
                **({"made_by": list(made_by)} if made_by else {}),
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode()
    )
    return uuid.uuid5(uuid.NAMESPACE_URL, f"sovscan:{digest.hexdigest()}")


def _result_digest(result: ScanResult) -> hashlib._Hash:
    """SHA-256 over the result's canonical JSON, streamed: each field's name, then each item of
    a tuple field (or the field's value) as ``json.dumps(..., sort_keys=True)`` on a line of its
    own (JSON text holds no raw newline or NUL, so the stream reads one way only). Never the
    whole result as one text: 100,000 components would hold ~200 MB. The last result's digest
    is kept (the JSON and XML of one scan share it)."""
    for seen, digest in _LAST_DIGEST:
        if seen is result:
            return digest.copy()
    digest = hashlib.sha256(b"sovscan-result-v2\0")
    for field in fields(result):
        if field.name == "roots":
            continue
        value = getattr(result, field.name)
        digest.update(field.name.encode() + b"\0")
        for item in value if isinstance(value, tuple) else (value,):
            digest.update(_canonical(item).encode() + b"\n")
    _LAST_DIGEST[:] = [(result, digest)]
    return digest.copy()


def _canonical(value: object) -> str:
    return _ENCODER.encode(value)


#: The last result digested, with its digest (held, so that ``is`` cannot match a new object).
_LAST_DIGEST: list[tuple[ScanResult, hashlib._Hash]] = []


def _dataclass_fields(value: object) -> dict[str, Any]:
    kind = type(value)
    names = _FIELD_NAMES.get(kind)
    if names is None:
        if not is_dataclass(value) or isinstance(value, type):
            raise TypeError(f"{kind.__name__} is not part of a scan result")
        names = _FIELD_NAMES[kind] = tuple(f.name for f in fields(value))
    return {name: getattr(value, name) for name in names}


#: One encoder for every item (``json.dumps`` with options builds one per call).
_ENCODER: Final = json.JSONEncoder(default=_dataclass_fields, sort_keys=True, separators=(",", ":"))
#: Field names by dataclass (``fields()`` per object cost a quarter of the serial's time).
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
