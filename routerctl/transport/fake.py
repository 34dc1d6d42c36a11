"""A scripted ``Transport`` for tests: answers each exec from a callable, records what
ran and what was written, counts round trips like the SSH transport does."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType

from routerctl.transport.base import CommandResult

# (command, stdin) -> a CommandResult, or just the stdout of a successful exec
Responder = Callable[[str, "bytes | None"], "CommandResult | str"]


def _silent(_command: str, _stdin: bytes | None) -> CommandResult | str:
    return ""


@dataclass
class FakeTransport:
    """Satisfies ``routerctl.transport.Transport`` without a network."""

    host: str = "fake"
    respond: Responder = _silent
    exec_count: int = 0
    commands: list[tuple[str, bytes | None]] = field(default_factory=list)
    files: dict[str, tuple[bytes, int]] = field(default_factory=dict)  # path -> (data, mode)
    # the output caps asked for, per run (recorded, not enforced)
    caps: list[tuple[int | None, int | None]] = field(default_factory=list)
    closed: bool = False

    def run(
        self,
        command: str,
        *,
        stdin: bytes | None = None,
        timeout: float,
        max_output_bytes: int | None = None,
        max_output_lines: int | None = None,
    ) -> CommandResult:
        self.exec_count += 1
        self.commands.append((command, stdin))
        self.caps.append((max_output_bytes, max_output_lines))
        answer = self.respond(command, stdin)
        return answer if isinstance(answer, CommandResult) else CommandResult(0, answer, "")

    def write_file(
        self, path: str, data: bytes, *, mode: int = 0o600, timeout: float = 30.0
    ) -> None:
        self.exec_count += 1
        self.files[path] = (data, mode)

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> FakeTransport:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
