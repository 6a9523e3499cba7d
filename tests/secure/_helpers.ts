/**
 * Helpers for the `secure_zmq` backend tests: key files made by our CLI in posttroll's test
 * layout, POSTTROLL_* settings for both implementations (free ports, loopback multicast), a log
 * collector, and a background sender.
 *
 * @module
 */
import { main as generateKeys } from "../../cli/posttroll_generate_keys.ts";
import { PosttrollConfig } from "../../lib/posttroll/config.ts";
import { freePort } from "../../testing/net.ts";
import { randomGroup } from "../../testing/posttroll.ts";

/** Key files of a server and one client. */
export interface KeySet {
  /** `server.key_secret` (public + secret). */
  serverSecret: string;
  /** `server.key` (public). */
  serverPublic: string;
  /** `client.key_secret`. */
  clientSecret: string;
  /** Directory of authorized client public keys (`*.key`). */
  clientsDir: string;
}

/**
 * Makes server and client keys with our `posttroll-generate-keys` CLI (`main()`), laid out like
 * posttroll's own tests: `.key` files moved to `public_keys/`, `.key_secret` to `private_keys/`.
 */
export async function cliKeys(base: string): Promise<KeySet> {
  const certs = `${base}/certificates`;
  const pub = `${base}/public_keys`;
  const priv = `${base}/private_keys`;
  for (const d of [certs, pub, priv]) await Deno.mkdir(d);
  const log = console.log;
  console.log = () => {}; // the CLI prints "wrote ..."
  try {
    for (const name of ["server", "client"]) {
      const code = await generateKeys([name, "-d", certs]);
      if (code !== 0) throw new Error(`posttroll-generate-keys ${name} exited with ${code}`);
    }
  } finally {
    console.log = log;
  }
  for await (const e of Deno.readDir(certs)) {
    const to = e.name.endsWith(".key_secret") ? priv : pub;
    await Deno.rename(`${certs}/${e.name}`, `${to}/${e.name}`);
  }
  return {
    serverSecret: `${priv}/server.key_secret`,
    serverPublic: `${pub}/server.key`,
    clientSecret: `${priv}/client.key_secret`,
    clientsDir: pub,
  };
}

/** The four key settings as POSTTROLL_* variables. */
export function keyEnv(k: KeySet): Record<string, string> {
  return {
    POSTTROLL_SERVER_SECRET_KEY_FILE: k.serverSecret,
    POSTTROLL_CLIENTS_PUBLIC_KEYS_DIRECTORY: k.clientsDir,
    POSTTROLL_CLIENT_SECRET_KEY_FILE: k.clientSecret,
    POSTTROLL_SERVER_PUBLIC_KEY_FILE: k.serverPublic,
  };
}

/** Base settings: free nameserver ports (plain and secure), loopback multicast, no config file. */
export function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    POSTTROLL_NAMESERVER_PORT: String(freePort()),
    POSTTROLL_SECURE_ZMQ_NAMESERVER_PORT: String(freePort()),
    POSTTROLL_ADDRESS_PUBLISH_PORT: String(freePort()),
    POSTTROLL_BROADCAST_PORT: String(freePort()),
    POSTTROLL_MC_GROUP: randomGroup(),
    POSTTROLL_MULTICAST_INTERFACE: "127.0.0.1",
    POSTTROLL_ROOT_CONFIG: "/nonexistent-posttroll-config",
    ...extra,
  };
}

/** A configuration read from `env` only. */
export function configOf(env: Record<string, string>): PosttrollConfig {
  return new PosttrollConfig({ env, paths: [] });
}

/** Collects log lines as `level: message`. */
export class LogCollector {
  /** The lines so far. */
  readonly lines: string[] = [];
  /** The logger to pass as a component's `logger` option. */
  readonly logger = (level: string, message: string): void => {
    this.lines.push(`${level}: ${message}`);
  };
  /** Lines containing `text`. */
  matching(text: string): string[] {
    return this.lines.filter((l) => l.includes(text));
  }
}

/** Calls `send` every `intervalMs` until stopped (awaits the loop on stop). */
export function sendLoop(send: () => Promise<void>, intervalMs = 20): { stop(): Promise<void> } {
  let running = true;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let wake: (() => void) | undefined;
  const loop = (async () => {
    while (running) {
      await send();
      await new Promise<void>((r) => {
        wake = r;
        timer = setTimeout(r, intervalMs);
      });
    }
  })();
  return {
    async stop() {
      running = false;
      clearTimeout(timer);
      wake?.();
      await loop;
    },
  };
}

/** Polls until `probe` is truthy (bounded). */
export async function until<T>(
  probe: () => T | Promise<T>,
  what: string,
  timeoutMs = 10_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const v = await probe();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
