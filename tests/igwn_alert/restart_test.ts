// A broker restart while listening: no message published before, during or after the outage is
// lost, and none is delivered twice within the consumer group. Also: a listener whose credential
// is deleted while the broker is down fails after `listenRetries` fatal attempts (retryOnFatal).
import { assertEquals, assertInstanceOf } from "@std/assert";
import { python } from "../../testing/python.ts";
import { AuthError, type LogLevel } from "../../lib/igwn_alert/mod.ts";
import { startKafka } from "../../testing/kafka.ts";
import { Auth, IgwnAlertClient } from "../../lib/igwn_alert/mod.ts";
import { createTopics, until } from "./_helpers.ts";

Deno.test("broker restart during listen: no loss, no duplicates; deleted credential -> fatal retries then AuthError", async () => {
  await using kafka = await startKafka({
    users: [{ username: "alice", password: "alice-secret" }, {
      username: "bob",
      password: "bob-pw",
    }],
  });
  await createTopics(kafka, ["gracedb.superevent"]);
  const [host, port] = kafka.plaintext.split(":");
  const opts = {
    noauth: true,
    server: `kafka://${host}/`,
    port: Number(port),
    logger: () => {},
    timeoutMs: 4000,
  };
  const listener = new IgwnAlertClient({
    ...opts,
    consumerGroup: "restart-test",
    sessionTimeoutMs: 6000,
  });
  const publisher = new IgwnAlertClient(opts);
  const received: string[] = [];
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  const listening = listener.listen((_topic, payload) => {
    received.push(payload as string);
  }, { topics: "superevent", onReady: () => ready() });
  let listenError: unknown;
  listening.catch((e) => (listenError = e));
  await isReady;

  // bob listens over SASL_PLAINTEXT; his credential is deleted before the broker goes down
  const [, saslPort] = kafka.saslPlaintext.split(":");
  const bobLogs: Array<[LogLevel, string]> = [];
  const bob = new IgwnAlertClient({
    server: `kafka://${host}/`,
    port: Number(saslPort),
    auth: new Auth({ username: "bob", password: "bob-pw", protocol: "SASL_PLAINTEXT" }),
    retryOnFatal: true,
    listenRetries: 2,
    retryWait: 0.05,
    timeoutMs: 4000,
    sessionTimeoutMs: 6000,
    logger: (level, m) => {
      if (level === "warning" || level === "critical") bobLogs.push([level, m]);
    },
  });
  let bobReady!: () => void;
  const bobIsReady = new Promise<void>((r) => (bobReady = r));
  let bobError: unknown;
  const bobListening = bob.listen(() => {}, { topics: "superevent", onReady: () => bobReady() })
    .catch((e) => (bobError = e));
  await bobIsReady;

  // publish with retries: a message counts as published once the broker acknowledged it
  const sent: string[] = [];
  async function publish(id: string) {
    const deadline = Date.now() + 60_000;
    while (true) {
      try {
        await publisher.publish("superevent", id);
        sent.push(id);
        return;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }
  try {
    for (let i = 0; i < 10; i++) await publish(`before-${i}`);
    await until(
      () => received.length === 10 || listenError !== undefined,
      20_000,
      "messages before the restart",
    );
    assertEquals(listenError, undefined);
    await python(
      `import sys
from confluent_kafka.admin import AdminClient, UserScramCredentialDeletion, ScramMechanism
a = AdminClient({"bootstrap.servers": sys.argv[1]})
for f in a.alter_user_scram_credentials(
        [UserScramCredentialDeletion("bob", ScramMechanism.SCRAM_SHA_512)]).values():
    f.result()`,
      { args: [kafka.plaintext] },
    );
    const stopping = kafka.stop();
    const during = (async () => {
      for (let i = 0; i < 5; i++) await publish(`during-${i}`);
    })();
    await stopping;
    await kafka.restart();
    await during;
    for (let i = 0; i < 10; i++) await publish(`after-${i}`);
    await until(
      () => received.length >= sent.length || listenError !== undefined,
      30_000,
      "all messages after the restart",
    );
    assertEquals(listenError, undefined);
    // let any duplicate arrive before checking
    await new Promise((r) => setTimeout(r, 500));
    assertEquals([...received].sort(), [...sent].sort());
    assertEquals(new Set(received).size, received.length);
    // bob: fatal authentication failures, retried listenRetries times, then AuthError
    await until(() => bobError !== undefined, 30_000, "bob's listener to fail");
    await bobListening;
    assertInstanceOf(bobError, AuthError);
    const fatal = bobLogs.filter(([, m]) => m.startsWith("fatal error from kafka"));
    assertEquals(fatal.length, 2, JSON.stringify(bobLogs));
    assertEquals(bobLogs.filter(([l]) => l === "critical").length, 1);
  } finally {
    listener.stop();
    await listening.catch(() => {});
    await listener.close();
    bob.stop();
    await bob.close();
    await publisher.close();
  }
});
