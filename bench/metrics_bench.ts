/**
 * CPU cost of the nameserver's metrics, measured without the network: answering one look-up
 * (`nameserverReply` on a book of 100 addresses) with and without the metrics hooks, and one
 * scrape (`Registry.render`) of the nameserver's registry and of a `posttroll listen --metrics`
 * registry holding 1,000 subjects.
 *
 * ```
 * deno bench --allow-all bench/metrics_bench.ts
 * ```
 *
 * @module
 */
import { AddressBook, nameserverReply } from "../lib/posttroll/address_book.ts";
import { Message } from "../lib/posttroll/message.ts";
import { nameServerMetrics } from "../lib/posttroll/nameserver_metrics.ts";
import { MessageMetrics } from "../lib/posttroll/message_metrics.ts";
import { addProcessMetrics, Registry } from "../lib/metrics/mod.ts";
import { PyDateTime } from "../lib/posttroll/pytime.ts";

const book = new AddressBook();
for (let i = 0; i < 100; i++) {
  book.receive(
    new Message(`/address/svc${i}`, "info", {
      URI: `tcp://10.0.0.${i}:40000`,
      service: [`svc${i}`],
    }).encode(),
  );
}
const request = new Message("/oper/ns", "request", { service: "svc42" }).encode();
const registry = new Registry();
addProcessMetrics(registry);
const events = nameServerMetrics(registry, () => book);

Deno.bench("look-up, metrics off", { group: "lookup", baseline: true }, () => {
  nameserverReply(request, book);
});

Deno.bench("look-up, metrics on", { group: "lookup" }, () => {
  const r = nameserverReply(request, book);
  events.lookup?.(r.error ? "invalid" : r.found ? "found" : "not_found");
});

Deno.bench("scrape: nameserver registry (100 addresses)", { group: "scrape" }, () => {
  registry.render();
});

const listenRegistry = new Registry();
const messages = new MessageMetrics(listenRegistry);
const msgs = Array.from(
  { length: 1000 },
  (_, i) =>
    new Message(`/polar/subject/${i}`, "file", {
      uri: "/data/x.h5",
      start_time: PyDateTime.now(),
    }),
);
for (const m of msgs) messages.observe(m);

Deno.bench("scrape: listen registry (1,000 subjects × 5 metrics)", { group: "scrape" }, () => {
  listenRegistry.render();
});

let k = 0;
Deno.bench("listen: record one message", { group: "observe" }, () => {
  messages.observe(msgs[k++ % 1000]);
});
