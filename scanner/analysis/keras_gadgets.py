"""Reviewed data for the Keras config analysis: what Keras's own classes and functions do on load.

A Keras config names classes and functions by ``module`` and ``class_name``; most from the Keras
family only build layers, but some read files or URLs, load other models or code, or turn safe
mode off. Each entry records what it does and the source that shows it, so that a reviewer can
check it and a new advisory adds one row.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class KerasGadget:
    """A Keras-family class or function that does more than build a layer when a config names it."""

    name: str
    """The class or function name as a config spells it (``class_name`` or a function's
    ``config``)."""
    does: str
    """What loading does with it, as a verb phrase (``loads the external SavedModel``)."""
    source: str
    """Where this is shown: an advisory, a fix, the API documentation."""
    paths: tuple[str, ...] = ()
    """For a class: the config keys naming a file, URL or handle it reads. The class is a risk
    when one of them holds a string (a vocabulary given as a list is inline data)."""
    runs_code: bool = True
    """Whether what it loads runs (a SavedModel's graph, bytecode), rather than being read."""
    inline: bool = False
    """Whether the keys hold the code itself (a pickle), not a path to it: not shown."""


#: Classes that read files or URLs, or load other models, when a config instantiates them.
FILE_LOADING_CLASSES: tuple[KerasGadget, ...] = (
    KerasGadget(
        "TFSMLayer",
        "loads an external TensorFlow SavedModel (its graph runs on every call)",
        "keras-team/keras#22035: TFSMLayer refused in safe mode, it loads an external SavedModel",
        ("filepath",),
    ),
    KerasGadget(
        "TorchModuleWrapper",
        "unpickles the PyTorch module stored in its config (torch.load)",
        "keras-team/keras#21575 and #23048: torch.load of the config's module, refused in "
        "safe mode",
        ("module",),
        inline=True,
    ),
    KerasGadget(
        "KerasLayer",
        "loads a TensorFlow Hub module (a SavedModel, from a path or URL)",
        "tensorflow_hub.KerasLayer API docs: handle is a path or URL given to hub.load",
        ("handle",),
    ),
    *(
        KerasGadget(
            lookup,
            "reads a vocabulary file named in the config",
            "keras-team/keras#21751 and #23050: a string vocabulary is a file path read on "
            "load, now refused in safe mode",
            ("vocabulary",),
            runs_code=False,
        )
        for lookup in ("StringLookup", "IntegerLookup", "IndexLookup", "TextVectorization")
    ),
    *(
        KerasGadget(
            tokenizer,
            "reads a vocabulary or model file named in the config",
            "keras-team/keras-hub#2517: tokenizers read vocabulary/proto file paths, a "
            "safe-mode bypass",
            keys,
            runs_code=False,
        )
        for tokenizer, keys in (
            ("BytePairTokenizer", ("vocabulary", "merges")),
            ("WordPieceTokenizer", ("vocabulary",)),
            ("SentencePieceTokenizer", ("proto",)),
        )
    ),
)

#: Functions a config can name (as a Lambda's function, or ``class_name: function``) that load
#: other models or code, read or fetch files, or undo safe mode.
UNSAFE_FUNCTIONS: tuple[KerasGadget, ...] = (
    KerasGadget(
        "enable_unsafe_deserialization",
        "turns safe mode off for the rest of the load",
        "CVE-2025-9906, GHSA-36fq-jgmw-4r9c: called from config.json before the layers load",
    ),
    KerasGadget(
        "set_global_attribute",
        "sets Keras global state, safe_mode_saving among it",
        "io-no/CVE-Reports#5 (CVE-2025-9906 and CVE-2025-8747 write-up)",
    ),
    KerasGadget(
        "load_model",
        "loads another model with arguments from the config, safe_mode=False among them",
        "io-no/CVE-Reports#5: a Lambda calling keras.models.load_model(safe_mode=False)",
    ),
    KerasGadget(
        "deserialize_keras_object",
        "deserializes another object with arguments from the config, safe_mode among them",
        "same shape as io-no/CVE-Reports#5: a safe_mode argument passed from the config",
    ),
    KerasGadget(
        "func_load",
        "rebuilds a Python function from marshalled bytecode",
        "keras/src/utils/python_utils.py func_load, what Lambda deserialization runs",
    ),
    KerasGadget(
        "get_file",
        "downloads a file from a URL, extracting it if asked",
        "keras-team/keras#20766: get_file is a download command, unsafe on untrusted input",
    ),
    KerasGadget(
        "extract_archive",
        "extracts an archive to disk",
        "GHSA-hqp4-2352-xf5r: path traversal in Keras archive extraction before 3.14.0",
    ),
    KerasGadget(
        "load_img",
        "reads an image file from a path",
        "keras.utils.load_img API docs: loads an image from a path",
    ),
    *(
        KerasGadget(
            loader,
            "reads every file under a directory",
            f"keras.utils.{loader} API docs: reads files from a directory",
        )
        for loader in (
            "image_dataset_from_directory",
            "text_dataset_from_directory",
            "audio_dataset_from_directory",
        )
    ),
)

#: Functions outside the Keras family that read files (and, for numpy.load, may unpickle).
UNSAFE_NUMPY_FUNCTIONS: tuple[KerasGadget, ...] = tuple(
    KerasGadget(
        function,
        "reads a file from a path",
        f"NumPy API docs: numpy.{function} reads a path (numpy.load unpickles if allowed)",
    )
    for function in ("load", "loadtxt", "genfromtxt", "fromfile", "memmap")
)

FILE_LOADING_CLASS_BY_NAME = {gadget.name: gadget for gadget in FILE_LOADING_CLASSES}
UNSAFE_FUNCTION_BY_NAME = {gadget.name: gadget for gadget in UNSAFE_FUNCTIONS}
UNSAFE_NUMPY_FUNCTION_BY_NAME = {gadget.name: gadget for gadget in UNSAFE_NUMPY_FUNCTIONS}
