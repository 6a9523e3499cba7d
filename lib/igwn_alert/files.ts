/**
 * Alerts as files: one name scheme (topic, receive time, hop `_id`) and atomic writes (a
 * temporary file in the same directory, synced, then renamed), shared by `--output-dir` and the
 * dead-letter directory.
 *
 * @module
 */
import { type AnyHopModel, JSONBlob } from "../hop/models.ts";
import { writeFileAtomically } from "../_util/fs.ts";
import { IgwnAlertError } from "./errors.ts";
import type { Alert } from "./listen.ts";

const enc = new TextEncoder();

/**
 * The file name of an alert: `<kafka topic>_<UTC receive time>_<_id or offset>.json`, e.g.
 * `gracedb.superevent_20261206T210512.123Z_4f0c…-….json` (sortable by time within a topic).
 *
 * @param alert the alert
 * @param received when it was received (ms since the epoch)
 * @returns the file name
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { alertFileName } from "./files.ts";
 * assertEquals(
 *   alertFileName({ kafkaTopic: "gracedb.x", hop: { id: "a-b", test: false }, partition: 0, offset: "7" } as never, 0),
 *   "gracedb.x_19700101T000000.000Z_a-b.json",
 * );
 * ```
 */
export function alertFileName(
  alert: Pick<Alert, "kafkaTopic" | "hop" | "partition" | "offset">,
  received: number,
): string {
  const time = new Date(received).toISOString().replaceAll("-", "").replaceAll(":", "");
  const id = alert.hop.id ?? `p${alert.partition}-o${alert.offset}`;
  return `${alert.kafkaTopic}_${time}_${id}.json`;
}

/**
 * The bytes of an alert's payload as received: GraceDB's JSON text for igwn-alert messages,
 * else the hop model's serialized content.
 *
 * @param alert the alert
 * @returns the bytes
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { payloadBytes } from "./files.ts";
 * assertEquals(new TextDecoder().decode(payloadBytes({ payload: '{"uid": "S1"}' } as never)), '{"uid": "S1"}');
 * ```
 */
export function payloadBytes(alert: Pick<Alert, "payload" | "model">): Uint8Array {
  const p = alert.payload;
  if (typeof p === "string") return enc.encode(p);
  const model = (alert.model ?? p) as AnyHopModel;
  if (model instanceof JSONBlob && typeof model.content === "string") {
    return enc.encode(model.content);
  }
  return model.serialize().content;
}

/**
 * Writes `data` to `dir/name` atomically: readers see no file or the whole file, also after a
 * crash (temporary file, fsync, rename, directory fsync).
 *
 * @param dir the directory (created if missing)
 * @param name the file name
 * @param data the bytes
 * @returns the path written
 * @throws IgwnAlertError naming the path when the file cannot be written
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { writeAtomically } from "./files.ts";
 * const dir = await Deno.makeTempDir(); // stands for /var/spool/alerts
 * const path = await writeAtomically(`${dir}/alerts`, "a.json", new TextEncoder().encode("{}"));
 * assertEquals([path, await Deno.readTextFile(path)], [`${dir}/alerts/a.json`, "{}"]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeAtomically(
  dir: string,
  name: string,
  data: Uint8Array,
): Promise<string> {
  const path = `${dir}/${name}`;
  try {
    await Deno.mkdir(dir, { recursive: true });
    await writeFileAtomically(path, data);
    return path;
  } catch (e) {
    throw new IgwnAlertError(`cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
}
