"""What loading a folder's model files would do: static analysis turned into findings.

Every walked file the archive/pickle analysers recognise is analysed (never loaded); chat
templates (``tokenizer_config.json``, ``chat_template.json``, ``processor_config.json``, any
``*.jinja``, GGUF ``tokenizer.chat_template``), ONNX external-data locations and the folder's
``*.py`` files are checked too. Each risk becomes a
finding (rule ``SEC00x``, no policy tier) and a property of its file component; a file that
would run code on load also yields a ``code`` component of unknown origin, which the policy
counts in the code layer like any other code nobody can vouch for.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from scanner.analysis.dispatch import analyze_path, analyze_stream
from scanner.analysis.load_risk import (
    FileAnalysis,
    LoadRisk,
    RiskKind,
)
from scanner.core.capped_io import read_json_capped, read_text_capped
from scanner.core.errors import MalformedFileError
from scanner.core.model import (
    Component,
    ComponentKind,
    Evidence,
    Finding,
    Layer,
    Relation,
    RelationKind,
    ScanIssue,
    Severity,
)
from scanner.core.progress import step
from scanner.core.properties import PropertyName
from scanner.hashing.digest import (
    SMALL_FILE_BYTES,
    HashError,
    HashOutcome,
    HashRequest,
    describe_os_error,
    failed_outcome,
    read_small_file,
)
from scanner.sources.folder_facts import FolderFacts
from scanner.sources.inventory import Inventory
from scanner.sources.walk import FileEntry

if TYPE_CHECKING:
    from scanner.formats.model.gguf import GgufMetadata

#: Rule id of each kind of risk (SARIF ruleIds; described in scanner.policy.rules).
RULE_OF_RISK = {
    RiskKind.UNSAFE_IMPORT: "SEC001",
    RiskKind.UNKNOWN_IMPORT: "SEC002",
    RiskKind.EMBEDDED_CODE: "SEC003",
    RiskKind.EXTERNAL_DATA: "SEC004",
    RiskKind.TEMPLATE: "SEC005",
    RiskKind.UNREADABLE: "SEC006",
    RiskKind.FRAMEWORK_STATE: "SEC008",
}
REMOTE_CODE_RULE = "SEC007"
#: Most imports and risks recorded as properties of one file (the findings keep them all).
MAX_PROPERTY_VALUES = 64
#: Largest ``*.jinja`` template read.
MAX_TEMPLATE_FILE_BYTES = 4 * 1024 * 1024
TEMPLATE_SUFFIX = ".jinja"
#: JSON files whose ``chat_template`` key transformers renders (a string or named templates).
TEMPLATE_JSON_FILES = frozenset(
    {"tokenizer_config.json", "chat_template.json", "processor_config.json"}
)
_GGUF_TEMPLATE_KEY = "tokenizer.chat_template"


@dataclass(frozen=True, slots=True, kw_only=True)
class SecurityParts:
    """Findings, embedded-code components, the properties to add to file components, issues."""

    findings: tuple[Finding, ...] = ()
    components: tuple[Component, ...] = ()
    relations: tuple[Relation, ...] = ()
    file_properties: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    issues: tuple[ScanIssue, ...] = ()


def analyze_folder(
    files: Sequence[FileEntry],
    facts: FolderFacts,
    file_refs: dict[str, str],
    *,
    progress: bool = False,
    analysed: FileAnalyses | None = None,
) -> SecurityParts:
    """Analyse the walked ``files``; ``file_refs`` maps a file's relative path to its ref.
    ``analysed`` is ``file_analyses(files)`` when the caller has it already."""
    analyses, issues = analysed if analysed is not None else file_analyses(files, progress=progress)
    analyses = {location: list(found) for location, found in analyses.items()}
    for path, metadata in facts.gguf:
        found = gguf_template_analysis(metadata)
        if found is not None:
            analyses.setdefault(path.as_posix(), []).append(found)
    for path, onnx in facts.onnx:
        from scanner.analysis.onnx_external_data import external_data_risks

        risks = external_data_risks(onnx)
        if risks:
            analyses.setdefault(path.as_posix(), []).append(
                FileAnalysis(format="onnx", risks=risks)
            )
    builder = _Builder(file_refs=file_refs)
    for location in sorted(analyses):
        builder.add(location, analyses[location])
    for path in facts.python_files:
        builder.add_python_file(path)
    return builder.parts(issues)


#: Analyses by a file's relative path, and issues for files that could not be analysed.
FileAnalyses = tuple[dict[str, list[FileAnalysis]], list[ScanIssue]]


def file_analyses(
    files: Sequence[FileEntry],
    *,
    progress: bool = False,
    hashed: MutableMapping[Path, HashOutcome] | None = None,
) -> FileAnalyses:
    """The analyses of the walked ``files`` by relative path (chat templates of JSON and
    ``*.jinja`` files, the dispatcher for the rest), and issues for files that could not be
    analysed; with ``progress``, counted on a terminal's status line.

    With ``hashed``, a file under ``SMALL_FILE_BYTES`` that the dispatcher reads is read whole,
    once, with the hashing module's checks: its bytes are analysed and hashed, and its outcome
    goes into ``hashed`` (a folder of 100,000 small files is then opened 100,000 times, not
    200,000)."""
    analyses: dict[str, list[FileAnalysis]] = {}
    issues: list[ScanIssue] = []
    with step("Checking what loading would run", enabled=progress, total=len(files)) as line:
        for entry in files:
            location = entry.relpath.as_posix()
            for found in _analyses(entry, issues, hashed):
                analyses.setdefault(location, []).append(found)
            line.advance(1, entry.size)
    return analyses, issues


def analyze_chat_template(text: str, *, source: str) -> tuple[LoadRisk, ...]:
    """``scanner.analysis.chat_template.analyze_chat_template``, imported on first use (most
    folders hold no template)."""
    from scanner.analysis.chat_template import analyze_chat_template as analyze

    return analyze(text, source=source)


def gguf_template_analysis(metadata: GgufMetadata) -> FileAnalysis | None:
    """The analysis of a GGUF file's ``tokenizer.chat_template``; None when it has none."""
    template = metadata.values.get(_GGUF_TEMPLATE_KEY)
    if not isinstance(template, str):
        return None
    risks = analyze_chat_template(template, source=f"GGUF {_GGUF_TEMPLATE_KEY}")
    return FileAnalysis(format="gguf", risks=risks)


def with_load_analysis(
    inventory: Inventory,
    files: Sequence[FileEntry],
    facts: FolderFacts,
    *,
    progress: bool = False,
    analysed: FileAnalyses | None = None,
) -> Inventory:
    """``inventory`` with the analysis of its ``files``: file properties, code components,
    findings, and issues for files that could not be analysed (``analysed``: the
    ``file_analyses`` of ``files`` when the caller has it already)."""
    parts = analyze_folder(
        files, facts, _file_refs(inventory), progress=progress, analysed=analysed
    )
    return _with_parts(inventory, parts)


def with_file_analyses(
    inventory: Inventory,
    analyses: Mapping[str, Sequence[FileAnalysis]],
    *,
    issues: Sequence[ScanIssue] = (),
    locate: Callable[[str], str] | None = None,
) -> Inventory:
    """``inventory`` with analyses made elsewhere (``{file component path: analyses}``, e.g. of
    a Hub repo's files read by range): file properties, code components, findings, ``issues``.

    ``locate`` turns a file's path into the location its findings and code component name (a
    Hub URL); issues keep the path, for the caller to locate as it does its own.
    """
    builder = _Builder(file_refs=_file_refs(inventory), locate=locate or _as_is)
    for location in sorted(analyses):
        builder.add(location, list(analyses[location]))
    return _with_parts(inventory, builder.parts(issues))


def _file_refs(inventory: Inventory) -> dict[str, str]:
    return {
        c.path: c.ref
        for c in inventory.components
        if c.kind is ComponentKind.FILE and c.path is not None
    }


def _with_parts(inventory: Inventory, security: SecurityParts) -> Inventory:
    components = tuple(
        replace(c, properties=(*c.properties, *security.file_properties[c.ref]))
        if c.ref in security.file_properties
        else c
        for c in inventory.components
    )
    return replace(
        inventory,
        components=(*components, *security.components),
        relations=(*inventory.relations, *security.relations),
        issues=(*inventory.issues, *security.issues),
        findings=(*inventory.findings, *security.findings),
    )


def _as_is(location: str) -> str:
    return location


def _analyses(
    entry: FileEntry,
    issues: list[ScanIssue],
    hashed: MutableMapping[Path, HashOutcome] | None,
) -> Iterator[FileAnalysis]:
    location = entry.relpath.as_posix()
    name = entry.relpath.name
    try:
        if name in TEMPLATE_JSON_FILES:
            yield from _json_templates(entry)
            return
    except (MalformedFileError, OSError):
        return  # the config reader reports the file already
    try:
        if entry.relpath.suffix.lower() == TEMPLATE_SUFFIX:
            text = read_text_capped(entry.path, max_bytes=MAX_TEMPLATE_FILE_BYTES)
            yield FileAnalysis(format="jinja", risks=analyze_chat_template(text, source=name))
            return
        content = _read_once(entry, hashed)
        if content is None:
            found = analyze_path(entry.path, location)
        else:
            found = analyze_stream(io.BytesIO(content), location)
    except MalformedFileError as error:
        issues.append(ScanIssue(location=location, problem=error.problem))
        return
    except OSError as error:
        issues.append(
            ScanIssue(location=location, problem=f"cannot analyse: {error.strerror or error}")
        )
        return
    if found is not None:
        yield found


def _read_once(entry: FileEntry, hashed: MutableMapping[Path, HashOutcome] | None) -> bytes | None:
    """The bytes of a small file, hashed into ``hashed`` on the way; None when ``hashed`` is
    None, the file is not small, or reading failed (its outcome then says why, and the
    analysis opens the file itself and reports what it finds)."""
    if hashed is None or entry.size >= SMALL_FILE_BYTES:
        return None
    request = HashRequest(path=entry.path, size=entry.size)
    try:
        content, sha256 = read_small_file(request)
    except HashError as error:
        hashed[entry.path] = failed_outcome(request, error.reason)
        return None
    except OSError as error:
        hashed[entry.path] = failed_outcome(request, describe_os_error(error))
        return None
    hashed[entry.path] = HashOutcome(
        path=entry.path, sha256=sha256, size=entry.size, from_cache=False, error=None
    )
    return content


def _json_templates(entry: FileEntry) -> Iterator[FileAnalysis]:
    document = read_json_capped(entry.path)
    if not isinstance(document, dict):
        return
    template = document.get("chat_template")
    templates: list[tuple[str, str]] = []
    if isinstance(template, str):
        templates.append(("chat_template", template))
    elif isinstance(template, list):
        templates += [
            (f"chat_template {item.get('name')!s:.60}", item["template"])
            for item in template
            if isinstance(item, dict) and isinstance(item.get("template"), str)
        ]
    risks = tuple(
        risk
        for label, text in templates
        for risk in analyze_chat_template(text, source=f"{entry.relpath.name} {label}")
    )
    if risks:
        yield FileAnalysis(format="tokenizer-config", risks=risks)


@dataclass
class _Builder:
    file_refs: dict[str, str]
    locate: Callable[[str], str] = _as_is
    """Where findings and code components say a file is (its path, unless told otherwise)."""
    findings: list[Finding] = field(default_factory=list)
    components: list[Component] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    file_properties: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    issues: list[ScanIssue] = field(default_factory=list)

    def parts(self, issues: Iterable[ScanIssue]) -> SecurityParts:
        return SecurityParts(
            findings=tuple(self.findings),
            components=tuple(self.components),
            relations=tuple(self.relations),
            file_properties=self.file_properties,
            issues=(*issues, *self.issues),
        )

    def add(self, location: str, analyses: list[FileAnalysis]) -> None:
        ref = self.file_refs.get(location)
        if ref is None:
            return
        imports = tuple(dict.fromkeys(i for a in analyses for i in a.imports))
        risks = [risk for a in analyses for risk in a.risks]
        # A file nobody could analyse may run anything: it counts as code of unknown origin.
        executable = any(a.executable_on_load for a in analyses) or any(
            risk.kind is RiskKind.UNREADABLE for risk in risks
        )
        properties = [(PropertyName.SECURITY_FORMAT, a.format) for a in analyses]
        properties.append((PropertyName.SECURITY_EXECUTABLE_ON_LOAD, str(executable).lower()))
        properties += [
            (PropertyName.SECURITY_IMPORT, name) for name in imports[:MAX_PROPERTY_VALUES]
        ]
        properties += [
            (PropertyName.SECURITY_RISK, f"{risk.kind}: {_where(risk)}{risk.message}")
            for risk in risks[:MAX_PROPERTY_VALUES]
        ]
        self.file_properties[ref] = tuple(dict.fromkeys(properties))
        self.findings += [_finding(self.locate(location), ref, risk) for risk in risks]
        problems = [p for a in analyses for p in a.problems]
        self.issues += [
            ScanIssue(location=location, problem=problem, severity=Severity.LOW)
            for problem in problems
        ]
        if executable:
            runs_code = any(a.executable_on_load for a in analyses)
            self._embedded_code(location, ref, imports, risks, problems, analysed=runs_code)

    def _embedded_code(
        self,
        location: str,
        file_ref: str,
        imports: tuple[str, ...],
        risks: list[LoadRisk],
        problems: list[str],
        *,
        analysed: bool,
    ) -> None:
        """The code a file runs on load, or may run (``analysed`` False: it could not be
        analysed, which is unknown, not known to run code)."""
        shown = ", ".join(imports[:8]) + (" …" if len(imports) > 8 else "")
        where = self.locate(location)
        evidence = Evidence(
            location=where,
            field="imports" if imports else "code",
            value=(shown or "; ".join(r.message for r in risks[:3]) or "; ".join(problems[:3]))[
                :300
            ],
            method="static-analysis",
        )
        ref = f"code:on-load:{where}"
        self.components.append(
            Component(
                ref=ref,
                kind=ComponentKind.CODE,
                name=f"code run on load by {PurePosixPath(location).name}"
                if analysed
                else f"code of {PurePosixPath(location).name} (could not be analysed)",
                path=location,
                description=(
                    f"Loading {where} runs code beyond rebuilding tensors"
                    + (f" ({shown})" if shown else "")
                    if analysed
                    else f"{where} could not be analysed: what loading it would run is unknown"
                ),
                layer=Layer.CODE,
                evidence=(evidence,),
                properties=(
                    (PropertyName.SECURITY_EMBEDDED_CODE, "true"),
                    *(
                        (PropertyName.SECURITY_IMPORT, name)
                        for name in imports[:MAX_PROPERTY_VALUES]
                    ),
                ),
            )
        )
        self.relations.append(
            Relation(src=file_ref, dst=ref, kind=RelationKind.CONTAINS, evidence=(evidence,))
        )

    def add_python_file(self, path: PurePosixPath) -> None:
        location = path.as_posix()
        ref = self.file_refs.get(location)
        if ref is None:
            return
        self.findings.append(
            Finding(
                rule_id=REMOTE_CODE_RULE,
                severity=Severity.MEDIUM,
                component_ref=ref,
                message=f"{location}: Python code shipped with the model; it runs when the "
                "model is loaded with trust_remote_code=True",
                evidence=(
                    Evidence(
                        location=location, field="file", value=location, method="static-analysis"
                    ),
                ),
                layer=Layer.CODE,
            )
        )


def _finding(location: str, ref: str, risk: LoadRisk) -> Finding:
    value = ", ".join(risk.callables) if risk.callables else risk.message
    return Finding(
        rule_id=RULE_OF_RISK[risk.kind],
        severity=risk.severity,
        component_ref=ref,
        message=f"{location}: {_where(risk)}{risk.message}",
        evidence=(
            Evidence(
                location=location,
                field=risk.member or risk.kind.value,
                value=value[:300],
                method="static-analysis",
            ),
        ),
        layer=Layer.FILES,
    )


def _where(risk: LoadRisk) -> str:
    return f"{risk.member}: " if risk.member else ""
