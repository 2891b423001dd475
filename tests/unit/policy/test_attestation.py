"""Attestation files: claims with who attests them; malformed files name the file and claim."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.core.errors import UsageError
from scanner.policy import attestation as attestation_module
from scanner.policy.attestation import Claim, load_attestation

GOOD = """\
- claim: developers_citizenship
  value: RU
  attested_by: OOO Example, CTO I. Ivanov
  date: 2026-05-01
  evidence: https://example.org/attestations/42.pdf
- claim: training_location
  value: "RU"
  attested_by: OOO Example
- claim: certificate_number
  value: 4567
  attested_by: FSTEC
"""


def write(tmp_path: Path, text: str, name: str = "attestation.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_list_of_claims(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    attestation = load_attestation(path)
    assert attestation.source == str(path)
    assert attestation.value("developers_citizenship") == Claim(
        claim="developers_citizenship",
        value="RU",
        attested_by="OOO Example, CTO I. Ivanov",
        date="2026-05-01",
        evidence="https://example.org/attestations/42.pdf",
    )
    assert attestation.value("certificate_number") == Claim(
        claim="certificate_number", value="4567", attested_by="FSTEC"
    )
    assert attestation.value("data_collected_in") is None
    assert [c.claim for c in attestation.claims] == [
        "developers_citizenship",
        "training_location",
        "certificate_number",
    ]


def test_mapping_form_and_json(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '{"claims": [{"claim": "training_location", "value": "RU", "attested_by": "X",'
        ' "date": "2026-01-31"}]}',
        name="a.json",
    )
    claim = load_attestation(path).value("training_location")
    assert claim is not None
    assert (claim.value, claim.date) == ("RU", "2026-01-31")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "- claim: training_location\n  value: RU\n",
            "claim 1 \\(training_location\\): key 'attested_by': required",
        ),
        (
            "- claim: x\n  value: NO\n  attested_by: A\n",
            "claim 1 \\(x\\): key 'value': YAML read a boolean",
        ),
        ("- claim: x\n  attested_by: A\n", "claim 1 \\(x\\): key 'value': required"),
        ("- claim: x\n  value: ''\n  attested_by: A\n", "key 'value': must be a non-empty"),
        ("- claim: x\n  value: [RU]\n  attested_by: A\n", "key 'value': must be a non-empty"),
        ("- claim: x\n  value: RU\n  attested_by: A\n  signed: yes\n", "unknown key 'signed'"),
        ("- claim: x\n  value: RU\n  attested_by: A\n  date: yesterday\n", "key 'date'"),
        ("- claim: x\n  value: RU\n  attested_by: A\n  date: '2026-13-01'\n", "key 'date'"),
        ("- claim: x\n  value: RU\n  attested_by: A\n  date: 2026-13-01\n", "month must be"),
        (
            "- claim: x\n  value: RU\n  attested_by: A\n  evidence: file:///etc/passwd\n",
            "key 'evidence': must be an http",
        ),
        ("- claim: Training Location\n  value: RU\n  attested_by: A\n", "claim 1: key 'claim'"),
        ("- value: RU\n  attested_by: A\n", "claim 1: key 'claim'"),
        (
            "- claim: x\n  value: RU\n  attested_by: A\n"
            "- claim: x\n  value: DE\n  attested_by: B\n",
            "claim 'x' is made twice",
        ),
        ("- just a string\n", "claim 1: must be a mapping"),
        ("claims: []\nsubject: x\n", "exactly one key, 'claims'"),
        ("claim: x\n", "exactly one key, 'claims'"),
        ("42\n", "a list of claims"),
        ("- [unclosed\n", "not valid YAML"),
    ],
)
def test_malformed_attestation_names_file_and_claim(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(UsageError, match=message) as caught:
        load_attestation(path)
    assert str(caught.value).startswith(str(path))


def test_caps(tmp_path: Path, monkeypatch) -> None:
    path = write(tmp_path, "- claim: x\n  value: RU\n  attested_by: A\n" * 3)
    monkeypatch.setattr(attestation_module, "MAX_CLAIMS", 2)
    with pytest.raises(UsageError, match="more than 2 claims"):
        load_attestation(path)
    long_value = write(tmp_path, f"- claim: x\n  value: {'a' * 1001}\n  attested_by: A\n")
    with pytest.raises(UsageError, match="longer than 1000 characters"):
        load_attestation(long_value)
    monkeypatch.setattr(attestation_module, "MAX_ATTESTATION_BYTES", 10)
    with pytest.raises(UsageError, match="larger than 10 bytes"):
        load_attestation(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"nope\.yaml: cannot read the attestation"):
        load_attestation(tmp_path / "nope.yaml")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["claim", "value", "attested_by", "date", "evidence", "other"]),
            st.one_of(st.text(max_size=20), st.integers(), st.booleans(), st.none()),
            max_size=6,
        ),
        max_size=5,
    )
)
def test_fuzz_claims(tmp_path_factory, claims) -> None:
    import json

    path = tmp_path_factory.mktemp("fuzz") / "a.json"
    path.write_text(json.dumps(claims), encoding="utf-8")
    try:
        attestation = load_attestation(path)
    except UsageError as exc:
        message = str(exc)
    else:
        assert all(claim.attested_by for claim in attestation.claims)
        return
    assert message.startswith(str(path))
