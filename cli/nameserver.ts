/**
 * `nameserver`: the PostTroll nameserver, like Python posttroll's `nameserver` script.
 *
 * ```
 * nameserver [-l FILE] [-v] [--no-multicast] [-L] [--bind HOST] [--max-age SECONDS]
 *            [--no-direct] [-d {start,stop,status,restart}] [--pid-file FILE]
 *            [--metrics HOST:PORT] [--rates-from URL]
 * ```
 *
 * - Ports, group and backend come from the posttroll configuration (`POSTTROLL_NAMESERVER_PORT`,
 *   `POSTTROLL_BROADCAST_PORT`, `POSTTROLL_ADDRESS_PUBLISH_PORT`, `POSTTROLL_MC_GROUP`,
 *   `POSTTROLL_MULTICAST_INTERFACE`, config files...), as in posttroll.
 * - Multicast: on by default, as in posttroll. `--no-multicast` (or `POSTTROLL_MULTICAST=False`)
 *   receives direct registrations only (REP on TCP `broadcast_port`), which works in containers
 *   and networks without multicast. With multicast on, direct registrations are accepted as well
 *   (beyond posttroll; `--no-direct` turns that off), and when the multicast socket cannot be set
 *   up (no multicast-capable interface) the nameserver carries on with direct registration only;
 *   when the TCP registration port is taken (e.g. by another nameserver) it carries on with
 *   multicast only, as posttroll would.
 * - It listens on every address, IPv4 and IPv6 (`getPubAddress(..., nameserver: "::1")`);
 *   `--bind ADDRESS` puts every TCP port (requests, address notices, direct registrations) on one
 *   address, `--bind ::` on IPv6 (and IPv4 where the kernel maps it).
 * - Logs go to stdout (for journald) or, with `-l FILE`, are appended to FILE, rotated at midnight
 *   (7 old files kept, `FILE.YYYY-MM-DD`), like posttroll.
 * - SIGTERM/SIGINT: clean exit (code 0) within a second.
 * - `-d start|stop|status|restart` runs it in the background with a pid file (default
 *   `$XDG_RUNTIME_DIR/posttroll-nameserver.pid`, else `/tmp/posttroll-nameserver-<uid>.pid`), for
 *   hosts without systemd. `status` exits like an LSB init script: 0 running, 1 dead but the pid
 *   file exists, 3 not running. `stop` exits 0 when it is stopped (also when it was not running).
 * - `--metrics HOST:PORT` (beyond posttroll) serves Prometheus metrics at `/metrics` (registered
 *   services and addresses, look-ups, announcements by multicast and direct, expiries, refused
 *   clients; `lib/posttroll/nameserver_metrics.ts`) and a live web view of the address book at
 *   `/`. `--rates-from URL` adds a per-subject message rate chart to it, scraped from the
 *   `/metrics` of a `posttroll listen --metrics` instance (or pytroll-messages-prom).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { main } from "./nameserver.ts";
 * assertEquals(await main(["--version"]), 0); // prints the version
 * // `await main(["--no-multicast", "-v"])` serves until SIGTERM/SIGINT, then returns 0
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { config, ConfigError } from "../lib/posttroll/config.ts";
import {
  combineEvents,
  NameServer,
  type NameServerEvents,
  nameServerMetrics,
} from "../lib/posttroll/nameserver.ts";
// --metrics only: the web view and the metrics server load when asked for (an idle nameserver
// without them is 0.4 MiB smaller: bench/README.md "Session 7 (ptmem)")
import type { NameServerWebView } from "../lib/posttroll/web_view.ts";
import type { HttpServer } from "../lib/metrics/mod.ts";
import { limitedLog } from "../lib/_util/log_limit.ts";
import denoJson from "../deno.json" with { type: "json" };
import { binary, denoFlags } from "./binaries.ts";

const USAGE = `usage: nameserver [-h] [-V] [-l LOG] [-v] [--no-multicast] [-L] [--no-direct]
                  [--bind HOST] [--max-age SECONDS] [-d {start,stop,status,restart}]
                  [--pid-file FILE] [--metrics HOST:PORT] [--rates-from URL]

PostTroll nameserver: collects publisher addresses (multicast announcements or direct
registrations) and answers address requests. Ports and multicast group come from the posttroll
configuration (POSTTROLL_* environment variables, config files).

options:
  -h, --help            show this help message and exit
  -V, --version         show the version and exit
  -l, --log LOG         File to log to (defaults to stdout); rotated at midnight, 7 kept
  -v, --verbose         print debug messages too
  --no-multicast        disable multicasting (direct registration only; also
                        POSTTROLL_MULTICAST=False)
  -L, --local-only      accept connections only from localhost
  --no-direct           with multicast on, do not also accept direct registrations
  --bind HOST           address for all TCP ports (default *: every address, IPv4
                        and IPv6; :: for IPv6 and mapped IPv4)
  --max-age SECONDS     forget publishers not heard from for this long (default 600)
  -d, --daemon {start,stop,status,restart}
                        run in the background / control the background nameserver
                        (status exits 0 running, 1 dead with pid file, 3 not running)
  --pid-file FILE       pid file for --daemon
  --metrics HOST:PORT   serve Prometheus metrics at http://HOST:PORT/metrics and a live
                        view of the registered services at http://HOST:PORT/ (:PORT: every
                        IPv4 interface)
  --rates-from URL      with --metrics: chart messages per second by subject, scraped from
                        this /metrics URL of a \`posttroll listen --metrics\` instance
`;

type Level = "debug" | "info" | "warning" | "error";
const LEVEL_NAMES: Record<Level, string> = {
  debug: "DEBUG",
  info: "INFO",
  warning: "WARNING",
  error: "ERROR",
};

function stamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${
    p(d.getMinutes())
  }:${p(d.getSeconds())}`;
}

function day(d = new Date()): string {
  return stamp(d).slice(0, 10);
}

/** Appends log lines to a file, rotating it at midnight and keeping 7 old files. */
class RotatingFile {
  #day = day();
  /**
   * @param path the log file
   * @throws {ConfigError} when the file cannot be opened for appending (missing directory, no
   *   permission): a log that goes nowhere is found out at start-up, not at the first line
   */
  constructor(readonly path: string) {
    try {
      Deno.openSync(path, { append: true, create: true }).close();
    } catch (e) {
      throw new ConfigError(
        `cannot write the log file ${path} (-l/--log): ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
    try {
      this.#day = day(Deno.statSync(path).mtime ?? new Date());
    } catch { /* new file */ }
  }

  write(line: string): void {
    const today = day();
    if (today !== this.#day) {
      try {
        Deno.renameSync(this.path, `${this.path}.${this.#day}`);
      } catch { /* nothing to rotate */ }
      this.#prune();
      this.#day = today;
    }
    Deno.writeTextFileSync(this.path, line + "\n", { append: true });
  }

  #prune(): void {
    const slash = this.path.lastIndexOf("/");
    const dir = slash >= 0 ? this.path.slice(0, slash) || "/" : ".";
    const base = this.path.slice(slash + 1);
    const old = [...Deno.readDirSync(dir)]
      .map((e) => e.name)
      .filter((n) => n.startsWith(base + ".") && /\.\d{4}-\d{2}-\d{2}$/.test(n))
      .sort();
    for (const n of old.slice(0, Math.max(0, old.length - 7))) {
      try {
        Deno.removeSync(`${dir}/${n}`);
      } catch { /* gone */ }
    }
  }
}

function makeLogger(verbose: boolean, file?: string) {
  const sink = file ? new RotatingFile(file) : undefined;
  let sinkFailed = false;
  return (level: Level, message: string, name = "posttroll.nameserver") => {
    if (level === "debug" && !verbose) return;
    const line = `[${LEVEL_NAMES[level]}: ${stamp()} : ${name}] ${message}`;
    if (sink) {
      try {
        sink.write(line);
        sinkFailed = false;
        return;
      } catch (e) {
        // disk full, file removed with its directory...: to stdout until the file works again
        if (!sinkFailed) {
          console.error(
            `nameserver: cannot write ${sink.path} (${(e as Error).message}); logging to stdout`,
          );
        }
        sinkFailed = true;
      }
    }
    console.log(line);
  };
}

function defaultPidFile(): string {
  let runtime: string | undefined;
  try {
    runtime = Deno.env.get("XDG_RUNTIME_DIR");
  } catch { /* no env access */ }
  if (runtime) return `${runtime}/posttroll-nameserver.pid`;
  let uid: number | null = null;
  try {
    uid = Deno.uid();
  } catch { /* no sys access */ }
  return `/tmp/posttroll-nameserver-${uid ?? "user"}.pid`;
}

function readPid(pidFile: string): number | undefined {
  try {
    const pid = Number(Deno.readTextFileSync(pidFile).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  // SIGCONT is harmless to a running process and fails with ESRCH for a missing one (reading
  // /proc/<pid> would need --allow-all under Deno)
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !alive(pid);
}

/** Command line that re-runs this program (deno run ... or the compiled binary). */
function selfCommand(): { cmd: string; args: string[] } {
  const exec = Deno.execPath();
  const base = exec.slice(exec.lastIndexOf("/") + 1);
  if (base === "deno" || base === "deno.exe") {
    const script = new URL(import.meta.url).pathname;
    return {
      cmd: exec,
      args: ["run", ...denoFlags(binary("nameserver")), "--no-prompt", script],
    };
  }
  return { cmd: exec, args: [] };
}

async function daemonStart(pidFile: string, childArgs: string[]): Promise<number> {
  const existing = readPid(pidFile);
  if (existing && alive(existing)) {
    console.log(`nameserver is already running (pid ${existing})`);
    return 0;
  }
  const { cmd, args } = selfCommand();
  const child = new Deno.Command(cmd, {
    args: [...args, ...childArgs, "--pid-file", pidFile],
    stdin: "null",
    stdout: "null",
    stderr: "null",
    detached: true,
  }).spawn();
  Deno.writeTextFileSync(pidFile, `${child.pid}\n`);
  child.unref();
  // give it a moment to fail at start-up (port in use...)
  await new Promise((r) => setTimeout(r, 300));
  if (!alive(child.pid)) {
    try {
      Deno.removeSync(pidFile);
    } catch { /* gone */ }
    console.error("nameserver failed to start (run it in the foreground to see why)");
    return 1;
  }
  console.log(`nameserver started (pid ${child.pid}, pid file ${pidFile})`);
  return 0;
}

async function daemonStop(pidFile: string): Promise<number> {
  const pid = readPid(pidFile);
  if (!pid || !alive(pid)) {
    try {
      Deno.removeSync(pidFile);
    } catch { /* none */ }
    console.log("nameserver is not running");
    return 0;
  }
  Deno.kill(pid, "SIGTERM");
  if (!await waitGone(pid, 5000)) {
    Deno.kill(pid, "SIGKILL");
    await waitGone(pid, 2000);
  }
  try {
    Deno.removeSync(pidFile);
  } catch { /* removed by the nameserver */ }
  console.log(`nameserver stopped (pid ${pid})`);
  return 0;
}

function daemonStatus(pidFile: string): number {
  const pid = readPid(pidFile);
  if (pid && alive(pid)) {
    console.log(`nameserver is running (pid ${pid})`);
    return 0;
  }
  if (pid) {
    console.log(`nameserver is dead but the pid file ${pidFile} exists`);
    return 1;
  }
  console.log("nameserver is not running");
  return 3;
}

/** In the background, logs go to `-l FILE`, else next to the pid file (`*.log`). */
function withLog(args: string[], log: string | undefined, pidFile: string): string[] {
  if (log) return args;
  return [...args, "-l", pidFile.replace(/\.pid$/, "") + ".log"];
}

function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "";
  }
}

function envMulticast(): boolean | undefined {
  const v = config.get("multicast", undefined);
  if (v === undefined || v === null) return undefined;
  if (typeof v === "boolean") return v;
  return !/^(false|0|no|off)$/i.test(String(v));
}

/**
 * Runs the command with `args` (without the program name) and returns the exit code.
 *
 * @param args command-line arguments
 * @returns the exit code
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { main } from "./nameserver.ts";
 * assert((await main(["--version"])) === 0);
 * ```
 */
export async function main(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "V" },
        log: { type: "string", short: "l" },
        verbose: { type: "boolean", short: "v" },
        "no-multicast": { type: "boolean" },
        multicast: { type: "boolean" },
        "local-only": { type: "boolean", short: "L" },
        "no-direct": { type: "boolean" },
        bind: { type: "string" },
        "max-age": { type: "string" },
        daemon: { type: "string", short: "d" },
        "pid-file": { type: "string" },
        metrics: { type: "string" },
        "rates-from": { type: "string" },
      },
    }));
  } catch (e) {
    console.error(`${USAGE.split("\n")[0]}\nnameserver: error: ${(e as Error).message}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.version) {
    console.log(`nameserver (${denoJson.name}) ${denoJson.version}`);
    return 0;
  }
  const maxAge = values["max-age"] === undefined ? 600 : Number(values["max-age"]);
  if (!Number.isFinite(maxAge) || maxAge <= 0) {
    console.error(`nameserver: error: --max-age must be a positive number of seconds`);
    return 2;
  }
  if (values["rates-from"] !== undefined) {
    if (values.metrics === undefined) {
      console.error(`nameserver: error: --rates-from needs --metrics HOST:PORT (the web view)`);
      return 2;
    }
    if (!URL.canParse(values["rates-from"]) || !/^https?:/.test(values["rates-from"])) {
      console.error(
        `nameserver: error: --rates-from: expected an http:// URL, got '${values["rates-from"]}'`,
      );
      return 2;
    }
  }
  if (values.daemon !== undefined) {
    const pidFile = values["pid-file"] ?? defaultPidFile();
    const childArgs = args.filter((a, i) => {
      if (a === "-d" || a === "--daemon" || a === "--pid-file") return false;
      const prev = args[i - 1];
      if (prev === "-d" || prev === "--daemon" || prev === "--pid-file") return false;
      return !a.startsWith("--daemon=") && !a.startsWith("--pid-file=") && !/^-d./.test(a);
    });
    switch (values.daemon) {
      case "start":
        return await daemonStart(pidFile, withLog(childArgs, values.log, pidFile));
      case "stop":
        return await daemonStop(pidFile);
      case "status":
        return daemonStatus(pidFile);
      case "restart":
        await daemonStop(pidFile);
        return await daemonStart(pidFile, withLog(childArgs, values.log, pidFile));
      default:
        console.error(
          `nameserver: error: argument -d/--daemon: invalid choice: '${values.daemon}' ` +
            `(choose from 'start', 'stop', 'status', 'restart')`,
        );
        return 2;
    }
  }

  let log: ReturnType<typeof makeLogger>;
  try {
    // every typed setting is checked before anything starts: a wrong one is an error naming it
    config.validate();
    log = makeLogger(values.verbose ?? false, values.log);
  } catch (e) {
    console.error(`nameserver: error: ${(e as Error).message}`);
    return 1;
  }
  let multicast = !values["no-multicast"];
  if (!values["no-multicast"] && !values.multicast) multicast = envMulticast() ?? true;
  const direct = !multicast || !values["no-direct"];
  const pidFile = values["pid-file"];

  let ns: NameServer | undefined;
  // --metrics: the registry, the web view and the HTTP server exist only when asked for
  let http: HttpServer | undefined;
  let view: NameServerWebView | undefined;
  let events: NameServerEvents | undefined;
  if (values.metrics !== undefined) {
    const [{ NameServerWebView }, { MetricsError, processRegistry, serveMetrics }] = await Promise
      .all([import("../lib/posttroll/web_view.ts"), import("../lib/metrics/mod.ts")]);
    const registry = processRegistry();
    view = new NameServerWebView({
      book: () => ns?.addressReceiver?.book,
      maxAge,
      title: `posttroll nameserver ${hostname()}`,
      ratesFrom: values["rates-from"],
      logger: log,
    });
    events = combineEvents(nameServerMetrics(registry, () => ns?.addressReceiver?.book), view);
    try {
      http = serveMetrics({
        listen: values.metrics,
        registry,
        routes: view.routes(),
        headers: { "X-Frame-Options": "DENY" },
      });
    } catch (e) {
      view.close();
      if (e instanceof MetricsError) {
        console.error(`nameserver: error: ${e.message}`);
        return 2;
      }
      throw e;
    }
    log("info", `Metrics and web view on ${http.url}`);
  }
  let stopping = false;
  let guard: ReturnType<typeof setTimeout> | undefined;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    log("info", "Stopping the nameserver");
    ns?.stop();
    // never hang on the way out
    guard = setTimeout(() => Deno.exit(0), 900);
  };
  const signals: Deno.Signal[] = ["SIGTERM", "SIGINT"];
  for (const s of signals) Deno.addSignalListener(s, stop);
  // last line of defence: every loop that reads from the network handles its own errors, so
  // this only catches what slipped through; it is logged (once a minute per kind) and the
  // nameserver goes on serving rather than letting one input end it
  const stray = limitedLog(log);
  const onStray = (e: PromiseRejectionEvent | ErrorEvent) => {
    e.preventDefault();
    const err = ("reason" in e ? e.reason : e.error) as Error | undefined;
    stray(`stray ${err?.name}`, "error", `unexpected error, still serving: ${err?.stack ?? err}`);
  };
  globalThis.addEventListener("unhandledrejection", onStray);
  globalThis.addEventListener("error", onStray);
  try {
    const start = async (mc: boolean, withDirect: boolean) => {
      ns = new NameServer({
        maxAge,
        multicastEnabled: mc,
        directRegistration: mc ? withDirect : true,
        restrictToLocalhost: values["local-only"] ?? false,
        config,
        logger: log,
        events,
      });
      const running = ns.run(undefined, values.bind);
      try {
        return { running, endpoints: await ns.ready };
      } catch (e) {
        await running.catch(() => {});
        throw e;
      }
    };
    let running: Promise<void>;
    let endpoints: string[];
    let mcOn = multicast;
    let directOn = direct;
    try {
      ({ running, endpoints } = await start(mcOn, directOn));
    } catch (e) {
      const err = e as Error;
      const bport = config.broadcastPort();
      if (mcOn && err.name === "MulticastError") {
        // no multicast-capable interface (containers...): direct registration only
        log("warning", `Multicast unavailable (${err.message}); using direct registration only`);
        mcOn = false;
        directOn = true;
      } else if (
        mcOn && directOn && !values["no-direct"] && err.message.includes(`:${bport}`)
      ) {
        // the TCP registration port is taken (another nameserver?): multicast only, like posttroll
        log("warning", `Direct registration unavailable (${err.message}); multicast only`);
        directOn = false;
      } else throw e;
      ({ running, endpoints } = await start(mcOn, directOn));
    }
    if (pidFile) Deno.writeTextFileSync(pidFile, `${Deno.pid}\n`);
    log(
      "info",
      `Nameserver ready (multicast ${mcOn ? "on" : "off"}, direct registration ${
        directOn ? "on" : "off"
      }, ${endpoints.join(", ")})`,
    );
    if (stopping) ns?.stop();
    await running;
    return 0;
  } catch (e) {
    if (e instanceof ConfigError) {
      // a wrong setting found while starting (allow list, key files): name it, no stack trace
      console.error(`nameserver: error: ${e.message}`);
      log("error", `Cannot start: ${e.message}`);
    } else log("error", `Something wrong happened... ${(e as Error).stack ?? e}`);
    return 1;
  } finally {
    if (guard !== undefined) clearTimeout(guard);
    view?.close();
    await http?.close();
    for (const s of signals) Deno.removeSignalListener(s, stop);
    globalThis.removeEventListener("unhandledrejection", onStray);
    globalThis.removeEventListener("error", onStray);
    if (pidFile && readPid(pidFile) === Deno.pid) {
      try {
        Deno.removeSync(pidFile);
      } catch { /* gone */ }
    }
    console.log("Thanks for using pytroll/nameserver. See you soon on www.pytroll.org!");
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
