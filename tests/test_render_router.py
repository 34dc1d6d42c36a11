"""Router-side rendering: goldens per dialect, CLI, and a round trip through real FRR."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from routerctl.cli import main
from routerctl.errors import TopologyError
from routerctl.render.router import REDACTED, RouterConfig, render_router
from routerctl.topology import Topology, load_topology

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
GOLDEN = Path(__file__).resolve().parent / "golden" / "router"
UPDATE = os.environ.get("ROUTERCTL_UPDATE_GOLDEN") == "1"


def _load(name: str) -> Topology:
    return load_topology(EXAMPLES / f"{name}.yaml")


def _no_bfd(topo: Topology) -> Topology:
    return dataclasses.replace(topo, bgp=dataclasses.replace(topo.bgp, bfd=False))


# (golden name, example, router, suite, topology transform)
CASES = [
    ("seed.frr", "seed", None, "frr", None),
    ("seed.quagga", "seed", None, "quagga", None),
    ("ipv6.frr", "ipv6", None, "frr", None),
    ("ipv6.quagga", "ipv6", None, "quagga", None),
    ("full.frr", "full", "core", "frr", None),
    ("full-backup.frr", "full", "backup", "frr", None),
    ("full-nobfd.quagga", "full", "backup", "quagga", _no_bfd),
]


def _render(example: str, router: str | None, suite: str, transform: object) -> RouterConfig:
    topo = _load(example)
    if callable(transform):
        topo = transform(topo)
    return render_router(topo, router, suite=suite, redact=True)


@pytest.mark.parametrize(("golden", "example", "router", "suite", "transform"), CASES)
def test_golden(
    golden: str, example: str, router: str | None, suite: str, transform: object
) -> None:
    text = _render(example, router, suite, transform).text()
    path = GOLDEN / f"{golden}.conf"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert text == path.read_text()


def test_seed_content_matches_the_seed_network() -> None:
    cfg = render_router(_load("seed"), redact=True)
    lines = cfg.text().splitlines()
    assert lines[0] == "router bgp 65000"
    assert " bgp router-id 192.168.1.2" in lines
    assert " neighbor ROUTERCTL remote-as 65001" in lines
    assert " neighbor 192.168.1.5 description ubuntu-dev1" in lines
    assert " neighbor 192.168.1.6 description ubuntu-dev2" in lines
    assert "  maximum-paths 8" in lines
    # 192.168.0.30-192.168.0.49 is exactly these three CIDRs
    assert [line for line in lines if "prefix-list ROUTERCTL-IN-V4 seq" in line] == [
        "ip prefix-list ROUTERCTL-IN-V4 seq 5 permit 192.168.0.30/31 le 32",
        "ip prefix-list ROUTERCTL-IN-V4 seq 10 permit 192.168.0.32/28 le 32",
        "ip prefix-list ROUTERCTL-IN-V4 seq 15 permit 192.168.0.48/31 le 32",
    ]
    assert "route-map ROUTERCTL-OUT deny 10" in lines
    assert "no bgp ebgp-requires-policy" not in cfg.text()


def test_password_only_from_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTERCTL_BGP_PASSWORD", "pa55-word")
    shown = render_router(_load("seed"), redact=False).text()
    assert " neighbor ROUTERCTL password pa55-word" in shown
    hidden = render_router(_load("seed"), redact=True).text()
    assert "pa55-word" not in hidden
    assert f" neighbor ROUTERCTL password {REDACTED}" in hidden


def test_password_from_file(tmp_path: Path) -> None:
    topo_file = tmp_path / "t.yaml"
    (tmp_path / "pw").write_text("from-a-file\n")
    text = (EXAMPLES / "seed.yaml").read_text()
    topo_file.write_text(text.replace("{env: ROUTERCTL_BGP_PASSWORD}", "{file: pw}"))
    cfg = render_router(load_topology(topo_file), redact=False)
    assert " neighbor ROUTERCTL password from-a-file" in cfg.text().splitlines()


@pytest.mark.parametrize("bad", ["x" * 81, "two\nlines", "tab\there", "with space", "ünï"])
def test_password_must_fit_one_vtysh_line(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    monkeypatch.setenv("ROUTERCTL_BGP_PASSWORD", bad)
    with pytest.raises(TopologyError) as exc:
        render_router(_load("seed"), redact=False)
    line = exc.value.one_line()
    assert ":15: bgp.password: the password from env ROUTERCTL_BGP_PASSWORD must be" in line
    assert bad not in line


def test_missing_password_env_is_a_topology_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROUTERCTL_BGP_PASSWORD", raising=False)
    with pytest.raises(TopologyError) as exc:
        render_router(_load("seed"), redact=False)
    assert exc.value.one_line() == (
        f"{EXAMPLES / 'seed.yaml'}:15: bgp.password.env: environment variable"
        " ROUTERCTL_BGP_PASSWORD is not set or empty"
        " (export ROUTERCTL_BGP_PASSWORD=... before running routerctl)"
    )
    # redacted rendering never reads the secret
    assert REDACTED in render_router(_load("seed"), redact=True).text()


def test_quagga_limits_are_render_time_errors() -> None:
    topo = _load("seed")
    wide = dataclasses.replace(topo, bgp=dataclasses.replace(topo.bgp, ecmp=128))
    assert "maximum-paths 128" in render_router(wide, suite="frr", redact=True).text()
    with pytest.raises(TopologyError) as exc:
        render_router(wide, suite="quagga", redact=True)
    assert exc.value.one_line() == (
        f"{EXAMPLES / 'seed.yaml'}:16: bgp.ecmp: ecmp 128 is more than quagga accepts"
        " for maximum-paths (64) (lower bgp.ecmp to 64 or less)"
    )
    with pytest.raises(TopologyError, match=r":43: bgp\.bfd: quagga has no BFD"):
        render_router(_load("full"), "backup", suite="quagga", redact=True)


def test_multipath_num_default_is_not_printed_and_is_a_cap() -> None:
    topo = _load("seed")
    assert "maximum-paths" not in render_router(topo, redact=True, multipath_num=8).text()
    with pytest.raises(TopologyError, match="maximum-paths \\(4\\)"):
        render_router(topo, redact=True, multipath_num=4)
    # Quagga's default is 1 path: ecmp 1 is not printed there, but is for FRR
    one = dataclasses.replace(topo, bgp=dataclasses.replace(topo.bgp, ecmp=1))
    assert "maximum-paths" not in render_router(one, suite="quagga", redact=True).text()
    assert "  maximum-paths 1" in render_router(one, suite="frr", redact=True).text()
    # Quagga's omitted default stays 1 whatever the build's limit; the limit still caps
    q8 = render_router(topo, suite="quagga", redact=True, multipath_num=8).text()
    assert " maximum-paths 8" in q8.splitlines()
    with pytest.raises(TopologyError, match=r"quagga accepts for maximum-paths \(4\)"):
        render_router(topo, suite="quagga", redact=True, multipath_num=4)


def test_ibgp_renders_ibgp_paths_and_no_multihop() -> None:
    topo = _load("full")
    cluster = dataclasses.replace(topo.cluster, asn=4200000000)
    ibgp = dataclasses.replace(topo, cluster=cluster)
    assert ibgp.ibgp and not topo.ibgp
    lines = render_router(ibgp, "core", redact=True).text().splitlines()
    assert " neighbor ROUTERCTL remote-as 4200000000" in lines
    assert "  maximum-paths ibgp 16" in lines
    assert not [line for line in lines if "ebgp-multihop" in line]


def test_node_selector_limits_neighbors() -> None:
    topo = _load("full")
    core = render_router(topo, "core", redact=True).text()
    backup = render_router(topo, "backup", redact=True).text()
    assert "192.0.2.13" not in core  # node-3 is in rack r2
    assert " neighbor 192.0.2.13 description node-3" in backup.splitlines()


def test_structured_form() -> None:
    cfg = render_router(_load("ipv6"), redact=True)
    assert [s.kind for s in cfg.sections] == [
        "router-bgp",
        "prefix-list",
        "prefix-list",
        "route-map",
        "route-map",
        "route-map",
    ]
    assert [s.key for s in cfg.section("route-map")] == [
        "route-map ROUTERCTL-IN permit 10",
        "route-map ROUTERCTL-IN permit 20",
        "route-map ROUTERCTL-OUT deny 10",
    ]
    bgp = cfg.sections[0]
    assert bgp.key == "router bgp 64512" and bgp.lines[-1] == "exit"
    owned = cfg.owned_lines()
    assert "router bgp 64512" not in owned
    assert "neighbor ROUTERCTL activate" in owned
    assert "ipv6 prefix-list ROUTERCTL-IN-V6 seq 10 permit 2001:db8:200:1::10/124 le 128" in owned
    cmds = cfg.commands()
    assert cmds[0].startswith("ip prefix-list ROUTERCTL-IN-V4")
    assert cmds.index("route-map ROUTERCTL-OUT deny 10") < cmds.index("router bgp 64512")
    assert cmds[-1] == "exit"


# ----------------------------------------------------------------------------- CLI


def test_cli_render_router_redacts_by_default(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROUTERCTL_BGP_PASSWORD", "do-not-print")
    assert main(["render", "router", "-t", str(EXAMPLES / "seed.yaml")]) == 0
    out = capsys.readouterr().out
    assert out == (GOLDEN / "seed.frr.conf").read_text()
    assert "do-not-print" not in out


def test_cli_show_secrets(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROUTERCTL_BGP_PASSWORD", "shown-on-request")
    args = ["render", "router", "-t", str(EXAMPLES / "seed.yaml"), "--show-secrets"]
    assert main([*args, "--suite", "quagga"]) == 0
    assert " neighbor ROUTERCTL password shown-on-request" in capsys.readouterr().out.splitlines()
    monkeypatch.delenv("ROUTERCTL_BGP_PASSWORD")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ROUTERCTL_BGP_PASSWORD is not set" in err


def test_cli_router_selection(capsys: pytest.CaptureFixture[str]) -> None:
    full = str(EXAMPLES / "full.yaml")
    assert main(["render", "router", "-t", full]) == 2
    assert "several routers (core, backup)" in capsys.readouterr().err
    assert main(["render", "router", "-t", full, "--router", "nope"]) == 2
    assert "no router named 'nope'" in capsys.readouterr().err
    assert main(["render", "router", "-t", full, "--router", "backup"]) == 0
    assert capsys.readouterr().out == (GOLDEN / "full-backup.frr.conf").read_text()


def test_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", "router", "-t", str(EXAMPLES / "seed.yaml"), "-o", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["suite"] == "frr" and data["asn"] == 65000
    assert data["sections"][0]["key"] == "router bgp 65000"


# ----------------------------------------------------------------------------- real FRR


class ScratchFrr:
    """zebra + bgpd in a private network namespace and FRR pathspace."""

    def __init__(self, tmp: Path) -> None:
        self.name = f"rctl-h1-{os.getpid()}-{time.monotonic_ns() % 100000}"
        self.tmp = tmp
        self.procs: list[subprocess.Popen[bytes]] = []
        self.rundir = Path("/var/run/frr") / self.name

    def start(self) -> None:
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        subprocess.run(["ip", "-n", self.name, "link", "set", "lo", "up"], check=True)
        self.rundir.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.rundir, "frr", "frr")
        shutil.chown(self.tmp, "frr", "frr")
        for daemon, extra in (("zebra", []), ("bgpd", ["-p", "0"])):
            conf = self.tmp / f"{daemon}.conf"
            conf.write_text("")
            shutil.chown(conf, "frr", "frr")
            self.procs.append(
                subprocess.Popen(
                    [
                        "ip",
                        "netns",
                        "exec",
                        self.name,
                        f"/usr/lib/frr/{daemon}",
                        "-N",
                        self.name,
                        "-f",
                        str(conf),
                        "-i",
                        str(self.tmp / f"{daemon}.pid"),
                        "-A",
                        "127.0.0.1",
                        "-P",
                        "0",
                        *extra,
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        deadline = time.monotonic() + 20
        while "bgpd" not in self.vtysh("show daemons"):
            if time.monotonic() > deadline:
                raise AssertionError("FRR did not come up within 20 s")
            time.sleep(0.1)  # polling interval, not synchronisation

    def vtysh(self, *commands: str, file: Path | None = None) -> str:
        args = ["ip", "netns", "exec", self.name, "vtysh", "-N", self.name]
        if file is not None:
            args += ["-f", str(file)]
        for c in commands:
            args += ["-c", c]
        proc = subprocess.run(args, capture_output=True, text=True, check=False, timeout=30)
        return proc.stdout

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        subprocess.run(["ip", "netns", "del", self.name], check=False)
        shutil.rmtree(self.rundir, ignore_errors=True)


def _lab_ok() -> bool:
    return os.geteuid() == 0 and Path("/usr/lib/frr/bgpd").exists() and bool(shutil.which("vtysh"))


@pytest.fixture
def frr() -> Iterator[ScratchFrr]:
    if not _lab_ok():
        pytest.skip("needs root, FRR (/usr/lib/frr/bgpd) and vtysh")
    # the daemons drop to user frr: their files live in a world-traversable folder
    tmp = Path(tempfile.mkdtemp(prefix="rctl-frr-"))
    tmp.chmod(0o755)
    instance = ScratchFrr(tmp)
    try:
        instance.start()
        yield instance
    finally:
        instance.stop()
        shutil.rmtree(tmp, ignore_errors=True)


_OWNED_BLOCK = re.compile(
    r"^(router bgp |ip prefix-list ROUTERCTL|ipv6 prefix-list ROUTERCTL|route-map ROUTERCTL)"
)
_FRR_VERSION = re.compile(r"^frr version (\d+)", re.M)


def _owned_blocks(config: str) -> list[str]:
    """routerctl's top-level blocks of a config, each byte for byte, in a fixed order.

    FRR 8.4 prints ``router bgp`` before the prefix-lists and route-maps, FRR 10 after
    them: the order of top-level blocks is FRR's, the text inside each block is ours.
    FRR >= 10 also repeats a peer-group flag under each member (``neighbor M
    graceful-restart`` after ``neighbor ROUTERCTL graceful-restart``): inherited, not
    set on the member, so those echoes are dropped for FRR >= 10 only.
    """
    version = _FRR_VERSION.search(config)
    frr10 = version is not None and int(version.group(1)) >= 10
    lines = config.splitlines()
    if "end" in lines:
        lines = lines[: lines.index("end")]
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in [*lines, "!"]:
        if line == "!":
            if current:
                blocks.append(current)
            current = []
        else:
            current.append(line)
    owned = [b for b in blocks if _OWNED_BLOCK.match(b[0])]
    if frr10:
        for b in owned:
            group = {ln.split(None, 2)[2] for ln in b if ln.startswith(" neighbor ROUTERCTL ")}
            b[:] = [
                ln
                for ln in b
                if not (ln.startswith(" neighbor ") and not ln.startswith(" neighbor ROUTERCTL "))
                or len(ln.split()) < 3
                or ln.split(None, 2)[2] not in group
            ]
    return sorted("\n".join(b) + "\n" for b in owned)


FRR_CASES = [
    ("seed", None, None),
    ("ipv6", None, None),
    ("full", "core", None),
    ("full", "backup", None),
    ("ibgp", "core", None),
]


@pytest.mark.lab
@pytest.mark.parametrize(("example", "router", "_unused"), FRR_CASES)
def test_frr_prints_back_exactly_what_we_render(
    frr: ScratchFrr,
    example: str,
    router: str | None,
    _unused: object,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # every printable ASCII punctuation bgpd must take as part of the word
    monkeypatch.setenv("ROUTERCTL_BGP_PASSWORD", "l@b!s#c$r%e^t&*()'\"`~;:")
    if example == "ibgp":
        topo = _load("full")
        topo = dataclasses.replace(topo, cluster=dataclasses.replace(topo.cluster, asn=4200000000))
    else:
        topo = _load(example)
    if topo.bgp.password is not None and topo.bgp.password.file is not None:
        pw = tmp_path / "pw"
        pw.write_text("file-secret\n")
        secret = dataclasses.replace(topo.bgp.password, file=pw)
        topo = dataclasses.replace(topo, bgp=dataclasses.replace(topo.bgp, password=secret))
    cfg = render_router(topo, router, suite="frr", redact=False)
    conf = tmp_path / "apply.conf"
    conf.write_text("\n".join(cfg.commands()) + "\n")
    applied = frr.vtysh(file=conf)
    assert not [line for line in applied.splitlines() if line.startswith("%")], applied
    assert _owned_blocks(frr.vtysh("show running-config")) == _owned_blocks(cfg.text())


QUAGGA_CASES = ["seed", "ipv6", "full-backup"]


@pytest.mark.lab
@pytest.mark.parametrize("example", QUAGGA_CASES)
def test_quagga_dialect_means_the_same_config(
    frr: ScratchFrr, example: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No Quagga here, but FRR (Quagga's descendant) still reads Quagga's syntax:
    the Quagga block must load without errors and normalise to our FRR block."""
    monkeypatch.setenv("ROUTERCTL_BGP_PASSWORD", "lab-secret")
    name, router = ("full", "backup") if example == "full-backup" else (example, None)
    topo = _load(name)
    # Quagga has no BFD and only router-wide graceful restart: compare without them
    topo = dataclasses.replace(
        topo, bgp=dataclasses.replace(topo.bgp, bfd=False, graceful_restart=False, password=None)
    )
    quagga = render_router(topo, router, suite="quagga", redact=True)
    conf = tmp_path / "quagga.conf"
    conf.write_text("\n".join(quagga.commands()) + "\n")
    applied = frr.vtysh(file=conf)
    assert not [line for line in applied.splitlines() if line.startswith("%")], applied
    expected = render_router(topo, router, suite="frr", redact=True).text()
    assert _owned_blocks(frr.vtysh("show running-config")) == _owned_blocks(expected)


def test_prefix_lists_cover_exactly_the_pools() -> None:
    topo = _load("full")
    cfg = render_router(topo, "backup", redact=True)
    rendered: set[str] = set()
    for section in cfg.section("prefix-list"):
        for line in section.lines:
            net = ipaddress.ip_network(line.split(" permit ")[1].split()[0])
            assert line.endswith(f" le {net.max_prefixlen}") == (net.prefixlen < net.max_prefixlen)
            rendered.update(str(a) for a in net)
    wanted = {
        str(type(r.first)(int(r.first) + i))
        for p in topo.cluster.pools
        for r in p.addresses
        for i in range(int(r.last) - int(r.first) + 1)
    }
    assert rendered == wanted
    assert len(wanted) == 32 + 11 + 16 + 16


@pytest.mark.lab
def test_frr_omits_maximum_paths_equal_to_its_multipath_limit(
    frr: ScratchFrr, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """ecmp equal to the build's --enable-multipath is FRR's default: not printed."""
    monkeypatch.setenv("ROUTERCTL_BGP_PASSWORD", "lab-secret")
    found = re.search(r"--enable-multipath=(\d+)", frr.vtysh("show version"))
    if not found or not 1 <= int(found.group(1)) <= 256:
        pytest.skip("this FRR build does not state its multipath limit")
    limit = int(found.group(1))
    topo = _load("seed")
    topo = dataclasses.replace(topo, bgp=dataclasses.replace(topo.bgp, ecmp=limit))
    cfg = render_router(topo, suite="frr", redact=False, multipath_num=limit)
    assert "maximum-paths" not in cfg.text()
    # apply the line anyway: FRR takes it and still prints nothing
    extra = ["router bgp 65000", "address-family ipv4 unicast", f"maximum-paths {limit}"]
    conf = tmp_path / "apply.conf"
    conf.write_text("\n".join([*cfg.commands(), *extra, "exit-address-family", "exit"]) + "\n")
    applied = frr.vtysh(file=conf)
    assert not [line for line in applied.splitlines() if line.startswith("%")], applied
    assert _owned_blocks(frr.vtysh("show running-config")) == _owned_blocks(cfg.text())
