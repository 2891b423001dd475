"""Golden files: compare rendered text with ``golden/<name>``; ``UPDATE_GOLDEN=1`` rewrites them.

Regenerate after an intended change with
``UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/unit/sbom`` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "golden"


def assert_golden(name: str, text: str) -> None:
    """``text`` equals the golden file ``name`` (or becomes it under UPDATE_GOLDEN=1)."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"{name} differs; UPDATE_GOLDEN=1 rewrites it (review the diff)"
