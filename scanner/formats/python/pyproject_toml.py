"""Read the dependencies a pyproject.toml declares: PEP 621, PEP 735 groups and Poetry tables."""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import InvalidName, canonicalize_name
from packaging.version import Version

from scanner.core.capped_io import parse_toml_text, read_text_capped
from scanner.formats.python.dependency_fields import (
    MAX_GROUPS,
    MAX_PACKAGES,
    ProblemLog,
    at_line,
    direct_url_artifacts,
    document_location,
    package_from_requirement,
    quoted,
    redact_url,
    requirement_problem,
)
from scanner.formats.python.document_kind import DocumentKind
from scanner.formats.python.pep508 import (
    MAX_REQUIREMENT_CHARS,
    archive_filename,
    archive_version,
    normalized_extras,
    parse_marker,
    parse_pep508,
    pinned_version,
)
from scanner.formats.python.records import (
    Artifact,
    DependencyDocument,
    DependencyScope,
    PythonPackage,
    literal_version,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from pathlib import Path

    from packaging.requirements import Requirement

#: Largest pyproject.toml read, in bytes; real ones are under 50 KB.
PYPROJECT_MAX_BYTES = 4 * 1024 * 1024
#: Most ``{include-group}`` entries and self-referencing extras followed per table.
MAX_GROUP_INCLUDES = 10_000
#: How much of a line the key and table-header patterns look at (line numbers are best effort).
_KEY_SCAN_CHARS = 1024

_KEY_PART = re.compile(r"""\s*(?:([A-Za-z0-9_-]+)|"((?:[^"\\]|\\.)*+)"|'([^']*+)')\s*""")
_KEY = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*+"|'[^']*+')"""
_KEY_LINE = re.compile(rf"\s*({_KEY}(?:\s*\.\s*{_KEY})*+)\s*=")
_TABLE_HEADER = re.compile(r"\s*\[\[?([^\[\]]*)\]\]?\s*(?:#.*)?$")
_QUOTE_OR_COMMENT = re.compile(r"""["'#]""")
_BASIC_STRING_REST = re.compile(r"""(?:[^"\\]|\\.)*+\"""")
_POETRY_OPERATOR_GAP = re.compile(r"(===|==|!=|~=|<=|>=|<|>|\^|~|=)\s+")
_POETRY_SEPARATOR = re.compile(r"[,\s]+")
_POETRY_WILDCARD = re.compile(r"(?:\.[xX*])+$")
_SCP_LIKE = re.compile(r"([\w.-]+@)?([\w.-]+):(?!//)(.+)")
_COMPARISONS = ("===", "==", "!=", "<=", ">=", "<", ">")

#: Which kind of requirement list is read: [project] dependencies, an extra, a dependency group.
_ListKind = Literal["required", "extras", "groups"]


def read_pyproject(path: Path, root: Path) -> DependencyDocument:
    """Read the dependencies declared by the pyproject.toml at ``path``.

    ``[project]`` dependencies are required and its optional-dependencies optional (grouped by
    extra); PEP 735 ``[dependency-groups]`` and Poetry dev groups are dev. Poetry's ``^`` and
    ``~`` constraints are translated to PEP 440. Entries that cannot be read are ``problems``.

    Raises:
        MalformedFileError: the file is too large, not UTF-8 or not TOML.
        OSError: the file cannot be opened or read.
    """
    text = read_text_capped(path, max_bytes=PYPROJECT_MAX_BYTES)
    data = parse_toml_text(text)
    location = document_location(path, root)
    reader = _PyprojectReader(location, _TomlLines(text))
    reader.read(data)
    return DependencyDocument(
        location=location,
        kind=DocumentKind.PYPROJECT,
        packages=tuple(reader.packages),
        project=reader.project,
        project_version=reader.project_version,
        problems=reader.problems.freeze(),
    )


def poetry_constraint_to_specifier(constraint: str) -> str:
    """Translate a Poetry version constraint into a PEP 440 specifier, as ``packaging`` prints it.

    ``^1.2.3`` → ``<2.0.0,>=1.2.3``, ``^0.2.3`` → ``<0.3.0,>=0.2.3``, ``~1.2`` → ``<1.3,>=1.2``,
    ``*`` → ``""``, ``1.2.3`` → ``==1.2.3``, ``1.2.*`` → ``==1.2.*``; PEP 440 clauses pass through.

    Raises:
        ValueError: the constraint is not valid, or has alternatives (``||``), which PEP 440
            cannot express.
    """
    if len(constraint) > MAX_REQUIREMENT_CHARS:
        raise ValueError(f"longer than {MAX_REQUIREMENT_CHARS} characters")
    if "|" in constraint:
        raise ValueError("alternatives ('||') have no PEP 440 equivalent")
    text = _POETRY_OPERATOR_GAP.sub(r"\1", constraint.strip())
    clauses = [
        clause for part in _POETRY_SEPARATOR.split(text) if part for clause in _poetry_clause(part)
    ]
    try:
        return str(SpecifierSet(",".join(clauses)))
    except InvalidSpecifier as error:
        raise ValueError(str(error).split("\n", 1)[0]) from None


def _poetry_clause(part: str) -> list[str]:
    if part in ("*", "x", "X"):
        return []
    if part.startswith("^"):
        version = _version(part[1:])
        release = version.release
        if release[0] > 0 or len(release) == 1:
            position = 0
        elif release[1] > 0 or len(release) == 2:
            position = 1
        else:
            position = 2
        return [f">={version}", f"<{_bumped(version, position)}"]
    if part.startswith("~") and not part.startswith("~="):
        version = _version(part[1:])
        return [f">={version}", f"<{_bumped(version, 0 if len(version.release) < 2 else 1)}"]
    for operator in _COMPARISONS:
        if part.startswith(operator):
            operand = part[len(operator) :]
            if operator in ("==", "!="):
                operand = _POETRY_WILDCARD.sub(".*", operand)
            return [operator + operand]
    if part.startswith("~="):
        return [part]
    return ["==" + _POETRY_WILDCARD.sub(".*", part.removeprefix("="))]


def _version(text: str) -> Version:
    try:
        return Version(text)
    except ValueError:  # InvalidVersion, or a number past Python's int digit limit
        raise ValueError(f"{text[:60]!r} is not a version") from None


def _bumped(version: Version, position: int) -> str:
    """The release with part ``position`` incremented and the later parts zeroed."""
    release = version.release
    parts = [*release[:position], release[position] + 1] + [0] * (len(release) - position - 1)
    epoch = f"{version.epoch}!" if version.epoch else ""
    return epoch + ".".join(str(part) for part in parts)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Declaration:
    """One requirement string of a dependency list, with where it was found."""

    requirement: Requirement
    line: int | None


@dataclass(slots=True, kw_only=True)
class _Group:
    """An extra or dependency group: its own requirements, and the groups it pulls in."""

    declarations: list[_Declaration]
    includes: list[str]
    """Other groups of the same table it pulls in (``{include-group}`` or ``project[extra]``)."""
    self_extras: list[str]
    """Extras of the project itself it pulls in (``project[extra]`` in a dependency group)."""


class _PyprojectReader:
    """Collects the packages and problems of one pyproject.toml."""

    def __init__(self, location: str, lines: _TomlLines) -> None:
        self._location = location
        self._lines = lines
        self.problems = ProblemLog()
        self.packages: list[PythonPackage] = []
        self.project: str | None = None
        self.project_version: str | None = None
        self._extras: dict[str, _Group] = {}
        self._full = False

    def read(self, data: Mapping[str, object]) -> None:
        """Read every dependency table of the parsed document."""
        project = self._table(data, "project")
        tool = self._table(data, "tool")
        poetry = self._table(tool, "tool", "poetry") if tool is not None else None
        self.project = self._project_name(project, poetry)
        self.project_version = next(
            (
                literal_version(table.get("version"))
                for table in (project, poetry)
                if table is not None and literal_version(table.get("version"))
            ),
            None,
        )
        declared: set[str] = set()
        if project is not None:
            declared = self._pep621(project)
        groups = self._table(data, "dependency-groups")
        if groups is not None:
            self._dependency_groups(groups)
        if poetry is not None:
            self._poetry(poetry, declared)

    def _where(self, line: int | None, path: tuple[str, ...]) -> str:
        return at_line(self._location, line) if line else f"{self._location}: {'.'.join(path)}"

    def _table(self, container: Mapping[str, object], *path: str) -> dict[str, object] | None:
        value = container.get(path[-1])
        if value is None:
            return None
        if not isinstance(value, dict):
            where = at_line(self._location, self._lines.key_line(path))
            self.problems.add(f"{where}: [{'.'.join(path)}] is not a table")
            return None
        return value

    def _project_name(
        self, project: Mapping[str, object] | None, poetry: Mapping[str, object] | None
    ) -> str | None:
        for table, path in ((project, ("project",)), (poetry, ("tool", "poetry"))):
            if table is None:
                continue
            name = table.get("name")
            if isinstance(name, str):
                return self._canonical(name, (*path, "name"), what="project name")
        return None

    def _canonical(self, name: str, path: tuple[str, ...], *, what: str) -> str | None:
        try:
            return canonicalize_name(name, validate=True)
        except InvalidName:
            where = self._where(self._lines.key_line(path), path)
            self.problems.add(f"{where}: {what} {quoted(name)} is not a valid name")
            return None

    def _emit(self, package: PythonPackage) -> None:
        if len(self.packages) < MAX_PACKAGES:
            self.packages.append(package)
        elif not self._full:
            self._full = True
            self.problems.add(
                f"{self._location}: more than {MAX_PACKAGES} packages; the rest is not read"
            )

    # PEP 621 and PEP 735

    def _pep621(self, project: Mapping[str, object]) -> set[str]:
        """Read [project]; return the canonical names its ``dependencies`` declare."""
        required = _Group(declarations=[], includes=[], self_extras=[])
        if "dependencies" in project:
            required = self._group(project["dependencies"], ("project", "dependencies"), "required")
        optional = project.get("optional-dependencies")
        if isinstance(optional, dict):
            self._extras = self._groups(optional, ("project", "optional-dependencies"), "extras")
        elif optional is not None:
            self._wrong_type(("project", "optional-dependencies"), "a table")
        for declaration in required.declarations:
            self._emit_requirement(declaration, DependencyScope.REQUIRED, ())
        for declaration in self._extra_declarations(required.self_extras):
            self._emit_requirement(declaration, DependencyScope.REQUIRED, ())
        includers = _includers({name: group.includes for name, group in self._extras.items()})
        for extra, group in self._extras.items():
            for declaration in group.declarations:
                self._emit_requirement(
                    declaration, DependencyScope.OPTIONAL, (extra, *includers[extra])
                )
        return {canonicalize_name(d.requirement.name) for d in required.declarations}

    def _dependency_groups(self, table: Mapping[str, object]) -> None:
        groups = self._groups(table, ("dependency-groups",), "groups")
        edges = {name: group.includes for name, group in groups.items()}
        for name in groups:
            if name in _reachable(edges, [name]):
                self.problems.add(
                    f"{self._location}: [dependency-groups] {name!r} includes itself (a cycle)"
                )
        includers = _includers(edges)
        for name, group in groups.items():
            in_groups = (name, *includers[name])
            for declaration in group.declarations:
                self._emit_requirement(declaration, DependencyScope.DEV, in_groups)
            for declaration in self._extra_declarations(group.self_extras):
                self._emit_requirement(declaration, DependencyScope.DEV, in_groups)

    def _groups(
        self, table: Mapping[str, object], path: tuple[str, ...], kind: _ListKind
    ) -> dict[str, _Group]:
        """Read a table of named requirement lists (extras or dependency groups)."""
        groups: dict[str, _Group] = {}
        for key, values in table.items():
            if len(groups) >= MAX_GROUPS:
                self.problems.add(f"{self._location}: more than {MAX_GROUPS} groups in {path[-1]}")
                break
            name = self._canonical(key, (*path, key), what="group")
            if name is None:
                continue
            group = self._group(values, (*path, key), kind)
            if name in groups:  # two spellings of one normalised name: one group
                existing = groups[name]
                existing.declarations.extend(group.declarations)
                existing.includes.extend(group.includes)
                existing.self_extras.extend(group.self_extras)
            else:
                groups[name] = group
        self._check_includes(groups, path)
        return groups

    def _check_includes(self, groups: dict[str, _Group], path: tuple[str, ...]) -> None:
        """Drop (as problems) includes of undefined groups and those past the cap."""
        followed = 0
        for name, group in groups.items():
            known = [included for included in group.includes if included in groups]
            for unknown in (included for included in group.includes if included not in groups):
                self.problems.add(
                    f"{self._location}: [{'.'.join(path)}] {name!r} includes {unknown!r}, "
                    "which is not defined"
                )
            if followed + len(known) > MAX_GROUP_INCLUDES:
                self.problems.add(
                    f"{self._location}: more than {MAX_GROUP_INCLUDES} group includes in "
                    f"{path[-1]}; the rest are not followed"
                )
                known = known[: max(0, MAX_GROUP_INCLUDES - followed)]
            followed += len(known)
            group.includes = known

    def _group(self, values: object, path: tuple[str, ...], kind: _ListKind) -> _Group:
        """Read one list of requirement strings (and, in dependency groups, include tables)."""
        group = _Group(declarations=[], includes=[], self_extras=[])
        if not isinstance(values, list):
            self._wrong_type(path, "an array")
            return group
        for value in values:
            if isinstance(value, dict) and kind == "groups":
                included = value.get("include-group")
                if len(value) == 1 and isinstance(included, str):
                    group.includes.append(canonicalize_name(included))
                    continue
            if not isinstance(value, str):
                where = self._where(self._lines.key_line(path), path)
                self.problems.add(f"{where}: entry {quoted(repr(value))} is not a string")
                continue
            line = self._lines.item_line(path, value)
            try:
                requirement = parse_pep508(value)
            except ValueError as error:
                self.problems.add(requirement_problem(self._location, line, value, str(error)))
                continue
            if self.project is not None and canonicalize_name(requirement.name) == self.project:
                # project[extra] pulls in the project's own extras: in optional-dependencies
                # that is one extra including others of the same table
                extras = normalized_extras(requirement.extras)
                (group.includes if kind == "extras" else group.self_extras).extend(extras)
                continue
            group.declarations.append(_Declaration(requirement=requirement, line=line))
        return group

    def _extra_declarations(self, extras: Iterable[str]) -> list[_Declaration]:
        """The requirements the project's own extras declare, following extras they pull in."""
        if self._full:
            return []
        edges = {name: group.includes for name, group in self._extras.items()}
        wanted = [extra for extra in extras if extra in self._extras]
        for extra in extras:
            if extra not in self._extras:
                self.problems.add(
                    f"{self._location}: the project's extra {extra!r} is not defined in "
                    "[project.optional-dependencies]"
                )
        reached = _reachable(edges, wanted) | set(wanted)
        return [
            declaration
            for name, group in self._extras.items()
            if name in reached
            for declaration in group.declarations
        ]

    def _emit_requirement(
        self, declaration: _Declaration, scope: DependencyScope, groups: tuple[str, ...]
    ) -> None:
        self._emit(
            package_from_requirement(
                declaration.requirement, scope=scope, groups=groups, line=declaration.line
            )
        )

    def _wrong_type(self, path: tuple[str, ...], expected: str) -> None:
        where = self._where(self._lines.key_line(path), path)
        self.problems.add(f"{where}: {'.'.join(path)} is not {expected}")

    # Poetry

    def _poetry(self, poetry: Mapping[str, object], declared: set[str]) -> None:
        sources = self._poetry_sources(poetry.get("source"))
        extras_of = self._poetry_extras(poetry.get("extras"))
        base = ("tool", "poetry")
        tables: list[tuple[tuple[str, ...], str | None]] = [
            ((*base, "dependencies"), None),
            ((*base, "dev-dependencies"), "dev"),
        ]
        groups = poetry.get("group")
        if isinstance(groups, dict):
            if len(groups) > MAX_GROUPS:
                self.problems.add(f"{self._location}: more than {MAX_GROUPS} Poetry groups")
            tables.extend(
                ((*base, "group", name, "dependencies"), name) for name in list(groups)[:MAX_GROUPS]
            )
        elif groups is not None:
            self._wrong_type((*base, "group"), "a table")
        for path, group in tables:
            table: object = poetry
            for key in path[2:]:
                table = table.get(key) if isinstance(table, dict) else None
            if table is None:
                continue
            if not isinstance(table, dict):
                self._wrong_type(path, "a table")
                continue
            for key, value in table.items():
                name = self._canonical(key, (*path, key), what="package name")
                if name is None or name == "python" or (group is None and name in declared):
                    continue  # "python" is the interpreter; [project] already declared the rest
                context = _PoetryContext(
                    path=(*path, key), group=group, sources=sources, extras_of=extras_of
                )
                self._poetry_dependency(key, name, value, context)

    def _poetry_sources(self, value: object) -> dict[str, str]:
        sources: dict[str, str] = {}
        if isinstance(value, list):
            for source in value[:MAX_GROUPS]:
                if isinstance(source, dict):
                    name, url = source.get("name"), source.get("url")
                    if isinstance(name, str) and isinstance(url, str):
                        sources[name] = redact_url(url)
        return sources

    def _poetry_extras(self, value: object) -> dict[str, tuple[str, ...]]:
        """Package name → the extras (in table order) that bring it in."""
        extras_of: dict[str, list[str]] = {}
        if value is None:
            return {}
        if not isinstance(value, dict):
            self._wrong_type(("tool", "poetry", "extras"), "a table")
            return {}
        for extra, members in list(value.items())[:MAX_GROUPS]:
            if not isinstance(members, list):
                self._wrong_type(("tool", "poetry", "extras", extra), "an array")
                continue
            for member in members:
                if isinstance(member, str):
                    in_extras = extras_of.setdefault(canonicalize_name(member), [])
                    if canonicalize_name(extra) not in in_extras:
                        in_extras.append(canonicalize_name(extra))
        return {name: tuple(extras) for name, extras in extras_of.items()}

    def _poetry_dependency(
        self, key: str, name: str, value: object, context: _PoetryContext
    ) -> None:
        """One entry of a Poetry dependency table: a constraint, a table, or a list of tables."""
        line = self._lines.key_line(context.path)
        tables: list[object]
        if isinstance(value, str):
            tables = [{"version": value}]
        elif isinstance(value, list):
            tables = list(value)
        else:
            tables = [value]
        for table in tables:
            if not isinstance(table, dict):
                where = self._where(line, context.path)
                self.problems.add(f"{where}: the constraint of {key} is not a string or table")
                continue
            self._emit(self._poetry_package(key, name, table, line, context))

    def _poetry_package(
        self,
        key: str,
        name: str,
        table: Mapping[str, object],
        line: int | None,
        context: _PoetryContext,
    ) -> PythonPackage:
        """One constraint table of a Poetry dependency; what cannot be read is a problem."""
        where = self._where(line, context.path)
        version_text = table.get("version", "*")
        specifier = ""
        if not isinstance(version_text, str):
            self.problems.add(f"{where}: the version of {key} is not a string")
        else:
            try:
                specifier = poetry_constraint_to_specifier(version_text)
            except ValueError as error:
                self.problems.add(
                    f"{where}: version constraint {quoted(version_text)} of {key} "
                    f"cannot be read: {error}"
                )
        try:
            marker = _poetry_marker(table)
        except ValueError as error:
            self.problems.add(f"{where}: the markers of {key} cannot be read: {error}")
            marker = None
        extras = table.get("extras", [])
        url = _poetry_url(table)
        version = pinned_version(SpecifierSet(specifier))
        artifacts: tuple[Artifact, ...] = ()
        if url is not None and "git" not in table:
            if version is None:
                version = archive_version(url, name)
            if "url" in table:
                artifacts = direct_url_artifacts(url)
            elif archive_filename(url) is not None:
                artifacts = (Artifact(filename=archive_filename(url)),)
        source = table.get("source")
        scope, groups = context.scope_and_groups(name, optional=table.get("optional") is True)
        return PythonPackage(
            name=name,
            display_name=key,
            version=version,
            specifier=specifier,
            extras=normalized_extras(e for e in extras if isinstance(e, str))
            if isinstance(extras, list)
            else (),
            marker=marker,
            scope=scope,
            groups=groups,
            direct=True,
            url=redact_url(url) if url is not None else None,
            editable=table.get("develop") is True,
            index_url=context.sources.get(source)
            if isinstance(source, str) and url is None
            else None,
            artifacts=artifacts,
            line=line,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class _PoetryContext:
    """Where a Poetry dependency entry sits and what its table implies."""

    path: tuple[str, ...]
    group: str | None
    """The Poetry group (``dev`` for dev-dependencies); None for the main dependencies."""
    sources: Mapping[str, str]
    extras_of: Mapping[str, tuple[str, ...]]

    def scope_and_groups(
        self, name: str, *, optional: bool
    ) -> tuple[DependencyScope, tuple[str, ...]]:
        """Main dependencies are required (optional ones grouped by extra); groups are dev."""
        if self.group is None or self.group == "main":
            if optional:
                return DependencyScope.OPTIONAL, self.extras_of.get(name, ())
            return DependencyScope.REQUIRED, ()
        return DependencyScope.DEV, (self.group,)


def _poetry_marker(table: Mapping[str, object]) -> str | None:
    """The PEP 508 marker of Poetry's ``markers``, ``python`` and ``platform`` keys together."""
    markers: list[str] = []
    written = table.get("markers")
    if isinstance(written, str) and written.strip():
        markers.append(str(parse_marker(written)))
    python = table.get("python")
    if isinstance(python, str):
        clauses = []
        for spec in sorted(SpecifierSet(poetry_constraint_to_specifier(python)), key=str):
            # python_version is "X.Y" only: a three-part bound needs the full version
            variable = (
                "python_full_version"
                if spec.version.removesuffix(".*").count(".") >= 2
                else "python_version"
            )
            clauses.append(f'{variable} {spec.operator} "{spec.version}"')
        if clauses:
            markers.append(str(parse_marker(" and ".join(clauses))))
    platform = table.get("platform")
    if isinstance(platform, str):
        markers.append(str(parse_marker(f"sys_platform == {platform!r}")))
    if len(markers) <= 1:
        return markers[0] if markers else None
    return str(parse_marker(" and ".join(f"({marker})" for marker in markers)))


def _poetry_url(table: Mapping[str, object]) -> str | None:
    """The direct reference of a ``git``, ``url`` or ``path`` dependency, in pip's spelling."""
    git = table.get("git")
    if isinstance(git, str):
        scp = _SCP_LIKE.fullmatch(git) if "://" not in git else None
        if scp is not None:  # git@github.com:org/repo.git
            git = f"ssh://{scp.group(1) or ''}{scp.group(2)}/{scp.group(3)}"
        url = git if git.startswith("git+") else f"git+{git}"
        reference = next(
            (table[key] for key in ("rev", "tag", "branch") if isinstance(table.get(key), str)),
            None,
        )
        if isinstance(reference, str):
            url = f"{url}@{reference}"
        subdirectory = table.get("subdirectory")
        if isinstance(subdirectory, str):
            url = f"{url}#subdirectory={subdirectory}"
        return url
    for key in ("url", "path"):
        value = table.get(key)
        if isinstance(value, str):
            return value
    return None


def _reachable(edges: Mapping[str, list[str]], starts: Iterable[str]) -> set[str]:
    """Every node reached from ``starts`` by one or more edges."""
    reached: set[str] = set()
    pending = [target for start in starts for target in edges.get(start, [])]
    while pending:
        node = pending.pop()
        if node in reached:
            continue
        reached.add(node)
        pending.extend(edges.get(node, []))
    return reached


def _includers(edges: Mapping[str, list[str]]) -> dict[str, tuple[str, ...]]:
    """For each group, the other groups that pull it in (directly or not), in table order."""
    reverse: dict[str, list[str]] = {name: [] for name in edges}
    for name, targets in edges.items():
        for target in targets:
            reverse.setdefault(target, []).append(name)
    order = {name: position for position, name in enumerate(edges)}
    result: dict[str, tuple[str, ...]] = {}
    for name in edges:
        reached = _reachable(reverse, [name]) - {name}
        result[name] = tuple(sorted(reached, key=lambda other: order.get(other, len(order))))
    return result


class _TomlLines:
    """Best-effort line numbers of keys and quoted strings in a TOML text.

    One pass indexes table headers, ``key =`` lines (by full dotted path) and the quoted
    strings under each key; lists are then matched in order. Multi-line strings are skipped.
    """

    def __init__(self, text: str) -> None:
        self._keys: dict[tuple[str, ...], int] = {}
        self._strings: dict[tuple[tuple[str, ...], str], list[int]] = {}
        self._cursor: dict[tuple[str, ...], int] = {}
        self._used: dict[tuple[tuple[str, ...], str], int] = {}
        table: tuple[str, ...] = ()
        owner = table
        multiline: str | None = None
        for number, line in enumerate(text.split("\n"), start=1):
            if multiline is not None:
                if line.count(multiline) % 2 == 1:
                    multiline = None
                continue
            head = line[:_KEY_SCAN_CHARS]
            header = _TABLE_HEADER.match(head)
            if header is not None:
                table = _dotted_key(header.group(1)) or ("\x00",)
                owner = table
                self._keys.setdefault(table, number)
                continue
            rest = line
            key = _KEY_LINE.match(head)
            if key is not None:
                path = _dotted_key(key.group(1))
                if path is not None:
                    owner = table + path
                    self._keys.setdefault(owner, number)
                rest = line[key.end() :]
            for literal in _quoted_strings(rest):
                self._strings.setdefault((owner, literal), []).append(number)
            multiline = next((d for d in ('"""', "'''") if rest.count(d) % 2 == 1), None)

    def key_line(self, path: Iterable[str]) -> int | None:
        """The line of the key (or table header) at ``path``, when found."""
        return self._keys.get(tuple(path))

    def item_line(self, path: tuple[str, ...], literal: str) -> int | None:
        """The line of the next occurrence of the quoted ``literal`` in the array at ``path``."""
        occurrence = (path, literal)
        lines = self._strings.get(occurrence)
        if not lines:
            return None
        # after the previous item of the array, and past earlier uses of the same string
        position = max(bisect_left(lines, self._cursor.get(path, 0)), self._used.get(occurrence, 0))
        if position == len(lines):
            return None
        self._used[occurrence] = position + 1
        self._cursor[path] = lines[position]
        return lines[position]


def _dotted_key(text: str) -> tuple[str, ...] | None:
    """Split a TOML dotted key (``a."b.c".d``) into its parts; None when it is not one."""
    parts: list[str] = []
    position = 0
    while True:
        match = _KEY_PART.match(text, position)
        if match is None:
            return None
        bare, basic, literal = match.groups()
        parts.append(bare if bare is not None else basic if basic is not None else literal or "")
        position = match.end()
        if position == len(text):
            return tuple(parts)
        if text[position] != ".":
            return None
        position += 1


def _quoted_strings(text: str) -> list[str]:
    """The single-line string literals of ``text`` as written, up to a comment."""
    literals: list[str] = []
    position = 0
    while (start := _QUOTE_OR_COMMENT.search(text, position)) is not None:
        quote = start.group()
        if quote == "#":
            break
        if quote == "'":
            end = text.find("'", start.end())
            if end == -1:
                break
            literals.append(text[start.end() : end])
            position = end + 1
        else:
            rest = _BASIC_STRING_REST.match(text, start.end())
            if rest is None:
                break
            literals.append(text[start.end() : rest.end() - 1])
            position = rest.end()
    return literals
