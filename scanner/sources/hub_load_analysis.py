"""What loading a Hub repo's pickle-format files would do, found by HTTP range reads, never whole.

Each pickle-format file the repo lists (at most ``MAX_HUB_PICKLE_FILES``, PyTorch checkpoints
first) gets a sparse local stand-in of its remote size, into which only the byte ranges the
static analysers read are fetched: the first bytes; for a zip (PyTorch's format since 1.6) the
end record and central directory at the end, then the local header of every member the analyser
looks at and the whole of those it walks (``*.pkl``, pickles, object arrays, Keras configs); for
a plain pickle stream (legacy PyTorch, joblib, ``.pkl``) a prefix grown until the walk ends in
it. ``analyze_path`` then reads the stand-in exactly as it reads a local file.

Unfetched bytes read as zeros, on which every walk and header check fails: a range the plan
missed gives an UNREADABLE risk, never a clean result. A file whose ranges cannot be fetched
(gated, offline, an error) or that needs more than the caps allow is UNREADABLE too, so it
counts as code of unknown origin. Only file prefixes are in the Hub cache (``header_bytes``):
offline, a plain pickle is analysed from the cache, a zip checkpoint is not.
"""

from __future__ import annotations

import io
import re
import struct
import tempfile
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, BinaryIO, Final

from scanner.analysis.dispatch import analyze_path
from scanner.analysis.keras_archive import MAX_CONFIG_BYTES as MAX_KERAS_CONFIG_BYTES
from scanner.analysis.load_risk import FileAnalysis, LoadRisk, RiskKind
from scanner.analysis.numpy_file import MAGIC as NPY_MAGIC
from scanner.analysis.numpy_file import MAX_HEADER_BYTES as NPY_MAX_HEADER_BYTES
from scanner.analysis.numpy_file import read_npy_header
from scanner.analysis.pickle.scan import (
    LEGACY_TORCH_MAGIC,
    MAX_PICKLES_PER_FILE,
    PICKLE_START,
    scan_pickle_stream,
)
from scanner.analysis.seven_zip import SEVEN_ZIP_MAGIC
from scanner.analysis.torch_archive import skipped_members
from scanner.analysis.zip_archive import EMPTY_ZIP_MAGIC, ZIP_MAGIC, ZipArchive, ZipMember, read_zip
from scanner.core.errors import MalformedFileError
from scanner.core.model import ComponentKind, ScanIssue, Severity
from scanner.formats.model.catalog import format_of
from scanner.resolve.hub.types import HubProblem
from scanner.sources.load_analysis import with_file_analyses

if TYPE_CHECKING:
    from collections.abc import Iterable

    from scanner.resolve.hub.client import HubClient
    from scanner.resolve.hub.types import HubFile, HubRepoInfo
    from scanner.sources.inventory import Inventory

#: Most files per repo analysed; the rest are reported unanalysed (UNREADABLE).
MAX_HUB_PICKLE_FILES: Final = 8
#: Bytes fetched from the start of every file (magic bytes; most legacy pickles whole).
HEAD_BYTES: Final = 64 * 1024
#: Bytes fetched from the end of a zip: the end record may sit 65,557 bytes before the end
#: (a maximal comment), with its zip64 locator and record just before it.
TAIL_BYTES: Final = 66 * 1024
#: Largest central directory fetched (a checkpoint lists ~100 bytes per tensor).
MAX_DIRECTORY_BYTES: Final = 8 * 1024 * 1024
#: Most bytes of zip members (pickles, configs, object arrays) fetched per file.
MAX_MEMBER_BYTES_PER_FILE: Final = 64 * 1024 * 1024
#: Longest prefix of a plain pickle stream fetched; the prefix grows by ``PREFIX_GROWTH``.
MAX_PICKLE_PREFIX_BYTES: Final = 16 * 1024 * 1024
PREFIX_GROWTH: Final = 4
#: Most range reads per file, and bytes per repo, over every file.
MAX_RANGE_READS_PER_FILE: Final = 32
MAX_BYTES_PER_REPO: Final = 256 * 1024 * 1024
#: Missing ranges closer than this are fetched as one (a few more bytes, fewer requests).
COALESCE_GAP_BYTES: Final = 64 * 1024
#: Largest single range request (the client's cap on a prefix read).
MAX_RANGE_BYTES: Final = 64 * 1024 * 1024
#: File component property: what the analysis cost, e.g. ``131072 of 104857600 bytes, 2 range
#: reads`` (reads answered from the cache included).
BYTES_READ_PROPERTY: Final = "sovscan:security:hub-bytes-read"

# Checkpoints first: they are what ``from_pretrained`` loads without asking.
_RANK_PATTERNS: Final = (
    re.compile(r"(?:.*/)?(?:diffusion_)?pytorch_model[^/]*\.bin"),
    re.compile(r".*\.(?:pt|pth|ckpt)"),
    re.compile(r".*\.(?:pkl|pickle|joblib)"),
    re.compile(r".*\.bin"),
)
_END_RECORD = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_END_RECORD = b"PK\x06\x06"
_END_RECORD_SIZE = 22
_ZIP64_LOCATOR_SIZE = 20
_ZIP64_END_RECORD_SIZE = 56
_LOCAL_HEADER = struct.Struct("<4s22xHH")
# What ``zip_archive`` reads at a local header: the header, name, extra field (PyTorch pads
# data to 64 bytes with it) and its first 1 KiB block of data.
_LOCAL_PROBE_BYTES = _LOCAL_HEADER.size + 1024 + 512
_SNIFF_BYTES = 1024
_DIRECTORY_LEAD_BYTES = 4096
_NPY_HEADER_FETCH = NPY_MAX_HEADER_BYTES + 2048
_KERAS_CONFIG = "config.json"
# How ``torch.save`` starts a legacy file (its magic number, protocol 2), and its pickle count.
_LEGACY_MAGIC_PICKLE = b"\x80\x02\x8a\x0a" + LEGACY_TORCH_MAGIC.to_bytes(10, "little") + b"."
_LEGACY_PICKLES = 5
# Magic numbers of joblib's compressed dumps (and more: a look-alike is fetched whole too).
_COMPRESSED_MAGICS = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x04\x22\x4d\x18", b"ZF")


class _FetchError(Exception):
    """A range could not be read from the Hub."""

    def __init__(self, problem: HubProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


@dataclass(slots=True)
class _RepoBudget:
    remaining: int = field(default_factory=lambda: MAX_BYTES_PER_REPO)


@dataclass(slots=True)
class _RemoteFile:
    """A sparse local stand-in for one remote file: zeros except the ranges fetched."""

    client: HubClient
    info: HubRepoInfo
    item: HubFile
    path: Path
    size: int
    budget: _RepoBudget
    fetched: list[tuple[int, int]] = field(default_factory=list)
    reads: int = 0
    received: int = 0
    shortfalls: list[LoadRisk] = field(default_factory=list)
    member_room: int = field(default_factory=lambda: MAX_MEMBER_BYTES_PER_FILE)

    def prefix(self, length: int) -> bytes | None:
        """The first ``length`` bytes (fewer past the end), by a prefix read (the client caches
        those); None past a cap."""
        length = min(length, self.size)
        if not self.covered(0, length):
            if not self._spend(length):
                return None
            self._record(0, self.client.header_bytes(self.info, self.item.path, length=length))
        return self.read(0, length)

    def ensure(self, ranges: Iterable[tuple[int, int]]) -> bool:
        """Fetch what is missing of ``ranges`` (nearby ones together); False past a cap."""
        for start, end in _coalesce(self._missing(ranges)):
            for offset in range(start, end, MAX_RANGE_BYTES):
                length = min(MAX_RANGE_BYTES, end - offset)
                if not self._spend(length):
                    return False
                self._record(offset, _read_range(self.client, self.info, self.item, offset, length))
        return True

    def covered(self, start: int, end: int) -> bool:
        """Whether [start, end) has been fetched."""
        return not self._missing([(start, end)])

    def read(self, start: int, end: int) -> bytes:
        """Bytes [start, end) of the stand-in (zeros where nothing was fetched)."""
        with self.path.open("rb") as stream:
            stream.seek(start)
            return stream.read(max(0, end - start))

    def open(self) -> BinaryIO:
        """The stand-in, unbuffered: reads always see what was fetched last."""
        return self.path.open("rb", buffering=0)

    def admit(self, member: ZipMember, extent: int) -> bool:
        """Whether ``extent`` bytes of ``member`` fit what is left of the per-file member cap;
        if not, it is a shortfall."""
        if extent > self.member_room:
            self.shortfall(
                f"{extent} bytes, over what is left of the {MAX_MEMBER_BYTES_PER_FILE}-byte "
                "limit per file",
                member=member.shown,
            )
            return False
        self.member_room -= extent
        return True

    def shortfall(self, message: str, member: str | None = None) -> None:
        """Record what was not fetched: what it does on load is unknown."""
        self.shortfalls.append(
            LoadRisk(
                kind=RiskKind.UNREADABLE,
                severity=Severity.MEDIUM,
                message=f"not fetched from the Hub: {message}; what it does on load is unknown",
                member=member,
            )
        )

    def _spend(self, length: int) -> bool:
        if self.reads >= MAX_RANGE_READS_PER_FILE:
            self.shortfall(f"more than {MAX_RANGE_READS_PER_FILE} range reads needed")
            return False
        if length > self.budget.remaining:
            self.shortfall(f"the {MAX_BYTES_PER_REPO}-byte budget of this repo is spent")
            return False
        self.budget.remaining -= length
        self.reads += 1
        return True

    def _record(self, offset: int, data: bytes | HubProblem) -> None:
        if isinstance(data, HubProblem):
            raise _FetchError(data)
        with self.path.open("r+b") as stream:
            stream.seek(offset)
            stream.write(data)
        self.received += len(data)
        self.fetched = _merge([*self.fetched, (offset, offset + len(data))])

    def _missing(self, ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
        missing: list[tuple[int, int]] = []
        for wanted_start, wanted_end in _merge(
            [(max(0, s), min(e, self.size)) for s, e in ranges if min(e, self.size) > max(0, s)]
        ):
            start = wanted_start
            for have_start, have_end in self.fetched:
                if have_end <= start or have_start >= wanted_end:
                    continue
                if have_start > start:
                    missing.append((start, have_start))
                start = max(start, have_end)
            if start < wanted_end:
                missing.append((start, wanted_end))
        return missing


@dataclass(frozen=True, slots=True, kw_only=True)
class _Outcome:
    analysis: FileAnalysis | None
    issue: ScanIssue | None = None
    bytes_read: str | None = None


def with_hub_load_analysis(client: HubClient, info: HubRepoInfo, inventory: Inventory) -> Inventory:
    """``inventory`` (of ``info``'s repo) with the load analysis of its pickle-format files.

    Findings and code components name the file's Hub URL at the commit; issues name its path
    (the caller locates them as its own). Each analysed file component gets the bytes it cost.
    """
    chosen, left_out = pickle_format_files(info, inventory)
    if not chosen and not left_out:
        return inventory
    analyses: dict[str, list[FileAnalysis]] = {}
    issues: list[ScanIssue] = []
    costs: dict[str, str] = {}
    budget = _RepoBudget()
    with tempfile.TemporaryDirectory(prefix="sovscan-hub-pickles-") as folder:
        for index, item in enumerate(chosen):
            # The Hub's path never becomes a local one; only its suffix is kept (the analysers
            # dispatch on it).
            local = Path(folder) / f"{index}{PurePosixPath(item.path).suffix.lower()}"
            outcome = _analyse_remote_file(client, info, item, local, budget)
            if outcome.analysis is not None:
                analyses[item.path] = [outcome.analysis]
            if outcome.issue is not None:
                issues.append(outcome.issue)
            if outcome.bytes_read is not None:
                costs[item.path] = outcome.bytes_read
    for item in left_out:
        analyses[item.path] = [
            _unanalysed(f"over the limit of {MAX_HUB_PICKLE_FILES} files analysed per repo")
        ]
    if left_out:
        issues.append(
            ScanIssue(
                location="",
                problem=f"{len(left_out)} pickle-format files not analysed (only "
                f"{MAX_HUB_PICKLE_FILES} per repo are read): "
                + ", ".join(item.path for item in left_out[:5])
                + (" …" if len(left_out) > 5 else ""),
                severity=Severity.MEDIUM,
            )
        )
    inventory = with_file_analyses(
        inventory, analyses, issues=issues, locate=partial(_blob_url, info)
    )
    return _with_costs(inventory, costs)


def pickle_format_files(
    info: HubRepoInfo, inventory: Inventory
) -> tuple[list[HubFile], list[HubFile]]:
    """(the files to analyse, the pickle-format ones left out), among ``inventory``'s file
    components: PyTorch checkpoints, then ``.pt``/``.pth``/``.ckpt``, then other pickles."""
    paths = {
        c.path for c in inventory.components if c.kind is ComponentKind.FILE and c.path is not None
    }
    candidates = [
        item
        for item in info.files
        if item.path in paths and format_of(item.path).loading_may_run_code and item.size != 0
    ]
    candidates.sort(key=lambda item: (_rank(item.path), item.path.count("/"), item.path))
    return candidates[:MAX_HUB_PICKLE_FILES], candidates[MAX_HUB_PICKLE_FILES:]


def _rank(path: str) -> int:
    lowered = path.lower()
    return next(
        (rank for rank, pattern in enumerate(_RANK_PATTERNS) if pattern.fullmatch(lowered)),
        len(_RANK_PATTERNS),
    )


def _analyse_remote_file(
    client: HubClient, info: HubRepoInfo, item: HubFile, local: Path, budget: _RepoBudget
) -> _Outcome:
    if item.size is None:
        return _Outcome(analysis=_unanalysed("the Hub lists no size for it"))
    try:
        with local.open("wb") as stream:
            stream.truncate(item.size)  # sparse: the disk holds only what is fetched
    except OSError as error:
        return _Outcome(
            analysis=_unanalysed(f"no local stand-in of {item.size} bytes ({error.strerror})")
        )
    remote = _RemoteFile(
        client=client, info=info, item=item, path=local, size=item.size, budget=budget
    )
    try:
        analysis = _analyse(remote)
    except _FetchError as error:
        severity = Severity.LOW if error.problem.kind == "offline-miss" else Severity.MEDIUM
        return _Outcome(
            analysis=_unanalysed(f"it could not be read from the Hub ({error.problem.kind})"),
            issue=ScanIssue(location=item.path, problem=error.problem.message, severity=severity),
            bytes_read=_cost(remote),
        )
    except (MalformedFileError, OSError) as error:
        problem = error.problem if isinstance(error, MalformedFileError) else str(error)
        return _Outcome(
            analysis=_unanalysed(problem),
            issue=ScanIssue(location=item.path, problem=f"cannot analyse: {problem}"),
            bytes_read=_cost(remote),
        )
    if remote.shortfalls:
        # A member not fetched is reported by its shortfall, not by the walk of its zeros.
        found = analysis or FileAnalysis(format="unknown")
        unfetched = {risk.member for risk in remote.shortfalls if risk.member is not None}
        kept = tuple(risk for risk in found.risks if risk.member not in unfetched)
        analysis = replace(found, risks=(*kept, *remote.shortfalls))
    return _Outcome(analysis=analysis, bytes_read=_cost(remote))


def _analyse(remote: _RemoteFile) -> FileAnalysis | None:
    """Fetch what the analysers will read of ``remote``, then analyse the stand-in."""
    head = remote.prefix(HEAD_BYTES)
    if head is None:
        return None
    if head.startswith((ZIP_MAGIC, EMPTY_ZIP_MAGIC)):
        if not _fetch_zip(remote):
            return None  # what is wrong is a shortfall, not the zeros of a half-fetched zip
    elif head.startswith(NPY_MAGIC):
        _fetch_npy(remote, head)
    elif not head.startswith(SEVEN_ZIP_MAGIC) and analyze_path(remote.path) is not None:
        # Walked as a pickle stream from its start (an unknown .bin is left at its magic).
        _fetch_pickle_stream(remote, head)
    return analyze_path(remote.path)


# -- zip archives ------------------------------------------------------------------------------


def _fetch_zip(remote: _RemoteFile) -> bool:
    """What ``analyze_zip`` reads: the end record and central directory, then the local header
    of each member it looks at and the members it walks; False when a cap stopped the fetch
    of the archive's structure (a shortfall says which)."""
    if not _fetch_directory(remote):
        return False
    with remote.open() as stream:
        try:
            archive = read_zip(stream)
        except MalformedFileError:
            return True  # the analysis reports it (UNREADABLE)
        return _fetch_members(remote, stream, archive)


def _fetch_directory(remote: _RemoteFile) -> bool:
    tail_start = max(0, remote.size - TAIL_BYTES)
    if not remote.ensure([(tail_start, remote.size)]):
        return False
    directory = _directory_start(remote.read(tail_start, remote.size), tail_start)
    if directory is None or directory >= tail_start:
        return True
    if tail_start - directory > MAX_DIRECTORY_BYTES:
        remote.shortfall(
            f"its central directory of over {tail_start - directory} bytes is larger than the "
            f"{MAX_DIRECTORY_BYTES}-byte limit"
        )
        return False
    # With the few KiB before it: torch.save writes its small members (version, serialization
    # id) last, and their local headers are read too.
    return remote.ensure([(directory - _DIRECTORY_LEAD_BYTES, tail_start)])


def _fetch_members(remote: _RemoteFile, stream: BinaryIO, archive: ZipArchive) -> bool:
    """Local headers first (with the named pickles whole: they are walked whatever they hold),
    then the first bytes of every member, then the members those show to be walked; each walked
    member within what is left of ``MAX_MEMBER_BYTES_PER_FILE``, smallest first."""
    members = sorted(
        _members_looked_at(archive, remote.path.suffix), key=lambda m: m.compressed_size
    )
    whole: list[ZipMember] = []
    probes: list[tuple[int, int]] = []
    for member in members:
        end = member.header_offset + _LOCAL_PROBE_BYTES + len(member.raw_name)
        if (
            member.name.endswith("pkl")
            and archive.refusal(member) is None
            and remote.admit(member, end - member.header_offset + member.compressed_size)
        ):
            whole.append(member)
            end += member.compressed_size
        probes.append((member.header_offset, end))
    if not remote.ensure(probes):
        return False
    starts = {m: s for m in members if (s := _data_start(stream, m)) is not None}
    if not remote.ensure((s, s + min(m.compressed_size, _SNIFF_BYTES)) for m, s in starts.items()):
        return False
    for member, start in starts.items():
        if (
            not member.name.endswith("pkl")
            and _walked(archive, member, remote, start)
            and remote.admit(member, start + member.compressed_size - member.header_offset)
        ):
            whole.append(member)
    # A long extra field may have put a pickle's data past what was fetched with its header.
    return remote.ensure(
        (m.header_offset, starts[m] + m.compressed_size) for m in whole if m in starts
    )


def _directory_start(tail: bytes, tail_offset: int) -> int | None:
    """Where the central directory starts, by the (zip64) end record in ``tail``; None when
    the record is not there (``read_zip`` then says what is wrong)."""
    position = tail.rfind(_END_RECORD)
    if position < 0 or position + _END_RECORD_SIZE > len(tail):
        return None
    size = int.from_bytes(tail[position + 12 : position + 16], "little")
    end = position
    locator = position - _ZIP64_LOCATOR_SIZE
    if locator >= 0 and tail[locator : locator + 4] == _ZIP64_LOCATOR:
        record = locator - _ZIP64_END_RECORD_SIZE
        if record < 0 or tail[record : record + 4] != _ZIP64_END_RECORD:
            return None
        size = int.from_bytes(tail[record + 40 : record + 48], "little")
        end = record
    start = tail_offset + end - size
    return start if start >= 0 else None


def _members_looked_at(archive: ZipArchive, suffix: str) -> list[ZipMember]:
    """The members whose local header ``analyze_zip`` reads, as it dispatches on the layout."""
    names = {member.name for member in archive.members}
    if suffix == ".keras" or {_KERAS_CONFIG, "metadata.json"} <= names:
        return [m for m in archive.members if m.name == _KERAS_CONFIG]
    files = [m for m in archive.members if not m.name.endswith("/")]
    if suffix == ".npz" or (names and all(name.endswith(".npy") for name in names)):
        return files
    skipped = skipped_members(names)
    return [m for m in files if m.name not in skipped]


def _data_start(stream: BinaryIO, member: ZipMember) -> int | None:
    """Offset of ``member``'s data by its local header, or None when there is none."""
    stream.seek(member.header_offset)
    header = stream.read(_LOCAL_HEADER.size)
    if len(header) < _LOCAL_HEADER.size:
        return None
    magic, name_length, extra_length = _LOCAL_HEADER.unpack(header)
    if magic != ZIP_MAGIC:
        return None
    return member.header_offset + _LOCAL_HEADER.size + int(name_length) + int(extra_length)


def _walked(archive: ZipArchive, member: ZipMember, remote: _RemoteFile, start: int) -> bool:
    """Whether the analyser reads ``member`` past its first bytes (which are fetched)."""
    if archive.refusal(member) is not None:
        return False  # a bomb, an unknown method, out of bounds: reported, never read
    if member.name == _KERAS_CONFIG:
        return member.size <= MAX_KERAS_CONFIG_BYTES  # a larger one is refused unread
    try:
        head = archive.peek(member, len(NPY_MAGIC))
    except MalformedFileError:
        return False  # no local header: the analysis reports it
    if PICKLE_START.match(head):
        return True
    if not head.startswith(NPY_MAGIC):
        return False
    # An array's data is read only when it holds objects (a pickle): read its header first.
    if not remote.ensure([(start, start + min(member.compressed_size, _NPY_HEADER_FETCH))]):
        return False
    try:
        reader = archive.open_member(member, max_bytes=_NPY_HEADER_FETCH)
        return read_npy_header(io.BufferedReader(reader)).holds_objects is not False
    except MalformedFileError:
        return True  # whole, so the analyser sees what a loader would


# -- plain pickle streams and .npy files -----------------------------------------------------


def _fetch_npy(remote: _RemoteFile, head: bytes) -> None:
    """The header (the head holds all but the longest), and an object array's pickle."""
    try:
        header = read_npy_header(io.BytesIO(head))
    except MalformedFileError:
        longer = remote.prefix(_NPY_HEADER_FETCH) if len(head) < remote.size else None
        if longer is None or len(longer) == len(head):
            return  # the analysis reports it
        head = longer
        try:
            header = read_npy_header(io.BytesIO(head))
        except MalformedFileError:
            return
    if header.holds_objects is not False:
        _fetch_pickle_stream(remote, head, start=header.data_offset, single=True)


def _fetch_pickle_stream(
    remote: _RemoteFile, head: bytes, *, start: int = 0, single: bool = False
) -> None:
    """A prefix long enough for the walk from ``start`` to end inside it (one pickle when
    ``single``, else the pickles one after another), up to ``MAX_PICKLE_PREFIX_BYTES``."""
    if start == 0 and _looks_compressed(head):
        # A compressed joblib dump is decompressed from its first byte: fetched whole.
        if remote.size > MAX_PICKLE_PREFIX_BYTES:
            remote.shortfall(
                f"a compressed stream of {remote.size} bytes, over the "
                f"{MAX_PICKLE_PREFIX_BYTES}-byte limit"
            )
            return
        remote.prefix(remote.size)
        return
    data: bytes | None = head
    while (
        data is not None
        and len(data) < remote.size
        and _walk_runs_past(data, remote.size, start, single=single)
    ):
        if len(data) >= MAX_PICKLE_PREFIX_BYTES:
            remote.shortfall(f"its pickle runs past the first {len(data)} bytes (the limit)")
            return
        data = remote.prefix(min(len(data) * PREFIX_GROWTH, MAX_PICKLE_PREFIX_BYTES))


def _looks_compressed(head: bytes) -> bool:
    """Whether ``head`` may start a compressed joblib dump (a superset of what the pickle
    analyser decompresses: a look-alike is only fetched whole)."""
    zlib_header = len(head) >= 2 and head[0] == 0x78 and (head[0] << 8 | head[1]) % 31 == 0
    lzma_alone = head[:1] == b"\x5d" and head[5:13] == b"\xff" * 8
    return head.startswith(_COMPRESSED_MAGICS) or zlib_header or lzma_alone


class _PrefixView(io.BytesIO):
    """The fetched prefix of a file of ``size`` bytes; notes a read that needs bytes past it."""

    def __init__(self, data: bytes, size: int) -> None:
        super().__init__(data)
        self._fetched = len(data)
        self._size = size
        self.starved = False

    def seek(self, pos: int, whence: int = io.SEEK_SET, /) -> int:
        """Seek; the end is the remote file's, so skipped payloads land where they would."""
        if whence == io.SEEK_END:
            return super().seek(self._size + pos)
        return super().seek(pos, whence)

    def read(self, size: int | None = -1, /) -> bytes:
        """Read; reading from the unfetched part marks the view starved."""
        if self._fetched <= self.tell() < self._size:
            self.starved = True
        return super().read(size)


def _walk_runs_past(data: bytes, size: int, start: int, *, single: bool) -> bool:
    """Whether walking pickles from ``start`` as ``scan_pickle_file`` does (each complete one
    followed by the next) needs bytes beyond ``data``.

    In the legacy PyTorch format only its five pickles count: ``torch.load`` reads raw storages
    after them, on which the analyser keeps no more than an unsafe import spelled out.
    """
    view = _PrefixView(data, size)
    view.seek(start)
    walks = MAX_PICKLES_PER_FILE
    if start == 0 and data.startswith(_LEGACY_MAGIC_PICKLE):
        walks = _LEGACY_PICKLES
    for _ in range(1 if single else walks):
        position = view.tell()
        if position >= size:
            return False
        if position >= len(data):
            return True  # the next pickle starts past the prefix
        scan = scan_pickle_stream(view)
        if view.starved:
            return True
        if not scan.complete:
            return False
    return False


# -- results -----------------------------------------------------------------------------------


def _unanalysed(reason: str) -> FileAnalysis:
    """Fail closed: a file not analysed may run anything on load."""
    return FileAnalysis(
        format="unknown",
        risks=(
            LoadRisk(
                kind=RiskKind.UNREADABLE,
                severity=Severity.MEDIUM,
                message=f"not analysed: {reason}; what it does on load is unknown",
            ),
        ),
        executable_on_load=True,
    )


def _cost(remote: _RemoteFile) -> str:
    reads = "1 range read" if remote.reads == 1 else f"{remote.reads} range reads"
    return f"{remote.received} of {remote.size} bytes, {reads}"


def _blob_url(info: HubRepoInfo, path: str) -> str:
    return f"{info.url}/blob/{info.commit}/{path}"


def _with_costs(inventory: Inventory, costs: dict[str, str]) -> Inventory:
    components = tuple(
        replace(c, properties=(*c.properties, (BYTES_READ_PROPERTY, costs[c.path])))
        if c.kind is ComponentKind.FILE and c.path in costs
        else c
        for c in inventory.components
    )
    return replace(inventory, components=components)


def _merge(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _coalesce(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    joined: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if joined and start - joined[-1][1] <= COALESCE_GAP_BYTES:
            joined[-1] = (joined[-1][0], max(joined[-1][1], end))
        else:
            joined.append((start, end))
    return joined


def _read_range(
    client: HubClient, info: HubRepoInfo, item: HubFile, start: int, length: int
) -> bytes | HubProblem:
    """Bytes [start, start + length) of ``item`` (a prefix goes through the client's cache)."""
    return client.range_bytes(info, item.path, start=start, length=length)
