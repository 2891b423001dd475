"""A chat template's print: its text with whitespace and Jinja's whitespace control taken out,
hashed whole (the signature: a copy re-indented, or re-saved from ``tokenizer_config.json`` into
``chat_template.jinja``, reads the same) and sketched (the smallest hashes of its 12-character
windows, so that a revised copy can be told from an unrelated template). Templates are read as
text, never rendered."""

from __future__ import annotations

import hashlib
import heapq
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from scanner.core.capped_io import read_json_capped, read_text_capped
from scanner.core.errors import MalformedFileError

if TYPE_CHECKING:
    from pathlib import Path

#: Largest template file read (transformers' largest published templates are ~40 KB).
MAX_TEMPLATE_FILE_BYTES: Final = 4 * 1024 * 1024
#: Characters of a normalised template sketched (the signature covers it all).
MAX_SKETCHED_CHARACTERS: Final = 256 * 1024
#: Most named templates taken from one ``chat_template`` list.
MAX_NAMED_TEMPLATES: Final = 64
#: Hashes kept in a sketch, and the characters of each window hashed.
SKETCH_SIZE: Final = 128
WINDOW: Final = 12
#: The template given no name (a plain ``chat_template`` string or ``chat_template.jinja``).
DEFAULT_NAME: Final = "default"
_NOISE: Final = re.compile(r"\s+|(?<=\{[%{#])-|-(?=[%}#]\})")


@dataclass(frozen=True, slots=True)
class TemplatePrint:
    """What identifies a template's text."""

    signature: str
    """SHA-256 of the normalised text."""
    sketch: tuple[int, ...]
    """The ``SKETCH_SIZE`` smallest 64-bit hashes of its windows, ascending."""


def template_print(text: str) -> TemplatePrint:
    """The print of a template's text."""
    normal = _NOISE.sub("", text)
    signature = hashlib.sha256(normal.encode("utf-8", "surrogatepass")).hexdigest()
    sketched = normal[:MAX_SKETCHED_CHARACTERS]
    windows = {sketched[i : i + WINDOW] for i in range(max(1, len(sketched) - WINDOW + 1))}
    return TemplatePrint(signature, tuple(heapq.nsmallest(SKETCH_SIZE, map(_hash, windows))))


def similarity(first: tuple[int, ...], second: tuple[int, ...]) -> float:
    """The share of windows two templates have in common (Jaccard), estimated from their
    sketches: of the smallest hashes of both together, those each sketch holds."""
    union = heapq.nsmallest(min(len(first), len(second)) or 1, set(first) | set(second))
    both = set(first) & set(second)
    return sum(1 for value in union if value in both) / len(union)


def named_prints(value: object) -> tuple[tuple[str, TemplatePrint], ...]:
    """``(name, print)`` of each template of a ``chat_template`` value: a string (named
    ``default``) or a list of ``{"name": …, "template": …}``; anything else gives none."""
    if isinstance(value, str):
        return ((DEFAULT_NAME, template_print(value)),) if value.strip() else ()
    if not isinstance(value, list):
        return ()
    found: list[tuple[str, TemplatePrint]] = []
    for entry in value[:MAX_NAMED_TEMPLATES]:
        if not isinstance(entry, dict) or not isinstance(entry.get("template"), str):
            continue
        name = entry.get("name")
        found.append(
            (name if isinstance(name, str) else DEFAULT_NAME, template_print(entry["template"]))
        )
    return tuple(found)


def read_template_prints(path: Path) -> tuple[tuple[str, TemplatePrint], ...]:
    """The prints of a template file: a ``*.jinja`` file (named after its stem, or
    ``default`` for ``chat_template.jinja``) or a JSON file's ``chat_template`` value.

    Raises:
        MalformedFileError: the file is over the cap, not UTF-8, or not a JSON object.
        OSError: the file cannot be opened or read.
    """
    if path.suffix.lower() == ".jinja":
        text = read_text_capped(path, max_bytes=MAX_TEMPLATE_FILE_BYTES)
        name = DEFAULT_NAME if path.stem == "chat_template" else path.stem
        return ((name, template_print(text)),) if text.strip() else ()
    document = read_json_capped(path, max_bytes=MAX_TEMPLATE_FILE_BYTES)
    if not isinstance(document, dict):
        raise MalformedFileError("not a JSON object")
    return named_prints(document.get("chat_template"))


def _hash(window: str) -> int:
    digest = hashlib.blake2b(window.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big")
