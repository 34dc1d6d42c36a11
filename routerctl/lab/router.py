"""The router namespace: an OpenWrt-like root (an overlay), Dropbear, the suite's feed
and files, the seed's hand configuration, and the SSH files that reach it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from routerctl.errors import LabError
from routerctl.lab import firewall, openwrt
from routerctl.lab.netns import poll, run
from routerctl.lab.spec import CLUSTER_ASN, LAN, ROUTER_ASN
from routerctl.lab.state import RunningLab, write_file
from routerctl.platform import profile

ROUTER_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def prepare_router(lab: RunningLab, router: str) -> str:
    """Write the router's overlay (upper) layer; returns its SSH host public key."""
    spec = lab.spec
    rdir = lab.router_dir(router)
    upper = rdir / "upper"
    for d in ("work", "rootfs", "home/.ssh", "upper/overlay"):
        (rdir / d).mkdir(parents=True, exist_ok=True)
    (rdir / "home").chmod(0o700)
    (rdir / "home/.ssh").chmod(0o700)
    pub = spec.identity_file.with_suffix(".pub").read_text(encoding="utf-8")
    write_file(rdir / "home/.ssh/authorized_keys", pub, mode=0o600)
    write_file(upper / "etc/openwrt_release", openwrt.release_file(spec))
    passwd = []
    for line in Path("/etc/passwd").read_text(encoding="utf-8").splitlines():
        parts = line.split(":")
        if parts and parts[0] == "root" and len(parts) == 7:
            parts[5], parts[6] = "/root", "/bin/ash"
        passwd.append(":".join(parts))
    write_file(upper / "etc/passwd", "\n".join(passwd) + "\n")
    shells = Path("/etc/shells").read_text(encoding="utf-8") if Path("/etc/shells").exists() else ""
    write_file(upper / "etc/shells", shells + "/bin/ash\n")
    write_file(upper / "etc/hostname", "OpenWrt\n")
    (upper / "etc/config").mkdir(parents=True, exist_ok=True)
    key = upper / "etc/dropbear/dropbear_ed25519_host_key"
    key.parent.mkdir(parents=True, exist_ok=True)
    run(["dropbearkey", "-t", "ed25519", "-f", str(key)])
    pubkey = ""
    for line in run(["dropbearkey", "-y", "-f", str(key)]).stdout.splitlines():
        if line.startswith("ssh-ed25519 "):
            pubkey = " ".join(line.split()[:2])
    # busybox as the shell, as on OpenWrt
    for link in ("ash", "sh"):
        (upper / "usr/bin" / link).parent.mkdir(parents=True, exist_ok=True)
        os.symlink("busybox", upper / "usr/bin" / link)
    for d in ("etc/rc.d", "etc/init.d"):
        (upper / d).mkdir(parents=True, exist_ok=True)
    # OpenWrt's userland (real opkg/apk, uci, crond), Debian's FRR hidden: the suite comes
    # from the lab's feed
    openwrt.prepare_upper(spec, upper, Path(lab.state.feed_root), lab.state.feed_apk_key)
    if spec.firewall is not None:  # uci network + firewall, fw4's ruleset at boot
        firewall.prepare_upper(
            upper,
            router_addr=str(spec.router_addr(router)),
            prefixlen=LAN.prefixlen,
            client=router == spec.router_names()[0],
        )
    write_file(rdir / "boot.sh", openwrt.resource("boot.sh"), mode=0o755)
    write_file(rdir / "reaper.py", openwrt.resource("reaper.py"))
    return pubkey


def start_holder(lab: RunningLab, router: str) -> int:
    rdir = lab.router_dir(router)
    log = open(rdir / "holder.log", "wb")  # noqa: SIM115 (handed to the child)
    # the router has its own PID namespace too: OpenWrt's init scripts find their daemons
    # with pidof, which must not see another lab's zebra
    pid_ns = ["--pid", "--fork"]
    cmd = [
        "ip", "netns", "exec", lab.spec.netns(router),
        "unshare", "--mount", "--uts", *pid_ns, "--propagation", "private",
        "/bin/sh", str(rdir / "boot.sh"), str(rdir), str(lab.spec.overlay_free_kb),
    ]  # fmt: skip
    with log:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )

    def holder() -> int:
        # the holder is unshare's child (PID 1 of the router's PID namespace)
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        if not children:
            raise LabError(f"router {router}: its PID namespace has no process")
        return int(children[0])

    def ready() -> bool:
        if proc.poll() is not None:
            text = (rdir / "holder.log").read_text(errors="replace").strip().splitlines()
            raise LabError(
                f"router {router}: building its root failed: "
                f"{text[-1] if text else proc.returncode}"
            )
        # boot.sh touches "ready" just before it execs chroot; until the chroot has
        # happened the holder's root (what nsenter -r enters) is still the host's /, where
        # a command run "in the router" (dropbear: "No hostkeys available") finds the
        # host's files. Under load that gap was long enough to hit.
        return (rdir / "ready").exists() and _own_root(holder())

    poll(ready, timeout=10, what=f"router {router}'s root")
    return holder()


def _own_root(pid: int) -> bool:
    """Whether process ``pid`` has left the host's root (its chroot has happened)."""
    try:
        root = os.stat(f"/proc/{pid}/root")
    except OSError:
        return False
    host = os.stat("/")
    return (root.st_dev, root.st_ino) != (host.st_dev, host.st_ino)


def boot_router(lab: RunningLab, router: str) -> None:
    start_dropbear(lab, router)
    openwrt.boot_services(lab, router)
    if lab.spec.installed:
        openwrt.install_suite(lab, router)


def start_dropbear(lab: RunningLab, router: str) -> None:
    """Dropbear on the router's LAN address (foreground, so its errors reach its log)."""
    addr = lab.spec.router_addr(router)
    logfile = lab.router_dir(router) / "dropbear.log"
    cmd = [
        *lab.router_cmd(router=router),
        "dropbear", "-F", "-E", "-s", "-r", "/etc/dropbear/dropbear_ed25519_host_key",
        "-p", f"{addr}:22", "-P", "/var/run/dropbear.pid",
    ]  # fmt: skip
    env = {"PATH": ROUTER_PATH, "HOME": "/root", "LANG": "C"}
    with open(logfile, "ab") as log:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, start_new_session=True
        )

    def listening() -> bool:
        if proc.poll() is not None:
            # the log goes with the state folder when the failed up cleans up: quote it whole
            lines = logfile.read_text(errors="replace").strip().splitlines()[-20:]
            log = " | ".join(line.strip() for line in lines) or "(its log is empty)"
            raise LabError(f"dropbear on {router} exited with {proc.returncode}: {log}")
        return lab.router_file("run/dropbear.pid", router=router).exists()

    poll(listening, timeout=5, what=f"dropbear on {router}")


def configure_seed(lab: RunningLab, *, router: str) -> None:
    """The seed's hand configuration: neighbors with remote-as and description, through the
    suite's own files, init script and save command (its platform profile)."""
    spec = lab.spec
    suite = profile(spec.suite)
    password = lab.password()
    cmds = [f"router bgp {ROUTER_ASN}", f" bgp router-id {spec.router_addr(router)}"]
    if suite.name == "frr":
        cmds.append(" no bgp ebgp-requires-policy")
    for n in spec.node_names():
        a = spec.node_addr(n)
        cmds += [f" neighbor {a} remote-as {CLUSTER_ASN}", f" neighbor {a} description {n}"]
        if password:
            cmds.append(f" neighbor {a} password {password}")
    cmds += ["exit", ""]
    # FRR's vtysh reads config lines with -f (exit 1 on a bad one); Quagga's has no -f:
    # config on stdin (which exits 0 after a bad line: the neighbors are checked below)
    load = 'vtysh -f "$f"' if suite.name == "frr" else 'vtysh < "$f"'
    if suite.name != "frr":
        cmds.insert(0, "configure terminal")
    want = " ".join(f"'neighbor {spec.node_addr(n)} remote-as'" for n in spec.node_names())
    # the commands (maybe with the password) go through stdin into a 0600 file, never argv
    script = (
        # the daemons inherit the init script's stdout/stderr: a file, never our pipe
        f"set -e; ( {suite.enable_script} ) >/dev/null\n"
        f"{suite.init_script} restart >/tmp/routerctl-lab-seed.log 2>&1\n"
        "n=0; until " + suite.ready_check + "; do\n"
        "  n=$((n + 1)); [ $n -lt 150 ] || { echo 'bgpd did not come up' >&2; exit 1; }\n"
        "  usleep 100000\n"
        "done\n"
        'set +e; umask 077; f=$(mktemp /tmp/seed.XXXXXX); cat > "$f"\n'
        f'out=$({load} 2>&1); rc=$?; rm -f "$f"\n'
        '[ $rc = 0 ] || { echo "vtysh: $out" >&2; exit 1; }\n'
        "run=$(vtysh -c 'show running-config')\n"
        f"for w in {want}; do\n"
        '  case $run in *"$w"*) ;; *) echo "vtysh: $w missing: $out" >&2; exit 1 ;; esac\n'
        "done\n"
        f"vtysh -c '{suite.save_command}' >/dev/null || "
        f"{{ echo '{suite.save_command} failed' >&2; exit 1; }}\n"
    )
    lab.router_sh(script, router=router, input="\n".join(cmds), timeout=60)


def write_ssh_files(lab: RunningLab) -> None:
    spec = lab.spec
    ip, nc = shutil.which("ip") or "ip", shutil.which("busybox") or "busybox"
    cfg, hosts = [], []
    for r in spec.router_names():
        addr = spec.router_addr(r)
        cfg += [
            f"Host {r}",
            f"  HostName {addr}",
            "  Port 22",
            "  User root",
            f"  IdentityFile {spec.identity_file}",
            "  IdentitiesOnly yes",
            f"  UserKnownHostsFile {spec.known_hosts}",
            "  StrictHostKeyChecking yes",
            f"  ProxyCommand {ip} netns exec {spec.netns(r)} {nc} nc %h %p",
            "",
        ]
        hosts.append(f"{r},{addr} {lab.state.host_keys[r]}")
    write_file(spec.ssh_config, "\n".join(cfg), mode=0o600)
    write_file(spec.known_hosts, "\n".join(hosts) + "\n", mode=0o600)
