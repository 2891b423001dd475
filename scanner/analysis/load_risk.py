"""What a model file would do when loaded, found without loading it: the shared records.

Static analysers (pickle opcodes, PyTorch / NumPy / Keras archives, ONNX external data, chat
templates) return a ``FileAnalysis``; ``scanner.sources`` turns its risks into findings and file
properties, and an executable-on-load file into a component of unknown origin.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from scanner.core.model import Severity


class RiskKind(StrEnum):
    """Why a file is a risk on load."""

    UNSAFE_IMPORT = "unsafe-import"
    """A pickle imports a callable that runs commands, code, files or network (os.system, …)."""
    UNKNOWN_IMPORT = "unknown-import"
    """A pickle imports a callable outside the allowlist of tensor-rebuilding globals."""
    EMBEDDED_CODE = "embedded-code"
    """Code shipped inside the file: TorchScript ``code/``, a Keras Lambda layer, marshalled
    bytecode, a ``*.py`` member."""
    EXTERNAL_DATA = "external-data"
    """An ONNX tensor whose external data lives at a hostile location (absolute, ``..``)."""
    TEMPLATE = "template"
    """A chat template that reaches beyond formatting (dunder attributes, imports, …)."""
    UNREADABLE = "unreadable"
    """The file could not be analysed (encrypted archive, truncated stream, caps hit): what it
    would do on load is unknown."""
    FRAMEWORK_STATE = "framework-state"
    """A pickle restores training-framework classes (a Trainer's arguments, accelerate state,
    their enums) in the one form that runs none of their code: data, not code."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadRisk:
    """One reason a file would do more than rebuild tensors when loaded."""

    kind: RiskKind
    severity: Severity
    message: str
    """One sentence naming what was seen, e.g. ``imports posix.system (runs shell commands)``."""
    member: str | None = None
    """Inside an archive: the member it was seen in (``archive/data.pkl``)."""
    callables: tuple[str, ...] = ()
    """``module.qualname`` of the imported callables the risk is about."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FileAnalysis:
    """What static analysis of one file found."""

    format: str
    """``pickle``, ``pytorch-zip``, ``pytorch-legacy``, ``torchscript``, ``numpy``, ``npz``,
    ``joblib``, ``keras``, ``onnx``, ``gguf``, ``tokenizer-config``, …"""
    imports: tuple[str, ...] = ()
    """Every callable the file's pickles import (``module.qualname``), sorted, unique."""
    risks: tuple[LoadRisk, ...] = ()
    executable_on_load: bool = False
    """True when loading the file with its usual loader would run code that is not a known
    tensor-rebuilding routine (an unsafe or unknown import, embedded code)."""
    problems: tuple[str, ...] = ()
    """What could not be read, one sentence each (the file, or a member, named)."""
