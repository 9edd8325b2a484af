from hostmap.analyze.operators import find_operators
from tests.factories import make_address_info, store_of


def test_the_most_specific_range_names_the_operator():
    store = store_of(
        make_address_info(range_start="192.0.0.0", range_end="192.0.255.255", operator="Wide"),
        make_address_info(range_start="192.0.2.0", range_end="192.0.2.255", operator="Narrow"),
        make_address_info(range_start="2001:db8::", range_end="2001:db8::ffff", asn=64501,
                          operator="V6 Net"),
    )
    ops = {o["address"]: o for o in find_operators(store, ["192.0.2.7", "2001:db8::1",
                                                          "198.51.100.1"])}
    assert ops["192.0.2.7"]["operator"] == "Narrow"
    assert ops["2001:db8::1"]["asn"] == 64501
    assert "198.51.100.1" not in ops
