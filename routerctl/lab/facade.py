"""Bring a lab up and down: network namespaces, an OpenWrt-like router, GoBGP nodes.

Everything a lab starts is recorded (PIDs, namespaces) in its state folder
``/run/routerctl-lab/NAME/`` and removed by ``down``, by PID and by name, never
touching another lab's things.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import stat
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from routerctl.errors import LabError, RouterctlError, UsageError
from routerctl.lab import gobgp
from routerctl.lab.spec import (
    CLIENT_ADDR,
    CLIENT_NET,
    CLIENT_ROUTER_ADDR,
    CLUSTER_ASN,
    LAB_ROOT,
    LAN,
    NAME_RE,
    PASSWORD_ENV,
    ROUTER_ASN,
    SERVICE_PORT,
    SERVICES,
    LabSpec,
)
from routerctl.topology import Secret, Topology

GOBGP_API = "127.0.0.1:50051"
ROUTER_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
TOOLS: tuple[str, ...] = ("ip", "nsenter", "unshare", "gobgpd", "gobgp", "dropbear", "busybox")
TOOLS += ("dropbearkey", "ssh-keygen", "vtysh")
STASH_PATHS = (Path("/usr/lib/frr/zebra"), Path("/usr/lib/frr/bgpd"), Path("/usr/bin/vtysh"))
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


def _log(progress: Callable[[str], None] | None, text: str) -> None:
    if progress is not None:
        progress(text)


def _run(
    cmd: Sequence[str],
    *,
    input: str | None = None,
    check: bool = True,
    timeout: float = 30.0,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    try:
        proc = subprocess.run(
            list(cmd),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=env,
        )
    except FileNotFoundError as exc:
        raise LabError(f"{cmd[0]} not found", hint="run scripts/setup as root") from exc
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"{' '.join(cmd[:6])} did not finish within {timeout:.0f}s") from exc
    if check and proc.returncode != 0:
        err = (proc.stderr or proc.stdout).strip().splitlines()
        last = err[-1] if err else f"exit {proc.returncode}"
        raise LabError(f"{' '.join(cmd[:6])} failed: {last}")
    return proc


def poll(
    condition: Callable[[], bool], *, timeout: float, interval: float = 0.05, what: str
) -> None:
    """Wait until ``condition()`` is true; LabError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return
        if time.monotonic() > deadline:
            raise LabError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def _process_token(pid: int) -> str:
    """``pid:start-time``: names one process even after its PID is reused ('' if gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return f"{pid}:{fh.read().rsplit(')', 1)[1].split()[19]}"
    except (OSError, IndexError):
        return ""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie of ours counts as gone
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def kill_pids(pids: Iterable[int], *, timeout: float = 3.0) -> list[int]:
    """SIGTERM, then SIGKILL what is left after ``timeout``; returns the PIDs killed."""
    live = sorted({p for p in pids if p > 1 and p != os.getpid() and _pid_alive(p)})
    for pid in live:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(_pid_alive(p) for p in live):
            break
        time.sleep(0.02)
    for pid in live:
        if _pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def gone() -> bool:
        for p in live:
            _reap(p)
        return not any(_pid_alive(p) for p in live)

    poll(gone, timeout=5, what="lab processes to exit")
    for pid in live:  # all dead now: reap those that are our children (no zombies left)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    return live


def check_environment() -> None:
    """Root and the lab's binaries, or a LabError saying how to get them."""
    if os.geteuid() != 0:
        raise LabError(
            "the lab needs root (network namespaces, mounts)", hint="run it with sudo or as root"
        )
    missing = [t for t in TOOLS if shutil.which(t) is None]
    missing += [str(p) for p in STASH_PATHS if not p.exists()]
    if missing:
        raise LabError(
            f"the lab needs {', '.join(missing)}",
            hint="install them with scripts/setup (apt: frr gobgpd dropbear-bin busybox)",
        )


def _netns_list() -> list[str]:
    proc = _run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in proc.stdout.splitlines() if line.strip()]


def _netns_pids(ns: str) -> list[int]:
    proc = _run(["ip", "netns", "pids", ns], check=False)
    return [int(p) for p in proc.stdout.split() if p.isdigit()]


def lab_netns(name: str, existing: Iterable[str] | None = None) -> list[str]:
    """This lab's namespaces that exist (exact pattern, so lab ``a`` never matches ``ab``)."""
    pattern = re.compile(rf"^{re.escape(name)}-(lan|rtr\d*|node\d+|client)$")
    return [ns for ns in (existing if existing is not None else _netns_list()) if pattern.match(ns)]


def _write(path: Path, text: str | bytes, *, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    path.chmod(mode)


def _whiteout(path: Path) -> None:
    """Hide ``path`` of the lower layer in the overlay (an overlayfs whiteout)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(0, 0))


def _resource(name: str) -> bytes:
    return files("routerctl.lab").joinpath("files").joinpath(name).read_bytes()


@dataclass
class LabState:
    """What ``up`` started, saved as ``state.json`` for ``down``/``status``."""

    spec: LabSpec
    holders: dict[str, int] = field(default_factory=dict)  # router -> namespace holder PID
    speakers: dict[str, int] = field(default_factory=dict)  # node -> gobgpd PID
    httpds: dict[str, int] = field(default_factory=dict)  # node -> HTTP server PID
    host_keys: dict[str, str] = field(default_factory=dict)  # router -> "ssh-ed25519 AAAA..."
    password_source: str | None = None  # "env" | "file"
    up_seconds: float = 0.0
    owner: str = field(default_factory=lambda: _process_token(os.getpid()))

    def save(self) -> None:
        data = {
            "spec": self.spec.to_json(),
            "holders": self.holders,
            "speakers": self.speakers,
            "httpds": self.httpds,
            "host_keys": self.host_keys,
            "password_source": self.password_source,
            "up_seconds": self.up_seconds,
            "owner": self.owner,
        }
        path = self.spec.state_dir / "state.json"
        tmp = path.with_name(f".state.{os.getpid()}.{threading.get_ident()}.json")
        _write(tmp, json.dumps(data, indent=2), mode=0o600)
        os.replace(tmp, path)  # atomic: a concurrent reader never sees half a file

    @classmethod
    def load(cls, name: str, *, root: Path = LAB_ROOT) -> LabState:
        path = root / name / "state.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise LabError(
                f"no lab named {name!r} is up ({path} is missing)",
                hint=f"start it with: routerctl lab up --name {name}",
            ) from exc
        except (OSError, ValueError) as exc:
            raise LabError(f"{path}: unreadable lab state ({exc})", hint="run lab down") from exc
        return cls(
            spec=LabSpec.from_json(data["spec"], root=root),
            holders={k: int(v) for k, v in data["holders"].items()},
            speakers={k: int(v) for k, v in data["speakers"].items()},
            httpds={k: int(v) for k, v in data["httpds"].items()},
            host_keys=dict(data["host_keys"]),
            password_source=data.get("password_source"),
            up_seconds=float(data.get("up_seconds", 0.0)),
            owner=str(data.get("owner", "")),
        )


class Lab:
    """A running lab (what ``up`` returns and ``Lab.attach(name)`` finds again)."""

    def __init__(self, state: LabState) -> None:
        self.state = state
        self.spec = state.spec

    @classmethod
    def attach(cls, name: str = "lab", *, root: Path = LAB_ROOT) -> Lab:
        if not NAME_RE.match(name):
            raise UsageError(f"bad lab name {name!r}", hint="1-12 lowercase letters and digits")
        return cls(LabState.load(name, root=root))

    # ---- paths -------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def state_dir(self) -> Path:
        return self.spec.state_dir

    @property
    def topology_file(self) -> Path:
        return self.spec.topology_file

    @property
    def ssh_config(self) -> Path:
        return self.spec.ssh_config

    def router_dir(self, router: str) -> Path:
        return self.state_dir / router

    def pkg_log(self, *, router: str | None = None) -> Path:
        """Every opkg/apk call on the router, one line each: ``<epoch> <tool> <args> rc=N``."""
        r = router or self.spec.router_names()[0]
        return self.router_dir(r) / "upper/var/log/routerctl-lab/pkg.log"

    def router_file(self, path: str, *, router: str | None = None) -> Path:
        """A path inside the router's root, readable from the host."""
        r = router or self.spec.router_names()[0]
        return Path(f"/proc/{self.state.holders[r]}/root") / path.lstrip("/")

    def topology(self) -> Topology:
        return self.spec.topology(password=self._password_secret())

    def _password_secret(self) -> Secret | None:
        src = self.state.password_source
        return self.spec.password_secret(env_set=src == "env") if src else None

    def password(self) -> str | None:
        secret = self._password_secret()
        return secret.resolve() if secret else None

    # ---- running things ----------------------------------------------------
    def _router(self, router: str | None) -> str:
        names = self.spec.router_names()
        if router is None:
            return names[0]
        if router not in names:
            raise UsageError(
                f"no router {router!r} in lab {self.name}", hint=f"routers: {', '.join(names)}"
            )
        return router

    def _node(self, node: str) -> str:
        if node not in self.spec.node_names():
            raise UsageError(
                f"no node {node!r} in lab {self.name}",
                hint=f"nodes: {', '.join(self.spec.node_names())}",
            )
        return node

    def router_cmd(self, *, router: str | None = None) -> list[str]:
        """argv prefix that runs a command inside the router (its namespaces and root)."""
        holder = self.state.holders[self._router(router)]
        return ["nsenter", "-t", str(holder), "-m", "-u", "-n", "-r", "-w", "--"]

    def router_sh(
        self,
        script: str,
        *,
        router: str | None = None,
        input: str | None = None,
        check: bool = True,
        timeout: float = 30.0,
    ) -> subprocess.CompletedProcess[str]:
        """Run a POSIX sh script in the router (busybox ash, as on OpenWrt)."""
        env = {"PATH": ROUTER_PATH, "HOME": "/root", "LANG": "C"}
        return _run(
            [*self.router_cmd(router=router), "/bin/sh", "-c", script],
            input=input,
            check=check,
            timeout=timeout,
            env=env,
        )

    def vtysh(self, *commands: str, router: str | None = None, check: bool = True) -> str:
        args: list[str] = []
        for c in commands:
            args += ["-c", c]
        env = {"PATH": ROUTER_PATH, "HOME": "/root", "LANG": "C"}
        proc = _run([*self.router_cmd(router=router), "vtysh", *args], check=check, env=env)
        return proc.stdout

    def netns_cmd(self, member: str) -> list[str]:
        return ["ip", "netns", "exec", self.spec.netns(member)]

    def client_cmd(self) -> list[str]:
        return self.netns_cmd("client")

    def curl(self, address: str, *, port: int = SERVICE_PORT, local_port: int | None = None) -> str:
        """HTTP GET from the client namespace; returns the body (the node's name)."""
        cmd = [*self.client_cmd(), "curl", "-sS", "--max-time", "3"]
        if local_port is not None:
            cmd += ["--local-port", str(local_port)]
        proc = _run([*cmd, f"http://{address}:{port}/"], check=True, timeout=10)
        return proc.stdout.strip()

    def bgp_summary(self, *, router: str | None = None) -> dict[str, Any]:
        """``show bgp summary json`` of the router's IPv4 unicast (empty if none)."""
        out = self.vtysh("show bgp summary json", router=router, check=False)
        try:
            data = json.loads(out or "{}")
        except ValueError:
            return {}
        if "ipv4Unicast" in data:
            data = data["ipv4Unicast"]
        return data if isinstance(data, dict) else {}

    def sessions(self, *, router: str | None = None) -> dict[str, str]:
        """Neighbor address -> BGP state, from the router."""
        peers = self.bgp_summary(router=router).get("peers", {})
        return {addr: str(p.get("state", "?")) for addr, p in peers.items()}

    def wait_established(self, *, router: str | None = None, timeout: float = 30.0) -> None:
        want = {str(self.spec.node_addr(n)) for n in self.spec.node_names()}

        def ok() -> bool:
            states = self.sessions(router=router)
            return all(states.get(a) == "Established" for a in want)

        poll(ok, timeout=timeout, interval=0.2, what=f"BGP sessions Established on {want}")

    # ---- faults ----------------------------------------------------------------
    def node_link(self, node: str, *, up: bool) -> None:
        """Cut (or restore) a node's cable at the LAN switch."""
        state = "up" if up else "down"
        _run(["ip", "-n", self.spec.netns("lan"), "link", "set", self._node(node), state])

    def speaker_running(self, node: str) -> bool:
        pid = self.state.speakers.get(self._node(node))
        return pid is not None and _pid_alive(pid)

    def stop_speaker(self, node: str) -> None:
        pid = self.state.speakers.pop(self._node(node), None)
        if pid is not None:
            kill_pids([pid])
        self.state.save()

    def start_speaker(self, node: str) -> None:
        if self.speaker_running(node):
            return
        self.state.speakers[node] = _start_speaker(self, node)
        self.state.save()
        _announce(self, [node])

    # ---- status ----------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        existing = set(_netns_list())
        routers: dict[str, Any] = {}
        for r in self.spec.router_names():
            holder = self.state.holders.get(r, 0)
            up = _pid_alive(holder)
            daemons = {"dropbear": False, "zebra": False, "bgpd": False}
            if up:
                for d, pidfile in (
                    ("dropbear", "run/dropbear.pid"),
                    ("zebra", "run/frr/zebra.pid"),
                    ("bgpd", "run/frr/bgpd.pid"),
                ):
                    try:
                        text = (
                            self.router_file(pidfile, router=r).read_text(encoding="ascii").strip()
                        )
                        daemons[d] = _pid_alive(int(text))
                    except (OSError, ValueError):
                        daemons[d] = False
            sessions = self.sessions(router=r) if up and daemons["bgpd"] else {}
            routers[r] = {
                "netns": self.spec.netns(r),
                "address": str(self.spec.router_addr(r)),
                "up": up,
                "daemons": daemons,
                "sessions": sessions,
            }
        nodes: dict[str, Any] = {}
        for n in self.spec.node_names():
            link = _run(["ip", "-n", self.spec.netns("lan"), "-br", "link", "show", n], check=False)
            nodes[n] = {
                "netns": self.spec.netns(n),
                "address": str(self.spec.node_addr(n)),
                "link": "up" if " UP " in f" {link.stdout} " else "down",
                "speaker": self.speaker_running(n),
                "http": _pid_alive(self.state.httpds.get(n, 0)),
            }
        return {
            "name": self.name,
            "state_dir": str(self.state_dir),
            "topology": str(self.topology_file),
            "spec": self.spec.to_json(),
            "namespaces": {ns: ns in existing for ns in self.spec.all_netns()},
            "routers": routers,
            "nodes": nodes,
        }

    def configure_seed(self, *, router: str | None = None) -> None:
        """Configure the router by hand as in the seed (vtysh, then write memory)."""
        configure_seed(self, router=self._router(router))


# ---------------------------------------------------------------------------
# up / down
# ---------------------------------------------------------------------------


def down(name: str = "lab", *, root: Path = LAB_ROOT) -> dict[str, int]:
    """Remove every namespace, mount and process of lab ``name``; idempotent."""
    check_environment()
    if not NAME_RE.match(name):
        raise UsageError(f"bad lab name {name!r}", hint="1-12 lowercase letters and digits")
    state_dir = root / name
    pids: set[int] = set()
    try:
        st = LabState.load(name, root=root)
        pids |= set(st.holders.values()) | set(st.speakers.values()) | set(st.httpds.values())
    except LabError:
        pass
    namespaces = lab_netns(name)
    for ns in namespaces:
        pids |= set(_netns_pids(ns))
    killed = kill_pids(pids)
    for ns in namespaces:
        _run(["ip", "netns", "del", ns], check=False)
    mounts = _mounts_under(state_dir)
    for m in sorted(mounts, key=len, reverse=True):
        _run(["umount", "-l", m], check=False)
    if state_dir.exists():
        shutil.rmtree(state_dir, ignore_errors=True)
    return {"processes": len(killed), "namespaces": len(namespaces), "mounts": len(mounts)}


def _mounts_under(path: Path) -> list[str]:
    prefix = str(path) + "/"
    out = []
    with open("/proc/self/mountinfo", encoding="utf-8") as fh:
        for line in fh:
            target = line.split()[4]
            if target.startswith(prefix) or target == str(path):
                out.append(target)
    return out


def up(spec: LabSpec, *, progress: Callable[[str], None] | None = None) -> Lab:
    """Build the lab from nothing (cleaning a crashed one of the same name first)."""
    check_environment()
    t0 = time.monotonic()
    if spec.state_dir.exists() or lab_netns(spec.name):
        _refuse_if_in_use(spec)
        _log(progress, f"cleaning leftovers of lab {spec.name}")
        down(spec.name, root=spec.root)
    if spec.configure and not spec.installed:
        raise UsageError("--configure needs the suite installed", hint="drop --no-suite")
    spec.state_dir.mkdir(parents=True, exist_ok=False)
    spec.state_dir.chmod(0o700)
    state = LabState(spec=spec)
    lab = Lab(state)
    try:
        _build(lab, progress)
    except BaseException:  # leave nothing half-built behind, then report the first error
        with contextlib.suppress(RouterctlError):
            down(spec.name, root=spec.root)
        raise
    state.up_seconds = round(time.monotonic() - t0, 2)
    state.save()
    return lab


def list_labs(*, root: Path = LAB_ROOT) -> list[dict[str, Any]]:
    """Every lab with a state folder: name, size, whether it runs, whether its owner lives."""
    out: list[dict[str, Any]] = []
    if not root.is_dir():
        return out
    for entry in sorted(root.iterdir()):
        try:
            st = LabState.load(entry.name, root=root)
        except (LabError, UsageError, KeyError, TypeError, ValueError):
            continue
        pid = st.owner.split(":", 1)[0]
        out.append(
            {
                "name": st.spec.name,
                "routers": st.spec.routers,
                "nodes": st.spec.nodes,
                "running": all(_pid_alive(p) for p in st.holders.values()),
                "owner_pid": int(pid) if pid.isdigit() else None,
                "owner_alive": bool(pid.isdigit() and _process_token(int(pid)) == st.owner),
            }
        )
    return out


def _refuse_if_in_use(spec: LabSpec) -> None:
    """Another live process (a concurrent test run) brought this lab up: never clobber it."""
    try:
        owner = LabState.load(spec.name, root=spec.root).owner
    except LabError:
        return  # no readable state: leftovers of a crash
    pid = owner.split(":", 1)[0]
    if not owner or not pid.isdigit() or int(pid) == os.getpid():
        return
    if _process_token(int(pid)) == owner:
        raise LabError(
            f"lab {spec.name} is in use by process {pid}, which brought it up and is still running",
            hint=f"pick another --name, or run: routerctl lab down --name {spec.name}",
        )


def _build(lab: Lab, progress: Callable[[str], None] | None) -> None:
    spec, state = lab.spec, lab.state
    # secrets and keys
    password: str | None = None
    if spec.password:
        env_value = os.environ.get(PASSWORD_ENV)
        if env_value:
            state.password_source, password = "env", env_value
        else:
            password = secrets.token_urlsafe(18)
            _write(spec.password_file, password + "\n", mode=0o600)
            state.password_source = "file"  # noqa: S105 (a source, not a secret)
    topology = lab.topology()
    doc = spec.topology_document(password=lab._password_secret())
    _write(spec.topology_file, yaml.safe_dump(doc, sort_keys=False), mode=0o644)
    _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"routerctl-lab-{spec.name}",
          "-f", str(spec.identity_file)])  # fmt: skip
    state.save()

    _log(progress, "network namespaces")
    _network(spec)

    _log(progress, "routers")

    def router(r: str) -> None:
        state.host_keys[r] = _prepare_router(lab, r)
        state.holders[r] = _start_holder(lab, r)
        _boot_router(lab, r)

    _each(router, spec.router_names())
    state.save()
    _write_ssh_files(lab)

    _log(progress, "nodes (GoBGP speakers, HTTP)")
    manifests = _manifests(topology, with_secret=password is not None)
    for n in spec.node_names():
        _prepare_node(lab, n, manifests, password)
        state.speakers[n] = _start_speaker(lab, n)
        state.httpds[n] = _start_httpd(lab, n)
        state.save()
    _announce(lab, spec.node_names())
    if spec.configure:
        _log(progress, "configuring the router as in the seed")
        _each(lambda r: configure_seed(lab, router=r), spec.router_names())


def _each(work: Callable[[str], None], items: Sequence[str]) -> None:
    """``work`` for every item, concurrently (routers boot in parallel); first error wins."""
    if len(items) == 1:
        work(items[0])
        return
    with ThreadPoolExecutor(max_workers=min(8, len(items))) as pool:
        for future in [pool.submit(work, i) for i in items]:
            future.result()


def _manifests(topology: Topology, *, with_secret: bool) -> list[dict[str, Any]]:
    # the cluster side, exactly as users apply it
    from routerctl.render.metallb import render_crds  # noqa: PLC0415 (lazy: heavy, optional)

    return render_crds(topology, include_secret=with_secret)


def _network(spec: LabSpec) -> None:
    lan = spec.netns("lan")
    host = [f"netns add {ns}" for ns in spec.all_netns()]
    per_ns: dict[str, list[str]] = {ns: ["link set lo up"] for ns in spec.all_netns()}
    per_ns[lan] += ["link add sw type bridge", "link set sw up"]
    plen = LAN.prefixlen
    for i, r in enumerate(spec.router_names()):
        ns = spec.netns(r)
        host.append(f"link add lan0 netns {ns} type veth peer name {r} netns {lan}")
        per_ns[lan] += [f"link set {r} master sw", f"link set {r} up"]
        per_ns[ns] += [
            "link add br-lan type bridge",
            "link set lan0 master br-lan",
            "link set lan0 up",
            "link set br-lan up",
            f"addr add {spec.router_addr(r)}/{plen} dev br-lan",
        ]
        if i == 0:
            client = spec.netns("client")
            host.append(f"link add cli0 netns {ns} type veth peer name eth0 netns {client}")
            per_ns[ns] += [
                f"addr add {CLIENT_ROUTER_ADDR}/{CLIENT_NET.prefixlen} dev cli0",
                "link set cli0 up",
            ]
            per_ns[client] += [
                f"addr add {CLIENT_ADDR}/{CLIENT_NET.prefixlen} dev eth0",
                "link set eth0 up",
                f"route add default via {CLIENT_ROUTER_ADDR}",
            ]
    first_router = spec.router_addr(spec.router_names()[0])
    for n in spec.node_names():
        ns = spec.netns(n)
        host.append(f"link add eth0 netns {ns} type veth peer name {n} netns {lan}")
        per_ns[lan] += [f"link set {n} master sw", f"link set {n} up"]
        per_ns[ns] += [
            f"addr add {spec.node_addr(n)}/{plen} dev eth0",
            "link set eth0 up",
            f"route add default via {first_router}",
        ]
        per_ns[ns] += [f"addr add {addr}/32 dev lo" for _, _, addr in SERVICES]
    _run(["ip", "-batch", "-"], input="\n".join(host) + "\n")
    for ns, lines in per_ns.items():
        _run(["ip", "-n", ns, "-batch", "-"], input="\n".join(lines) + "\n")
    sysctl = {
        "net.ipv4.conf.all.rp_filter": "0",
        "net.ipv4.conf.default.rp_filter": "0",
    }
    for ns in spec.all_netns():
        values = dict(sysctl)
        if ns in {spec.netns(r) for r in spec.router_names()}:
            values["net.ipv4.ip_forward"] = "1"
            values["net.ipv4.fib_multipath_hash_policy"] = "1"  # L4 hashing: ECMP observable
        _run(
            [
                "ip",
                "netns",
                "exec",
                ns,
                "sysctl",
                "-q",
                "-w",
                *(f"{k}={v}" for k, v in values.items()),
            ]
        )


def _prepare_router(lab: Lab, router: str) -> str:
    """Write the router's overlay (upper) layer; returns its SSH host public key."""
    spec = lab.spec
    rdir = lab.router_dir(router)
    upper = rdir / "upper"
    for d in ("work", "rootfs", "home/.ssh", "upper/overlay"):
        (rdir / d).mkdir(parents=True, exist_ok=True)
    (rdir / "home").chmod(0o700)
    (rdir / "home/.ssh").chmod(0o700)
    pub = spec.identity_file.with_suffix(".pub").read_text(encoding="utf-8")
    _write(rdir / "home/.ssh/authorized_keys", pub, mode=0o600)
    release = "19.07.10" if spec.suite == "quagga" else spec.release
    revision, target, arch = RELEASE_INFO[release]
    _write(
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
    _write(upper / "etc/passwd", "\n".join(passwd) + "\n")
    shells = Path("/etc/shells").read_text(encoding="utf-8") if Path("/etc/shells").exists() else ""
    _write(upper / "etc/shells", shells + "/bin/ash\n")
    _write(upper / "etc/hostname", "OpenWrt\n")
    (upper / "etc/config").mkdir(parents=True, exist_ok=True)
    key = upper / "etc/dropbear/dropbear_ed25519_host_key"
    key.parent.mkdir(parents=True, exist_ok=True)
    _run(["dropbearkey", "-t", "ed25519", "-f", str(key)])
    pubkey = ""
    for line in _run(["dropbearkey", "-y", "-f", str(key)]).stdout.splitlines():
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
    share = upper / "usr/share/routerctl-lab"
    variant = f"{spec.pkg}-{spec.suite}"
    _write(share / "feed", "\n".join(FEEDS[variant]) + "\n")
    _write(share / "pkglib.sh", _resource("pkglib.sh"))
    _write(share / "init/frr", _resource("frr.init"), mode=0o755)
    _write(share / "init/quagga", _resource("quagga.init"), mode=0o755)
    _write(share / "quagga-vtysh", _resource("quagga-vtysh"), mode=0o755)
    _write(share / "defaults/frr/daemons", FRR_DAEMONS)
    _write(share / "defaults/frr/frr.conf", FRR_CONF)
    _write(share / "defaults/frr/vtysh.conf", "service integrated-vtysh-config\n")
    _write(share / "defaults/quagga/vtysh.conf", "no service integrated-vtysh-config\n")
    (share / "stash/frr").mkdir(parents=True, exist_ok=True)
    _write(share / "stash/vtysh", "")
    _write(upper / f"usr/bin/{spec.pkg}", _resource(spec.pkg), mode=0o755)
    if spec.uci:
        _write(upper / "usr/bin/uci", _resource("uci"), mode=0o755)
    _write(upper / "etc/init.d/cron", _resource("cron.init"), mode=0o755)
    (upper / "etc/crontabs").mkdir(parents=True, exist_ok=True)
    (upper / "var/log/routerctl-lab").mkdir(parents=True, exist_ok=True)
    _write(rdir / "boot.sh", _resource("boot.sh"), mode=0o755)
    return pubkey


def _start_holder(lab: Lab, router: str) -> int:
    rdir = lab.router_dir(router)
    log = open(rdir / "holder.log", "wb")  # noqa: SIM115 (handed to the child)
    cmd = [
        "ip", "netns", "exec", lab.spec.netns(router),
        "unshare", "--mount", "--uts", "--propagation", "private",
        "/bin/sh", str(rdir / "boot.sh"), str(rdir), str(lab.spec.overlay_free_kb),
    ]  # fmt: skip
    with log:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )

    def ready() -> bool:
        if proc.poll() is not None:
            text = (rdir / "holder.log").read_text(errors="replace").strip().splitlines()
            raise LabError(
                f"router {router}: building its root failed: "
                f"{text[-1] if text else proc.returncode}"
            )
        return (rdir / "ready").exists()

    poll(ready, timeout=10, what=f"router {router}'s root")
    return proc.pid


def _boot_router(lab: Lab, router: str) -> None:
    spec = lab.spec
    variant = f"{spec.pkg}-{spec.suite}"
    _start_dropbear(lab, router)
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


def _start_dropbear(lab: Lab, router: str) -> None:
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
            text = logfile.read_text(errors="replace").strip().splitlines()
            raise LabError(f"dropbear on {router} exited: {text[-1] if text else proc.returncode}")
        return lab.router_file("run/dropbear.pid", router=router).exists()

    poll(listening, timeout=5, what=f"dropbear on {router}")


def configure_seed(lab: Lab, *, router: str) -> None:
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
            "; chown frr:frr /etc/quagga/*.conf; /etc/init.d/quagga restart"
        )
    else:
        enable = "sed -i 's/^bgpd=no/bgpd=yes/' /etc/frr/daemons; /etc/init.d/frr restart"
    # the commands (maybe with the password) go through stdin into a 0600 file, never argv
    script = (
        f"set -e; {enable}\n"
        'set +e; umask 077; f=$(mktemp /tmp/seed.XXXXXX); cat > "$f"\n'
        'out=$(vtysh -f "$f" 2>&1); rc=$?; rm -f "$f"\n'
        '[ $rc = 0 ] || { echo "vtysh -f: $out" >&2; exit 1; }\n'
        "vtysh -c 'write memory' >/dev/null || { echo 'write memory failed' >&2; exit 1; }\n"
    )
    lab.router_sh(script, router=router, input="\n".join(cmds))


def _write_ssh_files(lab: Lab) -> None:
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
    _write(spec.ssh_config, "\n".join(cfg), mode=0o600)
    _write(spec.known_hosts, "\n".join(hosts) + "\n", mode=0o600)


def _prepare_node(
    lab: Lab, node: str, manifests: list[dict[str, Any]], password: str | None
) -> None:
    spec = lab.spec
    ndir = lab.state_dir / node
    addr = str(spec.node_addr(node))
    config = gobgp.speaker_config(
        manifests,
        node_name=node,
        node_address=addr,
        service_ips=[str(a) for _, _, a in SERVICES],
        password=password,
    )
    _write(ndir / "gobgpd.toml", gobgp.render_toml(config, listen=addr), mode=0o600)
    _write(
        ndir / "announce.json", json.dumps([gobgp.rib_add_args(a) for a in config.announcements])
    )
    _write(ndir / "www/index.html", f"{node}\n")


def _start_speaker(lab: Lab, node: str) -> int:
    ndir = lab.state_dir / node
    log = open(ndir / "gobgpd.log", "ab")  # noqa: SIM115 (handed to the child)
    cmd = [
        *lab.netns_cmd(node),
        "gobgpd", "-f", str(ndir / "gobgpd.toml"), "-t", "toml", "-p", "-l", "info",
        f"--api-hosts={GOBGP_API}", "--pprof-disable",
    ]  # fmt: skip
    with log:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )
    return proc.pid


def _start_httpd(lab: Lab, node: str) -> int:
    ndir = lab.state_dir / node
    cmd = [*lab.netns_cmd(node), "busybox", "httpd", "-f", "-p", str(SERVICE_PORT)]
    cmd += ["-h", str(ndir / "www")]
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    return proc.pid


def _announce(lab: Lab, nodes: Sequence[str]) -> None:
    """Add each node's announcements once its gobgpd API answers."""
    host, port = GOBGP_API.split(":")
    for n in nodes:
        ndir = lab.state_dir / n
        base = [*lab.netns_cmd(n), "gobgp", "-u", host, "-p", port]
        pid = lab.state.speakers[n]

        def api_up(base: list[str] = base, pid: int = pid, node: str = n) -> bool:
            if not _pid_alive(pid):
                log = (lab.state_dir / node / "gobgpd.log").read_text(errors="replace")
                tail = log.strip().splitlines()[-1:] or ["no output"]
                raise LabError(f"gobgpd on {node} exited: {tail[0]}")
            return _run([*base, "global"], check=False, timeout=5).returncode == 0

        poll(api_up, timeout=10, interval=0.05, what=f"gobgpd's API on {n}")
        for args in json.loads((ndir / "announce.json").read_text()):
            _run([*base, "global", "rib", *args])
