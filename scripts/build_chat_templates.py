"""Build scanner/sources/data/chat_templates.json from real published chat templates.

Usage: python scripts/build_chat_templates.py SDIST [--as-of YYYY-MM-DD]

SDIST is llama-cpp-python's source distribution from PyPI (``pip download --no-deps
--no-binary :all: llama-cpp-python``). It vendors llama.cpp, which tests its chat formats on
templates copied from Hub repos:

* ``models/templates/*.jinja``, each named in ``models/templates/README.md`` by the command
  that fetched it from its repo (``get_chat_template.py ORG/NAME [VARIANT] > FILE``);
* ``tests/test-chat-template.cpp``, whose test cases carry a template under the name of the
  repo it comes from (``/* .name= */ "ORG/NAME"``), unless a comment between the two says the
  template is not the repo's own.

A template is kept only when its repo is named that way; the others are reported and left out
(never guessed). Identical templates (same signature once whitespace is taken out) become one
entry listing each repo. Nothing is rendered or run: the files are read as text and the C++
string literals decoded by a regular expression.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tarfile
from pathlib import Path
from typing import Final

from scanner.formats.model.chat_template_text import TemplatePrint, template_print
from scanner.sources.chat_templates import encode_sketch

OUTPUT: Final = Path(__file__).resolve().parents[1] / "scanner/sources/data/chat_templates.json"
_TEMPLATES: Final = "vendor/llama.cpp/models/templates/"
_README: Final = _TEMPLATES + "README.md"
_TESTS: Final = "vendor/llama.cpp/tests/test-chat-template.cpp"
_FETCHED: Final = re.compile(
    r"get_chat_template\.py\s+(?P<repo>[\w.-]+/[\w.-]+)(?:\s+(?P<variant>[\w-]+))?\s*>\s*"
    r"models/templates/(?P<file>[\w.-]+\.jinja)"
)
_CASE: Final = re.compile(
    r'/\* \.name= \*/ "(?P<name>[^"]+)",\s*/\* \.template_str=? \*/ (?:U8C\(|u8)?'
    r'"(?P<body>(?:[^"\\]|\\.)*)"'
)
_REPO: Final = re.compile(r"^[\w.-]+/[\w.-]+$")
_ESCAPES: Final = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "'": "'", "\\": "\\"}


def main() -> int:
    """Read the sdist's templates and write the database."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sdist", type=Path)
    parser.add_argument("--as-of", default=None, help="the date the sources were read")
    args = parser.parse_args()
    version = re.search(r"llama_cpp_python-([\w.]+)\.tar\.gz$", args.sdist.name)
    if version is None:
        parser.error("SDIST must be llama_cpp_python-VERSION.tar.gz")
    package = f"PyPI llama-cpp-python {version[1]}"
    found: list[tuple[str, str, TemplatePrint, str]] = []  # (repo, variant, print, path)
    with tarfile.open(args.sdist) as archive:
        members = {m.name.partition("/")[2]: m for m in archive.getmembers() if m.isfile()}

        def text(path: str) -> str:
            stream = archive.extractfile(members[path])
            if stream is None:
                raise SystemExit(f"{path}: not a regular file in {args.sdist}")
            return stream.read().decode("utf-8")

        named: dict[str, list[tuple[str, str]]] = {}
        for fetched in _FETCHED.finditer(text(_README)):
            fetched_from = (fetched["repo"], fetched["variant"] or "default")
            named.setdefault(fetched["file"], []).append(fetched_from)
        for path in sorted(p for p in members if p.startswith(_TEMPLATES) and p.endswith(".jinja")):
            file = path.removeprefix(_TEMPLATES)
            if file not in named:
                print(f"left out (no repo named for it): {path}", file=sys.stderr)
                continue
            print_ = template_print(text(path))
            found += [(repo, variant, print_, path) for repo, variant in named[file]]
        for case in _CASE.finditer(text(_TESTS)):
            name, body = case["name"], _decode(case["body"])
            if not _REPO.match(name):
                print(f"left out (not a repo name): {name!r} in {_TESTS}", file=sys.stderr)
                continue
            found.append((name, "default", template_print(body), _TESTS))
    entries: dict[str, dict[str, object]] = {}
    for repo, variant, print_, path in found:
        entry = entries.setdefault(
            print_.signature,
            {
                "signature": print_.signature,
                "sketch": encode_sketch(print_.sketch),
                "templates": [],
                "source": [],
            },
        )
        template = {"repo": repo, "variant": variant}
        if template not in entry["templates"]:  # type: ignore[operator]
            entry["templates"].append(template)  # type: ignore[attr-defined]
        if f"{package}: {path}" not in entry["source"]:  # type: ignore[operator]
            entry["source"].append(f"{package}: {path}")  # type: ignore[attr-defined]
    document = {
        "about": "Published chat templates; built by scripts/build_chat_templates.py",
        "as_of": args.as_of,
        "entries": sorted(entries.values(), key=lambda e: json.dumps(e["templates"])),
    }
    OUTPUT.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(entries)} templates of {len({r for r, *_ in found})} repos -> {OUTPUT}")
    return 0


def _decode(literal: str) -> str:
    """A C++ string literal's body as text (the escapes llama.cpp's tests use)."""
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], "\\" + m[1]), literal)


if __name__ == "__main__":
    sys.exit(main())
