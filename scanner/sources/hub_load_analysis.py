"""What loading a Hub repo's files would do, found by HTTP range reads, never downloading them.

Each file whose loader may run code (``ModelFormat.loading_may_run_code``: PyTorch checkpoints,
pickles, NumPy and Keras archives; at most ``MAX_HUB_PICKLE_FILES``, checkpoints first) is opened
as a ``RangedHubFile`` and handed to the dispatcher that analyses local files
(``scanner.analysis.dispatch.analyze_stream``): only the bytes the analysers read are fetched, in
blocks with read-ahead — for a zip its end record, central directory and the members walked; for
a plain pickle stream the stream up to its last STOP. Each file may fetch at most
``MAX_BYTES_PER_FILE`` bytes and all the files of a repo ``MAX_BYTES_PER_REPO``.

A read that fails (a budget spent, offline beyond the cached prefix, gated, an HTTP error) is
never taken for content: the file is UNREADABLE and so counts as code of unknown origin, with
whatever the analysers found before the failure kept (a dangerous call already seen is still
reported). The Hub cache keeps what reads from a file's first byte on fetched (up to 8 MiB):
offline, a small pickle is analysed from the cache; a zip checkpoint, whose directory is at its
end, is not.

A file is named by its publisher, so every other file — but those fetched whole (metadata and
chat templates, analysed as a local folder's files by the caller) and Python files (code
components whatever they hold) — is checked by range, several at a time: by its first bytes
(``vouched_by_first_bytes``: the header of the format its name says parses, and no pickle
starts there), a GGUF file by its whole key-value section (its chat template follows the
vocabulary). One they do not vouch for (a pickle saved as ``model.safetensors``, a zip, bytes in
front of a header, a gzip pickle named ``model.pkl.gz``) is analysed whole like the
pickle-format files. At most ``MAX_FIRST_BYTES_CHECKS`` files per repo are checked, weights
first; the rest are reported unanalysed.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Final

from scanner.analysis.dispatch import analyze_stream, vouched_by_first_bytes
from scanner.analysis.load_risk import FileAnalysis, LoadRisk, RiskKind
from scanner.core.errors import MalformedFileError
from scanner.core.model import ComponentKind, ScanIssue, Severity
from scanner.core.properties import PropertyName
from scanner.formats.model.gguf import read_gguf_stream
from scanner.formats.model.model_formats import (
    FIRST_BYTES_CHECKED,
    ModelFormat,
    PickleUse,
    format_of,
)
from scanner.resolve.hub.ranged_file import (
    RangeBudget,
    RangeBudgetExceededError,
    RangedFileError,
    RangedHubFile,
    RangeOfflineError,
)
from scanner.sources.load_analysis import gguf_template_analysis, with_file_analyses

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence

    from scanner.resolve.hub.client import HubClient
    from scanner.resolve.hub.types import HubFile, HubRepoInfo
    from scanner.sources.inventory import Inventory

#: Most files per repo analysed; the rest are reported unanalysed (UNREADABLE).
MAX_HUB_PICKLE_FILES: Final = 8
#: Most bytes fetched for one file, and for all the files of one repo.
MAX_BYTES_PER_FILE: Final = 64 * 1024 * 1024
MAX_BYTES_PER_REPO: Final = 256 * 1024 * 1024
#: Most files per repo checked by their first bytes; the rest are reported unanalysed.
MAX_FIRST_BYTES_CHECKS: Final = 1_000
#: First-bytes checks run at once (each costs a range request or two).
CHECK_WORKERS: Final = 8
#: Block size of a first-bytes check's reads: most headers fit in the first block, which a
#: header read of the repo (safetensors, GGUF) has usually fetched and cached already.
_CHECK_BLOCK_BYTES: Final = 16 * 1024
#: Bytes the analysers' reads are buffered by (the ranged file fetches whole blocks anyway).
_BUFFER_BYTES: Final = 64 * 1024

# Checkpoints first: they are what ``from_pretrained`` loads without asking.
_RANK_PATTERNS: Final = (
    re.compile(r"(?:.*/)?(?:diffusion_)?pytorch_model[^/]*\.bin"),
    re.compile(r".*\.(?:pt|pth|ckpt)"),
    re.compile(r".*\.(?:pkl|pickle|joblib)"),
    re.compile(r".*\.bin"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Outcome:
    analysis: FileAnalysis | None
    issue: ScanIssue | None = None
    bytes_read: str | None = None


def with_hub_load_analysis(
    client: HubClient,
    info: HubRepoInfo,
    inventory: Inventory,
    *,
    fetched: Collection[str] = (),
    analysed: Mapping[str, list[FileAnalysis]] | None = None,
    known_issues: Sequence[ScanIssue] = (),
) -> Inventory:
    """``inventory`` (of ``info``'s repo) with the load analysis of its files read by range,
    and the analyses of the ``fetched`` ones (read whole as local files: metadata, chat
    templates), ``analysed``, with their ``known_issues``.

    Findings and code components name the file's Hub URL at the commit; issues name its path
    (the caller locates them as its own). Each analysed file component gets the bytes it cost.
    """
    chosen, left_out = pickle_format_files(info, inventory)
    checked, unchecked = first_bytes_files(info, inventory, fetched)
    if not chosen and not left_out and not checked and not unchecked and not analysed:
        return inventory
    analyses: dict[str, list[FileAnalysis]] = {k: list(v) for k, v in (analysed or {}).items()}
    issues = list(known_issues)
    costs: dict[str, str] = {}
    budget = RangeBudget(MAX_BYTES_PER_REPO)
    with ThreadPoolExecutor(CHECK_WORKERS, thread_name_prefix="sovscan-check") as pool:
        checks = list(pool.map(partial(_check, client, info, budget), checked))
    for item, check in zip(checked, checks, strict=True):
        if check is _WHOLE:
            chosen.append(item)
        elif isinstance(check, _Outcome):
            _record(item, check, analyses, issues, costs)
    for item in chosen:
        _record(item, _analyse_remote_file(client, info, item, budget), analyses, issues, costs)
    limits = (
        (
            left_out,
            f"{MAX_HUB_PICKLE_FILES} files analysed per repo",
            "pickle-format files not analysed",
        ),
        (
            unchecked,
            f"{MAX_FIRST_BYTES_CHECKS} files checked per repo",
            "files not checked by content",
        ),
    )
    for items, limit, what in limits:
        for item in items:
            analyses[item.path] = [unanalysed(f"over the limit of {limit}")]
        if items:
            problem = f"{len(items)} {what} (over the limit of {limit}): {_some(items)}"
            issues.append(ScanIssue(location="", problem=problem, severity=Severity.MEDIUM))
    inventory = with_file_analyses(
        inventory, analyses, issues=issues, locate=partial(_blob_url, info)
    )
    return _with_costs(inventory, costs)


def pickle_format_files(
    info: HubRepoInfo, inventory: Inventory
) -> tuple[list[HubFile], list[HubFile]]:
    """(the files to analyse, the pickle-format ones left out), among ``inventory``'s file
    components: PyTorch checkpoints, then ``.pt``/``.pth``/``.ckpt``, then other pickles."""
    paths = {
        c.path for c in inventory.components if c.kind is ComponentKind.FILE and c.path is not None
    }
    candidates = [
        item
        for item in info.files
        if item.path in paths and format_of(item.path).loading_may_run_code and item.size != 0
    ]
    candidates.sort(key=lambda item: (_rank(item.path), item.path.count("/"), item.path))
    return candidates[:MAX_HUB_PICKLE_FILES], candidates[MAX_HUB_PICKLE_FILES:]


def first_bytes_files(
    info: HubRepoInfo, inventory: Inventory, fetched: Collection[str] = ()
) -> tuple[list[HubFile], list[HubFile]]:
    """(the files to check by their first bytes, those over ``MAX_FIRST_BYTES_CHECKS``), among
    ``inventory``'s file components: every file with bytes but the pickle-format ones (analysed
    whole anyway), Python files (code whatever they hold) and the ``fetched`` ones (analysed
    as local files). Weights come first, then the files a loader may unpickle, then the rest:
    an attacker names the file."""
    paths = {
        c.path for c in inventory.components if c.kind is ComponentKind.FILE and c.path is not None
    }
    candidates = [
        item
        for item in info.files
        if item.path in paths
        and item.size
        and item.path not in fetched
        and _checked(format_of(item.path))
    ]
    candidates.sort(key=lambda item: (_check_rank(item.path), item.path))
    return candidates[:MAX_FIRST_BYTES_CHECKS], candidates[MAX_FIRST_BYTES_CHECKS:]


def _checked(row: ModelFormat) -> bool:
    """Pickle formats are analysed whole; Python files are code components whatever their
    bytes (and are never fetched); every other file is checked."""
    return not row.loading_may_run_code and row.name != "python"


def _check_rank(path: str) -> int:
    row = format_of(path)
    return 0 if row.holds_weights else 1 if row.pickle is PickleUse.PARSE else 2


#: A first-bytes check's answer: the file is to be analysed whole.
_WHOLE: Final = object()

_Check = Callable[["HubClient", "HubRepoInfo", RangeBudget, "HubFile"], "_Outcome | object | None"]


def _check(
    client: HubClient, info: HubRepoInfo, repo_budget: RangeBudget, item: HubFile
) -> _Outcome | object | None:
    """The check of ``item``'s format (``_CHECKS``), else ``_check_first_bytes``."""
    check = _CHECKS.get(format_of(item.path).name, _check_first_bytes)
    return check(client, info, repo_budget, item)


def _check_gguf_metadata(
    client: HubClient, info: HubRepoInfo, repo_budget: RangeBudget, item: HubFile
) -> _Outcome | object | None:
    """A GGUF file's whole key-value section (its chat template follows the vocabulary, past
    any prefix): the template's analysis, or None when it has none; ``_WHOLE`` when it is
    no GGUF file or a pickle starts it; an outcome when it could not be read to its end."""
    budget = RangeBudget(MAX_BYTES_PER_FILE, parent=repo_budget, scope="file")
    with RangedHubFile(client, info, item.path, budget=budget) as remote:
        stream = io.BufferedReader(remote, _BUFFER_BYTES)
        try:
            metadata = read_gguf_stream(stream, remote.size)
            vouched = vouched_by_first_bytes(stream, item.path)
        except (MalformedFileError, OSError):
            metadata, vouched = None, False
        if remote.failure is not None:
            return _failed(item, remote, remote.failure, None)
        if metadata is None or not vouched:
            return _WHOLE
        found = gguf_template_analysis(metadata)
        return None if found is None else _Outcome(analysis=found, bytes_read=_cost(remote))


def _check_first_bytes(
    client: HubClient, info: HubRepoInfo, repo_budget: RangeBudget, item: HubFile
) -> _Outcome | object | None:
    """None when ``item``'s first bytes vouch for it; ``_WHOLE`` when it is to be analysed
    whole; an outcome when it could not be read (offline, gated, an HTTP error)."""
    budget = RangeBudget(
        FIRST_BYTES_CHECKED + _CHECK_BLOCK_BYTES, parent=repo_budget, scope="first-bytes check"
    )
    with RangedHubFile(
        client, info, item.path, budget=budget, block_size=_CHECK_BLOCK_BYTES, readahead_bytes=0
    ) as remote:
        try:
            stream = io.BufferedReader(remote, _CHECK_BLOCK_BYTES)
            vouched = vouched_by_first_bytes(stream, item.path)
        except (MalformedFileError, OSError):
            vouched = False
        failure = remote.failure
        if failure is None or isinstance(failure, RangeBudgetExceededError):
            return None if vouched and failure is None else _WHOLE
        return _failed(item, remote, failure, None)


#: Checks by format name that read more than the first bytes.
_CHECKS: Final[dict[str | None, _Check]] = {"gguf": _check_gguf_metadata}


def _record(
    item: HubFile,
    outcome: _Outcome,
    analyses: dict[str, list[FileAnalysis]],
    issues: list[ScanIssue],
    costs: dict[str, str],
) -> None:
    if outcome.analysis is not None:
        analyses.setdefault(item.path, []).append(outcome.analysis)
    if outcome.issue is not None:
        issues.append(outcome.issue)
    if outcome.bytes_read is not None:
        costs[item.path] = outcome.bytes_read


def _some(items: list[HubFile]) -> str:
    return ", ".join(item.path for item in items[:5]) + (" …" if len(items) > 5 else "")


def _rank(path: str) -> int:
    lowered = path.lower()
    return next(
        (rank for rank, pattern in enumerate(_RANK_PATTERNS) if pattern.fullmatch(lowered)),
        len(_RANK_PATTERNS),
    )


def _analyse_remote_file(
    client: HubClient, info: HubRepoInfo, item: HubFile, repo_budget: RangeBudget
) -> _Outcome:
    """Analyse one file through a ranged reader; a failed read fails closed."""
    if item.size is None:
        return _Outcome(analysis=unanalysed("the Hub lists no size for it"))
    budget = RangeBudget(MAX_BYTES_PER_FILE, parent=repo_budget, scope="file")
    with RangedHubFile(client, info, item.path, budget=budget) as remote:
        try:
            analysis = analyze_stream(io.BufferedReader(remote, _BUFFER_BYTES), item.path)
        except (MalformedFileError, OSError) as error:
            if remote.failure is None:
                problem = error.problem if isinstance(error, MalformedFileError) else str(error)
                return _Outcome(
                    analysis=unanalysed(problem),
                    issue=ScanIssue(location=item.path, problem=f"cannot analyse: {problem}"),
                    bytes_read=_cost(remote),
                )
            analysis = None
        if remote.failure is not None:
            return _failed(item, remote, remote.failure, analysis)
        return _Outcome(analysis=analysis, bytes_read=_cost(remote))


def _failed(
    item: HubFile, remote: RangedHubFile, failure: RangedFileError, found: FileAnalysis | None
) -> _Outcome:
    """A read failed: what was found stands, and the file is UNREADABLE besides."""
    offline = isinstance(failure, RangeOfflineError)
    reason = "offline" if offline else failure.problem.kind if failure.problem else "a read failed"
    unreadable = LoadRisk(
        kind=RiskKind.UNREADABLE,
        severity=Severity.MEDIUM,
        message=f"not analysed to its end: it could not be read from the Hub ({reason}); "
        "what it does on load is unknown",
    )
    base = found or FileAnalysis(format="unknown")
    analysis = replace(base, risks=(*base.risks, unreadable), executable_on_load=True)
    issue = ScanIssue(
        location=item.path,
        problem=str(failure),
        severity=Severity.LOW if offline else Severity.MEDIUM,
    )
    return _Outcome(analysis=analysis, issue=issue, bytes_read=_cost(remote))


def unanalysed(reason: str) -> FileAnalysis:
    """Fail closed: a file not analysed may run anything on load (``reason`` says why)."""
    return FileAnalysis(
        format="unknown",
        risks=(
            LoadRisk(
                kind=RiskKind.UNREADABLE,
                severity=Severity.MEDIUM,
                message=f"not analysed: {reason}; what it does on load is unknown",
            ),
        ),
        executable_on_load=True,
    )


def _cost(remote: RangedHubFile) -> str:
    """What the analysis read of the file (in whole blocks): the same whatever the cache held,
    so that a rescan writes the same BOM."""
    return f"{remote.bytes_read} of {remote.size} bytes"


def _blob_url(info: HubRepoInfo, path: str) -> str:
    return f"{info.url}/blob/{info.commit}/{path}"


def _with_costs(inventory: Inventory, costs: dict[str, str]) -> Inventory:
    components = tuple(
        replace(
            c,
            properties=(*c.properties, (PropertyName.SECURITY_HUB_BYTES_READ, costs[c.path])),
        )
        if c.kind is ComponentKind.FILE and c.path in costs
        else c
        for c in inventory.components
    )
    return replace(inventory, components=components)
