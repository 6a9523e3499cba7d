// Fault suite, Kafka (real broker from testing/kafka.ts): the broker SIGKILLed while alerts
// are being sent and received; the igwn-alert CLI against bad credentials, a TLS CA mismatch, an
// unknown topic and an unreachable broker (clear error, exit 1, bounded time, no secret in the
// output even at debug level); SIGTERM to the CLI while it listens (exit 0 within 1 s; the consumer
// group resumes exactly after what it printed) and while it sends several files (exits within 1 s;
// what is on the broker is a prefix of the files, without duplicates).
//
// tests/igwn_alert/restart_test.ts covers a graceful broker stop/restart during listen; cli_test.ts
// covers the error messages themselves.
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { IgwnAlertClient } from "../../lib/igwn_alert/mod.ts";
import { type KafkaBroker, startKafka } from "../../testing/kafka.ts";
import { highWatermark, readRecords } from "../../testing/kafka_records.ts";
import { freePort } from "../../testing/net.ts";
import { REPO_ROOT } from "../../testing/python.ts";
import { authEntry, authHome, createTopics, until } from "../igwn_alert/_helpers.ts";
import { Child } from "../../testing/child.ts";
import { recordFault } from "./_record.ts";

const CLI = `${REPO_ROOT}/cli/igwn_alert.ts`;

/** Every `"n": <int>` marker in `text` (JSON-escaped any number of times), in order. */
function markers(text: string): number[] {
  return [...text.matchAll(/\\*"n\\*": ?(\d+)/g)].map((m) => Number(m[1]));
}

/** Reads the first `count` records of `topic` (one partition) and returns their `n` markers. */
async function readMarkers(broker: KafkaBroker, topic: string, count: number): Promise<number[]> {
  const records = await readRecords(broker, topic, count);
  return records.flatMap((r) => markers(new TextDecoder().decode(r.value!)));
}

Deno.test("fault kafka: broker crashes, bad credentials, TLS mismatch, unreachable broker, SIGTERM", async (t) => {
  await using kafka = await startKafka();
  await createTopics(kafka, [
    "gracedb.superevent",
    "gracedb.sendterm",
    "gracedb.listenterm",
  ]);
  const [host, plainPort] = kafka.plaintext.split(":");
  const noauth = ["--no-auth", "-s", `kafka://${host}/`, "-p", plainPort];
  const only = Deno.env.get("FAULT_ONLY");
  const step = (name: string, fn: () => Promise<void>) =>
    t.step({ name, ignore: only !== undefined && !name.includes(only), fn });
  const clientOpts = {
    noauth: true,
    server: `kafka://${host}/`,
    port: Number(plainPort),
    logger: () => {},
    timeoutMs: 4000,
  };

  await step(
    "broker SIGKILLed during send and listen: acknowledged alerts arrive exactly once",
    async () => {
      const listener = new IgwnAlertClient({
        ...clientOpts,
        consumerGroup: "faults-crash",
        sessionTimeoutMs: 6000,
      });
      const publisher = new IgwnAlertClient(clientOpts);
      const received: number[] = [];
      let ready!: () => void;
      const isReady = new Promise<void>((r) => (ready = r));
      let listenError: unknown;
      const listening = listener.listen((_topic, payload) => {
        received.push(...markers(String(payload)));
      }, { topics: "superevent", onReady: () => ready() }).catch((e) => (listenError = e));
      await isReady;
      const acked: number[] = [];
      let attempts = 0, failed = 0, stop = false;
      const sending = (async () => {
        // each attempt has its own marker, so an alert that landed without an ack is visible
        for (let n = 0; !stop; n++) {
          attempts++;
          try {
            await publisher.publish("superevent", `{"n": ${n}}`);
            acked.push(n);
          } catch {
            failed++;
            await new Promise((r) => setTimeout(r, 100));
          }
          await new Promise((r) => setTimeout(r, 10));
        }
      })();
      try {
        await until(() => acked.length >= 30, 20_000, "alerts before the crash");
        await kafka.kill();
        await new Promise((r) => setTimeout(r, 500));
        await kafka.restart();
        const afterRestart = acked.length;
        await until(() => acked.length >= afterRestart + 30, 60_000, "alerts after the restart");
        stop = true;
        await sending;
        await until(
          () => acked.every((n) => received.includes(n)) || listenError !== undefined,
          60_000,
          "every acknowledged alert",
        );
        await new Promise((r) => setTimeout(r, 500)); // a duplicate would arrive now
        assertEquals(listenError, undefined);
        const missing = acked.filter((n) => !received.includes(n));
        const dups = received.length - new Set(received).size;
        assertEquals(missing, []);
        assertEquals(dups, 0);
        const unackedButDelivered = received.filter((n) => !acked.includes(n)).length;
        await recordFault({
          area: "kafka",
          fault: "broker SIGKILLed and restarted while sending and listening (one consumer group)",
          inputs: attempts,
          lost: missing.length,
          notes:
            `${acked.length} acknowledged, all delivered once; ${failed} sends failed during ` +
            `the outage (caller retries); ${unackedButDelivered} delivered without an ack; ` +
            `${dups} duplicates`,
        });
      } finally {
        stop = true;
        await sending;
        listener.stop();
        await listening;
        await listener.close();
        await publisher.close();
      }
    },
  );

  await step(
    "CLI: bad credentials, TLS CA mismatch, unknown topic, unreachable broker",
    async () => {
      const [, sslPort] = kafka.saslSsl.split(":");
      const SECRET = `Fault-Secret-${crypto.randomUUID()}`;
      // a CA that did not sign the broker's certificate
      const otherCa = await Deno.makeTempDir({ prefix: "faults-ca-" });
      await new Deno.Command("openssl", {
        args: [
          "req",
          "-x509",
          "-newkey",
          "rsa:2048",
          "-nodes",
          "-keyout",
          `${otherCa}/k.pem`,
          "-out",
          `${otherCa}/ca.pem`,
          "-days",
          "1",
          "-subj",
          "/CN=not-the-ca",
        ],
        stdout: "null",
        stderr: "null",
      }).output();
      const wrongPw = await authHome(authEntry({
        username: "alice",
        password: SECRET,
        hostname: `localhost:${sslPort}`,
        ssl_ca_location: kafka.caFile,
      }));
      const wrongCa = await authHome(authEntry({
        username: "alice",
        password: SECRET,
        hostname: `localhost:${sslPort}`,
        ssl_ca_location: `${otherCa}/ca.pem`,
      }));
      const unsafe = await authHome(authEntry({
        username: "alice",
        password: SECRET,
        hostname: `localhost:${sslPort}`,
        ssl_ca_location: kafka.caFile,
      }));
      await Deno.chmod(unsafe.file, 0o644);
      const alertFile = `${otherCa}/alert.json`;
      await Deno.writeTextFile(alertFile, '{"n": 1}');
      const dead = freePort();
      const ssl = ["-s", "kafka://localhost/", "-p", sslPort, "-u", "alice"];
      const cases: Array<[string, string[], string, string | undefined]> = [
        ["wrong password", [...ssl, "-l", "debug", "topics"], "authentication failed", wrongPw.dir],
        [
          "wrong password, listen",
          [...ssl, "listen", "superevent"],
          "authentication failed",
          wrongPw.dir,
        ],
        ["TLS CA mismatch", [...ssl, "-l", "debug", "topics"], "TLS connection to", wrongCa.dir],
        ["auth.toml mode 0644", [...ssl, "topics"], "unsafe permissions", unsafe.dir],
        [
          "unknown topic, send",
          [...noauth, "send", "nope", alertFile],
          "does not exist",
          undefined,
        ],
        ["unknown topic, listen", [...noauth, "listen", "nope"], "does not exist", undefined],
        [
          "broker unreachable, listen",
          ["--no-auth", "-s", "kafka://127.0.0.1/", "-p", `${dead}`, "listen", "superevent"],
          "cannot reach Kafka broker",
          undefined,
        ],
        [
          "broker unreachable, send",
          [
            "--no-auth",
            "-s",
            "kafka://127.0.0.1/",
            "-p",
            `${dead}`,
            "send",
            "superevent",
            alertFile,
          ],
          "cannot reach Kafka broker",
          undefined,
        ],
      ];
      const results: string[] = [];
      let logLines = 0;
      try {
        // spawned, so that everything the process writes (kafkajs debug logs included) is seen
        for (const [label, args, expect, xdg] of cases) {
          const home = xdg ?? otherCa; // no hop/auth.toml there
          const t0 = Date.now();
          const cli = Child.deno(CLI, args, {
            XDG_CONFIG_HOME: home,
            HOME: home,
            NO_COLOR: "1",
          });
          const exited = await Promise.race([
            cli.child.status,
            new Promise<null>((r) => setTimeout(() => r(null), 30_000)),
          ]);
          const ms = Date.now() - t0;
          const { code } = await cli.kill("SIGKILL");
          const text = cli.lines.join("\n");
          assert(exited !== null, `${label}: still running after 30 s\n${text}`);
          assertEquals(code, 1, `${label}: exit ${code}\n${text}`);
          assert(ms < 20_000, `${label}: took ${ms} ms`);
          assertStringIncludes(text, expect, label);
          assert(!text.includes(SECRET), `${label}: the password appears in the output`);
          results.push(`${label} ${(ms / 1000).toFixed(1)} s`);
          logLines += cli.lines.length;
        }
        await recordFault({
          area: "kafka",
          fault:
            "igwn-alert CLI: wrong password, TLS CA mismatch, unsafe auth.toml, unknown topic, " +
            "unreachable broker (listen/send/topics)",
          inputs: cases.length,
          lost: 0,
          notes: `each exit 1 with a clear message, no hang (spawned, incl. start-up): ` +
            results.join(", "),
        });
        await recordFault({
          area: "security",
          fault: "distinctive password in auth.toml, CLI failures at -l debug",
          inputs: 4,
          lost: 0,
          notes: `password absent from ${logLines} lines of stdout/stderr of the spawned CLI`,
        });
      } finally {
        for (const d of [otherCa, wrongPw.dir, wrongCa.dir, unsafe.dir]) {
          await Deno.remove(d, { recursive: true });
        }
      }
    },
  );

  await step(
    "SIGTERM to the CLI while it listens: exit 0 within 1 s, group resumes exactly",
    async () => {
      const publisher = new IgwnAlertClient(clientOpts);
      const child = Child.deno(CLI, [
        ...noauth,
        "-l",
        "info",
        "-c",
        "faults-term",
        "listen",
        "listenterm",
      ], {
        NO_COLOR: "1",
      });
      const acked: number[] = [];
      let stop = false;
      let sending: Promise<void> = Promise.resolve();
      try {
        // the CLI's group starts at the end of the topic: send once it is ready
        await child.line((l) => l.includes("ready on gracedb.listenterm"), 30_000);
        sending = (async () => {
          for (let n = 0; !stop; n++) {
            await publisher.publish("listenterm", `{"n": ${n}}`);
            acked.push(n);
            await new Promise((r) => setTimeout(r, 10));
          }
        })();
        const printed = () => markers(child.lines.join("\n"));
        await until(() => printed().length >= 30, 20_000, "alerts printed");
        const { code, ms } = await child.kill("SIGTERM");
        const first = printed();
        await until(() => acked.length >= first.length + 20, 20_000, "more alerts");
        stop = true;
        await sending;
        // the same consumer group picks up after what the first listener printed
        const second = new IgwnAlertClient({ ...clientOpts, consumerGroup: "faults-term" });
        const got: number[] = [];
        const ctl = new AbortController();
        const listening = second.listen((_t, p) => {
          got.push(...markers(String(p)));
        }, { topics: "listenterm", signal: ctl.signal });
        try {
          await until(
            () => new Set([...first, ...got]).size >= acked.length,
            30_000,
            `the rest: printed ${first.length} (${first.slice(-3)}), group got ${got.length} ` +
              `(${got.slice(0, 3)}), acked ${acked.length}`,
          );
          await new Promise((r) => setTimeout(r, 500));
        } finally {
          ctl.abort();
          await listening.catch(() => {});
          await second.close();
        }
        const all = [...first, ...got];
        const dups = all.length - new Set(all).size;
        const missing = acked.filter((n) => !all.includes(n));
        assertEquals(code, 0);
        assert(ms < 1000, `SIGTERM -> exit took ${ms} ms`);
        assertEquals(missing, []);
        assertEquals(dups, 0);
        await recordFault({
          area: "shutdown",
          fault: "SIGTERM to igwn-alert listen while alerts stream in; same consumer group resumes",
          inputs: acked.length,
          lost: missing.length,
          notes: `exit ${code} after ${ms} ms; ${first.length} printed before, ${got.length} ` +
            `after by the group; ${dups} duplicates`,
        });
      } finally {
        stop = true;
        await sending.catch(() => {});
        await child.kill("SIGKILL");
        await publisher.close();
      }
    },
  );

  await step(
    "SIGTERM to the CLI while it sends several files: prompt exit, a clean prefix",
    async () => {
      const dir = await Deno.makeTempDir({ prefix: "faults-send-" });
      const FILES = 200;
      const files: string[] = [];
      for (let n = 0; n < FILES; n++) {
        files.push(`${dir}/a${n}.json`);
        await Deno.writeTextFile(files[n], `{"n": ${n}}`);
      }
      const before = await highWatermark(kafka, "gracedb.sendterm");
      const child = Child.deno(CLI, [...noauth, "send", "sendterm", ...files], { NO_COLOR: "1" });
      try {
        const t0 = Date.now();
        while ((await highWatermark(kafka, "gracedb.sendterm")) < before + 5) {
          assert(
            Date.now() - t0 < 30_000,
            `no alert on the broker; CLI: ${child.lines.join("\n")}`,
          );
          await new Promise((r) => setTimeout(r, 20));
        }
        const { code, ms } = await child.kill("SIGTERM");
        const count = (await highWatermark(kafka, "gracedb.sendterm")) - before;
        const got = await readMarkers(kafka, "gracedb.sendterm", count);
        assert(ms < 1000, `SIGTERM -> exit took ${ms} ms`);
        // a prefix of the files, in order, once each
        assertEquals(got, Array.from({ length: got.length }, (_, i) => i));
        // the alert in flight was flushed, and the CLI says exactly how far it got
        assertEquals(code, 1, `an interrupted send exits 1; CLI: ${child.lines.join("\n")}`);
        const report = child.lines.find((l) => l.includes("interrupted: sent "));
        assert(report, `no interruption report; CLI: ${child.lines.join("\n")}`);
        assertEquals(Number(/sent (\d+) of/.exec(report)![1]), got.length, report);
        await recordFault({
          area: "shutdown",
          fault: `SIGTERM to igwn-alert send of ${FILES} files mid-way`,
          inputs: FILES,
          lost: 0,
          notes: `exit ${code} after ${ms} ms; ${got.length} alerts on the broker, exactly files ` +
            `0..${got.length - 1} in order, as the CLI reported (the alert in flight is flushed)`,
        });
      } finally {
        await child.kill("SIGKILL");
        await Deno.remove(dir, { recursive: true });
      }
    },
  );
});
