"""CLI start-up (issue 17): a command imports only what it needs. Module sets, never
times (speed is the bench's job: ``python -m bench``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import typer
import yaml

import routerctl.cli
from routerctl.topology import loading

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import json, sys
from routerctl.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(json.dumps(sorted(sys.modules)))
"""


def _modules(*argv: str) -> set[str]:
    res = subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return set(json.loads(res.stdout.strip().splitlines()[-1]))


def test_verify_help_imports_only_what_verify_needs() -> None:
    mods = _modules("verify", "--help")
    assert "routerctl.commands.verify" in mods
    unwanted = {
        m
        for m in mods
        if m.startswith(("routerctl.lab", "bench", "paramiko", "cryptography", "kubernetes"))
        or m
        in {
            "routerctl.commands.provision",
            "routerctl.commands.lab",
            "routerctl.commands.metallb",
            "routerctl.commands.healthcheck",
            "routerctl.commands.render",
            "routerctl.commands.parse",
            "routerctl.ops.provision",
            "routerctl.ops.healthcheck",
            "routerctl.metallb.importer",
            "routerctl.render",
            "routerctl.plan",
        }
    }
    assert unwanted == set()


def test_root_help_and_app_still_have_every_command() -> None:
    mods = _modules("--help")
    assert {f"routerctl.commands.{m}" for m in routerctl.cli.COMMAND_MODULES} <= mods
    names = set(typer.main.get_command(routerctl.cli.app).commands)  # type: ignore[attr-defined]
    assert set(routerctl.cli.COMMAND_WORDS) <= names  # the fast path names real commands


def test_depth_bound_never_undercounts() -> None:
    for text, depth in [
        ("a: 1\n", 1),
        ("a:\n  b:\n    c: 1\n", 3),
        ("- - - - x\n", 4),
        ("a: [[[[1]]]]\n", 5),
        ("a: {b: {c: [1]}}\n", 4),
    ]:
        assert loading._depth_bound(text) >= depth, text


def test_libyaml_path_keeps_line_numbers(tmp_path: Path) -> None:
    assert getattr(yaml, "CSafeLoader", None) is not None  # scripts/setup's PyYAML has it
    good = (ROOT / "examples" / "seed.yaml").read_text()
    assert loading._depth_bound(good) <= loading.DEPTH_MAX  # the fast path is taken
    lines = good.splitlines()
    i = next(n for n, line in enumerate(lines) if line.strip().startswith("asn:"))
    lines[i] = lines[i].split(":")[0] + ": notanumber"
    bad = tmp_path / "t.yaml"
    bad.write_text("\n".join(lines) + "\n")
    try:
        loading.load_topology(bad)
    except Exception as exc:  # TopologyError
        assert f":{i + 1}:" in str(exc) or f"line {i + 1}" in str(exc), str(exc)
    else:
        raise AssertionError("a bad asn was accepted")


TREE = """
import json, sys
import typer
import routerctl.cli as cli
word = sys.argv[1]
if word != "*":
    cli._register_for([word])
    group = cli._app
else:
    group = cli.app


def tree(cmd):
    subs = getattr(cmd, "commands", {})
    return {n: tree(c) for n, c in sorted(subs.items())} or sorted(p.name for p in cmd.params)


print(json.dumps(tree(typer.main.get_command(group))))
"""


def test_each_fast_path_word_gets_its_whole_command_tree() -> None:
    def tree(word: str) -> dict[str, object]:
        res = subprocess.run(
            [sys.executable, "-c", TREE, word], capture_output=True, text=True, check=True, cwd=ROOT
        )
        return json.loads(res.stdout)  # type: ignore[no-any-return]

    full = tree("*")
    for word in routerctl.cli.COMMAND_WORDS:
        assert tree(word)[word] == full[word], word


INVOKE_PROBE = """
import json, sys
import routerctl.transport.ssh
import paramiko.config
before = sorted(m for m in sys.modules if m.split(".")[0] in {"invoke", "asyncio", "unittest"})
run = paramiko.config.invoke.run  # what an ssh_config `Match exec` calls
import invoke
print(json.dumps([before, run is invoke.run]))
"""


def test_paramiko_loads_invoke_only_when_match_exec_needs_it() -> None:
    # paramiko 5 requires invoke and its config module imports it; routerctl's ssh
    # transport defers it (asyncio, unittest.mock) until a `Match exec` runs it
    res = subprocess.run(
        [sys.executable, "-c", INVOKE_PROBE], capture_output=True, text=True, check=True, cwd=ROOT
    )
    before, same = json.loads(res.stdout.strip().splitlines()[-1])
    assert before == [] and same is True
