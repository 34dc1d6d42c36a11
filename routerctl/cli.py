"""Command-line entry point: the only place that prints errors and picks exit codes."""

from __future__ import annotations

import enum
import functools
import math
import os
import re
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.core
import typer.main
from typer import Abort

try:  # recent typer vendors click; older typer uses click itself
    from typer._click.core import Context
    from typer._click.exceptions import ClickException, NoArgsIsHelpError
except ImportError:  # pragma: no cover - depends on the installed typer
    from click.core import Context  # type: ignore[import-not-found,no-redef,unused-ignore]
    from click.exceptions import (  # type: ignore[import-not-found,no-redef,unused-ignore]
        ClickException,
        NoArgsIsHelpError,
    )

import importlib
from types import ModuleType

try:  # typer 0.29 (here): every value through a pydantic TypeAdapter, built on first use
    from typer._coercion import RuntimeParam, build_runtime_param
    from typer._param_types import coerce_cli_choice, coerce_cli_path
    from typer.core import _TyperParameter
except ImportError:  # pragma: no cover - another typer: its own coercion throughout
    RuntimeParam = None  # type: ignore[assignment,misc,unused-ignore]

from routerctl import __version__
from routerctl.cli_common import safe
from routerctl.errors import ExitCode, RouterctlError, UsageError
from routerctl.transport.base import TRANSPORTS


class _Interrupted(Exception):
    """Ctrl-C while typer runs a command: typer would turn the KeyboardInterrupt into a
    silent exit 130, so the root group carries it past typer to ``main`` as this."""


class _Group(typer.core.TyperGroup):
    """The root group: a KeyboardInterrupt while parsing or running any command becomes
    ``_Interrupted`` (subcommands are parsed and run inside the root's ``invoke``)."""

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().make_context(*args, **kwargs)
        except KeyboardInterrupt as exc:
            raise _Interrupted from exc

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            raise _Interrupted from exc


_app = typer.Typer(
    name="routerctl",
    cls=_Group,
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


@_app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks for errors.", envvar="ROUTERCTL_DEBUG")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
    transport: Annotated[
        str | None,
        typer.Option(
            "--transport",
            help="How to reach routers: paramiko (default) or openssh (the system ssh with "
            "a ControlMaster); overrides the topology's ssh.transport.",
            envvar="ROUTERCTL_TRANSPORT",
        ),
    ] = None,
) -> None:
    """Turn an OpenWrt router into a correct, verified BGP peer for MetalLB."""
    if transport is not None:
        if transport not in TRANSPORTS:
            raise UsageError(
                f"--transport {transport!r}: unknown transport",
                hint=f"use one of: {', '.join(TRANSPORTS)}",
            )
        os.environ["ROUTERCTL_TRANSPORT"] = transport
    if debug:
        os.environ["ROUTERCTL_DEBUG"] = "1"
        # library details (paramiko's negotiation, ...) only with --debug, on stderr
        import logging  # noqa: PLC0415 (start-up: only --debug needs it here)

        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)


# Command modules (routerctl/commands/NAME.py, each with register(app)), in help order.
# They are imported on demand: `routerctl verify` loads only what verify needs (issue 17:
# start-up time); root help, an unknown word or `app` load them all.
COMMAND_MODULES = (
    "render",
    "metallb",
    "parse",
    "lab",
    "provision",
    "preflight",
    "verify",
    "healthcheck",
    "watch",
)
# The fast path: first command word -> the modules that define its commands (a module may
# add a subcommand to another's group: `render metallb` is metallb's). A word not here
# loads every module; tests/test_startup.py checks each word's tree against the full one.
COMMAND_WORDS: dict[str, tuple[str, ...]] = {
    "render": ("render", "metallb"),
    "metallb": ("metallb",),
    "parse": ("parse",),
    "lab": ("lab",),
    "plan": ("provision",),
    "provision": ("provision",),
    "verify": ("verify",),
    "support-bundle": ("verify",),
    "healthcheck": ("healthcheck",),
    "preflight": ("preflight",),
    "watch": ("watch",),
}
_registered: list[str] = []


def _register(names: list[str]) -> None:
    for name in COMMAND_MODULES:  # help lists commands in COMMAND_MODULES order
        if name in names and name not in _registered:
            module: ModuleType = importlib.import_module(f"routerctl.commands.{name}")
            module.register(_app)
            _registered.append(name)
            _command.cache_clear()


# The root options that take a value (`--transport openssh verify`: the command is verify);
# tests/test_startup.py checks this against the root's options.
ROOT_VALUE_OPTIONS = ("--transport",)


def _command_word(argv: list[str]) -> str | None:
    """The command ``argv`` names: its first word that is neither an option nor a root
    option's value."""
    args = iter(argv)
    for arg in args:
        if arg in ROOT_VALUE_OPTIONS:
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return None


def _register_for(argv: list[str]) -> None:
    """Register the module of the command ``argv`` names, or all of them."""
    word = _command_word(argv)
    if word is None and "--version" in argv:
        return  # eager: answered before any command is looked at
    names = COMMAND_WORDS.get(word or "")
    _register(list(names) if names is not None else list(COMMAND_MODULES))


def __getattr__(name: str) -> object:
    """``routerctl.cli.app``: the Typer app with every command registered."""
    if name == "app":
        _register(list(COMMAND_MODULES))
        return _app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _debug() -> bool:
    return "--debug" in sys.argv[1:] or os.environ.get("ROUTERCTL_DEBUG", "") not in ("", "0")


# the contract _PlainCoercion relies on (a typer that changed it keeps its own coercion)
_PLAIN_COERCION = (
    RuntimeParam is not None
    and getattr(RuntimeParam, "__abstractmethods__", None) == frozenset({"_coerce_value"})
    and set(getattr(RuntimeParam, "__dataclass_fields__", {})) == {"parameter_info", "annotation"}
    and callable(getattr(_TyperParameter, "get_runtime_param", None))
)
_PLAIN_INT = re.compile(r"(?:0|[1-9][0-9]{0,17})\Z")
_PLAIN_FLOAT = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,15})?\Z")
_UNPLAIN = object()  # "not a plain value": typer's own (pydantic) coercion decides


def _plain_value(desc: Any, value: Any, param: Any, ctx: Any) -> Any:
    """``value`` coerced as typer's pydantic adapter would, for the plain cases (a str
    option, a number in range, an enum choice, a path), else ``_UNPLAIN``."""
    kind, info = desc.annotation, desc.parameter_info
    if kind is str or kind is bool:
        return value if type(value) is kind else _UNPLAIN
    if kind is int or kind is float:
        plain = _PLAIN_INT if kind is int else _PLAIN_FLOAT
        numbers = (int,) if kind is int else (int, float)  # bool is no plain number
        text = type(value) is str and plain.match(value) is not None
        if info.clamp or not (text or type(value) in numbers):
            return _UNPLAIN
        number = kind(value)
        low, high = info.min, info.max
        if not math.isfinite(number) or (low is not None and number < low):
            return _UNPLAIN
        return _UNPLAIN if high is not None and number > high else number
    try:
        if issubclass(kind, enum.Enum):
            choices = list(kind)
            return coerce_cli_choice(
                value, choices=choices, case_sensitive=info.case_sensitive, ctx=ctx
            )
        if issubclass(kind, Path):
            if type(value) is str and value and "\x00" not in value:
                value = kind(value)
            if not isinstance(value, kind):
                return _UNPLAIN
            return coerce_cli_path(value, info, path_type=kind, param=param, ctx=ctx)
    except Exception:  # an error: typer's own coercion words it
        return _UNPLAIN
    return _UNPLAIN


if RuntimeParam is not None:

    @dataclass(frozen=True)
    class _PlainCoercion(RuntimeParam):
        """typer's coercion of one parameter without pydantic for plain values; anything
        else (a bad value: its error message) goes through typer's own TypeAdapter.
        Importing pydantic (with typer._adapters: 80-200 ms here, under load) and building
        verify's adapters (20-40 ms) were a third of ``routerctl verify`` (issue 17)."""

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            rv = _plain_value(param.type_descriptor, value, param, ctx)
            if rv is not _UNPLAIN:
                return rv
            own = build_runtime_param(param.type_descriptor)
            return own._coerce_value(value, param=param, ctx=ctx)


def _plain_kind(desc: Any) -> bool:
    kind = desc.annotation
    if desc.parameter_info.parser is not None or desc.file_annotation is not None:
        return False
    if kind in (str, bool, int, float):
        return True
    if not isinstance(kind, type) or not issubclass(kind, enum.Enum | Path):
        return False
    info = desc.parameter_info  # a path with a condition: typer checks it
    return not issubclass(kind, Path) or (
        info.path_type is None and not (info.allow_dash or info.resolve_path)
    )


def _coerce_plainly(command: Any, parent: Any = None) -> None:
    """Give every plain parameter of ``command``'s tree the pydantic-free coercion
    (``--help`` too: click makes it on first use, from the context's option names)."""
    if not _PLAIN_COERCION:
        return  # pragma: no cover
    ctx = Context(command, parent=parent, **command.context_settings)
    help_option = command.get_help_option(ctx)
    for param in [*command.params, *([help_option] if help_option else [])]:
        desc = getattr(param, "type_descriptor", None)
        if (
            isinstance(param, _TyperParameter)
            and desc is not None
            and param.nargs == 1
            and not param.multiple
            and _plain_kind(desc)
        ):
            param._runtime_param = _PlainCoercion(
                parameter_info=desc.parameter_info, annotation=desc.annotation
            )
    for sub in getattr(command, "commands", {}).values():
        _coerce_plainly(sub, ctx)


@functools.cache
def _command() -> typer.core.TyperGroup:
    """The click command tree of ``app`` (built once: it costs ~20 ms)."""
    command = typer.main.get_command(_app)
    assert isinstance(command, typer.core.TyperGroup)
    _coerce_plainly(command)
    return command


def _command_words(command: object, argv: list[str]) -> str:
    """The subcommand path named in ``argv`` (``healthcheck install``), walking the tree."""
    words: list[str] = []
    for arg in argv:
        sub = getattr(command, "commands", {}).get(arg)
        if sub is None:
            if arg.startswith("-"):
                continue  # a root option (--debug) before the subcommand
            break
        words.append(arg)
        command = sub
    return " ".join(words)


def _usage_line(exc: ClickException, command: object, argv: list[str]) -> str:
    """``routerctl: <command>: <problem> (try --help)``: one line, whatever click says."""
    ctx = getattr(exc, "ctx", None)  # some parser errors carry no context: walk argv
    where = ctx.command_path.partition(" ")[2] if ctx else _command_words(command, argv)
    message = " ".join(exc.format_message().split())
    message = message[:1].lower() + message[1:]
    head = f"routerctl: {where}: " if where else "routerctl: "
    return safe(f"{head}{message} (try --help)", markup=False)


INTERRUPTED = 130  # the shell's code for a process ended by SIGINT (128 + 2)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; map every error to one line on stderr and an exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    command: object = None
    try:
        _register_for(argv)  # imports: Ctrl-C here is an interruption too
        command = _command()
        # not standalone: click's usage errors come here as exceptions, not rich boxes
        rv = _command().main(args=argv, prog_name="routerctl", standalone_mode=False)
        return rv if isinstance(rv, int) else ExitCode.OK
    except NoArgsIsHelpError as exc:
        exc.show()  # `routerctl` alone (or a group alone): its help
        return ExitCode.USAGE
    except ClickException as exc:
        print(_usage_line(exc, command, argv), file=sys.stderr)
        return exc.exit_code if exc.exit_code else ExitCode.USAGE
    except Abort:
        print("routerctl: aborted", file=sys.stderr)
        return ExitCode.FAILED
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
    except (_Interrupted, KeyboardInterrupt):  # Ctrl-C (SIGINT), whatever was running
        print("routerctl: interrupted", file=sys.stderr)
        return INTERRUPTED
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
