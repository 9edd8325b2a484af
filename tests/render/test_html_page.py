"""The interactive HTML map: one page that loads nothing, checked as text and then in Chromium.

The browser tests drive Debian's /usr/bin/chromium through the playwright
Python package (its wheel carries the driver; no browser is downloaded).
Without either they skip, except under CI (the CI environment variable set),
where they fail: CI must install both.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import date
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from hostmap.render import RENDERERS, format_for_path, html_page
from tests.test_graph import HOSTILE, henan_case, hostile_case

REPO = Path(__file__).resolve().parents[2]
VENDOR = REPO / "src" / "hostmap" / "data" / "vendor"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

PWNED = '<img src=x onerror="window.__pwned=1">'
BREAKOUT = "</script><script>window.__pwned=2</script><!--\u2028\u2029"
"""A label that would end the data block and run a script if it were pasted in raw."""
LICENCE_URLS = {"http://engelschall.com", "http://opensource.org/licenses/MIT",
                "http://en.wikipedia.org/wiki/MIT_License", "https://github.com/gre/bezier-easing"}
"""The only URLs in cytoscape.min.js, all in the licence comments of code it bundles."""
ZZ = "host:zz-jkm.hnzwfw.gov.cn"
SHARED = "address:117.160.221.251"
OLD = "address:42.236.74.19"


def _why_no_browser() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is missing (pip install playwright)"
    return None


NO_BROWSER = _why_no_browser()
IN_CI = bool(os.environ.get("CI"))


def pwned_case() -> nx.MultiDiGraph:
    """The hostile map plus hosts named to run a script or to close the data's <script>."""
    _, graph = hostile_case()
    graph = graph.copy()
    for name in (PWNED, BREAKOUT):
        node = f"host:{name}"
        evidence = [{"file": f"{name}.txt", "format": "dig", "locator": f"line {name}"}]
        graph.add_node(node, kind="host", label=name, name=name, evidence=evidence,
                       evidence_total=1, first_seen="2022-06-14T02:00:00Z",
                       last_seen="2022-06-14T02:00:00Z")
        edge = f"resolves-to:{node}->address:192.0.2.7@2022-06-14T02:00:00Z"
        graph.add_edge(node, "address:192.0.2.7", key=edge, id=edge, kind="resolves-to",
                       rtype="A", sources=["dig"], current=True, evidence=evidence,
                       evidence_total=1, first_seen="2022-06-14T02:00:00Z",
                       last_seen="2022-06-14T02:00:00Z")
    return graph


def _data_block(page: str) -> str:
    [block] = re.findall(r'<script type="application/json" id="hostmap-data">(.*?)</script>',
                         page, re.S)
    return block


def _vendored_js() -> str:
    return (VENDOR / "cytoscape.min.js").read_text(encoding="utf-8")


# ---- the page as text ----


def test_the_page_is_one_file_that_loads_nothing():
    report, graph = henan_case()
    page = html_page.render(report, graph)
    assert page.startswith("<!DOCTYPE html>")
    assert ('<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
            "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:;") in page
    lowered = page.lower()
    for loader in ("<script src", "<link", "@import", "<iframe", "<img", "<object", "<embed",
                   "srcset", "<base", "<form"):
        assert loader not in lowered, loader
    assert not re.search(r"url\(\s*['\"]?\s*(https?:)?//", lowered)
    assert page.count("<script") == page.count("</script>") == 3
    # Outside the data and the vendored library there is no URL at all ...
    vendored = _vendored_js()
    assert vendored in page
    rest = page.replace(vendored, "").replace(_data_block(page), "")
    assert "//" not in rest and "url(" not in rest
    # ... and the library's few URLs are in its licence comments.
    comments = [m.span() for m in re.finditer(r"/\*.*?\*/", vendored, re.S)]
    urls = list(re.finditer(r"https?://[^\s)*]+", vendored))
    assert {m.group() for m in urls} == LICENCE_URLS
    assert all(any(a <= m.start() < b for a, b in comments) for m in urls)


def test_the_data_block_holds_the_map_and_cannot_end_its_script():
    report, _ = hostile_case()
    graph = pwned_case()
    page = html_page.render(report, graph)
    block = _data_block(page)
    for unsafe in ("<", ">", "&", "\u2028", "\u2029"):
        assert unsafe not in block
    assert json.loads(block) == json.loads(json.dumps(html_page.page_data(report, graph)))
    data = json.loads(block)
    labels = {n["data"]["label"] for n in data["elements"]["nodes"]}
    assert {PWNED, BREAKOUT, f"{HOSTILE}.example"} <= labels
    assert len(data["elements"]["nodes"]) == graph.number_of_nodes()
    assert len(data["elements"]["edges"]) == graph.number_of_edges()
    # No markup from the data anywhere in the page: raw, it would be an element.
    for raw in (PWNED, "<img src=x onerror", BREAKOUT[:20], HOSTILE):
        assert raw not in page
    assert page.count("<script") == 3


def test_embed_json_round_trips_what_it_escapes():
    value = {"a": "</script><!-- & \u2028\u2029 >", "b": ["<\\/", 1, None]}
    text = html_page.embed_json(value)
    assert json.loads(text) == value
    assert not re.search("[<>&\u2028\u2029]", text)


def test_html_is_a_registered_format():
    report, graph = henan_case()
    assert RENDERERS["html"](report, graph) == html_page.render(report, graph)
    assert format_for_path("out/map.html") == "html"


def test_the_vendored_library_matches_vendor_md():
    notes = (VENDOR / "VENDOR.md").read_text(encoding="utf-8")
    for name in ("cytoscape.min.js", "LICENSE"):
        digest = hashlib.sha256((VENDOR / name).read_bytes()).hexdigest()
        assert f"`{name}` | `package/" in notes and digest in notes, name
    assert "| version | 3.35.0 |" in notes
    assert "https://registry.npmjs.org/cytoscape/-/cytoscape-3.35.0.tgz" in notes
    assert "scripts/vendor_js.sh" in notes and (REPO / "scripts" / "vendor_js.sh").exists()
    licence = (VENDOR / "LICENSE").read_text(encoding="utf-8")
    assert "The Cytoscape Consortium" in licence and "Permission is hereby granted" in licence
    assert _vendored_js().startswith("/**\n * Copyright (c) 2016-2026, The Cytoscape Consortium.")


# ---- the page in Chromium ----


@pytest.fixture(scope="module")
def browser():
    if NO_BROWSER:
        if IN_CI:
            pytest.fail(f"CI must run the HTML map's browser tests: {NO_BROWSER}", pytrace=False)
        pytest.skip(NO_BROWSER)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Page:
    """A rendered map opened from disk with the network off, and what it tried."""

    def __init__(self, browser: Any, path: Path, html: str) -> None:
        path.write_text(html, encoding="utf-8")
        self.context = browser.new_context(viewport={"width": 1200, "height": 800})
        self.context.route("**/*", lambda route: route.continue_()
                           if route.request.url.startswith("file:") else route.abort())
        self.context.set_offline(True)
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.goto(path.as_uri())
        self.page.wait_for_function("window.hostmap && window.hostmap.ready")

    def js(self, expression: str, arg: Any = None) -> Any:
        return self.page.evaluate(expression, arg)

    def details(self) -> str:
        return self.page.locator("#details").text_content() or ""

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="module")
def henan_page(browser, tmp_path_factory):
    report, graph = henan_case()
    page = Page(browser, tmp_path_factory.mktemp("html") / "henan.html",
                html_page.render(report, graph))
    yield page
    page.close()


def _slide_to(page: Page, day: str) -> None:
    """Move the real <input type=range> (days since 1970) as a user would."""
    page.page.locator("#time").fill(str((date.fromisoformat(day) - date(1970, 1, 1)).days))


def test_the_page_draws_every_node_offline(henan_page):
    _, graph = henan_case()
    assert henan_page.js("window.hostmap.nodeCount()") == graph.number_of_nodes()
    assert henan_page.js("window.hostmap.cy.edges().length") == graph.number_of_edges()
    assert henan_page.js("window.hostmap.cy.nodes('.group').length") == 3
    assert henan_page.js("window.hostmap.layout") == "cose"
    assert henan_page.errors == []
    assert henan_page.requests and all(u.startswith("file:") for u in henan_page.requests)


def test_clicking_the_shared_address_lists_its_hosts_and_evidence(henan_page):
    page = henan_page.page
    position = henan_page.js(f"window.hostmap.cy.getElementById('{SHARED}').renderedPosition()")
    box = page.locator("#cy").bounding_box()
    page.mouse.click(box["x"] + position["x"], box["y"] + position["y"])
    page.wait_for_function("document.querySelector('#details h2') !== null")
    assert page.locator("#details h2").inner_text() == "117.160.221.251"
    text = henan_page.details()
    assert page.locator("#details .kind").text_content() == "address"
    assert "2020-02-20 – 2022-06-14" in text
    assert "← resolves-to (22)" in text
    for host in ("zz-jkm.hnzwfw.gov.cn", "yshb.hnzwfw.gov.cn", "login.hnzwfw.gov.cn"):
        assert host in text
    assert "dig-city-hosts.txt: line" in text and "evidence (20 of " in text
    # A neighbour is a link to its own details.
    page.locator("#details button.node-link", has_text="zz-jkm.hnzwfw.gov.cn").click()
    assert page.locator("#details h2").inner_text() == "zz-jkm.hnzwfw.gov.cn"
    assert "42.236.74.19" in henan_page.details()


def test_the_time_control_moves_zz_jkm_between_addresses(henan_page):
    page = henan_page.page
    _slide_to(henan_page, "2021-06-01")
    assert page.locator("#time-label").inner_text() == "2021-06-01"
    assert not page.locator("#all-time").is_checked()
    assert henan_page.js(f"window.hostmap.visibleTargets('{ZZ}')") == [OLD]
    for day, target in (("2021-12-28", OLD), ("2021-12-29", SHARED), ("2022-01-15", SHARED)):
        _slide_to(henan_page, day)
        assert page.locator("#time-label").inner_text() == day
        assert henan_page.js(f"window.hostmap.visibleTargets('{ZZ}')") == [target], day
    assert henan_page.js(f"window.hostmap.cy.getElementById('{OLD}').hasClass('inactive')")
    page.locator("#all-time").check()
    assert page.locator("#time-label").inner_text() == "all time"
    assert henan_page.js(f"window.hostmap.visibleTargets('{ZZ}')") == sorted([OLD, SHARED])
    assert henan_page.js("window.hostmap.setTime('2021-06-01')") == "2021-06-01"
    assert henan_page.js(f"window.hostmap.visibleTargets('{ZZ}')") == [OLD]
    henan_page.js("window.hostmap.setTime(null)")
    assert page.locator("#all-time").is_checked()


def test_search_highlights_and_centres_matches(henan_page):
    page = henan_page.page
    page.locator("#search").fill("zz-jkm")
    assert page.locator("#matches").inner_text() == "1 match"
    assert henan_page.js(f"window.hostmap.cy.getElementById('{ZZ}').hasClass('match')")
    assert henan_page.js("window.hostmap.cy.getElementById('host:ay-jkm.hnzwfw.gov.cn')"
                         ".hasClass('dim')")
    centre = henan_page.js(f"""(() => {{
        const cy = window.hostmap.cy, p = cy.getElementById('{ZZ}').renderedPosition();
        return [p.x - cy.width() / 2, p.y - cy.height() / 2]; }})()""")
    assert abs(centre[0]) < 40 and abs(centre[1]) < 40  # its box, label included, is centred
    page.locator("#search").press("Enter")
    assert page.locator("#details h2").inner_text() == "zz-jkm.hnzwfw.gov.cn"
    page.locator("#search").fill("")
    assert henan_page.js("window.hostmap.cy.elements('.match, .dim').length") == 0
    assert henan_page.errors == []


def test_screenshot_of_the_henan_map(henan_page):
    """test-artifacts/henan-map.png, kept by CI.  docs/henan-map.png (the README's picture)
    is a copy of it made by hand when the page changes, so tests never touch tracked files."""
    henan_page.js("window.hostmap.setTime(null)")
    henan_page.page.locator("#search").blur()
    henan_page.js(f"window.hostmap.select('{SHARED}')")
    henan_page.js("() => { window.hostmap.cy.fit(undefined, 20); }")
    henan_page.page.wait_for_timeout(300)  # let the canvas redraw at the new zoom
    folder = REPO / "test-artifacts"
    folder.mkdir(exist_ok=True)
    henan_page.page.screenshot(path=str(folder / "henan-map.png"))
    assert (folder / "henan-map.png").stat().st_size > 10_000
    assert henan_page.errors == []
    assert all(u.startswith("file:") for u in henan_page.requests)


def test_hostile_names_stay_text_and_run_nothing(browser, tmp_path):
    report, _ = hostile_case()
    graph = pwned_case()
    page = Page(browser, tmp_path / "hostile.html", html_page.render(report, graph))
    try:
        assert page.js("window.hostmap.nodeCount()") == graph.number_of_nodes()
        for node in graph.nodes:  # every node's details, links, evidence and attributes
            assert page.js("id => window.hostmap.select(id)", node)
        for name in (PWNED, BREAKOUT):
            assert page.js("id => window.hostmap.select(id)", f"host:{name}")
            shown = name.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
            assert page.page.locator("#details h2").text_content() == shown
            assert f"{shown}.txt: line {shown}" in page.details()
        page.page.locator("#search").fill("onerror")
        assert page.page.locator("#details img, #legend img, #matches img").count() == 0
        assert page.js("window.__pwned === undefined")
        assert page.dialogs == [] and page.errors == []
        assert all(u.startswith("file:") for u in page.requests)
    finally:
        page.close()


def test_an_empty_map_still_opens(browser, tmp_path):
    graph = nx.MultiDiGraph(at="")
    page = Page(browser, tmp_path / "empty.html", html_page.render({}, graph))
    try:
        assert page.js("window.hostmap.nodeCount()") == 0
        assert page.page.locator("#time").is_disabled()
        assert page.errors == []
    finally:
        page.close()


def test_c1_controls_and_bidi_overrides_are_never_raw_in_the_data_block():
    value = {"label": "rtl\u202egnp.example \x9b2J \u2066x\u2069 \x7f"}
    text = html_page.embed_json(value)
    assert not re.search("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]", text), text
    assert "\\u202e" in text and "\\u009b" in text
    assert json.loads(text) == value


def many_hosts_case(clusters: int = 60, hosts: int = 8) -> nx.MultiDiGraph:
    """The Henan map plus `clusters` addresses with `hosts` host names resolving to each,
    and each address's first host also on the next address (one large map, as a capture
    of a few hundred requests gives)."""
    _, graph = henan_case()
    graph = graph.copy()
    when = "2022-06-14T02:00:00Z"
    for c in range(clusters):
        evidence = [{"file": "dig.txt", "format": "dig", "locator": f"line {c + 1}"}]
        seen = {"evidence": evidence, "evidence_total": 1, "first_seen": when, "last_seen": when}
        address = f"address:198.51.{c // 250}.{c % 250 + 1}"
        graph.add_node(address, kind="address", label=address.removeprefix("address:"), **seen)
        for h in range(hosts):
            host = f"host:h{h}.c{c}.example"
            graph.add_node(host, kind="host", label=host.removeprefix("host:"), **seen)
            targets = [address] if h or c + 1 == clusters else \
                [address, f"address:198.51.{(c + 1) // 250}.{(c + 1) % 250 + 1}"]
            for target in targets:
                edge = f"resolves-to:{host}->{target}@{when}"
                graph.add_edge(host, target, key=edge, id=edge, kind="resolves-to",
                               rtype="A", sources=["dig"], current=True, **seen)
    return graph


def test_a_large_map_comes_with_positions_that_keep_neighbours_together():
    import math

    report, small = henan_case()
    assert "positions" not in html_page.page_data(report, small)  # the page lays it out
    graph = many_hosts_case()
    assert graph.number_of_nodes() > html_page.COSE_MAX_NODES
    positions = html_page.page_data(report, graph)["positions"]
    assert positions == html_page.page_data(report, graph)["positions"]  # the same each time
    assert set(positions) == {str(n) for n in graph.nodes}
    assert all(math.isfinite(v) for xy in positions.values() for v in xy)

    def distance(a: str, b: str) -> float:
        return math.dist(positions[a], positions[b])

    nodes = sorted(positions)
    edge_length = sum(distance(u, v) for u, v in graph.edges()) / graph.number_of_edges()
    pairs = [(nodes[i], nodes[(i * 7919) % len(nodes)]) for i in range(len(nodes))]
    spread = sum(distance(a, b) for a, b in pairs) / len(pairs)
    assert edge_length < spread / 4, "a host should sit near the address it resolves to"


def test_a_large_map_opens_at_once_without_boxes(browser, tmp_path):
    # the browser's own layout ("cose") took ~8 s for 500 nodes and never ended for 2,000
    report, _ = henan_case()
    graph = many_hosts_case()
    page = Page(browser, tmp_path / "large.html", html_page.render(report, graph))
    try:
        assert page.js("window.hostmap.layout") == "quick"
        assert page.js("window.hostmap.nodeCount()") == graph.number_of_nodes()
        assert page.js("window.hostmap.cy.nodes('.group').length") == 0
        assert "large map" in page.page.locator("#counts").text_content()
        assert page.js("id => window.hostmap.select(id)", SHARED)
        assert page.page.locator("#details h2").text_content() == "117.160.221.251"
        assert page.errors == []
    finally:
        page.close()

