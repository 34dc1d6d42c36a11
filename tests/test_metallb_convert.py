"""`metallb convert`: legacy ConfigMap -> CRDs, matching MetalLB's own goldens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from routerctl.errors import UsageError
from routerctl.metallb.convert import (
    convert_legacy,
    format_duration,
    k8s_name,
    legacy_config,
    parse_duration,
)
from routerctl.metallb.yamlio import load_file, load_text

SHARED = Path(__file__).resolve().parents[2] / "shared" / "metallb"
TESTDATA = sorted((SHARED / "configmaptocrs-testdata").glob("*/*.yaml"))


def semantic(node: Any, *, top: bool = True) -> Any:
    """What `kubectl apply` would make of a manifest: server-side `status` and
    `creationTimestamp` dropped, and empty values (`passwordSecret: {}`) same as unset."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if (top and key == "status") or key == "creationTimestamp":
                continue
            kept = semantic(value, top=False)
            if kept not in ({}, [], None):
                out[key] = kept
        return out
    if isinstance(node, list):
        return [semantic(v, top=False) for v in node]
    return node


def convert_text(text: str, source: str = "cm.yaml") -> list[dict[str, Any]]:
    config, namespace = legacy_config(load_text(text, source=source), source=source)
    return convert_legacy(config, namespace=namespace).docs


def test_all_metallb_goldens_found() -> None:
    assert len(TESTDATA) == 12
    assert all(p.with_suffix(".golden").exists() for p in TESTDATA)


@pytest.mark.parametrize("path", TESTDATA, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_matches_metallb_golden(path: Path) -> None:
    """Same objects, names, fields and order as MetalLB's configmaptocrs tool."""
    config, namespace = legacy_config(load_file(path), source=str(path))
    got = [semantic(d) for d in convert_legacy(config, namespace=namespace).docs]
    want = [semantic(d) for d in load_file(path.with_suffix(".golden"))]
    assert [(d["kind"], d["metadata"]["name"]) for d in got] == [
        (d["kind"], d["metadata"]["name"]) for d in want
    ]
    assert got == want


def test_semantic_comparison_can_fail() -> None:
    path = SHARED / "configmaptocrs-testdata/configmap-yaml/config-yaml-full.yaml"
    want = [semantic(d) for d in load_file(path.with_suffix(".golden"))]
    got = [semantic(d) for d in convert_text(path.read_text().replace("hold-time: 120s", ""))]
    assert got != want
    assert got[0]["spec"]["holdTime"] == "1m30s"  # MetalLB's default


def test_community_is_a_string_not_base60() -> None:
    """YAML 1.1 would read 64512:1 as the integer 3870721."""
    docs = convert_text(
        "address-pools:\n- name: p\n  protocol: bgp\n  addresses: [203.0.113.0/24]\n"
        "  bgp-advertisements:\n  - communities: [64512:1]\n"
    )
    assert docs[1]["spec"]["communities"] == ["64512:1"]


def test_namespace_follows_the_configmap() -> None:
    docs = convert_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: config, namespace: lb}\n"
        "data:\n  config: |\n    peers:\n    - {my-asn: 65001, peer-asn: 65000, peer-address: 198.51.100.1}\n"
    )
    assert docs[0]["metadata"] == {"name": "peer1", "namespace": "lb"}


def test_peer_bfd_reference_follows_the_renamed_profile() -> None:
    docs = convert_text(
        "peers:\n- {my-asn: 1, peer-asn: 2, peer-address: 198.51.100.1, bfd-profile: My_BFD}\n"
        "bfd-profiles:\n- {name: My_BFD}\n"
    )
    assert docs[0]["spec"]["bfdProfile"] == "my-bfd"
    assert docs[1]["metadata"]["name"] == "my-bfd"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("peers: [", "cm.yaml:1: not valid YAML"),
        ("- just\n- a list\n", "expected a YAML mapping"),
        ("foo: 1\n", "no MetalLB config here"),
        ("apiVersion: v1\nkind: Secret\n", "'Secret' is not a legacy MetalLB ConfigMap"),
        ("apiVersion: v1\nkind: ConfigMap\ndata: {}\n", "data.config: missing or empty"),
        ("a: 1\n---\nb: 2\n", "2 YAML documents, expected one ConfigMap"),
        ("peers:\n- {peer-asn: 1, peer-address: 198.51.100.1}\n", "peers[0].my-asn: missing"),
        ("peers:\n- {my-asn: x, peer-asn: 1, peer-address: a}\n", "my-asn: expected an ASN"),
        ("peers:\n- {my-asn: 1, peer-asn: 4294967296, peer-address: a}\n", "out of range"),
        ("peers:\n- {my-asn: 1, peer-asn: 2, peer-address: a, hold-time: 2s}\n", "too short"),
        (
            "peers:\n- {my-asn: 1, peer-asn: 2, peer-address: a, hold-time: soon}\n",
            "invalid duration",
        ),
        ("peers:\n- {my-asn: 1, peer-asn: 2, peer-addres: a}\n", "peer-addres: unknown key"),
        ("peers: {my-asn: 1}\n", "peers: expected a list"),
        ("address-pools:\n- {name: a, protocol: bgp}\n", "addresses: missing"),
        (
            "address-pools:\n- {name: A, addresses: [x]}\n- {name: a, addresses: [y]}\n",
            "both become",
        ),
        ("address-pools:\n- {name: '42', addresses: [x]}\n", "cannot become a Kubernetes name"),
        (
            "bfd-profiles:\n- {name: b, detect-multiplier: 1}\n",
            "detect-multiplier: 1 is out of range",
        ),
        ("bgp-communities: {no-export: [1]}\n", "bgp-communities.no-export: expected a string"),
        ("peers:\n- {my-asn: 1, my-asn: 2}\n", "duplicate key 'my-asn'"),
    ],
)
def test_bad_input_is_one_clear_line(text: str, message: str) -> None:
    with pytest.raises(UsageError) as info:
        convert_text(text)
    line = info.value.one_line()
    assert message in line
    assert line.startswith("cm.yaml")
    assert "\n" not in line


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("1m30s", 90),
        ("2m0s", 120),
        ("1h", 3600),
        ("1.5m", 90),
        ("0", 0),
        ("500ms", 0.5),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "90", "s", "1m30", "1d", "1m 30s"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (30, "30s"), (90, "1m30s"), (120, "2m0s"), (3725, "1h2m5s")]
)
def test_format_duration(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("name", "k8s"),
    [
        ("default", "default"),
        ("01-numbered-addresspool", "numbered-addresspool"),
        ("Capitalized-AddressPool", "capitalized-addresspool"),
        ("underscored_bfd_profile", "underscored-bfd-profile"),
        ("a" * 70, "a" * 63),
        ("x" * 62 + "-y", "x" * 62),
        ("42", ""),
    ],
)
def test_k8s_name(name: str, k8s: str) -> None:
    assert k8s_name(name) == k8s


def test_errors_name_the_line_in_the_file(tmp_path: Path) -> None:
    """Lines count in the file, also inside the ConfigMap's `config: |` block."""
    text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: config}\ndata:\n  config: |\n"
        "    peers:\n    - peer-address: 198.51.100.1\n      peer-asn: 65000\n"
        "      my-asn: x65001\n"
    )
    with pytest.raises(UsageError) as info:
        convert_text(text)
    assert info.value.one_line().startswith("cm.yaml:9: peers[0].my-asn: expected an ASN")
    with pytest.raises(UsageError) as info:
        convert_text(text.replace("x65001", "65001\n    address-pools: [\n"))
    assert info.value.one_line().startswith("cm.yaml:11: not valid YAML")
