/**
 * igwn-alert's credential cascade, shared by the igwn-alert client and the posttroll <-> Kafka
 * bridge so both find the same credential for the same broker.
 *
 * @module
 */
import { Auth, type EnvLike, loadAuth, netrcLookup } from "../hop/auth.ts";
import { CredentialFileError } from "../hop/errors.ts";
import { KafkaOptionError } from "./errors.ts";

/** What {@linkcode findCredentials} looks at, in this order. */
export interface CredentialSources {
  /** Explicit credential(s); `false` for none. */
  auth?: Auth | Auth[] | false;
  /** No authentication. */
  noauth?: boolean;
  /** SCRAM username (with `password`). */
  username?: string;
  /** SCRAM password (with `username`). */
  password?: string;
  /** A hop auth.toml file. */
  authfile?: string;
  /** netrc machine name looked up when no auth.toml exists (igwn-alert uses the server URL). */
  netrcMachine: string;
  /** netrc file. @default $NETRC or ~/.netrc */
  netrc?: string;
  /** Environment used to find auth.toml and .netrc. @default Deno.env */
  env?: EnvLike;
  /** Told when nothing was found and the session goes unauthenticated. */
  onNoAuth?: () => void;
  /**
   * Told why the default auth.toml was skipped (unsafe permissions, malformed) when nothing else
   * gave a credential: Python igwn-alert skips it silently.
   */
  onSkipped?: (why: string) => void;
}

/**
 * Finds the credential candidates in igwn-alert's order: `auth`; `noauth`; `username` +
 * `password`; `authfile`; the default hop auth.toml (`$XDG_CONFIG_HOME/hop/auth.toml` or
 * `~/.config/hop/auth.toml`); netrc (no netrc file: `onNoAuth` and no authentication).
 *
 * @param s the sources
 * @returns the candidates (hop selects among them by broker host), or null for none
 * @throws KafkaOptionError for a username without password (or the reverse);
 *   CredentialFileError for an unreadable or unsafe `authfile` or netrc file
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { findCredentials } from "./credentials.ts";
 * assertEquals(findCredentials({ noauth: true, netrcMachine: "kafka://localhost/" }), null);
 * ```
 */
export function findCredentials(s: CredentialSources): Auth[] | null {
  const env = s.env ?? Deno.env;
  if (s.auth !== undefined) {
    return s.auth === false ? null : Array.isArray(s.auth) ? s.auth : [s.auth];
  }
  if (s.noauth) return null;
  if (s.username && s.password) return [new Auth({ username: s.username, password: s.password })];
  if (Boolean(s.username) !== Boolean(s.password)) {
    throw new KafkaOptionError(
      "You must provide both a username and a password for basic authentication.",
    );
  }
  if (s.authfile) return loadAuth(s.authfile, { env });
  let skipped: CredentialFileError | undefined;
  try {
    return loadAuth(undefined, { env });
  } catch (e) {
    if (e instanceof CredentialFileError && e.problem !== "not-found") skipped = e;
  }
  const why = () => {
    if (skipped) {
      s.onSkipped?.(
        `${skipped.path} was skipped: ${skipped.message.replaceAll("\n", "; ")}`,
      );
    }
  };
  let entry;
  try {
    entry = netrcLookup(s.netrcMachine, s.netrc, env);
  } catch (e) {
    if (e instanceof CredentialFileError && e.problem === "not-found") {
      why();
      s.onNoAuth?.();
      return null;
    }
    throw e;
  }
  if (entry) return [new Auth({ username: entry.login, password: entry.password })];
  why();
  return null;
}
