"""The emulated Kubernetes API server, for the tests: it lives in the lab
(``routerctl/lab/kubeapi.py``, the lab's stand-in for the API server, which the bench uses
too); this module re-exports it so the tests keep writing ``from tests import kubeapi``."""

from routerctl.lab.kubeapi import (
    AGGREGATED,
    BY_KIND,
    RESOURCES,
    VERSION,
    Cluster,
    KubeAPI,
    Resource,
    bgppeer,
    field_match,
    label_match,
    node,
    running,
    service,
    speaker_daemonset,
    status,
)

__all__ = [
    "AGGREGATED",
    "BY_KIND",
    "RESOURCES",
    "VERSION",
    "Cluster",
    "KubeAPI",
    "Resource",
    "bgppeer",
    "field_match",
    "label_match",
    "node",
    "running",
    "service",
    "speaker_daemonset",
    "status",
]
