"""The compiled CycloneDX validator: as strict as the library's, cached on disk, never trusted
blindly."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cyclonedx.schema import OutputFormat, SchemaVersion
from cyclonedx.validation import make_schemabased_validator

from scanner.sbom import cdx_validation
from scanner.sbom.cdx_validation import json_schema_problems
from scanner.sbom.cyclonedx import SPEC_VERSIONS, BomOptions, render_cyclonedx
from tests.unit.sbom.test_cyclonedx import scan_result


def library_errors(doc: dict[str, Any], spec_version: str) -> list[str]:
    validator = make_schemabased_validator(
        OutputFormat.JSON, SchemaVersion.from_version(spec_version)
    )
    return [str(error) for error in validator.validate_str(json.dumps(doc), all_errors=True) or ()]


def rendered(spec_version: str) -> dict[str, Any]:
    text = render_cyclonedx(scan_result(), "json", BomOptions(spec_version=spec_version))
    return json.loads(text)


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """No validator loaded in this process yet."""
    monkeypatch.setattr(cdx_validation, "_LOADED", {})


def compiled(spec_version: str, cache: Path) -> Callable[[Any], Any]:
    check = cdx_validation._compiled_validator(spec_version, cache)
    assert check is not None
    return check


def rejects(check: Callable[[Any], Any], doc: dict[str, Any]) -> bool:
    return not cdx_validation._passes(check, doc)


# Each breaks the schema in a way a bug in our building could: wrong types, missing or unknown
# fields, values out of an enum, patterns, duplicates, deep inside a component.
MUTATIONS: dict[str, Callable[[dict[str, Any]], None]] = {
    "unknown top-level field": lambda d: d.update(surprise=1),
    "specVersion not a string": lambda d: d.update(specVersion=1.6),
    "serial number pattern": lambda d: d.update(serialNumber="urn:uuid:not-a-uuid"),
    "component without name": lambda d: d["components"][0].pop("name"),
    "component type not in enum": lambda d: d["components"][0].update(type="weights"),
    "unknown component field": lambda d: d["components"][0].update(colour="red"),
    "hash content pattern": lambda d: d["components"][0].update(
        hashes=[{"alg": "SHA-256", "content": "xyz"}]
    ),
    "hash algorithm not in enum": lambda d: d["components"][0].update(
        hashes=[{"alg": "SHA-257", "content": "a" * 64}]
    ),
    "property value not a string": lambda d: d["components"][0].update(
        properties=[{"name": "sovscan:x", "value": 3}]
    ),
    "dependency ref not a string": lambda d: d["dependencies"][0].update(ref=7),
    "duplicate dependency entries": lambda d: d["dependencies"].append(
        copy.deepcopy(d["dependencies"][0])
    ),
    "duplicate components": lambda d: d["components"].append(copy.deepcopy(d["components"][0])),
    "licence with neither id nor name": lambda d: d["components"][0].update(
        licenses=[{"license": {"url": "https://example.org/"}}]
    ),
    "unknown SPDX licence id": lambda d: d["components"][0].update(
        licenses=[{"license": {"id": "Not-A-Licence-1.0"}}]
    ),
    "model card field of the wrong type": lambda d: d["metadata"]["component"].update(
        modelCard={"modelParameters": {"task": 5}}
    ),
    "timestamp not a date-time": lambda d: d["metadata"].update(timestamp="yesterday"),
    "supplier e-mail without @": lambda d: d["components"][0].update(
        supplier={"name": "Org", "contact": [{"email": "nobody"}]}
    ),
    "external reference type not in enum": lambda d: d["components"][0].update(
        externalReferences=[{"type": "homepage", "url": "https://example.org/"}]
    ),
}


@pytest.mark.parametrize("spec_version", SPEC_VERSIONS)
def test_compiled_validator_agrees_with_the_library(spec_version, tmp_path, fresh):
    doc = rendered(spec_version)
    check = compiled(spec_version, tmp_path)
    assert library_errors(doc, spec_version) == []
    assert not rejects(check, doc)
    for what, mutate in MUTATIONS.items():
        broken = copy.deepcopy(doc)
        mutate(broken)
        assert library_errors(broken, spec_version), f"{what}: the library accepts it"
        assert rejects(check, broken), f"{what}: the compiled validator accepts it"
        assert json_schema_problems(broken, spec_version, tmp_path), what


def test_problems_come_from_the_library_with_its_messages(tmp_path, fresh):
    doc = rendered("1.6")
    doc["components"][0]["type"] = "weights"
    problems = json_schema_problems(doc, "1.6", tmp_path)
    assert any(p.startswith("schema: components/0/type: 'weights' is not one of") for p in problems)


def test_compiled_once_then_loaded_from_disk(tmp_path, fresh, monkeypatch):
    compiled("1.6", tmp_path)
    [stored] = tmp_path.glob("cyclonedx-1.6-*.marshal")
    assert stored.stat().st_mode & 0o077 == 0o000 or os.name != "posix"
    monkeypatch.setattr(cdx_validation, "_LOADED", {})
    monkeypatch.setattr(cdx_validation, "_compile", lambda _version: pytest.fail("recompiled"))
    doc = rendered("1.6")
    assert not rejects(compiled("1.6", tmp_path), doc)


def test_a_cache_file_others_may_write_is_not_loaded(tmp_path, fresh, monkeypatch):
    compiled("1.6", tmp_path)
    [stored] = tmp_path.glob("cyclonedx-1.6-*.marshal")
    # Someone else could have put anything here: never exec it.
    stored.write_bytes(b"anything")
    stored.chmod(0o666)
    monkeypatch.setattr(cdx_validation, "_LOADED", {})
    loads: list[bytes] = []
    real_load = cdx_validation._load

    def load(code: bytes) -> Any:
        loads.append(code)
        return real_load(code)

    monkeypatch.setattr(cdx_validation, "_load", load)
    check = compiled("1.6", tmp_path)
    assert b"anything" not in loads
    assert not rejects(check, rendered("1.6"))


def test_a_damaged_cache_file_is_compiled_again(tmp_path, fresh, monkeypatch):
    compiled("1.6", tmp_path)
    [stored] = tmp_path.glob("cyclonedx-1.6-*.marshal")
    stored.write_bytes(stored.read_bytes()[:1000])
    monkeypatch.setattr(cdx_validation, "_LOADED", {})
    doc = rendered("1.6")
    assert not rejects(compiled("1.6", tmp_path), doc)
    assert stored.stat().st_size > 1000


def test_an_unwritable_cache_still_validates(tmp_path, fresh):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    doc = rendered("1.6")
    assert json_schema_problems(doc, "1.6", blocker / "schemas") == []
    doc["components"][0]["type"] = "weights"
    assert json_schema_problems(doc, "1.6", blocker / "schemas")


def test_a_small_bom_compiles_on_the_second_miss_only(tmp_path, fresh):
    doc = rendered("1.6")
    assert json_schema_problems(doc, "1.6", tmp_path) == []
    assert not list(tmp_path.glob("*.marshal"))  # a one-off run pays nothing extra
    assert list(tmp_path.glob("cyclonedx-1.6-*.wanted"))
    assert json_schema_problems(doc, "1.6", tmp_path) == []
    assert list(tmp_path.glob("cyclonedx-1.6-*.marshal"))


def test_a_large_bom_compiles_at_once(tmp_path, fresh):
    doc = rendered("1.6")
    doc["components"] = [
        {"type": "file", "name": f"f{index}", "bom-ref": f"f{index}"}
        for index in range(cdx_validation.COMPILE_AT_ONCE_COMPONENTS)
    ]
    doc["dependencies"] = []
    assert json_schema_problems(doc, "1.6", tmp_path) == []
    assert list(tmp_path.glob("cyclonedx-1.6-*.marshal"))


def test_without_a_cache_folder_only_the_library_validates(fresh, monkeypatch):
    monkeypatch.setattr(cdx_validation, "_compile", lambda _version: pytest.fail("compiled"))
    assert json_schema_problems(rendered("1.6"), "1.6", None) == []


def test_both_roads_report_the_same_bad_urls(tmp_path, fresh):
    doc = rendered("1.6")
    doc["components"][0]["externalReferences"] = [
        {"type": "website", "url": "https://ok.test/"},
        {"type": "website", "url": "https://bad.test/a b"},
    ]
    doc["metadata"]["component"].setdefault("externalReferences", []).append(
        {"type": "vcs", "url": "not a url"}
    )
    compiled("1.6", tmp_path)  # the compiled validator is there: the fast road
    fast = json_schema_problems(doc, "1.6", tmp_path)
    slow = json_schema_problems(doc, "1.6", None)
    assert sorted(fast) == sorted(slow)
    assert "url 'https://bad.test/a b' is not a valid absolute URI" in fast
    assert "url 'not a url' is not a valid absolute URI" in fast
