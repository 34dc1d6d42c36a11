"""The router-side check script under busybox ash, against recorded vtysh outputs.

A stub ``vtysh`` replays real Quagga/FRR outputs (tests/fixtures_healthcheck/<case>/),
a stub ``logger`` appends to a file, a stub ``uci`` reads the test's UCI config.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "openwrt-feed/net/routerctl-healthcheck/files/routerctl-health"
UCI_DEFAULT = ROOT / "openwrt-feed/net/routerctl-healthcheck/files/routerctl.config"
FIX = Path(__file__).resolve().parent / "fixtures_healthcheck"
BUSYBOX = shutil.which("busybox")

pytestmark = pytest.mark.skipif(BUSYBOX is None, reason="busybox not installed")


@dataclass
class Run:
    rc: int
    status: dict
    log: list[str]
    stderr: str
    calls: list[str]


class Router:
    """A scratch 'router': UCI config dir, run dir, stub PATH, log file."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.conf = tmp / "config"
        self.conf.mkdir()
        self.run_dir = tmp / "run"
        self.status = self.run_dir / "routerctl-health.json"
        self.logfile = tmp / "syslog"
        self.calls = tmp / "calls"
        self.options: dict[str, str] = {
            "status_file": str(self.status),
            "bgpd_pidfile": str(tmp / "bgpd.pid"),
            "init_script": str(tmp / "init.d" / "frr"),
        }
        self.lists: dict[str, list[str]] = {}

    def write_config(self) -> None:
        lines = ["config health"]
        lines += [f"\toption {k} '{v}'" for k, v in self.options.items()]
        for k, values in self.lists.items():
            lines += [f"\tlist {k} '{v}'" for v in values]
        (self.conf / "routerctl").write_text("\n".join(lines) + "\n")

    def run(self, case: str | Path, *, now: int | None = None, **env: str) -> Run:
        self.write_config()
        case_dir = case if isinstance(case, Path) else FIX / case
        full_env = {
            "PATH": f"{FIX / 'bin'}:{os.environ['PATH']}",
            "HC_CASE": str(case_dir),
            "HC_LOG": str(self.logfile),
            "HC_CALLS": str(self.calls),
            "ROUTERCTL_HEALTH_UCI_DIR": str(self.conf),
        }
        if now is not None:
            full_env["ROUTERCTL_HEALTH_NOW"] = str(now)
        full_env.update(env)
        proc = subprocess.run(
            [BUSYBOX or "busybox", "ash", str(SCRIPT)],
            check=False,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        status = json.loads(self.status.read_text()) if self.status.exists() else {}
        log = self.logfile.read_text().splitlines() if self.logfile.exists() else []
        calls = self.calls.read_text().splitlines() if self.calls.exists() else []
        return Run(proc.returncode, status, log, proc.stderr, calls)


@pytest.fixture
def router(tmp_path: Path) -> Router:
    return Router(tmp_path)


@pytest.fixture
def live_bgpd(tmp_path: Path) -> Iterator[Path]:
    """A real process whose name is 'bgpd', its pid in the router's pid file."""
    link = tmp_path / "bgpd"
    link.symlink_to(shutil.which("sleep") or "/bin/sleep")
    proc = subprocess.Popen([str(link), "300"])
    (tmp_path / "bgpd.pid").write_text(f"{proc.pid}\n")
    try:
        yield tmp_path / "bgpd.pid"
    finally:
        proc.kill()
        proc.wait()


def neighbor_states(status: dict) -> dict[str, str]:
    return {n["address"]: n["state"] for n in status["neighbors"]}


# --- static checks --------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed")
def test_shellcheck_clean() -> None:
    scripts = [SCRIPT, FIX / "bin/vtysh", FIX / "bin/uci", FIX / "bin/logger"]
    proc = subprocess.run(
        ["shellcheck", "-s", "sh", *map(str, scripts)], check=False, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout


def test_default_uci_config_is_valid(router: Router) -> None:
    """The packaged /etc/config/routerctl parses and runs (with paths moved to tmp)."""
    text = UCI_DEFAULT.read_text()
    text = text.replace("/var/run/routerctl-health.json", str(router.status))
    text = text.replace("option init_script ''", f"option init_script '{router.tmp}/none'")
    (router.conf / "routerctl").write_text(text)
    router.write_config = lambda: None  # type: ignore[method-assign]
    run = router.run("frr_wide_healthy")
    assert run.rc == 0, run.stderr
    assert run.status["state"] == "ok"
    assert run.status["min_established"] == 1


# --- recorded outputs -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "rc", "state", "states"),
    [
        ("quagga_vyos_healthy", 0, "ok", {"10.0.1.100": "Established"}),
        ("frr_wide_healthy", 0, "ok", {"192.168.0.2": "Established"}),
        (
            "frr7_one_down",
            1,
            "degraded",
            {
                "10.10.10.10": "Established",
                "123.123.123.123": "Established",
                "193.189.82.105": "Active",
            },
        ),
        (
            "quagga_wrapped_one_down",
            1,
            "degraded",
            {"leaf-11-really-long-name(swp1)": "Established", "leaf-12(swp2)": "Idle (Admin)"},
        ),
        (
            "quagga_seed_all_down",
            2,
            "critical",
            {"192.168.1.5": "Active", "192.168.1.6": "Active"},
        ),
        (
            "frr84_idle_admin",
            2,
            "critical",
            {"198.51.100.5": "Idle", "198.51.100.6": "Idle (Admin)"},
        ),
        ("frr81_desc_spaces", 2, "critical", {"192.168.0.2": "Connect"}),
        (
            "frr10_states_partial",
            1,
            "degraded",
            {
                "2001:db8:34::2": "Idle",
                "2001:db8:3d::2": "Established",
                "2001:db8:3f::2": "Established",
                "2001:db8:42::2": "OpenSent",
                "2001:db8:53::2": "Established",
                "2001:db8:57::2": "Established",
                "2001:db8:59::2": "Established",
                "2001:db8:5e::2": "Established",
            },
        ),
        (
            "frr74_hostname_states",
            1,
            "degraded",
            {
                "45.33.5.119": "Active",
                "65.19.134.122": "Established",
                "107.13.46.23": "Connect",
                "robot(192.168.201.139)": "Connect",
            },
        ),
    ],
)
def test_recorded_summaries(router: Router, case: str, rc: int, state: str, states: dict) -> None:
    run = router.run(case)
    assert run.rc == rc, run.stderr
    assert run.status["state"] == state
    assert run.status["exit_code"] == rc
    assert neighbor_states(run.status) == states
    assert run.status["established"] == sum(1 for s in states.values() if s == "Established")
    assert len(run.log) == 1 and run.log[0].startswith("routerctl-health daemon.")
    assert f" {state} (was none): " in run.log[0]


def test_prefix_counts(router: Router) -> None:
    run = router.run("frr74_hostname_states")
    pfx = {n["address"]: n["prefixes_received"] for n in run.status["neighbors"]}
    assert pfx["65.19.134.122"] == 800670
    assert pfx["45.33.5.119"] == 0


def test_policy_blocked_neighbor(router: Router) -> None:
    """FRR's (Policy): Established, but no inbound policy -> routes rejected."""
    run = router.run("frr_policy")
    by_addr = {n["address"]: n for n in run.status["neighbors"]}
    assert by_addr["192.168.0.2"]["prefixes_received"] == 5
    assert by_addr["192.168.0.2"]["policy_blocked"] is False  # (Policy) only in PfxSnt
    assert by_addr["fe80:1::2222"]["policy_blocked"] is True
    assert run.rc == 1 and run.status["established"] == 1
    assert "(Policy): fe80:1::2222" in run.status["summary"]
    # only the policy-blocked one expected -> none usable -> critical
    router.lists["neighbor"] = ["fe80:1::2222"]
    run = router.run("frr_policy")
    assert run.rc == 2
    assert run.status["state"] == "critical"


def test_expected_neighbors_and_min_established(router: Router) -> None:
    router.lists["neighbor"] = ["10.10.10.10", "193.189.82.105", "198.51.100.9"]
    router.options["min_established"] = "2"
    run = router.run("frr7_one_down")
    assert neighbor_states(run.status) == {
        "10.10.10.10": "Established",
        "193.189.82.105": "Active",
        "198.51.100.9": "NotConfigured",
    }
    assert run.rc == 2
    assert "1 of 3 neighbors usable, at least 2 required" in run.status["summary"]
    router.options["min_established"] = "1"
    run = router.run("frr7_one_down")
    assert run.rc == 1


def test_hostname_neighbor_matched_by_address(router: Router) -> None:
    router.lists["neighbor"] = ["192.168.201.139", "65.19.134.122"]
    run = router.run("frr74_hostname_states")
    assert neighbor_states(run.status) == {
        "65.19.134.122": "Established",
        "192.168.201.139": "Connect",
    }


def test_no_bgp_instance_frr(router: Router) -> None:
    run = router.run("frr84_no_instance")
    assert run.rc == 2
    assert run.status["summary"] == "no BGP instance configured (router bgp missing)"
    assert run.status["bgpd_running"] is True


def test_no_bgp_instance_quagga_empty_output(
    router: Router, tmp_path: Path, live_bgpd: Path
) -> None:
    """Quagga prints nothing without 'router bgp': with bgpd alive that is 'no instance'."""
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "show_ip_bgp_summary.txt").write_text("")
    run = router.run(empty)
    assert run.rc == 2
    assert run.status["summary"] == "no BGP instance configured (router bgp missing)"
    live_bgpd.write_text("999999999\n")  # no such process: now it is bgpd that is down
    run = router.run(empty)
    assert run.rc == 2
    assert run.status["summary"] == "bgpd is not running"
    assert run.status["bgpd_running"] is False


def test_bgpd_down_and_all_down(router: Router) -> None:
    run = router.run("frr84_bgpd_down")
    assert (run.rc, run.status["bgpd_running"]) == (2, False)
    assert run.status["summary"] == "bgpd is not running"
    run = router.run("frr84_all_down")
    assert (run.rc, run.status["bgpd_running"]) == (2, False)
    assert "failed to connect to any daemons" in run.status["summary"]


def test_unknown_output_is_unknown(router: Router, tmp_path: Path) -> None:
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "show_ip_bgp_summary.txt").write_text("% Unknown command: show ip bgp summary\n")
    run = router.run(odd)
    assert run.rc == 3
    assert run.status["state"] == "unknown"


# --- routes -------------------------------------------------------------------------------


def seed_case(tmp_path: Path, summary_case: str) -> Path:
    """Seed walk-through routes (Quagga 'show ip route' B lines) + another summary."""
    d = tmp_path / f"seed_{summary_case}"
    d.mkdir()
    shutil.copy(FIX / "quagga_seed_all_down/show_ip_route_bgp.txt", d)
    shutil.copy(FIX / summary_case / "show_ip_bgp_summary.txt", d)
    return d


def test_routes_in_pool(router: Router, tmp_path: Path) -> None:
    router.lists["pool"] = ["192.168.0.30/31"]
    router.lists["route"] = ["192.168.0.30", "192.168.0.31/32"]
    run = router.run(seed_case(tmp_path, "quagga_vyos_healthy"))
    assert run.rc == 0, run.status
    assert run.status["routes"]["pool_routes"] == [
        {"prefix": "192.168.0.30/32", "selected": True, "fib": True, "nexthops": ["192.168.1.5"]},
        {"prefix": "192.168.0.31/32", "selected": True, "fib": True, "nexthops": ["192.168.1.5"]},
    ]
    assert run.status["routes"]["missing"] == []
    assert "2 pool routes" in run.status["summary"]
    assert any("vtysh -c show ip bgp summary -c show ip route bgp" in c for c in run.calls)


def test_missing_service_route_is_critical(router: Router, tmp_path: Path) -> None:
    router.lists["pool"] = ["192.168.0.0/24"]
    router.lists["route"] = ["192.168.0.30", "192.168.0.40"]
    run = router.run(seed_case(tmp_path, "quagga_vyos_healthy"))
    assert run.rc == 2
    assert run.status["routes"]["missing"] == ["192.168.0.40/32"]
    assert "service routes missing or not installed: 192.168.0.40/32" in run.status["summary"]


def test_route_outside_pool_not_counted(router: Router, tmp_path: Path) -> None:
    router.lists["pool"] = ["203.0.113.0/24"]
    run = router.run(seed_case(tmp_path, "quagga_vyos_healthy"))
    assert run.status["routes"]["pool_routes"] == []


def test_ecmp_and_not_installed(router: Router, tmp_path: Path) -> None:
    d = tmp_path / "ecmp"
    d.mkdir()
    shutil.copy(FIX / "frr_wide_healthy/show_ip_bgp_summary.txt", d)
    (d / "show_ip_route_bgp.txt").write_text(
        "Codes: K - kernel route, C - connected, S - static, R - RIP,\n"
        "       > - selected route, * - FIB route, q - queued, r - rejected, b - backup\n\n"
        "B>* 203.0.113.10/32 [20/0] via 198.51.100.5, br-lan, weight 1, 00:01:02\n"
        "  *                        via 198.51.100.6, br-lan, weight 1, 00:01:02\n"
        "B>  203.0.113.11/32 [20/0] via 198.51.100.5, br-lan, weight 1, 00:01:02\n"
    )
    router.lists["route"] = ["203.0.113.10", "203.0.113.11"]
    run = router.run(d)
    routes = {r["prefix"]: r for r in run.status["routes"]["pool_routes"]}
    assert routes["203.0.113.10/32"]["nexthops"] == ["198.51.100.5", "198.51.100.6"]
    assert routes["203.0.113.11/32"]["fib"] is False
    assert run.status["routes"]["missing"] == ["203.0.113.11/32"]
    assert run.rc == 2


def test_check_routes_off_runs_summary_only(router: Router) -> None:
    router.options["check_routes"] = "0"
    router.lists["route"] = ["203.0.113.10"]
    run = router.run("frr_wide_healthy")
    assert run.rc == 0
    assert run.calls == ["vtysh -c show ip bgp summary"]
    assert run.status["routes"]["checked"] is False


# --- logging, files, lock, timeout ---------------------------------------------------------


def test_logs_only_state_changes(router: Router) -> None:
    for case in ("frr_wide_healthy", "frr_wide_healthy", "frr84_bgpd_down", "frr84_bgpd_down"):
        router.run(case)
    run = router.run("frr_wide_healthy")
    assert run.log == [
        "routerctl-health daemon.notice ok (was none): 1 of 1 neighbors Established, 0 pool routes",
        "routerctl-health daemon.err critical (was ok): bgpd is not running",
        "routerctl-health daemon.notice ok (was critical): 1 of 1 neighbors Established, 0 pool routes",
    ]


def test_files_atomic_and_lock_released(router: Router) -> None:
    router.options["prometheus_file"] = str(router.run_dir / "routerctl.prom")
    run = router.run("frr7_one_down")
    assert abs(run.status["time"] - time.time()) < 30  # the clock, read by awk's srand()
    names = sorted(p.name for p in router.run_dir.iterdir())
    assert names == [
        "routerctl-health.json",
        "routerctl-health.json.state",
        "routerctl.prom",
    ]
    prom = (router.run_dir / "routerctl.prom").read_text()
    assert 'routerctl_health_neighbor_up{neighbor="193.189.82.105"} 0\n' in prom
    assert 'routerctl_health_neighbor_up{neighbor="10.10.10.10"} 1\n' in prom
    assert "routerctl_health_state 1\n" in prom
    assert "routerctl_health_bgpd_running 1\n" in prom
    # each metric family appears as one group (textfile collector requirement)
    families = [ln.split()[2] for ln in prom.splitlines() if ln.startswith("# TYPE")]
    assert len(families) == len(set(families))


def test_lock_held_by_live_run(router: Router) -> None:
    """Another run (a shell) holds the lock: skip at once with exit 3, touch nothing."""
    router.run_dir.mkdir()
    lock = router.run_dir / "routerctl-health.json.lock"
    lock.mkdir()
    holder = subprocess.Popen([BUSYBOX or "busybox", "ash", "-c", "sleep 30; :"])
    try:
        (lock / "pid").write_text(f"{holder.pid}\n")
        run = router.run("frr_wide_healthy")
    finally:
        holder.kill()
        holder.wait()
    assert run.rc == 3
    assert "previous run" in run.stderr and str(holder.pid) in run.stderr
    assert run.calls == []  # vtysh not started
    assert lock.is_dir()  # not ours: left alone


def test_lock_with_reused_pid_taken_over(router: Router, tmp_path: Path) -> None:
    """The pid in the lock now belongs to another program (not a shell): stale."""
    router.run_dir.mkdir()
    lock = router.run_dir / "routerctl-health.json.lock"
    lock.mkdir()
    other = tmp_path / "dnsmasq"
    other.symlink_to(shutil.which("sleep") or "/bin/sleep")
    proc = subprocess.Popen([str(other), "30"])
    try:
        (lock / "pid").write_text(f"{proc.pid}\n")
        run = router.run("frr_wide_healthy")
        assert run.rc == 0, run.stderr
        assert not lock.exists()
    finally:
        proc.kill()
        proc.wait()


def test_stale_lock_taken_over(router: Router) -> None:
    router.run_dir.mkdir()
    lock = router.run_dir / "routerctl-health.json.lock"
    lock.mkdir()
    (lock / "pid").write_text("999999999\n")
    run = router.run("frr_wide_healthy")
    assert run.rc == 0
    assert not lock.exists()


def test_hanging_vtysh_times_out(router: Router, tmp_path: Path) -> None:
    router.options["vtysh_timeout"] = "1"
    pidfile = tmp_path / "vtysh.pid"
    t0 = time.monotonic()
    run = router.run("frr_wide_healthy", HC_VTYSH_HANG="1", HC_VTYSH_PIDFILE=str(pidfile))
    elapsed = time.monotonic() - t0
    assert run.rc == 3
    assert run.status["summary"] == "vtysh did not answer within the timeout"
    assert elapsed < 15  # bound: timeout 1 s + 2 s grace, not the hang
    pid = int(pidfile.read_text())
    # the hung vtysh was killed (it may linger a moment as a zombie of the exited shell)
    deadline = time.monotonic() + 5
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        if "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]:
            break
        time.sleep(0.05)
    assert not Path(f"/proc/{pid}").exists() or Path(f"/proc/{pid}/stat").read_text().split()[
        2
    ] in ("Z", "X")


def test_disabled_does_nothing(router: Router) -> None:
    router.options["enabled"] = "0"
    run = router.run("frr84_bgpd_down")
    assert (run.rc, run.calls, run.status) == (0, [], {})


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("min_established", "two", "option min_established must be a non-negative integer"),
        ("vtysh_timeout", "0", "option vtysh_timeout must be at least 1"),
        ("status_file", "relative.json", "option status_file must be an absolute path"),
    ],
)
def test_bad_config(router: Router, option: str, value: str, message: str) -> None:
    router.options[option] = value
    run = router.run("frr_wide_healthy")
    assert run.rc == 3
    assert run.stderr.count("\n") == 1 and message in run.stderr
    assert "/etc/config/routerctl" in run.stderr
    assert any(message in line for line in run.log)


def test_missing_config_section(router: Router) -> None:
    router.write_config = lambda: None  # type: ignore[method-assign]
    run = router.run("frr_wide_healthy")
    assert run.rc == 3
    assert "no 'config health' section" in run.stderr


# --- self-heal ----------------------------------------------------------------------------


def test_self_heal_backoff_and_hourly_limit(router: Router, tmp_path: Path) -> None:
    init_dir = tmp_path / "init.d"
    init_dir.mkdir()
    restarts = tmp_path / "restarts"
    init = init_dir / "frr"
    init.write_text(f'#!/bin/sh\necho "$1" >> {restarts}\n')
    init.chmod(0o755)
    router.options.update(
        self_heal="1", heal_after="2", max_restarts="2", backoff="100", init_script=str(init)
    )

    def step(now: int) -> str:
        return router.run("frr84_bgpd_down", now=now).status["self_heal"]["action"]

    assert step(1000) == "none"  # 1st failure
    assert step(1060) == "restart"  # 2nd consecutive failure -> restart
    assert step(1120) == "backoff"  # 60 s < 100 s since the restart
    assert step(1170) == "restart"  # 110 s >= 100 s
    assert step(1400) == "limit"  # 2 restarts in the last hour
    assert step(1460) == "limit"
    status = router.run("frr84_bgpd_down", now=4661).status  # 1060 aged out; wait 100 s
    assert status["self_heal"]["action"] == "restart"
    assert status["self_heal"]["restarts_last_hour"] == 2
    assert restarts.read_text() == "restart\nrestart\nrestart\n"
    log = router.logfile.read_text()
    assert log.count(", restarting via ") == 3
    assert log.count("restart exited 0") == 3
    assert log.count("not restarting") == 1  # limit logged once
    assert "via " + str(init) in log
    # healthy again: failure count resets
    status = router.run("frr_wide_healthy", now=4700).status
    assert status["self_heal"]["consecutive_failures"] == 0
    assert status["state"] == "ok"


def test_self_heal_off_never_restarts(router: Router, tmp_path: Path) -> None:
    init_dir = tmp_path / "init.d"
    init_dir.mkdir()
    marker = tmp_path / "restarted"
    (init_dir / "frr").write_text(f"#!/bin/sh\ntouch {marker}\n")
    (init_dir / "frr").chmod(0o755)
    for now in range(1000, 1600, 60):
        status = router.run("frr84_bgpd_down", now=now).status
    assert status["self_heal"] == {
        "enabled": False,
        "consecutive_failures": 10,
        "restarts_last_hour": 0,
        "last_restart": 0,
        "action": "none",
    }
    assert not marker.exists()


def test_self_heal_only_when_bgpd_down(router: Router, tmp_path: Path) -> None:
    """Sessions down but bgpd alive: a restart would not help, so none happens."""
    router.options.update(self_heal="1", heal_after="1")
    for now in (1000, 1060, 1120):
        status = router.run("quagga_seed_all_down", now=now).status
    assert status["self_heal"]["action"] == "none"
    assert status["self_heal"]["consecutive_failures"] == 0


def test_watchdog_never_holds_output_pipes(router: Router, tmp_path: Path) -> None:
    """Each run returns as soon as the script exits: the vtysh watchdog's sleep must not
    keep stdout/stderr open (cron and ssh wait for EOF). Repeated to catch the race of
    killing the watchdog right after it started."""
    init_dir = tmp_path / "init.d"
    init_dir.mkdir()
    (init_dir / "frr").write_text("#!/bin/sh\nexit 0\n")
    (init_dir / "frr").chmod(0o755)
    router.options.update(self_heal="1", heal_after="1", max_restarts="60", backoff="0")
    router.options["vtysh_timeout"] = "30"
    for i in range(25):
        t0 = time.monotonic()
        run = router.run("frr84_bgpd_down", now=1000 + i)
        assert run.status["self_heal"]["action"] == "restart"
        assert time.monotonic() - t0 < 10


# --- recorded in the lab (FRR 8.4 router, GoBGP speakers) ---------------------------------


def lab_expectations(router: Router) -> None:
    """What `routerctl healthcheck config` renders for the lab topology."""
    router.lists["neighbor"] = ["198.51.100.5", "198.51.100.6"]
    router.lists["pool"] = ["203.0.113.30/31", "203.0.113.32/28", "203.0.113.48/31"]
    router.lists["route"] = ["203.0.113.30/32", "203.0.113.31/32"]


def test_lab_healthy_ecmp(router: Router) -> None:
    lab_expectations(router)
    run = router.run("frr84_lab_healthy")
    assert run.rc == 0, run.status
    assert run.status["summary"] == "2 of 2 neighbors Established, 2 pool routes"
    assert [n["prefixes_received"] for n in run.status["neighbors"]] == [2, 2]
    assert [r["nexthops"] for r in run.status["routes"]["pool_routes"]] == [
        ["198.51.100.5", "198.51.100.6"],
        ["198.51.100.5", "198.51.100.6"],
    ]


def test_lab_one_speaker_down(router: Router) -> None:
    lab_expectations(router)
    router.run("frr84_lab_healthy")
    run = router.run("frr84_lab_one_down")
    assert run.rc == 1
    assert run.status["summary"] == "not Established: 198.51.100.6 Idle"
    assert [r["nexthops"] for r in run.status["routes"]["pool_routes"]] == [
        ["198.51.100.5"],
        ["198.51.100.5"],
    ]
    assert run.log[-1] == (
        "routerctl-health daemon.warn degraded (was ok): not Established: 198.51.100.6 Idle"
    )


def test_lab_all_down(router: Router) -> None:
    lab_expectations(router)
    run = router.run("frr84_lab_all_down")
    assert run.rc == 2
    assert run.status["routes"]["missing"] == ["203.0.113.30/32", "203.0.113.31/32"]
    assert "198.51.100.5 Idle, 198.51.100.6 Idle" in run.status["summary"]
    assert "service routes missing or not installed" in run.status["summary"]


# --- hostile vtysh output (issue 12 item 11) ---------------------------------------------


def _case(tmp_path: Path, summary: str, routes: str | None = None) -> Path:
    """A scratch recorded case: the summary (and route) output as given, byte for byte."""
    case = tmp_path / "case"
    case.mkdir(exist_ok=True)
    (case / "show_ip_bgp_summary.txt").write_bytes(summary.encode())
    if routes is not None:
        (case / "show_ip_route_bgp.txt").write_bytes(routes.encode())
    return case


_HEAD = (
    "BGP router identifier 198.51.100.1, local AS number 64512 vrf-id 0\n\n"
    "Neighbor        V         AS MsgRcvd MsgSent   TblVer  InQ OutQ  Up/Down State/PfxRcd\n"
)


def test_control_characters_keep_the_status_json_valid(router: Router, tmp_path: Path) -> None:
    """Tabs, ESC, BEL, backslashes and quotes in vtysh output: the status file stays JSON
    (Router.run json.loads it) and the Prometheus file stays parseable."""
    router.options["prometheus_file"] = str(tmp_path / "m.prom")
    summary = (
        _HEAD + '198.51.100.5\t4 64513 1 1 0 0 0 00:00:01 \x1b[31mAct\\ive"\x07\n'
        "198.51.100.6\x01 4 64513 1 1 0 0 0 00:00:01 3\n"
        "% Unknown command:\tfoo\x1b]8;;x\x07\n"
    )
    routes = 'B>* 203.0.113.10/32 [20/0] via 198.51.100.5\x07", br-lan, 00:00:01\n'
    run = router.run(_case(tmp_path, summary, routes))
    assert run.status, run.stderr  # parsed as JSON
    states = neighbor_states(run.status)
    assert states["198.51.100.6"] == "Established"
    assert states["198.51.100.5"] == '[31mAct\\ive"'  # ESC and BEL dropped, the rest kept
    text = json.dumps(run.status)
    assert "\\u001b" not in text and "\\u0007" not in text
    prom = (tmp_path / "m.prom").read_text()
    assert all(ch >= " " or ch == "\n" for ch in prom)


def test_crlf_output_reads_like_lf(router: Router, tmp_path: Path) -> None:
    summary = (FIX / "frr7_one_down" / "show_ip_bgp_summary.txt").read_text()
    run = router.run(_case(tmp_path, summary.replace("\n", "\r\n")))
    assert run.rc == 1, run.stderr  # degraded as with LF, not a false critical
    assert neighbor_states(run.status)["10.10.10.10"] == "Established"


def test_a_400_digit_prefix_count_is_unknown_not_inf(router: Router, tmp_path: Path) -> None:
    summary = _HEAD + "198.51.100.5 4 64513 1 1 0 0 0 00:00:01 " + "9" * 400 + "\n"
    run = router.run(_case(tmp_path, summary))
    raw = router.status.read_text()
    assert "inf" not in raw.lower()
    assert run.rc == 3 and run.status["state"] == "unknown"
    assert "PfxRcd out of range for 198.51.100.5" in run.status["summary"]
    assert all(n["prefixes_received"] == 0 for n in run.status["neighbors"])


def test_vtysh_ignoring_term_is_killed_and_reported_as_a_timeout(
    router: Router, tmp_path: Path
) -> None:
    """A vtysh that ignores SIGTERM gets SIGKILL 2 s after the timeout, and the run says
    the vtysh timed out (exit 3), not that bgpd is not running."""
    stub = tmp_path / "stubbin"
    stub.mkdir()
    vtysh = stub / "vtysh"
    vtysh.write_text(f"#!/bin/sh\necho $$ >{tmp_path}/vtysh.pid\ntrap '' TERM\nexec sleep 600\n")
    vtysh.chmod(0o755)
    router.options["vtysh_timeout"] = "1"
    t0 = time.monotonic()
    run = router.run("frr_wide_healthy", PATH=f"{stub}:{FIX / 'bin'}:{os.environ['PATH']}")
    elapsed = time.monotonic() - t0
    assert run.rc == 3, run.stderr
    assert run.status["summary"] == "vtysh did not answer within the timeout"
    assert run.status["bgpd_running"] is True
    assert elapsed < 15  # bound: timeout 1 s + 2 s grace; it used to wait for vtysh
    pid = int((tmp_path / "vtysh.pid").read_text())
    stat = Path(f"/proc/{pid}/stat")
    assert not stat.exists() or stat.read_text().split()[2] in ("Z", "X")


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("prometheus_file", "/", "option prometheus_file must name a file, got '/'"),
        ("prometheus_file", "{tmp}", "option prometheus_file is a directory, expected a file"),
        ("prometheus_file", "{tmp}/x/../m.prom", "option prometheus_file must name a file"),
        ("prometheus_file", "m.prom", "option prometheus_file must be an absolute path"),
        ("status_file", "{tmp}", "option status_file is a directory, expected a file"),
        ("status_file", "{tmp}/", "option status_file must name a file"),
    ],
)
def test_file_options_must_name_files(
    router: Router, tmp_path: Path, option: str, value: str, message: str
) -> None:
    """Issue 12 item 1: a directory (or /) as the Prometheus or status file is a config
    error (exit 3), never written to, and so never handed to the prerm."""
    router.options[option] = value.format(tmp=tmp_path)
    run = router.run("frr_wide_healthy")
    assert run.rc == 3
    assert message in run.stderr
    assert tmp_path.is_dir()


# --- planted symlinks (issue 12 item 12) ----------------------------------------------


def test_planted_symlinks_at_the_old_temp_names_are_not_followed(router: Router) -> None:
    """The check used to write `<status>.tmp` / `<prom>.tmp`: a symlink planted there sent
    its output (as root) into the link's target. Now it writes to fresh mktemp names."""
    prom = router.run_dir / "routerctl.prom"
    router.options["prometheus_file"] = str(prom)
    router.run_dir.mkdir()
    victims = []
    for name in (f"{router.status.name}.tmp", f"{prom.name}.tmp"):
        victim = router.tmp / f"victim-{name}"
        victim.write_text("precious\n")
        (router.run_dir / name).symlink_to(victim)
        victims.append(victim)
    run = router.run("quagga_vyos_healthy")
    assert run.rc == 0, run.stderr
    assert run.status["state"] == "ok"
    assert "routerctl_health_state 0" in prom.read_text()
    assert [v.read_text() for v in victims] == ["precious\n", "precious\n"]
    assert oct(router.status.stat().st_mode & 0o777) == "0o644"
    leftovers = sorted(p.name for p in router.run_dir.iterdir())
    assert leftovers == sorted(
        ["routerctl-health.json", "routerctl.prom", f"{router.status.name}.tmp", f"{prom.name}.tmp"]
        + [p.name for p in router.run_dir.iterdir() if p.name.endswith((".state", ".lock"))]
    )
