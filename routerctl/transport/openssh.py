"""OpenSSH ``Transport``: the system ``ssh`` client over a ControlMaster, exec only.

``ssh: {transport: openssh}`` in the topology (or ``routerctl --transport openssh``):
everything the user's OpenSSH does (its ssh_config with ``Match``, certificates,
FIDO/PKCS#11 keys, GSSAPI, ProxyJump/ProxyCommand) and one SSH handshake per
``ControlPersist`` period: the master stays in the background after routerctl exits,
so a monitoring loop reconnects through it. The control sockets live in a private
directory (0700, ours; ``ROUTERCTL_SSH_CONTROL_DIR`` or ``$XDG_RUNTIME_DIR/routerctl-ssh``
or ``~/.cache/routerctl/ssh``).

Same contract as the paramiko transport: exec channels only (``cat > tmp && mv`` for
files), routerctl's host-key policy (an unknown key is refused unless the caller opts in
or the ssh_config says ``StrictHostKeyChecking accept-new``; a changed key always: we
pass ``StrictHostKeyChecking=yes|accept-new`` and ``BatchMode=yes``), the same errors
(``TransportError``/``HostKeyError``, so the same exit codes) and output caps.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import shutil
import stat
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType

from routerctl.errors import HostKeyError, TransportError
from routerctl.transport.base import (
    CommandResult,
    SshTarget,
    write_file_command,
)
from routerctl.transport.base import (
    short_command as _short,
)

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_PERSIST = 60  # seconds the master outlives its last use
MAX_OUTPUT_BYTES = 16 * 1024 * 1024  # as the paramiko transport
MAX_OUTPUT_LINES = 1_000_000
SOCKET_PATH_MAX = 100  # sun_path is 108 bytes; OpenSSH adds a suffix while binding


def control_dir() -> Path:
    """Where the control sockets live (created 0700; refused if others can enter it)."""
    env = os.environ.get("ROUTERCTL_SSH_CONTROL_DIR")
    if env:
        path = Path(env)
    elif os.environ.get("XDG_RUNTIME_DIR"):
        path = Path(os.environ["XDG_RUNTIME_DIR"]) / "routerctl-ssh"
    else:
        path = Path.home() / ".cache" / "routerctl" / "ssh"
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        st = path.stat()
    except OSError as exc:
        raise TransportError(
            f"cannot create the SSH control directory {path}: {exc.strerror or exc}",
            hint="set ROUTERCTL_SSH_CONTROL_DIR to a private directory",
        ) from exc
    if st.st_uid != os.geteuid() or stat.S_IMODE(st.st_mode) & 0o077:
        raise TransportError(
            f"SSH control directory {path} is not private (mode "
            f"{stat.S_IMODE(st.st_mode):o}, owner uid {st.st_uid})",
            hint=f"chmod 700 {path} (it must be yours), or set ROUTERCTL_SSH_CONTROL_DIR",
        )
    if len(str(path)) + 41 > SOCKET_PATH_MAX:  # %C is 40 hex digits
        raise TransportError(
            f"SSH control directory {path} is too long for a socket path",
            hint="set ROUTERCTL_SSH_CONTROL_DIR to a short private directory",
        )
    return path


def _ssh_binary() -> str:
    found = shutil.which("ssh")
    if found is None:
        raise TransportError(
            "the OpenSSH client (ssh) is not installed",
            hint="install openssh-client, or drop 'transport: openssh' to use paramiko",
        )
    return found


class OpenSshTransport:
    """A ``Transport`` through ``ssh`` and a ControlMaster. Connects in ``__init__``."""

    def __init__(
        self,
        target: SshTarget,
        *,
        accept_new_host_key: bool = False,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        persist: int = DEFAULT_PERSIST,
        max_output_bytes: int | None = None,
        max_output_lines: int | None = None,
    ) -> None:
        self.max_output_bytes = MAX_OUTPUT_BYTES if max_output_bytes is None else max_output_bytes
        self.max_output_lines = MAX_OUTPUT_LINES if max_output_lines is None else max_output_lines
        self.exec_count = 0
        self.alias = target.host
        self._timeout = connect_timeout
        base = [_ssh_binary()]
        if target.ssh_config is not None:
            if not target.ssh_config.exists():
                raise TransportError(
                    f"ssh_config file {target.ssh_config} does not exist",
                    hint="fix routers[].ssh.ssh_config in the topology",
                )
            base += ["-F", str(target.ssh_config)]
        if target.port is not None:
            base += ["-p", str(target.port)]
        if target.user is not None:
            base += ["-l", target.user]
        if target.identity_file is not None:
            base += ["-i", str(target.identity_file.expanduser())]
        if target.known_hosts is not None:
            base += ["-o", f"UserKnownHostsFile={target.known_hosts.expanduser()}"]
        cfg = self._effective_config(base)
        self.hostname = cfg.get("hostname", target.host)
        self.port = int(cfg.get("port", "22"))
        self.user = cfg.get("user", "")
        self.known_hosts = cfg.get("userknownhostsfile", "~/.ssh/known_hosts").split()[0]
        self.host = (
            f"{self.hostname}:{self.port}"
            if self.alias == self.hostname
            else f"{self.alias} ({self.hostname}:{self.port})"
        )
        accept_new = accept_new_host_key or cfg.get("stricthostkeychecking") == "accept-new"
        self._dir = control_dir()
        self._ssh = [
            *base,
            "-o",
            f"StrictHostKeyChecking={'accept-new' if accept_new else 'yes'}",
            "-o",
            "BatchMode=yes",  # never a prompt (password, passphrase, host key)
            "-o",
            f"ConnectTimeout={max(1, round(connect_timeout))}",
            "-o",
            f"ControlPath={self._dir}/%C",
            "-o",
            f"ControlPersist={persist}",
            "-o",
            "LogLevel=ERROR",
        ]
        self._connect()

    # -- connection -----------------------------------------------------------------
    def _effective_config(self, base: list[str]) -> dict[str, str]:
        """``ssh -G``: what OpenSSH will use for this host (first value of each key)."""
        try:
            res = subprocess.run(
                [*base, "-G", self.alias],
                capture_output=True,
                text=True,
                timeout=self._timeout,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise TransportError(f"ssh -G {self.alias} failed: {exc}") from exc
        if res.returncode != 0:
            first = (res.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise TransportError(
                f"OpenSSH cannot read its configuration for {self.alias}: {first[:200]}",
                hint="check the ssh_config file (ssh -G shows what OpenSSH reads)",
            )
        cfg: dict[str, str] = {}
        for line in res.stdout.splitlines():
            key, _, value = line.partition(" ")
            cfg.setdefault(key.lower(), value)
        return cfg

    def master_alive(self) -> bool:
        res = subprocess.run(
            [*self._ssh, "-O", "check", self.alias],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            check=False,
            timeout=self._timeout,
        )
        return res.returncode == 0

    def _connect(self) -> None:
        if self.master_alive():
            return  # a master from an earlier run (ControlPersist): no handshake
        # -f: background after authentication; the master's stderr is a file (a pipe
        # would stay open in the background master)
        with tempfile.TemporaryFile() as err:
            try:
                proc = subprocess.run(
                    [*self._ssh, "-o", "ControlMaster=yes", "-N", "-f", self.alias],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                    timeout=self._timeout + 5,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                raise TransportError(
                    f"cannot connect to {self.host}: timed out",
                    hint="is the router up and SSH reachable?",
                ) from exc
            err.seek(0)
            text = err.read().decode("utf-8", "replace")
        if proc.returncode != 0:
            raise self._connect_error(text)

    def _connect_error(self, text: str) -> TransportError:
        lines = [ln.strip() for ln in text.replace("\r", "").splitlines() if ln.strip()]
        last = lines[-1] if lines else "ssh exited without a message"
        if "REMOTE HOST IDENTIFICATION HAS CHANGED" in text:
            return HostKeyError(
                f"host key for {self.host} has CHANGED; refusing to connect",
                hint=f"if the router was reinstalled, remove its old line from "
                f"{self.known_hosts} after checking the new key",
            )
        if "Host key verification failed" in text:
            known = next((ln for ln in lines if "host key is known" in ln), "")
            kind = known.split()[1] if known.startswith("No ") else "its"
            return HostKeyError(
                f"host key for {self.host} is unknown ({kind} key); refusing to connect",
                hint=f"check the fingerprint, then rerun with --accept-new-host-key to add it "
                f"to {self.known_hosts}",
            )
        if "Permission denied" in text:
            return TransportError(
                f"SSH authentication as {self.user} to {self.host} failed",
                hint="check User/IdentityFile in the topology or ssh_config, or ssh-agent",
            )
        return TransportError(
            f"cannot connect to {self.host}: {last[:200]}",
            hint="is the router up and SSH reachable?",
        )

    # -- commands -------------------------------------------------------------------
    def run(
        self,
        command: str,
        *,
        stdin: bytes | None = None,
        timeout: float,
        max_output_bytes: int | None = None,
        max_output_lines: int | None = None,
    ) -> CommandResult:
        """Run ``command`` through the master; past the output caps, stop and raise."""
        max_bytes = self.max_output_bytes if max_output_bytes is None else max_output_bytes
        max_lines = self.max_output_lines if max_output_lines is None else max_output_lines
        argv = [*self._ssh, "-o", "ControlMaster=no", "-T", self.alias, "--", command]
        self.exec_count += 1
        try:
            proc = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
        except OSError as exc:
            raise TransportError(f"cannot start ssh for {self.host}: {exc}") from exc
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None

        def feed() -> None:
            with contextlib.suppress(OSError):  # the command may exit without reading
                if stdin:
                    proc.stdin.write(stdin)  # type: ignore[union-attr]
                proc.stdin.close()  # type: ignore[union-attr]

        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        out, err = bytearray(), bytearray()
        lines = 0
        deadline = time.monotonic() + timeout
        try:
            with selectors.DefaultSelector() as sel:
                sel.register(proc.stdout, selectors.EVENT_READ, out)
                sel.register(proc.stderr, selectors.EVENT_READ, err)
                while sel.get_map():
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TransportError(
                            f"command {_short(command)} on {self.host} timed out after {timeout:g}s"
                        )
                    for key, _ in sel.select(min(remaining, 1.0)):
                        chunk = os.read(key.fd, 65536)
                        if not chunk:
                            sel.unregister(key.fileobj)
                            continue
                        key.data.extend(chunk)
                        lines += chunk.count(b"\n")
                        if len(out) + len(err) > max_bytes or lines > max_lines:
                            what, cap, knob = (
                                ("bytes", max_bytes, "max_output_bytes")
                                if len(out) + len(err) > max_bytes
                                else ("lines", max_lines, "max_output_lines")
                            )
                            raise TransportError(
                                f"router output exceeded {cap} {what} for {_short(command)} "
                                f"on {self.host}",
                                hint=f"raise {knob} (run() or the transport) if that much is "
                                "expected",
                            )
            status = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired as exc:
            raise TransportError(
                f"command {_short(command)} on {self.host} timed out after {timeout:g}s"
            ) from exc
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            proc.stderr.close()
        if status == 255 and not self.master_alive():
            # ssh's own failure (the remote command's 255 leaves the master running)
            tail = err.decode("utf-8", "replace").strip().splitlines()
            raise TransportError(
                f"connection to {self.host} dropped while running {_short(command)}"
                + (f": {tail[-1][:160]}" if tail else "")
            )
        return CommandResult(status, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))

    def write_file(
        self, path: str, data: bytes, *, mode: int = 0o600, timeout: float = 30.0
    ) -> None:
        res = self.run(write_file_command(path, mode=mode), stdin=data, timeout=timeout)
        if not res.ok:
            raise TransportError(
                f"cannot write {path} on {self.host}: {res.stderr.strip() or res.exit_status}"
            )

    # -- lifecycle ------------------------------------------------------------------
    def close(self) -> None:
        """Nothing to do: the master stays for ``ControlPersist`` seconds (``stop`` ends it)."""

    def stop(self) -> None:
        """End the master now (``ssh -O exit``)."""
        subprocess.run(
            [*self._ssh, "-O", "exit", self.alias],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            check=False,
            timeout=self._timeout,
        )

    def __enter__(self) -> OpenSshTransport:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


__all__ = ["OpenSshTransport", "control_dir"]
