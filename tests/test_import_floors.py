"""The package's floors: every import goes down (or sideways on one floor), and none goes round.

Each module of ``nightscan_common`` sits on the floor of its sub-package (or, for a module
directly in the package, of its own name). An import found anywhere in a module, at its
top, inside a function or under ``TYPE_CHECKING``, may reach its own floor or a lower one,
never a higher one; and the modules' imports, lazy ones included, hold no cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "nightscan_common"
ROOT = Path(__file__).resolve().parent.parent / PACKAGE

#: Bottom first. A name is a sub-package or a module directly in the package.
FLOORS: tuple[frozenset[str], ...] = (
    frozenset({"", "vocabulary", "seeds", "errors", "startup"}),  # "" is the package's own __init__
    frozenset({"io"}),
    frozenset({"dsp"}),
    frozenset({"formats", "annotations"}),
    frozenset({"plans"}),
    frozenset({"execution"}),
    frozenset({"steps"}),
    frozenset({"cli"}),
    frozenset({"reports"}),
    frozenset({"report", "dataset", "pipeline_help", "launch"}),
)


def module_name(path: Path, root: Path = ROOT) -> str:
    """``nightscan_common.formats.catalog`` for ``<root>/formats/catalog.py``; packages by their folder."""
    parts = path.relative_to(root).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((PACKAGE, *parts))


def imported_modules(path: Path, modules: set[str], root: Path = ROOT) -> set[str]:
    """The package's modules that ``path`` imports, anywhere in it; ``from .x import name`` counts
    as ``x.name`` when that is a module, else as ``x``."""
    own = module_name(path, root)
    package = own if path.name == "__init__.py" else own.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
            targets = [t for t in targets[:-1] if t in modules] or [base]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != own:
                found.add(target)
    return found


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Every module of the package and the package's modules it imports."""
    paths = sorted(root.rglob("*.py"))
    modules = {module_name(p, root) for p in paths}
    return {module_name(p, root): imported_modules(p, modules, root) for p in paths}


def floor_of(module: str) -> int:
    """The index in ``FLOORS`` of a module's floor; ``KeyError`` for a module on none."""
    name = module.removeprefix(PACKAGE).lstrip(".").split(".")[0]
    for i, names in enumerate(FLOORS):
        if name in names:
            return i
    raise KeyError(f"{module} is on no floor: add its name to FLOORS")


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """``a -> b`` for each import from a lower floor to a higher one."""
    return [f"{a} -> {b}" for a, targets in sorted(graph.items()) for b in sorted(targets)
            if floor_of(b) > floor_of(a)]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles, one per strongly connected set of two or more modules (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            members = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                members.append(member)
                if member == node:
                    break
            if len(members) > 1:
                found.append(sorted(members))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_every_module_is_on_a_floor():
    for module in import_graph():
        floor_of(module)


def test_no_import_runs_back_up_a_floor():
    assert upward_imports(import_graph()) == []


def test_no_import_cycle():
    assert cycles(import_graph()) == []


@pytest.fixture
def package_copy(tmp_path):
    """A copy of the package's sources, to add an import to."""
    copy = tmp_path / PACKAGE
    for path in ROOT.rglob("*.py"):
        target = copy / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    return copy


def test_an_import_from_a_lower_floor_to_a_higher_one_is_found(package_copy):
    catalog = package_copy / "formats" / "catalog.py"
    catalog.write_text(catalog.read_text() + "\nfrom ..plans.spectrogram_plan import plan_jobs\n")
    assert upward_imports(import_graph(package_copy)) == [
        "nightscan_common.formats.catalog -> nightscan_common.plans.spectrogram_plan"]


def test_a_lazy_import_that_closes_a_cycle_on_one_floor_is_found(package_copy):
    errors, vocabulary = package_copy / "errors.py", package_copy / "vocabulary.py"
    errors.write_text(errors.read_text() + "\nfrom .vocabulary import SPLITS\n")
    vocabulary.write_text(vocabulary.read_text() + "\n\ndef _late():\n    from .errors import UsageError\n")
    assert upward_imports(import_graph(package_copy)) == []
    assert cycles(import_graph(package_copy)) == [["nightscan_common.errors", "nightscan_common.vocabulary"]]
