"""The stages after discovery: attribute every component's origin, then evaluate the tiers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from scanner.core.config import ScanConfig
from scanner.core.errors import UsageError
from scanner.core.model import ScanResult
from scanner.origins.attribute import attribute
from scanner.origins.knowledge import KnowledgeBase, load_builtin, load_overlay
from scanner.origins.known_licenses import with_known_licenses
from scanner.policy.evaluate import evaluate
from scanner.policy.profile import BUILTIN_TIERS, Profile, load_profile_file, with_deny
from scanner.policy.profile import load_builtin as load_builtin_profile

if TYPE_CHECKING:
    from scanner.policy.attestation import Attestation
    from scanner.policy.registry import TrustedRegistry
    from scanner.policy.waivers import Waivers


def knowledge_base(origins_file: Path | None) -> KnowledgeBase:
    """The built-in knowledge base with the user's ``--origins`` entries layered over it."""
    base = load_builtin()
    return load_overlay(base, origins_file) if origins_file is not None else base


@dataclass(frozen=True, slots=True, kw_only=True)
class Assessor:
    """Everything the user's files say about origins and policy, loaded before the scan starts
    (a typo in ``--policy`` fails in a second, not after hashing 100 GB)."""

    knowledge: KnowledgeBase
    profiles: tuple[Profile, ...]
    chosen: str | None
    jurisdiction: str
    attestation: Attestation | None
    registry: TrustedRegistry | None
    waivers: Waivers | None
    today: date

    @classmethod
    def from_config(cls, config: ScanConfig) -> Assessor:
        """Load the knowledge base, profiles, attestation and registry; UsageError if bad."""
        profiles = [load_builtin_profile(name) for name in BUILTIN_TIERS]
        if config.deny is not None and config.jurisdiction.upper() in {
            code.upper() for code in config.deny
        }:
            raise UsageError(
                f"--deny {','.join(config.deny)}: {config.jurisdiction} is the jurisdiction "
                "itself; a jurisdiction cannot deny itself (see --jurisdiction)"
            )
        if config.deny is not None:
            profiles = [with_deny(p, config.deny) if p.name == "adversary" else p for p in profiles]
        chosen = config.policy
        if chosen is not None and chosen not in BUILTIN_TIERS:
            if not Path(chosen).exists():
                raise UsageError(
                    f"--policy {chosen}: not a built-in tier ({', '.join(BUILTIN_TIERS)}) "
                    "and no such profile file"
                )
            custom = load_profile_file(Path(chosen))  # never named like a built-in tier
            profiles.append(custom)
            chosen = custom.name
        return cls(
            knowledge=knowledge_base(config.origins_file),
            profiles=tuple(profiles),
            chosen=chosen,
            jurisdiction=config.jurisdiction,
            attestation=_attestation(config.attestation_file),
            registry=_registry(config.registry_file),
            waivers=_waivers(config.accept_file),
            today=config.today,
        )

    def assess(self, result: ScanResult) -> ScanResult:
        """Apply the waivers, give packages without metadata their knowledge-base licence,
        attach origins to every component, then evaluate every tier."""
        if self.waivers is not None:
            from scanner.policy.waivers import apply_waivers

            result = apply_waivers(result, self.waivers, self.today)
        result = with_known_licenses(result, self.knowledge)
        return evaluate(
            attribute(result, self.knowledge),
            self.profiles,
            jurisdiction=self.jurisdiction,
            attestation=self.attestation,
            registry=self.registry,
            chosen=self.chosen,
        )


# The loaders import their modules only when a file is named: most scans name none.


def _attestation(path: Path | None) -> Attestation | None:
    if path is None:
        return None
    from scanner.policy.attestation import load_attestation

    return load_attestation(path)


def _registry(path: Path | None) -> TrustedRegistry | None:
    if path is None:
        return None
    from scanner.policy.registry import load_registry

    return load_registry(path)


def _waivers(path: Path | None) -> Waivers | None:
    if path is None:
        return None
    from scanner.policy.waivers import load_waivers

    return load_waivers(path)
