/**
 * CURVE long-term key helpers: key pairs and public-key derivation, Z85 encoded like
 * pyzmq's `zmq.curve_keypair()`.
 *
 * @module
 */
import { x25519 } from "@noble/curves/ed25519.js";
import { z85Decode, z85Encode } from "./z85.ts";

/**
 * Reads a key given as 32 raw bytes or 40 Z85 characters.
 *
 * @param key raw or Z85 key
 * @returns 32 bytes
 * @throws {RangeError} on a wrong length
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { keyBytes } from "./curve_keys.ts";
 * assert(keyBytes(new Uint8Array(32)).length === 32);
 * ```
 */
export function keyBytes(key: Uint8Array | string): Uint8Array {
  const b = typeof key === "string" ? z85Decode(key) : key;
  if (b.length !== 32) throw new RangeError(`CURVE key must be 32 bytes, got ${b.length}`);
  return b;
}

/**
 * Makes a new CURVE key pair.
 *
 * @returns Z85 public and secret keys, 40 characters each
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { curveKeyPair } from "./curve_keys.ts";
 * const { publicKey, secretKey } = curveKeyPair();
 * assert(publicKey.length === 40 && secretKey.length === 40);
 * ```
 */
export function curveKeyPair(): { publicKey: string; secretKey: string } {
  const secret = crypto.getRandomValues(new Uint8Array(32));
  return { publicKey: z85Encode(x25519.getPublicKey(secret)), secretKey: z85Encode(secret) };
}

/**
 * Derives the public key of a CURVE secret key (like pyzmq's `zmq.curve_public`).
 *
 * @param secretKey raw 32 bytes or Z85
 * @returns Z85 public key
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { curveKeyPair, curvePublicKey } from "./curve_keys.ts";
 * const kp = curveKeyPair();
 * assert(curvePublicKey(kp.secretKey) === kp.publicKey);
 * ```
 */
export function curvePublicKey(secretKey: string | Uint8Array): string {
  return z85Encode(x25519.getPublicKey(keyBytes(secretKey)));
}
