// Fault suite, the bridge's posttroll-facing port under attack: `posttroll-bridge from-kafka`
// republishes a Kafka topic (one record every 50 ms) on its PUB port, and that port gets the
// publisher attacks (subscription flood, PINGs never read, an endless subscription message, idle
// connections, exhausted descriptors, idle connections beyond max_connections) while a subscriber
// keeps receiving. There is no Python
// bridge to compare with; the same attacks on Python's publisher are in publisher_attacks_test.ts.
// (to-kafka listens on no port: it connects out to publishers.)
import { KafkaProducer } from "../../lib/kafka/producer.ts";
import { Message } from "../../lib/posttroll/message.ts";
import { type KafkaBroker, startKafka } from "../../testing/kafka.ts";
import { freePort } from "../../testing/net.ts";
import { Child } from "../../testing/child.ts";
import { BRIDGE, createTopics } from "../bridge/_sites.ts";
import { plainCluster } from "../../testing/kafka_records.ts";
import {
  endlessMultipart,
  idleConnectionsApart,
  pingFlood,
  subscriptionFlood,
} from "./_attacks.ts";
import {
  type AttackRun,
  type Bound,
  compareAttack,
  mib,
  receiveLoop,
  rssOf,
  type Start,
  SUBSCRIPTION_FLOOD_GROWTH,
  type Target,
} from "./_targets.ts";
import type { TestSetup } from "../../testing/posttroll.ts";

const MiB = 1024 * 1024;

let broker: KafkaBroker | undefined;
let topicN = 0;

/**
 * from-kafka on a free port (with the open-file limit `nofile` when given), fed one `/target info`
 * record every 50 ms.
 */
const bridgeWith = (nofile?: number): Start => async (_impl, s) => {
  broker ??= await startKafka();
  const kafka = broker;
  const topic = `posttroll.attack${topicN++}`;
  await createTopics(kafka, [topic]);
  const port = freePort();
  const env = { ...s.env, NO_COLOR: "1" };
  const argv = [
    "from-kafka",
    "--kafka",
    `kafka://${kafka.plaintext}/`,
    "--no-auth",
    "--site",
    "attacked",
    "--topic",
    topic,
    "--port",
    String(port),
    "--no-state",
    "--group-id",
    `attack-${topic}`,
    "--nameserver",
    "localhost",
  ];
  const child = nofile === undefined ? Child.deno(BRIDGE, argv, env) : new Child("prlimit", [
    `--nofile=${nofile}:${nofile}`,
    "--",
    Deno.execPath(),
    "run",
    "-A",
    "--no-prompt",
    BRIDGE,
    ...argv,
  ], env);
  const producer = new KafkaProducer(plainCluster(kafka));
  let feeding = true;
  const feed = (async () => {
    for (let seq = 0; feeding; seq++) {
      await producer.send({
        topic,
        key: null,
        value: new TextEncoder().encode(new Message("/target", "info", { seq }).encode()),
        headers: [],
      }).catch(() => {});
      await new Promise((r) => setTimeout(r, 50));
    }
    await producer.close().catch(() => {});
  })();
  try {
    await child.line((l) => / ready: /.test(l) || /CRITICAL/.test(l), 60_000);
  } catch (e) {
    feeding = false;
    await feed;
    await child.kill("SIGKILL");
    throw e;
  }
  await new Promise((r) => setTimeout(r, 1000)); // warm (see startPublisher)
  let exited = false;
  child.child.status.then(() => (exited = true));
  const pid = child.child.pid;
  return {
    impl: "ours",
    child,
    pid,
    port,
    rss: () => (exited ? 0 : rssOf(pid)),
    alive: () => !exited,
    close: async () => {
      feeding = false;
      await feed;
      await child.kill("SIGKILL");
    },
  } satisfies Target;
};

const attack = (
  fault: string,
  attack: (t: Target, s: TestSetup) => Promise<AttackRun>,
  bound: Bound,
  options: { holdMs?: number; env?: Record<string, string>; nofile?: number; outage?: boolean } =
    {},
) =>
  compareAttack(
    "bridge",
    fault,
    (impl, s) => bridgeWith(options.nofile)(impl, { ...s, env: { ...s.env, ...options.env } }),
    attack,
    bound,
    {
      holdMs: options.holdMs,
      outage: options.outage,
      probe: (t) => receiveLoop(t.port),
      probeName: "messages",
      compare: false,
      target: "bridge from-kafka PUB port",
    },
  );

Deno.test({
  name:
    "attack bridge: from-kafka's PUB port under subscription, PING, message and connection floods",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    try {
      await t.step("50,000 distinct SUBSCRIBE", async () => {
        await attack(
          "50,000 distinct SUBSCRIBE",
          async (t) => {
            const h = await subscriptionFlood(t.port, 50_000);
            return {
              inputs: 50_000,
              sent: `50000 SUBSCRIBE (${mib(h.bytes)} MiB)`,
              release: h.close,
            };
          },
          { growth: SUBSCRIPTION_FLOOD_GROWTH },
          { holdMs: 3000 },
        );
      });
      await t.step("64 MiB of PINGs never read", async () => {
        await attack("64 MiB of PING commands, PONGs never read", async (t) => {
          const h = await pingFlood(t.port, 64 * MiB, "SUB");
          return {
            inputs: Math.round(h.bytes / 25),
            sent: `${mib(h.bytes)} MiB of PINGs`,
            release: h.close,
          };
        }, { growth: 64 * MiB });
      });
      await t.step("an endless subscription message", async () => {
        await attack("one multipart subscription message, 32 x 4 MiB frames", async (t) => {
          const h = await endlessMultipart(t.port, 4 * MiB, 32, "SUB");
          return {
            inputs: 32,
            sent: `128 MiB offered in one message, ${mib(h.bytes)} MiB taken`,
            release: h.close,
          };
        }, { growth: 64 * MiB });
      });
      await t.step("2,000 idle connections", async () => {
        await attack("2,000 idle connections after the handshake", async (t) => {
          const h = await idleConnectionsApart(t.port, 2000, {
            handshake: true,
            socketType: "SUB",
          });
          return { inputs: h.opened, sent: `${h.opened} connections`, release: h.close };
        }, { growth: 64 * 1024, perInput: true });
      });
      await t.step("descriptors exhausted, then all closed", async () => {
        await attack(
          "400 connections with the open-file limit at 256, then all closed",
          async (t) => {
            const h = await idleConnectionsApart(t.port, 400);
            return { inputs: 400, sent: `${h.opened} connections opened`, release: h.close };
          },
          { growth: 64 * MiB },
          { nofile: 256, outage: true },
        );
      });
      await t.step("3,000 idle connections, max_connections 1000", async () => {
        await attack(
          "3,000 idle connections after the handshake, max_connections 1000",
          async (t) => {
            const h = await idleConnectionsApart(t.port, 3000, {
              handshake: true,
              socketType: "SUB",
            });
            return {
              inputs: h.opened,
              sent: `${h.opened} connections`,
              release: h.close,
            };
          },
          { growth: 64 * MiB },
          { env: { POSTTROLL_MAX_CONNECTIONS: "1000" } },
        );
      });
    } finally {
      await broker?.close();
      broker = undefined;
    }
  },
});
