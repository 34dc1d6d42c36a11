"""One ``SuiteProfile`` per routing suite: every FRR/Quagga fact routerctl needs, as data.

Packages per package manager, the render dialect, daemons, config files and how the
running config is saved, the init script, the show commands (and whether they answer in
JSON), detection markers, pid dirs and capabilities. Adding a suite is one more profile
here (plus its templates and fixtures); nothing else branches on a suite's name.
"""

from __future__ import annotations

from dataclasses import dataclass

from routerctl.platform.dialects import FRR as FRR_DIALECT
from routerctl.platform.dialects import QUAGGA as QUAGGA_DIALECT
from routerctl.platform.dialects import Dialect

# The text form of the BGP summary every suite answers; the TextFSM index keys it so.
TEXT_SUMMARY_COMMAND = "show ip bgp summary"


@dataclass(frozen=True)
class SuiteCommands:
    """The show commands verify gives one suite, and whether it answers them in JSON.

    ``pool_*`` run once per pool CIDR ({net}); ``lookup_*`` once per service address
    ({addr}), all lookups batched into one vtysh call. FRR reads the pools from the BGP
    table and asks zebra only for the service addresses (a longest-match lookup), so the
    cost does not grow with the kernel table: zebra's ``longer-prefixes`` walks the whole
    table (measured: +60 ms per 100k routes on FRR 8.4).
    """

    summary_v4: str
    summary_v6: str
    pool_v4: str
    pool_v6: str
    lookup_v4: str | None
    lookup_v6: str | None
    json: bool
    pool_is_bgp_table: bool  # pool_* output is the BGP table (else zebra's routes)
    neighbors: str | None = None  # per-neighbor detail: last NOTIFICATION / reset reason
    # the BGP table inside a pool ({net}), where ``pool_*`` is zebra's: every path each
    # node announced, also those zebra never gets (Quagga's default maximum-paths 1)
    table_v4: str | None = None
    table_v6: str | None = None
    # every command in ONE vtysh call (JSON documents back to back): FRR answers JSON even
    # without a BGP instance, so none of them stops the batch; saves a vtysh start each
    one_vtysh: bool = False


@dataclass(frozen=True)
class SuiteProfile:
    """A routing suite as OpenWrt packages it, and how routerctl talks to it."""

    name: str  # frr | quagga (also the render dialect's name)
    dialect: Dialect
    packages: tuple[str, ...]  # always needed (same names on opkg and apk feeds)
    vtysh_package: str  # installed only where the feed has it as its own package
    init_script: str
    enable_script: str  # POSIX sh: make the daemons start; prints "changed" if it changed files
    ready_check: str  # exits 0 once vtysh answers and bgpd is up
    size_kb: tuple[tuple[str, int], ...]  # rough installed size per package (with its libs)
    summary_command: str  # BGP summary for the confirm wait (parsed by routerctl.parsing)
    save_command: str  # persist the running config
    persisted_files: tuple[str, ...]  # what ``save_command`` rewrites
    needs_bgpd_yes: bool  # /etc/frr/daemons must say bgpd=yes
    required_files: tuple[str, ...]  # must exist for the daemons to start
    enabled_hint: str  # how the daemons are switched on, for verify's messages
    commands: SuiteCommands  # what verify asks
    bundle_commands: tuple[str, ...]  # extra outputs for support bundles
    version_marker: str  # in the first line of ``vtysh -c 'show version'``
    running_config_markers: tuple[str, ...]  # in the head of ``show running-config``
    pid_dir: str  # where the daemons keep <daemon>.pid
    probed_files: tuple[str, ...]  # paths detection reports on
    daemons: tuple[str, ...] = ("zebra", "bgpd")
    # a vtysh command whose output names bgpd (as a word) once it is up: ``ready_check``
    # is that command alone; a caller that starts vtysh anyway (provision's config read)
    # may batch it instead (``vtysh -E -c <ready_command> -c ...``). None: the ready check
    # is more than one vtysh command's output (Quagga's).
    ready_command: str | None = None
    # capabilities
    json: bool = False  # answers ``show ... json``
    listen_range: bool = False  # ``bgp listen range`` (dynamic neighbors)

    @property
    def bfd(self) -> bool:
        return self.dialect.bfd

    @property
    def multipath_limit(self) -> int | None:
        """Largest ``maximum-paths`` the suite accepts (None: build-dependent)."""
        return self.dialect.max_paths_cap


_FRR_ENABLE = r"""f=/etc/frr/daemons
[ -f "$f" ] || { echo "missing $f" >&2; exit 1; }
if ! grep -q '^bgpd=yes' "$f"; then
  if grep -q '^bgpd=' "$f"; then sed -i 's/^bgpd=.*/bgpd=yes/' "$f"; else echo bgpd=yes >> "$f"; fi
  echo changed
fi
if grep -q '^zebra=no' "$f"; then sed -i 's/^zebra=no/zebra=yes/' "$f"; echo changed; fi
exit 0"""

_QUAGGA_ENABLE = r"""for d in zebra bgpd; do
  f=/etc/quagga/$d.conf
  if [ ! -f "$f" ]; then
    mkdir -p /etc/quagga && ( umask 027; : > "$f" ) || exit 1
    id quagga >/dev/null 2>&1 && chown quagga:quagga "$f"
    echo changed
  fi
done
exit 0"""

FRR_DAEMONS_FILE = "/etc/frr/daemons"

FRR = SuiteProfile(
    name="frr",
    dialect=FRR_DIALECT,
    packages=("frr", "frr-zebra", "frr-bgpd"),
    vtysh_package="frr-vtysh",  # merged into frr since 2024
    init_script="/etc/init.d/frr",
    enable_script=_FRR_ENABLE,
    # the init script first: on a Quagga router (no /etc/init.d/frr) this costs no vtysh
    ready_check="[ -x /etc/init.d/frr ] && vtysh -c 'show daemons' 2>/dev/null | grep -qw bgpd",
    ready_command="show daemons",
    size_kb=(("frr", 1700), ("frr-zebra", 1000), ("frr-bgpd", 2700), ("frr-vtysh", 600)),
    summary_command="show bgp summary json",
    save_command="write memory",
    persisted_files=("/etc/frr/frr.conf",),
    needs_bgpd_yes=True,
    required_files=(),
    enabled_hint=f"bgpd=yes in {FRR_DAEMONS_FILE}",
    commands=SuiteCommands(
        summary_v4="show bgp ipv4 unicast summary json",
        summary_v6="show bgp ipv6 unicast summary json",
        pool_v4="show bgp ipv4 unicast {net} longer-prefixes json",
        pool_v6="show bgp ipv6 unicast {net} longer-prefixes json",
        lookup_v4="show ip route {addr} json",
        lookup_v6="show ipv6 route {addr} json",
        json=True,
        pool_is_bgp_table=True,
        neighbors="show bgp neighbors json",
        one_vtysh=True,
    ),
    bundle_commands=(
        "show running-config",
        "show version",
        "show bgp neighbors",
        "show ip route summary",
    ),
    version_marker="FRRouting",
    running_config_markers=("frr version", "frr defaults"),
    pid_dir="/var/run/frr",
    probed_files=("/etc/init.d/frr", "/usr/bin/vtysh", FRR_DAEMONS_FILE),
    json=True,
    listen_range=True,
)

QUAGGA = SuiteProfile(
    name="quagga",
    dialect=QUAGGA_DIALECT,
    packages=("quagga", "quagga-zebra", "quagga-bgpd"),
    vtysh_package="quagga-vtysh",
    init_script="/etc/init.d/quagga",
    enable_script=_QUAGGA_ENABLE,
    # Quagga's vtysh has no "show daemons" and may exit 0 with bgpd down; the init script
    # first: on an FRR router, FRR's bgpd answers pidof, and a vtysh start costs 40-50 ms
    ready_check="[ -x /etc/init.d/quagga ] && pidof bgpd >/dev/null && "
    f"vtysh -c '{TEXT_SUMMARY_COMMAND}' >/dev/null 2>&1",
    size_kb=(
        ("quagga", 700),
        ("quagga-zebra", 400),
        ("quagga-bgpd", 700),
        ("quagga-vtysh", 200),
    ),
    summary_command=TEXT_SUMMARY_COMMAND,
    save_command="write file",
    persisted_files=("/etc/quagga/zebra.conf", "/etc/quagga/bgpd.conf"),
    needs_bgpd_yes=False,
    required_files=("/etc/quagga/zebra.conf", "/etc/quagga/bgpd.conf"),
    enabled_hint="/etc/quagga/bgpd.conf",
    commands=SuiteCommands(
        summary_v4=TEXT_SUMMARY_COMMAND,
        summary_v6="show ipv6 bgp summary",
        pool_v4="show ip route {net} longer-prefixes",
        pool_v6="show ipv6 route {net} longer-prefixes",
        lookup_v4=None,
        lookup_v6=None,
        json=False,
        pool_is_bgp_table=False,
        table_v4="show ip bgp {net} longer-prefixes",
        table_v6="show bgp ipv6 {net} longer-prefixes",
    ),
    bundle_commands=("show running-config", "show version", "show ip bgp neighbors"),
    version_marker="Quagga",
    running_config_markers=(),
    pid_dir="/var/run/quagga",
    probed_files=("/etc/init.d/quagga", "/etc/quagga/zebra.conf", "/etc/quagga/bgpd.conf"),
)

# Order matters: it is the detection order (see ``identify``) and FRR is the default.
PROFILES: dict[str, SuiteProfile] = {p.name: p for p in (FRR, QUAGGA)}
SUITE_NAMES: tuple[str, ...] = tuple(PROFILES)
PID_DIRS: tuple[str, ...] = tuple(p.pid_dir for p in PROFILES.values())
DAEMONS: tuple[str, ...] = tuple(dict.fromkeys(d for p in PROFILES.values() for d in p.daemons))


def profile(name: str) -> SuiteProfile:
    """The profile called ``name`` (KeyError for an unknown suite)."""
    return PROFILES[name]


def identify(
    *,
    version: str | None = None,
    running_config: str | None = None,
    installed: frozenset[str] | None = None,
    fallback: str | None = None,
) -> str | None:
    """The one suite detector: which suite a router runs, from what was seen on it.

    Detection order (first evidence wins; each step tries the profiles in ``PROFILES``
    order, FRR first):

    1. ``running_config``: a profile's ``running_config_markers`` in the head of
       ``show running-config`` -- what the daemons print decides, whatever the packages
       are called (FRR daemons behind a Quagga package layout speak FRR);
    2. ``version``: a profile's ``version_marker`` in ``vtysh -c 'show version'``;
    3. ``installed``: the profile whose packages are all installed;
    4. ``fallback`` (a pinned or chosen suite), else None.

    Callers pass only what they have; text shapes of a pasted output are
    ``routerctl.parsing.detect_suite``'s business.
    """
    if running_config is not None:
        head = running_config[:400]
        for p in PROFILES.values():
            if any(m in head for m in p.running_config_markers):
                return p.name
    if version is not None:
        for p in PROFILES.values():
            if p.version_marker in version:
                return p.name
    if installed is not None:
        for p in PROFILES.values():
            if all(pkg in installed for pkg in p.packages):
                return p.name
    return fallback
