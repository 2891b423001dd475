"""Trainer checkpoint classes restored as data, and every other use of them still reported.

Pickles are built opcode by opcode; nothing is ever unpickled. The real files are the corpus's
Hugging Face Trainer checkpoints (skipped when the corpus is absent).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from scanner.analysis.dispatch import analyze_path
from scanner.analysis.load_risk import RiskKind
from scanner.analysis.pickle.report import PickleScan
from scanner.analysis.pickle.scan import scan_pickle_stream
from scanner.analysis.trainer_classes import RESTORE_FORMS, TRAINER_CLASSES, RestoreForm
from scanner.core.model import Severity

ARGS = ("transformers.training_args", "TrainingArguments")
STRATEGY = ("transformers.trainer_utils", "IntervalStrategy")

PROTO2 = b"\x80\x02"
EMPTY_TUPLE = b")"
EMPTY_DICT = b"}"
MARK = b"("
NEWOBJ = b"\x81"
REDUCE = b"R"
BUILD = b"b"
SETITEMS = b"u"
TUPLE1 = b"\x85"
TUPLE2 = b"\x86"
TUPLE3 = b"\x87"
NONE = b"N"
STOP = b"."


def glob(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def text(value: str) -> bytes:
    raw = value.encode()
    return b"X" + len(raw).to_bytes(4, "little") + raw


def integer(value: int) -> bytes:
    return b"K" + bytes([value])


def enum(module: str, name: str, value: bytes) -> bytes:
    return glob(module, name) + value + TUPLE1 + REDUCE


def restored(state: bytes, cls: tuple[str, str] = ARGS) -> bytes:
    """``cls.__new__(cls)`` then BUILD(state): the form torch.save writes."""
    return PROTO2 + glob(*cls) + EMPTY_TUPLE + NEWOBJ + state + BUILD + STOP


def state(*pairs: bytes) -> bytes:
    return EMPTY_DICT + MARK + b"".join(pairs) + SETITEMS


def kinds(scan: PickleScan) -> dict[RiskKind, tuple[str, ...]]:
    return {risk.kind: risk.callables for risk in scan.risks}


def walk(data: bytes) -> PickleScan:
    return scan_pickle_stream(io.BytesIO(data))


def test_training_arguments_restored_as_data_are_a_note_not_code() -> None:
    data = restored(
        state(
            text("output_dir") + text("out"),
            text("eval_strategy") + enum(*STRATEGY, text("no")),
            text("optim") + enum("transformers.training_args", "OptimizerNames", text("adamw")),
        )
    )
    scan = walk(data)
    assert scan.complete
    (risk,) = scan.risks
    assert risk.kind is RiskKind.FRAMEWORK_STATE
    assert risk.severity is Severity.INFO
    assert risk.callables == (
        "transformers.training_args.TrainingArguments",
        "transformers.trainer_utils.IntervalStrategy",
        "transformers.training_args.OptimizerNames",
    )


def test_protocol_zero_reconstructor_form_is_the_same_restore() -> None:
    data = (
        PROTO2
        + glob("copy_reg", "_reconstructor")
        + glob(*ARGS)
        + glob("__builtin__", "object")
        + NONE
        + TUPLE3
        + REDUCE
        + state(text("seed") + integer(42))
        + BUILD
        + STOP
    )
    assert set(kinds(walk(data))) == {RiskKind.FRAMEWORK_STATE}


@pytest.mark.parametrize(
    ("data", "why"),
    [
        # TrainingArguments(...) runs __init__ and __post_init__ (device and distributed setup).
        (PROTO2 + glob(*ARGS) + text("out") + TUPLE1 + REDUCE + STOP, "called with arguments"),
        # NEWOBJ with arguments passes them to __new__.
        (PROTO2 + glob(*ARGS) + text("x") + TUPLE1 + NEWOBJ + STOP, "NEWOBJ with arguments"),
        # A (dict, slots) state goes through setattr: property setters would run.
        (
            restored(EMPTY_DICT + EMPTY_DICT + TUPLE2),
            "a state that is not a plain dict",
        ),
        # A non-string key in the state.
        (restored(state(integer(1) + text("x"))), "a state key that is not a string"),
        # An enum called with something other than one string.
        (PROTO2 + glob(*STRATEGY) + integer(1) + TUPLE1 + REDUCE + STOP, "an enum given an int"),
        (
            PROTO2 + glob(*STRATEGY) + text("a") + text("b") + TUPLE2 + REDUCE + STOP,
            "an enum given two values",
        ),
        # An enum form used as a state class, a state class used as an enum.
        (restored(state(), STRATEGY), "an enum restored by NEWOBJ"),
        (PROTO2 + glob(*ARGS) + text("no") + TUPLE1 + REDUCE + STOP, "a dataclass as an enum"),
        # The class handed to another callable.
        (
            PROTO2 + glob("collections", "OrderedDict") + glob(*ARGS) + TUPLE1 + REDUCE + STOP,
            "passed as an argument",
        ),
        # INST calls the class with arguments.
        (PROTO2 + MARK + b"i" + b"transformers.training_args\nTrainingArguments\n" + STOP, "INST"),
    ],
)
def test_any_other_use_of_a_trainer_class_is_reported(data: bytes, why: str) -> None:
    found = kinds(walk(data))
    assert RiskKind.UNKNOWN_IMPORT in found, why
    assert RiskKind.FRAMEWORK_STATE not in found or not set(found[RiskKind.UNKNOWN_IMPORT]) & set(
        found[RiskKind.FRAMEWORK_STATE]
    )


def test_a_look_alike_name_is_not_a_trainer_class() -> None:
    for module, name in (
        ("transformers.training_args", "TrainingArgumentsEvil"),
        ("transformers.training_args.os", "TrainingArguments"),
        ("llamafactory.hparams.training_args", "TrainingArguments"),
    ):
        found = kinds(walk(restored(state(), (module, name))))
        assert RiskKind.FRAMEWORK_STATE not in found
        assert found[RiskKind.UNKNOWN_IMPORT] == (f"{module}.{name}",)


def test_dangerous_code_beside_trainer_state_is_still_dangerous() -> None:
    evil = glob("posix", "system") + text("id") + TUPLE1 + REDUCE
    data = restored(state(text("report_to") + evil))
    found = kinds(walk(data))
    assert found[RiskKind.UNSAFE_IMPORT] == ("posix.system",)
    assert found[RiskKind.FRAMEWORK_STATE] == ("transformers.training_args.TrainingArguments",)


def test_a_second_build_with_slot_state_is_a_misuse() -> None:
    data = (
        PROTO2
        + glob(*ARGS)
        + EMPTY_TUPLE
        + NEWOBJ
        + state()
        + BUILD
        + EMPTY_DICT
        + EMPTY_DICT
        + TUPLE2
        + BUILD
        + STOP
    )
    found = kinds(walk(data))
    assert found[RiskKind.UNKNOWN_IMPORT] == ("transformers.training_args.TrainingArguments",)


def test_the_table_names_sources_a_reader_can_follow() -> None:
    assert len(RESTORE_FORMS) == len(TRAINER_CLASSES)
    for entry in TRAINER_CLASSES:
        assert entry.source.startswith("https://github.com/huggingface/"), entry
        assert entry.checked
    assert RESTORE_FORMS[ARGS] is RestoreForm.STATE
    assert RESTORE_FORMS[STRATEGY] is RestoreForm.ENUM
    assert ("llamafactory.hparams.training_args", "TrainingArguments") not in RESTORE_FORMS
    assert ("accelerate.state", "AcceleratorState") not in RESTORE_FORMS


def test_a_torch_saved_archive_of_trainer_state_runs_no_code(tmp_path: Path) -> None:
    pickle = restored(state(text("eval_strategy") + enum(*STRATEGY, text("steps"))))
    path = tmp_path / "training_args.bin"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("training_args/data.pkl", pickle)
        archive.writestr("training_args/version", "3\n")
    analysis = analyze_path(path)
    assert analysis is not None
    assert not analysis.executable_on_load
    assert {risk.kind for risk in analysis.risks} == {RiskKind.FRAMEWORK_STATE}


@pytest.mark.parametrize(
    ("folder", "remaining"),
    [
        ("DMalakhov1__YandexGPT-5-Lite-8B-instruct-lora", ()),
        ("DMalakhov1__QVikhr-3-1.7B-lora", ()),
        ("RaphaelMourad__Mistral-DNA-v1-1M-hg38-finetuned-tf0", ()),
        # LLaMA-Factory's own subclass is not on the list: it stays reported.
        (
            "CaoThanhNammm__tinyLlama_llama2_lora_qa_human_hybrid",
            ("llamafactory.hparams.training_args.TrainingArguments",),
        ),
    ],
)
def test_real_trainer_checkpoints(corpus: Path, folder: str, remaining: tuple[str, ...]) -> None:
    models = corpus / "models" / folder
    for name in ("training_args.bin", "rng_state.pth", "scheduler.pt", "scaler.pt"):
        path = models / name
        if not path.exists():
            continue
        analysis = analyze_path(path)
        assert analysis is not None, name
        found = {risk.kind: risk.callables for risk in analysis.risks}
        if name != "training_args.bin":
            assert found == {}, (name, found)
            continue
        assert found.get(RiskKind.UNKNOWN_IMPORT, ()) == remaining
        assert analysis.executable_on_load is bool(remaining)
        assert "transformers.trainer_utils.IntervalStrategy" in found[RiskKind.FRAMEWORK_STATE]
        assert "accelerate.state.PartialState" in found[RiskKind.FRAMEWORK_STATE]
