"""Detected or declared: a fact the knowledge base adds (a licence) changes neither."""

from __future__ import annotations

from scanner.core.detection import (
    VOCABULARY_FINGERPRINT,
    detected_signals,
    detection_confidence,
)
from scanner.core.model import Evidence

FINGERPRINT = Evidence(
    location="model.gguf",
    field="vocabulary:identical:high",
    value="llama-spm",
    method=VOCABULARY_FINGERPRINT,
)
#: What ``origins/known_licenses.py`` adds to a package with no licence of its own.
KNOWN_LICENCE = Evidence(
    location="pkg:pypi/tiktoken",
    field="license",
    value="MIT",
    method="knowledge-base (tiktoken: release 0.14.0, as of 2026-11)",
)
DECLARED = Evidence(location="README.md", field="base_model", value="x/y", method="model-card")


def test_a_known_licence_leaves_a_detected_component_detected() -> None:
    assert detection_confidence([FINGERPRINT]) == "high"
    assert detection_confidence([FINGERPRINT, KNOWN_LICENCE]) == "high"
    assert detected_signals(iter([FINGERPRINT, KNOWN_LICENCE])) == "vocabulary"


def test_a_declaration_makes_it_declared_and_a_licence_alone_detects_nothing() -> None:
    assert detection_confidence([FINGERPRINT, DECLARED]) is None
    assert detection_confidence([KNOWN_LICENCE]) is None
    assert detected_signals([KNOWN_LICENCE]) is None
