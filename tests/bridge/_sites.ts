// Shared pieces of the bridge tests: two posttroll "sites" on one machine (each its own
// nameserver process on its own ports, multicast off), a hop auth.toml for the harness broker's
// SASL_SSL listener, and the bridge CLI as a child process.
import type { KafkaBroker } from "../../testing/kafka.ts";
import type { Message } from "../../lib/posttroll/message.ts";
import type { Subscriber } from "../../lib/posttroll/subscriber.ts";
import { Child } from "../../testing/child.ts";
import { REPO_ROOT } from "../../testing/python.ts";
import { type TestSetup, testSetup } from "../../testing/posttroll.ts";

export const BRIDGE = `${REPO_ROOT}/cli/posttroll_bridge.ts`;
export const NAMESERVER = `${REPO_ROOT}/cli/nameserver.ts`;

/** One site: its posttroll settings and its nameserver process. */
export interface Site {
  name: string;
  setup: TestSetup;
  env: Record<string, string>;
  nameserver: Child;
}

/**
 * Starts a site's nameserver (direct registration only) and waits until it serves; `extra`
 * settings (e.g. the secure backend) apply to everything started with the site's environment.
 */
export async function startSite(name: string, extra: Record<string, string> = {}): Promise<Site> {
  const setup = testSetup({ POSTTROLL_MULTICAST: "False", ...extra });
  const env = { ...setup.env, NO_COLOR: "1" };
  const nameserver = Child.deno(NAMESERVER, ["--no-multicast"], env);
  await nameserver.line((l) => l.includes("Nameserver ready"), 20_000);
  return { name, setup, env, nameserver };
}

/** hop auth.toml (mode 0600) for alice on the broker's SASL_SSL listener with the run's CA. */
export async function authFile(kafka: KafkaBroker): Promise<{ file: string; url: string }> {
  const port = kafka.saslSsl.split(":")[1];
  const dir = await Deno.makeTempDir({ prefix: "bridge-auth-" });
  const file = `${dir}/auth.toml`;
  await Deno.writeTextFile(
    file,
    `[[auth]]\nusername = "alice"\npassword = "alice-secret"\nhostname = "localhost:${port}"\n` +
      `protocol = "SASL_SSL"\nmechanism = "SCRAM-SHA-512"\nssl_ca_location = "${kafka.caFile}"\n`,
  );
  await Deno.chmod(file, 0o600);
  return { file, url: `kafka://alice@localhost:${port}/` };
}

/** Starts `posttroll-bridge <args>` with a site's environment and waits for its ready line. */
export async function startBridge(site: Site, args: string[]): Promise<Child> {
  const child = Child.deno(BRIDGE, args, site.env);
  await child.line((l) => / ready: /.test(l) || /CRITICAL/.test(l), 30_000);
  const bad = child.lines.find((l) => /CRITICAL/.test(l));
  if (bad) throw new Error(`bridge failed to start: ${child.lines.join("\n")}`);
  return child;
}

/** The last `stats {...}` (or `stopped: {...}`) counters a bridge logged. */
export function lastStats(child: Child): Record<string, number> | undefined {
  for (let i = child.lines.length - 1; i >= 0; i--) {
    const m = /(?:stats|stopped:) (\{.*\})$/.exec(child.lines[i]);
    if (m) return JSON.parse(m[1]);
  }
  return undefined;
}

// ---- Kafka-side helpers of the compatibility and ordering tests (PLAINTEXT listener) ----

export {
  createTopics,
  listTopics,
  produceRecords,
  type RawRecord,
  readRecords,
  recordCount,
} from "../../testing/kafka_records.ts";

/** Receives `n` messages from `sub` within `timeoutMs`, else throws with `diag()` appended. */
export async function take(
  sub: Subscriber,
  n: number,
  timeoutMs = 30_000,
  diag: () => string = () => "",
): Promise<Message[]> {
  const out: Message[] = [];
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), timeoutMs);
  try {
    for await (const m of sub.recv(null, { signal: stop.signal })) {
      if (m) out.push(m);
      if (out.length >= n) break;
    }
  } finally {
    clearTimeout(timer);
  }
  if (out.length < n) {
    throw new Error(`received ${out.length}/${n} messages in ${timeoutMs} ms; ${diag()}`);
  }
  return out;
}
