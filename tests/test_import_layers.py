"""The package's imports point one way: cli -> tasks -> training, detector, evaluation, run-folder
I/O -> data, models, inversion, scoring -> nets, config, errors (and small support modules).

Every internal import counts, also those inside functions: an import deferred into a function
still ties the two modules together. A module over 400 lines fails too (split it by what it does).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ganad_cli"
MAX_LINES = 400

# the top-level name under ganad_cli -> its layer; an import may only go to the same layer or a
# lower one (and never round in a circle)
LAYERS: dict[str, int] = {
    # 4: the command line: the only code that reads argv or prints `ganad: error:`
    "cli": 4,
    "__main__": 4,
    # 3: one plain function per command, returning results
    "tasks": 3,
    # 2: training, the detector, evaluation, run-folder I/O
    "training": 2,
    "detector": 2,
    "evaluation": 2,
    "runs": 2,
    # 1: data, models, inversion, scoring
    "data": 1,
    "models": 1,
    "inversion": 1,
    "scoring": 1,
    # 0: networks, config schemas and checks, errors, and the support modules all layers use
    "nets": 0,
    "config": 0,
    "errors": 0,
    "boundary": 0,
    "types": 0,
    "paths": 0,
    "io": 0,
    "progress": 0,
    "threads": 0,
    "metrics": 0,
    "hardware": 0,
    "": 0,  # ganad_cli/__init__.py: the version
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _targets(node: ast.Import | ast.ImportFrom, name: str, is_pkg: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:
        base = name.split(".") if is_pkg else name.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        module = ".".join([*base, *([node.module] if node.module else [])])
    else:
        module = node.module or ""
    return [f"{module}.{a.name}" for a in node.names] + [module]


def internal_imports() -> dict[str, set[str]]:
    """module -> the ganad_cli modules it imports (at module level or inside functions)."""
    mods = modules()
    edges: dict[str, set[str]] = {}
    for name, path in mods.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            targets = _targets(node, name, path.name == "__init__.py")
            if isinstance(node, ast.ImportFrom):  # `from pkg import sub`: sub if it is a module
                subs = [t for t in targets[:-1] if t in mods]
                targets = subs if len(subs) == len(targets) - 1 else [*subs, targets[-1]]
            for target in targets:
                while target and target not in mods:
                    target = target.rpartition(".")[0]
                if target.startswith("ganad_cli") and target != name:
                    found.add(target)
        edges[name] = found
    return edges


def layer(module: str) -> int | None:
    top = module.split(".")[1] if "." in module else ""
    return LAYERS.get(top)


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_walk_sees_imports_inside_functions():
    edges = internal_imports()
    # ganad_cli/cli/__main__.py runs main: imported at module level
    assert "ganad_cli.cli" in edges["ganad_cli.__main__"]
    assert len(edges) > 40 and sum(map(len, edges.values())) > 150


def test_every_module_has_a_layer():
    unplaced = [m for m in modules() if layer(m) is None]
    assert not unplaced, f"modules outside the layers (add them to LAYERS): {unplaced}"


def test_no_import_circle():
    assert circles(internal_imports()) == []


def test_imports_point_down_the_layers():
    against = [
        f"{a} (layer {layer(a)}) imports {b} (layer {layer(b)})"
        for a, targets in sorted(internal_imports().items())
        for b in sorted(targets)
        if layer(a) is not None and layer(b) is not None and layer(b) > layer(a)
    ]
    assert not against, "imports against the layer order:\n" + "\n".join(against)


def test_no_module_over_400_lines():
    long = {
        name: n
        for name, path in modules().items()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def string_lists() -> dict[frozenset[str], list[str]]:
    """Module-level tuples of two or more string literals (choice lists, key lists), by their
    values: where each is defined."""
    found: dict[frozenset[str], list[str]] = {}
    for name, path in modules().items():
        for node in ast.parse(path.read_text()).body:
            target = node.targets[0] if isinstance(node, ast.Assign) else None
            if isinstance(node, ast.AnnAssign):
                target = node.target
            value = getattr(node, "value", None)
            if not isinstance(target, ast.Name) or not isinstance(value, ast.Tuple):
                continue
            items = value.elts
            if len(items) >= 2 and all(
                isinstance(e, ast.Constant) and isinstance(e.value, str) for e in items
            ):
                values = frozenset(e.value for e in items)
                found.setdefault(values, []).append(f"{name}.{target.id}")
    return found


def test_each_choice_list_is_defined_once():
    lists = string_lists()
    assert any("ganad_cli.config.choices.MODEL_NAMES" in where for where in lists.values())
    twice = {", ".join(where) for where in lists.values() if len(where) > 1}
    assert not twice, f"the same list defined twice (keep one, import it): {sorted(twice)}"


def test_only_the_command_line_reads_argv_or_prints():
    """Below cli/, results are returned or logged: no print(), no sys.argv, no sys.exit."""
    found = []
    for name, path in modules().items():
        if layer(name) == LAYERS["cli"]:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
                found.append(f"{name}:{node.lineno} print()")
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "sys"
                and node.attr in ("argv", "exit")
            ):
                found.append(f"{name}:{node.lineno} sys.{node.attr}")
    assert not found, "below cli/: " + ", ".join(found)
