"""Pre-flight checks on recorded outputs (fixtures/preflight/): every check, its status,
its hint, and its presence in the JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import routerctl.commands.preflight as cmd
from routerctl.cli import app
from routerctl.errors import ParseError
from routerctl.ops.preflight import (
    PreflightBlocked,
    check_installed_multipath,
    judge,
    refuse_if_blocked,
    run_preflight,
)
from routerctl.platform import openwrt
from routerctl.platform.preflight import SECTION, preflight_lines
from routerctl.preflight import BLOCKING, OK, WARNING, evaluate, parse_preflight
from routerctl.preflight.parse import parse_maxpaths, parse_md5, parse_uci_show
from routerctl.topology import Topology, load_topology
from routerctl.transport.fake import FakeTransport

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "preflight"
NODES = ("198.51.100.5", "198.51.100.6")


def fixture(name: str) -> str:
    return (FIX / name).read_text(encoding="utf-8")


def topo(tmp_path: Path, *, password: bool = False, ecmp: int = 8, extra: str = "") -> Topology:
    pw = "  password: {env: PF_TEST_PW}\n" if password else ""
    text = f"""routers:
  - name: gw
    ssh: {{host: 198.51.100.2, user: root}}
    asn: 64500
cluster:
  asn: 64501
  nodes:
    - {{name: n1, address: {NODES[0]}}}
    - {{name: n2, address: {NODES[1]}}}
  pools:
    - name: default
      addresses: [203.0.113.0/28]
bgp:
  ecmp: {ecmp}
{pw}{extra}"""
    p = tmp_path / "routerctl.yaml"
    p.write_text(text, encoding="utf-8")
    return load_topology(p)


def output(
    *,
    firewall: str = "uci_show_firewall_wan_reject.txt",
    maxpaths: str = "maxpaths_quagga_openwrt_multipath8.txt",
    md5: str | None = None,
    sysctl: str = "hash4 1\nhash6 0\nfwd4 1\nfwd6 0\n",
    ssh: str = "dropbear\n/usr/sbin/dropbear\n",
) -> str:
    parts = [
        f"{SECTION}ssh\n{ssh}",
        f"{SECTION}firewall\n{fixture(firewall) if firewall else ''}",
        f"{SECTION}network\n{fixture('uci_show_network_wan_eth1.txt')}",
        f"{SECTION}fwinit\n/etc/init.d/firewall\n",
    ]
    for a in NODES:
        parts.append(f"{SECTION}route {a}\n{a} dev eth1 src 198.51.100.2 uid 0 \n")
    parts.append(f"{SECTION}sysctl\n{sysctl}")
    parts.append(f"{SECTION}maxpaths\n{fixture(maxpaths)}")
    if md5 is not None:
        parts.append(f"{SECTION}md5\n{fixture(md5)}")
    return "".join(p if p.endswith("\n") else p + "\n" for p in parts)


def checks(report: object, name: str) -> list[tuple[str, str, str, str]]:
    return [
        (c.status, c.subject, c.message, c.hint)
        for c in report.checks  # type: ignore[attr-defined]
        if c.name == name
    ]


def run(t: Topology, text: str, *, manage: bool = False, todo: tuple[str, ...] = ()) -> object:
    return evaluate(
        parse_preflight(text),
        topology=t,
        router=t.routers[0],
        suite="quagga",
        todo=todo,
        installed=frozenset(),
        overlay_free_kb=2000,
        manage_firewall=manage,
    )


# -- parsers ---------------------------------------------------------------------------


def test_uci_show_parses_lists_and_anonymous_sections() -> None:
    fw = parse_uci_show(fixture("uci_show_firewall_wan_reject.txt"), config="firewall")
    zones = [s for s in fw if s.type == "zone"]
    assert [z.get("name") for z in zones] == ["lan", "wan"]
    assert zones[1].items("network") == ("wan", "wan6")
    assert zones[1].get("input") == "REJECT"
    assert zones[0].id == "@zone[0]"


def test_uci_show_fails_loudly_on_a_foreign_line() -> None:
    with pytest.raises(ParseError, match="line 2 not understood"):
        parse_uci_show("firewall.@zone[0]=zone\nthis is not uci\n", config="firewall")


def test_maxpaths_from_the_bgpd_binaries() -> None:
    assert parse_maxpaths(fixture("maxpaths_quagga_openwrt_multipath8.txt")) == (
        "/usr/sbin/bgpd",
        8,
    )
    assert parse_maxpaths(fixture("maxpaths_frr_debian.txt")) == ("/usr/lib/frr/bgpd", 256)
    assert parse_maxpaths("") == (None, None)
    assert parse_maxpaths("/usr/sbin/bgpd \n") == ("/usr/sbin/bgpd", None)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("md5_config_gz_y.txt", (True, "/proc/config.gz")),
        ("md5_config_not_set.txt", (False, "/proc/config.gz")),
        ("md5_kallsyms_missing_symbol.txt", (False, "tcp_md5_do_add in /proc/kallsyms")),
        ("md5_unreadable.txt", (None, "neither /proc/config.gz nor /proc/kallsyms is readable")),
    ],
)
def test_md5_signal(name: str, expected: tuple[bool | None, str]) -> None:
    assert parse_md5(fixture(name)) == expected


# -- the checks ------------------------------------------------------------------------


def test_reject_zone_blocks_naming_the_zone_and_the_rule(tmp_path: Path) -> None:
    rep = run(topo(tmp_path), output())
    fw = checks(rep, "firewall")
    assert [(s, n) for s, n, _, _ in fw] == [(BLOCKING, "n1"), (BLOCKING, "n2")]
    _status, _, message, hint = fw[0]
    assert "zone 'wan' (input REJECT)" in message and "via eth1" in message
    assert "routerctl-bgp" in message and "--open-firewall" in hint
    assert "uci set firewall.@rule[-1].src=wan" in hint
    assert "src_ip=198.51.100.5; uci add_list firewall.@rule[-1].src_ip=198.51.100.6" in hint
    with pytest.raises(PreflightBlocked, match=r"firewall: n1: .*zone 'wan'") as exc:
        refuse_if_blocked(rep, "gw")  # type: ignore[arg-type]
    assert exc.value.exit_code == 4


def test_a_users_own_rule_opens_the_zone(tmp_path: Path) -> None:
    rep = run(topo(tmp_path), output(firewall="uci_show_firewall_user_rule.txt"))
    fw = checks(rep, "firewall")
    assert all(s == OK for s, *_ in fw)
    assert "accepted by rule 'Allow-BGP'" in fw[0][2]
    # managing the firewall then adds nothing: the user's rule already lets them in
    managed = run(topo(tmp_path), output(firewall="uci_show_firewall_user_rule.txt"), manage=True)
    assert managed.firewall.empty  # type: ignore[attr-defined]


def test_managed_firewall_plans_one_rule_for_the_zone(tmp_path: Path) -> None:
    rep = run(topo(tmp_path), output(), manage=True)
    assert all(s == OK for s, *_ in checks(rep, "firewall"))
    plan = rep.firewall  # type: ignore[attr-defined]
    assert [(c.action, c.section) for c in plan.changes] == [("add", "routerctl_bgp_wan")]
    assert plan.changes[0].rule.src_ip == NODES
    script = plan.script()
    assert "uci set firewall.routerctl_bgp_wan.dest_port=179" in script
    assert "uci add_list firewall.routerctl_bgp_wan.src_ip=198.51.100.6" in script
    assert script.rstrip().endswith("/etc/init.d/firewall reload; fi")


def _with_owned(addrs: tuple[str, ...]) -> str:
    lines = [
        "firewall.routerctl_bgp_wan=rule",
        "firewall.routerctl_bgp_wan.name='routerctl-bgp'",
        "firewall.routerctl_bgp_wan.src='wan'",
        "firewall.routerctl_bgp_wan.proto='tcp'",
        "firewall.routerctl_bgp_wan.dest_port='179'",
        "firewall.routerctl_bgp_wan.target='ACCEPT'",
        "firewall.routerctl_bgp_wan.src_ip=" + " ".join(f"'{a}'" for a in addrs),
    ]
    return fixture("uci_show_firewall_wan_reject.txt") + "\n".join(lines) + "\n"


def test_owned_rule_in_sync_changes_nothing_and_shrinks_with_the_nodes(tmp_path: Path) -> None:
    (FIX / "..").resolve()
    text = output().replace(fixture("uci_show_firewall_wan_reject.txt"), _with_owned(NODES))
    rep = run(topo(tmp_path), text, manage=True)
    assert rep.firewall.empty  # type: ignore[attr-defined]
    assert "accepted by routerctl's rule" in checks(rep, "firewall")[0][2]
    # a third address in our rule (a node that left): changed back to the node set
    stale = output().replace(
        fixture("uci_show_firewall_wan_reject.txt"), _with_owned((*NODES, "198.51.100.7"))
    )
    rep2 = run(topo(tmp_path), stale, manage=True)
    assert [c.action for c in rep2.firewall.changes] == ["change"]  # type: ignore[attr-defined]


def test_owned_rule_removed_when_no_zone_needs_it(tmp_path: Path) -> None:
    text = output(firewall="uci_show_firewall_user_rule.txt")
    text = text.replace(
        fixture("uci_show_firewall_user_rule.txt"),
        fixture("uci_show_firewall_user_rule.txt")
        + _with_owned(NODES).replace(fixture("uci_show_firewall_wan_reject.txt"), ""),
    )
    rep = run(topo(tmp_path), text, manage=True)
    changes = rep.firewall.changes  # type: ignore[attr-defined]
    assert [(c.action, c.section) for c in changes] == [("remove", "routerctl_bgp_wan")]
    assert "uci -q delete firewall.routerctl_bgp_wan || true" in rep.firewall.script()  # type: ignore[attr-defined]
    assert "Allow-BGP" not in rep.firewall.script()  # type: ignore[attr-defined]


def test_no_firewall_config_is_ok(tmp_path: Path) -> None:
    rep = run(topo(tmp_path), output(firewall=""))
    assert checks(rep, "firewall")[0][0] == OK


def test_password_on_a_kernel_without_md5_blocks(tmp_path: Path) -> None:
    t = topo(tmp_path, password=True)
    rep = run(t, output(md5="md5_kallsyms_missing_symbol.txt", firewall=""))
    ((status, _, message, hint),) = checks(rep, "tcp-md5")
    assert status == BLOCKING and "CONFIG_TCP_MD5SIG" in message
    assert "tcp_md5_do_add in /proc/kallsyms" in message
    assert "remove bgp.password" in hint and "routerctl.yaml:15: bgp.password" in hint
    ok = run(t, output(md5="md5_config_gz_y.txt", firewall=""))
    assert checks(ok, "tcp-md5")[0][0] == OK
    unknown = run(t, output(md5="md5_unreadable.txt", firewall=""))
    assert checks(unknown, "tcp-md5")[0][0] == WARNING
    # no password: no check
    assert checks(run(topo(tmp_path), output(firewall="")), "tcp-md5") == []


def test_ecmp_above_the_suites_compiled_limit_blocks(tmp_path: Path) -> None:
    one = output(firewall="").replace("maximum-paths <1-8>", "maximum-paths <1-1>")
    rep = run(topo(tmp_path, ecmp=8), one)
    ((status, _, message, hint),) = checks(rep, "suite-multipath")
    assert status == BLOCKING
    assert "at most 1 path(s)" in message and "bgp.ecmp is 8" in message
    assert "set bgp.ecmp: 1" in hint and "--enable-multipath=8" in hint
    assert checks(run(topo(tmp_path, ecmp=8), output(firewall="")), "suite-multipath")[0][0] == OK
    assert checks(run(topo(tmp_path, ecmp=1), one), "suite-multipath")[0][0] == OK


def test_kernel_multipath_hash_and_forwarding(tmp_path: Path) -> None:
    t = topo(tmp_path)
    no_mp = run(t, output(firewall="", sysctl="hash4 none\nhash6 none\nfwd4 0\nfwd6 0\n"))
    assert checks(no_mp, "kernel-multipath")[0][0] == BLOCKING
    assert checks(no_mp, "forwarding-ipv4")[0][0] == WARNING
    assert "sysctl -w net.ipv4.ip_forward=1" in checks(no_mp, "forwarding-ipv4")[0][3]
    assert checks(no_mp, "forwarding-ipv6") == []  # no IPv6 pool
    l3 = run(t, output(firewall="", sysctl="hash4 0\nhash6 0\nfwd4 1\nfwd6 0\n"))
    assert checks(l3, "ecmp-hash")[0][0] == WARNING
    assert checks(l3, "forwarding-ipv4")[0][0] == OK
    l4 = run(t, output(firewall=""))
    assert checks(l4, "ecmp-hash")[0][0] == OK
    assert (
        checks(
            run(topo(tmp_path, ecmp=1), output(firewall="", sysctl="hash4 none\n")),
            "kernel-multipath",
        )[0][0]
        == OK
    )


def test_overlay_space_from_the_feed_sizes(tmp_path: Path) -> None:
    t = topo(tmp_path)
    todo = ("quagga", "quagga-zebra", "quagga-bgpd", "quagga-vtysh")
    feed = (
        f"{SECTION}feed quagga\nquagga 3000 10240\nquagga-libzebra 200000 420000\n"
        "quagga-zebra 90000 190000\nquagga-bgpd 170000 340000\nquagga-vtysh 70000 140000\n"
    )
    rep = run(t, output(firewall="") + feed, todo=todo)
    ((status, _, message, _),) = checks(rep, "overlay")
    assert status == OK and "need about 1075 KB" in message and "Size" in message
    big = feed.replace("quagga-bgpd 170000 340000", "quagga-bgpd 1700000 3400000")
    ((status, _, message, hint),) = checks(run(t, output(firewall="") + big, todo=todo), "overlay")
    assert status == BLOCKING and "2000 KB free" in message and "extroot" in hint
    ((status, _, message, _),) = checks(run(t, output(firewall=""), todo=todo), "overlay")
    assert "estimated" in message


def test_ssh_kind_is_reported(tmp_path: Path) -> None:
    rep = run(topo(tmp_path), output(firewall=""))
    ((status, _, message, _),) = checks(rep, "ssh")
    assert status == OK and "Dropbear" in message and "no SFTP" in message
    rep2 = run(topo(tmp_path), output(firewall="", ssh="sshd\n/usr/sbin/sshd\n"))
    assert "OpenSSH" in checks(rep2, "ssh")[0][2]


def test_every_check_is_in_the_json(tmp_path: Path) -> None:
    t = topo(tmp_path, password=True)
    rep = run(t, output(md5="md5_config_gz_y.txt"), todo=("quagga",))
    doc = json.loads(json.dumps(rep.to_json()))  # type: ignore[attr-defined]
    names = {c["check"] for c in doc["checks"]}
    assert names == {
        "firewall",
        "tcp-md5",
        "kernel-multipath",
        "ecmp-hash",
        "suite-multipath",
        "forwarding-ipv4",
        "overlay",
        "ssh",
    }
    assert doc["ok"] is False and all(c["hint"] for c in doc["checks"] if c["status"] != "ok")


# -- the script and the one exec -------------------------------------------------------


def test_script_asks_md5_only_with_a_password_and_is_posix() -> None:
    lines = preflight_lines(nodes=list(NODES), password=False, suites=[("quagga", ["quagga"])])
    assert not any("kallsyms" in ln for ln in lines)
    with_pw = preflight_lines(
        nodes=list(NODES), password=True, suites=[], kallsyms="/tmp/k", kernel_config="/x"
    )
    assert any("grep -q -w tcp_md5_do_add /tmp/k" in ln for ln in with_pw)
    assert sum("ip route get" in ln for ln in with_pw) == 2


DETECT = (
    "@@routerctl@@release\nDISTRIB_RELEASE='21.02.7'\nDISTRIB_DESCRIPTION='OpenWrt 21.02.7'\n"
    "@@routerctl@@pm\nopkg\nquagga - 1.2.4-5\nquagga-zebra - 1.2.4-5\nquagga-bgpd - 1.2.4-5\n"
    "quagga-vtysh - 1.2.4-5\n@@routerctl@@overlay\nFilesystem 1K-blocks Used Available Use% "
    "Mounted on\noverlay 8000 1000 7000 13% /overlay\n@@routerctl@@files\n/usr/bin/vtysh\n"
    "/etc/init.d/quagga\n"
)


def test_preflight_is_one_exec_and_the_cli_exits_1_when_blocked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = topo(tmp_path)
    fake = FakeTransport(respond=lambda _c, _s: DETECT + output())
    rep = run_preflight(fake, t, t.routers[0])
    assert fake.exec_count == 1
    assert rep.blocking and rep.blocking[0].name == "firewall"
    facts = openwrt.parse_facts(DETECT, host="x")
    assert judge(output(), facts, topology=t, router=t.routers[0], manage_firewall=True).firewall

    class _Conn:
        def __init__(self, *_a: object, **_k: object) -> None: ...

        def __enter__(self) -> FakeTransport:
            return FakeTransport(respond=lambda _c, _s: DETECT + output())

        def __exit__(self, *_a: object) -> None: ...

    monkeypatch.setattr(cmd, "connect", _Conn)
    res = CliRunner().invoke(app, ["preflight", "-t", str(t.source), "-o", "json"])
    assert res.exit_code == 1, res.output
    doc = json.loads(res.stdout)
    assert doc[0]["checks"][0]["status"] == "blocking"
    ok = CliRunner().invoke(
        app, ["preflight", "-t", str(t.source), "--open-firewall"], catch_exceptions=False
    )
    assert ok.exit_code == 0, ok.output
    assert "+ rule routerctl-bgp (firewall.routerctl_bgp_wan)" in ok.stdout


def test_after_an_install_the_new_bgpds_limit_is_checked(tmp_path: Path) -> None:
    t = topo(tmp_path, ecmp=8)
    one = FakeTransport(
        respond=lambda _c, _s: f"{SECTION}maxpaths\n/usr/sbin/bgpd maximum-paths <1-1>\n"
    )
    late = check_installed_multipath(one, t, t.routers[0])
    assert one.exec_count == 1
    assert late is not None and [c.name for c in late.checks] == ["suite-multipath"]
    with pytest.raises(PreflightBlocked, match="the suite was installed, nothing configured"):
        refuse_if_blocked(late, "gw", installed=True)
    eight = FakeTransport(
        respond=lambda _c, _s: f"{SECTION}maxpaths\n/usr/sbin/bgpd maximum-paths <1-8>\n"
    )
    assert check_installed_multipath(eight, t, t.routers[0]) is None


def test_unreadable_uci_output_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    text = output().replace("firewall.@zone[0]=zone\n", "firewall.@zone[0]=zone\ngarbage line\n")
    rep = run(topo(tmp_path), text, manage=True)
    ((status, _, message, hint),) = checks(rep, "firewall")
    assert status == WARNING and "line 7 not understood" in message and "uci show" in hint
    assert rep.firewall.empty  # type: ignore[attr-defined]
