"""STIX 2.1: the bundle and each object pass stix2's checks; ids and output are reproducible."""

from __future__ import annotations

import json
from collections import Counter

import stix2

from hostmap.render import stix
from tests.test_graph import HOSTILE, henan_case, hostile_case


def _parse(text: str) -> stix2.Bundle:
    bundle = stix2.parse(text, allow_custom=False)
    for obj in json.loads(text)["objects"]:
        stix2.parse(obj, allow_custom=False)
    return bundle


def test_henan_bundle_has_domains_addresses_systems_and_dated_relationships():
    report, graph = henan_case()
    text = stix.render(report, graph)
    bundle = _parse(text)
    kinds = Counter(o.type for o in bundle.objects)
    hosts = sum(1 for _, d in graph.nodes(data=True) if d["kind"] == "host")
    assert kinds["domain-name"] == hosts
    assert kinds["ipv4-addr"] == 2 and kinds["autonomous-system"] == 2
    by_id = {o.id: o for o in bundle.objects}
    zz = stix2.DomainName(value="zz-jkm.hnzwfw.gov.cn").id
    moves = {by_id[r.target_ref].value: r for r in bundle.objects
             if r.type == "relationship" and r.source_ref == zz}
    assert set(moves) == {"42.236.74.19", "117.160.221.251"}
    assert moves["42.236.74.19"].stop_time.date().isoformat() == "2021-12-28"
    assert moves["117.160.221.251"].start_time.date().isoformat() == "2021-12-29"
    assert all(r.relationship_type in ("resolves-to", "belongs-to")
               for r in bundle.objects if r.type == "relationship")
    belongs = [r for r in bundle.objects if r.type == "relationship"
               and r.relationship_type == "belongs-to"]
    assert {by_id[r.target_ref].number for r in belongs} == {24445, 4837}
    assert text == stix.render(report, graph)


def test_hostile_names_are_kept_as_values_in_a_valid_bundle():
    report, graph = hostile_case()
    bundle = _parse(stix.render(report, graph))
    values = {o.value for o in bundle.objects if o.type == "domain-name"}
    assert f"{HOSTILE}.example" in values
    cname = [o for o in bundle.objects if o.type == "relationship"
             and o.source_ref == stix2.DomainName(value="cdn.example").id]
    assert [o.target_ref for o in cname] == [stix2.DomainName(value=f"{HOSTILE}.example").id]
