"""Scan a local model folder (or a single model file) into an inventory."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from scanner.core.config import DEFAULT_HUB, ScanConfig
from scanner.core.errors import TargetError
from scanner.core.model import ComponentKind, Evidence, ScanIssue, Severity
from scanner.formats.model.model_formats import holds_weights
from scanner.formats.python.dependency_files import PROJECT_NAMING_KINDS
from scanner.hashing.digest import HashOutcome, HashRequest, hash_files
from scanner.hashing.digest_cache import HashCache
from scanner.sources.folder_facts import FolderFacts, read_folder_facts
from scanner.sources.identity import identify
from scanner.sources.inventory import FileDigest, Inventory, build_inventory
from scanner.sources.load_analysis import file_analyses, with_load_analysis
from scanner.sources.python.files import read_dependency_files
from scanner.sources.walk import VIRTUALENV_NOT_WALKED, FileEntry, walk_target

if TYPE_CHECKING:
    from scanner.formats.python.records import DependencyDocument
    from scanner.sources.python.components import PythonParts


def scan_local(
    target: Path, config: ScanConfig, cache: HashCache | None, display: str | None = None
) -> Inventory:
    """Walk, read headers, hash every byte once, and build the folder's inventory.

    Evidence locations are relative to the folder; issue locations are prefixed with
    ``display`` (the target as the user typed it) so that they can be found from there.
    """
    walk = walk_target(target, progress=config.progress)
    shown = display if display is not None else target.as_posix()
    if target.is_dir() and not walk.files and not walk.issues and config.python is None:
        raise TargetError(
            f"{shown}: nothing to scan: the folder holds no files (to scan only an "
            "interpreter's packages, add --python PYTHON)"
        )
    facts = read_folder_facts(walk)
    identity, identity_issues = identify(target, config.name, facts.downloads)
    # Loading analysis reads small files whole: they are hashed from the same bytes.
    read_once: dict[Path, HashOutcome] = {}
    analysed = file_analyses(walk.files, progress=config.progress, hashed=read_once)
    digests, hash_issues = _hash(walk.files, facts, config, cache, read_once)
    inventory = build_inventory(
        identity,
        facts,
        [(entry.relpath, entry.size) for entry in walk.files],
        digests,
        hub=config.hub_endpoint or DEFAULT_HUB,
    )
    documents, python_issues = (
        read_dependency_files(target, walk.files) if target.is_dir() else ([], [])
    )
    model_folder = holds_a_model(facts, walk.files)
    # A folder of Python manifests (or an empty one scanned for --python) is a project.
    if (documents or config.python is not None) and not model_folder:
        inventory = as_project(inventory, documents, named=config.name is not None)
    python = _python_parts(documents, inventory.subject_ref)
    if model_folder:
        walk = replace(walk, issues=tuple(_model_venv(issue) for issue in walk.issues))
    inventory = with_load_analysis(inventory, walk.files, facts, analysed=analysed)
    if (
        target.is_file()
        and config.python is None
        and not model_folder
        and not inventory.findings
        and not facts.issues
    ):
        raise TargetError(
            f"{shown}: nothing to scan: not a model file (no model format, model card or "
            "pickle recognised); scan the folder that holds the model"
        )
    issues = (
        *walk.issues,
        *facts.issues,
        *identity_issues,
        *hash_issues,
        *inventory.issues,
        *python_issues,
        *(python.issues if python else ()),
    )
    prefix = PurePosixPath(display if display is not None else target.as_posix())
    if target.is_file():
        prefix = prefix.parent
    located = {replace(i, location=_locate(prefix, i.location)) for i in issues}
    return Inventory(
        subject_ref=inventory.subject_ref,
        components=(*inventory.components, *(python.components if python else ())),
        relations=(*inventory.relations, *(python.relations if python else ())),
        issues=tuple(sorted(located, key=lambda i: (i.location, i.problem))),
        findings=inventory.findings,
    )


def _python_parts(documents: Sequence[DependencyDocument], subject: str) -> PythonParts | None:
    """The libraries the folder's dependency files name; None without any (the Python modules
    then never load)."""
    if not documents:
        return None
    from scanner.sources.python.components import python_parts

    return python_parts(documents, [subject])


def holds_a_model(facts: FolderFacts, files: tuple[FileEntry, ...]) -> bool:
    """Whether the folder shows any sign of a model: a card with front matter, a model,
    adapter or tokenizer config, weight headers or weight files, LFS pointers."""
    return bool(
        (facts.card is not None and facts.card.has_front_matter)
        or facts.configs
        or facts.adapter
        or facts.tokenizer
        or facts.model_index
        or facts.st_modules
        or facts.safetensors
        or facts.safetensors_indexes
        or facts.gguf
        or facts.onnx
        or facts.lfs_pointers
        or any(holds_weights(entry.relpath) for entry in files)
    )


def as_project(
    inventory: Inventory, documents: Sequence[DependencyDocument] = (), *, named: bool = False
) -> Inventory:
    """The inventory of a project folder without a model: its subject is an application,
    named from its own metadata (``[project] name`` and ``version``, a lock's root package)
    unless ``--name`` named it (``named``), with a ``pkg:pypi`` purl."""
    subject = next(c for c in inventory.components if c.ref == inventory.subject_ref)
    project = replace(
        subject, kind=ComponentKind.APPLICATION, layer=None, purl=None, model_card=None
    )
    declared = None if named else _declared_project(documents)
    if declared is not None:
        name, version, evidence = declared
        purl = f"pkg:pypi/{name}@{version}" if version else f"pkg:pypi/{name}"
        project = replace(
            project,
            ref=f"project:{name}",
            name=name,
            group=None,
            version=version,
            purl=purl,
            evidence=(evidence, *(e for e in subject.evidence if e.field != "folder")),
        )
    renamed = {subject.ref: project.ref}
    return replace(
        inventory,
        subject_ref=project.ref,
        components=tuple(project if c.ref == subject.ref else c for c in inventory.components),
        relations=tuple(
            replace(r, src=renamed.get(r.src, r.src), dst=renamed.get(r.dst, r.dst))
            for r in inventory.relations
        ),
    )


def _declared_project(
    documents: Sequence[DependencyDocument],
) -> tuple[str, str | None, Evidence] | None:
    """(name, version, evidence) of the project the folder's own documents name."""
    top = [d for d in documents if d.project and "/" not in d.location]
    for kind in PROJECT_NAMING_KINDS:
        for document in top:
            if document.kind is kind and document.project:
                version = document.project_version or next(
                    (
                        d.project_version
                        for d in top
                        if d.project == document.project and d.project_version
                    ),
                    None,
                )
                evidence = Evidence(
                    location=document.location,
                    field="name",
                    value=document.project,
                    method=kind.value,
                )
                return document.project, version, evidence
    return None


def _model_venv(issue: ScanIssue) -> ScanIssue:
    """In a model folder a virtual environment is unexpected, and a folder its files are not
    scanned in: what it holds is unknown, which blocks a PASS (in a project it is a note)."""
    if issue.problem != VIRTUALENV_NOT_WALKED:
        return issue
    return replace(
        issue,
        problem="a folder with pyvenv.cfg inside a model folder is not scanned: what it holds "
        "is unknown (move the environment out, or scan its packages with --python)",
        severity=Severity.MEDIUM,
    )


def _locate(prefix: PurePosixPath, location: str) -> str:
    if location in {"", "."}:
        return prefix.as_posix()
    return (prefix / location).as_posix()


def _hash(
    files: tuple[FileEntry, ...],
    facts: FolderFacts,
    config: ScanConfig,
    cache: HashCache | None,
    read_once: Mapping[Path, HashOutcome],
) -> tuple[dict[PurePosixPath, FileDigest], list[ScanIssue]]:
    """Hash every file except LFS pointers (whose real content hash the pointer carries) and
    those in ``read_once`` (hashed as they were read for analysis)."""
    pointers = {rel for rel, _ in facts.lfs_pointers}
    wanted = [entry for entry in files if entry.relpath not in pointers]
    outcomes = dict(read_once)
    outcomes |= hash_files(
        [HashRequest(path=e.path, size=e.size) for e in wanted if e.path not in read_once],
        jobs=config.jobs,
        cache=cache,
        progress=config.progress,
    )
    digests: dict[PurePosixPath, FileDigest] = {}
    issues: list[ScanIssue] = []
    for entry in wanted:
        outcome = outcomes.get(entry.path)
        if outcome is None or outcome.sha256 is None:
            reason = outcome.error if outcome is not None else "not hashed"
            issues.append(
                ScanIssue(
                    location=entry.relpath.as_posix(),
                    problem=f"cannot hash: {reason}",
                    severity=Severity.HIGH,
                )
            )
            continue
        digests[entry.relpath] = FileDigest(sha256=outcome.sha256, from_cache=outcome.from_cache)
    return digests, issues
