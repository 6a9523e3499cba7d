// Unit tests of the bridge's duplicate-suppression store (lib/bridge/dedup.ts): memory-only and
// file-backed modes, crash repair, foreign files, capacity and age limits, compaction, concurrent
// flushes, and a real full file system (a small tmpfs) for the disk-full path.
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertMatch,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import { DedupStore } from "../../lib/bridge/dedup.ts";
import { DedupStoreError } from "../../lib/bridge/errors.ts";
import { messageIdentity } from "../../lib/bridge/identity.ts";

const MAGIC = "PTBDDUP1";
const RECORD = 24;
const enc = new TextEncoder();

/** A realistic 16-byte id (bytes of every value occur). */
function id(n: number): Uint8Array {
  return messageIdentity(enc.encode(`pytroll://x/${n} info u@h 2024-01-01T00:00:00 v1.2`));
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** The file's records (id hex, time), checking the magic and that no partial record is left. */
async function records(path: string): Promise<Array<[string, number]>> {
  const data = await Deno.readFile(path);
  assertEquals(new TextDecoder().decode(data.subarray(0, 8)), MAGIC);
  assertEquals((data.length - 8) % RECORD, 0, `partial record in ${path} (${data.length} bytes)`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out: Array<[string, number]> = [];
  for (let at = 8; at < data.length; at += RECORD) {
    out.push([hex(data.subarray(at, at + 16)), view.getFloat64(at + 16, true)]);
  }
  return out;
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dedup-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("dedup: memory-only store remembers ids, never touches a file, evicts by capacity", async () => {
  const s = await DedupStore.open(null, { capacity: 3 });
  assertStrictEquals(s.path, null);
  assertEquals(s.capacity, 3);
  assertEquals(s.size, 0);
  assert(!s.has(id(1)));
  s.add(id(1));
  assert(s.has(id(1)));
  assert(s.has(id(1).slice()), "compared by value");
  assert(!s.has(id(2)));
  s.add(id(2));
  s.add(id(3));
  s.add(id(4));
  assertEquals(s.size, 3);
  assert(!s.has(id(1)), "oldest forgotten");
  assertEquals(s.unflushed, 0, "nothing to write without a file");
  await s.flush();
  await s.close();
  await s.close(); // twice is fine
  // defaults
  await using d = await DedupStore.open(null);
  assertEquals(d.capacity, 100_000);
  assertEquals(d.maxAgeMs, 7 * 24 * 3600_000);
});

Deno.test("dedup: ids persist across close and open; the file is magic + 24-byte records", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/b.dedup`;
    const t0 = Date.now();
    {
      await using s = await DedupStore.open(path);
      assertEquals(s.path, path);
      assertEquals(await records(path), [], "a new file holds the magic");
      for (let i = 0; i < 50; i++) s.add(id(i), t0 + i);
      assertEquals(s.unflushed, 50);
      await s.flush();
      assertEquals(s.unflushed, 0);
      const recs = await records(path);
      assertEquals(recs.length, 50);
      assertEquals(recs[7], [hex(id(7)), t0 + 7]);
      s.add(id(50), t0 + 50); // written by close()
    }
    assertEquals((await records(path)).length, 51);
    await using again = await DedupStore.open(path);
    assertEquals(again.size, 51);
    for (let i = 0; i <= 50; i++) assert(again.has(id(i)), `id ${i}`);
    assert(!again.has(id(51)));
  });
});

Deno.test("dedup: a record cut short by a crash is dropped on open and the file repaired", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/c.dedup`;
    {
      await using s = await DedupStore.open(path);
      for (let i = 0; i < 5; i++) s.add(id(i));
    }
    // a crash in the middle of the sixth record
    const partial = new Uint8Array(RECORD);
    partial.set(id(5));
    const f = await Deno.open(path, { append: true });
    await f.write(partial.subarray(0, 13));
    f.close();
    assertEquals((await Deno.stat(path)).size, 8 + 5 * RECORD + 13);

    const s = await DedupStore.open(path);
    try {
      assertEquals(s.size, 5);
      for (let i = 0; i < 5; i++) assert(s.has(id(i)));
      assert(!s.has(id(5)));
      assertEquals((await Deno.stat(path)).size, 8 + 5 * RECORD, "cut back on open");
      s.add(id(6));
      await s.flush();
    } finally {
      await s.close();
    }
    const recs = await records(path);
    assertEquals(recs.map(([h]) => h), [0, 1, 2, 3, 4, 6].map((i) => hex(id(i))));
  });
});

Deno.test("dedup: a file that is not a dedup file is refused (DedupStoreError) and left untouched", async () => {
  await withDir(async (dir) => {
    for (
      const content of [
        enc.encode("hello, this is someone else's file\n"),
        enc.encode("PTBDDUP2" + "x".repeat(24)), // another version
        enc.encode("PTB"), // shorter than the magic
      ]
    ) {
      const path = `${dir}/foreign`;
      await Deno.writeFile(path, content);
      const before = await Deno.stat(path);
      const e = await assertRejects(() => DedupStore.open(path), DedupStoreError, "bad magic");
      assertEquals(e.path, path);
      assertEquals(e.name, "DedupStoreError");
      assertEquals(await Deno.readFile(path), content);
      assertEquals((await Deno.stat(path)).mtime, before.mtime);
    }
    // an empty file is taken over (a crash before the magic was written)
    const empty = `${dir}/empty`;
    await Deno.writeFile(empty, new Uint8Array(0));
    await (await DedupStore.open(empty)).close();
    assertEquals(await records(empty), []);
  });
});

Deno.test("dedup: a missing parent directory or an unreadable path fails at open", async () => {
  await withDir(async (dir) => {
    const e = await assertRejects(
      () => DedupStore.open(`${dir}/missing/sub/x.dedup`),
      DedupStoreError,
    );
    assertEquals(e.path, `${dir}/missing/sub/x.dedup`);
    assert(e.cause !== undefined, "the OS error is the cause");
    await assertRejects(() => DedupStore.open(dir), DedupStoreError); // a directory
  });
});

Deno.test("dedup: capacity evicts the oldest first (re-adding refreshes), in memory and on disk", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/cap.dedup`;
    {
      await using s = await DedupStore.open(path, { capacity: 3 });
      s.add(id(1));
      s.add(id(2));
      s.add(id(3));
      s.add(id(4));
      assertEquals(s.size, 3);
      assert(!s.has(id(1)));
      s.add(id(2)); // refresh: 3 is now the oldest
      s.add(id(5));
      assertEquals([1, 2, 3, 4, 5].map((i) => s.has(id(i))), [false, true, false, true, true]);
      assert(s.unflushed <= 3, "unwritten ids are bounded by the capacity");
    }
    await using a = await DedupStore.open(path, { capacity: 3 });
    assertEquals([1, 2, 3, 4, 5].map((i) => a.has(id(i))), [false, true, false, true, true]);
    await using b = await DedupStore.open(`${dir}/cap.dedup`, { capacity: 2 });
    assertEquals([1, 2, 3, 4, 5].map((i) => b.has(id(i))), [false, true, false, false, true]);
  });
});

Deno.test("dedup: an id still held is written even when more than `capacity` additions come before the flush", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/held.dedup`;
    {
      await using s = await DedupStore.open(path, { capacity: 10 });
      s.add(id(0));
      // 150 additions of five other ids: six ids held, far more additions than the capacity
      for (let round = 0; round < 30; round++) for (let i = 1; i <= 5; i++) s.add(id(i));
      assertEquals(s.size, 6);
      assertEquals(s.unflushed, 6, "one unwritten entry per id held");
      for (let i = 11; i < 25; i++) s.add(id(i)); // evicts 0-5 (and 11-14) again
      assert(s.unflushed <= 10, "unwritten ids are bounded by the capacity");
      assertEquals(s.unflushed, s.size, "evicted ids are not kept for the file");
      await s.flush();
    }
    await using a = await DedupStore.open(path, { capacity: 10 });
    assertEquals([0, 1, 5, 14, 15, 24].map((i) => a.has(id(i))), [
      false,
      false,
      false,
      false,
      true,
      true,
    ]);
  });
  await withDir(async (dir) => {
    const path = `${dir}/held2.dedup`;
    {
      await using s = await DedupStore.open(path, { capacity: 10 });
      s.add(id(0));
      for (let round = 0; round < 30; round++) for (let i = 1; i <= 5; i++) s.add(id(i));
      await s.flush();
    }
    await using a = await DedupStore.open(path, { capacity: 10 });
    assertEquals([0, 1, 2, 3, 4, 5].map((i) => a.has(id(i))), [true, true, true, true, true, true]);
    assertEquals((await records(path)).length, 6, "each id written once, with its last addition");
  });
});

Deno.test("dedup: the eviction order survives many re-adds and long runs (order queue rebuilt and cut)", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/order.dedup`;
    {
      await using s = await DedupStore.open(path, { capacity: 3, maxAgeMs: 1000 });
      s.add(id(1), 10);
      s.add(id(2), 10);
      s.add(id(3), 10);
      // the same id added again and again, same time included: it stays the newest
      for (let i = 0; i < 5000; i++) s.add(id(1), 10 + (i % 2));
      s.add(id(4), 20);
      assertEquals([1, 2, 3, 4].map((i) => s.has(id(i))), [true, false, true, true]);
      s.add(id(5), 1012); // 3 is older than maxAgeMs now, 1 (time 11) too
      assertEquals([1, 2, 3, 4, 5].map((i) => s.has(id(i))), [false, false, false, true, true]);
      await s.flush();
    }
    // the times written are those of the last add
    await using again = await DedupStore.open(path, { capacity: 3, maxAgeMs: Infinity });
    assertEquals([1, 2, 3, 4, 5].map((i) => again.has(id(i))), [false, false, false, true, true]);
    assertEquals(
      (await records(path)).filter(([h]) => h === hex(id(4)) || h === hex(id(5))).map(([, t]) => t),
      [20, 1012],
    );
  });
  const m = await DedupStore.open(null, { capacity: 10 });
  for (let i = 0; i < 5000; i++) m.add(id(i));
  assertEquals(m.size, 10);
  assert(!m.has(id(4989)));
  for (let i = 4990; i < 5000; i++) assert(m.has(id(i)), `id ${i} kept`);
});

Deno.test("dedup: maxAgeMs forgets old ids (the `now` of add), and they do not come back from the file", async () => {
  const t = 1_000_000;
  const m = await DedupStore.open(null, { maxAgeMs: 1000 });
  m.add(id(1), t);
  m.add(id(2), t + 500);
  m.add(id(3), t + 1500);
  assertEquals([1, 2, 3].map((i) => m.has(id(i))), [false, true, true]); // 2 is exactly 1000 old
  m.add(id(4), t + 2501);
  assertEquals([1, 2, 3, 4].map((i) => m.has(id(i))), [false, false, false, true]);
  assertEquals(m.size, 1);
  await m.close();

  await withDir(async (dir) => {
    const path = `${dir}/age.dedup`;
    const now = Date.now();
    const hour = 3600_000;
    {
      await using s = await DedupStore.open(path, { maxAgeMs: hour });
      s.add(id(10), now - 2 * hour); // forgotten when id 11 comes
      s.add(id(11), now);
      assert(!s.has(id(10)));
      s.add(id(12), now - 0.5 * hour); // still fresh now, too old in an hour
      await s.flush();
      assertEquals((await records(path)).map(([h]) => h), [hex(id(11)), hex(id(12))]);
    }
    await using again = await DedupStore.open(path, { maxAgeMs: hour });
    assertEquals([10, 11, 12].map((i) => again.has(id(i))), [false, true, true]);
    // a shorter limit at open drops the records older than it
    await using strict = await DedupStore.open(`${dir}/age.dedup`, { maxAgeMs: 0.25 * hour });
    assertEquals([10, 11, 12].map((i) => strict.has(id(i))), [false, true, false]);
  });
});

Deno.test("dedup: the file is compacted beyond 2*(capacity+1024) records and reloads the same ids", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/compact.dedup`;
    const capacity = 100;
    const limit = 2 * (capacity + 1024);
    const s = await DedupStore.open(path, { capacity });
    try {
      // flushed every `capacity` adds (unwritten ids are bounded by the capacity)
      for (let i = 0; i < limit; i++) {
        s.add(id(i));
        if (s.unflushed === capacity) await s.flush();
      }
      await s.flush();
      assertEquals((await Deno.stat(path)).size, 8 + limit * RECORD, "not yet compacted");
      s.add(id(limit));
      await s.flush();
      assertEquals((await Deno.stat(path)).size, 8 + capacity * RECORD, "compacted");
      const newest = Array.from({ length: capacity }, (_, k) => limit - capacity + 1 + k);
      assertEquals((await records(path)).map(([h]) => h), newest.map((i) => hex(id(i))));
      for (let i = 0; i <= limit; i++) assertEquals(s.has(id(i)), i > limit - capacity, `id ${i}`);
      // appending goes on after the compaction
      s.add(id(limit + 1));
      await s.flush();
      assertEquals((await records(path)).length, capacity + 1);
    } finally {
      await s.close();
    }
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["compact.dedup"], "no temp file");
    await using again = await DedupStore.open(path, { capacity });
    assertEquals(again.size, capacity);
    for (let i = 0; i <= limit + 1; i++) {
      assertEquals(again.has(id(i)), i > limit + 1 - capacity, `reloaded id ${i}`);
    }
  });
});

Deno.test("dedup: concurrent flush() calls with adds in between write every record once", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/conc.dedup`;
    const s = await DedupStore.open(path);
    const flushes: Promise<void>[] = [];
    try {
      for (let round = 0; round < 10; round++) {
        for (let i = 0; i < 25; i++) s.add(id(round * 25 + i), 1e12 + round * 25 + i);
        flushes.push(s.flush(), s.flush());
      }
      await Promise.all(flushes);
      assertEquals(s.unflushed, 0);
    } finally {
      await s.close();
    }
    const recs = await records(path);
    assertEquals(recs.length, 250);
    assertEquals(recs.map(([h]) => h), Array.from({ length: 250 }, (_, i) => hex(id(i))));
    assertEquals(recs.map(([, t]) => t), Array.from({ length: 250 }, (_, i) => 1e12 + i));
  });
});

async function run(cmd: string, args: string[]): Promise<{ ok: boolean; text: string }> {
  try {
    const o = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    return {
      ok: o.success,
      text: new TextDecoder().decode(o.stdout) + new TextDecoder().decode(o.stderr),
    };
  } catch (e) {
    return { ok: false, text: (e as Error).message };
  }
}

Deno.test("dedup: on a full file system flush() fails cleanly, keeps the ids, and writes them once space is back", async () => {
  if (Deno.build.os !== "linux" || Deno.uid() !== 0) {
    console.log("SKIPPED: mounting a small tmpfs needs root on Linux; disk-full path not tested");
    return;
  }
  await withDir(async (dir) => {
    const mnt = `${dir}/mnt`;
    await Deno.mkdir(mnt);
    const mounted = await run("mount", ["-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", mnt]);
    if (!mounted.ok) {
      console.log(`SKIPPED: cannot mount a tmpfs (${mounted.text.trim()}); disk-full not tested`);
      return;
    }
    try {
      const path = `${mnt}/full.dedup`;
      const filler = `${mnt}/filler`;
      // 170 records fill the file's first 4 KiB page but 8 bytes: the next record needs a page
      const OLD = 170;
      const NEW = 5;
      const s = await DedupStore.open(path);
      try {
        for (let i = 0; i < OLD; i++) s.add(id(i));
        await s.flush();
        assertEquals((await Deno.stat(path)).size, 8 + OLD * RECORD);

        // fill the file system
        const f = await Deno.open(filler, { write: true, create: true });
        let full: Error | undefined;
        try {
          const chunk = new Uint8Array(4096).fill(1);
          for (let n = 0; n < 10_000 && !full; n++) {
            try {
              await f.write(chunk);
            } catch (e) {
              full = e as Error;
            }
          }
        } finally {
          f.close();
        }
        assert(full, "the 64 KiB tmpfs never filled up");
        assertMatch(full.message, /No space left|ENOSPC|os error 28/);

        for (let i = OLD; i < OLD + NEW; i++) s.add(id(i));
        const e = await assertRejects(() => s.flush(), DedupStoreError);
        assertMatch(e.message, /No space left on device|ENOSPC|os error 28/);
        assertEquals(e.path, path);
        // the ids stay in memory and pending
        for (let i = 0; i < OLD + NEW; i++) assert(s.has(id(i)), `id ${i} still known`);
        assertEquals(s.unflushed, NEW);
        // the file holds the old records only, no partial one, and loads elsewhere
        assertEquals((await Deno.stat(path)).size, 8 + OLD * RECORD, "partial write cut back");
        assertEquals((await records(path)).length, OLD);
        const copy = `${dir}/copy.dedup`;
        await Deno.copyFile(path, copy);
        {
          await using c = await DedupStore.open(copy);
          assertEquals(c.size, OLD);
          assert(c.has(id(0)) && c.has(id(OLD - 1)) && !c.has(id(OLD)));
        }
        // a second attempt while still full fails the same way and keeps them again
        await assertRejects(() => s.flush(), DedupStoreError, "No space left");
        assertEquals(s.unflushed, NEW);

        // space comes back: the next flush writes them
        await Deno.remove(filler);
        await s.flush();
        assertEquals(s.unflushed, 0);
        assertEquals((await records(path)).length, OLD + NEW);
      } finally {
        await s.close();
      }
      await using again = await DedupStore.open(path);
      assertEquals(again.size, OLD + NEW);
      for (let i = 0; i < OLD + NEW; i++) assert(again.has(id(i)), `reloaded id ${i}`);
    } finally {
      const u = await run("umount", [mnt]);
      if (!u.ok) console.log(`umount ${mnt} failed: ${u.text}`);
    }
  });
});

Deno.test("dedup: DedupStoreError is a typed BridgeError with path and cause", async () => {
  await withDir(async (dir) => {
    const e = await assertRejects(() => DedupStore.open(`${dir}/no/such/dir/x`), DedupStoreError);
    assertInstanceOf(e, Error);
    assertMatch(e.message, new RegExp(`^${dir}/no/such/dir/x: `));
  });
});

Deno.test("dedup: add after has of the same array, changed in between, remembers the changed id", async () => {
  const s = await DedupStore.open(null);
  const buf = new Uint8Array(16).fill(1);
  assertEquals(s.has(buf), false);
  buf[15] = 2; // a caller reusing its buffer
  s.add(buf);
  assertEquals(s.has(new Uint8Array(16).fill(1)), false);
  const two = new Uint8Array(16).fill(1);
  two[15] = 2;
  assertEquals(s.has(two), true);
  // and unchanged: the id of the last has() is added
  const three = new Uint8Array(16).fill(3);
  assertEquals(s.has(three), false);
  s.add(three);
  assertEquals(s.has(new Uint8Array(16).fill(3)), true);
  assertEquals(s.size, 2);
  await s.close();
});

Deno.test("dedup: holds what an insertion-ordered map with the same limits holds, through growth, re-adds, evictions and a reopen", async () => {
  // the model: a Map in order of the last addition; the oldest go beyond capacity or age
  class Model {
    readonly m = new Map<string, number>();
    constructor(readonly capacity: number, readonly maxAgeMs: number) {}
    add(k: string, t: number): void {
      this.m.delete(k);
      this.m.set(k, t);
      for (const [old, at] of this.m) {
        if (this.m.size <= this.capacity && t - at <= this.maxAgeMs) break;
        this.m.delete(old);
      }
    }
  }
  let x = 7;
  const random = (n: number) => {
    x = (x * 1103515245 + 12345) >>> 0;
    return (x >>> 8) % n;
  };
  // ids sharing their first bytes too (a table slot depends on all 16)
  const pool = Array.from({ length: 400 }, (_, i) => {
    const b = i < 200 ? id(i) : new Uint8Array(16).fill(9);
    if (i >= 200) b[15 - (i % 16)] = i;
    return b;
  });
  await withDir(async (dir) => {
    // the file is flushed at least once per `capacity` additions (the store keeps at most that
    // many unwritten additions); small capacities stay in memory (a sync per few additions)
    for (const [capacity, maxAgeMs] of [[1, 1e12], [7, 1e12], [50, 1e12], [300, 1e12], [60, 40]]) {
      const path = capacity >= 50 ? `${dir}/ids-${capacity}-${maxAgeMs}` : null;
      const s = await DedupStore.open(path, { capacity, maxAgeMs });
      const model = new Model(capacity, maxAgeMs);
      let t = Date.now() - 1_000_000;
      for (let step = 0; step < 6000; step++) {
        t += random(3);
        const i = random(step % 3 === 0 ? 20 : pool.length); // a few ids come back often
        s.add(pool[i], t);
        model.add(hex(pool[i]), t);
        assertEquals(s.size, model.m.size, `capacity ${capacity}, step ${step}: size`);
        const probe = random(pool.length);
        assertEquals(
          s.has(pool[probe]),
          model.m.has(hex(pool[probe])),
          `capacity ${capacity}, step ${step}: has id ${probe}`,
        );
        if (step % capacity === capacity - 1) await s.flush();
      }
      for (let i = 0; i < pool.length; i++) {
        assertEquals(s.has(pool[i]), model.m.has(hex(pool[i])), `capacity ${capacity}: id ${i}`);
      }
      await s.close();
      // ages count from the real clock when the file is read
      if (path === null || maxAgeMs < 1e12) continue;
      const again = await DedupStore.open(path, { capacity, maxAgeMs });
      assertEquals(again.size, model.m.size, `capacity ${capacity}: size after reopen`);
      for (let i = 0; i < pool.length; i++) {
        assertEquals(
          again.has(pool[i]),
          model.m.has(hex(pool[i])),
          `capacity ${capacity}: reopened, id ${i}`,
        );
      }
      await again.close();
    }
  });
});

Deno.test("dedup: an id has 16 bytes (RangeError otherwise)", async () => {
  const s = await DedupStore.open(null);
  assertThrows(() => s.has(new Uint8Array(15)), RangeError, "16 bytes");
  assertThrows(() => s.add(new Uint8Array(17)), RangeError, "16 bytes");
  assertEquals(s.size, 0);
  await s.close();
});
