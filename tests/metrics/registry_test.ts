/**
 * The metrics registry: values, labels, limits, and the exposition text read back by a real
 * Prometheus text parser (Python prometheus_client.parser) and by our own parser.
 */
import { assert, assertEquals, assertThrows } from "@std/assert";
import {
  addProcessMetrics,
  ListenAddressError,
  MetricDefinitionError,
  parseExposition,
  parseListenAddress,
  Registry,
} from "../../lib/metrics/mod.ts";
import { python } from "../../testing/python.ts";

Deno.test("registry: counters, gauges and histograms render in the 0.0.4 text format", () => {
  const r = new Registry();
  const c = r.counter({ name: "msgs_total", help: "Messages.", labelNames: ["topic", "type"] });
  c.labels({ topic: "/a", type: "file" }).inc();
  c.labels({ type: "file", topic: "/a" }).inc(2);
  const g = r.gauge({ name: "size", help: "Size." });
  g.set(-1.5);
  const h = r.histogram({ name: "lat_seconds", help: "Latency.", buckets: [0.1, 1] });
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  assertEquals(
    r.render(),
    [
      "# HELP msgs_total Messages.",
      "# TYPE msgs_total counter",
      'msgs_total{topic="/a",type="file"} 3',
      "# HELP size Size.",
      "# TYPE size gauge",
      "size -1.5",
      "# HELP lat_seconds Latency.",
      "# TYPE lat_seconds histogram",
      'lat_seconds_bucket{le="0.1"} 1',
      'lat_seconds_bucket{le="1"} 2',
      'lat_seconds_bucket{le="+Inf"} 3',
      "lat_seconds_sum 5.55",
      "lat_seconds_count 3",
      "",
    ].join("\n"),
  );
});

Deno.test("registry: names, labels and counters follow Prometheus' rules", () => {
  const r = new Registry();
  assertThrows(() => r.counter({ name: "sent", help: "x" }), MetricDefinitionError, "_total");
  assertThrows(() => r.gauge({ name: "1bad", help: "x" }), MetricDefinitionError, "metric name");
  assertThrows(
    () => r.gauge({ name: "ok", help: "x", labelNames: ["__x"] }),
    MetricDefinitionError,
    "label name",
  );
  assertThrows(
    () => r.histogram({ name: "h", help: "x", labelNames: ["le"] }),
    MetricDefinitionError,
  );
  assertThrows(() => r.histogram({ name: "h", help: "x", buckets: [1, 1] }), MetricDefinitionError);
  r.counter({ name: "a_total", help: "x" });
  assertThrows(() => r.counter({ name: "a_total", help: "y" }), MetricDefinitionError, "already");
  assertThrows(() => r.gauge({ name: "a", help: "y" }), MetricDefinitionError, "already");
  const c = r.counter({ name: "b_total", help: "x", labelNames: ["k"] });
  assertThrows(() => c.inc(), MetricDefinitionError, "labels");
  assertThrows(() => c.labels({}), MetricDefinitionError, "needs labels k");
  assertThrows(() => c.labels({ k: "1", j: "2" }), MetricDefinitionError, "no label");
  assertThrows(() => c.labels({ k: "1" }).inc(-1), MetricDefinitionError, "only goes up");
});

Deno.test("registry: series beyond maxSeries are counted, not kept", () => {
  const r = new Registry();
  const c = r.counter({ name: "x_total", help: "x", labelNames: ["s"], maxSeries: 3 });
  for (let i = 0; i < 10; i++) c.labels({ s: String(i) }).inc();
  assertEquals(c.size, 3);
  assertEquals(c.droppedSeries, 7);
  assert(r.render().includes('metrics_dropped_series_total{metric="x_total"} 7'));
});

Deno.test("registry: a metric without labels is exported at 0 before its first update", () => {
  const r = new Registry();
  r.counter({ name: "never_total", help: "x" });
  r.histogram({ name: "h", help: "x", buckets: [1] });
  assert(r.render().includes("never_total 0\n"));
  assert(r.render().includes('h_bucket{le="+Inf"} 0\nh_sum 0\nh_count 0\n'));
});

Deno.test("registry: collect callbacks run at each render", () => {
  const r = new Registry();
  let n = 0;
  r.gauge({ name: "renders", help: "x", collect: (g) => g.set(++n) });
  assert(r.render().includes("renders 1"));
  assert(r.render().includes("renders 2"));
});

const NASTY = ['quote " and \\ backslash', "line\nfeed", "ünïcödé ✓", '{x="y"}', ""];

Deno.test("registry: prometheus_client's parser reads our exposition back exactly", async () => {
  const r = new Registry();
  const c = r.counter({
    name: "posttroll_message_counter_total",
    help: 'Help with \\ backslash, "quotes" and\na line feed.',
    labelNames: ["message_type", "topic"],
  });
  NASTY.forEach((t, i) => c.labels({ message_type: "file", topic: t }).inc(i + 1));
  const g = r.gauge({ name: "weird_values", help: "x", labelNames: ["k"] });
  g.labels({ k: "inf" }).set(Infinity);
  g.labels({ k: "ninf" }).set(-Infinity);
  g.labels({ k: "nan" }).set(NaN);
  g.labels({ k: "tiny" }).set(1.5e-12);
  g.labels({ k: "big" }).set(2 ** 60);
  const h = r.histogram({ name: "h_seconds", help: "x", labelNames: ["k"], buckets: [0.5] });
  h.labels({ k: "a" }).observe(0.25);
  addProcessMetrics(r);
  const text = r.render();
  const out = await python(
    `
import json, math, sys
from prometheus_client.parser import text_string_to_metric_families
fams = []
for f in text_string_to_metric_families(sys.stdin.read()):
    fams.append({"name": f.name, "type": f.type, "help": f.documentation,
                 "samples": [[s.name, s.labels, "nan" if math.isnan(s.value) else s.value]
                             for s in f.samples]})
print(json.dumps(fams))
`,
    { stdin: text },
  );
  const fams = JSON.parse(out.replace(/\bInfinity\b/g, '"inf"').replace(/-"inf"/g, '"-inf"'));
  const byName = new Map(fams.map((f: { name: string }) => [f.name, f]));
  const counter = byName.get("posttroll_message_counter") as {
    type: string;
    help: string;
    samples: [string, Record<string, string>, number][];
  };
  assertEquals(counter.type, "counter");
  assertEquals(counter.help, 'Help with \\ backslash, "quotes" and\na line feed.');
  assertEquals(
    counter.samples.map(([, l, v]) => [l.topic, v]),
    NASTY.map((t, i) => [t, i + 1]),
  );
  const weird = byName.get("weird_values") as { samples: [string, { k: string }, unknown][] };
  assertEquals(
    weird.samples.map(([, l, v]) => [l.k, v]),
    [["inf", "inf"], ["ninf", "-inf"], ["nan", "nan"], ["tiny", 1.5e-12], ["big", 2 ** 60]],
  );
  const hist = byName.get("h_seconds") as { type: string; samples: [string][] };
  assertEquals(hist.type, "histogram");
  assertEquals(hist.samples.map(([n]) => n), [
    "h_seconds_bucket",
    "h_seconds_bucket",
    "h_seconds_sum",
    "h_seconds_count",
  ]);
  assert(byName.has("process_resident_memory_bytes"));
  // and our own parser agrees
  const ours = parseExposition(text).filter((s) => s.name === "posttroll_message_counter_total");
  assertEquals(ours.map((s) => [s.labels.topic, s.value]), NASTY.map((t, i) => [t, i + 1]));
});

Deno.test("parseExposition reads prometheus_client's own output", async () => {
  const text = await python(`
from prometheus_client import CollectorRegistry, Counter, generate_latest
r = CollectorRegistry()
c = Counter("posttroll_message_counter", "n", ["message_type", "topic"], registry=r)
c.labels("file", '/a "b"\\\\c\\nd').inc(3)
print(generate_latest(r).decode(), end="")
`);
  const s = parseExposition(text).find((x) => x.name === "posttroll_message_counter_total")!;
  assertEquals(s.labels, { message_type: "file", topic: '/a "b"\\c\nd' });
  assertEquals(s.value, 3);
});

Deno.test("parseListenAddress: HOST:PORT forms, and errors that name the setting", () => {
  assertEquals(parseListenAddress("localhost:9557"), { hostname: "localhost", port: 9557 });
  assertEquals(parseListenAddress(":0"), { hostname: "0.0.0.0", port: 0 });
  assertEquals(parseListenAddress("[::]:80"), { hostname: "::", port: 80 });
  for (const bad of ["9557", "host", "::1:80", "h:99999", "h:"]) {
    const e = assertThrows(() => parseListenAddress(bad, "--metrics"), ListenAddressError);
    assert(e.message.startsWith("--metrics: expected HOST:PORT"), e.message);
  }
});
