"""The Hub repos sovscan's databases hold (published shapes, vocabularies, chat templates),
looked up by the words of a model's name, so that a name a converter wrote — GGUF's
``general.name``, or ``general.basename`` with its size label, fine-tune and version, as
llama.cpp's converter splits a repo's name — can be told to name one of them.

A name is a declaration, and a converter takes it from whatever folder it was given: a match
is a supporting signal only (see ``detected_lineage``).
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, Final

from scanner.core.detection import GGUF_NAME_HINT
from scanner.sources import architecture_families, chat_templates, tokenizer_families

if TYPE_CHECKING:
    from scanner.formats.model.gguf import GgufMetadata

#: The ``Evidence.method`` of a fact a GGUF's name supports; its ``field`` is
#: ``gguf-name:names:supporting``.
EVIDENCE_METHOD: Final = GGUF_NAME_HINT
_SEPARATORS: Final = re.compile(r"[\s_-]+")


def name_words(*parts: str | None) -> tuple[str, ...]:
    """The words of a name given in ``parts``, lower-cased and sorted (their order differs
    between a repo's name and a GGUF's fields: ``Mistral-7B-v0.1`` is basename, size, version)."""
    words = [w for part in parts if part for w in _SEPARATORS.split(part.lower()) if w]
    return tuple(sorted(words))


def gguf_names(meta: GgufMetadata) -> list[tuple[str, str, tuple[str, ...]]]:
    """``(field, value, words)`` of the names a GGUF header gives its model."""
    found = []
    if meta.name:
        found.append(("general.name", meta.name, name_words(meta.name)))
    if meta.basename:
        parts = (meta.basename, meta.size_label, meta.finetune, meta.version_label)
        value = " ".join(part for part in parts if part)
        found.append(("general.basename", value, name_words(*parts)))
    return found


def repos_named(words: tuple[str, ...]) -> tuple[str, ...]:
    """The repos whose name (without the namespace) has exactly ``words``."""
    return _by_words().get(words, ()) if len(words) > 1 else ()


@cache
def _by_words() -> dict[tuple[str, ...], tuple[str, ...]]:
    repos = [shape.repo for shape in architecture_families.load_shapes()]
    for family in tokenizer_families.load_families():
        repos += [family.repo, *family.also]
    for template in chat_templates.load_templates():
        repos += [repo for repo, _ in template.repos]
    table: dict[tuple[str, ...], list[str]] = {}
    for repo in dict.fromkeys(r for r in repos if "/" in r and not r.startswith("pkg:")):
        table.setdefault(name_words(repo.partition("/")[2]), []).append(repo)
    return {words: tuple(found) for words, found in table.items()}
