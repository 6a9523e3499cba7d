/**
 * Adapter from the bench's igwn-alert peer to our igwn-alert client (lib/igwn_alert/), used the
 * way the Python peer uses igwn-alert: one publishing session (connect + publishToTopic, not
 * awaited one by one, flushByTopic at the end), listen(callback) with a PLAINTEXT, no-auth client.
 *
 * @module
 */
import { IgwnAlertClient } from "../../../lib/igwn_alert/mod.ts";
import type { BenchPublisher } from "./igwn_peer.ts";

function client(broker: string, group: string): IgwnAlertClient {
  const i = broker.lastIndexOf(":");
  return new IgwnAlertClient({
    server: `kafka://${broker.slice(0, i)}/`,
    port: Number(broker.slice(i + 1)),
    noauth: true,
    group,
  });
}

/** Opens our publisher on `<group>.<topic>` at a PLAINTEXT broker. */
export async function oursPublisher(
  broker: string,
  group: string,
  topic: string,
  perCall = false,
): Promise<BenchPublisher> {
  const c = client(broker, group);
  if (perCall) {
    return {
      publish: (text) => c.publish(topic, text),
      async publishMany(texts) {
        for (const t of texts) await c.publish(topic, t);
      },
      flush: () => Promise.resolve(),
      close: () => c.close(),
    };
  }
  await c.connect(topic);
  const failures: unknown[] = [];
  const fire = (text: string) => c.publishToTopic(topic, text).catch((e) => failures.push(e));
  return {
    publish(text) {
      fire(text);
      return Promise.resolve();
    },
    async publishMany(texts) {
      await Promise.all(texts.map(fire));
    },
    async flush() {
      await c.flushByTopic(topic);
      if (failures.length) throw failures[0];
    },
    async close() {
      await c.disconnect();
      await c.close();
    },
  };
}

/** Starts our listener; `onAlert` gets each alert text; resolves to a stop function. */
export function oursListen(
  broker: string,
  group: string,
  topic: string,
  onAlert: (text: string) => void,
): Promise<() => Promise<void>> {
  const c = client(broker, group);
  const running = c.listen((_topic, payload) => {
    onAlert(typeof payload === "string" ? payload : String(payload));
  }, { topics: topic });
  running.catch((e) => {
    console.error(`listener failed: ${e}`);
  });
  return Promise.resolve(async () => {
    c.stop();
    await running.catch(() => {});
    await c.close();
  });
}
