"""No import circle reaches routerctl.lab or bench (DESIGN.md: "No import circles").

The graph is read from the source (ast), so it counts every import: at the top, inside a
function (lazy), under ``if TYPE_CHECKING``. ``from pkg import name`` is an edge to the
submodule ``pkg.name`` when there is one, else to ``pkg`` itself (its ``__init__``);
parent packages a submodule import runs implicitly are not edges. It spans routerctl and
bench, so a circle through another routerctl module counts too; circles elsewhere in
routerctl are not this test's business.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHECKED = ("routerctl.lab", "bench")


def modules(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Dotted module name -> file, for every .py under each package folder."""
    out: dict[str, Path] = {}
    for pkg in packages:
        for path in sorted((root / pkg).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def import_graph(mods: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the module's own package upwards
                    pkg = name.split(".") if is_pkg else name.split(".")[:-1]
                    pkg = pkg[: len(pkg) - node.level + 1]
                    base = ".".join([*pkg, base] if base else pkg)
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names
                ]
            for imported in targets:
                target = imported
                while target and target not in mods:  # import a.b.c of a non-module c
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
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

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def touches_checked(component: list[str]) -> bool:
    return any(m == p or m.startswith(p + ".") for m in component for p in CHECKED)


def test_no_import_circle_in_lab_or_bench() -> None:
    graph = import_graph(modules(REPO, ["routerctl", "bench"]))
    # the graph is real: a few edges that must be there
    assert "routerctl.lab.netns" in graph["routerctl.lab.facade"]
    assert "routerctl.lab.state" in graph["routerctl.lab.router"]
    assert "bench.harness" in graph["bench.items.large_table"]
    assert "bench.run" in graph["bench.verify_large_table"]
    bad = [c for c in cycles(graph) if touches_checked(c)]
    assert not bad, "import circles: " + "; ".join(" <-> ".join(c) for c in bad)


def test_the_check_finds_a_circle(tmp_path: Path) -> None:
    pkg = tmp_path / "bench"
    (pkg / "items").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "items/__init__.py").write_text("")
    (pkg / "run.py").write_text("from bench.items import one\n")
    (pkg / "items/one.py").write_text("def main():\n    from bench.run import main\n")
    (pkg / "items/two.py").write_text("from . import one\nfrom ..run import x\n")
    graph = import_graph(modules(tmp_path, ["bench"]))
    assert graph["bench.items.two"] == {"bench.items.one", "bench.run"}
    assert cycles(graph) == [["bench.items.one", "bench.run"]]
