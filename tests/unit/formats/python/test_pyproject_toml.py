"""Tests for the pyproject.toml dependency reader (PEP 621, PEP 735, Poetry)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.core.errors import MalformedFileError
from scanner.formats.python import pyproject_toml
from scanner.formats.python.document_kind import DocumentKind
from scanner.formats.python.pyproject_toml import (
    PYPROJECT_MAX_BYTES,
    poetry_constraint_to_specifier,
    read_pyproject,
)
from scanner.formats.python.records import (
    Artifact,
    DependencyDocument,
    DependencyScope,
    PythonPackage,
)
from tests.unit.formats.python.toml_strategies import (
    TEXT,
    assert_reads_or_refuses,
    nested_values,
    toml_value,
)

REQUIRED, OPTIONAL, DEV = DependencyScope.REQUIRED, DependencyScope.OPTIONAL, DependencyScope.DEV


@pytest.fixture
def corpus(corpus: Path) -> Path:
    """The corpus's Python projects (the shared ``corpus`` fixture skips when it is absent)."""
    return corpus / "python"


def read_corpus(corpus: Path, relative: str) -> DependencyDocument:
    return read_pyproject(corpus / relative, corpus)


def read_text(tmp_path: Path, text: str) -> DependencyDocument:
    path = tmp_path / "pyproject.toml"
    path.write_text(text, encoding="utf-8")
    return read_pyproject(path, tmp_path)


def summary(document: DependencyDocument) -> list[tuple[object, ...]]:
    return [(p.name, p.specifier, p.version, p.scope, p.groups, p.line) for p in document.packages]


# The real corpus


def test_comfy_cli_pep621(corpus: Path) -> None:
    document = read_corpus(corpus, "comfy-cli/pyproject.toml")
    assert document.kind is DocumentKind.PYPROJECT
    assert document.location == "comfy-cli/pyproject.toml"
    assert document.project == "comfy-cli"
    assert document.problems == ()
    required = [p for p in document.packages if p.scope is REQUIRED]
    optional = [p for p in document.packages if p.scope is OPTIONAL]
    assert len(required) == 21
    assert len(document.packages) == 27
    assert required[0] == PythonPackage(
        name="charset-normalizer",
        display_name="charset-normalizer",
        specifier=">=3",
        direct=True,
        line=34,
    )
    packages = {p.name: p for p in required}
    assert (packages["posthog"].specifier, packages["posthog"].line) == ("<8,>=6", 45)
    assert (packages["semver"].specifier, packages["semver"].line) == ("~=3.0.2", 55)
    assert (packages["mixpanel"].specifier, packages["mixpanel"].line) == ("<5", 42)
    assert packages["imageio-ffmpeg"].line == 65
    assert packages["ruff"].line == 54
    assert [(p.name, p.groups, p.line) for p in optional] == [
        ("jsonschema", ("dev",), 68),
        ("pre-commit", ("dev",), 68),
        ("pytest", ("dev",), 68),
        ("pytest-cov", ("dev",), 68),
        ("ruff", ("dev",), 68),  # also required: one entry per declaration
        ("term-image", ("preview",), 69),
    ]
    assert optional[-1].specifier == "<0.8,>=0.7"


def test_fickling_self_referencing_extras(corpus: Path) -> None:
    document = read_corpus(corpus, "fickling/pyproject.toml")
    assert document.project == "fickling"
    assert document.problems == ()
    assert "fickling" not in {p.name for p in document.packages}
    assert summary(document) == [
        ("typing-extensions", ">=4.6.0", None, REQUIRED, (), 30),
        ("torch", ">=2.1.0", None, OPTIONAL, ("torch", "test", "huggingface", "dev"), 35),
        ("torchvision", ">=0.24.1", None, OPTIONAL, ("torch", "test", "huggingface", "dev"), 36),
        ("numpy", "<2.3,>=2.2.6", None, OPTIONAL, ("torch", "test", "huggingface", "dev"), 37),
        ("numpy", ">=2.3.5", None, OPTIONAL, ("torch", "test", "huggingface", "dev"), 38),
        ("ruff", ">=0.16.0", None, OPTIONAL, ("lint", "dev"), 41),
        ("ty", ">=0.0.60", None, OPTIONAL, ("lint", "dev"), 42),
        ("pytest", ">=8.0.0", None, OPTIONAL, ("test", "dev"), 45),
        ("pytest-cov", ">=5.0.0", None, OPTIONAL, ("test", "dev"), 46),
        ("coverage", ">=7.0.0", None, OPTIONAL, ("test", "dev"), 47),
        ("py7zr", "!=1.1.2,>=1.1.0", None, OPTIONAL, ("archive", "test", "dev"), 51),
        ("huggingface-hub", ">=0.20.0", None, OPTIONAL, ("huggingface", "dev"), 54),
        ("numpy", "", None, OPTIONAL, ("examples",), 61),
        ("pytorchfi", "", None, OPTIONAL, ("examples",), 61),
    ]
    packages = document.packages
    assert packages[0].marker == 'python_version < "3.12"'
    assert packages[3].marker == 'python_version == "3.10"'
    assert packages[4].marker == 'python_version >= "3.11"'
    assert packages[9].extras == ("toml",)
    assert packages[11].display_name == "huggingface_hub"


def test_modelscan_poetry(corpus: Path) -> None:
    document = read_corpus(corpus, "modelscan/pyproject.toml")
    assert document.project == "modelscan"
    assert document.problems == ()
    assert "python" not in {p.name for p in document.packages}
    assert summary(document) == [
        ("click", "<9.0.0,>=8.1.3", None, REQUIRED, (), 16),
        ("numpy", ">=1.24.3", None, REQUIRED, (), 17),
        ("rich", "<15.0.0,>=13.4.2", None, REQUIRED, (), 18),
        ("tomlkit", "<0.14.0,>=0.12.3", None, REQUIRED, (), 19),
        ("h5py", "<4.0.0,>=3.9.0", None, OPTIONAL, ("h5py",), 20),
        ("setuptools", "==80.9.0", "80.9.0", REQUIRED, (), 21),
        ("tensorflow", "<3.0,>=2.17", None, OPTIONAL, ("tensorflow",), 24),
        ("pytest", "<9.0,>=7.4", None, DEV, ("test",), 31),
        ("bandit", "==1.8.3", "1.8.3", DEV, ("test",), 32),
        ("mypy", "<2.0.0,>=1.4.1", None, DEV, ("test",), 33),
        ("requests", "<3.0.0,>=2.31.0", None, DEV, ("test",), 34),
        ("aiohttp", "<4.0.0,>=3.8.5", None, DEV, ("test",), 35),
        ("dill", "<0.5.0,>=0.3.7", None, DEV, ("test",), 36),
        ("types-requests", ">1.26", None, DEV, ("test",), 37),
        ("torch", "<3.0.0,>=2.7.0", None, DEV, ("test",), 38),
        ("tf-keras", "<3.0.0,>=2.18.0", None, DEV, ("test",), 39),
        ("dunamai", "<2.0.0,>=1.18.0", None, DEV, ("dev",), 43),
        ("pre-commit", "<5.0.0,>=3.3.3", None, DEV, ("dev",), 44),
        ("black", "<26.0,>=23.7", None, DEV, ("dev",), 45),
        ("dunamai", "<2.0.0,>=1.18.0", None, DEV, ("prod",), 48),
    ]
    bandit = document.packages[8]
    assert bandit.extras == ("toml",)
    assert all(p.direct is True for p in document.packages)


def test_rupersonaagent_has_only_python(corpus: Path) -> None:
    document = read_corpus(corpus, "rupersonaagent-0.2.0/pyproject.toml")
    assert (document.project, document.packages, document.problems) == ("rupersonaagent", (), ())


def test_poetry_extras_and_multiple_constraints(corpus: Path) -> None:
    document = read_corpus(
        corpus, "cyclonedx-python_testdata/poetry/with-extras/lock21/pyproject.toml"
    )
    assert document.project == "with-extras"
    lib, tomli = document.packages
    assert (lib.name, lib.version, lib.specifier) == ("cyclonedx-python-lib", "5.1.1", "==5.1.1")
    assert lib.extras == ("json-validation", "xml-validation")
    assert (lib.scope, lib.groups, lib.line) == (OPTIONAL, ("my-extra",), 10)
    assert (tomli.name, tomli.specifier, tomli.version) == ("tomli", "<3,>=2", None)
    assert (tomli.scope, tomli.groups, tomli.line) == (OPTIONAL, ("toml",), 11)


def test_poetry_url_and_git_dependencies(corpus: Path) -> None:
    document = read_corpus(
        corpus, "cyclonedx-python_testdata/poetry/with-urls/lock21/pyproject.toml"
    )
    assert document.problems == ()
    wxpython, numpy, pillow, six = document.packages
    wheel = "https://wxpython.org/Phoenix/snapshot-builds/wxPython-4.2.2-cp38-cp38-win32.whl"
    assert (wxpython.name, wxpython.version, wxpython.url, wxpython.line) == (
        "wxpython",
        "4.2.2",
        wheel,
        21,
    )
    assert wxpython.artifacts == (
        Artifact(filename="wxPython-4.2.2-cp38-cp38-win32.whl", url=wheel),
    )
    assert (numpy.version, numpy.artifacts[0].filename) == ("1.24.4", "numpy-1.24.4.tar.gz")
    assert pillow.url == "git+https://github.com/python-pillow/Pillow.git@10.1.0"
    assert (pillow.version, pillow.artifacts) == (None, ())
    assert six.url == "git+ssh://git@github.com/benjaminp/six.git@1.16.0"
    assert all(p.scope is REQUIRED for p in document.packages)


@pytest.mark.parametrize(
    ("relative", "project", "names"),
    [
        (
            "cyclonedx-python_testdata/pipenv/with-extras/pyproject.toml",
            "with-extras",
            ["cyclonedx-python-lib"],
        ),
        ("cyclonedx-python_testdata/pipenv/with-urls/pyproject.toml", "with-urls", []),
        ("cyclonedx-python_testdata/requirements/pyproject.toml", "testing-requirements-txt", []),
    ],
)
def test_small_pep621_files(corpus: Path, relative: str, project: str, names: list[str]) -> None:
    document = read_corpus(corpus, relative)
    assert document.project == project
    assert [p.name for p in document.packages] == names
    assert document.problems == ()


def test_pipenv_extras_are_normalised(corpus: Path) -> None:
    document = read_corpus(corpus, "cyclonedx-python_testdata/pipenv/with-extras/pyproject.toml")
    (package,) = document.packages
    assert (package.extras, package.line, package.specifier) == (("xml-validation",), 8, "")


def test_every_corpus_pyproject_reads(corpus: Path) -> None:
    files = sorted(corpus.rglob("pyproject.toml"))
    assert len(files) == 9
    for path in files:
        document = read_pyproject(path, corpus)
        assert document.project is not None
        for package in document.packages:
            assert package.direct is True
            assert package.line is not None


# PEP 621 and PEP 735, synthetic

PEP735 = """\
[project]
name = "My_Project"
dependencies = ["requests>=2", "my-project[cli]"]

[project.optional-dependencies]
cli = ["click>=8"]
all = ["my-project[cli]", "rich"]

[dependency-groups]
test = ["pytest>=8", {include-group = "lint"}, "my_project[cli]"]
lint = ["ruff"]
Docs = ["sphinx", {include-group = "missing"}]
loop-a = [{include-group = "loop-b"}, "a"]
loop-b = [{include-group = "loop-a"}, "b"]
"""


def test_dependency_groups_and_self_references(tmp_path: Path) -> None:
    document = read_text(tmp_path, PEP735)
    assert document.project == "my-project"
    assert summary(document) == [
        ("requests", ">=2", None, REQUIRED, (), 3),
        ("click", ">=8", None, REQUIRED, (), 6),  # my-project[cli] in the dependencies
        ("click", ">=8", None, OPTIONAL, ("cli", "all"), 6),
        ("rich", "", None, OPTIONAL, ("all",), 7),
        ("pytest", ">=8", None, DEV, ("test",), 10),
        ("click", ">=8", None, DEV, ("test",), 6),  # my_project[cli] in the test group
        ("ruff", "", None, DEV, ("lint", "test"), 11),
        ("sphinx", "", None, DEV, ("docs",), 12),
        ("a", "", None, DEV, ("loop-a", "loop-b"), 13),
        ("b", "", None, DEV, ("loop-b", "loop-a"), 14),
    ]
    assert document.problems == (
        "pyproject.toml: [dependency-groups] 'docs' includes 'missing', which is not defined",
        "pyproject.toml: [dependency-groups] 'loop-a' includes itself (a cycle)",
        "pyproject.toml: [dependency-groups] 'loop-b' includes itself (a cycle)",
    )


def test_line_numbers_of_dotted_and_quoted_keys(tmp_path: Path) -> None:
    text = """\
[project]
name = "lines"
"optional-dependencies".extra = [
    'single-quoted>=1',  # a comment with "double" in it
    "double",
]
dependencies = ["a", "b",
  "a", "esc\\u0041"]
description = \"\"\"
dependencies = ["not-this"]
\"\"\"
"""
    document = read_text(tmp_path, text)
    assert [(p.name, p.line) for p in document.packages] == [
        ("a", 7),
        ("b", 7),
        ("a", 8),
        (
            "esca",
            None,
        ),  # an escaped string is not found as written: no line rather than a wrong one
        ("single-quoted", 4),
        ("double", 5),
    ]


def test_wrong_types_and_invalid_entries_are_problems(tmp_path: Path) -> None:
    text = """\
[project]
name = "-bad name-"
dependencies = "requests"
optional-dependencies = ["x"]

[dependency-groups]
ok = ["fine", 7, "not valid!", {include-group = 3}]
"""
    document = read_text(tmp_path, text)
    assert document.project is None
    assert [(p.name, p.groups, p.line) for p in document.packages] == [("fine", ("ok",), 7)]
    assert document.problems == (
        "pyproject.toml line 2: project name '-bad name-' is not a valid name",
        "pyproject.toml line 3: project.dependencies is not an array",
        "pyproject.toml line 4: project.optional-dependencies is not a table",
        "pyproject.toml line 7: entry '7' is not a string",
        "pyproject.toml line 7: invalid requirement 'not valid!': Expected semicolon (after name "
        "with no version specifier) or end",
        "pyproject.toml line 7: entry '{'include-group': 3}' is not a string",
    )


def test_tables_of_the_wrong_type(tmp_path: Path) -> None:
    document = read_text(tmp_path, 'project = "x"\ndependency-groups = 1\ntool = {poetry = 2}\n')
    assert document.packages == ()
    assert document.problems == (
        "pyproject.toml line 1: [project] is not a table",
        "pyproject.toml: [tool.poetry] is not a table",  # an inline table: no line
        "pyproject.toml line 2: [dependency-groups] is not a table",
    )


# Poetry, synthetic

POETRY = """\
[tool.poetry]
name = "poet"

[[tool.poetry.source]]
name = "private"
url = "https://user:pw@private.example/simple"

[tool.poetry.dependencies]
python = "^3.9"
Requests = { version = "^2.31", extras = ["Socks"], markers = "sys_platform == 'linux'" }
local = { path = "../local-1.0.tar.gz", develop = true }
gitdep = { git = "git@github.com:org/gitdep.git", branch = "main", subdirectory = "pkg" }
foo = [
  { version = "<=1.9", python = ">=3.6,<3.8" },
  { version = "^2.0", python = "^3.8.1", platform = "linux" },
]
internal = { version = "1.0", source = "private" }
either = "^1 || ^2"
bad = { version = 5 }
"-invalid-" = "1"

[tool.poetry.group.main.dependencies]
mainish = "*"

[tool.poetry.group.docs]
optional = true

[tool.poetry.group.docs.dependencies]
sphinx = "~7.2"

[tool.poetry.dev-dependencies]
old-dev = ">=1"
"""


def test_poetry_table_forms(tmp_path: Path) -> None:
    document = read_text(tmp_path, POETRY)
    assert document.project == "poet"
    assert summary(document) == [
        ("requests", "<3.0,>=2.31", None, REQUIRED, (), 10),
        ("local", "", "1.0", REQUIRED, (), 11),
        ("gitdep", "", None, REQUIRED, (), 12),
        ("foo", "<=1.9", None, REQUIRED, (), 13),
        ("foo", "<3.0,>=2.0", None, REQUIRED, (), 13),
        ("internal", "==1.0", "1.0", REQUIRED, (), 17),
        ("either", "", None, REQUIRED, (), 18),
        ("bad", "", None, REQUIRED, (), 19),
        ("old-dev", ">=1", None, DEV, ("dev",), 32),
        ("mainish", "", None, REQUIRED, (), 23),  # the "main" group is the main dependencies
        ("sphinx", "<7.3,>=7.2", None, DEV, ("docs",), 29),
    ]
    requests, local, gitdep, foo_old, foo_new, internal = document.packages[:6]
    assert (requests.display_name, requests.extras) == ("Requests", ("socks",))
    assert requests.marker == 'sys_platform == "linux"'
    assert (local.url, local.editable) == ("../local-1.0.tar.gz", True)
    assert local.artifacts == (Artifact(filename="local-1.0.tar.gz"),)
    assert gitdep.url == "git+ssh://git@github.com/org/gitdep.git@main#subdirectory=pkg"
    assert foo_old.marker == 'python_version < "3.8" and python_version >= "3.6"'
    assert foo_new.marker == (
        '(python_full_version < "4.0.0" and python_full_version >= "3.8.1") '
        'and sys_platform == "linux"'
    )
    assert internal.index_url == "https://user:****@private.example/simple"
    assert document.problems == (
        "pyproject.toml line 18: version constraint '^1 || ^2' of either cannot be read: "
        "alternatives ('||') have no PEP 440 equivalent",
        "pyproject.toml line 19: the version of bad is not a string",
        "pyproject.toml line 20: package name '-invalid-' is not a valid name",
    )


def test_poetry_2_with_project_table(tmp_path: Path) -> None:
    text = """\
[project]
name = "p2"
dependencies = ["httpx>=0.27"]

[tool.poetry.dependencies]
httpx = { source = "private" }
poetry-only = "^1.0"
"""
    document = read_text(tmp_path, text)
    assert document.project == "p2"
    assert summary(document) == [
        ("httpx", ">=0.27", None, REQUIRED, (), 3),
        ("poetry-only", "<2.0,>=1.0", None, REQUIRED, (), 7),
    ]


@pytest.mark.parametrize(
    ("constraint", "specifier"),
    [
        ("^1.2.3", "<2.0.0,>=1.2.3"),
        ("^0.2.3", "<0.3.0,>=0.2.3"),
        ("^0.0.3", "<0.0.4,>=0.0.3"),
        ("^0.0", "<0.1,>=0.0"),
        ("^0", "<1,>=0"),
        ("^1.2", "<2.0,>=1.2"),
        ("^2.17", "<3.0,>=2.17"),
        ("^1.2.3b1", "<2.0.0,>=1.2.3b1"),
        ("~1.2", "<1.3,>=1.2"),
        ("~1.2.3", "<1.3.0,>=1.2.3"),
        ("~1", "<2,>=1"),
        ("~=1.2", "~=1.2"),
        ("*", ""),
        ("", ""),
        (">=1,<2", "<2,>=1"),
        (">= 1.2, < 1.5", "<1.5,>=1.2"),
        (">=1.2 <1.5", "<1.5,>=1.2"),
        ("1.2.3", "==1.2.3"),
        ("==1.2.3", "==1.2.3"),
        ("=1.2.3", "==1.2.3"),
        ("1.2.*", "==1.2.*"),
        ("1.2.x", "==1.2.*"),
        ("!=1.5.x", "!=1.5.*"),
        ("^1.0,!=1.3.0", "!=1.3.0,<2.0,>=1.0"),
    ],
)
def test_poetry_constraints(constraint: str, specifier: str) -> None:
    assert poetry_constraint_to_specifier(constraint) == specifier


@pytest.mark.parametrize(
    ("constraint", "message"),
    [
        ("^1 || ^2", "alternatives"),
        ("^banana", "is not a version"),
        (">=>=1", "Invalid specifier"),
        ("^" + "9" * 5000, "is not a version"),
        ("1" * 20000, "longer than"),
    ],
)
def test_poetry_constraints_that_cannot_be_translated(constraint: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        poetry_constraint_to_specifier(constraint)


# Hostile input


def test_not_toml_too_large_or_not_utf8_is_malformed(tmp_path: Path) -> None:
    with pytest.raises(MalformedFileError, match="invalid TOML"):
        read_text(tmp_path, "[project\nname = 1\n")
    path = tmp_path / "pyproject.toml"
    path.write_bytes(b"[project]\nname = '\xff'\n")
    with pytest.raises(MalformedFileError, match="invalid UTF-8"):
        read_pyproject(path, tmp_path)
    path.write_bytes(b"#" * (PYPROJECT_MAX_BYTES + 1))
    with pytest.raises(MalformedFileError, match="exceeds"):
        read_pyproject(path, tmp_path)
    with pytest.raises(MalformedFileError, match="nesting"):
        read_text(tmp_path, "x = " + "[" * 100 + "]" * 100 + "\n")


def test_caps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pyproject_toml, "MAX_PACKAGES", 2)
    monkeypatch.setattr(pyproject_toml, "MAX_GROUPS", 2)
    text = '[project]\nname = "x"\ndependencies = ["a", "b", "c"]\n\n[dependency-groups]\n'
    text += "".join(f'g{n} = ["d{n}"]\n' for n in range(4))
    document = read_text(tmp_path, text)
    assert [p.name for p in document.packages] == ["a", "b"]
    assert document.problems == (
        "pyproject.toml: more than 2 packages; the rest is not read",
        "pyproject.toml: more than 2 groups in dependency-groups",
    )


def test_include_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pyproject_toml, "MAX_GROUP_INCLUDES", 1)
    text = """\
[dependency-groups]
a = ["alpha"]
b = [{include-group = "a"}, {include-group = "c"}]
c = ["gamma"]
"""
    document = read_text(tmp_path, text)
    assert [(p.name, p.groups) for p in document.packages] == [
        ("alpha", ("a", "b")),
        ("gamma", ("c",)),
    ]
    assert document.problems == (
        "pyproject.toml: more than 1 group includes in dependency-groups; the rest are not "
        "followed",
    )


# Fuzz

KEYS = ["version", "optional", "extras", "markers", "python", "git", "url", "path", "include-group"]
STRINGS = ["requests>=2", "x[a]; python_version<'3'", "^1.2", "~0.1", "*", "me[dev]", "a||b"]
VALUES = nested_values(
    st.one_of(st.sampled_from(STRINGS), TEXT, st.integers(), st.booleans()),
    st.sampled_from(KEYS) | st.text(max_size=4),
)
SLOTS = [
    ("project", "name"),
    ("project", "dependencies"),
    ("project", "optional-dependencies"),
    ("dependency-groups", "dev"),
    ("tool.poetry", "dependencies"),
    ("tool.poetry", "extras"),
    ("tool.poetry", "group"),
]


@settings(max_examples=200, deadline=None)
@given(filled=st.lists(st.tuples(st.sampled_from(SLOTS), VALUES), max_size=6))
def test_fuzz_structured(
    tmp_path_factory: pytest.TempPathFactory, filled: list[tuple[tuple[str, str], object]]
) -> None:
    tables: dict[str, dict[str, object]] = {}
    for (table, key), value in filled:
        tables.setdefault(table, {})[key] = value
    text = "".join(
        f"[{table}]\n" + "".join(f'"{key}" = {toml_value(value)}\n' for key, value in keys.items())
        for table, keys in tables.items()
    )
    assert_reads_or_refuses(read_pyproject, tmp_path_factory.mktemp("fuzz"), "pyproject.toml", text)


VALID = POETRY.encode() + PEP735.replace("[project]", "[other]").encode()


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_fuzz_mutated_valid_file(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    content = bytearray(VALID[: data.draw(st.integers(0, len(VALID)), label="cut")])
    for _ in range(data.draw(st.integers(0, 6), label="mutations")):
        if content:
            position = data.draw(st.integers(0, len(content) - 1), label="position")
            content[position] = data.draw(st.integers(0, 255), label="byte")
    directory = tmp_path_factory.mktemp("fuzz")
    assert_reads_or_refuses(read_pyproject, directory, "mutated.toml", bytes(content))
