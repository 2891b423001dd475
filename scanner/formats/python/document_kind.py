"""The kinds of Python dependency documents, on their own: the table of dependency files names
them, and matching a file name against it must not load the records and their readers."""

from __future__ import annotations

from enum import StrEnum


class DocumentKind(StrEnum):
    """Which kind of file (or environment) a document was read from."""

    REQUIREMENTS = "requirements"
    PYPROJECT = "pyproject"
    SETUP_CFG = "setup.cfg"
    POETRY_LOCK = "poetry.lock"
    UV_LOCK = "uv.lock"
    PIPFILE_LOCK = "Pipfile.lock"
    PYLOCK = "pylock.toml"
    ENVIRONMENT = "environment"
