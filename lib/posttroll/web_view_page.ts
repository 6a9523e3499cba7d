/**
 * The nameserver web view's page, script and styles, shipped in the package as text (no CDN, no
 * build step; the script is plain browser JavaScript served as `/app.js`). See `web_view.ts`.
 *
 * @example
 * ```ts
 * import { assertStringIncludes } from "@std/assert";
 * import { INDEX_HTML } from "./web_view_page.ts";
 * assertStringIncludes(INDEX_HTML, '<script src="app.js"');
 * ```
 * @module
 */

/** The page (`/`). */
export const INDEX_HTML: string = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>posttroll nameserver</title>
<link rel="stylesheet" href="style.css">
<script src="app.js" defer></script>
</head>
<body>
<header>
  <h1 id="title">posttroll nameserver</h1>
  <p id="summary"><span id="state" class="state connecting">connecting</span>
    <span id="counts"></span></p>
</header>
<main>
  <section id="rates-section" hidden>
    <h2>Messages per second by subject</h2>
    <p id="rates-note" class="note"></p>
    <svg id="rates" viewBox="0 0 600 220" role="img" aria-label="message rate per subject"></svg>
    <ul id="legend"></ul>
  </section>
  <section>
    <h2>Registered publishers</h2>
    <table id="services">
      <thead><tr><th>Service</th><th>Aliases</th><th>Address</th><th>Age</th><th>Version</th><th>Backend</th></tr></thead>
      <tbody></tbody>
    </table>
    <p id="empty" class="note" hidden>No publisher is registered.</p>
  </section>
</main>
<footer><a href="metrics">metrics</a> · <a href="services.json">services.json</a></footer>
</body>
</html>
`;

/** The styles (`/style.css`): readable on a phone (the table becomes cards on narrow screens). */
export const STYLE_CSS: string =
  `:root { color-scheme: light dark; --fg: #1d232a; --bg: #fbfbfa; --muted: #69727d;
  --line: #d8dcdf; --accent: #0b6bcb; --new: #fff3b0; --old: #c0392b; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e8ea; --bg: #16191c; --muted: #9aa3ad;
  --line: #30363c; --accent: #5aa9f0; --new: #4d4416; --old: #ff7b6b; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header, main, footer { max-width: 72rem; margin: 0 auto; padding: 0.5rem 1rem; }
h1 { font-size: 1.3rem; margin: 0.5rem 0 0.2rem; }
h2 { font-size: 1rem; margin: 1rem 0 0.4rem; color: var(--muted); font-weight: 600; }
.note { color: var(--muted); margin: 0.3rem 0; }
.state { display: inline-block; padding: 0 0.5rem; border-radius: 1rem; font-size: 0.85rem;
  border: 1px solid var(--line); }
.state.live { border-color: #2e9d57; color: #2e9d57; }
.state.connecting, .state.lost { border-color: var(--old); color: var(--old); }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 0.35rem 0.5rem; border-bottom: 1px solid var(--line);
  vertical-align: top; overflow-wrap: anywhere; }
th { font-size: 0.8rem; text-transform: uppercase; color: var(--muted); font-weight: 600; }
td.age { font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.new td { background: var(--new); transition: background 2s; }
tr.stale td.age { color: var(--old); font-weight: 600; }
code { font-size: 0.9em; }
svg { width: 100%; max-width: 46rem; height: auto; border: 1px solid var(--line); border-radius: 4px; }
svg text { fill: var(--muted); font-size: 10px; }
svg .grid { stroke: var(--line); stroke-width: 1; }
#legend { list-style: none; padding: 0; margin: 0.4rem 0; display: flex; flex-wrap: wrap; gap: 0.3rem 1rem; }
#legend li { font-size: 0.85rem; overflow-wrap: anywhere; }
#legend i { display: inline-block; width: 0.8rem; height: 0.8rem; margin-right: 0.3rem;
  vertical-align: -0.1rem; border-radius: 2px; }
footer { color: var(--muted); font-size: 0.85rem; }
a { color: var(--accent); }
@media (max-width: 40rem) {
  thead { display: none; }
  table, tbody, tr, td { display: block; width: 100%; }
  tr { border: 1px solid var(--line); border-radius: 6px; margin: 0 0 0.6rem; padding: 0.3rem 0; }
  td { border: 0; padding: 0.15rem 0.6rem; }
  td::before { content: attr(data-label) ": "; color: var(--muted); font-size: 0.8rem; }
}
`;

/** The script (`/app.js`): follows `/events` and keeps the table and the chart current. */
export const APP_JS: string = `"use strict";
(() => {
  const COLORS = ["#0b6bcb", "#d35400", "#2e9d57", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d", "#b7950b"];
  const records = new Map();
  let offset = 0; // server clock minus ours, in ms
  let maxAge = 600;
  let history = [];
  const $ = (id) => document.getElementById(id);
  const tbody = document.querySelector("#services tbody");

  function ageText(s) {
    s = Math.max(0, Math.floor(s));
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m" + String(s % 60).padStart(2, "0") + "s";
    return Math.floor(s / 3600) + "h" + String(Math.floor(s / 60) % 60).padStart(2, "0") + "m";
  }
  function serviceList(r) {
    return Array.isArray(r.service) ? r.service.map(String) : [String(r.service ?? "")];
  }
  function cell(tr, label, text, cls) {
    const td = document.createElement("td");
    td.dataset.label = label;
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }
  function render() {
    const rows = [...records.values()].sort((a, b) => {
      const x = serviceList(a)[0], y = serviceList(b)[0];
      return x < y ? -1 : x > y ? 1 : a.URI < b.URI ? -1 : a.URI > b.URI ? 1 : 0;
    });
    const existing = new Map([...tbody.rows].map((tr) => [tr.dataset.uri, tr]));
    const frag = document.createDocumentFragment();
    for (const r of rows) {
      let tr = existing.get(r.URI);
      existing.delete(r.URI);
      if (!tr) {
        tr = document.createElement("tr");
        tr.dataset.uri = r.URI;
        const svc = serviceList(r);
        cell(tr, "Service", svc[0]);
        cell(tr, "Aliases", svc.slice(1).join(", ") || "–");
        cell(tr, "Address", r.URI);
        cell(tr, "Age", "", "age");
        cell(tr, "Version", r.supported_message_version ?? "–");
        cell(tr, "Backend", r.backend ?? "–");
        tr.classList.add("new");
        setTimeout(() => tr.classList.remove("new"), 3000);
      }
      tr._receive = Date.parse(r.receive_time);
      frag.appendChild(tr);
    }
    for (const tr of existing.values()) tr.remove();
    tbody.appendChild(frag);
    const services = new Set();
    for (const r of records.values()) for (const s of serviceList(r)) services.add(s);
    $("counts").textContent = services.size + " services, " + records.size + " addresses";
    $("empty").hidden = records.size > 0;
    ages();
  }
  function ages() {
    const now = Date.now() + offset;
    for (const tr of tbody.rows) {
      const age = (now - tr._receive) / 1000;
      tr.cells[3].textContent = ageText(age);
      tr.classList.toggle("stale", age > Math.min(maxAge / 2, 30));
    }
  }
  function svg(tag, attrs, parent) {
    const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const k in attrs) el.setAttribute(k, attrs[k]);
    parent.appendChild(el);
    return el;
  }
  function chart() {
    const root = $("rates");
    root.replaceChildren();
    const legend = $("legend");
    legend.replaceChildren();
    if (history.length < 1) {
      $("rates-note").textContent = $("rates-note").textContent || "Waiting for the first rates…";
      return;
    }
    const totals = {};
    for (const p of history.slice(-12)) for (const k in p.rates) totals[k] = (totals[k] || 0) + p.rates[k];
    const subjects = Object.keys(totals).sort((a, b) => totals[b] - totals[a]).slice(0, COLORS.length);
    const W = 600, H = 220, L = 44, B = 20, T = 8, R = 8;
    const t0 = history[0].t, t1 = history[history.length - 1].t;
    let top = 0;
    for (const p of history) for (const s of subjects) top = Math.max(top, p.rates[s] || 0);
    top = top <= 0 ? 1 : top * 1.1;
    const x = (t) => L + (t1 > t0 ? (t - t0) / (t1 - t0) : 1) * (W - L - R);
    const y = (v) => H - B - (v / top) * (H - B - T);
    for (let i = 0; i <= 4; i++) {
      const v = (top * i) / 4;
      svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" }, root);
      svg("text", { x: L - 4, y: y(v) + 3, "text-anchor": "end" }, root).textContent =
        v >= 10 ? v.toFixed(0) : v.toFixed(2);
    }
    svg("text", { x: L, y: H - 4 }, root).textContent = new Date(t0).toLocaleTimeString();
    svg("text", { x: W - R, y: H - 4, "text-anchor": "end" }, root).textContent =
      new Date(t1).toLocaleTimeString();
    subjects.forEach((s, i) => {
      const pts = history.map((p) => x(p.t).toFixed(1) + "," + y(p.rates[s] || 0).toFixed(1));
      svg("polyline", { points: pts.join(" "), fill: "none", stroke: COLORS[i], "stroke-width": 2,
        "data-subject": s }, root);
      const last = history[history.length - 1];
      svg("circle", { cx: x(last.t), cy: y(last.rates[s] || 0), r: 3, fill: COLORS[i] }, root);
      const li = document.createElement("li");
      const sw = document.createElement("i");
      sw.style.background = COLORS[i];
      li.append(sw, s + " — " + (history[history.length - 1].rates[s] || 0).toFixed(2) + "/s");
      legend.appendChild(li);
    });
    $("rates-note").textContent = subjects.length ? "" : "No messages in the last minute.";
  }
  function connect() {
    const es = new EventSource("events");
    const state = $("state");
    es.onopen = () => { state.textContent = "live"; state.className = "state live"; };
    es.onerror = () => { state.textContent = "reconnecting"; state.className = "state lost"; };
    es.addEventListener("snapshot", (ev) => {
      const s = JSON.parse(ev.data);
      offset = s.now - Date.now();
      maxAge = s.maxAge;
      $("title").textContent = s.title;
      document.title = s.title;
      records.clear();
      for (const r of s.records) records.set(r.URI, r);
      render();
      if (s.rates) {
        $("rates-section").hidden = false;
        history = s.rates.history;
        $("rates-note").textContent = s.rates.error || "";
        chart();
      }
    });
    es.addEventListener("update", (ev) => {
      const u = JSON.parse(ev.data);
      offset = u.now - Date.now();
      for (const r of u.upsert) records.set(r.URI, r);
      for (const uri of u.remove) records.delete(uri);
      render();
    });
    es.addEventListener("rates", (ev) => {
      history.push(JSON.parse(ev.data));
      if (history.length > 120) history.shift();
      $("rates-note").textContent = "";
      chart();
    });
    es.addEventListener("rates-error", (ev) => {
      $("rates-note").textContent = JSON.parse(ev.data).error;
    });
  }
  setInterval(ages, 1000);
  connect();
})();
`;
