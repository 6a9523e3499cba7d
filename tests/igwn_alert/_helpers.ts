// Shared helpers of the igwn-alert tests: topics on the harness broker, hop auth.toml files.
import type { KafkaBroker } from "../../testing/kafka.ts";
import { createTopics as create, readRecords } from "../../testing/kafka_records.ts";

/** Creates topics through the PLAINTEXT listener (no ACLs on the harness broker). */
export async function createTopics(broker: KafkaBroker, topics: string[]): Promise<void> {
  await create(broker, topics);
}

/** Reads every record of a topic from the beginning, raw (value and header pairs in order). */
export async function readRaw(
  broker: KafkaBroker,
  topic: string,
  count: number,
): Promise<Array<{ value: Uint8Array; headers: Array<[string, Uint8Array]> }>> {
  const records = await readRecords(broker, topic, count);
  return records.map((r) => ({ value: r.value!, headers: r.headers }));
}

/** A temporary XDG_CONFIG_HOME with hop/auth.toml (mode 0600). Remove with `Deno.remove(dir)`. */
export async function authHome(toml: string): Promise<{ dir: string; file: string }> {
  const dir = await Deno.makeTempDir({ prefix: "igwn-xdg-" });
  await Deno.mkdir(`${dir}/hop`);
  const file = `${dir}/hop/auth.toml`;
  await Deno.writeTextFile(file, toml);
  await Deno.chmod(file, 0o600);
  return { dir, file };
}

/** TOML of one [[auth]] entry. */
export function authEntry(e: {
  username: string;
  password: string;
  hostname?: string;
  protocol?: string;
  ssl_ca_location?: string;
}): string {
  return "[[auth]]\n" +
    Object.entries(e).filter(([, v]) => v !== undefined).map(([k, v]) => `${k} = "${v}"`)
      .join("\n") +
    "\n\n";
}

/** Waits until `pred()` is true (bounded polling). */
export async function until(pred: () => boolean, timeoutMs = 15_000, what = "condition") {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
