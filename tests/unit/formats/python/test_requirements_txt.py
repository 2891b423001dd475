"""Tests for the pip requirements file reader."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet

from scanner.core.errors import MalformedFileError
from scanner.core.model import Hash
from scanner.formats.python import dependency_fields, requirements_txt
from scanner.formats.python.document_kind import DocumentKind
from scanner.formats.python.pep508 import MAX_REQUIREMENT_CHARS
from scanner.formats.python.records import (
    Artifact,
    DependencyDocument,
    DependencyScope,
    PythonPackage,
)
from scanner.formats.python.requirements_txt import (
    MAX_INCLUDE_DEPTH,
    REQUIREMENTS_MAX_BYTES,
    read_requirements,
)
from tests.unit.formats.python.toml_strategies import assert_reads_or_refuses, fragment_texts

CYCLONEDX = "cyclonedx-python_testdata/requirements"


@pytest.fixture
def corpus(corpus: Path) -> Path:
    """The corpus's Python projects (the shared ``corpus`` fixture skips when it is absent)."""
    return corpus / "python"


def read_corpus(corpus: Path, relative: str) -> DependencyDocument:
    return read_requirements(corpus / relative, corpus)


def by_name(document: DependencyDocument) -> dict[str, PythonPackage]:
    packages = {package.name: package for package in document.packages}
    assert len(packages) == len(document.packages), "a name appears twice"
    return packages


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def sha256(character: str) -> str:
    return character * 64


# The real corpus


def test_pip_freeze_file(corpus: Path) -> None:
    relative = "DMalakhov1-PROJECT_LORA/requirements.txt"
    document = read_corpus(corpus, relative)
    lines = (corpus / relative).read_text().splitlines()
    declared = [line for line in lines if line.strip() and not line.startswith("#")]
    assert len(declared) == 81
    assert len(document.packages) == 81
    assert document.kind is DocumentKind.REQUIREMENTS
    assert document.location == relative
    assert document.problems == ()
    assert document.includes == ()
    packages = by_name(document)
    assert packages["accelerate"] == PythonPackage(
        name="accelerate",
        display_name="accelerate",
        version="1.6.0",
        specifier="==1.6.0",
        scope=DependencyScope.REQUIRED,
        direct=True,
        line=1,
    )
    assert packages["docstring-parser"].display_name == "docstring_parser"
    assert packages["docstring-parser"].line == 17
    assert packages["python-dateutil"].version == "2.9.0.post0"
    assert packages["pygments"].display_name == "Pygments"
    numpy = packages["numpy"]
    assert (numpy.version, numpy.line) == (None, 42)
    assert SpecifierSet(numpy.specifier) == SpecifierSet(">=1.24,<2.0")
    assert numpy.specifier == "<2.0,>=1.24"  # as packaging prints it
    # commented-out lines (conda "@ file:///croot" builds, CUDA wheels) are not packages
    for commented in ("filelock", "jinja2", "nvidia-cublas-cu12", "triton", "xformers"):
        assert commented not in packages
    assert document.packages[-1].name == "zipp"
    assert document.packages[-1].line == 103


def test_frozen_with_hashes_on_continuation_lines(corpus: Path) -> None:
    document = read_corpus(corpus, f"{CYCLONEDX}/frozen.txt")
    assert [(p.name, p.version, p.line) for p in document.packages] == [
        ("colorama", "0.4.6", 4),
        ("fooproject", "1.2", 7),
    ]
    foo = document.packages[1]
    assert foo.display_name == "FooProject"
    assert foo.artifacts == (
        Artifact(
            hashes=(
                Hash(
                    alg="SHA-256",
                    value="2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
                ),
            )
        ),
        Artifact(
            hashes=(
                Hash(
                    alg="SHA-256",
                    value="486ea46224d1bb4fb680f34f7c9ad96a8f24ec88be73ea8e5a6c65260e9cb8a7",
                ),
            )
        ),
    )
    assert document.packages[0].artifacts == ()


def test_nested_include(corpus: Path) -> None:
    document = read_corpus(corpus, f"{CYCLONEDX}/nested.txt")
    assert document.includes == (f"{CYCLONEDX}/frozen.txt",)
    assert document.problems == ()
    assert [(p.name, p.version, p.location, p.line) for p in document.packages] == [
        ("colorama", "0.4.6", f"{CYCLONEDX}/frozen.txt", 4),
        ("fooproject", "1.2", f"{CYCLONEDX}/frozen.txt", 7),
    ]
    assert len(document.packages[1].artifacts) == 2


def test_hashes_of_every_kind(corpus: Path) -> None:
    document = read_corpus(corpus, f"{CYCLONEDX}/with-hashes.txt")
    packages = by_name(document)
    assert list(packages) == ["certifi", "urllib3", "fooproject", "colorama", "something"]
    certifi = packages["certifi"]
    assert (certifi.version, certifi.line) == ("2023.11.17", 4)
    assert [a.hashes[0].value for a in certifi.artifacts] == [
        "e036ab49d5b79556f99cfc2d9320b34cfbe5be05c5871b51de9329f0603b0474",
        "9b469f3a900bf28dc19b8cfbf8019bf47f7fdd1a65a1d4ffb98fc14166beb4d1",
    ]
    urllib3 = packages["urllib3"]
    assert (urllib3.version, urllib3.line) == ("2.2.0", 7)
    assert urllib3.artifacts[1].hashes == (
        Hash(
            alg="SHA-256", value="ce3711610ddce217e6d113a2732fafad960a03fd0318c91faa79481e35c11224"
        ),
    )
    assert packages["fooproject"].line == 11
    # a direct URL is one file: its MD5 and SHA-1 both describe it
    colorama = packages["colorama"]
    url = "https://github.com/tartley/colorama/archive/refs/tags/0.4.6.tar.gz"
    assert (colorama.url, colorama.version, colorama.specifier) == (url, None, "")
    assert colorama.artifacts == (
        Artifact(
            filename="0.4.6.tar.gz",
            url=url,
            hashes=(
                Hash(alg="MD5", value="9854316552d41419b678d39af443a75f"),
                Hash(alg="SHA-1", value="aa1fc7722b9128a3c945048de03f5b4e55157c6a"),
            ),
        ),
    )
    something = packages["something"]
    assert (something.version, something.artifacts, something.line) == ("1.33.7", (), 21)
    assert document.problems == (
        f"{CYCLONEDX}/with-hashes.txt line 21: unsupported hash algorithm 'foo'; hash ignored",
    )


def test_urls_and_vcs(corpus: Path) -> None:
    document = read_corpus(corpus, f"{CYCLONEDX}/with-urls.txt")
    assert document.problems == ()
    packages = by_name(document)
    assert list(packages) == [
        "package-one",
        "package-two",
        "package-three",
        "package-four",
        "package-five",
        "wxpython-phoenix",
        "numpy",
        "urllib3",
    ]
    one = packages["package-one"]
    assert one.url == "git+https://github.com/path/to/package-one@41b95ec#egg=package-one"
    assert (one.version, one.artifacts, one.line, one.editable) == (None, (), 5, False)
    assert packages["package-four"].url == (
        "git+https://github.com/path/to/package-four@releases/tag/v3.7.1#egg=package-four"
    )
    wx = packages["wxpython-phoenix"]
    assert wx.display_name == "wxPython_Phoenix"
    assert wx.version == "3.0.3.dev1820+49a8884"
    assert wx.artifacts[0].filename == (
        "wxPython_Phoenix-3.0.3.dev1820+49a8884-cp34-none-win_amd64.whl"
    )
    numpy = packages["numpy"]
    assert (numpy.version, numpy.line) == ("1.26.1", 21)
    assert numpy.artifacts[0].filename == "numpy-1.26.1.tar.gz"
    urllib3 = packages["urllib3"]
    assert urllib3.url == "https://github.com/urllib3/urllib3/archive/refs/tags/2.2.0.zip"
    assert urllib3.version is None  # "2.2.0.zip" is no sdist name: the version stays unknown


def test_private_index_credentials_are_redacted(corpus: Path) -> None:
    document = read_corpus(corpus, f"{CYCLONEDX}/private-packages.txt")
    packages = by_name(document)
    assert packages["my-package"].version == "1.2.3"
    assert packages["my-package"].index_url == "https://user:****@pypackages.acme.org/simple/"
    other = packages["my-other-package"]
    assert other.url == "https://user:****@pypackages.acme.org/my-other-package-1.2.3.tar.gz"
    assert other.version == "1.2.3"  # from the sdist file name
    assert other.index_url is None  # a direct URL does not come from the index
    assert "password" not in repr(document)


def test_extras_are_normalised(corpus: Path) -> None:
    document = read_corpus(corpus, f"{CYCLONEDX}/with-extras.txt")
    (package,) = document.packages
    assert package.name == "cyclonedx-python-lib"
    assert package.version == "5.1.1"
    assert package.extras == ("json-validation", "xml-validation")
    assert package.line == 4


def test_trailing_comments(corpus: Path) -> None:
    document = read_corpus(corpus, f"{CYCLONEDX}/with-comments.txt")
    assert [(p.name, p.version, p.line) for p in document.packages] == [
        ("certifi", "2023.11.17", 1),
        ("chardet", "4.0.0", 2),
        ("idna", "2.10", 3),
        ("requests", "2.31.0", 4),
        ("urllib3", "2.2.0", 5),
    ]


@pytest.mark.parametrize(
    ("relative", "count", "first", "last"),
    [
        ("rupersonaagent-0.2.0/FiD_dialogue/requirements.txt", 6, "numpy", "torchtext"),
        (
            "rupersonaagent-0.2.0/RAG_LLM_dialogue/requirements.txt",
            21,
            "langchain",
            "langchain-cli",
        ),
        ("rupersonaagent-0.2.0/lora_lib/requirements.txt", 4, "datasets", "transformers"),
        (
            "text-generation-webui/extensions/superboogav2/requirements.txt",
            16,
            "beautifulsoup4",
            "odfpy",
        ),
        (
            "text-generation-webui/requirements/portable/requirements.txt",
            23,
            "audioop-lts",
            "llama-cpp-binaries",
        ),
    ],
)
def test_counts(corpus: Path, relative: str, count: int, first: str, last: str) -> None:
    document = read_corpus(corpus, relative)
    assert len(document.packages) == count
    assert (document.packages[0].name, document.packages[-1].name) == (first, last)
    assert document.problems == ()


def test_rag_llm_pins(corpus: Path) -> None:
    packages = by_name(
        read_corpus(corpus, "rupersonaagent-0.2.0/RAG_LLM_dialogue/requirements.txt")
    )
    assert packages["huggingface-hub"].display_name == "huggingface_hub"
    assert packages["huggingface-hub"].version == "0.23.3"
    assert packages["llama-cpp-python"].version == "0.2.84"
    assert packages["langchain-cli"].line == 21  # the last line has no newline


def test_wheel_urls_with_markers(corpus: Path) -> None:
    document = read_corpus(corpus, "text-generation-webui/requirements/full/requirements.txt")
    assert len(document.packages) == 47
    assert document.problems == ()
    first: dict[str, PythonPackage] = {}
    for package in document.packages:
        first.setdefault(package.name, package)
    accelerate = first["accelerate"]
    assert (accelerate.specifier, accelerate.version) == ("==1.13.*", None)
    audioop = first["audioop-lts"]
    assert (audioop.specifier, audioop.marker) == ("<1.0", 'python_version >= "3.13"')
    triton = first["triton-windows"]
    assert (triton.version, triton.marker) == ("3.5.1.post24", 'platform_system == "Windows"')
    gradio = first["gradio"]
    assert (gradio.version, gradio.line) == ("4.37.2+custom.20", 37)
    assert gradio.url == (
        "https://github.com/oobabooga/gradio/releases/download/4.37.2-custom.20/"
        "gradio-4.37.2+custom.20-py3-none-any.whl"
    )
    assert first["gradio-client"].display_name == "gradio_client"
    llama = [p for p in document.packages if p.name == "llama-cpp-binaries"]
    assert [(p.version, p.marker, p.line) for p in llama] == [
        ("0.124.0+cu124", 'platform_system == "Windows"', 46),
        ("0.124.0+cu124", 'platform_system == "Linux" and platform_machine == "x86_64"', 47),
    ]
    flash = [p for p in document.packages if p.name == "flash-attn"]
    assert [p.version for p in flash] == ["2.8.3+cu128torch2.9.0cxx11abifalse"] * 2
    assert flash[0].marker == 'platform_system == "Windows" and python_version == "3.13"'
    assert flash[0].artifacts[0].filename == (
        "flash_attn-2.8.3+cu128torch2.9.0cxx11abiFALSE-cp313-cp313-win_amd64.whl"
    )


def test_every_corpus_file_reads_as_direct_requirements(corpus: Path) -> None:
    files = sorted(corpus.rglob("*.txt"))
    assert len(files) >= 14
    for path in files:
        document = read_requirements(path, corpus)
        assert document.packages, path
        for package in document.packages:
            assert package.direct is True
            assert package.scope is DependencyScope.REQUIRED
            assert package.name == package.name.lower()
            assert isinstance(package.line, int)


# Includes


def test_include_outside_the_root_is_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write(tmp_path, "secret.txt", "evil==6.6.6\n")
    path = write(root, "requirements.txt", "-r ../secret.txt\n--requirement=/etc/hostname\nok\n")
    document = read_requirements(path, root)
    assert [p.name for p in document.packages] == ["ok"]
    assert document.includes == ()
    assert document.problems == (
        "requirements.txt line 1: --requirement '../secret.txt': the file is outside the "
        "scanned folder; not followed",
        "requirements.txt line 2: --requirement '/etc/hostname': the file is outside the "
        "scanned folder; not followed",
    )


def test_include_cycle_is_a_problem(tmp_path: Path) -> None:
    write(tmp_path, "sub/b.txt", "-r ../a.txt\nbeta\n")
    path = write(tmp_path, "a.txt", "alpha\n-r sub/b.txt\n-r a.txt\n")
    document = read_requirements(path, tmp_path)
    assert [(p.name, p.location, p.line) for p in document.packages] == [
        ("alpha", None, 1),
        ("beta", "sub/b.txt", 2),
    ]
    assert document.includes == ("sub/b.txt",)
    assert document.problems == (
        "sub/b.txt line 1: --requirement '../a.txt': include cycle, the file is already being read",
        "a.txt line 3: --requirement 'a.txt': include cycle, the file is already being read",
    )


def test_symlinked_include_inside_the_root_is_followed(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write(root, "real/base.txt", "numpy==1.26.4\n")
    write(tmp_path, "outside.txt", "evil\n")
    (root / "link.txt").symlink_to(Path("real") / "base.txt")
    (root / "escape.txt").symlink_to(tmp_path / "outside.txt")
    path = write(root, "requirements.txt", "-r link.txt\n-r escape.txt\n")
    document = read_requirements(path, root)
    assert [(p.name, p.version, p.location) for p in document.packages] == [
        ("numpy", "1.26.4", "real/base.txt"),
    ]
    assert document.includes == ("real/base.txt",)
    assert document.problems == (
        "requirements.txt line 2: --requirement 'escape.txt': the file is outside the scanned "
        "folder; not followed",
    )


def test_missing_url_and_unreadable_includes(tmp_path: Path) -> None:
    write(tmp_path, "big.txt", "x" * (REQUIREMENTS_MAX_BYTES + 1))
    (tmp_path / "binary.txt").write_bytes(b"\xff\xfe")
    (tmp_path / "folder").mkdir()
    text = (
        "-r missing.txt\n-r https://example.com/r.txt\n-r big.txt\n-r binary.txt\n-r folder\nok\n"
    )
    document = read_requirements(write(tmp_path, "r.txt", text), tmp_path)
    assert [p.name for p in document.packages] == ["ok"]
    assert document.includes == ()
    problems = document.problems
    assert problems[0] == "r.txt line 1: --requirement 'missing.txt': the file does not exist"
    assert problems[1] == (
        "r.txt line 2: --requirement 'https://example.com/r.txt': includes from a URL are not "
        "followed"
    )
    assert problems[2].startswith("r.txt line 3: --requirement 'big.txt': ")
    assert "limit" in problems[2]
    assert problems[3] == (
        "r.txt line 4: --requirement 'binary.txt': invalid UTF-8 at byte offset 0; not followed"
    )
    assert problems[4].startswith("r.txt line 5: --requirement 'folder': the file cannot be read")
    assert len(problems) == 5


def test_include_depth_is_capped(tmp_path: Path) -> None:
    levels = MAX_INCLUDE_DEPTH + 3
    for level in range(levels):
        write(tmp_path, f"r{level}.txt", f"pkg{level}\n-r r{level + 1}.txt\n")
    document = read_requirements(tmp_path / "r0.txt", tmp_path)
    assert [p.name for p in document.packages] == [f"pkg{n}" for n in range(MAX_INCLUDE_DEPTH + 1)]
    assert len(document.includes) == MAX_INCLUDE_DEPTH
    assert document.problems == (
        f"r{MAX_INCLUDE_DEPTH}.txt line 2: --requirement 'r{MAX_INCLUDE_DEPTH + 1}.txt': "
        f"includes nested deeper than {MAX_INCLUDE_DEPTH} levels; not followed",
    )


def test_included_files_are_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(requirements_txt, "MAX_INCLUDED_FILES", 2)
    for name in "abc":
        write(tmp_path, f"{name}.txt", f"{name}-pkg\n")
    path = write(tmp_path, "r.txt", "-r a.txt\n-r b.txt\n-r c.txt\n")
    document = read_requirements(path, tmp_path)
    assert [p.name for p in document.packages] == ["a-pkg", "b-pkg"]
    assert document.problems == (
        "r.txt line 3: --requirement 'c.txt': more than 2 included files; not followed",
    )


def test_diamond_include_is_read_once(tmp_path: Path) -> None:
    write(tmp_path, "base.txt", "numpy\n")
    write(tmp_path, "left.txt", "-r base.txt\nleft\n")
    write(tmp_path, "right.txt", "-r base.txt\nright\n")
    path = write(tmp_path, "r.txt", "-r left.txt\n-r right.txt\n")
    document = read_requirements(path, tmp_path)
    assert [p.name for p in document.packages] == ["numpy", "left", "right"]
    assert document.includes == ("left.txt", "base.txt", "right.txt")
    assert document.problems == ()


def test_constraints_pin_but_add_nothing(tmp_path: Path) -> None:
    write(
        tmp_path,
        "constraints.txt",
        "numpy==1.26.4\nrequests<3 --hash=sha256:" + sha256("a") + "\nunused==1.0\n"
        'torch==2.1.0 ; sys_platform == "linux"\n-r more-constraints.txt\n',
    )
    write(tmp_path, "more-constraints.txt", "flask>=2\n")
    text = (
        'numpy\nrequests>=2.0\ntorch ; sys_platform == "linux"\ntorch\nflask\n-c constraints.txt\n'
    )
    document = read_requirements(write(tmp_path, "r.txt", text), tmp_path)
    assert document.includes == ("constraints.txt", "more-constraints.txt")
    assert document.problems == ()
    assert [(p.name, p.version, p.specifier, p.location) for p in document.packages] == [
        ("numpy", "1.26.4", "==1.26.4", None),
        ("requests", None, "<3,>=2.0", None),
        ("torch", "2.1.0", "==2.1.0", None),  # the constraint's marker matches
        ("torch", None, "", None),  # another marker: the constraint does not apply
        ("flask", None, ">=2", None),  # -r inside a constraints file constrains too
    ]
    assert document.packages[1].artifacts == (
        Artifact(hashes=(Hash(alg="SHA-256", value=sha256("a")),)),
    )


def test_index_url_applies_to_the_packages_of_its_file(tmp_path: Path) -> None:
    write(tmp_path, "own-index.txt", "--index-url https://mirror.example/simple\nscipy\n")
    write(tmp_path, "no-index.txt", "pandas\n")
    text = (
        "numpy\n-r own-index.txt\n-r no-index.txt\n-i https://token@pypi.example/simple\n"
        "--extra-index-url https://extra.example/simple\nlocal @ https://x.example/local-1.0.tar.gz\n"
    )
    document = read_requirements(write(tmp_path, "r.txt", text), tmp_path)
    assert [(p.name, p.index_url) for p in document.packages] == [
        ("numpy", "https://****@pypi.example/simple"),
        ("scipy", "https://mirror.example/simple"),
        ("pandas", "https://****@pypi.example/simple"),
        ("local", None),
    ]


def test_editable_lines(tmp_path: Path) -> None:
    text = (
        "-e git+https://github.com/org/repo.git@v1.0#egg=My_Pkg[Extra]\n"
        "--editable=./vendor/pkg-2.0.tar.gz\n"
        "-e .\n"
        "-e git+https://github.com/org/unnamed.git\n"
    )
    document = read_requirements(write(tmp_path, "r.txt", text), tmp_path)
    assert [
        (p.name, p.display_name, p.extras, p.version, p.editable) for p in document.packages
    ] == [
        ("my-pkg", "My_Pkg", ("extra",), None, True),
        ("pkg", "pkg", (), "2.0", True),
    ]
    assert document.packages[0].url == "git+https://github.com/org/repo.git@v1.0#egg=My_Pkg[Extra]"
    assert document.packages[1].url == "./vendor/pkg-2.0.tar.gz"
    assert document.problems == (
        "r.txt line 3: invalid requirement '.': the package name of a local directory or "
        "archive is unknown",
        "r.txt line 4: invalid requirement 'git+https://github.com/org/unnamed.git': the package "
        "name is unknown (no #egg= and not a wheel or sdist URL)",
    )


def test_local_paths_and_direct_references(tmp_path: Path) -> None:
    text = (
        "./dist/tool-1.2-py3-none-any.whl[cli]\n"
        "dist/other-0.3.tar.gz\n"
        'named @ https://files.example/named-4.5-py3-none-any.whl ; python_version < "3.12"\n'
        'plain-wheel.whl ; python_version < "3"\n'
        "./some/dir\n"
    )
    document = read_requirements(write(tmp_path, "r.txt", text), tmp_path)
    packages = by_name(document)
    assert (packages["tool"].version, packages["tool"].extras) == ("1.2", ("cli",))
    assert packages["tool"].url == "./dist/tool-1.2-py3-none-any.whl"
    assert packages["other"].version == "0.3"
    named = packages["named"]
    assert (named.version, named.marker) == ("4.5", 'python_version < "3.12"')
    assert named.artifacts == (
        Artifact(
            filename="named-4.5-py3-none-any.whl",
            url="https://files.example/named-4.5-py3-none-any.whl",
        ),
    )
    assert len(document.problems) == 2
    assert document.problems[0] == (
        "r.txt line 4: invalid requirement 'plain-wheel.whl ; python_version < \"3\"': the "
        "package name of a local directory or archive is unknown"
    )
    assert document.problems[1].startswith("r.txt line 5: invalid requirement './some/dir'")


def test_invalid_lines_are_problems_and_reading_goes_on(tmp_path: Path) -> None:
    text = "good==1.0\nnot a requirement\nfoo>=\nbar; python_version >\nalso-good\n"
    document = read_requirements(write(tmp_path, "r.txt", text), tmp_path)
    assert [p.name for p in document.packages] == ["good", "also-good"]
    assert [p.line for p in document.packages] == [1, 5]
    assert document.problems[0] == (
        "r.txt line 2: invalid requirement 'not a requirement': Expected semicolon (after name "
        "with no version specifier) or end"
    )
    assert document.problems[1].startswith("r.txt line 3: invalid requirement 'foo>=': ")
    assert document.problems[2].startswith("r.txt line 4: invalid requirement 'bar; python_")
    assert not any("\n" in problem for problem in document.problems)


def test_comments_continuations_and_options(tmp_path: Path) -> None:
    text = (
        "# a comment\n"
        "   # an indented comment\n"
        "pkg-a==1.0 # trailing comment\n"
        "pkg-b \\\n"
        "  >=2.0 \\\n"
        "  ; python_version >= '3.8'\n"
        "vcs-pkg @ git+https://example.com/repo.git#egg=vcs-pkg\n"
        "--pre\n"
        "--no-binary :all: --only-binary numpy\n"
        "--trusted-host example.com\n"
        "-f https://example.com/links\n"
        "--require-hashes\n"
        "pkg-c===weird-version\n"
        "pkg-d==2.*\n"
        "pkg-e --no-such-option\n"
        "--frobnicate\n"
    )
    document = read_requirements(write(tmp_path, "r.txt", text), tmp_path)
    assert [(p.name, p.version, p.specifier, p.marker, p.line) for p in document.packages] == [
        ("pkg-a", "1.0", "==1.0", None, 3),
        ("pkg-b", None, ">=2.0", 'python_version >= "3.8"', 4),
        ("vcs-pkg", None, "", None, 7),
        ("pkg-c", "weird-version", "===weird-version", None, 13),
        ("pkg-d", None, "==2.*", None, 14),
        ("pkg-e", None, "", None, 15),
    ]
    assert document.packages[2].url == "git+https://example.com/repo.git#egg=vcs-pkg"
    assert document.problems == (
        "r.txt line 15: unknown option '--no-such-option' ignored",
        "r.txt line 16: unknown option '--frobnicate' ignored",
    )


def test_hash_algorithms(tmp_path: Path) -> None:
    sha384, sha512 = "b" * 96, "C" * 128
    text = (
        f"pkg==1.0 --hash=sha384:{sha384} --hash sha512:{sha512} --hash=sha256:{sha256('d')} "
        f"--hash=sha256:{sha256('d')} --hash=sha256:short --hash=nocolon "
        f"--hash=SHA3-256:{'e' * 64}\n"
    )
    document = read_requirements(write(tmp_path, "r.txt", text), tmp_path)
    (package,) = document.packages
    assert [artifact.hashes for artifact in package.artifacts] == [
        (Hash(alg="SHA-384", value=sha384),),
        (Hash(alg="SHA-512", value=sha512.lower()),),
        (Hash(alg="SHA-256", value=sha256("d")),),
        (Hash(alg="SHA3-256", value="e" * 64),),
    ]
    assert document.problems == (
        "r.txt line 1: sha256 hash 'short' is not 64 hex digits; hash ignored",
        "r.txt line 1: unsupported hash algorithm 'nocolon'; hash ignored",
    )


# Hostile input


def test_too_large_or_not_utf8_is_malformed(tmp_path: Path) -> None:
    big = write(tmp_path, "big.txt", "a\n" * (REQUIREMENTS_MAX_BYTES // 2 + 1))
    with pytest.raises(MalformedFileError, match="exceeds"):
        read_requirements(big, tmp_path)
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"numpy\n\xc3\x28\n")
    with pytest.raises(MalformedFileError, match="invalid UTF-8 at byte offset 6"):
        read_requirements(binary, tmp_path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_is_malformed(tmp_path: Path) -> None:
    fifo = tmp_path / "requirements.txt"
    os.mkfifo(fifo)
    with pytest.raises(MalformedFileError, match="not a regular file"):
        read_requirements(fifo, tmp_path)


def test_long_lines_and_deep_markers_are_problems(tmp_path: Path) -> None:
    text = (
        "a" * (requirements_txt.MAX_LINE_CHARS + 1)
        + "\n"
        + "b==1 --hash=sha256:"
        + "c" * MAX_REQUIREMENT_CHARS
        + "\n"
        + "x" * (MAX_REQUIREMENT_CHARS + 1)
        + "\n"
        + "deep; "
        + "(" * 100
        + 'python_version > "3"'
        + ")" * 100
        + "\nfine\n"
    )
    document = read_requirements(write(tmp_path, "r.txt", text), tmp_path)
    assert [p.name for p in document.packages] == ["b", "fine"]
    assert document.problems[0] == (
        f"r.txt line 1: line longer than {requirements_txt.MAX_LINE_CHARS} characters skipped"
    )
    assert document.problems[1].startswith("r.txt line 2: sha256 hash 'cccc")
    assert len(document.problems[1]) < 400  # quoted text is clipped
    assert document.problems[2].endswith(f"longer than {MAX_REQUIREMENT_CHARS} characters")
    assert document.problems[3].endswith("parentheses nested deeper than 32 levels")


def test_package_and_line_caps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(requirements_txt, "MAX_PACKAGES", 3)
    document = read_requirements(write(tmp_path, "r.txt", "a\nb\nc\nd\ne\n"), tmp_path)
    assert [p.name for p in document.packages] == ["a", "b", "c"]
    assert document.problems == ("r.txt: more than 3 packages; the rest is not read",)
    monkeypatch.setattr(requirements_txt, "MAX_TOTAL_LINES", 2)
    document = read_requirements(tmp_path / "r.txt", tmp_path)
    assert [p.name for p in document.packages] == ["a", "b"]
    assert document.problems == (
        "r.txt: more than 2 lines over the document and its includes; the rest is not read",
    )


def test_problem_cap_stops_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dependency_fields, "MAX_PROBLEMS", 2)
    document = read_requirements(write(tmp_path, "r.txt", "ok\n! \n! \n! \nlater\n"), tmp_path)
    assert [p.name for p in document.packages] == ["ok"]
    assert len(document.problems) == 3
    assert document.problems[-1] == "r.txt: more than 2 problems; the rest is not read"


def test_huge_version_number_does_not_crash(tmp_path: Path) -> None:
    document = read_requirements(write(tmp_path, "r.txt", "a==" + "9" * 5000 + "\n"), tmp_path)
    (package,) = document.packages
    assert package.version == "9" * 5000


# Fuzz


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One directory for every fuzz example (hypothesis cannot use function-scoped tmp_path)."""
    directory = tmp_path_factory.mktemp("fuzz")
    (directory / "other.txt").write_text("-r requirements.txt\nnumpy==1\n")
    return directory


FRAGMENTS = [
    "numpy",
    "==1.0",
    ">=2,<3",
    "[extra]",
    "; python_version < '3.9'",
    " ",
    "\\\n",
    "\n",
    "#",
    " # c",
    "-r other.txt",
    "-c other.txt",
    "-r ../x.txt",
    "-e ",
    "--hash=sha256:",
    "a" * 64,
    "git+https://h/r.git@v#egg=p",
    "https://h/p-1.0-py3-none-any.whl",
    "@",
    "-i https://u:p@h/simple",
    "(",
    ")",
    "'",
    '"',
    "\x00",
    "\u2028",
    "./",
    ".tar.gz",
]


@settings(max_examples=200, deadline=None)
@given(text=fragment_texts(FRAGMENTS))
def test_fuzz_requirement_lines(fuzz_dir: Path, text: str) -> None:
    path = fuzz_dir / "requirements.txt"
    path.write_text(text, encoding="utf-8")
    with contextlib.suppress(MalformedFileError):
        document = read_requirements(path, fuzz_dir)
        assert isinstance(document, DependencyDocument)
        for package in document.packages:
            assert package.name
            assert package.direct is True


@settings(max_examples=200, deadline=None)
@given(content=st.binary(max_size=300))
def test_fuzz_bytes(fuzz_dir: Path, content: bytes) -> None:
    assert_reads_or_refuses(read_requirements, fuzz_dir, "bytes.txt", content)
