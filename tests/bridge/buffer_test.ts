// While Kafka is down, to-kafka holds messages up to `maxBufferBytes`, counting each message's
// bookkeeping (HELD_MESSAGE_OVERHEAD) besides its bytes, and drops (and counts) the rest: the
// limit bounds memory, not only payload. A real broker is stopped under a running to-kafka.
import { assert, assertEquals } from "@std/assert";
import { startKafka } from "../../testing/kafka.ts";
import { until } from "../../testing/net.ts";
import { testSetup } from "../../testing/posttroll.ts";
import { PosttrollToKafka } from "../../lib/bridge/mod.ts";
import { HELD_MESSAGE_OVERHEAD } from "../../lib/bridge/to_kafka.ts";
import { Message } from "../../lib/posttroll/message.ts";
import { Publisher } from "../../lib/posttroll/publisher.ts";

Deno.test("bridge: with Kafka down, to-kafka holds at most maxBufferBytes counting each message's bookkeeping, and drops the rest", async () => {
  await using kafka = await startKafka();
  const config = testSetup({ POSTTROLL_MULTICAST: "False" }).config;
  const maxBufferBytes = 64 * 1024;
  const lines: string[] = [];
  await using pub = await new Publisher("tcp://127.0.0.1:0", { config }).start();
  const up = await new PosttrollToKafka({
    url: `kafka://${kafka.plaintext}/`,
    noauth: true,
    nameserver: false,
    addresses: [`tcp://127.0.0.1:${pub.portNumber}`],
    topic: "posttroll.buffer",
    site: "a",
    config,
    maxBufferBytes,
    logger: (level, msg) => lines.push(`${level}: ${msg}`),
  }).start();
  try {
    // the link is up: one message reaches Kafka
    for (let i = 0; up.stats.produced === 0; i++) {
      await pub.send(new Message("/buffer/warm", "info", { i }));
      await new Promise((r) => setTimeout(r, 100));
      assert(i < 300, `nothing produced: ${JSON.stringify(up.stats)}`);
    }
    await kafka.stop();
    const before = up.stats.received;
    const n = 2_000;
    let size = 0;
    for (let i = 0; i < n; i++) {
      const m = new Message("/buffer/data", "info", { i, pad: "x".repeat(40) });
      size = new TextEncoder().encode(m.encode()).length;
      await pub.send(m);
    }
    await until(() => up.stats.received >= before + n || undefined, {
      timeoutMs: 30_000,
      what: `${n} messages received: ${JSON.stringify(up.stats)}`,
    });
    const s = up.stats;
    // messages of ~150 bytes: by payload alone ~430 would fit; with their bookkeeping ~80
    const most = Math.floor(maxBufferBytes / (size + HELD_MESSAGE_OVERHEAD));
    assert(s.pending <= most, `${s.pending} held, at most ${most}: ${JSON.stringify(s)}`);
    assert(s.pending >= most - 2, `${s.pending} held, room for ${most}: ${JSON.stringify(s)}`);
    assert(s.pendingBytes + s.pending * HELD_MESSAGE_OVERHEAD <= maxBufferBytes);
    assertEquals(s.received - s.produced - s.pending - s.failed, s.dropped);
    assert(s.dropped >= n - most, `dropped ${s.dropped}: ${JSON.stringify(s)}`);
    assert(lines.some((l) => /dropping new messages/.test(l)), lines.join("\n"));
  } finally {
    await up.close(500);
  }
});
