"""The verify CLI without a lab: canned FRR answers behind a stand-in Transport.

The stand-in answers the state script with FRR JSON shaped like FRR 8.4's (as captured
from the lab), so exit codes, output formats, --cluster, flap history, multi-router
concurrency and unreachable routers can be tested quickly and deterministically.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from routerctl.cli import main
from routerctl.commands import verify as verify_cmd
from routerctl.errors import ExitCode, TransportError
from routerctl.ops import gather as ops_gather
from routerctl.topology import SshTarget
from routerctl.transport.fake import FakeTransport
from tests import kubeapi

HERE = Path(__file__).parent
FIXTURE = HERE / "fixtures" / "cluster" / "kubectl_get_nodes_svc.json"

TOPOLOGY = """\
routers:
  - name: rtr1
    ssh: {host: rtr1}
    asn: 65000
    router_id: 198.51.100.2
  - name: rtr2
    ssh: {host: rtr2}
    asn: 65000
    router_id: 198.51.100.3
cluster:
  asn: 65001
  nodes:
    - {name: node1, address: 198.51.100.5}
    - {name: node2, address: 198.51.100.6}
  pools:
    - name: default
      addresses: [203.0.113.30-203.0.113.49]
services:
  - {name: default/nginx-lb, address: 203.0.113.30, port: 8080}
"""


def peer(state: str = "Established", *, dropped: int = 0, up_ms: int = 3_600_000) -> dict[str, Any]:
    est = state == "Established"
    return {
        "remoteAs": 65001,
        "localAs": 65000,
        "version": 4,
        "msgRcvd": 10,
        "msgSent": 10,
        "tableVersion": 0,
        "outq": 0,
        "inq": 0,
        "peerUptime": time.strftime("%H:%M:%S", time.gmtime(up_ms // 1000)) if est else "never",
        "peerUptimeMsec": up_ms if est else 0,
        "pfxRcd": 1 if est else 0,
        "pfxSnt": 0,
        "state": state,
        "peerState": "OK",
        "connectionsEstablished": dropped + 1,
        "connectionsDropped": dropped,
        "idType": "ipv4",
    }


class Router:
    """What one fake router answers; tests mutate it between runs."""

    def __init__(self, rid: str) -> None:
        self.rid = rid
        self.peers = {"198.51.100.5": peer(), "198.51.100.6": peer()}
        self.unreachable = False
        self.garbage = False  # answer the summary with something that is not JSON
        self.execs = 0

    def summary(self) -> dict[str, Any]:
        return {"routerId": self.rid, "as": 65000, "vrfName": "default", "peers": self.peers}

    def pool(self) -> dict[str, Any]:
        paths = [
            {"valid": True, "bestpath": i == 0, "multipath": True, "peerId": a}
            for i, (a, p) in enumerate(self.peers.items())
            if p["state"] == "Established"
        ]
        return {"routes": {"203.0.113.30/32": paths}} if paths else {"routes": {}}

    def lookup(self, addr: str) -> dict[str, Any]:
        hops = [
            {"ip": a, "fib": True, "active": True, "interfaceName": "br-lan"}
            for a, p in self.peers.items()
            if p["state"] == "Established"
        ]
        if not hops or addr != "203.0.113.30":
            return {}
        return {
            "203.0.113.30/32": [
                {
                    "prefix": "203.0.113.30/32",
                    "protocol": "bgp",
                    "selected": True,
                    "installed": True,
                    "nexthops": hops,
                }
            ]
        }

    @staticmethod
    def key_of(command: str) -> str:
        if "summary" in command:
            return "summary4"
        if command == "show bgp neighbors json":
            return "neighbors"
        if "longer-prefixes" in command:
            return "pool " + command.split()[4]
        return "lookup"

    def vtysh(self, key: str, commands: list[str]) -> str:
        if key == "summary4":
            return "Hello, this is not JSON" if self.garbage else json.dumps(self.summary())
        if key == "neighbors":
            return "{}"
        if key == "pool 203.0.113.30/31":
            return json.dumps(self.pool())
        if key.startswith("pool "):
            return "{}"
        if key == "lookup":
            return "\n".join(json.dumps(self.lookup(c.split()[3])) for c in commands)
        raise AssertionError(f"unexpected command {key}: {commands}")

    def answer(self, script: str) -> str:
        """Answer the state script like FRR 8.4 would, section by section."""
        m = re.match(r"M=(\S+)", script)
        assert m, script
        mk = m.group(1)
        out = [
            f"{mk} release\nDISTRIB_ID='OpenWrt'",
            f"{mk} daemons\nzebra 1\nbgpd 1",
            f"{mk} batch frr",
        ]
        frr = script.split('if [ "$S" = frr ]; then', 1)[1].split("\nfi", 1)[0]
        batch = re.search(r'echo "\$M batch frr"; vtysh -E (.*?) 2>&1', frr)
        assert batch, frr
        commands = re.findall(r"-c '([^']*)'", batch.group(1))
        assert commands[0] == "show version", commands  # one vtysh start: -E echoes each
        out.append("OpenWrt# show version\nFRRouting 8.4.4 (OpenWrt) on Linux.")
        out += [f"OpenWrt# {c}\n" + self.vtysh(self.key_of(c), [c]) for c in commands[1:]]
        out.append(f"{mk} rc 0")
        out.append(f"{mk} end")
        return "\n".join(out) + "\n"


def fake_transport(router: Router, host: str) -> FakeTransport:
    def respond(command: str, stdin: bytes | None) -> str:
        router.execs += 1
        return router.answer(ops_gather.script_of(command, (stdin or b"").decode()))

    return FakeTransport(host, respond)


@pytest.fixture
def routers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Router]:
    fleet = {"rtr1": Router("198.51.100.2"), "rtr2": Router("198.51.100.3")}
    threads: set[str] = set()

    def fake_connect(target: SshTarget, *, accept_new_host_key: bool = False) -> FakeTransport:
        threads.add(threading.current_thread().name)
        r = fleet[target.host]
        if r.unreachable:
            raise TransportError(f"cannot connect to {target.host} (198.51.100.9:22): timed out")
        return fake_transport(r, target.host)

    monkeypatch.setattr(verify_cmd, "connect", fake_connect)
    (tmp_path / "routerctl.yaml").write_text(TOPOLOGY)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    fleet["_threads"] = threads  # type: ignore[assignment]
    return fleet


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["verify", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def doc(out: str) -> dict[str, Any]:
    return json.loads(out)


def test_every_router_concurrently_one_connection_each(
    routers: dict[str, Router], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "-o", "json")
    assert code == 0
    d = doc(out)
    assert [r["name"] for r in d["routers"]] == ["rtr1", "rtr2"]
    assert {c["router"] for c in d["checks"]} == {"rtr1", "rtr2"}
    assert routers["rtr1"].execs == 1 and routers["rtr2"].execs == 1
    threads = routers["_threads"]  # connections are opened from the worker pool
    assert threads and all(str(t).startswith("ThreadPoolExecutor") for t in threads)  # type: ignore[attr-defined]
    code, out, _ = run(capsys, "--router", "rtr2", "-o", "json")
    assert {c["router"] for c in doc(out)["checks"]} == {"rtr2"}
    code, out, _ = run(capsys)  # table with a Router column
    assert code == 0
    assert "Router" in out and "rtr1" in out and "rtr2" in out


def test_unreachable_router_is_unknown(
    routers: dict[str, Router], capsys: pytest.CaptureFixture[str]
) -> None:
    routers["rtr2"].unreachable = True
    code, out, _ = run(capsys, "--nagios")
    assert code == 3
    assert out.splitlines()[0] == (
        "ROUTERCTL UNKNOWN - 1 of 10 failing: rtr2: reachable (cannot connect to rtr2 "
        "(198.51.100.9:22): timed out)"
    )
    code, _, _ = run(capsys, "--router", "rtr2")
    assert code == 3
    # a critical problem elsewhere outranks unknown
    routers["rtr1"].peers["198.51.100.5"] = peer("Active")
    routers["rtr1"].peers["198.51.100.6"] = peer("Active")
    code, _, _ = run(capsys, "--nagios")
    assert code == 2
    code, _, _ = run(capsys)
    assert code == 1


def test_exit_codes_warning_vs_critical(
    routers: dict[str, Router], capsys: pytest.CaptureFixture[str]
) -> None:
    routers["rtr1"].peers["198.51.100.6"] = peer("Connect")
    code, out, _ = run(capsys, "-r", "rtr1", "--nagios", "-o", "json")
    assert code == 1
    bad = {c["name"]: c for c in doc(out)["checks"] if not c["ok"]}
    assert set(bad) == {"session node2", "route default/nginx-lb 203.0.113.30"}
    assert doc(out)["status"] == "warning"
    code, _, _ = run(capsys, "-r", "rtr1")
    assert code == 1


def test_flap_history(
    routers: dict[str, Router], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    state = tmp_path / "flaps.json"
    code, out, _ = run(capsys, "-r", "rtr1", "--state-file", str(state), "-o", "json")
    assert code == 0
    saved = json.loads(state.read_text())["routers"]
    (key,) = saved
    assert key.startswith("rtr1@")  # keyed by name and SSH target
    assert saved[key]["dropped"] == {"198.51.100.5": 0, "198.51.100.6": 0}
    assert saved[key]["up"] == ["198.51.100.5", "198.51.100.6"]
    routers["rtr1"].peers["198.51.100.6"] = peer(dropped=2, up_ms=5_000)
    code, out, _ = run(capsys, "-r", "rtr1", "--state-file", str(state), "-o", "json", "--nagios")
    assert code == 1
    flap = next(c for c in doc(out)["checks"] if c["name"] == "flap node2")
    # (the runs are milliseconds apart, so the 5 s uptime is not shorter than the interval)
    assert flap["observed"] == "dropped 2 time(s) since the last run (0 -> 2)"
    # --no-state: no history, no flap checks
    code, out, _ = run(capsys, "-r", "rtr1", "--no-state", "-o", "json")
    assert not any(c["name"].startswith("flap") for c in doc(out)["checks"])
    # --interval alone flags the young session too
    code, out, _ = run(capsys, "-r", "rtr1", "--no-state", "--interval", "300", "-o", "json")
    assert not next(c for c in doc(out)["checks"] if c["name"] == "flap node2")["ok"]


def test_wait_gives_up_at_deadline_with_progress(
    routers: dict[str, Router], capsys: pytest.CaptureFixture[str]
) -> None:
    routers["rtr1"].peers["198.51.100.6"] = peer("Active")
    code, _, err = run(capsys, "-r", "rtr1", "--wait", "1")
    assert code == 1
    assert re.search(r"waiting \(\ds left\): 2 failing: session node2, route default/nginx-lb", err)
    assert routers["rtr1"].execs >= 2  # polled, over the one connection


@pytest.fixture
def kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], None]]:
    """The real kubectl against the API emulation (tests/kubeapi.py) serving the recording."""
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl not installed (scripts/setup installs it)")
    with kubeapi.running(*json.loads(FIXTURE.read_text())["items"]) as api:
        api.kubeconfig(tmp_path / "kubeconfig", context="prod")
        monkeypatch.setenv("HOME", str(tmp_path))  # kubectl's discovery cache
        monkeypatch.delenv("ROUTERCTL_KUBECTL", raising=False)
        yield lambda: None


def test_cluster_kubectl(
    routers: dict[str, Router],
    kubectl: Callable[[], None],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    kc = str(tmp_path / "kubeconfig")
    code, out, _ = run(
        capsys, "-r", "rtr1", "--cluster", "kubectl", "--kubeconfig", kc, "-o", "json"
    )
    d = doc(out)
    assert d["cluster_source"] == "kubectl"
    bad = {c["name"] for c in d["checks"] if not c["ok"]}
    # the live cluster has nginx2-lb (no route on this router) and a pending service
    assert bad == {"route default/nginx2-lb 203.0.113.31", "address default/waiting"}
    assert code == 1
    # kubectl failing: a one-line error, exit 1; with --nagios: UNKNOWN, exit 3
    code, out, err = run(capsys, "--cluster", "kubectl", "--kubeconfig", kc, "--context", "nope")
    assert code == 1
    assert err.strip() == (
        "routerctl: error: kubectl get nodes,svc failed: Error in configuration: context was not "
        "found for specified context: nope (check kubectl works with this kubeconfig/context "
        "(--context, --kubeconfig))"
    )
    code, out, _ = run(
        capsys, "--cluster", "kubectl", "--kubeconfig", kc, "--context", "nope", "--nagios"
    )
    assert code == 3
    assert out.startswith("ROUTERCTL UNKNOWN - kubectl get nodes,svc failed")


def test_usage_errors_are_one_line(
    routers: dict[str, Router], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "--context", "x")
    assert code == 2
    assert err.strip() == (
        "routerctl: error: --context/--kubeconfig need --cluster kubectl (add --cluster kubectl)"
    )
    code, _, err = run(capsys, "--cluster", str(tmp_path / "nope.json"))
    assert code == 2
    assert err.startswith("routerctl: error: cannot read cluster file") and err.count("\n") == 1
    code, _, err = run(capsys, "--router", "rtr9")
    assert code == 2 and "no router named 'rtr9'" in err
    code, _, err = run(capsys, "-t", str(tmp_path / "missing.yaml"))
    assert code == 2 and "Traceback" not in err and err.count("\n") == 1


def test_unreadable_output(routers: dict[str, Router], capsys: pytest.CaptureFixture[str]) -> None:
    routers["rtr2"].garbage = True
    # several routers: rtr2 is 'unknown', rtr1 still fully verified
    code, out, _ = run(capsys, "--nagios", "-o", "json")
    assert code == 3
    bad = [c for c in doc(out)["checks"] if not c["ok"]]
    assert [(c["router"], c["name"], c["severity"]) for c in bad] == [
        ("rtr2", "router state", "unknown")
    ]
    assert "did not return JSON: Hello, this is not JSON" in bad[0]["observed"]
    # one router: the parse error's own exit code and one line on stderr
    code, out, err = run(capsys, "-r", "rtr2")
    assert code == 6
    assert err.startswith(
        "routerctl: error: 'show bgp ipv4 unicast summary json' did not return JSON"
    )
    assert err.count("\n") == 1 and out == ""


@pytest.mark.parametrize("command", ["verify", "support-bundle", "provision"])
def test_empty_router_name_is_an_error_everywhere(
    routers: dict[str, Router], command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--router ""` names no router: a usage error, never "all routers" (issue 11)."""
    code = main([command, "--router", ""])
    err = capsys.readouterr().err
    assert code == ExitCode.USAGE
    assert "no router named ''" in err
    assert all(r.execs == 0 for name, r in routers.items() if name != "_threads")
