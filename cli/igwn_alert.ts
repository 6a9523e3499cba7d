/**
 * `igwn-alert` command line (Python igwn-alert 0.7.0's `igwn-alert` tool): listen to GraceDB
 * alerts, list a group's topics, send alert files.
 *
 * ```
 * deno run -A cli/igwn_alert.ts -s kafka://kafka.scimma.org/ -g gracedb-playground listen superevent
 * ```
 *
 * Differences from Python 0.7.0 (bugs not copied): `-p/-t/-w` are numbers; `-n FILE` reads the
 * file it names; `-u USER` selects the auth.toml entry for the broker's `host:port` and that user;
 * `send` publishes every file to every topic (the trailing arguments that name existing files are
 * the alert files; Python takes only the last argument as a file and fails with several topics);
 * `-V` prints `igwn-alert client <this package's version>`; `-s kafka://host:PORT/` uses that port
 * (Python goes to 9092 in `listen` and `send`), `-p` overrides it; a file's UTF-8 byte-order
 * mark is sent as U+FEFF, as Python reads it; an `auth.toml` skipped for its permissions is
 * named in a warning when nothing else gave a credential (Python skips it silently);
 * `$CREDENTIALS_DIRECTORY/auth.toml` (systemd's `LoadCredential=`) is used when set.
 *
 * Beyond Python (`listen`): `--exec CMD` / `--handlers FILE` run programs for each alert (payload
 * on standard input, metadata in `IGWN_ALERT_*` variables; committed after exit 0, retried,
 * `--dead-letter DIR` after the last failure), `--output-dir DIR` writes each alert as a file,
 * `--metrics HOST:PORT` serves Prometheus metrics, `--heartbeat SECONDS` exits 3 when the broker
 * has not answered for that long (see `lib/igwn_alert/service.ts`).
 *
 * @module
 */
import denoJson from "../deno.json" with { type: "json" };
import {
  AuthError,
  CredentialFileError,
  IgwnAlertClient,
  type IgwnAlertClientOptions,
  IgwnAlertError,
  IgwnAlertOptionError,
  KafkaError,
  type LogLevel,
  stderrLogSink,
} from "../lib/igwn_alert/mod.ts";
import { Auth, loadAuth, netrcLookup, selectMatchingAuth } from "../lib/hop/auth.ts";
import { HopError } from "../lib/hop/errors.ts";
import { pyJsonDumps } from "../lib/hop/pyjson.ts";
import { KafkaOptionError } from "../lib/kafka/errors.ts";
import { printedAlert } from "../lib/igwn_alert/listen.ts";
import {
  type AlertHandler,
  HANDLER_DEFAULTS,
  parseHandlers,
  splitCommand,
} from "../lib/igwn_alert/handlers.ts";
import { runListenService } from "../lib/igwn_alert/service.ts";
import {
  type HttpServer,
  MetricsError,
  processRegistry,
  type Registry,
  serveMetrics,
} from "../lib/metrics/mod.ts";
import { parseKafkaUrl } from "../lib/kafka/url.ts";

/** Version printed by `-V`. */
export const VERSION_STRING: string = `igwn-alert client ${denoJson.version}`;

const USAGE = `usage: igwn-alert [-h] [--no-auth] [-g GROUP] [-c CONSUMER_GROUP] [-j]
                  [-l {critical,error,warning,info,debug}] [-n NETRC]
                  [-p PORT] [-r] [-s SERVER] [-t LISTEN_RETRIES] [-u USERNAME]
                  [-w RETRY_WAIT] [-V]
                  {listen,subscriptions,topics,unsubscribe,send} ...`;

const HELP = `${USAGE}

positional arguments:
  {listen,subscriptions,topics,unsubscribe,send}
                        sub-command help
    listen              Listen for igwn-alert messages and print them to
                        stdout.
    subscriptions       List your subscriptions
    topics              List available pubsub topics
    unsubscribe         Unsubscribe from one or more topics
    send                publish contents of a file to a pubsub topic

options:
  -h, --help            show this help message and exit
  --no-auth             If set, disable authentication.
  -g GROUP, --group GROUP
                        GraceDB group name (e.g., gracedb, gracedb-playground)
  -c CONSUMER_GROUP, --consumer-group CONSUMER_GROUP
                        Consumer group ID to use for consuming messages across
                        sessions
  -j, --jsonpp          Output pretty print json
  -l {critical,error,warning,info,debug}, --log {critical,error,warning,info,debug}
                        Log level
  -n NETRC, --netrc NETRC
                        netrc file (default: read from NETRC environment
                        variable or ~/.netrc)
  -p PORT, --port PORT  igwn-alert server port
  -r, --retry-on-fatal  reconnect listener on fatal exceptions
  -s SERVER, --server SERVER
                        igwn-alert server hostname
  -t LISTEN_RETRIES, --listen_retries LISTEN_RETRIES
                        fatal reconnect retry attempts
  -u USERNAME, --username USERNAME
                        User name (default: look up in auth.toml or .netrc)
  -w RETRY_WAIT, --retry_wait RETRY_WAIT
                        fatal reconnect retry attempts
  -V, --version         show program's version number and exit`;

const SUB_USAGE: Record<string, string> = {
  listen: "usage: igwn-alert listen [-h] [--exec CMD | --handlers FILE] [--output-dir DIR]\n" +
    "                         [--dead-letter DIR] [--retries N] [--retry-delay SECONDS]\n" +
    "                         [--timeout SECONDS]\n" +
    "                         [--metrics HOST:PORT] [--heartbeat SECONDS]\n" +
    "                         [topics ...]",
  subscriptions: "usage: igwn-alert subscriptions [-h]",
  topics: "usage: igwn-alert topics [-h]",
  unsubscribe: "usage: igwn-alert unsubscribe [-h]",
  send: "usage: igwn-alert send [-h] topic [topic ...] alertfile [alertfile ...]",
};

const SUB_OPTIONS = `options:
  -h, --help  show this help message and exit`;

/** `<subcommand> --help`, as Python's argparse describes each subcommand's arguments. */
const SUB_HELP: Record<string, string> = {
  listen: `${SUB_USAGE.listen}

positional arguments:
  topics      a pubsub topic or list of topics (e.g. cbc_gstlal)

${SUB_OPTIONS}

handling (beyond Python igwn-alert):
  --exec CMD  run CMD for each alert: the payload on its standard input, the
              alert in IGWN_ALERT_* variables; the alert counts as handled
              (its offset is committed) when CMD exits 0
  --handlers FILE
              TOML file of [[handler]] tables: topic (or glob), command,
              timeout, retries, concurrency per topic
  --output-dir DIR
              write each alert to DIR as <topic>_<time>_<id>.json (atomically)
  --dead-letter DIR
              keep alerts whose command still fails after the retries in DIR
              and go on (without it such a failure stops the listener)
  --retries N  runs of --exec after a failure (default: 3)
  --retry-delay SECONDS
              wait before the first repeated run, doubled for each next one
              (default: 1)
  --timeout SECONDS
              kill an --exec run after this long (default: 600)
  --metrics HOST:PORT
              serve Prometheus metrics at http://HOST:PORT/metrics
  --heartbeat SECONDS
              exit with status 3 when the broker has not answered for this
              long (a wedged listener; systemd restarts it)`,
  subscriptions: `${SUB_USAGE.subscriptions}\n\n${SUB_OPTIONS}`,
  topics: `${SUB_USAGE.topics}\n\n${SUB_OPTIONS}`,
  unsubscribe: `${SUB_USAGE.unsubscribe}\n\n${SUB_OPTIONS}`,
  send: `${SUB_USAGE.send}

positional arguments:
  topic       a pubsub topic (e.g. cbc_gstlal)
  alertfile   name of the file with the alert to send

${SUB_OPTIONS}`,
};

/** Where the CLI writes and what stops it (for in-process use and tests). */
export interface CliIo {
  /** stdout line writer. @default console.log */
  out?: (text: string) => void;
  /** stderr line writer. @default console.error */
  err?: (text: string) => void;
  /** Stops `listen` (besides SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /** Environment for auth.toml / netrc lookup. @default Deno.env */
  env?: IgwnAlertClientOptions["env"];
  /** Handle SIGINT/SIGTERM during `listen`. @default true */
  handleSignals?: boolean;
}

class UsageError extends Error {
  constructor(readonly usage: string, message: string) {
    super(message);
  }
}

interface Parsed {
  noAuth: boolean;
  group: string;
  consumerGroup?: string;
  jsonpp: boolean;
  log: LogLevel;
  netrc?: string;
  port?: number;
  retryOnFatal: boolean;
  server: string;
  listenRetries: number;
  username?: string;
  retryWait: number;
  action: string;
  rest: string[];
  help?: string;
  version?: boolean;
  /** listen: handling options. */
  listen: ListenFlags;
}

/** Options of the `listen` subcommand beyond Python's. */
interface ListenFlags {
  exec?: string;
  handlers?: string;
  outputDir?: string;
  deadLetter?: string;
  retries?: number;
  retryDelay?: number;
  timeout?: number;
  metrics?: string;
  heartbeat?: number;
}

const LEVELS = ["critical", "error", "warning", "info", "debug"];
const ACTIONS = ["listen", "subscriptions", "topics", "unsubscribe", "send"];

function parse(args: string[]): Parsed {
  const p: Partial<Parsed> & { rest: string[] } = {
    noAuth: false,
    group: "gracedb",
    jsonpp: false,
    log: "error",
    retryOnFatal: false,
    server: "kafka://kafka.scimma.org/",
    listenRetries: 3,
    retryWait: 0.1,
    rest: [],
    listen: {},
  };
  const withValue: Record<string, [string, (v: string, flag: string) => void]> = {
    "-g": ["--group", (v) => (p.group = v)],
    "-c": ["--consumer-group", (v) => (p.consumerGroup = v)],
    "-l": ["--log", (v, f) => {
      if (!LEVELS.includes(v)) {
        throw new UsageError(
          USAGE,
          `argument ${f}: invalid choice: '${v}' (choose from ${
            LEVELS.map((l) => `'${l}'`).join(", ")
          })`,
        );
      }
      p.log = v as LogLevel;
    }],
    "-n": ["--netrc", (v) => (p.netrc = v)],
    "-p": ["--port", (v, f) => (p.port = int(v, f))],
    "-s": ["--server", (v) => (p.server = v)],
    "-t": ["--listen_retries", (v, f) => (p.listenRetries = int(v, f))],
    "-u": ["--username", (v) => (p.username = v)],
    "-w": ["--retry_wait", (v, f) => (p.retryWait = float(v, f))],
  };
  const flags: Record<string, [string, () => void]> = {
    "--no-auth": ["--no-auth", () => (p.noAuth = true)],
    "-j": ["--jsonpp", () => (p.jsonpp = true)],
    "-r": ["--retry-on-fatal", () => (p.retryOnFatal = true)],
  };
  const longValue = new Map(Object.entries(withValue).map(([s, [l, f]]) => [l, [s, f] as const]));
  const longFlag = new Map(Object.entries(flags).map(([, [l, f]]) => [l, f]));
  let i = 0;
  while (i < args.length) {
    const a = args[i++];
    if (a === "-h" || a === "--help") return { ...(p as Parsed), help: HELP };
    if (a === "-V" || a === "--version") return { ...(p as Parsed), version: true };
    if (a.startsWith("--")) {
      const [name, inline] = a.includes("=")
        ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]
        : [a, undefined];
      const lf = longFlag.get(name);
      if (lf) {
        lf();
        continue;
      }
      const lv = longValue.get(name);
      if (lv) {
        const v = inline ?? args[i++];
        if (v === undefined) {
          throw new UsageError(USAGE, `argument ${lv[0]}/${name}: expected one argument`);
        }
        lv[1](v, `${lv[0]}/${name}`);
        continue;
      }
      throw new UsageError(USAGE, `unrecognized arguments: ${a}`);
    }
    if (a.startsWith("-") && a.length > 1) {
      const short = a.slice(0, 2);
      if (flags[short]) {
        flags[short][1]();
        // combined short flags like -jr
        for (const ch of a.slice(2)) {
          const f = flags[`-${ch}`];
          if (!f) throw new UsageError(USAGE, `unrecognized arguments: ${a}`);
          f[1]();
        }
        continue;
      }
      if (withValue[short]) {
        const v = a.length > 2 ? a.slice(2) : args[i++];
        if (v === undefined) {
          throw new UsageError(
            USAGE,
            `argument ${short}/${withValue[short][0]}: expected one argument`,
          );
        }
        withValue[short][1](v, `${short}/${withValue[short][0]}`);
        continue;
      }
      throw new UsageError(USAGE, `unrecognized arguments: ${a}`);
    }
    if (!ACTIONS.includes(a)) {
      throw new UsageError(
        USAGE,
        `argument action: invalid choice: '${a}' (choose from ${
          ACTIONS.map((x) => `'${x}'`).join(", ")
        })`,
      );
    }
    p.action = a;
    const rest = args.slice(i);
    if (rest.includes("-h") || rest.includes("--help")) {
      return { ...(p as Parsed), help: SUB_HELP[a] };
    }
    p.rest = a === "listen" ? listenFlags(rest, p.listen!) : rest.filter((x) => x !== "--");
    const bad = p.rest.find((x) => x.startsWith("-") && x.length > 1);
    if (bad) throw new UsageError(USAGE, `unrecognized arguments: ${bad}`);
    if (a !== "listen" && a !== "send" && p.rest.length > 0) {
      throw new UsageError(USAGE, `unrecognized arguments: ${p.rest.join(" ")}`);
    }
    return p as Parsed;
  }
  throw new UsageError(USAGE, "the following arguments are required: action");
}

/** Takes the listen subcommand's options out of `rest`; returns the topics. */
function listenFlags(rest: string[], f: ListenFlags): string[] {
  const topics: string[] = [];
  const valued: Record<string, (v: string, flag: string) => void> = {
    "--exec": (v) => (f.exec = v),
    "--handlers": (v) => (f.handlers = v),
    "--output-dir": (v) => (f.outputDir = v),
    "--dead-letter": (v) => (f.deadLetter = v),
    "--retries": (v, flag) => (f.retries = int(v, flag)),
    "--retry-delay": (v, flag) => (f.retryDelay = float(v, flag)),
    "--timeout": (v, flag) => (f.timeout = float(v, flag)),
    "--metrics": (v) => (f.metrics = v),
    "--heartbeat": (v, flag) => (f.heartbeat = float(v, flag)),
  };
  const usage = SUB_USAGE.listen;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === "--") {
      topics.push(...rest.slice(i + 1));
      break;
    }
    const eq = a.startsWith("--") ? a.indexOf("=") : -1;
    const name = eq > 0 ? a.slice(0, eq) : a;
    const set = valued[name];
    if (!set) {
      topics.push(a);
      continue;
    }
    const v = eq > 0 ? a.slice(eq + 1) : rest[++i];
    if (v === undefined) throw new UsageError(usage, `argument ${name}: expected one argument`);
    set(v, name);
  }
  if (f.exec !== undefined && f.handlers !== undefined) {
    throw new UsageError(usage, "argument --handlers: not allowed with argument --exec");
  }
  if (f.deadLetter !== undefined && f.exec === undefined && f.handlers === undefined) {
    throw new UsageError(usage, "argument --dead-letter: needs --exec or --handlers");
  }
  if (
    (f.retries !== undefined && f.retries < 0) || (f.timeout !== undefined && f.timeout <= 0) ||
    (f.retryDelay !== undefined && f.retryDelay < 0)
  ) {
    throw new UsageError(usage, "--retries and --retry-delay must be >= 0, --timeout > 0");
  }
  if (f.heartbeat !== undefined && f.heartbeat <= 0) {
    throw new UsageError(usage, "argument --heartbeat: must be > 0 seconds");
  }
  return topics;
}

function int(v: string, flag: string): number {
  if (!/^[-+]?\d+$/.test(v.trim())) {
    throw new UsageError(USAGE, `argument ${flag}: invalid int value: '${v}'`);
  }
  return Number(v);
}

function float(v: string, flag: string): number {
  const n = Number(v);
  if (v.trim() === "" || Number.isNaN(n)) {
    throw new UsageError(USAGE, `argument ${flag}: invalid float value: '${v}'`);
  }
  return n;
}

/**
 * Runs the `igwn-alert` command.
 *
 * @param args command-line arguments (without the program name)
 * @param io output writers, a stop signal, environment
 * @returns the exit code: 0 success (also after SIGINT/SIGTERM during listen), 1 failure
 *   (credentials, broker, unknown topic), 2 usage error (also an unreadable alert file)
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { main } from "./igwn_alert.ts";
 * import { KafkaCluster } from "../lib/kafka/cluster.ts";
 * import { withAdmin } from "../lib/kafka/admin.ts";
 * const broker = Deno.env.get("KAFKA") ?? "127.0.0.1:9092";
 * const group = `example-${crypto.randomUUID().slice(0, 8)}`; // a group with one topic
 * const cluster = new KafkaCluster({ url: `kafka://${broker}/`, noauth: true });
 * await withAdmin(cluster, "topics", (a) => a.createTopics([{ topic: `${group}.superevent` }]));
 * const out: string[] = [];
 * const code = await main(["--no-auth", "-s", `kafka://${broker}/`, "-g", group, "topics"], {
 *   out: (t) => out.push(t),
 * });
 * assertEquals(code, 0);
 * assertEquals(out.at(-1), "superevent"); // after a heading line, as Python prints them
 * ```
 */
export async function main(args: string[], io: CliIo = {}): Promise<number> {
  const out = io.out ?? ((t: string) => console.log(t));
  const err = io.err ?? ((t: string) => console.error(t));
  let p: Parsed;
  try {
    p = parse(args);
  } catch (e) {
    if (e instanceof UsageError) {
      err(e.usage);
      err(`igwn-alert: error: ${e.message}`);
      return 2;
    }
    throw e;
  }
  if (p.help) {
    out(p.help);
    return 0;
  }
  if (p.version) {
    out(VERSION_STRING);
    return 0;
  }

  // send: trailing arguments naming files are the alert files (at least the last one)
  let topics = p.rest;
  const files: Array<{ name: string; text: string }> = [];
  if (p.action === "send") {
    if (p.rest.length < 2) {
      err(SUB_USAGE.send);
      err(
        `igwn-alert send: error: the following arguments are required: ${
          p.rest.length === 0 ? "topic, alertfile" : "alertfile"
        }`,
      );
      return 2;
    }
    let split = p.rest.length - 1;
    while (split > 1 && isFile(p.rest[split - 1])) split--;
    topics = p.rest.slice(0, split);
    for (const name of p.rest.slice(split)) {
      try {
        files.push({
          name,
          // like Python's open(name).read(): a byte-order mark stays in the text as U+FEFF
          text: new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(
            Deno.readFileSync(name),
          ),
        });
      } catch (e) {
        err(SUB_USAGE.send);
        err(
          `igwn-alert send: error: argument alertfile: can't open '${name}': ${
            (e as Error).message
          }`,
        );
        return 2;
      }
    }
  }

  // listen's handling options: read and checked before anything connects
  let service: ServiceSetup | undefined;
  if (p.action === "listen") {
    try {
      service = setUpService(p.listen);
    } catch (e) {
      if (e instanceof IgwnAlertOptionError || e instanceof MetricsError) {
        err(SUB_USAGE.listen);
        err(`igwn-alert listen: error: ${e.message}`);
        return 2;
      }
      throw e;
    }
  }

  const logger = stderrLogSink(p.log);
  const warnOut = (w: { category: string; message: string }) =>
    err(`igwn-alert: ${w.category}: ${w.message}`);
  let client: IgwnAlertClient;
  try {
    let auth: IgwnAlertClientOptions["auth"];
    if (p.noAuth) {
      auth = false;
    } else if (p.username) {
      // the entry for the broker's host:port (the server URL's port unless -p) and that user
      const broker = parseKafkaUrl(p.server, p.port).brokers[0];
      auth = selectMatchingAuth(loadAuth(undefined, { env: io.env }), broker, p.username);
    } else if (p.netrc) {
      const entry = netrcLookup(p.server, p.netrc, io.env);
      if (!entry) throw new AuthError(`netrc information for ${p.server} could not be found`);
      auth = new Auth({ username: entry.login, password: entry.password });
    }
    // under systemd, an auth.toml handed over with LoadCredential= (readable by the service alone)
    const credentials = (io.env ?? Deno.env).get("CREDENTIALS_DIRECTORY");
    const authfile = auth === undefined && credentials && isFile(`${credentials}/auth.toml`)
      ? `${credentials}/auth.toml`
      : undefined;
    client = new IgwnAlertClient({
      authfile,
      server: p.server,
      port: p.port,
      group: p.group,
      auth,
      consumerGroup: p.consumerGroup,
      retryOnFatal: p.retryOnFatal,
      listenRetries: p.listenRetries,
      retryWait: p.retryWait,
      jsonpp: p.jsonpp,
      env: io.env,
      logger,
      onWarning: warnOut,
      print: out,
    });
  } catch (e) {
    await service?.server?.close();
    return fail(e, err);
  }

  const ctl = new AbortController();
  const signal = io.signal ? AbortSignal.any([io.signal, ctl.signal]) : ctl.signal;
  const onSignal = () => ctl.abort();
  const handleSignals = (io.handleSignals ?? true) &&
    (p.action === "listen" || p.action === "send");
  if (handleSignals) {
    Deno.addSignalListener("SIGINT", onSignal);
    Deno.addSignalListener("SIGTERM", onSignal);
  }
  try {
    switch (p.action) {
      case "listen":
        if (!service) {
          await client.listen(undefined, { topics, signal });
          return 0;
        }
        return await runListenService(client, {
          topics,
          handlers: service.handlers,
          outputDir: p.listen.outputDir,
          deadLetter: p.listen.deadLetter,
          heartbeatSeconds: p.listen.heartbeat,
          retryDelayMs: (p.listen.retryDelay ?? 1) * 1000,
          metrics: service.registry,
          consumerGroup: p.consumerGroup,
          signal,
          print: (alert) => out(printedAlert(alert, p.jsonpp)),
          log: (level, message) => logger(level, message),
        });
      case "topics": {
        const list = await client.getTopics();
        out(`Topics for group ${p.group} associated with the current credential:`);
        out(list.join("\n"));
        return 0;
      }
      case "subscriptions":
        err(
          "igwn-alert: DeprecationWarning: This feature is deprecated. Please refer to the " +
            "get_topics() API command or the SCIMMA auth interface.",
        );
        return 1;
      case "unsubscribe":
        err("igwn-alert: DeprecationWarning: This feature is deprecated.");
        return 1;
      case "send":
        return await sendFiles(client, topics, files, signal, err);
    }
    return 2;
  } catch (e) {
    if (signal.aborted && p.action === "listen") return 0;
    return fail(e, err);
  } finally {
    await service?.server?.close();
    if (handleSignals) {
      Deno.removeSignalListener("SIGINT", onSignal);
      Deno.removeSignalListener("SIGTERM", onSignal);
    }
    await client.close();
  }
}

/** What `listen`'s handling options set up before connecting. */
interface ServiceSetup {
  handlers?: AlertHandler[];
  registry?: Registry;
  server?: HttpServer;
}

/**
 * Reads the handlers file or the --exec command and opens the metrics port; undefined when
 * `listen` only prints (as in Python).
 */
function setUpService(f: ListenFlags): ServiceSetup | undefined {
  if (
    f.exec === undefined && f.handlers === undefined && f.outputDir === undefined &&
    f.metrics === undefined && f.heartbeat === undefined
  ) return undefined;
  const setup: ServiceSetup = {};
  if (f.exec !== undefined) {
    setup.handlers = [{
      topic: "*",
      command: splitCommand(f.exec),
      timeout: f.timeout ?? HANDLER_DEFAULTS.timeout,
      retries: f.retries ?? HANDLER_DEFAULTS.retries,
      concurrency: 1,
    }];
  } else if (f.handlers !== undefined) {
    let text: string;
    try {
      text = Deno.readTextFileSync(f.handlers);
    } catch (e) {
      throw new IgwnAlertOptionError(
        `argument --handlers: can't open '${f.handlers}': ${(e as Error).message}`,
      );
    }
    setup.handlers = parseHandlers(text, f.handlers).map((h) => ({
      ...h,
      timeout: f.timeout ?? h.timeout,
      retries: f.retries ?? h.retries,
    }));
  }
  if (f.metrics !== undefined) {
    setup.registry = processRegistry();
    setup.server = serveMetrics({ listen: f.metrics, registry: setup.registry });
  }
  return setup;
}

/**
 * How long an alert already handed to the broker may take to be acknowledged after SIGINT/SIGTERM
 * before `send` gives up on it: short enough that the command exits within a second.
 */
const SEND_GRACE_MS = 700;

/**
 * Publishes each file to every topic, one file after the other. A signal stops it before the next
 * file; the alert in flight is given {@linkcode SEND_GRACE_MS} to be acknowledged. An interrupted
 * run says how many files were sent (exit 1), so the rest can be sent again without duplicates.
 */
async function sendFiles(
  client: IgwnAlertClient,
  topics: string[],
  files: Array<{ name: string; text: string }>,
  signal: AbortSignal,
  err: (text: string) => void,
): Promise<number> {
  let sent = 0;
  for (const f of files) {
    if (signal.aborted) break;
    const publishing = client.publish(topics, pyJsonDumps(f.text));
    const acknowledged = await Promise.race([
      publishing.then(() => true),
      new Promise<boolean>((resolve) => {
        const onAbort = () => setTimeout(() => resolve(false), SEND_GRACE_MS);
        if (signal.aborted) onAbort();
        else signal.addEventListener("abort", onAbort, { once: true });
        publishing.finally(() => signal.removeEventListener("abort", onAbort)).catch(() => {});
      }),
    ]);
    if (!acknowledged) {
      publishing.catch(() => {});
      err(
        `igwn-alert: interrupted: sent ${sent} of ${files.length} files; ${f.name} was being ` +
          `sent and may or may not have arrived`,
      );
      return 1;
    }
    sent++;
  }
  if (sent < files.length) {
    err(
      `igwn-alert: interrupted: sent ${sent} of ${files.length} files; not sent: ` +
        files.slice(sent).map((f) => f.name).join(" "),
    );
    return 1;
  }
  return 0;
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function fail(e: unknown, err: (t: string) => void): number {
  if (
    e instanceof HopError || e instanceof IgwnAlertError || e instanceof IgwnAlertOptionError ||
    e instanceof CredentialFileError || e instanceof KafkaError || e instanceof KafkaOptionError
  ) {
    err(`igwn-alert: error: ${(e as Error).message}`);
    return 1;
  }
  err(`igwn-alert: error: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  return 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
