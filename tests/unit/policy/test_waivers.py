"""Dangerous code (SEC100) fails every tier; waivers (--accept) accept reviewed files by content."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest

from scanner.core.errors import UsageError
from scanner.core.model import (
    Component,
    ComponentKind,
    Confidence,
    Evidence,
    Finding,
    Hash,
    Layer,
    Origin,
    OriginBasis,
    Relation,
    RelationKind,
    ScanResult,
    Severity,
    StewardKind,
    Verdict,
)
from scanner.core.properties import PropertyName
from scanner.policy.evaluate import evaluate
from scanner.policy.profile import BUILTIN_TIERS, load_builtin
from scanner.policy.waivers import apply_waivers, load_waivers

TODAY = dt.date(2026, 12, 5)
EVIL = "a" * 64
BENIGN = "b" * 64
SBER = Origin(
    organization="Sber",
    steward=StewardKind.ORGANIZATION,
    country="RU",
    basis=OriginBasis.CURATED,
    confidence=Confidence.HIGH,
)
PROFILES = [load_builtin(name) for name in BUILTIN_TIERS]


def model_with(
    path: str, digest: str, *findings: tuple[str, Severity], source: str = "content"
) -> ScanResult:
    """A domestic, openly licensed model holding one file with the given load findings."""
    subject = Component(
        ref="pkg:huggingface/ai-forever/m",
        kind=ComponentKind.MODEL,
        name="m",
        group="ai-forever",
        purl="pkg:huggingface/ai-forever/m",
        licenses=("mit",),
        origin=SBER,
    )
    file = Component(
        ref=f"file:m/{path}",
        kind=ComponentKind.FILE,
        name=path,
        path=path,
        hashes=(Hash(alg="SHA-256", value=digest),),
        properties=((PropertyName.FILE_HASH_SOURCE, source),),
    )
    code = Component(
        ref=f"code:on-load:{path}",
        kind=ComponentKind.CODE,
        name=f"code run on load by {path}",
        path=path,
        layer=Layer.CODE,
        properties=((PropertyName.SECURITY_EMBEDDED_CODE, "true"),),
    )
    return ScanResult(
        subjects=(subject.ref,),
        components=(subject, file, code),
        relations=(
            Relation(src=subject.ref, dst=file.ref, kind=RelationKind.CONTAINS),
            Relation(src=file.ref, dst=code.ref, kind=RelationKind.CONTAINS),
        ),
        findings=tuple(
            Finding(
                rule_id=rule,
                severity=severity,
                component_ref=file.ref,
                message=f"{path}: archive/data.pkl: imports posix.system (runs shell commands)"
                if rule == "SEC001"
                else f"{path}: imports transformers.training_args.TrainingArguments",
                evidence=(
                    Evidence(
                        location=path, field="data.pkl", value="posix.system", method="analysis"
                    ),
                ),
                layer=Layer.FILES,
            )
            for rule, severity in findings
        ),
    )


def waivers(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "accept.yaml"
    path.write_text(text)
    return path


def entry(digest: str, rule: str, expires: str = "2027-06-30") -> str:
    return (
        f'  - sha256: "{digest}"\n    rule: {rule}\n    reason: reviewed by the ML team\n'
        f"    accepted_by: Jane Doe <jane@example.org>\n    expires: {expires}\n"
    )


def verdicts(result: ScanResult) -> dict[str, Verdict]:
    return {v.tier: v.verdict for v in result.verdicts}


def assess(result: ScanResult, path: Path | None = None) -> ScanResult:
    if path is not None:
        result = apply_waivers(result, load_waivers(path), TODAY)
    return evaluate(result, PROFILES, jurisdiction="RU")


def test_dangerous_code_fails_every_tier_whatever_the_origins() -> None:
    result = assess(model_with("pytorch_model.bin", EVIL, ("SEC001", Severity.HIGH)))
    assert set(verdicts(result).values()) == {Verdict.FAIL}
    (dangerous,) = [f for f in result.findings if f.rule_id == "SEC100"]
    assert dangerous.tiers == BUILTIN_TIERS
    assert dangerous.component_ref == "file:m/pytorch_model.bin"
    assert dangerous.message == (
        "pytorch_model.bin: loading it runs dangerous code: archive/data.pkl: "
        "imports posix.system (runs shell commands)"
    )
    assert f'sha256: "{EVIL}", rule: SEC100' in dangerous.remediation
    for verdict in result.verdicts:
        assert verdict.reasons[0].startswith("FAIL: 1 file that runs dangerous code on load")


def test_code_that_cannot_be_analysed_stays_unknown() -> None:
    result = assess(model_with("model.7z", EVIL, ("SEC006", Severity.MEDIUM)))
    assert not [f for f in result.findings if f.rule_id == "SEC100"]
    assert verdicts(result)["national"] is Verdict.UNKNOWN
    assert verdicts(result)["adversary"] is Verdict.UNKNOWN


def test_a_waiver_accepts_the_file_by_content_and_keeps_the_finding(tmp_path: Path) -> None:
    scan = model_with("renamed.bin", EVIL, ("SEC001", Severity.HIGH))
    result = assess(scan, waivers(tmp_path, "accepted:\n" + entry(EVIL, "SEC100")))
    assert verdicts(result)["national"] is Verdict.PASS
    assert verdicts(result)["adversary"] is Verdict.PASS
    (dangerous,) = [f for f in result.findings if f.rule_id == "SEC100"]
    (analysis,) = [f for f in result.findings if f.rule_id == "SEC001"]
    for finding in (dangerous, analysis):
        assert finding.accepted is not None
        assert finding.accepted.entry == 1
        assert finding.accepted.accepted_by == "Jane Doe <jane@example.org>"
        assert finding.accepted.expires == "2027-06-30"
    code = next(c for c in result.components if c.ref == "code:on-load:renamed.bin")
    assert any(name == PropertyName.ACCEPTED for name, _ in code.properties)
    national = next(v for v in result.verdicts if v.tier == "national")
    assert national.reasons[-1].startswith("1 finding accepted by --accept: renamed.bin")


def test_the_same_name_with_other_bytes_is_not_accepted(tmp_path: Path) -> None:
    scan = model_with("pytorch_model.bin", EVIL, ("SEC001", Severity.HIGH))
    result = assess(scan, waivers(tmp_path, "accepted:\n" + entry(BENIGN, "SEC100")))
    assert set(verdicts(result).values()) == {Verdict.FAIL}
    assert all(f.accepted is None for f in result.findings)
    (issue,) = result.issues
    assert issue.location.endswith("accept.yaml")
    assert issue.problem == (
        "entry 1 (SEC100, SHA-256 bbbbbbbbbbbb…) matches no finding of this scan; not used"
    )
    assert issue.severity is Severity.LOW


def test_a_digest_not_read_from_the_bytes_matches_no_waiver(tmp_path: Path) -> None:
    # A cache blob's name is a claim about its bytes: a waiver never matches it (rehash with
    # --verify first).
    scan = model_with(
        "pytorch_model.bin", EVIL, ("SEC001", Severity.HIGH), source="hf-cache-blob-name"
    )
    result = assess(scan, waivers(tmp_path, "accepted:\n" + entry(EVIL, "SEC100")))
    assert set(verdicts(result).values()) == {Verdict.FAIL}
    assert "matches no finding" in result.issues[0].problem


def test_an_expired_waiver_is_ignored_and_reported(tmp_path: Path) -> None:
    scan = model_with("pytorch_model.bin", EVIL, ("SEC001", Severity.HIGH))
    result = assess(scan, waivers(tmp_path, "accepted:\n" + entry(EVIL, "SEC100", "2026-12-04")))
    assert set(verdicts(result).values()) == {Verdict.FAIL}
    (issue,) = result.issues
    assert "expired on 2026-12-04; not applied" in issue.problem


def test_a_waiver_of_another_rule_does_not_accept_dangerous_code(tmp_path: Path) -> None:
    scan = model_with("pytorch_model.bin", EVIL, ("SEC001", Severity.HIGH))
    result = assess(scan, waivers(tmp_path, "accepted:\n" + entry(EVIL, "SEC002")))
    assert set(verdicts(result).values()) == {Verdict.FAIL}
    assert "matches no finding" in result.issues[0].problem


def test_unknown_imports_accepted_by_rule_no_longer_block_national(tmp_path: Path) -> None:
    scan = model_with("training_args.bin", BENIGN, ("SEC002", Severity.MEDIUM))
    before = assess(scan)
    assert verdicts(before)["national"] is Verdict.UNKNOWN
    nat002 = next(f for f in before.findings if f.rule_id == "NAT002")
    assert nat002.remediation.startswith(
        "training_args.bin is training state from a Trainer checkpoint, not needed to run the "
        "model: leave it out of what you deploy; or, after reviewing what it loads, accept it in "
        f'an --accept file: {{sha256: "{BENIGN}", rule: SEC002'
    )
    after = assess(scan, waivers(tmp_path, "accepted:\n" + entry(BENIGN, "SEC002")))
    assert verdicts(after)["national"] is Verdict.PASS


def test_sec100_waiver_on_a_file_without_dangerous_code_is_unused(tmp_path: Path) -> None:
    scan = model_with("training_args.bin", BENIGN, ("SEC002", Severity.MEDIUM))
    result = assess(scan, waivers(tmp_path, entry(BENIGN, "SEC100")))  # a bare list
    assert verdicts(result)["national"] is Verdict.UNKNOWN
    assert "matches no finding" in result.issues[0].problem


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("accepted:\n  - sha256: 1234\n", "quote the hash"),
        ('accepted:\n  - sha256: "xyz"\n', "64 hexadecimal digits"),
        ("accepted:\n" + entry(EVIL, "SOV001"), "'SOV001' cannot be waived"),
        ("accepted:\n" + entry(EVIL, "SEC100", "soon"), "ISO 8601 date"),
        (f'accepted:\n  - sha256: "{EVIL}"\n    rule: SEC100\n', "key 'reason': required"),
        ("accepted:\n" + entry(EVIL, "SEC100") + "    path: x\n", "unknown key 'path'"),
        ("other: []\n", "exactly one key, 'accepted'"),
        ("accepted: {}\n", "a list of entries"),
    ],
)
def test_malformed_waiver_files_are_usage_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        load_waivers(waivers(tmp_path, text))


def test_waiver_entry_fields_are_read(tmp_path: Path) -> None:
    loaded = load_waivers(
        waivers(tmp_path, "accepted:\n" + entry(EVIL.upper(), "sec001") + "    file: a.bin\n")
    )
    (waiver,) = loaded.entries
    assert (waiver.sha256, waiver.rule, waiver.expires, waiver.file) == (
        EVIL,
        "SEC001",
        dt.date(2027, 6, 30),
        "a.bin",
    )
    assert replace(waiver, file=None).file is None


def test_dangerous_code_fails_a_profile_that_counts_nothing_else() -> None:
    scan = model_with("evil.pkl", EVIL, ("SEC001", Severity.HIGH))
    datasets_only = [
        replace(load_builtin("national"), name="datasets-only", layers=(Layer.DATASETS,)),
        replace(load_builtin("national"), name="no-layers", layers=()),
    ]
    result = evaluate(scan, datasets_only, jurisdiction="RU")
    assert verdicts(result) == {"datasets-only": Verdict.FAIL, "no-layers": Verdict.FAIL}
    (dangerous,) = [f for f in result.findings if f.rule_id == "SEC100"]
    assert dangerous.tiers == ("datasets-only", "no-layers")
