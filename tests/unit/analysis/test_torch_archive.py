"""Tests for PyTorch, TorchScript and other zip archives: the real corpus, synthetic
layouts, members hidden from zipfile-based scanners."""

from __future__ import annotations

import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path

import pytest

from scanner.analysis.builder import display_text
from scanner.analysis.dispatch import analyze_path
from scanner.analysis.load_risk import RiskKind
from scanner.core.model import Severity
from tests.unit.analysis.archives import (
    EVIL_PICKLE,
    MODELS,
    analyze_archive,
    build_zip,
    corpus_file,
    high_callables,
    kinds,
    set_flag_bits,
    torch_zip,
)

# --- real corpus ----------------------------------------------------------------------------------


def test_modelscan_unsafe_pytorch_zip_is_high_on_os_system() -> None:
    analysis = analyze_archive(corpus_file("modelscan/unsafe_zip_pytorch.pt"))
    assert analysis.format == "pytorch-zip"
    assert high_callables(analysis) & {"posix.system", "os.system"}
    assert analysis.executable_on_load
    assert all(risk.member == "unsafe_zip_pytorch/data.pkl" for risk in analysis.risks)


@pytest.mark.parametrize(
    ("relative", "member", "problem"),
    [
        ("picklescan/data/malicious1.zip", "data.pkl", None),
        ("picklescan/data/malicious1_wrong_ext.zip", "data.txt", None),
        ("picklescan/data/malicious1_0x1.zip", "model/config.pkl", "flagged encrypted"),
        ("picklescan/data/malicious1_0x20.zip", "model/config.pkl", "flagged patched (flag 0x20)"),
        ("picklescan/data/malicious1_0x40.zip", "model/config.pkl", "flagged strongly encrypted"),
        ("picklescan/data/malicious1_central_directory.zip", "data.pkl", "local header"),
        ("picklescan/data2/malicious1_crc.zip", "data.pkl", "fails its CRC-32 check"),
    ],
)
def test_picklescan_zip_evasions_still_find_eval(
    relative: str, member: str, problem: str | None
) -> None:
    analysis = analyze_archive(corpus_file(relative))
    assert "builtins.eval" in high_callables(analysis)
    assert "builtins.eval" in analysis.imports
    assert {risk.member for risk in analysis.risks if risk.severity is Severity.HIGH} == {member}
    assert analysis.executable_on_load
    if problem is None:
        assert analysis.problems == ()
    else:
        assert [p for p in analysis.problems if problem in p]


def test_benign_pytorch_zip_has_no_risk() -> None:
    analysis = analyze_archive(corpus_file("picklescan/data/new_pytorch_model.bin"))
    assert analysis.format == "pytorch-zip"
    assert "torch._utils._rebuild_tensor_v2" in analysis.imports
    assert analysis.risks == ()
    assert not analysis.executable_on_load
    assert analysis.problems == ()


@pytest.mark.parametrize("name", ["rng_state.pth", "scaler.pt", "scheduler.pt"])
def test_real_torch_save_zips_are_safe(name: str) -> None:
    path = MODELS / "DMalakhov1__YandexGPT-5-Lite-8B-instruct-lora" / name
    if not path.is_file():
        pytest.skip(f"corpus sample {name} is absent")
    analysis = analyze_path(path)
    assert analysis is not None
    assert analysis.format == "pytorch-zip"
    assert analysis.risks == ()
    assert analysis.problems == ()


def test_real_training_args_restore_trainer_state_as_data() -> None:
    path = MODELS / "DMalakhov1__YandexGPT-5-Lite-8B-instruct-lora" / "training_args.bin"
    if not path.is_file():
        pytest.skip("corpus sample training_args.bin is absent")
    analysis = analyze_path(path)
    assert analysis is not None
    assert analysis.format == "pytorch-zip"
    assert "transformers.training_args.TrainingArguments" in analysis.imports
    assert [(r.kind, r.severity, r.member) for r in analysis.risks] == [
        (RiskKind.FRAMEWORK_STATE, Severity.INFO, "training_args/data.pkl")
    ]
    assert not analysis.executable_on_load


# --- synthetic PyTorch and TorchScript layouts ----------------------------------------------------


def test_fake_torch_zip_of_an_ordered_dict_is_safe(tmp_path: Path) -> None:
    state = pickle.dumps(OrderedDict(weight=1), protocol=2)
    analysis = analyze_archive(torch_zip(tmp_path / "model.pt", state))
    assert analysis.format == "pytorch-zip"
    assert analysis.imports == ("collections.OrderedDict",)
    assert analysis.risks == ()
    assert not analysis.executable_on_load
    assert analysis.problems == ()


def test_torch_zip_with_unsafe_data_pkl(tmp_path: Path) -> None:
    analysis = analyze_archive(torch_zip(tmp_path / "model.pt", EVIL_PICKLE))
    assert "posix.system" in high_callables(analysis)
    assert analysis.executable_on_load


def test_torchscript_code_is_embedded_code(tmp_path: Path) -> None:
    state = pickle.dumps(OrderedDict(), protocol=2)
    path = torch_zip(
        tmp_path / "scripted.pt",
        state,
        **{
            "archive/constants.pkl": pickle.dumps((), protocol=2),
            "archive/code/__torch__/x.py": b"def forward(self):\n    return 1\n",
        },
    )
    analysis = analyze_archive(path)
    assert analysis.format == "torchscript"
    code = [r for r in analysis.risks if r.kind is RiskKind.EMBEDDED_CODE]
    assert len(code) == 1
    assert code[0].severity is Severity.HIGH
    assert code[0].message == (
        "TorchScript code runs on torch.jit.load: archive/code/__torch__/x.py"
    )
    assert analysis.executable_on_load


def test_python_file_in_a_plain_zip_is_reported_but_not_run_on_load(tmp_path: Path) -> None:
    analysis = analyze_archive(build_zip(tmp_path / "m.zip", {"setup.py": b"print(1)\n"}))
    assert analysis.format == "zip"
    assert kinds(analysis) == {(RiskKind.EMBEDDED_CODE, Severity.MEDIUM)}
    assert "setup.py" in analysis.risks[0].message
    assert not analysis.executable_on_load


def test_deflated_members_are_walked(tmp_path: Path) -> None:
    path = build_zip(
        tmp_path / "m.zip", {"a/data.pkl": EVIL_PICKLE * 3}, method=zipfile.ZIP_DEFLATED
    )
    analysis = analyze_archive(path)
    assert "posix.system" in high_callables(analysis)


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
@pytest.mark.parametrize("name", ["payload.txt", "long/" + "n" * 2000 + ".bin"])
def test_pickles_under_other_names_are_sniffed(tmp_path: Path, method: int, name: str) -> None:
    path = build_zip(tmp_path / "m.zip", {name: EVIL_PICKLE, "notes.txt": b"hello"}, method=method)
    analysis = analyze_archive(path)
    assert "posix.system" in high_callables(analysis)
    assert {risk.member for risk in analysis.risks} == {display_text(name)}
    assert analysis.problems == ()


# --- hostile archives -----------------------------------------------------------------------------


def test_zip_bomb_member_is_refused_unread(tmp_path: Path) -> None:
    path = build_zip(
        tmp_path / "bomb.pt", {"data.pkl": bytes(4 * 1024 * 1024)}, method=zipfile.ZIP_DEFLATED
    )
    analysis = analyze_archive(path)
    assert kinds(analysis) == {(RiskKind.UNREADABLE, Severity.MEDIUM)}
    assert len(analysis.problems) == 1
    assert "a zip bomb, not read" in analysis.problems[0]
    assert "declares 4194304 bytes" in analysis.problems[0]
    assert analysis.imports == ()


def test_encrypted_flag_on_a_plain_pickle_is_walked(tmp_path: Path) -> None:
    path = build_zip(tmp_path / "m.pt", {"data.pkl": EVIL_PICKLE})
    set_flag_bits(path, 0x1)
    analysis = analyze_archive(path)
    assert "posix.system" in high_callables(analysis)
    assert any("flagged encrypted but holds a plain pickle" in p for p in analysis.problems)


def test_pickle_walk_is_capped(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("scanner.analysis.torch_archive.MAX_PICKLE_MEMBER_BYTES", 16)
    state = pickle.dumps(OrderedDict(weights=list(range(100))), protocol=2)
    analysis = analyze_archive(build_zip(tmp_path / "m.zip", {"data.pkl": state}))
    assert "member data.pkl: only its first 16 bytes were read" in analysis.problems
    assert (RiskKind.UNREADABLE, Severity.MEDIUM) in kinds(analysis)
