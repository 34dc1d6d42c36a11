"""Item 6: convergence: provision start on a fresh ``--no-suite`` lab to verify green."""

from __future__ import annotations

import threading
import time

from bench.harness import (
    BenchError,
    Context,
    lab_up,
    wait_green,
)
from bench.stats import Sample
from routerctl.lab import Lab, LabSpec
from routerctl.ops.provision import provision
from routerctl.topology import load_topology
from routerctl.transport import connect


class SessionWatch:
    """Polls the router's sessions from the host (nsenter + vtysh, not SSH) every 50 ms.

    ``wait()`` returns the monotonic time all ``want`` were first seen Established.
    """

    def __init__(self, lab: Lab, want: set[str]) -> None:
        self.lab, self.want = lab, want
        self.at: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            states = self.lab.sessions()
            if all(states.get(a) == "Established" for a in self.want):
                self.at = time.monotonic()
                return
            self._stop.wait(0.05)

    def __enter__(self) -> SessionWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def wait(self, *, timeout: float) -> float:
        self._thread.join(timeout=timeout)
        if self.at is None:
            raise BenchError(f"item 6: sessions {sorted(self.want)} never seen Established")
        return self.at


def item_6(ctx: Context) -> None:
    total: list[float] = []
    prov: list[float] = []
    install: list[float] = []
    bgp: list[float] = []
    bgp_only: list[float] = []
    lag: list[float] = []
    for i in range(ctx.opts.conv_runs):
        with lab_up(ctx, LabSpec(name="bnconv", installed=False)) as lab:
            topo = load_topology(lab.topology_file)
            router = topo.routers[0]
            marks: dict[str, float] = {}

            def progress(msg: str, marks: dict[str, float] = marks) -> None:
                marks.setdefault(msg.split(maxsplit=1)[0], time.monotonic())

            ctx.log(f"item 6: convergence run {i + 1}/{ctx.opts.conv_runs}")
            want = {str(n.address) for n in topo.cluster.nodes}
            watch = SessionWatch(lab, want)
            t0 = time.monotonic()
            with watch, connect(router.ssh, accept_new_host_key=True) as tr:
                res = provision(tr, topo, router, progress=progress)
                t_prov = time.monotonic()
                if not res.applied or not res.installed:
                    raise BenchError("item 6: provision on a fresh lab did not install and apply")
                t_green = wait_green(topo, timeout=120)
                t_est = watch.wait(timeout=10)
            t_applied = marks.get("applying", t_prov)  # neighbors configured from here on
            t_answers = marks.get(res.suite, t0)  # "<suite> answers on ...": installed
            total.append(t_green - t0)
            prov.append(t_prov - t0)
            install.append(t_answers - t0)
            bgp.append(t_est - t_applied)
            bgp_only.append(max(0.0, t_est - t_prov))
            lag.append(t_green - max(t_est, t_prov))
    ctx.row("6", "provision start -> verify green (fresh lab)", "s", Sample.of(total))
    ctx.row("6", "provision (install+apply+persist)", "s", Sample.of(prov), note="routerctl")
    ctx.row(
        "6", "  of which: connect+lock+install", "s", Sample.of(install), note="real opkg, lab feed"
    )
    ctx.row(
        "6",
        "BGP connect: config applied -> last Established",
        "s",
        Sample.of(bgp),
        note="sessions polled every 50 ms",
    )
    ctx.row(
        "6", "BGP wait after provision returned", "s", Sample.of(bgp_only), note="BGP's own delay"
    )
    ctx.row(
        "6", "verify green after Established", "s", Sample.of(lag), note="poll 0.1s + one verify"
    )
    rc_share = [t - b for t, b in zip(total, bgp_only, strict=True)]
    ctx.row("6", "routerctl's own time (total - BGP wait)", "s", Sample.of(rc_share))
