"""What loading an ONNX model with its external data would read: paths outside its folder.

The locations come from the header-only ONNX reader (``scanner.formats.model.onnx``); nothing
here opens the files they name.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from scanner.analysis.load_risk import LoadRisk, RiskKind
from scanner.core.model import Severity

if TYPE_CHECKING:
    from scanner.formats.model.onnx import OnnxMetadata

#: Most hostile external-data locations listed as separate risks by ``external_data_risks``.
MAX_LOCATION_RISKS = 100

_DRIVE = re.compile(r"[A-Za-z]:")
_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def external_data_risks(metadata: OnnxMetadata) -> tuple[LoadRisk, ...]:
    """The risks of loading ``metadata``'s model with its external data.

    A location that is empty, absolute, has a ``..`` segment, names a drive, a URL or a
    Windows path, or holds NUL or a colon can make the runtime read a file outside the model's
    folder (or fail): HIGH, one risk per distinct location. A plain relative name is normal for
    a large model and gives nothing. Each graph problem gives a MEDIUM UNREADABLE risk: what
    external data that part would read is unknown.
    """
    hostile: dict[str, tuple[str, list[str]]] = {}
    for ref in metadata.external_data:
        reason = _hostile_location(ref.location)
        if reason is not None:
            hostile.setdefault(ref.location, (reason, []))[1].append(ref.tensor)
    risks = [
        LoadRisk(
            kind=RiskKind.EXTERNAL_DATA,
            severity=Severity.HIGH,
            message=_location_message(location, reason, tensors),
        )
        for location, (reason, tensors) in list(hostile.items())[:MAX_LOCATION_RISKS]
    ]
    if len(hostile) > MAX_LOCATION_RISKS:
        risks.append(
            LoadRisk(
                kind=RiskKind.EXTERNAL_DATA,
                severity=Severity.HIGH,
                message=(
                    f"{len(hostile) - MAX_LOCATION_RISKS} more hostile external-data locations, "
                    "not listed"
                ),
            )
        )
    risks.extend(
        LoadRisk(kind=RiskKind.UNREADABLE, severity=Severity.MEDIUM, message=problem)
        for problem in metadata.graph_problems
    )
    return tuple(risks)


def _hostile_location(location: str) -> str | None:
    """Why ``location`` would make the runtime read outside the model's folder, if it would."""
    if not location:
        return "an empty location (the runtime would open the model's folder itself)"
    if "\x00" in location:
        return "a NUL byte (the path is cut there)"
    if "\\" in location:
        return "a backslash (a Windows path)"
    if _URL_SCHEME.match(location):
        return "a URL"
    if _DRIVE.match(location):
        return "a drive letter: an absolute Windows path"
    if location.startswith("/"):
        return "an absolute path"
    if ".." in location.split("/"):
        return _dot_dot_reason(location)
    if ":" in location:
        return "a colon (a drive, a URL scheme or an alternate data stream)"
    return None


def _dot_dot_reason(location: str) -> str:
    depth = 0
    for segment in location.split("/"):
        if segment == "..":
            depth -= 1
            if depth < 0:
                return "outside the model folder"
        elif segment not in ("", "."):
            depth += 1
    # It stays inside once normalised, but onnx's checker refuses any '..' and a symlinked
    # folder on the way would lead elsewhere.
    return "a '..' segment"


def _location_message(location: str, reason: str, tensors: list[str]) -> str:
    shown = repr(location if len(location) <= 200 else location[:200] + "…")
    others = f" (and {len(tensors) - 1} more tensors)" if len(tensors) > 1 else ""
    return f"tensor {tensors[0]!r}{others} reads its data from {shown}: {reason}"
