"""7z archives: recognised by their magic bytes, never opened, reported as unreadable.

Reading 7z would need a decompressor of hostile input this project does not take on; what such
an archive unpacks to, and so what loading it would run, stays unknown.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from scanner.analysis.builder import AnalysisBuilder
from scanner.analysis.magic import SEVEN_ZIP_MAGIC as SEVEN_ZIP_MAGIC

if TYPE_CHECKING:
    from typing import BinaryIO

    from scanner.analysis.load_risk import FileAnalysis

#: Suffixes of files ``torch.load`` is given (it cannot load a 7z file).
_TORCH_SUFFIXES = frozenset({".pt", ".pth", ".bin", ".ckpt"})


def analyze_7z(stream: BinaryIO, name: str) -> FileAnalysis:
    """The analysis of a 7z file (``stream`` is not read): unreadable, what it unpacks to is
    unknown. ``name``, the file's path relative to the scanned folder, says whether a PyTorch
    loader is meant to read it."""
    builder = AnalysisBuilder()
    loader = (
        " (torch.load cannot load a 7z file anyway)"
        if PurePosixPath(name).suffix.lower() in _TORCH_SUFFIXES
        else ""
    )
    builder.unreadable(f"7z archive: not analysed; what it unpacks to is unknown{loader}")
    return builder.build("7z")
