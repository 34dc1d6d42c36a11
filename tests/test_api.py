"""routerctl.api: returns data, never prints, raises routerctl's own errors.

The end-to-end proofs against real routers are in test_fleet_lab.py (provision, plan,
verify through the API); these are the offline contracts.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import yaml

from routerctl import api
from routerctl.checks import Severity
from routerctl.cli import main
from routerctl.errors import ExitCode, TopologyError, TransportError, UsageError
from routerctl.topology import Router
from routerctl.transport import Transport
from routerctl.transport.fake import FakeTransport

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "examples" / "seed.yaml"
FULL = REPO / "examples" / "full.yaml"


def test_load_topology_accepts_str_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    topo = api.load_topology(str(SEED))
    assert topo.source == SEED
    monkeypatch.setenv("ROUTERCTL_TOPOLOGY", str(SEED))
    assert api.load_topology() == topo


def test_load_topology_bad_file_is_a_topology_error(tmp_path: Path) -> None:
    bad = tmp_path / "routerctl.yaml"
    bad.write_text("routers: 3\n")
    with pytest.raises(TopologyError) as exc:
        api.load_topology(bad)
    assert str(bad) in exc.value.message
    assert exc.value.exit_code == ExitCode.USAGE


def test_unknown_router_is_a_topology_error() -> None:
    topo = api.load_topology(SEED)
    with pytest.raises(TopologyError, match="no router named 'nope'"):
        api.plan(topo, "nope", connector=lambda r: FakeTransport(r.name))


def test_render_metallb_is_what_the_cli_prints(capsys: pytest.CaptureFixture[str]) -> None:
    topo = api.load_topology(SEED)
    rendered = api.render_metallb(topo)
    assert capsys.readouterr().out == ""  # the API never prints
    assert main(["render", "metallb", "-t", str(SEED)]) == 0
    assert capsys.readouterr().out == rendered.yaml
    kinds = [d["kind"] for d in rendered.docs]
    assert kinds == [d["kind"] for d in yaml.safe_load_all(rendered.yaml)]
    assert "BGPPeer" in kinds and "IPAddressPool" in kinds


def test_render_metallb_configmap_refusals() -> None:
    topo = api.load_topology(FULL)
    with pytest.raises(UsageError, match="password inline"):
        api.render_metallb(topo, format="configmap")
    with pytest.raises(UsageError, match="--format crds only"):
        api.render_metallb(topo, format=api.MetallbFormat.configmap, router_name="x")
    with pytest.raises(ValueError, match="'helm'"):
        api.render_metallb(topo, format="helm")


def test_verify_unreachable_router_is_data_with_exit_3(
    capsys: pytest.CaptureFixture[str],
) -> None:
    topo = api.load_topology(SEED)

    def down(router: Router) -> Transport:
        raise TransportError(f"cannot connect to {router.ssh.host}: timed out")

    report = api.verify(topo, connector=down)
    assert capsys.readouterr() == ("", "")
    assert not report.ok
    assert report.status is Severity.UNKNOWN
    assert report.exit_code == ExitCode.UNREACHABLE
    assert [r.name for r in report.routers] == [r.name for r in topo.routers]
    assert report.routers[0].error is not None and "timed out" in report.routers[0].error
    assert report.messages() and "timed out" in report.messages()[0]


def test_public_functions_are_typed_and_documented() -> None:
    for name in api.__all__:
        obj = getattr(api, name)
        if inspect.isfunction(obj):
            assert obj.__doc__, name
            sig = inspect.signature(obj)
            assert sig.return_annotation is not inspect.Signature.empty, name
            for p in sig.parameters.values():
                assert p.annotation is not inspect.Parameter.empty, (name, p.name)
