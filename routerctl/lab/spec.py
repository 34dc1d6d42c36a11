"""What a lab looks like: names, addresses, the topology it hands to routerctl.

Pure data, no I/O. Every lab has a short NAME that prefixes its namespaces and
its state folder, so several labs can run on one machine at once.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from routerctl.errors import UsageError
from routerctl.topology import (
    AddressRange,
    BgpOptions,
    Cluster,
    Node,
    Pool,
    Router,
    Secret,
    Service,
    Topology,
)
from routerctl.transport import SshTarget

LAB_ROOT = Path("/run/routerctl-lab")
NAME_RE = re.compile(r"[a-z][a-z0-9]{0,11}")
PASSWORD_ENV = "ROUTERCTL_BGP_PASSWORD"  # noqa: S105 (a variable name)

ROUTER_ASN = 65000
CLUSTER_ASN = 65001
LAN = ipaddress.IPv4Network("198.51.100.0/24")
CLIENT_NET = ipaddress.IPv4Network("192.0.2.0/24")
CLIENT_ROUTER_ADDR = ipaddress.IPv4Address("192.0.2.1")
CLIENT_ADDR = ipaddress.IPv4Address("192.0.2.10")
POOL_NAME = "default"
POOL_RANGE = "203.0.113.30-203.0.113.49"
SERVICE_PORT = 8080
SERVICES = (
    ("default", "nginx-lb", ipaddress.IPv4Address("203.0.113.30")),
    ("default", "nginx2-lb", ipaddress.IPv4Address("203.0.113.31")),
)
SUITES = ("frr", "quagga")
PKG_MANAGERS = ("opkg", "apk")
# What /etc/openwrt_release says per package manager (apk arrived with 25.12).
RELEASES = {"opkg": "23.05.5", "apk": "25.12.0"}
# /overlay's free space unless --overlay-free says otherwise: about what an x86/64 image
# leaves. FRR 10's packages take ~20 MB installed, Debian 13's FRR 10.3 as the default lab's
# feed packages ~27 MB (its vtysh alone 16 MB): more than the 16 MB this once was.
DEFAULT_OVERLAY_KB = 98304
# ``lab up --openwrt R``: the release's suite, package manager and /etc/openwrt_release.
# 23.05/24.10 ship FRR 10.2.1; the lab's FRR 10.4.1 (the 25.12 one) stands in for it.
OPENWRT: dict[str, tuple[str, str, str, str]] = {  # release: suite, pkg, full release, revision
    "21.02": ("quagga", "opkg", "21.02.7", "r16847-f8282da11e"),
    "23.05": ("frr", "opkg", "23.05.5", "r24106-10cc5fcd00"),
    "24.10": ("frr", "opkg", "24.10.4", "r28959-29397011cc"),
    "25.12": ("frr", "apk", "25.12.0", "r31245-d6a2b12b3c"),
}
OPENWRT_OVERLAY_KB = DEFAULT_OVERLAY_KB  # a release router's (the same)
FEED_ADDR = ipaddress.IPv4Address("198.51.100.250")  # the feed namespace on the LAN (--openwrt)
MAX_NODES = 40
MAX_ROUTERS = 8
SPEAKERS = ("gobgp", "frr", "mixed")  # ``lab up --speaker``: what the nodes run
NODE_NAME_RE = re.compile(r"[a-z][a-z0-9]{0,11}")  # ``lab node add NAME``
RESERVED_MEMBERS = ("lan", "client", "feed", "sw")


def router_address(index: int) -> ipaddress.IPv4Address:
    """LAN address of router ``index`` (1-based): .2, .3, .4, then .201 and up."""
    host = 1 + index if index <= 3 else 196 + index
    return LAN.network_address + host


def node_address(index: int) -> ipaddress.IPv4Address:
    """LAN address of node ``index`` (1-based): .5, .6, ..."""
    return LAN.network_address + 4 + index


@dataclass(frozen=True)
class LabSpec:
    """The options a lab was brought up with (``lab up`` flags)."""

    name: str = "lab"
    nodes: int = 2
    routers: int = 1
    suite: str = "frr"  # frr | quagga: the layout the router "has"
    installed: bool = True  # False: the suite is not installed yet (--no-suite)
    pkg: str = "opkg"  # opkg | apk
    overlay_free_kb: int = DEFAULT_OVERLAY_KB
    password: bool = False
    configure: bool = False
    uci: bool = False  # ignored: every router has the real uci (kept for old state files)
    # an OpenWrt release (OPENWRT): its real suite from the build cache; None: the default
    # lab, apt's FRR packaged for OpenWrt 23.05 (opkg) or 25.12 (apk), the fastest. Every
    # router has OpenWrt's real userland (opkg/apk, uci, crond) and a feed namespace.
    openwrt: str | None = None
    # gobgp (MetalLB's native speaker), frr (MetalLB's FRR mode), mixed (odd nodes GoBGP,
    # even nodes FRR)
    speaker: str = "gobgp"
    # ``lab node add``/``remove`` on a running lab: (name, address, speaker) added, and the
    # names of the first ``nodes`` taken away
    added_nodes: tuple[tuple[str, str, str], ...] = ()
    removed_nodes: tuple[str, ...] = ()
    root: Path = field(default=LAB_ROOT)
    # a firewall variant (routerctl.lab.firewall): "reject" = the nodes behind a REJECT zone
    firewall: str | None = None
    # Quagga's compiled multipath limit on a release router: None = OpenWrt's (8); 1 = the
    # quagga-mp1 build (upstream's default, --enable-multipath=1)
    quagga_multipath: int | None = None

    def __post_init__(self) -> None:
        if not NAME_RE.fullmatch(self.name):
            raise UsageError(
                f"bad lab name {self.name!r}",
                hint="use 1-12 lowercase letters and digits, starting with a letter",
            )
        if not 1 <= self.nodes <= MAX_NODES:
            raise UsageError(f"--nodes {self.nodes} is out of range", hint=f"use 1..{MAX_NODES}")
        if not 1 <= self.routers <= MAX_ROUTERS:
            raise UsageError(
                f"--routers {self.routers} is out of range", hint=f"use 1..{MAX_ROUTERS}"
            )
        if self.openwrt is None and self.suite == "quagga" and self.pkg == "opkg":
            # the only real Quagga is 21.02's: --suite quagga is that router (the default
            # lab's FRR no longer wears Quagga's file layout)
            object.__setattr__(self, "openwrt", "21.02")
        if self.openwrt is not None:
            if self.openwrt not in OPENWRT:
                raise UsageError(
                    f"unknown OpenWrt release {self.openwrt!r}", hint=f"use {', '.join(OPENWRT)}"
                )
            # the release decides the suite and the package manager
            object.__setattr__(self, "suite", OPENWRT[self.openwrt][0])
            object.__setattr__(self, "pkg", OPENWRT[self.openwrt][1])
            if self.overlay_free_kb == DEFAULT_OVERLAY_KB:
                object.__setattr__(self, "overlay_free_kb", OPENWRT_OVERLAY_KB)
        if self.firewall is not None and (self.firewall != "reject" or self.openwrt is None):
            raise UsageError(
                f"--firewall {self.firewall} needs a release router",
                hint="use --firewall reject with --openwrt RELEASE (its real uci)",
            )
        if self.quagga_multipath is not None and (
            self.quagga_multipath not in (1, 8) or self.suite != "quagga" or self.openwrt is None
        ):
            raise UsageError(
                f"--quagga-multipath {self.quagga_multipath} needs a Quagga release router",
                hint="use --quagga-multipath 1 (or 8, OpenWrt's) with --openwrt 21.02",
            )
        if self.quagga_multipath == 8:
            object.__setattr__(self, "quagga_multipath", None)
        if self.suite not in SUITES:
            raise UsageError(f"unknown suite {self.suite!r}", hint="use frr or quagga")
        if self.pkg not in PKG_MANAGERS:
            raise UsageError(f"unknown package manager {self.pkg!r}", hint="use opkg or apk")
        if self.suite == "quagga" and self.pkg == "apk":
            raise UsageError(
                "--suite quagga with --pkg apk does not exist",
                hint="Quagga was removed after OpenWrt 23.05; use --pkg opkg",
            )
        if self.speaker not in SPEAKERS:
            raise UsageError(
                f"unknown speaker {self.speaker!r}", hint=f"use one of: {', '.join(SPEAKERS)}"
            )
        if self.overlay_free_kb < 64:
            raise UsageError(
                f"--overlay-free {self.overlay_free_kb} is too small", hint="use at least 64 (KB)"
            )

    # ---- names -----------------------------------------------------------
    @property
    def state_dir(self) -> Path:
        return self.root / self.name

    def router_names(self) -> list[str]:
        return ["rtr"] if self.routers == 1 else [f"rtr{i}" for i in range(1, self.routers + 1)]

    def base_node_names(self) -> list[str]:
        """The nodes ``lab up`` made (``--nodes N``), before any ``lab node add/remove``."""
        return [f"node{i}" for i in range(1, self.nodes + 1)]

    def node_names(self) -> list[str]:
        base = [n for n in self.base_node_names() if n not in self.removed_nodes]
        return base + [n for n, _, _ in self.added_nodes]

    def node_speaker(self, node: str) -> str:
        """``gobgp`` or ``frr``: what ``node`` runs."""
        for name, _, kind in self.added_nodes:
            if name == node:
                return kind
        if self.speaker != "mixed":
            return self.speaker
        index = self.base_node_names().index(node) + 1
        return "gobgp" if index % 2 else "frr"

    def next_speaker(self) -> str:
        """The speaker a node added now runs (``mixed``: the kind fewer nodes run)."""
        if self.speaker != "mixed":
            return self.speaker
        kinds = [self.node_speaker(n) for n in self.node_names()]
        return "frr" if kinds.count("frr") < kinds.count("gobgp") else "gobgp"

    def used_addresses(self) -> set[ipaddress.IPv4Address]:
        used = {LAN.network_address, LAN.broadcast_address, FEED_ADDR}
        used |= {router_address(i) for i in range(1, MAX_ROUTERS + 1)}
        # ``lab up``'s nodes keep their addresses, even removed (they may come back)
        used |= {node_address(i) for i in range(1, self.nodes + 1)}
        used |= {self.node_addr(n) for n in self.node_names()}
        return used

    def free_node_address(self) -> ipaddress.IPv4Address:
        """The next free LAN address for a node, from .5 up."""
        used = self.used_addresses()
        for host in LAN.hosts():
            if host >= node_address(1) and host not in used:
                return host
        raise UsageError(f"no free address left in {LAN}", hint="remove a node first")

    def with_node_added(self, name: str) -> LabSpec:
        """This spec with node ``name`` on the next free address (running the next speaker)."""
        problem = None
        if not NODE_NAME_RE.fullmatch(name) or name in RESERVED_MEMBERS:
            problem = "1-12 lowercase letters and digits, not lan, client, feed or sw"
        elif re.fullmatch(r"rtr\d*", name):
            problem = "rtr, rtr1.. name routers"
        elif name in self.node_names():
            problem = "that node exists already"
        if problem:
            raise UsageError(f"bad node name {name!r}", hint=problem)
        if len(self.node_names()) >= MAX_NODES:
            raise UsageError(f"the lab has {MAX_NODES} nodes already", hint="remove one first")
        if name in self.removed_nodes:  # one of ``lab up``'s nodes comes back, on its address
            return replace(self, removed_nodes=tuple(n for n in self.removed_nodes if n != name))
        entry = (name, str(self.free_node_address()), self.next_speaker())
        return replace(self, added_nodes=(*self.added_nodes, entry))

    def with_node_removed(self, name: str) -> LabSpec:
        if name not in self.node_names():
            raise UsageError(
                f"no node {name!r} in lab {self.name}",
                hint=f"nodes: {', '.join(self.node_names())}",
            )
        if len(self.node_names()) == 1:
            raise UsageError("the last node cannot be removed", hint="add another node first")
        if name in self.base_node_names():
            return replace(self, removed_nodes=(*self.removed_nodes, name))
        return replace(self, added_nodes=tuple(e for e in self.added_nodes if e[0] != name))

    def netns(self, member: str) -> str:
        """Namespace of a member (``rtr``, ``rtr2``, ``node1``, ``client``, ``lan``)."""
        return f"{self.name}-{member}"

    def all_netns(self) -> list[str]:
        members = ["lan", *self.router_names(), *self.node_names(), "client", "feed"]
        return [self.netns(m) for m in members]

    def router_addr(self, router: str) -> ipaddress.IPv4Address:
        return router_address(self.router_names().index(router) + 1)

    def node_addr(self, node: str) -> ipaddress.IPv4Address:
        for name, addr, _ in self.added_nodes:
            if name == node:
                return ipaddress.IPv4Address(addr)
        return node_address(self.base_node_names().index(node) + 1)

    @property
    def release(self) -> str:
        if self.openwrt is not None:
            return OPENWRT[self.openwrt][2]
        return RELEASES[self.pkg]

    @property
    def feed_suite(self) -> str:
        """What the lab's feed packages: the release's suite, or apt's FRR (default lab)."""
        return self.suite if self.openwrt is not None else "apt-frr"

    @property
    def feed_url(self) -> str:
        return f"http://{FEED_ADDR}"

    # ---- files -------------------------------------------------------------
    @property
    def ssh_config(self) -> Path:
        return self.state_dir / "ssh_config"

    @property
    def identity_file(self) -> Path:
        return self.state_dir / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.state_dir / "known_hosts"

    @property
    def topology_file(self) -> Path:
        return self.state_dir / "routerctl.yaml"

    @property
    def password_file(self) -> Path:
        return self.state_dir / "bgp-password"

    # ---- the topology --------------------------------------------------------
    def password_secret(self, *, env_set: bool) -> Secret | None:
        """Env var when the user exported it, else the lab's generated password file."""
        if not self.password:
            return None
        return Secret(env=PASSWORD_ENV) if env_set else Secret(file=self.password_file)

    def topology(self, *, password: Secret | None = None) -> Topology:
        routers = tuple(
            Router(
                name=r,
                ssh=SshTarget(host=r, ssh_config=self.ssh_config),
                asn=ROUTER_ASN,
                router_id=self.router_addr(r),
                lan=(LAN,),
            )
            for r in self.router_names()
        )
        nodes = tuple(Node(name=n, address=self.node_addr(n)) for n in self.node_names())
        first, last = (ipaddress.IPv4Address(a) for a in POOL_RANGE.split("-"))
        pool = Pool(name=POOL_NAME, addresses=(AddressRange(POOL_RANGE, first, last),))
        return Topology(
            routers=routers,
            cluster=Cluster(asn=CLUSTER_ASN, nodes=nodes, pools=(pool,)),
            bgp=BgpOptions(password=password),
            services=tuple(
                Service(namespace=ns, name=n, address=a, port=SERVICE_PORT) for ns, n, a in SERVICES
            ),
            source=self.topology_file,
        )

    def topology_document(self, *, password: Secret | None = None) -> dict[str, Any]:
        """The topology as the YAML document ``routerctl.yaml`` holds."""
        doc: dict[str, Any] = {
            "routers": [
                {
                    "name": r,
                    "ssh": {"host": r, "ssh_config": str(self.ssh_config)},
                    "asn": ROUTER_ASN,
                    "router_id": str(self.router_addr(r)),
                    "lan": [str(LAN)],
                }
                for r in self.router_names()
            ],
            "cluster": {
                "asn": CLUSTER_ASN,
                "nodes": [
                    {"name": n, "address": str(self.node_addr(n))} for n in self.node_names()
                ],
                "pools": [{"name": POOL_NAME, "addresses": [POOL_RANGE]}],
            },
        }
        if password is not None:
            pw: dict[str, str] = (
                {"env": password.env} if password.env else {"file": str(password.file)}
            )
            doc["bgp"] = {"password": pw}
        doc["services"] = [
            {"name": f"{ns}/{n}", "address": str(a), "port": SERVICE_PORT} for ns, n, a in SERVICES
        ]
        # the host has no route into the lab: a probe from here would leave by the host's own
        # default route, so `verify --probe` probes from the router unless told otherwise
        doc["verify"] = {"probe_from": "router"}
        return doc

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "nodes": self.nodes,
            "routers": self.routers,
            "suite": self.suite,
            "installed": self.installed,
            "pkg": self.pkg,
            "overlay_free_kb": self.overlay_free_kb,
            "password": self.password,
            "configure": self.configure,
            "uci": self.uci,
            "openwrt": self.openwrt,
            "speaker": self.speaker,
            "added_nodes": [list(e) for e in self.added_nodes],
            "removed_nodes": list(self.removed_nodes),
            "firewall": self.firewall,
            "quagga_multipath": self.quagga_multipath,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], *, root: Path = LAB_ROOT) -> LabSpec:
        return cls(
            name=str(data["name"]),
            nodes=int(data["nodes"]),
            routers=int(data["routers"]),
            suite=str(data["suite"]),
            installed=bool(data["installed"]),
            pkg=str(data["pkg"]),
            overlay_free_kb=int(data["overlay_free_kb"]),
            password=bool(data["password"]),
            configure=bool(data["configure"]),
            uci=bool(data.get("uci", False)),
            openwrt=data.get("openwrt"),
            speaker=str(data.get("speaker", "gobgp")),
            added_nodes=tuple((str(n), str(a), str(k)) for n, a, k in data.get("added_nodes", [])),
            removed_nodes=tuple(str(n) for n in data.get("removed_nodes", [])),
            firewall=data.get("firewall"),
            quagga_multipath=data.get("quagga_multipath"),
            root=root,
        )
