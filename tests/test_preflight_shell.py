"""The pre-flight's shell lines run for real (busybox ash, and the system sh) against stand-in
files: the multipath limit cached per bgpd binary (by its md5sum), the sysctls, the SSH server."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from routerctl.platform.preflight import SECTION, SYSCTLS, maxpaths_line, preflight_lines
from routerctl.preflight.parse import parse_maxpaths, parse_sysctls

BUSYBOX = shutil.which("busybox")
pytestmark = pytest.mark.skipif(BUSYBOX is None, reason="busybox is not installed")


def bgpd(path: Path, limit: int, *, quagga: bool = True, filler: bytes = b"") -> Path:
    """A stand-in binary holding the string bgpd's CLI table has (binary junk around it)."""
    rng = f"<1-{limit}>" if quagga else f"(1-{limit})"
    path.write_bytes(
        b"\x7fELF\x00\x01" + filler + f"\x00maximum-paths {rng}\x00".encode() + b"\xff"
    )
    return path


def run(tmp_path: Path, binary: Path, cache: Path, *, tools: tuple[str, ...] = ()) -> str:
    """Run the section's line; ``tools``: only these applets on PATH (default: all)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C"}
    if tools:
        bindir = tmp_path / "bin"
        bindir.mkdir(exist_ok=True)
        for tool in tools:
            link = bindir / tool
            if not link.exists():
                link.symlink_to(str(BUSYBOX))
        env["PATH"] = str(bindir)
    line = maxpaths_line(binaries=(str(tmp_path / "absent"), str(binary)), cache=str(cache))
    proc = subprocess.run(
        [str(BUSYBOX), "sh", "-c", line], capture_output=True, text=True, env=env, check=True
    )
    assert proc.stderr == ""
    head, _, body = proc.stdout.partition("\n")
    assert head == f"{SECTION}maxpaths"
    return body


def key(binary: Path) -> str:
    return f"{hashlib.md5(binary.read_bytes()).hexdigest()}  {binary}"  # a key, not a secret


def test_a_fresh_router_greps_the_binary_and_keeps_the_answer(tmp_path: Path) -> None:
    b, cache = bgpd(tmp_path / "bgpd", 8), tmp_path / "cache"
    assert parse_maxpaths(run(tmp_path, b, cache)) == (str(b), 8)
    assert cache.read_text() == f"{key(b)}\nmaximum-paths <1-8>\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bgpd", "cache"]  # no temp left


def test_the_cached_answer_is_used_while_the_binary_is_the_same(tmp_path: Path) -> None:
    b, cache = bgpd(tmp_path / "bgpd", 8, quagga=False), tmp_path / "cache"
    # a cache with this binary's key but another limit: its answer is what comes out,
    # so the binary was not grepped
    cache.write_text(f"{key(b)}\nmaximum-paths (1-4)\n")
    assert run(tmp_path, b, cache) == f"{b} maximum-paths (1-4)\n"
    assert parse_maxpaths(run(tmp_path, b, cache)) == (str(b), 4)


def test_a_changed_binary_is_grepped_again(tmp_path: Path) -> None:
    b, cache = bgpd(tmp_path / "bgpd", 8), tmp_path / "cache"
    assert parse_maxpaths(run(tmp_path, b, cache)) == (str(b), 8)
    # same path, same size, same mtime: only the content differs (a rebuild with another
    # --enable-multipath, unpacked with the package's mtime)
    st = b.stat()
    bgpd(b, 1)
    os.utime(b, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert b.stat().st_size == st.st_size
    assert parse_maxpaths(run(tmp_path, b, cache)) == (str(b), 1)
    assert cache.read_text() == f"{key(b)}\nmaximum-paths <1-1>\n"


@pytest.mark.parametrize(
    "content",
    [
        "",
        "garbage\n",
        "{key}\n",  # truncated
        "{key}\nmaximum-paths <1-8x>\n",
        "{key}\nmaximum-paths <1->\n",
        "{key}\nmaximum-paths (1-8>\n",
        "{key}\nsomething else\n",
        "other  /usr/sbin/bgpd\nmaximum-paths <1-64>\n",  # another binary's key
        "\x00\xff\n\n",
    ],
)
def test_a_corrupt_or_stale_cache_falls_back_to_the_grep(tmp_path: Path, content: str) -> None:
    b, cache = bgpd(tmp_path / "bgpd", 2), tmp_path / "cache"
    cache.write_text(content.replace("{key}", key(b)), encoding="latin-1")
    assert parse_maxpaths(run(tmp_path, b, cache)) == (str(b), 2)
    assert cache.read_text() == f"{key(b)}\nmaximum-paths <1-2>\n"  # rewritten


def test_an_unreadable_cache_falls_back_to_the_grep(tmp_path: Path) -> None:
    b, cache = bgpd(tmp_path / "bgpd", 8), tmp_path / "cache"
    cache.mkdir()  # neither readable as a file nor replaceable
    assert parse_maxpaths(run(tmp_path, b, cache)) == (str(b), 8)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bgpd", "cache"]


def test_without_md5sum_it_greps_every_time_and_keeps_nothing(tmp_path: Path) -> None:
    b, cache = bgpd(tmp_path / "bgpd", 8), tmp_path / "cache"
    tools = ("grep", "head", "mv", "rm")
    assert parse_maxpaths(run(tmp_path, b, cache, tools=tools)) == (str(b), 8)
    assert not cache.exists()
    cache.write_text("  \nmaximum-paths <1-64>\n")  # an empty key never matches
    assert parse_maxpaths(run(tmp_path, b, cache, tools=tools)) == (str(b), 8)


def test_no_limit_in_the_binary_is_not_cached(tmp_path: Path) -> None:
    b, cache = tmp_path / "bgpd", tmp_path / "cache"
    b.write_bytes(b"\x7fELF\x00no multipath here\x00")
    assert parse_maxpaths(run(tmp_path, b, cache)) == (str(b), None)
    assert not cache.exists()


def test_no_bgpd_prints_nothing(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert run(tmp_path, tmp_path / "missing", cache) == ""
    assert not cache.exists()


def test_the_cache_lives_where_only_root_writes_and_reboots_clear() -> None:
    line = maxpaths_line()
    assert "/var/run/routerctl-maxpaths" in line
    assert "/tmp" not in line


def _section(lines: list[str], name: str) -> str:
    return next(ln for ln in lines if ln.startswith(f"echo {SECTION}{name};"))


@pytest.mark.parametrize("shell", ["busybox", "sh"])
def test_sysctls_read_with_the_builtin(tmp_path: Path, shell: str) -> None:
    # the sysctl section on stand-in files: a value, an empty file, a missing file
    lines = preflight_lines(nodes=[], password=False, suites=[])
    line = _section(lines, "sysctl")
    files = {"hash4": "1\n", "hash6": None, "fwd4": "", "fwd6": "0\n"}
    for key, path in SYSCTLS.items():
        stand_in = tmp_path / key
        if files[key] is not None:
            stand_in.write_text(str(files[key]))
        line = line.replace(path, str(stand_in))
    argv = [str(BUSYBOX), "sh"] if shell == "busybox" else ["/bin/sh"]
    proc = subprocess.run([*argv, "-c", line], capture_output=True, text=True, check=True)
    assert proc.stderr == ""
    assert proc.stdout == f"{SECTION}sysctl\nhash4 1\nhash6 none\nfwd4 \nfwd6 0\n"
    # what the checks read from it: a missing sysctl is None, an empty one is not read
    assert parse_sysctls(proc.stdout.split("\n", 1)[1]) == {"hash4": 1, "hash6": None, "fwd6": 0}


def test_the_ssh_section_names_the_parent_process() -> None:
    line = _section(preflight_lines(nodes=[], password=False, suites=[]), "ssh")
    # (its exit status is the last server probe's)
    proc = subprocess.run(
        [str(BUSYBOX), "sh", "-c", line], capture_output=True, text=True, check=False
    )
    comm = Path(f"/proc/{os.getpid()}/comm").read_text().strip()
    assert proc.stdout.split("\n")[:2] == [f"{SECTION}ssh", comm]
