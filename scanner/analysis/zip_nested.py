"""Zips inside zips: a member that is itself a zip is analysed as a file of its own.

Loaders open such members: Keras reads ``model.weights.npz`` inside a ``.keras`` with
``np.load(..., allow_pickle=True)`` (keras/src/saving/saving_lib.py, ``NpzIOStore``), and
checkpoints are shipped zipped inside other archives. A stored member is read through a view
of the outer file; a deflated one is decompressed into memory, capped. Nesting is capped too.
"""

from __future__ import annotations

import io
from dataclasses import replace
from typing import TYPE_CHECKING, BinaryIO

from scanner.analysis.torch_archive import skipped_members
from scanner.analysis.zip_archive import STORED, ZIP_MAGIC
from scanner.core.errors import MalformedFileError

if TYPE_CHECKING:
    from collections.abc import Callable

    from _typeshed import WriteableBuffer

    from scanner.analysis.builder import AnalysisBuilder
    from scanner.analysis.load_risk import FileAnalysis
    from scanner.analysis.zip_archive import ZipArchive, ZipMember

#: Deepest nesting of zips analysed (a ``.keras`` holding an npz is one level).
MAX_NESTING = 3
#: Most nested zips analysed in one archive (each is read with its own budget).
MAX_NESTED_ARCHIVES = 64
#: Largest deflated nested zip decompressed into memory to be analysed.
MAX_NESTED_DEFLATED_BYTES = 256 * 1024 * 1024


class MemberView(io.RawIOBase):
    """A seekable, read-only view of ``size`` bytes of ``stream`` from ``start``."""

    def __init__(self, stream: BinaryIO, start: int, size: int) -> None:
        super().__init__()
        self._stream = stream
        self._start = start
        self._size = size
        self._position = 0

    def readable(self) -> bool:
        """Always readable."""
        return True

    def seekable(self) -> bool:
        """Always seekable."""
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move within the view (clamped at its start)."""
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def tell(self) -> int:
        """The position within the view."""
        return self._position

    def readinto(self, buffer: WriteableBuffer) -> int:
        """Fill ``buffer`` from the view; 0 at its end."""
        view = memoryview(buffer).cast("B")
        want = min(len(view), self._size - self._position)
        if want <= 0:
            return 0
        self._stream.seek(self._start + self._position)
        data = self._stream.read(want)
        view[: len(data)] = data
        self._position += len(data)
        return len(data)


def analyze_nested_members(
    archive: ZipArchive,
    builder: AnalysisBuilder,
    analyse: Callable[[BinaryIO, str], FileAnalysis],
    *,
    depth: int,
) -> None:
    """Analyse every member of ``archive`` that is a zip with ``analyse`` (given the member's
    bytes and name) and record what it finds, its risks named by the member they are in.

    Members that cannot be read are left to the layout's analyser, which reports them.
    """
    # PyTorch's raw storages and code members are never opened by a loader as an archive.
    skipped = skipped_members([member.name for member in archive.members])
    seen: set[int] = set()  # entries pointing at one local header are one nested zip
    for member in archive.members:
        if member.name.endswith("/") or member.encrypted or member.name in skipped:
            continue
        if member.header_offset in seen:
            continue
        if archive.refusal(member, check_ratio=False) is not None:
            continue
        try:
            if not archive.peek(member, len(ZIP_MAGIC)).startswith(ZIP_MAGIC):
                continue
        except MalformedFileError:
            continue
        seen.add(member.header_offset)
        if len(seen) > MAX_NESTED_ARCHIVES:
            builder.unreadable(
                f"more than {MAX_NESTED_ARCHIVES} nested zips: member {member.shown} and the "
                "rest are not analysed",
                member=member.shown,
            )
            return
        if depth >= MAX_NESTING:
            builder.unreadable(
                f"member {member.shown} is a zip nested over {MAX_NESTING} levels deep: "
                "not analysed",
                member=member.shown,
            )
            continue
        stream = _member_stream(archive, member, builder)
        if stream is not None:
            _record(analyse(stream, member.name), member.shown, builder)


def _member_stream(
    archive: ZipArchive, member: ZipMember, builder: AnalysisBuilder
) -> BinaryIO | None:
    try:
        if member.method == STORED:
            return io.BufferedReader(
                MemberView(archive.stream, archive.data_offset(member), member.compressed_size)
            )
        if member.size > MAX_NESTED_DEFLATED_BYTES:
            builder.unreadable(
                f"member {member.shown} is a compressed zip of {member.size} bytes, over the "
                f"{MAX_NESTED_DEFLATED_BYTES}-byte limit: not analysed",
                member=member.shown,
            )
            return None
        reader = archive.open_member(member, max_bytes=MAX_NESTED_DEFLATED_BYTES)
        data = reader.readall()
    except MalformedFileError as error:
        builder.unreadable(f"member {member.shown}: {error.problem}", member=member.shown)
        return None
    if reader.damage is not None:
        builder.problem(f"member {member.shown}: {reader.damage}")
    return io.BytesIO(data)


def _record(found: FileAnalysis, shown: str, builder: AnalysisBuilder) -> None:
    builder.imports(found.imports)
    for risk in found.risks:
        inner = f"{shown}/{risk.member}" if risk.member else shown
        builder.risk(replace(risk, member=inner), runs_on_load=found.executable_on_load)
    for problem in found.problems:
        builder.problem(f"member {shown}: {problem}")
