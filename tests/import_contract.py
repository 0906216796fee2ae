"""The import contract: Uptake's layers, and a checker that reads every module's imports (as text, with
``ast``; nothing is imported or run).

A module may import from its own top-level package and from any lower layer, never from a higher one, and
never from a sibling package of its own layer unless the layer is marked open (the ground layer is: its
small modules lean on one another). An import inside a function is allowed only when it defers a heavy
optional dependency, with a comment starting ``# deferred:`` above the block of imports (or at the end of the line).
Modules must also not import one another in a circle.

docs/architecture.md shows the same layers; ``make test`` runs tests/test_architecture.py, which checks
the source tree against this contract.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

#: top to bottom; each entry: (packages or top-level modules of uptake, open layer?)
LAYERS: tuple[tuple[tuple[str, ...], bool], ...] = (
    (("cli",), False),  # the command line: starts the web server, so it sits above web
    (("web", "demo", "bench"), False),  # adapters: pages and API; the demo build; the benchmark
    (("mission", "models", "ecosystem"), False),  # the domains
    (("pipeline", "ingest", "sources", "backup"), False),  # computing results; loading observations; backups
    (("analytics", "store", "results"), False),  # the stores and the one read model of results
    (("catalogue", "reference"), False),  # what is measured; the NHS organisation hierarchy
    (("stats", "levels", "errors", "dates", "safe_cells", "settings", "workspace", "__init__"), True),  # the ground
)


def layer_of(package: str) -> int | None:
    for index, (names, _) in enumerate(LAYERS):
        if package in names:
            return index
    return None


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    problem: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.problem}"


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _top_package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imported_modules(node: ast.AST, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:
            base = module.split(".")
            if not is_package:
                base = base[:-1]
            base = base[: len(base) - (node.level - 1)]
            prefix = ".".join(base + ([node.module] if node.module else []))
        else:
            prefix = node.module or ""
        return [prefix] + [f"{prefix}.{alias.name}" for alias in node.names]
    return []


def _function_imports(tree: ast.AST) -> list[ast.stmt]:
    found = []
    for function in ast.walk(tree):
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(function):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    found.append(node)
    return found


def _deferred(lines: list[str], node: ast.stmt) -> bool:
    """A '# deferred:' comment on the line, or above the block of imports the line belongs to."""
    if "# deferred:" in lines[node.lineno - 1]:
        return True
    row = node.lineno - 2
    while row >= 0 and lines[row].strip().startswith(("import ", "from ")):
        row -= 1
    return row >= 0 and lines[row].strip().startswith("# deferred:")


def check(root: Path) -> list[Violation]:
    """Every breach of the contract in the package at ``root`` (the ``uptake`` folder)."""
    root = Path(root)
    modules = {}
    for path in sorted(root.rglob("*.py")):
        if "migrations" in path.parts:  # Alembic's scripts are run by Alembic, not imported
            continue
        modules[_module_name(root, path)] = path
    violations: list[Violation] = []
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for module, path in modules.items():
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        tree = ast.parse(text, filename=str(path))
        rel = str(path.relative_to(root.parent))
        own = _top_package(module)
        own_layer = layer_of(own)
        if own_layer is None:
            violations.append(Violation(rel, 1, f"uptake.{own} is in no layer: add it to LAYERS"))
            continue
        inside = {id(node) for node in _function_imports(tree)}
        for node in ast.walk(tree):
            targets = _imported_modules(node, module, path.name == "__init__.py")
            if not targets:
                continue
            if id(node) in inside and not _deferred(lines, node):
                violations.append(Violation(rel, node.lineno, "import inside a function without a '# deferred:' "
                                                              "comment saying which heavy dependency it defers"))
            for target in targets:
                if not (target == "uptake" or target.startswith("uptake.")):
                    continue
                if target in modules and target != module and id(node) not in inside:
                    graph[module].add(target)
                other = _top_package(target)
                if other == own or target == "uptake":
                    continue
                other_layer = layer_of(other)
                if other_layer is None:
                    continue  # a name imported from a package's face, e.g. `from uptake import ATTRIBUTION`
                if other_layer < own_layer:
                    violations.append(Violation(rel, node.lineno, f"upward import: uptake.{own} (layer "
                                                f"{own_layer}) imports {target} (layer {other_layer})"))
                elif other_layer == own_layer and not LAYERS[own_layer][1]:
                    violations.append(Violation(rel, node.lineno, f"sibling import: uptake.{own} imports "
                                                f"{target}, of the same layer"))
    violations.extend(_cycles(graph, modules, root))
    return violations


def _cycles(graph: dict[str, set[str]], modules: dict[str, Path], root: Path) -> list[Violation]:
    """Module-level import cycles (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    # A package's face (__init__) gathers names from its own files; cycles through it are not counted.
    faces = {m for m, path in modules.items() if path.name == "__init__.py"}
    graph = {m: {t for t in targets if t not in faces} for m, targets in graph.items() if m not in faces}
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [Violation(str(modules[c[0]].relative_to(root.parent)), 1,
                      "import cycle between modules: " + " <-> ".join(c)) for c in found]
