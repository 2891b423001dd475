"""Read the YAML front matter of a model card (README.md): licence, lineage, datasets, tags."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scanner.core.capped_io import decode_utf8, read_prefix
from scanner.core.errors import MalformedFileError

if TYPE_CHECKING:
    from pathlib import Path

#: Bytes read from the start of a card; the front matter must close within them. The
#: markdown body after it is never read (real cards with long eval tables reach ~1 MB).
MODEL_CARD_READ_LIMIT = 2 * 1024 * 1024
#: Largest YAML block handed to the YAML parser. The biggest real ones (MTEB ``model-index``
#: tables) are a few hundred KB; pure-Python ``safe_load`` takes about 3 s at this size.
FRONT_MATTER_MAX_BYTES = 512 * 1024
#: Most values kept from one list field (tags, datasets, ...).
MAX_LIST_ITEMS = 1024
#: Longest single value kept; longer ones are dropped, never truncated into a wrong id.
MAX_VALUE_CHARS = 1024
#: Most problems listed per card; the rest are counted in one last entry.
MAX_PROBLEMS = 100

_UTF8_BOM = b"\xef\xbb\xbf"
_DELIMITER = re.compile(rb"^---[ \t]*\r?$", re.MULTILINE)
# A top-level key at column 0: bare, "double-quoted" or 'single-quoted', then a colon.
_TOP_LEVEL_KEY = re.compile(
    r"""^(?:"(?P<dq>[^"\\]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s#'"?:\-][^:#]*?))[ \t]*:(?:[ \t]|$)"""
)
# YAML 1.1 reads a bare `no` (Norwegian) as False; a language list is where that happens.
_YAML11_FALSE_LANGUAGE = "no"


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelCardMetadata:
    """What a model card's front matter declares; every field is optional."""

    has_front_matter: bool = False
    """Whether the card opens with a ``---`` YAML block at all."""
    license: str | None = None
    """Hub licence id (``apache-2.0``, ``other``, ...), not necessarily an SPDX id."""
    license_name: str | None = None
    """Name of a custom licence when ``license`` is ``other``."""
    license_link: str | None = None
    """URL of the licence, or a path to a file in the repo (``LICENSE``)."""
    base_models: tuple[str, ...] = ()
    """``base_model``: one id, or several for a merge. Raw hints: see ``parse_hub_id``."""
    base_model_relation: str | None = None
    """adapter | merge | quantized | finetune, when declared."""
    datasets: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    library_name: str | None = None
    pipeline_tag: str | None = None
    tags: tuple[str, ...] = ()
    new_version: str | None = None
    """Repo id of a newer model that supersedes this one."""
    model_name: str | None = None
    field_lines: tuple[tuple[str, int], ...] = ()
    """1-based README.md line of each top-level key, in file order."""
    problems: tuple[str, ...] = ()
    """Values of the wrong type or size that were converted or dropped, for the caller to
    report."""


def read_model_card(path: Path) -> ModelCardMetadata:
    """Read the YAML front matter of the model card at ``path``.

    Only the block between a first line ``---`` and the next ``---`` line is read, with
    ``yaml.safe_load``; a byte-order mark and CRLF line ends are tolerated. A card without
    front matter gives an empty result, not an error. Values of the wrong type are converted
    or dropped and listed in ``problems``.

    Raises:
        MalformedFileError: the front matter is never closed, too large, not UTF-8, not YAML,
            or not a mapping.
        OSError: the file cannot be opened or read.
    """
    data = read_prefix(path, max_bytes=MODEL_CARD_READ_LIMIT)
    bom_length = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
    if bom_length:
        data = data[bom_length:]  # sliced, not skipped: "^" only matches at a real line start
    opening = _DELIMITER.match(data)
    if opening is None:
        return ModelCardMetadata()
    body_start = opening.end() + 1
    closing = _DELIMITER.search(data, body_start)
    if closing is None:
        if len(data) + bom_length >= MODEL_CARD_READ_LIMIT:
            raise MalformedFileError(
                f"front matter is not closed within the first {MODEL_CARD_READ_LIMIT} bytes"
            )
        raise MalformedFileError("front matter opened on line 1 is never closed by '---'")
    block = data[body_start : closing.start()]
    if len(block) > FRONT_MATTER_MAX_BYTES:
        raise MalformedFileError(
            f"front matter is {len(block)} bytes, over the {FRONT_MATTER_MAX_BYTES}-byte limit"
        )
    text = decode_utf8(block, base_offset=bom_length + body_start)
    document = _load_yaml(text)
    if document is None:
        return ModelCardMetadata(has_front_matter=True)
    if not isinstance(document, dict):
        raise MalformedFileError(
            f"front matter is a YAML {_kind(document)}, not a mapping of fields"
        )
    return _interpret(document, text)


def _load_yaml(text: str) -> object:
    import yaml  # loaded only for a card with front matter

    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f" at line {mark.line + 2}" if mark is not None else ""
        raise MalformedFileError(f"invalid YAML front matter{where}: {error.problem}") from None
    except yaml.YAMLError as error:
        raise MalformedFileError(f"invalid YAML front matter: {error}") from None
    except RecursionError:
        raise MalformedFileError("YAML front matter is nested too deeply") from None
    except (ValueError, OverflowError) as error:
        # Constructors raise these for values the grammar accepts: 2023-13-45 as a date, an
        # integer over Python's 4300-digit limit.
        raise MalformedFileError(f"invalid value in YAML front matter: {error}") from None


def _interpret(document: dict[object, object], text: str) -> ModelCardMetadata:
    fields = _CardFields(document)
    return ModelCardMetadata(
        has_front_matter=True,
        license=fields.text("license"),
        license_name=fields.text("license_name"),
        license_link=fields.text("license_link"),
        base_models=fields.texts("base_model"),
        base_model_relation=fields.text("base_model_relation"),
        datasets=fields.texts("datasets"),
        languages=fields.texts("language", false_means=_YAML11_FALSE_LANGUAGE),
        library_name=fields.text("library_name"),
        pipeline_tag=fields.text("pipeline_tag"),
        tags=fields.texts("tags"),
        new_version=fields.text("new_version"),
        model_name=fields.text("model_name"),
        field_lines=_field_lines(text, document),
        problems=_capped(fields.problems),
    )


def _capped(problems: list[str]) -> tuple[str, ...]:
    if len(problems) <= MAX_PROBLEMS:
        return tuple(problems)
    return (*problems[:MAX_PROBLEMS], f"... and {len(problems) - MAX_PROBLEMS} more problems")


def _field_lines(text: str, document: dict[object, object]) -> tuple[tuple[str, int], ...]:
    lines: dict[str, int] = {}
    # split("\n"), not splitlines(): editors and SARIF viewers count only newlines.
    for index, line in enumerate(text.split("\n")):
        match = _TOP_LEVEL_KEY.match(line.removesuffix("\r"))
        if match is None:
            continue
        key = match["dq"] if match["dq"] is not None else match["sq"] or match["bare"]
        if key in document and key not in lines:
            # +2: the block starts on README line 2, after the opening "---".
            lines[key] = index + 2
    return tuple(lines.items())


def _kind(value: object) -> str:
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list):
        return "list"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, datetime.date):
        return "date"
    return type(value).__name__


class _CardFields:
    """Typed access to front-matter fields that records, rather than raises, type problems."""

    def __init__(self, document: dict[object, object]) -> None:
        self._document = document
        self.problems: list[str] = []

    def _scalar(self, key: str, value: object, false_means: str | None) -> str | None:
        """Return ``value`` as text, or None (recording why) when it is not a usable scalar."""
        if isinstance(value, str):
            text = value.strip()
        elif isinstance(value, bool):
            text = false_means if (false_means and not value) else str(value).lower()
            self.problems.append(f"{key}: YAML read {value!r} as a boolean; kept as {text!r}")
        elif isinstance(value, int | float | datetime.date):
            text = value.isoformat() if isinstance(value, datetime.date) else str(value)
            self.problems.append(f"{key}: {_kind(value)} {text!r} kept as text")
        else:
            self.problems.append(f"{key}: a {_kind(value)} is not a single value; ignored")
            return None
        if len(text) > MAX_VALUE_CHARS:
            self.problems.append(
                f"{key}: a {len(text)}-character value exceeds {MAX_VALUE_CHARS}; ignored"
            )
            return None
        return text or None

    def text(self, key: str) -> str | None:
        """A single-valued field; a one-item list is accepted and noted."""
        value = self._document.get(key)
        if value is None:
            return None
        if isinstance(value, list) and len(value) == 1:
            self.problems.append(f"{key}: a list of one value where one value was expected")
            value = value[0]
        return self._scalar(key, value, None)

    def texts(self, key: str, *, false_means: str | None = None) -> tuple[str, ...]:
        """A field that is one value or a list of them."""
        value = self._document.get(key)
        if value is None:
            return ()
        items = value if isinstance(value, list) else [value]
        if len(items) > MAX_LIST_ITEMS:
            self.problems.append(
                f"{key}: {len(items)} values; only the first {MAX_LIST_ITEMS} are kept"
            )
            items = items[:MAX_LIST_ITEMS]
        kept: dict[str, None] = {}
        for item in items:
            if item is None:
                continue
            text = self._scalar(key, item, false_means)
            if text is not None:
                kept.setdefault(text)
        return tuple(kept)
