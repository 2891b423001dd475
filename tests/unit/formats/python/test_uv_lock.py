"""Tests for the uv.lock reader."""

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
from scanner.formats.python import uv_lock
from scanner.formats.python.document_kind import DocumentKind
from scanner.formats.python.records import (
    Artifact,
    DependencyDocument,
    DependencyScope,
    PackageLink,
    PythonPackage,
)
from scanner.formats.python.uv_lock import read_uv_lock
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


def fickling_lock() -> Path:
    path = PYTHON / "fickling" / "uv.lock"
    if not path.is_file():
        pytest.skip("corpus file fickling/uv.lock is absent")
    return path


def write_lock(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "uv.lock"
    path.write_text(textwrap.dedent(text))
    return path


def by_key(document: DependencyDocument) -> dict[tuple[str, str | None], PythonPackage]:
    return {(package.name, package.version): package for package in document.packages}


def by_name(document: DependencyDocument) -> dict[str, PythonPackage]:
    return {package.name: package for package in document.packages}


def sha256(value: str) -> Hash:
    return Hash(alg="SHA-256", value=value)


# --- the real lock ---------------------------------------------------------------------------


def test_fickling_lock_has_every_package_and_edge() -> None:
    path = fickling_lock()
    document = read_uv_lock(path, PYTHON)
    assert document.location == "fickling/uv.lock"
    assert document.kind is DocumentKind.UV_LOCK
    assert document.locked
    assert document.has_graph
    assert document.problems == ()
    assert document.project == "fickling"
    raw = tomllib.loads(path.read_text())["package"]
    listed = [entry for entry in raw if "editable" not in entry["source"]]
    assert len(raw) == 72
    assert len(document.packages) == len(listed) == 71
    assert [(p.name, p.version) for p in document.packages] == [
        (entry["name"], str(Version(entry["version"]))) for entry in listed
    ]
    for package, entry in zip(document.packages, listed, strict=True):
        entries = [*entry.get("dependencies", [])]
        entries += [d for ds in entry.get("optional-dependencies", {}).values() for d in ds]
        named = [(d["name"], d.get("version")) for d in entries]
        assert [(link.name, link.version) for link in package.dependencies] == list(
            dict.fromkeys(named)
        )
        assert len(package.artifacts) == len(entry.get("wheels", [])) + ("sdist" in entry)
        assert package.index_url == entry["source"]["registry"]


def test_fickling_direct_packages_are_what_the_project_names() -> None:
    path = fickling_lock()
    document = read_uv_lock(path, PYTHON)
    root = next(e for e in tomllib.loads(path.read_text())["package"] if e["name"] == "fickling")
    named = {d["name"] for d in root["dependencies"]}
    named |= {d["name"] for ds in root["optional-dependencies"].values() for d in ds}
    assert {p.name for p in document.packages if p.direct} == named
    assert all(p.direct is False for p in document.packages if p.name not in named)
    # Only typing-extensions is in the project's plain dependencies; the rest are extras.
    required = {p.name for p in document.packages if p.scope is DependencyScope.REQUIRED}
    assert required == {"typing-extensions"}
    assert {p.scope for p in document.packages} == {
        DependencyScope.REQUIRED,
        DependencyScope.OPTIONAL,
    }


def test_fickling_package_details() -> None:
    document = read_uv_lock(fickling_lock(), PYTHON)
    packages = by_key(document)
    anyio = packages[("anyio", "4.12.1")]
    assert anyio.direct is False
    assert anyio.index_url == PYPI
    assert anyio.url is None
    assert anyio.artifacts == (
        Artifact(
            filename="anyio-4.12.1.tar.gz",
            url=f"{FILES}/96/f0/5eb65b2bb0d09ac6776f2eb54adee6abe8228ea05b20a5ad0e4945de8aac/"
            "anyio-4.12.1.tar.gz",
            hashes=(sha256("41cfcc3a4c85d3f05c932da7c26d0201ac36f72abd4435ba90d0464a3ffed703"),),
        ),
        Artifact(
            filename="anyio-4.12.1-py3-none-any.whl",
            url=f"{FILES}/38/0e/27be9fdef66e72d64c0cdc3cc2823101b80585f8119b5c112c2e8f5f7dab/"
            "anyio-4.12.1-py3-none-any.whl",
            hashes=(sha256("d405828884fc140aa80a3c667b8beed277f1dfedec42ba031bd6ac3db606ab6c"),),
        ),
    )
    assert anyio.dependencies == (
        PackageLink(name="exceptiongroup", marker='python_full_version < "3.11"'),
        PackageLink(name="idna"),
        PackageLink(name="typing-extensions", marker='python_full_version < "3.13"'),
    )
    typing_extensions = packages[("typing-extensions", "4.14.1")]
    assert typing_extensions.direct is True
    assert typing_extensions.scope is DependencyScope.REQUIRED
    assert typing_extensions.specifier == ">=4.6.0"
    coverage = packages[("coverage", "7.13.1")]
    assert coverage.direct is True
    assert coverage.scope is DependencyScope.OPTIONAL
    assert coverage.groups == ("dev", "test")
    assert coverage.specifier == ">=7.0.0"
    assert coverage.artifacts[0].hashes == (
        sha256("b7593fe7eb5feaa3fbb461ac79aac9f9fc0387a5ca8080b0c6fe2ca27b091afd"),
    )
    # coverage's "toml" extra: an edge with the extra in its marker, followed by the scopes.
    assert coverage.dependencies == (
        PackageLink(name="tomli", marker='python_full_version <= "3.11" and extra == "toml"'),
    )
    tomli = packages[("tomli", "2.2.1")]
    assert tomli.direct is False
    assert tomli.scope is DependencyScope.OPTIONAL
    assert set(tomli.groups) == {"dev", "test"}
    # numpy is locked twice (a fork on python_full_version); both are direct.
    for version in ("2.2.6", "2.3.5"):
        numpy = packages[("numpy", version)]
        assert numpy.direct is True
        assert numpy.groups == ("dev", "examples", "huggingface", "test", "torch")
        assert numpy.specifier == ""  # declared with different specifiers
    # torchvision needs numpy on both sides of the fork: each edge leads to its own version.
    torchvision = packages[("torchvision", "0.28.0")]
    assert torchvision.dependencies == (
        PackageLink(name="numpy", marker='python_full_version < "3.11"', version="2.2.6"),
        PackageLink(name="numpy", marker='python_full_version >= "3.11"', version="2.3.5"),
        PackageLink(name="pillow"),
        PackageLink(name="torch"),
    )
    # Reached only through torch: the extras that bring torch in.
    sympy = packages[("sympy", "1.14.0")]
    assert sympy.direct is False
    assert sympy.groups == ("dev", "huggingface", "test", "torch")
    assert packages[("pytorchfi", "0.6.0")].groups == ("examples",)
    assert packages[("ruff", "0.16.0")].groups == ("dev", "lint")


# --- scopes, roots, sources ------------------------------------------------------------------

LOCK = """\
    version = 1
    revision = 2
    requires-python = ">=3.10"

    [[package]]
    name = "app"
    version = "0.1.0"
    source = { virtual = "." }
    dependencies = [
        { name = "fast-lib", extra = ["Speed"] },
        { name = "numpy", version = "2.0.0", source = { registry = "https://pypi.org/simple" } },
        { name = "requests" },
    ]

    [package.optional-dependencies]
    plot = [{ name = "matplotlib" }]

    [package.dev-dependencies]
    dev = [{ name = "old-tool" }, { name = "requests" }]
    docs = [{ name = "sphinx" }]

    [package.metadata]
    requires-dist = [
        { name = "fast-lib", extras = ["speed"], specifier = ">=1.0" },
        { name = "numpy", specifier = "<3,>=2" },
        { name = "requests", specifier = ">=2" },
        { name = "matplotlib", marker = "extra == 'plot'" },
    ]

    [package.metadata.requires-dev]
    dev = [{ name = "old-tool" }, { name = "requests", specifier = ">=2.31" }]

    [[package]]
    name = "fast-lib"
    version = "1.2.0"
    source = { git = "https://github.com/example/fast-lib?tag=v1.2.0#COMMIT" }

    [package.optional-dependencies]
    speed = [{ name = "speedups", marker = "sys_platform == 'linux'" }]
    slow = [{ name = "turtle" }]

    [[package]]
    name = "speedups"
    version = "3.0"
    source = { url = "https://example.com/speedups-3.0.tar.gz" }
    sdist = { hash = "sha256:UPPER_HEX" }

    [[package]]
    name = "turtle"
    version = "0.1"
    source = { path = "wheels/turtle-0.1-py3-none-any.whl" }
    wheels = [{ filename = "turtle-0.1-py3-none-any.whl", hash = "sha256:ONES" }]

    [[package]]
    name = "numpy"
    version = "1.26.4"
    source = { registry = "https://pypi.org/simple" }

    [[package]]
    name = "numpy"
    version = "2.0.0"
    source = { registry = "https://pypi.org/simple" }

    [[package]]
    name = "old-tool"
    version = "0.9"
    source = { registry = "https://mirror.example/simple" }
    dependencies = [{ name = "numpy", version = "1.26.4", source = { registry = "r" } }]

    [[package]]
    name = "requests"
    version = "2.32.3"
    source = { registry = "https://pypi.org/simple" }
    dependencies = [{ name = "idna" }]

    [[package]]
    name = "idna"
    version = "3.7"
    source = { registry = "https://pypi.org/simple" }

    [[package]]
    name = "matplotlib"
    version = "3.9.0"
    source = { registry = "https://pypi.org/simple" }
    dependencies = [{ name = "idna" }, { name = "local-helper" }]

    [[package]]
    name = "local-helper"
    version = "0.0.1"
    source = { editable = "../helper" }

    [[package]]
    name = "sphinx"
    version = "7.0"
    source = { directory = "vendor/sphinx" }
"""


COMMIT = "0123456789abcdef0123456789abcdef01234567"


def lock() -> str:
    text = textwrap.dedent(LOCK).replace("COMMIT", COMMIT).replace("ONES", "1" * 64)
    return text.replace("UPPER_HEX", "ABCDEF" * 10 + "ABCD")


def test_scopes_follow_the_roots_least_restrictive_first(tmp_path: Path) -> None:
    document = read_uv_lock(write_lock(tmp_path, lock()), tmp_path)
    assert document.problems == ()
    assert document.project == "app"
    packages = by_key(document)
    assert ("app", "0.1.0") not in packages
    expected = {
        ("fast-lib", "1.2.0"): (DependencyScope.REQUIRED, (), True),
        ("speedups", "3.0"): (DependencyScope.REQUIRED, (), False),
        ("numpy", "2.0.0"): (DependencyScope.REQUIRED, (), True),
        ("numpy", "1.26.4"): (DependencyScope.DEV, ("dev",), False),
        ("old-tool", "0.9"): (DependencyScope.DEV, ("dev",), True),
        ("requests", "2.32.3"): (DependencyScope.REQUIRED, (), True),
        ("idna", "3.7"): (DependencyScope.REQUIRED, (), False),
        ("matplotlib", "3.9.0"): (DependencyScope.OPTIONAL, ("plot",), True),
        ("local-helper", "0.0.1"): (DependencyScope.OPTIONAL, ("plot",), False),
        ("sphinx", "7.0"): (DependencyScope.DEV, ("docs",), True),
    }
    for key, (scope, groups, direct) in expected.items():
        package = packages[key]
        assert (package.scope, package.groups, package.direct) == (scope, groups, direct), key
    # turtle is only in fast-lib's "slow" extra, which nothing asks for.
    assert packages[("turtle", "0.1")].direct is False


def test_sources_links_and_specifiers(tmp_path: Path) -> None:
    packages = by_key(read_uv_lock(write_lock(tmp_path, lock()), tmp_path))
    fast = packages[("fast-lib", "1.2.0")]
    assert (
        fast.url
        == "git+https://github.com/example/fast-lib@0123456789abcdef0123456789abcdef01234567"
    )
    assert fast.index_url is None
    assert fast.specifier == ">=1.0"
    assert fast.dependencies == (
        PackageLink(name="speedups", marker='sys_platform == "linux" and extra == "speed"'),
        PackageLink(name="turtle", marker='extra == "slow"'),
    )
    speedups = packages[("speedups", "3.0")]
    assert speedups.url == "https://example.com/speedups-3.0.tar.gz"
    assert speedups.artifacts == (Artifact(hashes=(sha256("abcdef" * 10 + "abcd"),)),)
    turtle = packages[("turtle", "0.1")]
    assert turtle.url == "wheels/turtle-0.1-py3-none-any.whl"
    assert turtle.artifacts == (
        Artifact(filename="turtle-0.1-py3-none-any.whl", hashes=(sha256("1" * 64),)),
    )
    assert packages[("numpy", "2.0.0")].specifier == "<3,>=2"
    assert packages[("numpy", "1.26.4")].specifier == ""  # not direct
    assert packages[("requests", "2.32.3")].specifier == ""  # ">=2" and ">=2.31"
    assert packages[("old-tool", "0.9")].index_url == "https://mirror.example/simple"
    assert packages[("old-tool", "0.9")].dependencies == (
        PackageLink(name="numpy", version="1.26.4"),
    )
    helper = packages[("local-helper", "0.0.1")]
    assert (helper.url, helper.editable) == ("../helper", True)
    sphinx = packages[("sphinx", "7.0")]
    assert (sphinx.url, sphinx.editable) == ("vendor/sphinx", False)


def test_workspace_members_are_roots(tmp_path: Path) -> None:
    path = write_lock(
        tmp_path,
        """\
        version = 1

        [manifest]
        members = ["App", "lib"]

        [[package]]
        name = "app"
        version = "1.0"
        source = { editable = "." }
        dependencies = [{ name = "lib" }]

        [[package]]
        name = "lib"
        version = "0.5"
        source = { editable = "packages/lib" }
        dependencies = [{ name = "six" }]

        [[package]]
        name = "six"
        version = "1.16.0"
        source = { registry = "https://pypi.org/simple" }
        """,
    )
    document = read_uv_lock(path, tmp_path)
    assert document.project == "app"
    assert [(p.name, p.direct, p.scope) for p in document.packages] == [
        ("six", True, DependencyScope.REQUIRED)
    ]


def test_lock_without_a_project_leaves_direct_unknown(tmp_path: Path) -> None:
    path = write_lock(
        tmp_path,
        """\
        version = 1

        [[package]]
        name = "six"
        version = "1.16.0"
        source = { registry = "https://pypi.org/simple" }
        """,
    )
    document = read_uv_lock(path, tmp_path)
    assert document.project is None
    assert [(p.name, p.direct, p.scope) for p in document.packages] == [
        ("six", None, DependencyScope.REQUIRED)
    ]


def test_many_groups_keep_their_scope(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(uv_lock, "MAX_SCOPE_LABELS", 2)
    path = write_lock(
        tmp_path,
        """\
        version = 1

        [[package]]
        name = "app"
        source = { virtual = "." }

        [package.dev-dependencies]
        a = [{ name = "pa" }]
        b = [{ name = "pb" }]
        c = [{ name = "pc" }]

        [[package]]
        name = "pa"
        version = "1"
        source = { registry = "https://pypi.org/simple" }

        [[package]]
        name = "pb"
        version = "1"
        source = { registry = "https://pypi.org/simple" }

        [[package]]
        name = "pc"
        version = "1"
        source = { registry = "https://pypi.org/simple" }
        """,
    )
    document = read_uv_lock(path, tmp_path)
    assert [(p.name, p.scope, p.groups) for p in document.packages] == [
        ("pa", DependencyScope.DEV, ("a",)),
        ("pb", DependencyScope.DEV, ()),
        ("pc", DependencyScope.DEV, ()),
    ]
    assert document.problems == (
        "the project has more than 2 extras and groups; packages of the others are not "
        "named by group",
    )


# --- problems, not exceptions ----------------------------------------------------------------


def test_wrong_types_become_problems(tmp_path: Path) -> None:
    path = write_lock(
        tmp_path,
        """\
        version = "one"

        [[package]]
        name = "app"
        source = { virtual = "." }
        dependencies = [{ name = "ghost" }, "text", { name = "x", version = 3 }]

        [[package]]
        name = "x"
        version = "1"
        source = { registry = 5 }
        sdist = { url = "https://e.com/x-1.tar.gz", hash = "sha256:zz" }
        wheels = ["w", { hash = "sha512:00" }, {}]
        dependencies = "none"

        [package.optional-dependencies]
        "bad extra!" = [{ name = "y" }]
        ok = 7

        [[package]]
        name = "x"
        version = "1.0"
        source = { registry = "https://pypi.org/simple" }

        [[package]]
        name = "y"
        version = "not.a.version!"
        source = { unknown = "?" }

        [[package]]
        source = { registry = "https://pypi.org/simple" }
        """,
    )
    document = read_uv_lock(path, tmp_path)
    assert [(p.name, p.version, p.direct) for p in document.packages] == [
        ("x", "1", True),
        ("y", "not.a.version!", False),
    ]
    x = document.packages[0]
    assert x.index_url is None
    assert x.artifacts == (Artifact(filename="x-1.tar.gz", url="https://e.com/x-1.tar.gz"),)
    assert document.problems == (
        "'version' is missing or not an integer",
        "package 1 ('app'): 'dependencies' holds an item that is not a table",
        "package 1 ('app'): 'version' is not a string",
        "package 2 ('x'): 'registry' is not a string",
        "package 2 ('x'): sdist: sha256 hash 'zz' is not 64 hex digits",
        "package 2 ('x'): wheel 1 is not a table",
        "package 2 ('x'): wheel 2: sha512 hash '00' is not 128 hex digits",
        "package 2 ('x'): wheel 2 names no file and no hash",
        "package 2 ('x'): wheel 3 names no file and no hash",
        "package 2 ('x'): 'dependencies' is not an array",
        "package 2 ('x'): 'bad extra!' is not a valid package name",
        "package 2 ('x'): 'ok' is not an array",
        "package 3 ('x'): is listed twice; the first entry is kept",
        "package 4 ('y'): version 'not.a.version!' is not a valid version",
        "package 4 ('y'): 'source' names no kind this reader knows",
        "package 5: 'name' is missing or not a string",
        "dependency 'ghost' is not a package of the lock",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("package = 1\n", "'package' is not an array of tables"),
        ("version = = 1", "invalid TOML"),
        ("x = " + "[" * 100 + "]" * 100 + "\n", "nesting"),
    ],
    ids=["package-not-array", "not-toml", "deep-nesting"],
)
def test_top_level_errors_raise(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(MalformedFileError, match=message):
        read_uv_lock(write_lock(tmp_path, text), tmp_path)


def test_newer_lock_version_is_a_problem(tmp_path: Path) -> None:
    document = read_uv_lock(write_lock(tmp_path, "version = 2\n"), tmp_path)
    assert document.problems == ("lock version 2 is not one this reader knows",)


def test_version_past_the_int_digit_limit_is_a_problem(tmp_path: Path) -> None:
    huge = "9" * 5000  # int() refuses more than 4300 digits: a ValueError, not InvalidVersion
    text = (
        f'version = 1\n[[package]]\nname = "a"\nversion = "{huge}"\nsource = {{ registry = "r" }}\n'
        f'[[package]]\nname = "b"\nversion = "1"\nsource = {{ registry = "r" }}\n'
        f'dependencies = [{{ name = "a", version = "{huge}" }}]\n'
    )
    document = read_uv_lock(write_lock(tmp_path, text), tmp_path)
    a, b = document.packages
    assert a.version == huge
    assert b.dependencies == (PackageLink(name="a", version=huge),)
    assert document.problems == (
        f"package 1 ('a'): version {huge[:60]!r} is not a valid version",
        f"package 2 ('b'): version {huge[:60]!r} is not a valid version",
    )


def test_long_dependency_chains_and_cycles_terminate(tmp_path: Path) -> None:
    count = 3000
    chain = "".join(
        f'[[package]]\nname = "p{i}"\nversion = "1"\nsource = {{ registry = "r" }}\n'
        f'dependencies = [{{ name = "p{(i + 1) % count}" }}]\n'
        for i in range(count)
    )
    root = '[[package]]\nname = "app"\nsource = { virtual = "." }\n'
    root += 'dependencies = [{ name = "p0" }]\n'
    document = read_uv_lock(write_lock(tmp_path, f"version = 1\n{root}{chain}"), tmp_path)
    assert len(document.packages) == count
    assert all(p.scope is DependencyScope.REQUIRED for p in document.packages)
    assert [p.name for p in document.packages if p.direct] == ["p0"]


# --- fuzz ------------------------------------------------------------------------------------

KEYS = [
    "name", "version", "source", "registry", "git", "url", "path", "editable", "virtual",
    "directory", "dependencies", "optional-dependencies", "dev-dependencies", "extra",
    "marker", "sdist", "wheels", "hash", "metadata", "requires-dist", "specifier",
]  # fmt: skip
VALUES = toml_values(KEYS, [".", "a", "b", "1.0", "sha256:" + "a" * 64, "https://x/y?rev=1#abc"])


@settings(max_examples=200, deadline=None)
@given(
    packages=st.lists(st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=8), max_size=5),
    manifest=VALUES,
)
def test_fuzz_structured(
    tmp_path_factory: pytest.TempPathFactory, packages: list[dict[str, object]], manifest: object
) -> None:
    text = f"version = 1\npackage = {toml_value(packages)}\nmanifest = {toml_value(manifest)}\n"
    assert_reads_or_refuses(read_uv_lock, tmp_path_factory.mktemp("fuzz"), "uv.lock", text)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=400), cut=st.integers(0, 4000))
def test_fuzz_mutated_lock(tmp_path_factory: pytest.TempPathFactory, data: bytes, cut: int) -> None:
    original = lock().encode()
    mutated = original[:cut] + data + original[cut:]
    assert_reads_or_refuses(read_uv_lock, tmp_path_factory.mktemp("fuzz"), "uv.lock", mutated)


def test_canonical_names_in_dependencies(tmp_path: Path) -> None:
    path = write_lock(
        tmp_path,
        """\
        version = 1

        [[package]]
        name = "Zope.Interface"
        version = "6.0"
        source = { registry = "https://pypi.org/simple" }
        dependencies = [{ name = "Set_Up.Tools" }]

        [[package]]
        name = "set-up-tools"
        version = "1"
        source = { registry = "https://pypi.org/simple" }
        """,
    )
    zope, _ = read_uv_lock(path, tmp_path).packages
    assert (zope.name, zope.display_name) == ("zope-interface", "Zope.Interface")
    assert zope.dependencies == (PackageLink(name=canonicalize_name("Set_Up.Tools")),)
