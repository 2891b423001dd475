"""The symbolic machine: a model of the unpickler's stack, marks and memo, and the walker.

The walker reads opcodes and runs the handler the opcode table gives for each; calls and
``BUILD`` are modelled only as far as naming imports, spotting Trainer state restored as data
and stepping over joblib's in-stream arrays need.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Final, TypeAlias

from scanner.analysis.pickle.findings import Findings, keep_named_unsafe_imports
from scanner.analysis.pickle.reader import MAX_DECLARED_LENGTH, Stop
from scanner.analysis.pickle.values import (
    ANY,
    ARRAY_WRAPPERS,
    DROPPED,
    MISSING,
    NUMPY_DTYPE,
    PLAIN_BASES,
    RECONSTRUCTORS,
    Dtype,
    Global,
    Instance,
    PlainDict,
    StateDict,
    memo_weight,
)
from scanner.analysis.trainer_classes import RESTORE_FORMS, RestoreForm

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from scanner.analysis.pickle.reader import Reader

#: Most opcodes walked per file (1-2 µs each); real model pickles have well under a million.
MAX_OPCODES = 10_000_000
#: Most items on the modelled stack; only a tuple of over a million items comes near it. With
#: strings kept up to MAX_NAME_BYTES, the model's worst case stays near 350 MB.
MAX_STACK_ITEMS = 1_000_000
#: Most open MARKs; the pickler nests one per container level, and CPython's recursion limit
#: keeps real pickles under a few thousand.
MAX_MARK_DEPTH = 100_000
#: Most memo entries (pickle writers number them 0, 1, 2, …).
MAX_MEMO_ENTRIES = MAX_OPCODES
#: Most memo entries with keys out of sequence (only hand-made pickles have any).
MAX_SPARSE_MEMO_ENTRIES = 100_000
#: Runs of one memo opcode (or of a value pushed and popped) that the walker applies at once: a
#: file of millions of them is walked in linear time at C speed. The key is the run's opcode.
MEMO_RUNS: Final[dict[int, re.Pattern[bytes]]] = {
    0x94: re.compile(rb"\x94+"),  # MEMOIZE
    ord("q"): re.compile(rb"(?:q.)+", re.DOTALL),  # BINPUT
    ord("r"): re.compile(rb"(?:r....)+", re.DOTALL),  # LONG_BINPUT
    ord("p"): re.compile(rb"(?:p[0-9]{1,18}\n)+"),  # PUT
    ord("h"): re.compile(rb"(?:h.0)+", re.DOTALL),  # BINGET, POP
    ord("j"): re.compile(rb"(?:j....0)+", re.DOTALL),  # LONG_BINGET, POP
    ord("g"): re.compile(rb"(?:g[0-9]{1,18}\n0)+"),  # GET, POP
    ord("N"): re.compile(rb"(?:N0)+"),  # NONE, POP
}
_PUT_KEY = re.compile(rb"[0-9]+")
#: Bytes after a run opcode up to the next instruction, for the fixed-size ones.
_RUN_STEPS: Final = {0x94: 0, ord("q"): 1, ord("r"): 4, ord("h"): 2, ord("j"): 5, ord("N"): 1}
#: Bytes of one fixed-size "push, then POP" pair of ``MEMO_RUNS``.
_PAIR_BYTES: Final = {ord("h"): 3, ord("j"): 6, ord("N"): 2}
#: A run of any of those instructions, mixed, and its instructions: a PUT or MEMOIZE whole, b""
#: for a value pushed then popped.
_MIXED_RUN = re.compile(
    rb"(?:\x94|q.|r....|p[0-9]{1,18}\n|h.0|j....0|g[0-9]{1,18}\n0|N0)+", re.DOTALL
)
_MIXED_TOKEN = re.compile(
    rb"(\x94|q.|r....|p[0-9]{1,18}\n)|h.0|j....0|g[0-9]{1,18}\n0|N0", re.DOTALL
)
_MEMOIZE: Final = b"\x94"
#: Runs of instructions that leave the stack, the marks and the memo as they were: a constant
#: pushed then popped (NONE, EMPTY_LIST/DICT/TUPLE, NEWTRUE/NEWFALSE, BININT1/2/BININT, then
#: POP), a MARK popped at once (POP or POP_MARK: CPython's POP takes the mark when nothing is
#: above it). Applied at regex speed, they cost the opcode budget one opcode per
#: ``_NOOP_BYTES_PER_OPCODE`` bytes: padding cannot spend the budget before a payload.
_NOOP_RUN = re.compile(rb"(?:[N\]})\x88\x89]0|K.0|M..0|J....0|\([01])+", re.DOTALL)
#: The bytes from a no-op pair's first opcode to its POP, by that opcode.
_NOOP_STEPS: Final = {
    **dict.fromkeys(b"N]})\x88\x89(", 0),
    ord("K"): 1,
    ord("M"): 2,
    ord("J"): 4,
}
_POPS: Final = frozenset(b"01")
_NOOP_BYTES_PER_OPCODE: Final = 64
#: Approximate bytes of modelled values (strings, small tuples) the memo keeps; beyond that,
#: values are remembered as unknown and resolving an import through them is reported.
MAX_MEMO_MODEL_BYTES = 64 * 1024 * 1024


@dataclass(slots=True)
class Budget:
    """Opcodes left for the walks of one file (shared, so nested walks count)."""

    opcodes_left: int = field(default_factory=lambda: MAX_OPCODES)


class Memo:
    """The unpickler's memo: dense for the keys pickle writers use, sparse for the rest."""

    __slots__ = ("_dense", "_model_bytes", "_sparse", "dropped_any")

    def __init__(self) -> None:
        self._dense: list[object] = []
        self._sparse: dict[int, object] = {}
        self._model_bytes = 0
        self.dropped_any = False

    @property
    def size(self) -> int:
        """Entries held: the key MEMOIZE uses next."""
        return len(self._dense) + len(self._sparse)

    def put(self, key: int, value: object) -> None:
        """Remember ``value`` under ``key`` (PUT, MEMOIZE); past the model's byte limit, as
        ``DROPPED``."""
        dense = self._dense
        weight = memo_weight(value)
        if not weight and key == len(dense) and key < MAX_MEMO_ENTRIES and not self._sparse:
            dense.append(value)  # the common case: the next key, an untracked value
            return
        if weight:
            if self._model_bytes + weight > MAX_MEMO_MODEL_BYTES:
                value = DROPPED
                self.dropped_any = True
            else:
                self._model_bytes += weight
        if key < 0:
            return  # no loader accepts it; a later GET finds nothing
        if key < len(dense):
            dense[key] = value
        elif key == len(dense):
            if key >= MAX_MEMO_ENTRIES:
                raise Stop(f"more than {MAX_MEMO_ENTRIES} memo entries", cap=True)
            self._sparse.pop(key, None)
            dense.append(value)
            while self._sparse and len(dense) in self._sparse:
                dense.append(self._sparse.pop(len(dense)))
        else:
            if key not in self._sparse and len(self._sparse) >= MAX_SPARSE_MEMO_ENTRIES:
                raise Stop(
                    f"more than {MAX_SPARSE_MEMO_ENTRIES} out-of-sequence memo keys", cap=True
                )
            self._sparse[key] = value

    def dense_below(self, key: int) -> bool:
        """Whether every key up to ``key`` is held densely and no key out of sequence is."""
        return not self._sparse and key < len(self._dense)

    def memoize(self, value: object, count: int) -> None:
        """``count`` MEMOIZEs of ``value`` at once (each under the next key)."""
        dense = self._dense
        weight = memo_weight(value)
        if self._sparse or len(dense) + count > MAX_MEMO_ENTRIES:
            for _ in range(count):
                self.put(self.size, value)
            return
        kept = count
        if weight:
            kept = max(0, min(count, (MAX_MEMO_MODEL_BYTES - self._model_bytes) // weight))
            self._model_bytes += kept * weight
        dense.extend([value] * kept)
        if kept < count:
            dense.extend([DROPPED] * (count - kept))
            self.dropped_any = True

    def get(self, key: int) -> object:
        """The value under ``key`` (GET), ``MISSING`` if never set."""
        if 0 <= key < len(self._dense):
            return self._dense[key]
        return self._sparse.get(key, MISSING)


class Mode(StrEnum):
    """How a walk treats what it reads."""

    MAIN = "main"
    """A pickle a loader reads: joblib arrays are stepped over, nested pickles walked."""
    NESTED = "nested"
    """A pickle ``pickle.load`` reads inside another (a joblib object array)."""
    FRAGMENT = "fragment"
    """Bytes another loader would read as opcodes: lenient, only named imports count."""


class Walker:
    """Walks one pickle's opcodes over a model of the unpickler's stack and memo."""

    def __init__(
        self, reader: Reader, budget: Budget, mode: Mode, handlers: Sequence[Handler | None]
    ) -> None:
        self.reader = reader
        self.budget = budget
        self.mode = mode
        self.handlers = handlers
        """The handler of each opcode byte (``opcodes.HANDLERS``); None: an invalid opcode."""
        self.findings = Findings()
        self.stack: list[object] = []
        self.marks: list[int] = []
        self.fence = 0
        """Stack items below the innermost mark are out of reach (as in CPython)."""
        self.memo = Memo()
        self.protocol: int | None = None
        self.result: object = ANY
        self.complete = False
        self.underflowed = False

    # -- driving ------------------------------------------------------------------------------

    def run(self) -> None:
        """Walk to STOP; on failure record it in ``findings.failure``.

        A cap of this analyser ends the model of the stack, not the reading: the rest of the
        stream is still read, so a dangerous import named after the cap is reported.
        """
        try:
            self._loop()
        except Stop as stop:
            self.findings.note_failure(stop)
            if stop.cap and self.mode != Mode.FRAGMENT:
                self._read_on_after_cap()
        else:
            self.complete = self.findings.failure is None

    def _read_on_after_cap(self) -> None:
        """Walk what follows a cap as fragments (lenient, an empty stack), keeping the unsafe
        imports they name: 200,000 MARKs before a payload must not hide it. Each fragment ends
        at STOP, at the end of the data or at another cap; the opcode budget bounds them all."""
        position = -1
        while self.reader.position != position:
            position = self.reader.position
            fragment = Walker(self.reader, self.budget, Mode.FRAGMENT, self.handlers)
            try:
                fragment._loop()
            except Stop as stop:
                keep_named_unsafe_imports(self.findings, fragment.findings)
                if not stop.cap:
                    return
            else:
                keep_named_unsafe_imports(self.findings, fragment.findings)
                return

    def _loop(self) -> None:
        reader = self.reader
        budget = self.budget
        handlers = self.handlers
        while True:
            budget.opcodes_left -= 1
            if budget.opcodes_left < 0:
                raise Stop(f"more than {MAX_OPCODES} opcodes", cap=True)
            code = reader.byte()
            if code < 0:
                raise Stop(f"the pickle ends at byte {reader.position} before its STOP opcode")
            step = _NOOP_STEPS.get(code)
            if step is not None and reader.byte_at(step) in _POPS:
                reader.unread_byte()
                run = reader.take_run(_NOOP_RUN)
                if run:
                    self._spend(1 + len(run) // _NOOP_BYTES_PER_OPCODE)
                    continue
                reader.byte()
            if code in MEMO_RUNS and len(self.stack) > self.fence and self._run_ahead(code):
                reader.unread_byte()
                if self._memo_run(code):
                    continue
                reader.byte()
            handler = handlers[code]
            if handler is None:
                raise Stop(f"invalid opcode 0x{code:02x} at byte {reader.position - 1}")
            if handler(self):
                return

    def _run_ahead(self, code: int) -> bool:
        """Whether the instruction after this one (its opcode read) may continue a run: a
        single PUT, as real pickles write after each object, is left to its handler."""
        reader = self.reader
        step = _RUN_STEPS.get(code)
        if step is None:  # PUT or GET-POP: a text argument up to a newline
            end = reader.line_end()
            if end < 0:
                return False
            step = end + (2 if code == ord("g") else 1)
        return reader.byte_at(step) in MEMO_RUNS

    def _memo_run(self, code: int) -> bool:
        """Apply a run of one memo opcode at once (the stack is unchanged throughout, so every
        PUT stores the same value); False when there is none."""
        if len(self.stack) >= MAX_STACK_ITEMS:
            return False
        run = self.reader.take_run(_MIXED_RUN)
        if not run:
            return False
        if MEMO_RUNS[code].fullmatch(run) is None:
            self._mixed_memo_run(run)
            return True
        value = self.stack[-1]
        memo = self.memo
        if code == 0x94:
            count = len(run)
            self._spend(count)
            memo.memoize(value, count)
        elif code == ord("q"):
            self._spend(len(run) // 2)
            self._put_keys(list(run[1::2]), value)
        elif code == ord("r"):
            self._spend(len(run) // 5)
            self._put_keys([key for (key,) in struct.iter_unpack("<xI", run)], value)
        elif code == ord("p"):
            count = run.count(b"\n")
            self._spend(count)
            first = run[: run.index(b"\n") + 1]
            if run == first * count:  # one key over and over
                self._put_keys([int(first[1:-1])], value)
            else:  # b"p0\np1\n" -> [b"0", b"1"]
                self._put_keys(list(map(int, run[1:-1].split(b"\np"))), value)
        else:  # a value pushed then popped: nothing changes
            pairs = run.count(b"\n") if code == ord("g") else len(run) // _PAIR_BYTES[code]
            self._spend(2 * pairs)
        return True

    def _mixed_memo_run(self, run: bytes) -> None:
        """A run of different memo instructions: every PUT stores the top of the stack; when
        every explicit key is already held densely, their order with MEMOIZE cannot matter."""
        value = self.stack[-1]
        memo = self.memo
        tokens: list[bytes] = _MIXED_TOKEN.findall(run)
        memoizes = tokens.count(_MEMOIZE)
        pairs = tokens.count(b"")
        self._spend(len(tokens) + pairs)
        distinct = set(tokens) - {b"", _MEMOIZE}
        if memo.dense_below(max(map(_put_key, distinct), default=-1)):
            for token in distinct:
                memo.put(_put_key(token), value)
            memo.memoize(value, memoizes)
            return
        for token in tokens:  # in order, one at a time
            if token == _MEMOIZE:
                memo.put(memo.size, value)
            elif token:
                memo.put(_put_key(token), value)

    def _put_keys(self, keys: list[int], value: object) -> None:
        """PUT ``value`` under each of ``keys``: the next keys in order are appended at once."""
        memo = self.memo
        first = keys[0]
        if first == memo.size and keys == list(range(first, first + len(keys))):
            memo.memoize(value, len(keys))
            return
        for key in dict.fromkeys(keys):
            memo.put(key, value)

    def _spend(self, opcodes: int) -> None:
        """Count a run's opcodes against the budget (the loop counted its first already)."""
        self.budget.opcodes_left -= opcodes - 1
        if self.budget.opcodes_left < 0:
            raise Stop(f"more than {MAX_OPCODES} opcodes", cap=True)

    # -- stack --------------------------------------------------------------------------------

    def push(self, value: object) -> None:
        """Push ``value``; past ``MAX_STACK_ITEMS`` the walk stops."""
        if len(self.stack) >= MAX_STACK_ITEMS:
            raise Stop(f"more than {MAX_STACK_ITEMS} items on the pickle stack", cap=True)
        self.stack.append(value)

    def push_mark(self) -> None:
        """Open a MARK at the top of the stack."""
        if len(self.marks) >= MAX_MARK_DEPTH:
            raise Stop(f"more than {MAX_MARK_DEPTH} nested MARKs", cap=True)
        self.fence = len(self.stack)
        self.marks.append(self.fence)

    def drop_mark(self) -> int:
        """Remove the innermost mark (there must be one) and return its stack position."""
        start = self.marks.pop()
        self.fence = self.marks[-1] if self.marks else 0
        return start

    def note_underflow(self) -> None:
        """Record (once) that an opcode wanted more items than the stack holds."""
        if self.mode == Mode.FRAGMENT:
            return
        if not self.underflowed:
            self.underflowed = True
            self.findings.add_problem(
                f"stack underflow at byte {self.reader.position - 1} (a loader fails there)"
            )

    def pop(self) -> object:
        """Pop the top item; ``ANY`` (and an underflow) when the mark fences it off."""
        stack = self.stack
        if len(stack) <= self.fence:
            self.note_underflow()
            return ANY
        return stack.pop()

    def top(self) -> object:
        """The top item, left in place; ``ANY`` (and an underflow) when there is none."""
        stack = self.stack
        if len(stack) <= self.fence:
            self.note_underflow()
            return ANY
        return stack[-1]

    def replace_top(self, value: object) -> None:
        """Replace the top item, if there is one within reach."""
        if len(self.stack) > self.fence:
            self.stack[-1] = value

    def pop_mark(self) -> list[object]:
        """Pop the items above the innermost mark, and the mark."""
        if not self.marks:
            self.note_underflow()
            return []
        start = self.drop_mark()
        items = self.stack[start:]
        del self.stack[start:]
        return items

    # -- imports and calls --------------------------------------------------------------------

    def import_global(self, module: str, name: str) -> Global:
        """Record the import of ``module.name`` and return it as a stack value."""
        found = Global(module, name)
        self.findings.add_import(found)
        return found

    def hidden_import(self, how: str) -> None:
        """Record an import whose callable the file does not name, by how it is hidden."""
        hidden = self.findings.hidden_imports
        hidden[how] = hidden.get(how, 0) + 1

    def call(self, callee: object, args: object, how: str) -> object:
        """The modelled result of calling ``callee`` with ``args`` by opcode ``how``."""
        self.findings.calls += 1
        if not isinstance(callee, Global):
            return ANY
        framework = self._framework_call(callee, args, how)
        if framework is not None:
            return framework
        if callee in NUMPY_DTYPE and isinstance(args, tuple) and args:
            descr = args[0]
            if isinstance(descr, str):
                return Dtype(descr)
        return Instance(callee)

    def _framework_call(self, callee: Global, args: object, how: str) -> Instance | None:
        """A Trainer class restored by its form is data; any other use of one is a misuse."""
        cls = callee
        if callee in RECONSTRUCTORS and isinstance(args, tuple) and args:
            # copyreg._reconstructor(cls, object, None): cls.__new__(cls), as NEWOBJ does.
            first = args[0]
            if isinstance(first, Global) and (first.module, first.name) in RESTORE_FORMS:
                cls, args, how = first, () if args[1:] in PLAIN_BASES else args, "newobj"
        passed = args if isinstance(args, tuple) else ()
        for item in passed:
            if isinstance(item, Global) and (item.module, item.name) in RESTORE_FORMS:
                self.findings.framework_misuse[item] = None
        form = RESTORE_FORMS.get((cls.module, cls.name))
        if form is None:
            return None if cls is callee else Instance(callee)
        if form is RestoreForm.STATE and how == "newobj" and args == ():
            return Instance(cls, framework=True)
        one_string = isinstance(args, tuple) and len(args) == 1 and isinstance(args[0], str)
        if not (form is RestoreForm.ENUM and how == "reduce" and one_string):
            self.findings.framework_misuse[cls] = None
        return Instance(cls)

    def build(self) -> None:
        """Model BUILD: the state popped is applied to the object below it."""
        state = self.pop()
        target = self.top()
        self.findings.calls += 1
        if isinstance(target, Instance) and target.framework:
            # Every BUILD on it must be a plain dict update (a 2-tuple's slots use setattr).
            if not (isinstance(state, PlainDict) and state.str_keys):
                self.findings.framework_misuse[target.cls] = None
            return
        if isinstance(target, Global):
            self.findings.rebound_globals[target.qualified] = None
        elif isinstance(target, Dtype):
            _apply_dtype_state(target, state)
        elif (
            isinstance(target, Instance) and target.cls in ARRAY_WRAPPERS and self.mode == Mode.MAIN
        ):
            self._step_over_joblib_array(state)
            self.replace_top(ANY)

    # -- joblib arrays written inside the pickle stream ---------------------------------------

    def _step_over_joblib_array(self, state: object) -> None:
        """Step over the array joblib wrote right after this BUILD (joblib.load reads it)."""
        start = self.reader.position
        if not isinstance(state, StateDict):
            raise Stop(
                f"a joblib array at byte {start} has a state this analyser cannot read", cap=True
            )
        dtype = state.entries.get("dtype")
        shape = state.entries.get("shape")
        if not isinstance(dtype, Dtype) or not isinstance(shape, tuple):
            raise Stop(f"a joblib array at byte {start} has no readable dtype and shape", cap=True)
        if dtype.has_objects:
            # joblib.load unpickles object arrays with pickle.load: a whole nested pickle.
            nested = Walker(self.reader, self.budget, Mode.NESTED, self.handlers)
            nested.run()
            failure = nested.findings.failure
            nested.findings.failure = None
            self.findings.merge(nested.findings)
            if failure is not None:
                raise failure
            return
        itemsize = dtype.itemsize()
        dims = [size for size in shape if type(size) is int and size >= 0]
        if itemsize is None or len(dims) != len(shape):
            raise Stop(
                f"a joblib array at byte {start} has a dtype or shape this analyser cannot size",
                cap=True,  # a limit of this analyser, not of joblib
            )
        self._walk_fragment(start)
        if state.entries.get("numpy_array_alignment_bytes") is not None:
            padding = self.reader.byte()
            if padding < 0:
                raise Stop(f"a joblib array at byte {start} runs past the end of the data")
            self.reader.skip(padding, "joblib array padding")
        count = 1
        for size in dims:
            count *= size
            if count * itemsize > MAX_DECLARED_LENGTH:
                break  # skip() reports it; the product must not grow without bound
        self.reader.skip(count * itemsize, "a joblib array")

    def _walk_fragment(self, start: int) -> None:
        """Read the array bytes as opcodes too: plain ``pickle.load`` would do exactly that."""
        if not self.reader.seekable:
            return
        fragment = Walker(self.reader, self.budget, Mode.FRAGMENT, self.handlers)
        fragment.run()
        keep_named_unsafe_imports(self.findings, fragment.findings)
        if fragment.findings.failure is not None and fragment.findings.failure.cap:
            raise fragment.findings.failure
        self.reader.seek(start)


def _put_key(token: bytes) -> int:
    """The memo key of a BINPUT, LONG_BINPUT or PUT instruction."""
    if token[0] == ord("q"):
        return token[1]
    if token[0] == ord("r"):
        return int.from_bytes(token[1:], "little")
    return int(token[1:-1])


def _apply_dtype_state(dtype: Dtype, state: object) -> None:
    # numpy's dtype state: (version, byte order, subarray, names, fields, elsize, alignment,
    # flags[, metadata]); only plain (unstructured) dtypes are sized.
    if not isinstance(state, tuple) or len(state) < 8:
        dtype.structured = True
        return
    subarray, names, fields, elsize = state[2], state[3], state[4], state[5]
    if subarray is not None or names is not None or fields is not None:
        dtype.structured = True
    if isinstance(elsize, int) and not isinstance(elsize, bool):
        dtype.state_elsize = elsize


#: An opcode's handler: reads its argument, updates the machine, returns True at STOP.
Handler: TypeAlias = "Callable[[Walker], bool]"
