// Smoke test of the Kafka harness: one record produced and consumed through each listener with
// kafkajs, proving the broker, SCRAM users and per-run TLS certificates are real.
import { assertEquals, assertRejects } from "@std/assert";
import { Kafka, type KafkaConfig, logLevel } from "kafkajs";
import { startKafka } from "../harness/kafka.ts";

async function roundTrip(config: KafkaConfig, topic: string): Promise<string> {
  const kafka = new Kafka({ ...config, clientId: "smoke", logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer();
  const consumer = kafka.consumer({ groupId: `smoke-${crypto.randomUUID()}` });
  try {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic }], waitForLeaders: true });
    await producer.connect();
    await producer.send({ topic, messages: [{ value: `hello ${topic}` }] });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received = Promise.withResolvers<string>();
    await consumer.run({
      eachMessage: ({ message }) => {
        received.resolve(message.value!.toString());
        return Promise.resolve();
      },
    });
    const timer = setTimeout(
      () => received.reject(new Error(`no record on ${topic} in 30 s`)),
      30_000,
    );
    try {
      return await received.promise;
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
    await admin.disconnect();
  }
}

Deno.test("kafka harness: a record through each of the three listeners", async (t) => {
  const started = performance.now();
  await using kafka = await startKafka();
  console.log(`broker ready in ${Math.round(performance.now() - started)} ms`);
  const { username, password } = kafka.users[0];
  const sasl = { mechanism: "scram-sha-512" as const, username, password };

  await t.step("PLAINTEXT", async () => {
    assertEquals(
      await roundTrip({ brokers: [kafka.plaintext] }, "smoke.plain"),
      "hello smoke.plain",
    );
  });
  await t.step("SASL_PLAINTEXT SCRAM-SHA-512", async () => {
    assertEquals(
      await roundTrip({ brokers: [kafka.saslPlaintext], sasl }, "smoke.sasl"),
      "hello smoke.sasl",
    );
  });
  await t.step("SASL_SSL SCRAM-SHA-512 with the per-run CA", async () => {
    assertEquals(
      await roundTrip({ brokers: [kafka.saslSsl], sasl, ssl: { ca: [kafka.caPem] } }, "smoke.ssl"),
      "hello smoke.ssl",
    );
  });
  // A fresh `sasl` object: kafkajs 2.2.4 stores its SCRAM authenticator (closed over the
  // password) on the config object it was given (`sasl.authenticationProvider`), so spreading a
  // config already used for a login would copy the old password's authenticator and "succeed".
  await t.step("wrong password is refused", async () => {
    const k = new Kafka({
      brokers: [kafka.saslPlaintext],
      sasl: { mechanism: "scram-sha-512", username, password: "wrong" },
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    });
    const admin = k.admin();
    try {
      await assertRejects(async () => {
        await admin.connect();
        await admin.listTopics();
      });
    } finally {
      await admin.disconnect();
    }
  });
});
