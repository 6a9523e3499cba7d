/**
 * `posttroll-bridge`: the posttroll <-> Kafka bridge (see `lib/bridge/`).
 *
 * ```
 * posttroll-bridge to-kafka   --kafka URL [-s SERVICE]... [-t SUBJECT]... [options]
 * posttroll-bridge from-kafka --kafka URL [--topic TOPIC]... [--service NAME] [options]
 * ```
 *
 * Settings come from flags, else from the posttroll configuration (`POSTTROLL_BRIDGE__KAFKA_URL`,
 * `POSTTROLL_BRIDGE__SITE`, `POSTTROLL_BRIDGE__TOPIC_PREFIX`, `POSTTROLL_BRIDGE__AUTH_FILE`,
 * `POSTTROLL_BRIDGE__STATE_DIR`, `POSTTROLL_BRIDGE__SERVICE`, `POSTTROLL_BRIDGE__GROUP_ID`, or
 * the same keys under `bridge:` in a posttroll config file); nameserver ports, multicast and
 * backend come from the usual posttroll settings. Kafka credentials: hop's auth.toml
 * (`$HOP_CONFIG_DIR/auth.toml` or `~/.config/hop/auth.toml`, or `--auth-file`), else `.netrc`,
 * as igwn-alert finds them; `--no-auth` for a PLAINTEXT broker.
 *
 * SIGTERM/SIGINT: `to-kafka` stops receiving and delivers what it holds (up to
 * `--close-timeout`), exit 0 (1 if some messages could not be delivered); `from-kafka` finishes
 * the batch in hand, commits and exits 0.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { main } from "./posttroll_bridge.ts";
 * const kafka = `kafka://${Deno.env.get("KAFKA") ?? "localhost:9092"}/`;
 * const stop = new AbortController(); // SIGTERM/SIGINT do the same
 * setTimeout(() => stop.abort(), 500);
 * const code: number = await main([
 *   "to-kafka", "--kafka", kafka, "--no-auth",
 *   "--no-nameserver", "-a", "tcp://127.0.0.1:40000", // one publisher, no nameserver
 * ], stop.signal);
 * assertEquals(code, 0); // stopped, nothing undelivered
 * ```
 *
 * @module
 */
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { config } from "../lib/posttroll/config.ts";
import {
  atLeast,
  bridgeMetrics,
  BridgeOptionError,
  type FromKafkaOptions,
  KafkaToPosttroll,
  PosttrollToKafka,
  type ToKafkaOptions,
} from "../lib/bridge/mod.ts";
import { type LogLevel, stderrLogSink } from "../lib/kafka/log.ts";
import denoJson from "../deno.json" with { type: "json" };
import {
  type HttpServer,
  MetricsError,
  processRegistry,
  serveMetrics,
} from "../lib/metrics/mod.ts";

const USAGE = `usage: posttroll-bridge {to-kafka,from-kafka} [options]

posttroll <-> Kafka bridge: 'to-kafka' forwards this site's posttroll messages to Kafka topics
named after their subjects; 'from-kafka' republishes them at another site as a posttroll
publisher, at least once, with duplicates suppressed across restarts.

common options:
  -h, --help            show this help message and exit
  -V, --version         show the version and exit
  --kafka URL           kafka://[user@]host[:port][,host...]/ (POSTTROLL_BRIDGE__KAFKA_URL)
  --no-auth             connect without authentication (PLAINTEXT)
  --auth-file FILE      hop auth.toml to use (default: $CREDENTIALS_DIRECTORY/auth.toml under
                        systemd, else hop's ~/.config/hop/auth.toml, else ~/.netrc)
  --site NAME           this site's name (default: the hostname)
  --prefix PREFIX       Kafka topic prefix (default: posttroll)
  -l, --log-level LEVEL critical, error, warning, info, debug (default: info)
  --stats SECONDS       log the counters this often (default: 60; 0: never)
  --metrics HOST:PORT   serve the counters as Prometheus metrics at http://HOST:PORT/metrics

to-kafka options:
  -s, --service NAME    posttroll service to forward (repeatable; default: all)
  -t, --subject PREFIX  subject prefix to forward (repeatable; default: all)
  -a, --address URI     publisher address to subscribe to as well (repeatable)
  -n, --nameserver HOST nameserver to ask for publishers (default: localhost)
  --no-nameserver       use only --address publishers
  --depth N             subject components in a topic name (default: all)
  --topic NAME          one Kafka topic for every subject
  --exclude-service NAME do not forward publishers of this service (repeatable;
                        default: kafka_bridge, the from-kafka default)
  --no-create-topics    leave topic creation to the broker
  --partitions N        partitions of created topics (default: the broker's)
  --replication-factor N replication of created topics (default: the broker's)
  --max-buffer-mb N     memory for messages while Kafka is down (default: 256)
  --linger-ms N         let a batch wait this long for more messages (default: 0)
  --close-timeout SECONDS how long to keep delivering at shutdown (default: 10)

from-kafka options:
  --topic NAME          Kafka topic to consume (repeatable; default: every topic under --prefix)
  --service NAME        posttroll service name to publish under (default: kafka_bridge)
  --alias NAME          more service names (repeatable)
  --port N              port to publish on (default: random)
  --nameserver HOST     register with this nameserver directly (repeatable; default: multicast)
  --group-id ID         Kafka consumer group (default: posttroll-bridge.<service>.<site>)
  --start WHERE         a new group starts at the 'latest' (default) or 'earliest' records
  --state-dir DIR       where the duplicate-suppression state (<group-id>.dedup) lives (default:
                        $STATE_DIRECTORY, else $XDG_STATE_HOME/posttroll-bridge, else
                        ~/.local/state/posttroll-bridge)
  --no-state            keep duplicate suppression in memory only
  --dedup-capacity N    message identities remembered (default: 100000)
  --min-subscribers N   pause while fewer posttroll subscribers are connected (default: 1)
  --republish-own-site  also republish messages this site's own to-kafka produced
  --refresh SECONDS     how often to look for new topics (default: 5)
`;

/** This program's version line. */
export const VERSION_STRING: string = `posttroll-bridge (${denoJson.name}) ${denoJson.version}`;

class UsageError extends Error {}

function cfg(key: string): string | undefined {
  const v = config.get(`bridge.${key}`, undefined);
  return v === undefined || v === null ? undefined : String(v);
}

const usage = (message: string) => new UsageError(message);

function int(name: string, v: string | undefined, min: number): number | undefined {
  return atLeast(`--${name}`, v, min, { integer: true, error: usage });
}

function num(name: string, v: string | undefined, min: number): number | undefined {
  return atLeast(`--${name}`, v, min, { error: usage });
}

function stateDir(): string {
  const env = Deno.env.toObject();
  if (env.STATE_DIRECTORY) return env.STATE_DIRECTORY.split(":")[0];
  if (env.XDG_STATE_HOME) return `${env.XDG_STATE_HOME}/posttroll-bridge`;
  return `${env.HOME ?? "."}/.local/state/posttroll-bridge`;
}

/**
 * Logs the counters every `every` seconds until `signal` aborts, then closes and logs the final
 * counters.
 */
async function serve<S>(
  stats: () => S,
  every: number,
  signal: AbortSignal,
  close: () => Promise<S>,
  log: (level: LogLevel, message: string) => void,
): Promise<S> {
  const timer = every > 0
    ? setInterval(() => log("info", `stats ${JSON.stringify(stats())}`), every * 1000)
    : undefined;
  try {
    if (!signal.aborted) {
      await new Promise<void>((r) => signal.addEventListener("abort", () => r(), { once: true }));
    }
  } finally {
    clearInterval(timer);
  }
  const final = await close();
  log("info", `stopped: ${JSON.stringify(final)}`);
  return final;
}

/** `$CREDENTIALS_DIRECTORY/auth.toml` when systemd passed one (`LoadCredential=auth.toml:...`). */
function systemdCredential(): string | undefined {
  const dir = Deno.env.get("CREDENTIALS_DIRECTORY");
  if (!dir) return undefined;
  try {
    Deno.statSync(`${dir}/auth.toml`);
    return `${dir}/auth.toml`;
  } catch {
    return undefined;
  }
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, "_");
}

/** Flags of both commands. */
const COMMON_OPTIONS = {
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
  kafka: { type: "string" },
  "no-auth": { type: "boolean" },
  "auth-file": { type: "string" },
  site: { type: "string" },
  prefix: { type: "string" },
  "log-level": { type: "string", short: "l" },
  stats: { type: "string" },
  metrics: { type: "string" },
  service: { type: "string", short: "s", multiple: true },
  nameserver: { type: "string", short: "n", multiple: true },
  topic: { type: "string", multiple: true },
} as const;

/** Flags of `to-kafka` alone (a usage error with `from-kafka`). */
const TO_KAFKA_OPTIONS = {
  subject: { type: "string", short: "t", multiple: true },
  address: { type: "string", short: "a", multiple: true },
  "no-nameserver": { type: "boolean" },
  depth: { type: "string" },
  "exclude-service": { type: "string", multiple: true },
  "no-create-topics": { type: "boolean" },
  partitions: { type: "string" },
  "replication-factor": { type: "string" },
  "max-buffer-mb": { type: "string" },
  "linger-ms": { type: "string" },
  "close-timeout": { type: "string" },
} as const;

/** Flags of `from-kafka` alone (a usage error with `to-kafka`). */
const FROM_KAFKA_OPTIONS = {
  alias: { type: "string", multiple: true },
  port: { type: "string" },
  "group-id": { type: "string" },
  start: { type: "string" },
  "state-dir": { type: "string" },
  "no-state": { type: "boolean" },
  "dedup-capacity": { type: "string" },
  "min-subscribers": { type: "string" },
  "republish-own-site": { type: "boolean" },
  refresh: { type: "string" },
} as const;

const OPTIONS = { ...COMMON_OPTIONS, ...TO_KAFKA_OPTIONS, ...FROM_KAFKA_OPTIONS } as const;
const ONLY_TO = Object.keys(TO_KAFKA_OPTIONS);
const ONLY_FROM = Object.keys(FROM_KAFKA_OPTIONS);

/**
 * Runs the command with `args` (without the program name) and returns the exit code.
 *
 * @param args command-line arguments
 * @param signal stops a running bridge (besides SIGTERM/SIGINT)
 * @returns the exit code: 0 done, 1 failure, 2 usage error
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { main } from "./posttroll_bridge.ts";
 * assert((await main(["--version"])) === 0);
 * ```
 */
export async function main(args: string[], signal?: AbortSignal): Promise<number> {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true }));
  } catch (e) {
    console.error(`${USAGE.split("\n")[0]}\nposttroll-bridge: error: ${(e as Error).message}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.version) {
    console.log(VERSION_STRING);
    return 0;
  }
  const command = positionals[0];
  const level = (values["log-level"] ?? "info").toLowerCase() as LogLevel;
  try {
    if (command !== "to-kafka" && command !== "from-kafka") {
      throw new UsageError(
        command === undefined
          ? "a command is required: to-kafka or from-kafka"
          : `unknown command ${JSON.stringify(command)} (choose from 'to-kafka', 'from-kafka')`,
      );
    }
    if (positionals.length > 1) throw new UsageError(`unexpected argument ${positionals[1]}`);
    if (!["critical", "error", "warning", "info", "debug"].includes(level)) {
      throw new UsageError(`--log-level: invalid choice ${values["log-level"]}`);
    }
    const wrong = (command === "to-kafka" ? ONLY_FROM : ONLY_TO).filter((k) =>
      (values as Record<string, unknown>)[k] !== undefined
    );
    if (wrong.length) throw new UsageError(`--${wrong[0]} is not an option of ${command}`);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`${USAGE.split("\n")[0]}\nposttroll-bridge: error: ${e.message}`);
    return 2;
  }
  const log = stderrLogSink(level, "posttroll_bridge");
  const stop = new AbortController();
  const onSignal = () => {
    log("info", "stopping");
    stop.abort();
  };
  const signals: Deno.Signal[] = ["SIGTERM", "SIGINT"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  signal?.addEventListener("abort", onSignal, { once: true });
  let metrics: HttpServer | undefined;
  try {
    const url = values.kafka ?? cfg("kafka_url");
    if (!url) throw new UsageError("--kafka URL is required (or POSTTROLL_BRIDGE__KAFKA_URL)");
    const common = {
      url,
      noauth: values["no-auth"] ?? false,
      authfile: values["auth-file"] ?? cfg("auth_file") ?? systemdCredential(),
      site: values.site ?? cfg("site"),
      prefix: values.prefix ?? cfg("topic_prefix"),
      logger: log,
      config,
    };
    const statsEvery = num("stats", values.stats, 0) ?? 60;
    // --metrics: listening starts before the bridge, so a wrong address fails first
    const registry = values.metrics === undefined ? undefined : processRegistry();
    if (registry) {
      try {
        metrics = serveMetrics({ listen: values.metrics!, registry });
      } catch (e) {
        if (e instanceof MetricsError) throw new UsageError(e.message);
        throw e;
      }
    }
    if (command === "to-kafka") {
      const topics = values.topic ?? [];
      if (topics.length > 1) throw new UsageError("to-kafka takes one --topic");
      const opts: ToKafkaOptions = {
        ...common,
        services: values.service ?? [""],
        subjects: values.subject ?? [""],
        addresses: values.address,
        nameserver: values["no-nameserver"] ? false : values.nameserver?.[0] ?? "localhost",
        depth: int("depth", values.depth, 1),
        topic: topics[0],
        excludeServices: values["exclude-service"],
        createTopics: !values["no-create-topics"],
        partitions: int("partitions", values.partitions, -1),
        replicationFactor: int("replication-factor", values["replication-factor"], -1),
        maxBufferBytes: (num("max-buffer-mb", values["max-buffer-mb"], 1) ?? 256) * 1024 * 1024,
        lingerMs: num("linger-ms", values["linger-ms"], 0),
      };
      const closeMs = (num("close-timeout", values["close-timeout"], 0) ?? 10) * 1000;
      const up = new PosttrollToKafka(opts);
      if (registry) bridgeMetrics(registry, "to-kafka", () => up.stats);
      await up.start();
      log("info", `to-kafka ready: site ${up.site}, Kafka ${up.broker}`);
      const s = await serve(() => up.stats, statsEvery, stop.signal, () => up.close(closeMs), log);
      return s.failed > 0 ? 1 : 0;
    }
    const service = values.service?.[0] ?? cfg("service");
    if ((values.service?.length ?? 0) > 1) throw new UsageError("from-kafka takes one --service");
    const refresh = num("refresh", values.refresh, 0.1);
    const site = common.site ?? hostname();
    const groupId = values["group-id"] ?? cfg("group_id") ??
      `posttroll-bridge.${service ?? "kafka_bridge"}.${site}`;
    let dedupPath: string | null = null;
    if (!values["no-state"]) {
      const dir = values["state-dir"] ?? cfg("state_dir") ?? stateDir();
      await Deno.mkdir(dir, { recursive: true });
      dedupPath = `${dir}/${safeName(groupId)}.dedup`;
    }
    const start = values.start;
    if (start !== undefined && start !== "latest" && start !== "earliest") {
      throw new UsageError(`--start must be 'latest' or 'earliest', not ${start}`);
    }
    const opts: FromKafkaOptions = {
      ...common,
      topics: values.topic,
      service,
      aliases: values.alias,
      port: int("port", values.port, 0),
      nameservers: values.nameserver,
      site,
      groupId,
      start,
      dedupPath,
      dedupCapacity: int("dedup-capacity", values["dedup-capacity"], 1),
      minSubscribers: int("min-subscribers", values["min-subscribers"], 0),
      republishOwnSite: values["republish-own-site"] ?? false,
      refreshIntervalMs: refresh === undefined ? undefined : refresh * 1000,
    };
    const down = new KafkaToPosttroll(opts);
    if (registry) bridgeMetrics(registry, "from-kafka", () => down.stats);
    await down.start();
    log(
      "info",
      `from-kafka ready: site ${down.site}, service ${down.service} on port ${down.port}, ` +
        `group ${down.groupId}, state ${dedupPath ?? "in memory"}`,
    );
    await serve(() => down.stats, statsEvery, stop.signal, () => down.close(), log);
    return 0;
  } catch (e) {
    if (e instanceof UsageError || e instanceof BridgeOptionError) {
      console.error(`${USAGE.split("\n")[0]}\nposttroll-bridge: error: ${e.message}`);
      return 2;
    }
    const err = e as Error;
    log("critical", `${err.name}: ${err.message}`);
    return 1;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
    signal?.removeEventListener("abort", onSignal);
    await metrics?.close();
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
