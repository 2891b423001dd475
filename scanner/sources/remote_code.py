"""Remote code: ``auto_map`` and similar references, local or in another repo, and ``*.py``."""

from __future__ import annotations

from pathlib import PurePosixPath

from scanner.core.errors import MalformedFileError
from scanner.core.ids import parse_code_reference
from scanner.core.model import Component, ComponentKind, Evidence, Layer, RelationKind, Severity
from scanner.core.properties import PropertyName
from scanner.sources.folder_facts import FolderFacts
from scanner.sources.inventory_builder import InventoryBuilder

#: Refs of code in another Hub repo: ``remote-code:ORG/NAME/module.py``. Local code is
#: ``code:LABEL/path``; the prefixes differ so that no folder name can make the two collide.
REMOTE_CODE_REF_PREFIX = "remote-code:"


def _code_references(facts: FolderFacts) -> list[tuple[str, str, str]]:
    """(location, field, ``module.Class`` or ``ORG/NAME--module.Class``) of repo code to run."""
    found: list[tuple[str, str, str]] = []
    for path, config in facts.configs:
        found += [(path.as_posix(), f"auto_map.{cls}", ref) for cls, ref in config.auto_map]
        found += [
            (path.as_posix(), f"custom_pipelines.{task}", ref)
            for task, ref in config.custom_pipelines
        ]
    if facts.tokenizer is not None:
        found += [
            ("tokenizer_config.json", f"auto_map.{cls}", ref)
            for cls, ref in facts.tokenizer.auto_map
        ]
    index = facts.model_index
    if index is not None:
        if index.custom_pipeline_module:
            found.append(
                ("model_index.json", "_class_name", f"{index.custom_pipeline_module}.Pipeline")
            )
        # A custom component's class lives in <component>/<library>.py: the reference is
        # written relative to that subfolder's (virtual) config.
        found += [
            (f"{c.name}/model_index.json", f"model_index.{c.name}", f"{c.library}.{c.class_name}")
            for c in index.components
            if c.is_custom_code and c.library and c.class_name
        ]
    if facts.st_modules is not None:
        found += [
            ("modules.json", f"modules.{module.idx}.type", module.type)
            for module in facts.st_modules.modules
            if module.is_custom_code and module.type
        ]
    return found


def add_code(
    builder: InventoryBuilder,
    subject_ref: str,
    facts: FolderFacts,
    file_refs: dict[PurePosixPath, str],
) -> None:
    """Remote code: auto_map references (possibly to other repos) and ``*.py`` files."""
    label = builder.identity.label
    referenced: set[PurePosixPath] = set()
    missing: dict[PurePosixPath, list[tuple[str, str]]] = {}
    for location, field_name, value in _code_references(facts):
        evidence = Evidence(location=location, field=field_name, value=value, method="auto-map")
        try:
            code = parse_code_reference(value)
        except MalformedFileError as exc:
            builder.issue(location, f"{field_name}: {exc.problem}", Severity.MEDIUM)
            continue
        module_file = PurePosixPath(code.module_file)
        if code.repo is not None:
            repo = code.repo
            purl = f"pkg:huggingface/{repo.namespace}/{repo.name}"
            ref = builder.add(
                Component(
                    ref=f"{REMOTE_CODE_REF_PREFIX}{repo.repo_id}/{module_file.as_posix()}",
                    kind=ComponentKind.CODE,
                    name=module_file.as_posix(),
                    group=repo.namespace,
                    purl=purl,
                    layer=Layer.CODE,
                    evidence=(evidence,),
                    properties=((PropertyName.CODE_CLASS, code.class_name),),
                    external_urls=(("vcs", f"{builder.hub}/{repo.repo_id}"),),
                )
            )
            builder.relate(subject_ref, ref, RelationKind.REMOTE_CODE_FROM, evidence)
            continue
        local = PurePosixPath(location).parent / module_file
        referenced.add(local)
        ref = _local_code(builder, label, local, file_refs, evidence)
        builder.relate(subject_ref, ref, RelationKind.DEPENDS_ON, evidence)
        if local not in file_refs:
            missing.setdefault(local, []).append((location, field_name))
    for module, needed_by in missing.items():
        builder.issue(
            needed_by[0][0] if len(needed_by) == 1 else ".",
            f"{module.as_posix()} is not in the folder but "
            f"{', '.join(f'{where}:{field}' for where, field in needed_by)} "
            f"need{'s' if len(needed_by) == 1 else ''} it (remote code that cannot be checked)",
            Severity.MEDIUM,
        )
    for path in facts.python_files:
        if path not in referenced:
            evidence = Evidence(
                location=path.as_posix(), field="file", value=path.name, method="python-file"
            )
            ref = _local_code(builder, label, path, file_refs, evidence)
            builder.relate(subject_ref, ref, RelationKind.DEPENDS_ON, evidence)


def _local_code(
    builder: InventoryBuilder,
    label: str,
    module: PurePosixPath,
    file_refs: dict[PurePosixPath, str],
    evidence: Evidence,
) -> str:
    file_ref = file_refs.get(module)
    hashes = builder.components[file_ref].hashes if file_ref else ()
    ref = builder.add(
        Component(
            ref=f"code:{label}/{module.as_posix()}",
            kind=ComponentKind.CODE,
            name=module.as_posix(),
            path=module.as_posix(),
            hashes=hashes,
            layer=Layer.CODE,
            evidence=(evidence,),
        )
    )
    if file_ref:
        builder.relate(ref, file_ref, RelationKind.CONTAINS)
    return ref
