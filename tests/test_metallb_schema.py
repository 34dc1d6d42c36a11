"""Every manifest routerctl writes validates against MetalLB's own CRD schemas
(../shared/metallb/crds): rendered from topologies and converted from ConfigMaps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from routerctl.metallb.convert import convert_legacy, legacy_config
from routerctl.metallb.yamlio import load_file
from routerctl.render.metallb import render_crds
from routerctl.topology import load_topology

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "metallb"
GOLDEN = REPO / "tests" / "golden" / "metallb"
TESTDATA = sorted((SHARED / "configmaptocrs-testdata").glob("*/*.yaml"))


def _to_json_schema(node: Any) -> Any:
    """An OpenAPI v3 CRD schema as JSON Schema: x-kubernetes-* dropped, and unknown
    fields refused (as `kubectl apply --validate=strict` does) unless preserved."""
    if isinstance(node, list):
        return [_to_json_schema(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_json_schema(v) for k, v in node.items() if not k.startswith("x-kubernetes-")}
    if "properties" in node:
        out["properties"] = {k: _to_json_schema(v) for k, v in node["properties"].items()}
        if "additionalProperties" not in node and not node.get(
            "x-kubernetes-preserve-unknown-fields"
        ):
            out["additionalProperties"] = False
    return out


def load_crd_schemas(directory: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> JSON schema, for every served version of every CRD file."""
    schemas: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(directory.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text(encoding="utf-8"))
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version.get("served", True):
                schema = _to_json_schema(version["schema"]["openAPIV3Schema"])
                schemas[(f"{group}/{version['name']}", kind)] = schema
    return schemas


SCHEMAS = load_crd_schemas(SHARED / "crds")


def validate(doc: dict[str, Any]) -> None:
    schema = SCHEMAS[(doc["apiVersion"], doc["kind"])]
    jsonschema.Draft7Validator(schema).validate(doc)
    assert doc["metadata"]["name"], "every object needs a name"


def test_loader_found_every_crd() -> None:
    assert ("metallb.io/v1beta2", "BGPPeer") in SCHEMAS
    assert ("metallb.io/v1beta1", "BGPPeer") in SCHEMAS
    for kind in ("IPAddressPool", "BGPAdvertisement", "BFDProfile", "Community"):
        assert ("metallb.io/v1beta1", kind) in SCHEMAS


TOPOLOGIES = [
    "examples/seed.yaml",
    *(str(p.relative_to(REPO)) for p in GOLDEN.glob("*.topology.yaml")),
]


@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_rendered_crds_validate(topology: str) -> None:
    docs = render_crds(load_topology(REPO / topology), include_secret="full" in topology)
    metallb_docs = [d for d in docs if d["apiVersion"].startswith("metallb.io/")]
    assert {d["kind"] for d in metallb_docs} >= {"BGPPeer", "IPAddressPool", "BGPAdvertisement"}
    for doc in metallb_docs:
        validate(doc)


@pytest.mark.parametrize("path", TESTDATA, ids=lambda p: p.name)
def test_converted_crds_validate(path: Path) -> None:
    config, namespace = legacy_config(load_file(path), source=str(path))
    checked = 0
    for doc in convert_legacy(config, namespace=namespace).docs:
        if (doc["apiVersion"], doc["kind"]) in SCHEMAS:  # L2Advertisement's CRD is not here
            validate(doc)
            checked += 1
    assert checked or "address-pools" not in config.data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.update(peerASN="65000"), "is not of type 'integer'"),
        (lambda s: s.update(myASN=4294967296), "is greater than the maximum"),
        (lambda s: s.update(peerAdress="192.0.2.1"), "Additional properties"),
        (lambda s: s.update(ebgpMultiHop="yes"), "is not of type 'boolean'"),
    ],
)
def test_validator_rejects_bad_peers(change: Any, message: str) -> None:
    """The schema check is able to fail."""
    doc = render_crds(load_topology(REPO / "examples/seed.yaml"))
    peer = next(d for d in doc if d["kind"] == "BGPPeer")
    change(peer["spec"])
    with pytest.raises(jsonschema.ValidationError, match=message):
        validate(peer)
