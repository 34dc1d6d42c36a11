"""Command-line entry point: the only place that prints errors and picks exit codes."""

from __future__ import annotations

import os
import sys
import traceback
from typing import Annotated

import typer

from routerctl import __version__
from routerctl.cli_common import safe
from routerctl.commands import healthcheck, lab, metallb, parse, provision, render, verify
from routerctl.errors import ExitCode, RouterctlError

app = typer.Typer(
    name="routerctl",
    help="Turn an OpenWrt router into a correct, verified BGP peer for MetalLB.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"routerctl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks for errors.", envvar="ROUTERCTL_DEBUG")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Turn an OpenWrt router into a correct, verified BGP peer for MetalLB."""
    if debug:
        os.environ["ROUTERCTL_DEBUG"] = "1"


for _module in (render, metallb, parse, lab, provision, verify, healthcheck):
    _module.register(app)


def _debug() -> bool:
    return "--debug" in sys.argv[1:] or os.environ.get("ROUTERCTL_DEBUG", "") not in ("", "0")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; map every error to one line on stderr and an exit code."""
    try:
        app(args=argv, prog_name="routerctl")  # standalone: usage errors exit 2 via SystemExit
    except SystemExit as exc:
        code = exc.code
        if code is None:
            return ExitCode.OK
        return code if isinstance(code, int) else ExitCode.FAILED
    except RouterctlError as exc:
        if _debug():
            traceback.print_exc()
        print(f"routerctl: error: {safe(exc.one_line(), markup=False)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("routerctl: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return ExitCode.OK
    except Exception as exc:
        if _debug():
            traceback.print_exc()
        print(
            f"routerctl: internal error: {type(exc).__name__}: {safe(exc, markup=False)} "
            "(this is a bug; rerun with --debug and report the traceback)",
            file=sys.stderr,
        )
        return ExitCode.INTERNAL
    return ExitCode.OK


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
