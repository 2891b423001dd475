"""What every zip-based analyser reports about an archive's members, and opening a stream as one.

Hostile and duplicate member names, members renamed in their local header, members that may
not be read (encrypted, a bomb, out of bounds, over the budget) and a member stream's damage,
cap or CRC mismatch are recorded the same way whatever the format (PyTorch, npz, Keras).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, TypeAlias

from scanner.analysis.builder import AnalysisBuilder, display_text, list_names
from scanner.analysis.load_risk import LoadRisk, RiskKind
from scanner.analysis.zip_archive import read_zip
from scanner.core.errors import MalformedFileError
from scanner.core.model import Severity

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import BinaryIO

    from scanner.analysis.load_risk import FileAnalysis
    from scanner.analysis.zip_archive import MemberReader, ZipArchive, ZipMember

_DRIVE = re.compile(r"[A-Za-z]:")
_ORDINARY_NAME = re.compile(r"[\w.+=@-][\w./+=@-]*")


def loader_name(name: str) -> str:
    """The name Python's zipfile (and so Keras, NumPy, joblib) gives a member: cut at its first
    NUL (``zipfile.ZipInfo``); of two entries with one name, ``ZipFile.open`` reads the last."""
    return name.split("\x00", 1)[0]


def report_member_names(archive: ZipArchive, builder: AnalysisBuilder) -> None:
    """Record the directory's problems, bytes before the first member, hostile member names
    (absolute, ``..``, backslashes, control characters), duplicate names and names that
    zipfile reads as another member's."""
    for problem in archive.problems:
        builder.problem(problem)
    if archive.prefix_bytes:
        _report_prefix(archive.prefix_bytes, builder)
    _report_shadowing(archive, builder)
    seen: dict[str, int] = {}
    for member in archive.members:
        seen[member.name] = seen.get(member.name, 0) + 1
        reasons = _hostile_name_reasons(member.name)
        if reasons:
            builder.problem(f"member name {member.shown} is hostile ({', '.join(reasons)})")
    for name, count in seen.items():
        if count > 1:
            builder.problem(
                f"member name {display_text(name)} appears {count} times (loaders disagree on "
                "which copy they read; every copy is analysed)"
            )


def _report_prefix(count: int, builder: AnalysisBuilder) -> None:
    problem = (
        f"{count} bytes come before the first member (zipfile and Keras read past them, "
        "loaders that check the first bytes read them as another format): analysed as a zip"
    )
    builder.problem(problem)
    builder.risk(
        LoadRisk(kind=RiskKind.UNREADABLE, severity=Severity.MEDIUM, message=problem),
        runs_on_load=False,
    )


def _report_shadowing(archive: ZipArchive, builder: AnalysisBuilder) -> None:
    """Flag entries zipfile reads under one name (the same name, or one cut at a NUL): it
    keeps the last, other readers the first."""
    groups: dict[str, list[ZipMember]] = {}
    for member in archive.members:
        groups.setdefault(loader_name(member.name), []).append(member)
    for name, entries in groups.items():
        if len(entries) < 2:
            continue
        read = entries[-1]
        others = [entry.shown for entry in entries[:-1]]
        builder.risk(
            LoadRisk(
                kind=RiskKind.UNREADABLE,
                severity=Severity.MEDIUM,
                message=(
                    f"entries {list_names([*others, read.shown])} are all read as "
                    f"{display_text(name)} by Python's zipfile, which cuts names at a NUL and "
                    f"keeps the last entry of a name (at offset {read.header_offset}): readers "
                    "disagree on which bytes are loaded; every entry is analysed"
                ),
                member=display_text(name),
            ),
            runs_on_load=False,
        )


def _hostile_name_reasons(name: str) -> list[str]:
    if _ORDINARY_NAME.fullmatch(name) and ".." not in name.split("/"):
        return []
    reasons = []
    if not name:
        reasons.append("empty")
    if any(not char.isprintable() for char in name):
        reasons.append("control characters")
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        reasons.append("absolute path")
    if ".." in re.split(r"[/\\]", name):
        reasons.append("parent-directory component")
    if "\\" in name:
        reasons.append("backslash")
    return reasons


def report_renamed_members(archive: ZipArchive, builder: AnalysisBuilder) -> None:
    """Record the members read whose local header gives another name than the directory."""
    for name, local in archive.renamed.items():
        builder.problem(
            f"member {display_text(name)} is named {display_text(local)} in its local header "
            "(zipfile refuses it; loaders that read the central directory do not): analysed anyway"
        )


def readable(
    archive: ZipArchive, member: ZipMember, builder: AnalysisBuilder, *, check_ratio: bool = True
) -> bool:
    """Return whether ``member`` may be read; if not, record why as an UNREADABLE risk."""
    if member.encrypted:
        builder.unreadable(
            f"{member.encryption} member {member.shown} cannot be analysed", member=member.shown
        )
        return False
    reason = archive.refusal(member, check_ratio=check_ratio)
    if reason is not None:
        builder.unreadable(reason, member=member.shown)
        return False
    return True


def report_stream_state(reader: MemberReader, member: ZipMember, builder: AnalysisBuilder) -> None:
    """Record damage, the cap and a CRC mismatch seen while reading ``member``."""
    if reader.damage is None and not reader.capped:
        reader.drain()
    if reader.damage is not None:
        builder.problem(f"member {member.shown}: {reader.damage}")
    elif reader.cap_reached:
        builder.problem(f"member {member.shown}: only its first {reader.delivered} bytes were read")
    elif reader.crc_matches is False:
        # Tampering the CRC makes zipfile-based scanners give up while loaders that skip the
        # check still load the bytes; the walk above covered exactly those bytes.
        builder.problem(
            f"member {member.shown} fails its CRC-32 check (altered after zipping; zipfile "
            "refuses it, loaders that skip the check do not): walked anyway"
        )


#: Reads an open archive's members into a builder and returns the format they make up.
MemberAnalyser: TypeAlias = "Callable[[ZipArchive, AnalysisBuilder], str]"


def analyze_zip_stream(stream: BinaryIO, fmt: str, analyze_members: MemberAnalyser) -> FileAnalysis:
    """Read ``stream`` (a whole file, wherever it is positioned) as a zip and let
    ``analyze_members`` analyse it, in the format it returns; a zip that cannot be read is
    unreadable (``{fmt} archive: problem``, format ``fmt``), never an exception.

    Raises:
        OSError: the stream cannot be read.
    """
    builder = AnalysisBuilder()
    try:
        archive = read_zip(stream)
    except MalformedFileError as error:
        builder.unreadable(f"{fmt} archive: {error.problem}")
        return builder.build(fmt)
    return builder.build(analyze_members(archive, builder))
