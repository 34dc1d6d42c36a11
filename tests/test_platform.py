"""Each suite fact has one home: routerctl/platform/ (issue 11)."""

from __future__ import annotations

from pathlib import Path

import pytest

from routerctl.platform import FRR, PROFILES, QUAGGA, identify
from routerctl.platform.openwrt import PACKAGE_MANAGERS

PACKAGE = Path(__file__).resolve().parent.parent / "routerctl"
SUITE_FACTS = ("frr.conf", "bgpd.conf", "/etc/init.d/frr", "show ip bgp summary")
# the lab takes its suite facts (files, init scripts) from the profiles too
ALLOWED = ("platform",)


def test_suite_facts_live_only_in_platform() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] in ALLOWED:
            continue
        text = path.read_text(encoding="utf-8")
        found += [f"{rel}: {fact}" for fact in SUITE_FACTS if fact in text]
    assert found == []


def test_the_grep_would_catch_a_stray_fact(tmp_path: Path) -> None:
    (tmp_path / "stray.py").write_text('INIT = "/etc/init.d/frr"\n')
    assert any(f in (tmp_path / "stray.py").read_text() for f in SUITE_FACTS)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"running_config": "frr version 8.4\nfrr defaults traditional\n"}, "frr"),
        ({"running_config": "!\nrouter bgp 64512\n", "fallback": "quagga"}, "quagga"),
        ({"version": "FRRouting 10.4.1 (OpenWrt)"}, "frr"),
        ({"version": "Quagga 1.2.4 (OpenWrt)"}, "quagga"),
        ({"installed": frozenset({"quagga", "quagga-zebra", "quagga-bgpd"})}, "quagga"),
        ({"installed": frozenset({"frr", "frr-zebra", "frr-bgpd", "quagga"})}, "frr"),
        ({"installed": frozenset()}, None),
        # the running config outranks the version line and the packages
        (
            {
                "running_config": "frr version 10\n",
                "version": "Quagga 1.2.4",
                "installed": frozenset(QUAGGA.packages),
            },
            "frr",
        ),
    ],
)
def test_identify_order(kwargs: dict[str, object], expected: str | None) -> None:
    assert identify(**kwargs) == expected  # type: ignore[arg-type]


def test_profiles_hold_the_capabilities() -> None:
    assert list(PROFILES) == ["frr", "quagga"]
    assert FRR.bfd and not QUAGGA.bfd
    assert FRR.json and not QUAGGA.json
    assert QUAGGA.multipath_limit == 64 and FRR.multipath_limit is None
    assert FRR.dialect.name == "frr" and QUAGGA.dialect.name == "quagga"


def test_package_managers_know_every_operation() -> None:
    opkg, apk = PACKAGE_MANAGERS["opkg"], PACKAGE_MANAGERS["apk"]
    assert opkg.install_file and "{path}" in opkg.install_file
    # apk installs a local .apk that routerctl builds on the router with `apk mkpkg`
    assert apk.install_file and "--allow-untrusted" in apk.install_file
    assert apk.package_format == "apk" and opkg.package_format == "ipk"
    assert apk.script_names["postinst"] == ("post-install", "post-upgrade")
    assert apk.script_names["prerm"] == ("pre-deinstall",)
    for pm in (opkg, apk):
        assert "{name}" in pm.remove and "{name}" in pm.query_installed
