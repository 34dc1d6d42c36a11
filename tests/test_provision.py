"""Provision helpers that need no router: session states, vtysh error echo, redaction."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from routerctl.errors import RefusedError
from routerctl.ops import provision as provision_mod
from routerctl.ops.provision import (
    dialect_for,
    established_peers,
    gather_script,
    split_gathered,
    vtysh_errors,
)
from routerctl.platform import PROFILES
from routerctl.topology import load_topology
from routerctl.transport import CommandResult
from routerctl.transport.fake import FakeTransport

FRR_JSON = """{
"ipv4Unicast":{"routerId":"198.51.100.2","as":65000,"peers":{
  "198.51.100.5":{"remoteAs":65001,"state":"Established","pfxRcd":2},
  "198.51.100.6":{"remoteAs":65001,"state":"Active"}}},
"ipv6Unicast":{"routerId":"198.51.100.2","as":65000,"peers":{
  "2001:db8::5":{"remoteAs":65001,"state":"Established"}}}
}"""
QUAGGA_SEED = """BGP router identifier 192.168.1.2, local AS number 65000
RIB entries 0, using 0 bytes of memory
Peers 2, using 18 KiB of memory

Neighbor        V         AS MsgRcvd MsgSent   TblVer  InQ OutQ Up/Down  State/PfxRcd
192.168.1.5     4 65001      12      14        0    0    0 00:04:10        2
192.168.1.6     4 65001       0       0        0    0    0 never    Active

Total number of neighbors 2
"""

ROOT = Path(__file__).resolve().parent.parent


def test_established_peers_frr_json_every_family() -> None:
    assert established_peers(FRR_JSON) == {"198.51.100.5", "2001:db8::5"}


def test_established_peers_frr_json_admin_down() -> None:
    # shape of FRR PR 7594's `show ip bgp summary json` (a peer shut down by the admin)
    text = """{"ipv4Unicast":{"routerId":"192.168.3.2","as":200,"peers":{
      "192.168.0.1":{"hostname":"exit1-debian-9","remoteAs":100,"state":"Idle (Admin)",
      "pfxRcd":0,"pfxSnt":0}},"failedPeers":1,"totalPeers":1}}"""
    assert established_peers(text) == set()


def test_established_peers_quagga_text() -> None:
    # a numeric State/PfxRcd column means Established
    assert established_peers(QUAGGA_SEED) == {"192.168.1.5"}


def test_established_peers_garbage_is_none_up() -> None:
    assert established_peers("{not json") == set()


def test_vtysh_errors_names_the_failed_line_and_redacts() -> None:
    echo = """
Hello, this is FRRouting (version 8.4.4).

OpenWrt# configure terminal
OpenWrt(config)# router bgp 65000
OpenWrt(config-router)#  neighbor ROUTERCTL password s3cr3t-value
OpenWrt(config-router)#  neighbor ROUTERCTL password s3cr3t-value extra
% Unknown command: neighbor ROUTERCTL password s3cr3t-value extra
OpenWrt(config-router)#  neighbor ROUTERCTL frobnicate
% Unknown command: neighbor ROUTERCTL frobnicate
OpenWrt(config-router)# end
"""
    errors = vtysh_errors(echo)
    # everything after the keyword goes: a password typed with a space ("s3cr3t-value
    # extra") would otherwise leave its second half in the message
    assert errors == [
        "'neighbor ROUTERCTL password <redacted>': "
        "% Unknown command: neighbor ROUTERCTL password <redacted>",
        "'neighbor ROUTERCTL frobnicate': % Unknown command: neighbor ROUTERCTL frobnicate",
    ]
    assert vtysh_errors("OpenWrt# configure terminal\nOpenWrt(config)# end\n") == []


def test_dialect_follows_what_vtysh_prints() -> None:
    frr = "Building configuration...\n\nCurrent configuration:\n!\nfrr version 8.4.4\n"
    quagga = "Building configuration...\n\nCurrent configuration:\n!\nhostname OpenWrt\n"
    assert dialect_for(frr, "quagga") == "frr"
    assert dialect_for(quagga, "quagga") == "quagga"
    assert dialect_for("", "frr") == "frr"


MARK = "@@routerctl-0123456789abcdef@@"
FACTS = "acquired /var/lock/routerctl.lock\n@@routerctl@@release\nDISTRIB_RELEASE='23.05.5'\n"
CONFIG = "Building configuration...\n\nCurrent configuration:\n!\nfrr version 8.4.4\nend\n"


def test_gather_script_is_posix_sh() -> None:
    script = gather_script(MARK)
    assert "show running-config" in script and "[[" not in script and "exit" not in script
    proc = subprocess.run(["busybox", "sh", "-n", "-c", script], capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_split_gathered_keeps_the_config_exactly() -> None:
    out = f"{FACTS}\n{MARK}running-config\n{CONFIG}\n{MARK}end 0\n"
    got = split_gathered(out, MARK)
    assert got.facts == FACTS and got.running == CONFIG
    # a config without a final newline, and one holding a look-alike of the fixed marker
    odd = CONFIG.replace("!\n", "! @@routerctl@@end 0\n").rstrip("\n")
    got = split_gathered(f"{FACTS}\n{MARK}running-config\n{odd}\n{MARK}end 0\n", MARK)
    assert got.running == odd


def test_split_gathered_without_a_usable_config() -> None:
    # vtysh failed, vtysh missing, output cut short, or not a running config
    for tail in (
        f"\n{MARK}running-config\n% daemons down\n{MARK}end 1\n",
        f"\n{MARK}running-config\n\n{MARK}end 127\n",
        f"\n{MARK}running-config\n{CONFIG}",
        f"\n{MARK}running-config\nhello\n\n{MARK}end 0\n",
        "",
    ):
        got = split_gathered(FACTS + tail, MARK)
        assert got.running is None and got.facts == FACTS


def _batched(daemons: str, config: str = CONFIG, prompt: str = "OpenWrt# ") -> str:
    """What ``vtysh -E -c 'show daemons' -c 'show running-config'`` prints."""
    return f"{prompt}show daemons\n{daemons}\n{prompt}show running-config\n{config}"


def test_gather_script_asks_frr_ready_in_the_config_reads_vtysh() -> None:
    script = gather_script(MARK)
    # one vtysh for FRR's ready check and the config read; detection leaves FRR out
    assert "vtysh -E -c 'show daemons' -c 'show running-config'" in script
    assert script.count("show daemons") == 1
    # Quagga's own check stays in detection, and costs no vtysh without its init script
    assert "[ -x /etc/init.d/quagga ] && pidof bgpd" in script
    assert "else vtysh -c 'show running-config'; s=$?" in script  # routers without FRR


def test_split_gathered_batched_ready_and_config() -> None:
    out = (
        f"{FACTS}\n{MARK}running-config\n{_batched(' zebra bgpd watchfrr staticd')}\n{MARK}end 0\n"
    )
    got = split_gathered(out, MARK)
    assert got == provision_mod.Gathered(facts=FACTS, running=CONFIG, ready={"frr": True})
    # bgpd down (zebra answers): not ready, the config still read
    out = f"{FACTS}\n{MARK}running-config\n{_batched(' zebra watchfrr staticd')}\n{MARK}end 0\n"
    got = split_gathered(out, MARK)
    assert got.ready == {"frr": False} and got.running == CONFIG
    # a word containing bgpd is not bgpd (grep -w)
    out = f"{FACTS}\n{MARK}running-config\n{_batched(' zebra bgpdx')}\n{MARK}end 0\n"
    assert split_gathered(out, MARK).ready == {"frr": False}


def test_split_gathered_batched_failures() -> None:
    # a vtysh without 'show daemons' stops at it (exit 1): not ready, no config
    stopped = "OpenWrt# show daemons\n% Unknown command: show daemons\n"
    got = split_gathered(f"{FACTS}\n{MARK}running-config\n{stopped}\n{MARK}end 1\n", MARK)
    assert got == provision_mod.Gathered(facts=FACTS, running=None, ready={"frr": False})
    # no daemon to talk to: nothing echoed, detection's facts stand
    gone = "Exiting: failed to connect to any daemons.\n"
    got = split_gathered(f"{FACTS}\n{MARK}running-config\n{gone}\n{MARK}end 1\n", MARK)
    assert got == provision_mod.Gathered(facts=FACTS, running=None, ready={})
    # the config part cut short, or vtysh's exit not 0
    short = _batched(" bgpd", config="hello\n")
    out = f"{FACTS}\n{MARK}running-config\n{short}\n{MARK}end 0\n"
    assert split_gathered(out, MARK).running is None
    out = f"{FACTS}\n{MARK}running-config\n{_batched(' bgpd')}\n{MARK}end 1\n"
    got = split_gathered(out, MARK)
    assert got.running is None and got.ready == {"frr": True}


APPLY_ECHO = """
Hello, this is FRRouting (version 8.4.4).
Copyright 1996-2005 Kunihiro Ishiguro, et al.

OpenWrt# configure terminal
OpenWrt(config)# router bgp 65000
OpenWrt(config-router)#  neighbor ROUTERCTL password s3cr3t
OpenWrt(config-router)# bogus line
% Unknown command: bogus line
OpenWrt(config-router)# end
OpenWrt# show running-config
"""


def test_split_read_back_after_the_apply() -> None:
    # what vtysh prints for "configure terminal ... end / show running-config" on stdin
    head, config = provision_mod.split_read_back(APPLY_ECHO + CONFIG + "OpenWrt# \n")
    assert config == CONFIG  # exactly what read_running gets, without the last prompt
    assert vtysh_errors(head) == ["'bogus line': % Unknown command: bogus line"]
    assert "Current configuration" not in head


def test_split_read_back_without_a_config() -> None:
    # no echo of the read (another vtysh), or no running config after it: read again
    assert provision_mod.split_read_back(CONFIG) == (CONFIG, None)
    text = APPLY_ECHO + "% Unknown command: show running-config\nOpenWrt# \n"
    head, config = provision_mod.split_read_back(text)
    assert config is None and "bogus line" in head
    # a config line that looks like the echo inside config mode is not the echo
    inside = "OpenWrt(config)# show running-config\n" + CONFIG
    assert provision_mod.split_read_back(inside)[1] is None


def test_batched_ready_command_is_the_ready_check() -> None:
    batched = [p for p in PROFILES.values() if p.ready_command]
    assert [p.name for p in batched] == ["frr"]
    for p in batched:
        assert f"vtysh -c '{p.ready_command}'" in p.ready_check
    for p in PROFILES.values():  # no suite's check starts vtysh without its init script
        assert p.ready_check.startswith(f"[ -x {p.init_script} ] && ")


class _LocalShell:
    """Runs each exec in the local sh (the lock script's real shell semantics)."""

    host = "local"

    def __init__(self) -> None:
        self.commands: list[tuple[str, bytes | None]] = []

    def run(self, command: str, *, stdin: bytes | None = None, timeout: float) -> CommandResult:
        self.commands.append((command, stdin))
        p = subprocess.run(
            ["sh", "-c", command],
            input=stdin or b"",
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        return CommandResult(p.returncode, p.stdout.decode(), p.stderr.decode())


def test_lock_travels_in_the_request_and_runs_then_only_once_held(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(provision_mod, "LOCK_PARENTS", (str(tmp_path / "a"), str(tmp_path / "b")))
    then = "echo ran-then\n" + "echo filler\n" * 200  # a long read: several KiB of stdin
    first = _LocalShell()
    lock = provision_mod.RouterLock(first)  # type: ignore[arg-type]
    res = lock.acquire(then=then)
    command, stdin = first.commands[0]
    # the lock alone in the exec request (under busybox nc's 1 KiB reads); the read on stdin
    assert "ran-then" not in command and len(command) < 850
    assert stdin == f"{provision_mod.GEN_BUMP}\n{then}\n".encode()
    assert res.stdout.startswith(f"acquired {tmp_path}/a/routerctl.lock\nran-then\n")
    assert (tmp_path / "a/routerctl.lock/owner").read_text().split()[1] == lock.token
    # every acquire bumps the generation next to the lock (the lock-free no-op read's check)
    assert (tmp_path / "a/routerctl.gen").read_text() == "1\n"
    # a second run is refused (exit 3: busy) and never runs its read, whose stdin it drains
    other = _LocalShell()
    with pytest.raises(RefusedError, match="router busy"):
        provision_mod.RouterLock(other).acquire(then=then)  # type: ignore[arg-type]
    assert (tmp_path / "a/routerctl.gen").read_text() == "1\n"  # refused: not bumped
    lock.release()
    assert not (tmp_path / "a/routerctl.lock").exists()
    again = provision_mod.RouterLock(_LocalShell())  # type: ignore[arg-type]
    again.acquire(then="true")
    assert (tmp_path / "a/routerctl.gen").read_text() == "2\n"
    again.release()


def test_guard_reports_the_lock_and_the_generations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lock-free no-op read's two looks: where a lock is held, and each parent's
    generation counter (run in the local sh)."""
    a, b = tmp_path / "a", tmp_path / "b"
    monkeypatch.setattr(provision_mod, "LOCK_PARENTS", (str(a), str(b)))

    def look() -> str:
        script = "\n".join([*provision_mod._guard_lines("@@M@@"), "rc_guard before"])
        return _LocalShell().run(script, timeout=10).stdout

    assert look() == "@@M@@guard before - ,,\n"  # no parent, no lock, no counter
    a.mkdir()
    (a / provision_mod.GEN_NAME).write_text("7\n")
    assert look() == "@@M@@guard before - 7,,\n"
    (b / provision_mod.LOCK_NAME).mkdir(parents=True)
    assert look() == f"@@M@@guard before {b} 7,,\n"


def test_no_op_read_without_the_lock_falls_back_when_a_run_held_or_took_it() -> None:
    """A lock seen at either look, or a generation that moved, or no guard lines at all:
    the lock-free read decides nothing (provision takes the lock and reads again)."""
    t = load_topology(ROOT / "examples" / "seed.yaml")
    r = t.routers[0]

    def answer(before: str, after: str) -> FakeTransport:
        def respond(command: str, stdin: bytes | None) -> CommandResult:
            marker = re.search(r'echo "(@@routerctl-[0-9a-f]+@@)guard', command)
            assert marker is not None
            m = marker.group(1)
            return CommandResult(0, f"{m}guard before {before}\n{m}guard after {after}\n", "")

        return FakeTransport("rtr", respond)

    for before, after in [
        ("/var/lock 3,,", "/var/lock 3,,"),
        ("- 3,,", "- 4,,"),
        ("- 3,,", "/var/lock 4,,"),
    ]:
        tr = answer(before, after)
        assert (
            provision_mod._noop_without_lock(tr, t, r, manage_firewall=False, progress=print)
            is None
        )
        assert tr.exec_count == 1
