"""Lex a Jinja2 template the way jinja2.lexer does, without compiling or rendering it.

``lex`` splits a template into its code blocks (``{{ }}`` and ``{% %}``), skipping text,
comments and raw sections, and tokenizes each: strings with their escapes decoded, brackets
balanced, the closing delimiter matched outside brackets. It errs towards reading text as code
when a template is malformed (Jinja2 would refuse it), so that nothing hides behind an
unterminated comment, raw section or string. jinja2 is not needed.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from enum import Enum

#: Longest excerpt of a block kept for messages, in characters.
MAX_SNIPPET_CHARS = 100

# The lexer rules of jinja2.lexer (3.1), with nested quantifiers unrolled so that every match
# is linear in the text it covers.
_TAG_START = re.compile(r"\{[{%#]")
_RAW_BEGIN = re.compile(r"\{%[-+]?\s*raw\s*-?%\}")
_RAW_END = re.compile(r"\{%[-+]?\s*endraw\s*[-+]?%\}")
_DIGITS = r"\d(?:_?\d)*"
_CODE_TOKENS = (
    rf"\s*(?:(?P<number>(?<!\.){_DIGITS}(?:(?:\.{_DIGITS})?e[+-]?{_DIGITS}|\.{_DIGITS})"
    r"|0b(?:_?[01])+|0o(?:_?[0-7])+|0x(?:_?[\da-f])+|[1-9](?:_?\d)*|0(?:_?0)*)"
    r"|(?P<name>\w+)"
    r"|(?P<operator>//|\*\*|==|!=|>=|<=|[-+/*%~\[\](){}><=.:|,;])"
    r"|(?P<string>['\"])"  # strings are matched apart, to remember unclosed quotes
    r"|(?P<other>.)"
    r"|$)"
)
# Outside brackets a tag ends at its closing delimiter, tried before any other token.
_CODE_TOKEN = re.compile(_CODE_TOKENS, re.IGNORECASE | re.DOTALL)
_VARIABLE_CODE_TOKEN = re.compile(r"\s*(?P<end>-?\}\})|" + _CODE_TOKENS, re.IGNORECASE | re.DOTALL)
_BLOCK_CODE_TOKEN = re.compile(r"\s*(?P<end>[-+]?%\})|" + _CODE_TOKENS, re.IGNORECASE | re.DOTALL)
_STRINGS = {
    "'": re.compile(r"'([^'\\]*(?:\\.[^'\\]*)*)'", re.DOTALL),
    '"': re.compile(r'"([^"\\]*(?:\\.[^"\\]*)*)"', re.DOTALL),
}
OPENERS = frozenset("([{")
CLOSERS = frozenset(")]}")


class TokenKind(Enum):
    """What a token of a code block is."""

    NAME = "name"
    STRING = "string"
    NUMBER = "number"
    OPERATOR = "operator"
    OTHER = "other"


_KINDS = {kind.value: kind for kind in TokenKind}


@dataclass(frozen=True, slots=True)
class Token:
    """One token of a code block."""

    kind: TokenKind
    text: str
    """The source text; for a string, its content with Jinja's escapes decoded."""


@dataclass(frozen=True, slots=True)
class Block:
    """One ``{{ }}`` or ``{% %}`` tag: where it is, an excerpt, its tokens."""

    statement: bool
    """``{% … %}`` rather than ``{{ … }}``."""
    line: int
    snippet: str
    tokens: tuple[Token, ...]


# --- lexing ---------------------------------------------------------------------------------


def lex(template: str) -> list[Block]:
    """Split ``template`` into its code blocks, skipping text, comments and raw sections."""
    blocks: list[Block] = []
    lexer = _CodeLexer(template)
    position = 0
    line = 1
    counted = 0  # newlines are counted up to here
    # Once a search for a closing tag fails from some offset, it fails from any later one.
    comment_ends = raw_ends = True
    while (tag := _TAG_START.search(template, position)) is not None:
        start = tag.start()
        line += template.count("\n", counted, start)
        counted = start
        opener = template[start + 1]
        if opener == "#":
            end = template.find("#}", start + 2) if comment_ends else -1
            comment_ends = end >= 0
            # An unterminated comment does not compile; lex what follows it as template text
            # so that nothing hides behind it.
            position = end + 2 if comment_ends else start + 2
            continue
        if opener == "%" and raw_ends and (raw := _RAW_BEGIN.match(template, start)):
            end_raw = _RAW_END.search(template, raw.end())
            raw_ends = end_raw is not None
            if end_raw is not None:
                position = end_raw.end()
                continue
            # Unterminated: the tag is lexed as a (failing) statement and the rest as template.
        body = start + 2
        if body < len(template) and template[body] in "-+":  # whitespace control
            body += 1
        tokens, position = lexer.lex(body, statement=opener == "%")
        blocks.append(
            Block(
                statement=opener == "%",
                line=line,
                snippet=_snippet(template[start : min(position, start + 4 * MAX_SNIPPET_CHARS)]),
                tokens=tuple(tokens),
            )
        )
    return blocks


class _CodeLexer:
    """Tokenizes the inside of ``{{ }}`` and ``{% %}`` tags as jinja2.lexer does."""

    def __init__(self, template: str) -> None:
        self._template = template
        # A quote that found no closing quote at some offset finds none later either: every
        # later quote of that kind was inside that scan, escaped, and the scan went on from
        # there. Remembering it keeps lexing linear.
        self._unclosed_quotes: set[str] = set()

    def lex(self, position: int, *, statement: bool) -> tuple[list[Token], int]:
        """Tokenize from ``position`` to the closing delimiter (matched outside brackets)."""
        template = self._template
        tokens: list[Token] = []
        brackets = 0
        size = len(template)
        closing = _BLOCK_CODE_TOKEN if statement else _VARIABLE_CODE_TOKEN
        while position < size:
            match = (closing if brackets == 0 else _CODE_TOKEN).match(template, position)
            if match is None:  # unreachable: the alternatives take any character or the end
                break
            kind = match.lastgroup
            if kind == "end" or kind is None:  # the closing delimiter, or trailing space
                return tokens, match.end()
            text = match.group(kind)
            if kind == "string":
                if (string := self._string(match.start(kind))) is not None:
                    tokens.append(Token(TokenKind.STRING, _unescape(string.group(1))))
                    position = string.end()
                    continue
                kind = "other"  # an unclosed quote: Jinja2 refuses it; lexing goes on after it
            position = match.end()
            if text in OPENERS:
                brackets += 1
            elif text in CLOSERS and brackets > 0:
                brackets -= 1
            tokens.append(Token(_KINDS[kind], text))
        return tokens, position

    def _string(self, position: int) -> re.Match[str] | None:
        quote = self._template[position]
        if quote in self._unclosed_quotes:
            return None
        string = _STRINGS[quote].match(self._template, position)
        if string is None:
            self._unclosed_quotes.add(quote)
        return string


def _unescape(content: str) -> str:
    """Decode a string literal's escapes as Jinja2 does (``'\\x5f'`` is ``'_'``)."""
    if "\\" not in content:
        return content
    try:
        with warnings.catch_warnings():
            # An unknown escape (``\{``) stays as written, as in Python and Jinja2.
            warnings.simplefilter("ignore", DeprecationWarning)
            return content.encode("ascii", "backslashreplace").decode("unicode-escape")
    except (UnicodeDecodeError, UnicodeEncodeError):
        return content  # Jinja2 refuses the template; the raw text is still checked


def _snippet(text: str) -> str:
    collapsed = " ".join(text.split())
    if len(collapsed) > MAX_SNIPPET_CHARS:
        return collapsed[: MAX_SNIPPET_CHARS - 1] + "…"
    return collapsed
