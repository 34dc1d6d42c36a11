"""The router namespace: an OpenWrt-like root (an overlay), Dropbear, the suite's feed
and files, the seed's hand configuration, and the SSH files that reach it.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from importlib.resources import files
from pathlib import Path

from routerctl.errors import LabError
from routerctl.lab import openwrt
from routerctl.lab.netns import poll, run
from routerctl.lab.spec import CLUSTER_ASN, ROUTER_ASN
from routerctl.lab.state import RunningLab, write_file
from routerctl.platform import FRR, QUAGGA

ROUTER_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
# name version installed-KB depends hook (see files/pkglib.sh)
FEEDS: dict[str, list[str]] = {
    "opkg-frr": [
        "frr-libfrr 8.5.4-1 1480 - none",
        "frr 8.5.4-1 120 frr-libfrr frr",
        "frr-zebra 8.5.4-1 610 frr frr_zebra",
        "frr-bgpd 8.5.4-1 1150 frr,frr-zebra frr_bgpd",
        "frr-staticd 8.5.4-1 90 frr none",
        "frr-watchfrr 8.5.4-1 80 frr none",
        "frr-vtysh 8.5.4-1 410 frr-libfrr frr_vtysh",
        "quagga 1.2.4-12 40 - quagga",
        "quagga-libzebra 1.2.4-12 420 quagga none",
        "quagga-zebra 1.2.4-12 190 quagga-libzebra quagga_zebra",
        "quagga-bgpd 1.2.4-12 340 quagga-libzebra quagga_bgpd",
        "quagga-vtysh 1.2.4-12 140 quagga-libzebra quagga_vtysh",
    ],
    "opkg-quagga": [
        "quagga 1.2.4-5 40 - quagga",
        "quagga-libzebra 1.2.4-5 420 quagga none",
        "quagga-zebra 1.2.4-5 190 quagga-libzebra quagga_zebra",
        "quagga-bgpd 1.2.4-5 340 quagga-libzebra quagga_bgpd",
        "quagga-vtysh 1.2.4-5 140 quagga-libzebra quagga_vtysh",
    ],
    "apk-frr": [
        "frr-libfrr 10.2.1-r1 1530 - none",
        "frr 10.2.1-r1 560 frr-libfrr frr:merged-vtysh",
        "frr-zebra 10.2.1-r1 640 frr frr_zebra",
        "frr-bgpd 10.2.1-r1 1210 frr,frr-zebra frr_bgpd",
        "frr-staticd 10.2.1-r1 95 frr none",
        "frr-watchfrr 10.2.1-r1 85 frr none",
    ],
}
# What "the suite is installed" means per variant (the packages a user would have).
INSTALLED = {
    "opkg-frr": ["frr", "frr-zebra", "frr-bgpd", "frr-vtysh"],
    "opkg-quagga": ["quagga", "quagga-zebra", "quagga-bgpd", "quagga-vtysh"],
    "apk-frr": ["frr", "frr-zebra", "frr-bgpd"],
}
RELEASE_INFO = {
    "23.05.5": ("r24106-10cc5fcd00", "x86/64", "x86_64"),
    "25.12.0": ("r31245-d6a2b12b3c", "x86/64", "x86_64"),
    "19.07.10": ("r11427-9ce6aa9d8d", "x86/64", "x86_64"),
}
FRR_DAEMONS = """\
# This file tells the frr package which daemons to start (routerctl lab).
zebra=yes
bgpd=no
ospfd=no
ospf6d=no
ripd=no
ripngd=no
isisd=no
pimd=no
ldpd=no
nhrpd=no
eigrpd=no
babeld=no
sharpd=no
pbrd=no
bfdd=no
fabricd=no
vrrpd=no
pathd=no
vtysh_enable=yes
zebra_options="  -A 127.0.0.1 -s 90000000"
bgpd_options="   -A 127.0.0.1"
"""
FRR_CONF = """\
frr defaults traditional
hostname OpenWrt
log file /tmp/frr.log informational
service integrated-vtysh-config
!
line vty
!
"""


def _whiteout(path: Path) -> None:
    """Hide ``path`` of the lower layer in the overlay (an overlayfs whiteout)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(0, 0))


def _resource(name: str) -> bytes:
    return files("routerctl.lab").joinpath("files").joinpath(name).read_bytes()


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
    if spec.openwrt is not None:
        write_file(upper / "etc/openwrt_release", openwrt.release_file(spec))
    else:
        release = "19.07.10" if spec.suite == "quagga" else spec.release
        revision, target, arch = RELEASE_INFO[release]
        write_file(
            upper / "etc/openwrt_release",
            f"DISTRIB_ID='OpenWrt'\nDISTRIB_RELEASE='{release}'\nDISTRIB_REVISION='{revision}'\n"
            f"DISTRIB_TARGET='{target}'\nDISTRIB_ARCH='{arch}'\n"
            f"DISTRIB_DESCRIPTION='OpenWrt {release} {revision}'\nDISTRIB_TAINTS=''\n",
        )
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
    # the suite is hidden until a package installs it
    for hidden in ("usr/bin/vtysh", "usr/lib/frr", "etc/frr", "etc/init.d/frr", "etc/quagga"):
        _whiteout(upper / hidden)
    for d in ("etc/rc.d", "etc/init.d"):
        (upper / d).mkdir(parents=True, exist_ok=True)
    if spec.openwrt is not None:  # the release's own userland, no stand-ins
        openwrt.prepare_upper(spec, upper, Path(lab.state.feed_root), lab.state.feed_apk_key)
        write_file(rdir / "boot.sh", openwrt.resource("boot.sh"), mode=0o755)
        write_file(rdir / "reaper.py", openwrt.resource("reaper.py"))
        return pubkey
    share = upper / "usr/share/routerctl-lab"
    variant = f"{spec.pkg}-{spec.suite}"
    write_file(share / "feed", "\n".join(FEEDS[variant]) + "\n")
    write_file(share / "pkglib.sh", _resource("pkglib.sh"))
    write_file(share / "init/frr", _resource("frr.init"), mode=0o755)
    write_file(share / "init/quagga", _resource("quagga.init"), mode=0o755)
    write_file(share / "quagga-vtysh", _resource("quagga-vtysh"), mode=0o755)
    write_file(share / "defaults/frr/daemons", FRR_DAEMONS)
    write_file(share / "defaults" / FRR.persisted_files[0].removeprefix("/etc/"), FRR_CONF)
    write_file(share / "defaults/frr/vtysh.conf", "service integrated-vtysh-config\n")
    write_file(share / "defaults/quagga/vtysh.conf", "no service integrated-vtysh-config\n")
    (share / "stash/frr").mkdir(parents=True, exist_ok=True)
    write_file(share / "stash/vtysh", "")
    write_file(upper / f"usr/bin/{spec.pkg}", _resource(spec.pkg), mode=0o755)
    if spec.uci:
        write_file(upper / "usr/bin/uci", _resource("uci"), mode=0o755)
    write_file(upper / "etc/init.d/cron", _resource("cron.init"), mode=0o755)
    (upper / "etc/crontabs").mkdir(parents=True, exist_ok=True)
    (upper / "var/log/routerctl-lab").mkdir(parents=True, exist_ok=True)
    write_file(rdir / "boot.sh", _resource("boot.sh"), mode=0o755)
    return pubkey


def start_holder(lab: RunningLab, router: str) -> int:
    rdir = lab.router_dir(router)
    log = open(rdir / "holder.log", "wb")  # noqa: SIM115 (handed to the child)
    # a release's router has its own PID namespace too: OpenWrt's init scripts find their
    # daemons with pidof, which must not see another lab's zebra
    pid_ns = ["--pid", "--fork"] if lab.spec.openwrt is not None else []
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
        if not pid_ns:
            return proc.pid
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
    spec = lab.spec
    variant = f"{spec.pkg}-{spec.suite}"
    start_dropbear(lab, router)
    if spec.openwrt is not None:
        openwrt.boot_services(lab, router)
        if spec.installed:
            openwrt.install_suite(lab, router)
        return
    lines = ["set -e"]
    if spec.installed:
        pkgs = " ".join(INSTALLED[variant])
        if spec.pkg == "opkg":
            lines += [f"opkg update >/dev/null && opkg install {pkgs} >/dev/null || exit 1"]
            lines += ["rm -rf /var/opkg-lists"]  # gone after a reboot on a real router
        else:
            lines += [f"apk update >/dev/null && apk add {pkgs} >/dev/null || exit 1"]
            lines += ["rm -f /var/cache/apk/routing.adb"]
        lines += [": > /var/log/routerctl-lab/pkg.log"]
    lab.router_sh("\n".join(lines), router=router, timeout=30)


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
    """The seed's hand configuration: neighbors with remote-as and description."""
    spec = lab.spec
    password = lab.password()
    cmds = [  # vtysh -f reads config lines (already in configure mode)
        f"router bgp {ROUTER_ASN}",
        f" bgp router-id {spec.router_addr(router)}",
        " no bgp ebgp-requires-policy",
    ]
    for n in spec.node_names():
        a = spec.node_addr(n)
        cmds += [f" neighbor {a} remote-as {CLUSTER_ASN}", f" neighbor {a} description {n}"]
        if password:
            cmds.append(f" neighbor {a} password {password}")
    cmds += ["exit", ""]
    if spec.suite == "quagga":
        enable = (
            "for d in zebra bgpd; do [ -f /etc/quagga/$d.conf ] || touch /etc/quagga/$d.conf; done"
            f"; chown frr:frr /etc/quagga/*.conf; {QUAGGA.init_script} restart"
        )
    else:
        enable = f"( {FRR.enable_script} ) >/dev/null; {FRR.init_script} restart"
    # the commands (maybe with the password) go through stdin into a 0600 file, never argv
    script = (
        f"set -e; {enable}\n"
        'set +e; umask 077; f=$(mktemp /tmp/seed.XXXXXX); cat > "$f"\n'
        'out=$(vtysh -f "$f" 2>&1); rc=$?; rm -f "$f"\n'
        '[ $rc = 0 ] || { echo "vtysh -f: $out" >&2; exit 1; }\n'
        "vtysh -c 'write memory' >/dev/null || { echo 'write memory failed' >&2; exit 1; }\n"
    )
    lab.router_sh(script, router=router, input="\n".join(cmds))


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
