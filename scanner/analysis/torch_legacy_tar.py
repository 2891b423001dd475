"""PyTorch's legacy tar checkpoints: every member ``torch.load`` unpickles is walked, never
extracted.

Very old PyTorch wrote ``torch.save`` output as a tar (``_use_new_zipfile_serialization=False``
in its earliest versions), and ``torch.load`` still tries a file as this tar before anything
else (torch/serialization.py, ``_legacy_load.legacy_load``): it unpickles ``storages`` (a
count, then per storage an ``(key, location, storage_type)`` pickle and raw bytes, then the
views pickle), ``tensors`` (a count, then per tensor an ``(key, storage_id, tensor_type)``
pickle and a struct of sizes), then ``pickle``, the object itself. The raw records between the
pickles are stepped over by their declared sizes, so every pickle of a member is walked.
"""

from __future__ import annotations

import re
import struct
import tarfile
from dataclasses import replace
from typing import TYPE_CHECKING, Final, cast

from scanner.analysis.builder import AnalysisBuilder, display_text
from scanner.analysis.magic import PICKLE_START
from scanner.analysis.magic import TAR_START as TAR_START
from scanner.analysis.pickle.scan import scan_pickle_file, scan_pickle_stream

if TYPE_CHECKING:
    from typing import BinaryIO

    from scanner.analysis.load_risk import FileAnalysis

#: How a tar starts: a 512-byte header whose ``ustar`` magic sits at offset 257.
#: Most tar members looked at (the legacy layout has four).
MAX_TAR_MEMBERS = 10_000
#: Most bytes of one member walked as pickles.
MAX_MEMBER_PICKLE_BYTES = 256 * 1024 * 1024
#: Most pickles walked in one member (one per storage and per tensor, plus the counts).
MAX_PICKLES_PER_MEMBER = 100_000
#: The members ``legacy_load`` unpickles, in its order.
LOADED_MEMBERS: Final = ("storages", "tensors", "pickle")

#: Bytes per element of the storage types a ``storages`` record names (its raw data follows).
_ELEMENT_BYTES: Final = {
    "Double": 8, "Float": 4, "Half": 2, "BFloat16": 2, "Long": 8, "Int": 4, "Short": 2,
    "Char": 1, "Byte": 1, "Bool": 1, "ComplexDouble": 16, "ComplexFloat": 8, "QUInt8": 1,
    "QInt8": 1, "QInt32": 4, "QUInt4x2": 1, "QUInt2x4": 1,
}  # fmt: skip
_STORAGE = re.compile(r"torch\.(?:cuda\.)?(\w+)Storage")
_TENSOR = re.compile(r"torch\.(?:cuda\.)?\w+Tensor")
_INT64 = struct.Struct("<q")
_INT32 = struct.Struct("<i")


def analyze_torch_tar(stream: BinaryIO, name: str) -> FileAnalysis:
    """Analyse a tar file (``stream``, read from its start; ``name``, its path) as
    ``torch.load`` reads a legacy checkpoint: ``storages``, ``tensors`` and ``pickle`` are
    walked whatever they hold, other members when they start like a pickle.

    Raises:
        OSError: the stream cannot be read.
    """
    builder = AnalysisBuilder()
    stream.seek(0)
    try:
        with tarfile.open(fileobj=stream, mode="r:") as tar:
            members = _members(tar, builder)
            for member in members:
                _walk_member(tar, member, builder)
    except tarfile.TarError as error:
        # torch.load then unpickles the file from its start: a pickle may carry "ustar" at 257.
        found = scan_pickle_file(stream, name)
        if found.risks or found.imports:
            return replace(found, problems=(f"not a tar ({error})", *found.problems))
        builder.unreadable(f"tar archive: {error}")
    return builder.build("pytorch-legacy-tar")


def _members(tar: tarfile.TarFile, builder: AnalysisBuilder) -> list[tarfile.TarInfo]:
    members: list[tarfile.TarInfo] = []
    for info in tar:
        if len(members) >= MAX_TAR_MEMBERS:
            builder.unreadable(f"tar archive: more than {MAX_TAR_MEMBERS} members, not all read")
            break
        members.append(info)
    names = [info.name for info in members]
    for loaded in LOADED_MEMBERS:
        if names.count(loaded) > 1:
            builder.problem(
                f"member name {loaded} appears {names.count(loaded)} times (torch.load reads the "
                "last; every copy is analysed)"
            )
    return [info for info in members if info.isfile()]


def _walk_member(tar: tarfile.TarFile, info: tarfile.TarInfo, builder: AnalysisBuilder) -> None:
    shown = display_text(info.name)
    reader = cast("BinaryIO | None", tar.extractfile(info))  # an ExFileObject: a BufferedReader
    if reader is None:
        return
    loaded = info.name in LOADED_MEMBERS
    if not loaded and not PICKLE_START.match(reader.read(2)):
        return
    reader.seek(0)
    _walk_pickles(reader, info.size, shown, builder)


def _walk_pickles(reader: BinaryIO, size: int, shown: str, builder: AnalysisBuilder) -> None:
    """Walk the pickles of one member, stepping over the raw records between them."""
    limit = min(size, MAX_MEMBER_PICKLE_BYTES)
    for index in range(MAX_PICKLES_PER_MEMBER):
        start = reader.tell()
        if start >= limit:
            if size > limit:
                builder.unreadable(
                    f"member {shown}: only its first {limit} bytes were walked", member=shown
                )
            return
        scan = scan_pickle_stream(reader, max_bytes=limit - start, member=shown)
        if index and not scan.complete and not scan.imports:
            builder.problem(f"member {shown}: bytes at offset {start} are no pickle, not walked")
            return
        builder.pickle_scan(scan)
        if not scan.complete or not _skip_record(reader, scan.imports, size):
            return
    builder.unreadable(
        f"member {shown}: more than {MAX_PICKLES_PER_MEMBER} pickles, not all walked",
        member=shown,
    )


def _skip_record(reader: BinaryIO, imports: tuple[str, ...], size: int) -> bool:
    """Step over the raw record after a storage's or a tensor's pickle; False past the end."""
    storage = next((m for m in map(_STORAGE.fullmatch, imports) if m is not None), None)
    if storage is not None and storage.group(1) in _ELEMENT_BYTES:
        raw = reader.read(_INT64.size)
        if len(raw) < _INT64.size:
            return False
        (count,) = _INT64.unpack(raw)
        skip = count * _ELEMENT_BYTES[storage.group(1)]
    elif any(_TENSOR.fullmatch(name) for name in imports):
        raw = reader.read(_INT32.size)
        if len(raw) < _INT32.size:
            return False
        (dimensions,) = _INT32.unpack(raw)
        skip = 4 + 16 * dimensions + 8  # padding, sizes, strides, storage offset
    else:
        return True
    target = reader.tell() + skip
    if skip < 0 or target > size:
        return False
    reader.seek(target)
    return True
