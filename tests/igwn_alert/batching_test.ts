// Batching of published alerts: PublishBatcher on its own (order, batch and in-flight bounds,
// failing batches, queue bound, linger, flush/close) and IgwnAlertClient sessions against a real
// broker (many concurrent publishToTopic calls acknowledged and consumed in order, a batch over a
// topic's size limit split so only the alert too large by itself fails, flushByTopic/close wait
// for everything queued, bounded queued bytes).
import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { startKafka } from "../../testing/kafka.ts";
import { BatcherClosedError, PublishBatcher } from "../../lib/kafka/batcher.ts";
import { createTopics as createSpecs } from "../../testing/kafka_records.ts";
import { IgwnAlertClient } from "../../lib/igwn_alert/mod.ts";
import { createTopics, readRaw } from "./_helpers.ts";

/** A send function that records batches and lets the test settle them one by one. */
function manualSend() {
  const batches: number[][] = [];
  const settle: Array<(err?: unknown) => void> = [];
  let maxInFlight = 0;
  let inFlight = 0;
  const send = (items: number[]) => {
    batches.push(items);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    return new Promise<void>((resolve, reject) => {
      settle.push((err) => {
        inFlight--;
        if (err) reject(err);
        else resolve();
      });
    });
  };
  return { send, batches, settle, max: () => maxInFlight };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

async function waitUntil(pred: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5000;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

Deno.test("PublishBatcher: one turn's pushes share a batch, later ones wait for the ack", async () => {
  const m = manualSend();
  const b = new PublishBatcher<number>(m.send);
  const done: number[] = [];
  const ps = Array.from(
    { length: 100 },
    (_, i) => b.push(() => ({ item: i, bytes: 10 })).then(() => done.push(i)),
  );
  await waitUntil(() => m.batches.length === 1, "first batch");
  assertEquals(m.batches[0], Array.from({ length: 100 }, (_, i) => i));
  // pushed while the first batch is in flight: all go in the next one, after the ack
  const more = Array.from(
    { length: 50 },
    (_, i) => b.push(() => ({ item: 100 + i, bytes: 10 })).then(() => done.push(100 + i)),
  );
  await tick();
  assertEquals(m.batches.length, 1);
  assertEquals(done, []);
  m.settle[0]();
  await Promise.all(ps);
  await waitUntil(() => m.batches.length === 2, "second batch");
  assertEquals(m.batches[1], Array.from({ length: 50 }, (_, i) => 100 + i));
  m.settle[1]();
  await Promise.all(more);
  assertEquals(done, Array.from({ length: 150 }, (_, i) => i));
  assertEquals(m.max(), 1);
  assertEquals(b.pending, 0);
  assertEquals(b.heldBytes, 0);
});

Deno.test("PublishBatcher: batches bounded by bytes, in-flight bound, order kept", async () => {
  const sent: number[][] = [];
  let inFlight = 0, maxInFlight = 0;
  const b = new PublishBatcher<number>(async (items) => {
    sent.push(items);
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    await new Promise((r) => setTimeout(r, 2));
    inFlight--;
  }, { maxBatchBytes: 1000, maxInFlight: 3 });
  // 300-byte records: 3 per batch; a 5000-byte record goes alone
  const sizes = Array.from({ length: 30 }, (_, i) => (i === 7 ? 5000 : 300));
  await Promise.all(sizes.map((bytes, i) => b.push(() => ({ item: i, bytes }))));
  assertEquals(sent.flat(), sizes.map((_, i) => i));
  for (const batch of sent) {
    const total = batch.reduce((n, i) => n + sizes[i], 0);
    assert(total <= 1000 || batch.length === 1, `batch ${batch} has ${total} bytes`);
  }
  assert(sent.some((batch) => batch.length === 1 && batch[0] === 7));
  assert(maxInFlight <= 3 && maxInFlight > 1, `in flight ${maxInFlight}`);
});

Deno.test("PublishBatcher: a failing batch rejects each of its callers, others resolve", async () => {
  const m = manualSend();
  const b = new PublishBatcher<number>(m.send);
  const first = Array.from({ length: 5 }, (_, i) => b.push(() => ({ item: i, bytes: 1 })));
  await waitUntil(() => m.batches.length === 1, "first batch");
  const second = Array.from({ length: 5 }, (_, i) => b.push(() => ({ item: 5 + i, bytes: 1 })));
  const boom = new Error("batch refused");
  m.settle[0](boom);
  const results = await Promise.allSettled(first);
  for (const r of results) {
    assertEquals(r.status, "rejected");
    assertEquals((r as PromiseRejectedResult).reason, boom);
  }
  await waitUntil(() => m.batches.length === 2, "second batch");
  m.settle[1]();
  await Promise.all(second);
  // a prepare that throws rejects that caller alone
  const bad = b.push(() => {
    throw new TypeError("cannot serialize");
  });
  const good = b.push(() => ({ item: 99, bytes: 1 }));
  await assertRejects(() => bad, TypeError, "cannot serialize");
  await waitUntil(() => m.batches.length === 3, "third batch");
  assertEquals(m.batches[2], [99]);
  m.settle[2]();
  await good;
});

Deno.test("PublishBatcher: queued bytes stay bounded; pushes wait in order for room", async () => {
  const m = manualSend();
  const b = new PublishBatcher<number>(m.send, { maxQueueBytes: 1000, maxBatchBytes: 400 });
  const prepared: number[] = [];
  let maxHeld = 0;
  const ps = Array.from({ length: 40 }, (_, i) =>
    b.push(() => {
      prepared.push(i);
      return { item: i, bytes: 100 };
    }));
  maxHeld = Math.max(maxHeld, b.heldBytes);
  // only 1000 bytes are prepared; the other 30 callers wait unserialized
  assertEquals(prepared.length, 10);
  assertEquals(b.pending, 40);
  let settled = 0;
  while (b.pending > 0) {
    await waitUntil(() => m.batches.length > settled, `batch ${settled}`);
    maxHeld = Math.max(maxHeld, b.heldBytes);
    m.settle[settled++]();
    await tick();
  }
  await Promise.all(ps);
  assert(maxHeld <= 1000, `held ${maxHeld}`);
  assertEquals(prepared, Array.from({ length: 40 }, (_, i) => i));
  assertEquals(m.batches.flat(), Array.from({ length: 40 }, (_, i) => i));
  for (const batch of m.batches) assert(batch.length <= 4);
});

Deno.test("PublishBatcher: linger gathers pushes; flush and close do not wait for it", async () => {
  const sent: number[][] = [];
  const b = new PublishBatcher<number>((items) => {
    sent.push(items);
    return Promise.resolve();
  }, { lingerMs: 60_000 });
  const p1 = b.push(() => ({ item: 1, bytes: 1 }));
  await new Promise((r) => setTimeout(r, 5));
  const p2 = b.push(() => ({ item: 2, bytes: 1 }));
  await tick();
  assertEquals(sent, []);
  const t = performance.now();
  await b.flush();
  await Promise.all([p1, p2]);
  assert(performance.now() - t < 5000);
  assertEquals(sent, [[1, 2]]);
  const p3 = b.push(() => ({ item: 3, bytes: 1 }));
  await b.close();
  await p3;
  assertEquals(sent, [[1, 2], [3]]);
  await assertRejects(() => b.push(() => ({ item: 4, bytes: 1 })), BatcherClosedError);
  await b.flush();
});

Deno.test("PublishBatcher: offer shares push's batches and order, settles through one callback", async () => {
  const m = manualSend();
  const b = new PublishBatcher<number>(m.send, { maxQueueBytes: 30, maxBatchBytes: 20 });
  const settled: Array<[number, unknown]> = [];
  let calls = 0;
  const done = (item: number, error: unknown) => {
    calls++;
    settled.push([item, error]);
    if (item === 3) throw new Error("a callback's bug"); // must not stop the others
  };
  const uncaught: unknown[] = [];
  const onError = (e: ErrorEvent) => {
    e.preventDefault();
    uncaught.push(e.error);
  };
  globalThis.addEventListener("error", onError);
  try {
    // offers and pushes interleaved: one order, one queue bound (built offers wait for room)
    const pushed: Promise<string>[] = [];
    for (let i = 0; i < 12; i++) {
      if (i % 3 === 2) {
        pushed.push(b.push(() => ({ item: i, bytes: 5 })).then(() => "ok", () => "rejected"));
      } else b.offer(i, 5, done);
    }
    assertEquals(calls, 0, "never called inside offer");
    assertEquals(b.pending, 12);
    assert(b.heldBytes <= 30, `held ${b.heldBytes}`);
    const boom = new Error("batch refused");
    let n = 0;
    while (b.pending > 0) {
      await waitUntil(() => m.batches.length > n, `batch ${n}`);
      assert(b.heldBytes <= 30, `held ${b.heldBytes}`);
      m.settle[n](n === 1 ? boom : undefined);
      n++;
      await tick();
    }
    assertEquals(m.batches.flat(), Array.from({ length: 12 }, (_, i) => i));
    for (const batch of m.batches) assert(batch.length <= 4, `batch ${batch}`);
    const failed = new Set(m.batches[1]);
    const want = Array.from({ length: 12 }, (_, i) => i).filter((i) => i % 3 !== 2)
      .map((i): [number, unknown] => [i, failed.has(i) ? boom : undefined]);
    assertEquals(settled, want);
    const results = await Promise.all(pushed);
    results.forEach((r, k) => {
      const i = 3 * k + 2;
      assertEquals(r, failed.has(i) ? "rejected" : "ok", `push ${i}`);
    });
    await tick();
    assertEquals(uncaught.map((e) => (e as Error).message), ["a callback's bug"]);
    // outcomes per record reach the callback of each
    const per = new PublishBatcher<number>((items) =>
      Promise.resolve(items.map((i) => (i % 2 ? new Error(`no ${i}`) : undefined)))
    );
    const out: Array<[number, string | undefined]> = [];
    for (let i = 0; i < 4; i++) {
      per.offer(i, 1, (item, e) => void out.push([item, (e as Error | undefined)?.message]));
    }
    await per.close();
    assertEquals(out, [[0, undefined], [1, "no 1"], [2, undefined], [3, "no 3"]]);
    assertThrows(() => per.offer(9, 1, done), BatcherClosedError);
    await b.close();
  } finally {
    globalThis.removeEventListener("error", onError);
  }
});

Deno.test("publishToTopic batching against a real broker", async (t) => {
  await using kafka = await startKafka();
  const [host, port] = kafka.plaintext.split(":");
  await createTopics(kafka, ["gracedb.many", "gracedb.big", "gracedb.flush"]);
  await createSpecs(kafka, [{ topic: "gracedb.small", configs: { "max.message.bytes": "3000" } }]);
  const opts = {
    server: `kafka://${host}/`,
    port: Number(port),
    noauth: true,
    logger: () => {},
  };

  await t.step("2000 concurrent alerts: all acknowledged, consumed in order", async () => {
    await using c = new IgwnAlertClient(opts);
    await c.connect("many");
    const n = 2000;
    const acked: number[] = [];
    const pad = "p".repeat(1000);
    await Promise.all(
      Array.from(
        { length: n },
        (_, i) =>
          c.publishToTopic("many", JSON.stringify({ seq: i, pad })).then(() => acked.push(i)),
      ),
    );
    assertEquals(acked.length, n);
    const records = await readRaw(kafka, "gracedb.many", n);
    const seqs = records.map((r) => JSON.parse(JSON.parse(new TextDecoder().decode(r.value))).seq);
    assertEquals(seqs, Array.from({ length: n }, (_, i) => i));
    // hop headers unchanged: _id (16 bytes), _format json, no _sender without auth
    assertEquals(records[0].headers.map(([k]) => k), ["_id", "_format"]);
    assertEquals(new Set(records.map((r) => String(r.headers[0][1]))).size, n);
  });

  await t.step(
    "a batch over the topic's size limit is split; an alert too large fails alone",
    async () => {
      await using c = new IgwnAlertClient(opts);
      await c.connect("small");
      // five ~1 KiB alerts coalesce into one ~5 KiB batch, over the topic's 3000-byte limit; the
      // 4 KiB one cannot fit at all
      const results = await Promise.allSettled(
        [1000, 1000, 4000, 1000, 1000].map((n, i) =>
          c.publishToTopic("small", `${i}`.padEnd(n, "x"))
        ),
      );
      assertEquals(results.map((r) => r.status), [
        "fulfilled",
        "fulfilled",
        "rejected",
        "fulfilled",
        "fulfilled",
      ]);
      const e = (results[2] as PromiseRejectedResult).reason as Error;
      assert(/larger than|too large/i.test(e.message), e.message);
      assert(c.sessions.get("small")!.batcher.maxBatchBytes < 3000);
      await c.publishToTopic("small", "fits");
      await c.flushByTopic("small");
      const records = await readRaw(kafka, "gracedb.small", 5);
      assertEquals(
        records.map((r) => JSON.parse(new TextDecoder().decode(r.value)).slice(0, 1)),
        ["0", "1", "3", "4", "f"],
      );
    },
  );

  await t.step("flushByTopic and close wait for every queued alert", async () => {
    // a small queue bound: most calls are still waiting for room when flush/close start
    const c = new IgwnAlertClient({ ...opts, maxQueueBytes: 8 * 1024 });
    await c.connect("flush");
    let acked = 0;
    const first = Array.from(
      { length: 300 },
      (_, i) => c.publishToTopic("flush", `a${i}`.padEnd(1000, "f")).then(() => acked++),
    );
    await c.flushByTopic("flush");
    assertEquals(acked, 300);
    const second = Array.from(
      { length: 300 },
      (_, i) => c.publishToTopic("flush", `b${i}`.padEnd(1000, "f")).then(() => acked++),
    );
    await c.close();
    assertEquals(acked, 600);
    await Promise.all([...first, ...second]);
    const records = await readRaw(kafka, "gracedb.flush", 600);
    assertEquals(records.length, 600);
  });

  await t.step("64 KiB alerts: queued bytes stay under maxQueueBytes", async () => {
    const maxQueueBytes = 1024 * 1024;
    await using c = new IgwnAlertClient({ ...opts, maxQueueBytes });
    await c.connect("big");
    const batcher = c.sessions.get("big")!.batcher;
    const alert = "b".repeat(64 * 1024);
    let maxHeld = 0;
    const sample = setInterval(() => (maxHeld = Math.max(maxHeld, batcher.heldBytes)), 1);
    try {
      const ps = Array.from({ length: 300 }, () =>
        c.publishToTopic("big", alert).then(() => {
          maxHeld = Math.max(maxHeld, batcher.heldBytes);
        }));
      maxHeld = Math.max(maxHeld, batcher.heldBytes);
      assert(batcher.pending === 300);
      await Promise.all(ps);
    } finally {
      clearInterval(sample);
    }
    // at most one alert beyond the bound is serialized at a time
    assert(maxHeld > 0 && maxHeld <= maxQueueBytes + 66 * 1024, `held ${maxHeld} bytes`);
    await c.disconnect();
    const records = await readRaw(kafka, "gracedb.big", 300);
    assertEquals(records.length, 300);
  });
});
