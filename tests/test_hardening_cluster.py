"""Hardening of the --cluster / kubectl JSON boundary (issue 12 item 16).

Whatever the file or kubectl holds: a ClusterState, or a one-line UsageError (exit 2) from
--cluster FILE / CommandError (exit 1) from kubectl; never another exception (exit 70).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routerctl.cluster import ClusterState, from_file, from_kubectl_json
from routerctl.errors import ExitCode, UsageError

HERE = Path(__file__).parent
FIXTURE = HERE / "fixtures" / "cluster" / "kubectl_get_nodes_svc.json"
VALID: dict[str, Any] = json.loads(FIXTURE.read_text())
TRIED = {"cluster_json": 0, "cluster_file": 0, "calls_ok": 0, "calls_usage_error": 0}
EXCLUDE = "node.kubernetes.io/exclude-from-external-load-balancers"


def _mutated(path: tuple[object, ...], value: object) -> dict[str, Any]:
    data = copy.deepcopy(VALID)
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


NODE, SVC = 1, 4  # items[1] is Node node1, items[4] the LoadBalancer Service nginx-lb


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("items", NODE, "metadata"), "x", r"items\[1\]\.metadata is not an object"),
        (("items", NODE, "metadata", "name"), 5, r"items\[1\]\.metadata\.name"),
        (("items", NODE, "metadata", "name"), "a[/]b", r"not a Kubernetes name"),
        (("items", NODE, "metadata", "labels"), ["a"], r"metadata\.labels is not an object"),
        (("items", NODE, "metadata", "labels"), {"a": 1}, r"labels\.a is not a string"),
        (("items", NODE, "status"), [], r"items\[1\]\.status is not an object"),
        (("items", NODE, "status", "addresses"), {}, r"status\.addresses is not a list"),
        (("items", NODE, "status", "addresses"), [1], r"addresses\[0\] is not an object"),
        (
            ("items", NODE, "status", "addresses"),
            [{"type": "InternalIP", "address": 3232235777}],
            r"addresses\[0\]\.address is not a string",
        ),
        (("items", NODE, "kind"), ["Node"], r"items\[1\]\.kind is not a string"),
        (("items", SVC, "spec"), "LoadBalancer", r"items\[4\]\.spec is not an object"),
        (("items", SVC, "spec", "ports"), [{"port": "80"}], r"ports\[0\]\.port is not"),
        (("items", SVC, "spec", "ports"), [{"port": 2**80}], r"ports\[0\]\.port is not"),
        (("items", SVC, "spec", "ports"), [{"port": True}], r"ports\[0\]\.port is not"),
        (("items", SVC, "spec", "ports"), [{}], r"ports\[0\]\.port is not"),
        (("items", SVC, "spec", "ports"), [None], r"ports\[0\] is not an object"),
        (("items", SVC, "spec", "externalTrafficPolicy"), 1, r"externalTrafficPolicy"),
        (("items", SVC, "spec", "externalTrafficPolicy"), "local", r"externalTrafficPolicy"),
        (("items", SVC, "metadata", "namespace"), {"a": 1}, r"metadata\.namespace"),
        (("items", SVC, "status", "loadBalancer"), [], r"loadBalancer is not an object"),
        (("items", SVC, "status", "loadBalancer", "ingress"), [[]], r"ingress\[0\] is not"),
        (
            ("items", SVC, "status", "loadBalancer", "ingress"),
            [{"ip": 3405803806}],
            r"ingress\[0\]\.ip is not a string",
        ),
    ],
)
def test_wrong_types_are_usage_errors_naming_the_field(
    path: tuple[object, ...], value: object, message: str
) -> None:
    with pytest.raises(UsageError, match=message) as exc:
        from_kubectl_json(_mutated(path, value), source="c.json")
    assert exc.value.exit_code == ExitCode.USAGE
    assert exc.value.one_line().startswith("c.json: ")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[" * 100_000, r"nested too deeply"),
        (b'{"items": [' + b"1" * 5000 + b"]}", r"not JSON"),  # int digit limit: ValueError
        (b'{"items": []}\xff\xfe', r"not UTF-8"),
        (b"\x00" * 100, r"not JSON"),
    ],
)
def test_hostile_files_are_usage_errors(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "c.json"
    path.write_bytes(content)
    with pytest.raises(UsageError, match=message) as exc:
        from_file(path)
    assert "\n" not in exc.value.one_line()


def test_endless_file_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"/dev/zero: larger than"):
        from_file(Path("/dev/zero"))


def test_cli_cluster_file_with_wrong_types_exits_2_with_one_line(tmp_path: Path) -> None:
    topo = tmp_path / "routerctl.yaml"
    topo.write_text(
        textwrap.dedent("""\
        routers:
          - name: rtr
            ssh: {host: 127.0.0.1, port: 9, known_hosts: /dev/null}
            asn: 65000
            router_id: 198.51.100.2
        cluster:
          asn: 65001
          nodes: [{name: n1, address: 198.51.100.5}]
          pools: [{name: default, addresses: [203.0.113.0/24]}]
        """)
    )
    bad = tmp_path / "bad.json"
    bad.write_text('{"items": [{"kind": "Node", "metadata": "x"}]}')
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUTERCTL_")}
    res = subprocess.run(
        [sys.executable, "-m", "routerctl", "verify", "-t", str(topo), "--cluster", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "HOME": str(tmp_path)},
        check=False,
    )
    assert res.returncode == ExitCode.USAGE, res.stderr
    assert res.stderr.splitlines() == [
        f"routerctl: error: {bad}: items[0].metadata is not an object "
        "(expected the JSON of 'kubectl get nodes,svc -A -o json')"
    ]


# -- property: hostile JSON values at every depth -------------------------------------
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(
        ["Node", "Service", "LoadBalancer", "InternalIP", "ExternalIP", "TCP", "Local", "1.2.3.4",
         "::1", "203.0.113.7", "", "fe80::1%eth0", "999.1.1.1", EXCLUDE]
    ),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip

# the paths a kubectl List is read at, so generated values land where the parser looks
_PATHS = [
    (), ("items",), ("items", NODE), ("items", NODE, "kind"), ("items", NODE, "metadata"),
    ("items", NODE, "metadata", "name"), ("items", NODE, "metadata", "labels"),
    ("items", NODE, "status"), ("items", NODE, "status", "addresses"),
    ("items", NODE, "status", "addresses", 0), ("items", NODE, "status", "addresses", 0, "type"),
    ("items", NODE, "status", "addresses", 0, "address"), ("items", SVC), ("items", SVC, "kind"),
    ("items", SVC, "metadata"), ("items", SVC, "metadata", "name"),
    ("items", SVC, "metadata", "namespace"), ("items", SVC, "spec"),
    ("items", SVC, "spec", "type"), ("items", SVC, "spec", "ports"),
    ("items", SVC, "spec", "ports", 0), ("items", SVC, "spec", "ports", 0, "port"),
    ("items", SVC, "spec", "ports", 0, "protocol"), ("items", SVC, "spec", "externalTrafficPolicy"),
    ("items", SVC, "status"), ("items", SVC, "status", "loadBalancer"),
    ("items", SVC, "status", "loadBalancer", "ingress"),
    ("items", SVC, "status", "loadBalancer", "ingress", 0),
    ("items", SVC, "status", "loadBalancer", "ingress", 0, "ip"),
]  # fmt: skip


def _put(data: Any, path: tuple[object, ...], value: object) -> Any:
    if not path:
        return value
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


def _check(data: object, source: str = "c.json") -> None:
    try:
        state = from_kubectl_json(data, source=source)
    except UsageError as exc:
        assert type(exc) is UsageError and exc.exit_code == ExitCode.USAGE
        assert "\n" not in exc.one_line() and exc.one_line().startswith(f"{source}: ")
        TRIED["calls_usage_error"] += 1
        return
    TRIED["calls_ok"] += 1
    assert isinstance(state, ClusterState) and state.nodes
    for node in state.nodes:
        assert isinstance(node.name, str) and node.name
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in node.labels)
    for svc in state.services:
        assert isinstance(svc.name, str) and isinstance(svc.namespace, str)
        assert all(type(p) is int and 0 < p < 65536 for p in svc.ports)
        assert svc.traffic_policy in ("Cluster", "Local")


SETTINGS = settings(
    derandomize=True, max_examples=500, deadline=None, suppress_health_check=list(HealthCheck)
)


@SETTINGS
@given(edits=st.lists(st.tuples(st.sampled_from(_PATHS), _json), min_size=1, max_size=3))
def test_property_mutated_kubectl_json(edits: list[tuple[tuple[object, ...], object]]) -> None:
    TRIED["cluster_json"] += 1
    data: Any = copy.deepcopy(VALID)
    for path, value in edits:
        try:
            data = _put(data, path, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed the path: keep what we have
    _check(data)


@SETTINGS
@given(data=_json)
def test_property_arbitrary_json(data: object) -> None:
    TRIED["cluster_json"] += 1
    _check(data)
    _check({"items": [data]})
    _check({"items": [{"kind": "Node", "metadata": {"name": "n"}, "status": data}]})


@settings(
    derandomize=True, max_examples=300, deadline=None, suppress_health_check=list(HealthCheck)
)
@given(
    content=st.one_of(
        st.binary(max_size=200),
        st.builds(lambda d, n: ("[" * n + json.dumps(d)).encode(), _json, st.integers(0, 3000)),
        st.builds(lambda d: json.dumps(d).encode(), _json),
    )
)
def test_property_cluster_file(tmp_path_factory: pytest.TempPathFactory, content: bytes) -> None:
    TRIED["cluster_file"] += 1
    path = tmp_path_factory.getbasetemp() / "prop-cluster.json"
    path.write_bytes(content)
    try:
        from_file(path)
    except UsageError as exc:
        assert type(exc) is UsageError and "\n" not in exc.one_line()


def test_zz_report_inputs_tried() -> None:
    """How many generated inputs each boundary saw in this run (see the issue's notes)."""
    print(f"\ninputs tried: {TRIED}")
