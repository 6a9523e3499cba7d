// Unit tests of the bridge's message identity (lib/bridge/identity.ts): a UUID version 8 made
// from the SHA-256 of the message bytes, checked against Web Crypto and against Python's hashlib
// and uuid modules.
import { assert, assertEquals, assertMatch, assertNotEquals } from "@std/assert";
import { formatIdentity, messageIdentity, OccurrenceCounter } from "../../lib/bridge/identity.ts";
import { python } from "../../testing/python.ts";

const enc = new TextEncoder();
const MSG = enc.encode(
  'pytroll://oper/polar/avhrr file user@host 2024-05-01T12:00:00.000001 v1.2 application/json {"uri": "/data/é.nc"}',
);

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

async function sha256(b: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", b));
}

/** The identity must be the SHA-256 prefix except the version nibble and the variant bits. */
function assertIdentityOf(id: Uint8Array, digest: Uint8Array, what: string): void {
  assertEquals(id.length, 16, what);
  for (let i = 0; i < 16; i++) {
    if (i === 6) assertEquals(id[i] & 0x0f, digest[i] & 0x0f, `${what}: byte 6 low nibble`);
    else if (i === 8) assertEquals(id[i] & 0x3f, digest[i] & 0x3f, `${what}: byte 8 low bits`);
    else assertEquals(id[i], digest[i], `${what}: byte ${i}`);
  }
  assertEquals(id[6] >> 4, 8, `${what}: version`);
  assertEquals(id[8] & 0xc0, 0x80, `${what}: RFC 9562 variant`);
}

Deno.test("identity: 16 bytes, UUID version 8 with the RFC variant, the SHA-256 prefix otherwise", async () => {
  const id = messageIdentity(MSG);
  assert(id instanceof Uint8Array);
  assertEquals(id.length, 16);
  assertEquals(id.byteLength, 16);
  assertIdentityOf(id, await sha256(MSG), "message");
  assertIdentityOf(messageIdentity(new Uint8Array(0)), await sha256(new Uint8Array(0)), "empty");
  // many messages: the bits are set whatever the digest's own bits were
  const versions = new Set<number>();
  for (let i = 0; i < 300; i++) {
    const m = enc.encode(`pytroll://x/${i} info u@h 2024-01-01T00:00:00 v1.2`);
    const d = await sha256(m);
    versions.add(d[6] >> 4);
    assertIdentityOf(messageIdentity(m), d, `message ${i}`);
  }
  assert(versions.size > 8, "the digests had varied version nibbles before fixing them");
});

Deno.test("identity: deterministic, independent of the input's buffer offset, a fresh array each time", () => {
  const a = messageIdentity(MSG);
  const b = messageIdentity(MSG.slice());
  assertEquals(a, b);
  assert(a.buffer !== b.buffer, "a new array per call");
  // a view into a larger buffer hashes only the view
  const big = new Uint8Array(MSG.length + 64).fill(0xaa);
  big.set(MSG, 31);
  assertEquals(messageIdentity(big.subarray(31, 31 + MSG.length)), a);
  // mutating a result does not change later results
  a.fill(0);
  assertEquals(messageIdentity(MSG), b);
});

Deno.test("identity: a one-byte change (any byte, any bit) gives another id", () => {
  const base = messageIdentity(MSG);
  const seen = new Set<string>([hex(base)]);
  for (let i = 0; i < MSG.length; i++) {
    const m = MSG.slice();
    m[i] ^= 1 << (i % 8);
    const id = hex(messageIdentity(m));
    assert(!seen.has(id), `byte ${i}: same id`);
    seen.add(id);
  }
  // one byte longer or shorter
  assertNotEquals(messageIdentity(MSG.subarray(0, MSG.length - 1)), base);
  const longer = new Uint8Array(MSG.length + 1);
  longer.set(MSG);
  assertNotEquals(messageIdentity(longer), base);
});

Deno.test("identity: formatIdentity gives the canonical lower-case UUID text", () => {
  assertEquals(formatIdentity(new Uint8Array(16)), "00000000-0000-0000-0000-000000000000");
  assertEquals(
    formatIdentity(Uint8Array.from({ length: 16 }, (_, i) => i)),
    "00010203-0405-0607-0809-0a0b0c0d0e0f",
  );
  assertEquals(
    formatIdentity(new Uint8Array(16).fill(255)),
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
  );
  const text = formatIdentity(messageIdentity(MSG));
  assertEquals(text.length, 36);
  assertMatch(text, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assertEquals(text.replaceAll("-", ""), hex(messageIdentity(MSG)));
});

Deno.test("identity: Python's hashlib and uuid agree (same 16 bytes modulo version/variant, version 8)", async () => {
  const messages = [
    MSG,
    new Uint8Array(0),
    enc.encode("pytroll://a info u@h 2020-01-01T00:00:00 v1.01"),
    Uint8Array.from({ length: 256 }, (_, i) => i), // every byte value
    enc.encode("x".repeat(100_000)),
  ];
  const program = `
import sys, json, hashlib, uuid
for line in sys.stdin:
    msg_hex, id_hex = line.split()
    msg = bytes.fromhex(msg_hex) if msg_hex != "-" else b""
    u = uuid.UUID(bytes=bytes.fromhex(id_hex))
    print(json.dumps({"sha": hashlib.sha256(msg).digest()[:16].hex(), "version": u.version,
                      "rfc": u.variant == uuid.RFC_4122, "text": str(u)}))
# a real message encoded by posttroll itself
from posttroll.message import Message
import datetime
m = Message("/oper/polar/é", "file", {"uri": "/data/x.nc"}, version="v1.2")
m.time = datetime.datetime(2024, 5, 1, 12, 0, 0, 1, tzinfo=datetime.timezone.utc)
raw = m.encode().encode("utf-8")
print(json.dumps({"raw": raw.hex(), "sha": hashlib.sha256(raw).digest()[:16].hex()}))
`;
  const stdin = messages.map((m) => `${m.length ? hex(m) : "-"} ${hex(messageIdentity(m))}\n`)
    .join("");
  const out = (await python(program, { stdin })).trim().split("\n").map((l) => JSON.parse(l));
  assertEquals(out.length, messages.length + 1);
  for (let i = 0; i < messages.length; i++) {
    const id = messageIdentity(messages[i]);
    const pySha = Uint8Array.from(out[i].sha.match(/../g)!.map((h: string) => parseInt(h, 16)));
    assertIdentityOf(id, pySha, `python message ${i}`);
    assertEquals(out[i].version, 8, `python message ${i}: uuid version`);
    assertEquals(out[i].rfc, true, `python message ${i}: uuid variant`);
    assertEquals(out[i].text, formatIdentity(id), `python message ${i}: uuid text`);
  }
  const last = out[messages.length];
  const raw = Uint8Array.from(last.raw.match(/../g).map((h: string) => parseInt(h, 16)));
  const pySha = Uint8Array.from(last.sha.match(/../g).map((h: string) => parseInt(h, 16)));
  assertIdentityOf(messageIdentity(raw), pySha, "posttroll-encoded message");
});

Deno.test("identity: OccurrenceCounter numbers repeats of identical bytes; two counters agree", () => {
  const a = new OccurrenceCounter();
  const b = new OccurrenceCounter();
  const other = new TextEncoder().encode("pytroll://other info u@h 2020-01-01T00:00:00 v1.01");
  const ids = [a.identity(MSG), a.identity(other), a.identity(MSG), a.identity(MSG)];
  assertEquals(ids[0], messageIdentity(MSG), "the first send has the plain identity");
  assertEquals(ids[2], messageIdentity(MSG, 1));
  assertEquals(ids[3], messageIdentity(MSG, 2));
  assertEquals(new Set(ids.map(hex)).size, 4, "repeats get distinct ids");
  // a second forwarder that saw the same sends (an HA pair) gives the same ids
  assertEquals([b.identity(MSG), b.identity(other), b.identity(MSG), b.identity(MSG)], ids);
  // the oldest distinct messages are forgotten beyond the capacity
  const small = new OccurrenceCounter(1);
  small.identity(MSG);
  small.identity(other);
  assertEquals(small.identity(MSG), messageIdentity(MSG));
});

Deno.test("identity: OccurrenceCounter's ids stay intact while later ones are handed out (shared blocks)", () => {
  const c = new OccurrenceCounter();
  const msgs = Array.from({ length: 700 }, (_, i) => enc.encode(`pytroll://a/${i % 500} info u@h`));
  // 700 ids cross two 4 KiB blocks; repeats (i >= 500) are rewritten in place of their first
  const ids = msgs.map((m) => c.identity(m));
  const seen = new Map<string, number>();
  msgs.forEach((m, i) => {
    const text = `pytroll://a/${i % 500} info u@h`;
    const n = seen.get(text) ?? 0;
    seen.set(text, n + 1);
    assertEquals(ids[i], messageIdentity(m, n), `id ${i}`);
    assertEquals(ids[i].length, 16);
  });
  assertEquals(new Set(ids.map(hex)).size, 700);
  // messageIdentity writes into a given array
  const out = new Uint8Array(16);
  assert(messageIdentity(MSG, 0, out) === out);
  assertEquals(out, messageIdentity(MSG));
});

Deno.test("identity: the n-th repeat's id is the SHA-256 of the bytes, a zero byte and n in decimal", async () => {
  for (
    const [m, n] of [[MSG, 1], [MSG, 2], [MSG, 10], [MSG, 123456], [new Uint8Array(0), 3]] as const
  ) {
    const suffixed = new Uint8Array(m.length + 1 + String(n).length);
    suffixed.set(m);
    suffixed.set(enc.encode(`\0${n}`), m.length);
    assertIdentityOf(messageIdentity(m, n), await sha256(suffixed), `occurrence ${n}`);
  }
  // the lengths around SHA-256's padding boundaries (55/56, 63/64 bytes with the suffix)
  for (let len = 40; len <= 140; len++) {
    const m = enc.encode("x".repeat(len));
    assertIdentityOf(messageIdentity(m), await sha256(m), `length ${len}`);
    const suffixed = enc.encode("x".repeat(len) + "\x007");
    assertIdentityOf(messageIdentity(m, 7), await sha256(suffixed), `length ${len}, occurrence 7`);
  }
});

Deno.test("identity: OccurrenceCounter numbers as a plain map with an insertion ring would, at any capacity", () => {
  // the model: repeats by message, the oldest distinct message forgotten once `capacity` are held
  class Model {
    readonly seen = new Map<string, number>();
    readonly order: (string | undefined)[];
    next = 0;
    constructor(capacity: number) {
      this.order = new Array(capacity);
    }
    occurrence(key: string): number {
      const n = this.seen.get(key);
      if (n !== undefined) {
        this.seen.set(key, n + 1);
        return n + 1;
      }
      const old = this.order[this.next];
      if (old !== undefined) this.seen.delete(old);
      this.order[this.next] = key;
      this.next = (this.next + 1) % this.order.length;
      this.seen.set(key, 0);
      return 0;
    }
  }
  let x = 12345;
  const random = (n: number) => {
    x = (x * 1103515245 + 12345) >>> 0;
    return (x >>> 8) % n;
  };
  // small tables: many keys share a home slot, so removals move entries back
  for (const [capacity, pool] of [[1, 3], [2, 5], [3, 7], [10, 40], [50, 60], [64, 300]]) {
    const counter = new OccurrenceCounter(capacity);
    const model = new Model(capacity);
    const messages = Array.from(
      { length: pool },
      (_, i) => enc.encode(`pytroll://p/${i} info u@h`),
    );
    for (let step = 0; step < 5000; step++) {
      const i = random(pool);
      const n = model.occurrence(String(i));
      assertEquals(
        counter.identity(messages[i]),
        messageIdentity(messages[i], n),
        `capacity ${capacity}, step ${step}: message ${i} is occurrence ${n}`,
      );
    }
  }
});
