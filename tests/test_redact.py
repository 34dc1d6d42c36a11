"""One redactor, by position (issue 12 items 3 and 15, issue 11): the secret after its
keyword goes, the same characters elsewhere stay; every error carrying router output
is redacted."""

from __future__ import annotations

import tarfile
from dataclasses import replace
from pathlib import Path

import pytest

from routerctl import plan as plan_mod
from routerctl.errors import BackendError, CommandError, ParseError, TopologyError
from routerctl.ops import bundle, provision
from routerctl.redact import REDACTED, excerpt, redact
from routerctl.topology import Secret
from routerctl.transport.base import CommandResult
from routerctl.transport.fake import FakeTransport
from tests.test_verify import state, topo

CONFIG = """\
Building configuration...

Current configuration:
!
frr version 8.4.4
hostname OpenWrt
password 65001
enable password 8 EnAbLeHaSh
!
router bgp 65000
 neighbor ROUTERCTL peer-group
 neighbor ROUTERCTL remote-as 65001
 neighbor ROUTERCTL password 65001
 neighbor 198.51.100.5 password 7 0822455D0A16
 neighbor 198.51.100.5 description password policy for guests
!
interface eth0
 ip ospf message-digest-key 1 md5 ospfkey
 ip ospf authentication-key authkey
 ipv6 ospf6 authentication key-id 1 hash-algo hmac-sha-256 key o6key
 isis password md5 isiskey
!
key chain k
 key 1
  key-string chainkey
!
end
"""
SECRETS = ("EnAbLeHaSh", "0822455D0A16", "ospfkey", "authkey", "o6key", "isiskey", "chainkey")


def _assert_redacted(out: str) -> None:
    for s in SECRETS:
        assert s not in out, s
    assert "password 65001" not in out


def test_redacts_by_position_not_by_value() -> None:
    out = redact(CONFIG)
    _assert_redacted(out)
    assert " neighbor ROUTERCTL remote-as 65001" in out  # the same characters elsewhere stay
    assert " neighbor ROUTERCTL password <redacted>" in out
    assert " neighbor 198.51.100.5 password 7 <redacted>" in out
    assert "enable password 8 <redacted>" in out
    assert " ip ospf message-digest-key 1 md5 <redacted>" in out
    assert "description password policy for guests" in out  # free text, not a secret
    assert "router bgp 65000" in out
    assert redact(out) == out  # idempotent


def test_config_redactor_hides_an_encrypted_password() -> None:
    # before: runningconfig.redact left "password <redacted> 0822455D0A16"
    out = plan_mod.redact(" neighbor 198.51.100.5 password 7 0822455D0A16")
    assert out == " neighbor 198.51.100.5 password 7 <redacted>"
    assert plan_mod.redact is redact and bundle.redact is redact


def test_bundle_redaction_does_not_reveal_the_password_by_its_absence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # item 15: password 65001 used to turn "remote-as 65001" into "remote-as <redacted>"
    monkeypatch.setenv("R2_BGP_PW", "65001")
    t = replace(topo(), bgp=replace(topo().bgp, password=Secret(env="R2_BGP_PW")))
    st = replace(state(), raw=(("show running-config", CONFIG),))
    path = bundle.write_bundle(tmp_path, t, st, now=1_800_000_000)
    with tarfile.open(path) as tar:
        texts = [
            tar.extractfile(m).read().decode()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile()
        ]
    running = next(x for x in texts if x.startswith("# show running-config"))
    _assert_redacted(running)
    assert "remote-as 65001" in running
    assert "password <redacted>" in running


def test_show_running_config_failing_does_not_leak_it() -> None:
    # item 3: a non-zero exit put the raw config (passwords included) into the message
    t = FakeTransport(respond=lambda _c, _s: CommandResult(1, CONFIG, ""))
    with pytest.raises(CommandError) as info:
        provision.read_running(t)
    _assert_redacted(info.value.one_line())
    assert "failed" in info.value.one_line()


def test_save_failing_does_not_leak_the_config() -> None:
    t = FakeTransport(respond=lambda _c, _s: CommandResult(1, "", CONFIG))
    with pytest.raises(CommandError) as info:
        provision.save_config(t, "write memory")
    _assert_redacted(info.value.one_line())


@pytest.mark.parametrize("cls", [CommandError, BackendError, ParseError])
def test_errors_carrying_router_output_are_redacted(cls: type[CommandError]) -> None:
    err = cls(f"something failed: {CONFIG}")
    _assert_redacted(err.one_line())
    _assert_redacted(str(err))


def test_own_messages_about_passwords_stay_readable() -> None:
    # usage errors are routerctl's prose, not router output: not redacted
    err = TopologyError("cannot read password file /x", field="bgp.password.file")
    assert "password file /x" in err.one_line()


def test_excerpt_redacts_then_cuts() -> None:
    assert excerpt("x" * 300, 10) == "x" * 10 + "..."
    assert REDACTED in excerpt("password " + "s" * 300, 50)
    assert "sss" not in excerpt("password " + "s" * 300, 50)
