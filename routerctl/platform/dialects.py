"""Routing-suite dialects: every FRR/Quagga difference the renderer knows, as data.

FRR facts were checked against FRR 8.4 (``show running-config`` after loading the
rendered block); Quagga facts come from Quagga 1.2's ``bgp_config_write*``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dialect:
    """How one suite spells and orders the BGP config routerctl owns."""

    name: str
    # address-family blocks: (header, indent of the lines inside)
    af_header_v4: str | None  # None: ipv4 unicast lines sit directly under ``router bgp``
    af_header_v6: str
    af_indent: str
    af_separator: str  # line printed before each address-family block
    af_footer: str
    router_footer: str | None  # FRR ends ``router bgp`` and ``route-map`` blocks with ``exit``
    route_map_footer: str | None
    # ipv4 unicast is active by default (``bgp default ipv4-unicast``): not printed
    print_ipv4_activate: bool
    # Quagga repeats ``neighbor X peer-group G`` inside non-ipv4 address families
    members_in_af: bool
    # order of the peer-group's session lines (keys of the renderer's line table)
    peer_option_order: tuple[str, ...]
    # per-address-family line order: ``activate``, ``members``, ``route-map``, ``maximum-paths``
    af_order: tuple[str, ...]
    max_paths_cap: int | None  # largest ``maximum-paths`` the CLI accepts (None: build-dependent)
    max_paths_default: int | None  # value ``show running-config`` omits (None: build-dependent)
    bfd: bool  # ``neighbor X bfd`` available
    graceful_restart: (
        str  # "peer": ``neighbor G graceful-restart``; "router": ``bgp graceful-restart``
    )


FRR = Dialect(
    name="frr",
    af_header_v4="address-family ipv4 unicast",
    af_header_v6="address-family ipv6 unicast",
    af_indent="  ",
    af_separator=" !",
    af_footer=" exit-address-family",
    router_footer="exit",
    route_map_footer="exit",
    print_ipv4_activate=False,
    members_in_af=False,
    peer_option_order=(
        "remote-as",
        "bfd",
        "password",
        "ebgp-multihop",
        "timers",
        "timers-connect",
        "graceful-restart",
    ),
    af_order=("activate", "route-map", "maximum-paths"),
    max_paths_cap=None,
    max_paths_default=None,
    bfd=True,
    graceful_restart="peer",
)

QUAGGA = Dialect(
    name="quagga",
    af_header_v4=None,
    af_header_v6="address-family ipv6",
    af_indent=" ",
    af_separator="!",
    af_footer=" exit-address-family",
    router_footer=None,
    route_map_footer=None,
    print_ipv4_activate=False,
    members_in_af=True,
    peer_option_order=("remote-as", "password", "ebgp-multihop", "timers", "timers-connect"),
    af_order=("activate", "route-map", "members", "maximum-paths"),
    # the CLI takes 1..255, but zebra installs at most MULTIPATH_NUM next hops
    # (OpenWrt builds Quagga 1.2.4 with --enable-multipath=8)
    max_paths_cap=64,
    max_paths_default=1,  # BGP_DEFAULT_MAXPATHS: ``maximum-paths 1`` is not printed
    bfd=False,
    graceful_restart="router",
)

DIALECTS: dict[str, Dialect] = {d.name: d for d in (FRR, QUAGGA)}
