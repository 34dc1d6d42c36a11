"""Provision one router: lock, install/enable the suite, plan, apply, persist, confirm.

Safety: the running config (and the persisted config files) are saved before the
delta is applied in one vtysh invocation; a failing vtysh line, a non-zero exit, a
dropped connection, a read-back mismatch or a confirm timeout restores them and
raises ``RolledBackError``. A lock directory on the router keeps concurrent runs
apart. The password travels only in vtysh's stdin and is redacted everywhere else.

Round trips: a router already in sync costs one exec: detection, the pre-flight's facts
and ``show running-config`` read without the lock, between two looks at the lock and
its generation counter (``_noop_without_lock``); when no run held or took the lock
meanwhile and nothing is to change, that read is the answer. Otherwise the first exec
takes the lock and, only once it is held, reads again (``gather_script``); the last one
releases the lock.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import re
import secrets
import shlex
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from routerctl.errors import (
    CommandError,
    ParseError,
    RefusedError,
    RolledBackError,
    RouterctlError,
    TransportError,
)
from routerctl.ops import preflight as pf
from routerctl.ops import suite as backend
from routerctl.ops.gather import split_echoed
from routerctl.ops.suite import Progress
from routerctl.parsing import parse_bgp_summaries
from routerctl.plan import Plan, compute_plan, compute_restore
from routerctl.platform import PROFILES, SuiteProfile, identify, openwrt
from routerctl.platform.preflight import FIREWALL_CONFIG, FIREWALL_INIT
from routerctl.preflight import FirewallPlan, PreflightReport
from routerctl.redact import excerpt, redact
from routerctl.render.router import check_dynamic_supported, render_router
from routerctl.topology import Router, Topology
from routerctl.transport import CommandResult, Transport, write_file_command

LOCK_PARENTS = ("/var/lock", "/tmp/lock")
LOCK_NAME = "routerctl.lock"
LOCK_DIR = f"{LOCK_PARENTS[0]}/{LOCK_NAME}"
LOCK_STALE_SECONDS = 900
# bumped by every lock acquire (next to the lock, outliving it): a read without the lock
# that sees the same generation before and after, and no lock, raced no provision
GEN_NAME = "routerctl.gen"
# the first line the lock script evaluates once the lock is held ($d: the lock's parent)
GEN_BUMP = (
    f'G=$d/{GEN_NAME} g=0; [ -r $G ] && read -r g <$G; case "$g" in ""|*[!0-9]*) g=0;; esac; '
    "echo $((g + 1)) >$G 2>/dev/null"
)
VTYSH_TIMEOUT = 120.0
# vtysh reading stdin keeps a readline history (~/.history_frr, ~/.history_quagga) that
# would hold the password: point it where nothing can be written.
VTYSH_STDIN = "VTYSH_HISTFILE=/nonexistent/history HOME=/nonexistent vtysh"

Connect = Callable[[], Transport]


@dataclass(frozen=True)
class ProvisionResult:
    router: str
    suite: str
    installed: tuple[str, ...]
    plan: Plan
    applied: bool
    lines_sent: int
    written: bool
    established: tuple[str, ...] = ()
    preflight: PreflightReport | None = None
    firewall: FirewallPlan = field(default_factory=FirewallPlan)

    def to_json(self) -> dict[str, object]:
        return {
            "preflight": self.preflight.to_json() if self.preflight else None,
            "firewall": self.firewall.to_json(),
            "router": self.router,
            "suite": self.suite,
            "installed": list(self.installed),
            "applied": self.applied,
            "lines_sent": self.lines_sent,
            "written": self.written,
            "established": list(self.established),
            "plan": self.plan.to_json(),
        }


# -- router-side lock ---------------------------------------------------------


class RouterLock:
    """``mkdir`` lock on the router with owner info; stale after LOCK_STALE_SECONDS.

    It lives in /var/lock (on OpenWrt a tmpfs: /var -> /tmp), or /tmp/lock where
    /var/lock is unusable; every run picks the same one.
    """

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.path = LOCK_DIR
        self.token = secrets.token_hex(8)
        self.owner = f"{self.token} {getpass.getuser()}@{socket.gethostname()} pid {os.getpid()}"
        self.held = False

    def acquire(self, *, then: str = "", timeout: float = 30.0) -> CommandResult:
        """Take the lock; then, in the same exec and only once it is held, run ``then``.

        ``then`` (POSIX sh, no ``exit``) prints after the lock's own first line; its
        output is in the returned result. If the round trip fails (dropped, timed out,
        Ctrl-C), the lock may have been taken: it is removed again (by token) before
        the error goes on.
        """
        owner = shlex.quote(self.owner)
        parent, fallback = LOCK_PARENTS
        name = LOCK_NAME
        # the lock in the exec request, ``then`` on stdin (read only once the lock is
        # held; every exit before drains it first, so our stdin never meets a closed
        # channel). The lock's first line goes back at once and its packet ACKs the start
        # of stdin: through a ProxyCommand like busybox nc (1 KiB reads) the rest of a
        # longer stdin waited for the router's delayed ACK (~40 ms) before (issue 17).
        x = "{ cat >/dev/null; exit"
        lock = f"""d={parent}
[ -d $d ] || mkdir -p $d 2>/dev/null || d={fallback}
mkdir -p $d || {x} 4; }}
L=$d/{name} O={owner}
if mkdir -m 700 $L 2>/dev/null; then
  echo "$(date +%s) $O" > $L/owner || {x} 4; }}; echo "acquired $L"
else
  t=$(cut -d' ' -f1 $L/owner 2>/dev/null)
  case "$t" in ''|*[!0-9]*) t=$(date -r $L +%s 2>/dev/null || echo 0);; esac
  if [ $(( $(date +%s) - t )) -gt {LOCK_STALE_SECONDS} ]; then
    echo "stale $L"; echo "$(date +%s) $O" > $L/owner || {x} 4; }}
  else
    echo "busy $L"; cat $L/owner 2>/dev/null; {x} 3; }}
  fi
fi
eval "$(cat)"
exit 0"""
        try:
            res = self.transport.run(
                "sh -c " + shlex.quote(lock),
                stdin=f"{GEN_BUMP}\n{then}\n".encode(),
                timeout=timeout,
            )
        except (TransportError, KeyboardInterrupt):
            self._release_quietly()
            raise
        first = res.stdout.split("\n", 1)[0].split()
        if len(first) == 2:
            self.path = first[1]
        if res.exit_status == 3:
            words = res.stdout.split()
            holder = " ".join(words[4:]) or "another run"  # drop "busy PATH", time, token
            raise RefusedError(
                f"router busy: {self.transport.host} is being provisioned by {holder} "
                f"(lock {self.path})",
                hint=f"wait for it to finish; a lock older than {LOCK_STALE_SECONDS}s is "
                "taken over automatically",
            )
        if not res.ok or first[:1] not in (["acquired"], ["stale"]):
            raise CommandError(
                f"cannot create the lock {self.path} on {self.transport.host}: "
                f"{res.stderr.strip() or res.stdout.strip()}"
            )
        self.held = True
        return res

    def _release_quietly(self) -> None:
        """After a failed acquire round trip: remove the lock wherever it is, if it is ours."""
        token = shlex.quote(self.token)
        rm = " ; ".join(
            f"grep -q {token} {p}/{LOCK_NAME}/owner 2>/dev/null && rm -rf {p}/{LOCK_NAME}"
            for p in LOCK_PARENTS
        )
        # if the connection is gone, a lock left behind is taken over once stale
        with contextlib.suppress(RouterctlError):
            self.transport.run(f"{rm}; exit 0", timeout=30)

    def file(self, name: str) -> str:
        return f"{self.path}/{name}"

    def release(self, transport: Transport | None = None) -> None:
        if not self.held:
            return
        t = transport or self.transport
        q = shlex.quote(self.path)
        t.run(
            f"grep -q {shlex.quote(self.token)} {q}/owner 2>/dev/null && rm -rf {q}; exit 0",
            timeout=30,
        )
        self.held = False


# -- vtysh helpers ------------------------------------------------------------


def read_running(transport: Transport) -> str:
    res = transport.run("vtysh -c 'show running-config'", timeout=VTYSH_TIMEOUT)
    if not res.ok or "Current configuration" not in res.stdout:
        raise CommandError(
            f"'show running-config' failed on {transport.host} (exit {res.exit_status}): "
            f"{excerpt(res.stderr or res.stdout)}"
        )
    return res.stdout


@dataclass(frozen=True)
class Gathered:
    """What provision's first round trip read under the lock."""

    facts: str  # detect_script()'s output, for backend.parse_facts
    running: str | None  # vtysh's ``show running-config`` output, exactly; None: no config
    # suite -> its bgpd is up, from its ``ready_command`` batched with the config read
    # (detection left those suites out of its ``running`` section); empty: not batched
    ready: dict[str, bool] = field(default_factory=dict)


RUNNING_CONFIG = "show running-config"
# suites whose ready check is one vtysh command: asked in the config read's vtysh (one
# vtysh start instead of two: 40-90 ms of a no-op provision's read, issue 17)
BATCHED_READY = tuple(p for p in PROFILES.values() if p.ready_command)
_BGPD_WORD = re.compile(r"(?<![A-Za-z0-9_])bgpd(?![A-Za-z0-9_])")  # grep -w bgpd


def gather_script(marker: str, extra: tuple[str, ...] | list[str] = ()) -> str:
    """POSIX sh: the detection facts, then ``show running-config`` between ``marker`` lines.

    ``marker`` must be unique per run (a random token), so nothing the router prints
    can fake it. The end marker carries vtysh's exit status. ``extra``: more lines
    (the pre-flight's) run after detection, before the config read. Where a suite with
    a ``ready_command`` is installed (its init script), that command runs in the same
    vtysh as the config read (``-E``: each output follows its echoed command) and
    detection leaves that suite's ready check out.
    """
    read = f"vtysh -c {shlex.quote(RUNNING_CONFIG)}; s=$?"
    for suite in reversed(BATCHED_READY):
        assert suite.ready_command is not None
        batch = f"-c {shlex.quote(suite.ready_command)} -c {shlex.quote(RUNNING_CONFIG)}"
        read = f"if [ -x {suite.init_script} ]; then vtysh -E {batch}; s=$?; else {read}; fi"
    return "\n".join(
        [
            *openwrt.detect_lines(batched_ready=True),
            *extra,
            f"printf '\\n%s\\n' {shlex.quote(marker + 'running-config')}",
            f"if command -v vtysh >/dev/null 2>&1; then {read}; else s=127; fi",
            f"printf '\\n%s\\n' \"{marker}end $s\"",
        ]
    )


def split_gathered(stdout: str, marker: str) -> Gathered:
    """Split ``gather_script``'s output; the config is what ``read_running`` accepts."""
    facts, sep, tail = stdout.partition(f"\n{marker}running-config\n")
    if not sep:
        return Gathered(facts=stdout, running=None)
    config, sep, status = tail.rpartition(f"\n{marker}end ")
    if not sep:
        return Gathered(facts=facts, running=None)
    ready: dict[str, bool] = {}
    for suite in BATCHED_READY:
        assert suite.ready_command is not None
        _lead, outs = split_echoed(config, [suite.ready_command, RUNNING_CONFIG])
        if outs:  # the batch ran: its first command was echoed
            ready[suite.name] = _BGPD_WORD.search(outs[0]) is not None
            config = outs[1] if len(outs) > 1 else ""
            break
    if status.strip() != "0" or "Current configuration" not in config:
        return Gathered(facts=facts, running=None, ready=ready)
    return Gathered(facts=facts, running=config, ready=ready)


_PROMPT = re.compile(r"[^\s#]+(?:\([^)]*\))?#\s?(.*)")


def vtysh_errors(output: str) -> list[str]:
    """Failed lines in vtysh's echo of a stdin script: ``'<command>': <error>``, redacted.

    Every ``%`` line counts (``% Unknown command``, ``% Invalid input``, warnings too):
    a rollback is cheaper than a half-understood config.
    """
    failures: list[str] = []
    last_cmd = ""
    for raw in output.splitlines():
        line = raw.strip()
        if line.startswith("%"):
            failures.append(f"{redact(last_cmd)!r}: {redact(line)}")
            continue
        m = _PROMPT.fullmatch(line)
        if m:
            last_cmd = m.group(1).strip()
    return failures


def apply_script(transport: Transport, lines: tuple[str, ...] | list[str]) -> list[str]:
    """Send config lines to ONE vtysh over stdin; return failures (empty = all applied)."""
    return apply_and_read(transport, lines, read_back=False)[0]


def apply_and_read(
    transport: Transport, lines: tuple[str, ...] | list[str], *, read_back: bool = True
) -> tuple[list[str], str | None]:
    """``apply_script``, then ``show running-config`` in the same vtysh (no second vtysh
    start, no second exec): (failures, the config read back after the apply).

    The read-back is what follows the echo of ``show running-config`` (vtysh echoes each
    stdin line after its prompt); None where it cannot be told apart (no echo, say):
    the caller reads the config again (``read_running``).
    """
    script = "configure terminal\n" + "\n".join(lines) + "\nend\n"
    if read_back:
        script += f"{RUNNING_CONFIG}\n"
    res = transport.run(VTYSH_STDIN, stdin=script.encode(), timeout=VTYSH_TIMEOUT)
    applied, after = split_read_back(res.stdout) if read_back else (res.stdout, None)
    failures = vtysh_errors(applied + "\n" + res.stderr)
    if res.exit_status != 0 and not failures:
        failures.append(f"vtysh exited {res.exit_status}")
    return failures, after


def split_read_back(output: str) -> tuple[str, str | None]:
    """(the apply's echo, the running config after it) from a stdin script ending in
    ``show running-config``; the config is None when its echo or its header is missing."""
    lines = output.split("\n")
    for i in range(len(lines) - 1, -1, -1):
        m = _PROMPT.fullmatch(lines[i].strip())
        if m and m.group(1).strip() == RUNNING_CONFIG and "(" not in lines[i].split("#")[0]:
            tail = lines[i + 1 :]
            # vtysh prints its prompt once more at the end of stdin
            while tail and (not tail[-1].strip() or _PROMPT.fullmatch(tail[-1].strip())):
                tail.pop()
            config = "\n".join(tail) + "\n"
            head = "\n".join(lines[:i])
            return head, config if "Current configuration" in config else None
    return output, None


def save_config(transport: Transport, suite_save: str) -> None:
    res = transport.run(f"vtysh -c {shlex.quote(suite_save)}", timeout=VTYSH_TIMEOUT)
    if not res.ok or "[OK]" not in res.stdout + res.stderr:
        raise CommandError(
            f"'{suite_save}' failed on {transport.host}: {excerpt(res.stderr or res.stdout)}"
        )


def established_peers(output: str) -> set[str]:
    """Neighbor addresses in state Established in a BGP summary.

    FRR JSON or text of either suite; the suite is detected from the output itself,
    because what answers vtysh (FRR daemons behind a Quagga package layout, say) is
    not always what the package names suggest.
    """
    try:
        summaries = parse_bgp_summaries(output)
    except ParseError:
        return set()
    return {str(n.address) for s in summaries for n in s.neighbors if n.established}


def sessions_established(
    transport: Transport, suite: SuiteProfile, addresses: list[str]
) -> tuple[list[str], list[str]]:
    """(established, not established) among ``addresses``."""
    res = transport.run(f"vtysh -c {shlex.quote(suite.summary_command)}", timeout=30)
    up = established_peers(res.stdout)
    return [a for a in addresses if a in up], [a for a in addresses if a not in up]


# -- provision ----------------------------------------------------------------


def dialect_for(running: str, suite: str) -> str:
    """The config dialect the router's daemons speak: what vtysh prints decides.

    FRR prints ``frr version`` in its running config; a Quagga-packaged router whose
    daemons are FRR (or an FRR-built vtysh) speaks FRR whatever the package names.
    """
    found = identify(running_config=running, fallback=suite)
    assert found is not None
    return found


def desired_config(topology: Topology, router: Router, dialect: str) -> str:
    return render_router(topology, router.name, suite=dialect).text()


def plan_router(transport: Transport, topology: Topology, router: Router) -> Plan:
    """Read-only: the plan for ``router`` (one detection round trip, one config read)."""
    return plan_with_preflight(transport, topology, router)[0]


def plan_with_preflight(
    transport: Transport, topology: Topology, router: Router, *, open_firewall: bool = False
) -> tuple[Plan, PreflightReport]:
    """Read-only: the pre-flight (in the detection round trip), then the plan.

    A blocking pre-flight check raises ``PreflightBlocked`` before the config is read.
    """
    script = "\n".join([*openwrt.detect_lines(), *pf.lines_for(topology, router), "exit 0"])
    out = transport.run(script, timeout=60).stdout
    facts = openwrt.parse_facts(out, host=transport.host)
    report = pf.judge(
        out,
        facts,
        topology=topology,
        router=router,
        manage_firewall=pf.manage_firewall(topology, open_firewall),
    )
    pf.refuse_if_blocked(report, transport.host)
    suite = openwrt.choose_suite(facts, pin=router.suite, available=None)
    notes: list[str] = []
    if "/usr/bin/vtysh" in facts.files and openwrt.installed_suite(facts) is not None:
        running = read_running(transport)
    else:
        running = ""  # nothing configured yet: everything is added
        notes.append(f"{suite.name} is not installed yet; provision installs it first")
    plan = compute_plan(
        router=router.name,
        asn=router.asn,
        running=running,
        desired=desired_config(topology, router, dialect_for(running, suite.name)),
        ibgp=router.asn == topology.cluster.asn,
    )
    return replace(plan, notes=(*notes, *plan.notes)), report


def provision(
    transport: Transport,
    topology: Topology,
    router: Router,
    *,
    reconnect: Connect | None = None,
    confirm: Callable[[Plan], bool] = lambda _plan: True,
    confirm_timeout: float | None = None,
    progress: Progress = lambda _msg: None,
    open_firewall: bool = False,
) -> ProvisionResult:
    """Make ``router`` run the desired BGP config; roll back on any failure.

    The pre-flight runs in the lock's round trip; a blocking check raises
    ``PreflightBlocked`` before anything changes. With ``open_firewall`` (or the
    topology's ``firewall.manage``) routerctl's firewall rules are planned and applied too.
    """
    manage_firewall = pf.manage_firewall(topology, open_firewall)
    quick = _noop_without_lock(
        transport, topology, router, manage_firewall=manage_firewall, progress=progress
    )
    if quick is not None:
        return quick
    lock = RouterLock(transport)
    # one round trip: the lock, then (only once it is held) detection, the pre-flight's
    # facts and the running config
    marker = f"@@routerctl-{secrets.token_hex(8)}@@"
    res = lock.acquire(
        then=gather_script(marker, pf.lines_for(topology, router)), timeout=30 + VTYSH_TIMEOUT
    )
    progress(f"locked {lock.path} on {transport.host}")
    state = _Run(
        transport=transport,
        reconnect=reconnect,
        lock=lock,
        progress=progress,
        gathered_stdout=res.stdout,
        marker=marker,
        manage_firewall=manage_firewall,
    )
    try:
        return state.run(topology, router, confirm=confirm, confirm_timeout=confirm_timeout)
    except KeyboardInterrupt:
        if state.pending is not None:  # Ctrl-C between apply and the end: undo
            pending_router, before, suite = state.pending
            state.rollback(pending_router, before, suite, written=state.written, why="interrupted")
        raise
    finally:
        if state.keep_lock:
            progress(f"kept {lock.path} on the router: it holds the saved config")
        else:
            try:
                lock.release(state.transport)
            except RouterctlError:
                progress(f"could not remove {lock.path} (taken over after {LOCK_STALE_SECONDS}s)")


def _guard_lines(marker: str) -> list[str]:
    """POSIX sh: ``rc_guard WHAT`` prints WHAT, where the lock is held ("-": nowhere),
    and the generation counters (shell builtins only)."""
    dirs = " ".join(LOCK_PARENTS)
    return [
        f"rc_guard() {{ l=- g=; for p in {dirs}; do [ -d $p/{LOCK_NAME} ] && l=$p; x=; "
        f'[ -r $p/{GEN_NAME} ] && read -r x <$p/{GEN_NAME}; g="$g$x,"; done; '
        f'echo "{marker}guard $1 $l $g"; }}',
    ]


def _noop_without_lock(
    transport: Transport,
    topology: Topology,
    router: Router,
    *,
    manage_firewall: bool,
    progress: Progress,
) -> ProvisionResult | None:
    """A router already in sync, in ONE exec and without the lock (issue 17): the read
    provision makes under the lock (detection, the pre-flight's facts, the running
    config), between two looks at the lock and its generation counter. No lock held at
    either look and the same generation (every acquire bumps it): no provision held or
    took the lock while we read, so the read is as good as one under the lock; and if
    nothing is to change, that is the answer. None: anything else (a lock seen, the
    generation moved, something to install, enable, apply or open): lock and read again.
    A pre-flight block is raised from here as from the locked read (nothing changed)."""
    marker = f"@@routerctl-{secrets.token_hex(8)}@@"
    head = "\n".join([*_guard_lines(marker), "rc_guard before", 'eval "$(cat)"', "exit 0"])
    body = gather_script(marker, pf.lines_for(topology, router)) + "\nrc_guard after\n"
    # the head in the exec request answers at once (its packet ACKs the start of the
    # script on stdin: see RouterLock.acquire)
    res = transport.run(
        "sh -c " + shlex.quote(head), stdin=body.encode(), timeout=30 + VTYSH_TIMEOUT
    )
    guards: dict[str, list[str]] = {}
    kept: list[str] = []
    for line in res.stdout.split("\n"):
        if line.startswith(f"{marker}guard "):
            what, *rest = line[len(marker) + 6 :].split(" ")
            guards[what] = rest
        else:
            kept.append(line)
    before, after = guards.get("before"), guards.get("after")
    if not res.ok or before is None or before != after or before[:1] != ["-"]:
        return None
    buffered: list[str] = []
    try:
        d = _decide(
            transport,
            _ReadOnly(transport.host),
            "\n".join(kept),
            marker,
            topology=topology,
            router=router,
            manage_firewall=manage_firewall,
            progress=buffered.append,
        )
    except _NeedsLock:
        return None
    except RouterctlError:
        for msg in buffered:  # what the locked read would have said before the error
            progress(msg)
        raise
    if not (d.plan.empty and d.firewall.empty):
        return None
    for msg in buffered:
        progress(msg)
    progress("no changes (read without the lock: no provision held or took it meanwhile)")
    return d.result


class _NeedsLock(Exception):
    """The read without the lock cannot decide alone: lock and read again."""


class _ReadOnly:
    """The transport the lock-free decision gets: any command means "take the lock"."""

    exec_count = 0

    def __init__(self, host: str) -> None:
        self.host = host

    def run(self, command: str, **_kw: object) -> CommandResult:
        raise _NeedsLock(command)

    def write_file(self, path: str, data: bytes, **_kw: object) -> None:
        raise _NeedsLock(path)

    def close(self) -> None:
        pass

    def __enter__(self) -> _ReadOnly:
        return self

    def __exit__(self, *_exc: object) -> None:
        pass


@dataclass(frozen=True)
class _Decision:
    report: PreflightReport
    firewall: FirewallPlan
    ensured: backend.EnsureResult
    before: str
    desired: str
    plan: Plan
    result: ProvisionResult


def _decide(
    t: Transport,
    ensure_t: Transport,
    gathered_stdout: str,
    marker: str,
    *,
    topology: Topology,
    router: Router,
    manage_firewall: bool,
    progress: Progress,
) -> _Decision:
    """From the first read (``gather_script``'s output): the pre-flight's verdict, the
    suite made ready (through ``ensure_t``), the config before and the plan. The lock-free
    read passes a ``_ReadOnly`` as ``ensure_t``: anything to do raises ``_NeedsLock``."""
    gathered = split_gathered(gathered_stdout, marker)
    facts = openwrt.parse_facts(gathered.facts, host=t.host)
    if gathered.ready:  # the batched ready checks (detection left them out)
        facts = replace(facts, running={**facts.running, **gathered.ready})
    report = pf.judge(
        gathered.facts,
        facts,
        topology=topology,
        router=router,
        manage_firewall=manage_firewall,
    )
    for c in report.warnings:
        progress(f"pre-flight warning: {c.name}: {c.message} ({c.hint})")
    pf.refuse_if_blocked(report, t.host)
    fw_plan = report.firewall

    def refuse_unsupported(chosen: SuiteProfile) -> None:
        # before installing a suite without listen ranges (once a suite is installed,
        # the daemons' dialect decides, in render_router, before anything is applied)
        check_dynamic_supported(
            topology, router, suite=chosen.name, listen_range=chosen.listen_range
        )

    ensured = backend.ensure_suite(
        ensure_t,
        pin=router.suite,
        progress=progress,
        facts=facts,
        before_install=refuse_unsupported,
    )
    suite = ensured.suite
    if ensured.installed:  # the pre-flight could not read a bgpd that was not there
        late = pf.check_installed_multipath(t, topology, router)
        if late is not None:
            pf.refuse_if_blocked(late, t.host, installed=True)
    # the config read under the lock holds unless ensure_suite installed, enabled or
    # restarted something since (or vtysh did not answer then): then read it now
    before = gathered.running
    if before is None or ensured.acted:
        before = read_running(ensure_t)
    dialect = dialect_for(before, suite.name)
    if dialect != suite.name:
        progress(f"{suite.name} packages, {dialect} daemons: using the {dialect} dialect")
    desired = desired_config(topology, router, dialect)
    plan = compute_plan(
        router=router.name,
        asn=router.asn,
        running=before,
        desired=desired,
        ibgp=router.asn == topology.cluster.asn,
    )
    result = ProvisionResult(
        router=router.name,
        suite=suite.name,
        installed=ensured.installed,
        plan=plan,
        applied=False,
        lines_sent=0,
        written=False,
        preflight=report,
        firewall=fw_plan,
    )
    return _Decision(report, fw_plan, ensured, before, desired, plan, result)


@dataclass
class _Run:
    transport: Transport
    reconnect: Connect | None
    lock: RouterLock
    progress: Progress
    gathered_stdout: str  # the lock round trip's output (see gather_script)
    marker: str
    pending: tuple[Router, str, SuiteProfile] | None = None  # set while a rollback may be needed
    written: bool = False  # the persisted files were rewritten
    keep_lock: bool = False  # a rollback failed: the lock dir holds the saved config
    manage_firewall: bool = False  # plan and apply routerctl's firewall rules
    firewall_saved: bool = False  # /etc/config/firewall was saved in the lock dir and changed

    def run(
        self,
        topology: Topology,
        router: Router,
        *,
        confirm: Callable[[Plan], bool],
        confirm_timeout: float | None,
    ) -> ProvisionResult:
        t = self.transport
        d = _decide(
            t,
            t,
            self.gathered_stdout,
            self.marker,
            topology=topology,
            router=router,
            manage_firewall=self.manage_firewall,
            progress=self.progress,
        )
        report, fw_plan, ensured, suite = d.report, d.firewall, d.ensured, d.ensured.suite
        before, desired, plan, result = d.before, d.desired, d.plan, d.result
        if plan.empty and fw_plan.empty:
            self.progress("no changes")
            return result
        shown = plan
        if not fw_plan.empty:  # the firewall rules routerctl owns, in the plan it shows
            shown = replace(plan, notes=(*plan.notes, *fw_plan.notes()))
        if not confirm(shown):
            return result
        if plan.empty:  # only the firewall rules routerctl owns change
            self.apply_firewall(fw_plan)
            return replace(result, applied=True)
        # save the running config (stdin) and the persisted files inside the lock (umask
        # 077), in one exec
        backup = " ; ".join(
            f"if [ -f {shlex.quote(f)} ]; then cp -p {shlex.quote(f)} "
            f"{self.lock.file(f'persisted{i}')}; fi"
            for i, f in enumerate(suite.persisted_files)
        )
        save = write_file_command(self.lock.file("running.conf"), mode=0o600)
        res = t.run(
            f"{save} || exit 1; umask 077; {backup}; exit 0", stdin=before.encode(), timeout=30
        )
        if not res.ok:
            raise CommandError(
                f"cannot back up the config on {t.host}: "
                f"{res.stderr.strip() or f'exit {res.exit_status}'}"
            )
        self.progress(f"saved the current config in {self.lock.path}")
        self.progress(f"applying {len(plan.script)} config lines in one vtysh session")
        self.pending = (router, before, suite)
        try:
            failures, after = apply_and_read(t, plan.script)
        except TransportError as exc:
            self.rollback(router, before, suite, written=False, why=str(exc.message))
            raise RolledBackError(
                f"connection to {t.host} dropped mid-apply; the previous config was restored",
                hint="check the link to the router and rerun provision",
            ) from exc
        if failures:
            self.rollback(router, before, suite, written=False, why="vtysh errors")
            raise RolledBackError(
                f"vtysh rejected {len(failures)} line(s) on {t.host}: {'; '.join(failures)}; "
                "the previous config was restored",
                hint="the router's suite may not support an option in the topology",
            )
        if after is None:  # the read-back in the apply's vtysh could not be split off
            after = read_running(t)
        diff = compute_plan(router=router.name, asn=router.asn, running=after, desired=desired)
        if not diff.empty:
            self.rollback(router, before, suite, written=False, why="read-back mismatch")
            raise RolledBackError(
                f"after apply, the running config of {t.host} still differs from the desired "
                f"one ({'; '.join(c.describe() for c in diff.changes[:3])}); "
                "the previous config was restored",
                hint="rerun with --debug and report this",
            )
        self.progress("read back: running config matches the desired config")
        try:
            save_config(t, _save_command(suite))
        except (CommandError, TransportError) as exc:
            self.rollback(router, before, suite, written=True, why="save failed")
            raise RolledBackError(
                f"{exc.message}; the previous config was restored",
                hint="check that the router can write its config files",
            ) from exc
        self.written = True
        self.progress(f"persisted with '{_save_command(suite)}'")
        if not fw_plan.empty:
            try:
                self.apply_firewall(fw_plan)
            except (CommandError, TransportError) as exc:
                self.rollback(router, before, suite, written=True, why="firewall change failed")
                raise RolledBackError(
                    f"{exc.message}; the previous config and firewall were restored",
                    hint="check the router's firewall config (uci show firewall)",
                ) from exc
        established: list[str] = []
        if confirm_timeout is not None:
            nodes = [str(n.address) for n in topology.nodes_for(router)]
            self.progress(f"waiting up to {confirm_timeout:g}s for {len(nodes)} sessions")
            deadline = time.monotonic() + confirm_timeout
            while True:
                established, down = sessions_established(t, suite, nodes)
                if not down:
                    break
                if time.monotonic() > deadline:
                    self.rollback(router, before, suite, written=True, why="confirm timeout")
                    raise RolledBackError(
                        f"{len(down)} session(s) not Established within {confirm_timeout:g}s "
                        f"({', '.join(down)}); the previous config was restored",
                        hint="check the nodes' BGP speakers (MetalLB), or raise --confirm-timeout",
                    )
                time.sleep(1.0)  # poll interval between round trips, bounded by the deadline
            self.progress(f"all {len(established)} sessions Established")
        self.pending = None
        return ProvisionResult(
            router=router.name,
            suite=suite.name,
            installed=ensured.installed,
            plan=plan,
            applied=True,
            lines_sent=len(plan.script),
            written=True,
            established=tuple(established),
            preflight=report,
            firewall=fw_plan,
        )

    def apply_firewall(self, fw_plan: FirewallPlan) -> None:
        """Save /etc/config/firewall in the lock dir, then edit only routerctl's rules."""
        t = self.transport
        saved = self.lock.file("firewall.conf")
        res = t.run(
            f"umask 077; cp -p {FIREWALL_CONFIG} {saved} && {{\n{fw_plan.script()}}}",
            timeout=60,
        )
        self.firewall_saved = True
        if not res.ok:
            self.restore_firewall()
            raise CommandError(
                f"changing the firewall rules on {t.host} failed (exit {res.exit_status}): "
                f"{excerpt(res.stderr or res.stdout)}; the firewall config was restored",
                hint="check the router's firewall config (uci show firewall)",
            )
        for c in fw_plan.changes:
            self.progress(f"firewall: {c.describe()}")

    def restore_firewall(self) -> None:
        """Put the saved /etc/config/firewall back and reload the firewall."""
        if not self.firewall_saved:
            return
        saved = self.lock.file("firewall.conf")
        res = self.transport.run(
            f"cp -p {saved} {FIREWALL_CONFIG} && {{ [ ! -x {FIREWALL_INIT} ] || "
            f"{FIREWALL_INIT} reload; }}",
            timeout=60,
        )
        if not res.ok:
            self.keep_lock = True
            raise CommandError(
                f"ROLLBACK: cannot restore {FIREWALL_CONFIG} on {self.transport.host}: "
                f"{res.stderr.strip()}; the saved file is {saved} on the router",
                hint=f"copy it back by hand and run {FIREWALL_INIT} reload",
            )
        self.firewall_saved = False
        self.progress(f"restored {FIREWALL_CONFIG}")

    def rollback(
        self, router: Router, before: str, suite: SuiteProfile, *, written: bool, why: str
    ) -> None:
        """Restore ``before`` (and the persisted files if they were rewritten)."""
        self.progress(f"rolling back ({redact(why)})")
        t = self.transport
        try:
            current = read_running(t)
        except TransportError:
            if self.reconnect is None:
                raise
            self.progress("reconnecting to restore")
            self.transport.close()
            t = self.reconnect()
            self.transport = t
            current = read_running(t)
        restore = compute_restore(router=router.name, asn=router.asn, current=current, saved=before)
        if not restore.empty:
            failures = apply_script(t, restore.script)
            if failures:
                self.keep_lock = True
                raise CommandError(
                    f"ROLLBACK FAILED on {t.host}: {'; '.join(failures)}; the saved config is "
                    f"in {self.lock.file('running.conf')} on the router",
                    hint="restore it by hand with vtysh",
                )
        check = compute_restore(
            router=router.name, asn=router.asn, current=read_running(t), saved=before
        )
        if not check.empty:
            self.keep_lock = True
            raise CommandError(
                f"ROLLBACK INCOMPLETE on {t.host}: "
                f"{'; '.join(c.describe() for c in check.changes[:3])}; the saved config is in "
                f"{self.lock.file('running.conf')} on the router",
                hint="restore it by hand with vtysh",
            )
        if written:
            restore_files = " ; ".join(
                f"if [ -f {self.lock.file(f'persisted{i}')} ]; then "
                f"cp -p {self.lock.file(f'persisted{i}')} {shlex.quote(f)}; "
                f"else rm -f {shlex.quote(f)}; fi"
                for i, f in enumerate(suite.persisted_files)
            )
            res = t.run(restore_files, timeout=30)
            if not res.ok:
                self.keep_lock = True
                raise CommandError(
                    f"ROLLBACK: cannot restore {', '.join(suite.persisted_files)} on {t.host}: "
                    f"{res.stderr.strip()}"
                )
        self.restore_firewall()
        self.pending = None
        self.progress("restored the previous config")


def _save_command(suite: SuiteProfile) -> str:
    return suite.save_command
