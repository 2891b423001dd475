"""Find what a chat template could do beyond formatting, by lexing it as Jinja2 without rendering.

Inference servers render a model's chat template with Jinja2 (transformers in a sandboxed
environment). Server-side template injection escapes that sandbox through dunder attributes
(``cycler.__init__.__globals__``), Jinja's own globals, ``str.format`` reached around the
sandbox (CVE-2024-56326, CVE-2025-27516), or pulls other templates in; it exhausts the server
with huge loops and repetitions. ``template_lexer`` tokenizes the template as Jinja2's lexer
does; this module checks the tokens. Nothing is compiled or rendered, and jinja2 is not needed.

Names built at render time are folded where their pieces are literals: strings concatenated
(``~``, ``+``), repeated, joined (``[…]|join``, ``dict(__=1)|join``) or formatted, and names the
template ``{% set %}`` to a literal; characters picked out of an object's text
(``(()|select|string)[24]``) and attribute names computed at render time are reported as such.
Static checks still cannot evaluate every expression; they cover the known payload shapes.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from typing import TYPE_CHECKING

from scanner.analysis.load_risk import LoadRisk, RiskKind
from scanner.analysis.template_lexer import CLOSERS, OPENERS, Block, Token, TokenKind, lex
from scanner.core.model import Severity

if TYPE_CHECKING:
    from collections.abc import Callable

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
#: Longest call argument read, in tokens (real ones have a few); a longer size argument of
#: ``range()`` and the like is a MEDIUM risk of its own, a longer attribute name a computed one.
MAX_ARGUMENT_TOKENS = 32
#: Most distinct risks listed; the rest are summed up in one more risk.
MAX_REPORTED_RISKS = 50
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
# Filters whose output is an object's text, and what picks characters out of that text:
# ``(()|select|string)[24]`` is ``'_'`` (the repr of a generator), the usual way to spell a
# dunder name without writing an underscore.
_TEXT_FILTERS = frozenset({"string", "pprint"})
_CHARACTER_PICKERS = frozenset({"list", "first", "last", "batch", "slice", "random", "reverse"})
# Filters taking an attribute name as their first positional argument.
_ATTRIBUTE_NAME_FILTERS = frozenset({"selectattr", "rejectattr", "groupby"})
# Between two string pieces, tokens that keep them one concatenated name: ``'_' ~ '_'``,
# ``('_' + 'x')``, ``['_', '_']|join`` (commas count only in a list, a tuple or the arguments of
# ``format``/``join``: ``replace('__', '_')`` joins nothing).
_CONCATENATION = frozenset({"~", "+", "(", ")", "[", "]"})
_JOINING_BRACKETS = frozenset({"", "format", "format_map", "join", "dict"})  # "": a literal
#: Largest repetition of a piece expanded when folding (``'_' * 2``); two make a dunder.
_MAX_FOLDED_REPEAT = 4
_BINDING_STATEMENTS = frozenset({"for", "set", "with", "macro", "call"})
#: Longest value a literal is folded to (``'{0}{0}'.format(…)``, ``replace``, ``* N``): longer
#: folds are cut or left undone, so that folding costs at most this per token.
_MAX_FOLDED_CHARS = 4096
_CASE_FILTERS: dict[str, Callable[[str], str]] = {
    "lower": str.lower,
    "upper": str.upper,
    "string": str,
    "trim": str.strip,
    "strip": str.strip,
    "e": str,
    "escape": str,
    "safe": str,
}
_PERCENT_FIELD = re.compile(r"%%|%()s")
_BRACE_FIELD = re.compile(r"\{\{|\}\}|\{(\d*)\}")
_SEVERITIES = tuple(Severity)  # most severe first

_DUNDER_IN_TEXT = re.compile(r"__[^\W_]\w*?__")
# A str.format field reaching a private attribute or key: ``{0._TemplateReference__context}``.
_PRIVATE_FORMAT_FIELD = re.compile(r"\{\w*(?:[.\[]\w+\]?)*[.\[]_\w*")
_FORMAT_WIDTH = re.compile(
    rf"%[-+ #0]*\d{{{MAX_FORMAT_WIDTH_DIGITS + 1},}}"
    rf"|\{{[^{{}}]*:[^{{}}]*?\d{{{MAX_FORMAT_WIDTH_DIGITS + 1},}}"
)


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
    blocks = _resolve_constants(lex(template))
    report = _Report(source)
    _check_blocks(blocks, report)
    return (present, *report.risks())


# --- reporting ------------------------------------------------------------------------------


class _Report:
    """Distinct risks, the first occurrence of each, capped."""

    def __init__(self, source: str) -> None:
        self._source = source
        self._risks: dict[tuple[str, str], LoadRisk] = {}
        self._dropped = 0
        self._dropped_severity: Severity | None = None

    def add(self, severity: Severity, key: tuple[str, str], what: str, block: Block) -> None:
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


def _check_blocks(blocks: list[Block], report: _Report) -> None:
    bound = _bound_names(blocks)
    # Per open loop: the product and the largest of the literal range() sizes of the loops
    # open down to it (1 for a loop over anything else).
    loops: list[tuple[float, float]] = []
    for block in blocks:
        tokens = block.tokens
        if block.statement and tokens and tokens[0].kind is TokenKind.NAME:
            keyword = tokens[0].text
            if keyword in _TEMPLATE_STATEMENTS:
                what = _TEMPLATE_STATEMENTS[keyword]
                report.add(Severity.HIGH, ("statement", keyword), what, block)
            elif keyword == "for":
                size = _range_size(tokens)
                product, largest = loops[-1] if loops else (1.0, 1.0)
                loops.append((product * size, max(largest, size)))
                _check_loops(len(loops), *loops[-1], block, report)
            elif keyword == "endfor" and loops:
                loops.pop()
        _check_pieces(tokens, block, report)
        _check_repeats(tokens, block, report)
        for index, token in enumerate(tokens):
            if token.kind is TokenKind.NAME:
                _check_name(tokens, index, bound, block, report)
            elif token.kind is TokenKind.STRING:
                _check_string(tokens, index, block, report)
            elif token.kind is TokenKind.OPERATOR and token.text in ("*", "**"):
                _check_product(tokens, index, block, report)


def _check_loops(depth: int, product: float, largest: float, block: Block, report: _Report) -> None:
    if depth > MAX_LOOP_DEPTH:
        what = f"nests more than {MAX_LOOP_DEPTH} for-loops (work multiplies)"
        report.add(Severity.MEDIUM, ("loops", ""), what, block)
    if depth > 1 and largest <= MAX_LOOP_LITERAL < product:
        what = f"nests range() loops of more than {MAX_LOOP_LITERAL} iterations in all"
        report.add(Severity.MEDIUM, ("nested-ranges", ""), what, block)


def _range_size(tokens: tuple[Token, ...]) -> float:
    """The literal size of the ``range(…)`` a for-loop iterates, or 1 when it has none."""
    for index, token in enumerate(tokens[:-1]):
        if token.text == "range" and tokens[index + 1].text == "(":
            arguments = _argument(tokens, index + 2, stop_at_comma=False)
            numbers = [_number_value(t.text) for t in arguments if t.kind is TokenKind.NUMBER]
            return max(numbers, default=1.0)
    return 1.0


def _bound_names(blocks: list[Block]) -> frozenset[str]:
    """Names the template binds itself: set and for targets, with names, macro parameters."""
    bound: set[str] = set()
    for block in blocks:
        tokens = block.tokens
        if not (block.statement and tokens and tokens[0].kind is TokenKind.NAME):
            continue
        keyword = tokens[0].text
        for index, token in enumerate(tokens[1:], start=1):
            if keyword in ("set", "for") and token.text in ("=", "in"):
                break
            if token.kind is not TokenKind.NAME or _following(tokens, index) == ".":
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
    tokens: tuple[Token, ...], index: int, bound: frozenset[str], block: Block, report: _Report
) -> None:
    name = _normal(tokens[index].text)
    previous = _previous(tokens, index)
    following = _following(tokens, index)
    if previous == ".":
        # ``'…'.format`` not called, or passed on (``map(s.format)``): a stored reference.
        # A data field named format (``{% if param.format %}``, JSON schemas) is neither.
        owner = tokens[index - 2] if index >= 2 else None
        stored = following != "(" and (
            (owner is not None and owner.kind is TokenKind.STRING) or following in (")", ",")
        )
        _check_attribute(name, stored, block, report)
    elif name in _TEXT_FILTERS and previous in _FILTER_MARKS:
        _check_text_filter(tokens, index, block, report)
    elif name == "attribute" and following == "=" and previous in ("(", ","):
        argument = _argument(tokens, index + 2)
        if not (len(argument) == 1 and argument[0].kind is TokenKind.STRING):
            _check_attr_argument(tokens, index + 2, block, report)  # a literal is a string
    elif name in _ATTRIBUTE_NAME_FILTERS and previous in _FILTER_MARKS and following == "(":
        _check_attr_argument(tokens, index + 2, block, report)
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


def _check_attribute(name: str, stored: bool, block: Block, report: _Report) -> None:
    if name in _FORMAT_WORDS and stored:
        # Source: CVE-2024-56326 (GHSA-q2x7-8rv6-6q7h), a stored reference to str.format
        # escaped Jinja's sandbox before 3.1.5.
        what = f"keeps a reference to str.{name} without calling it (CVE-2024-56326)"
        report.add(Severity.HIGH, ("format-reference", name), what, block)
    elif _is_dunder(name):
        what = f"reaches the dunder attribute {name}"
        report.add(Severity.HIGH, ("dunder", name), what, block)
    elif name.startswith("_"):
        what = f"reaches the private attribute {name}"
        report.add(Severity.HIGH, ("private", name), what, block)
    elif name in _INTROSPECTION_ATTRIBUTES:
        what = f"reaches the introspection attribute {name}"
        report.add(Severity.HIGH, ("introspection", name), what, block)


def _check_string(tokens: tuple[Token, ...], index: int, block: Block, report: _Report) -> None:
    text = tokens[index].text
    previous = _previous(tokens, index)
    following = _following(tokens, index)
    joined = following in ("*", "~", "+") or previous in ("~", "+")
    if (dunder := _DUNDER_IN_TEXT.search(text)) is not None:
        what = f"names the dunder {dunder.group()} in a string"
        report.add(Severity.HIGH, ("dunder-string", dunder.group()), what, block)
    elif (previous == "[" and text.startswith("_")) or (
        previous == "="
        and _previous(tokens, index - 1) == "attribute"
        and any(part.startswith("_") for part in text.split("."))
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
    if (field := _PRIVATE_FORMAT_FIELD.search(text)) is not None:
        what = f"formats a private attribute {field.group()!r} of an argument"
        report.add(Severity.HIGH, ("format-field", field.group()), what, block)
    if _formats(tokens, index):
        if "%c" in text:
            what = "formats characters by code (%c), a way to build hidden names"
            report.add(Severity.HIGH, ("format-char", ""), what, block)
        if (width := _FORMAT_WIDTH.search(text)) is not None:
            what = f"formats a field {width.group()!r} wide (memory exhaustion)"
            report.add(Severity.MEDIUM, ("format-width", width.group()), what, block)


def _check_attr_argument(
    tokens: tuple[Token, ...], start: int, block: Block, report: _Report
) -> None:
    """Check the attribute name given to ``attr``, whose argument starts at ``tokens[start]``."""
    argument = _argument(tokens, start)
    if len(argument) == 1 and argument[0].kind is TokenKind.STRING:
        name = argument[0].text
        if any(part.startswith("_") for part in name.split(".")):
            what = f"looks up the private attribute {name!r} with attr"
            report.add(Severity.HIGH, ("private-attr", name), what, block)
        elif name in _FORMAT_WORDS:
            # Source: CVE-2025-27516 (GHSA-cpwx-vrp4-4pq7): |attr('format') returned the
            # plain str.format, escaping Jinja's sandbox before 3.1.6.
            what = f"looks up str.{name} by name (CVE-2025-27516)"
            report.add(Severity.HIGH, ("format-attr", name), what, block)
    elif argument:
        report.add(Severity.HIGH, ("attr", ""), "looks up an attribute by a computed name", block)


def _check_size_arguments(
    tokens: tuple[Token, ...], index: int, name: str, block: Block, report: _Report
) -> None:
    """``range(N)``, ``|center(N)``…: a literal size beyond the cap, or a power."""
    arguments = _argument(tokens, index + 2, stop_at_comma=False)
    numbers = [_number_value(token.text) for token in arguments if token.kind is TokenKind.NUMBER]
    operators = {token.text for token in arguments if token.kind is TokenKind.OPERATOR}
    largest = _product(numbers) if "*" in operators else max(numbers, default=0.0)
    if len(arguments) > MAX_ARGUMENT_TOKENS:
        what = f"sizes {name}() by an expression of over {MAX_ARGUMENT_TOKENS} tokens"
        report.add(Severity.MEDIUM, ("size", name), what, block)
    elif "**" in operators or largest > MAX_LOOP_LITERAL:
        what = f"sizes {name}() beyond {MAX_LOOP_LITERAL} (CPU or memory exhaustion)"
        report.add(Severity.MEDIUM, ("size", name), what, block)


def _check_product(tokens: tuple[Token, ...], index: int, block: Block, report: _Report) -> None:
    """``x * N`` with a huge literal N; ``x ** N`` with a huge or chained exponent."""
    operator = tokens[index].text
    neighbours = [tokens[i] for i in (index - 1, index + 1) if 0 <= i < len(tokens)]
    if operator == "*":
        if any(
            token.kind is TokenKind.NUMBER and _number_value(token.text) > MAX_REPEAT_LITERAL
            for token in neighbours
        ):
            what = f"multiplies by more than {MAX_REPEAT_LITERAL} (memory exhaustion)"
            report.add(Severity.MEDIUM, ("repeat", ""), what, block)
        return
    exponent = tokens[index + 1] if index + 1 < len(tokens) else None
    huge = (
        exponent is not None
        and exponent.kind is TokenKind.NUMBER
        and _number_value(exponent.text) > MAX_POWER_EXPONENT
    )
    if huge or _following(tokens, index + 1) == "**":
        what = f"raises to a power beyond {MAX_POWER_EXPONENT} or chained (CPU exhaustion)"
        report.add(Severity.MEDIUM, ("power", ""), what, block)


def _check_text_filter(
    tokens: tuple[Token, ...], index: int, block: Block, report: _Report
) -> None:
    """``(x|string)[24]``, ``x|string|list``: characters picked out of an object's text."""
    after = index + 1
    while after < len(tokens) and tokens[after].text == ")":
        after += 1
    following = tokens[after].text if after < len(tokens) else None
    picked = following == "[" or (
        following in _FILTER_MARKS and _following(tokens, after) in _CHARACTER_PICKERS
    )
    if picked:
        what = f"picks characters out of an object's text (|{tokens[index].text})"
        report.add(Severity.HIGH, ("harvest", ""), what, block)


def _check_pieces(tokens: tuple[Token, ...], block: Block, report: _Report) -> None:
    """String pieces concatenated, joined or formatted into a name no piece spells alone."""
    run: list[str] = []
    brackets: list[str | None] = []  # per open bracket: the name it calls, "" if not a call
    index = 0
    while index < len(tokens):
        token = tokens[index]
        previous = _previous(tokens, index)
        if token.kind is TokenKind.STRING or (
            token.kind is TokenKind.NAME  # a key of dict(k=…), which |join spells out
            and brackets
            and brackets[-1] == "dict"
            and previous in ("(", ",")
            and _following(tokens, index) == "="
        ):
            if token.kind is TokenKind.NAME:  # skip the value: ``= 1``
                piece = token.text
                index += 2
            else:
                piece, index = _fold_piece(tokens, index)
                if piece != token.text:  # ``'{0}{0}class'.format('_')``, ``'x_'[1] * 2``
                    _check_run([piece], block, report, alone=token.text)
            run.append(piece)
            _check_run(run, block, report)
        elif token.text in OPENERS:
            if previous is not None and tokens[index - 1].kind is TokenKind.NAME:
                brackets.append(previous)
            else:  # a list or tuple literal, or a call of a call's result
                brackets.append(None if previous in (")", "]") else "")
        elif token.text in CLOSERS:
            if brackets:
                brackets.pop()
        elif not (
            token.text in _CONCATENATION
            or (token.text == "," and brackets and brackets[-1] in _JOINING_BRACKETS)
            or (token.text in _FILTER_MARKS and _following(tokens, index) == "join")
            or (token.text == "join" and previous in _FILTER_MARKS)
            or (token.text == "dict" and _following(tokens, index) == "(")
        ):
            run = []
        index += 1


def _check_run(run: list[str], block: Block, report: _Report, *, alone: str = "") -> None:
    """Report when the last piece of ``run`` completes a dunder or ``__`` name, or when a piece
    folded from the literal ``alone`` spells one that literal does not."""
    if alone:  # a bare ``__`` is left to the run it joins
        assembled = _DUNDER_IN_TEXT.search(run[0])
        crossing = False
        if assembled is not None and _DUNDER_IN_TEXT.search(alone) is not None:
            assembled = None
    elif len(run) < 2:
        return
    else:
        last = run[-1]
        assembled = _DUNDER_IN_TEXT.search("".join(run[-8:]))
        if assembled is not None and _DUNDER_IN_TEXT.search(last) is not None:
            assembled = None
        crossing = run[-2][-1:] + last[:1] == "__"
    if assembled is not None or crossing:
        shown = assembled.group() if assembled is not None else "__"
        what = f"assembles the name {shown!r} from pieces at render time"
        report.add(Severity.HIGH, ("assembled", ""), what, block)


def _fold_piece(tokens: tuple[Token, ...], index: int) -> tuple[str, int]:
    """The value of the string literal at ``index`` after the literal operations that follow
    it (``[N]``, ``* N``, ``replace``, ``format``, ``%``, case filters), and the index of the
    last token they take. Results are capped at ``_MAX_FOLDED_CHARS``."""
    value = tokens[index].text
    while index + 2 < len(tokens):
        operator, name = tokens[index + 1].text, tokens[index + 2]
        if operator == "[" and (picked := _literal_index(tokens, index + 2)) is not None:
            position, index = picked
            value = value[position] if -len(value) <= position < len(value) else ""
        elif operator == "*" and name.kind is TokenKind.NUMBER:
            value *= int(min(max(_number_value(name.text), 0), _MAX_FOLDED_REPEAT))
            index += 2
        elif operator in _FILTER_MARKS | {"."} and name.text in _CASE_FILTERS:
            value = _CASE_FILTERS[name.text](value)
            index += 2
        elif operator in _FILTER_MARKS | {"."} and name.text in ("replace", "format"):
            arguments = _literal_arguments(tokens, index + 3)
            if arguments is None:
                break
            strings, index = arguments
            if name.text == "replace" and len(strings) == 2:
                longest = len(value) * max(len(strings[1]), 1)
                old, new = strings
                folded = value.replace(old, new) if longest <= _MAX_FOLDED_CHARS else None
            else:
                folded = _fold_format(value, strings, percent=operator != ".")  # |format: %
            if folded is None:
                break
            value = folded
        elif operator == "%":
            single = name.kind is TokenKind.STRING
            arguments = (
                ([name.text], index + 2) if single else _literal_arguments(tokens, index + 2)
            )
            folded = None if arguments is None else _fold_format(value, arguments[0], percent=True)
            if arguments is None or folded is None:
                break
            value, index = folded, arguments[1]
        else:
            break
        value = value[:_MAX_FOLDED_CHARS]
    return value, index


def _literal_index(tokens: tuple[Token, ...], start: int) -> tuple[int, int] | None:
    """``N]`` or ``-N]`` at ``start``: the index N and where the ``]`` is."""
    sign = -1 if tokens[start].text == "-" else 1
    number = start + (sign < 0)
    if number + 1 < len(tokens) and tokens[number].kind is TokenKind.NUMBER:
        value = _number_value(tokens[number].text)
        if tokens[number + 1].text == "]" and value < _MAX_FOLDED_CHARS:
            return sign * int(value), number + 1
    return None


def _literal_arguments(tokens: tuple[Token, ...], start: int) -> tuple[list[str], int] | None:
    """``(`` at ``start`` then string literals separated by commas up to ``)``: the strings and
    where the ``)`` is; None for anything else."""
    if start >= len(tokens) or tokens[start].text != "(":
        return None
    strings: list[str] = []
    index = start + 1
    while index < len(tokens) and len(strings) <= MAX_ARGUMENT_TOKENS:
        token = tokens[index]
        if token.kind is TokenKind.STRING and _previous(tokens, index) in ("(", ","):
            strings.append(token.text)
        elif token.text == ")":
            return strings, index
        elif token.text != ",":
            return None
        index += 1
    return None


def _fold_format(pattern: str, arguments: list[str], *, percent: bool) -> str | None:
    """``pattern`` with its plain fields (``%s``; ``{}``, ``{0}``) replaced by ``arguments``,
    without Python's formatting; None when the result could exceed ``_MAX_FOLDED_CHARS``."""
    fields = _PERCENT_FIELD if percent else _BRACE_FIELD
    longest = max((len(argument) for argument in arguments), default=0)
    if len(pattern) > _MAX_FOLDED_CHARS or len(pattern) * longest > 64 * _MAX_FOLDED_CHARS:
        return None
    automatic = iter(range(len(arguments)))

    def field(match: re.Match[str]) -> str:
        text = match.group()
        if text in ("%%", "{{", "}}"):
            return text[0]
        position = int(match.group(1)) if match.group(1) else next(automatic, len(arguments))
        return arguments[position] if position < len(arguments) else ""

    return fields.sub(field, pattern)[:_MAX_FOLDED_CHARS]


def _check_repeats(tokens: tuple[Token, ...], block: Block, report: _Report) -> None:
    """``'a' * 9000 * 9000``, ``('a' * 9000) * 9000``, ``'a' * 2 ** 40``: the literal factors
    of one chain of products (only closing brackets between them), outside ``range()``
    (checked on its own), multiplied."""
    product = 1.0
    chain_end = -1  # where the last factor of the current chain ends
    skip_to = -1
    for index, token in enumerate(tokens):
        if index >= skip_to and token.text == "range" and _following(tokens, index) == "(":
            skip_to = index + 2 + len(_argument(tokens, index + 2, stop_at_comma=False))
        if index < skip_to or token.text != "*":
            continue
        chained = chain_end >= 0 and all(t.text == ")" for t in tokens[chain_end:index])
        if not chained:
            product = _operand(tokens, index - 1, -1) or 1.0
        product *= _operand(tokens, index + 1, 1) or 1.0
        chain_end = index + (4 if _following(tokens, index + 1) == "**" else 2)
        if product > MAX_REPEAT_LITERAL:  # one literal: reported once, under the same key
            what = f"multiplies by more than {MAX_REPEAT_LITERAL} (memory exhaustion)"
            report.add(Severity.MEDIUM, ("repeat", ""), what, block)
            return


def _operand(tokens: tuple[Token, ...], index: int, step: int) -> float | None:
    """The literal number at ``index`` (a power ``a ** b`` evaluated), else None."""
    if not 0 <= index < len(tokens) or tokens[index].kind is not TokenKind.NUMBER:
        return None
    value = _number_value(tokens[index].text)
    other = index + 2 * step
    if 0 <= other < len(tokens) and tokens[index + step].text == "**":
        if tokens[other].kind is not TokenKind.NUMBER:
            return value
        base, exponent = (value, _number_value(tokens[other].text))
        if step < 0:
            base, exponent = exponent, base
        return _power(base, exponent)
    return value


def _power(base: float, exponent: float) -> float:
    if base <= 1 or exponent <= 0:
        return 1.0
    try:
        return float(base**exponent) if exponent <= MAX_POWER_EXPONENT else float("inf")
    except OverflowError:
        return float("inf")


# --- constants ------------------------------------------------------------------------------


def _resolve_constants(blocks: list[Block]) -> list[Block]:
    """Replace names the template sets to a literal (``{% set u = '_' %}``) by that literal
    wherever they are read, so that pieces and sizes spelled through variables are checked."""
    constants: dict[str, Token] = {}
    for block in blocks:
        tokens = block.tokens
        if (
            block.statement
            and len(tokens) == 4
            and tokens[0].text == "set"
            and tokens[1].kind is TokenKind.NAME
            and tokens[2].text == "="
            and tokens[3].kind in (TokenKind.STRING, TokenKind.NUMBER)
        ):
            constants[_normal(tokens[1].text)] = tokens[3]
    if not constants:
        return blocks
    resolved: list[Block] = []
    for block in blocks:
        names = list(block.tokens)
        # In ``{% for a, b in … %}``, ``{% set x = … %}``…, the names bound are not read.
        first = 0
        if block.statement and names and names[0].text in _BINDING_STATEMENTS:
            first = next((i for i, t in enumerate(names) if t.text in ("=", "in")), len(names))
        for index in range(first, len(names)):
            token = names[index]
            if (
                token.kind is TokenKind.NAME
                and (constant := constants.get(_normal(token.text))) is not None
                and _previous(block.tokens, index) != "."
                and _following(block.tokens, index) not in ("=", "(", ".")
            ):
                names[index] = constant
        resolved.append(dataclasses.replace(block, tokens=tuple(names)))
    return resolved


# --- token helpers --------------------------------------------------------------------------


def _previous(tokens: tuple[Token, ...], index: int) -> str | None:
    return tokens[index - 1].text if index > 0 else None


def _following(tokens: tuple[Token, ...], index: int) -> str | None:
    return tokens[index + 1].text if index + 1 < len(tokens) else None


def _formats(tokens: tuple[Token, ...], index: int) -> bool:
    """Whether the string at ``index`` is used as a format pattern (``|format``, ``%``, .format)."""
    following = _following(tokens, index)
    after = _following(tokens, index + 1)
    return following == "%" or (following in ("|", ".") and after in _FORMAT_WORDS)


def _argument(tokens: tuple[Token, ...], start: int, *, stop_at_comma: bool = True) -> list[Token]:
    """The tokens of a call argument starting at ``start``, up to its ``,`` or ``)``; at most
    ``MAX_ARGUMENT_TOKENS + 1`` of them, so that checking every call stays linear."""
    argument: list[Token] = []
    depth = 0
    for index in range(start, min(len(tokens), start + MAX_ARGUMENT_TOKENS + 1)):
        token = tokens[index]
        if token.kind is TokenKind.OPERATOR:
            if token.text in OPENERS:
                depth += 1
            elif token.text in CLOSERS:
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
