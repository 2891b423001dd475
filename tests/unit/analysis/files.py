"""Running a stream analyser over a file, as the dispatcher's ``analyze_path`` does."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import BinaryIO

T = TypeVar("T")


def analyse_file(analyse: Callable[[BinaryIO, str], T], path: Path) -> T:
    """``analyse`` over the file at ``path``, opened read-only and named by its file name."""
    with path.open("rb") as stream:
        return analyse(stream, path.name)
