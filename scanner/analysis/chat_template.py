"""Find what a chat template could do beyond formatting, by lexing it as Jinja2 without rendering.

Inference servers render a model's chat template with Jinja2 (transformers in a sandboxed
environment). Server-side template injection escapes that sandbox through dunder attributes
(``cycler.__init__.__globals__``), Jinja's own globals, or pulls other templates in; it exhausts
the server with huge loops and repetitions. This module lexes the template the way Jinja2's
lexer does (``{{ }}``, ``{% %}``, ``{# #}``, ``{% raw %}``, strings with their escapes decoded,
brackets balanced) and checks the tokens; nothing is compiled or rendered, and jinja2 is not
needed.

Static checks cannot see every way of building a name at render time (``join`` of a list of
characters, computed subscripts); the checks cover the known payload shapes, and the lexer
errs towards reading text as code when a template is malformed (Jinja2 would refuse it).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import Enum

from scanner.analysis.load_risk import LoadRisk, RiskKind
from scanner.core.model import Severity

#: Largest template analysed, in UTF-8 bytes; real chat templates are a few KiB (tool-calling
#: ones included: the corpus's largest is 4 KiB). A larger one gets one MEDIUM risk instead of
#: an analysis. It bounds every token and block count, and the time: lexing costs
#: a few microseconds per token, at worst one token per byte.
MAX_TEMPLATE_BYTES = 256 * 1024
#: Deepest nesting of ``{% for %}`` loops accepted without a MEDIUM risk.
MAX_LOOP_DEPTH = 4
#: Largest literal accepted as ``range(N)`` or as a ``center``/``indent``/``slice`` size.
MAX_LOOP_LITERAL = 10_000
#: Largest literal accepted as a factor of ``*`` (``'x' * N`` repeats a string N times).
MAX_REPEAT_LITERAL = 10_000
#: Largest literal accepted as the exponent of ``**``.
MAX_POWER_EXPONENT = 1_000
#: Widest field accepted in a format string (``'%99999999s'|format(x)``), in digits.
MAX_FORMAT_WIDTH_DIGITS = 4
#: Most distinct risks listed; the rest are summed up in one more risk.
MAX_REPORTED_RISKS = 50
#: Longest excerpt of the offending block quoted in a risk message, in characters.
MAX_SNIPPET_CHARS = 100
#: Longest literal read as a number; longer ones count as infinitely large.
_MAX_NUMBER_CHARS = 40

# Jinja2 globals whose functions expose ``__globals__``, and Flask's template globals: the
# usual starting points of a sandbox escape. ``namespace`` is absent: real templates use it,
# and the escape through it needs a dunder attribute, which is reported on its own.
_GADGET_GLOBALS = frozenset(
    {"cycler", "joiner", "lipsum", "self", "config", "request", "url_for", "get_flashed_messages"}
)
# Attributes of frames, generators and code objects that reach globals without a dunder.
_INTROSPECTION_ATTRIBUTES = frozenset(
    {
        "f_globals",
        "f_locals",
        "f_builtins",
        "f_back",
        "gi_frame",
        "gi_code",
        "cr_frame",
        "ag_frame",
        "tb_frame",
        "func_globals",
        "func_code",
        "co_code",
        "mro",
    }
)
_TEMPLATE_STATEMENTS = {
    "include": "includes another template",
    "import": "imports another template",
    "from": "imports from another template",
    "extends": "extends another template",
}
_SIZED_FILTERS = frozenset({"center", "indent", "slice"})
_FILTER_MARKS = frozenset({"|", "filter"})  # ``x|name(…)`` and ``{% filter name(…) %}``
_ATTRIBUTE_FILTERS = frozenset({"map", "select", "reject", "selectattr", "rejectattr"})
_FORMAT_WORDS = frozenset({"format", "format_map"})
_SEVERITIES = tuple(Severity)  # most severe first

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
_OPENERS = frozenset("([{")
_CLOSERS = frozenset(")]}")

_DUNDER_IN_TEXT = re.compile(r"__[^\W_]\w*?__")
_FORMAT_WIDTH = re.compile(
    rf"%[-+ #0]*\d{{{MAX_FORMAT_WIDTH_DIGITS + 1},}}"
    rf"|\{{[^{{}}]*:[^{{}}]*?\d{{{MAX_FORMAT_WIDTH_DIGITS + 1},}}"
)


class _Kind(Enum):
    NAME = "name"
    STRING = "string"
    NUMBER = "number"
    OPERATOR = "operator"
    OTHER = "other"


_KINDS = {kind.value: kind for kind in _Kind}


@dataclass(frozen=True, slots=True)
class _Token:
    kind: _Kind
    text: str
    """The source text; for a string, its content with Jinja's escapes decoded."""


@dataclass(frozen=True, slots=True)
class _Block:
    statement: bool
    """``{% … %}`` rather than ``{{ … }}``."""
    line: int
    snippet: str
    tokens: tuple[_Token, ...]


def analyze_chat_template(template: str, *, source: str) -> tuple[LoadRisk, ...]:
    """Return what rendering ``template`` could do beyond formatting, without rendering it.

    ``source`` names where the template was read (``tokenizer_config.json chat_template``,
    ``GGUF tokenizer.chat_template``, ``chat_template.jinja``) and starts every message. The
    first risk is always the INFO one recording the template's presence; HIGH risks reach
    Python internals or other templates, MEDIUM ones can exhaust the server. Never raises.
    """
    size = len(template.encode("utf-8", "surrogatepass"))
    present = LoadRisk(
        kind=RiskKind.TEMPLATE,
        severity=Severity.INFO,
        message=(
            f"{source}: chat template present ({size} bytes), "
            "rendered by the inference server with Jinja2"
        ),
    )
    if size > MAX_TEMPLATE_BYTES:
        too_large = LoadRisk(
            kind=RiskKind.TEMPLATE,
            severity=Severity.MEDIUM,
            message=(
                f"{source}: chat template is {size} bytes, over the {MAX_TEMPLATE_BYTES}-byte "
                "cap: too large to analyse"
            ),
        )
        return (present, too_large)
    blocks = _lex(template)
    report = _Report(source)
    _check_blocks(blocks, report)
    return (present, *report.risks())


# --- lexing ---------------------------------------------------------------------------------


def _lex(template: str) -> list[_Block]:
    """Split ``template`` into its code blocks, skipping text, comments and raw sections."""
    blocks: list[_Block] = []
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
            _Block(
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

    def lex(self, position: int, *, statement: bool) -> tuple[list[_Token], int]:
        """Tokenize from ``position`` to the closing delimiter (matched outside brackets)."""
        template = self._template
        tokens: list[_Token] = []
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
                    tokens.append(_Token(_Kind.STRING, _unescape(string.group(1))))
                    position = string.end()
                    continue
                kind = "other"  # an unclosed quote: Jinja2 refuses it; lexing goes on after it
            position = match.end()
            if text in _OPENERS:
                brackets += 1
            elif text in _CLOSERS and brackets > 0:
                brackets -= 1
            tokens.append(_Token(_KINDS[kind], text))
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
        return content.encode("ascii", "backslashreplace").decode("unicode-escape")
    except (UnicodeDecodeError, UnicodeEncodeError):
        return content  # Jinja2 refuses the template; the raw text is still checked


def _snippet(text: str) -> str:
    collapsed = " ".join(text.split())
    if len(collapsed) > MAX_SNIPPET_CHARS:
        return collapsed[: MAX_SNIPPET_CHARS - 1] + "…"
    return collapsed


# --- reporting ------------------------------------------------------------------------------


class _Report:
    """Distinct risks, the first occurrence of each, capped."""

    def __init__(self, source: str) -> None:
        self._source = source
        self._risks: dict[tuple[str, str], LoadRisk] = {}
        self._dropped = 0
        self._dropped_severity: Severity | None = None

    def add(self, severity: Severity, key: tuple[str, str], what: str, block: _Block) -> None:
        """Record ``what`` (a verb phrase) seen in ``block``, once per ``key``."""
        if key in self._risks:
            return
        if len(self._risks) >= MAX_REPORTED_RISKS:
            self._dropped += 1
            if self._dropped_severity is None or _SEVERITIES.index(severity) < _SEVERITIES.index(
                self._dropped_severity
            ):
                self._dropped_severity = severity
            return
        self._risks[key] = LoadRisk(
            kind=RiskKind.TEMPLATE,
            severity=severity,
            message=f"{self._source} {what} at line {block.line}: {block.snippet}",
        )

    def risks(self) -> tuple[LoadRisk, ...]:
        """The risks recorded, in the order first seen, then the summary of those dropped."""
        listed = tuple(self._risks.values())
        if self._dropped_severity is None:
            return listed
        summary = LoadRisk(
            kind=RiskKind.TEMPLATE,
            severity=self._dropped_severity,
            message=f"{self._source} has {self._dropped} more template risks, not listed",
        )
        return (*listed, summary)


# --- checks ---------------------------------------------------------------------------------


def _check_blocks(blocks: list[_Block], report: _Report) -> None:
    bound = _bound_names(blocks)
    loop_depth = 0
    for block in blocks:
        tokens = block.tokens
        if block.statement and tokens and tokens[0].kind is _Kind.NAME:
            keyword = tokens[0].text
            if keyword in _TEMPLATE_STATEMENTS:
                what = _TEMPLATE_STATEMENTS[keyword]
                report.add(Severity.HIGH, ("statement", keyword), what, block)
            elif keyword == "for":
                loop_depth += 1
                if loop_depth > MAX_LOOP_DEPTH:
                    what = f"nests more than {MAX_LOOP_DEPTH} for-loops (work multiplies)"
                    report.add(Severity.MEDIUM, ("loops", ""), what, block)
            elif keyword == "endfor":
                loop_depth = max(0, loop_depth - 1)
        for index, token in enumerate(tokens):
            if token.kind is _Kind.NAME:
                _check_name(tokens, index, bound, block, report)
            elif token.kind is _Kind.STRING:
                _check_string(tokens, index, block, report)
            elif token.kind is _Kind.OPERATOR and token.text in ("*", "**"):
                _check_product(tokens, index, block, report)


def _bound_names(blocks: list[_Block]) -> frozenset[str]:
    """Names the template binds itself: set and for targets, with names, macro parameters."""
    bound: set[str] = set()
    for block in blocks:
        tokens = block.tokens
        if not (block.statement and tokens and tokens[0].kind is _Kind.NAME):
            continue
        keyword = tokens[0].text
        for index, token in enumerate(tokens[1:], start=1):
            if keyword in ("set", "for") and token.text in ("=", "in"):
                break
            if token.kind is not _Kind.NAME or _following(tokens, index) == ".":
                continue
            previous = _previous(tokens, index)
            if (
                (keyword in ("set", "for") and previous != ".")
                or (keyword == "with" and _following(tokens, index) == "=")
                or (keyword in ("macro", "call") and previous in (keyword, "(", ","))
            ):
                bound.add(_normal(token.text))
    return frozenset(bound)


def _check_name(
    tokens: tuple[_Token, ...], index: int, bound: frozenset[str], block: _Block, report: _Report
) -> None:
    name = _normal(tokens[index].text)
    previous = _previous(tokens, index)
    following = _following(tokens, index)
    if previous == ".":
        _check_attribute(name, block, report)
    elif _is_dunder(name):
        report.add(Severity.HIGH, ("dunder", name), f"uses the dunder name {name}", block)
    elif name in _GADGET_GLOBALS and name not in bound and following != "=":
        what = f"uses the Jinja/Flask global {name}, a known sandbox-escape gadget"
        report.add(Severity.HIGH, ("gadget", name), what, block)
    elif following != "(":
        return
    elif name == "attr" and previous in _FILTER_MARKS:
        _check_attr_argument(tokens, index + 2, block, report)
    elif (name == "range" and previous not in _FILTER_MARKS) or (
        name in _SIZED_FILTERS and previous in _FILTER_MARKS
    ):
        _check_size_arguments(tokens, index, name, block, report)


def _check_attribute(name: str, block: _Block, report: _Report) -> None:
    if _is_dunder(name):
        what = f"reaches the dunder attribute {name}"
        report.add(Severity.HIGH, ("dunder", name), what, block)
    elif name.startswith("_"):
        what = f"reaches the private attribute {name}"
        report.add(Severity.HIGH, ("private", name), what, block)
    elif name in _INTROSPECTION_ATTRIBUTES:
        what = f"reaches the introspection attribute {name}"
        report.add(Severity.HIGH, ("introspection", name), what, block)


def _check_string(tokens: tuple[_Token, ...], index: int, block: _Block, report: _Report) -> None:
    text = tokens[index].text
    previous = _previous(tokens, index)
    following = _following(tokens, index)
    joined = following in ("*", "~", "+") or previous in ("~", "+")
    if (dunder := _DUNDER_IN_TEXT.search(text)) is not None:
        what = f"names the dunder {dunder.group()} in a string"
        report.add(Severity.HIGH, ("dunder-string", dunder.group()), what, block)
    elif text.startswith("_") and (
        previous == "[" or (previous == "=" and _previous(tokens, index - 1) == "attribute")
    ):
        what = f"looks up the private item {text!r}"
        report.add(Severity.HIGH, ("private-item", text), what, block)
    elif text and not text.strip("_") and joined and (len(text) > 1 or following == "*"):
        what = "builds an underscore name from pieces"
        report.add(Severity.HIGH, ("pieces", ""), what, block)
    elif (
        text == "attr"
        and previous == "("
        and following == ","
        and _previous(tokens, index - 1) in _ATTRIBUTE_FILTERS
    ):
        _check_attr_argument(tokens, index + 2, block, report)
    if _formats(tokens, index):
        if "%c" in text:
            what = "formats characters by code (%c), a way to build hidden names"
            report.add(Severity.HIGH, ("format-char", ""), what, block)
        if (width := _FORMAT_WIDTH.search(text)) is not None:
            what = f"formats a field {width.group()!r} wide (memory exhaustion)"
            report.add(Severity.MEDIUM, ("format-width", width.group()), what, block)


def _check_attr_argument(
    tokens: tuple[_Token, ...], start: int, block: _Block, report: _Report
) -> None:
    """Check the attribute name given to ``attr``, whose argument starts at ``tokens[start]``."""
    argument = _argument(tokens, start)
    if len(argument) == 1 and argument[0].kind is _Kind.STRING:
        name = argument[0].text
        if name.startswith("_"):
            what = f"looks up the private attribute {name!r} with attr"
            report.add(Severity.HIGH, ("private-attr", name), what, block)
    elif argument:
        report.add(Severity.HIGH, ("attr", ""), "looks up an attribute by a computed name", block)


def _check_size_arguments(
    tokens: tuple[_Token, ...], index: int, name: str, block: _Block, report: _Report
) -> None:
    """``range(N)``, ``|center(N)``…: a literal size beyond the cap, or a power."""
    arguments = _argument(tokens, index + 2, stop_at_comma=False)
    numbers = [_number_value(token.text) for token in arguments if token.kind is _Kind.NUMBER]
    operators = {token.text for token in arguments if token.kind is _Kind.OPERATOR}
    largest = _product(numbers) if "*" in operators else max(numbers, default=0.0)
    if "**" in operators or largest > MAX_LOOP_LITERAL:
        what = f"sizes {name}() beyond {MAX_LOOP_LITERAL} (CPU or memory exhaustion)"
        report.add(Severity.MEDIUM, ("size", name), what, block)


def _check_product(tokens: tuple[_Token, ...], index: int, block: _Block, report: _Report) -> None:
    """``x * N`` with a huge literal N; ``x ** N`` with a huge or chained exponent."""
    operator = tokens[index].text
    neighbours = [tokens[i] for i in (index - 1, index + 1) if 0 <= i < len(tokens)]
    if operator == "*":
        if any(
            token.kind is _Kind.NUMBER and _number_value(token.text) > MAX_REPEAT_LITERAL
            for token in neighbours
        ):
            what = f"multiplies by more than {MAX_REPEAT_LITERAL} (memory exhaustion)"
            report.add(Severity.MEDIUM, ("repeat", ""), what, block)
        return
    exponent = tokens[index + 1] if index + 1 < len(tokens) else None
    huge = (
        exponent is not None
        and exponent.kind is _Kind.NUMBER
        and _number_value(exponent.text) > MAX_POWER_EXPONENT
    )
    if huge or _following(tokens, index + 1) == "**":
        what = f"raises to a power beyond {MAX_POWER_EXPONENT} or chained (CPU exhaustion)"
        report.add(Severity.MEDIUM, ("power", ""), what, block)


# --- token helpers --------------------------------------------------------------------------


def _previous(tokens: tuple[_Token, ...], index: int) -> str | None:
    return tokens[index - 1].text if index > 0 else None


def _following(tokens: tuple[_Token, ...], index: int) -> str | None:
    return tokens[index + 1].text if index + 1 < len(tokens) else None


def _formats(tokens: tuple[_Token, ...], index: int) -> bool:
    """Whether the string at ``index`` is used as a format pattern (``|format``, ``%``, .format)."""
    following = _following(tokens, index)
    after = _following(tokens, index + 1)
    return following == "%" or (following in ("|", ".") and after in _FORMAT_WORDS)


def _argument(
    tokens: tuple[_Token, ...], start: int, *, stop_at_comma: bool = True
) -> list[_Token]:
    """The tokens of a call argument starting at ``start``, up to its ``,`` or ``)``."""
    argument: list[_Token] = []
    depth = 0
    for token in tokens[start:]:
        if token.kind is _Kind.OPERATOR:
            if token.text in _OPENERS:
                depth += 1
            elif token.text in _CLOSERS:
                if depth == 0:
                    break
                depth -= 1
            elif token.text == "," and depth == 0 and stop_at_comma:
                break
        argument.append(token)
    return argument


def _normal(name: str) -> str:
    """The name as Python would see it in source (identifiers are NFKC-normalized)."""
    return name if name.isascii() else unicodedata.normalize("NFKC", name)


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _number_value(text: str) -> float:
    """The value of a Jinja number literal; absurdly long ones count as infinite."""
    digits = text.replace("_", "").lower()
    if len(digits) > _MAX_NUMBER_CHARS:
        return float("inf")
    try:
        if digits[:2] in ("0x", "0o", "0b"):
            return float(int(digits, 0))
        if "." in digits or "e" in digits:
            return float(digits)
        return float(int(digits))
    except (ValueError, OverflowError):
        return float("inf")


def _product(numbers: list[float]) -> float:
    product = 1.0
    for number in numbers:
        product *= number
    return product
