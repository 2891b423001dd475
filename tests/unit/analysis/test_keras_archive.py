from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path
from typing import BinaryIO

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.analysis import keras_archive, keras_gadgets
from scanner.analysis.builder import AnalysisBuilder
from scanner.analysis.dispatch import analyze_path
from scanner.analysis.keras_archive import analyze_keras_members, report_keras_config
from scanner.analysis.load_risk import FileAnalysis, LoadRisk, RiskKind
from scanner.analysis.zip_members import analyze_zip_stream
from scanner.core.model import Severity
from tests.unit.analysis.files import analyse_file


def analyze_keras(stream: BinaryIO, name: str) -> FileAnalysis:
    """A ``.keras`` file read as the dispatcher's ``keras`` layout reads it."""
    return analyze_zip_stream(stream, "keras", analyze_keras_members)


METADATA = json.dumps({"keras_version": "3.4.1", "date_saved": "2024-07-01@10:00:00"})


def layer(
    class_name: str,
    name: str,
    config: dict[str, object] | None = None,
    module: str = "keras.layers",
) -> dict[str, object]:
    return {
        "module": module,
        "class_name": class_name,
        "config": {"name": name, **(config or {})},
        "registered_name": None,
        "name": name,
    }


def functional(name: str, layers: list[dict[str, object]]) -> dict[str, object]:
    return {
        "module": "keras",
        "class_name": "Functional",
        "config": {"name": name, "layers": layers, "input_layers": [], "output_layers": []},
        "registered_name": None,
    }


LAMBDA_BYTECODE = {
    "class_name": "__lambda__",
    "config": {"value": ["4wEAAAAAAAAAAAAAAAEAAAACAAAAQwAAAHMIAAAAfABkARQAUwA=", None, None]},
}
BENIGN_CONFIG = functional(
    "benign",
    [
        layer("InputLayer", "input", {"batch_shape": [None, 4]}),
        layer("Dense", "dense", {"units": 2, "activation": "relu"}),
    ],
)


def keras_zip(path: Path, config: object, *, extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", METADATA)
        archive.writestr("config.json", config if isinstance(config, bytes) else json.dumps(config))
        archive.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return path


def summary(analysis: FileAnalysis) -> set[tuple[RiskKind, Severity, str]]:
    return {(risk.kind, risk.severity, risk.message) for risk in analysis.risks}


def test_benign_functional_model_has_no_risk(tmp_path: Path) -> None:
    analysis = analyse_file(analyze_keras, keras_zip(tmp_path / "m.keras", BENIGN_CONFIG))
    assert analysis == FileAnalysis(format="keras")


def test_lambda_nested_in_a_functional_model(tmp_path: Path) -> None:
    inner = functional(
        "encoder",
        [
            layer("InputLayer", "enc_input"),
            layer("Lambda", "scale", {"function": LAMBDA_BYTECODE, "arguments": {}}),
        ],
    )
    outer = functional("outer", [layer("InputLayer", "input"), inner])
    analysis = analyse_file(analyze_keras, keras_zip(tmp_path / "m.keras", outer))
    assert analysis.risks == (
        LoadRisk(
            kind=RiskKind.EMBEDDED_CODE,
            severity=Severity.HIGH,
            message=(
                "Lambda layer scale carries Python code run on load (marshalled bytecode; "
                "Keras refuses it unless safe_mode=False, older Keras runs it)"
            ),
            member="config.json",
        ),
    )
    assert analysis.executable_on_load


def test_lambda_calling_keras_load_model_cve_2025_9906(tmp_path: Path) -> None:
    reference = {
        "module": "keras.models",
        "class_name": "function",
        "config": "load_model",
        "registered_name": "function",
    }
    config = functional(
        "m", [layer("Lambda", "unsafe", {"function": reference, "arguments": {"safe_mode": False}})]
    )
    analysis = analyse_file(analyze_keras, keras_zip(tmp_path / "m.keras", config))
    assert summary(analysis) == {
        (
            RiskKind.EMBEDDED_CODE,
            Severity.HIGH,
            "Lambda layer unsafe carries Python code run on load (calls keras.models.load_model)",
        ),
        (
            RiskKind.UNSAFE_IMPORT,
            Severity.HIGH,
            "calls keras.models.load_model on load (loads another model with arguments from "
            "the config, safe_mode=False among them)",
        ),
    }


def test_custom_and_unsafe_modules(tmp_path: Path) -> None:
    config = functional(
        "m",
        [
            layer("MyLayer", "custom", module="my_pkg.layers"),
            {"module": "os", "class_name": "function", "config": "system"},
            {"module": "builtins", "class_name": "function", "config": "eval"},
            {"module": "builtins", "class_name": "function", "config": "len"},
            layer("Dense", "dense", {"kernel_regularizer": {"module": "keras.regularizers",
                                                            "class_name": "L2", "config": {}}}),
        ],
    )  # fmt: skip
    analysis = analyse_file(analyze_keras, keras_zip(tmp_path / "m.keras", config))
    unsafe = "on load (runs commands, code, files or network)"
    assert summary(analysis) == {
        (
            RiskKind.UNKNOWN_IMPORT,
            Severity.MEDIUM,
            "custom class my_pkg.layers.MyLayer is imported on load",
        ),
        (RiskKind.UNSAFE_IMPORT, Severity.HIGH, f"imports os.system {unsafe}"),
        (RiskKind.UNSAFE_IMPORT, Severity.HIGH, f"imports builtins.eval {unsafe}"),
    }
    assert {c for r in analysis.risks for c in r.callables} == {
        "my_pkg.layers.MyLayer",
        "os.system",
        "builtins.eval",
    }


# --- config analysis without an archive: reviewed cases, each with its source ------------------


def config_risks(config: object) -> set[tuple[RiskKind, Severity, str]]:
    """The risks ``report_keras_config`` records for a hand-written config (nothing is loaded)."""
    builder = AnalysisBuilder()
    report_keras_config(config, builder)
    return summary(builder.build("keras"))


def config_analysis(config: object) -> FileAnalysis:
    builder = AnalysisBuilder()
    report_keras_config(config, builder)
    return builder.build("keras")


H, M = Severity.HIGH, Severity.MEDIUM
UNSAFE, UNKNOWN, CODE = RiskKind.UNSAFE_IMPORT, RiskKind.UNKNOWN_IMPORT, RiskKind.EMBEDDED_CODE
LAMBDA_RISK = (
    CODE,
    H,
    "Lambda layer scale carries Python code run on load (marshalled bytecode; "
    "Keras refuses it unless safe_mode=False, older Keras runs it)",
)
SCALE = layer("Lambda", "scale", {"function": LAMBDA_BYTECODE, "arguments": {}})


def function_ref(module: str, name: str) -> dict[str, object]:
    return {
        "module": module,
        "class_name": "function",
        "config": name,
        "registered_name": "function",
    }


KERAS_CASES: list[tuple[str, str, object, set[tuple[RiskKind, Severity, str]]]] = [
    (
        "tfsm-layer",
        "keras-team/keras#22035: TFSMLayer loads an external SavedModel",
        functional("m", [layer("TFSMLayer", "sm", {"filepath": "/tmp/evil_savedmodel"})]),
        {
            (
                UNSAFE,
                H,
                "TFSMLayer layer sm loads an external TensorFlow SavedModel (its graph runs on "
                "every call) on load: /tmp/evil_savedmodel",
            )
        },
    ),
    (
        "torch-module-wrapper",
        "keras-team/keras#21575: TorchModuleWrapper torch.loads (unpickles) its config's module",
        functional("m", [layer("TorchModuleWrapper", "t", {"module": "gASVAAAA"})]),
        {
            (
                CODE,
                H,
                "TorchModuleWrapper layer t unpickles the PyTorch module stored in its config "
                "(torch.load) on load",
            )
        },
    ),
    (
        "hub-keras-layer",
        "tensorflow_hub.KerasLayer docs: handle is a path or URL given to hub.load",
        functional(
            "m",
            [
                layer(
                    "KerasLayer",
                    "hub",
                    {"handle": "https://example.org/m"},
                    module="tensorflow_hub.keras_layer",
                )
            ],
        ),
        {
            (
                UNSAFE,
                H,
                "KerasLayer layer hub loads a TensorFlow Hub module (a SavedModel, from a path or "
                "URL) on load: https://example.org/m",
            ),
            (UNKNOWN, M, "custom class tensorflow_hub.keras_layer.KerasLayer is imported on load"),
        },
    ),
    *(
        (
            f"{lookup.lower()}-vocabulary-file",
            "keras-team/keras#21751, #23050: a string vocabulary is a file path read on load",
            functional("m", [layer(lookup, "lookup", {"vocabulary": "/etc/passwd"})]),
            {
                (
                    UNSAFE,
                    H,
                    f"{lookup} layer lookup reads a vocabulary file named in the config on load: "
                    "/etc/passwd",
                )
            },
        )
        for lookup in ("StringLookup", "IntegerLookup", "TextVectorization")
    ),
    (
        "tokenizer-proto-file",
        "keras-team/keras-hub#2517: tokenizers read vocabulary/proto paths",
        functional(
            "m",
            [
                layer(
                    "SentencePieceTokenizer",
                    "tok",
                    {"proto": "/home/u/.ssh/id_rsa"},
                    module="keras_hub.tokenizers",
                )
            ],
        ),
        {
            (
                UNSAFE,
                H,
                "SentencePieceTokenizer layer tok reads a vocabulary or model file named in the "
                "config on load: /home/u/.ssh/id_rsa",
            )
        },
    ),
    (
        "get-file-download",
        "keras-team/keras#20766: get_file downloads; CVE-2025-1550 names any function",
        functional(
            "m",
            [
                layer(
                    "Lambda",
                    "fetch",
                    {"function": function_ref("keras.utils", "get_file"), "arguments": {}},
                )
            ],
        ),
        {
            (
                CODE,
                H,
                "Lambda layer fetch carries Python code run on load (calls keras.utils.get_file)",
            ),
            (
                UNSAFE,
                H,
                "calls keras.utils.get_file on load (downloads a file from a URL, extracting it "
                "if asked)",
            ),
        },
    ),
    (
        "enable-unsafe-deserialization",
        "CVE-2025-9906, GHSA-36fq-jgmw-4r9c",
        {
            **BENIGN_CONFIG,
            "compile_config": function_ref("keras.config", "enable_unsafe_deserialization"),
        },
        {
            (
                UNSAFE,
                H,
                "calls keras.config.enable_unsafe_deserialization on load (turns safe mode off "
                "for the rest of the load)",
            )
        },
    ),
    (
        "tf-io-function",
        "CVE-2025-1550: module + class_name import any function; tf.io reads files",
        functional(
            "m", [layer("Lambda", "r", {"function": function_ref("tensorflow.io", "read_file")})]
        ),
        {
            (
                CODE,
                H,
                "Lambda layer r carries Python code run on load (calls tensorflow.io.read_file)",
            ),
            (
                UNSAFE,
                H,
                "calls tensorflow.io.read_file on load (reads or writes files, or runs Python)",
            ),
        },
    ),
    (
        "numpy-load-function",
        "CVE-2025-1550: a function from a non-Keras module; numpy.load reads a path",
        functional("m", [layer("Lambda", "n", {"function": function_ref("numpy", "load")})]),
        {
            (CODE, H, "Lambda layer n carries Python code run on load (calls numpy.load)"),
            (
                UNSAFE,
                H,
                "calls numpy.load on load (reads a file from a path)",
            ),
        },
    ),
    (
        "dotted-class-name",
        "issue #12: class_name with a dotted path",
        functional("m", [layer("os.system", "x")]),
        {(UNSAFE, H, "imports os.system on load (runs commands, code, files or network)")},
    ),
    (
        "registered-name-custom-object",
        "keras serialization_lib._retrieve_class_or_fn: registered_name takes precedence",
        functional("m", [{**layer("Dense", "d"), "registered_name": "EvilPkg>Dense"}]),
        {(UNKNOWN, M, "custom object EvilPkg>Dense (registered name) is used on load for Dense")},
    ),
    (
        "lambda-in-time-distributed",
        "CVE-2025-9905 write-up (io-no/CVE-Reports#7): Lambda layers wherever they nest",
        functional("m", [layer("TimeDistributed", "td", {"layer": SCALE})]),
        {LAMBDA_RISK},
    ),
    (
        "lambda-in-bidirectional",
        "issue #12: Lambda inside a Bidirectional wrapper",
        functional("m", [layer("Bidirectional", "bi", {"layer": SCALE, "backward_layer": None})]),
        {LAMBDA_RISK},
    ),
    (
        "lambda-in-sequential",
        "issue #12: Lambda inside a Sequential nested in a functional model",
        functional(
            "m",
            [
                {
                    "module": "keras",
                    "class_name": "Sequential",
                    "config": {"name": "seq", "layers": [SCALE]},
                    "registered_name": None,
                }
            ],
        ),
        {LAMBDA_RISK},
    ),
    (
        "legacy-h5-lambda-by-name",
        "CVE-2025-9905 (io-no/CVE-Reports#7): a legacy Lambda names module and function",
        {
            "class_name": "Sequential",
            "config": {
                "layers": [
                    {
                        "class_name": "Lambda",
                        "config": {
                            "name": "l",
                            "function": "system",
                            "module": "os",
                            "function_type": "function",
                        },
                    }
                ]
            },
        },
        {
            (CODE, H, "Lambda layer l carries Python code run on load (calls os.system)"),
            (UNSAFE, H, "imports os.system on load (runs commands, code, files or network)"),
        },
    ),
]


@pytest.mark.parametrize(
    ("config", "expected"),
    [(config, expected) for _, _, config, expected in KERAS_CASES],
    ids=[name for name, _, _, _ in KERAS_CASES],
)
def test_config_cases(config: object, expected: set[tuple[RiskKind, Severity, str]]) -> None:
    assert config_risks(config) == expected


KERAS_BENIGN: list[tuple[str, object]] = [
    (
        "inline-vocabulary",
        functional("m", [layer("StringLookup", "s", {"vocabulary": ["a", "b"]})]),
    ),
    ("no-vocabulary", functional("m", [layer("TextVectorization", "t", {"vocabulary": None})])),
    (
        "keras-hub-registered-name",
        functional(
            "m",
            [
                {
                    "module": "keras_hub.src.models.gemma.gemma_backbone",
                    "class_name": "GemmaBackbone",
                    "config": {"name": "gemma"},
                    "registered_name": "keras_hub>GemmaBackbone",
                }
            ],
        ),
    ),
    (
        "activation-function",
        functional(
            "m", [layer("Dense", "d", {"activation": function_ref("keras.activations", "relu")})]
        ),
    ),
    ("benign", BENIGN_CONFIG),
]


@pytest.mark.parametrize("config", [c for _, c in KERAS_BENIGN], ids=[n for n, _ in KERAS_BENIGN])
def test_benign_configs_have_no_risk(config: object) -> None:
    assert config_risks(config) == set()


def test_vocabulary_file_is_read_not_run() -> None:
    analysis = config_analysis(
        functional("m", [layer("StringLookup", "s", {"vocabulary": "v.txt"})])
    )
    assert [risk.severity for risk in analysis.risks] == [Severity.HIGH]
    assert not analysis.executable_on_load
    tfsm = config_analysis(functional("m", [layer("TFSMLayer", "sm", {"filepath": "sm"})]))
    assert tfsm.executable_on_load


def test_gadget_tables_have_a_source_per_entry() -> None:
    tables = (
        keras_gadgets.FILE_LOADING_CLASSES,
        keras_gadgets.UNSAFE_FUNCTIONS,
        keras_gadgets.UNSAFE_NUMPY_FUNCTIONS,
    )
    for table in tables:
        names = [gadget.name for gadget in table]
        assert len(names) == len(set(names))
        assert all(gadget.source and gadget.does for gadget in table)


def test_tf_op_lambda(tmp_path: Path) -> None:
    config = functional(
        "m",
        [
            layer("TFOpLambda", "tf.math.add", {"function": "math.add"}),
        ],
    )
    benign = analyse_file(analyze_keras, keras_zip(tmp_path / "a.keras", config))
    message = "TFOpLambda layer tf.math.add calls tf.math.add on load"
    assert summary(benign) == {(RiskKind.UNKNOWN_IMPORT, Severity.LOW, message)}
    assert not benign.executable_on_load
    config = functional("m", [layer("TFOpLambda", "w", {"function": "io.write_file"})])
    unsafe = analyse_file(analyze_keras, keras_zip(tmp_path / "b.keras", config))
    assert [(r.kind, r.severity, r.callables) for r in unsafe.risks] == [
        (RiskKind.UNSAFE_IMPORT, Severity.HIGH, ("tensorflow.io.write_file",))
    ]
    assert unsafe.executable_on_load


def test_lambda_outside_a_layer(tmp_path: Path) -> None:
    config = {**BENIGN_CONFIG, "compile_config": {"loss": LAMBDA_BYTECODE}}
    analysis = analyse_file(analyze_keras, keras_zip(tmp_path / "m.keras", config))
    assert [(r.kind, r.severity) for r in analysis.risks] == [
        (RiskKind.EMBEDDED_CODE, Severity.HIGH)
    ]
    assert analysis.risks[0].message.startswith("a lambda (marshalled bytecode) is run on load")


def test_hostile_layer_names_are_escaped(tmp_path: Path) -> None:
    config = functional("m", [layer("Lambda", "x\x1b[31m" + "y" * 300, {"function": "AAAA"})])
    (risk,) = analyse_file(analyze_keras, keras_zip(tmp_path / "m.keras", config)).risks
    assert "\x1b" not in risk.message
    assert "x\\x1b[31m" in risk.message
    assert "…" in risk.message


def test_missing_config(tmp_path: Path) -> None:
    path = tmp_path / "m.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", METADATA)
    analysis = analyse_file(analyze_keras, path)
    assert analysis.problems == (
        "no config.json: not a Keras v3 archive, its layers are not analysed",
    )
    assert [r.kind for r in analysis.risks] == [RiskKind.UNREADABLE]


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        (
            b"{not json",
            "config.json: invalid JSON at line 1, column 2: "
            "Expecting property name enclosed in double quotes",
        ),
        (b"\xff\xfe{}", "config.json: invalid UTF-8 at byte offset 0"),
        (b"[" * 100 + b"]" * 100, "config.json: JSON nesting depth 100 exceeds the 64-level limit"),
        (b'{"a": NaN}', "config.json: NaN is not valid JSON"),
    ],
)
def test_malformed_config_is_unreadable(tmp_path: Path, config: bytes, problem: str) -> None:
    analysis = analyse_file(analyze_keras, keras_zip(tmp_path / "m.keras", config))
    assert analysis.problems == (problem,)
    assert [(r.kind, r.severity) for r in analysis.risks] == [
        (RiskKind.UNREADABLE, Severity.MEDIUM)
    ]


def test_config_size_cap(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(keras_archive, "MAX_CONFIG_BYTES", 10)
    analysis = analyse_file(analyze_keras, keras_zip(tmp_path / "m.keras", BENIGN_CONFIG))
    (problem,) = analysis.problems
    assert problem.startswith("config.json of ")
    assert problem.endswith("bytes exceeds the 10-byte limit")


def test_config_node_cap(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(keras_archive, "MAX_CONFIG_NODES", 5)
    analysis = analyse_file(analyze_keras, keras_zip(tmp_path / "m.keras", BENIGN_CONFIG))
    assert [r.kind for r in analysis.risks] == [RiskKind.UNREADABLE]
    assert "not fully analysed" in analysis.problems[0]


def test_encrypted_config(tmp_path: Path) -> None:
    path = keras_zip(tmp_path / "m.keras", BENIGN_CONFIG)
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = data.find(signature)
        while start >= 0:
            struct.pack_into("<H", data, start + offset, 1)
            start = data.find(signature, start + 4)
    path.write_bytes(bytes(data))
    analysis = analyse_file(analyze_keras, path)
    assert analysis.problems == ("encrypted member config.json cannot be analysed",)


def test_dispatch_recognises_keras_by_members(tmp_path: Path) -> None:
    config = functional("m", [layer("Lambda", "l", {"function": LAMBDA_BYTECODE})])
    renamed = keras_zip(tmp_path / "model.zip", config)
    analysis = analyze_path(renamed)
    assert analysis is not None
    assert analysis.format == "keras"
    assert analysis.executable_on_load


# --- fuzz -----------------------------------------------------------------------------------

_FUZZ = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20)
    | st.sampled_from(["Lambda", "TFOpLambda", "__lambda__", "function", "os", "keras.layers"]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(
        st.sampled_from(["module", "class_name", "config", "name", "function", "layers"])
        | st.text(max_size=8),
        children,
        max_size=5,
    ),
    max_leaves=40,
)  # fmt: skip


@_FUZZ
@given(_JSON)
def test_fuzz_config_tree(tmp_path: Path, config: object) -> None:
    analysis = analyse_file(analyze_keras, keras_zip(tmp_path / "fuzz.keras", config))
    assert analysis.format == "keras"
    assert analysis.problems == ()


@_FUZZ
@given(st.binary(max_size=1024))
def test_fuzz_arbitrary_bytes(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.keras"
    path.write_bytes(b"PK\x03\x04" + data)
    assert isinstance(analyse_file(analyze_keras, path), FileAnalysis)
