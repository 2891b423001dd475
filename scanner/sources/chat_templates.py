"""Which published chat template a model's template is, or is a revision of: its print matched
against a database of templates copied from Hub repos (``sources/data/chat_templates.json``,
each with its repos and source).

A template is text anyone can copy onto any model (ChatML is everywhere), so a match is a
supporting signal only: it joins the evidence of an ancestor that the shape or the vocabulary
found from the same publisher, and is shown on the tokenizer; it never makes an ancestor, or a
verdict, on its own.
"""

from __future__ import annotations

import base64
import json
import struct
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Final

from scanner.core.detection import CHAT_TEMPLATE_FINGERPRINT
from scanner.formats.model.chat_template_text import TemplatePrint, similarity

#: The ``Evidence.method`` of a fact a chat template supports; its ``field`` is
#: ``chat-template:<relation>:supporting``.
EVIDENCE_METHOD: Final = CHAT_TEMPLATE_FINGERPRINT
#: Least estimated share of common windows for a revision of a published template. The
#: corpus's copies of Qwen3's and YandexGPT-5's templates, revised, measure 0.98-0.99; two
#: templates of different publishers in the database at most 0.45, and one publisher's
#: successive templates 0.41-0.87 (tests/unit/sources/test_chat_templates.py).
NEAR: Final = 0.9
_DATA: Final = "chat_templates.json"
_HASH: Final = struct.Struct(">Q")


@dataclass(frozen=True, slots=True, kw_only=True)
class PublishedTemplate:
    """One template of the database, with every repo that publishes it."""

    signature: str
    sketch: tuple[int, ...]
    repos: tuple[tuple[str, str], ...]
    """``(repo, variant)``: the Hub repos (``ORG/NAME``) and the template's name in each."""
    source: tuple[str, ...]
    as_of: str

    @property
    def publishers(self) -> tuple[str, ...]:
        """The Hub namespaces that publish it, in order."""
        return tuple(dict.fromkeys(repo.partition("/")[0] for repo, _ in self.repos))


@dataclass(frozen=True, slots=True, kw_only=True)
class TemplateMatch:
    """The published template a template is (``identical``) or revises (``near``)."""

    template: PublishedTemplate
    relation: str
    similarity: float

    def describe(self) -> str:
        """One sentence: which repo's template, how close, and the source."""
        repos = ", ".join(repo for repo, _ in self.template.repos)
        how = (
            "identical to"
            if self.relation == "identical"
            else f"a revision ({self.similarity:.0%} of its text in common) of"
        )
        return f"its chat template is {how} {repos}'s (read from {self.template.source[0]})"


def match_template(
    print_: TemplatePrint, templates: tuple[PublishedTemplate, ...] | None = None
) -> TemplateMatch | None:
    """The published template ``print_`` is or revises; None when it is neither."""
    known = load_templates() if templates is None else templates
    for template in known:
        if template.signature == print_.signature:
            return TemplateMatch(template=template, relation="identical", similarity=1.0)
    scored = [(similarity(print_.sketch, t.sketch), t) for t in known]
    best = max(scored, key=lambda pair: pair[0], default=None)
    if best is None or best[0] < NEAR:
        return None
    return TemplateMatch(template=best[1], relation="near", similarity=best[0])


@cache
def load_templates() -> tuple[PublishedTemplate, ...]:
    """The database shipped with sovscan."""
    text = resources.files("scanner.sources.data").joinpath(_DATA).read_text(encoding="utf-8")
    return parse_templates(json.loads(text))


def parse_templates(document: object) -> tuple[PublishedTemplate, ...]:
    """The templates of a database document (as written by the build script)."""
    if not isinstance(document, dict) or not isinstance(document.get("entries"), list):
        raise TypeError("not a chat-template database: no 'entries' list")
    try:
        as_of = str(document["as_of"])
        return tuple(
            PublishedTemplate(
                signature=str(entry["signature"]),
                sketch=decode_sketch(str(entry["sketch"])),
                repos=tuple((str(t["repo"]), str(t["variant"])) for t in entry["templates"]),
                source=tuple(str(s) for s in entry["source"]),
                as_of=as_of,
            )
            for entry in document["entries"]
        )
    except (KeyError, TypeError, ValueError) as error:
        raise TypeError(f"a chat-template database entry is malformed: {error}") from None


def encode_sketch(sketch: tuple[int, ...]) -> str:
    """A sketch as base64 of big-endian 64-bit hashes."""
    return base64.b64encode(b"".join(_HASH.pack(value) for value in sketch)).decode()


def decode_sketch(text: str) -> tuple[int, ...]:
    """The sketch ``encode_sketch`` wrote."""
    raw = base64.b64decode(text, validate=True)
    if len(raw) % _HASH.size:
        raise ValueError("a sketch's length is not a whole number of hashes")
    return tuple(_HASH.unpack_from(raw, i)[0] for i in range(0, len(raw), _HASH.size))
