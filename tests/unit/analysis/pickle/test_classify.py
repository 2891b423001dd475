"""Tests for the verdict on each imported callable, over every allow and deny rule."""

from __future__ import annotations

import pytest

from scanner.analysis.pickle.callables import SAFE_GLOBALS, UNSAFE_GLOBALS
from scanner.analysis.pickle.classify import classify_import
from scanner.core.model import Severity
from tests.unit.analysis.pickle.pickles import HIGH, MEDIUM


@pytest.mark.parametrize(
    ("module", "name", "expected"),
    [
        ("posix", "system", HIGH),
        ("os", "system", HIGH),
        ("os.path", "join", HIGH),
        ("builtins", "eval", HIGH),
        ("__builtin__", "eval", HIGH),  # read as Python 3 reads protocol-0 pickles
        ("builtins", "getattr", HIGH),
        ("builtins", "eval.__call__", HIGH),
        ("torch", "load", HIGH),
        ("torch.storage", "_load_from_bytes", HIGH),
        ("torch.jit", "load", HIGH),
        ("httplib", "HTTPSConnection", HIGH),
        ("pathlib", "Path.write_text", HIGH),
        ("uuid", "_get_command_stdout", HIGH),
        ("types", "CodeType", HIGH),
        ("collections", "OrderedDict.__init__.__globals__", HIGH),
        ("collections", "OrderedDict", None),
        ("copy_reg", "_reconstructor", None),  # Python 2 name of copyreg
        ("__builtin__", "set", None),
        ("builtins", "set", None),
        ("torch._utils", "_rebuild_tensor_v2", None),
        ("torch", "FloatStorage", None),
        ("torch", "bfloat16", None),
        ("torch.jit._pickle", "build_intlist", None),
        ("numpy.core.multiarray", "_reconstruct", None),
        ("numpy.dtypes", "Float64DType", None),
        ("pathlib", "PosixPath", None),
        ("types", "SimpleNamespace", None),
        ("uuid", "UUID", None),
        ("torch", "_C.FloatStorage", MEDIUM),  # a wildcard never matches a dotted name
        ("torch", "_utils", MEDIUM),
        ("functools", "partial", HIGH),  # a wrapper that calls what it wraps
        ("functools", "total_ordering", MEDIUM),
        ("builtins", "print", MEDIUM),
        ("posixpath", "join", MEDIUM),
        ("sklearn.preprocessing._data", "StandardScaler", MEDIUM),
    ],
)
def test_classify_import(module: str, name: str, expected: Severity | None) -> None:
    verdict = classify_import(module, name)
    assert (verdict[0] if verdict else None) == expected
    if expected == MEDIUM:
        assert verdict == (MEDIUM, "not on the allowlist of tensor-rebuilding globals")


def _example(rule: str) -> tuple[str, str]:
    module, _, pattern = rule.partition(":")
    return module, (pattern or "anything").replace("*", "Float")


@pytest.mark.parametrize(("rule", "reason"), UNSAFE_GLOBALS)
def test_every_unsafe_rule_is_high(rule: str, reason: str) -> None:
    module, name = _example(rule)
    assert classify_import(module, name) == (HIGH, reason)
    if ":" not in rule:
        assert classify_import(f"{module}.sub", name) == (HIGH, reason)


@pytest.mark.parametrize("rule", SAFE_GLOBALS)
def test_every_safe_rule_is_allowed(rule: str) -> None:
    assert classify_import(*_example(rule)) is None
