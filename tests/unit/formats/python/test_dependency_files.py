"""The dependency-file table: every row finds its real files by name and reads them."""

from __future__ import annotations

import shutil
from pathlib import Path, PurePosixPath

import pytest

from scanner.formats.python.dependency_files import (
    DEPENDENCY_FILES,
    PINNING_KINDS,
    PROJECT_NAMING_KINDS,
    DependencyFileFormat,
)
from scanner.formats.python.document_kind import DocumentKind
from scanner.sources.python.files import dependency_reader, read_dependency_files
from scanner.sources.walk import walk_target
from tests.conftest import CORPUS

#: A real file of every kind in the corpus (projects' own, as published).
REAL_FILES = {
    DocumentKind.PYPROJECT: "python/comfy-cli/pyproject.toml",
    DocumentKind.SETUP_CFG: "python/spaCy/setup.cfg",
    DocumentKind.UV_LOCK: "python/fickling/uv.lock",
    DocumentKind.POETRY_LOCK: "python/modelscan/poetry.lock",
    DocumentKind.PIPFILE_LOCK: "python/cyclonedx-python_testdata/pipenv/with-extras/Pipfile.lock",
    DocumentKind.PYLOCK: "python/comfy-cli/pylock.toml",
    DocumentKind.REQUIREMENTS: "python/DMalakhov1-PROJECT_LORA/requirements.txt",
}
IDS = [row.kind.value for row in DEPENDENCY_FILES]


def test_every_kind_of_file_has_one_row() -> None:
    kinds = [row.kind for row in DEPENDENCY_FILES]
    assert len(kinds) == len(set(kinds))
    assert set(kinds) == set(DocumentKind) - {DocumentKind.ENVIRONMENT}
    assert set(REAL_FILES) == set(kinds)


@pytest.mark.parametrize("row", DEPENDENCY_FILES, ids=IDS)
def test_row_is_chosen_by_each_pattern_in_any_case(row: DependencyFileFormat) -> None:
    for pattern in row.patterns:
        name = pattern.replace("*", "-dev")
        assert dependency_reader(PurePosixPath(name)) is row
        assert dependency_reader(PurePosixPath("sub", name.upper())) is row
        assert dependency_reader(PurePosixPath(".venv", name)) is None
        assert dependency_reader(PurePosixPath("site-packages", "x", name)) is None


@pytest.mark.parametrize("row", DEPENDENCY_FILES, ids=IDS)
def test_row_reads_a_real_file(row: DependencyFileFormat, tmp_path: Path) -> None:
    source = CORPUS / REAL_FILES[row.kind]
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    shutil.copy(source, tmp_path / source.name)
    documents, issues = read_dependency_files(tmp_path, walk_target(tmp_path).files)
    assert issues == []
    (document,) = documents
    assert document.kind is row.kind
    assert document.location == source.name
    assert document.packages
    assert document.locked is row.pins_versions
    if row.pins_versions:
        assert all(package.version for package in document.packages)
    assert (row.kind in PINNING_KINDS) is row.pins_versions


def test_project_naming_follows_the_table_order() -> None:
    assert PROJECT_NAMING_KINDS == (
        DocumentKind.PYPROJECT,
        DocumentKind.SETUP_CFG,
        DocumentKind.UV_LOCK,
        DocumentKind.POETRY_LOCK,
    )
    assert DocumentKind.ENVIRONMENT in PINNING_KINDS
