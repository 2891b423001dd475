"""Typed, capped reads of a JSON object's fields that record problems instead of raising.

The Hugging Face metadata readers (``hf_config``) use it: a field of the wrong type is converted
or dropped and described, so one bad field never loses the rest of the file.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from scanner.core.capped_io import read_json_capped
from scanner.core.errors import MalformedFileError

if TYPE_CHECKING:
    from pathlib import Path

#: Longest single string kept; longer ones are dropped, never truncated into a wrong id.
MAX_VALUE_CHARS = 1024
#: Most items kept from one list field (architectures, modules, ...).
MAX_LIST_ITEMS = 1024
#: Most entries kept from one map field (``auto_map``, ``custom_pipelines``, a diffusers
#: pipeline's components, ``__version__``, an index's ``metadata``).
MAX_MAP_ENTRIES = 256
#: Most problems listed per file; the rest are counted in one last entry.
MAX_PROBLEMS = 100


class Problems:
    """A capped list of problem descriptions."""

    def __init__(self) -> None:
        self._items: list[str] = []
        self._dropped = 0

    def add(self, problem: str) -> None:
        """Record one problem (counted, not kept, past ``MAX_PROBLEMS``)."""
        if len(self._items) < MAX_PROBLEMS:
            self._items.append(problem)
        else:
            self._dropped += 1

    def freeze(self) -> tuple[str, ...]:
        """The problems kept, and how many more there were."""
        more = (f"... and {self._dropped} more problems",) if self._dropped else ()
        return (*self._items, *more)


def a_kind(value: object) -> str:
    """``_kind`` with its article: "an array", "a number"."""
    kind = kind_of(value)
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def kind_of(value: object) -> str:
    """The JSON kind of ``value``: null, boolean, number, string, array, object."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


class Fields:
    """Reads typed fields of one JSON object; wrong types become problems."""

    def __init__(self, document: dict[str, object], problems: Problems, prefix: str = "") -> None:
        self.document = document
        self.problems = problems
        self.prefix = prefix

    def where(self, key: str) -> str:
        """The field's full name, e.g. ``text_config.model_type``."""
        return f"{self.prefix}{key}"

    def note(self, key: str, problem: str) -> None:
        """Record a problem with field ``key``."""
        self.problems.add(f"{self.where(key)}: {problem}")

    def as_text(self, key: str, value: object) -> str | None:
        """``value`` as a string; numbers and booleans are converted with a problem noted."""
        if isinstance(value, str):
            text = value.strip()
        elif isinstance(value, bool | int | float):
            text = json.dumps(value)
            self.note(key, f"{a_kind(value)} ({text[:40]}) where text was expected")
        else:
            if value is not None:
                self.note(key, f"{a_kind(value)} where text was expected; ignored")
            return None
        if len(text) > MAX_VALUE_CHARS:
            self.note(key, f"a {len(text)}-character value exceeds {MAX_VALUE_CHARS}; ignored")
            return None
        return text or None

    def text(self, *keys: str) -> str | None:
        """The first of ``keys`` present, as text."""
        for key in keys:
            if key in self.document:
                return self.as_text(key, self.document[key])
        return None

    def texts(self, key: str) -> tuple[str, ...]:
        """An array of texts (a single value is taken as one item), capped and de-duplicated."""
        value = self.document.get(key)
        if value is None:
            return ()
        if not isinstance(value, list):
            self.note(key, f"{a_kind(value)} where an array was expected")
            value = [value]
        if len(value) > MAX_LIST_ITEMS:
            self.note(key, f"{len(value)} items; only the first {MAX_LIST_ITEMS} are kept")
        kept = (self.as_text(key, item) for item in value[:MAX_LIST_ITEMS])
        return tuple(dict.fromkeys(item for item in kept if item is not None))

    def as_integer(self, key: str, value: object) -> int | None:
        """``value`` as an integer; an integral float is converted with a problem noted."""
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            self.note(key, f"the integer {value!r} is written as a float")
            return int(value)
        if value is not None:
            self.note(key, f"{a_kind(value)} where an integer was expected; ignored")
        return None

    def integer(self, key: str) -> int | None:
        """Field ``key`` as an integer."""
        return self.as_integer(key, self.document.get(key))

    def integers(self, key: str) -> tuple[int, ...]:
        """Field ``key`` as integers (a single value is taken as one item)."""
        value = self.document.get(key)
        items = value[:MAX_LIST_ITEMS] if isinstance(value, list) else [value]
        kept = (self.as_integer(key, item) for item in items)
        return tuple(item for item in kept if item is not None)

    def mapping(self, key: str) -> dict[str, object] | None:
        """Field ``key`` as a JSON object, or None."""
        value = self.document.get(key)
        if value is None or isinstance(value, dict):
            return value
        self.note(key, f"{a_kind(value)} where an object was expected; ignored")
        return None

    def sub(self, key: str, document: dict[str, object]) -> Fields:
        """Typed reads of the nested object ``document`` found at ``key``."""
        return Fields(document, self.problems, prefix=f"{self.where(key)}.")


def read_object(path: Path, what: str) -> Fields:
    """The JSON object in ``path`` (``what`` names it in the error), ready for typed reads.

    Raises:
        MalformedFileError: the file is not JSON, breaks a cap, or holds no object.
    """
    document = read_json_capped(path)
    if not isinstance(document, dict):
        raise MalformedFileError(f"{what} is a JSON {kind_of(document)}, not an object")
    return Fields(document, Problems())


def is_relative_path(value: str) -> bool:
    """A POSIX path inside the model folder: no root, drive, ``..``, ``.`` or empty parts."""
    if not value or "\\" in value or "\x00" in value or value.startswith("/"):
        return False
    return all(part not in {"", ".", ".."} for part in value.split("/")) and ":" not in value
