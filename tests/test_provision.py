"""Provision helpers that need no router: session states, vtysh error echo, redaction."""

from __future__ import annotations

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
from routerctl.transport import CommandResult

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
    assert "ran-then" not in command and len(command) < 850 and stdin == f"{then}\n".encode()
    assert res.stdout.startswith(f"acquired {tmp_path}/a/routerctl.lock\nran-then\n")
    assert (tmp_path / "a/routerctl.lock/owner").read_text().split()[1] == lock.token
    # a second run is refused (exit 3: busy) and never runs its read, whose stdin it drains
    other = _LocalShell()
    with pytest.raises(RefusedError, match="router busy"):
        provision_mod.RouterLock(other).acquire(then=then)  # type: ignore[arg-type]
    lock.release()
    assert not (tmp_path / "a/routerctl.lock").exists()
