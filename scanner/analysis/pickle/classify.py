"""A verdict on each callable a pickle imports: allowlisted, unsafe (with why), or unknown."""

from __future__ import annotations

from _compat_pickle import IMPORT_MAPPING, NAME_MAPPING
from fnmatch import fnmatchcase
from typing import Final

from scanner.analysis.pickle.callables import SAFE_GLOBALS, UNSAFE_GLOBALS
from scanner.core.model import Severity

#: The reason given for a callable that is on neither list.
NOT_ALLOWLISTED: Final = "not on the allowlist of tensor-rebuilding globals"


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
    return Severity.MEDIUM, NOT_ALLOWLISTED
