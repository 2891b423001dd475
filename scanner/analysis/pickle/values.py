"""The values the symbolic machine keeps on its stack and in its memo.

Only what naming an import or sizing a joblib array needs is modelled: short strings, small
ints, imported globals, the instances they make, ``numpy.dtype`` arguments and joblib array
state. Everything else is an opaque stand-in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

#: Longest tuple whose items are modelled (array shapes, ``numpy.dtype`` arguments and state).
MAX_MODELLED_TUPLE = 32
#: Most entries modelled in a joblib array wrapper's state dictionary (it has six).
MAX_MODELLED_DICT = 64


class Opaque:
    """A value the model does not track (its kind is only for debugging)."""

    __slots__ = ("kind",)

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __repr__(self) -> str:
        return f"<{self.kind}>"


ANY: Final = Opaque("object")
LONG_STR: Final = Opaque("string not kept")
MISSING: Final = Opaque("memo key never set")
DROPPED: Final = Opaque("memo value beyond the model limit")


@dataclass(frozen=True, slots=True)
class Global:
    """A callable a pickle imports (GLOBAL, STACK_GLOBAL, INST)."""

    module: str
    name: str

    @property
    def qualified(self) -> str:
        """``module.name``."""
        return f"{self.module}.{self.name}"


@dataclass(slots=True)
class Instance:
    """The result of calling an imported callable."""

    cls: Global
    framework: bool = False
    """A Trainer framework class restored without running its code (``trainer_classes``)."""


@dataclass(slots=True)
class PlainDict:
    """A dict about to become a framework object's state: are all its keys strings?"""

    str_keys: bool = True


@dataclass(slots=True)
class Dtype:
    """A ``numpy.dtype(descr, …)``, sized once its pickled state is known."""

    descr: str
    state_elsize: int | None = None
    structured: bool = False

    def itemsize(self) -> int | None:
        """Bytes per item of a plain dtype; None for one this model cannot size."""
        match = re.fullmatch(r"[<>|=]?([biufcmMOSUVa])(\d{1,6})", self.descr)
        if match is None or self.structured:
            return None
        if self.state_elsize is not None and self.state_elsize > 0:
            return self.state_elsize
        count = int(match.group(2))
        return count * 4 if match.group(1) == "U" else count

    @property
    def has_objects(self) -> bool:
        """Whether the items are Python objects (the array is a nested pickle)."""
        return self.descr.lstrip("<>|=").startswith("O")


@dataclass(slots=True)
class StateDict:
    """The state dictionary of a joblib array wrapper (small, string keys)."""

    entries: dict[str, object] = field(default_factory=dict)


ARRAY_WRAPPERS: Final = frozenset(
    {
        Global("joblib.numpy_pickle", "NumpyArrayWrapper"),
        Global("sklearn.externals.joblib.numpy_pickle", "NumpyArrayWrapper"),
    }
)
NUMPY_DTYPE: Final = frozenset({Global("numpy", "dtype")})
#: ``copyreg._reconstructor(cls, object, None)`` is ``object.__new__(cls)`` (protocols 0-1).
RECONSTRUCTORS: Final = frozenset(
    {Global("copyreg", "_reconstructor"), Global("copy_reg", "_reconstructor")}
)
PLAIN_BASES: Final = (
    (Global("builtins", "object"), None),
    (Global("__builtin__", "object"), None),
)
_SCALARS = (str, int, bool, type(None), Global, Dtype)


def model_tuple(items: list[object]) -> object:
    """A tuple of scalars is modelled (shapes, dtype arguments); nested tuples are not."""
    if len(items) > MAX_MODELLED_TUPLE:
        return ANY
    return tuple(item if isinstance(item, _SCALARS) else ANY for item in items)


_FIXED_MEMO_WEIGHTS: Final[dict[type, int]] = {
    Opaque: 0,
    type(None): 0,
    bool: 0,
    int: 64,
    Global: 64,
    Instance: 64,
    Dtype: 64,
}


def memo_weight(value: object) -> int:
    """Approximate bytes a memo entry keeps alive beyond its slot."""
    weight = _FIXED_MEMO_WEIGHTS.get(type(value))
    if weight is not None:
        return weight
    if isinstance(value, str):
        return 56 + len(value)
    if isinstance(value, tuple):
        return 56 + 8 * len(value)
    if isinstance(value, StateDict):
        return 64 + 100 * len(value.entries)
    return 64
