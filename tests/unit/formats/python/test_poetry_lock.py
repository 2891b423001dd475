"""Tests for the poetry.lock reader."""

from __future__ import annotations

import textwrap
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.utils import canonicalize_name
from packaging.version import Version

from scanner.core.errors import MalformedFileError
from scanner.core.model import Hash
from scanner.formats.python import dependency_fields
from scanner.formats.python.dependency_fields import MAX_DEPENDENCIES_PER_PACKAGE, MAX_STRING_CHARS
from scanner.formats.python.document_kind import DocumentKind
from scanner.formats.python.poetry_lock import read_poetry_lock
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


def corpus_lock(relative: str) -> Path:
    path = PYTHON / relative
    if not path.is_file():
        pytest.skip(f"corpus file {relative} is absent")
    return path


def write_lock(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "poetry.lock"
    path.write_text(textwrap.dedent(text))
    return path


def by_name(document: DependencyDocument) -> dict[str, PythonPackage]:
    return {package.name: package for package in document.packages}


def sha256(value: str) -> Hash:
    return Hash(alg="SHA-256", value=value)


def assert_matches_file(document: DependencyDocument, path: Path) -> None:
    """Every [[package]] of the file, with its version and edges, read independently."""
    raw = tomllib.loads(path.read_text())["package"]
    assert len(document.packages) == len(raw)
    assert [(p.name, p.version) for p in document.packages] == [
        (canonicalize_name(entry["name"]), str(Version(entry["version"]))) for entry in raw
    ]
    for package, entry in zip(document.packages, raw, strict=True):
        expected = [canonicalize_name(name) for name in entry.get("dependencies", {})]
        assert [link.name for link in package.dependencies] == expected
        assert len(package.artifacts) == len(entry.get("files", []))


# --- the real locks --------------------------------------------------------------------------


def test_modelscan_lock_has_every_package_and_edge() -> None:
    path = corpus_lock("modelscan/poetry.lock")
    document = read_poetry_lock(path, PYTHON)
    assert document.location == "modelscan/poetry.lock"
    assert document.kind is DocumentKind.POETRY_LOCK
    assert document.locked
    assert document.has_graph
    assert document.problems == ()
    assert document.project is None
    assert all(package.direct is None for package in document.packages)
    assert_matches_file(document, path)


def test_modelscan_lock_package_details() -> None:
    packages = by_name(read_poetry_lock(corpus_lock("modelscan/poetry.lock"), PYTHON))
    absl = packages["absl-py"]
    assert absl.display_name == "absl-py"
    assert absl.version == "2.1.0"
    # groups = ["main", "test"], markers = {main = "extra == \"tensorflow\""}
    assert absl.scope is DependencyScope.OPTIONAL
    assert absl.groups == ("tensorflow",)
    assert absl.marker == 'extra == "tensorflow"'
    assert absl.artifacts == (
        Artifact(
            filename="absl-py-2.1.0.tar.gz",
            hashes=(sha256("7820790efbb316739cde8b4e19357243fc3608a152024288513dd968d7d959ff"),),
        ),
        Artifact(
            filename="absl_py-2.1.0-py3-none-any.whl",
            hashes=(sha256("526a04eadab8b4ee719ce68f204172ead1027549089702d99b9059f129ff1308"),),
        ),
    )
    aiohttp = packages["aiohttp"]
    assert aiohttp.version == "3.12.13"
    assert aiohttp.scope is DependencyScope.DEV
    assert aiohttp.groups == ("test",)
    assert aiohttp.marker is None
    assert len(aiohttp.artifacts) == 86
    assert aiohttp.artifacts[0] == Artifact(
        filename="aiohttp-3.12.13-cp310-cp310-macosx_10_9_universal2.whl",
        hashes=(sha256("5421af8f22a98f640261ee48aae3a37f0c41371e99412d55eaf2f8a46d5dad29"),),
    )
    assert aiohttp.dependencies == (
        PackageLink(name="aiohappyeyeballs"),
        PackageLink(name="aiosignal"),
        PackageLink(name="async-timeout", marker='python_version < "3.11"'),
        PackageLink(name="attrs"),
        PackageLink(name="frozenlist"),
        PackageLink(name="multidict"),
        PackageLink(name="propcache"),
        PackageLink(name="yarl"),
    )
    # groups = ["main", "dev", "test"], a marker per group: "main" decides.
    colorama = packages["colorama"]
    assert colorama.scope is DependencyScope.REQUIRED
    assert colorama.groups == ()
    assert colorama.marker == 'platform_system == "Windows"'
    # ml-dtypes: numpy = [{version, markers}, ...4] is one edge, any of the markers.
    numpy_links = [link for link in packages["ml-dtypes"].dependencies if link.name == "numpy"]
    assert numpy_links == [
        PackageLink(
            name="numpy",
            marker='python_version >= "3.12" or python_version == "3.11" '
            'or python_version == "3.10" or python_version < "3.10"',
        )
    ]
    tensorflow = packages["tensorflow"]
    assert tensorflow.version == "2.18.1"
    assert tensorflow.scope is DependencyScope.OPTIONAL
    assert (
        PackageLink(name="tensorflow-io-gcs-filesystem", marker='python_version < "3.12"')
        in tensorflow.dependencies
    )
    assert {"absl-py", "keras", "numpy", "protobuf", "wrapt"} <= {
        link.name for link in tensorflow.dependencies
    }
    assert packages["h5py"].groups == ("h5py", "tensorflow")


def test_poetry_with_extras_lock() -> None:
    path = corpus_lock("cyclonedx-python_testdata/poetry/with-extras/lock21/poetry.lock")
    document = read_poetry_lock(path, PYTHON)
    assert document.problems == ()
    assert_matches_file(document, path)
    packages = by_name(document)
    assert len(packages) == 29
    assert {p.scope for p in document.packages} == {DependencyScope.OPTIONAL}
    lib = packages["cyclonedx-python-lib"]
    assert lib.version == "5.1.1"
    assert lib.groups == ("my-extra",)
    assert lib.artifacts[1] == Artifact(
        filename="cyclonedx_python_lib-5.1.1.tar.gz",
        hashes=(sha256("215a636a4e77385d2cf4c6c9801c9bad4791849634f2c6daa45ab2c6cb0a85f6"),),
    )
    assert lib.dependencies[0] == PackageLink(
        name="jsonschema",
        extras=("format",),
        marker='extra == "validation" or extra == "json-validation"',
    )
    assert [link.name for link in lib.dependencies] == [
        "jsonschema",
        "license-expression",
        "lxml",
        "packageurl-python",
        "py-serializable",
        "sortedcontainers",
    ]
    assert packages["tomli"].groups == ("toml",)
    boolean = packages["boolean-py"]
    assert boolean.display_name == "boolean-py"
    assert boolean.artifacts[0].filename == "boolean.py-4.0-py3-none-any.whl"
    zipp = packages["zipp"]
    assert zipp.marker == 'extra == "my-extra" and python_version < "3.9"'
    assert zipp.version == "3.20.2"


def test_poetry_with_urls_lock() -> None:
    path = corpus_lock("cyclonedx-python_testdata/poetry/with-urls/lock21/poetry.lock")
    document = read_poetry_lock(path, PYTHON)
    assert document.problems == ()
    assert_matches_file(document, path)
    packages = by_name(document)
    numpy = packages["numpy"]
    assert numpy.url == (
        "https://files.pythonhosted.org/packages/a4/9b/027bec52c633f6556dba6b722d9a0befb40498b9"
        "ceddd29cbe67a45a127c/numpy-1.24.4.tar.gz"
    )
    assert numpy.index_url is None
    assert numpy.artifacts == (
        Artifact(
            filename="numpy-1.24.4.tar.gz",
            hashes=(sha256("80f5e3a4e498641401868df4208b74581206afbee7cf7b8329daae82676d9463"),),
        ),
    )
    pillow = packages["pillow"]
    assert pillow.display_name == "Pillow"
    assert pillow.version == "10.1.0"
    assert pillow.url == (
        "git+https://github.com/python-pillow/Pillow.git@da59ad000d1405eaecd557175e29083a87d19f7c"
    )
    assert pillow.artifacts == ()
    assert pillow.editable is False
    assert packages["six"].url == (
        "git+ssh://git@github.com/benjaminp/six.git@65486e4383f9f411da95937451205d3c7b61b9e1"
    )
    wx = packages["wxpython"]
    assert wx.display_name == "wxPython"
    assert (
        wx.url == "https://wxpython.org/Phoenix/snapshot-builds/wxPython-4.2.2-cp38-cp38-win32.whl"
    )
    assert wx.dependencies == (
        PackageLink(name="numpy", marker='python_version >= "3.0" and python_version < "3.12"'),
        PackageLink(name="six"),
    )


# --- lock 1.x, sources, dependency forms -----------------------------------------------------

LOCK_11 = """\
    [[package]]
    name = "Requests"
    version = "2.28.1"
    description = "HTTP"
    category = "main"
    optional = false
    python-versions = ">=3.7"

    [package.dependencies]
    certifi = ">=2017.4.17"
    charset-normalizer = ">=2,<3"
    PySocks = {version = ">=1.5.6,!=1.5.7", optional = true, markers = "extra == 'socks'"}
    urllib3 = [
        {version = ">=1.21.1,<1.27", markers = "python_version < '3.10'"},
        {version = ">=1.26", extras = ["Secure", "socks"]},
    ]

    [package.source]
    type = "legacy"
    url = "https://mirror.example/simple"
    reference = "mirror"

    [[package]]
    name = "pytest"
    version = "7.1.2"
    description = "tests"
    category = "dev"
    optional = false
    python-versions = ">=3.7"

    [[package]]
    name = "pysocks"
    version = "1.7.1"
    description = "socks"
    category = "main"
    optional = true
    python-versions = "*"

    [[package]]
    name = "numpy"
    version = "1.21.6"
    description = "old numpy"
    category = "main"
    optional = false
    python-versions = ">=3.7"
    markers = "python_version < '3.8'"

    [[package]]
    name = "numpy"
    version = "1.24"
    description = "new numpy"
    category = "main"
    optional = false
    python-versions = ">=3.8"
    markers = "python_version >= '3.8'"

    [[package]]
    name = "mylib"
    version = "0.1.0"
    description = "a path dependency"
    category = "main"
    optional = false
    python-versions = "*"
    develop = true

    [package.source]
    type = "directory"
    url = "../mylib"

    [[package]]
    name = "tool"
    version = "1.0"
    description = "from git, in a subdirectory"
    category = "main"
    optional = false
    python-versions = "*"

    [package.source]
    type = "git"
    url = "https://github.com/example/tools.git"
    reference = "main"
    resolved_reference = "0123456789abcdef0123456789abcdef01234567"
    subdirectory = "packages/tool"

    [metadata]
    lock-version = "1.1"
    python-versions = "^3.7"
    content-hash = "abc"

    [metadata.files]
    requests = [
        {file = "requests-2.28.1-py3-none-any.whl", hash = "sha256:REQUESTS_HASH"},
    ]
    pytest = []
    PySocks = [
        {file = "PySocks-1.7.1.tar.gz", hash = "sha256:PYSOCKS_HASH"},
    ]
    numpy = [
        {file = "numpy-1.21.6.zip", hash = "sha256:OLD_NUMPY_HASH"},
        {file = "numpy-1.24.0-cp38-cp38-win32.whl", hash = "sha256:NEW_NUMPY_HASH"},
    ]
"""
REQUESTS_HASH = "8FADA8F3BB4E11BA5C86F2E0E6B3D5C5D2F43F0A89B0A8D1B3D1F0AA8F0C9AB1"
PYSOCKS_HASH = "3f8804571ebe159c380ac6de37643bb4685970655d3bba243530d6558b799aa0"
OLD_NUMPY_HASH = "ecb55251139706669fdec2ff073c98ef8e9a84473e51e716211b41aa0f18e656"
NEW_NUMPY_HASH = "1a2f16d2a4d2d1e9d41f7e5d4b2b3a4c8f0d7f3c2d9a6e1e8b6f0a2e4c9d1b3a"


def lock_11() -> str:
    text = textwrap.dedent(LOCK_11)
    for key, value in {
        "REQUESTS_HASH": REQUESTS_HASH,
        "PYSOCKS_HASH": PYSOCKS_HASH,
        "OLD_NUMPY_HASH": OLD_NUMPY_HASH,
        "NEW_NUMPY_HASH": NEW_NUMPY_HASH,
    }.items():
        text = text.replace(key, value)
    return text


def test_lock_11_with_categories_and_metadata_files(tmp_path: Path) -> None:
    document = read_poetry_lock(write_lock(tmp_path, lock_11()), tmp_path)
    assert document.location == "poetry.lock"
    assert document.problems == ()
    assert [(p.name, p.version) for p in document.packages] == [
        ("requests", "2.28.1"),
        ("pytest", "7.1.2"),
        ("pysocks", "1.7.1"),
        ("numpy", "1.21.6"),
        ("numpy", "1.24"),
        ("mylib", "0.1.0"),
        ("tool", "1.0"),
    ]
    requests, pytest_, pysocks, old_numpy, new_numpy, mylib, tool = document.packages
    assert requests.display_name == "Requests"
    assert requests.scope is DependencyScope.REQUIRED
    assert requests.groups == ()
    assert requests.index_url == "https://mirror.example/simple"
    assert requests.url is None
    assert requests.artifacts == (
        Artifact(
            filename="requests-2.28.1-py3-none-any.whl",
            hashes=(sha256(REQUESTS_HASH.lower()),),
        ),
    )
    assert requests.dependencies == (
        PackageLink(name="certifi"),
        PackageLink(name="charset-normalizer"),
        PackageLink(name="pysocks", marker='extra == "socks"'),
        PackageLink(name="urllib3", extras=("secure", "socks")),
    )
    assert pytest_.scope is DependencyScope.DEV
    assert pytest_.groups == ("dev",)
    assert pytest_.artifacts == ()
    assert pysocks.scope is DependencyScope.OPTIONAL
    assert pysocks.groups == ()
    assert pysocks.artifacts[0].filename == "PySocks-1.7.1.tar.gz"
    # [metadata.files] is shared by both numpy versions: each keeps its own file.
    assert old_numpy.artifacts == (
        Artifact(filename="numpy-1.21.6.zip", hashes=(sha256(OLD_NUMPY_HASH),)),
    )
    assert new_numpy.artifacts == (
        Artifact(filename="numpy-1.24.0-cp38-cp38-win32.whl", hashes=(sha256(NEW_NUMPY_HASH),)),
    )
    assert old_numpy.marker == 'python_version < "3.8"'
    assert mylib.url == "../mylib"
    assert mylib.editable is True
    assert tool.url == (
        "git+https://github.com/example/tools.git@0123456789abcdef0123456789abcdef01234567"
        "#subdirectory=packages/tool"
    )


def test_lock_10_metadata_hashes(tmp_path: Path) -> None:
    digest = "3f8804571ebe159c380ac6de37643bb4685970655d3bba243530d6558b799aa0"
    path = write_lock(
        tmp_path,
        f"""\
        [[package]]
        name = "six"
        version = "1.16.0"
        category = "main"
        optional = false

        [metadata]
        lock-version = "1.0"

        [metadata.hashes]
        six = ["{digest}", "not-a-hash"]
        """,
    )
    document = read_poetry_lock(path, tmp_path)
    assert document.packages[0].artifacts == (Artifact(hashes=(sha256(digest),)),)
    assert document.problems == (
        "package 1 ('six'): [metadata.hashes]: sha256 hash 'not-a-hash' is not 64 hex digits",
    )


def test_lock_20_without_groups_counts_as_main(tmp_path: Path) -> None:
    path = write_lock(
        tmp_path,
        """\
        [[package]]
        name = "idna"
        version = "3.4"
        optional = false
        files = []

        [[package]]
        name = "pysocks"
        version = "1.7.1"
        optional = true
        files = []

        [metadata]
        lock-version = "2.0"
        """,
    )
    idna, pysocks = read_poetry_lock(path, tmp_path).packages
    assert idna.scope is DependencyScope.REQUIRED
    assert pysocks.scope is DependencyScope.OPTIONAL


def test_location_outside_root_is_only_its_name(tmp_path: Path) -> None:
    path = write_lock(tmp_path, '[metadata]\nlock-version = "2.1"\n')
    other = tmp_path / "elsewhere"
    document = read_poetry_lock(path, other)
    assert document.location == "poetry.lock"  # no absolute path of the scanning machine
    assert document.packages == ()


# --- problems, not exceptions ----------------------------------------------------------------


def test_wrong_types_inside_packages_become_problems(tmp_path: Path) -> None:
    path = write_lock(
        tmp_path,
        """\
        [[package]]
        name = "bad-version"
        version = 12
        groups = ["main"]
        files = "nope"

        [[package]]
        name = "weird"
        version = "not a version!"
        groups = "main"
        optional = "yes"
        markers = "python_version <<< '3'"
        files = [
            1,
            {file = "weird-1.whl", hash = "sha256:abc"},
            {file = "weird-2.whl", hash = "md7:00"},
            {file = "weird-3.whl", hash = "nocolon"},
            {hash = "sha256:0000000000000000000000000000000000000000000000000000000000000000"},
        ]

        [package.dependencies]
        ok = "*"
        "bad name!" = "*"
        num = 3
        lst = [1, {markers = 5}]

        [[package]]
        name = ["list"]
        version = "1"

        [[package]]
        version = "1"

        [[package]]
        name = "fine"
        version = "1.0"
        groups = ["main"]
        files = []

        [metadata]
        lock-version = "2.1"
        """,
    )
    document = read_poetry_lock(path, tmp_path)
    assert [(p.name, p.version) for p in document.packages] == [
        ("bad-version", None),
        ("weird", "not a version!"),
        ("fine", "1.0"),
    ]
    bad, weird, _fine = document.packages
    assert bad.artifacts == ()
    assert weird.artifacts == (
        Artifact(filename="weird-1.whl"),
        Artifact(filename="weird-2.whl"),
        Artifact(filename="weird-3.whl"),
    )
    assert weird.marker == "python_version <<< '3'"
    assert weird.scope is DependencyScope.REQUIRED
    assert weird.dependencies == (PackageLink(name="ok"), PackageLink(name="lst"))
    assert document.problems == (
        "package 1 ('bad-version'): 'version' is not a string",
        "package 1 ('bad-version'): 'files' is not an array",
        "package 2 ('weird'): version 'not a version!' is not a valid version",
        "package 2 ('weird'): 'groups' is not an array",
        "package 2 ('weird'): marker \"python_version <<< '3'\" is not a valid environment marker",
        "package 2 ('weird'): 'optional' is not a boolean",
        "package 2 ('weird'): file 1 is not a table",
        "package 2 ('weird'): file 'weird-1.whl': sha256 hash 'abc' is not 64 hex digits",
        "package 2 ('weird'): file 'weird-2.whl': hash algorithm 'md7' is not supported",
        "package 2 ('weird'): file 'weird-3.whl': hash 'nocolon' does not name its algorithm",
        "package 2 ('weird'): file 5 has no name",
        "package 2 ('weird'): 'bad name!' is not a valid package name",
        "package 2 ('weird'): dependency 'num' is neither a string, a table nor an array",
        "package 2 ('weird'): dependency 'lst' holds an item that is not a table",
        "package 2 ('weird'): 'markers' is not a string",
        "package 3: 'name' is missing or not a string",
        "package 4: 'name' is missing or not a string",
    )


def test_package_that_is_not_a_table_is_a_problem(tmp_path: Path) -> None:
    path = write_lock(tmp_path, 'package = ["text", {name = "a", files = []}]\n')
    document = read_poetry_lock(path, tmp_path)
    assert [(p.name, p.version) for p in document.packages] == [("a", None)]
    assert document.problems == (
        "no [metadata] table: the lock version is unknown",
        "package 1: is not a table",
        "package 2 ('a'): 'version' is missing",
    )


def test_unknown_lock_version_and_source_type_are_problems(tmp_path: Path) -> None:
    path = write_lock(
        tmp_path,
        """\
        [[package]]
        name = "x"
        version = "1"
        groups = ["main"]
        files = []

        [package.source]
        type = "carrier-pigeon"
        url = "coop://roof"

        [metadata]
        lock-version = "9.0"
        """,
    )
    document = read_poetry_lock(path, tmp_path)
    assert document.packages[0].url == "coop://roof"
    assert document.problems == (
        "[metadata]: lock-version '9.0' is not one this reader knows",
        "package 1 ('x'): source type 'carrier-pigeon' is not one this reader knows",
    )


def test_missing_metadata_is_a_problem(tmp_path: Path) -> None:
    path = write_lock(tmp_path, 'package = [{name = "a", version = "1", files = []}]\n')
    document = read_poetry_lock(path, tmp_path)
    assert document.packages[0].name == "a"
    assert document.problems == ("no [metadata] table: the lock version is unknown",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('package = "everything"\n', "'package' is not an array of tables"),
        ("[[package]\nname = 1", "invalid TOML"),
        ("x = " + "[" * 100 + "]" * 100 + "\n", "nesting"),
    ],
    ids=["package-not-array", "not-toml", "deep-nesting"],
)
def test_top_level_errors_raise(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(MalformedFileError, match=message):
        read_poetry_lock(write_lock(tmp_path, text), tmp_path)


def test_non_utf8_raises(tmp_path: Path) -> None:
    path = tmp_path / "poetry.lock"
    path.write_bytes(b'[metadata]\nlock-version = "\xff"\n')
    with pytest.raises(MalformedFileError, match="UTF-8"):
        read_poetry_lock(path, tmp_path)


# --- caps ------------------------------------------------------------------------------------


METADATA = '[metadata]\nlock-version = "2.1"\n'


def test_package_count_is_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dependency_fields, "MAX_PACKAGES", 3)
    entries = "".join(f'[[package]]\nname = "p{i}"\nversion = "1"\nfiles = []\n' for i in range(5))
    document = read_poetry_lock(write_lock(tmp_path, entries), tmp_path)
    assert [p.name for p in document.packages] == ["p0", "p1", "p2"]
    assert "5 packages; only the first 3 are read" in document.problems


def test_dependency_count_is_capped(tmp_path: Path) -> None:
    count = MAX_DEPENDENCIES_PER_PACKAGE + 5
    dependencies = "".join(f'd{i} = "*"\n' for i in range(count))
    path = write_lock(
        tmp_path,
        f'[[package]]\nname = "hub"\nversion = "1"\nfiles = []\n'
        f"[package.dependencies]\n{dependencies}{METADATA}",
    )
    document = read_poetry_lock(path, tmp_path)
    assert len(document.packages[0].dependencies) == MAX_DEPENDENCIES_PER_PACKAGE
    assert (
        f"package 1 ('hub'): {count} dependencies; only the first "
        f"{MAX_DEPENDENCIES_PER_PACKAGE} are read"
    ) in document.problems


def test_dependencies_per_lock_are_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dependency_fields, "MAX_DEPENDENCIES_PER_LOCK", 4)
    entries = "".join(
        f'[[package]]\nname = "p{i}"\nversion = "1"\nfiles = []\n'
        f'[package.dependencies]\na = "*"\nb = "*"\nc = "*"\n'
        for i in range(3)
    )
    document = read_poetry_lock(write_lock(tmp_path, entries + METADATA), tmp_path)
    assert [len(p.dependencies) for p in document.packages] == [3, 1, 0]
    assert document.problems == ("more than 4 dependency entries; the rest are not read",)


def test_constraint_lists_count_against_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dependency_fields, "MAX_DEPENDENCIES_PER_LOCK", 3)
    constraints = ", ".join(f'{{version = "*", markers = "os_name == \'{i}\'"}}' for i in range(5))
    path = write_lock(
        tmp_path,
        f'[[package]]\nname = "p"\nversion = "1"\nfiles = []\n'
        f"[package.dependencies]\nnumpy = [{constraints}]\n{METADATA}",
    )
    document = read_poetry_lock(path, tmp_path)
    assert document.packages[0].dependencies == (
        PackageLink(name="numpy", marker='os_name == "0" or os_name == "1"'),
    )
    assert document.problems == ("more than 3 dependency entries; the rest are not read",)


def test_long_strings_are_dropped(tmp_path: Path) -> None:
    marker = "python_version >= '3' and " * (MAX_STRING_CHARS // 20) + "os_name == 'nt'"
    path = write_lock(
        tmp_path,
        f'[[package]]\nname = "x"\nversion = "1"\nfiles = []\nmarkers = "{marker}"\n{METADATA}',
    )
    document = read_poetry_lock(path, tmp_path)
    assert document.packages[0].marker is None
    assert document.problems == (
        f"package 1 ('x'): 'markers' is longer than {MAX_STRING_CHARS} characters",
    )


def test_deeply_nested_marker_is_a_problem(tmp_path: Path) -> None:
    marker = "(" * 1000 + "os_name == 'nt'" + ")" * 1000
    path = write_lock(
        tmp_path,
        f'[[package]]\nname = "x"\nversion = "1"\nfiles = []\nmarkers = "{marker}"\n{METADATA}',
    )
    document = read_poetry_lock(path, tmp_path)
    assert document.packages[0].marker == marker
    assert len(document.problems) == 1
    assert "is not a valid environment marker" in document.problems[0]


def test_problems_are_capped(tmp_path: Path) -> None:
    entries = "".join(f'[[package]]\nname = "p{i}"\nversion = {i}\n' for i in range(300))
    document = read_poetry_lock(write_lock(tmp_path, entries), tmp_path)
    assert len(document.problems) == dependency_fields.MAX_PROBLEMS + 1
    assert document.problems[-1].startswith("... and ")


# --- fuzz ------------------------------------------------------------------------------------

KEYS = [
    "name", "version", "groups", "category", "optional", "markers", "files", "file",
    "hash", "source", "type", "url", "reference", "resolved_reference", "dependencies",
    "extras", "develop", "main", "dev", "lock-version", "files",
]  # fmt: skip
VALUES = toml_values(
    KEYS, ["main", "dev", "git", "legacy", "directory", "1.0", "sha256:" + "a" * 64]
)


@settings(max_examples=200, deadline=None)
@given(
    packages=st.lists(st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=8), max_size=4),
    metadata=VALUES,
)
def test_fuzz_structured(
    tmp_path_factory: pytest.TempPathFactory, packages: list[dict[str, object]], metadata: object
) -> None:
    text = f"package = {toml_value(packages)}\nmetadata = {toml_value(metadata)}\n"
    assert_reads_or_refuses(read_poetry_lock, tmp_path_factory.mktemp("fuzz"), "poetry.lock", text)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=400), cut=st.integers(0, 2000))
def test_fuzz_mutated_lock(tmp_path_factory: pytest.TempPathFactory, data: bytes, cut: int) -> None:
    original = lock_11().encode()
    mutated = original[:cut] + data + original[cut:]
    directory = tmp_path_factory.mktemp("fuzz")
    assert_reads_or_refuses(read_poetry_lock, directory, "poetry.lock", mutated)
