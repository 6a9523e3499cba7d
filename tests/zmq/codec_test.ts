// Pure codec tests: frames split and coalesced at every byte boundary, long frames, greeting,
// commands, metadata, Z85 (RFC 32 test vector).
import { assertEquals, assertThrows } from "@std/assert";
import {
  encodeFrame,
  FLAG_COMMAND,
  FLAG_LONG,
  FLAG_MORE,
  FrameDecoder,
  OutBuffer,
  recycleBody,
} from "../../lib/zmq/frame.ts";
import { buildGreeting, parseGreeting } from "../../lib/zmq/greeting.ts";
import {
  buildError,
  buildPing,
  buildReady,
  buildSubscribeCommand,
  compatibleSocketTypes,
  decodeProperties,
  errorReason,
  parseCommand,
  socketTypeOf,
} from "../../lib/zmq/command.ts";
import { ZmqProtocolError } from "../../lib/zmq/errors.ts";
import { curveKeyPair, curvePublicKey, z85Decode, z85Encode } from "../../lib/zmq/mod.ts";

function sample(): { wire: Uint8Array; frames: Array<[number, number[]]> } {
  const out = new OutBuffer(16);
  const frames: Array<[number, number[]]> = [];
  const bodies = [
    new Uint8Array([1, 2, 3]),
    new Uint8Array(0),
    new Uint8Array(300).map((_, i) => i & 0xff),
    new Uint8Array(255).fill(7),
    new Uint8Array(256).fill(9),
  ];
  bodies.forEach((b, i) => {
    const flags = i === 1 ? FLAG_COMMAND : i % 2 ? FLAG_MORE : 0;
    out.frame(b, flags);
    frames.push([flags | (b.length > 255 ? FLAG_LONG : 0), [...b]]);
  });
  return { wire: out.bytes.slice(0, out.length), frames };
}

function decodeAll(d: FrameDecoder, got: Array<[number, number[]]>) {
  while (d.next()) got.push([d.flags, [...d.body]]);
}

Deno.test("codec: frames split at every byte boundary decode the same", () => {
  const { wire, frames } = sample();
  for (let i = 0; i <= wire.length * 2 + 1; i++) {
    // second pass: large bodies read straight into their own array (directMin)
    const direct = i > wire.length;
    const cut = direct ? i - wire.length - 1 : i;
    const d = new FrameDecoder({ initialSize: 8, directMin: direct ? 100 : undefined });
    const got: Array<[number, number[]]> = [];
    d.push(wire.subarray(0, cut));
    decodeAll(d, got);
    d.push(wire.subarray(cut));
    decodeAll(d, got);
    assertEquals(got, frames, `cut at ${cut}`);
  }
});

Deno.test("codec: byte-by-byte and fully coalesced input", () => {
  const { wire, frames } = sample();
  for (const directMin of [undefined, 1]) {
    const d = new FrameDecoder({ initialSize: 4, directMin });
    const got: Array<[number, number[]]> = [];
    for (const b of wire) {
      d.push(new Uint8Array([b]));
      decodeAll(d, got);
    }
    assertEquals(got, frames);
  }
  const d2 = new FrameDecoder();
  const twice = new Uint8Array(wire.length * 2);
  twice.set(wire);
  twice.set(wire, wire.length);
  d2.push(twice);
  const got2: Array<[number, number[]]> = [];
  decodeAll(d2, got2);
  assertEquals(got2, [...frames, ...frames]);
});

Deno.test("codec: 8-byte length for frames over 255 bytes; garbage flags rejected", async () => {
  const f = encodeFrame(new Uint8Array(70000), 0);
  assertEquals(f[0], FLAG_LONG);
  assertEquals(f.length, 9 + 70000);
  // zero-copy: large bodies are queued by reference between buffered headers
  const zc = new OutBuffer(16, 1000);
  const big = new Uint8Array(5000).fill(3);
  zc.frame(new Uint8Array([1]), FLAG_MORE);
  zc.frame(big, FLAG_MORE);
  zc.frame(new Uint8Array([2]), 0);
  const chunks = zc.chunks();
  assertEquals(chunks.length, 3);
  assertEquals(chunks[1], big);
  assertEquals(zc.size, 3 + 9 + 5000 + 3);
  const dz = new FrameDecoder();
  for (const c of chunks) dz.push(c);
  const gotz: Array<[number, number[]]> = [];
  decodeAll(dz, gotz);
  assertEquals(gotz.map(([fl, b]) => [fl, b.length]), [[1, 1], [3, 5000], [0, 1]]);
  // copy: a large body the caller reuses is copied in, not referenced
  const cp = new OutBuffer(16, 1000);
  const reused = new Uint8Array(5000).fill(4);
  cp.frame(reused, 0, true);
  reused.fill(5);
  assertEquals(cp.chunks().length, 1);
  const dcp = new FrameDecoder();
  for (const c of cp.chunks()) dcp.push(c);
  assertEquals(dcp.next(), true);
  assertEquals(dcp.body.every((x) => x === 4), true);
  // pre-framed chunks by reference keep their place between buffered frames
  const { writeFrameHeader } = await import("../../lib/zmq/frame.ts");
  const pre = new Uint8Array(9 + 300);
  writeFrameHeader(pre, 0, 300, FLAG_MORE);
  const ob = new OutBuffer(16, 1000);
  ob.frame(new Uint8Array([7]), FLAG_MORE);
  ob.chunk(pre);
  ob.frame(new Uint8Array([8]), 0);
  const dc = new FrameDecoder();
  for (const c of ob.chunks()) dc.push(c);
  const gotc: Array<[number, number[]]> = [];
  decodeAll(dc, gotc);
  assertEquals(gotc.map(([fl, b]) => [fl, b.length]), [[1, 1], [3, 300], [0, 1]]);
  assertEquals(encodeFrame(new Uint8Array(255), 0).length, 257);
  const d = new FrameDecoder();
  d.push(new Uint8Array([0xf0, 1, 2]));
  assertThrows(() => d.next(), ZmqProtocolError);
  const d2 = new FrameDecoder({ maxFrameSize: 1000 });
  d2.push(new Uint8Array([2, 0, 0, 0, 1, 0, 0, 0, 0]));
  assertThrows(() => d2.next(), ZmqProtocolError, "exceeds");
});

/**
 * 6,000 small frames (1-2,048 bytes, each its own bytes) read 1-64 KiB at a time into a decoder
 * with a 64 KiB buffer; the reader takes each body ~300 bodies later, checks it and gives it back
 * (some twice: ignored) when `giveBack`, keeping every 11th of the first 1,000. Every body read
 * and every body kept must hold its bytes. Returns, per body in order, whether it was read in
 * place (its frame's header right before it in its buffer), and the buffers the bodies used.
 */
function readSmallBodies(giveBack: boolean): { inPlace: boolean[]; buffers: number } {
  const d = new FrameDecoder({ initialSize: 65536 });
  const bodyOf = (i: number) => {
    const b = new Uint8Array(1 + (i * 37) % 2048).fill(i & 0xff);
    b[0] = i >> 8;
    return b;
  };
  const count = 6000;
  const wire = new OutBuffer(16, Infinity);
  for (let i = 0; i < count; i++) wire.frame(bodyOf(i), 0);
  const bytes = new Uint8Array(wire.size);
  let at = 0;
  for (const c of wire.chunks()) bytes.set(c, (at += c.length) - c.length);
  const queue: Array<[number, Uint8Array]> = [];
  const kept: Array<[number, Uint8Array]> = [];
  const buffers = new Set<ArrayBufferLike>();
  const inPlace: boolean[] = [];
  for (let off = 0, read = 1; off < bytes.length; read++) {
    const view = d.writable(65536);
    const n = Math.min(view.length, bytes.length - off, 1000 + (read * 7919) % 64000);
    view.set(bytes.subarray(off, off + n));
    d.commit(n);
    off += n;
    while (d.next()) {
      const body = d.body;
      const i = inPlace.length;
      assertEquals(body, bodyOf(i), `body ${i}`);
      const u = new Uint8Array(body.buffer);
      const o = body.byteOffset, len = body.length;
      inPlace.push(
        len < 256
          ? u[o - 2] === 0 && u[o - 1] === len
          : u[o - 9] === FLAG_LONG && u[o - 2] === len >> 8 && u[o - 1] === (len & 0xff),
      );
      buffers.add(body.buffer);
      queue.push([i, body]);
    }
    while (queue.length > 300) {
      const [i, body] = queue.shift()!;
      assertEquals(body, bodyOf(i), `body ${i} before it was given back`);
      if (i % 11 === 0 && i < 1000) kept.push([i, body]);
      else if (giveBack) {
        recycleBody(body);
        if (i % 5 === 0) recycleBody(body);
      }
    }
  }
  assertEquals(inPlace.length, count);
  for (const [i, body] of [...kept, ...queue]) assertEquals(body, bodyOf(i), `body ${i}`);
  return { inPlace, buffers: buffers.size };
}

Deno.test("codec: small bodies read as views of a busy read buffer keep their bytes until given back, and the buffer is reused", () => {
  const { inPlace, buffers } = readSmallBodies(true);
  assertEquals(inPlace.filter((x) => x).length > inPlace.length * 0.9, true); // no copies
  assertEquals(buffers < 30, true); // ~6 MiB: after the first MiB, in a few reused buffers
});

Deno.test("codec: a reader that gives no body back gets copies of small bodies after a few buffers", () => {
  const { inPlace } = readSmallBodies(false);
  assertEquals(inPlace.slice(0, 100).every((x) => x), true); // views at first
  assertEquals(inPlace.slice(2000).some((x) => x), false); // then copies (the shared arena)
});

Deno.test("codec: greeting, READY metadata, commands", () => {
  const g = parseGreeting(buildGreeting("CURVE", true));
  assertEquals(g, { major: 3, minor: 1, mechanism: "CURVE", asServer: true });
  const bad = buildGreeting("NULL", false);
  bad[0] = 0;
  assertThrows(() => parseGreeting(bad), ZmqProtocolError);
  const r = parseCommand(buildReady("REQ"));
  assertEquals(r.name, "READY");
  const props = decodeProperties(r.data);
  assertEquals(socketTypeOf(props), "REQ");
  assertEquals(props.get("identity")?.length, 0);
  assertEquals(compatibleSocketTypes("REQ", "ROUTER"), true);
  assertEquals(compatibleSocketTypes("SUB", "SUB"), false);
  const s = parseCommand(buildSubscribeCommand(new TextEncoder().encode("/t"), true));
  assertEquals([s.name, [...s.data]], ["SUBSCRIBE", [47, 116]]);
  assertEquals(errorReason(parseCommand(buildError("Access denied")).data), "Access denied");
  const ping = parseCommand(buildPing("PING", 300, new Uint8Array([9])));
  assertEquals([ping.name, [...ping.data]], ["PING", [1, 44, 9]]);
});

Deno.test("z85: RFC 32 test vector and CURVE key pairs", () => {
  const raw = new Uint8Array([0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]);
  assertEquals(z85Encode(raw), "HelloWorld");
  assertEquals(z85Decode("HelloWorld"), raw);
  assertThrows(() => z85Decode("Hell"), SyntaxError);
  const kp = curveKeyPair();
  assertEquals(kp.publicKey.length, 40);
  assertEquals(curvePublicKey(kp.secretKey), kp.publicKey);
});

Deno.test("curve codec: round trip, replayed nonce and tampering rejected", async () => {
  const { CurveCodec } = await import("../../lib/zmq/curve_codec.ts");
  const key = crypto.getRandomValues(new Uint8Array(32));
  const c = new CurveCodec(key, "CurveZMQMESSAGEC", "CurveZMQMESSAGES", 3, 1);
  const s = new CurveCodec(key, "CurveZMQMESSAGES", "CurveZMQMESSAGEC", 2, 2);
  const m1 = c.encode(new TextEncoder().encode("hello"), 1);
  assertEquals(new TextDecoder().decode(m1.subarray(0, 8)), "\x07MESSAGE");
  const d = s.decode(m1);
  assertEquals([d.flags, new TextDecoder().decode(d.body)], [1, "hello"]);
  assertThrows(() => s.decode(m1), ZmqProtocolError, "nonce");
  const m2 = c.encode(new Uint8Array(3), 0);
  m2[m2.length - 1] ^= 1;
  assertThrows(() => s.decode(m2), ZmqProtocolError, "authentication");
});

Deno.test("curve crypto: our Poly1305 and SalsaBox equal @noble/ciphers on random inputs", async () => {
  const { poly1305 } = await import("@noble/ciphers/_poly1305.js");
  const { xsalsa20poly1305 } = await import("@noble/ciphers/salsa.js");
  const { poly1305Into } = await import("../../lib/zmq/poly1305.ts");
  const { SalsaBox } = await import("../../lib/zmq/salsa_box.ts");
  const tag = new Uint8Array(16);
  for (let len = 0; len < 300; len += len < 40 ? 1 : 37) {
    const key = crypto.getRandomValues(new Uint8Array(32));
    const msg = crypto.getRandomValues(new Uint8Array(len + 3));
    poly1305Into(key, msg, 3, len, tag, 0);
    assertEquals([...tag], [...poly1305(msg.subarray(3), key)], `poly1305 len ${len}`);
    // all-ones message and key limbs exercise the final reduction
    const ones = new Uint8Array(len).fill(0xff);
    const k1 = new Uint8Array(32).fill(0xff);
    poly1305Into(k1, ones, 0, len, tag, 0);
    assertEquals([...tag], [...poly1305(ones, k1)], `poly1305 ones len ${len}`);
    const prefix = new TextEncoder().encode("CurveZMQMESSAGES");
    const box = new SalsaBox(key, prefix);
    const counter = 2 ** 33 + len;
    const nonce = new Uint8Array(24);
    nonce.set(prefix);
    new DataView(nonce.buffer).setBigUint64(16, BigInt(counter));
    const sealed = new Uint8Array(16 + len);
    box.seal(counter, msg.subarray(3), sealed, 0);
    assertEquals([...sealed], [...xsalsa20poly1305(key, nonce).encrypt(msg.subarray(3))]);
    assertEquals([...box.open(counter, sealed)!], [...msg.subarray(3)]);
    sealed[0] ^= 1;
    assertEquals(box.open(counter, sealed), null);
  }
  // r = 1 and two all-ones blocks: h = 2^130 - 2 >= p, the final reduction must subtract p
  const k = new Uint8Array(32);
  k[0] = 1;
  k.fill(0xee, 16);
  const ff = new Uint8Array(32).fill(0xff);
  poly1305Into(k, ff, 0, 32, tag, 0);
  assertEquals([...tag], [...poly1305(ff, k)], "poly1305 h >= p");
  // aligned buffers of several blocks take the word-wise path
  for (const len of [288, 1000, 4096 + 7]) {
    const key = crypto.getRandomValues(new Uint8Array(32));
    const msg = crypto.getRandomValues(new Uint8Array(len));
    const box = new SalsaBox(key, new TextEncoder().encode("CurveZMQMESSAGEC"));
    const nonce = new Uint8Array(24);
    nonce.set(new TextEncoder().encode("CurveZMQMESSAGEC"));
    nonce[23] = 9;
    const sealed = new Uint8Array(16 + len);
    box.seal(9, msg, sealed, 0);
    assertEquals([...sealed], [...xsalsa20poly1305(key, nonce).encrypt(msg)], `len ${len}`);
    const padded = new Uint8Array(16 + sealed.length);
    padded.set(sealed, 16);
    assertEquals([...box.open(9, padded.subarray(16))!], [...msg]);
  }
});

Deno.test("codec: an output buffer with blocks queues a full block as it is", () => {
  const o = new OutBuffer(16, Infinity, 1024);
  const bodies = Array.from({ length: 30 }, (_, i) => new Uint8Array(100 + i * 7).fill(i));
  for (const b of bodies) o.frame(b, 0);
  const chunks = o.chunks();
  assertEquals(chunks.length > 1, true);
  assertEquals(chunks.every((c) => c.length <= 1024), true);
  assertEquals(o.size, chunks.reduce((n, c) => n + c.length, 0));
  const d = new FrameDecoder();
  for (const c of chunks) d.push(c);
  const got: number[] = [];
  while (d.next()) got.push(d.body.length);
  assertEquals(got, bodies.map((b) => b.length));
  o.reset();
  assertEquals(o.size, 0);
  o.frame(new Uint8Array(2000), 0); // larger than a block: a block of its own
  assertEquals(o.size, 2009);
});
