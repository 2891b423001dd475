"""Tests for the static chat-template checks: real templates from the corpus, SSTI payloads."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.analysis.chat_template import (
    MAX_ARGUMENT_TOKENS,
    MAX_LOOP_DEPTH,
    MAX_REPORTED_RISKS,
    MAX_TEMPLATE_BYTES,
    analyze_chat_template,
)
from scanner.analysis.load_risk import LoadRisk, RiskKind
from scanner.core.errors import MalformedFileError
from scanner.core.model import Severity
from scanner.formats.model.gguf import read_gguf_metadata
from tests.conftest import CORPUS as CORPUS_ROOT

CORPUS = CORPUS_ROOT
SOURCE = "tokenizer_config.json chat_template"


def findings(template: str) -> list[tuple[Severity, str]]:
    """The risks after the presence one, as (severity, message without the source prefix)."""
    risks = analyze_chat_template(template, source=SOURCE)
    assert risks[0].severity is Severity.INFO
    assert all(risk.kind is RiskKind.TEMPLATE for risk in risks)
    return [(risk.severity, risk.message.removeprefix(SOURCE + " ")) for risk in risks[1:]]


def summary(template: str) -> list[tuple[Severity, str]]:
    """Like ``findings`` with each message cut before its location."""
    return [(severity, message.split(" at line ")[0]) for severity, message in findings(template)]


# --- real templates -------------------------------------------------------------------------


def corpus_templates() -> list[tuple[str, str]]:
    """Every chat template in the corpus, as (where, template)."""
    found: list[tuple[str, str]] = []
    for path in sorted((CORPUS / "models").glob("*/tokenizer_config.json")):
        template = json.loads(path.read_text(encoding="utf-8")).get("chat_template")
        where = f"{path.parent.name}/tokenizer_config.json"
        if isinstance(template, str):
            found.append((where, template))
        elif isinstance(template, list):  # [{"name": "default", "template": "…"}, …]
            found.extend(
                (f"{where} {entry['name']}", entry["template"])
                for entry in template
                if isinstance(entry, dict) and isinstance(entry.get("template"), str)
            )
    found.extend(
        (f"{path.parent.name}/chat_template.jinja", path.read_text(encoding="utf-8"))
        for path in sorted(CORPUS.glob("**/chat_template.jinja"))
    )
    for path in sorted(CORPUS.glob("**/*.gguf")):
        template = read_gguf_metadata(path).values.get("tokenizer.chat_template")
        if isinstance(template, str):
            found.append((f"{path.name} tokenizer.chat_template", template))
    return found


REAL_TEMPLATES = corpus_templates() if CORPUS.is_dir() else []


def test_the_corpus_templates_are_all_found() -> None:
    if not CORPUS.is_dir():
        pytest.skip("corpus is absent")
    assert [where for where, _ in REAL_TEMPLATES] == [
        "CaoThanhNammm__tinyLlama_llama2_lora_qa_human_hybrid/tokenizer_config.json",
        "DMalakhov1__YandexGPT-5-Lite-8B-instruct-lora/tokenizer_config.json",
        "YouriLalain__2PRYMMAL-Yi1.5-6B-SLERP/tokenizer_config.json",
        "deepseek-ai__DeepSeek-R1/tokenizer_config.json",
        "DMalakhov1__QVikhr-3-1.7B-lora/chat_template.jinja",
        "ggml-vocab-phi-3.gguf tokenizer.chat_template",
    ]


@pytest.mark.parametrize(
    ("where", "template"), REAL_TEMPLATES, ids=[where for where, _ in REAL_TEMPLATES]
)
def test_real_templates_are_only_present(where: str, template: str) -> None:
    risks = analyze_chat_template(template, source=where)
    size = len(template.encode())
    assert risks == (
        LoadRisk(
            kind=RiskKind.TEMPLATE,
            severity=Severity.INFO,
            message=(
                f"{where}: chat template present ({size} bytes), "
                "rendered by the inference server with Jinja2"
            ),
        ),
    )


def test_real_phi3_gguf_template_size() -> None:
    path = CORPUS / "gguf" / "ggml-vocab-phi-3.gguf"
    if not path.is_file():
        pytest.skip("corpus GGUF is absent")
    template = read_gguf_metadata(path).values["tokenizer.chat_template"]
    assert isinstance(template, str)
    (present,) = analyze_chat_template(template, source="GGUF tokenizer.chat_template")
    assert present.message == (
        "GGUF tokenizer.chat_template: chat template present (269 bytes), "
        "rendered by the inference server with Jinja2"
    )


# --- hostile templates ----------------------------------------------------------------------

H, M = Severity.HIGH, Severity.MEDIUM

HOSTILE: list[tuple[str, str, list[tuple[Severity, str]]]] = [
    (
        "cycler-globals-popen",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        [
            (H, "uses the Jinja/Flask global cycler, a known sandbox-escape gadget"),
            (H, "reaches the dunder attribute __init__"),
            (H, "reaches the dunder attribute __globals__"),
        ],
    ),
    (
        "mro-subclasses",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        [
            (H, "reaches the dunder attribute __class__"),
            (H, "reaches the dunder attribute __mro__"),
            (H, "reaches the dunder attribute __subclasses__"),
        ],
    ),
    (
        "template-reference-context",
        "{{ self._TemplateReference__context.cycler.__init__.__globals__ }}",
        [
            (H, "uses the Jinja/Flask global self, a known sandbox-escape gadget"),
            (H, "reaches the private attribute _TemplateReference__context"),
            (H, "reaches the dunder attribute __init__"),
            (H, "reaches the dunder attribute __globals__"),
        ],
    ),
    (
        "attr-filter-dunder",
        "{{ messages|attr('__class__') }}",
        [
            (H, "looks up the private attribute '__class__' with attr"),
            (H, "names the dunder __class__ in a string"),
        ],
    ),
    (
        "attr-filter-computed",
        "{{ messages|attr(request.args.a) }}",
        [
            (H, "looks up an attribute by a computed name"),
            (H, "uses the Jinja/Flask global request, a known sandbox-escape gadget"),
        ],
    ),
    (
        "filter-block-attr-computed",
        "{% filter attr(name) %}x{% endfilter %}",
        [(H, "looks up an attribute by a computed name")],
    ),
    (
        "map-attr-computed",
        "{{ messages|map('attr', name)|list }}",
        [(H, "looks up an attribute by a computed name")],
    ),
    (
        "item-dunder",
        "{{ messages['__class__'] }}",
        [(H, "names the dunder __class__ in a string")],
    ),
    (
        "item-private",
        "{{ loop['_after'] }}",
        [(H, "looks up the private item '_after'")],
    ),
    (
        "map-attribute-private",
        "{{ messages|map(attribute='_x')|list }}",
        [(H, "looks up the private item '_x'")],
    ),
    (
        "escaped-dunder",
        r"{{ messages['\x5f\x5fclass\x5f\x5f'] }}",
        [(H, "names the dunder __class__ in a string")],
    ),
    (
        "named-escape-dunder",
        r"{{ messages['\N{LOW LINE}_init__'] }}",
        [(H, "names the dunder __init__ in a string")],
    ),
    (
        "fullwidth-gadget",
        "{{ " + "".join(chr(ord(c) + 0xFEE0) for c in "lipsum") + " }}",  # fullwidth letters
        [(H, "uses the Jinja/Flask global lipsum, a known sandbox-escape gadget")],
    ),
    (
        "underscore-pieces",
        "{{ messages|attr(('_' * 2) ~ 'class' ~ ('_' * 2)) }}",
        [
            (H, "assembles the name '__class__' from pieces at render time"),
            (H, "looks up an attribute by a computed name"),
            (H, "builds an underscore name from pieces"),
        ],
    ),
    (
        "format-char-codes",
        "{{ messages|attr('%c%cclass%c%c' % (95, 95, 95, 95)) }}",
        [
            (H, "looks up an attribute by a computed name"),
            (H, "formats characters by code (%c), a way to build hidden names"),
        ],
    ),
    ("bare-dunder", "{{ __builtins__ }}", [(H, "uses the dunder name __builtins__")]),
    (
        "frame-attribute",
        "{{ (x for x in y).gi_frame.f_globals }}",
        [
            (H, "reaches the introspection attribute gi_frame"),
            (H, "reaches the introspection attribute f_globals"),
        ],
    ),
    ("include", "{% include 'x' %}", [(H, "includes another template")]),
    ("import", "{% import 'macros.j2' as m %}", [(H, "imports another template")]),
    ("from-import", "{%- from 'm.j2' import f -%}", [(H, "imports from another template")]),
    ("extends", "{% extends 'base.j2' %}", [(H, "extends another template")]),
    (
        "flask-globals",
        "{{ config.items() }}{{ url_for.__globals__ }}{{ get_flashed_messages }}{{ joiner() }}",
        [
            (H, "uses the Jinja/Flask global config, a known sandbox-escape gadget"),
            (H, "uses the Jinja/Flask global url_for, a known sandbox-escape gadget"),
            (H, "reaches the dunder attribute __globals__"),
            (H, "uses the Jinja/Flask global get_flashed_messages, a known sandbox-escape gadget"),
            (H, "uses the Jinja/Flask global joiner, a known sandbox-escape gadget"),
        ],
    ),
    (
        "namespace-dunder",
        "{% set ns = namespace() %}{{ ns.__init__.__globals__ }}",
        [
            (H, "reaches the dunder attribute __init__"),
            (H, "reaches the dunder attribute __globals__"),
        ],
    ),
    (
        "huge-range",
        "{% for i in range(99999999) %}x{% endfor %}",
        [(M, "sizes range() beyond 10000 (CPU or memory exhaustion)")],
    ),
    (
        "range-product",
        "{% for i in range(1000 * 1000) %}x{% endfor %}",
        [(M, "sizes range() beyond 10000 (CPU or memory exhaustion)")],
    ),
    (
        "range-power",
        "{% for i in range(10 ** 9) %}x{% endfor %}",
        [(M, "sizes range() beyond 10000 (CPU or memory exhaustion)")],
    ),
    (
        "range-underscored-literal",
        "{% for i in range(1_000_000_000) %}x{% endfor %}",
        [(M, "sizes range() beyond 10000 (CPU or memory exhaustion)")],
    ),
    (
        "center-filter",
        "{{ 'x'|center(100000000) }}",
        [(M, "sizes center() beyond 10000 (CPU or memory exhaustion)")],
    ),
    (
        "string-repeat",
        "{{ 'A' * 100000000 }}",
        [(M, "multiplies by more than 10000 (memory exhaustion)")],
    ),
    (
        "string-repeat-hex",
        "{{ 0xFFFFFFF * 'A' }}",
        [(M, "multiplies by more than 10000 (memory exhaustion)")],
    ),
    (
        "chained-power",
        "{{ 9 ** 9 ** 9 }}",
        [(M, "raises to a power beyond 1000 or chained (CPU exhaustion)")],
    ),
    (
        "format-width",
        "{{ '%99999999s'|format('x') }}",
        [(M, "formats a field '%99999999' wide (memory exhaustion)")],
    ),
    (
        "str-format-width",
        "{{ '{:>99999999}'.format('x') }}",
        [(M, "formats a field '{:>99999999' wide (memory exhaustion)")],
    ),
    (
        "deep-loops",
        "{% for a in m %}" * (MAX_LOOP_DEPTH + 1) + "{% endfor %}" * (MAX_LOOP_DEPTH + 1),
        [(M, "nests more than 4 for-loops (work multiplies)")],
    ),
    (
        "unterminated-comment-hides-nothing",
        "{# no end {{ cycler.__init__ }}",
        [
            (H, "uses the Jinja/Flask global cycler, a known sandbox-escape gadget"),
            (H, "reaches the dunder attribute __init__"),
        ],
    ),
    (
        "unterminated-raw-hides-nothing",
        "{% raw %}{{ x.__class__ }}",
        [(H, "reaches the dunder attribute __class__")],
    ),
    (
        "end-delimiter-inside-brackets",
        "{{ {'a': {'b': '}}'}} }}{{ x.__class__ }}",
        [(H, "reaches the dunder attribute __class__")],
    ),
    (
        "unterminated-string-hides-nothing",
        "{{ 'abc }}{{ x.__class__ }}",
        [(H, "reaches the dunder attribute __class__")],
    ),
]


@pytest.mark.parametrize(
    ("template", "expected"),
    [(template, expected) for _, template, expected in HOSTILE],
    ids=[name for name, _, _ in HOSTILE],
)
def test_hostile_templates(template: str, expected: list[tuple[Severity, str]]) -> None:
    assert summary(template) == expected


# Names and sizes built at render time, each with the write-up or advisory it comes from.
# PayloadsAllTheThings / HackTricks: the Jinja2 SSTI filter-bypass pages ("Jinja2 - Filter
# bypass"); GHSA-…: the pallets/jinja security advisories of the CVEs named.
BUILT_AT_RENDER_TIME: list[tuple[str, str, str, list[tuple[Severity, str]]]] = [
    (
        "select-string-harvest",
        "SSTI filter bypass: (()|select|string)[24] is '_' (HackTricks, PayloadsAllTheThings)",
        "{% set u = (()|select|string)[24] %}{{ messages[u ~ u ~ 'class' ~ u ~ u] }}",
        [(H, "picks characters out of an object's text (|string)")],
    ),
    (
        "string-list-harvest",
        "SSTI filter bypass: characters of an object's text by |string|list",
        "{% set c = loop|string|list %}{{ messages|attr(c[0] ~ c[0]) }}",
        [
            (H, "picks characters out of an object's text (|string)"),
            (H, "looks up an attribute by a computed name"),
        ],
    ),
    (
        "pprint-harvest",
        "SSTI filter bypass: the same with |pprint",
        "{{ (messages|pprint)[0] }}",
        [(H, "picks characters out of an object's text (|pprint)")],
    ),
    (
        "concatenated-underscores",
        "SSTI filter bypass: '_' ~ '_' concatenation",
        "{{ messages['x'] ~ messages['_' ~ '_' ~ 'class' ~ '_' ~ '_'] }}",
        [
            (H, "assembles the name '__' from pieces at render time"),
            (H, "looks up the private item '_'"),
        ],
    ),
    (
        "underscore-variable",
        "SSTI filter bypass: {% set %} of an underscore, then ~",
        "{% set u = '_' %}{{ messages[1][u ~ u ~ 'class' ~ u ~ u] }}",
        [
            (H, "assembles the name '__' from pieces at render time"),
            (H, "looks up the private item '_'"),
        ],
    ),
    (
        "list-join",
        "SSTI filter bypass: ['_', '_', …]|join",
        "{{ messages[1][['_', '_', 'class', '_', '_']|join] }}",
        [
            (H, "assembles the name '__' from pieces at render time"),
            (H, "looks up the private item '_'"),
        ],
    ),
    (
        "format-pieces",
        "SSTI filter bypass: '%s%sclass%s%s'|format('_', '_', '_', '_')",
        "{{ messages[1]['%s%sclass%s%s'|format('_', '_', '_', '_')] }}",
        [(H, "assembles the name '__class__' from pieces at render time")],
    ),
    (
        "str-format-pieces",
        "SSTI filter bypass: '{0}{0}class{0}{0}'.format('_')",
        "{{ messages[1]['{0}{0}class{0}{0}'.format('_')] }}",
        [(H, "assembles the name '__class__' from pieces at render time")],
    ),
    (
        "percent-pieces",
        "SSTI filter bypass: '%sclass%s' % ('__', '__')",
        "{{ messages[1]['%sclass%s' % ('__', '__')] }}",
        [(H, "assembles the name '__class__' from pieces at render time")],
    ),
    (
        "indexed-literal",
        "SSTI filter bypass: characters picked out of a literal ('x_'[1])",
        "{{ messages[1]['x_'[1] * 2 ~ 'class' ~ 'x_'[-1] * 2] }}",
        [(H, "assembles the name '__class__' from pieces at render time")],
    ),
    (
        "replace-pieces",
        "SSTI filter bypass: a blocked word hidden by replace",
        "{{ messages[1]['XXclassXX'|replace('X', '_')] }}",
        [(H, "assembles the name '__class__' from pieces at render time")],
    ),
    (
        "lower-pieces",
        "SSTI filter bypass: case filters between pieces",
        "{{ messages[1]['_'|lower ~ '_CLASS__'|lower] }}",
        [
            (H, "assembles the name '__class__' from pieces at render time"),
            (H, "looks up the private item '_'"),
        ],
    ),
    (
        "split-dunder",
        "SSTI filter bypass: a blocked word split in two ('__cla' ~ 'ss__')",
        "{{ messages[1]['__cla' ~ 'ss__'] }}",
        [
            (H, "assembles the name '__class__' from pieces at render time"),
            (H, "looks up the private item '__cla'"),
        ],
    ),
    (
        "dict-join",
        "SSTI filter bypass: dict(__=1)|join spells '__' without a quote",
        "{{ messages[1][dict(__=1)|join ~ 'class' ~ dict(__=1)|join] }}",
        [(H, "assembles the name '__class__' from pieces at render time")],
    ),
    (
        "map-attribute-computed",
        "issue #12: |map(attribute=…) with a computed name",
        "{{ messages|map(attribute=name)|list }}",
        [(H, "looks up an attribute by a computed name")],
    ),
    (
        "selectattr-computed",
        "issue #12: |selectattr with a computed name",
        "{{ messages|selectattr(name)|list }}",
        [(H, "looks up an attribute by a computed name")],
    ),
    (
        "map-attribute-dotted-private",
        "Jinja attribute paths: attribute='a._x' reaches a private attribute",
        "{{ messages|map(attribute='a._x')|list }}",
        [(H, "looks up the private item 'a._x'")],
    ),
    (
        "attr-format",
        "CVE-2025-27516, GHSA-cpwx-vrp4-4pq7: |attr('format') escaped the sandbox",
        "{{ ('{0.a}'|attr('format'))(messages) }}",
        [(H, "looks up str.format by name (CVE-2025-27516)")],
    ),
    (
        "format-reference",
        "CVE-2024-56326, GHSA-q2x7-8rv6-6q7h: a stored reference to str.format",
        "{% set f = '{0.a}'.format %}{{ messages|map(f)|list }}",
        [(H, "keeps a reference to str.format without calling it (CVE-2024-56326)")],
    ),
    (
        "format-reference-passed",
        "CVE-2024-56326: the reference passed to a filter that calls it",
        "{{ messages|map(template.format)|list }}",
        [(H, "keeps a reference to str.format without calling it (CVE-2024-56326)")],
    ),
    (
        "format-map-dunder",
        "CVE-2019-10906: str.format_map reached attributes before Jinja 2.10.1",
        "{{ '{0.__class__}'.format_map(messages) }}",
        [
            (H, "names the dunder __class__ in a string"),
            (H, "formats a private attribute '{0.__class__' of an argument"),
        ],
    ),
    (
        "format-field-private",
        "str.format fields reach attributes: the TemplateReference context by format",
        "{{ '{0._TemplateReference__context}'.format(loop) }}",
        [(H, "formats a private attribute '{0._TemplateReference__context' of an argument")],
    ),
    (
        "range-from-variable",
        "issue #12: a range bomb sized through {% set %}",
        "{% set n = 99999999 %}{% for i in range(n) %}x{% endfor %}",
        [(M, "sizes range() beyond 10000 (CPU or memory exhaustion)")],
    ),
    (
        "nested-ranges",
        "Jinja sandbox docs: a small template can render a very large output",
        "{% for i in range(5000) %}{% for j in range(5000) %}x{% endfor %}{% endfor %}",
        [(M, "nests range() loops of more than 10000 iterations in all")],
    ),
    (
        "repeat-chain",
        "issue #12: 'a' * N memory bomb, N split in factors",
        "{{ 'a' * 9000 * 9000 }}",
        [(M, "multiplies by more than 10000 (memory exhaustion)")],
    ),
    (
        "repeat-nested",
        "issue #12: 'a' * N memory bomb, nested",
        "{{ ('a' * 9000) * 9000 }}",
        [(M, "multiplies by more than 10000 (memory exhaustion)")],
    ),
    (
        "repeat-power",
        "issue #12: 'a' * N memory bomb, N a power",
        "{{ 'a' * 2 ** 40 }}",
        [(M, "multiplies by more than 10000 (memory exhaustion)")],
    ),
    (
        "repeat-from-variable",
        "issue #12: 'a' * N memory bomb, N set in a variable",
        "{% set n = 99999999 %}{{ 'a' * n }}",
        [(M, "multiplies by more than 10000 (memory exhaustion)")],
    ),
    (
        "lipsum-globals",
        "CVE-2024-34359 (llama-cpp-python) and SGLang CVE-2026-5760 payloads: lipsum globals",
        "{{ lipsum.__globals__['os'].popen('id').read() }}",
        [
            (H, "uses the Jinja/Flask global lipsum, a known sandbox-escape gadget"),
            (H, "reaches the dunder attribute __globals__"),
        ],
    ),
    (
        "namespace-init-globals",
        "SSTI gadget lists: namespace.__init__.__globals__",
        "{{ namespace.__init__.__globals__ }}",
        [
            (H, "reaches the dunder attribute __init__"),
            (H, "reaches the dunder attribute __globals__"),
        ],
    ),
]


@pytest.mark.parametrize(
    ("template", "expected"),
    [(template, expected) for _, _, template, expected in BUILT_AT_RENDER_TIME],
    ids=[name for name, _, _, _ in BUILT_AT_RENDER_TIME],
)
def test_names_and_sizes_built_at_render_time(
    template: str, expected: list[tuple[Severity, str]]
) -> None:
    assert summary(template) == expected


def test_size_argument_too_long_to_check() -> None:
    template = "{% for i in range(" + " + ".join(["n"] * 20) + ") %}{% endfor %}"
    assert summary(template) == [
        (M, f"sizes range() by an expression of over {MAX_ARGUMENT_TOKENS} tokens")
    ]


def test_message_names_source_line_and_excerpt() -> None:
    template = "{% for m in messages %}\n{{ m.content }}\n{%- endfor %}\n\n{{ ''.__class__ }}"
    risks = analyze_chat_template(template, source="GGUF tokenizer.chat_template")
    assert [risk.message for risk in risks[1:]] == [
        "GGUF tokenizer.chat_template reaches the dunder attribute __class__ at line 5: "
        "{{ ''.__class__ }}"
    ]
    assert risks[1].severity is Severity.HIGH
    assert risks[1].member is None


def test_line_numbers_count_newlines_inside_tags_and_comments() -> None:
    template = "{#\n\n#}{%\nif x\n%}\n{% raw %}\n{% endraw\n%}{{ y.__dict__ }}"
    assert findings(template) == [
        (H, "reaches the dunder attribute __dict__ at line 8: {{ y.__dict__ }}")
    ]


def test_long_excerpts_are_cut() -> None:
    template = "{{ x.__class__ ~ '" + "a" * 500 + "' }}"
    ((_, message),) = findings(template)
    excerpt = message.split(": ", 1)[1]
    assert len(excerpt) == 100
    assert excerpt.startswith("{{ x.__class__ ~ 'aaa")
    assert excerpt.endswith("a…")


def test_each_risk_is_reported_once() -> None:
    template = "{{ a.__class__ }}\n{{ b.__class__ }}\n{{ c.__init__ }}"
    assert findings(template) == [
        (H, "reaches the dunder attribute __class__ at line 1: {{ a.__class__ }}"),
        (H, "reaches the dunder attribute __init__ at line 3: {{ c.__init__ }}"),
    ]


def test_risks_beyond_the_cap_are_summed_up_with_the_worst_severity() -> None:
    medium_first = "{{ 'x' * 20000 }}"
    dunders = "".join(f"{{{{ x.__a{n}__ }}}}" for n in range(MAX_REPORTED_RISKS + 5))
    risks = analyze_chat_template(medium_first + dunders, source=SOURCE)
    assert len(risks) == 1 + MAX_REPORTED_RISKS + 1
    assert risks[1].severity is Severity.MEDIUM
    assert risks[-1] == LoadRisk(
        kind=RiskKind.TEMPLATE,
        severity=Severity.HIGH,
        message=f"{SOURCE} has 6 more template risks, not listed",
    )


# --- what real templates do, which must stay quiet ------------------------------------------

BENIGN: list[tuple[str, str]] = [
    ("macro-with-underscore-names", "{%- macro __render(tool) %}{{ tool.name }}{% endmacro %}"),
    ("macro-call", "{{- __render(tools[0]) }}"),
    ("namespace", "{% set ns = namespace(is_first=false, config=1) %}{{ ns.is_first }}"),
    ("loop-variable-named-like-a-gadget", "{% for config in tools %}{{ config.name }}{% endfor %}"),
    ("set-variable-named-like-a-gadget", "{% set request = messages[-1] %}{{ request.content }}"),
    ("macro-parameter", "{% macro show(self, request) %}{{ self }}{{ request }}{% endmacro %}"),
    ("with", "{% with config = tools %}{{ config }}{% endwith %}"),
    ("attribute-named-like-a-gadget", "{{ message.config }}{{ tool.request }}"),
    ("small-range", "{% for i in range(3) %}{{ i }}{% endfor %}"),
    ("range-of-a-variable", "{% for i in range(messages|length) %}{{ i }}{% endfor %}"),
    ("small-multiplication", "{{ '=' * 40 }}{{ n * 2 }}{{ 2 ** 10 }}"),
    ("underscore-joins", "{{ tool.name ~ '_' ~ n }}{{ name.replace(' ', '_') }}"),
    ("literal-attr", "{{ message|attr('content') }}"),
    ("dunder-in-comment", "{# {{ x.__class__ }} #}hello"),
    ("dunder-in-raw", "{%- raw -%}{{ x.__class__ }}{%- endraw -%}"),
    ("dunder-in-text", "Say __init__ and {{ '{' }} cycler }}"),
    ("strings-with-delimiters", "{{ '{%' }}{{ \"%}\" }}{{ '}}' }}{{ '{#' }}"),
    ("markdown-in-strings", "{{ '**bold** and _it_ and __' }}"),
    (
        "four-nested-loops",
        "{% for a in m %}" * 4 + "{% endfor %}" * 4 + "{% for b in m %}{% endfor %}",
    ),
    ("percent-in-text", "{{ '100%' }}{{ 'a %s b'|format(x) }}"),
    ("is-defined", "{% if not add_generation_prompt is defined %}{% endif %}"),
    ("negative-index", "{{ content.split('</think>')[-1].lstrip('\\n') }}"),
    ("slicing", "{% for message in messages[::-1] %}{{ loop.index0 }}{% endfor %}"),
    ("tojson", "{{ tool|tojson(indent=4) }}"),
    ("replace-underscores", "{{ name|replace('__', '_') }}{{ name.replace('-', '_') }}"),
    ("underscore-variable-between-names", "{% set sep = '_' %}{{ tool.name ~ sep ~ n }}"),
    ("special-tokens", "{{ '<|' ~ message.role ~ '|>' }}{{ '<|' + 'im_start' + '|>' }}"),
    ("string-filter", "{{ message.content|string|trim }}{{ (n|string) ~ '_' }}"),
    ("format-pieces", "{{ '%s_%s'|format(a, b) }}{{ '{}: {}'.format(k, v) }}"),
    ("schema-format-field", "{% if param.format %}{{ param.format|e }}{% endif %}"),
    ("folded-literals", "{{ '%s_%s'|format('a', 'b') }}{{ '{0}_{1}'.format('x', 'y') }}"),
    ("literal-index", "{{ 'abc'[0] ~ '_' ~ 'def'[-1] }}{{ 'a_b'|replace('_', ' ') }}"),
    ("huge-fold-is-skipped", "{{ ('{0}' * 4)|replace('0', '1') }}{{ '%s'|format('x' * 4) }}"),
    ("map-attribute-literal", "{{ tools|map(attribute='function.name')|join(', ') }}"),
    ("selectattr-literal", "{{ tools|selectattr('type', 'equalto', 'function')|list }}"),
    (
        "small-nested-ranges",
        "{% for i in range(3) %}{% for j in range(30) %}{% endfor %}{% endfor %}",
    ),
    ("small-products", "{{ '=' * 40 ~ '-' * 40 }}{{ n * 2 * 3 }}"),
    ("separate-products", "{{ ('=' * 200) ~ (n * 100) }}{{ '-' * 9000 ~ x ~ '=' * 9000 }}"),
    ("set-number", "{% set width = 80 %}{{ '-' * width }}{% for i in range(width) %}{% endfor %}"),
]


@pytest.mark.parametrize("template", [t for _, t in BENIGN], ids=[n for n, _ in BENIGN])
def test_benign_constructs_stay_quiet(template: str) -> None:
    assert findings(template) == []


# --- size and robustness --------------------------------------------------------------------


def test_template_over_the_cap_is_not_analysed() -> None:
    filler = "x" * (MAX_TEMPLATE_BYTES - len("{{ a.__class__ }}") + 1)
    template = "{{ a.__class__ }}" + filler
    assert findings(template) == [
        (
            M,
            f"{SOURCE}: chat template is {MAX_TEMPLATE_BYTES + 1} bytes, over the "
            f"{MAX_TEMPLATE_BYTES}-byte cap: too large to analyse",
        )
    ]
    assert findings(template[:-1]) == [
        (H, "reaches the dunder attribute __class__ at line 1: {{ a.__class__ }}")
    ]


def test_size_counts_utf8_bytes() -> None:
    (present,) = analyze_chat_template("Пользователь", source="chat_template.jinja")
    assert present.message.startswith("chat_template.jinja: chat template present (24 bytes)")


@pytest.mark.parametrize(
    ("prefix", "unit"),
    [
        ("{{ ", "1."),  # a token per byte
        ("{{ ", "'\\"),  # an unclosed quote at every other byte
        ("", "{#"),  # an unclosed comment at every other byte
        ("", "{% raw %}"),  # an unclosed raw section each time
        ("", "{% "),  # a tag that never ends, full of brackets
        ("", "{{}}"),  # a block every four bytes
        ("{{ ", "a "),
        ("{{ ", "x.__a__"),
        ("{{ ", "range("),  # nested calls whose arguments never close
        ("{{ ", "x|attr("),
        ("{{ ", "x|center("),
        ("{{ ", "x|map(attribute="),
        ("{{ ", "dict(a=1,"),
        ("{{ ", "'_'~"),
        ("{{ ", "'a'*9*"),
        ("", "{% for i in range(9) %}"),  # loops nested ever deeper
        ("", "{% set a = 1 %}{{ a }}"),
        ("{{ 'a'", "*4"),  # a literal folded through ever more operations
        ("{{ 'a'", "|lower"),
        ("{{ 'aaaa'", "|replace('a','aa')"),
        ("{{ ", "'{0}{0}{0}{0}'.format('abcdefgh')~"),
    ],
)
def test_worst_case_templates_at_the_cap_are_fast(prefix: str, unit: str) -> None:
    template = prefix + unit * ((MAX_TEMPLATE_BYTES - len(prefix)) // len(unit))
    started = time.perf_counter()
    risks = analyze_chat_template(template, source=SOURCE)
    assert time.perf_counter() - started < 5
    assert risks[0].severity is Severity.INFO


def test_lone_surrogates_and_nul() -> None:
    risks = analyze_chat_template("\ud800{{ '\udfff\x00' ~ x.__class__ }}", source=SOURCE)
    assert [risk.severity for risk in risks] == [Severity.INFO, Severity.HIGH]
    assert "(29 bytes)" in risks[0].message  # 25 characters, two of them 3-byte surrogates


@settings(max_examples=300, deadline=None)
@given(template=st.text(max_size=400))
def test_fuzz_any_text(template: str) -> None:
    check_never_raises(template)


FRAGMENTS = [
    "{{", "}}", "{%", "%}", "{#", "#}", "-", "+", "'", '"', "\\", "(", ")", "[", "]", "{", "}",
    "raw", "endraw", "for", "endfor", "in", "range", "*", "**", "9" * 30, "1e999", "0x",
    "__class__", ".", "|", "attr", "_", "%c", "%99999s", "format", "cycler", "set", "=", ",",
    "include", " ", "\n", "é", "\x00",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(st.sampled_from(FRAGMENTS), max_size=60))
def test_fuzz_template_fragments(pieces: list[str]) -> None:
    check_never_raises("".join(pieces))


def check_never_raises(template: str) -> None:
    try:
        risks = analyze_chat_template(template, source=SOURCE)
    except MalformedFileError:  # allowed by the reader contract, though never raised here
        pytest.fail("analyze_chat_template raised MalformedFileError")
    assert risks[0].severity is Severity.INFO
    assert all(risk.kind is RiskKind.TEMPLATE for risk in risks)
    assert all(risk.message.startswith(SOURCE) for risk in risks)
    assert len(risks) <= MAX_REPORTED_RISKS + 2


def test_an_unknown_escape_in_a_string_is_kept_without_a_warning() -> None:
    # Found by test_fuzz_template_fragments: '\{' made the unicode-escape codec warn (an error
    # under the test settings), which would have ended the analysis of the template.
    risks = analyze_chat_template("{{ '\\{' }}{{ 'a' }}", source="t")
    assert [risk.severity for risk in risks] == [Severity.INFO]
