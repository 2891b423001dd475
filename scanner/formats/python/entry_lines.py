"""Where each package of a lockfile is written: the line a finding about it points at.

``tomllib`` and ``json`` give no positions, so the text is read once more, line by line: a TOML
lock's ``[[package]]`` (``[[packages]]``) header starts an entry whose ``name`` and ``version``
keys name it; a ``Pipfile.lock``'s package is the key of an object inside a section. A package
the text does not show plainly keeps no line (its findings go to the file's first line).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace

from packaging.utils import canonicalize_name

from scanner.formats.python.records import PythonPackage

#: A key of an entry's own table: ``name = "torch"`` or ``name = 'torch'``.
_TOML_KEY = re.compile(r"""\s*(name|version)\s*=\s*(?:"([^"\\]*)"|'([^']*)')\s*(?:#.*)?""")
#: Any table header: the end of an entry's own keys.
_TOML_HEADER = re.compile(r"\s*\[")
#: A key opening an object: ``"torch": {``.
_JSON_OBJECT_KEY = re.compile(r'(\s*)"((?:[^"\\]|\\.)*)"\s*:\s*\{')
#: Pipfile.lock's sections of packages (Pipenv's custom categories too: any but ``_meta``).
_PIPFILE_META = "_meta"

#: (canonical name, version or None) → 1-based line.
EntryLines = Mapping[tuple[str, str | None], int]


def toml_entry_lines(text: str, array: str) -> dict[tuple[str, str | None], int]:
    """The line of each ``[[array]]`` header, keyed by its entry's name and version."""
    header = re.compile(rf"\s*\[\[\s*{re.escape(array)}\s*\]\]\s*(?:#.*)?")
    found: dict[tuple[str, str | None], int] = {}
    start: int | None = None
    keys: dict[str, str] = {}

    def close() -> None:
        if start is not None and "name" in keys:
            found.setdefault((canonicalize_name(keys["name"]), keys.get("version")), start)

    for number, line in enumerate(text.splitlines(), start=1):
        if header.fullmatch(line):
            close()
            start, keys = number, {}
        elif _TOML_HEADER.match(line):
            close()
            start, keys = None, {}
        elif start is not None and (key := _TOML_KEY.fullmatch(line)) is not None:
            keys.setdefault(key[1], key[2] if key[2] is not None else key[3])
    close()
    return found


def pipfile_entry_lines(text: str) -> dict[tuple[str, str | None], int]:
    """The line of each package key of a ``Pipfile.lock`` (pretty-printed, as Pipenv writes
    it), keyed by name with no version (a section does not repeat a name)."""
    found: dict[tuple[str, str | None], int] = {}
    top: int | None = None  # the indent of the sections' keys
    in_section = False
    package_indent: int | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        key = _JSON_OBJECT_KEY.match(line)
        if key is None:
            continue
        indent = len(key[1])
        if top is None or indent <= top:
            top, in_section, package_indent = indent, key[2] != _PIPFILE_META, None
        elif in_section:
            package_indent = indent if package_indent is None else package_indent
            if indent == package_indent:
                found.setdefault((canonicalize_name(key[2]), None), number)
    return found


def with_entry_lines(
    packages: Iterable[PythonPackage], lines: EntryLines
) -> tuple[PythonPackage, ...]:
    """``packages`` with the line of their entry, where the text shows it."""
    located = []
    for package in packages:
        line = lines.get((package.name, package.version)) or lines.get((package.name, None))
        located.append(replace(package, line=line) if line and package.line is None else package)
    return tuple(located)
