/**
 * The client side of SCRAM (RFC 5802, RFC 7677) with SHA-256 or SHA-512, on Web Crypto (PBKDF2
 * and HMAC), as Kafka's SCRAM-SHA-256 / SCRAM-SHA-512 logins use it: no channel binding
 * (`n,,`), the username escaped (`=2C`, `=3D`).
 *
 * @module
 */

/** The hash of a SCRAM mechanism. */
export type ScramHash = "SHA-256" | "SHA-512";

const enc = new TextEncoder();

function base64(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s);
}

function unbase64(s: string): Uint8Array<ArrayBuffer> {
  const raw = atob(s);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

async function hmac(
  hash: ScramHash,
  key: Uint8Array,
  data: Uint8Array,
): Promise<Uint8Array<ArrayBuffer>> {
  const k = await crypto.subtle.importKey(
    "raw",
    key as Uint8Array<ArrayBuffer>,
    {
      name: "HMAC",
      hash,
    },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, data as Uint8Array<ArrayBuffer>));
}

/** The attributes of a SCRAM message (`k=v,k=v`). */
function attributes(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(",")) {
    const i = part.indexOf("=");
    if (i > 0) out.set(part.slice(0, i), part.slice(i + 1));
  }
  return out;
}

/** A SCRAM exchange the server broke off or answered wrongly. */
export class ScramError extends Error {
  /**
   * Creates the error.
   *
   * @param message what went wrong
   */
  constructor(message: string) {
    super(message);
    this.name = "ScramError";
  }
}

/**
 * One SCRAM login: `first()`, then `final(serverFirst)`, then `verify(serverFinal)`.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ScramClient } from "./scram.ts";
 * // RFC 7677's example exchange
 * const c = new ScramClient("SHA-256", "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
 * assertEquals(c.first(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
 * const final = await c.final(
 *   "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
 * );
 * assertEquals(
 *   final,
 *   "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," +
 *     "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
 * );
 * await c.verify("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="); // the server knew the password
 * ```
 */
export class ScramClient {
  readonly #hash: ScramHash;
  readonly #user: string;
  readonly #password: string;
  readonly #nonce: string;
  #authMessage = "";
  #salted: Uint8Array<ArrayBuffer> | undefined;

  /**
   * Starts a login.
   *
   * @param hash SHA-256 or SHA-512
   * @param username the username
   * @param password the password
   * @param nonce the client nonce @default 24 random bytes, base64
   */
  constructor(hash: ScramHash, username: string, password: string, nonce?: string) {
    this.#hash = hash;
    this.#user = username.replaceAll("=", "=3D").replaceAll(",", "=2C");
    this.#password = password;
    this.#nonce = nonce ?? base64(crypto.getRandomValues(new Uint8Array(24)));
  }

  #bare(): string {
    return `n=${this.#user},r=${this.#nonce}`;
  }

  /**
   * The client-first message.
   *
   * @returns `n,,n=<user>,r=<nonce>`
   */
  first(): string {
    return `n,,${this.#bare()}`;
  }

  /**
   * The client-final message for the server-first message.
   *
   * @param serverFirst `r=…,s=…,i=…`
   * @returns `c=biws,r=…,p=<proof>`
   * @throws ScramError for a message without nonce, salt or iterations, or a nonce not ours
   */
  async final(serverFirst: string): Promise<string> {
    const a = attributes(serverFirst);
    if (a.has("e")) throw new ScramError(`the server refused the login: ${a.get("e")}`);
    const nonce = a.get("r"), salt = a.get("s"), iterations = Number(a.get("i"));
    if (!nonce || !salt || !Number.isInteger(iterations) || iterations < 1) {
      throw new ScramError(`unexpected SCRAM server-first message`);
    }
    if (!nonce.startsWith(this.#nonce)) throw new ScramError("the server's nonce is not ours");
    const bits = this.#hash === "SHA-256" ? 256 : 512;
    const key = await crypto.subtle.importKey("raw", enc.encode(this.#password), "PBKDF2", false, [
      "deriveBits",
    ]);
    this.#salted = new Uint8Array(
      await crypto.subtle.deriveBits(
        { name: "PBKDF2", hash: this.#hash, salt: unbase64(salt), iterations },
        key,
        bits,
      ),
    );
    const withoutProof = `c=biws,r=${nonce}`;
    this.#authMessage = `${this.#bare()},${serverFirst},${withoutProof}`;
    const clientKey = await hmac(this.#hash, this.#salted, enc.encode("Client Key"));
    const storedKey = new Uint8Array(await crypto.subtle.digest(this.#hash, clientKey));
    const signature = await hmac(this.#hash, storedKey, enc.encode(this.#authMessage));
    for (let i = 0; i < clientKey.length; i++) clientKey[i] ^= signature[i];
    return `${withoutProof},p=${base64(clientKey)}`;
  }

  /**
   * Checks the server-final message (the server proves it knows the password too).
   *
   * @param serverFinal `v=<signature>` (or `e=<error>`)
   * @throws ScramError when the server refused the login or its signature is wrong
   */
  async verify(serverFinal: string): Promise<void> {
    const a = attributes(serverFinal);
    if (a.has("e")) throw new ScramError(`the server refused the login: ${a.get("e")}`);
    if (!this.#salted) throw new ScramError("verify() before final()");
    const serverKey = await hmac(this.#hash, this.#salted, enc.encode("Server Key"));
    const expected = base64(await hmac(this.#hash, serverKey, enc.encode(this.#authMessage)));
    if (a.get("v") !== expected) throw new ScramError("the server's SCRAM signature is wrong");
  }
}
