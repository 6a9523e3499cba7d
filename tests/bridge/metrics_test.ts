// posttroll-bridge --metrics: to-kafka and from-kafka (over the harness broker's SASL_SSL
// listener) scraped during a run; their counters match what crossed, and every scrape parses
// with prometheus_client.
import { assert, assertEquals } from "@std/assert";
import { Message } from "../../lib/posttroll/message.ts";
import { NoisyPublisher } from "../../lib/posttroll/publisher.ts";
import { Subscriber } from "../../lib/posttroll/subscriber.ts";
import { getPubAddress } from "../../lib/posttroll/nameserver.ts";
import { startKafka } from "../../testing/kafka.ts";
import { freePort, until } from "../../testing/net.ts";
import type { Child } from "../../testing/child.ts";
import { scrape } from "../metrics/_scrape.ts";
import { authFile, startBridge, startSite } from "./_sites.ts";

Deno.test("bridge --metrics: in, out, held, dropped and lag of both directions", async () => {
  await using kafka = await startKafka();
  const { file, url } = await authFile(kafka);
  const site = await startSite("metrics");
  const children: Child[] = [site.nameserver];
  const upPort = freePort(), downPort = freePort();
  try {
    const common = ["--kafka", url, "--auth-file", file, "--prefix", "mtest"];
    const up = await startBridge(site, [
      "to-kafka",
      ...common,
      "--site",
      "north",
      "-s",
      "metrics_source",
      "--metrics",
      `127.0.0.1:${upPort}`,
    ]);
    children.push(up);
    const down = await startBridge(site, [
      "from-kafka",
      ...common,
      "--site",
      "south",
      "--no-state",
      "--service",
      "metrics_bridge",
      "--nameserver",
      "localhost",
      "--start",
      "earliest",
      "--refresh",
      "0.3",
      "--metrics",
      `127.0.0.1:${downPort}`,
    ]);
    children.push(down);
    await using pub = await new NoisyPublisher("metrics_source", {
      nameservers: ["localhost"],
      broadcastInterval: 0.2,
      config: site.setup.config,
    }).start();
    const addrs = await until(async () => {
      const r = await getPubAddress("metrics_bridge", { timeout: 1, config: site.setup.config });
      return r.length ? r : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200, what: "from-kafka registered" });
    await using sub = new Subscriber([addrs[0].URI as string], { config: site.setup.config });
    // until one message crosses (to-kafka subscribed, topic created, from-kafka consuming)
    let crossed = false;
    for (let i = 0; !crossed; i++) {
      await pub.send(new Message("/metrics/data", "info", { warmup: i }));
      for await (const m of sub.recv(0.3)) {
        crossed = m !== null;
        break;
      }
      assert(i < 100, "no message crossed the bridge");
    }
    for (let i = 0; i < 20; i++) await pub.send(new Message("/metrics/data", "info", { i }));
    const upUrl = `http://127.0.0.1:${upPort}/metrics`;
    const downUrl = `http://127.0.0.1:${downPort}/metrics`;
    const l = "{direction=to-kafka}";
    const r = "{direction=from-kafka}";
    // every message to-kafka took in went out to Kafka and came back through from-kafka
    const [u, d] = await until(async () => {
      const [u, d] = await Promise.all([scrape(upUrl), scrape(downUrl)]);
      const inUp = u.get(`posttroll_bridge_messages_in_total${l}`)!;
      return inUp >= 21 &&
          u.get(`posttroll_bridge_messages_out_total${l}`) === inUp &&
          d.get(`posttroll_bridge_messages_out_total${r}`) === inUp
        ? [u, d]
        : undefined;
    }, { timeoutMs: 30_000, intervalMs: 300, what: "counters to agree" });
    assertEquals(u.get(`posttroll_bridge_messages_held${l}`), 0);
    assertEquals(
      u.get(`posttroll_bridge_messages_dropped_total{direction=to-kafka,reason=buffer_full}`),
      0,
    );
    assertEquals(
      d.get(`posttroll_bridge_messages_in_total${r}`),
      d.get(`posttroll_bridge_messages_out_total${r}`),
    );
    assertEquals(
      d.get(`posttroll_bridge_messages_dropped_total{direction=from-kafka,reason=own_site}`),
      0,
    );
    const lag = d.get(`posttroll_bridge_lag_seconds${r}`)!;
    assert(lag >= 0 && lag < 30, `lag ${lag}`);
    assert(u.get("process_resident_memory_bytes{}")! > 0);
    const codes = await Promise.all([up, down].map((c) => c.kill("SIGTERM")));
    assertEquals(codes.map((c) => c.code), [0, 0]);
  } finally {
    await Promise.all(children.map((c) => c.kill("SIGKILL").catch(() => {})));
  }
});
