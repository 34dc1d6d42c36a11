"""``support-bundle`` with the node set from the live cluster (``cluster.nodes: {from:
kubectl}`` or ``--nodes-from kubectl``), through the CLI and the real kubectl against the
API-server emulation. Before, it used the topology's (empty) node list: the bundle's
verify results named no node at all, and ``--nodes-from`` was not an option."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from routerctl.cli import main
from routerctl.commands import verify as verify_cmd
from routerctl.topology import SshTarget
from tests import kubeapi
from tests.test_cluster_nodes import api, needs_kubectl, write_topo
from tests.test_verify_cli import Router, fake_transport

__all__ = ["api"]  # the fixture, used by name


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    assert "Traceback" not in out.err, out.err
    return code, out.out, out.err


def one_error(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.startswith("routerctl: ")]
    assert len(lines) == 1, err
    return lines[0]


def checked_nodes(bundle: Path) -> list[str]:
    """The nodes the bundle's verify results judged (one session check per node)."""
    with tarfile.open(bundle) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("/verify.json"))
        doc = json.loads(tar.extractfile(member).read())  # type: ignore[union-attr]
    names = (
        [c["name"] for c in doc] if isinstance(doc, list) else [c["name"] for c in doc["checks"]]
    )
    return sorted(n.split()[1] for n in names if n.startswith("session "))


@needs_kubectl
def test_support_bundle_reads_the_cluster_before_ssh(
    api: kubeapi.KubeAPI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The live node set is read first: a failed read exits 1 without trying the router
    (port 9 on loopback: trying it would exit 3); a good read goes on to SSH."""
    path = write_topo(tmp_path, "{from: kubectl}")
    code, _, err = run(capsys, "support-bundle", "-t", str(path), "--dir", str(tmp_path))
    assert code == 3 and "cannot connect to 127.0.0.1:9" in one_error(err)
    api.pause()
    code, _, err = run(capsys, "support-bundle", "-t", str(path), "--dir", str(tmp_path))
    assert code == 1 and "kubectl get nodes failed" in one_error(err)
    assert not list(tmp_path.glob("routerctl-bundle-*"))


@needs_kubectl
def test_support_bundle_judges_the_live_nodes(
    api: kubeapi.KubeAPI,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The bundle's verify results are about the cluster's speaking nodes (node1-3 of the
    recording), for {from: kubectl} and for a listed topology with --nodes-from kubectl."""
    fake = Router("198.51.100.2")

    def connect(target: SshTarget, *, accept_new_host_key: bool = False) -> object:
        return fake_transport(fake, target.host)

    monkeypatch.setattr(verify_cmd, "connect", connect)
    path = write_topo(tmp_path, "{from: kubectl}")
    out_dir = tmp_path / "a"
    code, out, err = run(capsys, "support-bundle", "-t", str(path), "--dir", str(out_dir))
    assert code == 0, err
    assert checked_nodes(Path(out.split()[0])) == ["node1", "node2", "node3"]
    assert fake.execs == 1

    listed = write_topo(tmp_path, "[{name: old, address: 198.51.100.99}]", "listed.yaml")
    out_dir = tmp_path / "b"
    code, out, err = run(capsys, "support-bundle", "-t", str(listed), "--dir", str(out_dir))
    assert code == 0, err
    assert checked_nodes(Path(out.split()[0])) == ["old"]
    out_dir = tmp_path / "c"
    code, out, err = run(
        capsys,
        "support-bundle",
        "-t",
        str(listed),
        "--dir",
        str(out_dir),
        "--nodes-from",
        "kubectl",
    )
    assert code == 0, err
    assert checked_nodes(Path(out.split()[0])) == ["node1", "node2", "node3"]
    code, _, err = run(capsys, "support-bundle", "-t", str(listed), "--context", "x")
    assert code == 2 and "--context/--kubeconfig need --nodes-from kubectl" in one_error(err)
