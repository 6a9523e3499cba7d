/**
 * Internal: writing a file so that readers see either the old file (or none) or the whole new
 * one, also after a crash: the bytes go to a temporary file in the same directory, are synced,
 * and the file is renamed into place (then the directory is synced, where the file system can).
 * Shared by the bridge's duplicate-suppression state and igwn-alert's alert files.
 *
 * @module
 */

/**
 * Writes `data` to `path` atomically (see the module note). The directory must exist.
 *
 * @param path the file
 * @param data the bytes
 * @param mode permissions of a new file @default 0o644
 * @returns when the file is in place and synced
 * @throws whatever the file system throws (the temporary file is removed)
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { writeFileAtomically } from "./fs.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomically(`${dir}/a.json`, new TextEncoder().encode("{}"));
 * assertEquals(await Deno.readTextFile(`${dir}/a.json`), "{}");
 * assertEquals((await Array.fromAsync(Deno.readDir(dir))).length, 1); // no temporary file left
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeFileAtomically(
  path: string,
  data: Uint8Array,
  mode = 0o644,
): Promise<void> {
  const slash = path.lastIndexOf("/");
  const dir = slash >= 0 ? path.slice(0, slash) || "/" : ".";
  const tmp = `${dir}/.${path.slice(slash + 1)}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    const f = await Deno.open(tmp, { write: true, createNew: true, mode });
    try {
      let off = 0;
      while (off < data.length) off += await f.write(data.subarray(off));
      await f.syncData();
    } finally {
      f.close();
    }
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  try {
    const d = await Deno.open(dir, { read: true });
    try {
      await d.sync();
    } finally {
      d.close();
    }
  } catch { /* some file systems cannot sync a directory */ }
}
