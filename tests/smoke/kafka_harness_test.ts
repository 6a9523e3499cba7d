// Smoke test of the Kafka harness: one record produced and consumed through each listener with
// @platformatic/kafka used directly (not through lib/kafka), proving the broker, SCRAM users and
// per-run TLS certificates are real.
import { assertEquals, assertRejects } from "@std/assert";
import { Buffer } from "node:buffer";
import {
  Admin,
  type BaseOptions,
  Consumer,
  MessagesStreamModes,
  ProduceAcks,
  Producer,
} from "@platformatic/kafka";
import { startKafka } from "../../testing/kafka.ts";

type Connection = Omit<BaseOptions, "clientId">;

async function roundTrip(config: Connection, topic: string): Promise<string> {
  const base = { ...config, clientId: "smoke" };
  const admin = new Admin(base);
  const producer = new Producer(base);
  const consumer = new Consumer({ ...base, groupId: `smoke-${crypto.randomUUID()}` });
  try {
    await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
    await producer.send({
      acks: ProduceAcks.ALL,
      messages: [{ topic, value: Buffer.from(`hello ${topic}`) }],
    });
    const stream = await consumer.consume({
      topics: [topic],
      mode: MessagesStreamModes.EARLIEST,
      maxWaitTime: 100,
    });
    const timer = setTimeout(
      () => stream.destroy(new Error(`no record on ${topic} in 30 s`)),
      30_000,
    );
    try {
      for await (const m of stream) return (m.value as Buffer).toString();
      throw new Error(`no record on ${topic}`);
    } finally {
      clearTimeout(timer);
      await stream.close().catch(() => {});
    }
  } finally {
    await consumer.close(true).catch(() => {});
    await producer.close().catch(() => {});
    await admin.close().catch(() => {});
  }
}

Deno.test("kafka harness: a record through each of the three listeners", async (t) => {
  const started = performance.now();
  await using kafka = await startKafka();
  console.log(`broker ready in ${Math.round(performance.now() - started)} ms`);
  const { username, password } = kafka.users[0];
  const sasl = { mechanism: "SCRAM-SHA-512" as const, username, password };

  await t.step("PLAINTEXT", async () => {
    assertEquals(
      await roundTrip({ bootstrapBrokers: [kafka.plaintext] }, "smoke.plain"),
      "hello smoke.plain",
    );
  });
  await t.step("SASL_PLAINTEXT SCRAM-SHA-512", async () => {
    assertEquals(
      await roundTrip({ bootstrapBrokers: [kafka.saslPlaintext], sasl }, "smoke.sasl"),
      "hello smoke.sasl",
    );
  });
  await t.step("SASL_SSL SCRAM-SHA-512 with the per-run CA", async () => {
    assertEquals(
      await roundTrip(
        { bootstrapBrokers: [kafka.saslSsl], sasl, tls: { ca: [kafka.caPem] } },
        "smoke.ssl",
      ),
      "hello smoke.ssl",
    );
  });
  await t.step("wrong password is refused", async () => {
    const admin = new Admin({
      clientId: "smoke",
      bootstrapBrokers: [kafka.saslPlaintext],
      sasl: { mechanism: "SCRAM-SHA-512", username, password: "wrong" },
      retries: 0,
    });
    try {
      await assertRejects(() => admin.listTopics());
    } finally {
      await admin.close();
    }
  });
});
