"""Static analysis of pickles: every callable a pickle would import, found without unpickling.

The opcode stream is walked by a small reader written for this purpose (``pickletools.genops``
reads whole arguments into memory and has no caps). A model of the unpickler's stack and memo
resolves ``STACK_GLOBAL`` operands, so an import hidden behind memo indirection is still named;
operands that are not known strings are reported as a hidden import. Nothing is ever unpickled.

Modules, bottom up: ``callables`` (the allow and deny lists, data only), ``classify`` (a verdict
per imported callable), ``reader`` (capped reading of the byte stream), ``compression``
(joblib's compressed dumps), ``values`` (what the model keeps of stack and memo items),
``findings`` (what a walk saw), ``machine`` (the stack, memo and walker), ``literals`` and
``opcodes`` (one handler per opcode, and the table of them), ``report`` (findings as
``LoadRisk`` records) and ``scan`` (the entry points: one pickle of a stream, or a whole
pickle file).
"""
