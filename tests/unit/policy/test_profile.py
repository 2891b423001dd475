"""Profiles: the built-in tiers as data, custom profile files and their strict validation."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.core.errors import UsageError
from scanner.core.model import Layer
from scanner.policy import profile as profile_module
from scanner.policy.profile import (
    BUILTIN_TIERS,
    JURISDICTION_PLACEHOLDER,
    ClaimRequirement,
    RuleKind,
    load_builtin,
    load_profile_file,
    parse_country,
    read_policy_document,
    with_deny,
)

ALL_LAYERS = (Layer.WEIGHTS, Layer.TOKENIZER, Layer.CODE, Layer.DATASETS, Layer.PYTHON)


def test_builtin_sovereign() -> None:
    sovereign = load_builtin("sovereign")
    assert sovereign.rules == (RuleKind.DOMESTIC_ONLY,)
    assert sovereign.layers == ALL_LAYERS
    assert sovereign.jurisdiction is None
    assert [(c.claim, c.equals) for c in sovereign.attestations] == [
        ("developers_citizenship", JURISDICTION_PLACEHOLDER),
        ("training_location", JURISDICTION_PLACEHOLDER),
        ("data_collected_in", JURISDICTION_PLACEHOLDER),
    ]
    assert sovereign.attestations[0].expected("KZ") == "KZ"
    assert sovereign.source == "builtin:sovereign"
    assert sovereign.jurisdiction_for("RU") == "RU"


def test_builtin_national_trusted_adversary() -> None:
    national, trusted, adversary = (load_builtin(n) for n in ("national", "trusted", "adversary"))
    assert national.rules == (RuleKind.OPEN_LICENSE_FOR_FOREIGN,)
    assert national.attestations == ()
    assert trusted.extends == "national"
    assert trusted.rules == (RuleKind.OPEN_LICENSE_FOR_FOREIGN, RuleKind.REGISTRY)
    assert trusted.layers == national.layers == ALL_LAYERS
    assert adversary.rules == (RuleKind.DENY_LIST,)
    # The deny list is the evaluated jurisdiction's default one (scanner/policy/deny_lists.yaml).
    assert adversary.deny == ()
    assert adversary.deny_default
    assert Layer.FILES not in {layer for n in BUILTIN_TIERS for layer in load_builtin(n).layers}


def test_unknown_builtin() -> None:
    with pytest.raises(UsageError, match="unknown built-in profile 'strict'"):
        load_builtin("strict")


def test_with_deny_replaces_the_list() -> None:
    screen = with_deny(load_builtin("adversary"), ["cn", "HK", "CN"])
    assert screen.deny == ("CN", "HK")
    assert not screen.deny_default
    assert load_builtin("adversary").deny_default  # the cached built-in is untouched
    with pytest.raises(UsageError, match="--deny: 'XX' is not an ISO 3166-1"):
        with_deny(load_builtin("adversary"), ["XX"])
    with pytest.raises(UsageError, match="at least one"):
        with_deny(load_builtin("adversary"), [])
    with pytest.raises(UsageError, match="has no deny list"):
        with_deny(load_builtin("national"), ["CN"])


@pytest.mark.parametrize(
    ("value", "expected"), [("RU", "RU"), (" ru ", "RU"), ("us", "US"), ("KP", "KP")]
)
def test_parse_country(value, expected) -> None:
    assert parse_country(value, where="x") == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("XX", "'XX' is not an ISO 3166-1 alpha-2"),
        ("RUS", "'RUS' is not an ISO"),
        ("EU", "'EU' is not an ISO"),
        (False, "quote it"),
        (7, "got int"),
        (None, "got NoneType"),
    ],
)
def test_parse_country_rejects(value, message) -> None:
    with pytest.raises(UsageError, match=message):
        parse_country(value, where="somewhere")


def write(tmp_path: Path, text: str, name: str = "profile.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_custom_profile(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name: eu-open\n"
        "description: |\n  Open licences for all\n  non-EU parts.\n"
        "rule: open-licence-for-foreign\n"
        "layers: [python, weights, weights]\n"
        "jurisdiction: de\n"
        "attestations:\n"
        "  - {claim: ai_act_representative, description: Authorised representative.}\n"
        "  - {claim: training_location, equals: '${jurisdiction}'}\n",
    )
    profile = load_profile_file(path)
    assert profile.name == "eu-open"
    assert profile.description == "Open licences for all non-EU parts."
    assert profile.layers == (Layer.WEIGHTS, Layer.PYTHON)
    assert profile.jurisdiction == "DE"
    assert profile.jurisdiction_for("RU") == "DE"
    assert profile.attestations == (
        ClaimRequirement(claim="ai_act_representative", description="Authorised representative."),
        ClaimRequirement(claim="training_location", equals=JURISDICTION_PLACEHOLDER),
    )
    assert profile.attestations[0].expected("DE") is None
    assert profile.source == str(path)


def test_custom_profile_extends_a_builtin(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name: sovereign-strict\ndescription: d\nextends: sovereign\n"
        "attestations:\n"
        "  - {claim: training_location, equals: RU}\n"
        "  - {claim: fstec_certificate}\n",
    )
    profile = load_profile_file(path)
    assert profile.extends == "sovereign"
    assert profile.rules == (RuleKind.DOMESTIC_ONLY,)
    assert profile.layers == ALL_LAYERS
    assert [(c.claim, c.equals) for c in profile.attestations] == [
        ("developers_citizenship", JURISDICTION_PLACEHOLDER),
        ("data_collected_in", JURISDICTION_PLACEHOLDER),
        ("training_location", "RU"),
        ("fstec_certificate", None),
    ]


def test_custom_deny_list_extending_national(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '{"name": "combo", "description": "d", "extends": "national", "rule": "deny-list",'
        ' "deny": ["cn", "IR"]}',
        name="combo.json",
    )
    profile = load_profile_file(path)
    assert profile.rules == (RuleKind.OPEN_LICENSE_FOR_FOREIGN, RuleKind.DENY_LIST)
    assert profile.deny == ("CN", "IR")


def test_empty_layer_list_is_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, "name: none\ndescription: d\nrule: registry\nlayers: []\n")
    assert load_profile_file(path).layers == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "name: x\ndescription: d\nrule: registry\nlayers: [weights]\nlayer: [x]\n",
            "unknown key 'layer'",
        ),
        (
            "name: x\ndescription: d\nrule: registry\nlayers: [weight]\n",
            "key 'layers\\[0\\]': unknown layer 'weight'",
        ),
        ("name: x\ndescription: d\nrule: registry\nlayers: weights\n", "key 'layers': must be a"),
        ("name: x\ndescription: d\nrule: registry\nlayers: [[weights]]\n", "unknown layer a list"),
        (
            "name: x\ndescription: d\nrule: deny-list\nlayers: [weights]\ndeny: [CN, XX]\n",
            "key 'deny\\[1\\]': 'XX' is not an ISO 3166-1",
        ),
        (
            "name: x\ndescription: d\nrule: deny-list\nlayers: [weights]\ndeny: [NO]\n",
            "key 'deny\\[0\\]': a boolean",
        ),
        (
            "name: x\ndescription: d\nrule: deny-list\nlayers: [weights]\ndeny: []\n",
            "needs at least one country",
        ),
        ("name: x\ndescription: d\nrule: deny-list\nlayers: [weights]\n", "needs at least one"),
        (
            "name: x\ndescription: d\nrule: registry\nlayers: [weights]\ndeny: [CN]\n",
            "only a deny-list profile",
        ),
        (
            "name: x\ndescription: d\nrule: registry\nlayers: [weights]\njurisdiction: Russia\n",
            "key 'jurisdiction': 'Russia' is not an ISO",
        ),
        (
            "name: sovereign\ndescription: d\nrule: registry\nlayers: [weights]\n",
            "key 'name': 'sovereign' is a built-in profile",
        ),
        (
            "name: My Profile\ndescription: d\nrule: registry\nlayers: [weights]\n",
            "key 'name': 'My Profile' must be lower-case",
        ),
        ("description: d\nrule: registry\nlayers: [weights]\n", "key 'name': required"),
        ("name: x\nrule: registry\nlayers: [weights]\n", "key 'description': required"),
        (
            "name: x\ndescription: ''\nrule: registry\nlayers: [weights]\n",
            "key 'description': must be a non-empty string",
        ),
        ("name: x\ndescription: d\nlayers: [weights]\n", "key 'rule': required"),
        (
            "name: x\ndescription: d\nrule: strict\nlayers: [weights]\n",
            "key 'rule': unknown rule 'strict'",
        ),
        ("name: x\ndescription: d\nrule: registry\n", "key 'layers': required"),
        ("name: x\ndescription: d\nextends: gold\n", "key 'extends': 'gold' is not a built-in"),
        (
            "name: x\ndescription: d\nrule: registry\nlayers: []\nattestations: {a: b}\n",
            "key 'attestations': must be a list",
        ),
        (
            "name: x\ndescription: d\nrule: registry\nlayers: []\nattestations: [{claim: Bad}]\n",
            "key 'attestations\\[0\\]': key 'claim': 'Bad'",
        ),
        (
            "name: x\ndescription: d\nrule: registry\nlayers: []\n"
            "attestations: [{claim: a}, {claim: a}]\n",
            "claim 'a' twice",
        ),
        (
            "name: x\ndescription: d\nrule: registry\nlayers: []\n"
            "attestations: [{claim: a, equals: yes}]\n",
            "key 'equals': must be a string",
        ),
        (
            "name: x\ndescription: d\nrule: registry\nlayers: []\n"
            "attestations: [{claim: a, value: RU}]\n",
            "unknown key 'value'",
        ),
        ("- just\n- a list\n", "a profile must be a mapping"),
        ("name: [unclosed\n", "not valid YAML"),
    ],
)
def test_malformed_profile_names_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(UsageError, match=message) as caught:
        load_profile_file(path)
    assert str(caught.value).startswith(str(path))


def test_malformed_json_profile(tmp_path: Path) -> None:
    path = write(tmp_path, '{"name": "x", "name": "y"}', name="p.json")
    with pytest.raises(UsageError, match=r"p\.json: the policy profile is not valid JSON: "):
        load_profile_file(path)


def test_unreadable_and_oversized_profiles(tmp_path: Path, monkeypatch) -> None:
    with pytest.raises(UsageError, match=r"missing\.yaml: cannot read the policy profile"):
        load_profile_file(tmp_path / "missing.yaml")
    path = write(tmp_path, "name: x\n" + "#" * 100)
    monkeypatch.setattr(profile_module, "MAX_PROFILE_BYTES", 50)
    with pytest.raises(UsageError, match="larger than 50 bytes"):
        load_profile_file(path)
    binary = tmp_path / "b.yaml"
    binary.write_bytes(b"name: \xff\xfe\n")
    with pytest.raises(UsageError, match="not UTF-8"):
        load_profile_file(binary)


def test_deeply_nested_documents_are_usage_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "[" * 100_000 + "]" * 100_000, name="deep.json")
    with pytest.raises(UsageError, match="not valid JSON"):
        read_policy_document(path, what="x", max_bytes=1_000_000)


def test_alias_bomb_is_rejected_without_expanding(tmp_path: Path) -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}] " for i in range(20)]
    path = write(tmp_path, "\n".join(lines) + "\nname: *u\n")
    with pytest.raises(UsageError):
        load_profile_file(path)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_profile_file(tmp_path_factory, text: str) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "p.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_profile_file(path)
    except UsageError as exc:
        message = str(exc)
    else:
        return
    assert message.startswith(str(path))
