from __future__ import annotations

import io
import os
import pickle
import struct
import zipfile
from collections import OrderedDict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.analysis import model_archive
from scanner.analysis.load_risk import FileAnalysis, LoadRisk, RiskKind
from scanner.analysis.model_archive import (
    AnalysisBuilder,
    analyze_archive,
    analyze_model_file,
    display_text,
    read_zip,
)
from scanner.core.errors import MalformedFileError
from scanner.core.model import Severity
from tests.conftest import CORPUS as CORPUS_ROOT

CORPUS = CORPUS_ROOT / "pickles"
MODELS = CORPUS.parent / "models"

# PROTO 2, GLOBAL posix.system, BINUNICODE "id", TUPLE1, REDUCE, STOP: written, never loaded.
EVIL_PICKLE = b"\x80\x02cposix\nsystem\nX\x02\x00\x00\x00id\x85R."


def corpus_file(relative: str) -> Path:
    path = CORPUS / relative
    if not path.is_file():
        pytest.skip(f"corpus sample {relative} is absent")
    return path


def build_zip(path: Path, members: dict[str, bytes], *, method: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def torch_zip(path: Path, data_pkl: bytes, **extra: bytes) -> Path:
    members = {
        "archive/data.pkl": data_pkl,
        "archive/version": b"3\n",
        "archive/data/0": b"\x80\x02" + bytes(62),  # storage bytes that look like a pickle
    }
    members.update(extra)
    return build_zip(path, members)


def set_flag_bits(path: Path, bits: int) -> None:
    """OR ``bits`` into every local and central header's general-purpose flags."""
    data = bytearray(path.read_bytes())
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = data.find(signature)
        while start >= 0:
            (flags,) = struct.unpack_from("<H", data, start + flag_offset)
            struct.pack_into("<H", data, start + flag_offset, flags | bits)
            start = data.find(signature, start + 4)
    path.write_bytes(bytes(data))


def kinds(analysis: FileAnalysis) -> set[tuple[RiskKind, Severity]]:
    return {(risk.kind, risk.severity) for risk in analysis.risks}


def high_callables(analysis: FileAnalysis) -> set[str]:
    return {
        name for risk in analysis.risks if risk.severity is Severity.HIGH for name in risk.callables
    }


# --- real corpus ----------------------------------------------------------------------------


def test_modelscan_unsafe_pytorch_zip_is_high_on_os_system() -> None:
    analysis = analyze_archive(corpus_file("modelscan/unsafe_zip_pytorch.pt"))
    assert analysis.format == "pytorch-zip"
    assert high_callables(analysis) & {"posix.system", "os.system"}
    assert analysis.executable_on_load
    assert all(risk.member == "unsafe_zip_pytorch/data.pkl" for risk in analysis.risks)


@pytest.mark.parametrize(
    "relative",
    ["modelscan/password_protected.zip", "picklescan/data/benign_password_protected.zip"],
)
def test_password_protected_zip_is_reported_not_crashed(relative: str) -> None:
    analysis = analyze_archive(corpus_file(relative))
    assert analysis.problems == ("encrypted member test.txt cannot be analysed",)
    assert [(r.kind, r.severity, r.member) for r in analysis.risks] == [
        (RiskKind.UNREADABLE, Severity.MEDIUM, "test.txt")
    ]
    assert not analysis.executable_on_load


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


def test_7z_is_unreadable_and_says_torch_cannot_load_it(tmp_path: Path) -> None:
    sample = corpus_file("picklescan/data/malicious1.7z")
    analysis = analyze_model_file(sample)
    assert analysis is not None
    assert analysis.format == "7z"
    assert analysis.problems == ("7z archive: not analysed; what it unpacks to is unknown",)
    assert kinds(analysis) == {(RiskKind.UNREADABLE, Severity.MEDIUM)}
    renamed = tmp_path / "model.pt"
    renamed.write_bytes(sample.read_bytes())
    renamed_analysis = analyze_model_file(renamed)
    assert renamed_analysis is not None
    assert "torch.load cannot load a 7z file" in renamed_analysis.problems[0]


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
    analysis = analyze_model_file(path)
    assert analysis is not None
    assert analysis.format == "pytorch-zip"
    assert analysis.risks == ()
    assert analysis.problems == ()


def test_real_training_args_restore_trainer_state_as_data() -> None:
    path = MODELS / "DMalakhov1__YandexGPT-5-Lite-8B-instruct-lora" / "training_args.bin"
    if not path.is_file():
        pytest.skip("corpus sample training_args.bin is absent")
    analysis = analyze_model_file(path)
    assert analysis is not None
    assert analysis.format == "pytorch-zip"
    assert "transformers.training_args.TrainingArguments" in analysis.imports
    assert [(r.kind, r.severity, r.member) for r in analysis.risks] == [
        (RiskKind.FRAMEWORK_STATE, Severity.INFO, "training_args/data.pkl")
    ]
    assert not analysis.executable_on_load


def test_png_named_pt_is_not_a_model_file() -> None:
    assert analyze_model_file(corpus_file("picklescan/data/bad_pytorch.pt")) is None


# --- synthetic PyTorch and TorchScript layouts ----------------------------------------------


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


def test_prepended_bytes_shift_every_offset(tmp_path: Path) -> None:
    plain = build_zip(tmp_path / "plain.zip", {"data.pkl": EVIL_PICKLE})
    shifted = tmp_path / "shifted.zip"
    shifted.write_bytes(b"#!/bin/sh\nexit 0\n" + plain.read_bytes())
    assert "posix.system" in high_callables(analyze_archive(shifted))


def test_zip64_records_and_extra_fields_are_read(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 8)
    monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 1)
    path = build_zip(tmp_path / "big.zip", {"pad.bin": bytes(40), "data.pkl": EVIL_PICKLE})
    monkeypatch.undo()
    data = bytearray(path.read_bytes())
    end = data.rfind(b"PK\x05\x06")
    struct.pack_into("<2H2L", data, end + 8, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
    path.write_bytes(bytes(data))
    with path.open("rb") as stream:
        archive = read_zip(stream)
        sizes = {member.name: member.size for member in archive.members}
    assert sizes == {"pad.bin": 40, "data.pkl": len(EVIL_PICKLE)}
    assert "posix.system" in high_callables(analyze_archive(path))


# --- hostile archives -----------------------------------------------------------------------


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


def test_entry_count_cap(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(model_archive, "MAX_ENTRIES", 5)
    path = build_zip(tmp_path / "many.zip", {f"m{i}": b"x" for i in range(6)})
    analysis = analyze_archive(path)
    assert analysis.problems == ("zip archive: 6 entries exceed the 5-entry limit",)
    assert kinds(analysis) == {(RiskKind.UNREADABLE, Severity.MEDIUM)}
    five = build_zip(tmp_path / "five.zip", {f"m{i}": b"x" for i in range(5)})
    assert analyze_archive(five).problems == ()


def test_entry_count_cap_holds_when_the_end_record_lies(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(model_archive, "MAX_ENTRIES", 5)
    path = build_zip(tmp_path / "many.zip", {f"m{i}": b"x" for i in range(6)})
    data = bytearray(path.read_bytes())
    end = data.rfind(b"PK\x05\x06")
    struct.pack_into("<2H", data, end + 8, 1, 1)
    path.write_bytes(bytes(data))
    assert analyze_archive(path).problems == ("zip archive: more than 5 entries (the limit)",)


def test_central_directory_size_cap(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(model_archive, "MAX_CENTRAL_DIRECTORY_BYTES", 100)
    path = build_zip(tmp_path / "m.zip", {f"member-{i}.bin": b"x" for i in range(4)})
    (problem,) = analyze_archive(path).problems
    assert "exceeds the 100-byte limit" in problem


def test_encrypted_flag_on_non_pickle_is_unreadable(tmp_path: Path) -> None:
    path = build_zip(tmp_path / "m.zip", {"weights.bin": b"\x01\x02\x03" * 10})
    set_flag_bits(path, 0x1)
    analysis = analyze_archive(path)
    assert analysis.problems == ("encrypted member weights.bin cannot be analysed",)
    assert kinds(analysis) == {(RiskKind.UNREADABLE, Severity.MEDIUM)}


def test_encrypted_flag_on_a_plain_pickle_is_walked(tmp_path: Path) -> None:
    path = build_zip(tmp_path / "m.pt", {"data.pkl": EVIL_PICKLE})
    set_flag_bits(path, 0x1)
    analysis = analyze_archive(path)
    assert "posix.system" in high_callables(analysis)
    assert any("flagged encrypted but holds a plain pickle" in p for p in analysis.problems)


def test_crc_tampered_member_is_walked_and_reported(tmp_path: Path) -> None:
    path = build_zip(tmp_path / "m.pt", {"data.pkl": EVIL_PICKLE})
    data = path.read_bytes().replace(b"X\x02\x00\x00\x00id", b"X\x02\x00\x00\x00ls", 1)
    path.write_bytes(data)
    with pytest.raises(zipfile.BadZipFile, match="CRC"):  # what zipfile-based scanners hit
        zipfile.ZipFile(path).read("data.pkl")
    analysis = analyze_archive(path)
    assert "posix.system" in high_callables(analysis)
    assert analysis.problems == (
        "member data.pkl fails its CRC-32 check (altered after zipping; zipfile refuses it, "
        "loaders that skip the check do not): walked anyway",
    )


def test_hostile_member_names_are_reported_never_used(tmp_path: Path) -> None:
    names = ["/etc/passwd.pkl", "../../escape.pkl", "dir\\win.pkl", "nulX.pkl", "C:/x.pkl"]
    path = build_zip(tmp_path / "m.zip", dict.fromkeys(names, EVIL_PICKLE))
    path.write_bytes(path.read_bytes().replace(b"nulX.pkl", b"nul\x00.pkl"))
    before = sorted(p.name for p in tmp_path.iterdir())
    analysis = analyze_archive(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert set(analysis.problems) == {
        "member name /etc/passwd.pkl is hostile (absolute path)",
        "member name ../../escape.pkl is hostile (parent-directory component)",
        "member name dir\\win.pkl is hostile (backslash)",
        "member name nul\\x00.pkl is hostile (control characters)",
        "member name C:/x.pkl is hostile (absolute path)",
    }
    assert {r.member for r in analysis.risks} == {
        "/etc/passwd.pkl",
        "../../escape.pkl",
        "dir\\win.pkl",
        "nul\\x00.pkl",
        "C:/x.pkl",
    }


def test_duplicate_member_names_are_each_analysed(tmp_path: Path) -> None:
    path = tmp_path / "dup.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data.pkl", pickle.dumps(OrderedDict(), protocol=2))
        with pytest.warns(UserWarning, match="Duplicate name"):
            archive.writestr("data.pkl", EVIL_PICKLE)
    analysis = analyze_archive(path)
    assert "posix.system" in high_callables(analysis)
    assert analysis.problems[0].startswith("member name data.pkl appears 2 times")


def test_truncated_zip_is_a_problem(tmp_path: Path) -> None:
    whole = torch_zip(tmp_path / "whole.pt", EVIL_PICKLE).read_bytes()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(whole[: len(whole) // 2])
    analysis = analyze_model_file(cut)
    assert analysis is not None
    assert analysis.problems == (
        "zip archive: no end-of-central-directory record: the zip is truncated or not a zip",
    )
    assert kinds(analysis) == {(RiskKind.UNREADABLE, Severity.MEDIUM)}


def test_member_past_the_end_is_refused(tmp_path: Path) -> None:
    path = build_zip(tmp_path / "m.zip", {"data.pkl": EVIL_PICKLE})
    data = bytearray(path.read_bytes())
    central = data.find(b"PK\x01\x02")
    struct.pack_into("<2L", data, central + 20, 10**6, 10**6)  # both sizes
    path.write_bytes(bytes(data))
    analysis = analyze_archive(path)
    assert analysis.problems == (
        "member data.pkl runs past the end of the file (truncated archive)",
    )


def test_member_stream_never_exceeds_its_cap(tmp_path: Path) -> None:
    path = build_zip(tmp_path / "m.zip", {"big.bin": bytes(range(256)) * 40})
    with path.open("rb") as stream:
        archive = read_zip(stream)
        (member,) = archive.members
        reader = archive.open_member(member, max_bytes=100)
        assert len(reader.readall()) == 100
        assert reader.capped


def test_declared_size_bounds_a_lying_deflate_stream(tmp_path: Path) -> None:
    path = build_zip(tmp_path / "m.zip", {"x.bin": bytes(5000)}, method=zipfile.ZIP_DEFLATED)
    data = bytearray(path.read_bytes())
    central = data.find(b"PK\x01\x02")
    struct.pack_into("<L", data, central + 24, 10)  # declared uncompressed size: 10 bytes
    path.write_bytes(bytes(data))
    with path.open("rb") as stream:
        archive = read_zip(stream)
        reader = archive.open_member(archive.members[0], max_bytes=10**6)
        assert reader.readall() == bytes(10)


def test_corrupt_deflate_data_is_reported(tmp_path: Path) -> None:
    payload = EVIL_PICKLE * 50
    path = build_zip(tmp_path / "m.zip", {"data.pkl": payload}, method=zipfile.ZIP_DEFLATED)
    data = bytearray(path.read_bytes())
    start = data.find(b"data.pkl") + len(b"data.pkl")  # the local name, then the data
    data[start] = 0xFF  # a final block of the reserved type 3
    path.write_bytes(bytes(data))
    analysis = analyze_archive(path)
    assert (
        "member data.pkl: its compressed data is corrupt (Error -3 while decompressing data: "
        "invalid block type)" in analysis.problems
    )
    assert (RiskKind.UNREADABLE, Severity.MEDIUM) in kinds(analysis)


def test_archive_read_budget(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(model_archive, "MAX_TOTAL_READ_BYTES", len(EVIL_PICKLE))
    path = build_zip(tmp_path / "m.zip", {"a.pkl": EVIL_PICKLE, "b.pkl": EVIL_PICKLE})
    analysis = analyze_archive(path)
    assert {r.member for r in analysis.risks if r.severity is Severity.HIGH} == {"a.pkl"}
    assert analysis.problems == (
        f"member b.pkl not read: the {len(EVIL_PICKLE)}-byte read budget for this archive is spent",
    )


def test_pickle_walk_is_capped(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(model_archive, "MAX_PICKLE_MEMBER_BYTES", 16)
    state = pickle.dumps(OrderedDict(weights=list(range(100))), protocol=2)
    analysis = analyze_archive(build_zip(tmp_path / "m.zip", {"data.pkl": state}))
    assert "member data.pkl: only its first 16 bytes were read" in analysis.problems
    assert (RiskKind.UNREADABLE, Severity.MEDIUM) in kinds(analysis)


# --- builder and helpers --------------------------------------------------------------------


def test_display_text_escapes_and_truncates() -> None:
    assert display_text("a\x00b\nc") == "a\\x00b\\nc"
    assert display_text("x" * 500) == "x" * model_archive.MAX_SHOWN_CHARS + "…"


def test_builder_keeps_the_most_severe_risks(monkeypatch) -> None:
    monkeypatch.setattr(model_archive, "MAX_RISKS", 2)
    builder = AnalysisBuilder()
    for index in range(3):
        builder.unreadable(f"problem {index}")
    builder.risk(LoadRisk(kind=RiskKind.UNSAFE_IMPORT, severity=Severity.HIGH, message="bad"))
    analysis = builder.build("zip")
    assert [r.severity for r in analysis.risks] == [Severity.HIGH, Severity.MEDIUM]
    assert analysis.problems[-1] == "2 more weaker risks not listed"
    assert analysis.executable_on_load


# --- dispatch -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("model.safetensors", struct.pack("<Q", 0x0280) + b"{}"),  # starts 80 02 like a pickle
        ("model.gguf", b"GGUF\x03\x00\x00\x00"),
        ("model.onnx", b"\x08\x07\x12\x07pytorch"),
        ("ggml-model.bin", b"lmgg\x01\x00\x00\x00"),
        ("raw.bin", b"\x00\x01\x02\x03"),
        ("README.md", b"# a model\n"),
        ("model.h5", b"\x89HDF\r\n\x1a\n"),
        ("empty.pt", b""),
    ],
)
def test_dispatch_has_nothing_to_say(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert analyze_model_file(path) is None


def test_dispatch_by_magic(tmp_path: Path) -> None:
    zip_named_bin = torch_zip(tmp_path / "pytorch_model.bin", EVIL_PICKLE)
    legacy = tmp_path / "legacy.pt"
    legacy.write_bytes(EVIL_PICKLE)
    pickle_as_npy = tmp_path / "array.npy"  # numpy.load unpickles a non-.npy file
    pickle_as_npy.write_bytes(EVIL_PICKLE)
    protocol0 = tmp_path / "old.pkl"
    protocol0.write_bytes(b"cposix\nsystem\n(S'id'\ntR.")
    for path in (zip_named_bin, legacy, pickle_as_npy, protocol0):
        analysis = analyze_model_file(path)
        assert analysis is not None, path
        assert "posix.system" in high_callables(analysis), path
    analysis = analyze_model_file(zip_named_bin)
    assert analysis is not None
    assert analysis.format == "pytorch-zip"


def test_dispatch_refuses_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "model.pt"
    os.mkfifo(fifo)
    with pytest.raises(MalformedFileError, match="not a regular file"):
        analyze_model_file(fifo)


# --- fuzz -----------------------------------------------------------------------------------

_FUZZ = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_SEED_ZIP = io.BytesIO()
with zipfile.ZipFile(_SEED_ZIP, "w", compression=zipfile.ZIP_DEFLATED) as _seed:
    _seed.writestr("archive/data.pkl", EVIL_PICKLE)
    _seed.writestr("archive/version", b"3\n")
    _seed.writestr("archive/code/x.py", b"pass\n")
SEED = _SEED_ZIP.getvalue()


def _analyse_or_malformed(path: Path) -> None:
    try:
        result = analyze_model_file(path)
    except MalformedFileError:
        return
    assert result is None or isinstance(result, FileAnalysis)


@_FUZZ
@given(st.binary(max_size=2048))
def test_fuzz_arbitrary_bytes(tmp_path: Path, data: bytes) -> None:
    for prefix in (b"", b"PK\x03\x04"):
        path = tmp_path / "fuzz.pt"
        path.write_bytes(prefix + data)
        _analyse_or_malformed(path)


@_FUZZ
@given(st.lists(st.tuples(st.integers(0, len(SEED) - 1), st.integers(0, 255)), max_size=8))
def test_fuzz_mutated_zip(tmp_path: Path, flips: list[tuple[int, int]]) -> None:
    data = bytearray(SEED)
    for offset, value in flips:
        data[offset] = value
    path = tmp_path / "fuzz.pt"
    path.write_bytes(bytes(data))
    _analyse_or_malformed(path)


def test_seed_zip_is_what_the_fuzz_mutates(tmp_path: Path) -> None:
    path = tmp_path / "seed.pt"
    path.write_bytes(SEED)
    analysis = analyze_archive(path)
    assert analysis.format == "torchscript"
    assert "posix.system" in high_callables(analysis)
