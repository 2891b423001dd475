"""The layering of ARCHITECTURE.md, checked: every import points to the same floor or below,
and no two modules import each other, directly or around a circle."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGE = REPO / "scanner"

#: Floors, lowest first: a module imports only from its own floor or those below. The first
#: matching prefix names a module's floor.
FLOORS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ground", ("scanner.core", "scanner")),
    ("readers", ("scanner.formats",)),
    ("analysers", ("scanner.analysis", "scanner.hashing")),
    ("network", ("scanner.resolve",)),
    ("discovery", ("scanner.sources",)),
    ("attribution and policy", ("scanner.origins", "scanner.policy")),
    ("exporters", ("scanner.sbom",)),
    (
        "pipeline",
        (
            "scanner.assess",
            "scanner.pipeline",
            "scanner.fingerprint",
            "scanner.cli",
            "scanner.__main__",
        ),
    ),
)
#: Largest module, in lines.
MAX_MODULE_LINES = 800


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def floor_of(module: str) -> int:
    """The floor index of ``module``: the most specific matching prefix wins."""
    best: tuple[int, int] | None = None
    for index, (_, prefixes) in enumerate(FLOORS):
        for prefix in prefixes:
            matches = module == prefix or module.startswith(prefix + ".")
            if matches and (best is None or len(prefix) > best[1]):
                best = (index, len(prefix))
    if best is None:
        raise AssertionError(f"{module} is on no floor: add it to FLOORS and ARCHITECTURE.md")
    return best[0]


def imports_of(module: str) -> Iterator[tuple[str, int]]:
    """(imported sovscan module, line) for every import in ``module``, at any depth."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            candidates = [f"{target}.{alias.name}" for alias in node.names] + [target]
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            continue
        for candidate in candidates:
            if candidate in MODULES and candidate != module:
                yield candidate, node.lineno
                break


GRAPH = {module: dict(imports_of(module)) for module in MODULES}


def test_every_module_is_on_a_floor() -> None:
    for module in MODULES:
        floor_of(module)


def test_no_module_imports_from_a_floor_above() -> None:
    upward = [
        f"{MODULES[module].relative_to(REPO)}:{line}: {module} ({FLOORS[floor_of(module)][0]}) "
        f"imports {target} ({FLOORS[floor_of(target)][0]})"
        for module, targets in GRAPH.items()
        for target, line in targets.items()
        if floor_of(target) > floor_of(module)
    ]
    assert upward == []


def test_module_imports_have_no_cycle() -> None:
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    cycles: list[list[str]] = []

    def visit(module: str, stack: list[str]) -> None:
        state[module] = 1
        stack.append(module)
        for target in sorted(GRAPH[module]):
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target, stack)
        stack.pop()
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [])
    assert cycles == []


def test_module_names_are_unique() -> None:
    names: dict[str, list[str]] = {}
    for module, path in MODULES.items():
        if path.name != "__init__.py":
            names.setdefault(path.stem, []).append(module)
    assert {name: found for name, found in names.items() if len(found) > 1} == {}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_size(module: str) -> None:
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_MODULE_LINES, f"{module}: {lines} lines"


def test_the_checker_sees_an_upward_import() -> None:
    """The check itself can fail: the core importing discovery is caught."""
    assert floor_of("scanner.core.model") < floor_of("scanner.sources.local_dir")
    assert floor_of("scanner.sbom.cyclonedx") > floor_of("scanner.policy.tier")
    assert floor_of("scanner") == 0
