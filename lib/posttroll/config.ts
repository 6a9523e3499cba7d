/**
 * PostTroll configuration, equivalent to Python posttroll's donfig `Config("posttroll")`.
 *
 * Sources, later ones winning (as donfig merges them):
 * 1. defaults: `backend: "unsecure_zmq"` (every other key has its default where it is read, as in
 *    posttroll: see the accessor methods of {@linkcode PosttrollConfig});
 * 2. YAML/JSON files in `$POSTTROLL_ROOT_CONFIG` (or `/etc/posttroll`), `~/.config/posttroll` and
 *    `$POSTTROLL_CONFIG` (a directory's `*.json`, `*.yaml`, `*.yml` files, sorted by name, or a file);
 * 3. environment variables `POSTTROLL_<KEY>`: key lower-cased, `__` for nesting, value parsed as
 *    a Python literal (`ast.literal_eval`), kept as raw text when it is not one.
 *
 * The legacy variables `NAMESERVER_PORT`, `PYTROLL_MC_GROUP` and `PYTROLL_MC_TTL` are read from the
 * same environment snapshot, with the same precedence as in posttroll.
 *
 * Library code never reads the environment itself: every class takes `config` in its options and
 * falls back to the shared {@linkcode config}, which loads the process environment lazily on first
 * use. Without `--allow-env` (or `--allow-read` for the config files) that fails with
 * {@linkcode MissingPermissionError} naming the flag, instead of silently seeing no settings; a
 * component given `config: new PosttrollConfig({ env: {} })` reads neither.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { config, PosttrollConfig } from "./config.ts";
 * {
 *   using _ = config.set({ nameserver_port: 16000 });
 *   assertEquals(config.nameserverPort(), 16000);
 * }
 * const isolated = new PosttrollConfig({ env: { POSTTROLL_MC_GROUP: "226.0.0.1" } });
 * assertEquals(isolated.mcGroup(), "226.0.0.1");
 * ```
 * @module
 */
import { parsePythonLiteralOrString } from "./pyliteral.ts";
import { setCodecDefaults } from "./message.ts";
import { ensurePermission } from "../_util/permissions.ts";

export { MissingPermissionError } from "../_util/permissions.ts";
import { ConfigError, UnsupportedBackendError } from "./errors.ts";
export { ConfigError, PosttrollError, UnsupportedBackendError } from "./errors.ts";

/** Any value a configuration key can hold. */
export type ConfigValue = unknown;

/** The ZeroMQ backends posttroll knows. */
export type Backend = "unsecure_zmq" | "secure_zmq";

/** Options for {@linkcode PosttrollConfig}. */
export interface PosttrollConfigOptions {
  /**
   * Environment to read `POSTTROLL_*` and the legacy variables from. `undefined`: the process
   * environment, read lazily on first use.
   */
  env?: Record<string, string>;
  /**
   * Config files or directories to read. `undefined`: donfig's search path when `env` is also
   * `undefined`, none otherwise. YAML files among them need {@linkcode loadYamlParser} awaited
   * first (the default search path is looked at when this module loads and needs nothing).
   */
  paths?: string[];
  /** Defaults under everything else. @default {backend: "unsecure_zmq"} */
  defaults?: Record<string, ConfigValue>;
  /**
   * Pass `message_version` on to the codec's process-wide default (the shared
   * {@linkcode config} does). @default false
   */
  applyToCodec?: boolean;
}

/** A scope returned by {@linkcode PosttrollConfig.set}: disposing it restores the old values. */
export interface ConfigScope extends Disposable {
  /** Restores the values the `set` call replaced (idempotent). */
  restore(): void;
}

type Dict = Record<string, unknown>;

function isDict(v: unknown): v is Dict {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Set) &&
    !(v instanceof Uint8Array);
}

function canonical(k: string, d: Dict): string {
  if (k in d) return k;
  const alt = k.includes("_") ? k.replaceAll("_", "-") : k.replaceAll("-", "_");
  return alt in d ? alt : k;
}

function update(old: Dict, upd: Dict): Dict {
  for (const [k0, v] of Object.entries(upd)) {
    const k = canonical(k0, old);
    if (isDict(v)) {
      if (!isDict(old[k])) old[k] = {};
      update(old[k] as Dict, v);
    } else old[k] = v;
  }
  return old;
}

function homeDir(env: Record<string, string>): string | undefined {
  return env.HOME;
}

function processEnv(): Record<string, string> {
  ensurePermission({ name: "env" }, "posttroll configuration (the POSTTROLL_* variables)");
  return Deno.env.toObject();
}

function listConfigFiles(path: string): string[] {
  ensurePermission({ name: "read", path }, `posttroll configuration (config files in ${path})`);
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch {
    return [];
  }
  if (!info.isDirectory) return [path];
  try {
    return [...Deno.readDirSync(path)]
      .map((e) => e.name)
      .filter((n) => /\.(json|ya?ml)$/i.test(n))
      .sort()
      .map((n) => `${path.replace(/\/$/, "")}/${n}`);
  } catch {
    return [];
  }
}

/**
 * The YAML parser, loaded only when a YAML file can be among the configuration files. The `yaml`
 * package is CommonJS: importing it starts Deno's CommonJS loader, which costs every process about
 * 12 MiB of resident memory (an idle nameserver: 63 -> 51 MiB, bench/README.md "memory").
 */
let yamlParse: ((text: string) => unknown) | undefined;

/**
 * Loads the YAML parser for configuration files. Needed only before a
 * {@linkcode PosttrollConfig} given explicit `paths` reads a `*.yaml`/`*.yml` file: when this
 * module loads it already does so if donfig's default search path holds one (or cannot be
 * listed for lack of `--allow-env`/`--allow-read`).
 *
 * @returns once the parser is loaded
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { loadYamlParser, PosttrollConfig } from "./config.ts";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${dir}/posttroll.yaml`, "nameserver_port: 16002\n");
 * await loadYamlParser();
 * assertEquals(new PosttrollConfig({ env: {}, paths: [dir] }).nameserverPort(), 16002);
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export async function loadYamlParser(): Promise<void> {
  if (yamlParse) return;
  const { parse } = await import("yaml");
  yamlParse = (text) => parse(text, { version: "1.1" });
}

const YAML_FILE = /\.ya?ml$/i;

/** True unless the default search path is known to hold no YAML file. */
function defaultPathsMayHoldYaml(): boolean {
  const granted = (d: Deno.PermissionDescriptor) => {
    try {
      return Deno.permissions.querySync(d).state === "granted";
    } catch {
      return false;
    }
  };
  if (!granted({ name: "env" })) return true;
  for (const path of defaultPaths(Deno.env.toObject())) {
    if (!granted({ name: "read", path })) return true;
    if (listConfigFiles(path).some((f) => YAML_FILE.test(f))) return true;
  }
  return false;
}

function loadConfigFile(path: string): Dict | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    return undefined; // unreadable files are ignored, like donfig
  }
  const json = /\.json$/i.test(path);
  const parseYaml = yamlParse;
  if (!json && !parseYaml) {
    throw new ConfigError(
      `The YAML config file ${JSON.stringify(path)} was not in the default search path when ` +
        `the configuration module loaded: await loadYamlParser() before reading it`,
    );
  }
  let value: unknown;
  try {
    value = json ? JSON.parse(text) : parseYaml!(text);
  } catch (e) {
    throw new ConfigError(`A config file at ${JSON.stringify(path)} is malformed: ${e}`, {
      cause: e,
    });
  }
  if (value === null || value === undefined) return undefined;
  if (!isDict(value)) {
    throw new ConfigError(
      `A config file at ${JSON.stringify(path)} is malformed - config files must have a dict ` +
        `as the top level object`,
    );
  }
  return value;
}

/** donfig's search path for `name` given an environment. */
function defaultPaths(env: Record<string, string>): string[] {
  const home = homeDir(env);
  const paths = [env.POSTTROLL_ROOT_CONFIG ?? "/etc/posttroll"];
  if (home) paths.push(`${home}/.config/posttroll`);
  if (env.POSTTROLL_CONFIG) paths.push(env.POSTTROLL_CONFIG);
  // remove duplicates keeping the last occurrence, like donfig
  const out: string[] = [];
  for (let i = paths.length - 1; i >= 0; i--) if (!out.includes(paths[i])) out.unshift(paths[i]);
  return out;
}

/**
 * Reads `POSTTROLL_*` variables into a nested dict the way donfig's `collect_env` does.
 *
 * @param env the environment
 * @returns the nested configuration
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { collectEnv } from "./config.ts";
 * assertEquals(collectEnv({ POSTTROLL_NAMESERVER_PORT: "1234", POSTTROLL_A__B: "[1]" }), {
 *   nameserver_port: 1234,
 *   a: { b: [1] },
 * });
 * ```
 */
export function collectEnv(env: Record<string, string>): Record<string, ConfigValue> {
  const out: Dict = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith("POSTTROLL_")) continue;
    const path = name.slice("POSTTROLL_".length).toLowerCase().replaceAll("__", ".").split(".");
    assign(out, path, parsePythonLiteralOrString(raw));
  }
  return out;
}

function assign(d: Dict, path: string[], value: unknown): void {
  let cur = d;
  for (const k0 of path.slice(0, -1)) {
    const k = canonical(k0, cur);
    if (!isDict(cur[k])) cur[k] = {};
    cur = cur[k] as Dict;
  }
  cur[canonical(path[path.length - 1], cur)] = value;
}

function toInt(v: unknown, key: string): number {
  const blank = typeof v === "string" && v.trim() === "";
  const n = typeof v === "string"
    ? Number(v.trim())
    : typeof v === "number" || typeof v === "boolean" || typeof v === "bigint"
    ? Number(v)
    : NaN;
  if (blank || !Number.isInteger(n)) {
    throw new ConfigError(`config ${key} must be an integer, got ${JSON.stringify(v)}`, { key });
  }
  return n;
}

function toPort(v: unknown, key: string): number {
  const n = toInt(v, key);
  if (n < 0 || n > 65535) {
    throw new ConfigError(`config ${key} must be a port number (0-65535), got ${n}`, { key });
  }
  return n;
}

/** TCP keepalive settings as read from `tcp_keepalive*` (undefined where not configured). */
export interface TcpKeepaliveConfig {
  /** `tcp_keepalive`: 1 on, 0 off, -1 system default. */
  keepalive?: number;
  /** `tcp_keepalive_cnt` */
  count?: number;
  /** `tcp_keepalive_idle` (seconds) */
  idle?: number;
  /** `tcp_keepalive_intvl` (seconds) */
  interval?: number;
}

/**
 * Default ports and group, as in posttroll 1.16.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { DEFAULTS } from "./config.ts";
 * assertEquals(DEFAULTS.nameserverPort, 5557);
 * assertEquals(DEFAULTS.mcGroup, "225.0.0.212");
 * ```
 */
export const DEFAULTS: {
  readonly nameserverPort: 5557;
  readonly secureNameserverPort: 5558;
  readonly addressPublishPort: 16543;
  readonly broadcastPort: 21200;
  readonly mcGroup: "225.0.0.212";
  readonly mcTtl: 31;
  readonly pubMinPort: 49152;
  readonly pubMaxPort: 65536;
  readonly maxConnections: 4096;
  readonly nameserverMaxMessageSize: 1048576;
  readonly nameserverMaxBufferedBytes: 8388608;
  readonly maxSubscriptions: 10000;
  readonly maxSubscriptionBytes: 1048576;
  readonly addressBookMaxEntries: 10000;
  readonly addressBookMaxEntrySize: 8192;
} = {
  nameserverPort: 5557,
  secureNameserverPort: 5558,
  addressPublishPort: 16543,
  broadcastPort: 21200,
  mcGroup: "225.0.0.212",
  mcTtl: 31,
  pubMinPort: 49152,
  pubMaxPort: 65536,
  maxConnections: 4096,
  nameserverMaxMessageSize: 1048576,
  nameserverMaxBufferedBytes: 8388608,
  maxSubscriptions: 10000,
  maxSubscriptionBytes: 1048576,
  addressBookMaxEntries: 10000,
  addressBookMaxEntrySize: 8192,
} as const;

/**
 * A posttroll configuration: donfig's `Config("posttroll")` with typed accessors for the keys
 * the transport reads.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { PosttrollConfig } from "./config.ts";
 * const c = new PosttrollConfig({ env: { POSTTROLL_NAMESERVER_PORT: "16001" } });
 * assertEquals([c.get("nameserver_port"), c.nameserverPort()], [16001, 16001]);
 * ```
 */
export class PosttrollConfig {
  #data: Dict = {};
  #env: Record<string, string> = {};
  #loaded = false;
  readonly #options: PosttrollConfigOptions;

  /**
   * Creates a configuration that reads the given sources (files and the environment).
   *
   * @param options where to read from; see {@linkcode PosttrollConfigOptions}
   */
  constructor(options: PosttrollConfigOptions = {}) {
    this.#options = options;
  }

  #ensure(): void {
    if (!this.#loaded) this.refresh();
  }

  /**
   * Re-reads defaults, files and environment, dropping values set with {@linkcode set}.
   *
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PosttrollConfig } from "./config.ts";
   * const c = new PosttrollConfig({ env: {} });
   * c.set({ a: 1 });
   * c.refresh();
   * assertEquals(c.has("a"), false);
   * ```
   */
  refresh(): void {
    const env = this.#options.env ?? processEnv();
    const paths = this.#options.paths ??
      (this.#options.env === undefined ? defaultPaths(env) : []);
    const data: Dict = update(
      {},
      structuredClone(this.#options.defaults ?? { backend: "unsecure_zmq" }),
    );
    for (const p of paths) {
      for (const file of listConfigFiles(p)) {
        const d = loadConfigFile(file);
        if (d) update(data, d);
      }
    }
    update(data, collectEnv(env));
    this.#env = env;
    this.#data = data;
    this.#loaded = true;
    this.#syncCodec();
  }

  #syncCodec(): void {
    if (!this.#options.applyToCodec) return;
    const v = this.get("message_version", null);
    setCodecDefaults({ messageVersion: v === null || v === "" ? null : String(v) });
  }

  /**
   * Value of `key` (`.` for nesting); throws {@linkcode ConfigError} when missing and no default
   * is given.
   *
   * @param key the key, e.g. `"nameserver_port"`
   * @param fallback returned when the key is missing
   * @returns the value
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PosttrollConfig } from "./config.ts";
   * assertEquals(new PosttrollConfig({ env: {} }).get("broadcast_port", 21200), 21200);
   * ```
   */
  get(key: string, ...fallback: [unknown?]): ConfigValue {
    this.#ensure();
    let cur: unknown = this.#data;
    for (const k0 of key.split(".")) {
      if (!isDict(cur)) return this.#missing(key, fallback);
      const k = canonical(k0, cur);
      if (!(k in cur)) return this.#missing(key, fallback);
      cur = cur[k];
    }
    return cur;
  }

  #missing(key: string, fallback: [unknown?]): unknown {
    if (fallback.length > 0) return fallback[0];
    throw new ConfigError(`posttroll config has no key ${JSON.stringify(key)}`, { key });
  }

  /**
   * True when `key` is set (to anything, `null` included).
   *
   * @param key the key
   * @returns whether it is set
   * @example
   * ```ts
   * import { assert } from "@std/assert";
   * import { PosttrollConfig } from "./config.ts";
   * assert(new PosttrollConfig({ env: {} }).has("backend"));
   * ```
   */
  has(key: string): boolean {
    const marker = {};
    return this.get(key, marker) !== marker;
  }

  /**
   * Sets values (keys may use `.` or `__` for nesting); the returned scope restores the previous
   * values when disposed: `using _ = config.set({...})`. Without `using` the values stay.
   *
   * @param values the keys and values to set
   * @returns a scope that undoes this call
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PosttrollConfig } from "./config.ts";
   * const c = new PosttrollConfig({ env: {} });
   * {
   *   using _ = c.set({ mc_group: "226.0.0.13" });
   *   assertEquals(c.mcGroup(), "226.0.0.13");
   * }
   * assertEquals(c.mcGroup(), "225.0.0.212");
   * ```
   */
  set(values: Record<string, ConfigValue>): ConfigScope {
    this.#ensure();
    const record: Array<{ path: string[]; existed: boolean; old: unknown }> = [];
    for (const [key, value] of Object.entries(values)) {
      const path = key.replaceAll("__", ".").split(".");
      let cur = this.#data;
      const done: string[] = [];
      let recording = true;
      for (const k0 of path.slice(0, -1)) {
        const k = canonical(k0, cur);
        done.push(k);
        if (!isDict(cur[k])) {
          if (recording) record.push({ path: [...done], existed: k in cur, old: cur[k] });
          recording = false;
          cur[k] = {};
        }
        cur = cur[k] as Dict;
      }
      const k = canonical(path[path.length - 1], cur);
      if (recording) record.push({ path: [...done, k], existed: k in cur, old: cur[k] });
      cur[k] = value;
    }
    this.#syncCodec();
    let restored = false;
    const restore = () => {
      if (restored) return;
      restored = true;
      for (const { path, existed, old } of record.reverse()) {
        let cur = this.#data;
        let ok = true;
        for (const k of path.slice(0, -1)) {
          if (!isDict(cur[k])) {
            ok = false;
            break;
          }
          cur = cur[k] as Dict;
        }
        if (!ok) continue;
        const last = path[path.length - 1];
        if (existed) cur[last] = old;
        else delete cur[last];
      }
      this.#syncCodec();
    };
    return { restore, [Symbol.dispose]: restore };
  }

  /**
   * A deep copy of the whole configuration.
   *
   * @returns the configuration as a plain object
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PosttrollConfig } from "./config.ts";
   * assertEquals(new PosttrollConfig({ env: {} }).toObject(), { backend: "unsecure_zmq" });
   * ```
   */
  toObject(): Record<string, ConfigValue> {
    this.#ensure();
    return structuredClone(this.#data);
  }

  /**
   * A variable of the environment snapshot this config was read from (for legacy variables).
   *
   * @param name variable name
   * @returns its value or undefined
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PosttrollConfig } from "./config.ts";
   * assertEquals(new PosttrollConfig({ env: { PYTROLL_MC_TTL: "4" } }).envVar("PYTROLL_MC_TTL"), "4");
   * ```
   */
  envVar(name: string): string | undefined {
    this.#ensure();
    return this.#env[name];
  }

  /**
   * The configured backend, checked.
   *
   * @returns `"unsecure_zmq"` or `"secure_zmq"`
   * @throws {UnsupportedBackendError} for anything else
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PosttrollConfig } from "./config.ts";
   * assertEquals(new PosttrollConfig({ env: {} }).backend(), "unsecure_zmq");
   * ```
   */
  backend(): Backend {
    const b = this.get("backend", "unsecure_zmq");
    if (b === "unsecure_zmq" || b === "secure_zmq") return b;
    throw new UnsupportedBackendError(String(b));
  }

  #int(key: string, fallback: number): number {
    const v = this.get(key, fallback);
    return toInt(v ?? fallback, key);
  }

  #port(key: string, fallback: number): number {
    const v = this.get(key, fallback);
    return toPort(v ?? fallback, key);
  }

  #positive(key: string, fallback: number): number {
    const n = this.#int(key, fallback);
    if (n < 1) throw new ConfigError(`config ${key} must be at least 1, got ${n}`, { key });
    return n;
  }

  /**
   * `nameserver_port`, else legacy `NAMESERVER_PORT`, else 5557.
   *
   * @returns the port
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PosttrollConfig } from "./config.ts";
   * assertEquals(new PosttrollConfig({ env: { NAMESERVER_PORT: "7000" } }).nameserverPort(), 7000);
   * ```
   */
  nameserverPort(): number {
    const legacy = this.envVar("NAMESERVER_PORT");
    const fallback = legacy !== undefined
      ? toPort(legacy, "NAMESERVER_PORT")
      : DEFAULTS.nameserverPort;
    return this.#port("nameserver_port", fallback);
  }

  /**
   * `secure_zmq_nameserver_port`, else 5558.
   *
   * @returns the port
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PosttrollConfig } from "./config.ts";
   * assertEquals(new PosttrollConfig({ env: {} }).secureNameserverPort(), 5558);
   * ```
   */
  secureNameserverPort(): number {
    return this.#port("secure_zmq_nameserver_port", DEFAULTS.secureNameserverPort);
  }

  /**
   * `address_publish_port`, else 16543.
   *
   * @returns the port
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PosttrollConfig } from "./config.ts";
   * assertEquals(new PosttrollConfig({ env: {} }).addressPublishPort(), 16543);
   * ```
   */
  addressPublishPort(): number {
    return this.#port("address_publish_port", DEFAULTS.addressPublishPort);
  }

  /**
   * `broadcast_port` (UDP multicast port and TCP direct-registration port), else 21200.
   *
   * @returns the port
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PosttrollConfig } from "./config.ts";
   * assertEquals(new PosttrollConfig({ env: {} }).broadcastPort(), 21200);
   * ```
   */
  broadcastPort(): number {
    return this.#port("broadcast_port", DEFAULTS.broadcastPort);
  }

  /**
   * `mc_group`, else legacy `PYTROLL_MC_GROUP`, else `225.0.0.212`.
   *
   * @returns the group address
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PosttrollConfig } from "./config.ts";
   * assertEquals(new PosttrollConfig({ env: { PYTROLL_MC_GROUP: "226.0.0.13" } }).mcGroup(), "226.0.0.13");
   * ```
   */
  mcGroup(): string {
    const legacy = this.envVar("PYTROLL_MC_GROUP");
    return String(this.get("mc_group", legacy ?? DEFAULTS.mcGroup));
  }

  /**
   * Multicast TTL: legacy `PYTROLL_MC_TTL`, else 31 (posttroll has no config key for it).
   *
   * @returns the TTL
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PosttrollConfig } from "./config.ts";
   * assertEquals(new PosttrollConfig({ env: {} }).mcTtl(), 31);
   * ```
   */
  mcTtl(): number {
    const v = this.envVar("PYTROLL_MC_TTL");
    return v === undefined ? DEFAULTS.mcTtl : toInt(v, "PYTROLL_MC_TTL");
  }

  /**
   * `multicast_interface` (IPv4 address of the interface for sending and joining), if set.
   *
   * @returns the address or undefined
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PosttrollConfig } from "./config.ts";
   * const c = new PosttrollConfig({ env: { POSTTROLL_MULTICAST_INTERFACE: "127.0.0.1" } });
   * assertEquals(c.multicastInterface(), "127.0.0.1");
   * ```
   */
  multicastInterface(): string | undefined {
    const v = this.get("multicast_interface", undefined);
    return v === undefined || v === null ? undefined : String(v);
  }

  /**
   * `announce_host` (beyond posttroll): the host or address publishers put into the addresses
   * they announce, instead of the one `getOwnIp()` finds. For hosts whose peers reach
   * them at another address than the default route's (several networks, NAT, containers).
   *
   * @returns the host, or undefined when not set
   * @throws {ConfigError} when it is empty, has spaces or a scheme/port (`tcp://`, `/`)
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PosttrollConfig } from "./config.ts";
   * assertEquals(new PosttrollConfig({ env: { POSTTROLL_ANNOUNCE_HOST: "10.1.2.3" } }).announceHost(), "10.1.2.3");
   * ```
   */
  announceHost(): string | undefined {
    const v = this.get("announce_host", undefined);
    if (v === undefined || v === null) return undefined;
    const host = String(v).replace(/^\[(.*)\]$/, "$1");
    const ipv6 = /^[0-9a-f.]*:[0-9a-f.]*:[0-9a-f:.]*$/i.test(host);
    if (!host || /[\s/@]/.test(host) || (host.includes(":") && !ipv6)) {
      throw new ConfigError(
        `config announce_host must be a host name or IP address (no scheme or port), got ` +
          JSON.stringify(v),
        { key: "announce_host" },
      );
    }
    return host;
  }

  /**
   * `pub_min_port`, else 49152.
   *
   * @returns the lowest port for random publisher ports
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PosttrollConfig } from "./config.ts";
   * assertEquals(new PosttrollConfig({ env: {} }).pubMinPort(), 49152);
   * ```
   */
  pubMinPort(): number {
    return this.#port("pub_min_port", DEFAULTS.pubMinPort);
  }

  /**
   * `pub_max_port` (exclusive), else 65536.
   *
   * @returns the port bound (exclusive)
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PosttrollConfig } from "./config.ts";
   * assertEquals(new PosttrollConfig({ env: {} }).pubMaxPort(), 65536);
   * ```
   */
  pubMaxPort(): number {
    const n = this.#int("pub_max_port", DEFAULTS.pubMaxPort);
    if (n < 1 || n > 65536) {
      throw new ConfigError(`config pub_max_port must be in 1-65536 (exclusive bound), got ${n}`, {
        key: "pub_max_port",
      });
    }
    return n;
  }

  /**
   * `tcp_keepalive`, `tcp_keepalive_cnt`, `tcp_keepalive_idle`, `tcp_keepalive_intvl` (values
   * that are missing or `None` are left out, as posttroll does). Checked as libzmq checks them:
   * `tcp_keepalive` is -1 (system default), 0 or 1; the others are -1 (system default, left out
   * here) or at least 0.
   *
   * @returns the keepalive settings
   * @throws {ConfigError} naming the key for any other value
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PosttrollConfig } from "./config.ts";
   * assertEquals(new PosttrollConfig({ env: { POSTTROLL_TCP_KEEPALIVE: "1" } }).tcpKeepalive(), { keepalive: 1 });
   * ```
   */
  tcpKeepalive(): TcpKeepaliveConfig {
    const out: TcpKeepaliveConfig = {};
    const pairs: Array<[keyof TcpKeepaliveConfig, string]> = [
      ["keepalive", "tcp_keepalive"],
      ["count", "tcp_keepalive_cnt"],
      ["idle", "tcp_keepalive_idle"],
      ["interval", "tcp_keepalive_intvl"],
    ];
    for (const [field, key] of pairs) {
      const v = this.get(key, null);
      if (v === null || v === undefined) continue;
      const n = toInt(v, key);
      if (field === "keepalive" ? n < -1 || n > 1 : n < -1) {
        throw new ConfigError(
          `config ${key} must be ${
            field === "keepalive" ? "-1, 0 or 1" : "-1 (system default) or at least 0"
          }, got ${n}`,
          { key },
        );
      }
      if (field !== "keepalive" && n === -1) continue;
      out[field] = n;
    }
    return out;
  }

  /**
   * `max_connections`: connections each listening socket (nameserver ports, publishers) keeps
   * at a time, else 4096.
   *
   * @returns the limit
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PosttrollConfig } from "./config.ts";
   * assertEquals(new PosttrollConfig({ env: {} }).maxConnections(), 4096);
   * ```
   */
  maxConnections(): number {
    return this.#positive("max_connections", DEFAULTS.maxConnections);
  }

  /**
   * `nameserver_max_message_size`: largest request or registration (bytes) the nameserver's
   * ports accept, else 1 MiB.
   *
   * @returns bytes
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PosttrollConfig } from "./config.ts";
   * assertEquals(new PosttrollConfig({ env: {} }).nameserverMaxMessageSize(), 1048576);
   * ```
   */
  nameserverMaxMessageSize(): number {
    return this.#positive("nameserver_max_message_size", DEFAULTS.nameserverMaxMessageSize);
  }

  /**
   * `nameserver_max_buffered_bytes`: bytes one connection to a nameserver port may hold in each
   * direction, and the largest reply the nameserver sends (a larger one becomes an error reply),
   * else 8 MiB.
   *
   * @returns bytes
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PosttrollConfig } from "./config.ts";
   * assertEquals(new PosttrollConfig({ env: {} }).nameserverMaxBufferedBytes(), 8388608);
   * ```
   */
  nameserverMaxBufferedBytes(): number {
    return this.#positive("nameserver_max_buffered_bytes", DEFAULTS.nameserverMaxBufferedBytes);
  }

  /**
   * `max_subscriptions`: distinct subscriptions one subscriber may hold on a publisher, else
   * 10,000.
   *
   * @returns the limit
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PosttrollConfig } from "./config.ts";
   * assertEquals(new PosttrollConfig({ env: {} }).maxSubscriptions(), 10000);
   * ```
   */
  maxSubscriptions(): number {
    return this.#positive("max_subscriptions", DEFAULTS.maxSubscriptions);
  }

  /**
   * `max_subscription_bytes`: bytes of all subscriptions of one subscriber on a publisher, else
   * 1 MiB.
   *
   * @returns bytes
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PosttrollConfig } from "./config.ts";
   * assertEquals(new PosttrollConfig({ env: {} }).maxSubscriptionBytes(), 1048576);
   * ```
   */
  maxSubscriptionBytes(): number {
    return this.#positive("max_subscription_bytes", DEFAULTS.maxSubscriptionBytes);
  }

  /**
   * `address_book_max_entries`: publishers the nameserver lists at a time (beyond it the one
   * announced least recently goes), else 10,000.
   *
   * @returns the limit
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PosttrollConfig } from "./config.ts";
   * assertEquals(new PosttrollConfig({ env: {} }).addressBookMaxEntries(), 10000);
   * ```
   */
  addressBookMaxEntries(): number {
    return this.#positive("address_book_max_entries", DEFAULTS.addressBookMaxEntries);
  }

  /**
   * `address_book_max_entry_size`: bytes of one entry as the nameserver sends it (JSON with
   * `ensure_ascii`); larger announcements are refused, else 8 KiB.
   *
   * @returns bytes
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PosttrollConfig } from "./config.ts";
   * assertEquals(new PosttrollConfig({ env: {} }).addressBookMaxEntrySize(), 8192);
   * ```
   */
  addressBookMaxEntrySize(): number {
    return this.#positive("address_book_max_entry_size", DEFAULTS.addressBookMaxEntrySize);
  }

  /**
   * Reads every setting that has a type (backend, ports, port range, keepalive, limits, the
   * allow list's form) and throws the first error, so a program can refuse to start with a wrong
   * setting instead of failing later or falling back to a default.
   *
   * @throws {ConfigError} naming the setting
   * @throws {UnsupportedBackendError} for an unknown backend
   * @example
   * ```ts
   * import { assertEquals, assertThrows } from "@std/assert";
   * import { ConfigError, PosttrollConfig } from "./config.ts";
   * const c = new PosttrollConfig({ env: { POSTTROLL_NAMESERVER_PORT: "" } });
   * assertEquals(assertThrows(() => c.validate(), ConfigError).key, "nameserver_port");
   * ```
   */
  validate(): void {
    this.backend();
    this.nameserverPort();
    this.secureNameserverPort();
    this.addressPublishPort();
    this.broadcastPort();
    const min = this.pubMinPort(), max = this.pubMaxPort();
    if (min >= max) {
      throw new ConfigError(`config pub_min_port (${min}) must be below pub_max_port (${max})`, {
        key: "pub_min_port",
      });
    }
    this.mcTtl();
    this.tcpKeepalive();
    this.authorizedClientAddresses();
    this.maxConnections();
    this.nameserverMaxMessageSize();
    this.nameserverMaxBufferedBytes();
    this.maxSubscriptions();
    this.maxSubscriptionBytes();
    this.addressBookMaxEntries();
    this.addressBookMaxEntrySize();
  }

  /**
   * `authorized_client_addresses`: hosts allowed to connect to server sockets (empty: all).
   *
   * @returns the list
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PosttrollConfig } from "./config.ts";
   * const config = new PosttrollConfig({ env: { POSTTROLL_AUTHORIZED_CLIENT_ADDRESSES: "['127.0.0.1']" } });
   * assertEquals(config.authorizedClientAddresses(), ["127.0.0.1"]);
   * ```
   */
  authorizedClientAddresses(): string[] {
    const v = this.get("authorized_client_addresses", null);
    if (v === null || v === undefined || v === "") return [];
    if (typeof v === "string") return [v];
    if (Array.isArray(v) || v instanceof Set) return [...v].map(String);
    throw new ConfigError("authorized_client_addresses must be a list of hosts", {
      key: "authorized_client_addresses",
    });
  }

  /**
   * A path setting of the secure backend (`server_secret_key_file`,
   * `clients_public_keys_directory`, `client_secret_key_file`, `server_public_key_file`).
   *
   * @param key one of the four keys
   * @returns the path, or undefined when not configured
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PosttrollConfig } from "./config.ts";
   * assertEquals(new PosttrollConfig({ env: {} }).keyFile("server_secret_key_file"), undefined);
   * ```
   */
  keyFile(
    key:
      | "server_secret_key_file"
      | "clients_public_keys_directory"
      | "client_secret_key_file"
      | "server_public_key_file",
  ): string | undefined {
    const v = this.get(key, null);
    return v === null || v === undefined ? undefined : String(v);
  }
}

// YAML support only where a YAML file can be read (see yamlParse).
if (defaultPathsMayHoldYaml()) await loadYamlParser();

/**
 * The shared configuration (posttroll's `posttroll.config`), read lazily from the process
 * environment and config files on first use. Library objects use it unless given their own.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { config } from "./config.ts";
 * {
 *   using _ = config.set({ mc_group: "239.9.9.9" }); // like posttroll's `with config.set(...)`
 *   assertEquals(config.mcGroup(), "239.9.9.9");
 * }
 * assertEquals(config.get("mc_group", "unset"), "unset"); // restored at the end of the block
 * ```
 */
export const config: PosttrollConfig = new PosttrollConfig({ applyToCodec: true });
