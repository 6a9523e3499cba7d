/**
 * A persistent set of recently forwarded message ids, for duplicate suppression across restarts.
 *
 * The ids live in memory (insertion order, bounded by count and age) and in an append-only file:
 * an 8-byte magic (`PTBDDUP1`), then 24-byte records (16-byte id, float64 little-endian ms since
 * the epoch). {@linkcode DedupStore.flush} writes the records added since the last flush and
 * syncs them to disk; the bridge flushes before it commits Kafka offsets, so every committed
 * message's id is on disk. A record cut short by a crash is dropped on open. The file is
 * rewritten (temporary file, fsync, rename) when it holds twice the capacity.
 *
 * Write failures (disk full, read-only file system) throw {@linkcode DedupStoreError} from
 * `flush()`; the ids stay in memory and are written by a later flush, and the file is cut back to
 * its last complete record so a partial write never corrupts it.
 *
 * @module
 */
import { byteString } from "../_util/utf8.ts";
import { writeFileAtomically } from "../_util/fs.ts";
import { DedupStoreError } from "./errors.ts";

const MAGIC = new TextEncoder().encode("PTBDDUP1");
const RECORD = 24;

/** Options of {@linkcode DedupStore.open}. */
export interface DedupStoreOptions {
  /** Ids kept; the oldest are forgotten beyond it. @default 100000 */
  capacity?: number;
  /** Ids older than this many ms are forgotten. @default 7 days */
  maxAgeMs?: number;
}

/** The key of a 16-byte id in the order of additions and the unwritten list. */
const key = byteString;

/** `id`, if it has the 16 bytes of an id. */
function checked(id: Uint8Array): Uint8Array {
  if (id.length !== 16) throw new RangeError(`a message id has 16 bytes, not ${id.length}`);
  return id;
}

function keyBytes(k: string, out: Uint8Array, at: number): void {
  for (let i = 0; i < 16; i++) out[at + i] = k.charCodeAt(i);
}

/**
 * Recently seen message ids, in memory and (optionally) in a file.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { DedupStore } from "./dedup.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.remove(path);
 * const store = await DedupStore.open(path);
 * const id = new Uint8Array(16).fill(7);
 * store.add(id);
 * await store.close();
 * const again = await DedupStore.open(path);
 * assert(again.has(id));
 * await again.close();
 * ```
 */
export class DedupStore implements AsyncDisposable {
  /** The state file, or null for memory only. */
  readonly path: string | null;
  /** Ids kept at most. */
  readonly capacity: number;
  /** Age limit in ms. */
  readonly maxAgeMs: number;
  /** Id -> its position in the order of additions (`#order`). */
  readonly #ids = new IdIndex();
  /**
   * Every addition in order, with its time, from `#head` on (positions start at `#base`); an
   * entry whose id was added again later is stale and skipped. Eviction takes the oldest from
   * here: walking the Map from its start instead passes every entry deleted since V8 last rebuilt
   * the table, which made `add` cost grow with the churn (a quarter of from-kafka's CPU).
   */
  #order = new AddOrder();
  /**
   * Ids added since the last flush, in order of their last addition; only ids still held (an
   * evicted id leaves it too), so at most `capacity` and none lost while the disk refuses writes.
   */
  #pending = new Set<string>();
  #file: Deno.FsFile | null = null;
  /** Bytes of complete records (and magic) in the file. */
  #fileBytes = 0;
  #flushing: Promise<void> | null = null;

  private constructor(path: string | null, options: DedupStoreOptions) {
    this.path = path;
    this.capacity = Math.max(1, Math.floor(options.capacity ?? 100_000));
    this.maxAgeMs = options.maxAgeMs ?? 7 * 24 * 3600_000;
  }

  /**
   * Opens (or creates) a store; `null` gives a memory-only store.
   *
   * @param path the state file (its directory must exist), or null
   * @param options capacity and age limit
   * @returns the store, loaded with the file's ids
   * @throws DedupStoreError when the file cannot be read or created, or is not a dedup file
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { DedupStore } from "./dedup.ts";
   * const mem = await DedupStore.open(null, { capacity: 10 });
   * assertEquals(mem.size, 0);
   * ```
   */
  static async open(path: string | null, options: DedupStoreOptions = {}): Promise<DedupStore> {
    const store = new DedupStore(path, options);
    if (path !== null) await store.#load(path);
    return store;
  }

  async #load(path: string): Promise<void> {
    let data: Uint8Array | null = null;
    try {
      data = await Deno.readFile(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        throw new DedupStoreError(path, `cannot read: ${(e as Error).message}`, { cause: e });
      }
    }
    const now = Date.now();
    if (data && data.length > 0) {
      const magicOk = data.length >= MAGIC.length && MAGIC.every((b, i) => data![i] === b);
      if (!magicOk) {
        throw new DedupStoreError(
          path,
          "not a posttroll-bridge dedup file (bad magic); not touched",
        );
      }
      const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
      const whole = Math.floor((data.length - MAGIC.length) / RECORD);
      for (let r = 0; r < whole; r++) {
        const at = MAGIC.length + r * RECORD;
        const t = view.getFloat64(at + 16, true);
        if (now - t > this.maxAgeMs) continue;
        this.#put(key(data.subarray(at, at + 16)), t);
      }
      this.#evict(now);
      this.#fileBytes = MAGIC.length + whole * RECORD;
    }
    try {
      this.#file = await Deno.open(path, { read: true, write: true, create: true });
      if (this.#fileBytes === 0) {
        await this.#file.truncate(0);
        await this.#writeAll(MAGIC, 0);
        this.#fileBytes = MAGIC.length;
        await this.#file.syncData();
      } else {
        await this.#file.truncate(this.#fileBytes); // drop a record cut short by a crash
      }
    } catch (e) {
      this.#file?.close();
      this.#file = null;
      throw new DedupStoreError(path, `cannot open for writing: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }

  async #writeAll(bytes: Uint8Array, at: number): Promise<void> {
    const f = this.#file!;
    await f.seek(at, Deno.SeekMode.Start);
    let off = 0;
    while (off < bytes.length) off += await f.write(bytes.subarray(off));
  }

  /** Adds `k` at time `t`, or moves it to the end with the new time. */
  #put(k: string, t: number): void {
    this.#ids.set(k, this.#order.push(k, t));
    // stale entries (ids added again) beyond the live ones: rebuild with the live ones, in order
    if (this.#order.length > 2 * this.#ids.size + 1024) {
      const order = new AddOrder();
      for (const [id, at] of this.#live()) this.#ids.set(id, order.push(id, this.#order.time(at)));
      this.#order = order;
    }
  }

  /** The ids held, with their positions, oldest first (an id added again counts as new). */
  *#live(): Generator<[string, number]> {
    for (const [k, at] of this.#order.entries()) if (this.#ids.get(k) === at) yield [k, at];
  }

  /** The time `k` was added, if it is held. */
  #timeOf(k: string): number | undefined {
    const at = this.#ids.get(k);
    return at === undefined ? undefined : this.#order.time(at);
  }

  /** Forgets the oldest ids while there are more than `capacity` or they are too old. */
  #evict(now: number): void {
    const order = this.#order;
    while (order.length > 0) {
      const k = order.firstKey, at = order.firstAt;
      if (this.#ids.get(k) === at) {
        if (this.#ids.size <= this.capacity && now - order.time(at) <= this.maxAgeMs) break;
        this.#ids.delete(k);
        this.#pending.delete(k);
      }
      order.shift();
    }
  }

  /** Ids held in memory. */
  get size(): number {
    return this.#ids.size;
  }

  /** Ids added and not yet written to the file. */
  get unflushed(): number {
    return this.#pending.size;
  }

  /**
   * Whether `id` was added (and not yet forgotten).
   *
   * @param id 16 bytes
   * @returns true for a known id
   * @throws RangeError when `id` is not 16 bytes long
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { DedupStore } from "./dedup.ts";
   * assertEquals((await DedupStore.open(null)).has(new Uint8Array(16)), false);
   * ```
   */
  has(id: Uint8Array): boolean {
    return this.#ids.findBytes(checked(id)) >= 0;
  }

  /**
   * Remembers `id` (in memory now; in the file at the next {@linkcode flush}).
   *
   * @param id 16 bytes
   * @param now the time to record @default Date.now()
   * @throws RangeError when `id` is not 16 bytes long
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { DedupStore } from "./dedup.ts";
   * const s = await DedupStore.open(null);
   * s.add(new Uint8Array(16));
   * assertEquals(s.size, 1);
   * ```
   */
  add(id: Uint8Array, now: number = Date.now()): void {
    const k = key(checked(id));
    this.#put(k, now);
    this.#evict(now);
    if (this.path === null) return;
    this.#pending.delete(k); // its last addition is the one written
    this.#pending.add(k);
  }

  /**
   * Writes the ids added since the last flush and syncs the file. Concurrent calls share one
   * write.
   *
   * @throws DedupStoreError when the write or sync fails (the ids are kept for the next flush)
   * @example
   * ```ts
   * import { assert, assertEquals } from "@std/assert";
   * import { DedupStore } from "./dedup.ts";
   * const path = await Deno.makeTempFile();
   * const store = await DedupStore.open(path);
   * store.add(new Uint8Array(16).fill(1));
   * assertEquals(store.unflushed, 1);
   * await store.flush();
   * assertEquals(store.unflushed, 0);
   * await store.close();
   * const again = await DedupStore.open(path); // a restart reads the ids back
   * assert(again.has(new Uint8Array(16).fill(1)));
   * await again.close();
   * await Deno.remove(path);
   * ```
   */
  async flush(): Promise<void> {
    while (this.#flushing) await this.#flushing.catch(() => {});
    if (!this.#file || this.#pending.size === 0) return;
    this.#flushing = this.#write().finally(() => (this.#flushing = null));
    await this.#flushing;
  }

  async #write(): Promise<void> {
    const path = this.path!;
    const batch = [...this.#pending];
    this.#pending = new Set();
    if (batch.length === 0) return;
    const buf = new Uint8Array(batch.length * RECORD);
    const view = new DataView(buf.buffer);
    for (let i = 0; i < batch.length; i++) {
      keyBytes(batch[i], buf, i * RECORD);
      view.setFloat64(i * RECORD + 16, this.#timeOf(batch[i])!, true);
    }
    try {
      await this.#writeAll(buf, this.#fileBytes);
      await this.#file!.syncData();
      this.#fileBytes += buf.length;
    } catch (e) {
      // back in front of what was added meanwhile, unless evicted or added again since
      const kept = new Set(batch.filter((k) => this.#ids.has(k) && !this.#pending.has(k)));
      for (const k of this.#pending) kept.add(k);
      this.#pending = kept;
      await this.#file!.truncate(this.#fileBytes).catch(() => {});
      throw new DedupStoreError(path, `cannot persist ids: ${(e as Error).message}`, { cause: e });
    }
    if (this.#fileBytes > MAGIC.length + 2 * (this.capacity + 1024) * RECORD) await this.#compact();
  }

  async #compact(): Promise<void> {
    const path = this.path!;
    const buf = new Uint8Array(MAGIC.length + this.#ids.size * RECORD);
    buf.set(MAGIC, 0);
    const view = new DataView(buf.buffer);
    let at = MAGIC.length;
    for (const [k, pos] of this.#live()) {
      keyBytes(k, buf, at);
      view.setFloat64(at + 16, this.#order.time(pos), true);
      at += RECORD;
    }
    try {
      await writeFileAtomically(path, buf);
    } catch (e) {
      throw new DedupStoreError(path, `cannot compact: ${(e as Error).message}`, { cause: e });
    }
    this.#file!.close();
    this.#file = await Deno.open(path, { read: true, write: true });
    this.#fileBytes = buf.length;
  }

  /**
   * Flushes (errors are thrown) and closes the file.
   *
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { DedupStore } from "./dedup.ts";
   * const store = await DedupStore.open(null); // in memory only
   * store.add(new Uint8Array(16));
   * await store.close(); // nothing to write
   * assertEquals(store.size, 1);
   * ```
   */
  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      this.#file?.close();
      this.#file = null;
    }
  }

  /** Same as {@linkcode close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Additions in order (id and time) as a queue with absolute positions. */
class AddOrder {
  #keys: string[] = [];
  #times: number[] = [];
  /** Position of `#keys[0]`. */
  #base = 0;
  /** Index of the first entry not yet taken. */
  #head = 0;

  /** Entries not yet taken (stale ones included). */
  get length(): number {
    return this.#keys.length - this.#head;
  }

  /** The oldest entry's id. */
  get firstKey(): string {
    return this.#keys[this.#head];
  }

  /** The oldest entry's position. */
  get firstAt(): number {
    return this.#base + this.#head;
  }

  /** Appends an entry; returns its position. */
  push(k: string, t: number): number {
    this.#keys.push(k);
    this.#times.push(t);
    return this.#base + this.#keys.length - 1;
  }

  /** The time of the entry at a position not yet taken. */
  time(at: number): number {
    return this.#times[at - this.#base];
  }

  /** The entries not yet taken, oldest first, with their positions. */
  *entries(): Generator<[string, number]> {
    for (let i = this.#head; i < this.#keys.length; i++) yield [this.#keys[i], this.#base + i];
  }

  /** Drops the oldest entry (the arrays are cut once half of them is taken). */
  shift(): void {
    this.#head++;
    if (this.#head >= 1024 && 2 * this.#head >= this.#keys.length) {
      this.#keys = this.#keys.slice(this.#head);
      this.#times = this.#times.slice(this.#head);
      this.#base += this.#head;
      this.#head = 0;
    }
  }
}

/** A random 32-bit value: the index's hash differs from process to process. */
function seed(): number {
  return crypto.getRandomValues(new Int32Array(1))[0];
}

const SEED = [seed(), seed(), seed(), seed()];

/** Slot of an id given as four 32-bit words (a seeded mix: ids come from other producers too). */
function slotOf(w0: number, w1: number, w2: number, w3: number, mask: number): number {
  let h = Math.imul(w0 ^ SEED[0], 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15) ^ w1 ^ SEED[1], 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 13) ^ w2 ^ SEED[2], 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 16) ^ w3 ^ SEED[3], 0x165667b1);
  return (h ^ (h >>> 15)) & mask;
}

/** The i-th 32-bit word of a 16-character key. */
function keyWord(k: string, i: number): number {
  const o = 4 * i;
  return (k.charCodeAt(o) << 24) | (k.charCodeAt(o + 1) << 16) | (k.charCodeAt(o + 2) << 8) |
    k.charCodeAt(o + 3);
}

/** The i-th 32-bit word of 16 bytes. */
function byteWord(b: Uint8Array, i: number): number {
  const o = 4 * i;
  return (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
}

/**
 * 16-byte ids -> a number, in an open-addressing table of 32-bit words (linear probing, at most
 * half full, doubled when needed). A lookup by bytes builds no string, and the table is a few
 * typed arrays instead of a Map entry and a string per id (a Map lookup of a fresh key was ~5 %
 * of from-kafka's CPU).
 */
class IdIndex {
  #words = new Int32Array(64);
  #values = new Float64Array(16);
  #used = new Uint8Array(16);
  #mask = 15;
  /** Ids held. */
  size = 0;

  /** The slot holding the id of these words, or `~slot` of the free slot where it would go. */
  #find(w0: number, w1: number, w2: number, w3: number): number {
    const words = this.#words, used = this.#used, mask = this.#mask;
    let i = slotOf(w0, w1, w2, w3, mask);
    while (used[i] !== 0) {
      const o = 4 * i;
      if (words[o] === w0 && words[o + 1] === w1 && words[o + 2] === w2 && words[o + 3] === w3) {
        return i;
      }
      i = (i + 1) & mask;
    }
    return ~i;
  }

  /** Slot of a 16-byte id, or `~slot` when absent. */
  findBytes(b: Uint8Array): number {
    return this.#find(byteWord(b, 0), byteWord(b, 1), byteWord(b, 2), byteWord(b, 3));
  }

  #findKey(k: string): number {
    return this.#find(keyWord(k, 0), keyWord(k, 1), keyWord(k, 2), keyWord(k, 3));
  }

  /** The value of a key (16 characters below U+0100), if held. */
  get(k: string): number | undefined {
    const i = this.#findKey(k);
    return i >= 0 ? this.#values[i] : undefined;
  }

  /** Whether a key is held. */
  has(k: string): boolean {
    return this.#findKey(k) >= 0;
  }

  /** Sets a key's value (adds it if absent). */
  set(k: string, v: number): void {
    let i = this.#findKey(k);
    if (i < 0) {
      if (2 * (this.size + 1) > this.#used.length) {
        this.#grow();
        i = this.#findKey(k);
      }
      i = ~i;
      const o = 4 * i;
      this.#words[o] = keyWord(k, 0);
      this.#words[o + 1] = keyWord(k, 1);
      this.#words[o + 2] = keyWord(k, 2);
      this.#words[o + 3] = keyWord(k, 3);
      this.#used[i] = 1;
      this.size++;
    }
    this.#values[i] = v;
  }

  /** Forgets a key; later entries of its probe run move back (no tombstones). */
  delete(k: string): void {
    let i = this.#findKey(k);
    if (i < 0) return;
    const words = this.#words, used = this.#used, values = this.#values, mask = this.#mask;
    let j = i;
    while (true) {
      j = (j + 1) & mask;
      if (used[j] === 0) break;
      const o = 4 * j;
      const home = slotOf(words[o], words[o + 1], words[o + 2], words[o + 3], mask);
      // an entry whose home lies cyclically in (i, j] stays where it is
      if (i <= j ? i < home && home <= j : i < home || home <= j) continue;
      words.copyWithin(4 * i, o, o + 4);
      values[i] = values[j];
      i = j;
    }
    used[i] = 0;
    this.size--;
  }

  /** Doubles the table. */
  #grow(): void {
    const words = this.#words, used = this.#used, values = this.#values;
    const n = 2 * used.length;
    this.#words = new Int32Array(4 * n);
    this.#values = new Float64Array(n);
    this.#used = new Uint8Array(n);
    this.#mask = n - 1;
    for (let i = 0; i < used.length; i++) {
      if (used[i] === 0) continue;
      const o = 4 * i;
      const at = ~this.#find(words[o], words[o + 1], words[o + 2], words[o + 3]);
      this.#words.set(words.subarray(o, o + 4), 4 * at);
      this.#values[at] = values[i];
      this.#used[at] = 1;
    }
  }
}
