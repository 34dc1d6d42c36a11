"""Every suite- and OS-specific fact, as data: one ``SuiteProfile`` per routing suite
(``suites``, with its render ``Dialect`` from ``dialects``) and OpenWrt's package managers
and releases (``openwrt``). ``identify`` is the one suite detector.
"""

from __future__ import annotations

from routerctl.platform.dialects import Dialect
from routerctl.platform.suites import (
    FRR,
    PROFILES,
    QUAGGA,
    SUITE_NAMES,
    TEXT_SUMMARY_COMMAND,
    SuiteCommands,
    SuiteProfile,
    identify,
    profile,
)

__all__ = [
    "FRR",
    "PROFILES",
    "QUAGGA",
    "SUITE_NAMES",
    "TEXT_SUMMARY_COMMAND",
    "Dialect",
    "SuiteCommands",
    "SuiteProfile",
    "identify",
    "profile",
]
