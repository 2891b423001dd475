"""Tests for the requirement-level helpers the Python dependency readers share."""

from __future__ import annotations

import pytest
from packaging.specifiers import SpecifierSet

from scanner.formats.python.pep508 import artifact_filename, pinned_version, vcs_url


@pytest.mark.parametrize(
    ("args", "url"),
    [
        (("git", "https://h/r.git", "abc", None), "git+https://h/r.git@abc"),
        (("git", "git+https://h/r.git", None, None), "git+https://h/r.git"),
        (
            ("git", "https://h/r.git#egg=r", "abc", "sub"),
            "git+https://h/r.git@abc#egg=r&subdirectory=sub",
        ),
        (("hg", "https://h/r", "1", None), "hg+https://h/r@1"),
    ],
)
def test_vcs_url(args: tuple[str, str, str | None, str | None], url: str) -> None:
    assert vcs_url(*args) == url


@pytest.mark.parametrize(
    ("location", "name"),
    [
        ("https://h/a/b/x-1.0.tar.gz", "x-1.0.tar.gz"),
        ("https://h/a/x%2B1-py3-none-any.whl?q=1#sha256=00", "x+1-py3-none-any.whl"),
        ("wheels\\win\\x.whl", "x.whl"),
        ("https://h/", None),
        ("http://[::1", "[::1"),
        ("", None),
    ],
)
def test_artifact_filename(location: str, name: str | None) -> None:
    assert artifact_filename(location) == name


@pytest.mark.parametrize(
    ("specifier", "version"),
    [
        ("==1.2", "1.2"),
        ("==1.0-1", "1.0.post1"),
        ("===foo", "foo"),
        ("==1.2.*", None),
        (">=1,<2", None),
        ("==1.2,>=1", "1.2"),
        ("", None),
    ],
)
def test_pinned_version(specifier: str, version: str | None) -> None:
    assert pinned_version(SpecifierSet(specifier)) == version
