"""Issue 14's done-when: bad cluster data (API unreachable, wrong types, a node without an
InternalIP, kubectl missing) is one line and its exit code, and the router is never
touched on a failed read -- for every command that reads the node set, through the CLI
and the real kubectl against the lab's API-server stand-in.

"Never touched" is observed, not inferred from an exit code: the topology's router is a
listening socket on loopback that counts the connections it is offered; a command that
read the cluster successfully does connect to it (the control case below)."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from routerctl.cli import main
from routerctl.errors import ExitCode
from tests import kubeapi
from tests.test_cluster_nodes import needs_kubectl

TOPO = """\
routers:
  - name: rtr
    ssh: {{host: 127.0.0.1, port: {port}, user: root}}
    asn: 65000
    router_id: 198.51.100.2
cluster:
  asn: 65001
  nodes: {{from: kubectl}}
  pools:
    - {{name: default, addresses: [203.0.113.0/24]}}
"""

# every command that reads the node set, as a user runs it (-t is added)
COMMANDS = (
    ("plan",),
    ("provision", "--yes"),
    ("verify", "--no-state"),
    ("render", "router"),
    ("healthcheck", "install"),
    ("healthcheck", "config"),
)


class Router:
    """A TCP listener standing in for the router's SSH port: counts connection attempts."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.seen = 0

    def connections(self) -> int:
        while True:
            try:
                conn, _ = self.sock.accept()
            except BlockingIOError:
                return self.seen
            conn.close()  # the client's SSH handshake fails: exit 3
            self.seen += 1


@pytest.fixture
def setup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[kubeapi.KubeAPI, Router, Path]]:
    router = Router()
    topo = tmp_path / "routerctl.yaml"
    topo.write_text(TOPO.format(port=router.port))
    with kubeapi.running(
        kubeapi.node("node1", "198.51.100.11"), kubeapi.node("node2", "198.51.100.12")
    ) as api:
        monkeypatch.setenv("KUBECONFIG", str(api.kubeconfig(tmp_path / "kubeconfig")))
        monkeypatch.setenv("HOME", str(tmp_path))
        monkeypatch.delenv("ROUTERCTL_KUBECTL", raising=False)
        yield api, router, topo
    router.sock.close()


def run_all(
    capsys: pytest.CaptureFixture[str], topo: Path, router: Router, code: int, pattern: str
) -> None:
    """Every command: exit ``code``, exactly one error line matching ``pattern``, nothing
    on stdout, no connection to the router."""
    for argv in COMMANDS:
        got = main([*argv, "-t", str(topo)])
        out = capsys.readouterr()
        lines = [ln for ln in out.err.splitlines() if ln.startswith("routerctl: ")]
        assert got == code, (argv, out.err)
        assert len(lines) == 1 and re.search(pattern, lines[0]), (argv, out.err)
        assert "Traceback" not in out.err and out.out == "", (argv, out.out)
        assert router.connections() == 0, f"{argv}: the router was contacted"


@needs_kubectl
def test_a_good_read_reaches_the_router(
    setup: tuple[kubeapi.KubeAPI, Router, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """The control: with a good read, plan goes on to SSH (the stand-in counts it)."""
    _, router, topo = setup
    assert main(["plan", "-t", str(topo)]) == ExitCode.UNREACHABLE
    capsys.readouterr()
    assert router.connections() == 1


@needs_kubectl
def test_wrong_types_are_usage_errors_naming_the_field(
    setup: tuple[kubeapi.KubeAPI, Router, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    api, router, topo = setup
    bad = kubeapi.node("node2", "198.51.100.12")
    bad["status"]["addresses"][0]["address"] = 7
    api.put(bad)
    run_all(
        capsys,
        topo,
        router,
        ExitCode.USAGE,
        r"^routerctl: error: kubectl: items\[1\]\.status\.addresses\[0\]\.address is not a string",
    )
    bad = kubeapi.node("node2", "198.51.100.12", labels={"rack": "a"})
    bad["metadata"]["labels"]["rack"] = 5
    api.put(bad)
    run_all(capsys, topo, router, ExitCode.USAGE, r"items\[1\]\.metadata\.labels\.rack is not a")
    api.put(kubeapi.node("node2", "198.51.100.12"))
    # MetalLB's objects are read the same way: a BGPPeer for this router with an operator
    # MetalLB does not know
    api.put(
        kubeapi.bgppeer(
            "openwrt",
            "198.51.100.2",
            65000,
            65001,
            node_selectors=[{"matchExpressions": [{"key": "rack", "operator": "Near"}]}],
        )
    )
    run_all(capsys, topo, router, ExitCode.USAGE, r"operator 'Near' is not In/NotIn/Exists")


@needs_kubectl
def test_nodes_without_internal_ip(
    setup: tuple[kubeapi.KubeAPI, Router, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A node without an InternalIP is skipped with that reason; when no node is left,
    every command refuses (exit 1) before the router."""
    api, router, topo = setup
    api.put(kubeapi.node("node3"))  # a Hostname address only
    assert main(["render", "router", "-t", str(topo)]) == 0
    out = capsys.readouterr().out
    assert re.findall(r"^ neighbor (\S+) peer-group ROUTERCTL$", out, re.M) == [
        "198.51.100.11",
        "198.51.100.12",
    ]
    api.set_nodes(kubeapi.node("node3"), kubeapi.node("node4", ipv6="2001:db8::14"))
    run_all(
        capsys,
        topo,
        router,
        ExitCode.FAILED,
        r"no cluster node speaks BGP( to router rtr)? \(node3: no IPv4 InternalIP; "
        r"node4: no IPv4 InternalIP\); refusing to remove every neighbor",
    )


@needs_kubectl
def test_api_unreachable_and_kubectl_missing(
    setup: tuple[kubeapi.KubeAPI, Router, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api, router, topo = setup
    api.pause()
    run_all(
        capsys,
        topo,
        router,
        ExitCode.FAILED,
        r"^routerctl: error: kubectl get nodes failed: The connection to the server "
        r"127\.0\.0\.1:\d+ was refused",
    )
    monkeypatch.setenv("ROUTERCTL_KUBECTL", "kubectl-not-installed-here")
    run_all(capsys, topo, router, ExitCode.ENVIRONMENT, r"kubectl not found")
