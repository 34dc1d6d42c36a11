"""Router-supplied strings on the terminal (issue 12 item 8): rich markup in them is shown
literally, terminal control sequences never reach the terminal, exit codes stay normal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.text import Text
from test_verify_cli import Router, routers  # noqa: F401 - the fixture

from routerctl.cli import main
from routerctl.cli_common import safe
from routerctl.commands import healthcheck as hc_cmd
from routerctl.errors import ExitCode

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
DESCRIPTION = FIXTURES / "frr/show_ip_bgp_summary_json/frr84_description.raw"

OSC_LINK = "\x1b]8;;http://evil.example/\x07click\x1b]8;;\x07"
CLEAR = "\x1b[2J"
HOSTILE = f"a[/]b [link=http://x]L[/link] {OSC_LINK} {CLEAR} \x9b31m \x7f \x00 [bold]B"
RAW = ("\x1b", "\x07", "\x9b", "\x7f", "\x00", "\x1b]8;;", CLEAR)


def assert_clean(text: str) -> None:
    for seq in RAW:
        assert seq not in text, (seq, text)
    assert "\x1b]8;;http" not in text


@pytest.mark.parametrize(
    "value",
    ["[/]", "[link=http://x]y", OSC_LINK, CLEAR, HOSTILE, "\\", "x\\", "[bold]\\[/]"],
)
def test_safe_escapes_markup_and_strips_control_characters(value: str) -> None:
    out = safe(value)
    assert_clean(out)
    console = Console(record=True, width=400, color_system="truecolor")
    console.print(out)
    rendered = console.export_text()
    assert_clean(rendered)
    # markup is shown literally: the rendered text equals the cleaned plain text
    # (rich doubles a trailing backslash so that markup after it stays markup)
    plain = Text(safe(value, markup=False)).plain
    assert rendered.rstrip("\n").rstrip("\\") == plain.rstrip("\\")
    assert not any(span.style for span in Text.from_markup(out).spans if "link" in str(span.style))


def test_parse_table_with_hostile_description(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = json.loads(DESCRIPTION.read_text())
    peer = doc["ipv4Unicast"]["peers"]["198.51.100.11"]
    peer["desc"] = HOSTILE
    peer["hostname"] = "[link=http://x]h" + CLEAR
    f = tmp_path / "summary.json"
    f.write_text(json.dumps(doc))
    rc = main(["parse", str(f), "-c", "show ip bgp summary json"])
    out, err = capsys.readouterr()
    assert rc == ExitCode.OK, err
    assert_clean(out + err)
    assert "a[/]b" in out  # shown literally, not eaten as markup


def test_verify_table_with_hostile_version_line(
    routers: dict[str, Router],  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = Router.answer

    def answer(self: Router, script: str) -> str:
        return original(self, script).replace("FRRouting 8.4.4 (OpenWrt) on Linux.", HOSTILE)

    monkeypatch.setattr(Router, "answer", answer)
    for args in ((), ("--nagios",), ("-o", "json")):
        rc = main(["verify", "-r", "rtr1", *args])
        out, err = capsys.readouterr()
        assert rc == ExitCode.OK, err
        assert_clean(out + err)


def test_healthcheck_status_table_with_hostile_status(capsys: pytest.CaptureFixture[str]) -> None:
    status: dict[str, Any] = {
        "state": "ok[/]",
        "summary": HOSTILE,
        "neighbors": [
            {"address": OSC_LINK, "state": "[/]", "prefixes_received": CLEAR},
            {"address": 5},
            "not an object",
        ],
        "routes": {"pool_routes": [{"prefix": CLEAR, "nexthops": [OSC_LINK]}], "missing": [CLEAR]},
    }
    hc_cmd.stdout.print(hc_cmd._status_table("rtr", status))
    out, _ = capsys.readouterr()
    assert_clean(out)
    assert "ok[/]" in out


def test_error_messages_are_cleaned(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = tmp_path / "out.txt"
    f.write_text(f"Hello{CLEAR}\nthis is not a router output {OSC_LINK}\n")
    rc = main(["parse", str(f)])
    out, err = capsys.readouterr()
    assert rc == ExitCode.PARSE
    assert_clean(out + err)
    assert len(err.strip().splitlines()) == 1
