"""The lineage drawn: which nodes, how they stand, and labels no hostile name can break."""

from __future__ import annotations

import itertools
import re

from scanner.core.detection import VOCABULARY_FINGERPRINT
from scanner.core.model import (
    Component,
    ComponentKind,
    Confidence,
    Evidence,
    Origin,
    OriginBasis,
    Relation,
    RelationKind,
    ScanResult,
    StewardKind,
)
from scanner.sbom.lineage_graph import MAX_NODES, Standing, lineage_graph, mermaid

SUBJECT = "model:ru-model"


def origin(country: str | None, steward: StewardKind = StewardKind.ORGANIZATION) -> Origin:
    return Origin(
        organization="Org",
        steward=steward,
        country=country,
        basis=OriginBasis.CURATED,
        confidence=Confidence.HIGH,
    )


def model(ref: str, name: str, found: Origin | None = None) -> Component:
    return Component(ref=ref, kind=ComponentKind.MODEL, name=name, origin=found)


def test_nodes_stand_against_the_jurisdiction_and_detected_edges_are_dotted() -> None:
    fingerprint = Evidence(
        location="tokenizer.json",
        field="vocabulary:identical:high",
        value="llama-spm",
        method=VOCABULARY_FINGERPRINT,
    )
    result = ScanResult(
        subjects=(SUBJECT,),
        jurisdiction="RU",
        components=(
            model(SUBJECT, "ru-model", origin("RU")),
            model("pkg:huggingface/meta/base", "base", origin("US")),
            model("pkg:huggingface/x/hidden", "hidden", origin(None, StewardKind.COMMUNITY)),
            Component(ref="dataset:a/b", kind=ComponentKind.DATASET, name="b"),
        ),
        relations=(
            Relation(src=SUBJECT, dst="pkg:huggingface/meta/base", kind=RelationKind.FINETUNE),
            Relation(
                src="pkg:huggingface/meta/base",
                dst="pkg:huggingface/x/hidden",
                kind=RelationKind.DERIVED,
                evidence=(fingerprint,),
            ),
            Relation(src=SUBJECT, dst="dataset:a/b", kind=RelationKind.TRAINED_ON),
        ),
    )
    graph = lineage_graph(result, SUBJECT)
    assert [(n.title, n.standing) for n in graph.nodes] == [
        ("ru-model", Standing.DOMESTIC),
        ("base", Standing.FOREIGN),
        ("b", Standing.UNKNOWN),
        ("hidden", Standing.COMMUNITY),
    ]
    assert graph.depths() == {"n0": 0, "n1": 1, "n2": 1, "n3": 2}
    text = "\n".join(mermaid(graph))
    assert "n0 -->|finetune| n1" in text
    assert "n1 -.->|derived (detected)| n3" in text
    assert "class n1 foreign" in text


def test_a_hostile_name_stays_a_label() -> None:
    hostile = 'x"]; click n0 "javascript:alert(1)"; n9["<img src=x onerror=alert(1)>|#quot;'
    result = ScanResult(
        subjects=(SUBJECT,),
        components=(model(SUBJECT, "m"), model("pkg:huggingface/e/vil", hostile)),
        relations=(Relation(src=SUBJECT, dst="pkg:huggingface/e/vil", kind=RelationKind.MERGE),),
    )
    lines = mermaid(lineage_graph(result, SUBJECT))
    node_lines = [line for line in lines if re.match(r"  n\d+\[", line)]
    assert len(node_lines) == 2
    for line in node_lines:
        inside = re.fullmatch(r'  n\d+\["(.*)"\]', line)
        assert inside is not None, line
        label = re.sub(r"</?b>|<br/>", "", inside[1])
        assert not set(label) & set('"[]{}|<>;#&`'), label
    assert not any(line.lstrip().startswith("click") for line in lines)


def test_a_long_lineage_is_cut_and_counted() -> None:
    chain = [model(SUBJECT, "m")] + [
        model(f"pkg:huggingface/o/m{i}", f"m{i}") for i in range(MAX_NODES + 10)
    ]
    relations = tuple(
        Relation(src=a.ref, dst=b.ref, kind=RelationKind.FINETUNE)
        for a, b in itertools.pairwise(chain)
    )
    graph = lineage_graph(
        ScanResult(subjects=(SUBJECT,), components=tuple(chain), relations=relations), SUBJECT
    )
    assert len(graph.nodes) == MAX_NODES
    assert graph.hidden == 11
    assert '  more["… 11 more, see the BOM"]' in mermaid(graph)
