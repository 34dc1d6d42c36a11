"""The ~45 ms step on every exec after the first (issue 17): Nagle on the client side
against the router's delayed ACK of our CHANNEL_CLOSE. Behaviour only (never timing):
TCP_NODELAY on a direct socket; on a ProxyCommand pipe our CLOSE is held back and
leaves in one write with the next exec's OPEN, and no CLOSE is lost on the way."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from routerctl.topology import SshTarget
from routerctl.transport.ssh import SshTransport, _CorkedSocket, resolve_target
from tests.test_transport import conn, dropbear, isolated_home, pytestmark  # noqa: F401 - fixtures


def test_corked_socket_writes_held_bytes_with_the_next_send() -> None:
    a, b = socket.socketpair()
    with a, b:
        c = _CorkedSocket(a)
        assert c.send(b"x") == 1 and b.recv(10) == b"x"  # not held: at once
        c.hold()
        assert c.send(b"CLOSE1") == 6 and c.send(b"CLOSE2") == 6
        b.setblocking(False)
        with pytest.raises(BlockingIOError):
            b.recv(10)  # held
        c.release_with_next()
        assert c.send(b"OPEN") == 4
        assert b.recv(100) == b"CLOSE1CLOSE2OPEN"  # one write
        assert c.send(b"y") == 1 and b.recv(10) == b"y"  # back to direct


def test_direct_tcp_socket_has_nodelay(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as srv:
        cfg = tmp_path / "ssh_config"
        cfg.write_text("")
        t = SshTransport.__new__(SshTransport)  # only the socket step, no SSH handshake
        t.target = resolve_target(
            SshTarget(host="127.0.0.1", port=srv.getsockname()[1], ssh_config=cfg)
        )
        t.host, t._via, t._timeout, t._corked, t._proxy = "x", None, 5.0, None, None
        s = t._sock()
        assert isinstance(s, socket.socket)
        with s:
            assert s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


def test_many_execs_on_one_proxy_connection_lose_no_close(
    conn: SshTransport,  # noqa: F811
) -> None:
    assert conn._corked is not None  # the fixture reaches Dropbear through a ProxyCommand
    transport = conn._client.get_transport()
    assert transport is not None
    for i in range(150):
        res = conn.run(f"echo {i}; cat", stdin=b"in", timeout=30)
        assert (res.exit_status, res.stdout) == (0, f"{i}\nin")
        # at most this exec's CLOSE is held (the one before left with this exec's OPEN)
        assert len(conn._pending) <= 1
        assert conn._corked._held is None
    assert conn.exec_count == 150
    # every channel was closed on both sides (the router's CLOSE unlinks it)
    conn.run("true", timeout=30)
    assert len(transport._channels.values()) <= 1  # type: ignore[attr-defined]
