"""One error hierarchy; only ``cli.py`` turns these into messages and exit codes.

Every error carries a one-line message that says what went wrong, where, and how
to fix it. ``exit_code`` is what the CLI exits with (documented in the README).
"""

from __future__ import annotations

from routerctl.redact import redact


class ExitCode:
    """Process exit codes (documented in the README)."""

    OK = 0
    FAILED = 1  # a check failed / the operation did not succeed
    USAGE = 2  # bad command line or bad topology file
    UNREACHABLE = 3  # router unreachable, SSH/host-key problem, timeout
    REFUSED = 4  # the router holds config routerctl will not overwrite, or is busy
    ROLLED_BACK = 5  # apply failed; the router was restored to its previous config
    PARSE = 6  # router output could not be parsed
    ENVIRONMENT = 7  # local environment missing something (root, a binary)
    INTERNAL = 70  # a bug: please report with --debug


class RouterctlError(Exception):
    """Base of every error routerctl raises on purpose."""

    exit_code: int = ExitCode.FAILED
    # the message may quote the router (its output, a config line): redact its secrets
    router_output: bool = False

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        if self.router_output:
            message = redact(message)
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        text = self.message.replace("\n", " ")
        if self.hint:
            text = f"{text} ({self.hint})"
        return text


class UsageError(RouterctlError):
    exit_code = ExitCode.USAGE


class TopologyError(UsageError):
    """A bad topology file: names file, line and field, and what is allowed."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        where = ""
        if file is not None:
            where = file if line is None else f"{file}:{line}"
        if field:
            where = f"{where}: {field}" if where else field
        super().__init__(f"{where}: {message}" if where else message, hint=hint)
        self.file = file
        self.line = line
        self.field = field


class ParseError(RouterctlError):
    """Router output a parser could not read (names template, line number, line)."""

    exit_code = ExitCode.PARSE
    router_output = True


class TransportError(RouterctlError):
    """SSH connection problems: unreachable, auth, host key, timeouts."""

    exit_code = ExitCode.UNREACHABLE
    router_output = True


class HostKeyError(TransportError):
    pass


class CommandError(RouterctlError):
    """A command on the router failed (non-zero exit or an error marker)."""

    router_output = True


class BackendError(RouterctlError):
    """Package manager / routing suite problems on the router."""

    router_output = True


class RefusedError(RouterctlError):
    """The router holds something routerctl will not touch, or is busy."""

    exit_code = ExitCode.REFUSED
    router_output = True


class RolledBackError(RouterctlError):
    exit_code = ExitCode.ROLLED_BACK
    router_output = True


class LabError(RouterctlError):
    exit_code = ExitCode.ENVIRONMENT


class EnvironmentProblem(RouterctlError):
    exit_code = ExitCode.ENVIRONMENT
