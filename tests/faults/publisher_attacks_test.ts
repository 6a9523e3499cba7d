// Fault suite, a publisher's PUB port under attack from its network: subscription floods, PINGs
// never read, oversized subscription messages, idle connections and exhausted descriptors, each on
// our posttroll Publisher and on Python posttroll's (pyzmq/libzmq), both in their own processes,
// while a subscriber receives the publisher's messages (one every 50 ms). Ours must stay alive,
// the subscriber must never wait more than 2 s, and RSS growth stays under the stated bound.
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
  type Start,
  startPublisher,
  SUBSCRIPTION_FLOOD_GROWTH,
  type Target,
} from "./_targets.ts";
import type { TestSetup } from "../../testing/posttroll.ts";

const MiB = 1024 * 1024;

const publisher: Start = (impl, s) => startPublisher(impl, s);

const attack = (
  fault: string,
  attack: (t: Target, s: TestSetup) => Promise<AttackRun>,
  bound: Bound,
  options: { start?: Start; holdMs?: number; outage?: boolean } = {},
) =>
  compareAttack(
    "pubsub",
    fault,
    options.start ?? publisher,
    attack,
    bound,
    {
      holdMs: options.holdMs,
      outage: options.outage,
      probe: (t) => receiveLoop(t.port),
      probeName: "messages",
      target: "publisher PUB port",
    },
  );

Deno.test("attack publisher: 50,000 distinct SUBSCRIBE commands", async () => {
  await attack(
    "50,000 distinct SUBSCRIBE",
    async (t) => {
      const h = await subscriptionFlood(t.port, 50_000);
      return { inputs: 50_000, sent: `50000 SUBSCRIBE (${mib(h.bytes)} MiB)`, release: h.close };
    },
    { growth: SUBSCRIPTION_FLOOD_GROWTH },
    { holdMs: 3000 },
  );
});

Deno.test("attack publisher: 64 MiB of PINGs, PONGs never read", async () => {
  await attack("64 MiB of PING commands, PONGs never read", async (t) => {
    const h = await pingFlood(t.port, 64 * MiB, "SUB");
    return {
      inputs: Math.round(h.bytes / 25),
      sent: `${mib(h.bytes)} MiB of PINGs`,
      release: h.close,
    };
  }, { growth: 64 * MiB });
});

Deno.test("attack publisher: a subscription message of 32 x 4 MiB frames that never ends", async () => {
  await attack("one multipart subscription message, 32 x 4 MiB frames", async (t) => {
    const h = await endlessMultipart(t.port, 4 * MiB, 32, "SUB");
    return {
      inputs: 32,
      sent: `128 MiB offered in one message, ${mib(h.bytes)} MiB taken`,
      release: h.close,
    };
  }, { growth: 64 * MiB });
});

Deno.test("attack publisher: 2,000 idle subscriber connections", async () => {
  await attack("2,000 idle connections after the handshake", async (t) => {
    const h = await idleConnectionsApart(t.port, 2000, { handshake: true, socketType: "SUB" });
    return { inputs: h.opened, sent: `${h.opened} connections`, release: h.close };
  }, { growth: 64 * 1024, perInput: true });
});

Deno.test("attack publisher: descriptors exhausted by 400 connections (limit 128), then all closed", async () => {
  await attack(
    "400 connections with the open-file limit at 128, then all closed",
    async (t) => {
      const h = await idleConnectionsApart(t.port, 400);
      return { inputs: 400, sent: `${h.opened} connections opened`, release: h.close };
    },
    { growth: 64 * MiB },
    { start: (impl, s) => startPublisher(impl, s, 128), outage: true },
  );
});

Deno.test("attack publisher: 3,000 idle connections with max_connections 1000", async () => {
  const start: Start = (impl, s) =>
    startPublisher(impl, { ...s, env: { ...s.env, POSTTROLL_MAX_CONNECTIONS: "1000" } });
  await attack(
    "3,000 idle connections after the handshake, max_connections 1000",
    async (t) => {
      const h = await idleConnectionsApart(t.port, 3000, { handshake: true, socketType: "SUB" });
      return { inputs: h.opened, sent: `${h.opened} connections`, release: h.close };
    },
    { growth: 64 * MiB },
    { start },
  );
});
