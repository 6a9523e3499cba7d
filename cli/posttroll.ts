/**
 * `posttroll`: an operator's view of a running pytroll chain.
 *
 * ```
 * posttroll listen [-s SERVICE]... [-t TOPIC]... [-a ADDRESS]... [--nameserver HOST] [--json]
 *                  [-n COUNT] [--metrics HOST:PORT]
 * posttroll send SUBJECT TYPE [DATA|-] [--service NAME] [--nameserver HOST]
 *                [--wait-subscribers N] [--timeout SECONDS]
 * posttroll services [--nameserver HOST] [--json]
 * ```
 *
 * - `listen` prints each message as it arrives — the posttroll text form (what Python's
 *   `str(msg)` gives), or with `--json` one JSON object per line with `subject`, `type`, `sender`,
 *   `time`, `version`, `data`, the publisher's `address` and the `received` time — following
 *   publishers that register and expire at the nameserver. Without `-s`, every service; with `-a`
 *   only, just those publisher addresses. It exits 0 after `-n COUNT` messages, on SIGINT or
 *   SIGTERM, or when stdout is closed. `--metrics HOST:PORT` exports per-subject Prometheus
 *   metrics with pytroll-messages-prom's names (see `lib/posttroll/message_metrics.ts`).
 * - `send` publishes one message through a NoisyPublisher (service `--service`, default
 *   `posttroll_send`): DATA is JSON text (a JSON string gives a `text/ascii` message; `-` reads it
 *   from stdin; none: no data). It waits until the nameserver lists the publisher and
 *   `--wait-subscribers` subscribers (default 1) whose topics match the message are connected, so
 *   the message is not dropped by a PUB socket nobody listens to, then prints the message sent.
 *   Registration is direct with `--nameserver`, else by multicast (direct to localhost when
 *   `POSTTROLL_MULTICAST` is false). Exit 1 (nothing sent) when that takes longer than
 *   `--timeout` (default 10 s).
 * - `services` prints the nameserver's address book as a table (service, aliases, address, age,
 *   message version, backend), or with `--json` the records as the nameserver returns them.
 *
 * Every subcommand reads the `POSTTROLL_*` configuration (ports, backend: `secure_zmq` uses the
 * configured CURVE keys) like the other programs. Exit codes: 0 done, 1 failed (nameserver not
 * answering, refused, timed out), 2 usage error.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { main } from "./posttroll.ts";
 * import { NameServer } from "../lib/posttroll/nameserver.ts";
 * import { NoisyPublisher } from "../lib/posttroll/publisher.ts";
 * import { PosttrollConfig } from "../lib/posttroll/config.ts";
 * // a nameserver with one publisher registered, on loopback and free ports
 * const free = () => {
 *   const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 *   l.close();
 *   return (l.addr as Deno.NetAddr).port;
 * };
 * const config = new PosttrollConfig({
 *   env: {},
 *   defaults: { nameserver_port: free(), address_publish_port: free(), broadcast_port: free() },
 * });
 * const ns = new NameServer({ multicastEnabled: false, config });
 * const serving = ns.run(undefined, "127.0.0.1");
 * await ns.ready;
 * const pub = await new NoisyPublisher("my_service", {
 *   nameservers: ["127.0.0.1"],
 *   announceHost: "127.0.0.1",
 *   config,
 * }).start();
 * const services = async () => {
 *   let printed = "";
 *   const code: number = await main(["services", "--nameserver", "127.0.0.1", "--json"], {
 *     config,
 *     out: (text) => Promise.resolve(void (printed += text)),
 *   });
 *   assertEquals(code, 0);
 *   return (JSON.parse(printed) as Array<{ service: string[] }>).flatMap((a) => a.service);
 * };
 * while (!(await services()).includes("my_service")) { // registering takes a moment
 *   await new Promise((r) => setTimeout(r, 50));
 * }
 * assertEquals((await services()).sort(), ["address_receiver", "addresses", "my_service"]);
 * await pub.stop();
 * await ns.stop();
 * await serving;
 * ```
 *
 * @module
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import denoJson from "../deno.json" with { type: "json" };
import { config as sharedConfig, type PosttrollConfig } from "../lib/posttroll/config.ts";
import { Message, MessageError } from "../lib/posttroll/message.ts";
import { PyDateTime } from "../lib/posttroll/pytime.ts";
import { deadline } from "../lib/_util/abort.ts";
import { pyDumps, pyLoads } from "../lib/posttroll/pyjson.ts";
import { getPubAddress } from "../lib/posttroll/nameserver.ts";
import { NoisyPublisher } from "../lib/posttroll/publisher.ts";
import {
  type AddressInfo,
  messageOrigin,
  NSSubscriber,
  Subscriber,
} from "../lib/posttroll/subscriber.ts";
import { MessageMetrics } from "../lib/posttroll/message_metrics.ts";
import {
  type HttpServer,
  MetricsError,
  processRegistry,
  serveMetrics,
} from "../lib/metrics/mod.ts";

const USAGE = `usage: posttroll [-h] [-V] {listen,send,services} ...`;

const HELP = `${USAGE}

See the message flow of a pytroll chain. The POSTTROLL_* configuration (ports, backend and
CURVE keys of secure_zmq) applies to every subcommand.

subcommands:
  listen     print messages as they arrive, following publishers as they come and go
  send       publish one message once the nameserver lists it and subscribers are connected
  services   the nameserver's address book as a table

options:
  -h, --help     show this help message and exit
  -V, --version  show the version and exit`;

const SUB_HELP: Record<string, string> = {
  listen: `usage: posttroll listen [-h] [-s SERVICE] [-t TOPIC] [-a ADDRESS] [--nameserver HOST]
                        [--json] [-n COUNT] [--metrics HOST:PORT] [--timeout SECONDS]

Print messages as they arrive (the posttroll text form, or one JSON object per line).

options:
  -s, --service SERVICE  service to follow (repeatable; default: every service)
  -t, --topic TOPIC      subject prefix (repeatable; default: every subject)
  -a, --address ADDRESS  publisher address such as tcp://host:port (repeatable); without -s,
                         only these publishers are read and no nameserver is asked
  --nameserver HOST      nameserver host (default localhost)
  --json                 one JSON object per line: subject, type, sender, time, version, data,
                         address (the publisher), received
  -n, --count COUNT      exit after COUNT messages
  --metrics HOST:PORT    serve per-subject Prometheus metrics at http://HOST:PORT/metrics
                         (pytroll-messages-prom's metric names)
  --timeout SECONDS      how long to wait for the nameserver at start (default 2)`,
  send: `usage: posttroll send [-h] [--service NAME] [--nameserver HOST] [--wait-subscribers N]
                      [--timeout SECONDS] SUBJECT TYPE [DATA|-]

Publish one message. DATA is JSON text (a JSON string gives a text/ascii message), - reads it
from stdin, and without it the message has no data.

options:
  --service NAME          service name to register (default posttroll_send)
  --nameserver HOST       register directly with this nameserver (default: multicast, or
                          localhost when POSTTROLL_MULTICAST is false)
  --wait-subscribers N    matching subscribers to wait for before sending (default 1)
  --timeout SECONDS       give up (exit 1, nothing sent) after this long (default 10)`,
  services: `usage: posttroll services [-h] [--nameserver HOST] [--json] [--timeout SECONDS]

The nameserver's address book: service, aliases, address, age, message version, backend.

options:
  --nameserver HOST   nameserver host (default localhost)
  --json              the records as the nameserver returns them (a JSON array)
  --timeout SECONDS   how long to wait for the nameserver (default 10)`,
};

/** Where the CLI reads and writes, and what stops it (for in-process use and tests). */
export interface PosttrollCliIo {
  /** Writes text to stdout. @default Deno.stdout */
  out?: (text: string) => Promise<void>;
  /** Writes a line to stderr. @default console.error */
  err?: (line: string) => void;
  /** Reads stdin whole (for `send ... -`). @default Deno.stdin */
  stdin?: () => Promise<string>;
  /** Stops `listen` (besides SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /** Configuration. @default the shared one (POSTTROLL_* variables and files) */
  config?: PosttrollConfig;
  /** Called with the metrics server once it listens (tests read its port). */
  onMetrics?: (server: HttpServer) => void;
}

class UsageError extends Error {}

/** The I/O of a subcommand: defaults filled in. */
type Io = Required<Omit<PosttrollCliIo, "signal" | "onMetrics">> & PosttrollCliIo;

const encoder = new TextEncoder();

async function stdoutWrite(text: string): Promise<void> {
  const bytes = encoder.encode(text);
  let off = 0;
  while (off < bytes.length) off += await Deno.stdout.write(bytes.subarray(off));
}

async function readStdin(): Promise<string> {
  return await new Response(Deno.stdin.readable).text();
}

function number(v: string | undefined, flag: string, fallback: number, min = 0): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n < min) {
    throw new UsageError(`argument ${flag}: expected a number >= ${min}, got '${v}'`);
  }
  return n;
}

function integer(v: string | undefined, flag: string, fallback: number, min = 0): number {
  const n = number(v, flag, fallback, min);
  if (!Number.isInteger(n)) {
    throw new UsageError(`argument ${flag}: expected an integer, got '${v}'`);
  }
  return n;
}

function isMulticastOff(config: PosttrollConfig): boolean {
  const v = config.get("multicast", undefined);
  if (v === undefined || v === null) return false;
  if (typeof v === "boolean") return !v;
  return /^(false|0|no|off)$/i.test(String(v));
}

/** JSON text as Python's `json.dumps(..., default=isoformat)` writes it. */
function dumps(value: unknown): string {
  return pyDumps(value);
}

/**
 * The `--json` line of `listen`: the message's fields, the publisher's address and the receive
 * time, as Python's `json.dumps` writes them (datetimes in ISO format).
 *
 * @param msg the message
 * @param address the publisher's address
 * @param received when it arrived
 * @returns one line of JSON (without the line feed)
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { listenJson } from "./posttroll.ts";
 * import { Message, PyDateTime } from "../lib/posttroll/message.ts";
 * const m = new Message("/a", "info", "hi", { sender: "u@h", time: PyDateTime.fromisoformat("2026-01-01T00:00:00") });
 * const line = listenJson(m, "tcp://10.0.0.1:40000", PyDateTime.fromisoformat("2026-01-01T00:00:01+00:00"));
 * assertEquals(JSON.parse(line).address, "tcp://10.0.0.1:40000");
 * assertEquals(JSON.parse(line).received, "2026-01-01T00:00:01+00:00");
 * ```
 */
export function listenJson(msg: Message, address: string, received: PyDateTime): string {
  return dumps({
    subject: msg.subject,
    type: msg.type,
    sender: msg.sender,
    time: msg.time,
    version: msg.version,
    data: msg.data,
    address,
    received,
  });
}

function age(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
}

/**
 * The `services` table: one row per address record, sorted by service and address, columns
 * padded to their widest cell.
 *
 * @param records address records as the nameserver returns them
 * @param now the time ages are measured from (ms since the epoch)
 * @returns the table, ending in a line feed
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { servicesTable } from "./posttroll.ts";
 * assertEquals(servicesTable([], Date.now()), "SERVICE  ALIASES  ADDRESS  AGE  VERSION  BACKEND\n");
 * ```
 */
export function servicesTable(records: Array<Record<string, unknown>>, now: number): string {
  const rows = records.map((r) => {
    const svc = Array.isArray(r.service) ? r.service.map(String) : [String(r.service ?? "")];
    const t = r.receive_time;
    const at = t instanceof PyDateTime
      ? t.epochMicroseconds() / 1000
      : typeof t === "string"
      ? (PyDateTime.tryFromisoformat(t)?.epochMicroseconds() ?? NaN) / 1000
      : NaN;
    return [
      svc[0] ?? "",
      svc.slice(1).join(",") || "-",
      String(r.URI ?? ""),
      age((now - at) / 1000),
      String(r.supported_message_version ?? "-"),
      String(r.backend ?? "-"),
    ];
  }).sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0);
  const table = [["SERVICE", "ALIASES", "ADDRESS", "AGE", "VERSION", "BACKEND"], ...rows];
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  return table.map((row) =>
    row.map((cell, i) => i === row.length - 1 ? cell : cell.padEnd(widths[i])).join("  ")
  ).join("\n") + "\n";
}

/**
 * The flags of a subcommand that takes no positional arguments (parseArgs rejects any, which
 * becomes a usage error).
 */
function flags<const O extends ParseArgsOptionsConfig>(args: string[], options: O) {
  return parseArgs({ args, options }).values;
}

async function services(args: string[], io: Io): Promise<number> {
  const values = flags(args, {
    nameserver: { type: "string" },
    json: { type: "boolean" },
    timeout: { type: "string" },
  });
  const timeout = number(values.timeout, "--timeout", 10);
  const nameserver = values.nameserver ?? "localhost";
  let records: Array<Record<string, unknown>>;
  try {
    records = await getPubAddress("", { nameserver, timeout, config: io.config });
  } catch (e) {
    io.err(`posttroll services: nameserver ${nameserver}: ${(e as Error).message}`);
    return 1;
  }
  await io.out(values.json ? dumps(records) + "\n" : servicesTable(records, Date.now()));
  return 0;
}

function waitAbort(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

async function listen(args: string[], io: Io): Promise<number> {
  const values = flags(args, {
    service: { type: "string", short: "s", multiple: true },
    topic: { type: "string", short: "t", multiple: true },
    address: { type: "string", short: "a", multiple: true },
    nameserver: { type: "string" },
    json: { type: "boolean" },
    count: { type: "string", short: "n" },
    metrics: { type: "string" },
    timeout: { type: "string" },
  });
  const count = values.count === undefined ? Infinity : integer(values.count, "-n/--count", 0, 1);
  const timeout = number(values.timeout, "--timeout", 2);
  const config = io.config;
  const nameserver = values.nameserver ?? "localhost";
  const topics = values.topic?.length ? values.topic : [""];
  const addresses = values.address ?? [];
  const servicesWanted = values.service ?? [];

  // a wrong --metrics fails before anything else starts
  let server: HttpServer | undefined;
  let metrics: MessageMetrics | undefined;
  if (values.metrics !== undefined) {
    const registry = processRegistry();
    metrics = new MessageMetrics(registry);
    try {
      server = serveMetrics({ listen: values.metrics, registry });
    } catch (e) {
      if (e instanceof MetricsError) {
        io.err(`posttroll listen: ${e.message}`);
        return 2;
      }
      throw e;
    }
    io.onMetrics?.(server);
  }

  const stop = new AbortController();
  const onSignal = () => stop.abort();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  io.signal?.addEventListener("abort", onSignal, { once: true });
  const logger = (level: string, message: string) => {
    if (level === "warning") io.err(`posttroll listen: ${message}`);
  };
  let sub: Subscriber | undefined;
  let ns: NSSubscriber | undefined;
  // every wait below also ends on SIGINT/SIGTERM: looking up a nameserver that is not there
  // takes up to --timeout, and reading waits for the next message
  const stopped = waitAbort(stop.signal);
  try {
    if (addresses.length && !servicesWanted.length) {
      sub = new Subscriber(addresses, { topics, config, logger, keepOrigin: true });
    } else {
      ns = new NSSubscriber({
        services: servicesWanted.length ? servicesWanted : "",
        topics,
        addrListener: true,
        addresses: addresses.length ? addresses : null,
        nameserver,
        timeout,
        config,
        logger,
        keepOrigin: true,
      });
      const started = await Promise.race([ns.start(), stopped.then(() => undefined)]);
      if (!started) return 0; // stopped while looking up; ns.stop() below closes its subscriber
      sub = started;
    }
    let seen = 0;
    const it = sub[Symbol.asyncIterator]();
    while (seen < count) {
      const next = await Promise.race([it.next(), stopped.then(() => undefined)]);
      if (!next || next.done) break;
      const msg = next.value;
      const origin = messageOrigin(msg);
      const receivedAt = origin?.receivedAt ?? Date.now();
      metrics?.observe(msg, receivedAt);
      const line = values.json
        ? listenJson(
          msg,
          origin?.address ?? "",
          PyDateTime.fromEpochMicroseconds(Math.round(receivedAt * 1000)),
        )
        : msg.encode();
      try {
        await io.out(line + "\n");
      } catch (e) {
        if (e instanceof Deno.errors.BrokenPipe) break; // `| head`: the reader is gone
        throw e;
      }
      seen++;
    }
    // the iterator may be parked in next(): closing the subscriber (below) ends it
    return 0;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
    io.signal?.removeEventListener("abort", onSignal);
    await ns?.stop();
    await sub?.close();
    await server?.close();
  }
}

async function send(
  args: string[],
  io: Io,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      service: { type: "string" },
      nameserver: { type: "string" },
      "wait-subscribers": { type: "string" },
      timeout: { type: "string" },
    },
  });
  if (positionals.length < 2) {
    throw new UsageError("the following arguments are required: SUBJECT TYPE");
  }
  if (positionals.length > 3) {
    throw new UsageError(`unrecognized arguments: ${positionals.slice(3).join(" ")}`);
  }
  const [subject, type, dataArg] = positionals;
  const waitSubs = integer(values["wait-subscribers"], "--wait-subscribers", 1);
  const timeout = number(values.timeout, "--timeout", 10);
  const config = io.config;
  let data: unknown = "";
  if (dataArg !== undefined) {
    const text = dataArg === "-" ? await io.stdin() : dataArg;
    try {
      data = pyLoads(text);
    } catch (e) {
      throw new UsageError(
        `DATA is not JSON (${(e as Error).message}); for text, quote it as a JSON string: '"text"'`,
      );
    }
  }
  let msg: Message;
  try {
    msg = new Message(subject, type, data);
  } catch (e) {
    if (e instanceof MessageError) throw new UsageError(e.message);
    throw e;
  }
  const encoded = msg.encode();
  const service = values.service ?? "posttroll_send";
  const direct = values.nameserver ?? (isMulticastOff(config) ? "localhost" : undefined);
  const nameserver = values.nameserver ?? "localhost";
  using limit = deadline(timeout * 1000);
  const expired = limit.signal;
  const errors: string[] = [];
  await using pub = await new NoisyPublisher(service, {
    nameservers: direct ? [direct] : undefined,
    broadcastInterval: 0.5,
    config,
    onError: (e) => {
      if (errors.length < 1) errors.push((e as Error).message ?? String(e));
    },
  }).start();
  const uri = (Message.decode(pub.announcement!).data as { URI: string }).URI;
  const late = (what: string) => {
    io.err(
      `posttroll send: ${what} within ${timeout} s; the message was not sent` +
        (errors.length ? ` (${errors[0]})` : ""),
    );
    return 1;
  };
  // 1. registered: the nameserver lists our address
  while (true) {
    if (expired.aborted) return late(`nameserver ${nameserver} did not list service ${service}`);
    const listed = await getPubAddress(service, {
      nameserver,
      timeout: 1,
      config,
      signal: expired,
    }).catch(() => [] as AddressInfo[]);
    if (listed.some((r) => r.URI === uri)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  // 2. subscribed: enough subscribers whose topics match the message are connected
  while (pub.subscriberCount(encoded) < waitSubs) {
    if (expired.aborted) {
      return late(
        `${pub.subscriberCount(encoded)} of ${waitSubs} subscribers to ${subject} connected`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await pub.send(encoded);
  await pub.flushed();
  await io.out(encoded + "\n");
  return 0;
}

/**
 * Runs the command with `args` (without the program name) and returns the exit code.
 *
 * @param args command-line arguments
 * @param io output, input, stop signal and configuration (for tests)
 * @returns the exit code
 * @example
 * ```ts
 * import { assertEquals, assertStringIncludes } from "@std/assert";
 * import { main } from "./posttroll.ts";
 * let printed = "";
 * const code = await main(["--version"], { out: (t) => Promise.resolve(void (printed += t)) });
 * assertEquals(code, 0);
 * assertStringIncludes(printed, "posttroll (@pytroll-deno/messaging)");
 * ```
 */
export async function main(args: string[], io: PosttrollCliIo = {}): Promise<number> {
  const full = {
    out: io.out ?? stdoutWrite,
    err: io.err ?? ((l: string) => console.error(l)),
    stdin: io.stdin ?? readStdin,
    config: io.config ?? sharedConfig,
    signal: io.signal,
    onMetrics: io.onMetrics,
  };
  const [cmd, ...rest] = args;
  if (cmd === undefined || cmd === "-h" || cmd === "--help") {
    await full.out(HELP + "\n");
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === "-V" || cmd === "--version") {
    await full.out(`posttroll (${denoJson.name}) ${denoJson.version}\n`);
    return 0;
  }
  const run = { listen, send, services }[cmd as "listen" | "send" | "services"];
  if (!Object.hasOwn(SUB_HELP, cmd) || !run) {
    full.err(
      `${USAGE}\nposttroll: error: argument command: invalid choice: '${cmd}' ` +
        `(choose from 'listen', 'send', 'services')`,
    );
    return 2;
  }
  if (rest.includes("-h") || rest.includes("--help")) {
    await full.out(SUB_HELP[cmd] + "\n");
    return 0;
  }
  try {
    return await run(rest, full);
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      full.err(`${SUB_HELP[cmd].split("\n")[0]}\nposttroll ${cmd}: error: ${(e as Error).message}`);
      return 2;
    }
    full.err(`posttroll ${cmd}: ${(e as Error).message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
