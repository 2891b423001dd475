"""The pickle analyser's entry points: one pickle of a stream, or a whole pickle file.

Files handled by ``scan_pickle_file``: one or more concatenated pickles (``.pkl``, ``.pickle``,
``.bin``, the legacy PyTorch format that ``.pt``/``.pth``/``.ckpt`` files used before 1.6) and
joblib dumps, whose NumPy arrays are written raw inside the pickle stream and are stepped over
(joblib's compressed dumps are decompressed on the fly with the standard library, capped).
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from scanner.analysis.load_risk import FileAnalysis, LoadRisk, RiskKind
from scanner.analysis.pickle.classify import classify_import
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


def scan_pickle_content(stream: BinaryIO, name: str) -> FileAnalysis | None:
    """Analyse a file no loader unpickles by its name when its content is a pickle a loader
    would read anyway (an attacker names the file; the loading program picks the loader).

    That is: its first pickle parses to STOP without a stack underflow (CPython reads it), or
    it names a dangerous callable (by identifiers a loader can import) before it fails; only
    those callables are then reported. None for anything else: text, images, other formats
    whose first bytes only look like opcodes.

    Raises:
        OSError: the stream cannot be read.
    """
    return _scan_file(stream, name, by_content=True)


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
    return _scan_file(stream, name, by_content=False) or FileAnalysis(format=declared)


def _scan_file(stream: BinaryIO, name: str, *, by_content: bool) -> FileAnalysis | None:
    """``scan_pickle_file``, or with ``by_content`` ``scan_pickle_content``: only the latter
    returns None."""
    declared = "joblib" if PurePosixPath(name).suffix.lower() == ".joblib" else "pickle"
    stream.seek(0)
    head = stream.read(PROBE_BYTES)
    stream.seek(0)
    if head.startswith(_ZIP_MAGICS):
        if by_content:
            return None
        return FileAnalysis(
            format=declared,
            problems=("not a pickle (a zip archive: read it as a PyTorch or NumPy archive)",),
        )
    compression = compression_of(head)
    refusal = None if compression is None else unsupported(compression)
    if refusal is not None:
        if by_content:
            return None
        return _unreadable(declared, refusal)
    if compression is None:
        reader = Reader(stream, max_bytes=MAX_PICKLE_BYTES, seekable=True)
        return _scan_pickles(reader, declared, by_content=by_content)
    # Read directly (no BufferedReader): the bytes decoded before a corrupt block are kept.
    inflated = Decompressing(stream, compression)
    reader = Reader(inflated, max_bytes=MAX_DECOMPRESSED_BYTES, seekable=False)
    return _scan_pickles(reader, declared, by_content=by_content)


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


def _scan_pickles(reader: Reader, declared: str, *, by_content: bool) -> FileAnalysis | None:
    budget = Budget()
    try:
        empty = reader.at_end()
    except Stop as stop:  # compressed data that decodes to nothing: no loader gets further
        problem = f"not a pickle ({stop.problem})"
        return None if by_content else FileAnalysis(format=declared, problems=(problem,))
    if empty:
        problem = "not a pickle (the file is empty)"
        return None if by_content else FileAnalysis(format=declared, problems=(problem,))
    first = Walker(reader, budget, Mode.MAIN, HANDLERS)
    first.run()
    if by_content and not (first.complete and not first.underflowed):
        return _named_dangerous_calls(declared, first.findings)
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


def _named_dangerous_calls(declared: str, findings: Findings) -> FileAnalysis | None:
    """What a walk that failed (or underflowed) on a file not named as a pickle shows: the
    dangerous callables it names by importable identifiers (a loader runs them before it
    fails), or None when there is none (text or binary data that only looks like opcodes)."""
    kept = Findings()
    for found in findings.imports:
        verdict = classify_import(found.module, found.name)
        if (
            verdict is not None
            and verdict[0] == Severity.HIGH
            and _importable(found.module)
            and _importable(found.name)
        ):
            kept.add_import(found)
    if not kept.imports:
        return None
    kept.failure = findings.failure
    risks = report_risks(kept, complete=findings.failure is None, member=None)
    return FileAnalysis(
        format=declared,
        imports=import_names(kept),
        risks=risks,
        executable_on_load=True,
        problems=report_problems(findings, None),
    )


def _importable(dotted: str) -> bool:
    """Whether ``dotted`` is a dotted path of identifiers (what a loader can import)."""
    return all(part.isidentifier() for part in dotted.split("."))


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
