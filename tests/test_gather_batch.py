"""The gather script's one vtysh start (issue 17): ``vtysh -E`` echo lines split the
outputs, a wrong suite guess costs one more exec (pinned), never a wrong parse."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from routerctl.ops import gather as ops_gather
from routerctl.topology import load_topology
from routerctl.transport.fake import FakeTransport

ROOT = Path(__file__).resolve().parent.parent


def test_split_echoed_outputs_and_early_stop() -> None:
    text = "warn\nrtr# show version\nFRRouting 8.4.4\nrtr# show a\nA1\nA2\nrtr# show b\n"
    lead, outs = ops_gather.split_echoed(text, ["show version", "show a", "show b", "show c"])
    assert lead == "warn"
    assert outs == ["FRRouting 8.4.4", "A1\nA2", ""]  # show c never ran
    # a line that only looks like an echo (another prompt) stays output
    lead, outs = ops_gather.split_echoed(
        "h# show version\nV\nx# show a\nh# show a\nA", ["show version", "show a"]
    )
    assert outs == ["V\nx# show a", "A"]


def test_wrong_guess_reruns_pinned_and_starts_vtysh_once_each() -> None:
    """pid dirs say FRR, vtysh says Quagga: a second exec with the Quagga batch."""
    t = load_topology(ROOT / "examples" / "seed.yaml")
    r = t.routers[0]
    summary = (
        ROOT / "fixtures/quagga/show_ip_bgp_summary/seed_openwrt_peers_active_never.raw"
    ).read_text()
    scripts: list[str] = []

    def respond(command: str, stdin: bytes | None) -> str:
        script = ops_gather.script_of(command, (stdin or b"").decode())
        scripts.append(script)
        mk = re.match(r"M=(\S+)", script).group(1)  # type: ignore[union-attr]
        guess = re.search(r"^S=(\w+)", script, re.M).group(1)  # type: ignore[union-attr]
        head = f"{mk} release\n{mk} daemons\nzebra 1\nbgpd 1\n{mk} batch {guess}\n"
        head += "OpenWrt# show version\nQuagga 1.2.4 (OpenWrt).\n"
        if guess == "frr":  # Quagga stops at the first JSON command
            return (
                head
                + "OpenWrt# show bgp ipv4 unicast summary json\n% Unknown command.\n"
                + (f"{mk} rc 1\n{mk} end\n")
            )
        pools = "".join(
            f"OpenWrt# show ip route {p} longer-prefixes\nOpenWrt# show ip bgp {p} longer-prefixes\n"
            for p in ("192.168.0.30/31", "192.168.0.32/28", "192.168.0.48/31")
        )
        return head + f"OpenWrt# show ip bgp summary\n{summary}\n{pools}{mk} rc 0\n{mk} end\n"

    tr = FakeTransport("rtr", respond)
    st = ops_gather.gather(tr, t, r)
    assert tr.exec_count == 2
    assert [re.search(r"^S=(\w+)", s, re.M).group(1) for s in scripts] == ["frr", "quagga"]  # type: ignore[union-attr]
    assert all(s.count("vtysh ") == 2 for s in scripts)  # one batch per suite, one runs
    assert st.suite == "quagga" and st.version == "Quagga 1.2.4 (OpenWrt)."
    assert st.summary is not None and st.summary.local_as == 65000


def test_guess_follows_the_pid_dirs() -> None:
    t = load_topology(ROOT / "examples" / "seed.yaml")
    script = ops_gather.build_script(t, t.routers[0], "@@M")
    assert "S=frr\n[ -d /var/run/frr ] || { [ -d /var/run/quagga ] && S=quagga; }" in script


def test_a_long_script_travels_in_two_messages_that_join_back() -> None:
    """Over ~MESSAGE_BYTES: the head in the exec request, the rest as stdin, cut only
    before a top-level block (an if/fi cut in two would not parse)."""
    t = load_topology(ROOT / "examples" / "seed.yaml")
    script = ops_gather.build_script(t, t.routers[0], "@@M")
    assert len(script) > ops_gather.MESSAGE_BYTES
    command, rest = ops_gather.exec_parts(script)
    assert command.startswith("sh -c ") and len(command) <= ops_gather.MESSAGE_BYTES
    assert rest.startswith("if ") and len(rest) < len(script)
    assert ops_gather.script_of(command, rest) == script
    assert ops_gather.exec_parts("echo hi\n") == ("sh -s", "echo hi\n")


def test_release_and_daemons_are_read_with_shell_builtins(tmp_path: Path) -> None:
    """The script's head (release file, daemons by pid file) in busybox ash, on files in
    tmp_path: the values come out right, including a pid file and a release file without a
    final newline, and no process is started for them (no cat, no command substitution)."""
    t = load_topology(ROOT / "examples" / "seed.yaml")
    script = ops_gather.build_script(t, t.routers[0], "@@M")
    head = script[: script.index("\nS=")] + '\necho "@@M end"\n'
    assert "cat " not in head and "$(" not in head
    release = tmp_path / "openwrt_release"
    release.write_text("DISTRIB_ID='OpenWrt'\nDISTRIB_RELEASE='23.05.5'\nDISTRIB_ARCH='x86_64'")
    frr, quagga = tmp_path / "frr", tmp_path / "quagga"
    frr.mkdir()
    (frr / "zebra.pid").write_text(str(os.getpid()))  # alive, no newline
    dead = subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True, check=True)
    (frr / "bgpd.pid").write_text(dead.stdout)  # that shell has exited
    head = (
        head.replace("/etc/openwrt_release", str(release))
        .replace("/var/run/frr", str(frr))
        .replace("/var/run/quagga", str(quagga))
    )
    out = subprocess.run(
        ["busybox", "ash", "-c", head], capture_output=True, text=True, check=True
    ).stdout
    sec = ops_gather.split_output(out, "@@M")
    assert sec["release"] == release.read_text()
    daemons = dict(line.split() for line in sec["daemons"].splitlines())
    assert daemons["zebra"] == "1" and daemons["bgpd"] == "0"
    assert set(daemons) == set(ops_gather.DAEMONS)
