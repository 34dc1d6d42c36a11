"""The Transport protocol carries the per-call output caps the SSH transport implements, so
ops can raise them for one call (issue 12: output caps on every exec, configurable)."""

from __future__ import annotations

import inspect

from routerctl.transport import Transport
from routerctl.transport.fake import FakeTransport
from routerctl.transport.ssh import SshTransport

CAPS = ("max_output_bytes", "max_output_lines")


def test_every_transport_takes_the_output_caps_per_call() -> None:
    for cls in (Transport, FakeTransport, SshTransport):
        params = inspect.signature(cls.run).parameters
        for name in CAPS:
            assert name in params, (cls.__name__, name)
            assert params[name].kind is inspect.Parameter.KEYWORD_ONLY
            assert params[name].default is None


def test_fake_transport_records_the_caps() -> None:
    t = FakeTransport("rtr", lambda c, s: "x" * 10)
    res = t.run("cmd", timeout=1, max_output_bytes=5, max_output_lines=2)
    assert res.stdout == "x" * 10  # the fake does not enforce; it records what was asked
    assert t.caps == [(5, 2)]
    assert isinstance(t, Transport)
