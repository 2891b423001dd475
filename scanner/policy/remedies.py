"""What to do about a finding: one sentence naming the file, flag or entry to change.

The policy decides (``scanner.policy.evaluate``); this module only words the way out, so that
every FAIL and UNKNOWN a report shows comes with an action a user can take.
"""

from __future__ import annotations

from typing import TypeAlias

from scanner.core.model import Component, ComponentKind, ScanIssue

#: For code a file runs on load: the file, and the rules of its findings a waiver would accept.
OnLoad: TypeAlias = tuple[Component | None, tuple[str, ...]]

#: File names a Hugging Face Trainer writes into a checkpoint folder: training state, never
#: needed to run the model.
TRAINER_STATE_FILES = frozenset(
    {
        "training_args.bin",
        "optimizer.pt",
        "optimizer.bin",
        "scheduler.pt",
        "scaler.pt",
        "rng_state.pth",
        "trainer_state.json",
    }
)


def is_trainer_state(path: str) -> bool:
    """Whether ``path`` names a file a Trainer checkpoint holds (``rng_state_3.pth`` too)."""
    name = path.rsplit("/", 1)[-1]
    return name in TRAINER_STATE_FILES or (name.startswith("rng_state_") and name.endswith(".pth"))


def accept_hint(file: Component | None, rules: tuple[str, ...]) -> str:
    """``accept it with an --accept entry: {…}``, or why it cannot be accepted yet."""
    digest = _sha256(file)
    if digest is None:
        return "scan it where its SHA-256 can be computed, then accept it with --accept"
    from scanner.policy.waivers import accept_entry

    entries = "; ".join(accept_entry(digest, rule) for rule in rules)
    return f"accept it in an --accept file: {entries}"


def on_load_remedy(file: Component | None, rules: tuple[str, ...]) -> str:
    """For a file whose loading runs code nobody can vouch for (or that cannot be analysed)."""
    where = (file.path or file.name) if file is not None else "the file"
    if is_trainer_state(where):
        lead = (
            f"{where} is training state from a Trainer checkpoint, not needed to run the "
            "model: leave it out of what you deploy"
        )
    else:
        lead = f"Remove {where} or replace it with safetensors"
    return f"{lead}; or, after reviewing what it loads, {accept_hint(file, rules)}"


def origin_remedy(component: Component, *, subject: bool, on_load: OnLoad | None) -> str:
    """For a component whose origin is not established."""
    if on_load is not None:
        return on_load_remedy(*on_load)
    if component.kind is ComponentKind.LIBRARY:
        return (
            f"Add an --origins entry for the PyPI package {component.name} (kind "
            "pypi-package), or rerun with --resolve so its metadata is read from the index"
        )
    if subject and component.group is None:
        return (
            "Pass --name ORG/NAME with the model's Hub id so its publisher can be attributed, "
            "or add an --origins entry for its publisher"
        )
    if component.group:
        return (
            f"Add an --origins entry for the Hub namespace {component.group} (kind "
            "hf-namespace) naming its organisation and country"
        )
    return f"Add an --origins entry for the publisher of {label(component)}"


def license_remedy(component: Component, *, subject: bool, on_load: OnLoad | None) -> str:
    """For a component whose licence is unknown."""
    if on_load is not None:
        return on_load_remedy(*on_load)
    if component.kind is ComponentKind.LIBRARY:
        return (
            f"Rerun with --resolve (or --python) so the licence of {component.name} is read "
            "from its package metadata"
        )
    if subject:
        return "Declare the model's licence in its model card front matter (license: …)"
    return (
        f"Check the licence of {label(component)} at its source and correct its model card; "
        "the scan found none it recognises"
    )


def foreign_remedy(component: Component, jurisdiction: str) -> str:
    """For a component from another country."""
    return (
        f"Replace {label(component)} with a component from {jurisdiction}, or correct its "
        "origin with an --origins entry if the attribution is wrong"
    )


def issue_remedy(issue: ScanIssue) -> str:
    """For a file or upstream that could not be read."""
    if issue.location.startswith(("http://", "https://")):
        return (
            f"Scan again when {issue.location} answers (or check access with HF_TOKEN); "
            "what it holds is unknown until then"
        )
    return f"Fix or remove {issue.location} ({issue.problem}) and scan again"


def unresolved_remedy(label: str) -> str:
    """For an ancestor that could not be resolved."""
    return (
        f"Resolve {label} on the Hub with --resolve (a local folder's ancestors are not looked "
        "up otherwise), or check that it exists and HF_TOKEN can read it"
    )


def attestation_remedy(claim: str, expected: str | None) -> str:
    """For a claim the attestation does not make."""
    value = f" (value {expected})" if expected else ""
    return (
        f"Supply an attestation for claim {claim}{value} in --attestation FILE, signed off by "
        "who can vouch for it"
    )


def label(component: Component) -> str:
    """How a remedy names a component: ``ORG/NAME`` when it has a namespace."""
    return f"{component.group}/{component.name}" if component.group else component.name


def _sha256(component: Component | None) -> str | None:
    if component is None:
        return None
    return next((h.value for h in component.hashes if h.alg == "SHA-256"), None)
