// Scraping a /metrics endpoint in tests: every scrape is read by Python's prometheus_client
// parser (a real Prometheus text parser) and by ours, and must agree.
import { assertEquals } from "@std/assert";
import { parseExposition } from "../../lib/metrics/mod.ts";
import { python } from "../../testing/python.ts";

/** Scrapes `url`, checks it with prometheus_client's parser, returns the samples as a map. */
export async function scrape(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(url)).text();
  const parsed = await python(
    `
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = {}
for f in text_string_to_metric_families(sys.stdin.read()):
    for s in f.samples:
        key = s.name + "{" + ",".join("%s=%s" % kv for kv in sorted(s.labels.items())) + "}"
        out[key] = s.value
print(json.dumps(out))
`,
    { stdin: text },
  );
  const fromPython = new Map(Object.entries(JSON.parse(parsed) as Record<string, number>));
  // our own parser reads the same samples
  const ours = parseExposition(text);
  assertEquals(ours.length, fromPython.size);
  return fromPython;
}
