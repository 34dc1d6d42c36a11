"""CLI start-up (issue 17): a command imports only what it needs. Module sets, never
times (speed is the bench's job: ``python -m bench``)."""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer._click.core import Context
from typer._coercion import build_runtime_param

import routerctl.cli
from routerctl import api
from routerctl.checks import CheckResult, Severity
from routerctl.commands import verify as verify_cmd
from routerctl.ops.verify import Target
from routerctl.topology import Router, SshTarget, loading

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


# what no `routerctl verify` run may load: other commands, the library API above ops, the
# lab and the bench, integrations, and pydantic (typer's TypeAdapters: ~150 ms)
VERIFY_UNWANTED_PREFIXES = (
    "routerctl.lab",
    "routerctl.api",
    "routerctl.integrations",
    "routerctl.render",
    "routerctl.plan",
    "routerctl.metallb",
    "routerctl.ops.provision",
    "routerctl.ops.fleet",
    "routerctl.ops.healthcheck",
    "routerctl.ops.bundle",  # only with --bundle (it brings tarfile)
    "tarfile",
    "routerctl.commands.provision",
    "routerctl.commands.lab",
    "routerctl.commands.metallb",
    "routerctl.commands.healthcheck",
    "routerctl.commands.render",
    "routerctl.commands.parse",
    "routerctl.commands.watch",
    "bench",
    "nornir",
    "pydantic",
    "pydantic_core",
    "typer._adapters",
    "typer.rich_utils",
    "kubernetes",
    "invoke",
    "asyncio",
)


def _unwanted(mods: set[str], *, rich: bool) -> set[str]:
    prefixes = VERIFY_UNWANTED_PREFIXES + (() if rich else ("rich",))
    return {m for m in mods if m.split(".")[0] in prefixes or m.startswith(prefixes)}


def _unreachable_topology(tmp_path: Path) -> Path:
    """A topology whose router refuses connections (a port nothing listens on)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = tmp_path / "routerctl.yaml"
    path.write_text(
        "routers:\n"
        f"  - {{name: rtr, asn: 65000, ssh: {{host: 127.0.0.1, port: {port}}}}}\n"
        "cluster:\n"
        "  asn: 65001\n"
        "  nodes: [{name: n1, address: 192.0.2.5}]\n"
        '  pools: [{name: p, addresses: ["203.0.113.0/28"]}]\n'
    )
    return path


def _verify_run(*argv: str) -> tuple[dict[str, Any] | None, set[str]]:
    """The modules a real `routerctl verify ARGV` process loaded, and its JSON output."""
    res = subprocess.run(
        [sys.executable, "-c", PROBE, "verify", *argv],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    *out, last = res.stdout.strip().splitlines()
    doc = json.loads("\n".join(out)) if "json" in argv else None
    return doc, set(json.loads(last))


def test_real_verify_loads_neither_pydantic_nor_rich_nor_the_api(tmp_path: Path) -> None:
    # the whole run: topology, cluster, run_verify, paramiko's connect (refused), checks,
    # JSON; the table output loads rich (it prints with it), still nothing else
    topo = str(_unreachable_topology(tmp_path))
    doc, mods = _verify_run("-t", topo, "--no-state", "--timeout", "5", "-o", "json")
    assert doc is not None and doc["exit_code"] == 3 and doc["routers"][0]["error"]
    assert {"routerctl.ops.verify", "routerctl.transport.ssh", "paramiko"} <= mods
    assert _unwanted(mods, rich=False) == set()
    _, mods = _verify_run("-t", topo, "--no-state", "--timeout", "5")
    assert "rich.table" in mods
    assert _unwanted(mods, rich=True) == set()
    _, mods = _verify_run("-t", topo, "--no-state", "--probe-attempts", "7", "--nagios")
    assert _unwanted(mods, rich=True) == set()


@pytest.mark.lab
@pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root")
def test_real_verify_against_the_lab_loads_only_what_verify_needs(lab: Any) -> None:
    doc, mods = _verify_run("-t", str(lab.topology_file), "--no-state", "-o", "json")
    assert doc is not None and doc["routers"][0]["suite"] == "frr"  # the router was read
    assert {c["name"] for c in doc["checks"]} >= {"suite", "daemons"}
    assert _unwanted(mods, rich=False) == set()


# -- typer's coercion without pydantic: the same value, or typer's own error ------------------


def _outcome(runtime: Any, value: object, param: Any, ctx: Context) -> tuple[object, ...]:
    """What coercing ``value`` gives: the value (its repr: nan equals nan) or the error."""
    try:
        rv = runtime.coerce(value, param=param, ctx=ctx)
    except Exception as exc:  # the outcome compared is the error itself
        shown = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        return ("error", type(exc), shown)
    return ("value", type(rv), repr(rv))


def test_plain_coercion_gives_what_typer_gives(tmp_path: Path) -> None:
    """Every parameter of every command, plain and bad values alike: the fast path's
    result (or error) equals typer's own pydantic coercion."""
    command = typer.main.get_command(routerctl.cli.app)
    routerctl.cli._coerce_plainly(command)
    afile = tmp_path / "file"
    afile.write_text("x")
    samples: list[object] = [
        *("", " ", "0", "1", "4", "7", "64", "65", "-1", "+5", "1_0", "007", " 7", "7 "),
        *("1.5", "0.5", ".5", "1.", "1e3", "nan", "inf", "-0", "999999999999999999999"),
        *("abc", "table", "JSON", "Json", "frr", "FRR", "quagga", "local", "ROUTER"),
        *("kubectl", "crds", "configmap", "opkg", "apk", "-", "a\x00b", "\u00e9", "[x]"),
        *(str(tmp_path), str(afile), str(tmp_path / "missing"), "routerctl.yaml"),
        *(0, 3, 65, -2, 3.5, 0.0, float("nan"), True, False, None, Path("x"), b"7"),
    ]
    checked: set[str] = set()

    def walk(cmd: Any, path: str) -> None:
        ctx = Context(cmd, info_name=path)
        for param in [*cmd.params, cmd.get_help_option(ctx)]:
            if param is None or not isinstance(
                getattr(param, "_runtime_param", None), routerctl.cli._PlainCoercion
            ):
                continue
            enum_values = list(getattr(param.type_descriptor.annotation, "__members__", {}))
            own = build_runtime_param(param.type_descriptor)  # typer's, with pydantic
            for value in [*samples, *enum_values, param.default]:
                ours = _outcome(param.get_runtime_param(), value, param, ctx)
                assert ours == _outcome(own, value, param, ctx), (path, param.name, value)
            checked.add(f"{path} {param.name}")
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, f"{path} {name}".strip())

    walk(command, "")
    # every parameter `verify` has takes the fast path (and `--help`, made on first use)
    verify = command.commands["verify"]  # type: ignore[attr-defined]
    assert {f"verify {p.name}" for p in verify.params} | {"verify help"} <= checked
    assert len(checked) > 100


# -- verify runs ops.verify itself: its exit codes and JSON are the library's -----------------


def test_verify_exit_code_and_router_entries_are_the_librarys() -> None:
    def check(sev: Severity) -> CheckResult:
        return CheckResult("c", sev is Severity.OK, sev, "e", "o")

    for n in range(4):
        for sevs in itertools.product(list(Severity), repeat=n):
            results = [check(s) for s in sevs]
            report = api.VerifyReport(checks=tuple(results), routers=(), cluster_source="t")
            assert verify_cmd._exit_code(results) == report.exit_code, sevs
    router = Router(name="rtr", ssh=SshTarget(host="rtr"), asn=65000)
    entry = verify_cmd._router_status(Target(router, error="down"))
    assert list(entry) == [f.name for f in dataclasses.fields(api.RouterStatus)]
    assert entry == {"name": "rtr", "suite": None, "version": None, "error": "down"}


def test_root_options_before_the_command_keep_the_fast_path() -> None:
    # `--transport openssh verify`: "openssh" is the option's value, not the command
    for argv in (["--transport", "openssh"], ["--transport=openssh"], ["--debug"], []):
        mods = _modules(*argv, "verify", "--help")
        commands = {m for m in mods if m.startswith("routerctl.commands.")}
        assert commands == {"routerctl.commands.verify", "routerctl.commands.nodes_from"}, argv
    root = typer.main.get_command(routerctl.cli._app)
    valued = {o for p in root.params if not getattr(p, "is_flag", True) for o in p.opts}
    assert valued == set(routerctl.cli.ROOT_VALUE_OPTIONS)


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
