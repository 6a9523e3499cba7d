/**
 * ZMTP 3.x commands (RFC 37), free of I/O: generic command bodies, READY/INITIATE metadata
 * properties, SUBSCRIBE/CANCEL (command and ZMTP 3.0 message forms), PING/PONG and ERROR.
 *
 * @module
 */
import { concatBytes } from "../_util/bytes.ts";
import { ZmqProtocolError } from "./errors.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A parsed command: its name and the bytes after it. */
export interface Command {
  /** Command name, e.g. "READY". */
  name: string;
  /** Command data. */
  data: Uint8Array;
}

/**
 * Builds a command frame body: name length, name, data.
 *
 * @param name command name (ASCII, at most 255 characters)
 * @param data command data
 * @returns the body to send in a COMMAND frame
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { buildCommand } from "./command.ts";
 * assert(buildCommand("PING", new Uint8Array(2)).length === 7);
 * ```
 */
export function buildCommand(name: string, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(1 + name.length + data.length);
  out[0] = name.length;
  for (let i = 0; i < name.length; i++) out[1 + i] = name.charCodeAt(i);
  out.set(data, 1 + name.length);
  return out;
}

/**
 * Parses a command frame body.
 *
 * @param body the COMMAND frame body
 * @returns name and data
 * @throws {ZmqProtocolError} when the body is shorter than its name
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { buildCommand, parseCommand } from "./command.ts";
 * assert(parseCommand(buildCommand("PONG")).name === "PONG");
 * ```
 */
export function parseCommand(body: Uint8Array): Command {
  if (body.length < 1 || body.length < 1 + body[0]) {
    throw new ZmqProtocolError("malformed command frame");
  }
  const n = body[0];
  let name = "";
  for (let i = 0; i < n; i++) name += String.fromCharCode(body[1 + i]);
  return { name, data: body.subarray(1 + n) };
}

/**
 * Encodes metadata properties (name-length, name, 4-byte value length, value).
 *
 * @param props property names and values
 * @returns encoded properties
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { encodeProperties } from "./command.ts";
 * assert(encodeProperties({ "Socket-Type": "PUB" }).length === 1 + 11 + 4 + 3);
 * ```
 */
export function encodeProperties(props: Record<string, string | Uint8Array>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [k, v] of Object.entries(props)) {
    const val = typeof v === "string" ? enc.encode(v) : v;
    const p = new Uint8Array(1 + k.length + 4 + val.length);
    p[0] = k.length;
    for (let i = 0; i < k.length; i++) p[1 + i] = k.charCodeAt(i);
    new DataView(p.buffer).setUint32(1 + k.length, val.length);
    p.set(val, 5 + k.length);
    parts.push(p);
  }
  return concatBytes(parts);
}

/**
 * Decodes metadata properties; names are returned as given (compare case-insensitively).
 *
 * @param data encoded properties
 * @returns property name -> raw value
 * @throws {ZmqProtocolError} on truncated properties
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { decodeProperties, encodeProperties } from "./command.ts";
 * const p = decodeProperties(encodeProperties({ "Socket-Type": "SUB" }));
 * assert(new TextDecoder().decode(p.get("socket-type")) === "SUB");
 * ```
 */
export function decodeProperties(data: Uint8Array): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  let p = 0;
  while (p < data.length) {
    const n = data[p];
    if (p + 1 + n + 4 > data.length) throw new ZmqProtocolError("truncated metadata property");
    let name = "";
    for (let i = 0; i < n; i++) name += String.fromCharCode(data[p + 1 + i]);
    p += 1 + n;
    const len = ((data[p] << 24) | (data[p + 1] << 16) | (data[p + 2] << 8) | data[p + 3]) >>> 0;
    p += 4;
    if (p + len > data.length) throw new ZmqProtocolError("truncated metadata value");
    out.set(name.toLowerCase(), data.subarray(p, p + len));
    p += len;
  }
  return out;
}

/**
 * Reads the Socket-Type property from decoded metadata.
 *
 * @param props decoded properties
 * @returns the socket type, e.g. "PUB"
 * @throws {ZmqProtocolError} when it is missing
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { decodeProperties, encodeProperties, socketTypeOf } from "./command.ts";
 * assert(socketTypeOf(decodeProperties(encodeProperties({ "Socket-Type": "REP" }))) === "REP");
 * ```
 */
export function socketTypeOf(props: Map<string, Uint8Array>): string {
  const v = props.get("socket-type");
  if (!v) throw new ZmqProtocolError("peer metadata has no Socket-Type");
  return dec.decode(v);
}

const COMPATIBLE: Record<string, string[]> = {
  PUB: ["SUB", "XSUB"],
  XPUB: ["SUB", "XSUB"],
  SUB: ["PUB", "XPUB"],
  XSUB: ["PUB", "XPUB"],
  REQ: ["REP", "ROUTER"],
  REP: ["REQ", "DEALER"],
  DEALER: ["REP", "DEALER", "ROUTER"],
  ROUTER: ["REQ", "DEALER", "ROUTER"],
  PUSH: ["PULL"],
  PULL: ["PUSH"],
  PAIR: ["PAIR"],
};

/**
 * Whether a socket of type `ours` may talk to a peer of type `theirs` (RFC 37 table).
 *
 * @param ours our socket type
 * @param theirs the peer's Socket-Type
 * @returns true when compatible
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { compatibleSocketTypes } from "./command.ts";
 * assert(compatibleSocketTypes("PUB", "SUB") && !compatibleSocketTypes("PUB", "PULL"));
 * ```
 */
export function compatibleSocketTypes(ours: string, theirs: string): boolean {
  return COMPATIBLE[ours]?.includes(theirs.toUpperCase()) ?? false;
}

/**
 * Builds the READY command body for NULL (and the CURVE metadata with `buildMetadata`).
 *
 * @param socketType our socket type
 * @returns the READY command body
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { buildReady, parseCommand } from "./command.ts";
 * assert(parseCommand(buildReady("SUB")).name === "READY");
 * ```
 */
export function buildReady(socketType: string): Uint8Array {
  return buildCommand("READY", buildMetadata(socketType));
}

/**
 * Our metadata: Socket-Type, plus an empty Identity for REQ/DEALER/ROUTER as libzmq sends.
 *
 * @param socketType our socket type
 * @returns encoded properties
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { buildMetadata } from "./command.ts";
 * assert(buildMetadata("PUB").length > 0);
 * ```
 */
export function buildMetadata(socketType: string): Uint8Array {
  const props: Record<string, string> = { "Socket-Type": socketType };
  if (socketType === "REQ" || socketType === "DEALER" || socketType === "ROUTER") {
    props["Identity"] = "";
  }
  return encodeProperties(props);
}

/**
 * Builds an ERROR command body.
 *
 * @param reason short reason text (at most 255 bytes)
 * @returns the ERROR command body
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { buildError, parseCommand } from "./command.ts";
 * assert(parseCommand(buildError("400")).data[0] === 3);
 * ```
 */
export function buildError(reason: string): Uint8Array {
  const r = enc.encode(reason).subarray(0, 255);
  const d = new Uint8Array(1 + r.length);
  d[0] = r.length;
  d.set(r, 1);
  return buildCommand("ERROR", d);
}

/**
 * Reads the reason from ERROR command data.
 *
 * @param data ERROR command data
 * @returns the reason text
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { buildError, errorReason, parseCommand } from "./command.ts";
 * assert(errorReason(parseCommand(buildError("400")).data) === "400");
 * ```
 */
export function errorReason(data: Uint8Array): string {
  if (data.length < 1) return "";
  return dec.decode(data.subarray(1, 1 + data[0]));
}

/**
 * Builds a subscription as a ZMTP 3.1 SUBSCRIBE/CANCEL command body.
 *
 * @param topic the prefix
 * @param subscribe true for SUBSCRIBE, false for CANCEL
 * @returns the command body
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { buildSubscribeCommand } from "./command.ts";
 * assert(buildSubscribeCommand(new Uint8Array([65]), true).length === 11);
 * ```
 */
export function buildSubscribeCommand(topic: Uint8Array, subscribe: boolean): Uint8Array {
  return buildCommand(subscribe ? "SUBSCRIBE" : "CANCEL", topic);
}

/**
 * Builds a subscription as a ZMTP 3.0 message body: 0x01 (subscribe) or 0x00 (cancel) + topic.
 *
 * @param topic the prefix
 * @param subscribe true to subscribe
 * @returns the message frame body
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { buildSubscribeMessage } from "./command.ts";
 * assert(buildSubscribeMessage(new Uint8Array(0), true)[0] === 1);
 * ```
 */
export function buildSubscribeMessage(topic: Uint8Array, subscribe: boolean): Uint8Array {
  const out = new Uint8Array(1 + topic.length);
  out[0] = subscribe ? 1 : 0;
  out.set(topic, 1);
  return out;
}

/**
 * Builds PING (ttl in deciseconds, context up to 16 bytes) or PONG (echoing the context).
 *
 * @param kind "PING" or "PONG"
 * @param ttlDeciseconds PING time-to-live
 * @param context opaque context bytes
 * @returns the command body
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { buildPing } from "./command.ts";
 * assert(buildPing("PING", 10).length === 7);
 * ```
 */
export function buildPing(
  kind: "PING" | "PONG",
  ttlDeciseconds = 0,
  context: Uint8Array = new Uint8Array(0),
): Uint8Array {
  if (kind === "PONG") return buildCommand("PONG", context);
  const d = new Uint8Array(2 + context.length);
  d[0] = (ttlDeciseconds >>> 8) & 0xff;
  d[1] = ttlDeciseconds & 0xff;
  d.set(context, 2);
  return buildCommand("PING", d);
}
