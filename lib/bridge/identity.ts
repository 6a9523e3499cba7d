/**
 * Message identity: the same posttroll message (same bytes) has the same 16-byte id wherever and
 * however often it is forwarded, so copies from two bridge instances, or a record redelivered
 * after a restart, are recognised. The id is a name-based UUID (version 8, RFC 9562) from the
 * SHA-256 of the message bytes, and travels as hop's `_id` header.
 *
 * @module
 */
import { createHash } from "node:crypto";

/**
 * The identity of a message: the first 16 bytes of SHA-256 over its bytes, with the UUID version
 * (8) and variant bits set.
 *
 * @param raw the message as sent on the wire
 * @returns 16 bytes (a UUID)
 * @example
 * ```ts
 * import { messageIdentity, formatIdentity } from "./identity.ts";
 * const id = messageIdentity(new TextEncoder().encode("pytroll://a info u@h 2020-01-01T00:00:00 v1.01"));
 * formatIdentity(id)[14]; // "8"
 * ```
 */
export function messageIdentity(raw: Uint8Array): Uint8Array {
  const digest = createHash("sha256").update(raw).digest();
  const id = new Uint8Array(digest.buffer, digest.byteOffset, 16).slice();
  id[6] = (id[6] & 0x0f) | 0x80;
  id[8] = (id[8] & 0x3f) | 0x80;
  return id;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/**
 * Formats a 16-byte id as a UUID string (`xxxxxxxx-xxxx-8xxx-...`).
 *
 * @param id 16 bytes
 * @returns the canonical UUID text
 * @example
 * ```ts
 * import { formatIdentity } from "./identity.ts";
 * formatIdentity(new Uint8Array(16)); // "00000000-0000-0000-0000-000000000000"
 * ```
 */
export function formatIdentity(id: Uint8Array): string {
  let s = "";
  for (let i = 0; i < id.length; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += "-";
    s += HEX[id[i]];
  }
  return s;
}
