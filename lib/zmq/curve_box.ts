/**
 * NaCl crypto_box as CurveZMQ uses it, on @noble: X25519 shared secret -> HSalsa20 (zero nonce) =
 * the precomputed box key; XSalsa20-Poly1305 with it seals and opens (tag first, like
 * libsodium's `crypto_box_easy_afternm`).
 *
 * @module
 */
import { x25519 } from "@noble/curves/ed25519.js";
import { hsalsa, xsalsa20poly1305 } from "@noble/ciphers/salsa.js";

// "expand 32-byte k" as little-endian words
const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);

/**
 * crypto_box_beforenm: the precomputed key for boxes between `publicKey` and `secretKey`.
 *
 * @param publicKey the other side's X25519 public key (32 bytes)
 * @param secretKey our X25519 secret key (32 bytes)
 * @returns 32-byte box key
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { x25519 } from "@noble/curves/ed25519.js";
 * import { boxKey } from "./curve_box.ts";
 * const a = x25519.keygen(), b = x25519.keygen();
 * const k1 = boxKey(b.publicKey, a.secretKey), k2 = boxKey(a.publicKey, b.secretKey);
 * assert(k1.every((v, i) => v === k2[i]));
 * ```
 */
export function boxKey(publicKey: Uint8Array, secretKey: Uint8Array): Uint8Array {
  const shared = x25519.getSharedSecret(secretKey, publicKey);
  const k = new Uint32Array(shared.slice().buffer, 0, 8);
  const out = new Uint32Array(8);
  hsalsa(SIGMA, k, new Uint32Array(4), out);
  return new Uint8Array(out.buffer);
}

/**
 * Seals `plaintext` (result: 16-byte tag + ciphertext).
 *
 * @param key box key from {@linkcode boxKey} (or a secretbox key)
 * @param nonce 24 bytes
 * @param plaintext message
 * @returns tag + ciphertext
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { boxOpen, boxSeal } from "./curve_box.ts";
 * const key = new Uint8Array(32), nonce = new Uint8Array(24);
 * assert(boxOpen(key, nonce, boxSeal(key, nonce, new Uint8Array([7])))[0] === 7);
 * ```
 */
export function boxSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Uint8Array {
  return xsalsa20poly1305(key, nonce).encrypt(plaintext);
}

/**
 * Opens a sealed box.
 *
 * @param key box key
 * @param nonce 24 bytes
 * @param box tag + ciphertext
 * @returns the plaintext
 * @throws {Error} when authentication fails
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { boxSeal, boxOpen } from "./curve_box.ts";
 * const key = new Uint8Array(32), nonce = new Uint8Array(24);
 * assert(boxOpen(key, nonce, boxSeal(key, nonce, new Uint8Array(3))).length === 3);
 * ```
 */
export function boxOpen(key: Uint8Array, nonce: Uint8Array, box: Uint8Array): Uint8Array {
  return xsalsa20poly1305(key, nonce).decrypt(box);
}

/**
 * A 24-byte nonce: 16-byte ASCII prefix + 8-byte big-endian counter.
 *
 * @param prefix 16 ASCII characters, e.g. "CurveZMQMESSAGEC"
 * @param counter short nonce
 * @returns nonce
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { shortNonce } from "./curve_box.ts";
 * assert(shortNonce("CurveZMQHELLO---", 1n)[23] === 1);
 * ```
 */
export function shortNonce(prefix: string, counter: bigint): Uint8Array {
  const n = new Uint8Array(24);
  for (let i = 0; i < 16; i++) n[i] = prefix.charCodeAt(i);
  new DataView(n.buffer).setBigUint64(16, counter);
  return n;
}

/**
 * A 24-byte nonce: 8-byte ASCII prefix + 16 given bytes.
 *
 * @param prefix 8 ASCII characters, e.g. "WELCOME-"
 * @param tail 16 bytes
 * @returns nonce
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { longNonce } from "./curve_box.ts";
 * assert(longNonce("VOUCH---", new Uint8Array(16)).length === 24);
 * ```
 */
export function longNonce(prefix: string, tail: Uint8Array): Uint8Array {
  const n = new Uint8Array(24);
  for (let i = 0; i < 8; i++) n[i] = prefix.charCodeAt(i);
  n.set(tail.subarray(0, 16), 8);
  return n;
}
