"""Each lockfile package's line: where a finding about it points."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.formats.python.dependency_files import DEPENDENCY_FILES
from scanner.formats.python.entry_lines import pipfile_entry_lines, toml_entry_lines

CORPUS = Path(__file__).resolve().parents[4] / ".." / "shared" / "corpus" / "python"

POETRY = """\
[[package]]
name = "Torch"  # a comment
version = "2.3.0"

[package.dependencies]
name = "not-a-package"

[[package]]
name = 'requests'
version = '2.32.3'

[[package]]
name = "torch"
version = "2.4.0"

[metadata]
name = "the-project"
"""


def test_a_toml_entry_is_found_by_its_own_name_and_version() -> None:
    lines = toml_entry_lines(POETRY, "package")
    assert lines == {("torch", "2.3.0"): 1, ("requests", "2.32.3"): 8, ("torch", "2.4.0"): 12}


def test_a_pipfile_lock_package_is_its_key_in_a_section() -> None:
    text = """{
    "_meta": {
        "hash": {
            "sha256": "x"
        },
        "sources": []
    },
    "default": {
        "Requests": {
            "hashes": [],
            "version": "==2.32.3"
        }
    },
    "develop": {
        "pytest": {
            "version": "==8.0"
        },
        "requests": {
            "version": "==2.32.3"
        }
    }
}
"""
    assert pipfile_entry_lines(text) == {("requests", None): 9, ("pytest", None): 15}


@pytest.mark.parametrize(
    ("relative", "name"),
    [
        ("modelscan/poetry.lock", "absl-py"),
        ("fickling/uv.lock", "anyio"),
        ("comfy-cli/pylock.toml", "anyio"),
    ],
)
def test_real_locks_give_each_package_its_entry_s_line(relative: str, name: str) -> None:
    path = CORPUS / relative
    if not path.exists():
        pytest.skip("the shared corpus is not beside the repository")
    row = next(r for r in DEPENDENCY_FILES if path.name in r.patterns)
    document = row.read(path, path.parent)
    package = next(p for p in document.packages if p.name == name)
    assert package.line is not None
    text = path.read_text().splitlines()
    assert text[package.line - 1].strip() in {"[[package]]", "[[packages]]"}
    assert f'name = "{name}"' in text[package.line]
    assert all(p.line is not None for p in document.packages)
