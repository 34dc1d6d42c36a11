"""SSH ``Transport``: one paramiko connection per router per run, exec channels only.

Honours an ssh_config file (``SshTarget.ssh_config``, else ``~/.ssh/config``):
HostName, User, Port, IdentityFile, UserKnownHostsFile, ProxyCommand, ProxyJump;
ssh-agent; known_hosts (an unknown key is refused unless the caller opts in to
trust-on-first-use, a changed key is always refused). Dropbear has no SFTP, so
files travel over exec stdin (``cat > tmp && mv``). paramiko types and exceptions
never leave this module: everything becomes ``TransportError``/``HostKeyError``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import importlib.util
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from routerctl.errors import HostKeyError, TransportError
from routerctl.names import plain_host, plain_user
from routerctl.transport.base import (
    CommandResult,
    SshTarget,
    write_file_command,
)
from routerctl.transport.base import (
    short_command as _short,
)


class _InvokeOnUse:
    """Stands in for the ``invoke`` module in paramiko.config until it is used."""

    def __getattr__(self, name: str) -> object:
        import invoke  # type: ignore[import-not-found,unused-ignore]  # noqa: PLC0415

        return getattr(invoke, name)


def _import_paramiko_without_invoke() -> None:
    """``import paramiko``, with ``invoke`` imported only on use: paramiko.config imports
    it at import time (paramiko 5 requires it) but runs it only for an ssh_config ``Match
    exec``; loading it pulls in asyncio and unittest.mock, ~60 ms of paramiko's ~170 ms
    (``-X importtime``, issue 17). A LazyLoader does not help: ``import`` touches the
    module's ``__spec__``, which loads it."""
    if "paramiko" in sys.modules or "invoke" in sys.modules:
        return
    try:
        present = importlib.util.find_spec("invoke") is not None
    except (ImportError, ValueError):
        present = False
    if present:
        sys.modules["invoke"] = None  # type: ignore[assignment]  # `import invoke` fails
    try:
        importlib.import_module("paramiko")
    finally:
        if present:
            del sys.modules["invoke"]
    config = sys.modules.get("paramiko.config")
    if present and config is not None and getattr(config, "invoke", 0) is None:
        config.invoke = _InvokeOnUse()  # type: ignore[attr-defined]
        config.invoke_import_error = None  # type: ignore[attr-defined]


_import_paramiko_without_invoke()

import paramiko  # noqa: E402 (after _import_paramiko_without_invoke)

log = logging.getLogger(__name__)

# paramiko logs a connection's failure (with a traceback) from its own thread; with no
# handler configured, logging's last-resort handler prints that on the user's stderr
# before our one-line error. A NullHandler stops that; records still propagate, so a
# handler the CLI installs for --debug (or a library user's own) sees them.
logging.getLogger("paramiko").addHandler(logging.NullHandler())

DEFAULT_USER = "root"  # OpenWrt logs in as root
DEFAULT_CONNECT_TIMEOUT = 10.0
# Output caps per exec (stdout + stderr together): past either, reading stops, the channel
# is closed and run() raises, so a router streaming without end cannot exhaust memory.
MAX_OUTPUT_BYTES = 16 * 1024 * 1024
MAX_OUTPUT_LINES = 1_000_000


@dataclass(frozen=True)
class ResolvedTarget:
    """An SshTarget merged with the ssh_config entry for its host."""

    alias: str
    hostname: str
    port: int
    user: str
    identity_files: tuple[Path, ...]
    known_hosts: tuple[Path, ...]
    proxy_command: str | None = None
    proxy_jump: str | None = None
    config_file: Path | None = None
    identities_only: bool = False  # IdentitiesOnly yes: no agent keys
    accept_new: bool = False  # StrictHostKeyChecking accept-new

    @property
    def display(self) -> str:
        if self.alias == self.hostname:
            return f"{self.hostname}:{self.port}"
        return f"{self.alias} ({self.hostname}:{self.port})"

    @property
    def known_hosts_name(self) -> str:
        return self.hostname if self.port == 22 else f"[{self.hostname}]:{self.port}"


def _default_ssh_config() -> Path:
    return Path.home() / ".ssh" / "config"


class _SshConfig(paramiko.SSHConfig):
    """paramiko's SSHConfig, but ProxyCommand's %-tokens are left to ``_proxy_command``.

    paramiko substitutes %h/%p/%r into ProxyCommand verbatim, from ssh_config values only
    (not the topology's port/user), and leaves %n and %% alone; the result runs via sh -c.
    """

    TOKENS_BY_CONFIG_KEY = {  # noqa: RUF012 (paramiko reads it as a class attribute)
        **paramiko.SSHConfig.TOKENS_BY_CONFIG_KEY,
        "proxycommand": ["~"],
    }


# What may be substituted into a ProxyCommand (like OpenSSH >= 9.6, which refuses shell
# metacharacters in %h/%r): ``routerctl.names`` (the topology's validators use it too).
_TOKEN_RE = re.compile(r"%(.?)", re.DOTALL)


def _proxy_command(template: str, *, alias: str, hostname: str, port: int, user: str) -> str:
    """Expand %%, %h, %n, %p, %r in ``template``, refusing values that are not plain."""
    where = f"the ProxyCommand for {alias!r}"

    def checked_host(value: str, what: str) -> str:
        if plain_host(value):
            return value
        raise TransportError(
            f"refusing to put {what} {value!r} into {where}: not a plain host name or address",
            hint="use a host name, IP address or ssh_config alias made of letters, digits, "
            "'.', '-' and '_' (routers[].ssh.host in the topology, or HostName in ssh_config)",
        )

    def expand(m: re.Match[str]) -> str:
        tok = m.group(1)
        if tok == "%":
            return "%"
        if tok == "h":
            return checked_host(hostname, "host")
        if tok == "n":
            return checked_host(alias, "host alias")
        if tok == "p":
            return str(port)
        if tok == "r":
            if plain_user(user):
                return user
            raise TransportError(
                f"refusing to put user {user!r} into {where}: not a plain user name",
                hint="use a user name made of letters, digits, '.', '-' and '_' "
                "(routers[].ssh.user in the topology, or User in ssh_config)",
            )
        raise TransportError(
            f"unknown token {m.group(0)!r} in {where}",
            hint="ProxyCommand accepts %%, %h, %n, %p and %r (write %% for a literal %)",
        )

    return _TOKEN_RE.sub(expand, template)


def _load_config(path: Path | None) -> paramiko.SSHConfig:
    explicit = path is not None
    path = path if path is not None else _default_ssh_config()
    if not path.exists():
        if explicit:
            raise TransportError(
                f"ssh_config file {path} does not exist",
                hint="fix routers[].ssh.ssh_config in the topology",
            )
        return _SshConfig()
    try:
        return _SshConfig.from_path(str(path))
    except (OSError, paramiko.ConfigParseError) as exc:
        raise TransportError(f"cannot read ssh_config {path}: {exc}") from exc


def resolve_target(target: SshTarget) -> ResolvedTarget:
    """Merge the topology's SSH target with the ssh_config entry for its host.

    Explicit topology fields win over ssh_config, like ssh's command line does.
    """
    config_path = target.ssh_config
    cfg = _load_config(config_path).lookup(target.host)
    hostname = str(cfg.get("hostname", target.host))
    try:
        port = target.port or int(cfg.get("port", 22))
    except ValueError as exc:
        raise TransportError(
            f"bad Port {cfg.get('port')!r} for host {target.host} in ssh_config"
        ) from exc
    user = target.user or str(cfg.get("user", DEFAULT_USER))
    identities: list[Path] = []
    if target.identity_file is not None:
        identities.append(target.identity_file.expanduser())
    identities += [Path(p).expanduser() for p in cfg.get("identityfile", [])]
    known: list[Path] = []
    if target.known_hosts is not None:
        known.append(target.known_hosts.expanduser())
    elif "userknownhostsfile" in cfg:
        known += [Path(p).expanduser() for p in str(cfg["userknownhostsfile"]).split()]
    else:
        known.append(Path.home() / ".ssh" / "known_hosts")
    proxy_command = cfg.get("proxycommand")
    if proxy_command is not None and proxy_command.lower() == "none":
        proxy_command = None
    if proxy_command is not None:
        proxy_command = _proxy_command(
            proxy_command, alias=target.host, hostname=hostname, port=port, user=user
        )
    proxy_jump = cfg.get("proxyjump")
    if proxy_jump is not None and proxy_jump.lower() == "none":
        proxy_jump = None
    identities_only = str(cfg.get("identitiesonly", "no")).lower() == "yes"
    accept_new = str(cfg.get("stricthostkeychecking", "ask")).lower() == "accept-new"
    return ResolvedTarget(
        alias=target.host,
        hostname=hostname,
        port=port,
        user=user,
        identity_files=tuple(identities),
        known_hosts=tuple(known),
        proxy_command=proxy_command,
        proxy_jump=proxy_jump,
        config_file=config_path,
        identities_only=identities_only,
        accept_new=accept_new,
    )


MAX_KNOWN_HOSTS_BYTES = 16 * 1024 * 1024


def _hashed_ok(name: str) -> bool:
    """Whether ``name`` is a well-formed ``|1|salt|hash`` (paramiko asserts on bad ones)."""
    parts = name.split("|")
    if len(parts) != 4 or parts[:2] != ["", "1"]:
        return False
    try:
        return all(len(base64.b64decode(p, validate=True)) == 20 for p in parts[2:])
    except (binascii.Error, ValueError):
        return False


def _names_match(names: str, host: str) -> bool:
    """Whether a known_hosts names field (plain, hashed or wildcard) names ``host``."""
    for name in names.split(","):
        if name == host:
            return True
        if name.startswith("|1|"):
            if _hashed_ok(name) and paramiko.HostKeys.hash_host(host, name) == name:
                return True
        elif "*" in name or "?" in name:
            pattern = re.escape(name).replace(r"\*", ".*").replace(r"\?", ".")
            if re.fullmatch(pattern, host, re.DOTALL):
                return True
    return False


def load_known_hosts(keys: paramiko.HostKeys, path: Path, *, host: str) -> int:
    """Add the entries of known_hosts ``path`` to ``keys``; return how many lines were skipped.

    Like OpenSSH, a line that cannot be read (bad key data, too few fields, a marker
    paramiko does not support) is skipped, so one stray line does not lock the user out
    of every router. But a malformed line naming ``host`` (its ``known_hosts_name``) is a
    HostKeyError: its key cannot be checked, and trusting a new one over it is unsafe.
    """
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_KNOWN_HOSTS_BYTES + 1)
    except OSError as exc:
        raise TransportError(
            f"cannot read known_hosts file {path}: {exc.strerror or exc}",
            hint="fix routers[].ssh.known_hosts in the topology or UserKnownHostsFile",
        ) from exc
    if len(data) > MAX_KNOWN_HOSTS_BYTES:
        raise TransportError(
            f"known_hosts file {path} is larger than {MAX_KNOWN_HOSTS_BYTES} bytes",
            hint="is it the right file? (routers[].ssh.known_hosts or UserKnownHostsFile)",
        )
    skipped = 0
    for lineno, raw in enumerate(data.decode("utf-8", "replace").split("\n"), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = re.split(r"[ \t]+", line)
        names = fields[1] if line.startswith("@") and len(fields) > 1 else fields[0]
        entry: paramiko.hostkeys.HostKeyEntry | None = None
        problem = None
        if line.startswith("@"):
            problem = f"marker {fields[0][:20]!r} not supported"
        elif len(fields) < 3:
            problem = "too few fields"
        else:
            try:
                entry = paramiko.hostkeys.HostKeyEntry.from_line(line, lineno)
            except (paramiko.hostkeys.InvalidHostKey, paramiko.SSHException, ValueError) as exc:
                problem = f"bad key data ({type(exc).__name__})"
            if any(n.startswith("|1|") and not _hashed_ok(n) for n in names.split(",")):
                entry, problem = None, "malformed hashed host name"
        if problem is not None:
            skipped += 1
            if _names_match(names, host) and not line.startswith("@"):
                raise HostKeyError(
                    f"known_hosts file {path}:{lineno}: malformed entry for {host} "
                    f"({problem}); refusing to connect",
                    hint=f"fix or delete that line (ssh-keygen -R '{host}' -f {path}), then "
                    "check the router's key",
                )
            log.info("%s:%d: skipped known_hosts line: %s", path, lineno, problem)
            continue
        if entry is None:  # a key type paramiko does not know: skipped, like paramiko
            continue
        fresh = [h for h in entry.hostnames if not keys.check(h, entry.key)]
        if fresh:
            entry.hostnames = fresh
            keys._entries.append(entry)  # type: ignore[attr-defined]  # as HostKeys.load; add() drops keys
    return skipped


def _append_known_host(path: Path, line: str) -> None:
    """Append ``line`` to known_hosts like OpenSSH: created 0600, a newline first if the
    file does not end with one, one O_APPEND write."""
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        size = os.fstat(fd).st_size
        lead = b"\n" if size > 0 and os.pread(fd, 1, size - 1) != b"\n" else b""
        data = lead + line.encode("utf-8")
        while data:
            data = data[os.write(fd, data) :]
    finally:
        os.close(fd)


class _HostKeyPolicy(paramiko.MissingHostKeyPolicy):
    """Refuse unknown keys, or append them to known_hosts when the user opted in."""

    def __init__(self, resolved: ResolvedTarget, *, accept_new: bool) -> None:
        self.resolved = resolved
        self.accept_new = accept_new
        self.refused_key: str | None = None
        self.error: TransportError | None = None  # why the new key could not be saved

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        fingerprint = key.fingerprint  # "SHA256:..."
        if not self.accept_new:
            self.refused_key = f"{key.get_name()} {fingerprint}"
            raise paramiko.SSHException("unknown host key")
        path = self.resolved.known_hosts[0]
        line = paramiko.hostkeys.HostKeyEntry([hostname], key).to_line() or ""
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            _append_known_host(path, line)
        except OSError as exc:
            self.error = TransportError(
                f"cannot add the host key of {hostname} to {path}: {exc.strerror or exc}",
                hint="fix the file's permissions, or set UserKnownHostsFile",
            )
            raise paramiko.SSHException("cannot save host key") from exc
        client.get_host_keys().add(hostname, key.get_name(), key)
        log.info("added host key %s %s for %s to %s", key.get_name(), fingerprint, hostname, path)


# -- latency: Nagle vs delayed ACK --------------------------------------------------------
# Measured (issue 17): every exec after the first on one connection took ~45 ms more
# (exec 'true': 14 ms first, 52 ms later), on the lab's ProxyCommand path and on a direct
# TCP path alike. The client's last message of an exec, its CHANNEL_CLOSE, gets no reply,
# so the router's kernel delays its ACK (40 ms); with Nagle on, the next exec's
# CHANNEL_OPEN waits behind that unacknowledged segment (strace of the proxy: OPEN
# written at t, the router's answer at t+42 ms). Direct TCP: TCP_NODELAY on our socket.
# ProxyCommand: the TCP socket is the proxy's (nc), so our CHANNEL_CLOSE is held back and
# goes out in ONE write with the next exec's CHANNEL_OPEN, which the router answers (its
# reply carries the ACK). A global request as a ping does not work: Dropbear with remote
# forwarding off (-k) answers none.


class _CorkedSocket:
    """A socket that can hold sends back and write them together with the next one."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._lock = threading.Lock()
        self._held: bytearray | None = None
        self._with_next = False
        self._generation = 0

    def send(self, data: bytes) -> int:
        # paramiko's write lock orders the (encrypted, numbered) messages; this lock keeps
        # the held bytes ahead of every later send, from any thread
        with self._lock:
            if self._held is None:
                return self._sock.send(data)
            self._held += data
            if self._with_next:
                held, self._held, self._with_next = self._held, None, False
                self._sock.sendall(held)
            return len(data)

    def hold(self) -> None:
        """Hold the sends from now on."""
        with self._lock:
            if self._held is None:
                self._held = bytearray()
            self._with_next = False

    def release_with_next(self, *, at_most: float | None = None) -> None:
        """Write what is held together with the next send (or after ``at_most`` seconds
        if no send comes: the peer may be waiting for what is held)."""
        with self._lock:
            if self._held is None:
                return
            self._with_next = True
            self._generation += 1
            generation = self._generation
        if at_most is not None:
            timer = threading.Timer(at_most, self.flush, kwargs={"generation": generation})
            timer.daemon = True
            timer.start()

    def flush(self, generation: int | None = None) -> None:
        """Write what is held now (only that hold's, with ``generation``)."""
        with self._lock:
            if self._held is None or generation not in (None, self._generation):
                return
            held, self._held, self._with_next = self._held, None, False
            with contextlib.suppress(OSError):  # closed meanwhile: paramiko reports that
                self._sock.sendall(held)

    def __getattr__(self, name: str) -> object:  # recv, settimeout, close, fileno, ...
        return getattr(self._sock, name)


HANDSHAKE_HOLD_AT_MOST = 0.1  # seconds a held handshake message waits for company


class _Transport(paramiko.Transport):
    """paramiko's Transport, tuned like OpenSSH's client (issue 17).

    Over a ProxyCommand pipe, our KEXINIT leaves with our KEX_ECDH_INIT and our NEWKEYS
    with the SERVICE_REQUEST (one write each): sent alone, the second of each pair waited
    behind the first for the router's delayed ACK (measured: 52 ms and 40 ms of a 116 ms
    connect), and the algorithm lists are short (below).
    """

    # Short lists (OpenSSH's fast choices, plus what every Dropbear since 2016 offers): the
    # KEXINIT is what makes the handshake's first write; busybox nc (the lab's proxy and
    # OpenWrt's) reads its stdin 1 KiB at a time, and paramiko's full lists made our
    # KEXINIT + KEX_ECDH_INIT 1,200 bytes: two writes, the second waiting 57 ms (strace)
    # for the router's delayed ACK. Now ~750 bytes: one write. paramiko has no chacha20.
    _preferred_kex = tuple(
        k
        for k in paramiko.Transport._preferred_kex  # type: ignore[attr-defined]
        if k
        in (
            "mlkem768x25519-sha256",  # OpenSSH >= 9.9's default (only where paramiko has it)
            "curve25519-sha256@libssh.org",
            "ecdh-sha2-nistp256",
            "diffie-hellman-group14-sha256",
        )
    )
    _preferred_ciphers = (
        "aes128-gcm@openssh.com",  # AEAD: no separate MAC (when the server has it)
        "aes256-gcm@openssh.com",
        "aes128-ctr",
        "aes256-ctr",
    )
    _preferred_macs = (
        "hmac-sha2-256-etm@openssh.com",
        "hmac-sha2-512-etm@openssh.com",
        "hmac-sha2-256",
        "hmac-sha2-512",
    )
    _preferred_keys = ("ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256")

    def _handshake_send(self, send: Callable[[], None]) -> None:
        sock = self.sock
        if not isinstance(sock, _CorkedSocket) or self.is_authenticated():
            send()
            return
        sock.hold()
        try:
            send()
        finally:
            sock.release_with_next(at_most=HANDSHAKE_HOLD_AT_MOST)

    def _send_kex_init(self) -> None:
        self._handshake_send(super()._send_kex_init)  # type: ignore[misc]

    def _activate_outbound(self) -> None:
        self._handshake_send(super()._activate_outbound)  # type: ignore[misc]


class _Wakeup:
    """Wakes ``run()`` when paramiko's thread feeds the channel's stdout or stderr, or
    closes them (EOF, the channel's close).

    Not ``select()`` on the channel: ``Channel.fileno()`` makes an OS pipe that paramiko's
    thread writes to on every feed, and ``Channel.close()`` (ours, at a cap or timeout,
    while the router still streams) closes that pipe under the writer: EBADF there killed
    the whole connection ("Socket exception: Bad file descriptor"), and the write could
    land on whatever reused the fd number. An Event has no file descriptor to race on."""

    def __init__(self, chan: paramiko.Channel) -> None:
        self._event = threading.Event()
        self._chan = chan
        # BufferedPipe calls set() on every feed and close, clear() when a read (ours, in
        # this thread) empties it
        chan.in_buffer.set_event(self._event)
        chan.in_stderr_buffer.set_event(self._event)

    def wait(self, timeout: float) -> None:
        # the two buffers share one event: a read emptying stderr clears it even when
        # stdout was fed meanwhile, so look first; a feed after this look sets it again
        # (only our reads clear it), so nothing is lost
        chan = self._chan
        if chan.recv_ready() or chan.recv_stderr_ready() or chan.closed:
            return
        self._event.wait(timeout)


def _nodelay(sock: object) -> None:
    if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class SshTransport:
    """A ``Transport`` over paramiko exec channels. Connects in ``__init__``."""

    def __init__(
        self,
        target: SshTarget,
        *,
        accept_new_host_key: bool = False,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        via: SshTransport | None = None,
        max_output_bytes: int | None = None,
        max_output_lines: int | None = None,
    ) -> None:
        self.max_output_bytes = MAX_OUTPUT_BYTES if max_output_bytes is None else max_output_bytes
        self.max_output_lines = MAX_OUTPUT_LINES if max_output_lines is None else max_output_lines
        self.target = resolve_target(target)
        self.host = self.target.display
        self.exec_count = 0
        self._via = via  # a jump host to tunnel through (ProxyJump), instead of config
        self._accept_new = accept_new_host_key or self.target.accept_new
        self._timeout = connect_timeout
        self._jumps: list[SshTransport] = []
        self._proxy: subprocess.Popen[bytes] | None = None
        self._corked: _CorkedSocket | None = None  # a ProxyCommand pipe (see _CorkedSocket)
        self._pending: list[paramiko.Message] = []  # our CHANNEL_CLOSEs, held back
        self._pending_lock = threading.Lock()
        self._client = self._connect()

    # -- connection -------------------------------------------------------
    def _sock(self) -> socket.socket | paramiko.Channel:
        t = self.target
        if self._via is not None:
            return self._tunnel(self._via)
        if t.proxy_jump:
            # every hop is resolved with the same ssh_config; each tunnels through the last
            prev: SshTransport | None = None
            for hop in t.proxy_jump.split(","):
                user, _, hostport = hop.strip().rpartition("@")
                host, port = hostport, None
                if hostport.count(":") == 1:
                    host, _, p = hostport.partition(":")
                    try:
                        port = int(p)
                    except ValueError as exc:
                        raise TransportError(
                            f"bad ProxyJump {t.proxy_jump!r} for {self.host}"
                        ) from exc
                prev = SshTransport(
                    SshTarget(host=host, port=port, user=user or None, ssh_config=t.config_file),
                    accept_new_host_key=self._accept_new,
                    connect_timeout=self._timeout,
                    via=prev,
                )
                self._jumps.append(prev)
            assert prev is not None
            return self._tunnel(prev)
        if t.proxy_command:
            # like OpenSSH: "exec" the command through sh, talk over its stdin/stdout. A
            # socketpair (not paramiko.ProxyCommand) so the proxy's exit is a clean EOF
            # that paramiko notices at once.
            ours, theirs = socket.socketpair()
            try:
                self._proxy = subprocess.Popen(
                    ["/bin/sh", "-c", f"exec {t.proxy_command}"],
                    stdin=theirs.fileno(),
                    stdout=theirs.fileno(),
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            except OSError as exc:
                ours.close()
                raise TransportError(
                    f"ProxyCommand for {self.host} failed to start: {exc}",
                    hint=f"check ProxyCommand in {t.config_file or _default_ssh_config()}",
                ) from exc
            finally:
                theirs.close()
            self._corked = _CorkedSocket(ours)
            return self._corked  # type: ignore[return-value]  # socket-like
        try:
            sock = socket.create_connection((t.hostname, t.port), timeout=self._timeout)
        except OSError as exc:
            raise TransportError(
                f"cannot connect to {self.host}: {exc or type(exc).__name__}",
                hint="is the router up and SSH reachable?",
            ) from exc
        _nodelay(sock)
        return sock

    def _tunnel(self, jump: SshTransport) -> paramiko.Channel:
        """A direct-tcpip channel from ``jump`` to this target."""
        t = self.target
        transport = jump._client.get_transport()
        if transport is None or not transport.is_active():
            raise TransportError(f"jump host {jump.host} is not connected")
        try:
            return transport.open_channel(
                "direct-tcpip", (t.hostname, t.port), ("127.0.0.1", 0), timeout=self._timeout
            )
        except (paramiko.SSHException, OSError) as exc:
            raise TransportError(
                f"jump host {jump.host} cannot reach {t.hostname}:{t.port}: {exc}"
            ) from exc

    def _connect(self) -> paramiko.SSHClient:
        t = self.target
        client = paramiko.SSHClient()
        for kh in t.known_hosts:
            if kh.exists():
                load_known_hosts(client.get_host_keys(), kh, host=t.known_hosts_name)
        policy = _HostKeyPolicy(t, accept_new=self._accept_new)
        client.set_missing_host_key_policy(policy)
        key_files = [str(p) for p in t.identity_files if p.exists()]
        try:
            sock = self._sock()
        except BaseException:
            self._close_jumps()
            self._stop_proxy()
            raise
        try:
            client.connect(
                hostname=t.hostname,
                port=t.port,
                username=t.user,
                key_filename=key_files or None,  # type: ignore[arg-type]
                allow_agent=not (t.identities_only and key_files),
                look_for_keys=not key_files,
                timeout=self._timeout,
                banner_timeout=self._timeout,
                auth_timeout=self._timeout,
                sock=sock,
                transport_factory=_Transport,  # type: ignore[arg-type]  # stubs lag paramiko
            )
        except paramiko.BadHostKeyException as exc:
            client.close()
            self._close_jumps()
            self._stop_proxy()
            raise HostKeyError(
                f"host key for {self.host} has CHANGED (now {exc.key.get_name()} "
                f"{exc.key.fingerprint}); refusing to connect",
                hint=f"if the router was reinstalled, remove its old line from "
                f"{t.known_hosts[0]} after checking the new key",
            ) from exc
        except paramiko.PasswordRequiredException as exc:
            client.close()
            self._close_jumps()
            self._stop_proxy()
            raise TransportError(
                f"SSH key for {self.host} is passphrase-protected",
                hint="load it into ssh-agent (ssh-add) and retry",
            ) from exc
        except paramiko.AuthenticationException as exc:
            client.close()
            self._close_jumps()
            self._stop_proxy()
            raise TransportError(
                f"SSH authentication as {t.user} to {self.host} failed",
                hint="check User/IdentityFile in the topology or ssh_config, or ssh-agent",
            ) from exc
        except (paramiko.SSHException, OSError, EOFError) as exc:
            client.close()
            self._close_jumps()
            self._stop_proxy()
            if policy.error is not None:
                raise policy.error from exc
            if policy.refused_key is not None:
                raise HostKeyError(
                    f"host key for {self.host} is unknown ({policy.refused_key}); "
                    "refusing to connect",
                    hint=f"check the fingerprint, then rerun with --accept-new-host-key "
                    f"to add it to {t.known_hosts[0]}",
                ) from exc
            raise TransportError(
                f"cannot connect to {self.host}: {exc or type(exc).__name__}",
                hint="is the router up and SSH reachable?",
            ) from exc
        if self._corked is not None:
            transport = client.get_transport()
            assert transport is not None  # connect() succeeded
            # paramiko dispatches through this table (an instance attribute wins)
            transport._channel_handler_table = {  # type: ignore[attr-defined]
                **transport._channel_handler_table,  # type: ignore[attr-defined]
                paramiko.common.MSG_CHANNEL_CLOSE: self._on_router_close,
            }
        return client

    # -- channel close, held back on a ProxyCommand pipe (see _CorkedSocket) ---------
    def _hold_close(self, chan: paramiko.Channel, *, unlink: bool) -> None:
        with chan.lock:
            msgs = chan._close_internal()  # type: ignore[attr-defined]
            if unlink:
                chan.transport._unlink_channel(chan.chanid)  # type: ignore[union-attr]
        with self._pending_lock:
            self._pending += [m for m in msgs if m is not None]

    def _on_router_close(self, chan: paramiko.Channel, m: paramiko.Message) -> None:
        """paramiko's CHANNEL_CLOSE handler, but our CLOSE in reply is held back."""
        self._hold_close(chan, unlink=True)

    def _close_channel(self, chan: paramiko.Channel) -> None:
        if self._corked is None:
            chan.close()
        else:  # the router's CLOSE, when it comes, unlinks it
            self._hold_close(chan, unlink=False)

    def _send_held(self, transport: paramiko.Transport) -> None:
        """Queue the held CLOSEs so they leave with the next message (an OPEN)."""
        with self._pending_lock:
            msgs, self._pending = self._pending, []
        if not msgs or self._corked is None:
            return
        self._corked.hold()
        try:
            for m in msgs:
                transport._send_user_message(m)  # type: ignore[attr-defined]
        finally:
            self._corked.release_with_next()

    # -- commands ---------------------------------------------------------
    def run(
        self,
        command: str,
        *,
        stdin: bytes | None = None,
        timeout: float,
        max_output_bytes: int | None = None,
        max_output_lines: int | None = None,
    ) -> CommandResult:
        """Run ``command``; past ``max_output_bytes``/``_lines`` (default: the
        transport's) of stdout + stderr, close the channel and raise TransportError."""
        max_bytes = self.max_output_bytes if max_output_bytes is None else max_output_bytes
        max_lines = self.max_output_lines if max_output_lines is None else max_output_lines
        transport = self._client.get_transport()
        if transport is None or not transport.is_active():
            raise TransportError(f"connection to {self.host} is closed")
        deadline = time.monotonic() + timeout
        try:
            self._send_held(transport)
            chan = transport.open_session(timeout=timeout)
            self.exec_count += 1
            chan.exec_command(command)
            wakeup = _Wakeup(chan)
            small = len(stdin or b"") <= min(chan.out_window_size, chan.out_max_packet_size)
            if stdin and self._corked is not None and small:
                # data and EOF in one write: the EOF alone waited for the router's delayed
                # ACK of the data (one message: no window wait while held)
                self._corked.hold()
                try:
                    chan.sendall(stdin)
                finally:
                    self._corked.release_with_next(at_most=HANDSHAKE_HOLD_AT_MOST)
            elif stdin:
                chan.sendall(stdin)
            chan.shutdown_write()
            out, err = bytearray(), bytearray()
            lines = 0

            def capped(buf: bytearray, chunk: bytes) -> None:
                nonlocal lines
                buf += chunk
                lines += chunk.count(b"\n")
                if len(out) + len(err) > max_bytes:
                    what, cap, knob = "bytes", max_bytes, "max_output_bytes"
                elif lines > max_lines:
                    what, cap, knob = "lines", max_lines, "max_output_lines"
                else:
                    return
                chan.close()
                raise TransportError(
                    f"router output exceeded {cap} {what} for {_short(command)} on {self.host}",
                    hint=f"raise {knob} (run() or SshTransport(), default "
                    f"routerctl.transport.ssh.MAX_OUTPUT_{what.upper()}) if that much is expected",
                )

            while True:
                while chan.recv_ready():
                    capped(out, chan.recv(65536))
                while chan.recv_stderr_ready():
                    capped(err, chan.recv_stderr(65536))
                if (
                    chan.exit_status_ready()
                    and not chan.recv_ready()
                    and not chan.recv_stderr_ready()
                ):
                    # drain anything that raced with the exit status
                    break
                if not transport.is_active():
                    raise TransportError(
                        f"connection to {self.host} dropped while running {_short(command)}"
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    chan.close()
                    raise TransportError(
                        f"command {_short(command)} on {self.host} timed out after {timeout:g}s"
                    )
                wakeup.wait(min(remaining, 1.0))
            status = chan.recv_exit_status()
            self._close_channel(chan)
        except TransportError:
            raise
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise TransportError(
                f"connection to {self.host} failed while running {_short(command)}: {exc}"
            ) from exc
        if status == -1:  # the channel closed without an exit status: the session died
            raise TransportError(
                f"connection to {self.host} dropped while running {_short(command)}"
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

    # -- lifecycle --------------------------------------------------------
    def _close_jumps(self) -> None:
        for j in reversed(self._jumps):  # the last hop tunnels through the earlier ones
            j.close()
        self._jumps.clear()

    def close(self) -> None:
        client = getattr(self, "_client", None)
        if client is not None:
            client.close()
        self._close_jumps()
        self._stop_proxy()

    def _stop_proxy(self) -> None:
        proc, self._proxy = self._proxy, None
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(OSError):
                proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

    def __enter__(self) -> SshTransport:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


__all__ = ["ResolvedTarget", "SshTransport", "load_known_hosts", "resolve_target"]
