// A publisher's burst reaches Kafka whole: 20,000 messages at 20,000/s from another process, about
// twice what the Kafka producer sustains, wait in to-kafka's memory (its subscriber queue and the
// producer's buffer) instead of overflowing the publisher's per-subscriber queue (1,000 messages),
// where posttroll would drop them unseen. (On a quiet machine 90,000 at 60,000/s pass too; the
// rate here leaves room for the rest of the suite running on the same cores.)
import { assertEquals } from "@std/assert";
import { PosttrollToKafka } from "../../lib/bridge/mod.ts";
import { startKafka } from "../../testing/kafka.ts";
import { Child } from "../../testing/child.ts";
import { freePort, until } from "../../testing/net.ts";
import { REPO_ROOT } from "../../testing/python.ts";
import { recordCount } from "./_sites.ts";

const N = 20_000;

Deno.test("bridge: a burst of 20,000 messages at 20,000/s reaches Kafka whole", async () => {
  await using kafka = await startKafka();
  const port = freePort();
  const pub = Child.deno(`${REPO_ROOT}/tests/bridge/_burst_pub.ts`, [
    String(port),
    String(N),
    "20000",
  ]);
  await pub.line((l) => l === "bound");
  const up = await new PosttrollToKafka({
    url: `kafka://${kafka.plaintext}/`,
    noauth: true,
    nameserver: false,
    addresses: [`tcp://127.0.0.1:${port}`],
    topic: "posttroll.burst",
    site: "a",
  }).start();
  try {
    const done = await pub.line((l) => l.startsWith("done "), 60_000);
    await until(() => up.stats.produced >= N || undefined, {
      timeoutMs: 60_000,
      what: `all ${N} produced`,
    }).catch((e) => {
      throw new Error(`${e.message}: ${JSON.stringify(up.stats)}`);
    });
    const stats = await up.close();
    assertEquals(stats.received, N);
    assertEquals(stats.dropped, 0);
    assertEquals((await recordCount(kafka, "posttroll.burst")).total, N);
    console.log(`burst: ${N} sent in ${done.slice(5)} ms, all in Kafka`);
  } finally {
    await up.close();
    await pub.kill();
  }
});
