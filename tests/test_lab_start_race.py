"""A router's root is ready only once its holder has chrooted into it.

boot.sh touches ``ready`` and then execs ``chroot``; under load the host could see ``ready``
while the holder's root was still the host's ``/``, so ``nsenter -r`` started Dropbear in the
host's root, where the router's host key does not exist ("No hostkeys available"). These
tests widen that window on purpose (a delay injected into boot.sh, fault injection, not
synchronisation) and the router must still come up with Dropbear serving its own key.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from routerctl.lab import Lab
from routerctl.lab import openwrt as lab_openwrt

pytestmark = pytest.mark.lab


def _slow_chroot(text: bytes) -> bytes:
    marker = b"exec chroot"
    assert marker in text, "boot.sh no longer execs chroot: update this test"
    return text.replace(marker, b"sleep 1\n" + marker, 1)


@pytest.mark.parametrize("release", [None, "23.05"])
def test_dropbear_starts_when_the_chroot_lags_behind_ready(
    lab_factory: Callable[..., Lab], monkeypatch: pytest.MonkeyPatch, release: str | None
) -> None:
    real = lab_openwrt.resource
    monkeypatch.setattr(
        lab_openwrt,
        "resource",
        lambda name: _slow_chroot(real(name)) if name == "boot.sh" else real(name),
    )
    lab = lab_factory(openwrt=release, installed=False)
    out = lab.router_sh("cat /etc/openwrt_release; cat /var/run/dropbear.pid").stdout
    assert "DISTRIB_ID='OpenWrt'" in out
    holder = lab.state.holders["rtr"]
    assert Path(f"/proc/{holder}/root/etc/openwrt_release").exists()
