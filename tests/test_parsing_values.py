"""Fast constructors (issue 17): parse_prefix's IPv4 path makes what ipaddress makes,
model.new_route what Route makes."""

from __future__ import annotations

import dataclasses
import ipaddress
import itertools
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from routerctl.model import Route, new_route, slot_constructor
from routerctl.parsing import values
from routerctl.parsing.values import parse_prefix


def assert_same_network(text: str) -> None:
    fast, slow = parse_prefix(text), ipaddress.ip_network(text, strict=False)
    assert type(fast) is type(slow)
    assert (fast, hash(fast), str(fast), repr(fast)) == (slow, hash(slow), str(slow), repr(slow))
    assert list(vars(fast)) == list(vars(slow))
    assert (fast.network_address, fast.netmask, fast.prefixlen) == (
        slow.network_address,
        slow.netmask,
        slow.prefixlen,
    )
    assert list(itertools.islice(fast.hosts(), 4)) == list(itertools.islice(slow.hosts(), 4))
    assert fast.broadcast_address == slow.broadcast_address
    assert fast.is_private == slow.is_private and fast.num_addresses == slow.num_addresses


def test_the_fast_path_is_taken_on_this_python() -> None:
    assert values._v4_network is values._v4_network_fast


@pytest.mark.parametrize(
    "text",
    [
        "10.0.0.1/32",
        "10.0.0.0/31",
        "10.0.0.1/31",
        "192.0.2.77/24",
        "0.0.0.0/0",
        "255.255.255.255/32",
    ],
)
def test_fast_path_equals_ipaddress(text: str) -> None:
    assert_same_network(text)


@given(st.integers(0, 2**32 - 1), st.integers(0, 32))
def test_property_fast_path_equals_ipaddress(addr: int, plen: int) -> None:
    assert_same_network(f"{ipaddress.IPv4Address(addr)}/{plen}")


@pytest.mark.parametrize("text", ["10.0.0.01/32", "10.0.0.1/33", "256.0.0.1/8", "10.0.0/8", "x"])
def test_what_ipaddress_refuses_is_still_refused(text: str) -> None:
    with pytest.raises(ValueError):
        ipaddress.ip_network(text, strict=False)
    with pytest.raises(ValueError):
        parse_prefix(text)


def test_a_python_where_the_fast_path_differs_uses_the_constructor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        values, "_v4_network_fast", lambda addr, plen: values._v4_network_slow(addr, plen - 1)
    )
    assert not values._v4_fast_path_holds()


# --- model.new_route: Route's slots set directly (issue 17) ----------------------------------


def route_fields(route: Route) -> dict[str, Any]:
    return {f.name: getattr(route, f.name) for f in dataclasses.fields(route)}


def test_new_route_is_the_fast_constructor_and_makes_a_route() -> None:
    assert new_route is not Route
    fields = route_fields(
        Route(prefix=parse_prefix("10.0.0.0/8"), protocol="static", distance=1, vrf="red")
    )
    made = new_route(**fields)
    assert type(made) is Route and made == Route(**fields) and hash(made) == hash(Route(**fields))
    assert route_fields(made) == fields
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.protocol = "bgp"  # type: ignore[misc]
    with pytest.raises(TypeError):
        new_route(prefix=fields["prefix"])  # every field, by keyword


def test_slot_constructor_falls_back_to_the_class() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class WithPostInit:
        a: int

        def __post_init__(self) -> None:
            pass

    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: int

    assert slot_constructor(WithPostInit, {"a": 1}) is WithPostInit
    assert slot_constructor(NoSlots, {"a": 1}) is NoSlots
