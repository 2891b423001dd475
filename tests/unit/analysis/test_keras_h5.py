"""Legacy Keras HDF5 files: the root group's ``model_config`` analysed as ``config.json`` is.

Sources: keras/src/legacy/saving/legacy_h5_format.py (``save_model_to_hdf5`` writes the root
attributes ``keras_version``, ``backend`` and ``model_config``, JSON encoded to UTF-8 bytes;
``load_model_from_hdf5`` rebuilds every layer it names) and CVE-2025-9905 / GHSA-36rr-ww3j-vrjv
(a Lambda layer in an ``.h5`` model runs on load, safe_mode notwithstanding). HDF5 cannot be
written with the standard library: the files are written with h5py's attribute API, as Keras
writes them; nothing is loaded.
"""

from __future__ import annotations

import io
import json
import sys
import time
from pathlib import Path

import pytest

from scanner.analysis import h5_child
from scanner.analysis.dispatch import analyze_path, analyze_stream
from scanner.analysis.load_risk import RiskKind
from scanner.core.model import Severity

h5py = pytest.importorskip("h5py")

# tf.keras 2 serialisation of a Lambda layer: base64 marshalled bytecode (here a stand-in).
LAMBDA_MODEL = {
    "class_name": "Sequential",
    "config": {
        "name": "sequential",
        "layers": [
            {
                "class_name": "Lambda",
                "config": {
                    "name": "lambda",
                    "function": [
                        "4wEAAAAAAAAAAAAAAAEAAAACAAAAQwAAAHMEAAAAfABTAKkBTqkAKQHaAXhyAgAAAHICAAAA",
                        None,
                        None,
                    ],
                    "function_type": "lambda",
                },
            }
        ],
    },
}
DENSE_MODEL = {
    "class_name": "Sequential",
    "config": {
        "name": "sequential",
        "layers": [{"class_name": "Dense", "config": {"name": "dense", "units": 2}}],
    },
}


def keras_h5(path: Path, config: object, *, as_bytes: bool = True) -> Path:
    text = json.dumps(config)
    with h5py.File(path, "w") as document:
        document.attrs["keras_version"] = "2.15.0"
        document.attrs["backend"] = "tensorflow"
        document.attrs["model_config"] = text.encode("utf-8") if as_bytes else text
        document.create_group("model_weights")
    return path


@pytest.mark.parametrize("as_bytes", [True, False], ids=["bytes", "str"])
def test_a_lambda_layer_in_an_h5_model_is_high(tmp_path: Path, as_bytes: bool) -> None:
    analysis = analyze_path(keras_h5(tmp_path / "model.h5", LAMBDA_MODEL, as_bytes=as_bytes))
    assert analysis is not None
    assert analysis.format == "keras-h5"
    assert any(
        r.kind is RiskKind.EMBEDDED_CODE and r.severity is Severity.HIGH for r in analysis.risks
    )


def test_an_h5_model_is_recognised_by_its_magic(tmp_path: Path) -> None:
    analysis = analyze_path(keras_h5(tmp_path / "model.weights", LAMBDA_MODEL))
    assert analysis is not None
    assert analysis.format == "keras-h5"


def test_a_plain_h5_model_raises_no_high(tmp_path: Path) -> None:
    analysis = analyze_path(keras_h5(tmp_path / "model.h5", DENSE_MODEL))
    assert analysis is not None
    assert all(risk.severity is not Severity.HIGH for risk in analysis.risks)


def test_weights_only_h5_has_nothing_to_say(tmp_path: Path) -> None:
    path = tmp_path / "tf_model.h5"
    with h5py.File(path, "w") as document:
        document.attrs["layer_names"] = [b"dense"]
        document.attrs["keras_version"] = "2.15.0"
    assert analyze_path(path) is None


def test_an_oversized_or_odd_model_config_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "model.h5"
    with h5py.File(path, "w") as document:
        document.attrs["model_config"] = [1, 2, 3]
    analysis = analyze_path(path)
    assert analysis is not None
    assert [r.kind for r in analysis.risks] == [RiskKind.UNREADABLE]


def test_a_corrupt_hdf5_file_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "model.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    analysis = analyze_path(path)
    assert analysis is not None
    assert [r.kind for r in analysis.risks] == [RiskKind.UNREADABLE]


def test_without_h5py_an_hdf5_file_is_unreadable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = keras_h5(tmp_path / "model.h5", LAMBDA_MODEL)
    monkeypatch.setitem(sys.modules, "h5py", None)  # import h5py now raises ImportError
    analysis = analyze_path(path)
    assert analysis is not None
    assert [r.kind for r in analysis.risks] == [RiskKind.UNREADABLE]
    assert "h5py is not installed" in analysis.risks[0].message


def test_a_model_config_over_the_limit_is_unreadable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("scanner.analysis.keras_h5.MAX_CONFIG_BYTES", 64)
    analysis = analyze_path(keras_h5(tmp_path / "model.h5", LAMBDA_MODEL))
    assert analysis is not None
    assert [r.kind for r in analysis.risks] == [RiskKind.UNREADABLE]
    assert "exceeds the 64-byte limit" in analysis.risks[0].message


#: A Keras HDF5 file with a few bytes changed (found by fuzzing a model h5py wrote): libhdf5
#: (h5py 3.16, HDF5 2.0) never returns from reading its root attribute.
HANGING_H5 = Path(__file__).parent / "data" / "keras_h5_parse_hang.h5"


def test_a_file_that_keeps_libhdf5_busy_is_unreadable_after_the_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(h5_child, "PARSE_TIMEOUT_S", 3.0)
    started = time.monotonic()
    analysis = analyze_path(HANGING_H5)
    assert time.monotonic() - started < 15
    assert analysis is not None
    assert [risk.kind for risk in analysis.risks] == [RiskKind.UNREADABLE]


def test_the_parse_is_stopped_at_the_timeout_whatever_the_reader_does(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(h5_child, "PARSE_TIMEOUT_S", 1.0)
    monkeypatch.setattr(h5_child, "_CHILD", "import time\ntime.sleep(60)\n")
    path = keras_h5(tmp_path / "model.h5", DENSE_MODEL)
    started = time.monotonic()
    analysis = analyze_path(path)
    assert time.monotonic() - started < 10
    assert analysis is not None
    (risk,) = analysis.risks
    assert risk.kind is RiskKind.UNREADABLE
    assert "did not finish within 1 s" in risk.message


def test_a_stream_that_keeps_libhdf5_busy_is_unreadable_after_the_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Not a file on disk (a ranged Hub file, say): the child is served the bytes read by read,
    # and stopped all the same.
    monkeypatch.setattr(h5_child, "PARSE_TIMEOUT_S", 3.0)
    started = time.monotonic()
    analysis = analyze_stream(io.BytesIO(HANGING_H5.read_bytes()), "model.h5")
    assert time.monotonic() - started < 15
    assert analysis is not None
    assert [risk.kind for risk in analysis.risks] == [RiskKind.UNREADABLE]
    assert "did not finish within 3 s" in analysis.risks[0].message


def test_a_lambda_in_a_stream_is_found_through_the_served_child(tmp_path: Path) -> None:
    data = keras_h5(tmp_path / "model.h5", LAMBDA_MODEL).read_bytes()
    served = analyze_stream(io.BytesIO(data), "model.h5")
    on_disk = analyze_path(tmp_path / "model.h5")
    assert served is not None
    assert on_disk is not None
    assert served.risks == on_disk.risks
    assert Severity.HIGH in {risk.severity for risk in served.risks}
