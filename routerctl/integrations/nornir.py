"""Nornir plugin: an inventory read from ``routerctl.yaml`` and the tasks ``plan``,
``provision``, ``verify`` (install with ``pip install 'routerctl[nornir]'``).

>>> from nornir import InitNornir
>>> from routerctl.integrations.nornir import provision, verify
>>> nr = InitNornir(inventory={"plugin": "RouterctlInventory",
...                            "options": {"topology_file": "routerctl.yaml"}},
...                 runner={"plugin": "threaded", "options": {"num_workers": 4}})  # doctest: +SKIP
>>> results = nr.run(task=provision, confirm_timeout=60)                            # doctest: +SKIP

Hosts are the topology's routers (``hostname``/``port``/``username`` from their ``ssh:``;
``data``: ``asn``, ``router_id``, ``suite``); the cluster and the whole topology are the
inventory's defaults (``data["cluster"]``, ``data["routerctl_topology"]``), shared by every
host. The tasks return ``Result``s with ``changed``, ``diff`` (the plan, passwords
redacted), ``failed`` and the typed routerctl result in ``result``; they honour Nornir's
``dry_run`` and leave concurrency to Nornir's runner. routerctl opens its own SSH
connection per task (``~/.ssh/config``, agent, known_hosts), not a Nornir connection plugin.
"""

from __future__ import annotations

from typing import Any

from nornir.core import Nornir
from nornir.core.inventory import Defaults, Groups, Host, Hosts, Inventory
from nornir.core.plugins.inventory import InventoryPluginRegister
from nornir.core.task import AggregatedResult, Result, Task

from routerctl import api
from routerctl.errors import RolledBackError, RouterctlError
from routerctl.ops.fleet import DEFAULT_GATE_TIMEOUT
from routerctl.topology import Topology

TOPOLOGY_KEY = "routerctl_topology"

__all__ = [
    "RouterctlInventory",
    "plan",
    "provision",
    "register",
    "rolling_provision",
    "topology_of",
    "verify",
]


class RouterctlInventory:
    """Nornir inventory plugin (``RouterctlInventory``): the routers of ``routerctl.yaml``."""

    def __init__(self, topology_file: str | None = None) -> None:
        self.topology_file = topology_file

    def load(self) -> Inventory:
        topo = api.load_topology(self.topology_file)
        cluster = topo.cluster
        defaults = Defaults(
            platform="openwrt",
            data={
                TOPOLOGY_KEY: topo,
                "cluster": {
                    "asn": cluster.asn,
                    "nodes": [{"name": n.name, "address": str(n.address)} for n in cluster.nodes],
                    "pools": [
                        {"name": p.name, "addresses": [a.text for a in p.addresses]}
                        for p in cluster.pools
                    ],
                },
            },
        )
        hosts = Hosts(
            {
                r.name: Host(
                    name=r.name,
                    hostname=r.ssh.host,
                    port=r.ssh.port,
                    username=r.ssh.user,
                    platform="openwrt",
                    data={
                        "asn": r.asn,
                        "router_id": str(r.router_id) if r.router_id else None,
                        "suite": r.suite,
                    },
                    defaults=defaults,
                )
                for r in topo.routers
            }
        )
        return Inventory(hosts=hosts, groups=Groups(), defaults=defaults)


def register() -> None:
    """Make ``RouterctlInventory`` known to ``InitNornir`` (the package's entry point
    does this when routerctl is installed; call it when running from a checkout)."""
    if "RouterctlInventory" not in InventoryPluginRegister.available:
        InventoryPluginRegister.register("RouterctlInventory", RouterctlInventory)


def topology_of(task: Task) -> Topology:
    """The topology the inventory was loaded from (shared by every host)."""
    assert task.host is not None
    topo = task.host.defaults.data.get(TOPOLOGY_KEY)
    if not isinstance(topo, Topology):
        raise RouterctlError(
            f"host {task.host.name} has no routerctl topology in its defaults",
            hint="load the inventory with the RouterctlInventory plugin",
        )
    return topo


def _failed(task: Task, exc: RouterctlError, **kw: Any) -> Result:
    return Result(
        host=task.host,
        failed=True,
        exception=exc,
        result=exc.one_line(),
        exit_code=exc.exit_code,
        **kw,
    )


def plan(task: Task) -> Result:
    """Read-only: ``result`` is the ``Plan``; ``changed``: provision would change something."""
    assert task.host is not None
    try:
        p = api.plan(topology_of(task), task.host.name)
    except RouterctlError as exc:
        return _failed(task, exc)
    return Result(host=task.host, result=p, changed=not p.empty, diff=_diff(p))


def provision(
    task: Task,
    *,
    dry_run: bool | None = None,
    confirm_timeout: float | None = None,
    gate: bool = False,
    gate_timeout: float = DEFAULT_GATE_TIMEOUT,
) -> Result:
    """Provision the host's router; ``dry_run`` (default: Nornir's) only plans.

    ``result`` is the ``ProvisionResult``; ``changed`` is exact (config applied, or would
    be on a dry run); a rollback is ``failed`` with ``rolled_back=True``. ``gate``: then
    verify the router until green (``gate_timeout`` seconds), failing the task if not --
    with a serial runner (or ``rolling_provision``) that is a rolling update.
    """
    assert task.host is not None
    topo = topology_of(task)
    dry = task.is_dry_run(dry_run)
    try:
        res = api.provision(topo, task.host.name, dry_run=dry, confirm_timeout=confirm_timeout)
    except RolledBackError as exc:
        return _failed(task, exc, rolled_back=True)
    except RouterctlError as exc:
        return _failed(task, exc, rolled_back=False)
    changed = (not res.plan.empty) if dry else res.applied
    if gate and not dry:
        report = api.verify(topo, task.host.name, wait=gate_timeout)
        if not report.ok:
            return Result(
                host=task.host,
                result=res,
                changed=changed,
                diff=_diff(res.plan),
                failed=True,
                gate=report,
                rolled_back=False,
                exit_code=report.exit_code,
            )
    return Result(
        host=task.host,
        result=res,
        changed=changed,
        diff=_diff(res.plan),
        rolled_back=False,
        exit_code=0,
    )


def verify(task: Task, *, wait: float | None = None) -> Result:
    """Verify the host's router: ``result`` is the ``VerifyReport``; ``failed`` unless every
    check passed (``failing``: the checks' one-line messages)."""
    assert task.host is not None
    try:
        report = api.verify(topology_of(task), task.host.name, wait=wait)
    except RouterctlError as exc:
        return _failed(task, exc)
    return Result(
        host=task.host,
        result=report,
        failed=not report.ok,
        failing=report.messages(),
        exit_code=report.exit_code,
    )


def rolling_provision(
    nr: Nornir,
    *,
    confirm_timeout: float | None = None,
    gate_timeout: float = DEFAULT_GATE_TIMEOUT,
) -> dict[str, AggregatedResult]:
    """One host at a time (inventory order), each followed by its verify gate; the first
    host that fails (rolled back, refused, red gate) stops the roll: the hosts after it
    are not run. Returns each run host's ``AggregatedResult``."""
    done: dict[str, AggregatedResult] = {}
    for name in list(nr.inventory.hosts):
        one = nr.filter(name=name).run(
            task=provision,
            confirm_timeout=confirm_timeout,
            gate=True,
            gate_timeout=gate_timeout,
        )
        done[name] = one
        if one.failed:
            break
    return done


def _diff(p: api.Plan) -> str:
    return "" if p.empty else p.describe()
