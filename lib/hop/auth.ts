/**
 * hop-client credentials: `auth.toml` loading with hop's permission check, hop's
 * `select_matching_auth` rules, and `.netrc` lookup as igwn-alert does it (the whole server string
 * is the machine name). Parsing and selection are pure; `loadAuth`/`netrcLookup` read files.
 *
 * @module
 */
import { parse as parseToml } from "smol-toml";
import { AmbiguousCredentialError, AuthError, CredentialFileError } from "./errors.ts";

/** SASL mechanisms hop knows (hop writes them with `_`, Kafka with `-`). */
export type SaslMechanism =
  | "SCRAM_SHA_512"
  | "SCRAM_SHA_256"
  | "PLAIN"
  | "OAUTHBEARER"
  | "GSSAPI";

/** Fields of a credential (as in one `[[auth]]` entry). */
export interface AuthInit {
  /** Username. */
  username: string;
  /** Password (never shown by `toString` or `Deno.inspect`). */
  password: string;
  /** `host` or `host:port` this credential is for; empty for any host. @default "" */
  hostname?: string;
  /** `SASL_SSL` or `SASL_PLAINTEXT`. @default "SASL_SSL" */
  protocol?: "SASL_SSL" | "SASL_PLAINTEXT";
  /** SASL mechanism. @default "SCRAM_SHA_512" (or "OAUTHBEARER" with a token endpoint) */
  mechanism?: SaslMechanism;
  /** OpenID Connect token endpoint (OAUTHBEARER). */
  tokenEndpoint?: string;
  /** Path of a CA bundle (PEM) for TLS. */
  sslCaLocation?: string;
}

/**
 * One credential, like hop's `Auth`. The password is kept out of every string form.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Auth } from "./auth.ts";
 * const a = new Auth({ username: "alice", password: "s3cret" });
 * assertEquals(a.mechanism, "SCRAM_SHA_512");
 * assertEquals(String(a).includes("s3cret"), false);
 * ```
 */
export class Auth {
  /** Username. */
  readonly username: string;
  /** `host` or `host:port`, or "" for any host. */
  readonly hostname: string;
  /** `SASL_SSL` (TLS) or `SASL_PLAINTEXT`. */
  readonly protocol: "SASL_SSL" | "SASL_PLAINTEXT";
  /** SASL mechanism with `_` (hop's spelling). */
  readonly mechanism: SaslMechanism;
  /** OIDC token endpoint, if any. */
  readonly tokenEndpoint?: string;
  /** CA bundle path, if any. */
  readonly sslCaLocation?: string;
  readonly #password: string;

  /**
   * Creates a credential from its fields; the protocol and mechanism get hop's defaults.
   *
   * @param init the credential's fields
   */
  constructor(init: AuthInit) {
    this.username = init.username;
    this.#password = init.password;
    this.hostname = init.hostname ?? "";
    this.protocol = init.protocol ?? "SASL_SSL";
    this.mechanism = init.mechanism ??
      (init.tokenEndpoint ? "OAUTHBEARER" : "SCRAM_SHA_512");
    this.tokenEndpoint = init.tokenEndpoint;
    this.sslCaLocation = init.sslCaLocation;
  }

  /** The password. @returns the secret */
  get password(): string {
    return this.#password;
  }

  /** Whether TLS is used (everything but SASL_PLAINTEXT). @returns true for SASL_SSL */
  get ssl(): boolean {
    return this.protocol !== "SASL_PLAINTEXT";
  }

  /** The mechanism as Kafka spells it (`SCRAM-SHA-512`). @returns the Kafka name */
  get kafkaMechanism(): string {
    return this.mechanism.replaceAll("_", "-");
  }

  /** A description without the password. @returns e.g. `Auth(alice@kafka.example:9092)` */
  toString(): string {
    return `Auth(${this.username}${
      this.hostname ? "@" + this.hostname : ""
    }, ${this.protocol}, ${this.kafkaMechanism})`;
  }

  /**
   * The credential as JSON (used by `JSON.stringify`), without the password.
   *
   * @returns the JSON form
   */
  toJSON(): Record<string, unknown> {
    return {
      username: this.username,
      hostname: this.hostname,
      protocol: this.protocol,
      mechanism: this.mechanism,
      tokenEndpoint: this.tokenEndpoint,
      sslCaLocation: this.sslCaLocation,
    };
  }

  /** Deno.inspect form (no password). @returns the description */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }
}

const MECHANISMS = new Set(["SCRAM_SHA_512", "SCRAM_SHA_256", "PLAIN", "OAUTHBEARER", "GSSAPI"]);

/**
 * Interprets the TOML text of an `auth.toml` (or a `config.toml` with an `[auth]` section) the
 * way hop's `load_auth` does: `[[auth]]` entries, or one legacy `[auth]` table.
 *
 * @param text the TOML text
 * @param path the file name, for messages
 * @returns the credentials in file order
 * @throws CredentialFileError (problem "malformed") when the TOML is invalid, has no auth section
 *   or an entry lacks `username`/`password`
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseAuthToml } from "./auth.ts";
 * const [a] = parseAuthToml('[[auth]]\nusername = "u"\npassword = "p"\nhostname = "h:9092"\n');
 * assertEquals(a.hostname, "h:9092");
 * ```
 */
export function parseAuthToml(text: string, path = "auth.toml"): Auth[] {
  let data: Record<string, unknown>;
  try {
    data = parseToml(text) as Record<string, unknown>;
  } catch {
    // smol-toml's message may quote the offending line (which could hold a password): drop it.
    throw new CredentialFileError(
      `configuration file ${path} is not configured correctly: invalid TOML`,
      path,
      "malformed",
    );
  }
  if (!("auth" in data)) {
    throw new CredentialFileError(
      `configuration file ${path} has no auth section`,
      path,
      "malformed",
    );
  }
  const raw = data.auth;
  const entries = Array.isArray(raw) ? raw : [raw];
  return entries.map((entry, i) => {
    if (typeof entry !== "object" || entry === null) {
      throw new CredentialFileError(
        `configuration file ${path} is not configured correctly: auth entry ${i} is not a table`,
        path,
        "malformed",
      );
    }
    const c = entry as Record<string, unknown>;
    for (const key of ["username", "password"]) {
      if (typeof c[key] !== "string") {
        throw new CredentialFileError(
          `configuration file ${path} is not configured correctly: ` +
            `missing auth property '${key}'`,
          path,
          "malformed",
        );
      }
    }
    const plaintext = c.protocol === "SASL_PLAINTEXT";
    let mechanism: SaslMechanism | undefined;
    if (typeof c.mechanism === "string") {
      const m = c.mechanism.replaceAll("-", "_").toUpperCase();
      if (!MECHANISMS.has(m)) {
        throw new CredentialFileError(
          `configuration file ${path} is not configured correctly: ` +
            `unknown mechanism '${c.mechanism}'`,
          path,
          "malformed",
        );
      }
      mechanism = m as SaslMechanism;
    }
    return new Auth({
      username: c.username as string,
      password: c.password as string,
      hostname: typeof c.hostname === "string" ? c.hostname : "",
      protocol: plaintext ? "SASL_PLAINTEXT" : "SASL_SSL",
      mechanism,
      tokenEndpoint: typeof c.token_endpoint === "string" ? c.token_endpoint : undefined,
      // hop only honours ssl_ca_location when the protocol is not SASL_PLAINTEXT
      sslCaLocation: !plaintext && typeof c.ssl_ca_location === "string"
        ? c.ssl_ca_location
        : undefined,
    });
  });
}

/** Environment used to locate files (defaults to the process environment). */
export interface EnvLike {
  /** Reads a variable. */
  get(name: string): string | undefined;
}

/**
 * hop's `get_config_path`: `$XDG_CONFIG_HOME/hop/<file>` or `~/.config/hop/<file>`.
 *
 * @param type `"auth"` (auth.toml) or `"general"` (config.toml)
 * @param env environment
 * @returns the path
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { configPath } from "./auth.ts";
 * const env = { get: (k: string) => (k === "XDG_CONFIG_HOME" ? "/x" : undefined) };
 * assertEquals(configPath("auth", env), "/x/hop/auth.toml");
 * ```
 */
export function configPath(type: "auth" | "general", env: EnvLike = Deno.env): string {
  const file = type === "auth" ? "auth.toml" : "config.toml";
  const xdg = env.get("XDG_CONFIG_HOME");
  if (xdg !== undefined) return `${xdg}/hop/${file}`;
  return `${env.get("HOME") ?? ""}/.config/hop/${file}`;
}

function statOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.statSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** Options of {@linkcode loadAuth}. */
export interface LoadAuthOptions {
  /** Environment for the default location. @default Deno.env */
  env?: EnvLike;
}

/**
 * hop's `load_auth`: reads credentials from `path`, or from the default `auth.toml`, falling back
 * to an `[auth]` section of `config.toml`. Files whose mode has any of the bits `0o7077` set are
 * refused, like hop.
 *
 * @param path the file; the default location when absent
 * @param options environment
 * @returns the credentials
 * @throws CredentialFileError "not-found", "unsafe-permissions" or "malformed"
 * @example
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { loadAuth } from "./auth.ts";
 * import { CredentialFileError } from "./errors.ts";
 * const home = await Deno.makeTempDir(); // stands for $XDG_CONFIG_HOME
 * const env = { get: (k: string) => (k === "XDG_CONFIG_HOME" ? home : undefined) };
 * await Deno.mkdir(`${home}/hop`);
 * const file = `${home}/hop/auth.toml`;
 * await Deno.writeTextFile(file, '[[auth]]\nusername = "alice"\npassword = "pw"\n', { mode: 0o600 });
 * assertEquals(loadAuth(undefined, { env }).map((a) => a.username), ["alice"]);
 * await Deno.chmod(file, 0o644); // readable by others: refused, like hop
 * assertThrows(() => loadAuth(undefined, { env }), CredentialFileError);
 * await Deno.remove(home, { recursive: true });
 * ```
 */
export function loadAuth(path?: string, options: LoadAuthOptions = {}): Auth[] {
  const env = options.env ?? Deno.env;
  let file = path;
  if (file === undefined) {
    file = configPath("auth", env);
    if (!statOrNull(file)) {
      const general = configPath("general", env);
      if (statOrNull(general)) {
        try {
          return loadAuth(general, options);
        } catch (e) {
          throw new CredentialFileError(`No such file or directory: '${file}'`, file, "not-found", {
            cause: e,
          });
        }
      }
    }
  }
  const st = statOrNull(file);
  if (!st) {
    throw new CredentialFileError(`No such file or directory: '${file}'`, file, "not-found");
  }
  const mode = st.mode ?? 0o600;
  if ((mode & 0o7077) !== 0) {
    throw new CredentialFileError(
      `${file} has unsafe permissions: ${mode.toString(8)}\nPlease correct it to 0600`,
      file,
      "unsafe-permissions",
    );
  }
  return parseAuthToml(Deno.readTextFileSync(file), file);
}

function decomposeHostPort(hp: string): [string, string | undefined] {
  const m = /^([^[:][^:]*|\[[^\]]+\])(:([0-9]+))?$/.exec(hp);
  if (!m) return ["", undefined];
  return [m[1], m[3]];
}

/**
 * hop's `select_matching_auth`: entries with a hostname must match `hostname` (an implicit port and
 * an explicit `:9092` are equal); hostless entries are used only when no entry matched by
 * hostname; a given `username` must match.
 *
 * @param creds candidate credentials
 * @param hostname `host` or `host:port` being contacted
 * @param username optional username hint
 * @returns the single best credential
 * @throws AuthError when nothing matches; AmbiguousCredentialError when several do
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Auth, selectMatchingAuth } from "./auth.ts";
 * const a = new Auth({ username: "a", password: "p", hostname: "kafka.example" });
 * const b = new Auth({ username: "b", password: "p" });
 * assertEquals(selectMatchingAuth([a, b], "kafka.example:9092").username, "a");
 * assertEquals(selectMatchingAuth([a, b], "other:9092").username, "b");
 * ```
 */
export function selectMatchingAuth(creds: Auth[], hostname: string, username?: string): Auth {
  let matches: Auth[] = [];
  const inexact: Auth[] = [];
  let exactHost = false;
  let inexactHost = false;
  const [targetHost, targetPort] = decomposeHostPort(hostname);
  for (const cred of creds) {
    let maybeExact = false;
    let maybeInexact = false;
    if (cred.hostname.length > 0) {
      const [credHost, credPort] = decomposeHostPort(cred.hostname);
      if ((targetPort === undefined) === (credPort === undefined)) {
        if (cred.hostname !== hostname) continue;
        maybeExact = true;
      } else if (credHost !== targetHost) {
        continue;
      } else if (targetPort === "9092" || credPort === "9092") {
        maybeExact = true;
      }
    } else {
      maybeInexact = true;
    }
    if (username !== undefined && cred.username !== username) continue;
    if (maybeExact) matches.push(cred);
    else if (maybeInexact) inexact.push(cred);
    exactHost ||= maybeExact;
    inexactHost ||= maybeInexact;
  }
  if (inexactHost && !exactHost) matches = inexact;
  if (matches.length === 0) {
    let err = `No matching credential found for hostname '${hostname}'`;
    if (username !== undefined) err += ` with username '${username}'`;
    throw new AuthError(err);
  }
  if (matches.length > 1) {
    let err = `Ambiguous credentials found for hostname '${hostname}'`;
    err += username !== undefined ? ` with username '${username}'` : " with no username specified";
    err += "\nMatched credentials:";
    for (const m of matches) {
      err += `\n  ${m.username}` +
        (m.hostname.length === 0 ? " which has no associated hostname" : ` for ${m.hostname}`);
    }
    throw new AmbiguousCredentialError(err);
  }
  return matches[0];
}

/** One `.netrc` entry. */
export interface NetrcEntry {
  /** `login`. */
  login: string;
  /** `account`. */
  account?: string;
  /** `password`. */
  password: string;
}

/** A parsed `.netrc`: machines by name, and the `default` entry if any. */
export interface Netrc {
  /** Entries by machine name. */
  machines: Map<string, NetrcEntry>;
  /** The `default` entry. */
  default?: NetrcEntry;
}

function netrcTokens(text: string): string[] {
  const out: string[] = [];
  const lines = text.split(/\r?\n/);
  for (let li = 0; li < lines.length; li++) {
    const line = lines[li];
    if (/^\s*#/.test(line)) continue;
    const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
    let m;
    while ((m = re.exec(line))) {
      const tok = m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : m[2];
      if (tok === "macdef") {
        // skip the macro body: up to the next empty line
        li++;
        while (li < lines.length && lines[li].trim() !== "") li++;
        break;
      }
      out.push(tok);
    }
  }
  return out;
}

/**
 * Parses `.netrc` text (Python `netrc` rules: `machine`, `default`, `login`, `account`,
 * `password`, `macdef`, `#` comment lines, quoted tokens). The last entry for a machine wins.
 *
 * @param text the file's text
 * @returns the entries
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseNetrc } from "./auth.ts";
 * const netrc = parseNetrc("machine kafka://kafka.test/ login u password p");
 * assertEquals(netrc.machines.get("kafka://kafka.test/")?.login, "u");
 * ```
 */
export function parseNetrc(text: string): Netrc {
  const toks = netrcTokens(text);
  const result: Netrc = { machines: new Map() };
  let i = 0;
  while (i < toks.length) {
    const t = toks[i++];
    let name: string | undefined;
    if (t === "machine") name = toks[i++];
    else if (t !== "default") continue;
    const entry: NetrcEntry = { login: "", password: "" };
    while (i < toks.length && toks[i] !== "machine" && toks[i] !== "default") {
      const key = toks[i++];
      const val = toks[i++] ?? "";
      if (key === "login" || key === "user") entry.login = val;
      else if (key === "password") entry.password = val;
      else if (key === "account") entry.account = val;
    }
    if (name === undefined) result.default = entry;
    else result.machines.set(name, entry);
  }
  return result;
}

/**
 * Path of the netrc file igwn-alert reads: `$NETRC`, else `~/.netrc`.
 *
 * @param env environment
 * @returns the path
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { netrcPath } from "./auth.ts";
 * assertEquals(netrcPath({ get: (k) => (k === "NETRC" ? "/tmp/n" : undefined) }), "/tmp/n");
 * ```
 */
export function netrcPath(env: EnvLike = Deno.env): string {
  return env.get("NETRC") ?? `${env.get("HOME") ?? ""}/.netrc`;
}

/**
 * Looks up `machine` in a netrc file the way igwn-alert does (`safe_netrc`): the whole server
 * string is the machine name, `default` applies when no machine matches, and the file must belong
 * to the user and not be readable by group or others.
 *
 * @param machine e.g. `kafka://kafka.scimma.org/`
 * @param path the netrc file; `$NETRC` or `~/.netrc` when absent
 * @param env environment
 * @returns the entry, or undefined when no entry matches
 * @throws CredentialFileError "not-found" when the file does not exist, "unsafe-permissions"
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { netrcLookup } from "./auth.ts";
 * const file = await Deno.makeTempFile();
 * await Deno.chmod(file, 0o600); // the user's own, private
 * await Deno.writeTextFile(file, "machine kafka://kafka.scimma.org/ login u password p\n");
 * assertEquals(netrcLookup("kafka://kafka.scimma.org/", file)?.login, "u");
 * assertEquals(netrcLookup("kafka://other/", file), undefined); // no entry, no default
 * await Deno.remove(file);
 * ```
 */
export function netrcLookup(
  machine: string,
  path?: string,
  env: EnvLike = Deno.env,
): NetrcEntry | undefined {
  const file = path ?? netrcPath(env);
  const st = statOrNull(file);
  if (!st) {
    throw new CredentialFileError(`No such file or directory: '${file}'`, file, "not-found");
  }
  if (st.uid !== null && Deno.uid() !== null && st.uid !== Deno.uid()) {
    throw new CredentialFileError(
      `${file}: netrc file owner does not match current user`,
      file,
      "unsafe-permissions",
    );
  }
  if (((st.mode ?? 0) & 0o077) !== 0) {
    throw new CredentialFileError(
      `${file}: netrc access too permissive: access permissions must restrict access to only ` +
        "the owner",
      file,
      "unsafe-permissions",
    );
  }
  const parsed = parseNetrc(Deno.readTextFileSync(file));
  return parsed.machines.get(machine) ?? parsed.default;
}
