"""Hardening of the MetalLB-file boundary (issue 12, items 13 and 14): names imported
from MetalLB's config are checked with Kubernetes' rules (full matches), nothing
imported can add lines to the topology or words to a suggested shell command, and any
hostile YAML is a one-line UsageError (exit 2)."""

from __future__ import annotations

import pytest

from routerctl.errors import UsageError
from routerctl.metallb.convert import convert_legacy, legacy_config
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


# --- item 13: imported names cannot inject into the topology or a suggested command ---------


@pytest.mark.parametrize(
    ("secret", "field"),
    [
        ('{name: "x\\nrouters: evil"}', "passwordSecret.name"),
        ('{name: "x$(touch pwned)"}', "passwordSecret.name"),
        ("{name: \"x' ; touch pwned ; '\"}", "passwordSecret.name"),
        ('{name: "X-Upper"}', "passwordSecret.name"),
        ('{name: "' + "a" * 254 + '"}', "passwordSecret.name"),
        ('{name: ok, namespace: "ns; touch /tmp/p"}', "passwordSecret.namespace"),
        ('{name: ok, namespace: "a.b"}', "passwordSecret.namespace"),  # a label, not a subdomain
        ('{name: ok, namespace: "ns\\n"}', "passwordSecret.namespace"),
    ],
)
def test_secret_reference_is_checked_with_kubernetes_rules(secret: str, field: str) -> None:
    with pytest.raises(UsageError) as info:
        run_import(peer(extra=f", passwordSecret: {secret}"))
    line = info.value.one_line()
    assert f"spec.{field}" in line and "is not a valid Kubernetes name" in line
    assert "\n" not in str(info.value)


def test_secret_reference_suggestion_is_shell_quoted() -> None:
    text, notes = run_import(
        peer(extra=", passwordSecret: {name: bgp.auth-1, namespace: metallb-system}")
    )
    (note,) = [n for n in notes if "kubectl" in n]
    assert "kubectl -n metallb-system get secret bgp.auth-1 -o jsonpath=" in note
    assert "Secret bgp.auth-1" in text
    assert len(text.splitlines()) == len(run_import(peer(extra=", password: x"))[0].splitlines())


@pytest.mark.parametrize("kind", ["BGPPeer", "IPAddressPool", "BGPAdvertisement"])
def test_object_names_are_kubernetes_names(kind: str) -> None:
    docs = {
        "BGPPeer": peer('"gw\\nrouters: []"'),
        "IPAddressPool": peer()
        + '---\nkind: IPAddressPool\nmetadata: {name: "p\\n  x: 1"}\n'
        + "spec: {addresses: [203.0.113.0/28]}\n",
        "BGPAdvertisement": peer()
        + '---\nkind: BGPAdvertisement\nmetadata: {name: "a\\u001b[2J"}\n',
    }
    with pytest.raises(UsageError, match="is not a valid Kubernetes name"):
        run_import(docs[kind])


def test_control_characters_in_notes_and_comments_are_escaped() -> None:
    """Strings that are not names (a BFD profile, the source path) reach notes and the
    header comment escaped, so they cannot start a line of their own."""
    docs = expand_lists(
        load_text(peer(extra=', bfdProfile: "f\\nrouters: evil\\u001b[31m"'), source="x"),
        source="x",
    )
    result = import_metallb(docs, source="in\nrouters: evil.yaml")
    assert "\nrouters: evil" not in result.text
    assert result.text.count("\nrouters:") == 1
    for note in result.notes:
        assert note.isprintable(), note


# --- the boundary: hostile YAML is a UsageError naming the file -------------------------


def _import_or_convert(text: str) -> None:
    docs = expand_lists(load_text(text, source="in.yaml"), source="in.yaml")
    if docs and isinstance(docs[0], dict) and "peers" in docs[0]:
        config, namespace = legacy_config(docs, source="in.yaml")
        convert_legacy(config, namespace=namespace)
    else:
        import_metallb(docs, source="in.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: " + "[" * 5000 + "]" * 5000, "in.yaml: nested too deeply"),
        ("a:\n" + "".join("  " * i + "b:\n" for i in range(3000)), "nested too deeply"),
        (peer(extra=", x: " + "9" * 5000), "in.yaml: cannot read it as MetalLB config"),
        ("? {a: 1}\n: x\n", "in.yaml:1: not valid YAML: a mapping or list as a key"),
        ("? [a]\n: x\n", "in.yaml:1: not valid YAML: a mapping or list as a key"),
        (peer(extra=", holdTime: " + "9" * 400 + "s"), "spec.holdTime: invalid duration"),
        (
            "peers:\n- {peer-address: 1.1.1.1, peer-asn: 1, my-asn: 2, hold-time: "
            + "9" * 400
            + "s}\n",
            "peers[0].hold-time: invalid duration",
        ),
    ],
)
def test_hostile_yaml_is_a_usage_error(text: str, message: str) -> None:
    with pytest.raises(UsageError) as info:
        _import_or_convert(text)
    line = info.value.one_line()
    assert message in line
    assert len(line) < 400
