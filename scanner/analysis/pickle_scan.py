"""Static analysis of pickle files: every callable a pickle would import, found without unpickling.

The opcode stream is walked by a small reader written for this purpose (``pickletools.genops``
reads whole arguments into memory and has no caps). A model of the unpickler's stack and memo
resolves ``STACK_GLOBAL`` operands, so an import hidden behind memo indirection is still named;
operands that are not known strings are reported as a hidden import. Nothing is ever unpickled.

Files handled by ``scan_pickle_file``: one or more concatenated pickles (``.pkl``, ``.pickle``,
``.bin``, the legacy PyTorch format that ``.pt``/``.pth``/``.ckpt`` files used before 1.6) and
joblib dumps, whose NumPy arrays are written raw inside the pickle stream and are stepped over
(joblib's compressed dumps are decompressed on the fly with the standard library, capped).
"""

from __future__ import annotations

import bz2
import codecs
import io
import lzma
import re
import warnings
import zlib
from _compat_pickle import IMPORT_MAPPING, NAME_MAPPING
from dataclasses import dataclass, field
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, BinaryIO, Final, Protocol

from scanner.analysis.load_risk import FileAnalysis, LoadRisk, RiskKind
from scanner.analysis.trainer_classes import RESTORE_FORMS, RestoreForm
from scanner.core.capped_io import open_regular_file
from scanner.core.model import Severity

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


#: Most bytes read past the start of a stream or file, skipped string and array payloads
#: included. A skipped payload costs a seek on a file, so the cap mostly bounds decompressed and
#: unseekable streams.
MAX_PICKLE_BYTES = 64 * 1024**3
#: Most bytes decompressed from a compressed joblib dump (a decompression bomb stops here).
MAX_DECOMPRESSED_BYTES = 8 * 1024**3
#: Most opcodes walked per file (1-2 µs each); real model pickles have well under a million.
MAX_OPCODES = 10_000_000
#: Most items on the modelled stack; only a tuple of over a million items comes near it. With
#: strings kept up to MAX_NAME_BYTES, the model's worst case stays near 350 MB.
MAX_STACK_ITEMS = 1_000_000
#: Most open MARKs; the pickler nests one per container level, and CPython's recursion limit
#: keeps real pickles under a few thousand.
MAX_MARK_DEPTH = 100_000
#: Most memo entries (pickle writers number them 0, 1, 2, …).
MAX_MEMO_ENTRIES = MAX_OPCODES
#: Most memo entries with keys out of sequence (only hand-made pickles have any).
MAX_SPARSE_MEMO_ENTRIES = 100_000
#: Approximate bytes of modelled values (strings, small tuples) the memo keeps; beyond that,
#: values are remembered as unknown and resolving an import through them is reported.
MAX_MEMO_MODEL_BYTES = 64 * 1024 * 1024
#: Longest string (in bytes) whose text is kept; module and qualified names are far shorter.
MAX_NAME_BYTES = 256
#: Longest protocol-0 line (a text argument: a string, a number, a name).
MAX_LINE_BYTES = 64 * 1024 * 1024
#: Longest tuple whose items are modelled (array shapes, ``numpy.dtype`` arguments and state).
MAX_MODELLED_TUPLE = 32
#: Most entries modelled in a joblib array wrapper's state dictionary (it has six).
MAX_MODELLED_DICT = 64
#: Most distinct callables recorded per file.
MAX_IMPORTS = 10_000
#: Most pickles walked in one file; the legacy PyTorch format has five.
MAX_PICKLES_PER_FILE = 64
#: Most problems reported per file; the rest are counted.
MAX_PROBLEMS = 20
#: Largest length an opcode may declare, whatever the stream (far beyond any real file).
MAX_DECLARED_LENGTH = 1 << 48

#: The integer the legacy PyTorch format pickles first.
LEGACY_TORCH_MAGIC = 0x1950A86A20F9469CFC6C
#: Highest pickle protocol CPython reads.
HIGHEST_PROTOCOL = 5

_CHUNK = 64 * 1024
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_NOT_ALLOWLISTED = "not on the allowlist of tensor-rebuilding globals"

# --------------------------------------------------------------------------------------------
# Classification
# --------------------------------------------------------------------------------------------

#: Imports that do far more than rebuild data when a pickle is loaded, with the reason.
#: ``module`` matches the module and its submodules, whatever the name; ``module:pattern``
#: matches that module when the fnmatch pattern fits the qualified name or its first part.
UNSAFE_GLOBALS: Final[tuple[tuple[str, str], ...]] = (
    # Processes and the interpreter
    ("os", "runs shell commands and reaches files and processes"),
    ("nt", "runs shell commands and reaches files and processes"),
    ("posix", "runs shell commands and reaches files and processes"),
    ("_posixsubprocess", "spawns processes"),
    ("subprocess", "runs programs"),
    ("pty", "spawns a shell"),
    ("commands", "runs shell commands"),
    ("popen2", "runs shell commands"),
    ("_winapi", "calls the Windows API (processes, files)"),
    ("msvcrt", "calls the Windows C runtime"),
    ("winreg", "edits the Windows registry"),
    ("asyncio", "starts subprocesses and network connections"),
    ("multiprocessing", "starts processes running arbitrary callables"),
    ("concurrent", "runs arbitrary callables in workers"),
    ("threading", "starts threads running arbitrary callables"),
    ("_thread", "starts threads running arbitrary callables"),
    ("sys", "controls the interpreter (exit, modules, hooks)"),
    ("atexit", "registers callables to run at exit"),
    ("signal", "installs signal handlers"),
    ("gc", "reaches every live object"),
    ("ctypes", "loads native libraries and calls C functions"),
    ("_ctypes", "loads native libraries and calls C functions"),
    ("cffi", "loads native libraries and calls C functions"),
    ("numpy.ctypeslib", "loads native libraries"),
    ("platform:_syscmd*", "runs shell commands"),
    ("platform:popen", "runs shell commands"),
    # Python code
    ("builtins:eval", "evaluates Python code"),
    ("builtins:exec", "executes Python code"),
    ("builtins:execfile", "executes a Python file"),
    ("builtins:compile", "compiles Python code"),
    ("builtins:open", "opens files"),
    ("builtins:file", "opens files"),
    ("builtins:getattr", "fetches any attribute, reaching callables the file does not name"),
    ("builtins:setattr", "overwrites attributes"),
    ("builtins:delattr", "deletes attributes"),
    ("builtins:__import__", "imports any module"),
    ("builtins:reload", "re-imports modules"),
    ("builtins:__build_class__", "builds classes from code"),
    ("builtins:breakpoint", "starts a debugger"),
    ("builtins:input", "reads the terminal"),
    ("builtins:raw_input", "reads the terminal"),
    ("builtins:help", "starts the interactive help and its pager"),
    ("builtins:globals", "exposes module globals"),
    ("builtins:locals", "exposes local variables"),
    ("builtins:vars", "exposes object namespaces"),
    ("builtins:apply", "calls any callable"),
    ("builtins:exit", "exits the interpreter"),
    ("builtins:quit", "exits the interpreter"),
    ("runpy", "runs Python modules and code"),
    ("code", "runs Python code (interactive interpreter)"),
    ("codeop", "compiles Python code"),
    ("timeit", "executes Python code strings"),
    ("profile", "executes Python code under the profiler"),
    ("cProfile", "executes Python code under the profiler"),
    ("pdb", "runs code under the debugger"),
    ("bdb", "runs code under the debugger"),
    ("trace", "executes Python code under the tracer"),
    ("doctest", "runs Python code from docstrings"),
    ("idlelib", "IDLE internals that run code"),
    ("lib2to3", "loads pickled grammars (a nested pickle)"),
    ("pydoc", "runs pagers (shell commands) and imports by name"),
    ("rlcompleter", "evaluates expressions"),
    ("test", "CPython's test helpers run code and processes"),
    ("types", "builds code and function objects"),
    ("marshal", "loads code objects"),
    ("pickle", "loads a nested pickle"),
    ("_pickle", "loads a nested pickle"),
    ("cPickle", "loads a nested pickle"),
    ("dill", "loads nested pickles of code"),
    ("cloudpickle", "rebuilds functions from serialised code"),
    ("jsonpickle", "rebuilds arbitrary objects"),
    ("shelve", "loads nested pickles from files"),
    ("copyreg:add_extension", "registers pickle extension codes"),
    ("importlib", "imports modules by name"),
    ("imp", "imports modules by name"),
    ("pkgutil", "resolves and imports any name"),
    ("zipimport", "imports code from archives"),
    ("site", "changes the import path"),
    ("operator:attrgetter", "fetches any attribute, reaching callables the file does not name"),
    ("operator:methodcaller", "calls any method by name"),
    ("_operator:attrgetter", "fetches any attribute, reaching callables the file does not name"),
    ("_operator:methodcaller", "calls any method by name"),
    # Packaging (runs build code)
    ("ensurepip", "installs packages"),
    ("pip", "installs packages"),
    ("setuptools", "builds and installs packages"),
    ("distutils", "builds packages and writes files"),
    ("venv", "creates environments and runs pip"),
    ("compileall", "compiles code and writes files"),
    ("py_compile", "compiles code and writes files"),
    # Private stdlib helpers that run commands
    ("_osx_support", "runs shell commands"),
    ("_aix_support", "runs shell commands"),
    ("_pyrepl", "runs pagers (shell commands) and the REPL"),
    ("uuid:_*", "private helpers run shell commands"),
    # Network
    ("socket", "opens network connections"),
    ("_socket", "opens network connections"),
    ("ssl", "opens network connections"),
    ("http", "makes HTTP requests or serves files"),
    ("httplib", "makes HTTP requests"),
    ("urllib", "fetches URLs"),
    ("urllib2", "fetches URLs"),
    ("urllib3", "fetches URLs"),
    ("requests", "makes HTTP requests"),
    ("httpx", "makes HTTP requests"),
    ("aiohttp", "makes HTTP requests"),
    ("ftplib", "opens FTP connections"),
    ("smtplib", "sends mail"),
    ("smtpd", "serves mail"),
    ("telnetlib", "opens telnet connections"),
    ("imaplib", "opens mail connections (IMAP4_stream runs a command)"),
    ("poplib", "opens mail connections"),
    ("nntplib", "opens news connections"),
    ("xmlrpc", "calls remote procedures"),
    ("socketserver", "serves network connections"),
    ("webbrowser", "launches a browser (runs commands)"),
    ("paramiko", "opens SSH connections and runs remote commands"),
    ("pycurl", "fetches URLs"),
    # Files
    ("io", "opens files"),
    ("_io", "opens files"),
    ("codecs:open", "opens files"),
    ("shutil", "copies, moves and deletes files"),
    ("tempfile", "creates files"),
    ("glob", "lists files"),
    ("fileinput", "reads files"),
    ("linecache", "reads files"),
    ("zipfile", "reads and writes archives"),
    ("tarfile", "extracts and writes archives"),
    ("gzip", "reads and writes files"),
    ("bz2", "reads and writes files"),
    ("lzma", "reads and writes files"),
    ("mmap", "maps files into memory"),
    ("logging", "creates log files and handlers (logging.config evaluates code)"),
    ("sqlite3", "opens database files"),
    ("dbm", "opens database files"),
    ("pathlib:*.*", "calls a pathlib method (reads or writes files)"),
    # NumPy, PyTorch and friends: nested pickles, files, code generation
    ("numpy:load", "loads a nested pickle (numpy.load)"),
    ("numpy.lib.npyio", "loads files and nested pickles"),
    ("numpy.lib.format", "reads arrays and nested pickles from files"),
    ("numpy:fromfile", "reads files"),
    ("numpy:memmap", "maps or creates files"),
    ("numpy:save*", "writes files"),
    ("numpy:loadtxt", "reads files"),
    ("numpy:genfromtxt", "reads files"),
    ("numpy.testing", "runs code strings and processes"),
    ("numpy.f2py", "compiles and runs code"),
    ("numpy.distutils", "builds and runs code"),
    ("torch:load", "loads a nested pickle (torch.load)"),
    ("torch.serialization:load", "loads a nested pickle (torch.load)"),
    ("torch.serialization:_load", "loads a nested pickle (torch.load)"),
    ("torch.storage:_load_from_bytes", "loads a nested pickle (torch.load)"),
    ("torch.hub", "downloads and runs code"),
    ("torch.package", "imports code from packages"),
    ("torch.jit", "compiles and runs TorchScript or Python code"),
    ("torch.fx", "generates and executes Python code"),
    ("torch._dynamo", "compiles and evaluates guard code"),
    ("torch._inductor", "compiles and runs generated code"),
    ("torch.distributed", "runs remote procedures and opens connections"),
    ("torch.testing", "test helpers that run code"),
    ("torch.utils.collect_env", "runs shell commands"),
    ("torch.utils._config_module", "loads nested pickles and runs code"),
    ("torch.utils.data.datapipes", "decodes nested pickles"),
    ("torch.utils.bottleneck", "runs Python code under profilers"),
    ("torch.utils.cpp_extension", "compiles and loads native code"),
    ("joblib:load", "loads a nested pickle (joblib.load)"),
    ("joblib.numpy_pickle:load", "loads a nested pickle (joblib.load)"),
    ("pandas:read_pickle", "loads a nested pickle"),
    ("pandas.io.pickle", "loads a nested pickle"),
    ("pandas:eval", "evaluates expressions"),
    ("yaml:load", "constructs arbitrary Python objects from YAML"),
    ("yaml:load_all", "constructs arbitrary Python objects from YAML"),
    ("yaml:unsafe_load*", "constructs arbitrary Python objects from YAML"),
)

_TORCH_DTYPES = (
    "float32 float float64 double float16 half bfloat16 complex32 chalf complex64 cfloat "
    "complex128 cdouble uint8 uint16 uint32 uint64 int8 int16 short int32 int int64 long bool "
    "qint8 quint8 qint32 quint4x2 quint2x4 float8_e4m3fn float8_e5m2 float8_e4m3fnuz "
    "float8_e5m2fnuz dtype"
)
_TORCH_LAYOUTS_AND_FORMATS = (
    "strided sparse_coo sparse_csr sparse_csc sparse_bsr sparse_bsc jagged contiguous_format "
    "channels_last channels_last_3d preserve_format per_tensor_affine per_channel_affine "
    "per_tensor_symmetric per_channel_symmetric per_channel_affine_float_qparams"
)
_NUMPY_SCALAR_TYPES = (
    "bool_ int8 int16 int32 int64 uint8 uint16 uint32 uint64 intc uintc longlong ulonglong "
    "float16 float32 float64 half single double longdouble complex64 complex128 clongdouble "
    "str_ bytes_ object_ void datetime64 timedelta64"
)

#: Imports that only rebuild tensors, arrays and plain containers (``module:pattern``; a
#: wildcard never matches a dotted name).
SAFE_GLOBALS: Final[tuple[str, ...]] = (
    *(f"collections:{name}" for name in ("OrderedDict", "defaultdict", "deque", "Counter")),
    *(
        f"builtins:{name}"
        for name in (
            "set",
            "frozenset",
            "dict",
            "list",
            "tuple",
            "bytearray",
            "bytes",
            "complex",
            "slice",
            "range",
            "int",
            "float",
            "str",
            "bool",
            "object",
        )
    ),
    "copyreg:_reconstructor",
    "copyreg:__newobj__",
    "copyreg:__newobj_ex__",
    "_codecs:encode",
    "codecs:encode",
    *(
        f"torch._utils:{name}"
        for name in (
            "_rebuild_tensor",
            "_rebuild_tensor_v2",
            "_rebuild_tensor_v3",
            "_rebuild_parameter",
            "_rebuild_parameter_with_state",
            "_rebuild_qtensor",
            "_rebuild_sparse_tensor",
            "_rebuild_nested_tensor",
            "_rebuild_device_tensor_from_numpy",
            "_rebuild_device_tensor_from_cpu_tensor",
            "_rebuild_meta_tensor_no_storage",
            "_rebuild_wrapper_subclass",
        )
    ),
    "torch:*Storage",
    "torch.cuda:*Storage",
    "torch.storage:TypedStorage",
    "torch.storage:UntypedStorage",
    "torch:Size",
    "torch:device",
    "torch:Tensor",
    *(f"torch:{name}" for name in _TORCH_DTYPES.split()),
    *(f"torch:{name}" for name in _TORCH_LAYOUTS_AND_FORMATS.split()),
    "torch._tensor:_rebuild_from_type_v2",
    "torch._tensor:_rebuild_from_type",
    "torch.nn.parameter:Parameter",
    "torch.nn.parameter:Buffer",
    "torch.serialization:_get_layout",
    *(
        f"torch.jit._pickle:{name}"
        for name in (
            "build_intlist",
            "build_tensorlist",
            "build_doublelist",
            "build_boollist",
            "build_tensor_from_id",
            "restore_type_tag",
        )
    ),
    "numpy.core.multiarray:_reconstruct",
    "numpy.core.multiarray:scalar",
    "numpy._core.multiarray:_reconstruct",
    "numpy._core.multiarray:scalar",
    "numpy.core.numeric:_frombuffer",
    "numpy._core.numeric:_frombuffer",
    "numpy:ndarray",
    "numpy:dtype",
    "numpy.dtypes:*DType",
    *(f"numpy:{name}" for name in _NUMPY_SCALAR_TYPES.split()),
    "numpy.random._pickle:__randomstate_ctor",
    "numpy.random._pickle:__bit_generator_ctor",
    "numpy.random._pickle:__generator_ctor",
    "numpy.random:__RandomState_ctor",
    "numpy.ma.core:_mareconstruct",
    "joblib.numpy_pickle:NumpyArrayWrapper",
    "sklearn.externals.joblib.numpy_pickle:NumpyArrayWrapper",
    *(f"datetime:{name}" for name in ("datetime", "date", "time", "timedelta", "timezone")),
    "decimal:Decimal",
    "fractions:Fraction",
    "uuid:UUID",
    "argparse:Namespace",
    "re:_compile",
    "types:SimpleNamespace",
    *(
        f"pathlib:{name}"
        for name in (
            "Path",
            "PosixPath",
            "WindowsPath",
            "PurePath",
            "PurePosixPath",
            "PureWindowsPath",
        )
    ),
)


def _split_rule(rule: str) -> tuple[str, str | None]:
    module, _, pattern = rule.partition(":")
    return module, pattern or None


_UNSAFE_MODULES: Final = tuple(
    (module, reason)
    for module, pattern, reason in ((*_split_rule(rule), reason) for rule, reason in UNSAFE_GLOBALS)
    if pattern is None
)
_UNSAFE_NAMES: Final = tuple(
    (module, pattern, reason)
    for module, pattern, reason in ((*_split_rule(rule), reason) for rule, reason in UNSAFE_GLOBALS)
    if pattern is not None
)
_SAFE_NAMES: Final = tuple(_split_rule(rule) for rule in SAFE_GLOBALS)


def classify_import(module: str, name: str) -> tuple[Severity, str] | None:
    """Classify the callable ``module.name`` a pickle imports.

    Returns None for an allowlisted tensor, array or container rebuilder, ``(HIGH, reason)``
    for a callable that runs code, commands, files or network, and ``(MEDIUM, reason)`` for
    anything else. Python 2 names (``__builtin__``, ``copy_reg``) are also read the way
    Python 3 maps them when it loads an old-protocol pickle.
    """
    verdict = _classify_exact(module, name)
    parts = name.split(".")
    for split in range(1, len(parts)):
        # ``torch.os.system`` or ``posixpath.os.system`` reaches ``os.system`` through a module
        # attribute: a dotted name is also read as the module path it walks.
        reached = _classify_exact(".".join(parts[:split]), ".".join(parts[split:]))
        if reached is not None and reached[0] == Severity.HIGH:
            return reached
    mapped_module, mapped_name = _python3_name(module, name)
    if (mapped_module, mapped_name) == (module, name):
        return verdict
    mapped = _classify_exact(mapped_module, mapped_name)
    if verdict is not None and verdict[0] == Severity.HIGH:
        return verdict
    if mapped is not None and mapped[0] == Severity.HIGH:
        return mapped
    return mapped


def _python3_name(module: str, name: str) -> tuple[str, str]:
    if (module, name) in NAME_MAPPING:
        mapped: tuple[str, str] = NAME_MAPPING[(module, name)]
        return mapped
    return IMPORT_MAPPING.get(module, module), name


def _classify_exact(module: str, name: str) -> tuple[Severity, str] | None:
    parts = name.split(".")
    if any(part.startswith("__") and part.endswith("__") for part in parts[1:]):
        return Severity.HIGH, "reaches through dunder attributes to objects the file does not name"
    for rule_module, pattern, reason in _UNSAFE_NAMES:
        if module == rule_module and (fnmatchcase(name, pattern) or fnmatchcase(parts[0], pattern)):
            return Severity.HIGH, reason
    for rule_module, safe_pattern in _SAFE_NAMES:
        if (
            module == rule_module
            and safe_pattern is not None
            and name.count(".") == safe_pattern.count(".")
            and fnmatchcase(name, safe_pattern)
        ):
            return None
    for rule_module, reason in _UNSAFE_MODULES:
        if module == rule_module or module.startswith(rule_module + "."):
            return Severity.HIGH, reason
    return Severity.MEDIUM, _NOT_ALLOWLISTED


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PickleScan:
    """What walking one pickle's opcodes found."""

    imports: tuple[str, ...]
    """``module.qualname`` of every callable imported, in order of appearance, unique."""
    risks: tuple[LoadRisk, ...]
    protocol: int | None
    """The protocol its ``PROTO`` opcode declares; None for protocols 0 and 1 (no ``PROTO``)."""
    end_offset: int
    """Stream position just past its ``STOP`` opcode, or where the walk stopped."""
    problems: tuple[str, ...]
    complete: bool
    """False when the walk stopped before ``STOP`` (truncated, malformed, a cap reached); the
    risks then include an ``UNREADABLE`` one: what the pickle does on load is unknown."""
    calls: int = 0
    """Calls the pickle makes on load (REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST, BUILD)."""


class _Stop(Exception):
    """Ends a walk: the stream is not, or no longer, a pickle a loader would read."""

    def __init__(self, problem: str, *, cap: bool = False) -> None:
        super().__init__(problem)
        self.problem = problem
        self.cap = cap
        """A limit of this analyser was reached: a loader might read on."""


@dataclass(slots=True)
class _Findings:
    """What a walk saw, merged over the pickles of a file."""

    imports: dict[_Global, None] = field(default_factory=dict)
    hidden_imports: dict[str, int] = field(default_factory=dict)
    """Imports whose callable the file does not name, by how it was hidden."""
    extension_codes: dict[int, None] = field(default_factory=dict)
    rebound_globals: dict[str, None] = field(default_factory=dict)
    """Imported objects whose attributes BUILD overwrites (a later import can be redirected)."""
    dropped_operands: int = 0
    framework_misuse: dict[_Global, None] = field(default_factory=dict)
    """Trainer framework classes used other than by their restore form (see trainer_classes)."""
    problems: list[str] = field(default_factory=list)
    suppressed_problems: int = 0
    calls: int = 0
    failure: _Stop | None = None

    def add_import(self, found: _Global) -> None:
        """Record an import; past ``MAX_IMPORTS`` the findings become incomplete."""
        if found not in self.imports:
            if len(self.imports) >= MAX_IMPORTS:
                self.note_failure(_Stop(f"more than {MAX_IMPORTS} distinct imports", cap=True))
                return
            self.imports[found] = None

    def note_failure(self, stop: _Stop) -> None:
        """Record why the analysis is incomplete (the first reason is the one reported)."""
        if self.failure is None:
            self.failure = stop
            self.add_problem(stop.problem)

    def add_problem(self, problem: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)
        else:
            self.suppressed_problems += 1

    def merge(self, other: _Findings) -> None:
        for found in other.imports:
            self.add_import(found)
        for how, count in other.hidden_imports.items():
            self.hidden_imports[how] = self.hidden_imports.get(how, 0) + count
        self.extension_codes.update(other.extension_codes)
        self.rebound_globals.update(other.rebound_globals)
        self.framework_misuse.update(other.framework_misuse)
        self.dropped_operands += other.dropped_operands
        for problem in other.problems:
            self.add_problem(problem)
        self.suppressed_problems += other.suppressed_problems
        self.calls += other.calls
        if self.failure is None and other.failure is not None:
            self.failure = other.failure  # its problem came with the problems above

    @property
    def names_code(self) -> bool:
        """Whether anything that could reach a callable was seen."""
        return bool(
            self.imports
            or self.hidden_imports
            or self.extension_codes
            or self.rebound_globals
            or self.dropped_operands
        )


# --------------------------------------------------------------------------------------------
# The modelled values of the unpickler's stack and memo
# --------------------------------------------------------------------------------------------


class _Opaque:
    """A value the model does not track (its kind is only for debugging)."""

    __slots__ = ("kind",)

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __repr__(self) -> str:
        return f"<{self.kind}>"


_ANY: Final = _Opaque("object")
_LONG_STR: Final = _Opaque("string not kept")
_MISSING: Final = _Opaque("memo key never set")
_DROPPED: Final = _Opaque("memo value beyond the model limit")


@dataclass(frozen=True, slots=True)
class _Global:
    module: str
    name: str

    @property
    def qualified(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass(slots=True)
class _Instance:
    """The result of calling an imported callable."""

    cls: _Global
    framework: bool = False
    """A Trainer framework class restored without running its code (``trainer_classes``)."""


@dataclass(slots=True)
class _PlainDict:
    """A dict about to become a framework object's state: are all its keys strings?"""

    str_keys: bool = True


@dataclass(slots=True)
class _Dtype:
    """A ``numpy.dtype(descr, …)``, sized once its pickled state is known."""

    descr: str
    state_elsize: int | None = None
    structured: bool = False

    def itemsize(self) -> int | None:
        match = re.fullmatch(r"[<>|=]?([biufcmMOSUVa])(\d{1,6})", self.descr)
        if match is None or self.structured:
            return None
        if self.state_elsize is not None and self.state_elsize > 0:
            return self.state_elsize
        count = int(match.group(2))
        return count * 4 if match.group(1) == "U" else count

    @property
    def has_objects(self) -> bool:
        return self.descr.lstrip("<>|=").startswith("O")


@dataclass(slots=True)
class _StateDict:
    """The state dictionary of a joblib array wrapper (small, string keys)."""

    entries: dict[str, object] = field(default_factory=dict)


_ARRAY_WRAPPERS: Final = frozenset(
    {
        _Global("joblib.numpy_pickle", "NumpyArrayWrapper"),
        _Global("sklearn.externals.joblib.numpy_pickle", "NumpyArrayWrapper"),
    }
)
_NUMPY_DTYPE: Final = frozenset({_Global("numpy", "dtype")})
#: ``copyreg._reconstructor(cls, object, None)`` is ``object.__new__(cls)`` (protocols 0-1).
_RECONSTRUCTORS: Final = frozenset(
    {_Global("copyreg", "_reconstructor"), _Global("copy_reg", "_reconstructor")}
)
_PLAIN_BASES: Final = (
    (_Global("builtins", "object"), None),
    (_Global("__builtin__", "object"), None),
)
_SCALARS = (str, int, bool, type(None), _Global, _Dtype)


def _model_tuple(items: list[object]) -> object:
    """A tuple of scalars is modelled (shapes, dtype arguments); nested tuples are not."""
    if len(items) > MAX_MODELLED_TUPLE:
        return _ANY
    return tuple(item if isinstance(item, _SCALARS) else _ANY for item in items)


_FIXED_MEMO_WEIGHTS: Final[dict[type, int]] = {
    _Opaque: 0,
    type(None): 0,
    bool: 0,
    int: 64,
    _Global: 64,
    _Instance: 64,
    _Dtype: 64,
}


def _memo_weight(value: object) -> int:
    """Approximate bytes a memo entry keeps alive beyond its slot."""
    weight = _FIXED_MEMO_WEIGHTS.get(type(value))
    if weight is not None:
        return weight
    if isinstance(value, str):
        return 56 + len(value)
    if isinstance(value, tuple):
        return 56 + 8 * len(value)
    if isinstance(value, _StateDict):
        return 64 + 100 * len(value.entries)
    return 64


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Budget:
    """Opcodes left for the walks of one file (shared, so nested walks count)."""

    opcodes_left: int = field(default_factory=lambda: MAX_OPCODES)


class _Source(Protocol):
    """What the reader needs of a stream (``seek`` and ``tell`` only when seekable)."""

    def read(self, size: int, /) -> bytes: ...
    def seek(self, offset: int, whence: int = ..., /) -> int: ...
    def tell(self) -> int: ...


class _Reader:
    """Buffered reading of a stream that never goes ``max_bytes`` past where it started."""

    def __init__(self, stream: _Source, *, max_bytes: int, seekable: bool) -> None:
        self._stream = stream
        self._buffer = b""
        self._index = 0
        self._seekable = seekable
        self._base = 0
        """Stream position of the start of ``_buffer``."""
        self.end: int | None = None
        if seekable:
            self._base = stream.tell()
            self.end = stream.seek(0, io.SEEK_END)
            stream.seek(self._base)
        self._limit = self._base + max_bytes

    @property
    def seekable(self) -> bool:
        return self._seekable

    @property
    def position(self) -> int:
        return self._base + self._index

    def _over_limit(self) -> _Stop:
        return _Stop("the byte limit for pickle analysis was reached", cap=True)

    def _fill(self) -> bool:
        """Load the next chunk; False at the end of the stream."""
        self._base += len(self._buffer)
        self._index = 0
        self._buffer = b""
        if self._base >= self._limit:
            raise self._over_limit()
        self._buffer = self._stream.read(min(_CHUNK, self._limit - self._base))
        return bool(self._buffer)

    def byte(self) -> int:
        """The next byte, or -1 at the end of the stream."""
        index = self._index
        if index >= len(self._buffer):
            if not self._fill():
                return -1
            index = 0
        self._index = index + 1
        return self._buffer[index]

    def exact(self, count: int, what: str) -> bytes:
        """Exactly ``count`` bytes (small counts only: callers cap them)."""
        index = self._index
        stop = index + count
        if stop <= len(self._buffer):
            self._index = stop
            return self._buffer[index:stop]
        start = self.position
        parts: list[bytes] = []
        needed = count
        while needed:
            if self._index >= len(self._buffer) and not self._fill():
                raise _Stop(f"{what} at byte {start} runs past the end of the data")
            piece = self._buffer[self._index : self._index + needed]
            self._index += len(piece)
            needed -= len(piece)
            parts.append(piece)
        return b"".join(parts)

    def skip(self, count: int, what: str) -> None:
        """Step over ``count`` bytes without keeping them."""
        start = self.position
        if count > MAX_DECLARED_LENGTH:
            raise _Stop(f"{what} at byte {start} declares {count} bytes, more than any file")
        if self.end is not None and start + count > self.end:
            raise _Stop(
                f"{what} at byte {start} declares {count} bytes but only {self.end - start} remain"
            )
        if start + count > self._limit:
            raise self._over_limit()
        available = len(self._buffer) - self._index
        if count <= available:
            self._index += count
            return
        if self._seekable:
            self.seek(start + count)
            return
        count -= available
        self._index = len(self._buffer)
        while count:
            if not self._fill():
                raise _Stop(f"{what} at byte {start} runs past the end of the data")
            taken = min(count, len(self._buffer))
            self._index = taken
            count -= taken

    def line(self, what: str) -> tuple[bytes, bool]:
        """The next line without its newline: ``(its first bytes, whether that is all)``.

        At most ``MAX_NAME_BYTES`` bytes are kept; a longer line is read through and reported
        incomplete.
        """
        start = self.position
        kept = bytearray()
        while True:
            if self._index >= len(self._buffer) and not self._fill():
                raise _Stop(f"{what} at byte {start} has no end of line")
            newline = self._buffer.find(b"\n", self._index)
            stop = len(self._buffer) if newline < 0 else newline
            room = MAX_NAME_BYTES + 1 - len(kept)
            if room > 0:
                kept += self._buffer[self._index : min(stop, self._index + room)]
            self._index = stop + (newline >= 0)
            if self.position - start > MAX_LINE_BYTES:
                raise _Stop(
                    f"{what} at byte {start} is longer than {MAX_LINE_BYTES} bytes", cap=True
                )
            if newline >= 0:
                return bytes(kept), len(kept) <= MAX_NAME_BYTES

    def seek(self, position: int) -> None:
        """Move to ``position`` (seekable streams only)."""
        if self._base <= position <= self._base + len(self._buffer):
            self._index = position - self._base
            return
        self._stream.seek(position)
        self._base = position
        self._buffer = b""
        self._index = 0

    def at_end(self) -> bool:
        """Whether no byte is left (reads ahead without consuming)."""
        return self._index >= len(self._buffer) and not self._fill()

    def release(self) -> None:
        """Leave a seekable stream positioned where the walk stopped."""
        if self._seekable:
            self._stream.seek(self.position)


# --------------------------------------------------------------------------------------------
# The memo
# --------------------------------------------------------------------------------------------


class _Memo:
    """The unpickler's memo: dense for the keys pickle writers use, sparse for the rest."""

    __slots__ = ("_dense", "_model_bytes", "_sparse", "dropped_any")

    def __init__(self) -> None:
        self._dense: list[object] = []
        self._sparse: dict[int, object] = {}
        self._model_bytes = 0
        self.dropped_any = False

    @property
    def size(self) -> int:
        """Entries held: the key MEMOIZE uses next."""
        return len(self._dense) + len(self._sparse)

    def put(self, key: int, value: object) -> None:
        dense = self._dense
        weight = _memo_weight(value)
        if not weight and key == len(dense) and key < MAX_MEMO_ENTRIES and not self._sparse:
            dense.append(value)  # the common case: the next key, an untracked value
            return
        if weight:
            if self._model_bytes + weight > MAX_MEMO_MODEL_BYTES:
                value = _DROPPED
                self.dropped_any = True
            else:
                self._model_bytes += weight
        if key < 0:
            return  # no loader accepts it; a later GET finds nothing
        if key < len(dense):
            dense[key] = value
        elif key == len(dense):
            if key >= MAX_MEMO_ENTRIES:
                raise _Stop(f"more than {MAX_MEMO_ENTRIES} memo entries", cap=True)
            self._sparse.pop(key, None)
            dense.append(value)
            while self._sparse and len(dense) in self._sparse:
                dense.append(self._sparse.pop(len(dense)))
        else:
            if key not in self._sparse and len(self._sparse) >= MAX_SPARSE_MEMO_ENTRIES:
                raise _Stop(
                    f"more than {MAX_SPARSE_MEMO_ENTRIES} out-of-sequence memo keys", cap=True
                )
            self._sparse[key] = value

    def get(self, key: int) -> object:
        if 0 <= key < len(self._dense):
            return self._dense[key]
        return self._sparse.get(key, _MISSING)


# --------------------------------------------------------------------------------------------
# The walker
# --------------------------------------------------------------------------------------------


class _Mode(StrEnum):
    """How a walk treats what it reads."""

    MAIN = "main"
    """A pickle a loader reads: joblib arrays are stepped over, nested pickles walked."""
    NESTED = "nested"
    """A pickle ``pickle.load`` reads inside another (a joblib object array)."""
    FRAGMENT = "fragment"
    """Bytes another loader would read as opcodes: lenient, only named imports count."""


class _Walker:
    """Walks one pickle's opcodes over a model of the unpickler's stack and memo."""

    def __init__(self, reader: _Reader, budget: _Budget, mode: _Mode) -> None:
        self.reader = reader
        self.budget = budget
        self.mode = mode
        self.findings = _Findings()
        self.stack: list[object] = []
        self.marks: list[int] = []
        self.fence = 0
        """Stack items below the innermost mark are out of reach (as in CPython)."""
        self.memo = _Memo()
        self.protocol: int | None = None
        self.result: object = _ANY
        self.complete = False
        self.underflowed = False

    # -- driving ------------------------------------------------------------------------------

    def run(self) -> None:
        """Walk to STOP; on failure record it in ``findings.failure``."""
        try:
            self._loop()
        except _Stop as stop:
            self.findings.note_failure(stop)
        else:
            self.complete = self.findings.failure is None

    def _loop(self) -> None:
        reader = self.reader
        budget = self.budget
        handlers = _HANDLERS
        while True:
            budget.opcodes_left -= 1
            if budget.opcodes_left < 0:
                raise _Stop(f"more than {MAX_OPCODES} opcodes", cap=True)
            code = reader.byte()
            if code < 0:
                raise _Stop(f"the pickle ends at byte {reader.position} before its STOP opcode")
            handler = handlers[code]
            if handler is None:
                raise _Stop(f"invalid opcode 0x{code:02x} at byte {reader.position - 1}")
            if handler(self):
                return

    # -- stack --------------------------------------------------------------------------------

    def push(self, value: object) -> None:
        if len(self.stack) >= MAX_STACK_ITEMS:
            raise _Stop(f"more than {MAX_STACK_ITEMS} items on the pickle stack", cap=True)
        self.stack.append(value)

    def push_mark(self) -> None:
        if len(self.marks) >= MAX_MARK_DEPTH:
            raise _Stop(f"more than {MAX_MARK_DEPTH} nested MARKs", cap=True)
        self.fence = len(self.stack)
        self.marks.append(self.fence)

    def drop_mark(self) -> int:
        """Remove the innermost mark (there must be one) and return its stack position."""
        start = self.marks.pop()
        self.fence = self.marks[-1] if self.marks else 0
        return start

    def note_underflow(self) -> None:
        if self.mode == _Mode.FRAGMENT:
            return
        if not self.underflowed:
            self.underflowed = True
            self.findings.add_problem(
                f"stack underflow at byte {self.reader.position - 1} (a loader fails there)"
            )

    def pop(self) -> object:
        stack = self.stack
        if len(stack) <= self.fence:
            self.note_underflow()
            return _ANY
        return stack.pop()

    def top(self) -> object:
        stack = self.stack
        if len(stack) <= self.fence:
            self.note_underflow()
            return _ANY
        return stack[-1]

    def replace_top(self, value: object) -> None:
        if len(self.stack) > self.fence:
            self.stack[-1] = value

    def pop_mark(self) -> list[object]:
        if not self.marks:
            self.note_underflow()
            return []
        start = self.drop_mark()
        items = self.stack[start:]
        del self.stack[start:]
        return items

    # -- imports and calls --------------------------------------------------------------------

    def import_global(self, module: str, name: str) -> _Global:
        found = _Global(module, name)
        self.findings.add_import(found)
        return found

    def hidden_import(self, how: str) -> None:
        hidden = self.findings.hidden_imports
        hidden[how] = hidden.get(how, 0) + 1

    def call(self, callee: object, args: object, how: str) -> object:
        """The modelled result of calling ``callee`` with ``args`` by opcode ``how``."""
        self.findings.calls += 1
        if not isinstance(callee, _Global):
            return _ANY
        framework = self._framework_call(callee, args, how)
        if framework is not None:
            return framework
        if callee in _NUMPY_DTYPE and isinstance(args, tuple) and args:
            descr = args[0]
            if isinstance(descr, str):
                return _Dtype(descr)
        return _Instance(callee)

    def _framework_call(self, callee: _Global, args: object, how: str) -> _Instance | None:
        """A Trainer class restored by its form is data; any other use of one is a misuse."""
        cls = callee
        if callee in _RECONSTRUCTORS and isinstance(args, tuple) and args:
            # copyreg._reconstructor(cls, object, None): cls.__new__(cls), as NEWOBJ does.
            first = args[0]
            if isinstance(first, _Global) and (first.module, first.name) in RESTORE_FORMS:
                cls, args, how = first, () if args[1:] in _PLAIN_BASES else args, "newobj"
        passed = args if isinstance(args, tuple) else ()
        for item in passed:
            if isinstance(item, _Global) and (item.module, item.name) in RESTORE_FORMS:
                self.findings.framework_misuse[item] = None
        form = RESTORE_FORMS.get((cls.module, cls.name))
        if form is None:
            return None if cls is callee else _Instance(callee)
        if form is RestoreForm.STATE and how == "newobj" and args == ():
            return _Instance(cls, framework=True)
        one_string = isinstance(args, tuple) and len(args) == 1 and isinstance(args[0], str)
        if not (form is RestoreForm.ENUM and how == "reduce" and one_string):
            self.findings.framework_misuse[cls] = None
        return _Instance(cls)

    def build(self) -> None:
        state = self.pop()
        target = self.top()
        self.findings.calls += 1
        if isinstance(target, _Instance) and target.framework:
            # Every BUILD on it must be a plain dict update (a 2-tuple's slots use setattr).
            if not (isinstance(state, _PlainDict) and state.str_keys):
                self.findings.framework_misuse[target.cls] = None
            return
        if isinstance(target, _Global):
            self.findings.rebound_globals[target.qualified] = None
        elif isinstance(target, _Dtype):
            _apply_dtype_state(target, state)
        elif (
            isinstance(target, _Instance)
            and target.cls in _ARRAY_WRAPPERS
            and self.mode == _Mode.MAIN
        ):
            self._step_over_joblib_array(state)
            self.replace_top(_ANY)

    # -- joblib arrays written inside the pickle stream ---------------------------------------

    def _step_over_joblib_array(self, state: object) -> None:
        """Step over the array joblib wrote right after this BUILD (joblib.load reads it)."""
        start = self.reader.position
        if not isinstance(state, _StateDict):
            raise _Stop(
                f"a joblib array at byte {start} has a state this analyser cannot read", cap=True
            )
        dtype = state.entries.get("dtype")
        shape = state.entries.get("shape")
        if not isinstance(dtype, _Dtype) or not isinstance(shape, tuple):
            raise _Stop(f"a joblib array at byte {start} has no readable dtype and shape", cap=True)
        if dtype.has_objects:
            # joblib.load unpickles object arrays with pickle.load: a whole nested pickle.
            nested = _Walker(self.reader, self.budget, _Mode.NESTED)
            nested.run()
            failure = nested.findings.failure
            nested.findings.failure = None
            self.findings.merge(nested.findings)
            if failure is not None:
                raise failure
            return
        itemsize = dtype.itemsize()
        dims = [size for size in shape if type(size) is int and size >= 0]
        if itemsize is None or len(dims) != len(shape):
            raise _Stop(
                f"a joblib array at byte {start} has a dtype or shape this analyser cannot size",
                cap=True,  # a limit of this analyser, not of joblib
            )
        self._walk_fragment(start)
        if state.entries.get("numpy_array_alignment_bytes") is not None:
            padding = self.reader.byte()
            if padding < 0:
                raise _Stop(f"a joblib array at byte {start} runs past the end of the data")
            self.reader.skip(padding, "joblib array padding")
        count = 1
        for size in dims:
            count *= size
            if count * itemsize > MAX_DECLARED_LENGTH:
                break  # skip() reports it; the product must not grow without bound
        self.reader.skip(count * itemsize, "a joblib array")

    def _walk_fragment(self, start: int) -> None:
        """Read the array bytes as opcodes too: plain ``pickle.load`` would do exactly that."""
        if not self.reader.seekable:
            return
        fragment = _Walker(self.reader, self.budget, _Mode.FRAGMENT)
        fragment.run()
        _keep_named_unsafe_imports(self.findings, fragment.findings)
        if fragment.findings.failure is not None and fragment.findings.failure.cap:
            raise fragment.findings.failure
        self.reader.seek(start)


def _apply_dtype_state(dtype: _Dtype, state: object) -> None:
    # numpy's dtype state: (version, byte order, subarray, names, fields, elsize, alignment,
    # flags[, metadata]); only plain (unstructured) dtypes are sized.
    if not isinstance(state, tuple) or len(state) < 8:
        dtype.structured = True
        return
    subarray, names, fields, elsize = state[2], state[3], state[4], state[5]
    if subarray is not None or names is not None or fields is not None:
        dtype.structured = True
    if isinstance(elsize, int) and not isinstance(elsize, bool):
        dtype.state_elsize = elsize


def _keep_named_unsafe_imports(into: _Findings, fragment: _Findings) -> None:
    """Keep only the unsafe imports a fragment names: random bytes name nothing importable."""
    for found in fragment.imports:
        verdict = classify_import(found.module, found.name)
        if verdict is not None and verdict[0] == Severity.HIGH:
            into.add_import(found)


# --------------------------------------------------------------------------------------------
# Opcode handlers (each returns True at STOP). They mirror CPython's C unpickler: a stream is
# given up only where every loader fails too (unknown opcode, end of data, undecodable names).
# --------------------------------------------------------------------------------------------


def _read_int_line(walker: _Walker, what: str) -> int | None:
    text, complete = walker.reader.line(what)
    if not complete:
        return None
    try:
        return int(text.rstrip(b"L").decode("ascii"), 0)
    except ValueError:
        try:
            return int(text.rstrip(b"L").decode("ascii"))
        except ValueError:
            return None


def _le(data: bytes, *, signed: bool = False) -> int:
    return int.from_bytes(data, "little", signed=signed)


def _decode_name(data: bytes, what: str, position: int) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise _Stop(f"{what} at byte {position} is not valid UTF-8") from None


def _op_global(walker: _Walker, what: str) -> _Global | None:
    position = walker.reader.position - 1
    module_bytes, module_complete = walker.reader.line(what)
    name_bytes, name_complete = walker.reader.line(what)
    if not (module_complete and name_complete):
        # Only the start was kept (it may end inside a character): the callable stays unknown.
        walker.hidden_import(f"{what} with a name longer than {MAX_NAME_BYTES} bytes")
        return None
    module = _decode_name(module_bytes, what, position)
    name = _decode_name(name_bytes, what, position)
    return walker.import_global(module, name)


def _h_global(walker: _Walker) -> bool:
    found = _op_global(walker, "GLOBAL")
    walker.push(found if found is not None else _ANY)
    return False


def _h_inst(walker: _Walker) -> bool:
    found = _op_global(walker, "INST")
    walker.pop_mark()
    walker.findings.calls += 1
    if found is not None and (found.module, found.name) in RESTORE_FORMS:
        walker.findings.framework_misuse[found] = None  # INST calls the class with arguments
    walker.push(_Instance(found) if found is not None else _ANY)
    return False


def _h_stack_global(walker: _Walker) -> bool:
    name = walker.pop()
    module = walker.pop()
    if isinstance(module, str) and isinstance(name, str):
        walker.push(walker.import_global(module, name))
        return False
    if module is _DROPPED or name is _DROPPED:
        walker.findings.dropped_operands += 1
    else:
        walker.hidden_import("STACK_GLOBAL with operands that are not known strings")
    walker.push(_ANY)
    return False


def _ext(size: int) -> Callable[[_Walker], bool]:
    def handler(walker: _Walker) -> bool:
        position = walker.reader.position - 1
        code = _le(walker.reader.exact(size, "EXT"))
        if code <= 0:
            raise _Stop(f"EXT at byte {position} names extension code {code}")
        walker.findings.extension_codes[code] = None
        walker.push(_ANY)
        return False

    return handler


def _h_reduce(walker: _Walker) -> bool:
    args = walker.pop()
    callee = walker.pop()
    walker.push(walker.call(callee, args, "reduce"))
    return False


def _h_newobj(walker: _Walker) -> bool:
    args = walker.pop()
    cls = walker.pop()
    walker.push(walker.call(cls, args, "newobj"))
    return False


def _h_newobj_ex(walker: _Walker) -> bool:
    walker.pop()  # kwargs
    args = walker.pop()
    cls = walker.pop()
    walker.push(walker.call(cls, args, "newobj_ex"))
    return False


def _h_obj(walker: _Walker) -> bool:
    items = walker.pop_mark()
    if not items:
        walker.note_underflow()
        walker.push(_ANY)
        return False
    walker.push(walker.call(items[0], tuple(items[1:]), "obj"))
    return False


def _h_build(walker: _Walker) -> bool:
    walker.build()
    return False


def _h_stop(walker: _Walker) -> bool:
    walker.result = walker.pop()
    return True


def _h_mark(walker: _Walker) -> bool:
    walker.push_mark()
    return False


def _h_pop(walker: _Walker) -> bool:
    # As CPython: POP right after MARK discards the mark.
    if walker.marks and walker.marks[-1] == len(walker.stack):
        walker.drop_mark()
    else:
        walker.pop()
    return False


def _h_pop_mark(walker: _Walker) -> bool:
    walker.pop_mark()
    return False


def _h_dup(walker: _Walker) -> bool:
    walker.push(walker.top())
    return False


def _push_constant(value: object) -> Callable[[_Walker], bool]:
    def handler(walker: _Walker) -> bool:
        walker.push(value)
        return False

    return handler


def _skip_line_push_any(what: str) -> Callable[[_Walker], bool]:
    def handler(walker: _Walker) -> bool:
        walker.reader.line(what)
        walker.push(_ANY)
        return False

    return handler


def _h_int(walker: _Walker) -> bool:
    text, complete = walker.reader.line("INT")
    if complete and text in (b"00", b"01"):
        walker.push(text == b"01")
        return False
    value: object = _ANY
    if complete:
        try:
            value = int(text.decode("ascii"), 0)
        except ValueError:
            value = _ANY  # lenient: CPython's parser differs in corner cases; keep walking
    walker.push(value)
    return False


def _fixed_int(size: int, *, signed: bool) -> Callable[[_Walker], bool]:
    def handler(walker: _Walker) -> bool:
        walker.push(_le(walker.reader.exact(size, "integer"), signed=signed))
        return False

    return handler


def _h_long1(walker: _Walker) -> bool:
    size = walker.reader.byte()
    if size < 0:
        raise _Stop("LONG1 runs past the end of the data")
    walker.push(_le(walker.reader.exact(size, "LONG1"), signed=True))
    return False


def _h_long4(walker: _Walker) -> bool:
    position = walker.reader.position - 1
    size = _le(walker.reader.exact(4, "LONG4"), signed=True)
    if size < 0:
        raise _Stop(f"LONG4 at byte {position} has a negative length")
    if size <= 16:
        walker.push(_le(walker.reader.exact(size, "LONG4"), signed=True))
    else:
        walker.reader.skip(size, "LONG4")
        walker.push(_ANY)
    return False


def _sized_string(
    length_size: int, *, signed: bool = False, kind: str
) -> Callable[[_Walker], bool]:
    """BINUNICODE and friends (``kind`` "utf-8"), BINSTRING and friends ("ascii"), bytes ("")."""

    def handler(walker: _Walker) -> bool:
        position = walker.reader.position - 1
        size = _le(walker.reader.exact(length_size, "length"), signed=signed)
        if size < 0:
            raise _Stop(f"a string at byte {position} has a negative length")
        if not kind or size > MAX_NAME_BYTES:
            walker.reader.skip(size, "a string" if kind else "a bytes value")
            walker.push(_LONG_STR if kind else _ANY)
            return False
        data = walker.reader.exact(size, "a string")
        if kind == "ascii":
            # Python 2 strings load as str through the default ASCII encoding.
            walker.push(data.decode("ascii") if data.isascii() else _LONG_STR)
            return False
        try:
            walker.push(data.decode("utf-8", "surrogatepass"))
        except UnicodeDecodeError:
            raise _Stop(f"a string at byte {position} is not valid UTF-8") from None
        return False

    return handler


def _h_string(walker: _Walker) -> bool:
    position = walker.reader.position - 1
    text, complete = walker.reader.line("STRING")
    if not complete:
        walker.push(_LONG_STR)
        return False
    if len(text) < 2 or text[0] != text[-1] or text[:1] not in (b"'", b'"'):
        raise _Stop(f"STRING at byte {position} is not quoted")
    try:
        with warnings.catch_warnings():
            # "invalid escape sequence" warnings: the loader accepts those escapes.
            warnings.simplefilter("ignore")
            data = codecs.escape_decode(text[1:-1])[0]
    except ValueError:
        raise _Stop(f"STRING at byte {position} has an invalid escape") from None
    walker.push(data.decode("ascii") if data.isascii() else _LONG_STR)
    return False


def _h_unicode(walker: _Walker) -> bool:
    position = walker.reader.position - 1
    text, complete = walker.reader.line("UNICODE")
    if not complete:
        walker.push(_LONG_STR)
        return False
    try:
        walker.push(text.decode("raw-unicode-escape"))
    except UnicodeDecodeError:
        raise _Stop(f"UNICODE at byte {position} cannot be decoded") from None
    return False


def _h_binfloat(walker: _Walker) -> bool:
    walker.reader.exact(8, "BINFLOAT")
    walker.push(_ANY)
    return False


def _h_persid(walker: _Walker) -> bool:
    walker.reader.line("PERSID")
    walker.push(_ANY)
    return False


def _h_binpersid(walker: _Walker) -> bool:
    walker.pop()
    walker.push(_ANY)
    return False


def _h_append(walker: _Walker) -> bool:
    walker.pop()
    walker.top()
    return False


def _h_appends(walker: _Walker) -> bool:
    walker.pop_mark()
    walker.top()
    return False


def _wrapper_below(walker: _Walker, depth: int) -> bool:
    """Whether the object a BUILD would target is a joblib array wrapper."""
    if len(walker.stack) < depth:
        return False
    below = walker.stack[-depth]
    return isinstance(below, _Instance) and below.cls in _ARRAY_WRAPPERS


def _framework_below(walker: _Walker) -> bool:
    """Whether the object a BUILD would target is a Trainer class restored by its form."""
    below = walker.stack[-1] if walker.stack else None
    return isinstance(below, _Instance) and below.framework


def _h_empty_dict(walker: _Walker) -> bool:
    if _framework_below(walker):
        walker.push(_PlainDict())
        return False
    walker.push(_StateDict() if _wrapper_below(walker, 1) else _ANY)
    return False


def _h_dict(walker: _Walker) -> bool:
    items = walker.pop_mark()
    if _framework_below(walker):
        state: object = _PlainDict()
        _set_items(state, items)
        walker.push(state)
    elif _wrapper_below(walker, 1) and len(items) <= 2 * MAX_MODELLED_DICT:
        state = _StateDict()
        _set_items(state, items)
        walker.push(state)
    else:
        walker.push(_ANY)
    return False


def _set_items(target: object, items: list[object]) -> None:
    if isinstance(target, _PlainDict):
        target.str_keys = target.str_keys and all(isinstance(key, str) for key in items[::2])
        return
    if not isinstance(target, _StateDict):
        return
    for key, value in zip(items[::2], items[1::2], strict=False):
        if isinstance(key, str) and (
            key in target.entries or len(target.entries) < MAX_MODELLED_DICT
        ):
            target.entries[key] = value


def _h_setitem(walker: _Walker) -> bool:
    value = walker.pop()
    key = walker.pop()
    _set_items(walker.top(), [key, value])
    return False


def _h_setitems(walker: _Walker) -> bool:
    items = walker.pop_mark()
    _set_items(walker.top(), items)
    return False


def _h_list(walker: _Walker) -> bool:
    walker.pop_mark()
    walker.push(_ANY)
    return False


def _h_tuple(walker: _Walker) -> bool:
    walker.push(_model_tuple(walker.pop_mark()))
    return False


def _tuple_n(size: int) -> Callable[[_Walker], bool]:
    def handler(walker: _Walker) -> bool:
        items = [walker.pop() for _ in range(size)]
        items.reverse()
        walker.push(_model_tuple(items))
        return False

    return handler


def _h_additems(walker: _Walker) -> bool:
    walker.pop_mark()
    walker.top()
    return False


def _h_frozenset(walker: _Walker) -> bool:
    walker.pop_mark()
    walker.push(_ANY)
    return False


def _get(size: int) -> Callable[[_Walker], bool]:
    def handler(walker: _Walker) -> bool:
        if size == 1:
            key: int | None = walker.reader.byte()
            if key == -1:
                raise _Stop("BINGET runs past the end of the data")
        elif size:
            key = _le(walker.reader.exact(size, "memo key"))
        else:
            key = _read_int_line(walker, "GET")
        walker.push(walker.memo.get(key) if key is not None else _MISSING)
        return False

    return handler


def _put(size: int) -> Callable[[_Walker], bool]:
    def handler(walker: _Walker) -> bool:
        if size:
            key: int | None = _le(walker.reader.exact(size, "memo key"))
        else:
            key = _read_int_line(walker, "PUT")
        value = walker.top()
        if key is not None:
            walker.memo.put(key, value)
        return False

    return handler


def _h_memoize(walker: _Walker) -> bool:
    memo = walker.memo
    stack = walker.stack
    memo.put(memo.size, stack[-1] if len(stack) > walker.fence else walker.top())
    return False


def _h_proto(walker: _Walker) -> bool:
    position = walker.reader.position - 1
    version = walker.reader.byte()
    if version < 0:
        raise _Stop("PROTO runs past the end of the data")
    if version > HIGHEST_PROTOCOL:
        walker.findings.add_problem(
            f"PROTO at byte {position} declares protocol {version} (CPython reads up to "
            f"{HIGHEST_PROTOCOL})"
        )
    if walker.protocol is None:
        walker.protocol = version
    return False


def _h_frame(walker: _Walker) -> bool:
    # Frames only group opcodes; the walk reads through them. A frame longer than the data
    # makes every loader fail.
    reader = walker.reader
    position = reader.position - 1
    size = _le(reader.exact(8, "FRAME"))
    if size > MAX_DECLARED_LENGTH or (reader.end is not None and position + 9 + size > reader.end):
        raise _Stop(f"FRAME at byte {position} declares {size} bytes, more than the data holds")
    return False


def _h_readonly_buffer(walker: _Walker) -> bool:
    walker.top()
    return False


_HANDLERS: list[Callable[[_Walker], bool] | None] = [None] * 256
for _code, _handler in {
    b"(": _h_mark,
    b".": _h_stop,
    b"0": _h_pop,
    b"1": _h_pop_mark,
    b"2": _h_dup,
    b"F": _skip_line_push_any("FLOAT"),
    b"I": _h_int,
    b"J": _fixed_int(4, signed=True),
    b"K": _fixed_int(1, signed=False),
    b"L": _skip_line_push_any("LONG"),
    b"M": _fixed_int(2, signed=False),
    b"N": _push_constant(None),
    b"P": _h_persid,
    b"Q": _h_binpersid,
    b"R": _h_reduce,
    b"S": _h_string,
    b"T": _sized_string(4, signed=True, kind="ascii"),
    b"U": _sized_string(1, kind="ascii"),
    b"V": _h_unicode,
    b"X": _sized_string(4, kind="utf-8"),
    b"a": _h_append,
    b"b": _h_build,
    b"c": _h_global,
    b"d": _h_dict,
    b"}": _h_empty_dict,
    b"e": _h_appends,
    b"g": _get(0),
    b"h": _get(1),
    b"i": _h_inst,
    b"j": _get(4),
    b"l": _h_list,
    b"]": _push_constant(_ANY),
    b"o": _h_obj,
    b"p": _put(0),
    b"q": _put(1),
    b"r": _put(4),
    b"s": _h_setitem,
    b"t": _h_tuple,
    b")": _push_constant(()),
    b"u": _h_setitems,
    b"G": _h_binfloat,
    b"\x80": _h_proto,
    b"\x81": _h_newobj,
    b"\x82": _ext(1),
    b"\x83": _ext(2),
    b"\x84": _ext(4),
    b"\x85": _tuple_n(1),
    b"\x86": _tuple_n(2),
    b"\x87": _tuple_n(3),
    b"\x88": _push_constant(True),
    b"\x89": _push_constant(False),
    b"\x8a": _h_long1,
    b"\x8b": _h_long4,
    b"B": _sized_string(4, kind=""),
    b"C": _sized_string(1, kind=""),
    b"\x8c": _sized_string(1, kind="utf-8"),
    b"\x8d": _sized_string(8, kind="utf-8"),
    b"\x8e": _sized_string(8, kind=""),
    b"\x8f": _push_constant(_ANY),
    b"\x90": _h_additems,
    b"\x91": _h_frozenset,
    b"\x92": _h_newobj_ex,
    b"\x93": _h_stack_global,
    b"\x94": _h_memoize,
    b"\x95": _h_frame,
    b"\x96": _sized_string(8, kind=""),
    b"\x97": _push_constant(_ANY),
    b"\x98": _h_readonly_buffer,
}.items():
    _HANDLERS[_code[0]] = _handler


# --------------------------------------------------------------------------------------------
# Risks
# --------------------------------------------------------------------------------------------


def _listing(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} and {len(names) - limit} more"


def _times(count: int) -> str:
    return "" if count == 1 else f" ({count} times)"


def _risks(findings: _Findings, *, complete: bool, member: str | None) -> tuple[LoadRisk, ...]:
    """One risk per unsafe import, one for the imports outside the allowlist, one per hiding."""
    risks: list[LoadRisk] = []
    outside_allowlist: list[str] = []
    framework: list[str] = []
    for found in findings.imports:
        if (found.module, found.name) in RESTORE_FORMS and found not in findings.framework_misuse:
            framework.append(found.qualified)
            continue
        verdict = classify_import(found.module, found.name)
        if verdict is None:
            continue
        severity, reason = verdict
        if severity != Severity.HIGH:
            if found.qualified not in outside_allowlist:
                outside_allowlist.append(found.qualified)
            continue
        risks.append(
            LoadRisk(
                kind=RiskKind.UNSAFE_IMPORT,
                severity=Severity.HIGH,
                message=f"imports {found.qualified} ({reason})",
                member=member,
                callables=(found.qualified,),
            )
        )
    if framework:
        risks.append(
            LoadRisk(
                kind=RiskKind.FRAMEWORK_STATE,
                severity=Severity.INFO,
                message=f"restores {_listing(framework)} as data (Trainer training state, "
                "restored without running the classes' own code)",
                member=member,
                callables=tuple(framework),
            )
        )
    if outside_allowlist:
        risks.append(
            LoadRisk(
                kind=RiskKind.UNKNOWN_IMPORT,
                severity=Severity.MEDIUM,
                message=f"imports {_listing(outside_allowlist)} ({_NOT_ALLOWLISTED})",
                member=member,
                callables=tuple(outside_allowlist),
            )
        )
    for how, count in findings.hidden_imports.items():
        risks.append(
            LoadRisk(
                kind=RiskKind.UNKNOWN_IMPORT,
                severity=Severity.HIGH,
                message=f"{how}{_times(count)}: the imported callable is hidden",
                member=member,
            )
        )
    if findings.rebound_globals:
        rebound = list(findings.rebound_globals)
        risks.append(
            LoadRisk(
                kind=RiskKind.UNSAFE_IMPORT,
                severity=Severity.HIGH,
                message=(
                    f"overwrites attributes of the imported {_listing(rebound)} with BUILD "
                    "(later imports can be redirected)"
                ),
                member=member,
                callables=tuple(rebound),
            )
        )
    if findings.extension_codes:
        codes = [str(code) for code in findings.extension_codes]
        risks.append(
            LoadRisk(
                kind=RiskKind.UNKNOWN_IMPORT,
                severity=Severity.MEDIUM,
                message=(
                    f"imports through copyreg extension code {_listing(codes)} (a callable the "
                    "loading program registers; the file does not name it)"
                ),
                member=member,
            )
        )
    if findings.dropped_operands:
        risks.append(
            LoadRisk(
                kind=RiskKind.UNREADABLE,
                severity=Severity.MEDIUM,
                message=(
                    f"STACK_GLOBAL{_times(findings.dropped_operands)} resolves names beyond the "
                    "analyser's memo limit: the imported callable is unknown"
                ),
                member=member,
            )
        )
    if not complete:
        failure = findings.failure.problem if findings.failure else "the walk stopped early"
        risks.append(
            LoadRisk(
                kind=RiskKind.UNREADABLE,
                severity=Severity.MEDIUM,
                message=(
                    f"the pickle could not be analysed to its end ({failure}): what it does on "
                    "load is unknown"
                ),
                member=member,
            )
        )
    return tuple(risks)


_EXECUTABLE_KINDS = frozenset(
    {RiskKind.UNSAFE_IMPORT, RiskKind.UNKNOWN_IMPORT, RiskKind.EMBEDDED_CODE, RiskKind.UNREADABLE}
)


def _problems(findings: _Findings, member: str | None) -> tuple[str, ...]:
    problems = list(findings.problems)
    if findings.suppressed_problems:
        problems.append(f"… and {findings.suppressed_problems} more problems")
    if member is not None:
        problems = [f"{member}: {problem}" for problem in problems]
    return tuple(problems)


def _unique_names(findings: _Findings) -> tuple[str, ...]:
    return tuple(dict.fromkeys(found.qualified for found in findings.imports))


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------


def _is_seekable(stream: BinaryIO) -> bool:
    try:
        if not stream.seekable():
            return False
        stream.tell()
    except (OSError, ValueError):
        return False
    return True


def scan_pickle_stream(
    stream: BinaryIO, *, max_bytes: int = MAX_PICKLE_BYTES, member: str | None = None
) -> PickleScan:
    """Walk one pickle, up to its STOP opcode, from the stream's current position.

    Nothing is unpickled. A seekable stream is left just past the STOP opcode (or where the
    walk stopped); an unseekable one is read ahead. ``member`` names the archive member the
    stream comes from, in risks and problems. Malformed or hostile data never raises: the scan
    comes back incomplete, with an ``UNREADABLE`` risk and the problem.
    """
    reader = _Reader(stream, max_bytes=max_bytes, seekable=_is_seekable(stream))
    walker = _Walker(reader, _Budget(), _Mode.MAIN)
    walker.run()
    reader.release()
    return PickleScan(
        imports=_unique_names(walker.findings),
        risks=_risks(walker.findings, complete=walker.complete, member=member),
        protocol=walker.protocol,
        end_offset=reader.position,
        problems=_problems(walker.findings, member),
        complete=walker.complete,
        calls=walker.findings.calls,
    )


def scan_pickle_file(path: Path) -> FileAnalysis:
    """Analyse a file made of one or more pickles without unpickling it.

    Concatenated pickles are walked until the first thing that is not a pickle (the raw
    storages of the legacy PyTorch format, trailing bytes). joblib's in-stream NumPy arrays are
    stepped over, and its compressed dumps (zlib, gzip, bz2, xz, lzma) decompressed on the fly.
    A file that does not start like a pickle (a PNG, text, a zip archive) gets a "not a pickle"
    problem and no risk: no loader would run anything from it.

    Raises:
        MalformedFileError: the path is not a regular file.
        OSError: the file cannot be opened or read.
    """
    declared = "joblib" if path.suffix.lower() == ".joblib" else "pickle"
    with open_regular_file(path) as raw:
        head = raw.read(_PROBE_BYTES)
        raw.seek(0)
        if head.startswith(_ZIP_MAGICS):
            return FileAnalysis(
                format=declared,
                problems=("not a pickle (a zip archive: read it as a PyTorch or NumPy archive)",),
            )
        compression = _compression_of(head)
        if compression in _UNSUPPORTED_COMPRESSIONS:
            return _unreadable(declared, f"compressed with {compression}, which is not analysed")
        if compression is None:
            reader = _Reader(raw, max_bytes=MAX_PICKLE_BYTES, seekable=True)
            return _scan_pickles(reader, declared)
        # Read directly (no BufferedReader): the bytes decoded before a corrupt block are kept.
        inflated = _Decompressing(raw, compression)
        reader = _Reader(inflated, max_bytes=MAX_DECOMPRESSED_BYTES, seekable=False)
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


def _scan_pickles(reader: _Reader, declared: str) -> FileAnalysis:
    budget = _Budget()
    try:
        empty = reader.at_end()
    except _Stop as stop:  # compressed data that decodes to nothing: no loader gets further
        return FileAnalysis(format=declared, problems=(f"not a pickle ({stop.problem})",))
    if empty:
        return FileAnalysis(format=declared, problems=("not a pickle (the file is empty)",))
    first = _Walker(reader, budget, _Mode.MAIN)
    first.run()
    failure = first.findings.failure
    if failure is not None and not failure.cap and not first.findings.names_code:
        # Nothing before the failure can reach a callable: every loader stops there, harmlessly.
        return FileAnalysis(format=declared, problems=(f"not a pickle ({failure.problem})",))
    result = first.result
    legacy = type(result) is int and result == LEGACY_TORCH_MAGIC
    findings = first.findings
    _walk_following_pickles(reader, budget, findings)
    risks = _risks(findings, complete=findings.failure is None, member=None)
    return FileAnalysis(
        format="pytorch-legacy" if legacy else declared,
        imports=tuple(sorted(set(_unique_names(findings)))),
        risks=risks,
        executable_on_load=any(risk.kind in _EXECUTABLE_KINDS for risk in risks),
        problems=_problems(findings, None),
    )


def _walk_following_pickles(reader: _Reader, budget: _Budget, findings: _Findings) -> None:
    """Walk the pickles after a complete first one, up to the first thing that is not one."""
    walked = 1
    while findings.failure is None:
        try:
            if reader.at_end():
                return
        except _Stop as stop:
            findings.note_failure(stop)
            return
        if walked >= MAX_PICKLES_PER_FILE:
            findings.note_failure(
                _Stop(f"more than {MAX_PICKLES_PER_FILE} pickles in one file", cap=True)
            )
            return
        walker = _Walker(reader, budget, _Mode.MAIN)
        walker.run()
        walked += 1
        failure = walker.findings.failure
        if (walker.complete and not walker.underflowed) or (failure is not None and failure.cap):
            findings.merge(walker.findings)
            continue
        # Raw data after the pickles (legacy PyTorch storages, trailing bytes): only an unsafe
        # import it spells out by name is kept.
        _keep_named_unsafe_imports(findings, walker.findings)
        return


# --------------------------------------------------------------------------------------------
# Compressed joblib dumps
# --------------------------------------------------------------------------------------------

_PROBE_BYTES = 4096
_UNSUPPORTED_COMPRESSIONS = frozenset({"lz4", "joblib's pre-0.10 zlib format"})


def _compression_of(head: bytes) -> str | None:
    """The compression joblib used for a file starting with ``head``, or None.

    A magic number alone is not trusted: the head must also decompress (a pickle may start
    with the same bytes).
    """
    if head.startswith(b"\x04\x22\x4d\x18"):
        return "lz4"
    if head.startswith(b"ZF"):
        return "joblib's pre-0.10 zlib format"
    candidates = {
        "gzip": head.startswith(b"\x1f\x8b"),
        "zlib": len(head) >= 2 and head[0] == 0x78 and (head[0] << 8 | head[1]) % 31 == 0,
        "bz2": head.startswith(b"BZh"),
        "xz": head.startswith(b"\xfd7zXZ\x00"),
        "lzma": head[:1] == b"\x5d" and head[5:13] == b"\xff" * 8,
    }
    for name, matches in candidates.items():
        if matches:
            try:
                _new_decompressor(name).decompress(head)
            except (zlib.error, OSError, EOFError, lzma.LZMAError):
                return None
            return name
    return None


class _Decompressor(Protocol):
    def decompress(self, data: bytes, max_length: int = ..., /) -> bytes: ...


def _new_decompressor(name: str) -> _Decompressor:
    if name == "gzip":
        return zlib.decompressobj(wbits=31)
    if name == "zlib":
        return zlib.decompressobj()
    if name == "bz2":
        return bz2.BZ2Decompressor()
    return lzma.LZMADecompressor(lzma.FORMAT_XZ if name == "xz" else lzma.FORMAT_ALONE)


class _Decompressing:
    """An unseekable stream of a compressed file's decompressed bytes (short reads)."""

    def __init__(self, source: BinaryIO, compression: str) -> None:
        self._source = source
        self._compression = compression
        self._zlib = zlib.decompressobj(wbits=31 if compression == "gzip" else 15)
        self._other: bz2.BZ2Decompressor | lzma.LZMADecompressor | None = None
        if compression == "bz2":
            self._other = bz2.BZ2Decompressor()
        elif compression in ("xz", "lzma"):
            self._other = lzma.LZMADecompressor(
                lzma.FORMAT_XZ if compression == "xz" else lzma.FORMAT_ALONE
            )

    def read(self, size: int, /) -> bytes:
        """Up to ``size`` decompressed bytes; b"" at the end of the compressed stream."""
        try:
            return self._next(size)
        except (zlib.error, OSError, EOFError, lzma.LZMAError) as error:
            raise _Stop(f"the {self._compression} data cannot be decompressed: {error}") from None

    def seek(self, offset: int, whence: int = io.SEEK_SET, /) -> int:
        raise io.UnsupportedOperation("decompressed streams are read once")

    def tell(self) -> int:
        raise io.UnsupportedOperation("decompressed streams are read once")

    def _next(self, size: int) -> bytes:
        while True:
            if self._other is None:
                if self._zlib.eof:
                    return b""
                data = self._zlib.unconsumed_tail or self._source.read(_CHUNK)
                if not data:
                    raise EOFError("the compressed data ends early")
                out = self._zlib.decompress(data, size)
            else:
                if self._other.eof:
                    return b""
                data = self._source.read(_CHUNK) if self._other.needs_input else b""
                if self._other.needs_input and not data:
                    raise EOFError("the compressed data ends early")
                out = self._other.decompress(data, size)
            if out:
                return out
