"""The command-line boundary (issue 12 item 16): any unknown option, missing or malformed
value is one line on stderr, ``routerctl: <command>: <problem> (try --help)``, exit 2 --
never rich's multi-line box, never a traceback. Also --debug (and only it) turns on
library debug logging."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routerctl.cli import app, main

TRIED = {"cli_unknown_option": 0, "cli_bad_value": 0}
COMMANDS = [
    ["verify"],
    ["plan"],
    ["provision"],
    ["support-bundle"],
    ["parse"],
    ["healthcheck", "install"],
    ["healthcheck", "status"],
    ["healthcheck", "config"],
    ["render", "router"],
    ["metallb", "import"],
    [],
]


def _known_options() -> set[str]:
    import typer.main  # noqa: PLC0415

    names: set[str] = set()
    stack = [typer.main.get_command(app)]
    while stack:
        cmd = stack.pop()
        for p in cmd.params:
            names.update(getattr(p, "opts", []))
            names.update(getattr(p, "secondary_opts", []))
        stack.extend(getattr(cmd, "commands", {}).values())
    return names


KNOWN = _known_options() | {"-h", "--help"}


def one_line_usage(code: int, out: str, err: str) -> str:
    assert code == 2, (out, err)
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("routerctl: ")
    assert lines[0].endswith("(try --help)")
    assert "\x1b" not in err and "╭" not in err and "Traceback" not in err
    return lines[0]


def test_unknown_option_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["verify", "--x"])
    out, err = capsys.readouterr()
    line = one_line_usage(code, out, err)
    assert line == "routerctl: verify: no such option: --x (try --help)"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["no-such-command"], "routerctl: no such command 'no-such-command'. (try --help)"),
        (["healthcheck", "install", "--interval", "abc"], "routerctl: healthcheck install: "),
        (["verify", "-t"], "routerctl: verify: option '-t' requires an argument. (try --help)"),
        (["verify", "--probe-attempts", "0"], "routerctl: verify: invalid value for"),
        (["verify", "-o", "yaml"], "routerctl: verify: invalid value for '--output'"),
        (["verify", "--\x1b[2Jx"], "routerctl: verify: no such option: --\\x1b[2Jx (try --help)"),
        (["metallb", "import"], "routerctl: metallb import: missing argument 'FILE'"),
        (["verify", "extra"], "routerctl: verify: got unexpected extra argument(s) (extra)"),
    ],
)
def test_usage_errors_are_one_line(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(args)
    out, err = capsys.readouterr()
    line = one_line_usage(code, out, err)
    assert line.startswith(expected) or line == expected, line


def test_help_and_no_args_still_print_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "verify" in capsys.readouterr().out
    assert main(["healthcheck", "--help"]) == 0
    assert "install" in capsys.readouterr().out
    code = main([])
    out, err = capsys.readouterr()
    assert code in (0, 2)
    assert "verify" in out + err


def test_debug_enables_library_logging() -> None:
    prog = (
        "import logging, sys\n"
        "from routerctl.cli import main\n"
        "main(sys.argv[1:])\n"
        "print(logging.getLogger().getEffectiveLevel())\n"
    )
    without = subprocess.run(
        [sys.executable, "-c", prog, "parse", "--help"], capture_output=True, text=True, check=True
    )
    assert without.stdout.splitlines()[-1] == str(logging.WARNING)
    with_debug = subprocess.run(
        [sys.executable, "-c", prog, "--debug", "parse", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert with_debug.stdout.splitlines()[-1] == str(logging.DEBUG)


# --- property-based ----------------------------------------------------------------------

SETTINGS = settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
_option = st.one_of(
    st.from_regex(r"--[a-zA-Z0-9][a-zA-Z0-9_-]{0,24}", fullmatch=True),
    st.from_regex(r"-[a-gi-zA-Z]", fullmatch=True),  # not -h
    st.text(min_size=1, max_size=30).map(lambda s: "--" + s),
).filter(lambda o: o not in KNOWN and "=" not in o and o.split("=")[0] not in KNOWN)


@SETTINGS
@given(command=st.sampled_from(COMMANDS), option=_option)
def test_generated_unknown_options_are_one_line_exit_2(
    command: list[str], option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    TRIED["cli_unknown_option"] += 1
    code = main([*command, option])
    out, err = capsys.readouterr()
    one_line_usage(code, out, err)


_INT_OPTIONS = [
    (["verify"], "--probe-attempts"),
    (["verify"], "--timeout"),
    (["verify"], "--wait"),
    (["healthcheck", "install"], "--interval"),
    (["healthcheck", "config"], "--backoff"),
    (["verify"], "--output"),
    (["verify"], "--probe-from"),
]


@settings(SETTINGS, max_examples=200)
@given(
    where=st.sampled_from(_INT_OPTIONS),
    value=st.text(max_size=30).filter(
        lambda v: (
            not v.strip().lstrip("+-").replace(".", "", 1).isdigit()
            and v.strip().lower() not in ("table", "json", "local", "router", "inf", "nan", "-inf")
            and not v.startswith("-")
            and "infinity" not in v.strip().lower()
        )
    ),
)
def test_generated_bad_values_are_one_line_exit_2(
    where: tuple[list[str], str], value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    TRIED["cli_bad_value"] += 1
    command, option = where
    code = main([*command, option, value])
    out, err = capsys.readouterr()
    one_line_usage(code, out, err)


def test_zz_report_inputs_tried() -> None:
    print(f"\ninputs tried: {TRIED}")
