"""Hardening of the health check's settings and UCI config (issue 12 items 1 and 6).

Item 1: ``--prometheus-file`` (and the status file) must be a normalized absolute file
path under a run-time directory, so a later ``uninstall`` can never remove ``/etc`` or ``/``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from routerctl.cli import main
from routerctl.errors import UsageError
from routerctl.ops import healthcheck as hc
from routerctl.topology import load_topology
from routerctl.transport import CommandResult
from routerctl.transport.fake import FakeTransport

SEED = Path(__file__).resolve().parent.parent / "examples" / "seed.yaml"


@pytest.mark.parametrize(
    "path",
    [
        "/etc",
        "/",
        "/etc/",
        "/tmp",
        "/tmp/",
        "/etc/passwd.prom",
        "/overlay/x.prom",
        "/tmp/../etc/x.prom",
        "/tmp/./x.prom",
        "//tmp/x.prom",
        "/tmp//x.prom",
        "/tmp/x.txt",
        "/tmp/.prom",
        "/tmp/x.prom/",
        "/tmp/x\n.prom",
        "/tmp/x\x1b.prom",
        "/tmp/x$(reboot).prom",
        "tmp/x.prom",
        "/var/run/" + "a" * 300 + ".prom",
    ],
)
def test_prometheus_file_outside_runtime_dirs_is_refused(
    path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["healthcheck", "config", "-t", str(SEED), "--prometheus-file", path])
    out, err = capsys.readouterr()
    assert rc == 2, (out, err)
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("routerctl: error: --prometheus-file ")


@pytest.mark.parametrize(
    "path",
    [
        "/tmp/routerctl.prom",
        "/tmp/node-exporter/routerctl.prom",
        "/var/run/routerctl.prom",
        "/var/lib/node_exporter/textfile_collector/routerctl.prom",
        "/var/prometheus/routerctl.prom",
    ],
)
def test_prometheus_file_in_runtime_dirs_is_accepted(
    path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["healthcheck", "config", "-t", str(SEED), "--prometheus-file", path])
    out, _ = capsys.readouterr()
    assert rc == 0
    assert f"\toption prometheus_file '{path}'\n" in out


def _router(prom: str, status: str = "") -> FakeTransport:
    def respond(command: str, stdin: bytes | None) -> CommandResult | str:
        if command.startswith("for c in opkg"):
            return "have=opkg\nhave=vtysh\nhave=uci\n"
        if command.startswith("for o in status_file"):
            return f"status_file={status}\nprometheus_file={prom}\n"
        return ""

    return FakeTransport("rtr", respond)


@pytest.mark.parametrize("planted", ["/etc", "/", "/etc/passwd", "/tmp/../etc/x.prom"])
def test_uninstall_never_removes_a_hostile_prometheus_path(planted: str) -> None:
    """An old or hand-edited /etc/config/routerctl naming /etc: not removed."""
    t = _router(planted, status=planted)
    hc.uninstall(t)
    cleanup = [c for c, _ in t.commands if "rm -" in c]
    assert cleanup
    for c in cleanup:
        words = c.replace(";", " ").split()
        assert planted not in words, c
        assert f"'{planted}'" not in words, c


def test_uninstall_removes_valid_runtime_files_without_rm_rf_on_files() -> None:
    t = _router("/tmp/routerctl.prom")
    hc.uninstall(t)
    (cleanup,) = [c for c, _ in t.commands if "rm -" in c]
    first = cleanup.split("; ")[0]
    assert "/tmp/routerctl.prom" in first
    assert "/var/run/routerctl-health.json" in first
    assert "rm -rf /var/run/routerctl-health.json.lock" in cleanup
    assert "rm -rf /var/run/routerctl-health.json " not in cleanup


# --- item 6: values written into /etc/config/routerctl ------------------------------------

UCI_ROOT = Path("/var/cache/routerctl-lab/uci/root")
UCI_BIN = next((p for p in (Path("/usr/bin/uci"), UCI_ROOT / "usr/bin/uci") if p.exists()), None)


def _tokens(text: str) -> list[list[str]]:
    """UCI file syntax as libuci's parser reads it: statements of words; a word joins
    unquoted, '...' (literal) and "..." (backslash escapes) parts; # comments; a newline
    ends a statement except inside quotes; backslash-newline continues a line."""
    stmts: list[list[str]] = []
    words: list[str] = []
    word: str | None = None
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            if word is not None:
                words.append(word)
                word = None
            if words:
                stmts.append(words)
            words = []
            i += 1
        elif c in " \t\r":
            if word is not None:
                words.append(word)
                word = None
            i += 1
        elif c == "#" and word is None:
            while i < n and text[i] != "\n":
                i += 1
        elif c == "'":
            j = text.index("'", i + 1)  # unterminated: ValueError, as uci refuses it
            word = (word or "") + text[i + 1 : j]
            i = j + 1
        elif c == '"':
            i += 1
            part = ""
            while text[i] != '"':
                if text[i] == "\\" and text[i + 1] != "\n":
                    i += 1
                part += text[i]
                i += 1
            word = (word or "") + part
            i += 1
        elif c == "\\":
            if text[i + 1] != "\n":
                word = (word or "") + text[i + 1]
            i += 2
        else:
            word = (word or "") + c
            i += 1
    if word is not None:
        words.append(word)
    if words:
        stmts.append(words)
    return stmts


def parse_uci(text: str) -> list[tuple[str, dict[str, str | list[str]]]]:
    """Sections (type, options) of a UCI file; raises on anything uci would refuse."""
    sections: list[tuple[str, dict[str, str | list[str]]]] = []
    for words in _tokens(text):
        kind = words[0]
        if kind == "config":
            assert len(words) in (2, 3), words
            sections.append((words[1], {}))
        elif kind in ("option", "list"):
            assert len(words) == 3 and sections, words
            opts = sections[-1][1]
            if kind == "option":
                opts[words[1]] = words[2]
            else:
                cur = opts.setdefault(words[1], [])
                assert isinstance(cur, list)
                cur.append(words[2])
        else:
            raise AssertionError(f"not UCI: {words}")
    return sections


def uci_show(tmp: Path, text: str) -> list[str] | None:
    """`uci -c DIR show routerctl` output lines from the real uci, when there is one."""
    if UCI_BIN is None:
        return None
    d = tmp / "uci-config"
    d.mkdir(exist_ok=True)
    (d / "routerctl").write_text(text)
    libs = [UCI_ROOT / "usr/lib", UCI_ROOT.parent.parent / "libubox" / "root" / "usr/lib"]
    env = {**os.environ, "LD_LIBRARY_PATH": ":".join(map(str, libs))}
    proc = subprocess.run(
        [str(UCI_BIN), "-c", str(d), "show", "routerctl"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return proc.stdout.splitlines()


def _hostile_topology(tmp_path: Path) -> Path:
    """A topology file whose path, printed verbatim, injects a section before ours."""
    inject = tmp_path / "x\nconfig health\n\toption init_script '" / "tmp"
    inject.mkdir(parents=True)
    path = inject / "evil'\n#.yaml"
    path.write_text(SEED.read_text())
    return path


def test_hostile_topology_path_cannot_inject_uci(tmp_path: Path) -> None:
    topo = load_topology(_hostile_topology(tmp_path))
    text = hc.render_uci(topo, topo.router(), hc.HealthSettings())
    sections = parse_uci(text)
    assert [kind for kind, _ in sections] == ["health"]
    opts = sections[0][1]
    assert opts["init_script"] == ""
    assert opts["status_file"] == hc.DEFAULT_STATUS
    shown = uci_show(tmp_path, text)
    if shown is not None:
        assert shown[0] == "routerctl.@health[0]=health"
        assert not any(ln.startswith("routerctl.@health[1]") for ln in shown)
        assert [ln for ln in shown if "init_script" in ln] in (
            [],
            ["routerctl.@health[0].init_script=''"],
        )


@pytest.mark.parametrize(
    "value",
    ["plain", "it's", "'", "''", "a'\\''b", '"q"', "back\\slash", "$(reboot)", "#x", " sp "],
)
def test_uci_quote_round_trips(value: str, tmp_path: Path) -> None:
    text = f"config health\n\toption v {hc.uci_quote(value)}\n"
    assert parse_uci(text) == [("health", {"v": value})]
    shown = uci_show(tmp_path, text)
    if shown is not None:
        assert shown[1] == f"routerctl.@health[0].v={hc.uci_quote(value)}"


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\x00b", "a\x1b[2Jb", "a\x7fb", "a\x9bb"])
def test_uci_quote_refuses_control_characters(value: str) -> None:
    with pytest.raises(UsageError, match="control character"):
        hc.uci_quote(value)
