// Fault suite, Kafka: a consumer (`igwn-alert listen`) SIGKILLed mid-stream (its group resumes,
// redelivering at most the uncommitted tail), and the broker SIGKILLed and restarted while
// `igwn-alert send` publishes 100 files (whatever the CLI's exit code, a listener in one consumer
// group gets each file at most once, and every file the CLI reports as sent exactly once).
import { assert, assertEquals } from "@std/assert";
import { IgwnAlertClient } from "../../lib/igwn_alert/mod.ts";
import { startKafka } from "../../testing/kafka.ts";
import { highWatermark } from "../../testing/kafka_records.ts";
import { REPO_ROOT } from "../../testing/python.ts";
import { createTopics, until } from "../igwn_alert/_helpers.ts";
import { Child } from "../../testing/child.ts";
import { recordFault } from "./_record.ts";

const CLI = `${REPO_ROOT}/cli/igwn_alert.ts`;

function markers(text: string): number[] {
  return [...text.matchAll(/\\*"n\\*": ?(\d+)/g)].map((m) => Number(m[1]));
}

Deno.test("fault kafka: broker crash during CLI send, consumer crash during CLI listen", async (t) => {
  await using kafka = await startKafka();
  await createTopics(kafka, ["gracedb.sendcrash", "gracedb.listenkill"]);
  const [host, port] = kafka.plaintext.split(":");
  const noauth = ["--no-auth", "-s", `kafka://${host}/`, "-p", port];
  const clientOpts = {
    noauth: true,
    server: `kafka://${host}/`,
    port: Number(port),
    logger: () => {},
    timeoutMs: 4000,
  };
  const only = Deno.env.get("FAULT_ONLY");
  const step = (name: string, fn: () => Promise<void>) =>
    t.step({ name, ignore: only !== undefined && !name.includes(only), fn });

  await step(
    "consumer SIGKILLed mid-stream: the group redelivers, duplicates only across the crash",
    async () => {
      const publisher = new IgwnAlertClient(clientOpts);
      const child = Child.deno(
        CLI,
        [...noauth, "-l", "info", "-c", "faults-kill", "listen", "listenkill"],
        { NO_COLOR: "1" },
      );
      const acked: number[] = [];
      let stop = false;
      let sending: Promise<void> = Promise.resolve();
      try {
        await child.line((l) => l.includes("ready on gracedb.listenkill"), 30_000);
        sending = (async () => {
          for (let n = 0; !stop; n++) {
            await publisher.publish("listenkill", `{"n": ${n}}`);
            acked.push(n);
            await new Promise((r) => setTimeout(r, 5));
          }
        })();
        const printed = () => markers(child.lines.join("\n"));
        await until(() => printed().length >= 40, 20_000, "alerts printed");
        await child.kill("SIGKILL");
        const first = printed();
        await until(() => acked.length >= first.length + 20, 20_000, "more alerts");
        stop = true;
        await sending;
        const second = new IgwnAlertClient({ ...clientOpts, consumerGroup: "faults-kill" });
        const got: number[] = [];
        const ctl = new AbortController();
        const listening = second.listen((_t, p) => {
          got.push(...markers(String(p)));
        }, { topics: "listenkill", signal: ctl.signal });
        try {
          await until(
            () => acked.every((n) => first.includes(n) || got.includes(n)),
            30_000,
            "every acknowledged alert by the group",
          );
          await new Promise((r) => setTimeout(r, 500));
        } finally {
          ctl.abort();
          await listening.catch(() => {});
          await second.close();
        }
        const missing = acked.filter((n) => !first.includes(n) && !got.includes(n));
        const dups = got.filter((n) => first.includes(n));
        assertEquals(missing, []);
        // redelivered: only alerts the killed consumer handled but had not committed, i.e. its
        // last ones, and each at most once more
        const tail = new Set(first.slice(-Math.max(dups.length, 1)));
        assert(dups.every((n) => tail.has(n)), `redelivered ${dups} not the tail of ${first}`);
        assertEquals(got.length, new Set(got).size);
        await recordFault({
          area: "kafka",
          fault: "consumer (igwn-alert listen) SIGKILLed mid-stream; the group resumes",
          inputs: acked.length,
          lost: missing.length,
          notes: `${first.length} printed before the kill, ${got.length} after by the group; ` +
            `${dups.length} redelivered (the uncommitted tail: at-least-once), none twice more`,
        });
      } finally {
        stop = true;
        await sending.catch(() => {});
        await child.kill("SIGKILL");
        await publisher.close();
      }
    },
  );

  await step("broker SIGKILLed and restarted while the CLI sends 100 files", async () => {
    const dir = await Deno.makeTempDir({ prefix: "faults-sendcrash-" });
    const FILES = 100;
    const files: string[] = [];
    for (let n = 0; n < FILES; n++) {
      files.push(`${dir}/a${n}.json`);
      await Deno.writeTextFile(files[n], `{"n": ${n}}`);
    }
    const listener = new IgwnAlertClient({
      ...clientOpts,
      consumerGroup: "faults-sendcrash",
      sessionTimeoutMs: 6000,
    });
    const got: number[] = [];
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    let listenError: unknown;
    const listening = listener.listen((_t, p) => {
      got.push(...markers(String(p)));
    }, { topics: "sendcrash", onReady: () => ready() }).catch((e) => (listenError = e));
    let cli: Child | undefined;
    try {
      await isReady;
      cli = Child.deno(CLI, [
        "--no-auth",
        "-s",
        `kafka://${host}/`,
        "-p",
        port,
        "send",
        "sendcrash",
        ...files,
      ], { NO_COLOR: "1" });
      const t0 = Date.now();
      while ((await highWatermark(kafka, "gracedb.sendcrash")) < 20) {
        assert(Date.now() - t0 < 30_000, `no alert on the broker; CLI: ${cli.lines.join("\n")}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      const killedAt = Date.now();
      await kafka.kill();
      await new Promise((r) => setTimeout(r, 500));
      await kafka.restart();
      const outageMs = Date.now() - killedAt;
      const status = await Promise.race([
        cli.child.status,
        new Promise<null>((r) => setTimeout(() => r(null), 60_000)),
      ]);
      assert(status !== null, `CLI still running 60 s after the restart:\n${cli.lines.join("\n")}`);
      const code = status.code;
      const exitMs = Date.now() - killedAt;
      const error = cli.lines.find((l) => l.startsWith("igwn-alert: error:")) ?? "";
      const onBroker = await highWatermark(kafka, "gracedb.sendcrash");
      const expected = code === 0 ? FILES : 0;
      await until(
        () => new Set(got).size >= Math.max(expected, 1) || listenError !== undefined,
        60_000,
        "alerts at the listener",
      );
      await new Promise((r) => setTimeout(r, 1000)); // late duplicates would show now
      assertEquals(listenError, undefined);
      const dups = got.length - new Set(got).size;
      assertEquals(dups, 0, `delivered twice: ${got.filter((n, i) => got.indexOf(n) !== i)}`);
      const missing = code === 0
        ? Array.from({ length: FILES }, (_, i) => i).filter((n) => !got.includes(n))
        : [];
      assertEquals(missing, []);
      if (code !== 0) {
        // a failure says so, and what arrived is a prefix of the files
        assert(cli.lines.some((l) => l.startsWith("igwn-alert: error:")), cli.lines.join("\n"));
        const sorted = [...got].sort((a, b) => a - b);
        assertEquals(sorted, Array.from({ length: sorted.length }, (_, i) => i));
      }
      await recordFault({
        area: "kafka",
        fault: `broker SIGKILLed and restarted while igwn-alert send publishes ${FILES} files`,
        inputs: FILES,
        lost: missing.length,
        notes: `broker down ${(outageMs / 1000).toFixed(1)} s; CLI exit ${code} ` +
          `${(exitMs / 1000).toFixed(1)} s after the kill ${JSON.stringify(error)}; ` +
          `${new Set(got).size} distinct alerts at the listener, ` +
          `${dups} duplicates; ${onBroker} records on the broker ` +
          `(${onBroker - new Set(got).size} extra copies from producer retries, ` +
          "dropped by the client's hop _id check)",
      });
    } finally {
      await cli?.kill("SIGKILL");
      listener.stop();
      await listening;
      await listener.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
});
