"""Static analysis of Keras v3 ``.keras`` archives: code and imports named in ``config.json``.

A ``.keras`` file is a zip of ``config.json`` (the serialised model), ``metadata.json`` and
``model.weights.h5``. Loading it imports every ``module`` the config names and, for ``Lambda``
layers, rebuilds Python functions from marshalled bytecode (refused by ``safe_mode=True``,
the default since Keras 3, but bypasses exist) or calls any function the config names.

Legacy HDF5 ``.h5`` Keras files are read by ``keras_h5``, which runs the same config analysis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scanner.analysis.builder import display_text
from scanner.analysis.keras_gadgets import (
    FILE_LOADING_CLASS_BY_NAME,
    UNSAFE_FUNCTION_BY_NAME,
    UNSAFE_NUMPY_FUNCTION_BY_NAME,
)
from scanner.analysis.load_risk import LoadRisk, RiskKind
from scanner.analysis.zip_members import (
    loader_name,
    readable,
    report_member_names,
    report_renamed_members,
    report_stream_state,
)
from scanner.core.capped_io import (
    METADATA_JSON_MAX_BYTES,
    METADATA_JSON_MAX_DEPTH,
    decode_utf8,
    parse_json_text,
)
from scanner.core.errors import MalformedFileError
from scanner.core.model import Severity

if TYPE_CHECKING:
    from scanner.analysis.builder import AnalysisBuilder
    from scanner.analysis.keras_gadgets import KerasGadget
    from scanner.analysis.zip_archive import ZipArchive, ZipMember

#: Largest ``config.json`` read, in bytes (the metadata JSON cap; real ones are < 1 MB).
MAX_CONFIG_BYTES = METADATA_JSON_MAX_BYTES
#: Deepest JSON nesting accepted in ``config.json``.
MAX_CONFIG_DEPTH = METADATA_JSON_MAX_DEPTH
#: Most JSON values visited in one config.
MAX_CONFIG_NODES = 1_000_000

CONFIG_MEMBER = "config.json"
#: Top-level packages whose classes and functions a Keras config may name without being
#: reported (the Keras family: KerasHub presets name ``keras_hub`` classes).
_KERAS_ROOTS = frozenset({"keras", "tensorflow", "tf_keras", "keras_hub", "keras_nlp", "keras_cv"})
#: Top-level packages that run commands, code, files or network when a config names them.
_UNSAFE_ROOTS = frozenset(
    {
        "os", "posix", "nt", "subprocess", "sys", "importlib", "runpy", "shutil", "socket",
        "pty", "ctypes", "pickle", "marshal", "code", "codeop", "webbrowser", "urllib", "http",
        "requests", "tempfile", "multiprocessing", "pathlib", "io",
    }
)  # fmt: skip
_UNSAFE_BUILTINS = frozenset(
    {
        "eval", "exec", "compile", "open", "__import__", "getattr", "setattr", "delattr",
        "globals", "locals", "vars", "input", "breakpoint", "exit", "quit",
    }
)  # fmt: skip
#: Packages outside the Keras family whose Keras layers load files (``hub.KerasLayer``).
_LAYER_ROOTS = frozenset({"tensorflow_hub"})
#: TensorFlow ops a ``TFOpLambda`` may call that read or write files or run Python.
_UNSAFE_TF_OPS = ("io.", "compat.v1.io.", "compat.v1.gfile", "py_function", "numpy_function",
                  "compat.v1.py_func", "raw_ops.", "saved_model.", "debugging.")  # fmt: skip
_SAFE_MODE_NOTE = "Keras refuses it unless safe_mode=False, older Keras runs it"


def analyze_keras_members(archive: ZipArchive, builder: AnalysisBuilder) -> str:
    """Analyse the ``config.json`` of an open ``.keras`` archive into ``builder``; return the
    format, ``keras``."""
    report_member_names(archive, builder)
    # Every entry zipfile may read as config.json (a NUL-cut name too), not just the exact one.
    configs = [member for member in archive.members if loader_name(member.name) == CONFIG_MEMBER]
    if not configs:
        builder.unreadable("no config.json: not a Keras v3 archive, its layers are not analysed")
    for member in configs:
        config = _read_config(archive, member, builder)
        if config is not None:
            report_keras_config(config, builder)
    report_renamed_members(archive, builder)
    return "keras"


def _read_config(archive: ZipArchive, member: ZipMember, builder: AnalysisBuilder) -> object:
    if not readable(archive, member, builder):
        return None
    if member.size > MAX_CONFIG_BYTES:
        builder.unreadable(
            f"config.json of {member.size} bytes exceeds the {MAX_CONFIG_BYTES}-byte limit",
            member=CONFIG_MEMBER,
        )
        return None
    try:
        reader = archive.open_member(member, max_bytes=MAX_CONFIG_BYTES)
        data = reader.readall()
        report_stream_state(reader, member, builder)
        return parse_json_text(decode_utf8(data), max_depth=MAX_CONFIG_DEPTH)
    except MalformedFileError as error:
        builder.unreadable(f"config.json: {error.problem}", member=CONFIG_MEMBER)
        return None


def report_keras_config(config: object, builder: AnalysisBuilder) -> None:
    """Record the risks of a parsed Keras ``config.json`` (every serialised object in it)."""
    covered: set[int] = set()  # function objects already reported with their Lambda layer
    pending: list[tuple[object, int]] = [(config, 0)]
    visited = 0
    while pending:
        node, depth = pending.pop()
        visited += 1
        if visited > MAX_CONFIG_NODES or depth > MAX_CONFIG_DEPTH:
            builder.unreadable(
                f"config.json is larger than the {MAX_CONFIG_NODES}-value, "
                f"{MAX_CONFIG_DEPTH}-level limit: not fully analysed",
                member=CONFIG_MEMBER,
            )
            return
        if isinstance(node, list):
            pending.extend((item, depth + 1) for item in node)
        elif isinstance(node, dict):
            if isinstance(node.get("class_name"), str):
                _report_object(node, builder, covered)
            pending.extend((value, depth + 1) for value in node.values())


def _report_object(node: dict[str, object], builder: AnalysisBuilder, covered: set[int]) -> None:
    """Record what one serialised object ``{module, class_name, config}`` does on load."""
    class_name = str(node["class_name"])
    config = node.get("config")
    if class_name == "Lambda":
        _report_lambda(node, builder, covered)
    elif class_name == "TFOpLambda":
        _report_tf_op(node, builder)
    elif class_name == "__lambda__" and id(node) not in covered:
        builder.risk(
            LoadRisk(
                kind=RiskKind.EMBEDDED_CODE,
                severity=Severity.HIGH,
                message=f"a lambda (marshalled bytecode) is run on load ({_SAFE_MODE_NOTE})",
                member=CONFIG_MEMBER,
            )
        )
    module = node.get("module")
    root = module.split(".", 1)[0] if isinstance(module, str) else None
    gadget = FILE_LOADING_CLASS_BY_NAME.get(class_name)
    if gadget is not None and (root is None or root in _KERAS_ROOTS or root in _LAYER_ROOTS):
        _report_file_loader(node, gadget, builder)
    if "." in class_name and class_name != "function":
        # ``"class_name": "os.system"``: a dotted path where a class name belongs.
        owner, _, name = class_name.rpartition(".")
        _report_import(owner, name, builder, function=False)
    if isinstance(module, str):
        target = config if class_name == "function" and isinstance(config, str) else class_name
        _report_import(module, target, builder, function=class_name == "function")
    _report_registered_name(node, class_name, builder)


def _report_file_loader(
    node: dict[str, object], gadget: KerasGadget, builder: AnalysisBuilder
) -> None:
    config = node.get("config")
    values = [config.get(key) for key in gadget.paths] if isinstance(config, dict) else []
    if gadget.inline:  # the code itself, in whatever form (a string, a ``__bytes__`` object)
        named = "" if any(value is not None for value in values) else None
    else:  # a path; a vocabulary given as a list is inline data
        paths = [value for value in values if isinstance(value, str)]
        named = f": {display_text(paths[0])}" if paths else None
    if named is None:
        return
    builder.risk(
        LoadRisk(
            kind=RiskKind.EMBEDDED_CODE if gadget.inline else RiskKind.UNSAFE_IMPORT,
            severity=Severity.HIGH,
            message=f"{gadget.name} layer {_layer_name(node)} {gadget.does} on load{named}",
            member=CONFIG_MEMBER,
        ),
        runs_on_load=gadget.runs_code,
    )


def _report_registered_name(
    node: dict[str, object], class_name: str, builder: AnalysisBuilder
) -> None:
    """``registered_name`` picks a class registered with ``register_keras_serializable`` over
    ``module`` and ``class_name`` (keras/src/saving/serialization_lib.py
    ``_retrieve_class_or_fn``): one registered by another package is custom code."""
    registered = node.get("registered_name")
    module = node.get("module")
    if (
        not isinstance(registered, str)
        or class_name == "function"  # functions are looked up by their name
        or (isinstance(module, str) and module.split(".", 1)[0] not in _KERAS_ROOTS)
    ):
        return  # a module outside Keras is reported as a custom import already
    package = registered.split(">", 1)[0] if ">" in registered else registered.rpartition(".")[0]
    if not package or package.split(".", 1)[0] in _KERAS_ROOTS:
        return  # a plain name is resolved in Keras like class_name
    builder.risk(
        LoadRisk(
            kind=RiskKind.UNKNOWN_IMPORT,
            severity=Severity.MEDIUM,
            message=(
                f"custom object {display_text(registered)} (registered name) is used on load "
                f"for {display_text(class_name)}"
            ),
            member=CONFIG_MEMBER,
            callables=(registered,),
        )
    )


def _report_lambda(node: dict[str, object], builder: AnalysisBuilder, covered: set[int]) -> None:
    config = node.get("config")
    function = config.get("function") if isinstance(config, dict) else None
    callables: tuple[str, ...] = ()
    detail = f"marshalled bytecode; {_SAFE_MODE_NOTE}"
    legacy_module = config.get("module") if isinstance(config, dict) else None
    if isinstance(function, str) and isinstance(legacy_module, str):
        # The legacy (tf.keras, ``.h5``) form: {"function": "system", "module": "os",
        # "function_type": "function"} looks the name up in that module.
        callables = (f"{legacy_module}.{function}",)
        detail = f"calls {display_text(callables[0])}"
        _report_import(legacy_module, function, builder, function=True)
    elif isinstance(function, dict):
        covered.add(id(function))
        module, name = function.get("module"), function.get("config")
        if (
            function.get("class_name") != "__lambda__"
            and isinstance(module, str)
            and isinstance(name, str)
        ):
            callables = (f"{module}.{name}",)
            detail = f"calls {display_text(callables[0])}"
    builder.risk(
        LoadRisk(
            kind=RiskKind.EMBEDDED_CODE,
            severity=Severity.HIGH,
            message=f"Lambda layer {_layer_name(node)} carries Python code run on load ({detail})",
            member=CONFIG_MEMBER,
            callables=callables,
        )
    )


def _report_tf_op(node: dict[str, object], builder: AnalysisBuilder) -> None:
    config = node.get("config")
    function = config.get("function") if isinstance(config, dict) else None
    if not isinstance(function, str):
        return
    unsafe = function.startswith(_UNSAFE_TF_OPS)
    builder.risk(
        LoadRisk(
            kind=RiskKind.UNSAFE_IMPORT if unsafe else RiskKind.UNKNOWN_IMPORT,
            severity=Severity.HIGH if unsafe else Severity.LOW,
            message=(
                f"TFOpLambda layer {_layer_name(node)} calls tf.{display_text(function)} on load"
                + (" (reads or writes files, or runs Python)" if unsafe else "")
            ),
            member=CONFIG_MEMBER,
            callables=(f"tensorflow.{function}",),
        ),
        runs_on_load=unsafe,  # an ordinary TF op is part of the graph, not foreign code
    )


def _report_import(module: str, name: str, builder: AnalysisBuilder, *, function: bool) -> None:
    root = module.split(".", 1)[0]
    dotted = f"{module}.{name}"
    shown = display_text(dotted)
    if root in _UNSAFE_ROOTS or (module == "builtins" and name in _UNSAFE_BUILTINS):
        risk = LoadRisk(
            kind=RiskKind.UNSAFE_IMPORT,
            severity=Severity.HIGH,
            message=f"imports {shown} on load (runs commands, code, files or network)",
            member=CONFIG_MEMBER,
            callables=(dotted,),
        )
    elif (gadget := _unsafe_function(root, module, name) if function else None) is not None:
        risk = LoadRisk(
            kind=RiskKind.UNSAFE_IMPORT,
            severity=Severity.HIGH,
            message=f"calls {shown} on load ({gadget})",
            member=CONFIG_MEMBER,
            callables=(dotted,),
        )
    elif root in _KERAS_ROOTS or module == "builtins":
        return
    else:
        risk = LoadRisk(
            kind=RiskKind.UNKNOWN_IMPORT,
            severity=Severity.MEDIUM,
            message=f"custom {'function' if function else 'class'} {shown} is imported on load",
            member=CONFIG_MEMBER,
            callables=(dotted,),
        )
    builder.risk(risk)


def _unsafe_function(root: str, module: str, name: str) -> str | None:
    """What a function named from the Keras family, TensorFlow or NumPy does that makes it
    unsafe (a reviewed table in ``keras_gadgets``), or None."""
    if root in _KERAS_ROOTS and (gadget := UNSAFE_FUNCTION_BY_NAME.get(name)) is not None:
        return gadget.does
    if root == "numpy" and (gadget := UNSAFE_NUMPY_FUNCTION_BY_NAME.get(name)) is not None:
        return gadget.does
    if root == "tensorflow" and f"{module}.{name}".removeprefix("tensorflow.").startswith(
        _UNSAFE_TF_OPS
    ):
        return "reads or writes files, or runs Python"
    return None


def _layer_name(node: dict[str, object]) -> str:
    config = node.get("config")
    name = config.get("name") if isinstance(config, dict) else None
    if not isinstance(name, str):
        name = node.get("name")
    return display_text(name) if isinstance(name, str) else "(unnamed)"
