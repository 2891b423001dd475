"""A verdict on each callable a pickle imports: allowlisted, unsafe (with why), or unknown."""

from __future__ import annotations

from _compat_pickle import IMPORT_MAPPING, NAME_MAPPING
from fnmatch import fnmatchcase
from typing import Final

from scanner.analysis.pickle.callables import MODULE_ALIASES, SAFE_GLOBALS, UNSAFE_GLOBALS
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
#: Dunder module names a pickle legitimately imports from: a class defined in a script, and
#: Python 2's builtins (read as ``builtins``).
_DUNDER_MODULES: Final = frozenset({"__main__", "__builtin__"})


def classify_import(module: str, name: str) -> tuple[Severity, str] | None:
    """Classify the callable ``module.name`` a pickle imports.

    Returns None for an allowlisted tensor, array or container rebuilder, ``(HIGH, reason)``
    for a callable that runs code, commands, files or network, and ``(MEDIUM, reason)`` for
    anything else. A dotted name is also read as the path it walks through module attributes
    (``torch.os.system``, ``argparse._os.system``, ``numpy.__builtins__.eval``); any dunder
    segment on the way is HIGH. Python 2 names (``__builtin__``, ``copy_reg``) are also read
    the way Python 3 maps them when it loads an old-protocol pickle.
    """
    verdict = _classify_path(module, name)
    mapped_module, mapped_name = _python3_name(module, name)
    if (mapped_module, mapped_name) == (module, name):
        return verdict
    if verdict is not None and verdict[0] == Severity.HIGH:
        return verdict
    return _classify_path(mapped_module, mapped_name)


def _python3_name(module: str, name: str) -> tuple[str, str]:
    if (module, name) in NAME_MAPPING:
        mapped: tuple[str, str] = NAME_MAPPING[(module, name)]
        return mapped
    return IMPORT_MAPPING.get(module, module), name


def _classify_path(module: str, name: str) -> tuple[Severity, str] | None:
    """The verdict on ``module.name``, or on what its attribute path reaches when that is HIGH."""
    for reached_module, rest in _reached(module, name):
        reached = _classify_exact(reached_module, rest)
        if reached is not None and reached[0] == Severity.HIGH:
            return reached
    return _classify_exact(module, name)


def _reached(module: str, name: str) -> list[tuple[str, str]]:
    """The modules a dotted ``name`` walks through, each with the rest of the path: an
    attribute may be a module (``torch.os``), a private alias of one (``argparse._os``,
    ``_frozen_importlib``) or a submodule (``torch._C``)."""
    parts = name.split(".")
    found: list[tuple[str, str]] = []
    for split in range(1, len(parts)):
        attribute = parts[split - 1]
        rest = ".".join(parts[split:])
        candidates = [
            f"{module}.{'.'.join(parts[:split])}",
            ".".join(parts[:split]),
            attribute,
            MODULE_ALIASES.get(attribute, attribute),
            attribute.lstrip("_"),
        ]
        found += [(candidate, rest) for candidate in dict.fromkeys(candidates) if candidate]
    return found


def _dunder(part: str) -> bool:
    return len(part) > 4 and part.startswith("__") and part.endswith("__")


def _through_dunder(module: str, parts: list[str]) -> bool:
    """Whether a dunder segment is walked through: anywhere in the module but its first
    segment (``__main__``, ``__builtin__``), or anywhere in the name."""
    segments = module.split(".")
    return (
        any(_dunder(part) for part in segments[1:])
        or (_dunder(segments[0]) and segments[0] not in _DUNDER_MODULES)
        or any(_dunder(part) for part in parts)
    )


def _classify_exact(module: str, name: str) -> tuple[Severity, str] | None:
    parts = name.split(".")
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
    if _through_dunder(module, parts):
        return Severity.HIGH, "reaches through dunder attributes to objects the file does not name"
    for rule_module, reason in _UNSAFE_MODULES:
        if module == rule_module or module.startswith(rule_module + "."):
            return Severity.HIGH, reason
    return Severity.MEDIUM, NOT_ALLOWLISTED
