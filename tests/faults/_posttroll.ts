// Shared pieces of the posttroll fault tests: a running nameserver, an announcement, and a client
// doing correct lookups in a loop while faults are injected (every lookup must succeed).
import dgram from "node:dgram";
import { Message } from "../../lib/posttroll/message.ts";
import {
  getPubAddress,
  NameServer,
  type NameServerOptions,
} from "../../lib/posttroll/nameserver.ts";
import type { TestSetup } from "../../testing/posttroll.ts";

/** An `/address/<name> info` announcement for `uri` with `services`. */
export function announcement(name: string, uri: string, services: string[] = [name]): string {
  return new Message(`/address/${name}`, "info", { URI: uri, service: services }).encode();
}

/** Starts a nameserver; `close()` stops it and returns how long stopping took (ms). */
export async function startNameServer(
  s: TestSetup,
  options: Omit<NameServerOptions, "config"> = {},
): Promise<{ ns: NameServer; close: () => Promise<number> }> {
  const ns = new NameServer({ ...options, config: s.config });
  const running = ns.run();
  await ns.ready;
  return {
    ns,
    close: async () => {
      const t0 = Date.now();
      await ns.stop();
      await running;
      return Date.now() - t0;
    },
  };
}

/**
 * A client that looks `service` up again and again, expecting exactly `expect` records.
 * `pause()` resolves once the look-up in flight has ended and holds the loop until `resume()`.
 */
export function lookupLoop(s: TestSetup, service: string, expect = 1): {
  readonly ok: number;
  pause(): Promise<void>;
  resume(): void;
  stop(): Promise<{ ok: number; failures: string[] }>;
} {
  let stopped = false;
  let ok = 0;
  const failures: string[] = [];
  let held: PromiseWithResolvers<void> | undefined;
  let idle = Promise.withResolvers<void>();
  const done = (async () => {
    while (!stopped) {
      if (held) {
        idle.resolve();
        await held.promise;
        continue;
      }
      idle = Promise.withResolvers<void>();
      try {
        const r = await getPubAddress(service, { timeout: 3, config: s.config });
        if (r.length === expect) ok++;
        else failures.push(`lookup of ${service}: ${r.length} records, expected ${expect}`);
      } catch (e) {
        failures.push(`lookup of ${service}: ${e}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    idle.resolve();
  })();
  return {
    get ok() {
      return ok;
    },
    async pause() {
      held ??= Promise.withResolvers<void>();
      await idle.promise;
    },
    resume() {
      held?.resolve();
      held = undefined;
    },
    async stop() {
      stopped = true;
      held?.resolve();
      await done;
      return { ok, failures };
    },
  };
}

/** Sends datagrams to `group:port` out of 127.0.0.1, `chunk` at a time (each chunk awaited). */
export function sendDatagrams(
  port: number,
  group: string,
  payloads: string[],
  chunk = 100,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket("udp4");
    s.bind(0, "127.0.0.1", async () => {
      try {
        s.setMulticastInterface("127.0.0.1");
        for (let i = 0; i < payloads.length; i += chunk) {
          await Promise.all(
            payloads.slice(i, i + chunk).map((p) =>
              new Promise<void>((ok, ko) => s.send(p, port, group, (e) => e ? ko(e) : ok()))
            ),
          );
          await new Promise((r) => setTimeout(r, 1));
        }
        s.close(() => resolve());
      } catch (e) {
        s.close();
        reject(e);
      }
    });
  });
}
