"""Tests for the Pipfile.lock reader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.utils import canonicalize_name

from scanner.core.errors import MalformedFileError
from scanner.core.model import Hash
from scanner.formats.python import dependency_fields
from scanner.formats.python.document_kind import DocumentKind
from scanner.formats.python.pipfile_lock import PIPFILE_LOCK_MAX_DEPTH, read_pipfile_lock
from scanner.formats.python.records import (
    Artifact,
    DependencyDocument,
    DependencyScope,
    PythonPackage,
)
from tests.conftest import CORPUS as CORPUS_ROOT
from tests.unit.formats.python.toml_strategies import TEXT, assert_reads_or_refuses, nested_values

CORPUS = CORPUS_ROOT
PIPENV = CORPUS / "python" / "cyclonedx-python_testdata" / "pipenv"
PYPI = "https://pypi.org/simple"


def corpus_lock(case: str) -> Path:
    path = PIPENV / case / "Pipfile.lock"
    if not path.is_file():
        pytest.skip(f"corpus file pipenv/{case}/Pipfile.lock is absent")
    return path


def write_lock(tmp_path: Path, document: object) -> Path:
    path = tmp_path / "Pipfile.lock"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def by_name(document: DependencyDocument) -> dict[str, PythonPackage]:
    return {package.name: package for package in document.packages}


def sha256(value: str) -> Hash:
    return Hash(alg="SHA-256", value=value)


META = {"_meta": {"sources": [{"name": "pypi", "url": PYPI, "verify_ssl": True}]}}


# --- the real locks --------------------------------------------------------------------------


def test_with_extras_lock_has_every_package() -> None:
    path = corpus_lock("with-extras")
    document = read_pipfile_lock(path, PIPENV)
    assert document.location == "with-extras/Pipfile.lock"
    assert document.kind is DocumentKind.PIPFILE_LOCK
    assert document.locked
    assert not document.has_graph
    assert document.problems == ()
    raw = json.loads(path.read_text())
    assert [(p.name, p.version) for p in document.packages] == [
        (canonicalize_name(name), entry["version"].removeprefix("=="))
        for name, entry in raw["default"].items()
    ]
    assert len(document.packages) == 25
    for package, entry in zip(document.packages, raw["default"].values(), strict=True):
        assert [a.hashes[0].value for a in package.artifacts] == [
            h.removeprefix("sha256:") for h in entry["hashes"]
        ]
        assert package.scope is DependencyScope.REQUIRED
        assert package.direct is None
        assert package.dependencies == ()
        assert package.index_url == PYPI


def test_with_extras_lock_details() -> None:
    packages = by_name(read_pipfile_lock(corpus_lock("with-extras"), PIPENV))
    arrow = packages["arrow"]
    assert arrow.version == "1.3.0"
    assert arrow.marker == 'python_version >= "3.8"'
    assert arrow.artifacts == (
        Artifact(
            hashes=(sha256("c728b120ebc00eb84e01882a6f5e7927a53960aa990ce7dd2b10f39005a67f80"),)
        ),
        Artifact(
            hashes=(sha256("d4540617648cb5f895730f1ad8c82a65f2dad0166f57b75f3ca54759c4d67a85"),)
        ),
    )
    lib = packages["cyclonedx-python-lib"]
    assert lib.extras == ("json-validation", "xml-validation")
    assert lib.marker == 'python_version >= "3.8" and python_version < "4.0"'
    boolean = packages["boolean-py"]
    assert (boolean.display_name, boolean.version, boolean.marker) == ("boolean.py", "4.0", None)
    assert packages["jsonschema"].extras == ("format",)
    assert packages["types-python-dateutil"].version == "2.8.19.20240106"


def test_with_urls_lock() -> None:
    path = corpus_lock("with-urls")
    document = read_pipfile_lock(path, PIPENV)
    assert document.problems == ()
    assert len(document.packages) == len(json.loads(path.read_text())["default"]) == 7
    packages = by_name(document)
    certifi = packages["certifi"]
    assert (certifi.version, certifi.url, certifi.index_url) == ("2023.11.17", None, PYPI)
    assert certifi.artifacts == (
        Artifact(
            hashes=(sha256("9b469f3a900bf28dc19b8cfbf8019bf47f7fdd1a65a1d4ffb98fc14166beb4d1"),)
        ),
        Artifact(
            hashes=(sha256("e036ab49d5b79556f99cfc2d9320b34cfbe5be05c5871b51de9329f0603b0474"),)
        ),
    )
    assert len(packages["charset-normalizer"].artifacts) == 90
    pillow = packages["pillow"]
    assert pillow.version is None
    assert pillow.index_url is None
    assert pillow.url == (
        "git+https://github.com/python-pillow/Pillow.git@da59ad000d1405eaecd557175e29083a87d19f7c"
    )
    assert packages["requests"].url == (
        "git+https://github.com/requests/requests.git@96b22fa18c00831656ee4b286bf1c9062459b00a"
        "#egg=requests"
    )
    assert packages["six"].url == (
        "git+ssh://git@github.com/benjaminp/six.git@65486e4383f9f411da95937451205d3c7b61b9e1"
    )
    assert packages["six"].marker == (
        'python_version >= "2.7" and python_version not in "3.0, 3.1, 3.2, 3.3"'
    )
    urllib3 = packages["urllib3"]
    assert urllib3.url == "https://github.com/urllib3/urllib3/archive/refs/tags/2.2.0.zip"
    assert (urllib3.version, urllib3.artifacts) == (None, ())


# --- sections, sources, versions -------------------------------------------------------------


def test_sections_categories_and_indexes(tmp_path: Path) -> None:
    digest = "ab" * 32
    document = read_pipfile_lock(
        write_lock(
            tmp_path,
            {
                "_meta": {
                    "sources": [
                        {"name": "pypi", "url": PYPI},
                        {"name": "torch", "url": "https://download.pytorch.org/whl/cu121"},
                    ]
                },
                "default": {
                    "torch": {"version": "==2.1.0+cu121", "index": "torch"},
                    "requests": {"version": "==2.31.0", "hashes": [f"sha256:{digest}"]},
                    "mylib": {"editable": True, "path": "./libs/mylib"},
                    "legacy": {"version": "===1.0-custom"},
                    "ranged": {"version": ">=1.0,<2"},
                    "anything": {"version": "*"},
                },
                "develop": {
                    "requests": {"version": "==2.31.0", "hashes": [f"sha256:{digest}"]},
                    "pytest": {"version": "==8.0.0"},
                },
                "docs": {"sphinx": {"version": "==7.2.6"}, "pytest": {"version": "==8.0.0"}},
            },
        ),
        tmp_path,
    )
    assert document.problems == ()
    packages = by_name(document)
    assert list(packages) == ["torch", "requests", "mylib", "legacy", "ranged", "anything",
                              "pytest", "sphinx"]  # fmt: skip
    torch = packages["torch"]
    assert (torch.version, torch.index_url) == (
        "2.1.0+cu121",
        "https://download.pytorch.org/whl/cu121",
    )
    requests = packages["requests"]
    assert (requests.scope, requests.groups) == (DependencyScope.REQUIRED, ())
    assert requests.artifacts == (Artifact(hashes=(sha256(digest),)),)
    mylib = packages["mylib"]
    assert (mylib.url, mylib.editable, mylib.index_url, mylib.version) == (
        "./libs/mylib",
        True,
        None,
        None,
    )
    assert packages["legacy"].version == "1.0-custom"
    assert (packages["ranged"].version, packages["ranged"].specifier) == (None, "<2,>=1.0")
    assert (packages["anything"].version, packages["anything"].specifier) == (None, "")
    pytest_ = packages["pytest"]
    assert (pytest_.scope, pytest_.groups) == (DependencyScope.DEV, ("docs",))
    sphinx = packages["sphinx"]
    assert (sphinx.scope, sphinx.groups, sphinx.version) == (
        DependencyScope.DEV,
        ("docs",),
        "7.2.6",
    )


def test_different_versions_in_sections_are_kept_apart(tmp_path: Path) -> None:
    document = read_pipfile_lock(
        write_lock(
            tmp_path,
            {
                **META,
                "default": {"six": {"version": "==1.16.0"}},
                "develop": {"six": {"version": "==1.17.0"}},
            },
        ),
        tmp_path,
    )
    assert [(p.version, p.scope) for p in document.packages] == [
        ("1.16.0", DependencyScope.REQUIRED),
        ("1.17.0", DependencyScope.DEV),
    ]


def test_vcs_with_subdirectory(tmp_path: Path) -> None:
    document = read_pipfile_lock(
        write_lock(
            tmp_path,
            {
                **META,
                "default": {
                    "tool": {
                        "git": "https://github.com/example/mono.git",
                        "ref": "abc123",
                        "subdirectory": "tool",
                        "editable": True,
                    }
                },
            },
        ),
        tmp_path,
    )
    (tool,) = document.packages
    assert tool.url == "git+https://github.com/example/mono.git@abc123#subdirectory=tool"
    assert tool.editable is True


# --- problems, not exceptions ----------------------------------------------------------------


def test_wrong_types_become_problems(tmp_path: Path) -> None:
    document = read_pipfile_lock(
        write_lock(
            tmp_path,
            {
                "_meta": {"sources": [{"name": "pypi"}, "x"]},
                "default": {
                    "a": "text",
                    "b": {"version": 3, "hashes": "sha256:00", "markers": ["x"]},
                    "c": {
                        "version": "==not valid!",
                        "hashes": ["sha256:" + "0" * 63, "sha1:" + "f" * 40, 5, "xyz"],
                        "extras": ["ok", "not ok!"],
                        "index": "nowhere",
                        "editable": "yes",
                    },
                    "bad name!": {"version": "==1"},
                    "d": {"version": "~~~"},
                },
                "develop": [],
            },
        ),
        tmp_path,
    )
    assert [(p.name, p.version) for p in document.packages] == [
        ("b", None),
        ("c", "not valid!"),
        ("d", None),
    ]
    _b, c, d = document.packages
    assert c.artifacts == (Artifact(hashes=(Hash(alg="SHA-1", value="f" * 40),)),)
    assert c.extras == ("ok",)
    assert c.index_url is None
    assert d.specifier == "~~~"
    assert document.problems == (
        "_meta: source 1 lacks a name or a url",
        "_meta: source 2 is not an object",
        "section 'develop' is not an object",
        "default 'a': is not an object",
        "default 'b': 'version' is not a string",
        "default 'b': 'markers' is not a string",
        "default 'b': 'hashes' is not an array",
        "default 'c': version 'not valid!' is not a valid version",
        "default 'c': index 'nowhere' is not one of _meta.sources",
        "default 'c': 'not ok!' is not a valid package name",
        "default 'c': 'editable' is not a boolean",
        "default 'c': 'hashes' holds an item that is not a string",
        "default 'c': hashes: sha256 hash '" + "0" * 63 + "' is not 64 hex digits",
        "default 'c': hashes: hash 'xyz' does not name its algorithm",
        "default 'bad name!': 'bad name!' is not a valid package name",
        "default 'd': version '~~~' is neither a version nor a specifier",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "JSON object of sections"),
        ("{", "invalid JSON"),
        ("[" * (PIPFILE_LOCK_MAX_DEPTH + 2) + "]" * (PIPFILE_LOCK_MAX_DEPTH + 2), "nesting"),
        ('{"default": NaN}', "NaN"),
    ],
    ids=["array", "not-json", "deep", "nan"],
)
def test_top_level_errors_raise(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(MalformedFileError, match=message):
        read_pipfile_lock(write_lock(tmp_path, text), tmp_path)


def test_missing_meta_is_a_problem(tmp_path: Path) -> None:
    document = read_pipfile_lock(
        write_lock(tmp_path, {"default": {"six": {"version": "==1.16.0"}}}), tmp_path
    )
    (six,) = document.packages
    assert six.index_url is None
    assert document.problems == ("'_meta' is missing",)


def test_package_count_is_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dependency_fields, "MAX_PACKAGES", 3)
    entries = {f"p{i}": {"version": "==1"} for i in range(4)}
    document = read_pipfile_lock(
        write_lock(tmp_path, {**META, "default": entries, "develop": entries}), tmp_path
    )
    assert [p.name for p in document.packages] == ["p0", "p1", "p2"]
    assert document.problems == ("8 packages; only the first 3 are read",)


def test_hash_count_is_capped(tmp_path: Path) -> None:
    count = dependency_fields.MAX_FILES_PER_PACKAGE + 1
    hashes = [f"sha256:{i:064x}" for i in range(count)]
    document = read_pipfile_lock(
        write_lock(tmp_path, {**META, "default": {"x": {"version": "==1", "hashes": hashes}}}),
        tmp_path,
    )
    assert len(document.packages[0].artifacts) == count - 1
    assert document.problems == (
        f"default 'x': 'hashes' has {count} items; only the first {count - 1} are read",
    )


# --- fuzz ------------------------------------------------------------------------------------

KEYS = [
    "version", "hashes", "markers", "extras", "git", "ref", "file", "path", "editable",
    "index", "subdirectory", "sources", "name", "url",
]  # fmt: skip
VALUES = nested_values(
    st.one_of(
        TEXT,
        st.sampled_from(["==1.0", "pypi", "sha256:" + "a" * 64, "*"]),
        st.integers(-5, 5),
        st.booleans(),
        st.none(),
    ),
    st.one_of(st.sampled_from(KEYS), st.text(max_size=8)),
)


@settings(max_examples=200, deadline=None)
@given(
    document=st.dictionaries(
        st.sampled_from(["_meta", "default", "develop", "docs", "x"]), VALUES, max_size=4
    )
)
def test_fuzz_structured(tmp_path_factory: pytest.TempPathFactory, document: object) -> None:
    directory = tmp_path_factory.mktemp("fuzz")
    assert_reads_or_refuses(read_pipfile_lock, directory, "Pipfile.lock", json.dumps(document))


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=300))
def test_fuzz_random_bytes(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    directory = tmp_path_factory.mktemp("fuzz")
    assert_reads_or_refuses(read_pipfile_lock, directory, "Pipfile.lock", data)
