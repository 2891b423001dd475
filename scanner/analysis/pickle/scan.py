"""The pickle analyser's entry points: one pickle of a stream, or a whole pickle file.

Files handled by ``scan_pickle_file``: one or more concatenated pickles (``.pkl``, ``.pickle``,
``.bin``, the legacy PyTorch format that ``.pt``/``.pth``/``.ckpt`` files used before 1.6) and
joblib dumps, whose NumPy arrays are written raw inside the pickle stream and are stepped over
(joblib's compressed dumps are decompressed on the fly with the standard library, capped).
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Final

from scanner.analysis.load_risk import FileAnalysis, LoadRisk, RiskKind
from scanner.analysis.pickle.compression import (
    PROBE_BYTES,
    Decompressing,
    compression_of,
    unsupported,
)
from scanner.analysis.pickle.findings import Findings, keep_named_unsafe_imports
from scanner.analysis.pickle.machine import Budget, Mode, Walker
from scanner.analysis.pickle.opcodes import HANDLERS
from scanner.analysis.pickle.reader import Reader, Stop, is_seekable
from scanner.analysis.pickle.report import (
    EXECUTABLE_KINDS,
    PickleScan,
    import_names,
    report_problems,
    report_risks,
)
from scanner.core.model import Severity

if TYPE_CHECKING:
    from typing import BinaryIO

#: Most bytes read past the start of a stream or file, skipped string and array payloads
#: included. A skipped payload costs a seek on a file, so the cap mostly bounds decompressed and
#: unseekable streams.
MAX_PICKLE_BYTES = 64 * 1024**3
#: Most bytes decompressed from a compressed joblib dump (a decompression bomb stops here).
MAX_DECOMPRESSED_BYTES = 8 * 1024**3
#: Most pickles walked in one file; the legacy PyTorch format has five.
MAX_PICKLES_PER_FILE = 64
#: The integer the legacy PyTorch format pickles first.
LEGACY_TORCH_MAGIC = 0x1950A86A20F9469CFC6C
#: How a pickle of protocol 2 to 5 starts: its PROTO opcode.
PICKLE_START: Final = re.compile(rb"\x80[\x02-\x05]")

_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")


def scan_pickle_stream(
    stream: BinaryIO, *, max_bytes: int = MAX_PICKLE_BYTES, member: str | None = None
) -> PickleScan:
    """Walk one pickle, up to its STOP opcode, from the stream's current position.

    Nothing is unpickled. A seekable stream is left just past the STOP opcode (or where the
    walk stopped); an unseekable one is read ahead. ``member`` names the archive member the
    stream comes from, in risks and problems. Malformed or hostile data never raises: the scan
    comes back incomplete, with an ``UNREADABLE`` risk and the problem.
    """
    reader = Reader(stream, max_bytes=max_bytes, seekable=is_seekable(stream))
    walker = Walker(reader, Budget(), Mode.MAIN, HANDLERS)
    walker.run()
    reader.release()
    return PickleScan(
        imports=import_names(walker.findings),
        risks=report_risks(walker.findings, complete=walker.complete, member=member),
        protocol=walker.protocol,
        end_offset=reader.position,
        problems=report_problems(walker.findings, member),
        complete=walker.complete,
        calls=walker.findings.calls,
    )


def scan_pickle_file(stream: BinaryIO, name: str) -> FileAnalysis:
    """Analyse a file made of one or more pickles without unpickling it.

    ``stream`` holds the file, read from its start wherever it is positioned; ``name`` is the
    file's path relative to the scanned folder (a ``.joblib`` suffix names the format).

    Concatenated pickles are walked until the first thing that is not a pickle (the raw
    storages of the legacy PyTorch format, trailing bytes). joblib's in-stream NumPy arrays are
    stepped over, and its compressed dumps (zlib, gzip, bz2, xz, lzma, lz4
    when the lz4 package is installed) decompressed on the fly.
    A file that does not start like a pickle (a PNG, text, a zip archive) gets a "not a pickle"
    problem and no risk: no loader would run anything from it.

    Raises:
        OSError: the stream cannot be read.
    """
    declared = "joblib" if PurePosixPath(name).suffix.lower() == ".joblib" else "pickle"
    stream.seek(0)
    head = stream.read(PROBE_BYTES)
    stream.seek(0)
    if head.startswith(_ZIP_MAGICS):
        return FileAnalysis(
            format=declared,
            problems=("not a pickle (a zip archive: read it as a PyTorch or NumPy archive)",),
        )
    compression = compression_of(head)
    refusal = None if compression is None else unsupported(compression)
    if refusal is not None:
        return _unreadable(declared, refusal)
    if compression is None:
        reader = Reader(stream, max_bytes=MAX_PICKLE_BYTES, seekable=True)
        return _scan_pickles(reader, declared)
    # Read directly (no BufferedReader): the bytes decoded before a corrupt block are kept.
    inflated = Decompressing(stream, compression)
    reader = Reader(inflated, max_bytes=MAX_DECOMPRESSED_BYTES, seekable=False)
    return _scan_pickles(reader, declared)


def _unreadable(declared: str, problem: str) -> FileAnalysis:
    return FileAnalysis(
        format=declared,
        risks=(
            LoadRisk(
                kind=RiskKind.UNREADABLE,
                severity=Severity.MEDIUM,
                message=f"{problem}: what the file does on load is unknown",
            ),
        ),
        executable_on_load=True,
        problems=(problem,),
    )


def _scan_pickles(reader: Reader, declared: str) -> FileAnalysis:
    budget = Budget()
    try:
        empty = reader.at_end()
    except Stop as stop:  # compressed data that decodes to nothing: no loader gets further
        return FileAnalysis(format=declared, problems=(f"not a pickle ({stop.problem})",))
    if empty:
        return FileAnalysis(format=declared, problems=("not a pickle (the file is empty)",))
    first = Walker(reader, budget, Mode.MAIN, HANDLERS)
    first.run()
    failure = first.findings.failure
    if failure is not None and not failure.cap and not first.findings.names_code:
        # Nothing before the failure can reach a callable: every loader stops there, harmlessly.
        return FileAnalysis(format=declared, problems=(f"not a pickle ({failure.problem})",))
    result = first.result
    legacy = type(result) is int and result == LEGACY_TORCH_MAGIC
    findings = first.findings
    _walk_following_pickles(reader, budget, findings)
    risks = report_risks(findings, complete=findings.failure is None, member=None)
    return FileAnalysis(
        format="pytorch-legacy" if legacy else declared,
        imports=tuple(sorted(set(import_names(findings)))),
        risks=risks,
        executable_on_load=any(risk.kind in EXECUTABLE_KINDS for risk in risks),
        problems=report_problems(findings, None),
    )


def _walk_following_pickles(reader: Reader, budget: Budget, findings: Findings) -> None:
    """Walk the pickles after a complete first one, up to the first thing that is not one."""
    walked = 1
    while findings.failure is None:
        try:
            if reader.at_end():
                return
        except Stop as stop:
            findings.note_failure(stop)
            return
        if walked >= MAX_PICKLES_PER_FILE:
            findings.note_failure(
                Stop(f"more than {MAX_PICKLES_PER_FILE} pickles in one file", cap=True)
            )
            return
        walker = Walker(reader, budget, Mode.MAIN, HANDLERS)
        walker.run()
        walked += 1
        failure = walker.findings.failure
        if (walker.complete and not walker.underflowed) or (failure is not None and failure.cap):
            findings.merge(walker.findings)
            continue
        # Raw data after the pickles (legacy PyTorch storages, trailing bytes): only an unsafe
        # import it spells out by name is kept.
        keep_named_unsafe_imports(findings, walker.findings)
        return
