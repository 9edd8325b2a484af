"""The memoized, address-skipping normalisers give exactly what the plain ones gave.

`normalize_hostname`, `is_address` and `normalize_address` skip `ipaddress` for
texts that cannot be addresses and remember recent answers.  Each is held here
to a reference: the code as it was before those shortcuts, over many generated
names (IDNA, punycode, trailing dots, brackets, IPv4/IPv6 forms with scope ids,
hostile strings), each asked twice so the second answer comes from the memo.
"""

from __future__ import annotations

import ipaddress
import string

import idna
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hostmap import hostnames
from hostmap.hostnames import is_address, normalize_hostname, registrable_domain
from hostmap.model import (
    HttpExchange,
    Provenance,
    RecordType,
    Resolution,
    ResolutionSource,
    normalize_address,
)

# -- the reference: the functions without their shortcuts -----------------------------------


def reference_is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def reference_normalize_hostname(name: str) -> str:
    name = name.strip()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name == ".":
        return "."
    name = name.rstrip(".").lower()
    if not name:
        return name
    if reference_is_address(name):
        return str(ipaddress.ip_address(name))
    if "xn--" in name:
        try:
            return idna.decode(name)
        except idna.IDNAError:
            return name
    return name


def reference_normalize_address(text: str) -> str:
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return str(ipaddress.ip_address(text.split("%", 1)[0]))


def outcome(function, text):  # noqa: ANN001, ANN201 - a value or the exception's type
    try:
        return function(text)
    except Exception as exc:  # noqa: BLE001 - the exception is the outcome compared
        return type(exc)


# -- names to try ---------------------------------------------------------------------------

_LABEL = st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=12)
_PUNY = st.sampled_from(["xn--fiqs8s", "xn--55qx5d", "xn--nxasmq6b", "xn--", "xn--a",
                         "XN--BCHER-KVA", "xn--zz-", "xn--mnchen-3ya", "xn--ls8h",
                         "xn--80ak6aa92e"])
_UNICODE = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=6)
_NAME = st.lists(st.one_of(_LABEL, _PUNY, _UNICODE), min_size=1, max_size=5).map(".".join)
_IPV4 = st.ip_addresses(v=4).map(str)
_IPV6 = st.ip_addresses(v=6).map(lambda address: address.exploded)
_IPV6_SHORT = st.ip_addresses(v=6).map(str)
_ADDRESS = st.one_of(_IPV4, _IPV6, _IPV6_SHORT, _IPV6.map(str.upper))
_DIGITS_AND_DOTS = st.text(alphabet="0123456789.", max_size=20)
_HEXISH = st.text(alphabet="0123456789abcdefABCDEF:.%", max_size=45)
_SCOPED = st.tuples(_IPV6_SHORT, st.text(alphabet=string.ascii_letters + string.digits + "%:.",
                                         max_size=8)).map("%".join)
_HOSTILE = st.text(max_size=40)
_ANY = st.one_of(_NAME, _ADDRESS, _DIGITS_AND_DOTS, _HEXISH, _SCOPED, _HOSTILE)


def _decorated(texts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Texts as readers meet them: bracketed, with trailing dots, padded, upper-cased."""
    return st.tuples(
        texts,
        st.sampled_from(["", "[", " ", "\t"]),
        st.sampled_from(["", "]", ".", "..", " ", "\n"]),
        st.booleans(),
    ).map(lambda parts: parts[1] + (parts[0].upper() if parts[3] else parts[0]) + parts[2])


EXAMPLES = [
    "", ".", "..", " . ", "[]", "[", "]", "[::1]", "[2001:DB8::1]", "::", "::ffff:1.2.3.4",
    "::FFFF:192.0.2.1", "1.2.3.4", "01.2.3.4", "1.2.3.4.", "1.2.3", "1.2.3.4.5", "256.1.1.1",
    "0.0.0.0", "255.255.255.255", "999.999.999.999", "١.٢.٣.٤", "１.２.３.４", "fe80::1%eth0",
    "fe80::1%25eth0", "fe80::1%", "1.2.3.4%eth0", "2001:db8::", "2001:db8:0:0:0:0:0:1",
    "::1.2.3.4", "abcd", "abc.def", "face:b00c::1", "beef", "dead.beef", "ABC.DEF.", "a-b.c",
    "_dmarc.example.", "xn--fiqs8s.example", "XN--FIQS8S.EXAMPLE.", "xn--.example",
    "中国.example", "MÜNCHEN.DE", "ß.de", "İ.example", "\u212a.example", "a\x00b", "\x1b[31m.cn",
    "a" * 300, "1" * 300, "1.2.3.4" + " " * 300, ":" * 300, "\u00a01.2.3.4\u00a0", "1.2.3.4\n",
    "0x7f.0.0.1", "127.1", "2130706433", "::ffff:0:0", "a:b", "a:b:c", "[1.2.3.4]",
    "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "g::1", "::g", "1e3.0.0.0", "1_0.0.0.0",
    "+1.2.3.4", "-1.2.3.4",
]


@pytest.mark.parametrize("text", EXAMPLES)
def test_each_example_as_before(text: str) -> None:
    for _ in range(2):
        assert outcome(normalize_hostname, text) == outcome(reference_normalize_hostname, text)
        assert outcome(is_address, text) == outcome(reference_is_address, text)
        assert outcome(normalize_address, text) == outcome(reference_normalize_address, text)


@settings(max_examples=1500, deadline=None)
@given(st.one_of(_ANY, _decorated(_ANY)))
@example("fe80::1%eth0")
@example("xn--fiqs8s.example.")
def test_generated_names_as_before(text: str) -> None:
    for _ in range(2):
        assert outcome(normalize_hostname, text) == outcome(reference_normalize_hostname, text)
        assert outcome(is_address, text) == outcome(reference_is_address, text)
        assert outcome(normalize_address, text) == outcome(reference_normalize_address, text)


@settings(max_examples=300, deadline=None)
@given(_ADDRESS, st.sampled_from([("", ""), ("[", "]"), ("", "."), ("", ".."), (" ", "\n")]))
def test_addresses_still_come_back_canonical(address: str, around: tuple[str, str]) -> None:
    canonical = str(ipaddress.ip_address(address))
    text = around[0] + address + around[1]
    assert normalize_hostname(text) == canonical
    assert is_address(canonical)


def test_a_name_that_cannot_be_an_address_never_reaches_ipaddress(monkeypatch) -> None:
    def refuse(text: str) -> None:
        raise AssertionError(f"ipaddress asked about {text!r}")

    hostnames._memo_normalize_hostname.cache_clear()
    monkeypatch.setattr(ipaddress, "ip_address", refuse)
    for name in ("www.example.com", "zz-jkm.hnzwfw.gov.cn", "_sip._tcp.example", "cdn1", "1.2.3.x"):
        assert not is_address(name)
        assert normalize_hostname(name.upper() + ".") == name
    assert registrable_domain("a.b.gov.cn") == "b.gov.cn"


def test_non_text_fails_as_before() -> None:
    """Readers catch these errors per record: the memo must not change their type."""
    for value in (None, 3, b"example.com", ["example.com"]):
        assert outcome(normalize_hostname, value) == outcome(reference_normalize_hostname, value)
        assert outcome(normalize_address, value) == outcome(reference_normalize_address, value)


def test_records_normalise_as_before() -> None:
    at = Provenance(file="f", format="zone", locator="line 1")
    record = Resolution(provenance=at, name="WWW.Example.", rtype=RecordType.AAAA,
                        value="[2001:DB8:0::1]", source=ResolutionSource.ZONE)
    assert (record.name, record.value) == ("www.example", "2001:db8::1")
    target = Resolution(provenance=at, name="xn--fiqs8s.", rtype=RecordType.CNAME,
                        value="CDN.xn--fiqs8s.", source=ResolutionSource.ZONE)
    assert (target.name, target.value) == ("中国", "cdn.中国")
    exchange = HttpExchange(provenance=at, host="[::FFFF:192.0.2.1]", port=443,
                            server_address=" 192.0.2.1 ", sni="API.Example.")
    assert (exchange.host, exchange.server_address, exchange.sni) == (
        "::ffff:c000:201", "192.0.2.1", "api.example")
    with pytest.raises(ValueError):
        Resolution(provenance=at, name="a", rtype=RecordType.A, value="a.example",
                   source=ResolutionSource.ZONE)
