"""Hardening of the MetalLB-file boundary (issue 12, items 13 and 14): names imported
from MetalLB's config are checked with Kubernetes' rules (full matches), nothing
imported can add lines to the topology or words to a suggested shell command, and any
hostile YAML is a one-line UsageError (exit 2)."""

from __future__ import annotations

import pytest

from routerctl.errors import UsageError
from routerctl.metallb.importer import import_metallb
from routerctl.metallb.yamlio import expand_lists, load_text

PEER = """\
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: NAME, namespace: metallb-system}
spec: {myASN: 65001, peerASN: 65000, peerAddress: 198.51.100.1EXTRA}
"""


def run_import(text: str) -> tuple[str, list[str]]:
    docs = expand_lists(load_text(text, source="in.yaml"), source="in.yaml")
    result = import_metallb(docs, source="in.yaml")
    return result.text, result.notes


def peer(name: str = "gw", extra: str = "") -> str:
    return PEER.replace("NAME", name).replace("EXTRA", extra)


# --- item 14: full matches -------------------------------------------------------------


@pytest.mark.parametrize("name", ['"gw\\n"', '"gw\\nx"', '"gw "', '"g w"'])
def test_peer_name_with_a_trailing_newline_is_refused(name: str) -> None:
    with pytest.raises(UsageError, match=r"not usable as a router name|not a valid"):
        run_import(peer(name))
