"""The layers contract (DESIGN.md): imports only go downwards, and no import circles.

cli -> api -> ops -> {render, plan, checks, parsing, platform, metallb, cluster} -> topology
-> transport -> {model, errors}. Modules of one layer may import each other (the
circle check keeps that honest). The checker parses every module's imports with
``ast`` (function-level and TYPE_CHECKING imports included), so it needs no
third-party tool; ``test_contract_fails_on_a_forbidden_import`` shows it biting.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (layer, module prefixes), top first; a module belongs to its longest matching prefix
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("cli", ("cli", "cli_common", "commands", "__main__")),
    # the public library API (and what is built on it: Nornir, Ansible) sits above ops
    ("api", ("api", "integrations")),
    # the lab is a tool the lab subcommand drives (loaded lazily); it runs routers itself
    ("ops", ("ops", "lab")),
    (
        "domain",
        (
            "render",
            "plan",
            "checks",
            "parsing",
            "platform",
            "metallb",
            "cluster",
            "runningconfig",
            "preflight",
            "ipk",
            "_resources",
        ),
    ),
    ("topology", ("topology",)),
    ("transport", ("transport",)),
    # "": the package's own __init__ (version); the rest: shapes and rules every layer shares
    ("base", ("model", "errors", "localfile", "durations", "redact", "names", "")),
)


def module_name(path: Path, root: Path, package: str) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([package, *parts])


def layer_of(module: str, package: str) -> int:
    rest = module[len(package) + 1 :] if module != package else ""
    best: tuple[int, int] | None = None  # (prefix length, layer index)
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            hit = rest == p or rest.startswith(p + ".") or (p == "" and rest == "")
            if hit and (best is None or len(p) > best[0]):
                best = (len(p), i)
    if best is None:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS")
    return best[1]


def imports_of(path: Path, module: str, package: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == package}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_pkg else 0)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.split(".")[0] != package:
                continue
            out.add(target)
            # "from pkg import mod" imports the submodule mod
            out |= {f"{target}.{a.name}" for a in node.names}
    return out


def graph(root: Path, package: str) -> dict[str, set[str]]:
    files = {module_name(p, root, package): p for p in root.rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for mod, path in files.items():
        edges[mod] = {t for t in imports_of(path, mod, package) if t in files and t != mod}
    return edges


def _circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def _is_parent(a: str, b: str) -> bool:
    """A package importing its own submodule (``__init__`` re-exports) is no circle."""
    return b.startswith(a + ".") or a.startswith(b + ".")


def violations(root: Path, package: str) -> list[str]:
    edges = graph(root, package)
    problems = []
    for mod, targets in sorted(edges.items()):
        for t in sorted(targets):
            if layer_of(t, package) < layer_of(mod, package):
                up, down = LAYERS[layer_of(t, package)][0], LAYERS[layer_of(mod, package)][0]
                problems.append(f"{mod} ({down}) imports {t} ({up}): upwards")
    without_parents = {m: {t for t in ts if not _is_parent(m, t)} for m, ts in edges.items()}
    problems += [f"import circle: {' <-> '.join(c)}" for c in _circles(without_parents)]
    return problems


def test_routerctl_keeps_the_layers() -> None:
    assert violations(ROOT / "routerctl", "routerctl") == []


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "routerctl"
    for name, text in {"__init__.py": "", "errors.py": "", **files}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_contract_fails_on_a_forbidden_import(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "topology/__init__.py": "from routerctl.ops import provision\n",
            "ops/__init__.py": "",
            "ops/provision.py": "from routerctl.topology import Router\n",
            "transport/base.py": "def f():\n    from routerctl.checks import x\n",
            "checks.py": "from routerctl.errors import E\n",
        },
    )
    found = violations(root, "routerctl")
    assert "routerctl.topology (topology) imports routerctl.ops (ops): upwards" in found
    assert "routerctl.topology (topology) imports routerctl.ops.provision (ops): upwards" in found
    assert "routerctl.transport.base (transport) imports routerctl.checks (domain): upwards" in (
        found
    )
    assert any(p.startswith("import circle:") and "routerctl.topology" in p for p in found)


def test_contract_fails_on_a_circle_inside_one_layer(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {"render.py": "from routerctl import plan\n", "plan.py": "import routerctl.render\n"},
    )
    assert violations(root, "routerctl") == ["import circle: routerctl.plan <-> routerctl.render"]


def test_importing_the_cli_loads_no_lab_or_bench() -> None:
    code = (
        "import sys, routerctl.cli\n"
        "bad = sorted(m for m in sys.modules if m.startswith(('routerctl.lab', 'bench')))\n"
        "print(','.join(bad))\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert res.stdout.strip() == ""
