"""Framework classes a Hugging Face Trainer checkpoint restores, and how each may be restored.

``training_args.bin`` (and DeepSpeed or TRL runs' variants) pickle the Trainer's arguments:
dataclasses restored with ``cls.__new__(cls)`` and a ``BUILD`` of a plain dict, and enums looked
up by their value. Restored in exactly that way, none of these classes runs code of its own: no
``__new__``, ``__setstate__``, ``__reduce__`` or ``__setattr__`` in the class or its bases
(``accelerate.state.PartialState.__getattr__`` from accelerate 1.0 only raises
``AttributeError`` when pickle looks for ``__setstate__``); an enum lookup by a string value
only reads a table. Read in the sources listed below; any other use of these classes (a call
with arguments, a state that is not a plain dict) is treated like any class outside the
allowlist.

Not listed, and so still reported: ``llamafactory.hparams.training_args.TrainingArguments``
(its base class is chosen at import time by an environment variable), ``AcceleratorState``
(its shared state holds plugins and ``functools.partial`` policies), ``GenerationConfig``
(its ``__hash__`` serialises it), and anything a file combines with these.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final


class RestoreForm(StrEnum):
    """The only way a listed class may be restored for it to count as data."""

    STATE = "state"
    """``NEWOBJ`` with an empty argument tuple (or ``copyreg._reconstructor(cls, object,
    None)``), then ``BUILD`` with a plain dict whose keys are strings."""
    ENUM = "enum"
    """Called with exactly one string: an enum member looked up by value."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainerClass:
    """A class a Trainer checkpoint restores, with where its restoring code was read."""

    module: str
    name: str
    form: RestoreForm
    checked: str
    """The releases whose source was read."""
    source: str
    """The source file a reader can follow."""


_TRANSFORMERS = "transformers 4.30.2-5.25.0"
_TF = "https://github.com/huggingface/transformers/blob/v4.46.0/src/transformers"
_ACCELERATE = "accelerate 0.20.3-1.16.0"
_ACC = "https://github.com/huggingface/accelerate/blob/v1.16.0/src/accelerate"
_TRL = "trl 0.12.0-1.16.0"
_TRL_SRC = "https://github.com/huggingface/trl/blob/v0.12.0/trl/trainer"


def _state(module: str, name: str, checked: str, source: str) -> TrainerClass:
    return TrainerClass(
        module=module, name=name, form=RestoreForm.STATE, checked=checked, source=source
    )


def _enum(module: str, name: str, checked: str, source: str) -> TrainerClass:
    return TrainerClass(
        module=module, name=name, form=RestoreForm.ENUM, checked=checked, source=source
    )


_TRL_CONFIGS = (
    ("sft_config", "SFTConfig"),
    ("dpo_config", "DPOConfig"),
    ("grpo_config", "GRPOConfig"),
    ("kto_config", "KTOConfig"),
    ("reward_config", "RewardConfig"),
    ("rloo_config", "RLOOConfig"),
    ("ppo_config", "PPOConfig"),
    ("online_dpo_config", "OnlineDPOConfig"),
    ("orpo_config", "ORPOConfig"),
    ("cpo_config", "CPOConfig"),
    ("bco_config", "BCOConfig"),
    ("gkd_config", "GKDConfig"),
    ("xpo_config", "XPOConfig"),
    ("nash_md_config", "NashMDConfig"),
    ("prm_config", "PRMConfig"),
)

TRAINER_CLASSES: Final[tuple[TrainerClass, ...]] = (
    _state(
        "transformers.training_args",
        "TrainingArguments",
        _TRANSFORMERS,
        f"{_TF}/training_args.py",
    ),
    _state(
        "transformers.training_args_seq2seq",
        "Seq2SeqTrainingArguments",
        _TRANSFORMERS,
        f"{_TF}/training_args_seq2seq.py",
    ),
    _state(
        "transformers.trainer_pt_utils",
        "AcceleratorConfig",
        "transformers 4.38.0-5.25.0",
        f"{_TF}/trainer_pt_utils.py",
    ),
    _state(
        "transformers.integrations.deepspeed",
        "HfTrainerDeepSpeedConfig",
        "transformers 4.36.2-5.25.0",
        f"{_TF}/integrations/deepspeed.py",
    ),
    _state(
        "transformers.integrations.deepspeed",
        "HfDeepSpeedConfig",
        "transformers 4.36.2-5.25.0",
        f"{_TF}/integrations/deepspeed.py",
    ),
    _state(
        "transformers.deepspeed",
        "HfTrainerDeepSpeedConfig",
        "transformers 4.30.2",
        "https://github.com/huggingface/transformers/blob/v4.30.2/src/transformers/deepspeed.py",
    ),
    _state("accelerate.state", "PartialState", _ACCELERATE, f"{_ACC}/state.py"),
    _state(
        "accelerate.utils.dataclasses",
        "DeepSpeedPlugin",
        _ACCELERATE,
        f"{_ACC}/utils/dataclasses.py",
    ),
    *(
        _state(f"trl.trainer.{module}", name, _TRL, f"{_TRL_SRC}/{module}.py")
        for module, name in _TRL_CONFIGS
    ),
    *(
        _enum("transformers.trainer_utils", name, _TRANSFORMERS, f"{_TF}/trainer_utils.py")
        for name in (
            "IntervalStrategy",
            "SaveStrategy",
            "HubStrategy",
            "SchedulerType",
            "FSDPOption",
            "EvaluationStrategy",
            "ShardedDDPOption",
        )
    ),
    _enum("transformers.training_args", "OptimizerNames", _TRANSFORMERS, f"{_TF}/training_args.py"),
    _enum("transformers.debug_utils", "DebugOption", _TRANSFORMERS, f"{_TF}/debug_utils.py"),
    _enum(
        "accelerate.utils.dataclasses",
        "DistributedType",
        _ACCELERATE,
        f"{_ACC}/utils/dataclasses.py",
    ),
    _enum(
        "trl.trainer.dpo_config",
        "FDivergenceType",
        "trl 0.12.0-0.19.1",
        f"{_TRL_SRC}/dpo_config.py",
    ),
)

#: ``(module, name)`` → how the class may be restored.
RESTORE_FORMS: Final = MappingProxyType(
    {(entry.module, entry.name): entry.form for entry in TRAINER_CLASSES}
)
