/* hostmap's interactive map (hostmap.render.html_page): reads the JSON in
   #hostmap-data and draws it with the inlined Cytoscape.js.  Everything that
   comes from the inputs reaches the page through textContent (or the
   canvas), never as markup.  Tests drive the page through window.hostmap. */
(function () {
  "use strict";

  var doc = JSON.parse(document.getElementById("hostmap-data").textContent);
  var DAY = 86400000;
  var KIND_COLOURS = {
    endpoint: "#2e7d32", host: "#1565c0", address: "#5d4037", front: "#c62828",
    backend: "#8e24aa", operator: "#546e7a", certificate: "#00838f", family: "#ef6c00",
    place: "#9e9d24"
  };
  var VERDICT_COLOURS = {
    "load-balancer": "#c62828", "reverse-proxy": "#d81b60", "cdn-edge": "#6a1b9a",
    "shared-hosting": "#f9a825"
  };
  var SHAPES = {
    endpoint: "round-rectangle", host: "ellipse", address: "diamond", front: "hexagon",
    backend: "round-tag", operator: "barrel", certificate: "tag", family: "star",
    place: "round-triangle"
  };
  /* Shown as \xNN / \uNNNN, as the text report does: control characters and bidi overrides. */
  var CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

  function hex(n, width) {
    var s = n.toString(16);
    while (s.length < width) { s = "0" + s; }
    return s;
  }

  function shown(value) {
    if (value === null || value === undefined) { return ""; }
    return String(value).replace(CONTROL, function (c) {
      var n = c.charCodeAt(0);
      return n < 256 ? "\\x" + hex(n, 2) : "\\u" + hex(n, 4);
    });
  }

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = shown(text); }
    if (cls) { e.className = cls; }
    return e;
  }

  function dayOf(iso) { return Math.floor(Date.parse(String(iso).slice(0, 10) + "T00:00:00Z") / DAY); }
  function isoOf(day) { return new Date(day * DAY).toISOString().slice(0, 10); }
  function span(data) {
    if (!data.first_seen) { return ""; }
    var a = data.first_seen.slice(0, 10), b = (data.last_seen || data.first_seen).slice(0, 10);
    return a === b ? a : a + " \u2013 " + b;
  }
  function colour(data) {
    if (data.kind === "group") {
      return data.groupKind === "front" ? (VERDICT_COLOURS[data.verdict] || "#c62828") : "#ef6c00";
    }
    if (data.kind === "front") { return VERDICT_COLOURS[data.verdict] || KIND_COLOURS.front; }
    return KIND_COLOURS[data.kind] || "#757575";
  }

  /* ---- elements: the groups become compound parents (not on a large map, whose
     positions come with it: there a family's members may lie far apart) ---- */
  var positions = doc.positions || null;
  var parentOf = {};
  var elements = (positions ? [] : doc.groups).map(function (g) {
    g.members.forEach(function (m) { parentOf[m] = g.id; });
    return { group: "nodes", classes: "group",
      data: { id: g.id, kind: "group", groupKind: g.kind, verdict: g.verdict, head: g.head,
        members: g.members, label: g.label, display: shown(g.label) } };
  });
  doc.elements.nodes.forEach(function (n) {
    var data = Object.assign({}, n.data, { display: shown(n.data.label) });
    if (parentOf[data.id]) { data.parent = parentOf[data.id]; }
    var fronted = data.kind === "address" && VERDICT_COLOURS[data.verdict];
    elements.push({ group: "nodes", data: data, classes: fronted ? "fronted" : "" });
  });
  doc.elements.edges.forEach(function (e) {
    var classes = e.data.current === false ? "past" : "";
    elements.push({ group: "edges", data: Object.assign({}, e.data), classes: classes });
  });

  var style = [
    { selector: "node", style: {
      "label": "data(display)", "font-size": 10, "color": "#263238",
      "text-valign": "bottom", "text-margin-y": 3, "text-wrap": "ellipsis",
      "text-max-width": "170px", "width": 18, "height": 18,
      "background-color": function (n) { return colour(n.data()); },
      "shape": function (n) { return SHAPES[n.data("kind")] || "ellipse"; } } },
    { selector: "node[kind = 'place']", style: { "font-size": 8, "width": 12, "height": 12 } },
    { selector: "node[kind = 'front'], node[kind = 'family']", style: {
      "width": 26, "height": 26, "font-weight": "bold" } },
    { selector: "node.fronted", style: {
      "border-width": 4, "border-color": function (n) { return VERDICT_COLOURS[n.data("verdict")]; },
      "width": 26, "height": 26, "font-weight": "bold" } },
    { selector: "node.group", style: {
      "background-opacity": 0.07, "border-width": 2, "border-style": "dashed",
      "border-color": function (n) { return colour(n.data()); }, "shape": "round-rectangle",
      "text-valign": "top", "text-margin-y": -4, "font-size": 12, "font-weight": "bold",
      "color": function (n) { return colour(n.data()); }, "padding": 14,
      "text-max-width": "400px" } },
    { selector: "edge", style: {
      "width": 1.2, "line-color": "#90a4ae", "curve-style": "bezier",
      "target-arrow-shape": "triangle", "target-arrow-color": "#90a4ae", "arrow-scale": 0.7 } },
    { selector: "edge[kind = 'resolves-to']", style: {
      "width": 1.6, "line-color": "#3949ab", "target-arrow-color": "#3949ab" } },
    { selector: "edge[kind = 'cname']", style: {
      "line-style": "dashed", "line-color": "#00897b", "target-arrow-color": "#00897b" } },
    { selector: "edge[kind = 'fronted-by'], edge[kind = 'backend-of']", style: {
      "width": 2.5, "line-color": "#c62828", "target-arrow-color": "#c62828" } },
    { selector: "edge[kind = 'contacted']", style: {
      "width": 2, "line-color": "#2e7d32", "target-arrow-color": "#2e7d32" } },
    { selector: "edge[kind = 'member-of-family'], edge[kind = 'names-place']", style: {
      "line-style": "dotted", "line-color": "#cfd8dc", "target-arrow-shape": "none" } },
    { selector: "edge.past", style: { "line-style": "dashed", "line-color": "#b0bec5",
      "target-arrow-color": "#b0bec5" } },
    { selector: ".off", style: { "display": "none" } },
    { selector: ".inactive", style: { "opacity": 0.35 } },
    { selector: ".dim", style: { "opacity": 0.15 } },
    { selector: "node.match", style: {
      "border-width": 5, "border-color": "#ffab00", "z-index": 20, "font-weight": "bold" } },
    { selector: "node:selected", style: { "border-width": 5, "border-color": "#000000" } },
    { selector: "edge:selected", style: { "width": 4, "line-color": "#000000" } }
  ];

  /* cose starts from random positions: a seeded generator makes every drawing the same. */
  var realRandom = Math.random, seed = 20220614;
  Math.random = function () {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 4294967296;
  };
  var cy = cytoscape({
    container: document.getElementById("cy"), elements: elements, style: style,
    layout: { name: "preset" }, minZoom: 0.05, maxZoom: 6
  });
  var SHORT_EDGES = { "fronted-by": 20, "backend-of": 20, "names-place": 25, "member-of-family": 30 };
  var layout = positions ? cy.layout({
    name: "preset", fit: true, padding: 20,
    positions: function (n) { var xy = positions[n.id()] || [0, 0]; return { x: xy[0], y: xy[1] }; }
  }) : cy.layout({
    name: "cose", animate: false, randomize: true, fit: true, padding: 20,
    idealEdgeLength: function (e) { return SHORT_EDGES[e.data("kind")] || 70; },
    nodeRepulsion: function (n) { return n.data("kind") === "place" ? 3000 : 8000; },
    nestingFactor: 0.8, gravity: 0.6, numIter: 3000, componentSpacing: 60
  });
  var api = { cy: cy, ready: false, layout: positions ? "quick" : "cose" };
  if (positions) {
    document.getElementById("counts").appendChild(el("span",
      " \u00b7 large map: grouped by communities, no boxes; search to find a node", "hint"));
  }
  layout.one("layoutstop", function () { Math.random = realRandom; api.ready = true; });
  layout.run();

  /* ---- the time control ---- */
  var slider = document.getElementById("time"), allBox = document.getElementById("all-time");
  var timeLabel = document.getElementById("time-label");
  var dated = cy.edges("[kind = 'resolves-to'][first_seen]");
  var spans = {}, marks = {};
  dated.forEach(function (e) {
    var from = dayOf(e.data("first_seen")), to = dayOf(e.data("last_seen") || e.data("first_seen"));
    spans[e.id()] = [from, to];
    marks[from] = true;
    marks[to] = true;
  });
  var days = Object.keys(marks).map(Number).sort(function (a, b) { return a - b; });
  var allTime = true, day = days.length ? days[days.length - 1] : 0;
  if (days.length) {
    slider.min = String(days[0]);
    slider.max = String(days[days.length - 1]);
    slider.value = String(day);
    var list = document.getElementById("time-marks");
    days.forEach(function (d) {
      var option = document.createElement("option");
      option.value = String(d);
      option.label = isoOf(d);
      list.appendChild(option);
    });
  } else {
    slider.disabled = true;
    allBox.disabled = true;
  }

  function applyTime() {
    timeLabel.textContent = allTime ? "all time" : isoOf(day);
    slider.classList.toggle("unused", allTime);
    cy.batch(function () {
      dated.forEach(function (e) {
        var s = spans[e.id()];
        e.toggleClass("off", !allTime && !(s[0] <= day && day <= s[1]));
      });
      cy.nodes().forEach(function (n) {
        var own = n.connectedEdges("[kind = 'resolves-to']");
        n.toggleClass("inactive", own.length > 0 && own.filter(".off").length === own.length);
      });
    });
    var selected = cy.$(":selected");
    if (selected.length === 1) { showDetails(selected[0]); }
  }

  function setDay(value) {
    day = Math.min(Math.max(value, Number(slider.min)), Number(slider.max));
    slider.value = String(day);
    allTime = false;
    allBox.checked = false;
    applyTime();
  }

  slider.addEventListener("input", function () { if (days.length) { setDay(Number(slider.value)); } });
  allBox.addEventListener("change", function () { allTime = allBox.checked; applyTime(); });

  /* ---- the side panel ---- */
  var details = document.getElementById("details");
  var SKIP = { id: 1, label: 1, display: 1, kind: 1, evidence: 1, evidence_total: 1, parent: 1,
    first_seen: 1, last_seen: 1, source: 1, target: 1, signals: 1, members: 1, head: 1,
    groupKind: 1 };

  function valueText(v) {
    if (Array.isArray(v) && v.every(function (x) { return typeof x !== "object" || x === null; })) {
      return v.join(", ");
    }
    return typeof v === "object" && v !== null ? JSON.stringify(v) : String(v);
  }

  function nodeButton(node) {
    var b = el("button", node.data("label"), "node-link");
    b.type = "button";
    b.title = shown(node.id());
    b.addEventListener("click", function () { select(node.id()); });
    return b;
  }

  function section(title, items) {
    if (!items.length) { return; }
    details.appendChild(el("h3", title));
    var ul = el("ul");
    items.forEach(function (item) { ul.appendChild(item); });
    details.appendChild(ul);
  }

  function neighbours(ele) {
    var groups = {}, order = [];
    ele.connectedEdges().forEach(function (e) {
      var out = e.source().same(ele), other = out ? e.target() : e.source();
      var title = out ? e.data("kind") + " \u2192" : "\u2190 " + e.data("kind");
      if (!groups[title]) { groups[title] = []; order.push(title); }
      var li = el("li");
      li.appendChild(nodeButton(other));
      var when = span(e.data());
      if (when) { li.appendChild(el("span", " " + when, "when")); }
      if (e.hasClass("off")) { li.appendChild(el("span", " (not on " + isoOf(day) + ")", "off-note")); li.className = "hidden-edge"; }
      groups[title].push(li);
    });
    order.sort().forEach(function (title) { section(title + " (" + groups[title].length + ")", groups[title]); });
  }

  function showDetails(ele) {
    var data = ele.data();
    details.replaceChildren();
    details.parentNode.scrollTop = 0;
    details.appendChild(el("p", data.kind === "group" ? "group of " + data.groupKind : data.kind, "kind"));
    details.appendChild(el("h2", ele.isEdge() ? data.kind : data.label));
    var dl = el("dl");
    function row(k, v) { dl.appendChild(el("dt", k)); dl.appendChild(el("dd", v)); }
    row("id", data.id);
    if (ele.isEdge()) {
      row("from", ele.source().data("label"));
      row("to", ele.target().data("label"));
    }
    row("seen", span(data) || "no dated record");
    Object.keys(data).sort().forEach(function (k) {
      if (!SKIP[k] && data[k] !== null && data[k] !== undefined) { row(k, valueText(data[k])); }
    });
    details.appendChild(dl);
    if (data.kind === "group") {
      section("members (" + data.members.length + ")", data.members.map(function (m) {
        var li = el("li");
        li.appendChild(nodeButton(cy.getElementById(m)));
        return li;
      }));
      return;
    }
    section("signals", (data.signals || []).map(function (s) {
      return el("li", s.signal + " \u2192 " + s.supports + " " + s.weight + ": " + s.detail);
    }));
    if (ele.isNode()) { neighbours(ele); }
    var evidence = data.evidence || [];
    section("evidence (" + evidence.length + " of " + (data.evidence_total || evidence.length) + ")",
      evidence.map(function (ev) {
        var li = el("li", ev.file + ": " + ev.locator, "evidence");
        if (ev.format) { li.appendChild(el("span", " " + ev.format, "format")); }
        return li;
      }));
  }

  function select(id) {
    var ele = cy.getElementById(id);
    if (ele.empty()) { return false; }
    cy.elements(":selected").unselect();
    ele.select();
    showDetails(ele);
    if (ele.isNode()) { cy.center(ele); }
    return true;
  }

  cy.on("tap", "node, edge", function (evt) { select(evt.target.id()); });

  /* ---- search ---- */
  var search = document.getElementById("search"), matchNote = document.getElementById("matches");
  var matches = cy.collection();
  function find() {
    var q = search.value.trim().toLowerCase();
    cy.elements().removeClass("match dim");
    matches = cy.collection();
    if (!q) { matchNote.textContent = ""; return; }
    matches = cy.nodes().not(".group").filter(function (n) {
      return String(n.data("label")).toLowerCase().indexOf(q) >= 0 || n.id().toLowerCase().indexOf(q) >= 0;
    });
    matchNote.textContent = matches.length === 1 ? "1 match" : (matches.length || "no") + " matches";
    if (!matches.length) { return; }
    matches.addClass("match");
    cy.elements().not(matches).not(".group").not(matches.connectedEdges()).addClass("dim");
    cy.fit(matches, 80);
    if (cy.zoom() > 1.6) { cy.zoom(1.6); cy.center(matches); }
  }
  search.addEventListener("input", find);
  search.addEventListener("keydown", function (evt) {
    if (evt.key === "Enter" && matches.length) { select(matches[0].id()); }
  });

  /* ---- the legend ---- */
  var legend = document.getElementById("legend");
  function chip(text, fill) {
    var li = el("li"), box = el("span", null, "chip");
    box.style.backgroundColor = fill;
    li.appendChild(box);
    li.appendChild(document.createTextNode(text));
    return li;
  }
  var kinds = el("ul");
  Object.keys(KIND_COLOURS).forEach(function (k) { if (k !== "front") { kinds.appendChild(chip(k, KIND_COLOURS[k])); } });
  Object.keys(VERDICT_COLOURS).forEach(function (v) { kinds.appendChild(chip("front: " + v, VERDICT_COLOURS[v])); });
  legend.appendChild(el("h3", "legend"));
  legend.appendChild(kinds);
  legend.appendChild(el("p", (positions ? "" : "Dashed boxes: a front with its address and " +
    "backends, or a host family. ") + "Dashed grey arrows: resolutions that no longer hold.",
    "hint"));

  api.nodeCount = function () { return cy.nodes().not(".group").length; };
  api.select = select;
  api.setTime = function (iso) {
    if (iso === null || iso === undefined || iso === "") { allBox.checked = true; allTime = true; applyTime(); return null; }
    if (days.length) { setDay(dayOf(iso)); }
    return allTime ? null : isoOf(day);
  };
  api.visibleTargets = function (hostId) {
    return cy.getElementById(hostId).outgoers("edge[kind = 'resolves-to']").filter(function (e) {
      return !e.hasClass("off");
    }).map(function (e) { return e.target().id(); }).sort();
  };
  applyTime();
  window.hostmap = api;
})();
