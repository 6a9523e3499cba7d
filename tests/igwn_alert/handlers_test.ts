// Alert handlers that run programs (`igwn-alert listen --exec/--handlers/--dead-letter/
// --output-dir`) against a real broker: 500 alerts on two topics through a handler that fails
// every 7th alert once and hangs once (each alert handled exactly once, in order per topic, the
// hung run killed and repeated, nothing dead-lettered); a handler that always fails (alerts kept
// in the dead-letter directory, listening goes on); the broker SIGKILLed and restarted while
// handlers run (nothing lost); the handlers file; the helpers alone.
import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { type KafkaBroker, startKafka } from "../../testing/kafka.ts";
import { plainCluster } from "../../testing/kafka_records.ts";
import { withAdmin } from "../../lib/kafka/admin.ts";
import { main } from "../../cli/igwn_alert.ts";
import { IgwnAlertClient } from "../../lib/igwn_alert/mod.ts";
import { parseHandlers, splitCommand, topicMatches } from "../../lib/igwn_alert/handlers.ts";
import { alertFileName } from "../../lib/igwn_alert/files.ts";
import { IgwnAlertOptionError } from "../../lib/igwn_alert/errors.ts";
import { createTopics } from "./_helpers.ts";

/**
 * The test handler (bash): reads the alert, finds `"n": N` in it, appends
 * `<topic> <n> <attempt>` to `$STATE/runs`, and:
 * - with "fail" as third argument: always fails (exit 5); with "slow": takes 0.2 s, succeeds;
 * - fails once (exit 3, a marker file remembers it) for every N divisible by 7;
 * - hangs once (sleeps 600 s) for N = HANG on topic alpha;
 * - otherwise appends N to `$STATE/handled.<topic>` and exits 0.
 */
const HANDLER = `#!/bin/bash
set -u
STATE="$1"; HANG="$2"; MODE="\${3:-normal}"
payload=$(cat)
n=$(printf '%s' "$payload" | sed -E 's/.*"n": ?([0-9]+).*/\\1/')
echo "$IGWN_ALERT_TOPIC $n $IGWN_ALERT_ATTEMPT $IGWN_ALERT_ID $IGWN_ALERT_OFFSET" >> "$STATE/runs"
if [ "$MODE" = "fail" ]; then echo "always failing on $n" >&2; exit 5; fi
if [ "$MODE" = "slow" ]; then sleep 0.2; echo "$n" >> "$STATE/handled.$IGWN_ALERT_TOPIC"; exit 0; fi
if [ $((n % 7)) -eq 0 ] && [ ! -e "$STATE/failed.$IGWN_ALERT_TOPIC.$n" ]; then
  touch "$STATE/failed.$IGWN_ALERT_TOPIC.$n"; echo "failing $n once" >&2; exit 3
fi
if [ "$n" = "$HANG" ] && [ "$IGWN_ALERT_TOPIC" = alpha ] && [ ! -e "$STATE/hung" ]; then
  touch "$STATE/hung"; exec sleep 600
fi
echo "$n" >> "$STATE/handled.$IGWN_ALERT_TOPIC"
`;

async function lines(path: string): Promise<string[]> {
  try {
    return (await Deno.readTextFile(path)).split("\n").filter((l) => l !== "");
  } catch {
    return [];
  }
}

Deno.test("handlers: command splitting, topic globs, handlers file errors, file names", () => {
  assertEquals(splitCommand(`a 'b c' "d \\"e\\"" f\\ g`), ["a", "b c", 'd "e"', "f g"]);
  assertThrows(() => splitCommand("a 'b"), IgwnAlertOptionError, "unterminated");
  assertThrows(() => splitCommand("   "), IgwnAlertOptionError, "empty command");
  assert(topicMatches("*", "superevent"));
  assert(topicMatches("cbc_*", "cbc_gstlal"));
  assert(!topicMatches("cbc_*", "burst_cwb"));
  assert(topicMatches("mdc_?", "mdc_1"));
  assert(!topicMatches("a.b", "axb"));
  const hs = parseHandlers(
    `[[handler]]\ntopic = "superevent"\ncommand = ["/bin/x", "--y"]\ntimeout = 2.5\n\n` +
      `[[handler]]\ntopic = "*"\ncommand = "cat -"\nretries = 0\nconcurrency = 2\n`,
    "h.toml",
  );
  assertEquals(hs, [
    { topic: "superevent", command: ["/bin/x", "--y"], timeout: 2.5, retries: 3, concurrency: 1 },
    { topic: "*", command: ["cat", "-"], timeout: 600, retries: 0, concurrency: 2 },
  ]);
  assertThrows(
    () => parseHandlers(`[[handler]]\ntopic = "x"\ncommand = "a"\ntimeot = 1\n`, "h.toml"),
    IgwnAlertOptionError,
    "h.toml: handler 1: unknown key 'timeot'",
  );
  assertThrows(
    () => parseHandlers(`[[handler]]\ntopic = "gracedb.x"\ncommand = "a"\n`, "h.toml"),
    IgwnAlertOptionError,
    "'topic'",
  );
  assertThrows(
    () => parseHandlers(`[[handler]]\ntopic = "x"\ncommand = "a"\nretries = -1\n`, "h.toml"),
    IgwnAlertOptionError,
    "'retries' must be an integer >= 0",
  );
  assertThrows(() => parseHandlers(`x = 1`, "h.toml"), IgwnAlertOptionError, "unknown");
  assertThrows(() => parseHandlers(`[[handler]`, "h.toml"), IgwnAlertOptionError, "TOML");
  assertEquals(
    alertFileName({
      kafkaTopic: "gracedb.superevent",
      hop: { id: "0a-1b", test: false },
      partition: 0,
      offset: "7",
    }, Date.UTC(2026, 11, 6, 21, 5, 12, 123)),
    "gracedb.superevent_20261206T210512.123Z_0a-1b.json",
  );
});

/** Commits offset 0 of each topic for `group`, so that a new listener starts at the beginning. */
async function fromTheStart(kafka: KafkaBroker, group: string, topics: string[]): Promise<void> {
  await withAdmin(
    plainCluster(kafka),
    "start",
    (a) => a.commitOffsets(group, new Map(topics.map((t) => [`gracedb.${t}:0`, 0n]))),
  );
}

Deno.test("igwn-alert listen --exec/--handlers against a real broker", async (t) => {
  await using kafka = await startKafka();
  const [host, port] = kafka.plaintext.split(":");
  const server = ["--no-auth", "-s", `kafka://${host}:${port}/`];
  await createTopics(kafka, [
    "gracedb.alpha",
    "gracedb.beta",
    "gracedb.dead",
    "gracedb.crash",
  ]);
  const work = await Deno.makeTempDir({ prefix: "igwn-handlers-" });
  const script = `${work}/handler.sh`;
  await Deno.writeTextFile(script, HANDLER);
  await Deno.chmod(script, 0o755);
  const publisher = new IgwnAlertClient({
    noauth: true,
    server: `kafka://${host}:${port}/`,
    logger: () => {},
  });
  const publishAll = async (topic: string, from: number, to: number) => {
    await publisher.connect(topic);
    await Promise.all(
      Array.from(
        { length: to - from },
        (_, i) => publisher.publishToTopic(topic, `{"n": ${from + i}}`),
      ),
    );
  };
  try {
    await t.step(
      "500 alerts, every 7th failing once and one hanging: each handled once, in order",
      async () => {
        const state = `${work}/s1`;
        const dead = `${work}/dead1`;
        await Deno.mkdir(state);
        const N = 250;
        const group = `handlers-${crypto.randomUUID()}`;
        await fromTheStart(kafka, group, ["alpha", "beta"]);
        await publishAll("alpha", 0, N);
        await publishAll("beta", 0, N);
        const ctl = new AbortController();
        const err: string[] = [];
        const listening = main(
          [...server, "-c", group, "listen", "--exec", `${script} ${state} 123`]
            .concat(["--timeout", "3", "--retries", "2", "--retry-delay", "0.05"])
            .concat(["--dead-letter", dead, "alpha", "beta"]),
          { out: () => {}, err: (e) => err.push(e), signal: ctl.signal, handleSignals: false },
        );
        try {
          const done = async () =>
            (await lines(`${state}/handled.alpha`)).length >= N &&
            (await lines(`${state}/handled.beta`)).length >= N;
          const end = Date.now() + 120_000;
          while (!(await done())) {
            assert(Date.now() < end, `not all handled: ${err.join("\n")}`);
            await new Promise((r) => setTimeout(r, 200));
          }
        } finally {
          ctl.abort();
        }
        assertEquals(await listening, 0, err.join("\n"));
        const want = Array.from({ length: N }, (_, n) => String(n));
        // exactly once each, in publishing order per topic
        assertEquals(await lines(`${state}/handled.alpha`), want);
        assertEquals(await lines(`${state}/handled.beta`), want);
        const runs = (await lines(`${state}/runs`)).map((l) => l.split(" "));
        const sevens = Math.ceil(N / 7); // n = 0, 7, ..., 245
        // alpha: 250 + its failures + the hung run; beta: 250 + failures
        assertEquals(runs.filter((r) => r[0] === "alpha").length, N + sevens + 1);
        assertEquals(runs.filter((r) => r[0] === "beta").length, N + sevens);
        // the hung run (n = 123) was killed and repeated as attempt 2
        assertEquals(
          runs.filter((r) => r[0] === "alpha" && r[1] === "123").map((r) => r[2]),
          ["1", "2"],
        );
        // nothing dead-lettered
        assertEquals(await Array.fromAsync(Deno.readDir(dead)).catch(() => []), []);
        // the topics ran side by side: beta's runs are not all after alpha's
        const firstBeta = runs.findIndex((r) => r[0] === "beta");
        const lastAlpha = runs.findLastIndex((r) => r[0] === "alpha");
        assert(firstBeta < lastAlpha, "topics handled one after the other");
      },
    );

    await t.step(
      "a handler that always fails: alerts kept in the dead-letter directory",
      async () => {
        const state = `${work}/s2`;
        const dead = `${work}/dead2`;
        const out = `${work}/out2`;
        await Deno.mkdir(state);
        const group = `dead-${crypto.randomUUID()}`;
        await fromTheStart(kafka, group, ["dead"]);
        await publishAll("dead", 0, 5);
        const ctl = new AbortController();
        const err: string[] = [];
        const listening = main(
          [...server, "-c", group, "listen", "--exec", `${script} ${state} -1 fail`]
            .concat(["--retries", "1", "--retry-delay", "0.01", "--dead-letter", dead])
            .concat(["--output-dir", out, "dead"]),
          { out: () => {}, err: (e) => err.push(e), signal: ctl.signal, handleSignals: false },
        );
        const files = async (dir: string) =>
          (await Array.fromAsync(Deno.readDir(dir)).catch(() => [])).map((e) => e.name).sort();
        try {
          const end = Date.now() + 60_000;
          while ((await files(dead)).length < 10) {
            assert(Date.now() < end, `dead letters: ${await files(dead)}; ${err.join("\n")}`);
            await new Promise((r) => setTimeout(r, 100));
          }
          // listening goes on: one more alert is received, and dead-lettered too
          await publishAll("dead", 5, 6);
          while ((await files(dead)).length < 12) {
            assert(Date.now() < end, `dead letters: ${await files(dead)}`);
            await new Promise((r) => setTimeout(r, 100));
          }
        } finally {
          ctl.abort();
        }
        assertEquals(await listening, 0, err.join("\n"));
        const names = await files(dead);
        const payloads = names.filter((n) => !n.endsWith(".error.json"));
        assertEquals(payloads.length, 6);
        const texts = await Promise.all(payloads.map((n) => Deno.readTextFile(`${dead}/${n}`)));
        assertEquals(texts.map((x) => JSON.parse(x).n).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5]);
        const report = JSON.parse(
          await Deno.readTextFile(`${dead}/${names.find((n) => n.endsWith(".error.json"))}`),
        );
        assertEquals(report.attempts.length, 2);
        assertStringIncludes(report.attempts[0].error, "exit status 5");
        assertStringIncludes(report.attempts[0].error, "always failing");
        // each run got the alert's metadata; each alert ran twice (1 + 1 retry)
        const runs = (await lines(`${state}/runs`)).map((l) => l.split(" "));
        assertEquals(runs.length, 12);
        assert(runs.every((r) => r[0] === "dead" && /^[0-9a-f-]{36}$/.test(r[3])), String(runs));
        // --output-dir: every alert once, named by topic, time and _id
        const written = await files(out);
        assertEquals(written.length, 6);
        assert(
          written.every((n) => /^gracedb\.dead_\d{8}T\d{6}\.\d{3}Z_[0-9a-f-]{36}\.json$/.test(n)),
        );
      },
    );

    await t.step("broker SIGKILLed and restarted while handlers run: nothing lost", async () => {
      const state = `${work}/s3`;
      await Deno.mkdir(state);
      const group = `crash-${crypto.randomUUID()}`;
      await fromTheStart(kafka, group, ["crash"]);
      const N = 60;
      await publishAll("crash", 0, N / 2);
      const ctl = new AbortController();
      const err: string[] = [];
      // a handlers file this time (the topic's handler by glob)
      const handlers = `${work}/handlers.toml`;
      await Deno.writeTextFile(
        handlers,
        `[[handler]]\ntopic = "cr*"\ncommand = ["${script}", "${state}", "-1", "slow"]\n` +
          `timeout = 30\nretries = 0\n`,
      );
      const listening = main(
        [...server, "-c", group, "listen", "--handlers", handlers, "crash"],
        { out: () => {}, err: (e) => err.push(e), signal: ctl.signal, handleSignals: false },
      );
      try {
        const end = Date.now() + 90_000;
        while ((await lines(`${state}/runs`)).length < 10) {
          assert(Date.now() < end, err.join("\n"));
          await new Promise((r) => setTimeout(r, 50));
        }
        await kafka.kill();
        await new Promise((r) => setTimeout(r, 1000));
        await kafka.restart();
        await publishAll("crash", N / 2, N);
        const handled = async () =>
          new Set((await lines(`${state}/runs`)).map((l) => l.split(" ")[1])).size;
        while ((await handled()) < N) {
          assert(Date.now() < end, `${await handled()}/${N} handled; ${err.join("\n")}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      } finally {
        ctl.abort();
      }
      assertEquals(await listening, 0, err.join("\n"));
      const ns = (await lines(`${state}/runs`)).map((l) => Number(l.split(" ")[1]));
      const dups = ns.length - new Set(ns).size;
      assertEquals([...new Set(ns)].sort((a, b) => a - b), Array.from({ length: N }, (_, i) => i));
      // at most the alert whose handler was running when the broker died runs twice
      assert(dups <= 1, `${dups} alerts handled twice: ${ns}`);
    });
  } finally {
    await publisher.close();
    await Deno.remove(work, { recursive: true });
  }
});
