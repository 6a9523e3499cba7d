/**
 * The CURVE handshake (RFC 26, CurveZMQ): HELLO, WELCOME (with the server's stateless cookie),
 * INITIATE (with the client's vouch and metadata), READY, and ERROR for refusals. Builders and
 * parsers are pure; {@linkcode curveHandshake} drives them over a {@linkcode HandshakeIO}.
 *
 * Short nonces follow libzmq: client HELLO 1, INITIATE 2, messages from 3; server READY 1,
 * messages from 2.
 *
 * @module
 */
import { x25519 } from "@noble/curves/ed25519.js";
import { concatBytes } from "../_util/bytes.ts";
import { boxKey, boxOpen, boxSeal, longNonce, shortNonce } from "./curve_box.ts";
import { CurveCodec } from "./curve_codec.ts";
import { keyBytes } from "./curve_keys.ts";
import { buildCommand, buildError, buildMetadata, errorReason, parseCommand } from "./command.ts";
import { ZmqProtocolError } from "./errors.ts";
import {
  checkPeerMetadata,
  type HandshakeContext,
  HandshakeError,
  type HandshakeIO,
  type HandshakeResult,
} from "./mechanism.ts";
import type { CurveClientOptions, CurveServerOptions, PeerInfo } from "./types.ts";
import { z85Encode } from "./z85.ts";

const concat = (...parts: Uint8Array[]): Uint8Array => concatBytes(parts);

function u64(n: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, n);
  return b;
}

function readU64(b: Uint8Array, off: number): bigint {
  return new DataView(b.buffer, b.byteOffset + off, 8).getBigUint64(0);
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

function open(key: Uint8Array, nonce: Uint8Array, box: Uint8Array, what: string): Uint8Array {
  try {
    return boxOpen(key, nonce, box);
  } catch (e) {
    throw new HandshakeError(`CURVE ${what} box failed authentication`, false, { cause: e });
  }
}

function expect(body: Uint8Array, name: string): Uint8Array {
  const cmd = parseCommand(body);
  if (cmd.name === "ERROR") {
    throw new HandshakeError(`peer refused: ${errorReason(cmd.data)}`, true);
  }
  if (cmd.name !== name) throw new HandshakeError(`expected CURVE ${name}, got ${cmd.name}`);
  return body;
}

/** Client short-term state between HELLO and INITIATE. */
export interface CurveClientState {
  /** Server long-term public key. */
  serverKey: Uint8Array;
  /** Our long-term keys. */
  publicKey: Uint8Array;
  /** Our long-term secret key. */
  secretKey: Uint8Array;
  /** Our short-term public key C'. */
  shortPublic: Uint8Array;
  /** Our short-term secret key c'. */
  shortSecret: Uint8Array;
}

/**
 * Builds the client's HELLO (200 bytes) with short nonce 1.
 *
 * @param st client state (short-term keys made by the caller)
 * @returns HELLO command body
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { x25519 } from "@noble/curves/ed25519.js";
 * import { buildHello, processHello, processInitiate, processWelcome } from "./curve_handshake.ts";
 * import { buildMetadata } from "./command.ts";
 * const pair = () => {
 *   const secret = x25519.utils.randomSecretKey();
 *   return { pub: x25519.getPublicKey(secret), secret };
 * };
 * const [s, c, cShort, sShort] = [pair(), pair(), pair(), pair()];
 * const client = {
 *   serverKey: s.pub,
 *   publicKey: c.pub,
 *   secretKey: c.secret,
 *   shortPublic: cShort.pub,
 *   shortSecret: cShort.secret,
 * };
 * const server = {
 *   publicKey: s.pub,
 *   secretKey: s.secret,
 *   shortPublic: sShort.pub,
 *   shortSecret: sShort.secret,
 *   cookieKey: crypto.getRandomValues(new Uint8Array(32)),
 * };
 * const hello = buildHello(client);
 * assertEquals(hello.length, 200);
 * processHello(server, hello); // a valid HELLO: the server answers WELCOME
 * ```
 */
export function buildHello(st: CurveClientState): Uint8Array {
  const key = boxKey(st.serverKey, st.shortSecret);
  const box = boxSeal(key, shortNonce("CurveZMQHELLO---", 1n), new Uint8Array(64));
  const data = concat(new Uint8Array([1, 0]), new Uint8Array(72), st.shortPublic, u64(1n), box);
  return buildCommand("HELLO", data);
}

/**
 * Client: processes WELCOME and builds INITIATE (short nonce 2) carrying our metadata.
 *
 * @param st client state
 * @param welcome WELCOME command body
 * @param metadata our encoded metadata
 * @returns INITIATE body and the server short-term key S'
 * @throws {HandshakeError} on a bad WELCOME
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { x25519 } from "@noble/curves/ed25519.js";
 * import { buildHello, processHello, processInitiate, processWelcome } from "./curve_handshake.ts";
 * import { buildMetadata } from "./command.ts";
 * const pair = () => {
 *   const secret = x25519.utils.randomSecretKey();
 *   return { pub: x25519.getPublicKey(secret), secret };
 * };
 * const [s, c, cShort, sShort] = [pair(), pair(), pair(), pair()];
 * const client = {
 *   serverKey: s.pub,
 *   publicKey: c.pub,
 *   secretKey: c.secret,
 *   shortPublic: cShort.pub,
 *   shortSecret: cShort.secret,
 * };
 * const server = {
 *   publicKey: s.pub,
 *   secretKey: s.secret,
 *   shortPublic: sShort.pub,
 *   shortSecret: sShort.secret,
 *   cookieKey: crypto.getRandomValues(new Uint8Array(32)),
 * };
 * const welcome = processHello(server, buildHello(client));
 * const { initiate, serverShort } = processWelcome(client, welcome, buildMetadata("SUB"));
 * assertEquals(serverShort, sShort.pub);
 * processInitiate(server, initiate);
 * ```
 */
export function processWelcome(
  st: CurveClientState,
  welcome: Uint8Array,
  metadata: Uint8Array,
): { initiate: Uint8Array; serverShort: Uint8Array } {
  const d = parseCommand(expect(welcome, "WELCOME")).data;
  if (d.length !== 16 + 144) throw new HandshakeError(`CURVE WELCOME of ${d.length} bytes`);
  const pt = open(
    boxKey(st.serverKey, st.shortSecret),
    longNonce("WELCOME-", d.subarray(0, 16)),
    d.subarray(16),
    "WELCOME",
  );
  const serverShort = pt.slice(0, 32);
  const cookie = pt.slice(32, 128);
  const vouchNonce = crypto.getRandomValues(new Uint8Array(16));
  const vouch = concat(
    vouchNonce,
    boxSeal(
      boxKey(serverShort, st.secretKey),
      longNonce("VOUCH---", vouchNonce),
      concat(st.shortPublic, st.serverKey),
    ),
  );
  const box = boxSeal(
    boxKey(serverShort, st.shortSecret),
    shortNonce("CurveZMQINITIATE", 2n),
    concat(st.publicKey, vouch, metadata),
  );
  return { initiate: buildCommand("INITIATE", concat(cookie, u64(2n), box)), serverShort };
}

/** Server state across one handshake. */
export interface CurveServerState {
  /** Our long-term public key S. */
  publicKey: Uint8Array;
  /** Our long-term secret key s. */
  secretKey: Uint8Array;
  /** Short-term public key S'. */
  shortPublic: Uint8Array;
  /** Short-term secret key s'. */
  shortSecret: Uint8Array;
  /** Cookie key K (per connection). */
  cookieKey: Uint8Array;
  /** Client short-term key C', once HELLO is in. */
  clientShort?: Uint8Array;
}

/**
 * Server: checks HELLO and builds WELCOME with the cookie.
 *
 * @param st server state
 * @param hello HELLO command body
 * @returns WELCOME command body
 * @throws {HandshakeError} on a bad HELLO
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { x25519 } from "@noble/curves/ed25519.js";
 * import { buildHello, processHello, processInitiate, processWelcome } from "./curve_handshake.ts";
 * import { buildMetadata } from "./command.ts";
 * const pair = () => {
 *   const secret = x25519.utils.randomSecretKey();
 *   return { pub: x25519.getPublicKey(secret), secret };
 * };
 * const [s, c, cShort, sShort] = [pair(), pair(), pair(), pair()];
 * const client = {
 *   serverKey: s.pub,
 *   publicKey: c.pub,
 *   secretKey: c.secret,
 *   shortPublic: cShort.pub,
 *   shortSecret: cShort.secret,
 * };
 * const server = {
 *   publicKey: s.pub,
 *   secretKey: s.secret,
 *   shortPublic: sShort.pub,
 *   shortSecret: sShort.secret,
 *   cookieKey: crypto.getRandomValues(new Uint8Array(32)),
 * };
 * const welcome = processHello(server, buildHello(client));
 * const { serverShort } = processWelcome(client, welcome, buildMetadata("SUB"));
 * assertEquals(serverShort, sShort.pub); // the client opened the WELCOME box
 * ```
 */
export function processHello(st: CurveServerState, hello: Uint8Array): Uint8Array {
  const d = parseCommand(expect(hello, "HELLO")).data;
  if (d.length !== 194) throw new HandshakeError(`CURVE HELLO of ${d.length + 6} bytes`);
  if (d[0] !== 1) throw new HandshakeError(`CURVE HELLO version ${d[0]}.${d[1]}`);
  const clientShort = d.slice(74, 106);
  const nonce = d.subarray(106, 114);
  const pt = open(
    boxKey(clientShort, st.secretKey),
    concat(new TextEncoder().encode("CurveZMQHELLO---"), nonce),
    d.subarray(114),
    "HELLO",
  );
  if (!pt.every((b) => b === 0)) throw new HandshakeError("CURVE HELLO signature not zero");
  st.clientShort = clientShort;
  const cookieNonce = crypto.getRandomValues(new Uint8Array(16));
  const cookie = concat(
    cookieNonce,
    boxSeal(st.cookieKey, longNonce("COOKIE--", cookieNonce), concat(clientShort, st.shortSecret)),
  );
  const welcomeNonce = crypto.getRandomValues(new Uint8Array(16));
  const box = boxSeal(
    boxKey(clientShort, st.secretKey),
    longNonce("WELCOME-", welcomeNonce),
    concat(st.shortPublic, cookie),
  );
  return buildCommand("WELCOME", concat(welcomeNonce, box));
}

/**
 * Server: checks INITIATE (cookie, vouch) and returns the client's long-term key and metadata.
 *
 * @param st server state
 * @param initiate INITIATE command body
 * @returns client long-term public key, metadata and the INITIATE nonce
 * @throws {HandshakeError} on a bad cookie, box or vouch
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { x25519 } from "@noble/curves/ed25519.js";
 * import { buildHello, processHello, processInitiate, processWelcome } from "./curve_handshake.ts";
 * import { buildMetadata } from "./command.ts";
 * const pair = () => {
 *   const secret = x25519.utils.randomSecretKey();
 *   return { pub: x25519.getPublicKey(secret), secret };
 * };
 * const [s, c, cShort, sShort] = [pair(), pair(), pair(), pair()];
 * const client = {
 *   serverKey: s.pub,
 *   publicKey: c.pub,
 *   secretKey: c.secret,
 *   shortPublic: cShort.pub,
 *   shortSecret: cShort.secret,
 * };
 * const server = {
 *   publicKey: s.pub,
 *   secretKey: s.secret,
 *   shortPublic: sShort.pub,
 *   shortSecret: sShort.secret,
 *   cookieKey: crypto.getRandomValues(new Uint8Array(32)),
 * };
 * const welcome = processHello(server, buildHello(client));
 * const { initiate } = processWelcome(client, welcome, buildMetadata("SUB"));
 * const { clientKey } = processInitiate(server, initiate);
 * assertEquals(clientKey, c.pub); // the server knows who the client is
 * ```
 */
export function processInitiate(
  st: CurveServerState,
  initiate: Uint8Array,
): { clientKey: Uint8Array; metadata: Uint8Array; nonce: bigint } {
  const d = parseCommand(expect(initiate, "INITIATE")).data;
  if (d.length < 96 + 8 + 16 + 128) throw new HandshakeError("CURVE INITIATE too short");
  const cookie = open(
    st.cookieKey,
    longNonce("COOKIE--", d.subarray(0, 16)),
    d.subarray(16, 96),
    "cookie",
  );
  if (!st.clientShort || !equal(cookie.subarray(0, 32), st.clientShort)) {
    throw new HandshakeError("CURVE INITIATE cookie does not match the HELLO");
  }
  if (!equal(cookie.subarray(32, 64), st.shortSecret)) {
    throw new HandshakeError("CURVE INITIATE cookie does not match our short-term key");
  }
  const nonce = readU64(d, 96);
  const pt = open(
    boxKey(st.clientShort, st.shortSecret),
    shortNonce("CurveZMQINITIATE", nonce),
    d.subarray(104),
    "INITIATE",
  );
  const clientKey = pt.slice(0, 32);
  const vouch = open(
    boxKey(clientKey, st.shortSecret),
    longNonce("VOUCH---", pt.subarray(32, 48)),
    pt.subarray(48, 128),
    "vouch",
  );
  if (!equal(vouch.subarray(0, 32), st.clientShort) || !equal(vouch.subarray(32), st.publicKey)) {
    throw new HandshakeError("CURVE vouch does not match the connection keys");
  }
  return { clientKey, metadata: pt.slice(128), nonce };
}

/**
 * Runs the CURVE handshake as client or server and returns the MESSAGE codec.
 *
 * @param io handshake I/O
 * @param ctx our side (the server's `authorize` sees the client's Z85 key)
 * @param curve keys
 * @returns the handshake result with the codec
 * @throws {HandshakeError} on refusal (authRefused) or protocol errors
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { curveHandshake } from "./curve_handshake.ts";
 * import { curveKeyPair } from "./curve_keys.ts";
 * import type { HandshakeIO } from "./mechanism.ts";
 * import { Channel } from "../_util/channel.ts";
 * // two ends of an in-memory pipe stand for the TCP connection
 * const [toServer, toClient] = [new Channel<Uint8Array>(), new Channel<Uint8Array>()];
 * const io = (rx: Channel<Uint8Array>, tx: Channel<Uint8Array>): HandshakeIO => ({
 *   readCommand: () => rx.receive(),
 *   writeCommand: (body) => Promise.resolve(void tx.push(body)),
 * });
 * const s = curveKeyPair();
 * const c = curveKeyPair();
 * const [client, server] = await Promise.all([
 *   curveHandshake(io(toClient, toServer), { socketType: "SUB", asServer: false, peerAddress: "" }, {
 *     serverKey: s.publicKey,
 *     ...c,
 *   }),
 *   curveHandshake(io(toServer, toClient), { socketType: "PUB", asServer: true, peerAddress: "" }, {
 *     server: true,
 *     secretKey: s.secretKey,
 *   }),
 * ]);
 * assertEquals([client.peerSocketType, server.peerSocketType], ["PUB", "SUB"]);
 * assertEquals(server.peer.publicKey, c.publicKey);
 * ```
 */
export async function curveHandshake(
  io: HandshakeIO,
  ctx: HandshakeContext,
  curve: CurveServerOptions | CurveClientOptions,
): Promise<HandshakeResult> {
  const short = x25519.keygen();
  const metadata = buildMetadata(ctx.socketType);
  if ("server" in curve && curve.server) {
    const secretKey = keyBytes(curve.secretKey);
    const publicKey = curve.publicKey ? keyBytes(curve.publicKey) : x25519.getPublicKey(secretKey);
    const st: CurveServerState = {
      publicKey,
      secretKey,
      shortPublic: short.publicKey,
      shortSecret: short.secretKey,
      cookieKey: crypto.getRandomValues(new Uint8Array(32)),
    };
    await io.writeCommand(processHello(st, await io.readCommand()));
    const { clientKey, metadata: theirs, nonce } = processInitiate(st, await io.readCommand());
    const peer: PeerInfo = {
      address: ctx.peerAddress,
      mechanism: "CURVE",
      publicKey: z85Encode(clientKey),
    };
    if (ctx.authorize) {
      let ok = false;
      try {
        ok = await ctx.authorize(peer);
      } catch {
        ok = false;
      }
      if (!ok) {
        await io.writeCommand(buildError("400"));
        throw new HandshakeError(`CURVE client ${peer.publicKey} refused by authorize()`, true);
      }
    }
    const peerSocketType = checkPeerMetadata(ctx.socketType, theirs);
    const key = boxKey(st.clientShort!, st.shortSecret);
    const ready = boxSeal(key, shortNonce("CurveZMQREADY---", 1n), metadata);
    await io.writeCommand(buildCommand("READY", concat(u64(1n), ready)));
    return {
      peerSocketType,
      peer,
      codec: new CurveCodec(key, "CurveZMQMESSAGES", "CurveZMQMESSAGEC", 2n, nonce),
    };
  }
  const c = curve as CurveClientOptions;
  const st: CurveClientState = {
    serverKey: keyBytes(c.serverKey),
    publicKey: keyBytes(c.publicKey),
    secretKey: keyBytes(c.secretKey),
    shortPublic: short.publicKey,
    shortSecret: short.secretKey,
  };
  await io.writeCommand(buildHello(st));
  const { initiate, serverShort } = processWelcome(st, await io.readCommand(), metadata);
  await io.writeCommand(initiate);
  const rd = parseCommand(expect(await io.readCommand(), "READY")).data;
  if (rd.length < 8 + 16) throw new ZmqProtocolError("CURVE READY too short");
  const nonce = readU64(rd, 0);
  const key = boxKey(serverShort, st.shortSecret);
  const theirs = open(key, shortNonce("CurveZMQREADY---", nonce), rd.subarray(8), "READY");
  const peerSocketType = checkPeerMetadata(ctx.socketType, theirs);
  return {
    peerSocketType,
    peer: { address: ctx.peerAddress, mechanism: "CURVE" },
    codec: new CurveCodec(key, "CurveZMQMESSAGEC", "CurveZMQMESSAGES", 3n, nonce),
  };
}
