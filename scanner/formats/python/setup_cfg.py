"""Read the dependencies a setuptools setup.cfg declares (``[options]`` and extras_require)."""

from __future__ import annotations

import configparser
from bisect import bisect_left
from typing import TYPE_CHECKING

from packaging.utils import InvalidName, canonicalize_name

from scanner.core.capped_io import read_text_capped
from scanner.core.errors import MalformedFileError
from scanner.formats.python.dependency_fields import (
    MAX_GROUPS,
    MAX_PACKAGES,
    ProblemLog,
    at_line,
    document_location,
    package_from_requirement,
    quoted,
    requirement_problem,
)
from scanner.formats.python.document_kind import DocumentKind
from scanner.formats.python.pep508 import parse_pep508
from scanner.formats.python.records import (
    DependencyDocument,
    DependencyScope,
    literal_version,
)

if TYPE_CHECKING:
    from pathlib import Path

    from scanner.formats.python.records import PythonPackage

#: Largest setup.cfg read, in bytes; real ones are a few KB.
SETUP_CFG_MAX_BYTES = 1024 * 1024
#: configparser copies its default section into every other one; setuptools has no such
#: section, so a ``[DEFAULT]`` in the file is read as an ordinary (ignored) section.
_NO_DEFAULT_SECTION = "\x00no default section"
_OPTIONS = "options"
_EXTRAS = "options.extras_require"
#: [options] keys read, with the scope and groups of what they list.
_OPTION_KEYS: tuple[tuple[str, DependencyScope, tuple[str, ...]], ...] = (
    ("install_requires", DependencyScope.REQUIRED, ()),
    ("setup_requires", DependencyScope.DEV, ("setup",)),
    ("tests_require", DependencyScope.DEV, ("tests",)),
)


def read_setup_cfg(path: Path, root: Path) -> DependencyDocument:
    """Read ``[metadata] name`` and the requirements of a setup.cfg, as setuptools reads them.

    ``install_requires`` is required, ``setup_requires`` and ``tests_require`` are dev (groups
    ``setup`` and ``tests``), ``[options.extras_require]`` is optional (grouped by extra).
    Requirements that cannot be read, and ``file:`` directives, are ``problems``.

    Raises:
        MalformedFileError: too large, not UTF-8, or not an ini file configparser accepts.
        OSError: the file cannot be opened or read.
    """
    text = read_text_capped(path, max_bytes=SETUP_CFG_MAX_BYTES)
    parser = configparser.ConfigParser(interpolation=None, default_section=_NO_DEFAULT_SECTION)
    try:
        parser.read_string(text)
    except configparser.Error as error:
        reason = str(error).split("\n", 1)[0]
        raise MalformedFileError(f"invalid setup.cfg: {reason[:200]}") from None
    location = document_location(path, root)
    reader = _SetupCfgReader(location, _IniLines(text))
    project = reader.project_name(parser)
    version = _option(parser, "metadata", "version")
    for key, scope, groups in _OPTION_KEYS:
        found = _option(parser, _OPTIONS, key)
        if found is not None:
            spelled, value = found
            reader.read_list(value, (_OPTIONS, spelled), scope, groups)
    if parser.has_section(_EXTRAS):
        for extra in parser.options(_EXTRAS)[:MAX_GROUPS]:
            reader.read_extra(extra, parser.get(_EXTRAS, extra))
    return DependencyDocument(
        location=location,
        kind=DocumentKind.SETUP_CFG,
        packages=tuple(reader.packages),
        project=project,
        project_version=literal_version(version[1] if version else None),
        problems=reader.problems.freeze(),
    )


def requirement_items(value: str) -> list[str]:
    """Split a requirements value as setuptools does.

    One requirement per line when the value spans lines, else ``;``-separated (so a marker
    needs the multi-line form); blank lines and ``#`` comments are dropped.
    """
    chunks = value.splitlines() if "\n" in value else value.split(";")
    items = (chunk.strip() for chunk in chunks)
    return [item for item in items if item and not item.startswith("#")]


def _option(parser: configparser.ConfigParser, section: str, key: str) -> tuple[str, str] | None:
    """(spelling, value) of a key under its setuptools name or the older dashed spelling."""
    for spelled in (key, key.replace("_", "-")):
        if parser.has_option(section, spelled):
            return spelled, parser.get(section, spelled)
    return None


class _SetupCfgReader:
    """Collects the packages and problems of one setup.cfg."""

    def __init__(self, location: str, lines: _IniLines) -> None:
        self._location = location
        self._lines = lines
        self.problems = ProblemLog()
        self.packages: list[PythonPackage] = []

    def project_name(self, parser: configparser.ConfigParser) -> str | None:
        """The canonical ``[metadata] name``, when it is a valid one."""
        found = _option(parser, "metadata", "name")
        if found is None or not found[1].strip():
            return None
        name = found[1]
        try:
            return canonicalize_name(name.strip(), validate=True)
        except InvalidName:
            where = at_line(self._location, self._lines.key_line("metadata", "name"))
            self.problems.add(f"{where}: project name {quoted(name.strip())} is not a valid name")
            return None

    def read_extra(self, extra: str, value: str) -> None:
        """Read one ``[options.extras_require]`` entry."""
        try:
            group = canonicalize_name(extra, validate=True)
        except InvalidName:
            where = at_line(self._location, self._lines.key_line(_EXTRAS, extra))
            self.problems.add(f"{where}: extra {quoted(extra)} is not a valid name")
            return
        self.read_list(value, (_EXTRAS, extra), DependencyScope.OPTIONAL, (group,))

    def read_list(
        self,
        value: str,
        key: tuple[str, str],
        scope: DependencyScope,
        groups: tuple[str, ...],
    ) -> None:
        """Read one requirements value into packages of ``scope`` and ``groups``."""
        if value.strip().startswith(("file:", "attr:")):
            where = at_line(self._location, self._lines.key_line(*key))
            directive = value.strip().split(":", 1)[0]
            self.problems.add(f"{where}: {key[1]} uses '{directive}:', which is not followed")
            return
        for item in requirement_items(value):
            line = self._lines.item_line(key, item)
            try:
                requirement = parse_pep508(item)
            except ValueError as error:
                self.problems.add(requirement_problem(self._location, line, item, str(error)))
                continue
            if len(self.packages) >= MAX_PACKAGES:
                self.problems.add(
                    f"{self._location}: more than {MAX_PACKAGES} packages; the rest is not read"
                )
                return
            self.packages.append(
                package_from_requirement(requirement, scope=scope, groups=groups, line=line)
            )


class _IniLines:
    """Best-effort line numbers of the keys and value lines of an ini text.

    Follows configparser's layout: ``[section]`` headers, ``key = value`` (or ``key: value``)
    lines, indented continuation lines; ``#`` and ``;`` comment lines. Keys are lowercased as
    configparser does.
    """

    def __init__(self, text: str) -> None:
        self._keys: dict[tuple[str, str], int] = {}
        self._first_line_items: dict[tuple[str, str], set[str]] = {}
        self._values: dict[tuple[tuple[str, str], str], list[int]] = {}
        self._cursor: dict[tuple[str, str], int] = {}
        self._used: dict[tuple[tuple[str, str], str], int] = {}
        section = ""
        key: tuple[str, str] | None = None
        for number, line in enumerate(text.split("\n"), start=1):
            stripped = line.strip()
            if not stripped or stripped.startswith(("#", ";")):
                continue
            if line[0].isspace():
                if key is not None:
                    self._values.setdefault((key, stripped), []).append(number)
                continue
            if stripped.startswith("[") and stripped.endswith("]"):
                section, key = stripped[1:-1], None
                continue
            key = self._key_line(section, number, stripped)

    def _key_line(self, section: str, number: int, stripped: str) -> tuple[str, str] | None:
        """Index a ``key = value`` line; return the key, or None when the line is not one."""
        positions = [p for p in (stripped.find("="), stripped.find(":")) if p > 0]
        if not positions:
            return None
        separator = min(positions)
        key = (section, stripped[:separator].strip().lower())
        self._keys.setdefault(key, number)
        # a one-line value is ";"-separated (see requirement_items)
        items = {item.strip() for item in stripped[separator + 1 :].split(";")}
        self._first_line_items.setdefault(key, items)
        return key

    def key_line(self, section: str, key: str) -> int | None:
        """The line of ``key`` in ``section``, when found."""
        return self._keys.get((section, key.lower()))

    def item_line(self, key: tuple[str, str], item: str) -> int | None:
        """The line of the next value line equal to ``item`` under ``key`` (or the key's line)."""
        located = (key[0], key[1].lower())
        occurrence = (located, item)
        lines = self._values.get(occurrence)
        if lines:
            # after the previous item, and past earlier uses of the same line text
            position = max(
                bisect_left(lines, self._cursor.get(located, 0)), self._used.get(occurrence, 0)
            )
            if position < len(lines):
                self._used[occurrence] = position + 1
                self._cursor[located] = lines[position]
                return lines[position]
        if item in self._first_line_items.get(located, set()):
            return self._keys[located]
        return None
