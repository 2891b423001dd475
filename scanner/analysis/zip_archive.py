"""Reading zip archives over the raw bytes, never extracting: the central directory, then
members streamed through a capped, CRC-checking reader.

The reader is hand-rolled rather than ``zipfile.ZipFile``: zipfile reads the whole central
directory with no entry cap, cuts member names at the first NUL, and refuses to read a member
whose encryption flag, CRC or local name was tampered with; loaders that ignore those
(PyTorch's miniz reads by the central directory) would still load such a member, so a scanner
that stops there is the bypass. Members are streamed through a decompressor that never yields
more than a cap, whatever the headers say.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, Final

from scanner.analysis.builder import display_text
from scanner.analysis.magic import EMPTY_ZIP_MAGIC as EMPTY_ZIP_MAGIC
from scanner.analysis.magic import ZIP_MAGIC as ZIP_MAGIC
from scanner.analysis.zip_methods import BZIP2, DECOMPRESSION_ERRORS, LZMA, new_decompressor
from scanner.core.errors import MalformedFileError

if TYPE_CHECKING:
    from collections.abc import Callable

    from _typeshed import WriteableBuffer

    from scanner.analysis.zip_methods import Decompressor

#: Most entries in one archive's central directory. A PyTorch checkpoint holds one member per
#: storage (a few thousand for the largest shards); TorchScript adds one per code file.
MAX_ENTRIES = 100_000
#: Largest central directory read into memory, in bytes (100k entries with 300-byte names).
MAX_CENTRAL_DIRECTORY_BYTES = 32 * 1024 * 1024
#: Members declaring more than this uncompressed size are checked for a zip-bomb ratio.
BOMB_MIN_BYTES = 1024 * 1024
#: Largest uncompressed/compressed ratio accepted for members over ``BOMB_MIN_BYTES``; real
#: tensors and pickles compress 1:1 to 10:1, deflate tops out near 1032:1 on zeros.
MAX_COMPRESSION_RATIO = 200
#: Most decompressed bytes read from one archive over all its members.
MAX_TOTAL_READ_BYTES = 1024 * 1024 * 1024


#: Compression methods read: stored and deflated (what PyTorch, NumPy and Keras write), and
#: the bzip2 and LZMA that zipfile-based loaders (Keras, NumPy) also read.
STORED: Final = 0
DEFLATED: Final = 8
METHODS: Final = frozenset({STORED, DEFLATED, BZIP2, LZMA})
_FLAG_ENCRYPTED = 0x1
_FLAG_PATCHED = 0x20
_FLAG_STRONG_ENCRYPTION = 0x40
_FLAG_UTF8 = 0x800
_ZIP64_EXTRA = 0x0001

_END = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_END = struct.Struct("<4sQ2H2L4Q")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_LOCAL = struct.Struct("<4s5H3L2H")
_EXTRA_HEADER = struct.Struct("<2H")
_END_SEARCH_BYTES = _END.size + 0xFFFF
_RAW_CHUNK_MIN = 1024
_PEEK_BLOCK = 1024
_RAW_CHUNK_MAX = 64 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class ZipMember:
    """One central-directory entry. ``name`` is hostile text: shown, never used as a path."""

    name: str
    flag_bits: int
    method: int
    compressed_size: int
    size: int
    """Declared uncompressed size."""
    crc: int
    header_offset: int
    """Absolute offset of the member's local header in the file."""
    raw_name: bytes = b""
    """The name's bytes as stored in the central directory."""

    @property
    def encrypted(self) -> bool:
        """The flags say encrypted (or patched): zipfile refuses it, some loaders ignore it."""
        return bool(self.flag_bits & (_FLAG_ENCRYPTED | _FLAG_STRONG_ENCRYPTION | _FLAG_PATCHED))

    @property
    def encryption(self) -> str:
        """What its flags claim, in words (``encrypted``, ``strongly encrypted``, …)."""
        if self.flag_bits & _FLAG_STRONG_ENCRYPTION:
            return "strongly encrypted"
        if self.flag_bits & _FLAG_ENCRYPTED:
            return "encrypted"
        return "patched (flag 0x20)" if self.flag_bits & _FLAG_PATCHED else "plain"

    @property
    def shown(self) -> str:
        """The name, safe to print."""
        return display_text(self.name)


class MemberReader(io.RawIOBase):
    """A member's decompressed bytes, never more than a limit; CRC-32 checked as read."""

    def __init__(
        self,
        stream: BinaryIO,
        member: ZipMember,
        *,
        data_offset: int,
        limit: int,
        on_read: Callable[[int], None],
    ) -> None:
        super().__init__()
        self._stream = stream
        self._member = member
        self._raw_next = data_offset
        self._raw_left = member.compressed_size
        self._raw_chunk = _RAW_CHUNK_MIN
        self._out_left = min(member.size, limit)
        self._inflater = zlib.decompressobj(-zlib.MAX_WBITS) if member.method == DEFLATED else None
        self._other = new_decompressor(member.method)
        self._on_read = on_read
        self._crc = 0
        self.delivered = 0
        """Decompressed bytes handed out so far."""
        self.capped = member.size > limit
        """The member is larger than the limit: its tail is never read."""
        self.damage: str | None = None
        """Why the bytes stopped before the declared size (truncation, corrupt deflate data)."""

    def readable(self) -> bool:
        """Always readable."""
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        """Fill ``buffer`` with the next decompressed bytes; 0 at the end or the limit."""
        view = memoryview(buffer).cast("B")
        want = min(len(view), self._out_left)
        if want <= 0 or self.damage is not None:
            return 0
        data = self._next_chunk(want)
        view[: len(data)] = data
        self._out_left -= len(data)
        self.delivered += len(data)
        self._crc = zlib.crc32(data, self._crc)
        self._on_read(len(data))
        return len(data)

    @property
    def cap_reached(self) -> bool:
        """The limit stopped the reading before the member's end."""
        return self.capped and self._out_left == 0

    @property
    def crc_matches(self) -> bool | None:
        """Whether the bytes match the declared CRC-32; None until the whole member is read."""
        if self.delivered < self._member.size:
            return None
        return self._crc == self._member.crc

    def drain(self) -> None:
        """Read (and drop) what is left up to the limit, so the CRC-32 can be checked."""
        while not self.closed and self.read(_RAW_CHUNK_MAX):
            pass

    def _read_raw(self, want: int) -> bytes:
        size = min(want, self._raw_left)
        self._stream.seek(self._raw_next)
        data = self._stream.read(size)
        self._raw_next += len(data)
        self._raw_left -= len(data)
        if len(data) < size:
            self._raw_left = 0
        return data

    def _next_chunk(self, want: int) -> bytes:
        if self._other is not None:
            return self._decompress(self._other, want)
        if self._inflater is None:
            data = self._read_raw(min(want, _RAW_CHUNK_MAX))
            if not data:
                self.damage = "its data ends before its declared size (truncated archive)"
            return data
        return self._inflate(self._inflater, want)

    def _decompress(self, decompressor: Decompressor, want: int) -> bytes:
        """The next bytes of a bzip2 or LZMA member."""
        while not decompressor.eof:
            source = b""
            if decompressor.needs_input:
                source = self._read_raw(self._raw_chunk)
                self._raw_chunk = min(self._raw_chunk * 2, _RAW_CHUNK_MAX)
                if not source:
                    self.damage = "its compressed data ends before its declared size"
                    return b""
            try:
                data = decompressor.decompress(source, want)
            except DECOMPRESSION_ERRORS as error:
                self.damage = f"its compressed data is corrupt ({error})"
                return b""
            if data:
                return data
        self.damage = "it decompresses to fewer bytes than its declared size"
        return b""

    def _inflate(self, inflater: zlib._Decompress, want: int) -> bytes:
        while not inflater.eof:
            source = inflater.unconsumed_tail or self._read_raw(self._raw_chunk)
            self._raw_chunk = min(self._raw_chunk * 2, _RAW_CHUNK_MAX)
            if not source:
                self.damage = "its compressed data ends before its declared size"
                return b""
            try:
                data = inflater.decompress(source, want)
            except zlib.error as error:
                self.damage = f"its compressed data is corrupt ({error})"
                return b""
            if data:
                return data
        self.damage = "it decompresses to fewer bytes than its declared size"
        return b""


class ZipArchive:
    """An open zip file's central directory, with capped member reads."""

    def __init__(
        self,
        stream: BinaryIO,
        *,
        members: tuple[ZipMember, ...],
        file_size: int,
        problems: tuple[str, ...],
        prefix_bytes: int = 0,
    ) -> None:
        self._stream = stream
        self.members = members
        self.file_size = file_size
        self.problems = problems
        self.prefix_bytes = prefix_bytes
        """Bytes before the first local header (a self-extractor stub, a polyglot's other
        format): zipfile reads past them, loaders that check the first bytes do not."""
        """Directory-level oddities (entry count mismatch, undecodable names)."""
        self.renamed: dict[str, str] = {}
        """Members read so far whose local header names them differently: the central
        directory's name → the local one."""
        self._budget = MAX_TOTAL_READ_BYTES

    def refusal(self, member: ZipMember, *, check_ratio: bool = True) -> str | None:
        """Why ``member`` is not read (zip bomb, unknown method, out of bounds), or None.

        ``check_ratio=False`` skips the zip-bomb test, for callers that read only a header.
        """
        if member.method not in METHODS:
            return f"member {member.shown} uses compression method {member.method}, not analysed"
        bomb = bomb_ratio(member)
        if check_ratio and bomb is not None:
            return bomb
        if member.header_offset + _LOCAL.size + member.compressed_size > self.file_size:
            return f"member {member.shown} runs past the end of the file (truncated archive)"
        if self._budget <= 0:
            return (
                f"member {member.shown} not read: the {MAX_TOTAL_READ_BYTES}-byte read budget "
                "for this archive is spent"
            )
        return None

    def open_member(self, member: ZipMember, *, max_bytes: int) -> MemberReader:
        """Return a reader over ``member``'s bytes, at most ``max_bytes`` and the archive budget.

        Flags (encryption) and the CRC are not enforced here: callers decide.

        Raises:
            MalformedFileError: the local header is missing or the method is not supported.
        """
        if member.method not in METHODS:
            raise MalformedFileError(f"compression method {member.method} is not supported")
        block = self._local_block(member)
        return MemberReader(
            self._stream,
            member,
            data_offset=member.header_offset + self._data_start(member, block),
            limit=max(0, min(max_bytes, self._budget)),
            on_read=self._spend,
        )

    def data_offset(self, member: ZipMember) -> int:
        """Absolute offset of ``member``'s (compressed) data, past its local header.

        Raises:
            MalformedFileError: the local header is missing.
        """
        return member.header_offset + self._data_start(member, self._local_block(member))

    @property
    def stream(self) -> BinaryIO:
        """The archive's file, for views over a stored member's bytes."""
        return self._stream

    def peek(self, member: ZipMember, size: int) -> bytes:
        """Return the first ``size`` (a few) decompressed bytes of ``member``, fewer if shorter.

        One read covers the local header and the first bytes of nearly every member, which
        keeps sniffing 100k members fast; the rest go through ``open_member``.

        Raises:
            MalformedFileError: as ``open_member``.
        """
        if member.method not in (STORED, DEFLATED):  # bzip2, LZMA: streamed
            return self.open_member(member, max_bytes=size).read(size) or b""
        block = self._local_block(member)
        start = self._data_start(member, block)
        available = block[start : start + member.compressed_size]
        whole = len(available) == member.compressed_size
        wanted = min(size, member.size)
        if member.method == DEFLATED:
            try:
                head = zlib.decompressobj(-zlib.MAX_WBITS).decompress(available, wanted)
            except zlib.error:
                head = b""
        else:
            head = available[:wanted]
        if len(head) < wanted and not whole:  # the block ended first: stream it
            return self.open_member(member, max_bytes=size).read(size) or b""
        self._spend(len(head))
        return head

    def _local_block(self, member: ZipMember) -> bytes:
        """The bytes at ``member``'s local header: the header, its name, the data's start."""
        if member.header_offset + _LOCAL.size > self.file_size:
            raise MalformedFileError(f"member {member.shown} has its local header past the end")
        self._stream.seek(member.header_offset)
        return self._stream.read(_LOCAL.size + _PEEK_BLOCK)

    def _data_start(self, member: ZipMember, block: bytes) -> int:
        """Offset of the data from the local header at the start of ``block``; notes renames."""
        if len(block) < _LOCAL.size or block[:4] != ZIP_MAGIC:
            raise MalformedFileError(f"member {member.shown} has no local header at its offset")
        fields = _LOCAL.unpack_from(block)
        name_length, extra_length = int(fields[9]), int(fields[10])
        raw = block[_LOCAL.size : _LOCAL.size + name_length]
        if len(raw) < name_length:  # a name longer than the block: read it whole
            self._stream.seek(member.header_offset + _LOCAL.size)
            raw = self._stream.read(name_length)
        if raw != member.raw_name:
            encoding = "utf-8" if member.flag_bits & _FLAG_UTF8 else "cp437"
            local = raw.decode(encoding, errors="replace")
            if local != member.name:
                self.renamed[member.name] = local
        return _LOCAL.size + name_length + extra_length

    def _spend(self, count: int) -> None:
        self._budget -= count


def bomb_ratio(member: ZipMember) -> str | None:
    """The zip-bomb problem of ``member`` (over ``BOMB_MIN_BYTES`` with a ratio over
    ``MAX_COMPRESSION_RATIO``), or None."""
    ratio = member.size / max(member.compressed_size, 1)
    if member.size <= BOMB_MIN_BYTES or ratio <= MAX_COMPRESSION_RATIO:
        return None
    return (
        f"member {member.shown} declares {member.size} bytes from {member.compressed_size} "
        f"(ratio {ratio:.0f}, over {MAX_COMPRESSION_RATIO}): a zip bomb, not read"
    )


def read_zip(stream: BinaryIO) -> ZipArchive:
    """Read the central directory of the zip file open as ``stream``.

    Raises:
        MalformedFileError: not a zip (no end record), truncated, multi-disk, corrupt central
            directory, or over ``MAX_ENTRIES`` / ``MAX_CENTRAL_DIRECTORY_BYTES``.
    """
    file_size = stream.seek(0, io.SEEK_END)
    end_offset, declared, cd_size, cd_offset = _find_end_record(stream, file_size)
    if declared > MAX_ENTRIES:
        raise MalformedFileError(f"{declared} entries exceed the {MAX_ENTRIES}-entry limit")
    if cd_size > MAX_CENTRAL_DIRECTORY_BYTES:
        raise MalformedFileError(
            f"central directory of {cd_size} bytes exceeds the "
            f"{MAX_CENTRAL_DIRECTORY_BYTES}-byte limit"
        )
    cd_start = end_offset - cd_size
    shift = cd_start - cd_offset  # bytes prepended to the archive (self-extractor stubs)
    if cd_start < 0 or shift < 0:
        raise MalformedFileError("central directory offset points outside the file")
    stream.seek(cd_start)
    directory = stream.read(cd_size)
    if len(directory) < cd_size:
        raise MalformedFileError("central directory is truncated")
    members, problems = _parse_central_directory(directory, shift=shift)
    if len(members) != declared:
        problems.append(
            f"the end record declares {declared} entries, "
            f"the central directory holds {len(members)}"
        )
    prefix = min((member.header_offset for member in members), default=cd_start)
    return ZipArchive(
        stream,
        members=tuple(members),
        file_size=file_size,
        problems=tuple(problems),
        prefix_bytes=max(0, prefix),
    )


def ends_like_a_zip(stream: BinaryIO) -> bool:
    """Whether ``stream`` ends with a zip of at least one member: an end record and a central
    directory that parse, which Python's zipfile finds whatever bytes come before them (four
    bytes ``PK\x05\x06`` somewhere in a tail of raw weights are not enough).

    Raises:
        OSError: the stream cannot be read.
    """
    try:
        archive = read_zip(stream)
    except MalformedFileError:
        return False
    return bool(archive.members) and not archive.problems


def _find_end_record(stream: BinaryIO, file_size: int) -> tuple[int, int, int, int]:
    """Return (offset of the (zip64) end record, entry count, cd size, cd offset)."""
    tail_start = max(0, file_size - _END_SEARCH_BYTES)
    stream.seek(tail_start)
    tail = stream.read(_END_SEARCH_BYTES)
    position = tail.rfind(EMPTY_ZIP_MAGIC)
    if position < 0 or position + _END.size > len(tail):
        raise MalformedFileError(
            "no end-of-central-directory record: the zip is truncated or not a zip"
        )
    _, disk, cd_disk, _, entries, cd_size, cd_offset, _ = _END.unpack_from(tail, position)
    end_offset = tail_start + position
    # A zip64 locator just before the end record takes over, saturated fields or not (PyTorch
    # always writes one, and the central directory then ends at the zip64 record).
    locator_start = position - _ZIP64_LOCATOR.size
    if locator_start >= 0 and tail[locator_start : locator_start + 4] == b"PK\x06\x07":
        return _find_zip64_end_record(stream, tail_start + locator_start)
    if entries == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF:
        raise MalformedFileError("zip64 end-record locator is missing")
    if disk or cd_disk:
        raise MalformedFileError("multi-disk zip archives are not supported")
    return end_offset, entries, cd_size, cd_offset


def _find_zip64_end_record(stream: BinaryIO, locator_offset: int) -> tuple[int, int, int, int]:
    stream.seek(locator_offset)
    locator = stream.read(_ZIP64_LOCATOR.size)
    _, _, record_offset, disks = _ZIP64_LOCATOR.unpack(locator)
    if disks > 1:
        raise MalformedFileError("multi-disk zip archives are not supported")
    if record_offset > locator_offset:
        raise MalformedFileError("zip64 end record offset points past its locator")
    # The zip64 end record sits just before its locator; its recorded offset may be shifted.
    record_start = locator_offset - _ZIP64_END.size
    if record_start < 0:
        raise MalformedFileError("zip64 end record is missing")
    stream.seek(record_start)
    record = stream.read(_ZIP64_END.size)
    if record[:4] != b"PK\x06\x06":
        stream.seek(record_offset)
        record = stream.read(_ZIP64_END.size)
        record_start = record_offset
    if len(record) < _ZIP64_END.size or record[:4] != b"PK\x06\x06":
        raise MalformedFileError("zip64 end record is missing")
    _, _, _, _, disk, cd_disk, _, entries, cd_size, cd_offset = _ZIP64_END.unpack(record)
    if disk or cd_disk:
        raise MalformedFileError("multi-disk zip archives are not supported")
    return record_start, entries, cd_size, cd_offset


def _parse_central_directory(directory: bytes, *, shift: int) -> tuple[list[ZipMember], list[str]]:
    members: list[ZipMember] = []
    problems: list[str] = []
    position = 0
    while position < len(directory):
        if len(members) >= MAX_ENTRIES:
            raise MalformedFileError(f"more than {MAX_ENTRIES} entries (the limit)")
        if (
            position + _CENTRAL.size > len(directory)
            or directory[position : position + 4] != b"PK\x01\x02"
        ):
            raise MalformedFileError(f"central directory entry {len(members)} is corrupt")
        fields = _CENTRAL.unpack_from(directory, position)
        flags, method, crc = fields[3], fields[4], fields[7]
        compressed_size, size = fields[8], fields[9]
        name_length, extra_length, comment_length = fields[10], fields[11], fields[12]
        header_offset = fields[16]
        name_start = position + _CENTRAL.size
        extra_start = name_start + name_length
        position = extra_start + extra_length + comment_length
        if position > len(directory):
            raise MalformedFileError(f"central directory entry {len(members)} is truncated")
        raw_name = directory[name_start:extra_start]
        name = _decode_name(raw_name, flags, problems)
        size, compressed_size, header_offset = _apply_zip64(
            directory[extra_start : extra_start + extra_length],
            size,
            compressed_size,
            header_offset,
        )
        members.append(
            ZipMember(
                name=name,
                flag_bits=flags,
                method=method,
                compressed_size=compressed_size,
                size=size,
                crc=crc,
                header_offset=header_offset + shift,
                raw_name=raw_name,
            )
        )
    return members, problems


def _decode_name(raw: bytes, flags: int, problems: list[str]) -> str:
    if not flags & _FLAG_UTF8:
        return raw.decode("cp437")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        name = raw.decode("utf-8", errors="replace")
        problems.append(f"member name {display_text(name)} is flagged UTF-8 but is not")
        return name


def _apply_zip64(
    extra: bytes, size: int, compressed_size: int, offset: int
) -> tuple[int, int, int]:
    """Replace 0xFFFFFFFF sizes and offset by the zip64 extra field's 64-bit values."""
    position = 0
    while position + _EXTRA_HEADER.size <= len(extra):
        tag, length = _EXTRA_HEADER.unpack_from(extra, position)
        body = extra[position + _EXTRA_HEADER.size : position + _EXTRA_HEADER.size + length]
        position += _EXTRA_HEADER.size + length
        if tag != _ZIP64_EXTRA:
            continue
        values = [int.from_bytes(body[i : i + 8], "little") for i in range(0, len(body) - 7, 8)]
        if size == 0xFFFFFFFF and values:
            size = values.pop(0)
        if compressed_size == 0xFFFFFFFF and values:
            compressed_size = values.pop(0)
        if offset == 0xFFFFFFFF and values:
            offset = values.pop(0)
    return size, compressed_size, offset
