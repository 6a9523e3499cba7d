/**
 * Alert handlers that run programs (what LVAlert's `lvalert_listen` did with a config mapping
 * nodes to executables): each alert's payload goes to the command's standard input, the alert's
 * metadata to its environment; exit status 0 means handled. A handlers file (TOML) maps topics or
 * topic globs to commands with a timeout, retries and a concurrency each.
 *
 * ```toml
 * [[handler]]
 * topic = "superevent"            # a topic of the group, or a glob: "*", "cbc_*", "mdc_?"
 * command = ["/opt/pipeline/bin/on-superevent", "--quiet"]   # or one string, split like a shell
 * timeout = 120                   # seconds before the command is killed (default 600)
 * retries = 3                     # calls again after a failure (default 3)
 * concurrency = 1                 # alerts of the topic at once (default 1: in order)
 * ```
 *
 * Environment of each run: the listener's, plus `IGWN_ALERT_TOPIC` (without the group prefix),
 * `IGWN_ALERT_KAFKA_TOPIC`, `IGWN_ALERT_GROUP`, `IGWN_ALERT_ID` (hop's `_id`, a UUID),
 * `IGWN_ALERT_PARTITION`, `IGWN_ALERT_OFFSET`, `IGWN_ALERT_TIMESTAMP` (the broker's, ISO 8601),
 * `IGWN_ALERT_RECEIVED` (the listener's receive time, ISO 8601), `IGWN_ALERT_ATTEMPT` (1, 2, ...).
 *
 * @module
 */
import { parse as parseToml } from "smol-toml";
import { IgwnAlertError, IgwnAlertOptionError } from "./errors.ts";
import { payloadBytes } from "./files.ts";
import type { Alert } from "./listen.ts";

/** One handler: which topics, which command, how patiently. */
export interface AlertHandler {
  /** Topic (without the group prefix) or glob (`*` any characters, `?` one). */
  topic: string;
  /** The program and its arguments. */
  command: string[];
  /** Seconds before a run is killed (SIGTERM, then SIGKILL 5 s later). @default 600 */
  timeout: number;
  /** Calls again after a failed run. @default 3 */
  retries: number;
  /** Alerts of one topic handled at once (1: in order). @default 1 */
  concurrency: number;
}

/**
 * Defaults of {@linkcode AlertHandler} fields.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { HANDLER_DEFAULTS } from "./handlers.ts";
 * assertEquals(HANDLER_DEFAULTS.timeout, 600);
 * ```
 */
export const HANDLER_DEFAULTS: { timeout: number; retries: number; concurrency: number } = {
  timeout: 600,
  retries: 3,
  concurrency: 1,
};

/**
 * A handler run that did not exit 0 (or could not start, or was killed).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { HandlerRunError } from "./handlers.ts";
 * assertEquals(new HandlerRunError("x: exit status 2", 2, false, "").code, 2);
 * ```
 */
export class HandlerRunError extends IgwnAlertError {
  /** Exit code (null when killed by a signal). */
  readonly code: number | null;
  /** Whether it was killed at its timeout. */
  readonly timedOut: boolean;
  /** The end of its standard error. */
  readonly stderr: string;
  /**
   * Creates the error.
   *
   * @param message what happened
   * @param code exit code
   * @param timedOut killed at the timeout
   * @param stderr the end of its standard error
   */
  constructor(message: string, code: number | null, timedOut: boolean, stderr: string) {
    super(message);
    this.name = "HandlerRunError";
    this.code = code;
    this.timedOut = timedOut;
    this.stderr = stderr;
  }
}

/**
 * Splits a command line like a POSIX shell does words: blanks separate, single quotes keep
 * everything, double quotes keep blanks (backslash escapes `"`, `\`, `$`, `` ` ``), a backslash
 * outside quotes keeps the next character. No expansion of any kind.
 *
 * @param line the command line
 * @returns the words
 * @throws IgwnAlertOptionError for an unterminated quote or an empty command
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { splitCommand } from "./handlers.ts";
 * assertEquals(splitCommand(`python3 -c 'print(1)' "a b"`), ["python3", "-c", "print(1)", "a b"]);
 * ```
 */
export function splitCommand(line: string): string[] {
  const words: string[] = [];
  let cur = "";
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new IgwnAlertOptionError(`unterminated ' in command: ${line}`);
      cur += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      while (i < line.length && line[i] !== '"') {
        if (line[i] === "\\" && i + 1 < line.length && `"\\$\``.includes(line[i + 1])) i++;
        cur += line[i++];
      }
      if (i >= line.length) throw new IgwnAlertOptionError(`unterminated " in command: ${line}`);
      inWord = true;
      i++;
    } else if (c === "\\" && i + 1 < line.length) {
      cur += line[i + 1];
      inWord = true;
      i += 2;
    } else if (c === " " || c === "\t" || c === "\n") {
      if (inWord) words.push(cur);
      cur = "";
      inWord = false;
      i++;
    } else {
      cur += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(cur);
  if (words.length === 0) throw new IgwnAlertOptionError("empty command");
  return words;
}

/**
 * Whether a topic matches a handler's topic or glob.
 *
 * @param pattern topic or glob (`*`, `?`)
 * @param topic topic without the group prefix
 * @returns true on a match
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { topicMatches } from "./handlers.ts";
 * assert(topicMatches("cbc_*", "cbc_gstlal"));
 * ```
 */
export function topicMatches(pattern: string, topic: string): boolean {
  if (!/[*?]/.test(pattern)) return pattern === topic;
  const re = new RegExp(
    "^" + pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*").replaceAll("?", ".") +
      "$",
  );
  return re.test(topic);
}

/**
 * The handler for a topic: the first in file order whose topic or glob matches.
 *
 * @param handlers the handlers
 * @param topic topic without the group prefix
 * @returns the handler, or undefined
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { handlerFor } from "./handlers.ts";
 * assertEquals(handlerFor([{ topic: "*", command: ["cat"], timeout: 1, retries: 0, concurrency: 1 }], "x")?.command, ["cat"]);
 * ```
 */
export function handlerFor(handlers: AlertHandler[], topic: string): AlertHandler | undefined {
  return handlers.find((h) => topicMatches(h.topic, topic));
}

/**
 * Reads a handlers file (TOML, `[[handler]]` tables; see the module note).
 *
 * @param text the file's text
 * @param path the file's name, for errors
 * @returns the handlers, in file order
 * @throws IgwnAlertOptionError naming the file, the handler and the field that is wrong
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseHandlers } from "./handlers.ts";
 * assertEquals(parseHandlers('[[handler]]\ntopic = "*"\ncommand = "cat"\n')[0].command, ["cat"]);
 * ```
 */
export function parseHandlers(text: string, path = "handlers file"): AlertHandler[] {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (e) {
    throw new IgwnAlertOptionError(`${path}: not valid TOML: ${(e as Error).message}`);
  }
  const list = doc.handler;
  for (const k of Object.keys(doc)) {
    if (k !== "handler") throw new IgwnAlertOptionError(`${path}: unknown table or key '${k}'`);
  }
  if (!Array.isArray(list) || list.length === 0) {
    throw new IgwnAlertOptionError(`${path}: no [[handler]] tables`);
  }
  return list.map((raw, i) => {
    const at = `${path}: handler ${i + 1}`;
    const h = raw as Record<string, unknown>;
    for (const k of Object.keys(h)) {
      if (!["topic", "command", "timeout", "retries", "concurrency"].includes(k)) {
        throw new IgwnAlertOptionError(`${at}: unknown key '${k}'`);
      }
    }
    if (typeof h.topic !== "string" || h.topic === "" || h.topic.includes(".")) {
      throw new IgwnAlertOptionError(
        `${at}: 'topic' must be a topic or glob without the group prefix, not ${
          JSON.stringify(h.topic)
        }`,
      );
    }
    let command: string[];
    if (typeof h.command === "string") command = splitCommand(h.command);
    else if (
      Array.isArray(h.command) && h.command.length > 0 &&
      h.command.every((w) => typeof w === "string")
    ) command = h.command as string[];
    else {
      throw new IgwnAlertOptionError(`${at}: 'command' must be a string or a list of strings`);
    }
    const num = (k: "timeout" | "retries" | "concurrency", min: number, int: boolean) => {
      const v = h[k] ?? HANDLER_DEFAULTS[k];
      if (
        typeof v !== "number" || !Number.isFinite(v) || v < min || (int && !Number.isInteger(v))
      ) {
        throw new IgwnAlertOptionError(
          `${at}: '${k}' must be ${int ? "an integer" : "a number"} >= ${min}, not ${
            JSON.stringify(v)
          }`,
        );
      }
      return v;
    };
    return {
      topic: h.topic,
      command,
      timeout: num("timeout", 0.001, false),
      retries: num("retries", 0, true),
      concurrency: num("concurrency", 1, true),
    };
  });
}

/**
 * The environment variables a handler run gets for an alert (see the module note).
 *
 * @param alert the alert
 * @param group the GraceDB group
 * @param received when the listener received it (ms since the epoch)
 * @param attempt which run this is (1 for the first)
 * @returns the variables
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { alertEnvironment } from "./handlers.ts";
 * import { JSONBlob } from "../hop/models.ts";
 * const alert = {
 *   topic: "superevent",
 *   kafkaTopic: "gracedb.superevent",
 *   payload: "{\"uid\": \"S1\"}",
 *   model: new JSONBlob("{\"uid\": \"S1\"}"),
 *   hop: { id: "6f0c0f8e-0000-4000-8000-000000000001", test: false },
 *   partition: 0,
 *   offset: "7",
 *   timestamp: 0,
 * };
 * const env = alertEnvironment(alert, "gracedb", Date.now(), 1);
 * assertEquals([env.IGWN_ALERT_TOPIC, env.IGWN_ALERT_OFFSET], ["superevent", "7"]);
 * ```
 */
export function alertEnvironment(
  alert: Alert,
  group: string,
  received: number,
  attempt: number,
): Record<string, string> {
  return {
    IGWN_ALERT_TOPIC: alert.topic,
    IGWN_ALERT_KAFKA_TOPIC: alert.kafkaTopic,
    IGWN_ALERT_GROUP: group,
    IGWN_ALERT_ID: alert.hop.id ?? "",
    IGWN_ALERT_PARTITION: String(alert.partition),
    IGWN_ALERT_OFFSET: alert.offset,
    IGWN_ALERT_TIMESTAMP: new Date(alert.timestamp).toISOString(),
    IGWN_ALERT_RECEIVED: new Date(received).toISOString(),
    IGWN_ALERT_ATTEMPT: String(attempt),
  };
}

/** Bytes of a run's standard error kept for the error message. */
const STDERR_TAIL = 4096;

/**
 * Runs a handler's command for one alert: the payload on standard input, the alert's metadata in
 * the environment (see the module note). Killed (SIGTERM, SIGKILL 5 s later) at the timeout or
 * when `signal` aborts.
 *
 * @param handler the handler
 * @param alert the alert
 * @param env the alert's environment variables
 * @param signal stops the run
 * @returns when the command exited 0
 * @throws HandlerRunError for another exit status, a kill, a timeout or a command that cannot
 *   start
 * @example
 * ```ts
 * import { assertRejects } from "@std/assert";
 * import { HandlerRunError, runHandler } from "./handlers.ts";
 * import { JSONBlob } from "../hop/models.ts";
 * const alert = {
 *   topic: "superevent",
 *   kafkaTopic: "gracedb.superevent",
 *   payload: "{\"uid\": \"S1\"}",
 *   model: new JSONBlob("{\"uid\": \"S1\"}"),
 *   hop: { id: "6f0c0f8e-0000-4000-8000-000000000001", test: false },
 *   partition: 0,
 *   offset: "7",
 *   timestamp: 0,
 * };
 * const handler = { topic: "*", command: ["true"], timeout: 10, retries: 0, concurrency: 1 };
 * await runHandler(handler, alert, {}); // exit 0: done
 * await assertRejects(() => runHandler({ ...handler, command: ["false"] }, alert, {}), HandlerRunError);
 * ```
 */
export async function runHandler(
  handler: AlertHandler,
  alert: Alert,
  env: Record<string, string>,
  signal?: AbortSignal,
): Promise<void> {
  const [cmd, ...args] = handler.command;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(cmd, {
      args,
      env,
      stdin: "piped",
      stdout: "inherit",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    throw new HandlerRunError(`cannot start ${cmd}: ${(e as Error).message}`, null, false, "");
  }
  let timedOut = false;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const kill = () => {
    try {
      child.kill("SIGTERM");
    } catch { /* exited */ }
    killTimer ??= setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
    }, 5000);
  };
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, handler.timeout * 1000);
  signal?.addEventListener("abort", kill, { once: true });
  // standard error: the last few KiB, for the error message
  let tail = new Uint8Array(0);
  const reading = (async () => {
    for await (const chunk of child.stderr) {
      const joined = new Uint8Array(tail.length + chunk.length);
      joined.set(tail);
      joined.set(chunk, tail.length);
      tail = joined.length > STDERR_TAIL ? joined.slice(joined.length - STDERR_TAIL) : joined;
    }
  })().catch(() => {});
  // standard input: the payload; a command that does not read it is not an error
  const writing = (async () => {
    const w = child.stdin.getWriter();
    try {
      await w.write(payloadBytes(alert));
      await w.close();
    } catch { /* the command closed its input */ }
  })();
  let status: Deno.CommandStatus;
  try {
    status = await child.status;
  } finally {
    clearTimeout(timer);
    clearTimeout(killTimer);
    signal?.removeEventListener("abort", kill);
  }
  await writing;
  await reading;
  const stderr = new TextDecoder().decode(tail).trim();
  if (status.success) return;
  const what = timedOut
    ? `killed after its ${handler.timeout} s timeout`
    : status.signal
    ? `killed by ${status.signal}`
    : `exit status ${status.code}`;
  throw new HandlerRunError(
    `${handler.command.join(" ")}: ${what}${
      stderr ? `: ${stderr.split("\n").slice(-3).join(" | ")}` : ""
    }`,
    status.signal ? null : status.code,
    timedOut,
    stderr,
  );
}
