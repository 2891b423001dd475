"""Tests for the setup.cfg dependency reader."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings

from scanner.core.errors import MalformedFileError
from scanner.formats.python import setup_cfg
from scanner.formats.python.document_kind import DocumentKind
from scanner.formats.python.records import (
    DependencyDocument,
    DependencyScope,
    PythonPackage,
)
from scanner.formats.python.setup_cfg import SETUP_CFG_MAX_BYTES, read_setup_cfg, requirement_items
from tests.conftest import CORPUS as CORPUS_ROOT
from tests.unit.formats.python.toml_strategies import assert_reads_or_refuses, fragment_texts

CORPUS = CORPUS_ROOT / "python"
REQUIRED, OPTIONAL, DEV = DependencyScope.REQUIRED, DependencyScope.OPTIONAL, DependencyScope.DEV


@pytest.fixture
def spacy() -> DependencyDocument:
    path = CORPUS / "spaCy" / "setup.cfg"
    if not path.is_file():
        pytest.skip("the python corpus is absent")
    return read_setup_cfg(path, CORPUS)


def read_text(tmp_path: Path, text: str) -> DependencyDocument:
    path = tmp_path / "setup.cfg"
    path.write_text(text, encoding="utf-8")
    return read_setup_cfg(path, tmp_path)


def test_spacy_install_requires(spacy: DependencyDocument) -> None:
    assert spacy.kind is DocumentKind.SETUP_CFG
    assert spacy.location == "spaCy/setup.cfg"
    assert spacy.project is None  # spaCy's [metadata] has no name
    assert spacy.problems == ()
    required = [p for p in spacy.packages if p.scope is REQUIRED]
    assert len(required) == 20
    assert len(spacy.packages) == 53
    assert required[0] == PythonPackage(
        name="spacy-legacy",
        display_name="spacy-legacy",
        specifier="<3.1.0,>=3.0.11",
        direct=True,
        line=48,
    )
    numpy = [p for p in required if p.name == "numpy"]
    assert [(p.specifier, p.marker, p.line) for p in numpy] == [
        (">=1.15.0", 'python_version < "3.9"', 62),
        (">=1.19.0", 'python_version >= "3.9"', 63),
    ]
    pydantic = next(p for p in required if p.name == "pydantic")
    assert (pydantic.specifier, pydantic.line) == ("!=1.8,!=1.8.1,<3.0.0,>=1.7.4", 65)
    assert [(p.name, p.specifier, p.line) for p in required[-3:]] == [
        ("jinja2", "", 66),
        ("setuptools", "", 68),
        ("packaging", ">=20.0", 69),
    ]


def test_spacy_setup_requires(spacy: DependencyDocument) -> None:
    setup = [p for p in spacy.packages if p.scope is DEV]
    assert all(p.groups == ("setup",) for p in setup)
    assert [(p.name, p.specifier, p.marker, p.line) for p in setup] == [
        ("cython", "<4.0,>=3.0", None, 38),
        ("numpy", "<3.0.0,>=2.0.0", 'python_version < "3.9"', 39),
        ("numpy", "<3.0.0,>=2.0.0", 'python_version >= "3.9"', 40),
        ("cymem", "<2.1.0,>=2.0.2", None, 42),
        ("preshed", "<3.1.0,>=3.0.2", None, 43),
        ("murmurhash", "<1.1.0,>=0.28.0", None, 44),
        ("thinc", "<8.4.0,>=8.3.12", None, 45),
    ]


def test_spacy_extras(spacy: DependencyDocument) -> None:
    extras = [p for p in spacy.packages if p.scope is OPTIONAL]
    assert len(extras) == 26
    groups = [p.groups[0] for p in extras]
    assert len(set(groups)) == 25  # "ja" has two packages
    assert [(p.name, p.groups, p.line) for p in extras[:3]] == [
        ("spacy-lookups-data", ("lookups",), 77),
        ("spacy-transformers", ("transformers",), 79),
        ("cupy", ("cuda",), 81),
    ]
    autodetect = next(p for p in extras if p.groups == ("cuda-autodetect",))
    assert (autodetect.name, autodetect.specifier, autodetect.line) == (
        "cupy-wheel",
        "<13.0.0,>=11.0.0",
        117,
    )
    ja = [p for p in extras if p.groups == ("ja",)]
    assert [(p.name, p.display_name, p.specifier) for p in ja] == [
        ("sudachipy", "sudachipy", "!=0.6.1,>=0.5.2"),
        ("sudachidict-core", "sudachidict_core", ">=20211220"),
    ]
    assert extras[-1].name == "pythainlp"
    assert extras[-1].line == 127
    assert all(p.direct is True and p.version is None for p in spacy.packages)


def test_synthetic_file(tmp_path: Path) -> None:
    text = """\
[metadata]
name = My.Package

[DEFAULT]
install_requires = leaked-from-default

[options]
install-requires =
    requests>=2 ; python_version >= "3.8"
    # a comment
    pinned==1.0
    requests>=2 ; python_version >= "3.8"
    not valid!
tests_require = pytest; coverage[toml]>=7
setup_requires = file: build-requirements.txt

[options.extras_require]
Socks = PySocks!=1.5.7,>=1.5.6
With_Extra =
    named @ https://files.example/%(no)s/a%20b/named-1.0-py3-none-any.whl
"""
    document = read_text(tmp_path, text)
    assert document.project == "my-package"
    assert [(p.name, p.version, p.scope, p.groups, p.line) for p in document.packages] == [
        ("requests", None, REQUIRED, (), 9),
        ("pinned", "1.0", REQUIRED, (), 11),
        ("requests", None, REQUIRED, (), 12),
        ("pytest", None, DEV, ("tests",), 14),
        ("coverage", None, DEV, ("tests",), 14),
        ("pysocks", None, OPTIONAL, ("socks",), 18),
        ("named", "1.0", OPTIONAL, ("with-extra",), 20),
    ]
    assert document.packages[0].marker == 'python_version >= "3.8"'
    assert document.packages[4].extras == ("toml",)
    # no interpolation: "%(no)s" stays as written
    assert document.packages[6].url == (
        "https://files.example/%(no)s/a%20b/named-1.0-py3-none-any.whl"
    )
    assert document.problems == (
        "setup.cfg line 13: invalid requirement 'not valid!': Expected semicolon (after name "
        "with no version specifier) or end",
        "setup.cfg line 15: setup_requires uses 'file:', which is not followed",
    )


def test_bad_names_are_problems(tmp_path: Path) -> None:
    text = "[metadata]\nname = -bad-\n[options.extras_require]\n-x- = foo\n"
    document = read_text(tmp_path, text)
    assert (document.project, document.packages) == (None, ())
    assert document.problems == (
        "setup.cfg line 2: project name '-bad-' is not a valid name",
        "setup.cfg line 4: extra '-x-' is not a valid name",
    )


def test_no_options_no_packages(tmp_path: Path) -> None:
    document = read_text(tmp_path, "[metadata]\nname = plain\n[bdist_wheel]\nuniversal = 1\n")
    assert (document.project, document.packages, document.problems) == ("plain", (), ())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("install_requires = x\n", "File contains no section headers"),
        ("[options]\n[options]\n", "already exists"),
        ("[options]\ninstall_requires = a\ninstall_requires = b\n", "already exists"),
    ],
)
def test_malformed_ini(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(MalformedFileError, match=message):
        read_text(tmp_path, text)


def test_too_large_or_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "setup.cfg"
    path.write_bytes(b"[options]\ninstall_requires = \xe9\n")
    with pytest.raises(MalformedFileError, match="invalid UTF-8"):
        read_setup_cfg(path, tmp_path)
    path.write_bytes(b"#" * (SETUP_CFG_MAX_BYTES + 1))
    with pytest.raises(MalformedFileError, match="exceeds"):
        read_setup_cfg(path, tmp_path)


def test_package_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(setup_cfg, "MAX_PACKAGES", 2)
    document = read_text(tmp_path, "[options]\ninstall_requires = a; b; c; d\n")
    assert [(p.name, p.line) for p in document.packages] == [("a", 2), ("b", 2)]
    assert document.problems == ("setup.cfg: more than 2 packages; the rest is not read",)


@pytest.mark.parametrize(
    ("value", "items"),
    [
        ("a; b ;c", ["a", "b", "c"]),
        ("\na>=1; python_version<'3'\n# comment\n\nb", ["a>=1; python_version<'3'", "b"]),
        ("", []),
    ],
)
def test_requirement_items(value: str, items: list[str]) -> None:
    assert requirement_items(value) == items


FRAGMENTS = [
    "[options]\n",
    "[options.extras_require]\n",
    "[metadata]\n",
    "[DEFAULT]\n",
    "install_requires =",
    "tests_require:",
    "name = ",
    "\n    ",
    "requests>=2",
    "; python_version < '3'",
    "%(x)s",
    "=",
    ":",
    "[",
    "]",
    "#",
    "\n",
    "file: x",
]


@settings(max_examples=200, deadline=None)
@given(text=fragment_texts(FRAGMENTS))
def test_fuzz(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    assert_reads_or_refuses(read_setup_cfg, tmp_path_factory.mktemp("fuzz"), "setup.cfg", text)
