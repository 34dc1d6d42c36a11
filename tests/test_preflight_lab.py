"""Pre-flight on a real release router (lab, one module-scoped OpenWrt 21.02 router whose
Quagga is the quagga-mp1 build: ``--enable-multipath=1``, upstream's default; the lab's
BGP password on both sides).

- ``bgp.ecmp: 8`` is blocked before anything changes, with the number the router's bgpd
  supports (read from the bgpd binary), and that bgpd really refuses ``maximum-paths 8``;
- a password on a kernel without TCP_MD5SIG (the test feeds the signal: the router reads a
  kallsyms file without ``tcp_md5_do_add``) is blocked before apply; with the symbol, the
  same provision applies and the sessions come up with the password.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from routerctl.errors import LabError, RouterctlError
from routerctl.lab import Lab, LabSpec, check_environment, down, up
from routerctl.lab import feed as lab_feed
from routerctl.ops.preflight import TEST_KALLSYMS_ENV

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def mp1_lab() -> Iterator[Lab]:
    try:
        check_environment()
        lab_feed.tool_roots()
        lab_feed.tree("quagga-mp1")
    except (LabError, RouterctlError) as exc:
        pytest.skip(f"lab unavailable: {exc.one_line()}")
    name = f"t{os.getpid()}mp1"
    try:
        lab = up(LabSpec(name=name, openwrt="21.02", quagga_multipath=1, password=True))
    except LabError:
        down(name)
        raise
    try:
        yield lab
    finally:
        down(name)


def cli(
    topology: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "routerctl", *args, "-t", str(topology)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **(env or {})},
    )


def _running(lab: Lab) -> str:
    return lab.vtysh("show running-config")


def test_ecmp_8_on_a_quagga_built_with_multipath_1_is_blocked(mp1_lab: Lab) -> None:
    lab = mp1_lab
    before = _running(lab)
    res = cli(lab.topology_file, "preflight", "-o", "json")
    assert res.returncode == 1, res.stderr
    checks = {c["check"]: c for c in json.loads(res.stdout)[0]["checks"]}
    mp = checks["suite-multipath"]
    assert mp["status"] == "blocking"
    assert "bgp.ecmp is 8 but /usr/sbin/bgpd was built with at most 1 path(s)" in mp["message"]
    assert "set bgp.ecmp: 1" in mp["hint"]
    assert checks["tcp-md5"]["status"] == "ok"  # this kernel has it
    res = cli(lab.topology_file, "provision", "--yes")
    assert res.returncode == 4, res.stdout + res.stderr
    assert "suite-multipath" in res.stderr and "at most 1 path(s)" in res.stderr
    assert "nothing was changed" in res.stderr
    assert _running(lab) == before
    # the number is the bgpd's own: it refuses a second path, accepts one
    bgp = "vtysh -c 'configure terminal' -c 'router bgp 64999'"
    eight = lab.router_sh(f"{bgp} -c 'maximum-paths 8'", check=False)
    one = lab.router_sh(f"{bgp} -c 'maximum-paths 1'", check=False)
    lab.router_sh("vtysh -c 'configure terminal' -c 'no router bgp 64999'")
    assert (eight.returncode, eight.stdout.strip()) == (1, "% Unknown command.")
    assert one.returncode == 0, one.stdout + one.stderr
    assert _running(lab) == before


def test_password_needs_tcp_md5_in_the_kernel(mp1_lab: Lab, tmp_path: Path) -> None:
    lab = mp1_lab
    doc = yaml.safe_load(lab.topology_file.read_text())
    doc["bgp"]["ecmp"] = 1  # what this Quagga can do; the MD5 check is the subject here
    topo = tmp_path / "ecmp1.yaml"
    topo.write_text(yaml.safe_dump(doc, sort_keys=False))
    assert "password" in doc["bgp"]
    lab.router_sh(
        "printf '0000000000000000 T tcp_v4_connect\\n0000000000000000 T tcp_v4_rcv\\n'"
        " > /tmp/kallsyms-no-md5; printf '0000000000000000 T tcp_md5_do_add\\n'"
        " > /tmp/kallsyms-md5"
    )
    before = _running(lab)
    res = cli(topo, "provision", "--yes", env={TEST_KALLSYMS_ENV: "/tmp/kallsyms-no-md5"})
    assert res.returncode == 4, res.stdout + res.stderr
    assert "tcp-md5" in res.stderr and "the kernel has no CONFIG_TCP_MD5SIG" in res.stderr
    assert "tcp_md5_do_add in /proc/kallsyms" in res.stderr  # the signal it read
    assert "remove bgp.password" in res.stderr
    assert _running(lab) == before
    res = cli(
        topo,
        "provision",
        "--yes",
        "--confirm-timeout",
        "60",
        env={TEST_KALLSYMS_ENV: "/tmp/kallsyms-md5"},
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "2 sessions Established" in res.stdout
    assert " password " in _running(lab)  # the sessions run with the password
