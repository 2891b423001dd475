"""Tests for the document-level helpers the Python dependency readers share."""

from __future__ import annotations

import pytest

from scanner.core.model import Hash
from scanner.formats.python.dependency_fields import Fields, ProblemLog, extras_required, redact_url


@pytest.mark.parametrize(
    ("marker", "extras"),
    [
        ('extra == "tensorflow"', ("tensorflow",)),
        ("python_version < '3.10' and extra == 'tensorflow'", ("tensorflow",)),
        ('extra == "tensorflow" or python_version <= "3.10"', ()),
        ('extra == "h5py" or extra == "tensorflow"', ("h5py", "tensorflow")),
        ('(extra == "a" or extra == "b") and python_version < "3"', ("a", "b")),
        ("os_name == 'a\"b' and extra == 'X_Y'", ("x-y",)),
        ('"a" == extra', ("a",)),
        ('python_version < "3"', ()),
        ("not a marker", ()),
    ],
)
def test_extras_required(marker: str, extras: tuple[str, ...]) -> None:
    assert extras_required(marker) == extras


def test_hash_checks() -> None:
    log = ProblemLog()
    fields = Fields(log, "here")
    assert fields.prefixed_hash("SHA256:" + "AB" * 32, "f") == Hash(alg="SHA-256", value="ab" * 32)
    assert fields.hash_value("sha3-256", "0" * 64, "f") == Hash(alg="SHA3-256", value="0" * 64)
    assert fields.hash_value("md5", "0" * 32, "f") == Hash(alg="MD5", value="0" * 32)
    assert fields.hash_value("sha256", "g" * 64, "f") is None
    assert fields.hash_value("sha224", "0" * 56, "f") is None
    assert log.freeze() == (
        f"here: f: sha256 hash '{'g' * 64}' is not 64 hex digits",
        "here: f: hash algorithm 'sha224' is not supported",
    )


def test_markers_of_one_edge_are_combined() -> None:
    fields = Fields(ProblemLog(), "here")
    assert fields.any_marker(['os_name == "nt"'], "d") == 'os_name == "nt"'
    assert fields.any_marker(['os_name == "nt"', 'os_name == "posix"'], "d") == (
        'os_name == "nt" or os_name == "posix"'
    )
    assert fields.with_extra(None, "x") == 'extra == "x"'
    assert fields.with_extra('os_name == "nt" or os_name == "posix"', "x") == (
        '(os_name == "nt" or os_name == "posix") and extra == "x"'
    )
    too_long = [f'os_name == "{i:05}{"x" * 200}"' for i in range(60)]
    assert fields.any_marker(too_long, "d") is None


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("https://user:secret@host/simple", "https://user:****@host/simple"),
        ("https://ghp_token@github.com/o/r.git", "https://****@github.com/o/r.git"),
        ("https://tok3n@host/simple?x=a@b", "https://****@host/simple?x=a@b"),
        ("git+ssh://git@github.com/o/r.git@abc", "git+ssh://git@github.com/o/r.git@abc"),
        ("git+https://github.com/o/r.git@abc", "git+https://github.com/o/r.git@abc"),
        ("https://u:p@ss@host/x", "https://u:****@host/x"),
        ("https://host/path@v1", "https://host/path@v1"),
        ("see https://a:b@x and https://c:d@y", "see https://a:****@x and https://c:****@y"),
        ("no url here", "no url here"),
        ("./local/path", "./local/path"),
        # only git@ on ssh is kept: another ssh user, git@ on https, ${VAR} are masked
        ("ssh://alice@host/r.git", "ssh://****@host/r.git"),
        ("https://git@host/r.git", "https://****@host/r.git"),
        ("https://${TOKEN}@host/x", "https://****@host/x"),
    ],
)
def test_redact_url(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted
