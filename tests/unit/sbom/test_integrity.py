"""check_integrity: what the schema cannot see, on small hand-made documents."""

from __future__ import annotations

from typing import Any

import pytest

from scanner.sbom.integrity import check_integrity, is_absolute_uri

SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def good() -> dict[str, Any]:
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "metadata": {
            "component": {
                "type": "machine-learning-model",
                "name": "m",
                "bom-ref": "m",
                "purl": "pkg:huggingface/acme/m@0123abcd",
                "modelCard": {
                    "bom-ref": "m#model-card",
                    "modelParameters": {
                        "datasets": [
                            {"ref": "d"},
                            {"ref": "urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1#x"},
                        ]
                    },
                },
                "pedigree": {
                    "ancestors": [
                        {"type": "machine-learning-model", "name": "b", "bom-ref": "m#ancestor:b"}
                    ]
                },
            }
        },
        "components": [
            {"type": "machine-learning-model", "name": "b", "bom-ref": "b"},
            {
                "type": "data",
                "name": "d",
                "bom-ref": "d",
                "data": [{"type": "dataset", "bom-ref": "d#data"}],
            },
            {
                "type": "file",
                "name": "f",
                "bom-ref": "f",
                "hashes": [
                    {"alg": "SHA-256", "content": SHA256},
                    {"alg": "MD5", "content": "0" * 32},
                ],
                "components": [{"type": "file", "name": "inner", "bom-ref": "f/inner"}],
            },
            {
                "type": "library",
                "name": "zope.interface",
                "bom-ref": "z",
                "purl": "pkg:pypi/zope.interface@5.0",
            },
        ],
        "dependencies": [
            {"ref": "m", "dependsOn": ["f", "z", "f/inner"]},
            {"ref": "b"},
            {"ref": "d"},
            {"ref": "f"},
            {"ref": "z"},
        ],
    }


def test_a_sound_document_has_no_problems() -> None:
    assert check_integrity(good()) == []


def test_duplicate_bom_refs_anywhere_are_found() -> None:
    doc = good()
    doc["metadata"]["component"]["pedigree"]["ancestors"][0]["bom-ref"] = "b"
    doc["components"][1]["data"][0]["bom-ref"] = "m#model-card"
    assert check_integrity(doc) == [
        "bom-ref 'b' is used 2 times",
        "bom-ref 'm#model-card' is used 2 times",
    ]


def test_dependencies_must_resolve_to_top_level_components() -> None:
    doc = good()
    doc["dependencies"][0]["dependsOn"].append("m#ancestor:b")
    doc["dependencies"].append({"ref": "ghost"})
    doc["dependencies"].append({"ref": "b"})
    assert check_integrity(doc) == [
        "'m' depends on 'm#ancestor:b', which is no top-level component",
        "dependencies entry 'ghost' names no top-level component",
        "dependencies has 2 entries for 'b'",
    ]


def test_model_card_datasets_must_be_data_components() -> None:
    doc = good()
    datasets = doc["metadata"]["component"]["modelCard"]["modelParameters"]["datasets"]
    datasets.extend([{"ref": "b"}, {"ref": "dataset:missing"}])
    assert check_integrity(doc) == [
        "modelCard of 'm' names dataset 'b', which is no data component",
        "modelCard of 'm' names dataset 'dataset:missing', which is no data component",
    ]


@pytest.mark.parametrize(
    ("purl", "problem"),
    [
        ("pkg:pypi/zope interface@5.0", "contains whitespace"),
        ("pkg:pypi/zope.interface@5.0\n", "contains whitespace"),
        (
            "pkg:PyPI/Zope_Interface@5.0",
            "is not canonical (expected 'pkg:pypi/zope-interface@5.0')",
        ),
        ("pkg:pypi", "does not parse"),
        ("zope.interface==5.0", "does not parse"),
    ],
)
def test_purls_must_parse_and_be_canonical(purl: str, problem: str) -> None:
    doc = good()
    doc["components"][3]["purl"] = purl
    (found,) = check_integrity(doc)
    assert found.startswith(f"purl {purl!r}")
    assert problem in found


def test_purls_in_pedigree_copies_are_checked_too() -> None:
    doc = good()
    doc["metadata"]["component"]["pedigree"]["ancestors"][0]["purl"] = "pkg:huggingface/Acme/M "
    assert check_integrity(doc) == ["purl 'pkg:huggingface/Acme/M ' contains whitespace"]


@pytest.mark.parametrize(
    ("digest", "problem"),
    [
        ({"alg": "SHA-256", "content": SHA256.upper()}, "SHA-256 of 'f' is not 64 lowercase hex"),
        ({"alg": "SHA-256", "content": SHA256[:-1]}, "SHA-256 of 'f' is not 64 lowercase hex"),
        ({"alg": "SHA-1", "content": SHA256}, "SHA-1 of 'f' is not 40 lowercase hex"),
        ({"alg": "SHA-512", "content": "g" * 128}, "SHA-512 of 'f' is not 128 lowercase hex"),
        ({"alg": "sha256", "content": SHA256}, "hash algorithm 'sha256' of 'f' is unknown"),
        ({"alg": "SHA-256"}, "SHA-256 of 'f' is not 64 lowercase hex digits: None"),
    ],
)
def test_hashes_must_be_lowercase_hex_of_the_right_length(
    digest: dict[str, str], problem: str
) -> None:
    doc = good()
    doc["components"][2]["hashes"] = [digest]
    (found,) = check_integrity(doc)
    assert found.startswith(problem)


def test_an_empty_document_is_sound() -> None:
    assert check_integrity({"bomFormat": "CycloneDX", "specVersion": "1.6"}) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://huggingface.co/datasets/tatsu-lab/alpaca", True),
        ("https://example.org/a%20b?q=1#frag", True),
        ("relative/path", False),
        ("https://host:/a", False),
        ("https://host:", False),
        ("https://user:pw@host:8080/", True),
        ("git+https://github.com/acme/repo", True),
        ("mailto:someone@example.org", True),
        ("https://example.org/a b", False),
        ("https://example.org/\n", False),
        ("https://example.org/é", False),
        ("https://example.org/%zz", False),
        ("https://example.org/<script>", False),
    ],
)
def test_absolute_uris(text: str, expected: bool) -> None:
    assert is_absolute_uri(text) is expected


def with_declarations() -> dict[str, Any]:
    doc = good()
    doc["definitions"] = {
        "standards": [
            {
                "bom-ref": "std",
                "requirements": [
                    {"bom-ref": "req"},
                    {"bom-ref": "req:1", "parent": "req"},
                ],
            }
        ]
    }
    doc["declarations"] = {
        "assessors": [{"bom-ref": "me"}],
        "attestations": [
            {
                "assessor": "me",
                "map": [
                    {"requirement": "req", "counterClaims": ["c1"]},
                    {"requirement": "req:1", "claims": ["c2"]},
                ],
            }
        ],
        "claims": [
            {"bom-ref": "c1", "target": "b", "evidence": ["e1"]},
            {"bom-ref": "c2", "target": "m", "counterEvidence": ["e1"]},
        ],
        "evidence": [{"bom-ref": "e1"}],
    }
    return doc


def test_sound_declarations_have_no_problems() -> None:
    assert check_integrity(with_declarations()) == []


def test_declaration_refs_must_name_things_of_the_right_kind() -> None:
    doc = with_declarations()
    doc["definitions"]["standards"][0]["requirements"][1]["parent"] = "c1"
    declarations = doc["declarations"]
    declarations["claims"][0]["target"] = "m#ancestor:b"  # a pedigree copy: no component
    declarations["claims"][1]["counterEvidence"] = ["e2"]
    attestation = declarations["attestations"][0]
    attestation["assessor"] = "nobody"
    attestation["map"][0]["requirement"] = "std"  # the standard, not a requirement
    attestation["map"][1]["claims"] = ["e1", "urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1#c"]
    assert check_integrity(doc) == [
        "requirement 'req:1' names 'c1', which is no requirement",
        "claim 'c1' names 'm#ancestor:b', which is no component",
        "claim 'c2' names 'e2', which is no evidence",
        "attestation 0 names 'nobody', which is no assessor",
        "attestation 0 names 'std', which is no requirement",
        "attestation 0 names 'e1', which is no claim",
    ]


def test_declaration_refs_count_as_bom_refs_for_uniqueness() -> None:
    doc = with_declarations()
    doc["declarations"]["evidence"][0]["bom-ref"] = "b"
    doc["declarations"]["claims"][0]["evidence"] = ["b"]
    doc["declarations"]["claims"][1]["counterEvidence"] = ["b"]
    assert check_integrity(doc) == ["bom-ref 'b' is used 2 times"]
