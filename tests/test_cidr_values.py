"""CIDR texts read as networks: each plain text parsed once, a sensitive one kept marked."""

from __future__ import annotations

import ipaddress

import pytest

from tfcheck.facts import vocabulary
from tfcheck.facts.vocabulary import ip_network_of, ip_networks_of
from tfcheck.marks import MarkedIPv4Network, MarkedText
from tfcheck.model import Sensitive, Unknown


def test_a_fanned_out_rule_list_parses_each_cidr_once(monkeypatch: pytest.MonkeyPatch) -> None:
    vocabulary._plain_network.cache_clear()
    parsed: list[str] = []
    parse = ipaddress.ip_network

    def counting(text: str, strict: bool = True) -> object:
        parsed.append(text)
        return parse(text, strict=strict)

    monkeypatch.setattr(ipaddress, "ip_network", counting)
    subnets = [f"10.0.{i}.0/24" for i in range(50)]
    for _ in range(100):  # 100 rule instances, each listing the 50 subnets' CIDRs
        found, unknown = ip_networks_of(list(subnets))
        assert [str(n) for n in found] == subnets and not unknown
    assert sorted(parsed) == sorted(subnets)


def test_plain_and_marked_texts_of_one_cidr_do_not_share_a_network() -> None:
    plain = ip_network_of("10.1.0.0/16")
    marked = ip_network_of(MarkedText("10.1.0.0/16"))
    wrapped = ip_network_of(Sensitive("10.1.0.0/16"))
    assert plain == marked and type(plain) is ipaddress.IPv4Network
    assert isinstance(marked, MarkedIPv4Network) and f"{marked}" == "(sensitive value)"
    assert ip_network_of("10.1.0.0/16") is plain
    assert isinstance(wrapped, MarkedIPv4Network)


@pytest.mark.parametrize("text", ["", "  ", "not-a-cidr", "10.0.0.0/33"])
def test_texts_that_are_not_networks_stay_none(text: str) -> None:
    assert ip_network_of(text) is None


def test_lists_with_unknowns_or_marks_are_walked_as_before() -> None:
    why = Unknown("known after apply")
    found, unknown = ip_networks_of(["10.0.0.0/24", why, MarkedText("10.0.1.0/24")])
    assert [str(n) for n in found] == ["10.0.0.0/24", "10.0.1.0/24"] and unknown == [why]
    assert isinstance(found[1], MarkedIPv4Network)
