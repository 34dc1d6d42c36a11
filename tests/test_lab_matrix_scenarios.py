"""The main scenarios of the release matrix (issue 13 item 5) on each release's real suite.

One lab per release for the whole module (``lab up --openwrt R``, provisioned once from a
router without a suite): render vs the suite's own ``show running-config``, removing a
node, a rejected line rolling back byte-identically (a parser error, and a daemon-side
error that Quagga 1.2.4's vtysh exits 0 on), the suite's init-script restart, and verify
healthy/degraded/critical. The tests of this module run in file order and each leaves the
router as it found it (provisioned, both sessions Established). Needs the build cache
(``scripts/setup``); skipped with the reason when it is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from routerctl.cluster import from_topology
from routerctl.errors import RolledBackError
from routerctl.lab import Lab
from routerctl.lab.spec import OPENWRT
from routerctl.ops import provision as provision_mod
from routerctl.ops.provision import provision
from routerctl.ops.verify import run_verify
from routerctl.platform.suites import PROFILES
from routerctl.render.router import render_router
from routerctl.runningconfig import extract_owned
from routerctl.topology import load_topology
from routerctl.transport import connect
from tests.release_lab import cli, poll, release_lab

pytestmark = pytest.mark.lab

NODES = {"198.51.100.5", "198.51.100.6"}
NODE2 = "198.51.100.6"


def _running(lab: Lab) -> str:
    return lab.vtysh("show running-config")


def _persisted(lab: Lab) -> dict[str, str]:
    """The suite's persisted config files, byte for byte (as text), with their mode/owner."""
    out: dict[str, str] = {}
    for f in PROFILES[lab.spec.suite].persisted_files:
        out[f] = lab.router_sh(f"cat {f}; ls -ln {f}").stdout
    return out


def _established(lab: Lab) -> set[str]:
    return {a for a, s in lab.sessions().items() if s == "Established"}


def _blocks(text: str) -> list[list[str]]:
    """Top-level blocks of a running config: a non-indented line and its indented body.

    ``!`` separators, the preamble and ``end`` are dropped; the body is kept verbatim.
    """
    blocks: list[list[str]] = []
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line or line.strip() == "!" or line == "end":
            continue
        if line[0] in " \t":
            if blocks:
                blocks[-1].append(line)
            continue
        if line == "exit":  # FRR 10 closes each block with a non-indented exit
            if blocks:
                blocks[-1].append(line)
            continue
        blocks.append([line])
    return blocks


def _without_empty_families(block: list[str]) -> list[str]:
    """Drop address-family sub-blocks with nothing in them (Quagga 1.2.4 prints an empty
    ``address-family ipv6`` / ``exit-address-family``, then `` exit``, after ``router bgp``).
    """
    out: list[str] = []
    i = 0
    while i < len(block):
        if (
            block[i].strip().startswith("address-family ")
            and i + 1 < len(block)
            and block[i + 1].strip() == "exit-address-family"
        ):
            i += 2
            if i < len(block) and block[i] == " exit":  # Quagga's close of that empty block
                i += 1
            continue
        out.append(block[i])
        i += 1
    return out


@pytest.fixture(scope="module", params=list(OPENWRT))
def lab(request: pytest.FixtureRequest) -> Iterator[Lab]:
    """A release router provisioned once from no suite; both sessions Established."""
    yield from release_lab(request.param, "s", provision=True)


# ---------------------------------------------------------------------------
# 1. render == the suite's own show running-config, for the owned part
# ---------------------------------------------------------------------------


def test_render_equals_the_suites_running_config(lab: Lab) -> None:
    cfg = render_router(lab.topology(), None, suite=lab.spec.suite, redact=False)
    running = _running(lab)
    rendered = _blocks(cfg.text())
    printed = [_without_empty_families(b) for b in _blocks(running)]
    # every rendered top-level block is printed back exactly (in any block order: FRR 10
    # prints prefix-lists and route-maps before router bgp, FRR 8.4 after)
    for block in rendered:
        assert block in printed, (block, running)
    # within each kind, the same order (prefix-list entries, route-map sequence)
    for kind in ("ip prefix-list ROUTERCTL", "ipv6 prefix-list ROUTERCTL", "route-map ROUTERCTL"):
        mine = [b for b in rendered if b[0].startswith(kind)]
        theirs = [b for b in printed if b[0].startswith(kind)]
        assert mine == theirs, (kind, running)
    # and nothing owned is printed that routerctl did not render
    asn = lab.topology().routers[0].asn
    assert extract_owned(running, asn=asn) == extract_owned(cfg.text(), asn=asn)
    # the plan agrees: nothing to do
    plan = cli(lab.topology_file, "plan")
    assert plan.returncode == 0 and plan.stdout.strip().endswith("no changes"), plan.stdout


# ---------------------------------------------------------------------------
# 2. removing a node removes exactly its neighbor
# ---------------------------------------------------------------------------


def _smaller_topology(lab: Lab, tmp_path: Path) -> Path:
    text = lab.topology_file.read_text()
    smaller = tmp_path / "smaller.yaml"
    smaller.write_text(text.replace(f"  - name: node2\n    address: {NODE2}\n", ""))
    assert NODE2 not in smaller.read_text(), "the lab topology's node list changed shape"
    return smaller


def test_removing_a_node_removes_exactly_its_neighbor(lab: Lab, tmp_path: Path) -> None:
    before = _running(lab)
    smaller = _smaller_topology(lab, tmp_path)
    plan = cli(smaller, "plan")
    assert f"- neighbor {NODE2}" in plan.stdout and "1 to remove" in plan.stdout, plan.stdout
    res = cli(smaller, "provision", "--yes")
    assert res.returncode == 0, res.stdout + res.stderr
    after = _running(lab)
    removed = [ln for ln in before.splitlines() if ln not in after.splitlines()]
    assert sorted(removed) == sorted(
        [f" neighbor {NODE2} peer-group ROUTERCTL", f" neighbor {NODE2} description node2"]
    ), (before, after)
    assert [ln for ln in after.splitlines() if ln not in before.splitlines()] == []
    poll(lambda: set(lab.sessions()) == NODES - {NODE2}, timeout=20, what="node2 gone")
    assert cli(smaller, "plan").stdout.strip().endswith("no changes")
    # and back
    res = cli(lab.topology_file, "provision", "--yes", "--confirm-timeout", "60")
    assert res.returncode == 0, res.stdout + res.stderr
    assert _running(lab) == before
    assert _established(lab) == NODES


# ---------------------------------------------------------------------------
# 3. a line the router rejects rolls back byte-identically
# ---------------------------------------------------------------------------

BAD_LINES = {
    # vtysh's parser rejects it: Quagga exits 1 and skips the rest
    "parser": "neighbor ROUTERCTL frobnicate 7",
    # the daemon rejects it: Quagga 1.2.4's vtysh prints
    # "% Specify remote-as or peer-group commands first" and exits 0
    "daemon": "neighbor 198.51.100.99 description nobody",
}


@pytest.mark.parametrize("kind", list(BAD_LINES))
def test_a_rejected_line_rolls_back_byte_identically(
    lab: Lab, kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = BAD_LINES[kind]
    # a real change to apply that keeps the sessions up: node2 renamed (its description)
    renamed = tmp_path / "renamed.yaml"
    renamed.write_text(lab.topology_file.read_text().replace("- name: node2\n", "- name: n2\n"))
    topo = load_topology(renamed)
    assert [n.name for n in topo.cluster.nodes] == ["node1", "n2"]
    before, before_files = _running(lab), _persisted(lab)
    real_apply = provision_mod.apply_and_read
    injected: list[str] = []

    def apply_with_bad_line(
        transport: object, lines: tuple[str, ...] | list[str], *, read_back: bool = True
    ) -> tuple[list[str], str | None]:
        lines = list(lines)
        if not injected:  # the apply, not the rollback
            at = next(i for i, ln in enumerate(lines) if ln.startswith("router bgp ")) + 1
            lines.insert(at, bad)
            injected.append(bad)
        return real_apply(transport, lines, read_back=read_back)  # type: ignore[arg-type]

    monkeypatch.setattr(provision_mod, "apply_and_read", apply_with_bad_line)
    with connect(topo.routers[0].ssh) as t, pytest.raises(RolledBackError) as exc:
        provision(t, topo, topo.routers[0])
    assert injected, "the fault was not injected"
    msg = exc.value.one_line()
    assert "previous config was restored" in msg and bad.split()[1] in msg, msg
    if kind == "daemon" and lab.spec.suite == "quagga":  # vtysh exited 0: caught by its output
        assert "Specify remote-as or peer-group commands first" in msg, msg
    assert exc.value.exit_code == 5  # docs/exit-codes.md: apply failed, restored
    assert _running(lab) == before
    assert _persisted(lab) == before_files
    lab.wait_established(timeout=30)
    monkeypatch.undo()
    assert cli(lab.topology_file, "plan").stdout.strip().endswith("no changes")


# ---------------------------------------------------------------------------
# 4. the config survives the suite's own init-script restart
# ---------------------------------------------------------------------------


def test_config_survives_the_init_script_restart(lab: Lab) -> None:
    suite = PROFILES[lab.spec.suite]
    before = _running(lab)
    # output to a file: the daemons it starts (watchfrr) would hold a pipe open
    res = lab.router_sh(
        f"{suite.init_script} restart >/tmp/restart.log 2>&1; rc=$?; cat /tmp/restart.log; "
        "exit $rc",
        timeout=90,
        check=False,
    )
    assert res.returncode == 0, res.stdout + res.stderr

    def back() -> bool:
        return "ROUTERCTL" in lab.vtysh("show running-config", check=False)

    poll(back, timeout=60, what=f"{suite.name} back after {suite.init_script} restart")
    assert _running(lab) == before
    lab.wait_established(timeout=60)
    assert _established(lab) == NODES
    assert cli(lab.topology_file, "plan").stdout.strip().endswith("no changes")


# ---------------------------------------------------------------------------
# 5. verify healthy / degraded / critical
# ---------------------------------------------------------------------------


def _nagios(lab: Lab) -> tuple[int, str]:
    res = cli(lab.topology_file, "verify", "--nagios")
    return res.returncode, (res.stdout.splitlines() or [""])[0]


def test_verify_healthy_degraded_critical(lab: Lab) -> None:
    rc, line = _nagios(lab)
    assert rc == 0 and line.startswith("ROUTERCTL OK"), line
    try:
        lab.stop_speaker("node2")
        poll(lambda: _nagios(lab)[0] == 1, timeout=30, what="verify to report degraded")
        rc, line = _nagios(lab)
        assert line.startswith("ROUTERCTL WARNING") and "session node2" in line, line
        plain = cli(lab.topology_file, "verify")
        assert plain.returncode == 1  # docs/verify.md: a warning is 1 without --nagios too
        lab.stop_speaker("node1")
        poll(lambda: _nagios(lab)[0] == 2, timeout=30, what="verify to report critical")
        rc, line = _nagios(lab)
        assert line.startswith("ROUTERCTL CRITICAL") and "session node1" in line, line
        assert cli(lab.topology_file, "verify").returncode == 1
    finally:
        lab.start_speaker("node1")
        lab.start_speaker("node2")
    lab.wait_established(timeout=60)
    poll(lambda: _nagios(lab)[0] == 0, timeout=30, what="verify healthy again")


# ---------------------------------------------------------------------------
# 6. Quagga without integrated config: `write file` makes each daemon save its own file
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("lab", ["21.02"], indirect=True)
def test_quagga_write_file_saves_each_daemons_conf(lab: Lab) -> None:
    before = lab.router_sh("cat /etc/quagga/bgpd.conf").stdout
    res = lab.router_sh("vtysh -c 'write file'; echo rc=$?")
    assert res.stdout.splitlines() == [
        "Building Configuration...",
        "Configuration saved to /etc/quagga/zebra.conf",
        "Configuration saved to /etc/quagga/bgpd.conf",
        "[OK]",  # as Quagga's vtysh says it (FRR's non-integrated save does not)
        "rc=0",
    ], res.stdout + res.stderr
    after = lab.router_sh("cat /etc/quagga/bgpd.conf; ls /etc/quagga").stdout
    assert "router bgp 65000" in after and after.startswith(before.split("\n", 1)[0])
    assert "bgpd.conf.sav" in after.split()  # the daemon keeps the previous file


# ---------------------------------------------------------------------------
# 7. Quagga is read as text (TextFSM) in one exec (moved from test_verify_lab.py, whose
#    Quagga was FRR in Quagga's files)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("lab", ["21.02"], indirect=True)
def test_quagga_verify_reads_text_in_one_exec(lab: Lab) -> None:
    t = load_topology(lab.topology_file)
    tr = connect(t.routers[0].ssh)
    results, targets = run_verify(
        t, router_name=None, cluster=from_topology(t), connector=lambda r: tr
    )
    assert targets[0].state is not None and targets[0].state.suite == "quagga"
    # text: routes from zebra, every node's paths from the BGP table (same vtysh)
    paths = targets[0].state.pool_paths
    assert paths is not None and {str(p.peer) for p in paths} == NODES
    assert [r.name for r in results if not r.ok] == []
    assert tr.exec_count == 1


@pytest.mark.parametrize("lab", ["21.02"], indirect=True)
def test_quagga_maximum_paths_1_is_no_ecmp_not_foreign_prefixes(lab: Lab) -> None:
    """The seed's Quagga has no maximum-paths (default 1): zebra gets node1's path only.
    node2's prefixes are inside the pool (Quagga's BGP table says so): not "foreign
    prefixes" (CRITICAL, before), but a missing-ECMP warning on each service's route."""
    running = _running(lab)
    mp = next(ln.strip() for ln in running.splitlines() if ln.strip().startswith("maximum-paths"))
    t = load_topology(lab.topology_file)

    def results() -> dict[str, tuple[str, str]]:
        tr = connect(t.routers[0].ssh)
        try:
            res, _ = run_verify(
                t, router_name=None, cluster=from_topology(t), connector=lambda r: tr
            )
        finally:
            tr.close()
        return {r.name: (r.severity.value, r.observed) for r in res if not r.ok}

    try:
        lab.vtysh("configure terminal", "router bgp 65000", f"no {mp}", "end", "clear ip bgp *")
        lab.wait_established(timeout=60)
        route = "route default/nginx-lb 203.0.113.30"
        poll(
            lambda: "only the best path" in results().get(route, ("", ""))[1],
            timeout=30,
            what="verify to see one path per route",
        )
        found = results()
        assert not [n for n in found if n.startswith("foreign prefixes")], found
        assert found[route][0] == "warning", found
        assert found[route][1] == (
            "203.0.113.30/32 via node1 (198.51.100.5); node2 (198.51.100.6) announces it "
            "too, but the router uses only the best path"
        ) or found[route][1] == (
            "203.0.113.30/32 via node2 (198.51.100.6); node1 (198.51.100.5) announces it "
            "too, but the router uses only the best path"
        ), found
    finally:
        lab.vtysh("configure terminal", "router bgp 65000", mp, "end", "clear ip bgp *")
    lab.wait_established(timeout=60)
    poll(lambda: _nagios(lab)[0] == 0, timeout=30, what="verify healthy again")
