"""Data files shipped with sovscan (YAML), parsed once per version and kept as JSON.

libyaml parses the 200 KB knowledge base in ~60 ms, pure-Python YAML the policy tables in
~20 ms, and importing PyYAML costs ~20 ms more, on every run; the same data as JSON
loads in ~1 ms. Once ``keep_parsed_in`` names a folder (the CLI: the cache folder), a JSON copy
of each file is kept in its ``data`` subfolder, keyed by the YAML text's digest, so an edited or
upgraded file is parsed again. Dates are written as ``{"$date": "2021-01-19"}``; a copy is kept
only when it reads back equal to what YAML gave (JSON has no non-string keys), and read back
only from a private file of this user's.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from importlib import resources
from pathlib import Path

from scanner.core.private_cache import read_private, write_private

_cache_dir: list[Path | None] = [None]


def keep_parsed_in(cache_dir: Path | None) -> None:
    """Keep the parsed data files in ``cache_dir/data`` from now on (None: parse every time)."""
    _cache_dir[0] = cache_dir


def read_shipped_yaml(package: str, resource: str) -> object:
    """The plain data of the YAML file ``resource`` of ``package`` (shipped, never a user's).

    Raises ValueError when the text is not YAML; OSError when the file cannot be read.
    """
    text = resources.files(package).joinpath(resource).read_text(encoding="utf-8")
    return parse_shipped_yaml(text, name=resource.replace("/", "-").removesuffix(".yaml"))


def parse_shipped_yaml(text: str, *, name: str) -> object:
    """The plain data of ``text``, a shipped YAML file called ``name`` (see the module doc)."""
    cache_dir = _cache_dir[0]
    path = None
    if cache_dir is not None:
        key = hashlib.sha256(text.encode()).hexdigest()[:24]
        path = cache_dir / "data" / f"{name}-{key}.json"
        raw = read_private(path)
        if raw is not None:
            try:
                return json.loads(raw, object_hook=_decode_dates)
            except ValueError:
                pass  # damaged: parse the YAML and replace it
    import yaml

    # libyaml's safe loader builds the same plain objects as yaml.safe_load (no tags, no code).
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(text, Loader=loader)  # noqa: S506  (a safe loader, on our own data)
    except yaml.YAMLError as exc:
        raise ValueError(f"{name}: not valid YAML: {exc}") from exc
    if path is not None:
        try:
            encoded = json.dumps(data, ensure_ascii=False, default=_encode_date).encode()
        except (TypeError, ValueError):
            return data
        if json.loads(encoded, object_hook=_decode_dates) == data:
            write_private(path, encoded)
    return data


def _encode_date(value: object) -> object:
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return {"$date": value.isoformat()}
    raise TypeError(f"{type(value).__name__} is not kept as JSON")


def _decode_dates(mapping: dict[str, object]) -> object:
    if len(mapping) == 1 and isinstance(mapping.get("$date"), str):
        return datetime.date.fromisoformat(str(mapping["$date"]))
    return mapping
