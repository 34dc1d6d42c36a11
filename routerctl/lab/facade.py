"""Bring a lab up and down: network namespaces, an OpenWrt-like router, GoBGP nodes.

Everything a lab starts is recorded (PIDs, namespaces) in its state folder
``/run/routerctl-lab/NAME/`` and removed by ``down``, by PID and by name, never
touching another lab's things.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

from routerctl.errors import LabError, RouterctlError, UsageError
from routerctl.lab import firewall
from routerctl.lab.netns import (
    add_node_network,
    build_network,
    kill_pids,
    lab_netns,
    mounts_under,
    netns_list,
    netns_pids,
    pid_alive,
    poll,
    process_token,
    remove_node_network,
    run,
)
from routerctl.lab.nodes import (
    announce,
    prepare_node,
    render_manifests,
    start_httpd,
    start_speaker,
)
from routerctl.lab.openwrt import build_release_feed, start_feed_server
from routerctl.lab.router import (
    ROUTER_PATH,
    boot_router,
    configure_seed,
    prepare_router,
    start_holder,
    write_ssh_files,
)
from routerctl.lab.spec import LAB_ROOT, NAME_RE, PASSWORD_ENV, SERVICE_PORT, LabSpec
from routerctl.lab.state import LabState, write_file
from routerctl.ops import flaps
from routerctl.parsing import parse_bgp_summary
from routerctl.platform.suites import QUAGGA
from routerctl.topology import Secret, Topology

TOOLS: tuple[str, ...] = ("ip", "nsenter", "unshare", "gobgpd", "gobgp", "dropbear", "busybox")
TOOLS += ("dropbearkey", "ssh-keygen", "vtysh")
STASH_PATHS = (Path("/usr/lib/frr/zebra"), Path("/usr/lib/frr/bgpd"), Path("/usr/bin/vtysh"))


def _log(progress: Callable[[str], None] | None, text: str) -> None:
    if progress is not None:
        progress(text)


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


class Lab:
    """A running lab (what ``up`` returns and ``Lab.attach(name)`` finds again)."""

    def __init__(self, state: LabState) -> None:
        self.state = state
        self.spec = state.spec

    @classmethod
    def attach(cls, name: str = "lab", *, root: Path = LAB_ROOT) -> Lab:
        if not NAME_RE.fullmatch(name):
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
        return ["nsenter", "-t", str(holder), "-m", "-u", "-n", "-p", "-r", "-w", "--"]

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
        return run(
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
        proc = run([*self.router_cmd(router=router), "vtysh", *args], check=check, env=env)
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
        proc = run([*cmd, f"http://{address}:{port}/"], check=True, timeout=10)
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
        """Neighbor address -> BGP state, from the router.

        FRR's JSON where the suite has it; otherwise (Quagga 1.2.4 has no JSON summary: it
        answers ``% Unknown command.``) the text summary through routerctl's own parser.
        """
        if self.spec.suite != "quagga":
            peers = self.bgp_summary(router=router).get("peers", {})
            return {addr: str(p.get("state", "?")) for addr, p in peers.items()}
        out = self.vtysh(QUAGGA.summary_command, router=router, check=False)
        try:
            summary = parse_bgp_summary(out, suite="quagga")
        except RouterctlError:
            return {}
        return {str(n.address): n.state.value for n in summary.neighbors}

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
        run(["ip", "-n", self.spec.netns("lan"), "link", "set", self._node(node), state])

    def speaker_running(self, node: str) -> bool:
        pid = self.state.speakers.get(self._node(node))
        return pid is not None and pid_alive(pid)

    def stop_speaker(self, node: str) -> None:
        pid = self.state.speakers.pop(self._node(node), None)
        if pid is not None:
            kill_pids([pid])
        self.state.save()

    def start_speaker(self, node: str) -> None:
        if self.speaker_running(node):
            return
        self.state.speakers[node] = start_speaker(self, node)
        self.state.save()
        announce(self, [node])

    def speaker_kind(self, node: str) -> str:
        """``gobgp`` or ``frr``: what the node's speaker is."""
        return self.spec.node_speaker(self._node(node))

    def node_vtysh(self, node: str, *commands: str) -> str:
        """vtysh against an FRR node's own bgpd (``--speaker frr`` or ``mixed``)."""
        from routerctl.lab import frrspeaker  # noqa: PLC0415 (FRR nodes only)

        if self.speaker_kind(node) != "frr":
            raise UsageError(f"node {node} runs GoBGP, not FRR", hint="use gobgp in its netns")
        cdir = frrspeaker.conf_dir(self.state_dir, node)
        return frrspeaker.vtysh(self.netns_cmd(node), cdir, *commands)

    # ---- nodes joining and leaving --------------------------------------------------
    def _set_spec(self, spec: LabSpec) -> None:
        self.state.spec = spec
        self.spec = spec
        self.state.save()
        doc = spec.topology_document(password=self._password_secret())
        write_file(spec.topology_file, yaml.safe_dump(doc, sort_keys=False), mode=0o644)

    def add_node(self, name: str) -> str:
        """A new node on the running lab: its namespace on the LAN (the next free address),
        a speaker configured from the MetalLB manifests rendered for the lab's topology with
        this node in it, an HTTP server. The lab's topology file lists it. Returns its address."""
        spec = self.spec.with_node_added(name)
        self._set_spec(spec)  # saved first: a failure below is cleaned up by remove/down
        try:
            add_node_network(spec, name)
            password = self.password()
            manifests = render_manifests(self.topology(), with_secret=password is not None)
            prepare_node(self, name, manifests, password)
            self.state.speakers[name] = start_speaker(self, name)
            self.state.httpds[name] = start_httpd(self, name)
            self.state.save()
            announce(self, [name])
        except BaseException:
            with contextlib.suppress(RouterctlError):
                self.remove_node(name)
            raise
        return str(spec.node_addr(name))

    def remove_node(self, name: str) -> None:
        """Take a node away completely: its processes, namespace (and veth), files, its
        entry in the lab's state and topology file."""
        spec = self.spec.with_node_removed(self._node(name))
        pids = [p for p in (self.state.speakers.pop(name, None), self.state.httpds.pop(name, None))
                if p is not None]  # fmt: skip
        kill_pids(pids)
        remove_node_network(self.spec, name)
        shutil.rmtree(self.state_dir / name, ignore_errors=True)
        self._set_spec(spec)

    # ---- status ----------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        existing = set(netns_list())
        routers: dict[str, Any] = {}
        for r in self.spec.router_names():
            holder = self.state.holders.get(r, 0)
            up = pid_alive(holder)
            daemons = {"dropbear": False, "zebra": False, "bgpd": False}
            if up:
                # every router has its own PID namespace: pidof sees only its daemons
                # (Quagga keeps no pid files under /run/frr; FRR 10's are in /var/run/frr)
                out = self.router_sh(
                    "for d in dropbear zebra bgpd; do pidof $d >/dev/null && echo $d; done; exit 0",
                    router=r,
                    check=False,
                ).stdout.split()
                daemons = {d: d in out for d in daemons}
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
            link = run(["ip", "-n", self.spec.netns("lan"), "-br", "link", "show", n], check=False)
            nodes[n] = {
                "netns": self.spec.netns(n),
                "address": str(self.spec.node_addr(n)),
                "link": "up" if " UP " in f" {link.stdout} " else "down",
                "speaker": self.speaker_running(n),
                "speaker_kind": self.spec.node_speaker(n),
                "http": pid_alive(self.state.httpds.get(n, 0)),
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


def _forget_flaps(state_dir: Path) -> None:
    """verify's flap history of this lab's routers goes with the lab: a lab rebuilt under
    the same name is new routers, whose young sessions are no flaps (a cache: never fatal)."""
    with contextlib.suppress(RouterctlError):
        flaps.forget_under(flaps.default_path(), state_dir)


def down(name: str = "lab", *, root: Path = LAB_ROOT) -> dict[str, int]:
    """Remove every namespace, mount and process of lab ``name``; idempotent."""
    check_environment()
    if not NAME_RE.fullmatch(name):
        raise UsageError(f"bad lab name {name!r}", hint="1-12 lowercase letters and digits")
    state_dir = root / name
    pids: set[int] = set()
    try:
        st = LabState.load(name, root=root)
        pids |= set(st.holders.values()) | set(st.speakers.values()) | set(st.httpds.values())
        if st.feed_pid:
            pids.add(st.feed_pid)
    except LabError:
        pass
    namespaces = lab_netns(name)
    for ns in namespaces:
        pids |= set(netns_pids(ns))
    killed = kill_pids(pids)
    for ns in namespaces:
        run(["ip", "netns", "del", ns], check=False)
    mounts = mounts_under(state_dir)
    for m in sorted(mounts, key=len, reverse=True):
        run(["umount", "-l", m], check=False)
    if state_dir.exists():
        shutil.rmtree(state_dir, ignore_errors=True)
    _forget_flaps(state_dir)
    return {"processes": len(killed), "namespaces": len(namespaces), "mounts": len(mounts)}


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
    _forget_flaps(spec.state_dir)  # e.g. after a reboot emptied /run without a `lab down`
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
                "running": all(pid_alive(p) for p in st.holders.values()),
                "owner_pid": int(pid) if pid.isdigit() else None,
                "owner_alive": bool(pid.isdigit() and process_token(int(pid)) == st.owner),
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
    if process_token(int(pid)) == owner:
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
            write_file(spec.password_file, password + "\n", mode=0o600)
            state.password_source = "file"  # noqa: S105 (a source, not a secret)
    topology = lab.topology()
    doc = spec.topology_document(password=lab._password_secret())
    write_file(spec.topology_file, yaml.safe_dump(doc, sort_keys=False), mode=0o644)
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"routerctl-lab-{spec.name}",
          "-f", str(spec.identity_file)])  # fmt: skip
    state.save()

    _log(progress, f"the {spec.pkg} feed of OpenWrt {spec.release} ({spec.feed_suite})")
    feed = build_release_feed(spec)
    state.feed_root, state.feed_install = str(feed.root), list(feed.install)
    state.feed_apk_key = str(feed.apk_key or "")
    state.save()

    _log(progress, "network namespaces")
    build_network(spec)
    _log(progress, "routers")
    # the feed's httpd starts while the routers' roots are built; they need it to install
    with ThreadPoolExecutor(max_workers=1) as feed_pool:
        feed_started = feed_pool.submit(start_feed_server, lab, Path(state.feed_root))

        def router(r: str) -> None:
            state.host_keys[r] = prepare_router(lab, r)
            state.holders[r] = start_holder(lab, r)
            feed_started.result()
            boot_router(lab, r)

        try:
            _each(router, spec.router_names())
        finally:  # its PID, for down, even when a router failed
            with contextlib.suppress(Exception):
                state.feed_pid = feed_started.result()
    state.save()
    write_ssh_files(lab)

    _log(progress, f"nodes ({spec.speaker} speakers, HTTP)")
    manifests = render_manifests(topology, with_secret=password is not None)
    for n in spec.node_names():
        prepare_node(lab, n, manifests, password)
        state.speakers[n] = start_speaker(lab, n)
        state.httpds[n] = start_httpd(lab, n)
        state.save()
    announce(lab, spec.node_names())
    if spec.firewall is not None:  # the nodes only dial out, as MetalLB's speaker
        try:
            firewall.dial_only([spec.netns(n) for n in spec.node_names()])
        except RuntimeError as exc:
            raise LabError(str(exc), hint="is nftables installed? run scripts/setup") from exc
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
