/**
 * SASL login on a fresh broker connection (SaslHandshake v1, then SaslAuthenticate): PLAIN,
 * SCRAM-SHA-256 / SCRAM-SHA-512 ({@linkcode ScramClient}) and OAUTHBEARER (RFC 7628 client
 * response with a bearer token). A refused login is hop's `AuthError` with this layer's
 * message (username and mechanism named, never the password).
 *
 * @module
 */
import type { Auth } from "../../hop/auth.ts";
import { authenticationFailed, KafkaProtocolError } from "../errors.ts";
import {
  API,
  parseSaslAuthenticate,
  parseSaslHandshake,
  saslAuthenticateRequest,
  saslHandshakeRequest,
} from "./apis.ts";
import type { BrokerConnection } from "./connection.ts";
import { errorName } from "./error_codes.ts";
import { ScramClient, ScramError } from "./scram.ts";

/** A SASL credential: username and password, or a bearer token source. */
export type SaslCredential =
  | { mechanism: "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512"; username: string; password: string }
  | { mechanism: "OAUTHBEARER"; token: string | (() => string | Promise<string>) };

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * Logs in on `conn`.
 *
 * @param conn a connection on which nothing else was sent (but ApiVersions)
 * @param sasl the credential
 * @param authVersion the SaslAuthenticate version to use (0 to 2)
 * @param context the broker named in errors and the credential (username, mechanism)
 * @throws AuthError when the broker refuses the login or the mechanism;
 *   BrokerConnectionError when the connection fails meanwhile
 * @example
 * ```ts
 * import { assertRejects } from "@std/assert";
 * import { login } from "./sasl.ts";
 * import { BrokerConnection } from "./connection.ts";
 * import { AuthError } from "../../hop/errors.ts";
 * const broker = Deno.env.get("KAFKA") ?? "127.0.0.1:9092";
 * const [host, port] = [broker.split(":")[0], Number(broker.split(":")[1])];
 * const conn = await BrokerConnection.open({ host, port }, {
 *   clientId: "x", connectTimeoutMs: 5000, timeoutMs: 5000, broker,
 * });
 * const sasl = { mechanism: "PLAIN" as const, username: "alice", password: "pw" };
 * // a PLAINTEXT listener takes no SASL login
 * await assertRejects(() => login(conn, sasl, 2, { broker, auth: null }), AuthError);
 * conn.close();
 * ```
 */
export async function login(
  conn: BrokerConnection,
  sasl: SaslCredential,
  authVersion: number,
  context: { broker: string; auth: Auth | null },
): Promise<void> {
  const refused = (detail: string, cause?: unknown) =>
    authenticationFailed(context.broker, context.auth, detail, cause);
  const hs = parseSaslHandshake(
    await conn.request(API.SaslHandshake, 1, false, saslHandshakeRequest(sasl.mechanism), {
      api: "SaslHandshake",
    }),
  );
  if (hs.errorCode !== 0) {
    const name = errorName(hs.errorCode);
    throw refused(
      `${name}: the broker offers ${hs.mechanisms.join(", ") || "no mechanism"}`,
      new KafkaProtocolError(hs.errorCode, name, false, "SaslHandshake"),
    );
  }
  const flexible = authVersion >= 2;
  const step = async (message: Uint8Array) => {
    const res = parseSaslAuthenticate(
      await conn.request(
        API.SaslAuthenticate,
        authVersion,
        flexible,
        saslAuthenticateRequest(authVersion, message),
        { api: "SaslAuthenticate" },
      ),
      authVersion,
    );
    if (res.errorCode !== 0) {
      const name = errorName(res.errorCode);
      throw refused(
        res.errorMessage ?? name,
        new KafkaProtocolError(res.errorCode, name, false, "SaslAuthenticate", {
          detail: res.errorMessage,
        }),
      );
    }
    return res.authBytes;
  };
  if (sasl.mechanism === "PLAIN") {
    await step(enc.encode(`\0${sasl.username}\0${sasl.password}`));
  } else if (sasl.mechanism === "OAUTHBEARER") {
    // the token source's own AuthError (endpoint refused, unreachable) goes out unchanged
    const token = typeof sasl.token === "function" ? await sasl.token() : sasl.token;
    const answer = await step(enc.encode(`n,,\x01auth=Bearer ${token}\x01\x01`));
    // a refusal comes as a JSON status first; the client acknowledges it, then gets the error
    if (answer.length > 0) {
      await step(enc.encode("\x01"));
      throw refused(`the broker refused the token: ${dec.decode(answer)}`);
    }
  } else {
    const scram = new ScramClient(
      sasl.mechanism === "SCRAM-SHA-256" ? "SHA-256" : "SHA-512",
      sasl.username,
      sasl.password,
    );
    try {
      const serverFirst = dec.decode(await step(enc.encode(scram.first())));
      const serverFinal = dec.decode(await step(enc.encode(await scram.final(serverFirst))));
      await scram.verify(serverFinal);
    } catch (e) {
      if (e instanceof ScramError) throw refused(e.message, e);
      throw e;
    }
  }
}
