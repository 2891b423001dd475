"""SPDX 3.0.1 JSON-LD, read back with the SPDX project's own bindings: profiles, lineage as
relationships, origins as suppliers, licences, verdicts; deterministic."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from spdx_python_model import v3_0_1 as spdx

from scanner.sbom.rendering import Authorship, RenderOptions
from scanner.sbom.spdx3 import render_spdx3, spdx_expression
from tests.unit.sbom.assessed import INSTRUCT, SUBJECT, assessed_result


def read(text: str) -> Any:  # the bindings type every property as a union
    objects = spdx.SHACLObjectSet()
    spdx.JSONLDDeserializer().read(io.BytesIO(text.encode()), objects)
    return objects


def by_name(objects: Any, cls: Any) -> dict[str, Any]:
    return {o.name: o for o in objects.foreach_type(cls)}


def test_the_document_reads_back_whole() -> None:
    text = render_spdx3(assessed_result())
    assert text == render_spdx3(assessed_result())  # byte-stable
    objects = read(text)
    assert not objects.missing_ids
    (document,) = objects.foreach_type(spdx.SpdxDocument)
    listed = {e.spdxId for e in document.element}
    everything = {o.spdxId for o in objects.foreach() if getattr(o, "spdxId", None)}
    assert everything - listed == {document.spdxId}
    (sbom,) = document.rootElement  # NTIA's checker wants the SBOM as the document's root
    assert isinstance(sbom, spdx.software_Sbom)
    assert sbom.software_sbomType == [spdx.software_SbomType.analyzed]
    (root,) = sbom.rootElement
    assert isinstance(root, spdx.ai_AIPackage)
    assert root.name == "ru-chat-lora"
    assert str(document.creationInfo.created) == "1970-01-01 00:00:00+00:00"


def test_profiles_lineage_origins_and_licences() -> None:
    objects = read(render_spdx3(assessed_result()))
    models = by_name(objects, spdx.ai_AIPackage)
    assert {"Meta-Llama-3-8B-Instruct", "Meta-Llama-3-8B", "ru-chat-lora"} <= set(models)
    instruct = models["Meta-Llama-3-8B-Instruct"]
    assert instruct.suppliedBy.name == "Meta Platforms, Inc."
    assert "country US" in instruct.suppliedBy.comment
    assert instruct.software_packageUrl == INSTRUCT
    datasets = by_name(objects, spdx.dataset_DatasetPackage)
    assert datasets
    edges = {
        (
            r.from_.name,
            r.relationshipType.rsplit("/", 1)[1],
            tuple(t.name for t in r.to if hasattr(t, "name")),
        )
        for r in objects.foreach_type(spdx.Relationship)
        if hasattr(r.from_, "name")
    }
    assert ("Meta-Llama-3-8B-Instruct", "descendantOf", ("Meta-Llama-3-8B",)) in edges
    assert ("ru-chat-lora", "descendantOf", ("Meta-Llama-3-8B-Instruct",)) in edges
    assert any(kind == "trainedOn" and src == "ru-chat-lora" for src, kind, _ in edges)
    licences = {
        r.to[0].simplelicensing_licenseExpression
        for r in objects.foreach_type(spdx.Relationship)
        if r.relationshipType.endswith("/hasDeclaredLicense")
    }
    assert "LicenseRef-llama3" in licences
    statements = [a.statement for a in objects.foreach_type(spdx.Annotation)]
    assert any(
        s.startswith("sovscan sovereign verdict (jurisdiction RU): FAIL.") for s in statements
    )


def test_who_made_it_and_when_come_from_the_run() -> None:
    when = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
    options = RenderOptions(
        timestamp=when, authorship=Authorship.parse(["Jane Roe <jane@example.org>"], "Example Bank")
    )
    objects = read(render_spdx3(assessed_result(), options))
    (document,) = objects.foreach_type(spdx.SpdxDocument)
    info = document.creationInfo
    assert info.created == when
    assert {a.name for a in info.createdBy} == {"sovscan", "Jane Roe", "Example Bank"}
    assert next(t.name for t in info.createdUsing).startswith("sovscan ")


def test_licence_names_become_spdx_expressions() -> None:
    assert spdx_expression("apache-2.0") == "Apache-2.0"
    assert spdx_expression("MIT OR Apache-2.0") == "MIT OR Apache-2.0"
    assert spdx_expression("llama3") == "LicenseRef-llama3"
    assert spdx_expression("CC BY-NC 4.0 (custom)") == "LicenseRef-CC-BY-NC-4.0-custom"


def test_hostile_text_stays_plain_json() -> None:
    result = assessed_result()
    components = tuple(
        replace(c, name='x"}\n],"@context":"evil', description="\x00\x1b[31m")
        if c.ref == SUBJECT
        else c
        for c in result.components
    )
    text = render_spdx3(replace(result, components=components))
    doc = json.loads(text)
    assert doc["@context"] == "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"
    assert not read(text).missing_ids
    (root,) = [e for e in doc["@graph"] if e.get("name", "").startswith("x")]
    assert root["name"] == 'x"}\n],"@context":"evil'.replace("\n", " ")  # one line, as data
    assert root["description"] == "[31m"  # the NUL and the escape character are gone
    models = {e["name"] for e in doc["@graph"] if e["type"] == "ai_AIPackage"}
    assert "Meta-Llama-3-8B" in models  # the rest of the lineage is unharmed
