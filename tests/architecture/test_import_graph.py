"""The import graph of hbaezoo/ runs one way down: no cycles, nothing imports the command layer, and
no module imports a layer above its own (docs/architecture.md, "Layers").

Imports are read with `ast` (every `import`, also those inside functions), so a lazy import counts.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "hbaezoo"

#: Layers from the top; a module belongs to the first entry that names it or a package above it.
LAYERS = {
    "command": ("hbaezoo", "hbaezoo.__main__", "hbaezoo.cli", "hbaezoo.cli_args", "hbaezoo.eval_cli",
                "hbaezoo.api", "hbaezoo.inference", "hbaezoo.scaffold"),
    "work": ("hbaezoo.training", "hbaezoo.eval", "hbaezoo.sampling", "hbaezoo.testing"),
    "run directory": ("hbaezoo.rundir", "hbaezoo.assembly", "hbaezoo.config", "hbaezoo.recipe_text", "hbaezoo.plugins"),
    "models and data": ("hbaezoo.models", "hbaezoo.data", "hbaezoo.components", "hbaezoo.nn", "hbaezoo.images"),
    "parts and helpers": ("hbaezoo.registry", "hbaezoo.errors", "hbaezoo.console", "hbaezoo.scopes",
                          "hbaezoo.signatures", "hbaezoo.limits", "hbaezoo.progress", "hbaezoo.gin_import",
                          "hbaezoo.devices", "hbaezoo.files", "hbaezoo.paths", "hbaezoo.about", "hbaezoo.seeds"),
}
RANK = {name: i for i, name in enumerate(LAYERS)}
# Not arrows here: the registry imports a kind's core module, and parsing a recipe the modules whose settings it
# may bind, by name (Registry(kind, doc, core), hbaezoo.registry.SETTINGS_MODULES); docs/architecture.md, "Layers".


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports(path: Path, known: set[str]) -> set[str]:
    """hbaezoo modules `path` imports (a name imported from a package counts as its submodule when it is one)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "hbaezoo"}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "hbaezoo":
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in known else node.module)
    return {m for m in found if m in known}


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imports(path, set(mods)) - {name} for name, path in mods.items()}


def layer(module: str) -> str:
    best = None
    for name, prefixes in LAYERS.items():
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > len(best[1])):
                best = (name, prefix)
    assert best is not None, f"{module} is in no layer of tests/architecture/test_import_graph.py: add it to LAYERS"
    return best[0]


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_every_module_has_a_layer():
    for module in modules():
        layer(module)


def test_the_import_graph_has_no_cycle():
    found = cycles(graph())
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_nothing_imports_the_command_layer():
    wrong = [f"{m} imports {t}" for m, targets in graph().items() for t in sorted(targets)
             if layer(t) == "command" and layer(m) != "command"]
    assert not wrong, "\n".join(wrong)


def test_no_module_imports_a_layer_above_its_own():
    wrong = [f"{m} ({layer(m)}) imports {t} ({layer(t)})" for m, targets in graph().items() for t in sorted(targets)
             if RANK[layer(t)] < RANK[layer(m)]]
    assert not wrong, "\n".join(wrong)


def test_the_checks_see_a_cycle_and_an_upward_import():
    """The checks above can fail: a made-up graph with a cycle and a module importing the command layer."""
    edges = {"hbaezoo.rundir.layout": {"hbaezoo.api"}, "hbaezoo.api": {"hbaezoo.rundir.layout"}}
    assert cycles(edges) == [["hbaezoo.api", "hbaezoo.rundir.layout"]]
    assert RANK[layer("hbaezoo.api")] < RANK[layer("hbaezoo.rundir.layout")]
