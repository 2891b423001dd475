"""Which files of a folder are Python dependency documents, and how they are read."""

from __future__ import annotations

import importlib
from pathlib import Path, PurePosixPath

import pytest

from scanner.core.model import Severity
from scanner.formats.python.document_kind import DocumentKind
from scanner.formats.python.pipfile_lock import read_pipfile_lock
from scanner.formats.python.pylock_toml import read_pylock
from scanner.formats.python.pyproject_toml import read_pyproject
from scanner.formats.python.requirements_txt import read_requirements
from scanner.sources.python.files import dependency_reader, read_dependency_files
from scanner.sources.walk import walk_target


@pytest.mark.parametrize(
    ("path", "reader"),
    [
        ("requirements.txt", read_requirements),
        ("requirements-dev.txt", read_requirements),
        ("Requirements.TXT", read_requirements),
        ("requirements/full/requirements.txt", read_requirements),
        ("requirements/base.txt", read_requirements),
        ("pyproject.toml", read_pyproject),
        ("Pipfile.lock", read_pipfile_lock),
        ("pylock.toml", read_pylock),
        ("pylock.cpu.toml", read_pylock),
        ("notes.txt", None),
        (".venv/lib/requirements.txt", None),
        ("lib/site-packages/foo/pyproject.toml", None),
        ("config.json", None),
    ],
)
def test_dependency_reader_by_name(path: str, reader: object) -> None:
    row = dependency_reader(PurePosixPath(path))
    if reader is None:
        assert row is None
        return
    assert row is not None
    module, _, function = row.reader.partition(":")
    assert getattr(importlib.import_module(module), function) is reader


def test_included_requirements_are_read_only_as_part_of_their_includer(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("-r requirements-base.txt\nrich==13.7.1\n")
    (tmp_path / "requirements-base.txt").write_text("requests==2.32.3\n")
    documents, issues = read_dependency_files(tmp_path, walk_target(tmp_path).files)
    assert issues == []
    (document,) = documents
    assert document.location == "requirements.txt"
    assert sorted((p.name, p.version) for p in document.packages) == [
        ("requests", "2.32.3"),
        ("rich", "13.7.1"),
    ]


def test_a_malformed_file_is_an_issue_and_the_rest_is_read(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project\nname = 'x'\n")
    (tmp_path / "requirements.txt").write_text("numpy==1.26.4\n")
    documents, issues = read_dependency_files(tmp_path, walk_target(tmp_path).files)
    assert [d.kind for d in documents] == [DocumentKind.REQUIREMENTS]
    (issue,) = issues
    assert issue.location == "pyproject.toml"
    assert "invalid TOML" in issue.problem


def test_virtual_environments_in_the_folder_are_not_walked(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    (venv / "lib").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (venv / "lib" / "requirements.txt").write_text("evil==1\n")
    (tmp_path / "requirements.txt").write_text("numpy==1.26.4\n")
    walk = walk_target(tmp_path)
    assert [f.relpath.as_posix() for f in walk.files] == ["requirements.txt"]
    assert any(
        i.location == "venv" and "--python" in i.problem and i.severity is Severity.INFO
        for i in walk.issues
    )


def test_every_dependency_file_pattern_ends_in_a_known_suffix() -> None:
    from scanner.formats.python.dependency_files import DEPENDENCY_FILES
    from scanner.sources.python import files

    for row in DEPENDENCY_FILES:
        for pattern in row.patterns:
            assert pattern.endswith(files._SUFFIXES), pattern
