// Fault suite, nameserver under attack from its network: each attack (tests/faults/_attacks.ts) is
// made on our nameserver CLI and on Python posttroll's nameserver (libzmq) in their own processes,
// with a client looking up throughout. Ours must stay alive, answer every look-up within 2 s during
// and after the attack, and keep its RSS growth under the stated bound; Python's figures are
// recorded beside ours (docs/FAULTS.md). FAULT_COMPARE=0 skips the Python runs.
import { Message } from "../../lib/posttroll/message.ts";
import { getPubAddress } from "../../lib/posttroll/nameserver.ts";
import { ReqSocket } from "../../lib/zmq/mod.ts";
import type { TestSetup } from "../../testing/posttroll.ts";
import {
  bigRegistration,
  endlessMultipart,
  idleConnectionsApart,
  junkDatagrams,
  pingFlood,
  pipelinedLookups,
  subscriptionFlood,
} from "./_attacks.ts";
import {
  type AttackRun,
  type Bound,
  compareAttack,
  type CompareOptions,
  mib,
  type Start,
  startNameserver,
  SUBSCRIPTION_FLOOD_GROWTH,
  type Target,
} from "./_targets.ts";

const MiB = 1024 * 1024;

const direct: Start = (impl, s) => startNameserver(impl, s, { args: ["--no-multicast"] });
const multicast: Start = (impl, s) => startNameserver(impl, s, { args: [] });

const both = (
  fault: string,
  start: Start,
  attack: (t: Target, s: TestSetup) => Promise<AttackRun>,
  bound: Bound,
  options: CompareOptions = {},
) => compareAttack("nameserver", fault, start, attack, bound, options);

/** Registers `n` ordinary publishers directly (so a look-up of "" has something to return). */
async function register(s: TestSetup, n: number): Promise<void> {
  await using req = new ReqSocket({ linger: 0 });
  req.connect(`tcp://127.0.0.1:${s.broadcastPort}`);
  for (let i = 0; i < n; i++) {
    const m = new Message(`/address/book${i}`, "info", {
      URI: `tcp://198.51.100.${i % 250}:${20000 + i}`,
      service: [`book${i}`, "book"],
      supported_message_version: "v1.2",
      backend: "unsecure_zmq",
    });
    await req.send(m.encode(), { signal: AbortSignal.timeout(5000) });
    await req.receive({ signal: AbortSignal.timeout(5000) });
  }
}

Deno.test("attack nameserver: a direct registration of 90 MiB of 0x7F bytes", async () => {
  await both(
    "direct registration of 90 MiB of 0x7F (x6 once re-encoded)",
    direct,
    async (_t, s) => {
      const sent = await bigRegistration(s.broadcastPort, 90 * MiB);
      return { inputs: 1, sent: `90 MiB offered in one message, ${mib(sent)} MiB taken` };
    },
    { growth: 256 * MiB },
  );
});

Deno.test("attack nameserver: 20,000 multicast announcements of 1 KiB 0x7F, then a look-up of everything", async () => {
  await both(
    '20,000 distinct multicast announcements padded with 0x7F, look-up of ""',
    multicast,
    async (_t, s) => {
      const bytes = await junkDatagrams(s.broadcastPort, s.group, 20_000);
      return { inputs: 20_000, sent: `20000 datagrams (${mib(bytes)} MiB)` };
    },
    { growth: 256 * MiB },
    {
      after: async (_t, s) => {
        const t0 = Date.now();
        try {
          const r = await getPubAddress("", { timeout: 10, config: s.config });
          return `look-up of "" answered in ${Date.now() - t0} ms with ${r.length} records`;
        } catch (e) {
          return `look-up of "" after ${Date.now() - t0} ms: ${(e as Error).name}`;
        }
      },
    },
  );
});

Deno.test("attack nameserver: descriptors exhausted by 400 connections (limit 128), then all closed", async () => {
  const start: Start = (impl, s) =>
    startNameserver(impl, s, { args: ["--no-multicast"], nofile: 128 });
  await both(
    "400 connections with the open-file limit at 128, then all closed",
    start,
    async (t) => {
      const h = await idleConnectionsApart(t.port, 400);
      return { inputs: 400, sent: `${h.opened} connections opened`, release: h.close };
    },
    { growth: 64 * MiB },
    { outage: true },
  );
});

Deno.test("attack nameserver: 50,000 distinct SUBSCRIBE commands on the address-publish port", async () => {
  await both(
    "50,000 distinct SUBSCRIBE on the address-publish (PUB) port",
    direct,
    async (_t, s) => {
      const h = await subscriptionFlood(s.addressPort, 50_000);
      return { inputs: 50_000, sent: `50000 SUBSCRIBE (${mib(h.bytes)} MiB)`, release: h.close };
    },
    { growth: SUBSCRIPTION_FLOOD_GROWTH },
    { holdMs: 3000 },
  );
});

Deno.test("attack nameserver: 5,000 pipelined look-ups of everything whose replies are never read", async () => {
  await both(
    '5,000 pipelined look-ups of "" over a 300-entry book, replies never read',
    direct,
    async (t, s) => {
      await register(s, 300);
      const h = await pipelinedLookups(t.port, 5000, "");
      return { inputs: 5000, sent: `${mib(h.bytes)} MiB of requests`, release: h.close };
    },
    { growth: 64 * MiB },
    { holdMs: 3000 },
  );
});

Deno.test("attack nameserver: 64 MiB of PINGs from a peer that never reads the PONGs", async () => {
  await both("64 MiB of PING commands, PONGs never read", direct, async (t) => {
    const h = await pingFlood(t.port, 64 * MiB);
    return {
      inputs: Math.round(h.bytes / 25),
      sent: `${mib(h.bytes)} MiB of PINGs`,
      release: h.close,
    };
  }, { growth: 64 * MiB });
});

Deno.test("attack nameserver: one multipart message of 32 frames of 4 MiB that never ends", async () => {
  await both("one multipart request, 32 x 4 MiB frames, never finished", direct, async (t) => {
    const h = await endlessMultipart(t.port, 4 * MiB, 32);
    return {
      inputs: 32,
      sent: `128 MiB offered in one message, ${mib(h.bytes)} MiB taken`,
      release: h.close,
    };
  }, { growth: 64 * MiB });
});

Deno.test("attack nameserver: 2,000 idle connections after the handshake", async () => {
  const o = await both("2,000 idle connections after the ZMTP handshake", direct, async (t) => {
    const h = await idleConnectionsApart(t.port, 2000, { handshake: true });
    return { inputs: h.opened, sent: `${h.opened} connections`, release: h.close };
  }, { growth: 64 * 1024, perInput: true });
  console.log(`per connection: ${((o.rssPeak - o.rssBefore) / o.inputs / 1024).toFixed(1)} KiB`);
});

Deno.test("attack nameserver: 3,000 idle connections with max_connections 1000", async () => {
  const start: Start = (impl, s) =>
    startNameserver(impl, s, {
      args: ["--no-multicast"],
      env: { POSTTROLL_MAX_CONNECTIONS: "1000" },
    });
  await both(
    "3,000 idle connections after the handshake, max_connections 1000",
    start,
    async (t) => {
      const h = await idleConnectionsApart(t.port, 3000, { handshake: true });
      return { inputs: h.opened, sent: `${h.opened} connections`, release: h.close };
    },
    { growth: 64 * MiB },
  );
});
