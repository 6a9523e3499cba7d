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

Deno.test("sub: large messages given back with release() back later ones without mixing their bytes", async () => {
  await using pub = new PubSocket();
  const endpoint = await pub.bind("tcp://127.0.0.1:0");
  await using sub = subscriber(endpoint);
  while (pub.subscriberCount() < 1) {
    await pub.send("x"), await new Promise((r) => setTimeout(r, 10));
  }
  // sizes around one another (a recycled array backs bodies up to twice smaller), each text
  // different, sent in bursts so that several are queued while earlier ones are given back
  const texts: string[] = [];
  for (let i = 0; i < 60; i++) {
    const len = [65_625, 40_000, 70_000, 17_000, 65_625, 130_000][i % 6];
    texts.push(String.fromCharCode(65 + (i % 26)).repeat(len - 4) + String(1000 + i));
  }
  const dec = new TextDecoder();
  const got: string[] = [];
  const kept: Uint8Array[] = [];
  for (let i = 0; i < texts.length; i += 10) {
    await Promise.all(texts.slice(i, i + 10).map((t) => pub.send(t)));
    while (got.length < i + 10) {
      const frames = await sub.receive({ timeoutMs: 10_000 });
      const s = dec.decode(frames[0]);
      if (s === "x") continue;
      got.push(s);
      if (got.length % 7 === 0) kept.push(frames[0]); // not given back: must stay as received
      else {
        sub.release(frames);
        sub.release(frames); // a second release of the same message is ignored
      }
    }
  }
  assertEquals(got.map((s) => s.length), texts.map((s) => s.length));
  assertEquals(got, texts);
  assertEquals(kept.map((k) => dec.decode(k)), got.filter((_, i) => (i + 1) % 7 === 0));
});

Deno.test("pub: sendText(head, tail) sends the UTF-8 of head + tail, split surrogate pairs and all", async () => {
  await using pub = new PubSocket();
  const endpoint = await pub.bind("tcp://127.0.0.1:0");
  await using sub = subscriber(endpoint);
  while (pub.subscriberCount() < 1) {
    await pub.send("x"), await new Promise((r) => setTimeout(r, 10));
  }
  const pair = "😀"; // one code point, two UTF-16 units
  const cases: Array<[string, string]> = [
    ["topic ", "payload"],
    ["", "no head"],
    ["no tail", ""],
    ["pytroll://a binary/octet-stream ", "z".repeat(65_536)], // the posttroll publisher's shape
    ["é€ ", "😀ü".repeat(20_000)],
    // (tails of 4,096 units and more are converted on their own; shorter ones joined)
    ["pair split: " + pair[0], pair[1] + " rest".repeat(1000)], // a valid pair, not two U+FFFD
    ["short pair split: " + pair[0], pair[1] + " rest"],
    ["lone high " + pair[0], "not low".repeat(1000)], // a lone surrogate: U+FFFD, as joined
    ["lone low ", pair[1] + "x".repeat(5000)],
    ["big ", "d".repeat(400_000)], // beyond the reused buffer
  ];
  // in one turn, mixed with send(string): each send's bytes stay its own
  const sends = cases.flatMap(([h, t]) => [pub.sendText(h, t), pub.send("between")]);
  await Promise.all(sends);
  const enc = new TextEncoder();
  const got: Uint8Array[] = [];
  while (got.length < 2 * cases.length) {
    const [f] = await sub.receive({ timeoutMs: 10_000 });
    if (f.length !== 1 || f[0] !== 0x78) got.push(f); // not a warm-up "x"
  }
  const want = cases.flatMap(([h, t]) => [enc.encode(h + t), enc.encode("between")]);
  assertEquals(got.map((f) => f.length), want.map((w) => w.length));
  assertEquals(got, want);
});

Deno.test("pub: sendText reaches exactly the matching subscribers, also when a subscription reaches past the head", async () => {
  await using pub = new PubSocket();
  const endpoint = await pub.bind("tcp://127.0.0.1:0");
  const sub = (topic: string) => {
    const s = new SubSocket();
    s.subscribe(topic);
    s.connect(endpoint);
    return s;
  };
  await using all = sub("");
  await using a = sub("topic-a");
  await using b = sub("topic-b");
  while (pub.subscriberCount("topic-a") < 2 || pub.subscriberCount("topic-b") < 2) {
    await new Promise((r) => setTimeout(r, 10));
  }
  const dec = new TextDecoder();
  const take = async (s: SubSocket, n: number) => {
    const got: string[] = [];
    while (got.length < n) got.push(dec.decode((await s.receive({ timeoutMs: 10_000 }))[0]));
    return got;
  };
  // decided by the head: encoded into the first matching subscriber's output, copied for the rest
  const m1 = ["topic-a ", "x".repeat(70_000)], m2 = ["topic-b ", "é".repeat(5_000)];
  await Promise.all([pub.sendText(m1[0], m1[1]), pub.sendText(m2[0], m2[1])]);
  assertEquals(await take(all, 2), [m1.join(""), m2.join("")]);
  assertEquals(await take(a, 1), [m1.join("")]);
  assertEquals(await take(b, 1), [m2.join("")]);
  // a subscription longer than the head: the tail decides
  await using long = sub("topic-a zz");
  while (pub.subscriberCount("topic-a zz") < 3) await new Promise((r) => setTimeout(r, 10));
  const m3 = ["topic-a ", "zz" + "y".repeat(9_000)], m4 = ["topic-a ", "q".repeat(9_000)];
  await Promise.all([pub.sendText(m3[0], m3[1]), pub.sendText(m4[0], m4[1])]);
  assertEquals(await take(all, 2), [m3.join(""), m4.join("")]);
  assertEquals(await take(a, 2), [m3.join(""), m4.join("")]);
  assertEquals(await take(long, 1), [m3.join("")]);
  assertEquals([b.tryReceive(), long.tryReceive()], [undefined, undefined]);
});

Deno.test("pub: lone messages to a subscriber that stops reading go out whole when the kernel takes part of a write", async () => {
  // each send to an idle connection is written at once, without the burst path; once the
  // subscriber's socket buffers are full the kernel takes part of such a write and the rest must
  // follow, in order, before later messages
  await using pub = new PubSocket();
  const endpoint = await pub.bind("tcp://127.0.0.1:0");
  // a small input budget: the subscriber stops reading from the socket once it holds 1 MiB
  await using sub = new SubSocket({ maxBufferedBytes: 1 << 20 });
  sub.subscribe("");
  sub.connect(endpoint);
  while (pub.subscriberCount() < 1) {
    await pub.send("x"), await new Promise((r) => setTimeout(r, 10));
  }
  for (let f = sub.tryReceive(); f; f = sub.tryReceive()) sub.release(f);
  const texts: string[] = [];
  for (let i = 0; i < 40; i++) {
    texts.push(String(1000 + i) + String.fromCharCode(65 + (i % 26)).repeat(300_000));
  }
  // nothing is received until everything was sent
  for (const t of texts) {
    await pub.send(t);
    await new Promise((r) => setTimeout(r, 5)); // the connection goes idle between sends
  }
  const dec = new TextDecoder();
  const got: string[] = [];
  while (got.length < texts.length) {
    const [f] = await sub.receive({ timeoutMs: 10_000 });
    const s = dec.decode(f);
    if (s !== "x") got.push(s);
  }
  assertEquals(got.map((s) => s.slice(0, 4)), texts.map((s) => s.slice(0, 4)));
  assertEquals(got, texts);
});
