"""The callables a pickle may import, as data: the deny list with reasons, and the allowlist.

Rules are ``module`` (the module and its submodules, whatever the name) or ``module:pattern``
(an fnmatch pattern on the qualified name); ``classify`` reads them.
"""

from __future__ import annotations

from typing import Final

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
    # Private aliases of the import machinery, and any function that turns a string into a
    # callable: https://github.com/mmaitre314/picklescan/issues/66 (GHSA-vvpj-8cmc-gx39)
    ("_frozen_importlib", "imports modules by name (importlib._bootstrap)"),
    ("_frozen_importlib_external", "loads modules from files (importlib._bootstrap_external)"),
    ("_imp", "creates modules and loads native extensions"),
    ("operator:attrgetter", "fetches any attribute, reaching callables the file does not name"),
    ("operator:methodcaller", "calls any method by name"),
    ("_operator:attrgetter", "fetches any attribute, reaching callables the file does not name"),
    ("_operator:methodcaller", "calls any method by name"),
    # Getters and wrappers that call or reach any callable they are given:
    # https://github.com/trailofbits/fickling/pull/210 (GHSA-m273-6v24-x4m4, GHSA-955r-x9j8-7rhh,
    # "functools.partial wrapper bypass")
    ("operator:itemgetter", "fetches any item, reaching callables the file does not name"),
    ("_operator:itemgetter", "fetches any item, reaching callables the file does not name"),
    ("operator:call", "calls any callable"),
    ("_operator:call", "calls any callable"),
    ("functools:partial", "wraps and calls any callable"),
    ("functools:partialmethod", "wraps and calls any callable"),
    ("functools:reduce", "calls any callable over an iterable"),
    ("_functools", "wraps and calls any callable (partial, reduce)"),
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
    # NumPy 2's home of numpy.load (allow_pickle): https://numpy.org/doc/stable/reference/generated/numpy.load.html
    ("numpy.lib._npyio_impl", "loads files and nested pickles"),
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
    # The native loaders behind torch.jit.load and the lite interpreter (issue #12 item 4):
    # https://github.com/pytorch/pytorch/blob/main/torch/jit/_serialization.py
    ("torch._C:_load_for_lite_interpreter*", "loads TorchScript programs"),
    ("torch._C:import_ir_module*", "loads TorchScript programs"),
    ("torch._C:_jit_*", "compiles and runs TorchScript"),
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
    # read_csv and friends fetch URLs (exfiltration), mlflow runs entry points:
    # https://github.com/protectai/modelscan/issues/338
    ("pandas:read_*", "reads files and fetches URLs"),
    ("pandas.io.parsers", "reads files and fetches URLs"),
    ("mlflow.projects", "runs project entry points (shell commands)"),
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

#: Private names under which modules bind other modules (``argparse._os``), read as the module
#: they name when a dotted path walks through them; ``numpy.__builtins__`` reaches every builtin
#: (https://github.com/protectai/modelscan/issues/89, https://github.com/protectai/modelscan/issues/330).
MODULE_ALIASES: Final[dict[str, str]] = {
    "__builtins__": "builtins",
    "_frozen_importlib": "importlib._bootstrap",
    "_frozen_importlib_external": "importlib._bootstrap_external",
}

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
    # The legacy typed tensor classes (FloatTensor, …) that old checkpoints name: torch.load's
    # weights_only unpickler allows torch._tensor_classes (torch/_weights_only_unpickler.py,
    # _get_allowed_globals).
    "torch:*Tensor",
    "torch.cuda:*Tensor",
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
