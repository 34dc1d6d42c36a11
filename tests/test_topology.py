"""Topology loading: the seed loads exactly; every bad input is one line naming file:line: field."""

from __future__ import annotations

import ipaddress
import re
import subprocess
import sys
from pathlib import Path

import pytest

from routerctl.cli import main
from routerctl.errors import TopologyError
from routerctl.topology import (
    AddressRange,
    BgpOptions,
    Node,
    Pool,
    Router,
    Secret,
    Service,
    SshTarget,
    load_topology,
)

ROOT = Path(__file__).resolve().parent.parent
SEED = (ROOT / "examples" / "seed.yaml").read_text()


def seed(*pairs: tuple[str, str]) -> str:
    """The seed file with each (old, new) replacement applied (old must occur)."""
    text = SEED
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def test_seed_loads_exactly_as_written() -> None:
    topo = load_topology(ROOT / "examples" / "seed.yaml")
    assert topo.routers == (
        Router(
            name="openwrt",
            ssh=SshTarget(host="192.168.1.2", user="root"),
            asn=65000,
            router_id=ipaddress.IPv4Address("192.168.1.2"),
        ),
    )
    assert topo.cluster.asn == 65001
    assert topo.cluster.nodes == (
        Node("ubuntu-dev1", ipaddress.ip_address("192.168.1.5")),
        Node("ubuntu-dev2", ipaddress.ip_address("192.168.1.6")),
    )
    first, last = ipaddress.ip_address("192.168.0.30"), ipaddress.ip_address("192.168.0.49")
    assert topo.cluster.pools == (
        Pool("default", (AddressRange("192.168.0.30-192.168.0.49", first, last),)),
    )
    assert topo.bgp == BgpOptions(password=Secret(env="ROUTERCTL_BGP_PASSWORD"), ecmp=8)
    assert topo.services == (
        Service("default", "nginx-lb", ipaddress.ip_address("192.168.0.30"), 8080),
    )
    assert not topo.ibgp
    assert [str(n) for n in topo.cluster.pools[0].networks()] == [
        "192.168.0.30/31",
        "192.168.0.32/28",
        "192.168.0.48/31",
    ]


def test_full_example_uses_every_option() -> None:
    path = ROOT / "examples" / "full.yaml"
    topo = load_topology(path)
    core, backup = topo.routers
    assert core.ssh == SshTarget(
        host="198.51.100.1",
        port=2222,
        user="root",
        identity_file=Path("~/.ssh/id_ed25519").expanduser(),
        known_hosts=path.parent / "keys" / "known_hosts",
        ssh_config=path.parent / "ssh_config",
    )
    assert core.asn == 4200000000 and core.suite == "frr"
    assert core.lan == (ipaddress.ip_network("198.51.100.0/24"),)
    assert core.node_selector == (("rack", "r1"),)
    assert backup.ssh == SshTarget(host="backup-router")
    assert [n.name for n in topo.nodes_for(core)] == ["node-1", "node-2"]
    assert [n.name for n in topo.nodes_for(backup)] == ["node-1", "node-2", "node-3"]
    assert topo.cluster.nodes[0].labels == (("rack", "r1"), ("zone", "a"))
    assert [p.auto_assign for p in topo.cluster.pools] == [True, False, True]
    assert topo.bgp == BgpOptions(
        password=Secret(file=path.parent / "bgp-password.txt"),
        hold_time=90,
        keepalive_time=30,
        connect_retry=10,
        ecmp=16,
        ebgp_multihop=2,
        bfd=True,
        graceful_restart=True,
    )
    assert topo.services[2] == Service(
        "default", "frontend", ipaddress.ip_address("2001:db8:300::1")
    )


def test_variants_that_are_allowed(tmp_path: Path) -> None:
    f = tmp_path / "t.yaml"
    f.write_text(
        seed(
            ("asn: 65001", "asn: 65000"),  # iBGP
            (
                "    router_id: 192.168.1.2\n",
                "    router_id: 192.168.1.2\n    lan: 192.168.1.0/24\n",
            ),
            ("  ecmp: 8", "  ecmp: 8\n  hold_time: 3m\n  ebgp_multihop: true"),
        )
    )
    topo = load_topology(f)
    assert topo.ibgp
    assert topo.routers[0].lan == (ipaddress.ip_network("192.168.1.0/24"),)
    assert topo.bgp.hold_time == 180 and topo.bgp.ebgp_multihop == 255
    assert topo.bgp.keepalive_time is None
    assert topo.field_lines and dict(topo.field_lines)["bgp.ecmp"] == 17


# (case id, file text, line, field, fragment of the message)
BAD: list[tuple[str, str, int, str, str]] = [
    (
        "node-ip",
        seed(("192.168.1.6}", "192.168.1.500}")),
        10,
        "cluster.nodes[1].address",
        "'192.168.1.500' is not an IP address (use an IPv4 or IPv6 address)",
    ),
    (
        "typo-key",
        seed(("ecmp: 8", "ecmpp: 8")),
        16,
        "bgp.ecmpp",
        "unknown key 'ecmpp' (did you mean 'ecmp'?)",
    ),
    ("typo-top-key", seed(("services:", "service:")), 17, "service", "did you mean 'services'?"),
    (
        "inline-password",
        seed(("{env: ROUTERCTL_BGP_PASSWORD}", "hunter2")),
        15,
        "bgp.password",
        "an inline password is not allowed (use {env: VARIABLE} or {file: path}",
    ),
    (
        "asn-zero",
        seed(("asn: 65000", "asn: 0")),
        4,
        "routers[0].asn",
        "0 is out of range (use an ASN 1..4294967295)",
    ),
    ("asn-trans", seed(("asn: 65001", "asn: 23456")), 7, "cluster.asn", "23456 is AS_TRANS"),
    ("asn-too-big", seed(("asn: 65001", "asn: 4294967296")), 7, "cluster.asn", "out of range"),
    (
        "asn-text",
        seed(("asn: 65000", "asn: sixty")),
        4,
        "routers[0].asn",
        "expected an ASN, got 'sixty'",
    ),
    (
        "dup-node-name",
        seed(("ubuntu-dev2", "ubuntu-dev1")),
        10,
        "cluster.nodes[1].name",
        "duplicate node name 'ubuntu-dev1' (also at line 9)",
    ),
    (
        "dup-node-address",
        seed(("192.168.1.6}", "192.168.1.5}")),
        10,
        "cluster.nodes[1].address",
        "duplicate node address 192.168.1.5",
    ),
    (
        "range-reversed",
        seed(("192.168.0.30-192.168.0.49", "192.168.0.49-192.168.0.30")),
        13,
        "cluster.pools[0].addresses[0]",
        "first address is greater than last (write it as 192.168.0.30-192.168.0.49)",
    ),
    (
        "range-mixed",
        seed(("192.168.0.30-192.168.0.49", "'192.168.0.30-2001:db8::1'")),
        13,
        "cluster.pools[0].addresses[0]",
        "mixes IPv4 and IPv6",
    ),
    (
        "range-garbage",
        seed(("192.168.0.30-192.168.0.49", "lots-of-ips")),
        13,
        "cluster.pools[0].addresses[0]",
        "is not a valid range",
    ),
    (
        "cidr-host-bits",
        seed(("192.168.0.30-192.168.0.49", "192.168.0.30/24")),
        13,
        "cluster.pools[0].addresses[0]",
        "has host bits set (use the network address: 192.168.0.0/24)",
    ),
    (
        "pools-overlap",
        seed(
            (
                "addresses: [192.168.0.30-192.168.0.49]",
                "addresses: [192.168.0.30-192.168.0.49]\n    - name: more\n"
                "      addresses: [192.168.0.40/29]",
            )
        ),
        15,
        "cluster.pools[1].addresses[0]",
        "'192.168.0.40/29' overlaps '192.168.0.30-192.168.0.49' of pool 'default'",
    ),
    (
        "pool-in-lan",
        seed(
            (
                "    router_id: 192.168.1.2\n",
                "    router_id: 192.168.1.2\n    lan: [192.168.0.0/16]\n",
            )
        ),
        14,
        "cluster.pools[0].addresses[0]",
        "overlaps router 'openwrt' LAN 192.168.0.0/16",
    ),
    (
        "node-off-lan",
        seed(
            (
                "    router_id: 192.168.1.2\n",
                "    router_id: 192.168.1.2\n    lan: 192.168.1.0/30\n",
            )
        ),
        10,
        "cluster.nodes[0].address",
        "outside router 'openwrt' LAN 192.168.1.0/30 (put the node on the LAN",
    ),
    (
        "lan-host-bits",
        seed(
            (
                "    router_id: 192.168.1.2\n",
                "    router_id: 192.168.1.2\n    lan: 192.168.1.2/24\n",
            )
        ),
        6,
        "routers[0].lan",
        "has host bits set",
    ),
    (
        "router-name-shell",
        seed(("name: openwrt", "name: 'open;wrt'")),
        2,
        "routers[0].name",
        "contains characters vtysh or a shell would interpret",
    ),
    (
        "node-name-subshell",
        seed(("name: ubuntu-dev1", "name: '$(reboot)'")),
        9,
        "cluster.nodes[0].name",
        "'$(reboot)' contains characters vtysh or a shell would interpret",
    ),
    (
        "pool-name-case",
        seed(("name: default\n", "name: Default\n")),
        12,
        "cluster.pools[0].name",
        "not a valid pool name (MetalLB pool names are DNS-1123",
    ),
    ("ecmp-zero", seed(("ecmp: 8", "ecmp: 0")), 16, "bgp.ecmp", "use a path count 1..256"),
    ("ecmp-huge", seed(("ecmp: 8", "ecmp: 300")), 16, "bgp.ecmp", "300 is out of range"),
    (
        "keepalive-ge-hold",
        seed(("ecmp: 8", "ecmp: 8\n  hold_time: 90s\n  keepalive_time: 90")),
        18,
        "bgp.keepalive_time",
        "keepalive 90s must be less than hold time 90s",
    ),
    (
        "hold-too-small",
        seed(("ecmp: 8", "ecmp: 8\n  hold_time: 2")),
        17,
        "bgp.hold_time",
        "use 0 (no keepalives) or 3..65535 seconds",
    ),
    (
        "duration-garbage",
        seed(("ecmp: 8", "ecmp: 8\n  connect_retry: soon")),
        17,
        "bgp.connect_retry",
        "'soon' is not a duration",
    ),
    (
        "ssh-port",
        seed(("user: root}", "user: root, port: 70000}")),
        3,
        "routers[0].ssh.port",
        "70000 is out of range (use a TCP port 1..65535)",
    ),
    (
        "ssh-user-shell",
        seed(("user: root}", "user: 'root`id`'}")),
        3,
        "routers[0].ssh.user",
        "contains characters",
    ),
    (
        "service-outside-pools",
        seed(("address: 192.168.0.30, port", "address: 192.168.0.60, port")),
        18,
        "services[0].address",
        "192.168.0.60 is outside every pool (default)",
    ),
    (
        "service-name",
        seed(("default/nginx-lb", "Default/Nginx")),
        18,
        "services[0].name",
        "'Default/Nginx' is not a Kubernetes namespace/name",
    ),
    (
        "router-id-v6",
        seed(("router_id: 192.168.1.2", "router_id: '2001:db8::1'")),
        5,
        "routers[0].router_id",
        "2001:db8::1 is not an IPv4 address",
    ),
    (
        "suite",
        seed(("    router_id: 192.168.1.2\n", "    router_id: 192.168.1.2\n    suite: bird\n")),
        6,
        "routers[0].suite",
        "unknown suite 'bird' (use one of: auto, frr, quagga)",
    ),
    (
        "quagga-bfd",
        seed(
            ("    router_id: 192.168.1.2\n", "    router_id: 192.168.1.2\n    suite: quagga\n"),
            ("ecmp: 8", "ecmp: 8\n  bfd: true"),
        ),
        6,
        "routers[0].suite",
        "quagga's bgpd has no BFD",
    ),
    (
        "bfd-not-bool",
        seed(("ecmp: 8", "ecmp: 8\n  bfd: maybe")),
        17,
        "bgp.bfd",
        "expected true or false, got 'maybe'",
    ),
    (
        "multihop-range",
        seed(("ecmp: 8", "ecmp: 8\n  ebgp_multihop: 256")),
        17,
        "bgp.ebgp_multihop",
        "out of range",
    ),
    (
        "missing-key",
        seed(("  asn: 65001\n", "")),
        7,
        "cluster.asn",
        "required key is missing (add 'asn:' under 'cluster')",
    ),
    (
        "duplicate-key",
        seed(("  ecmp: 8", "  ecmp: 8\n  ecmp: 16")),
        17,
        "bgp.ecmp",
        "duplicate key 'ecmp'",
    ),
    (
        "password-both",
        seed(("{env: ROUTERCTL_BGP_PASSWORD}", "{env: A, file: b}")),
        15,
        "bgp.password",
        "give exactly one of 'env' or 'file'",
    ),
    (
        "password-env-name",
        seed(("{env: ROUTERCTL_BGP_PASSWORD}", "{env: 'A B'}")),
        15,
        "bgp.password.env",
        "is not an environment variable name",
    ),
    (
        "routers-not-list",
        "routers: openwrt\n" + SEED[SEED.index("cluster:") :],
        1,
        "routers",
        "expected a list",
    ),
    (
        "no-nodes",
        seed(
            (
                "  nodes:\n    - {name: ubuntu-dev1, address: 192.168.1.5}\n"
                "    - {name: ubuntu-dev2, address: 192.168.1.6}\n",
                "  nodes: []\n",
            )
        ),
        8,
        "cluster.nodes",
        "at least one node is needed",
    ),
    (
        "selector-matches-nothing",
        seed(
            (
                "    router_id: 192.168.1.2\n",
                "    router_id: 192.168.1.2\n    node_selector: {rack: r9}\n",
            )
        ),
        6,
        "routers[0].node_selector",
        "selects none of the nodes",
    ),
    (
        "label-value",
        seed(("address: 192.168.1.5}", "address: 192.168.1.5, labels: {rack: 'a b'}}")),
        9,
        "cluster.nodes[0].labels.rack",
        "'a b' is not a valid label value",
    ),
    (
        "yaml-python-tag",
        seed(("asn: 65000", "asn: !!python/name:os.system ''")),
        4,
        "routers[0].asn",
        "unsupported YAML value (could not determine a constructor",
    ),
    (
        "probe-source",
        seed(("  ecmp: 8", "  ecmp: 8\nverify:\n  probe_from: client")),
        18,
        "verify.probe_from",
        "unknown probe source 'client' (use one of: local, router)",
    ),
    ("yaml-syntax", seed(("  ecmp: 8", "  ecmp: [8")), 17, "", "invalid YAML"),
]


def _expected_prefix(path: Path, line: int, field: str) -> str:
    where = f"{path}:{line}"
    return f"routerctl: error: {where}: {field}: " if field else f"routerctl: error: {where}: "


@pytest.mark.parametrize(
    ("case", "text", "line", "field", "fragment"), BAD, ids=[b[0] for b in BAD]
)
def test_bad_topology_through_cli(
    case: str,
    text: str,
    line: int,
    field: str,
    fragment: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / f"{case}.yaml"
    path.write_text(text)
    assert main(["render", "router", "-t", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith(_expected_prefix(path, line, field)), captured.err
    assert fragment in captured.err
    assert "Traceback" not in captured.err
    assert "hunter2" not in captured.err


def test_there_are_at_least_25_distinct_bad_inputs() -> None:
    assert len({b[1] for b in BAD if b[3]}) >= 25  # each with a field path
    assert len({b[0] for b in BAD}) == len(BAD)


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("missing", None, "topology file not found (pass one with -t FILE"),
        ("empty", "", "the topology file is empty"),
        ("only-comment", "# nothing here\n", "the topology file is empty"),
        ("dir", "DIR", "is a directory"),
        ("binary", b"\xff\xfe\x00", "not UTF-8 text"),
        ("scalar", "just a string\n", "expected a mapping"),
    ],
)
def test_unreadable_files(
    name: str,
    make: str | bytes | None,
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / f"{name}.yaml"
    if make == "DIR":
        path.mkdir()
    elif isinstance(make, bytes):
        path.write_bytes(make)
    elif make is not None:
        path.write_text(make)
    assert main(["render", "router", "-t", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"routerctl: error: {path}")
    assert message in err and err.count("\n") == 1


def test_error_is_one_line_from_a_real_process(tmp_path: Path) -> None:
    bad = tmp_path / "routerctl.yaml"
    bad.write_text(seed(("192.168.1.6}", "192.168.1.500}")))
    proc = subprocess.run(
        [sys.executable, "-m", "routerctl", "render", "router"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == (
        "routerctl: error: routerctl.yaml:10: cluster.nodes[1].address: '192.168.1.500' is not"
        " an IP address (use an IPv4 or IPv6 address)\n"
    )


def test_topology_error_api() -> None:
    topo = load_topology(ROOT / "examples" / "seed.yaml")
    err = topo.error("cluster.nodes[1].address", "unreachable", hint="check cabling")
    assert isinstance(err, TopologyError)
    assert re.fullmatch(
        r".*seed\.yaml:10: cluster\.nodes\[1\]\.address: unreachable \(check cabling\)",
        err.one_line(),
    )
    # a field that is not in the file falls back to the closest enclosing one
    assert ":2: routers[0].lan: x" in topo.error("routers[0].lan", "x").one_line()
    assert ":9: cluster.nodes[7].name: x" in topo.error("cluster.nodes[7].name", "x").one_line()
    assert topo.ibgp_with(topo.routers[0]) is False


def test_verify_probe_from(tmp_path: Path) -> None:
    assert load_topology(ROOT / "examples" / "seed.yaml").probe_from == "local"
    f = tmp_path / "routerctl.yaml"
    f.write_text((ROOT / "examples" / "seed.yaml").read_text() + "verify:\n  probe_from: router\n")
    assert load_topology(f).probe_from == "router"
