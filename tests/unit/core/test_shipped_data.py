"""Shipped YAML data kept as JSON between runs: same data, private files only."""

from __future__ import annotations

import datetime

import pytest

from scanner.core import shipped_data
from scanner.core.shipped_data import keep_parsed_in, parse_shipped_yaml, read_shipped_yaml

TEXT = """\
rows:
  - {id: "86 FR 4909", date: 2021-01-19, n: 3, ok: true, none: null}
  - plain
"""
PARSED = {
    "rows": [
        {"id": "86 FR 4909", "date": datetime.date(2021, 1, 19), "n": 3, "ok": True, "none": None},
        "plain",
    ]
}


@pytest.fixture
def cache(tmp_path):
    keep_parsed_in(tmp_path)
    yield tmp_path
    keep_parsed_in(None)


def test_the_json_copy_gives_the_same_data_dates_included(cache, monkeypatch):
    assert parse_shipped_yaml(TEXT, name="t") == PARSED
    [copy] = (cache / "data").glob("t-*.json")
    assert b'{"$date": "2021-01-19"}' in copy.read_bytes()
    # The second read comes from the copy: PyYAML is not even asked.
    monkeypatch.setitem(__import__("sys").modules, "yaml", None)
    assert parse_shipped_yaml(TEXT, name="t") == PARSED


def test_an_edited_file_is_parsed_again(cache):
    parse_shipped_yaml(TEXT, name="t")
    edited = parse_shipped_yaml(TEXT.replace("plain", "other"), name="t")
    assert isinstance(edited, dict)
    assert edited["rows"][1] == "other"
    assert len(list((cache / "data").glob("t-*.json"))) == 2


def test_a_copy_someone_else_may_write_is_ignored(cache):
    parse_shipped_yaml(TEXT, name="t")
    [copy] = (cache / "data").glob("t-*.json")
    copy.write_text('{"rows": ["planted"]}')
    copy.chmod(0o666)
    assert parse_shipped_yaml(TEXT, name="t") == PARSED


def test_a_damaged_copy_is_replaced(cache):
    parse_shipped_yaml(TEXT, name="t")
    [copy] = (cache / "data").glob("t-*.json")
    copy.write_text('{"rows": [')
    assert parse_shipped_yaml(TEXT, name="t") == PARSED
    assert parse_shipped_yaml(TEXT, name="t") == PARSED


def test_what_json_cannot_hold_is_not_kept(cache):
    assert parse_shipped_yaml("{1: one}", name="keys") == {1: "one"}
    assert not list((cache / "data").glob("keys-*.json"))


def test_without_a_folder_nothing_is_written(tmp_path):
    keep_parsed_in(None)
    profile = read_shipped_yaml("scanner.policy", "profiles/national.yaml")
    assert isinstance(profile, dict)
    assert profile["name"] == "national"
    assert not list(tmp_path.iterdir())


def test_not_yaml_is_a_value_error(cache):
    with pytest.raises(ValueError, match="bad: not valid YAML"):
        parse_shipped_yaml("a: [", name="bad")


def test_every_shipped_data_file_survives_the_round_trip(cache):
    for package, resource in (
        ("scanner.origins", "data/origins.yaml"),
        ("scanner.policy", "licenses.yaml"),
        ("scanner.policy", "deny_lists.yaml"),
        ("scanner.policy", "profiles/sovereign.yaml"),
    ):
        first = read_shipped_yaml(package, resource)
        assert read_shipped_yaml(package, resource) == first
    assert len(list((cache / "data").glob("*.json"))) == 4
    assert shipped_data._cache_dir[0] == cache
