"""What the pre-flight reads on the router, as data: the shell lines and the signals.

The lines run inside provision's (or plan's, or preflight's) one exec; each section starts
with ``@@routerctl@@pf-<name>`` like the detection script's. ``routerctl.preflight``
parses them (pure); nothing here talks to a router.

Signals, and why they are the reliable ones:
- CONFIG_TCP_MD5SIG: ``/proc/config.gz`` where the kernel has it (authoritative, but OpenWrt
  builds rarely enable CONFIG_IKCONFIG_PROC); else ``tcp_md5_do_add`` in ``/proc/kallsyms``:
  the function exists only under ``#ifdef CONFIG_TCP_MD5SIG`` (net/ipv4/tcp_ipv4.c) and
  kallsyms lists function names even without CONFIG_KALLSYMS_ALL and with kptr_restrict
  (addresses are zeroed, names stay).
- kernel multipath: ``net.ipv4.fib_multipath_hash_policy`` exists only when the kernel has
  CONFIG_IP_ROUTE_MULTIPATH (the sysctl is registered under that #ifdef).
- the suite's compiled multipath limit: both suites build ``maximum-paths`` with
  ``CMD_RANGE_STR(1, MULTIPATH_NUM)`` (Quagga ``<1-8>``, FRR ``(1-64)``); the string is
  in bgpd's binary, so ``grep -o`` on the binary reads the limit without touching the config.
  The grep reads the whole binary (60-140 ms on the lab's busybox); its answer is kept in
  ``MAXPATHS_CACHE`` keyed by the binary's ``md5sum`` (~10 ms), so it is grepped again
  whenever the binary's content changes (an upgrade, a rebuild with the same version and
  mtime, a copied-in build). A missing, unreadable, stale or malformed cache, or a router
  without ``md5sum``, falls back to the grep. /var/run is a tmpfs on OpenWrt (gone at
  reboot, so after a sysupgrade too) and writable by root only.
- the SSH server: the command's parent process (``/proc/$PPID/comm``).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

SECTION = "@@routerctl@@pf-"
KALLSYMS = "/proc/kallsyms"
KERNEL_CONFIG = "/proc/config.gz"
MD5_SYMBOL = "tcp_md5_do_add"
MD5_CONFIG = "CONFIG_TCP_MD5SIG"
# where OpenWrt's (and Debian's) packages put bgpd
BGPD_BINARIES = ("/usr/sbin/bgpd", "/usr/lib/frr/bgpd")
MAXPATHS_PATTERN = r"maximum-paths (<1-[0-9]+>|\(1-[0-9]+\))"
# bgpd's md5sum line and the match grepped from it (see the module's docstring)
MAXPATHS_CACHE = "/var/run/routerctl-maxpaths"
SYSCTLS = {
    "hash4": "/proc/sys/net/ipv4/fib_multipath_hash_policy",
    "hash6": "/proc/sys/net/ipv6/fib_multipath_hash_policy",
    "fwd4": "/proc/sys/net/ipv4/ip_forward",
    "fwd6": "/proc/sys/net/ipv6/conf/all/forwarding",
}
OPKG_LISTS = "/var/opkg-lists"
FIREWALL_INIT = "/etc/init.d/firewall"
FIREWALL_CONFIG = "/etc/config/firewall"
# the named UCI rule routerctl owns, one per zone: firewall.routerctl_bgp_<zone>
RULE_NAME = "routerctl-bgp"
RULE_SECTION_PREFIX = "routerctl_bgp_"

# the awk that sums a package set's dependency closure out of opkg's Packages lists:
# prints "name Size Installed-Size" per package of the closure that the lists have
_CLOSURE_AWK = (
    '/^Package:/{p=$2} /^Depends:/{sub(/^Depends: */,""); d[p]=$0} '
    "/^Size:/{s[p]=$2} /^Installed-Size:/{i[p]=$2} "
    'END{n=split(seeds,q," "); for(k=1;k<=n;k++) w[q[k]]=1; ch=1; '
    "while(ch){ch=0; for(x in w){m=split(d[x],dd,/, */); for(j=1;j<=m;j++){y=dd[j]; "
    'sub(/[ (].*/,"",y); if(y!="" && !(y in w)){w[y]=1; ch=1}}}} '
    "for(x in w) if(x in s) print x, s[x]+0, i[x]+0}"
)


def maxpaths_line(*, binaries: Sequence[str] = BGPD_BINARIES, cache: str = MAXPATHS_CACHE) -> str:
    """The section that reads bgpd's compiled multipath limit (alone: after an install).

    Prints ``<path> <match>`` for the first bgpd found; the match comes from ``cache``
    when its first line is the binary's ``md5sum`` line and its second a well-formed
    match, else from grepping the binary (and then the cache is rewritten, atomically).
    ``binaries``/``cache``: tests substitute them.
    """
    bins = " ".join(shlex.quote(b) for b in binaries)
    c = shlex.quote(cache)
    grep = f"grep -a -o -m 1 -E {shlex.quote(MAXPATHS_PATTERN)} $rc_b 2>/dev/null | head -n 1"
    return (
        f"echo {SECTION}maxpaths; for rc_b in {bins}; do if [ -f $rc_b ]; then "
        "rc_k=$(md5sum $rc_b 2>/dev/null); rc_m=; "
        f'if [ -n "$rc_k" ] && [ -f {c} ]; then '
        f"{{ read -r rc_h; read -r rc_m; }} 2>/dev/null <{c}; "
        '[ "$rc_h" = "$rc_k" ] || rc_m=; fi; '
        # only a well-formed cached match counts: "maximum-paths <1-N>" or "(1-N)", N digits
        'case $rc_m in "maximum-paths <1-"*">"|"maximum-paths (1-"*")") '
        "rc_n=${rc_m#maximum-paths ?1-}; rc_n=${rc_n%?}; "
        'case $rc_n in ""|*[!0-9]*) rc_m=;; esac;; *) rc_m=;; esac; '
        f'if [ -z "$rc_m" ]; then rc_m=$({grep}); '
        'if [ -n "$rc_k" ] && [ -n "$rc_m" ]; then { printf "%s\\n%s\\n" "$rc_k" "$rc_m" '
        f">{c}.$$ && mv -f {c}.$$ {c} || rm -f {c}.$$; }} 2>/dev/null; fi; fi; "
        'echo "$rc_b $rc_m"; break; fi; done'
    )


def preflight_lines(
    *,
    nodes: Sequence[str],
    password: bool,
    suites: Sequence[tuple[str, Sequence[str]]],
    kallsyms: str = KALLSYMS,
    kernel_config: str = KERNEL_CONFIG,
) -> list[str]:
    """POSIX-sh (busybox ash) lines printing every pre-flight fact, in sections.

    ``suites``: (suite name, its packages) whose dependency closure is summed from the
    package lists when they are on the router. ``kallsyms``/``kernel_config``: the files
    the MD5 signal is read from (tests substitute them).
    """
    s = SECTION
    lines = [
        # ``read`` (a shell builtin) where a file is one line: no process per file
        f'echo {s}ssh; {{ read -r rc_c && echo "$rc_c"; }} 2>/dev/null </proc/$PPID/comm; '
        "for f in /usr/sbin/dropbear "
        f'/usr/sbin/sshd; do [ -x "$f" ] && echo "$f"; done',
        f"echo {s}firewall; uci -q show firewall 2>/dev/null",
        f"echo {s}network; uci -q show network 2>/dev/null",
        f"echo {s}fwinit; [ -x {FIREWALL_INIT} ] && echo {FIREWALL_INIT}",
    ]
    for addr in nodes:
        q = shlex.quote(addr)
        lines.append(f"echo {s}route {q}; ip route get {q} 2>&1 | head -n 1")
    # "none": the file does not exist (read leaves the value as it was)
    sysctl = "; ".join(
        f'rc_v=none; {{ read -r rc_v; }} 2>/dev/null <{p}; echo "{k} $rc_v"'
        for k, p in SYSCTLS.items()
    )
    lines.append(f"echo {s}sysctl; {sysctl}")
    lines.append(maxpaths_line())
    if password:
        kc, ks = shlex.quote(kernel_config), shlex.quote(kallsyms)
        # config.gz where the kernel has it, else kallsyms (grep -q stops at the symbol)
        lines.append(
            f'echo {s}md5; if [ -r {kc} ]; then echo "config $(zcat {kc} 2>/dev/null | '
            f"grep -E '^(# )?{MD5_CONFIG}[ =]')\"; elif [ -r {ks} ]; then if grep -q -w "
            f"{MD5_SYMBOL} {ks}; then echo 'kallsyms 1'; else echo 'kallsyms 0'; fi; fi"
        )
    for suite, packages in suites:
        seeds = shlex.quote(" ".join(packages))
        lines.append(
            f"echo {s}feed {suite}; if [ -d {OPKG_LISTS} ] && [ ! -x /usr/bin/vtysh ]; then "
            f'for f in {OPKG_LISTS}/*; do [ -f "$f" ] && {{ zcat "$f" 2>/dev/null || '
            f'cat "$f"; }}; done | awk -v seeds={seeds} {shlex.quote(_CLOSURE_AWK)}; fi'
        )
    return lines
