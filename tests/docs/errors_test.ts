// Every error class any entry of the deno.json exports map exports belongs to one error family:
// the package whose folder defines it (lib/<package>/), wherever it is re-exported (igwn-alert
// and the bridge re-export the Kafka layer's and hop's errors, which stay theirs). Family rule:
// - it extends its package's base (ZmqError, PosttrollError, HopError, KafkaError,
//   IgwnAlertError, BridgeError, MetricsError), which has a boolean `retriable`;
// - except a package's option error (`<Package>OptionError`), a TypeError like a built-in
//   argument check (callers catch it as TypeError), and the two shared internals whose one
//   error is its own base: lib/pyjson's PyJsonError (a SyntaxError, as parsers throw) and
//   lib/_util's MissingPermissionError;
// - and it sets its own `name` (not the one it inherits).
import { assert, assertEquals } from "@std/assert";
import { MetricsError } from "../../lib/metrics/errors.ts";
import { BridgeError } from "../../lib/bridge/errors.ts";
import { HopError } from "../../lib/hop/errors.ts";
import { IgwnAlertError } from "../../lib/igwn_alert/errors.ts";
import { KafkaError } from "../../lib/kafka/errors.ts";
import { PosttrollError } from "../../lib/posttroll/errors.ts";
import { ZmqError } from "../../lib/zmq/errors.ts";

const ROOT = new URL("../../", import.meta.url);

type ErrorClass = new (...args: unknown[]) => Error;

const BASES: Record<string, ErrorClass> = {
  zmq: ZmqError as ErrorClass,
  posttroll: PosttrollError as ErrorClass,
  hop: HopError as ErrorClass,
  kafka: KafkaError as ErrorClass,
  igwn_alert: IgwnAlertError as ErrorClass,
  bridge: BridgeError as ErrorClass,
  metrics: MetricsError as ErrorClass,
};
/** Shared internals with one error class each, its own base. */
const OWN_BASES: Record<string, string> = {
  pyjson: "PyJsonError",
  _util: "MissingPermissionError",
};
/** The option errors: TypeErrors, one per package at most. */
const OPTION_ERRORS: Record<string, string> = {
  kafka: "KafkaOptionError",
  igwn_alert: "IgwnAlertOptionError",
  bridge: "BridgeOptionError",
};

/** Class name -> package folder, from the `export class X extends` lines under lib/. */
async function definitions(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const pkg of Deno.readDir(new URL("lib/", ROOT))) {
    if (!pkg.isDirectory) continue;
    for await (const f of Deno.readDir(new URL(`lib/${pkg.name}/`, ROOT))) {
      if (!f.name.endsWith(".ts")) continue;
      const text = await Deno.readTextFile(new URL(`lib/${pkg.name}/${f.name}`, ROOT));
      for (const m of text.matchAll(/^export class (\w+) extends /gm)) {
        assert(!out.has(m[1]), `${m[1]} is defined twice`);
        out.set(m[1], pkg.name);
      }
    }
  }
  return out;
}

/** Every error class each exports-map entry exports, with the entry's name. */
async function exportedErrors(): Promise<Array<{ entry: string; name: string; cls: ErrorClass }>> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const out: Array<{ entry: string; name: string; cls: ErrorClass }> = [];
  for (const [entry, path] of Object.entries(config.exports as Record<string, string>)) {
    const mod = await import(new URL(path, ROOT).href);
    for (const [name, value] of Object.entries(mod)) {
      if (typeof value === "function" && value.prototype instanceof Error) {
        out.push({ entry, name, cls: value as ErrorClass });
      }
    }
  }
  return out;
}

Deno.test("every exported error extends its package's base, sets its name and says whether it is retriable", async () => {
  const defined = await definitions();
  const errors = await exportedErrors();
  assert(errors.length > 40, `only ${errors.length} exported errors found`);
  const problems: string[] = [];
  for (const { entry, name, cls } of errors) {
    const where = `${entry} ${name}`;
    if (cls.name !== name) problems.push(`${where}: exported under another name than ${cls.name}`);
    const pkg = defined.get(cls.name);
    if (!pkg) {
      problems.push(`${where}: not defined by an \`export class\` under lib/`);
      continue;
    }
    // every constructor of ours takes (message or a value naming the subject, ...); strings do
    const e: Error = new cls("x", "x", "x");
    const parent = Object.getPrototypeOf(cls.prototype) as Error;
    if (e.name === parent.name || e.name === "Error") {
      problems.push(`${where}: does not set its own name (${e.name})`);
    }
    const base = BASES[pkg];
    if (base) {
      if (e instanceof base) {
        const retriable = (e as Error & { retriable?: unknown }).retriable;
        if (typeof retriable !== "boolean") problems.push(`${where}: retriable is ${retriable}`);
        continue;
      }
      if (OPTION_ERRORS[pkg] === cls.name && (e as unknown) instanceof TypeError) continue;
      problems.push(`${where}: defined in lib/${pkg}/ but does not extend ${base.name}`);
    } else if (OWN_BASES[pkg] !== cls.name) {
      problems.push(`${where}: lib/${pkg}/ has no error family (add its base to this test)`);
    }
  }
  assertEquals(problems, []);
});

Deno.test("retriable marks the transient failures", async () => {
  const { NameserverTimeoutError, QueueEmptyError, SocketTimeoutError, MessageError, ConfigError } =
    await import("../../lib/posttroll/errors.ts");
  const { BrokerConnectionError, UnknownTopicError } = await import("../../lib/kafka/errors.ts");
  for (
    const e of [new NameserverTimeoutError(1), new QueueEmptyError(1), new SocketTimeoutError(1)]
  ) {
    assertEquals(e.retriable, true, e.name);
  }
  assertEquals(new BrokerConnectionError("h:9092", "refused").retriable, true);
  assertEquals(
    new BrokerConnectionError("h:9092", "TLS", { retriable: false }).retriable,
    false,
  );
  for (const e of [new MessageError("x"), new ConfigError("x"), new UnknownTopicError("t")]) {
    assertEquals(e.retriable, false, e.name);
  }
});
