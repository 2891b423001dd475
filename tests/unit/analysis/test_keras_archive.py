from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path
from typing import BinaryIO

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.analysis import keras_archive
from scanner.analysis.dispatch import analyze_path
from scanner.analysis.keras_archive import analyze_keras_members
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
            "calls keras.models.load_model on load (disables safe mode or loads or fetches "
            "other files)",
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
