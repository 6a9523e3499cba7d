// Shared pieces of the bridge tests: two posttroll "sites" on one machine (each its own
// nameserver process on its own ports, multicast off), a hop auth.toml for the harness broker's
// SASL_SSL listener, and the bridge CLI as a child process.
import { Buffer } from "node:buffer";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import type { KafkaBroker } from "../harness/kafka.ts";
import { quietKafkajsTimeoutWarning } from "../../lib/igwn_alert/kafka.ts";
import type { Message } from "../../lib/posttroll/message.ts";
import type { Subscriber } from "../../lib/posttroll/subscriber.ts";
import { Child } from "../harness/child.ts";
import { REPO_ROOT } from "../harness/python.ts";
import { type TestSetup, testSetup } from "../posttroll/_helpers.ts";

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

// ---- Kafka-side helpers of the compatibility and ordering tests (PLAINTEXT listener, kafkajs) ----

/** A record as read back from Kafka: key, value (null for a tombstone), headers in order. */
export interface RawRecord {
  partition: number;
  offset: string;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: Array<[string, Uint8Array]>;
}

function plainKafka(kafka: KafkaBroker): Kafka {
  quietKafkajsTimeoutWarning();
  return new Kafka({ brokers: [kafka.plaintext], logLevel: logLevel.NOTHING });
}

/** Creates topics (with `partitions` partitions) through the PLAINTEXT listener. */
export async function createTopics(
  kafka: KafkaBroker,
  topics: string[],
  partitions = 1,
): Promise<void> {
  const admin = plainKafka(kafka).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: topics.map((topic) => ({ topic, numPartitions: partitions })),
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
}

/** Produces records as given (a null value is a tombstone) and waits for their acknowledgement. */
export async function produceRecords(
  kafka: KafkaBroker,
  topic: string,
  records: Array<{
    key?: string | Uint8Array | null;
    value: string | Uint8Array | null;
    headers?: Record<string, string>;
  }>,
): Promise<void> {
  const producer = plainKafka(kafka).producer({
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  try {
    const buf = (v: string | Uint8Array | null | undefined) =>
      v === null || v === undefined
        ? null
        : typeof v === "string"
        ? Buffer.from(v)
        : Buffer.from(v);
    await producer.send({
      topic,
      acks: -1,
      messages: records.map((r) => ({
        key: buf(r.key),
        value: buf(r.value),
        headers: r.headers,
      })),
    });
  } finally {
    await producer.disconnect();
  }
}

/** Records in a topic (sum over its partitions of high - low watermark), per partition too. */
export async function recordCount(
  kafka: KafkaBroker,
  topic: string,
): Promise<{ total: number; partitions: number[] }> {
  const admin = plainKafka(kafka).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    const partitions = offsets.sort((a, b) => a.partition - b.partition).map((p) =>
      Number(p.high) - Number(p.low)
    );
    return { total: partitions.reduce((a, b) => a + b, 0), partitions };
  } finally {
    await admin.disconnect();
  }
}

/** Reads the first `count` records of a topic from the beginning (all partitions). */
export async function readRecords(
  kafka: KafkaBroker,
  topic: string,
  count: number,
  timeoutMs = 20_000,
): Promise<RawRecord[]> {
  const consumer = plainKafka(kafka).consumer({ groupId: `read-${crypto.randomUUID()}` });
  const out: RawRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`only ${out.length}/${count} records in ${topic}`)),
        timeoutMs,
      );
      consumer.run({
        eachMessage: ({ partition, message }) => {
          const headers: Array<[string, Uint8Array]> = [];
          for (const [k, v] of Object.entries(message.headers ?? {})) {
            for (const one of Array.isArray(v) ? v : [v]) {
              headers.push([k, new Uint8Array(one as Uint8Array)]);
            }
          }
          const bytes = (b: Uint8Array | null) => (b === null ? null : new Uint8Array(b));
          out.push({
            partition,
            offset: message.offset,
            key: bytes(message.key),
            value: bytes(message.value),
            headers,
          });
          if (out.length >= count) {
            clearTimeout(t);
            resolve();
          }
          return Promise.resolve();
        },
      }).catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}

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

/** Every topic on the broker. */
export async function listTopics(kafka: KafkaBroker): Promise<string[]> {
  const admin = plainKafka(kafka).admin();
  await admin.connect();
  try {
    return await admin.listTopics();
  } finally {
    await admin.disconnect();
  }
}
