"""The topology file (``routerctl.yaml``): the one source of truth.

``model``: frozen dataclasses with ``ipaddress`` types; ``validation``: one validator
per field and section; ``loading``: ``load_topology`` reads, composes and validates a
file. Every problem is a ``TopologyError`` naming file, line and field.
"""

from routerctl.topology.loading import load_topology
from routerctl.topology.model import (
    DEFAULT_TOPOLOGY,
    AddressRange,
    BgpOptions,
    Cluster,
    DynamicNeighbors,
    FirewallOptions,
    Node,
    NodesFrom,
    Pool,
    Router,
    Secret,
    Service,
    Topology,
    labels_match,
)
from routerctl.topology.validation import ASN_MAX, ASN_TRANS, ECMP_MAX, PROBE_SOURCES, SUITES
from routerctl.transport.base import SshTarget

__all__ = [
    "ASN_MAX",
    "ASN_TRANS",
    "DEFAULT_TOPOLOGY",
    "ECMP_MAX",
    "PROBE_SOURCES",
    "SUITES",
    "AddressRange",
    "BgpOptions",
    "Cluster",
    "DynamicNeighbors",
    "FirewallOptions",
    "Node",
    "NodesFrom",
    "Pool",
    "Router",
    "Secret",
    "Service",
    "SshTarget",
    "Topology",
    "labels_match",
    "load_topology",
]
