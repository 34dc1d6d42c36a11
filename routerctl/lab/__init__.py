"""The lab: the seed's network (OpenWrt router, MetalLB nodes, a client) from real parts.

``up(LabSpec(...))`` builds it in network namespaces (root needed), ``Lab.attach(name)``
finds a running one, ``down(name)`` removes it. See the README, section "The lab".
"""

from routerctl.lab.facade import (
    Lab,
    LabState,
    check_environment,
    down,
    lab_netns,
    list_labs,
    poll,
    up,
)
from routerctl.lab.spec import LAB_ROOT, PASSWORD_ENV, LabSpec

__all__ = [
    "LAB_ROOT",
    "PASSWORD_ENV",
    "Lab",
    "LabSpec",
    "LabState",
    "check_environment",
    "down",
    "lab_netns",
    "list_labs",
    "poll",
    "up",
]
