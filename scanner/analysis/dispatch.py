"""Which analyser reads a model file, decided by its content, then its name: two tables.

``ROUTES`` has one row per container or format a file can be (zip, 7z, NumPy, pickle, and the
formats that only look like a pickle); the first row that recognises the file's first bytes or
its suffix runs its analyser. A zip's central directory then picks one row of ``ZIP_LAYOUTS``
(Keras, npz, PyTorch or any zip). A new container is one new module plus one row.

Valid safetensors, GGUF, ONNX and other files of their named format, HDF5 weights without a
Keras model config, text and raw ``.bin`` files (GGML) give None: other readers handle them, or
there is nothing that loading them would run. Whatever its name, a file whose content is a
pickle a loader would read is analysed as one (an attacker names the file; the loading program
picks the loader), and a file named as weights that is neither its format nor a pickle is
reported unreadable.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Final, TypeAlias

from scanner.analysis.load_risk import FileAnalysis, LoadRisk, RiskKind
from scanner.analysis.magic import (
    EMPTY_ZIP_MAGIC,
    HDF5_MAGIC,
    NPY_MAGIC,
    PICKLE_OPCODE_START,
    PICKLE_START,
    SEVEN_ZIP_MAGIC,
    TAR_START,
    ZIP_MAGIC,
)
from scanner.analysis.pickle.compression import COMPRESSED_START
from scanner.core.capped_io import open_regular_file
from scanner.core.lazy import later
from scanner.core.model import Severity
from scanner.formats.model.model_formats import PickleUse, format_of, suffixes_read

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import BinaryIO

    from scanner.analysis.builder import AnalysisBuilder
    from scanner.analysis.zip_archive import ZipArchive

#: Reads a whole file (``stream``, from its start) named ``name``; None: nothing to analyse.
Analyser: TypeAlias = "Callable[[BinaryIO, str], FileAnalysis | None]"


def scan_pickle_file(stream: BinaryIO, name: str) -> FileAnalysis:
    """``scanner.analysis.pickle.scan.scan_pickle_file``, imported on first use (a folder of
    JSON, text and safetensors files never loads the pickle analyser)."""
    from scanner.analysis.pickle.scan import scan_pickle_file as scan

    return scan(stream, name)


def _may_be_a_pickle(stream: BinaryIO) -> bool:
    """Whether the stream starts with a pickle opcode or a compressed stream: from any other
    first byte the unpickler stops at once (tests/unit/analysis/test_dispatch.py)."""
    stream.seek(0)
    head = stream.read(8)
    return bool(PICKLE_OPCODE_START.match(head) or COMPRESSED_START.match(head))


def scan_pickle_content(stream: BinaryIO, name: str) -> FileAnalysis | None:
    """``scanner.analysis.pickle.scan.scan_pickle_content``, imported when the stream starts
    with an opcode or a compressed stream: from any other first byte it finds nothing (the
    unpickler stops there), so a valid safetensors header checked for a pickle behind it, or a
    JSON file, never loads the analyser."""
    if not _may_be_a_pickle(stream):
        return None
    from scanner.analysis.pickle.scan import scan_pickle_content as scan

    return scan(stream, name)


_analyze_7z = later("scanner.analysis.seven_zip", "analyze_7z")
_analyze_npy = later("scanner.analysis.numpy_file", "analyze_npy")
_analyze_npz_members = later("scanner.analysis.numpy_file", "analyze_npz_members")
_analyze_torch_tar = later("scanner.analysis.torch_legacy_tar", "analyze_torch_tar")
_analyze_keras_h5 = later("scanner.analysis.keras_h5", "analyze_keras_h5")
_analyze_keras_members = later("scanner.analysis.keras_archive", "analyze_keras_members")
_analyze_torch_members = later("scanner.analysis.torch_archive", "analyze_torch_members")

#: Suffixes always walked as pickles, whatever their first bytes (the format table says which).
ALWAYS_PICKLE_SUFFIXES: Final = suffixes_read(PickleUse.ALWAYS)
#: Suffixes of formats whose first bytes may look like a pickle by chance (a safetensors
#: header length of 0x0280 starts ``80 02``): a valid instance is never read as a pickle.
OWN_FORMAT_SUFFIXES: Final = suffixes_read(PickleUse.UNLESS_VALID)
#: Names a pickle-reading loader is given (torch.load's ``.bin``/``.pt``, joblib's ``.sav``,
#: ``numpy.load(allow_pickle=True)`` on a ``.npy``/``.npz`` that is no zip, no suffix, …).
LOADER_SUFFIXES: Final = suffixes_read(PickleUse.PARSE)
#: Suffixes of files their loaders open with Python's zipfile, which finds the archive from
#: its end: bytes prepended to the first member do not stop it (keras.saving.load_model).
ZIPFILE_SUFFIXES: Final = frozenset({".keras", ".zip"})
#: Bytes read to recognise a file (a tar's ``ustar`` magic sits at offset 257).
SNIFF_BYTES: Final = 512


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    """One row of ``ROUTES``: a container or format, how it is recognised, its analyser.

    A row recognises a file whose first bytes start with one of ``magic``, match ``opening``,
    or whose suffix is one of ``suffixes``.
    """

    name: str
    analyse: Analyser
    magic: tuple[bytes, ...] = ()
    opening: re.Pattern[bytes] | None = None
    suffixes: frozenset[str] = frozenset()

    def recognises(self, head: bytes, suffix: str) -> bool:
        """Whether a file starting with ``head`` whose name ends in ``suffix`` is this row's."""
        return (
            head.startswith(self.magic)
            or (self.opening is not None and self.opening.match(head) is not None)
            or suffix in self.suffixes
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ZipLayout:
    """One row of ``ZIP_LAYOUTS``: what a zip holds, how it is recognised, its member analyser.

    A row recognises an archive whose name ends in one of ``suffixes``, whose member names
    include all of ``members``, or whose members all end in ``member_suffix``; a row with none
    of these recognises every archive.
    """

    name: str
    analyse: Callable[[ZipArchive, AnalysisBuilder], str]
    """Reads the members into the builder and returns the file's format."""
    suffixes: frozenset[str] = frozenset()
    members: frozenset[str] = frozenset()
    member_suffix: str | None = None

    def recognises(self, names: frozenset[str], suffix: str) -> bool:
        """Whether an archive of members ``names`` whose name ends in ``suffix`` is this row's."""
        if not (self.suffixes or self.members or self.member_suffix):
            return True
        return (
            suffix in self.suffixes
            or (bool(self.members) and self.members <= names)
            or (
                self.member_suffix is not None
                and bool(names)
                and all(name.endswith(self.member_suffix) for name in names)
            )
        )


def _keras_and_torch_members(archive: ZipArchive, builder: AnalysisBuilder) -> str:
    """Keras-like members under another name: whatever loads it, its pickles count too."""
    _analyze_keras_members(archive, builder)
    _analyze_torch_members(archive, builder)
    return "keras"


#: The layouts of a zip, first match wins.
ZIP_LAYOUTS: Final[tuple[ZipLayout, ...]] = (
    ZipLayout(name="keras", analyse=_analyze_keras_members, suffixes=frozenset({".keras"})),
    ZipLayout(
        name="keras-like",
        analyse=_keras_and_torch_members,
        members=frozenset({"config.json", "metadata.json"}),
    ),
    ZipLayout(
        name="npz", analyse=_analyze_npz_members, suffixes=frozenset({".npz"}), member_suffix=".npy"
    ),
    ZipLayout(name="pytorch-or-zip", analyse=_analyze_torch_members),
)


def layout_of(archive: ZipArchive, name: str) -> ZipLayout:
    """The row of ``ZIP_LAYOUTS`` that reads ``archive``, a file named ``name``."""
    from scanner.analysis.zip_members import loader_name

    names = frozenset(loader_name(member.name) for member in archive.members)
    suffix = _suffix(name)
    return next(layout for layout in ZIP_LAYOUTS if layout.recognises(names, suffix))


def analyze_zip(stream: BinaryIO, name: str) -> FileAnalysis:
    """Analyse a zip-based model file (PyTorch checkpoint, TorchScript, npz, Keras or any zip)
    by the row of ``ZIP_LAYOUTS`` its members and name pick.

    Encrypted, bomb and truncated members are reported as unreadable; nothing is extracted or
    loaded; a zip that cannot be read is unreadable, never an exception.

    Raises:
        OSError: the stream cannot be read.
    """
    return _analyze_zip_at(stream, name, depth=0)


def _analyze_zip_at(stream: BinaryIO, name: str, *, depth: int) -> FileAnalysis:
    """A zip's analysis, ``depth`` levels inside other zips."""
    from scanner.analysis.zip_members import analyze_zip_stream

    return analyze_zip_stream(stream, "zip", partial(_analyze_layout, name=name, depth=depth))


def _analyze_layout(archive: ZipArchive, builder: AnalysisBuilder, *, name: str, depth: int) -> str:
    from scanner.analysis.zip_nested import analyze_nested_members

    found = layout_of(archive, name).analyse(archive, builder)
    # A member that is a zip itself (Keras' model.weights.npz) is analysed as its own file.
    analyze_nested_members(
        archive, builder, partial(_analyze_zip_at, depth=depth + 1), depth=depth + 1
    )
    return found


def _own_format_unless_a_pickle(stream: BinaryIO, name: str) -> FileAnalysis | None:
    """A file named as another format: None when it is a valid instance of that format (other
    readers handle it), else analysed as a pickle if a loader would read it as one; a file
    named as weights that is neither cannot be vouched for (unreadable)."""
    row = format_of(name)
    if row.is_instance is not None:
        size = stream.seek(0, io.SEEK_END)
        stream.seek(0)
        if row.is_instance(stream, size):
            # An HDF5 file whose superblock follows a user block is still a Keras model file.
            if row.name == "hdf5":
                result: FileAnalysis | None = _analyze_keras_h5(stream, name)
                return result
            return _also_a_dangerous_pickle(stream, name, row.name or "model")
    found = scan_pickle_content(stream, name)
    if found is not None or not row.holds_weights:
        return found
    problem = f"neither a valid {row.name} file nor a pickle"
    return FileAnalysis(
        format=row.name or "unknown",
        risks=(
            LoadRisk(
                kind=RiskKind.UNREADABLE,
                severity=Severity.MEDIUM,
                message=f"{problem}: what loading it does is unknown",
            ),
        ),
        executable_on_load=True,
        problems=(problem,),
    )


def _also_a_dangerous_pickle(stream: BinaryIO, name: str, format_name: str) -> FileAnalysis | None:
    """A valid file of its format that is also a pickle naming a dangerous call (a polyglot:
    ``torch.load`` would run the call): that pickle's analysis, saying so; else None (the bytes
    of a valid header that only look like opcodes for a step or two)."""
    found = scan_pickle_content(stream, name)
    if found is None or not any(risk.severity is Severity.HIGH for risk in found.risks):
        return None
    problem = f"a valid {format_name} file that is also a pickle a loader would run"
    return replace(found, problems=(*found.problems, problem))


def _pickle_if_it_is_one(stream: BinaryIO, name: str) -> FileAnalysis | None:
    """torch.load, joblib and pickle read these whatever their first opcode: parse them, and
    drop the result only when the very first opcodes are no pickle at all (a first byte that
    starts no opcode and no compressed stream is that, without parsing)."""
    if not _may_be_a_pickle(stream):
        return None
    found = scan_pickle_file(stream, name)
    return None if _not_a_pickle(found) else found


def _pickle_or_the_zip_behind(stream: BinaryIO, name: str) -> FileAnalysis | None:
    """A file a loader may unpickle: its pickle (``_pickle_if_it_is_one``); else, when it ends
    like a zip, the zip that Python's zipfile reads behind the bytes before it (torch.load
    checks only the first four bytes and refuses the file; a loader opening it with zipfile
    does not), flagged as prepended; else None."""
    from scanner.analysis.zip_archive import ends_like_a_zip

    found = _pickle_if_it_is_one(stream, name)
    if found is not None or not ends_like_a_zip(stream):
        return found
    return analyze_zip(stream, name)


def _not_a_pickle(analysis: FileAnalysis) -> bool:
    """Whether parsing found no pickle at all (a GGML ``.bin``, a SentencePiece ``.model``)."""
    return (
        not analysis.risks
        and not analysis.imports
        and bool(analysis.problems)
        and all(problem.startswith("not a pickle") for problem in analysis.problems)
    )


#: The containers and formats a model file can be, first match wins: the magic bytes decide
#: first (zip, 7z, ``\x93NUMPY``), then the suffix, then a pickle's PROTO byte, then parsing.
ROUTES: Final[tuple[Route, ...]] = (
    Route(name="zip", analyse=analyze_zip, magic=(ZIP_MAGIC, EMPTY_ZIP_MAGIC)),
    Route(name="7z", analyse=_analyze_7z, magic=(SEVEN_ZIP_MAGIC,)),
    Route(name="npy", analyse=_analyze_npy, magic=(NPY_MAGIC,)),
    # torch.load tries any file as a legacy tar checkpoint first, whatever its name.
    Route(name="torch-legacy-tar", analyse=_analyze_torch_tar, opening=TAR_START),
    # Keras (and zipfile) open a zip whatever bytes come before its first member.
    Route(name="zip-by-name", analyse=analyze_zip, suffixes=ZIPFILE_SUFFIXES),
    # Keras' legacy loader reads a model config from an HDF5 file's root attributes.
    Route(name="keras-h5", analyse=_analyze_keras_h5, magic=(HDF5_MAGIC,)),
    Route(name="pickle-by-name", analyse=scan_pickle_file, suffixes=ALWAYS_PICKLE_SUFFIXES),
    Route(name="own-format", analyse=_own_format_unless_a_pickle, suffixes=OWN_FORMAT_SUFFIXES),
    # joblib.load decompresses whatever the name (``.pkl.gz``, ``.pkl.z``, none): by magic.
    Route(name="compressed-pickle", analyse=_pickle_if_it_is_one, opening=COMPRESSED_START),
    Route(name="pickle-by-opcode", analyse=scan_pickle_file, opening=PICKLE_START),
    Route(name="pickle-by-loader", analyse=_pickle_or_the_zip_behind, suffixes=LOADER_SUFFIXES),
    # What no other row reads is parsed when it starts with an opcode, and kept if a loader
    # reads a pickle.
    Route(name="pickle-by-content", analyse=scan_pickle_content, opening=PICKLE_OPCODE_START),
)


def route_of(stream: BinaryIO, name: str) -> Route | None:
    """The row of ``ROUTES`` that reads ``stream`` (a whole file, wherever it is positioned),
    named ``name``; None when no row does.

    Raises:
        OSError: the stream cannot be read.
    """
    stream.seek(0)
    head = stream.read(SNIFF_BYTES)
    suffix = _suffix(name)
    return next((route for route in ROUTES if route.recognises(head, suffix)), None)


def analyze_stream(stream: BinaryIO, name: str) -> FileAnalysis | None:
    """Analyse a model file if it is a zip, 7z, NumPy or pickle file; else None.

    ``stream`` is the whole file, seekable and positioned anywhere (it is read from its start);
    ``name`` is the file's path relative to the scanned folder, for suffix decisions and
    messages. Nothing is extracted, unpickled or run.

    Raises:
        OSError: the stream cannot be read.
    """
    route = route_of(stream, name)
    return None if route is None else route.analyse(stream, name)


def vouched_by_first_bytes(stream: BinaryIO, name: str) -> bool:
    """Whether the first bytes of a file show that ``analyze_stream`` would report nothing, so
    that a file read by range (in a Hub repo) need not be read further: a valid start of the
    format its name says (``ModelFormat.first_bytes_check``) and no pickle a loader would run;
    for a name a loader may unpickle, no pickle at all; for any other name, no pickle a loader
    would run. False for anything else — a zip, a
    pickle, a header that does not parse — which is then analysed whole.

    Raises:
        OSError: the stream cannot be read (a caller bounding the reads takes it for False).
    """
    route = route_of(stream, name)
    if route is None:
        return True
    if route.name == "pickle-by-loader":
        return _pickle_or_the_zip_behind(stream, name) is None
    if route.name == "pickle-by-content":
        return scan_pickle_content(stream, name) is None
    if route.name != "own-format":
        return False
    check = format_of(name).first_bytes_check()
    size = stream.seek(0, io.SEEK_END)
    stream.seek(0)
    return check is not None and check(stream, size) and scan_pickle_content(stream, name) is None


def analyze_path(path: Path, name: str | None = None) -> FileAnalysis | None:
    """Open ``path`` read-only and analyse it with ``analyze_stream``; ``name`` defaults to
    the file's name.

    Raises:
        MalformedFileError: the path is not a regular file.
        OSError: the file cannot be opened or read.
    """
    with open_regular_file(path) as stream:
        return analyze_stream(stream, path.name if name is None else name)


def _suffix(name: str) -> str:
    """``PurePosixPath(name).suffix.lower()``, without building a path (called per file)."""
    base = name.rsplit("/", 1)[-1]
    dot = base.rfind(".")
    if dot <= 0 or dot == len(base) - 1:
        return ""
    return base[dot:].lower()
