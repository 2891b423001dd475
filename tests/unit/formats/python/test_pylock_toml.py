"""Tests for the PEP 751 pylock.toml reader."""

from __future__ import annotations

import textwrap
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.version import Version

from scanner.core.errors import MalformedFileError
from scanner.core.model import Hash
from scanner.formats.python.document_kind import DocumentKind
from scanner.formats.python.pylock_toml import read_pylock
from scanner.formats.python.records import (
    Artifact,
    DependencyDocument,
    DependencyScope,
    PackageLink,
    PythonPackage,
)
from tests.conftest import CORPUS as CORPUS_ROOT
from tests.unit.formats.python.toml_strategies import (
    assert_reads_or_refuses,
    toml_value,
    toml_values,
)

CORPUS = CORPUS_ROOT
PYTHON = CORPUS / "python"
PYPI = "https://pypi.org/simple"
FILES = "https://files.pythonhosted.org/packages"


def comfy_lock() -> Path:
    path = PYTHON / "comfy-cli" / "pylock.toml"
    if not path.is_file():
        pytest.skip("corpus file comfy-cli/pylock.toml is absent")
    return path


def write_lock(tmp_path: Path, text: str, name: str = "pylock.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def by_name(document: DependencyDocument) -> dict[str, PythonPackage]:
    return {package.name: package for package in document.packages}


def sha256(value: str) -> Hash:
    return Hash(alg="SHA-256", value=value)


# --- the real lock ---------------------------------------------------------------------------


def test_comfy_cli_lock_has_every_package() -> None:
    path = comfy_lock()
    document = read_pylock(path, PYTHON)
    assert document.location == "comfy-cli/pylock.toml"
    assert document.kind is DocumentKind.PYLOCK
    assert document.locked
    assert not document.has_graph  # uv export writes no dependencies
    assert document.problems == ()
    assert document.project == "comfy-cli"
    raw = tomllib.loads(path.read_text())["packages"]
    listed = [entry for entry in raw if "directory" not in entry]
    assert len(raw) == 48
    assert len(document.packages) == len(listed) == 47
    assert [(p.name, p.version) for p in document.packages] == [
        (entry["name"], str(Version(entry["version"]))) for entry in listed
    ]
    for package, entry in zip(document.packages, listed, strict=True):
        expected = [entry["sdist"]] + entry["wheels"]
        assert [(a.url, a.hashes) for a in package.artifacts] == [
            (item["url"], (sha256(item["hashes"]["sha256"]),)) for item in expected
        ]
        assert package.index_url == entry["index"] == PYPI
        assert package.scope is DependencyScope.REQUIRED
        assert package.direct is None


def test_comfy_cli_lock_details() -> None:
    packages = by_name(read_pylock(comfy_lock(), PYTHON))
    anyio = packages["anyio"]
    assert anyio.version == "4.10.0"
    assert anyio.marker is None
    assert anyio.artifacts == (
        Artifact(
            filename="anyio-4.10.0.tar.gz",
            url=f"{FILES}/f1/b4/636b3b65173d3ce9a38ef5f0522789614e590dab6a8d505340a4efe4c567/"
            "anyio-4.10.0.tar.gz",
            hashes=(sha256("3f3fae35c96039744587aa5b8371e7e8e603c0702999535961dd336026973ba6"),),
        ),
        Artifact(
            filename="anyio-4.10.0-py3-none-any.whl",
            url=f"{FILES}/6f/12/e5e0282d673bb9746bacfb6e2dba8719989d3660cdb2ea79aee9a9651afb/"
            "anyio-4.10.0-py3-none-any.whl",
            hashes=(sha256("60e474ac86736bbfd6f210f7a61218939c318f43f9972497381f1c5e930ed3d1"),),
        ),
    )
    colorama = packages["colorama"]
    assert colorama.version == "0.4.6"
    assert colorama.marker == 'sys_platform == "win32"'
    assert colorama.artifacts[1].filename == "colorama-0.4.6-py2.py3-none-any.whl"
    assert packages["exceptiongroup"].marker == 'python_full_version < "3.11"'
    charset = packages["charset-normalizer"]
    assert charset.version == "3.4.2"
    assert charset.artifacts[1] == Artifact(
        filename="charset_normalizer-3.4.2-cp310-cp310-macosx_10_9_universal2.whl",
        url=f"{FILES}/95/28/9901804da60055b406e1a1c5ba7aac1276fb77f1dde635aabfc7fd84b8ab/"
        "charset_normalizer-3.4.2-cp310-cp310-macosx_10_9_universal2.whl",
        hashes=(sha256("7c48ed483eb946e6c04ccbe02c6b4d1d48e51944b6db70f697e089c193404941"),),
    )
    assert "comfy-cli" not in packages


# --- sources and the graph -------------------------------------------------------------------

LOCK = """\
    lock-version = "1.0"
    created-by = "hand"
    requires-python = ">=3.11"
    extras = ["plot"]
    dependency-groups = ["dev"]
    default-groups = ["dev"]

    [[packages]]
    name = "app"
    directory = { path = ".", editable = true }
    dependencies = [{ name = "Requests" }]

    [[packages]]
    name = "Requests"
    version = "2.32.3"
    marker = "python_version >= '3.8'"
    requires-python = ">=3.8"
    index = "https://mirror.example/simple"
    dependencies = [{ name = "idna" }, { name = "idna", version = "3.7" }, { name = "urllib3" }]

    [packages.sdist]
    name = "requests-2.32.3.tar.gz"
    url = "https://m.example/r.tar.gz"
    hashes = { sha384 = "SHA384" }

    [[packages.wheels]]
    name = "requests-2.32.3-py3-none-any.whl"
    path = "wheels/r.whl"
    hashes = { sha512 = "SHA512", blake2b = "SHA512" }

    [[packages.wheels]]
    url = "https://m.example/dl/requests-2.32.3-py3-none-any.whl?x=1#frag"
    hashes = { sha256 = "SHA256" }
    size = 10

    [[packages]]
    name = "idna"
    version = "3.7"

    [packages.vcs]
    type = "git"
    url = "https://github.com/kjd/idna.git"
    requested-revision = "v3.7"
    commit-id = "COMMIT"
    subdirectory = "src"

    [[packages]]
    name = "urllib3"
    version = "2.2.2"
    archive = { url = "https://example.com/urllib3-2.2.2.zip", hashes = { sha256 = "SHA256" } }

    [[packages]]
    name = "helper"
    directory = { path = "../helper", editable = true }
"""
COMMIT = "a" * 40


def lock() -> str:
    text = textwrap.dedent(LOCK).replace("COMMIT", COMMIT)
    return text.replace("SHA384", "3" * 96).replace("SHA512", "5" * 128).replace("SHA256", "2" * 64)


def test_sources_hashes_and_graph(tmp_path: Path) -> None:
    document = read_pylock(write_lock(tmp_path, lock(), "pylock.dev.toml"), tmp_path)
    assert document.location == "pylock.dev.toml"
    assert document.problems == ()
    assert document.project == "app"
    assert document.has_graph
    packages = by_name(document)
    assert list(packages) == ["requests", "idna", "urllib3", "helper"]
    requests = packages["requests"]
    assert (requests.display_name, requests.version) == ("Requests", "2.32.3")
    assert requests.marker == 'python_version >= "3.8"'
    assert requests.index_url == "https://mirror.example/simple"
    assert requests.url is None
    assert requests.artifacts == (
        Artifact(
            filename="requests-2.32.3.tar.gz",
            url="https://m.example/r.tar.gz",
            hashes=(Hash(alg="SHA-384", value="3" * 96),),
        ),
        Artifact(
            filename="requests-2.32.3-py3-none-any.whl",
            hashes=(
                Hash(alg="SHA-512", value="5" * 128),
                Hash(alg="BLAKE2b-512", value="5" * 128),
            ),
        ),
        Artifact(
            filename="requests-2.32.3-py3-none-any.whl",
            url="https://m.example/dl/requests-2.32.3-py3-none-any.whl?x=1#frag",
            hashes=(sha256("2" * 64),),
        ),
    )
    # an entry naming a version is an edge to that version (PEP 751 names one to disambiguate)
    assert requests.dependencies == (
        PackageLink(name="idna"),
        PackageLink(name="idna", version="3.7"),
        PackageLink(name="urllib3"),
    )
    idna = packages["idna"]
    assert idna.url == f"git+https://github.com/kjd/idna.git@{COMMIT}#subdirectory=src"
    assert idna.dependencies == ()
    urllib3 = packages["urllib3"]
    assert urllib3.url == "https://example.com/urllib3-2.2.2.zip"
    assert urllib3.artifacts == (
        Artifact(
            filename="urllib3-2.2.2.zip",
            url="https://example.com/urllib3-2.2.2.zip",
            hashes=(sha256("2" * 64),),
        ),
    )
    helper = packages["helper"]
    assert (helper.url, helper.editable, helper.version) == ("../helper", True, None)


def test_lock_version_2_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MalformedFileError, match=r"not a PEP 751 version 1\.x"):
        read_pylock(write_lock(tmp_path, 'lock-version = "2.0"\n'), tmp_path)


def test_missing_lock_version_is_a_problem(tmp_path: Path) -> None:
    path = write_lock(tmp_path, '[[packages]]\nname = "six"\nversion = "1.16.0"\n')
    document = read_pylock(path, tmp_path)
    assert [p.name for p in document.packages] == ["six"]
    assert document.problems == ("'lock-version' is missing or not a string",)


# --- problems, not exceptions ----------------------------------------------------------------


def test_wrong_types_become_problems(tmp_path: Path) -> None:
    path = write_lock(
        tmp_path,
        """\
        lock-version = "1.0"

        [[packages]]
        name = "a"
        version = 1
        marker = "os_name ==="
        index = ["x"]
        dependencies = ["b", { name = 3 }, { name = "b" }]
        sdist = { url = "https://x/a.tar.gz", hashes = { sha256 = "xyz", md4 = "00", sha1 = 7 } }
        wheels = "none"

        [[packages]]
        name = "b"
        version = "1"
        vcs = { type = "git", commit-id = "abc" }
        wheels = [1, {}, { hashes = [] }]

        [[packages]]
        name = "c"
        directory = "here"
        archive = { hashes = {} }
        """,
    )
    document = read_pylock(path, tmp_path)
    a, b, c = document.packages
    assert (a.version, a.marker, a.index_url) == (None, "os_name ===", None)
    assert a.artifacts == (Artifact(filename="a.tar.gz", url="https://x/a.tar.gz"),)
    assert a.dependencies == (PackageLink(name="b"),)
    assert (b.url, b.artifacts) == (None, ())
    assert (c.url, c.artifacts) == (None, ())
    assert document.has_graph
    assert document.problems == (
        "package 1 ('a'): 'version' is not a string",
        "package 1 ('a'): marker 'os_name ===' is not a valid environment marker",
        "package 1 ('a'): sdist: sha256 hash 'xyz' is not 64 hex digits",
        "package 1 ('a'): sdist: hash algorithm 'md4' is not supported",
        "package 1 ('a'): sdist: hash 'sha1' is not a string",
        "package 1 ('a'): 'wheels' is not an array",
        "package 1 ('a'): 'index' is not a string",
        "package 1 ('a'): dependency 1 is not a table",
        "package 1 ('a'): 'name' is missing or not a string",
        "package 2 ('b'): 'vcs' names neither a url nor a path",
        "package 2 ('b'): wheel 1 is not a table",
        "package 2 ('b'): wheel 2 names no file, url or hash",
        "package 2 ('b'): 'hashes' is not a table",
        "package 2 ('b'): wheel 3 names no file, url or hash",
        "package 3 ('c'): 'directory' is not a table",
        "package 3 ('c'): archive names no file, url or hash",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('lock-version = "1.0"\npackages = "all"\n', "'packages' is not an array of tables"),
        ("lock-version = ", "invalid TOML"),
        ("x = " + "[" * 100 + "]" * 100 + "\n", "nesting"),
        ('lock-version = "x.y"\n', "not a PEP 751 version"),
        ('lock-version = "\u00b2.0"\n', "not a PEP 751 version"),
    ],
    ids=["packages-not-array", "not-toml", "deep-nesting", "bad-lock-version", "unicode-digit"],
)
def test_top_level_errors_raise(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(MalformedFileError, match=message):
        read_pylock(write_lock(tmp_path, text), tmp_path)


def test_directory_path_of_the_wrong_type(tmp_path: Path) -> None:
    path = write_lock(
        tmp_path,
        """\
        lock-version = "1.0"

        [[packages]]
        name = "x"
        directory = { path = ["."], editable = "no" }
        """,
    )
    document = read_pylock(path, tmp_path)
    assert document.project is None
    assert [(p.name, p.url, p.editable) for p in document.packages] == [("x", None, False)]
    assert document.problems == (
        "package 1 ('x'): 'path' is not a string",
        "package 1 ('x'): 'editable' is not a boolean",
    )


def test_big_lock_is_read_whole(tmp_path: Path) -> None:
    count = 5000
    text = 'lock-version = "1.0"\n' + "".join(
        f'[[packages]]\nname = "p{i}"\nversion = "1.{i}"\nwheels = [{{ name = "p{i}.whl" }}]\n'
        for i in range(count)
    )
    document = read_pylock(write_lock(tmp_path, text), tmp_path)
    assert len(document.packages) == count
    assert document.packages[-1].version == f"1.{count - 1}"


# --- credentials -----------------------------------------------------------------------------


def test_credentials_in_urls_are_redacted(tmp_path: Path) -> None:
    path = write_lock(
        tmp_path,
        """\
        lock-version = "1.0"

        [[packages]]
        name = "private"
        version = "1"
        index = "https://__token__:pypi-SECRET@private.example/simple"
        wheels = [{ url = "https://SECRET@files.example/private-1-py3-none-any.whl" }]
        """,
    )
    (package,) = read_pylock(path, tmp_path).packages
    assert package.index_url == "https://__token__:****@private.example/simple"
    assert package.artifacts[0].url == "https://****@files.example/private-1-py3-none-any.whl"
    assert package.artifacts[0].filename == "private-1-py3-none-any.whl"


# --- fuzz ------------------------------------------------------------------------------------

KEYS = [
    "name", "version", "marker", "index", "dependencies", "vcs", "type", "url", "path",
    "commit-id", "directory", "editable", "archive", "sdist", "wheels", "hashes", "sha256",
    "subdirectory", "requested-revision",
]  # fmt: skip
VALUES = toml_values(KEYS, [".", "git", "1.0", "a" * 64, "https://x/y.whl"])


@settings(max_examples=200, deadline=None)
@given(packages=st.lists(st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=8), max_size=5))
def test_fuzz_structured(
    tmp_path_factory: pytest.TempPathFactory, packages: list[dict[str, object]]
) -> None:
    text = f'lock-version = "1.0"\npackages = {toml_value(packages)}\n'
    assert_reads_or_refuses(read_pylock, tmp_path_factory.mktemp("fuzz"), "pylock.toml", text)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=400), cut=st.integers(0, 2500))
def test_fuzz_mutated_lock(tmp_path_factory: pytest.TempPathFactory, data: bytes, cut: int) -> None:
    original = lock().encode()
    mutated = original[:cut] + data + original[cut:]
    assert_reads_or_refuses(read_pylock, tmp_path_factory.mktemp("fuzz"), "pylock.toml", mutated)
