"""verify's flap history goes with the lab: a lab rebuilt under the same name is new routers.

Before, the history (keyed by the router's name, host and ssh_config path) outlived the lab,
so a lab rebuilt as "lab" hours after an earlier "lab" was verified read its young sessions
as flaps. ``lab up`` and ``lab down`` now forget the records reached through the lab's folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from routerctl.lab import facade
from routerctl.lab.spec import LabSpec
from routerctl.model import BgpNeighbor, SessionState
from routerctl.ops import flaps
from routerctl.topology import Router, SshTarget


def _router(name: str, ssh_config: Path | None) -> Router:
    return Router(name=name, ssh=SshTarget(host=name, ssh_config=ssh_config), asn=65000)


def _nbr() -> BgpNeighbor:
    return BgpNeighbor(None, 65001, SessionState.ESTABLISHED)


def test_forget_under_drops_only_the_folders_routers(tmp_path: Path) -> None:
    path = tmp_path / "flaps.json"
    lab = tmp_path / "labroot" / "lab"
    mine = flaps.router_key(_router("rtr", lab / "ssh_config"))
    twin = flaps.router_key(_router("rtr", tmp_path / "labroot" / "lab2" / "ssh_config"))
    plain = flaps.router_key(_router("rtr", None))
    for key in (mine, twin, plain):
        flaps.save(path, key, [_nbr()], now=100.0)
    assert flaps.forget_under(path, lab) == 1
    hist, problem = flaps.load_all(path, [mine, twin, plain], now=200.0)
    assert problem is None
    assert hist[mine] is None
    assert hist[twin] is not None and hist[plain] is not None
    before = path.read_bytes()
    assert flaps.forget_under(path, lab) == 0  # nothing left: the file stays as it is
    assert path.read_bytes() == before
    assert flaps.forget_under(tmp_path / "absent.json", lab) == 0
    assert not (tmp_path / "absent.json").exists()


@pytest.mark.lab
def test_lab_down_forgets_the_labs_flap_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    name = f"f{os.getpid() % 10**9}"
    root = tmp_path / "labs"
    spec = LabSpec(name=name, root=root)
    key = flaps.router_key(spec.topology().routers[0])
    other = flaps.router_key(_router("rtr", tmp_path / "elsewhere" / "ssh_config"))
    path = flaps.default_path()
    flaps.save(path, key, [_nbr()], now=100.0)
    flaps.save(path, other, [_nbr()], now=100.0)
    facade.down(name, root=root)
    hist, _ = flaps.load_all(path, [key, other], now=200.0)
    assert hist[key] is None
    assert hist[other] is not None
