"""Static analysis of PyTorch, TorchScript and other zip archives' members, never extracting.

Every ``*.pkl`` member and every member that starts like a pickle is walked (a member of any
other name too when it walks as a pickle naming a callable); a ``.npy`` member
is read as NumPy reads it; TorchScript ``code/`` is reported as embedded code, other Python
files as shipped code; a member flagged encrypted that holds a plain pickle is walked anyway.
The raw tensor storages of a PyTorch layout (``data/N``), which torch never unpickles, are not
read.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING

from scanner.analysis.builder import list_names
from scanner.analysis.load_risk import LoadRisk, RiskKind
from scanner.analysis.magic import PICKLE_START
from scanner.analysis.numpy_file import MAGIC as NPY_MAGIC
from scanner.analysis.numpy_file import analyze_npy_member
from scanner.analysis.pickle.scan import scan_pickle_stream
from scanner.analysis.zip_archive import STORED, ZIP_MAGIC
from scanner.analysis.zip_members import (
    readable,
    report_member_names,
    report_renamed_members,
    report_stream_state,
)
from scanner.core.errors import MalformedFileError
from scanner.core.model import Severity

if TYPE_CHECKING:
    from collections.abc import Collection

    from scanner.analysis.builder import AnalysisBuilder
    from scanner.analysis.pickle.report import PickleScan
    from scanner.analysis.zip_archive import MemberReader, ZipArchive, ZipMember

#: Most bytes of one pickle member walked (``data.pkl`` of the largest checkpoints is a few MB;
#: pickles with tensors inlined reach hundreds of MB).
MAX_PICKLE_MEMBER_BYTES = 256 * 1024 * 1024
#: Suffixes of code members: reported by name, never read.
CODE_SUFFIXES = (".py", ".pyc")

_TORCH_DATA = re.compile(r"(?:[^/]+/)?data\.pkl")
_TORCH_VERSION = re.compile(r"(?:[^/]+/)?(?:\.data/)?version")
_TORCH_STORAGE = re.compile(r"(?:[^/]+/)?data/\d+")
_TORCHSCRIPT_CODE = re.compile(r"(?:[^/]+/)?code/.+\.py")
_TORCHSCRIPT_CONSTANTS = re.compile(r"(?:[^/]+/)?constants\.pkl")


def skipped_members(names: Collection[str]) -> frozenset[str]:
    """Members the analysis never reads: code (reported by name) and, in a PyTorch zip layout,
    the raw tensor storages (``data/N``), which torch never unpickles."""
    torch_layout = any(_TORCH_DATA.fullmatch(n) for n in names) and any(
        _TORCH_VERSION.fullmatch(n) for n in names
    )
    return frozenset(
        n
        for n in names
        if n.endswith(CODE_SUFFIXES) or (torch_layout and _TORCH_STORAGE.fullmatch(n))
    )


def analyze_torch_members(archive: ZipArchive, builder: AnalysisBuilder) -> str:
    """Walk pickles and report code in an open PyTorch, TorchScript or other zip; return its
    format (``torchscript``, ``pytorch-zip`` or ``zip``)."""
    report_member_names(archive, builder)
    names = [member.name for member in archive.members]
    torch_layout = any(_TORCH_DATA.fullmatch(n) for n in names) and any(
        _TORCH_VERSION.fullmatch(n) for n in names
    )
    code = [n for n in names if n.endswith(CODE_SUFFIXES)]
    torchscript = any(_TORCHSCRIPT_CODE.fullmatch(n) for n in code) or (
        torch_layout and any(_TORCHSCRIPT_CONSTANTS.fullmatch(n) for n in names)
    )
    if code:
        _report_code_members(code, builder, torchscript=torchscript)
    skipped = skipped_members(names)
    for member in archive.members:
        if member.name in skipped or member.name.endswith("/"):
            continue
        if member.encrypted:
            _analyze_flagged_member(archive, member, builder)
            continue
        if not readable(archive, member, builder):
            continue
        if member.name.endswith("pkl"):
            walk_pickle_member(archive, member, builder)
            continue
        try:
            head = archive.peek(member, len(NPY_MAGIC))
        except MalformedFileError as error:
            builder.unreadable(f"member {member.shown}: {error.problem}", member=member.shown)
            continue
        if PICKLE_START.match(head):
            walk_pickle_member(archive, member, builder)
        elif head.startswith(NPY_MAGIC):
            analyze_npy_member(archive, member, builder)
        elif not head.startswith(ZIP_MAGIC):  # nested zips are analysed as files of their own
            walk_if_pickle(archive, member, builder)
    report_renamed_members(archive, builder)
    if torchscript:
        return "torchscript"
    return "pytorch-zip" if torch_layout else "zip"


def _report_code_members(code: list[str], builder: AnalysisBuilder, *, torchscript: bool) -> None:
    if torchscript:
        builder.risk(
            LoadRisk(
                kind=RiskKind.EMBEDDED_CODE,
                severity=Severity.HIGH,
                message=f"TorchScript code runs on torch.jit.load: {list_names(code)}",
            )
        )
        return
    # Python files in a plain zip do not run when it is loaded, but ship code with the model.
    builder.risk(
        LoadRisk(
            kind=RiskKind.EMBEDDED_CODE,
            severity=Severity.MEDIUM,
            message=f"the archive ships Python code: {list_names(code)}",
        ),
        runs_on_load=False,
    )


def _analyze_flagged_member(
    archive: ZipArchive, member: ZipMember, builder: AnalysisBuilder
) -> None:
    """An 'encrypted' member: walk it if its stored bytes are a plain pickle (a flipped flag)."""
    if member.method == STORED and archive.refusal(member) is None:
        try:
            head = archive.peek(member, 2)
        except MalformedFileError:
            head = b""
        if PICKLE_START.match(head):
            builder.problem(
                f"member {member.shown} is flagged {member.encryption} but holds a plain pickle "
                "(a flag set to make scanners skip it; loaders ignoring the flag read it): walked"
            )
            walk_pickle_member(archive, member, builder)
            return
    readable(archive, member, builder)


def walk_if_pickle(archive: ZipArchive, member: ZipMember, builder: AnalysisBuilder) -> None:
    """Walk a member of any name that may be a protocol 0 or 1 pickle (``torch.load``'s
    ``pickle_file=`` takes any name): kept when it names a callable and the walk completes, or
    when it reaches a dangerous one; other bytes (text, raw storages) are left alone."""
    walked = _walk_member(archive, member, builder)
    if walked is None:
        return
    scan, reader = walked
    dangerous = any(risk.severity is Severity.HIGH for risk in scan.risks)
    if scan.imports and (scan.complete or dangerous):
        builder.pickle_scan(scan)
        report_stream_state(reader, member, builder)


def walk_pickle_member(archive: ZipArchive, member: ZipMember, builder: AnalysisBuilder) -> None:
    """Walk ``member`` as a pickle (capped stream, CRC ignored but checked and reported)."""
    walked = _walk_member(archive, member, builder)
    if walked is None:
        return
    scan, reader = walked
    builder.pickle_scan(scan)
    report_stream_state(reader, member, builder)


def _walk_member(
    archive: ZipArchive, member: ZipMember, builder: AnalysisBuilder
) -> tuple[PickleScan, MemberReader] | None:
    """The pickle walk of ``member`` and its reader; None (and an UNREADABLE risk) when the
    member cannot be opened or the archive cannot be read on (a ranged Hub file)."""
    try:
        reader = archive.open_member(member, max_bytes=MAX_PICKLE_MEMBER_BYTES)
    except MalformedFileError as error:
        builder.unreadable(f"member {member.shown}: {error.problem}", member=member.shown)
        return None
    try:
        scan = scan_pickle_stream(
            io.BufferedReader(reader), max_bytes=MAX_PICKLE_MEMBER_BYTES, member=member.shown
        )
    except OSError as error:
        builder.unreadable(f"member {member.shown} cannot be read: {error}", member=member.shown)
        return None
    return scan, reader
