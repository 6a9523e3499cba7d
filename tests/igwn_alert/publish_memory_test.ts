// A session's alerts are written into its producer's value memory (KafkaProducer.memory) and give
// it back once settled: a few shared blocks are reused for any number of alerts, bounded by
// maxQueueBytes, also while Kafka is down (alerts held until their delivery deadline, then failed,
// and their memory given back). A real broker, stopped under the publishing session.
import { assert, assertEquals } from "@std/assert";
import { startKafka } from "../../testing/kafka.ts";
import { until } from "../../testing/net.ts";
import { IgwnAlertClient } from "../../lib/igwn_alert/mod.ts";
import { createTopics, readRaw } from "./_helpers.ts";

const MiB = 1024 * 1024;

Deno.test("igwn-alert: session alerts reuse the producer's value memory, bounded by maxQueueBytes, with Kafka up and down", async () => {
  await using kafka = await startKafka();
  const [host, port] = kafka.plaintext.split(":");
  await createTopics(kafka, ["gracedb.memory"]);
  const maxQueueBytes = 2 * MiB;
  // the queue's alerts, the block being filled and one partly given back
  const bound = Math.ceil(maxQueueBytes / MiB) + 2;
  await using c = new IgwnAlertClient({
    server: `kafka://${host}/`,
    port: Number(port),
    noauth: true,
    logger: () => {},
    maxQueueBytes,
    timeoutMs: 4000,
  });
  await c.connect("memory");
  const producer = c.sessions.get("memory")!.batcher;
  // a JSON document as alert text: quotes escaped in the record value
  const alert = JSON.stringify({ uid: "S1", padding: "p".repeat(64 * 1024) });
  let maxBlocks = 0;
  const sample = () => void (maxBlocks = Math.max(maxBlocks, producer.memoryBlocks));
  const timer = setInterval(sample, 1);
  try {
    // 300 alerts of 64 KiB (20 MiB) acknowledged: a few blocks, all free again afterwards
    await Promise.all(
      Array.from({ length: 300 }, () => c.publishToTopic("memory", alert).then(sample)),
    );
    assert(maxBlocks >= 1 && maxBlocks <= bound, `${maxBlocks} blocks in use (bound ${bound})`);
    assertEquals(producer.memoryBlocks, 1); // the current block, empty
    const records = await readRaw(kafka, "gracedb.memory", 300);
    assertEquals(records.length, 300);
    const expected = JSON.stringify(alert);
    for (const r of records) assertEquals(new TextDecoder().decode(r.value), expected);

    // Kafka down: the queue fills up to maxQueueBytes and its alerts stay within the bound; once
    // their delivery deadline passed they fail and give their memory back
    await kafka.stop();
    maxBlocks = 0;
    const down = Array.from(
      { length: 100 },
      () => c.publishToTopic("memory", alert).then(() => undefined, (e: unknown) => e),
    );
    await until(() => producer.heldBytes >= maxQueueBytes, { what: "a full queue" });
    sample();
    assert(maxBlocks >= 2 && maxBlocks <= bound, `${maxBlocks} blocks in use (bound ${bound})`);
    const outcomes = await Promise.all(down);
    assert(outcomes.every((e) => e instanceof Error), "alerts delivered with Kafka down");
    assert(maxBlocks <= bound, `${maxBlocks} blocks in use (bound ${bound})`);
    assertEquals(producer.memoryBlocks, 1);
  } finally {
    clearInterval(timer);
  }
});
