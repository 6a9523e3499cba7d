// PubSocket.send(string): strings are encoded into one reused buffer that each subscriber's
// connection copies before send() returns; a later send must never change what an earlier one
// queued (large frames used to be queued by reference).
import { assertEquals } from "@std/assert";
import { PubSocket, SubSocket } from "../../lib/zmq/mod.ts";

function subscriber(endpoint: string): SubSocket {
  const sub = new SubSocket();
  sub.subscribe("");
  sub.connect(endpoint);
  return sub;
}

Deno.test("pub: string messages sent in one turn arrive intact at every subscriber, whatever their size", async () => {
  await using pub = new PubSocket();
  const endpoint = await pub.bind("tcp://127.0.0.1:0");
  await using a = subscriber(endpoint);
  await using b = subscriber(endpoint);
  while (pub.subscriberCount() < 2) {
    await pub.send("x"), await new Promise((r) => setTimeout(r, 10));
  }
  // 16 KiB-200 KiB (the reused buffer, growing), multi-byte text, and 400,000 units (beyond its
  // 1 MiB: an array of its own)
  const texts = [
    "a".repeat(20_000),
    "b".repeat(100_000),
    "é€😀".repeat(30_000),
    "c".repeat(70_000),
    "d".repeat(400_000),
    "e".repeat(300),
  ];
  const sends = texts.map((t) => pub.send(t)); // one turn: nothing written yet
  await Promise.all(sends);
  const dec = new TextDecoder();
  for (const sub of [a, b]) {
    const got: string[] = [];
    while (got.length < texts.length) {
      const [f] = await sub.receive({ timeoutMs: 10_000 });
      const s = dec.decode(f);
      if (s !== "x") got.push(s);
    }
    assertEquals(got.map((s) => s.length), texts.map((s) => s.length));
    assertEquals(got, texts);
  }
});
