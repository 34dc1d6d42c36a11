"""The pre-flight checks (pure): facts read in the one exec -> ok / warning / blocking.

``parse_preflight`` reads the script's sections (``routerctl.platform.preflight``);
``evaluate`` judges them against the topology. A blocking check stops plan/provision
before anything changes; every check has a hint that says what to run or change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from routerctl.errors import ParseError
from routerctl.platform.suites import PROFILES
from routerctl.preflight.firewall import (
    BGP_PORT,
    FirewallPlan,
    NodePath,
    node_path,
    plan_firewall,
)
from routerctl.preflight.parse import (
    UciSection,
    parse_feed,
    parse_maxpaths,
    parse_md5,
    parse_route_device,
    parse_ssh,
    parse_sysctls,
    parse_uci_show,
    sections,
)
from routerctl.topology import Router, Topology

OK, WARNING, BLOCKING = "ok", "warning", "blocking"


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | warning | blocking
    message: str
    hint: str = ""
    subject: str = ""  # the node a per-node check is about

    def to_json(self) -> dict[str, str]:
        return {
            "check": self.name,
            "status": self.status,
            "subject": self.subject,
            "message": self.message,
            "hint": self.hint,
        }


@dataclass(frozen=True)
class PreflightFacts:
    """What the router said, parsed."""

    ssh_process: str = ""
    ssh_servers: tuple[str, ...] = ()
    firewall: tuple[UciSection, ...] = ()
    network: tuple[UciSection, ...] = ()
    firewall_init: bool = False
    routes: tuple[tuple[str, str | None], ...] = ()  # node address -> device
    sysctls: tuple[tuple[str, int | None], ...] = ()
    bgpd: str | None = None
    multipath_limit: int | None = None
    md5: bool | None = None
    md5_signal: str = ""
    md5_read: bool = False  # the password check's section was asked for
    feeds: tuple[tuple[str, tuple[tuple[str, int, int], ...]], ...] = ()
    firewall_error: str = ""  # uci output the parser did not understand (a warning)

    def sysctl(self, key: str) -> int | None:
        return dict(self.sysctls).get(key)

    def device(self, addr: str) -> str | None:
        return dict(self.routes).get(addr)


def parse_preflight(text: str) -> PreflightFacts:
    """The pre-flight sections of one exec's output (ParseError on a bad ``uci show``)."""
    sec = sections(text)
    comm, servers = parse_ssh(sec.get("ssh", ""))
    path, limit = parse_maxpaths(sec.get("maxpaths", ""))
    md5, signal = parse_md5(sec.get("md5", ""))
    routes = tuple(
        (key.split(" ", 1)[1], parse_route_device(val))
        for key, val in sec.items()
        if key.startswith("route ")
    )
    feeds = tuple(
        (key.split(" ", 1)[1], tuple((n, s, i) for n, (s, i) in sorted(parse_feed(val).items())))
        for key, val in sec.items()
        if key.startswith("feed ")
    )
    firewall_error = ""
    try:
        firewall = tuple(parse_uci_show(sec.get("firewall", ""), config="firewall"))
        network = tuple(parse_uci_show(sec.get("network", ""), config="network"))
    except ParseError as exc:  # judged as a warning: the firewall is then not known
        firewall, network, firewall_error = (), (), exc.message
    return PreflightFacts(
        ssh_process=comm,
        ssh_servers=servers,
        firewall=firewall,
        network=network,
        firewall_error=firewall_error,
        firewall_init=bool(sec.get("fwinit", "").strip()),
        routes=routes,
        sysctls=tuple(parse_sysctls(sec.get("sysctl", "")).items()),
        bgpd=path,
        multipath_limit=limit,
        md5=md5,
        md5_signal=signal,
        md5_read="md5" in sec,
        feeds=feeds,
    )


@dataclass(frozen=True)
class PreflightReport:
    router: str
    checks: tuple[Check, ...]
    firewall: FirewallPlan = field(default_factory=FirewallPlan)
    paths: tuple[NodePath, ...] = ()

    @property
    def blocking(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.status == BLOCKING)

    @property
    def warnings(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.status == WARNING)

    def to_json(self) -> dict[str, object]:
        return {
            "router": self.router,
            "ok": not self.blocking,
            "checks": [c.to_json() for c in self.checks],
            "firewall": self.firewall.to_json(),
        }


def _where(topology: Topology, field_: str) -> str:
    """``file:line: field`` for a hint, or just the field."""
    err = topology.error(field_, "")
    return err.message.rstrip(": ").strip() or field_


def _manual_rule(zone: str, addrs: Sequence[str]) -> str:
    src = "; ".join(f"uci add_list firewall.@rule[-1].src_ip={a}" for a in addrs)
    return (
        f"uci add firewall rule; uci set firewall.@rule[-1].name=routerctl-bgp; "
        f"uci set firewall.@rule[-1].src={zone}; uci set firewall.@rule[-1].proto=tcp; "
        f"uci set firewall.@rule[-1].dest_port={BGP_PORT}; {src}; "
        "uci set firewall.@rule[-1].target=ACCEPT; uci commit firewall; "
        "/etc/init.d/firewall reload"
    )


def _firewall_checks(
    topology: Topology, router: Router, facts: PreflightFacts, *, manage: bool
) -> tuple[list[Check], FirewallPlan, list[NodePath]]:
    nodes = topology.nodes_for(router)
    if facts.firewall_error:
        unread = Check(
            "firewall",
            WARNING,
            f"cannot judge the firewall: {facts.firewall_error}",
            hint="check by hand: uci show firewall; uci show network",
        )
        return [unread], FirewallPlan(managed=manage), []
    if not facts.firewall:
        empty = Check(
            "firewall",
            OK,
            "no firewall configuration (uci show firewall is empty): nothing filters tcp/179",
        )
        return [empty], FirewallPlan(managed=manage), []
    fw, net = facts.firewall, facts.network
    now = [node_path(n.name, n.address, facts.device(str(n.address)), fw, net) for n in nodes]
    without = [
        node_path(n.name, n.address, facts.device(str(n.address)), fw, net, include_owned=False)
        for n in nodes
    ]
    plan = plan_firewall(without, fw) if manage else FirewallPlan()
    adding = {c.rule.zone for c in plan.changes if c.rule is not None}
    checks: list[Check] = []
    by_zone: dict[str, list[str]] = {}
    for p in without:
        if not p.open and p.zone:
            by_zone.setdefault(p.zone, []).append(str(p.address))
    for p, w in zip(now, without, strict=True):
        where = (
            f"via {p.device or '?'} in zone {p.zone!r}"
            if p.zone
            else (f"via {p.device or '?'} (in no zone)")
        )
        if p.device is None:
            checks.append(
                Check(
                    "firewall",
                    WARNING,
                    f"no route from the router to {p.address}",
                    hint=f"check the router's routes: ip route get {p.address}",
                    subject=p.node,
                )
            )
        elif manage and p.zone is not None and (p.zone in adding or not w.open):
            checks.append(
                Check(
                    "firewall",
                    OK,
                    f"{p.address} {where} (input {p.policy}): accepted by routerctl's rule "
                    f"'routerctl-bgp'" + (" (provision adds it)" if p.zone in adding else ""),
                    subject=p.node,
                )
            )
        elif p.open:
            checks.append(
                Check(
                    "firewall",
                    OK,
                    f"{p.address} {where}: tcp/{BGP_PORT} accepted by {p.accepted_by}",
                    subject=p.node,
                )
            )
        elif p.zone is None:
            checks.append(
                Check(
                    "firewall",
                    BLOCKING,
                    f"{p.address} {where}: the default input policy {p.policy} rejects "
                    f"tcp/{BGP_PORT}",
                    hint=f"put {p.device} in a firewall zone (uci show firewall), then rerun "
                    "with --open-firewall",
                    subject=p.node,
                )
            )
        else:
            checks.append(
                Check(
                    "firewall",
                    BLOCKING,
                    f"{p.address} {where} (input {p.policy}): no rule accepts tcp/{BGP_PORT}; "
                    f"add rule 'routerctl-bgp' (src {p.zone}, tcp dest_port {BGP_PORT}, "
                    "ACCEPT)",
                    hint="rerun with --open-firewall or set 'firewall: {manage: true}' in "
                    f"the topology; or by hand: {_manual_rule(p.zone, by_zone[p.zone])}",
                    subject=p.node,
                )
            )
    return checks, plan, now


def _feed_need_kb(
    suite: str, facts: PreflightFacts, todo: Sequence[str], installed: frozenset[str]
) -> tuple[int, str]:
    """KB the missing packages need: the feed's sizes where the lists are there."""
    feed = dict(facts.feeds).get(suite)
    if feed:
        total = sum(max(s, i) for n, s, i in feed if n not in installed)
        return (total + 1023) // 1024, "from the package lists' Size/Installed-Size"
    sizes = dict(PROFILES[suite].size_kb)
    return sum(sizes.get(p, 500) for p in todo), "estimated (no package lists on the router)"


def evaluate(
    facts: PreflightFacts,
    *,
    topology: Topology,
    router: Router,
    suite: str | None,
    todo: Sequence[str] = (),
    installed: frozenset[str] = frozenset(),
    overlay_free_kb: int | None = None,
    manage_firewall: bool = False,
) -> PreflightReport:
    """Every check for ``router`` (``suite``: the one that runs or will be installed;
    ``todo``: its packages still to install)."""
    checks, plan, paths = _firewall_checks(topology, router, facts, manage=manage_firewall)
    ecmp = topology.bgp.ecmp
    ecmp_where = _where(topology, "bgp.ecmp")

    # the BGP password needs TCP MD5 signatures in the kernel
    if topology.bgp.password is not None:
        if facts.md5 is True:
            checks.append(
                Check("tcp-md5", OK, f"kernel has CONFIG_TCP_MD5SIG ({facts.md5_signal})")
            )
        elif facts.md5 is False:
            checks.append(
                Check(
                    "tcp-md5",
                    BLOCKING,
                    "the kernel has no CONFIG_TCP_MD5SIG "
                    f"({facts.md5_signal}): a BGP password can never work on this router",
                    hint=f"remove bgp.password ({_where(topology, 'bgp.password')}), or run a "
                    "kernel built with CONFIG_TCP_MD5SIG=y",
                )
            )
        else:
            checks.append(
                Check(
                    "tcp-md5",
                    WARNING,
                    f"cannot tell whether the kernel has CONFIG_TCP_MD5SIG ({facts.md5_signal})",
                    hint="check by hand: grep -w tcp_md5_do_add /proc/kallsyms",
                )
            )

    # ECMP: the kernel must do multipath, the suite must accept ``maximum-paths ecmp``
    hash4 = facts.sysctl("hash4")
    read = dict(facts.sysctls)
    if ecmp <= 1:
        checks.append(Check("kernel-multipath", OK, f"bgp.ecmp is {ecmp}: no multipath needed"))
    elif "hash4" not in read:
        checks.append(
            Check(
                "kernel-multipath",
                WARNING,
                "the router's sysctls were not read",
                hint="check by hand: ls /proc/sys/net/ipv4/fib_multipath_hash_policy",
            )
        )
    elif hash4 is None:
        checks.append(
            Check(
                "kernel-multipath",
                BLOCKING,
                f"bgp.ecmp is {ecmp} but the kernel has no CONFIG_IP_ROUTE_MULTIPATH "
                "(no net.ipv4.fib_multipath_hash_policy): routes get one next hop",
                hint=f"set bgp.ecmp: 1 ({ecmp_where}), or run a kernel with "
                "CONFIG_IP_ROUTE_MULTIPATH=y",
            )
        )
    else:
        checks.append(Check("kernel-multipath", OK, "kernel has CONFIG_IP_ROUTE_MULTIPATH"))
        if hash4 == 0:
            checks.append(
                Check(
                    "ecmp-hash",
                    WARNING,
                    "net.ipv4.fib_multipath_hash_policy is 0 (source/destination address): "
                    "each client sticks to one node",
                    hint="spread per connection: sysctl -w net.ipv4.fib_multipath_hash_policy=1 "
                    "and add 'net.ipv4.fib_multipath_hash_policy=1' to /etc/sysctl.conf",
                )
            )
        else:
            checks.append(Check("ecmp-hash", OK, f"net.ipv4.fib_multipath_hash_policy is {hash4}"))
    if facts.multipath_limit is not None:
        if ecmp > facts.multipath_limit:
            checks.append(
                Check(
                    "suite-multipath",
                    BLOCKING,
                    f"bgp.ecmp is {ecmp} but {facts.bgpd} was built with at most "
                    f"{facts.multipath_limit} path(s) (maximum-paths <1-{facts.multipath_limit}>)",
                    hint=f"set bgp.ecmp: {facts.multipath_limit} ({ecmp_where}), or install a "
                    f"suite built with --enable-multipath={ecmp} or more",
                )
            )
        else:
            checks.append(
                Check(
                    "suite-multipath",
                    OK,
                    f"{facts.bgpd} accepts maximum-paths up to {facts.multipath_limit} "
                    f"(bgp.ecmp {ecmp})",
                )
            )
    elif facts.bgpd is not None:
        checks.append(
            Check(
                "suite-multipath",
                WARNING,
                f"cannot read the compiled multipath limit of {facts.bgpd}",
                hint="check by hand: grep -a -o 'maximum-paths [<(]1-[0-9]*[>)]' " + facts.bgpd,
            )
        )
    else:
        checks.append(
            Check(
                "suite-multipath",
                WARNING if todo else OK,
                "no bgpd on the router yet: its multipath limit is checked after the install",
                hint="rerun 'routerctl preflight' after provision" if todo else "",
            )
        )

    # forwarding for the pools' families
    families = sorted({n.version for n in topology.iter_pool_networks()})
    for fam in families:
        key = f"fwd{fam}"
        name = "net.ipv4.ip_forward" if fam == 4 else "net.ipv6.conf.all.forwarding"
        val = facts.sysctl(key)
        if key not in read:
            continue
        if val == 1:
            checks.append(Check(f"forwarding-ipv{fam}", OK, f"{name} is 1"))
        else:
            checks.append(
                Check(
                    f"forwarding-ipv{fam}",
                    WARNING,
                    f"{name} is {val if val is not None else 'missing'}: the router will not "
                    f"forward traffic to the IPv{fam} pools",
                    hint=f"sysctl -w {name}=1 and add '{name}=1' to /etc/sysctl.conf",
                )
            )

    # space on /overlay for the packages still to install
    if not todo:
        checks.append(Check("overlay", OK, "nothing to install"))
    elif suite is not None:
        need, how = _feed_need_kb(suite, facts, todo, installed)
        if overlay_free_kb is None:
            checks.append(
                Check(
                    "overlay",
                    WARNING,
                    f"cannot read the free space on /overlay; {' '.join(todo)} need about "
                    f"{need} KB ({how})",
                    hint="check by hand: df -k /overlay",
                )
            )
        elif overlay_free_kb < need:
            # the feed's own sizes block; an estimate only warns (provision checks again
            # after the package manager's update, before installing anything)
            estimated = how.startswith("estimated")
            checks.append(
                Check(
                    "overlay",
                    WARNING if estimated else BLOCKING,
                    f"/overlay has {overlay_free_kb} KB free, {' '.join(todo)} need about "
                    f"{need} KB ({how})",
                    hint="free space (opkg remove <unused packages>) or set up extroot",
                )
            )
        else:
            checks.append(
                Check(
                    "overlay",
                    OK,
                    f"/overlay has {overlay_free_kb} KB free, {' '.join(todo)} need about "
                    f"{need} KB ({how})",
                )
            )

    # SSH: exec channels only, no SFTP
    kind = facts.ssh_process or "unknown"
    label = {"dropbear": "Dropbear", "sshd": "OpenSSH", "sshd-session": "OpenSSH"}.get(kind, kind)
    checks.append(
        Check(
            "ssh",
            OK,
            f"SSH server: {label} ({', '.join(facts.ssh_servers) or 'no server binary found'}); "
            "routerctl uses exec channels only, no SFTP needed",
        )
    )
    return PreflightReport(
        router=router.name, checks=tuple(checks), firewall=plan, paths=tuple(paths)
    )
