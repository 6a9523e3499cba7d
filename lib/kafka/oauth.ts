/**
 * OAUTHBEARER tokens for hop credentials that name a `token_endpoint`: an OpenID Connect client
 * credentials grant (the credential's username is the client id, its password the secret), as
 * librdkafka's `sasl.oauthbearer.method=oidc` does for hop. Tokens are cached until shortly
 * before they expire.
 *
 * @module
 */
import { AuthError } from "../hop/errors.ts";

/** Seconds before expiry at which a cached token is replaced. */
const REFRESH_MARGIN_S = 30;

/**
 * Fetches and caches OAUTHBEARER tokens from a token endpoint.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { OidcTokenSource } from "./oauth.ts";
 * // a token endpoint on loopback standing for https://login.example.org/token
 * let requests = 0;
 * await using endpoint = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
 *   requests++;
 *   const ok = req.headers.get("authorization") === `Basic ${btoa("client:secret")}`;
 *   return ok
 *     ? Response.json({ access_token: "jwt-1", expires_in: 3600 })
 *     : new Response("denied", { status: 401 });
 * });
 * const tokens = new OidcTokenSource(`http://127.0.0.1:${endpoint.addr.port}/token`, "client", "secret");
 * assertEquals(await tokens.token(), "jwt-1");
 * assertEquals(await tokens.token(), "jwt-1"); // cached until shortly before it expires
 * assertEquals(requests, 1);
 * ```
 */
export class OidcTokenSource {
  /** The token endpoint URL. */
  readonly endpoint: string;
  readonly #clientId: string;
  readonly #secret: string;
  readonly #timeoutMs: number;
  #cached: { token: string; until: number } | undefined;
  #pending: Promise<string> | undefined;

  /**
   * Creates a token source; nothing is fetched until {@linkcode OidcTokenSource.token}.
   *
   * @param endpoint the token endpoint (http or https)
   * @param clientId the client id (the credential's username)
   * @param secret the client secret (the credential's password)
   * @param timeoutMs bound on one request @default 10000
   */
  constructor(endpoint: string, clientId: string, secret: string, timeoutMs = 10_000) {
    this.endpoint = endpoint;
    this.#clientId = clientId;
    this.#secret = secret;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * A valid token, fetched when none is cached or the cached one is about to expire.
   *
   * @returns the access token
   * @throws AuthError when the endpoint refuses or cannot be reached (the secret is never in it)
   */
  token(): Promise<string> {
    const now = Date.now();
    if (this.#cached && this.#cached.until > now) return Promise.resolve(this.#cached.token);
    this.#pending ??= this.#fetch().finally(() => (this.#pending = undefined));
    return this.#pending;
  }

  async #fetch(): Promise<string> {
    const basic = btoa(`${encodeURIComponent(this.#clientId)}:${encodeURIComponent(this.#secret)}`);
    let res: Response;
    try {
      res = await fetch(this.endpoint, {
        method: "POST",
        headers: {
          authorization: `Basic ${basic}`,
          "content-type": "application/x-www-form-urlencoded",
          accept: "application/json",
        },
        body: new URLSearchParams({ grant_type: "client_credentials" }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (e) {
      throw new AuthError(
        `cannot get an OAUTHBEARER token from ${this.endpoint}: ${(e as Error).message}`,
        { cause: e },
      );
    }
    const text = await res.text();
    if (!res.ok) {
      throw new AuthError(
        `token endpoint ${this.endpoint} refused client '${this.#clientId}': HTTP ${res.status}`,
      );
    }
    let body: { access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(text);
    } catch (e) {
      throw new AuthError(`token endpoint ${this.endpoint} did not answer JSON`, { cause: e });
    }
    if (typeof body.access_token !== "string" || body.access_token === "") {
      throw new AuthError(`token endpoint ${this.endpoint} gave no access_token`);
    }
    const life = typeof body.expires_in === "number" ? body.expires_in : 300;
    this.#cached = {
      token: body.access_token,
      until: Date.now() + Math.max(0, life - REFRESH_MARGIN_S) * 1000,
    };
    return body.access_token;
  }
}
