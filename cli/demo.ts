/**
 * `deno task demo`: a whole PostTroll chain on loopback with an embedded default configuration: a
 * nameserver, a publisher that registers with it, and a subscriber that finds the publisher by
 * service name and prints what it receives. Ports are picked free, so it runs beside a real
 * nameserver; `--multicast` announces over UDP multicast on 127.0.0.1 instead of registering
 * directly.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { main } from "./demo.ts";
 * const code: number = await main(["--count", "3"]); // prints the three messages
 * assertEquals(code, 0);
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Message, PyDateTime } from "../lib/posttroll/message.ts";
import { PosttrollConfig } from "../lib/posttroll/config.ts";
import { getPubAddresses, NameServer } from "../lib/posttroll/nameserver.ts";
import { NoisyPublisher } from "../lib/posttroll/publisher.ts";
import { subscribe } from "../lib/posttroll/subscriber.ts";

/** A nameserver on free loopback ports, and the configuration that names them. */
interface DemoNameServer {
  config: PosttrollConfig;
  ns: NameServer;
  serving: Promise<void>;
  endpoints: string[];
}

/**
 * Starts the nameserver on ports picked free. A port found free can be taken by another process
 * before the nameserver binds it (tests run in parallel): then new ports are picked, a few times.
 */
async function startNameServer(multicast: boolean): Promise<DemoNameServer> {
  for (let attempt = 1;; attempt++) {
    const config = new PosttrollConfig({
      env: {},
      defaults: {
        backend: "unsecure_zmq",
        nameserver_port: freePort(),
        address_publish_port: freePort(),
        broadcast_port: freePort(),
        multicast_interface: "127.0.0.1",
        mc_group: "225.0.0.212",
      },
    });
    const ns = new NameServer({ multicastEnabled: multicast, config });
    const serving = ns.run(undefined, "127.0.0.1");
    try {
      return { config, ns, serving, endpoints: await ns.ready };
    } catch (e) {
      await serving.catch(() => {});
      const inUse = e instanceof Error && e.cause instanceof Deno.errors.AddrInUse;
      if (!inUse || attempt >= 5) throw e;
    }
  }
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A satellite-pass file event like those pytroll production chains pass around. */
function fileEvent(n: number): Record<string, unknown> {
  const start = PyDateTime.now().withoutOffset();
  return {
    platform_name: "NOAA-20",
    sensor: ["viirs"],
    orbit_number: 36000 + n,
    start_time: start,
    uri: `/data/pass/npp_d${n.toString().padStart(4, "0")}.h5`,
    uid: `npp_d${n.toString().padStart(4, "0")}.h5`,
  };
}

/**
 * Runs the demo and returns the exit code (0 when every message arrived).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { main } from "./demo.ts";
 * assertEquals(await main(["--count", "1", "--multicast"]), 0); // announced over multicast on loopback
 * ```
 */
export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      count: { type: "string", short: "n", default: "5" },
      multicast: { type: "boolean", default: false },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(
      "usage: deno task demo [-n COUNT] [--multicast]\n\n" +
        "Starts a nameserver, a publisher (service 'demo_service') and a subscriber on loopback,\n" +
        "sends COUNT file-event messages and prints them as the subscriber receives them.",
    );
    return 0;
  }
  const count = Number(values.count);
  if (!Number.isInteger(count) || count < 1) {
    console.error(`demo: --count must be a positive integer, got ${values.count}`);
    return 2;
  }
  const multicast = values.multicast ?? false;
  const log = (who: string, text: string) =>
    console.log(`${new Date().toISOString().slice(11, 23)} [${who}] ${text}`);

  const { config, ns, serving, endpoints } = await startNameServer(multicast);
  log(
    "nameserver",
    `answering on ${endpoints.join(", ")}, ${multicast ? "multicast" : "direct registration"}`,
  );

  const publisher = await new NoisyPublisher("demo_service", {
    nameservers: multicast ? null : ["127.0.0.1"],
    announceHost: "127.0.0.1",
    broadcastInterval: 0.5,
    config,
  }).start();
  try {
    const address = await getPubAddresses(["demo_service"], {
      timeout: 10,
      nameserver: "127.0.0.1",
      config,
    });
    log("nameserver", `demo_service is at ${JSON.stringify(address.map((a) => a.URI))}`);

    await using sub = await subscribe({
      services: "demo_service",
      topics: "/demo",
      nameserver: "127.0.0.1",
      timeout: 10,
      config,
    });
    const received: Message[] = [];
    const reader = (async () => {
      for await (const msg of sub.recv(0.1)) {
        if (msg) {
          received.push(msg);
          log("subscriber", msg.encode());
          if (received.length >= count) break;
        }
      }
    })();
    // A new subscription needs a moment to reach the publisher (ZeroMQ's slow joiner): send
    // until the first message is seen, then the rest.
    const deadline = Date.now() + 15_000;
    let sent = 0;
    while (received.length === 0 && Date.now() < deadline) {
      await publisher.send(new Message("/demo/file", "file", fileEvent(0)).encode());
      await new Promise((r) => setTimeout(r, 100));
    }
    sent = 1;
    while (sent < count) {
      await publisher.send(new Message("/demo/file", "file", fileEvent(sent++)).encode());
    }
    const finished = await Promise.race([
      reader.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 10_000)),
    ]);
    await sub.close();
    await reader;
    if (!finished || received.length < count) {
      console.error(`demo: only ${received.length} of ${count} messages arrived`);
      return 1;
    }
    log("demo", `${received.length} messages published, found by service name and received`);
    return 0;
  } finally {
    await publisher.close();
    await ns.stop();
    await serving;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
