// A broker restart while listening: no message published before, during or after the outage is
// lost, and none is delivered twice within the consumer group.
import { assertEquals } from "@std/assert";
import { startKafka } from "../harness/kafka.ts";
import { IgwnAlertClient } from "../../lib/igwn_alert/mod.ts";
import { createTopics, until } from "./_helpers.ts";

Deno.test("broker restart during listen: no loss, no duplicates", async () => {
  await using kafka = await startKafka();
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
  } finally {
    listener.stop();
    await listening.catch(() => {});
    await listener.close();
    await publisher.close();
  }
});
