"""The lab: the seed's network (OpenWrt router, MetalLB nodes, a client) from real parts.

``up(LabSpec(...))`` builds it in network namespaces (root needed), ``Lab.attach(name)``
finds a running one, ``down(name)`` removes it. See the README, section "The lab".

Modules, lowest first: ``spec`` (what to build), ``netns`` (namespaces, veths, mounts,
processes), ``state`` (the saved state), ``router`` and ``nodes`` (what runs in those
namespaces; ``gobgp`` renders the speakers' config), ``facade`` (``Lab``, ``up``, ``down``);
``kubeapi`` stands in for the Kubernetes API server (served to the real kubectl).
"""

from routerctl.lab.facade import Lab, check_environment, down, list_labs, up
from routerctl.lab.netns import lab_netns, poll
from routerctl.lab.spec import LAB_ROOT, PASSWORD_ENV, LabSpec
from routerctl.lab.state import LabState

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
