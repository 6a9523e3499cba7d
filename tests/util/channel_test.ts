// The channel primitive alone (lib/_util/channel.ts): order, capacity and drop policies, the
// high-water mark, abortable and timed receives, close with and without a reason, several
// consumers, the reusable loop wait, and the fanout's copy per listener.
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import { Channel, ChannelClosedError, Fanout } from "../../lib/_util/channel.ts";

async function drain<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of it) out.push(v);
  return out;
}

Deno.test("channel: FIFO across pushes before and after the consumer waits", async () => {
  const ch = new Channel<number>();
  ch.push(1);
  ch.push(2);
  assertEquals(await ch.receive(), 1);
  assertEquals(await ch.receive(), 2);
  const later = ch.receive();
  ch.push(3);
  ch.push(4);
  assertEquals(await later, 3);
  assertEquals(ch.tryReceive(), 4);
  assertEquals(ch.tryReceive(), undefined);
  assertEquals(ch.size, 0);
});

Deno.test("channel: many items keep their order through the compaction of the buffer", async () => {
  const ch = new Channel<number>();
  const n = 10_000;
  let next = 0;
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < n; i++) ch.push(round * n + i);
    for (let i = 0; i < n / 2; i++) assertEquals(ch.tryReceive(), next++);
  }
  while (ch.size) assertEquals(await ch.receive(), next++);
  assertEquals(next, 5 * n);
});

Deno.test("channel: capacity with drop oldest and drop newest", () => {
  const oldest = new Channel<number>({ capacity: 3 });
  for (let i = 1; i <= 5; i++) assert(oldest.push(i));
  assertEquals([oldest.tryReceive(), oldest.tryReceive(), oldest.tryReceive()], [3, 4, 5]);
  assertEquals(oldest.dropped, 2);

  const newest = new Channel<number>({ capacity: 3, drop: "newest" });
  const kept = [1, 2, 3, 4, 5].map((i) => newest.push(i));
  assertEquals(kept, [true, true, true, false, false]);
  assertEquals([newest.tryReceive(), newest.tryReceive(), newest.tryReceive()], [1, 2, 3]);
  assertEquals(newest.dropped, 2);

  assertThrows(() => new Channel({ capacity: 0 }), RangeError, "capacity");
});

Deno.test("channel: high-water mark: full, and space() resolves once below it", async () => {
  const ch = new Channel<number>({ highWater: 2 });
  ch.push(1);
  assert(!ch.full);
  ch.push(2);
  ch.push(3); // soft: nothing dropped
  assert(ch.full);
  assertEquals(ch.dropped, 0);
  let resumed = false;
  const space = ch.space().then(() => (resumed = true));
  ch.tryReceive();
  await Promise.resolve();
  assert(!resumed, "still at the mark");
  ch.tryReceive();
  await space;
  assert(resumed);
  assert(!ch.full);
  ch.push(4);
  ch.push(5);
  const onClear = ch.space();
  ch.clear();
  await onClear;
  assertEquals(ch.size, 0);
});

Deno.test("channel: paused producers resume with room for a burst, not one item below the marks", async () => {
  // items: high-water mark 6, producers resume at 3 queued
  const ch = new Channel<number>({ highWater: 6 });
  for (let i = 0; i < 6; i++) ch.push(i);
  assert(ch.full);
  let resumed = false;
  const space = ch.space().then(() => (resumed = true));
  for (let i = 0; i < 2; i++) {
    ch.tryReceive();
    await Promise.resolve();
    assert(!ch.full);
    assert(!resumed, `${ch.size} queued: not yet`);
  }
  ch.tryReceive();
  await space;
  assertEquals(ch.size, 3);
  // bytes: maxBytes 100, producers resume at 50 bytes queued (half: less than 32 KiB)
  const bytes = new Channel<number>({ maxBytes: 100, sizeOf: (n) => n });
  for (const n of [30, 30, 30, 30]) bytes.push(n);
  assert(bytes.full);
  let woke = false;
  const room = bytes.space().then(() => (woke = true));
  bytes.tryReceive(); // 90 bytes
  await Promise.resolve();
  assert(!bytes.full && !woke);
  bytes.tryReceive(); // 60 bytes
  await Promise.resolve();
  assert(!woke);
  bytes.tryReceive(); // 30 bytes
  await room;
  assertEquals(bytes.bytes, 30);
  // a producer that is not paused looks at `full` only: it goes on below the marks
  bytes.push(30);
  assert(!bytes.full);
  // 256 KiB: small items resume 32 KiB below the mark (a burst), 64 KiB items after each take
  const KiB = 1024;
  const big = new Channel<number>({ maxBytes: 256 * KiB, sizeOf: (n) => n });
  for (let i = 0; i < 256; i++) big.push(KiB);
  let taken = 0;
  let freed = false;
  const burst = big.space().then(() => (freed = true));
  while (!freed) {
    big.tryReceive();
    taken++;
    await Promise.resolve();
  }
  await burst;
  assertEquals(taken, 32);
  big.clear();
  for (let i = 0; i < 4; i++) big.push(64 * KiB);
  assert(big.full);
  const next = big.space();
  big.tryReceive();
  await next;
  assertEquals(big.size, 3);
});

Deno.test("channel: receive() is abortable and leaves no waiter behind", async () => {
  const ch = new Channel<string>();
  const ctl = new AbortController();
  const p = ch.receive({ signal: ctl.signal });
  ctl.abort(new Error("stop"));
  await assertRejects(() => p, Error, "stop");
  await assertRejects(() => ch.receive({ signal: ctl.signal }), Error, "stop");
  // the aborted receive does not swallow the next item
  const q = ch.receive();
  ch.push("x");
  assertEquals(await q, "x");
});

Deno.test("channel: receive() with timeoutMs rejects with a TimeoutError", async () => {
  const ch = new Channel<string>();
  const e = await assertRejects(() => ch.receive({ timeoutMs: 5 }));
  assertInstanceOf(e, DOMException);
  assertEquals(e.name, "TimeoutError");
  ch.push("y");
  assertEquals(await ch.receive({ timeoutMs: 5 }), "y");
});

Deno.test("channel: close() delivers what is queued, then ends iteration", async () => {
  const ch = new Channel<number>();
  ch.push(1);
  ch.push(2);
  ch.close();
  assert(!ch.push(3), "closed channels refuse pushes");
  assert(ch.closed);
  assertEquals(await drain(ch), [1, 2]);
  await assertRejects(() => ch.receive(), ChannelClosedError);
});

Deno.test("channel: close(reason) wakes waiting consumers and is thrown after the last item", async () => {
  const ch = new Channel<number>();
  const waiting = [ch.receive(), ch.receive()];
  const reason = new Error("peer gone");
  ch.close(reason);
  ch.close(new Error("second reason is ignored"));
  for (const w of waiting) assertStrictEquals(await assertRejects(() => w), reason);

  const queued = new Channel<number>();
  queued.push(7);
  queued.close(reason);
  const got: number[] = [];
  const e = await assertRejects(async () => {
    for await (const n of queued) got.push(n);
  });
  assertStrictEquals(e, reason);
  assertEquals(got, [7]);
});

Deno.test("channel: several consumers each get distinct items, none is lost", async () => {
  const ch = new Channel<number>();
  const consumers = [0, 1, 2].map(async () => {
    const out: number[] = [];
    while (true) {
      try {
        out.push(await ch.receive());
      } catch (e) {
        if (e instanceof ChannelClosedError) return out;
        throw e;
      }
      await Promise.resolve();
    }
  });
  for (let i = 0; i < 300; i++) {
    ch.push(i);
    if (i % 7 === 0) await new Promise((r) => setTimeout(r, 0));
  }
  ch.close();
  const all = (await Promise.all(consumers)).flat().sort((a, b) => a - b);
  assertEquals(all, Array.from({ length: 300 }, (_, i) => i));
});

Deno.test("channel: break leaves the channel open with its remaining items", async () => {
  const ch = new Channel<number>();
  for (let i = 0; i < 3; i++) ch.push(i);
  for await (const n of ch) {
    assertEquals(n, 0);
    break;
  }
  assert(!ch.closed);
  assertEquals(ch.size, 2);
});

Deno.test("channel: a loop's waiter reports idle periods, items, close and abort", async () => {
  const ch = new Channel<string>();
  const ctl = new AbortController();
  {
    using wait = ch.waiter(10, ctl.signal);
    const t0 = performance.now();
    assertEquals(await wait.next(), false);
    assert(performance.now() - t0 >= 9);
    setTimeout(() => ch.push("a"), 1);
    assertEquals(await wait.next(), true);
    assertEquals(ch.tryReceive(), "a");
    assertEquals(await wait.next(), false); // idle again
    const pending = wait.next();
    ctl.abort();
    assertEquals(await pending, true);
    assertEquals(await wait.next(), true); // aborted: no more waiting
  }
  {
    using wait = ch.waiter(); // no idle time
    const pending = wait.next();
    ch.close();
    assertEquals(await pending, true);
  }
});

Deno.test("channel: a waiter given up on (timeout) does not take a later wake-up", async () => {
  const ch = new Channel<number>();
  {
    using idle = ch.waiter(1);
    assertEquals(await idle.next(), false);
  }
  const r = ch.receive();
  ch.push(1);
  assertEquals(await r, 1);
});

Deno.test("fanout: every listener gets a copy; the backlog goes to the first one", async () => {
  const f = new Fanout<number>({ capacity: 3 });
  for (let i = 1; i <= 5; i++) f.push(i); // nobody listens: the latest 3 kept
  const first = f.listen();
  const second = f.listen();
  f.push(6);
  f.close();
  f.push(7); // after close: ignored
  assertEquals(await drain(first), [4, 5, 6], "one buffer of 3: the backlog and what follows");
  assertEquals(await drain(second), [6]);
  assertEquals(await drain(f.listen()), [], "a listener after close ends at once");
});

Deno.test("fanout: a listener that breaks is forgotten; later items go to the backlog", async () => {
  const f = new Fanout<string>();
  const a = f.listen();
  f.push("x");
  for await (const s of a) {
    assertEquals(s, "x");
    break;
  }
  f.push("y"); // nobody listens any more
  const b = f.listen();
  f.close();
  assertEquals(await drain(b), ["y"]);
});

Deno.test("fanout: each listener's buffer drops its oldest items when it does not read", async () => {
  const f = new Fanout<number>({ capacity: 2 });
  const slow = f.listen();
  const other = f.listen();
  for (let i = 0; i < 5; i++) f.push(i);
  f.close(new Error("closed with a reason"));
  const got: number[] = [];
  await assertRejects(
    async () => {
      for await (const n of slow) got.push(n);
    },
    Error,
    "closed with a reason",
  );
  assertEquals(got, [3, 4]);
  await assertRejects(() => drain(other), Error, "closed with a reason");
});
