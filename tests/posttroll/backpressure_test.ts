// A Subscriber whose application reads slowly: its queue stays within maxQueuedBytes (plus one
// message) and queueSize while the connections wait (TCP pushes back to the publisher), and
// every message published arrives, in order — from our Publisher and from a pyzmq PUB socket
// sending posttroll-encoded 64 KiB messages. Bad limits fail at construction.
import { assert, assertEquals, assertThrows } from "@std/assert";
import { ConfigError } from "../../lib/posttroll/errors.ts";
import { Message } from "../../lib/posttroll/message.ts";
import { Publisher } from "../../lib/posttroll/publisher.ts";
import { Subscriber } from "../../lib/posttroll/subscriber.ts";
import { PythonProcess } from "../../testing/python.ts";

const PAD = "x".repeat(64 * 1024);
const COUNT = 120;
const LIMIT = 256 * 1024;

/**
 * Reads `count` messages of subject /big slowly (2 ms each, after the first), ignoring /sync,
 * and returns their numbers and the largest queue seen.
 */
async function readSlowly(
  sub: Subscriber,
  count: number,
  onSync: () => Promise<void> | void,
): Promise<{ got: number[]; maxBytes: number; maxQueued: number; size: number }> {
  const got: number[] = [];
  let maxBytes = 0, maxQueued = 0, size = 0;
  let synced = false;
  for await (const msg of sub.recv(10)) {
    if (msg === null) break; // 10 s without a message: the assertions say what is missing
    maxBytes = Math.max(maxBytes, sub.queuedBytes);
    maxQueued = Math.max(maxQueued, sub.queued);
    if (msg.subject === "/sync") {
      if (!synced) {
        synced = true;
        await onSync();
      }
      continue;
    }
    const data = msg.data as { i: number; pad: string };
    got.push(data.i);
    size = Math.max(size, msg.encode().length);
    if (got.length === count) break;
    await new Promise((r) => setTimeout(r, 2));
  }
  return { got, maxBytes, maxQueued, size };
}

function checkBounded(
  r: { got: number[]; maxBytes: number; maxQueued: number; size: number },
  limit: number,
): void {
  assertEquals(r.got, Array.from({ length: COUNT }, (_, i) => i)); // nothing lost, in order
  // the gate held: never more than the limit plus the one message that crossed it
  assert(r.maxBytes <= limit + r.size, `queued ${r.maxBytes} bytes, limit ${limit}`);
  // and it was reached (the reader was slower than the network): the test saw the limit at work
  assert(r.maxBytes >= limit - r.size, `queued at most ${r.maxBytes} bytes: never full`);
}

Deno.test("slow reader, our publisher, 64 KiB messages: queue within maxQueuedBytes, nothing lost", async () => {
  await using pub = await new Publisher("tcp://127.0.0.1:0").start();
  await using sub = new Subscriber([`tcp://127.0.0.1:${pub.portNumber}`], {
    maxQueuedBytes: LIMIT,
  });
  const syncing = setInterval(() => pub.send(new Message("/sync", "info")), 20);
  let sending: Promise<void> | undefined;
  const r = await readSlowly(sub, COUNT, () => {
    clearInterval(syncing);
    sending = (async () => {
      // below the PUB's send high-water mark (1000): it never drops, the TCP connection and
      // its queue hold what the subscriber does not read yet
      for (let i = 0; i < COUNT; i++) await pub.send(new Message("/big", "info", { i, pad: PAD }));
    })();
  });
  clearInterval(syncing);
  await sending;
  checkBounded(r, LIMIT);
});

Deno.test("slow reader, pyzmq publisher, 64 KiB posttroll messages: queue bounded, nothing lost", async () => {
  const code = `
import select, sys, zmq
from posttroll.message import Message
ctx = zmq.Context()
s = ctx.socket(zmq.PUB)
port = s.bind_to_random_port("tcp://127.0.0.1")
print("ready", port, flush=True)
sync = Message("/sync", "info").encode().encode()
while not select.select([sys.stdin], [], [], 0.02)[0]:
    s.send(sync)
sys.stdin.readline()
pad = "x" * 65536
for i in range(${COUNT}):
    s.send(Message("/big", "info", {"i": i, "pad": pad}).encode().encode())
print("sent", flush=True)
sys.stdin.readline()
s.close(linger=0)
ctx.term()
`;
  await using proc = PythonProcess.spawn(code);
  const port = Number((await proc.waitForLine((l) => l.startsWith("ready "), 15_000)).slice(6));
  await using sub = new Subscriber([`tcp://127.0.0.1:${port}`], { maxQueuedBytes: LIMIT });
  const r = await readSlowly(sub, COUNT, () => proc.writeLine("go"));
  await proc.writeLine("end");
  checkBounded(r, LIMIT);
});

Deno.test("slow reader, small messages: the queue stops at queueSize, nothing dropped", async () => {
  await using pub = await new Publisher("tcp://127.0.0.1:0").start();
  await using sub = new Subscriber([`tcp://127.0.0.1:${pub.portNumber}`], { queueSize: 8 });
  const syncing = setInterval(() => pub.send(new Message("/sync", "info")), 20);
  const got: number[] = [];
  let maxQueued = 0;
  let synced = false;
  for await (const msg of sub.recv(10)) {
    if (msg === null) break;
    maxQueued = Math.max(maxQueued, sub.queued);
    if (msg.subject === "/sync") {
      if (!synced) {
        synced = true;
        clearInterval(syncing);
        for (let i = 0; i < 500; i++) await pub.send(new Message("/small", "info", { i }));
      }
      continue;
    }
    got.push((msg.data as { i: number }).i);
    if (got.length === 500) break;
    if (got.length % 50 === 0) await new Promise((r) => setTimeout(r, 5));
  }
  clearInterval(syncing);
  assertEquals(got, Array.from({ length: 500 }, (_, i) => i));
  assert(maxQueued <= 8, `queued ${maxQueued} messages, queueSize 8`);
  assert(maxQueued >= 7, `queued at most ${maxQueued} messages: never full`);
});

Deno.test("bad queue limits fail at construction with a ConfigError naming the option", () => {
  for (const bad of [0, -1, 0.5, 1.5, NaN]) {
    const e = assertThrows(() => new Subscriber([], { maxQueuedBytes: bad }), ConfigError);
    assertEquals(e.key, "maxQueuedBytes");
    assert(e.message.includes("maxQueuedBytes"), e.message);
  }
  const e = assertThrows(() => new Subscriber([], { queueSize: 0 }), ConfigError, "queueSize");
  assertEquals(e.key, "queueSize");
  assertThrows(() => new Subscriber([], { queueSize: 2.5 }), ConfigError, "queueSize");
});
