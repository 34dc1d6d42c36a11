"""The .ipk builder: built from the feed's Makefile and files/, in the layout opkg reads."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from routerctl.ipk import IpkError, build_ipk, parse_makefile

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "openwrt-feed/net/routerctl-healthcheck"
FIX_BIN = Path(__file__).resolve().parent / "fixtures_healthcheck/bin"


def members(tgz: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as tar:
        return {m.name: m for m in tar.getmembers()}


def extract(tgz: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as tar:
        f = tar.extractfile(name)
        assert f is not None
        return f.read()


def parse_ar(data: bytes) -> list[tuple[str, bytes]]:
    assert data[:8] == b"!<arch>\n"
    out, pos = [], 8
    while pos < len(data):
        header = data[pos : pos + 60]
        assert header[58:60] == b"`\n"
        name = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        out.append((name, data[pos + 60 : pos + 60 + size]))
        pos += 60 + size + (size % 2)
    return out


def test_metadata_from_makefile() -> None:
    spec = parse_makefile(PKG)
    assert spec.name == "routerctl-healthcheck"
    assert spec.version == "0.1.0-1"
    assert spec.architecture == "all"
    assert spec.filename == "routerctl-healthcheck_0.1.0-1_all.ipk"
    assert spec.conffiles == ("/etc/config/routerctl",)
    assert {(f.source, f.dest, f.mode) for f in spec.files} == {
        ("files/routerctl-health", "/usr/sbin/routerctl-health", 0o755),
        ("files/routerctl.config", "/etc/config/routerctl", 0o600),
    }
    assert set(spec.scripts) == {"postinst", "prerm"}
    assert "$$" not in spec.scripts["postinst"]
    assert '[ -n "${IPKG_INSTROOT}" ] && exit 0' in spec.scripts["postinst"]


def test_ipk_layout_tar_outer() -> None:
    """OpenWrt's ipkg-build layout: a gzip'd tar of debian-binary, data, control."""
    spec = parse_makefile(PKG)
    ipk = build_ipk(spec)
    outer = members(ipk)
    assert list(outer) == ["./debian-binary", "./data.tar.gz", "./control.tar.gz"]
    assert extract(ipk, "./debian-binary") == b"2.0\n"
    data = extract(ipk, "./data.tar.gz")
    files = members(data)
    assert files["./usr/sbin/routerctl-health"].mode == 0o755
    assert files["./etc/config/routerctl"].mode == 0o600
    assert all(m.uid == 0 and m.gid == 0 for m in files.values())
    assert (
        extract(data, "./usr/sbin/routerctl-health")
        == (PKG / "files/routerctl-health").read_bytes()
    )
    control_tgz = extract(ipk, "./control.tar.gz")
    assert set(members(control_tgz)) == {
        ".",
        "./control",
        "./conffiles",
        "./postinst",
        "./prerm",
    }
    control = extract(control_tgz, "./control").decode()
    fields = dict(ln.split(": ", 1) for ln in control.splitlines() if not ln.startswith(" "))
    assert fields["Package"] == "routerctl-healthcheck"
    assert fields["Version"] == "0.1.0-1"
    assert fields["Architecture"] == "all"
    assert fields["License"] == "Apache-2.0"
    size = sum(len(extract(data, n)) for n, m in files.items() if m.isfile())
    assert fields["Installed-Size"] == str(size)
    assert extract(control_tgz, "./conffiles") == b"/etc/config/routerctl\n"
    assert members(control_tgz)["./postinst"].mode == 0o755


def test_ipk_layout_ar_outer() -> None:
    spec = parse_makefile(PKG)
    parts = parse_ar(build_ipk(spec, outer="ar"))
    assert [n for n, _ in parts] == ["debian-binary", "control.tar.gz", "data.tar.gz"]
    assert parts[0][1] == b"2.0\n"
    assert "./control" in members(parts[1][1])


def test_ipk_is_reproducible_and_readable_by_system_tar(tmp_path: Path) -> None:
    spec = parse_makefile(PKG)
    a, b = build_ipk(spec), build_ipk(spec)
    assert a == b
    assert gzip.decompress(a)[:2]  # valid gzip
    ipk = tmp_path / spec.filename
    ipk.write_bytes(a)
    out = subprocess.run(
        ["tar", "-tzf", str(ipk)], check=True, capture_output=True, text=True
    ).stdout
    assert out.split() == ["./debian-binary", "./data.tar.gz", "./control.tar.gz"]


def test_override_rendered_config() -> None:
    spec = parse_makefile(PKG)
    rendered = b"config health\n\toption enabled '1'\n"
    data = extract(build_ipk(spec, overrides={"/etc/config/routerctl": rendered}), "./data.tar.gz")
    assert extract(data, "./etc/config/routerctl") == rendered
    with pytest.raises(IpkError, match="does not install"):
        build_ipk(spec, overrides={"/etc/passwd": b"x"})


def copy_pkg(tmp_path: Path) -> Path:
    dst = tmp_path / "pkg"
    shutil.copytree(PKG, dst)
    return dst


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("PKG_VERSION:=0.1.0", "PKG_VERSION:="), "PKG_VERSION is not set"),
        (
            ("$(INSTALL_DIR) $(1)/usr/sbin", "$(CP) ./files/x $(1)/usr/sbin"),
            "install recipe line not understood",
        ),
        (
            ("./files/routerctl-health $(1)", "./files/nope $(1)"),
            "files/nope, which does not exist",
        ),
        (("crontab=/etc/crontabs/root", "crontab=$(CRONTAB)"), "make variable reference"),
        (("  PKGARCH:=all", "  PKGARCH:=mips"), "only 'all' is built"),
        (("define Package/routerctl-healthcheck\n", "define Package/other\n"), "no 'define"),
    ],
)
def test_bad_makefile_is_an_error(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    pkg = copy_pkg(tmp_path)
    mk = pkg / "Makefile"
    text = mk.read_text()
    assert edit[0] in text
    mk.write_text(text.replace(edit[0], edit[1], 1))
    with pytest.raises(IpkError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        build_ipk(parse_makefile(pkg))
    assert "\n" not in info.value.one_line()


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"), reason="needs root")
def test_postinst_prerm_idempotent(tmp_path: Path) -> None:
    """postinst adds one cron line (with the UCI interval), twice is still one; prerm
    removes it and leaves the user's other cron lines. Run with an empty /etc bind-mounted
    in a private mount namespace, so the host's /etc is never touched."""
    spec = parse_makefile(PKG)
    etc = tmp_path / "etc"
    (etc / "config").mkdir(parents=True)
    (etc / "crontabs").mkdir()
    (etc / "crontabs/root").write_text("0 3 * * * /sbin/backup\n")
    (etc / "config/routerctl").write_text("config health\n\toption interval '5'\n")
    for name, body in spec.scripts.items():
        (tmp_path / name).write_text(body)
    script = (
        f"mount --bind {etc} /etc && "
        f"busybox ash {tmp_path}/postinst configure && busybox ash {tmp_path}/postinst configure"
        f" && cp /etc/crontabs/root {tmp_path}/after_install"
        f" && busybox ash {tmp_path}/prerm remove && busybox ash {tmp_path}/prerm remove"
    )
    tools = tmp_path / "bin"  # Debian's awk is an /etc/alternatives link, hidden here
    tools.mkdir()
    (tools / "awk").symlink_to(shutil.which("busybox") or "/bin/busybox")
    env = {"PATH": f"{FIX_BIN}:{tools}:{os.environ['PATH']}"}
    subprocess.run(["unshare", "-m", "sh", "-c", script], check=True, env=env, timeout=30)
    assert (tmp_path / "after_install").read_text() == (
        "0 3 * * * /sbin/backup\n*/5 * * * * /usr/sbin/routerctl-health >/dev/null 2>&1\n"
    )
    assert (etc / "crontabs/root").read_text() == "0 3 * * * /sbin/backup\n"
