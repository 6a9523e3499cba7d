// Fault suite, posttroll <-> Kafka bridge (cli/posttroll_bridge.ts spawned, a real Kafka broker from
// testing/kafka.ts, each posttroll "site" with its own nameserver process from
// tests/bridge/_sites.ts):
// - start-up failures: wrong SCRAM password, TLS with a CA that did not sign the broker, a dead
//   broker (exit 1, typed message, bounded time); bad URL / missing --kafka / unknown option
//   (exit 2 with the usage line);
// - garbage frames from a raw ZeroMQ PUB registered with the site's nameserver, interleaved with
//   valid posttroll messages: to-kafka keeps running and forwards exactly the valid ones;
// - a full disk (small tmpfs) under from-kafka's state directory: forwarding goes on, the store
//   error is logged once per 10 s, and after freeing space a graceful restart loads every id;
// - the broker stopped and restarted under a running to-kafka (fed by our NoisyPublisher) and
//   from-kafka: nothing lost in Kafka nor at the posttroll subscriber; SIGTERM of a to-kafka while
//   the broker is down (gives up after --close-timeout, exit 1, reports exactly what it held) and
//   with the broker up (delivers everything, exit 0).
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { produceRecords, recordCount } from "../../testing/kafka_records.ts";
import { Message } from "../../lib/posttroll/message.ts";
import { NoisyPublisher } from "../../lib/posttroll/publisher.ts";
import { Subscriber } from "../../lib/posttroll/subscriber.ts";
import { AddressServiceBroadcaster } from "../../lib/posttroll/broadcaster.ts";
import { PubSocket } from "../../lib/zmq/mod.ts";
import { type KafkaBroker, startKafka } from "../../testing/kafka.ts";
import { freePort, until } from "../../testing/net.ts";
import { Child } from "../../testing/child.ts";
import { createTopics, readRaw } from "../igwn_alert/_helpers.ts";
import { BRIDGE, lastStats, type Site, startBridge, startSite } from "../bridge/_sites.ts";
import { recordFault } from "./_record.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A hop auth.toml for alice on the SASL_SSL listener with the given password and CA file. */
async function authToml(
  kafka: KafkaBroker,
  password: string,
  caFile: string,
): Promise<{ dir: string; file: string; url: string }> {
  const port = kafka.saslSsl.split(":")[1];
  const dir = await Deno.makeTempDir({ prefix: "bridge-faults-auth-" });
  const file = `${dir}/auth.toml`;
  await Deno.writeTextFile(
    file,
    `[[auth]]\nusername = "alice"\npassword = "${password}"\nhostname = "localhost:${port}"\n` +
      `protocol = "SASL_SSL"\nmechanism = "SCRAM-SHA-512"\nssl_ca_location = "${caFile}"\n`,
  );
  await Deno.chmod(file, 0o600);
  return { dir, file, url: `kafka://alice@localhost:${port}/` };
}

/** Number of records in `topic` (sum of the partitions' high - low watermarks). */
async function topicCount(kafka: KafkaBroker, topic: string): Promise<number> {
  return (await recordCount(kafka, topic)).total;
}

/** Every record of `topic` as a decoded posttroll message (throws on a record that is not one). */
async function topicMessages(kafka: KafkaBroker, topic: string): Promise<Message[]> {
  const n = await topicCount(kafka, topic);
  return (await readRaw(kafka, topic, n)).map((r) => Message.decode(r.value));
}

/** `data.seq` of a message, or undefined. */
function seqOf(m: Message): number | undefined {
  const d = m.data as { seq?: unknown } | null;
  return typeof d?.seq === "number" ? d.seq : undefined;
}

/** A subscriber straight to `port` on 127.0.0.1, collecting `data.seq` of `subject` messages. */
function collector(site: Site, port: number, subject: string): {
  seqs: number[];
  close: () => Promise<void>;
} {
  const sub = new Subscriber([`tcp://127.0.0.1:${port}`], {
    topics: subject,
    config: site.setup.config,
  });
  const seqs: number[] = [];
  const pump = (async () => {
    for await (const m of sub) {
      const s = seqOf(m);
      if (s !== undefined) seqs.push(s);
    }
  })().catch(() => {});
  return {
    seqs,
    close: async () => {
      await sub.close();
      await pump;
    },
  };
}

/** Resolves with the exit code, or null if the child still runs after `ms`. */
function exitWithin(c: Child, ms: number): Promise<number | null> {
  let t: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    c.child.status.then((s) => s.code),
    new Promise<null>((r) => (t = setTimeout(() => r(null), ms))),
  ]).finally(() => clearTimeout(t));
}

function missingIn(have: Iterable<number>, from: number, to: number): number[] {
  const set = new Set(have);
  const out: number[] = [];
  for (let i = from; i <= to; i++) if (!set.has(i)) out.push(i);
  return out;
}

const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

Deno.test("fault bridge: start-up failures, garbage frames, full disk, broker outage, SIGTERM", async (t) => {
  await using kafka = await startKafka();
  const a = await startSite("a");
  const b = await startSite("b");
  const children: Child[] = [a.nameserver, b.nameserver];
  const spawn = async (site: Site, args: string[]) => {
    const c = await startBridge(site, args);
    children.push(c);
    return c;
  };
  const plain = ["--kafka", `kafka://${kafka.plaintext}/`, "--no-auth"];
  const only = Deno.env.get("FAULT_ONLY");
  const step = (name: string, fn: () => Promise<void>, ignore = false) =>
    t.step({ name, ignore: ignore || (only !== undefined && !name.includes(only)), fn });
  try {
    await step(
      "start-up failures: wrong password, wrong CA, dead broker, usage errors",
      async () => {
        const SECRET = `Bridge-Fault-Secret-${crypto.randomUUID()}`;
        const tmp = await Deno.makeTempDir({ prefix: "bridge-faults-ca-" });
        const made = await new Deno.Command("openssl", {
          args: ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", `${tmp}/k.pem`, "-out"]
            .concat([`${tmp}/ca.pem`, "-days", "1", "-subj", "/CN=not-the-kafka-ca"]),
          stdout: "null",
          stderr: "null",
        }).output();
        assert(made.success, "openssl could not make a CA");
        const wrongPw = await authToml(kafka, SECRET, kafka.caFile);
        const wrongCa = await authToml(kafka, "alice-secret", `${tmp}/ca.pem`);
        const dead = freePort();
        const usage = "usage: posttroll-bridge {to-kafka,from-kafka} [options]";
        type Case = { label: string; args: string[]; code: number; text: RegExp; maxMs: number };
        const cases: Case[] = [];
        for (const cmd of ["to-kafka", "from-kafka"]) {
          const extra = cmd === "from-kafka" ? ["--no-state"] : [];
          cases.push(
            {
              label: `wrong password, ${cmd}`,
              args: [cmd, "--kafka", wrongPw.url, "--auth-file", wrongPw.file, ...extra],
              code: 1,
              text: /CRITICAL:posttroll_bridge:AuthError: authentication failed for user 'alice'/,
              maxMs: 10_000,
            },
            {
              label: `TLS CA mismatch, ${cmd}`,
              args: [cmd, "--kafka", wrongCa.url, "--auth-file", wrongCa.file, ...extra],
              code: 1,
              text: /CRITICAL:posttroll_bridge:BrokerConnectionError: TLS connection to localhost/,
              maxMs: 10_000,
            },
            {
              // the Kafka connect deadline (the cluster's timeoutMs) is 15 s; a refused port fails
              // at once
              label: `dead broker, ${cmd}`,
              args: [cmd, "--kafka", `kafka://127.0.0.1:${dead}/`, "--no-auth", ...extra],
              code: 1,
              text: new RegExp(
                `CRITICAL:posttroll_bridge:BrokerConnectionError: .*127\\.0\\.0\\.1:${dead}`,
              ),
              maxMs: 20_000,
            },
          );
        }
        cases.push(
          {
            label: "missing --kafka",
            args: ["to-kafka", "--no-auth"],
            code: 2,
            text: /--kafka URL is required/,
            maxMs: 10_000,
          },
          {
            label: "unknown option",
            args: ["from-kafka", "--kafka", "kafka://127.0.0.1/", "--bogus"],
            code: 2,
            text: /error: .*--bogus/,
            maxMs: 10_000,
          },
        );
        const results: string[] = [];
        const failures: string[] = [];
        const runCase = async (c: Case) => {
          const t0 = Date.now();
          const cli = Child.deno(BRIDGE, c.args, { ...a.env, HOME: tmp, XDG_CONFIG_HOME: tmp });
          const code = await exitWithin(cli, 40_000);
          const ms = Date.now() - t0;
          await cli.kill("SIGKILL");
          const out = cli.lines.join("\n");
          const bad = code === null
            ? "still running after 40 s"
            : code !== c.code
            ? `exit ${code}, expected ${c.code}`
            : !c.text.test(out)
            ? `no line matching ${c.text}`
            : c.code === 2 && !out.includes(usage)
            ? "no usage line"
            : ms > c.maxMs
            ? `took ${ms} ms (limit ${c.maxMs})`
            : out.includes(SECRET)
            ? "the password appears in the output"
            : undefined;
          if (bad) failures.push(`${c.label}: ${bad}\n${out}`);
          results.push(`${c.label} ${sec(ms)}`);
        };
        try {
          // three at a time: each is a whole Deno start-up on a 2-core machine
          for (let i = 0; i < cases.length; i += 3) {
            await Promise.all(cases.slice(i, i + 3).map(runCase));
          }
          assertEquals(failures, []);
          await recordFault({
            area: "bridge",
            fault:
              "posttroll-bridge start-up: wrong SCRAM password, TLS CA mismatch, dead broker " +
              "(to-kafka and from-kafka), missing --kafka, unknown option",
            inputs: cases.length,
            lost: 0,
            notes: "auth/TLS/dead broker: exit 1 with AuthError naming the user / " +
              "BrokerConnectionError (connect deadline 15 s); usage: exit 2 with the usage line; " +
              `password never printed; spawned, 3 at a time, incl. Deno start-up: ${
                results.join(", ")
              }`,
          });
        } finally {
          for (const d of [tmp, wrongPw.dir, wrongCa.dir]) {
            await Deno.remove(d, { recursive: true });
          }
        }
      },
    );

    // a malformed --kafka URL (and any other value the library refuses with BridgeOptionError:
    // --prefix, --topic...) is a usage error: exit 2 with the usage line
    await step("bad --kafka URL: exit 2 with the usage line", async () => {
      const results: string[] = [];
      const urls = ["http://127.0.0.1:9092/", "kafka://127.0.0.1:99999/", "kafka:///"];
      const failures: string[] = [];
      for (const url of urls) {
        const t0 = Date.now();
        const cli = Child.deno(BRIDGE, ["to-kafka", "--kafka", url, "--no-auth"], a.env);
        const code = await exitWithin(cli, 20_000);
        await cli.kill("SIGKILL");
        const out = cli.lines.join("\n");
        if (code !== 2 || !out.includes("usage: posttroll-bridge")) {
          failures.push(`${url}: exit ${code}\n${out}`);
        }
        results.push(`${url} exit ${code} ${sec(Date.now() - t0)}`);
      }
      assertEquals(failures, []);
      await recordFault({
        area: "bridge",
        fault: "posttroll-bridge: malformed --kafka URL (wrong scheme, port out of range, no host)",
        inputs: urls.length,
        lost: 0,
        notes: `exit 2 with the usage line: ${results.join(", ")}`,
      });
    });

    await step(
      "garbage frames from a raw ZeroMQ PUB: to-kafka forwards only the valid ones",
      async () => {
        const subject = "/fault/garbage";
        const topic = "posttroll.fault.garbage";
        const up = await spawn(
          a,
          ["to-kafka", ...plain, "--site", "a", "-s", "garbage_src"].concat([
            "--stats",
            "0.2",
          ]),
        );
        const pub = new PubSocket();
        const endpoint = await pub.bind("tcp://127.0.0.1:0");
        const announce = new AddressServiceBroadcaster(
          "garbage_src",
          endpoint,
          ["garbage_src"],
          0.5,
          ["localhost"],
          { config: a.setup.config },
        ).start();
        try {
          const head = `pytroll:/${subject}`;
          const junk = (n: number) => {
            const out = new Uint8Array(n);
            for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
            return out;
          };
          const withHead = (tail: Uint8Array) => {
            const h = enc.encode(head);
            const out = new Uint8Array(h.length + tail.length);
            out.set(h);
            out.set(tail, h.length);
            return out;
          };
          const now = "2026-01-01T00:00:00.000000";
          const garbage: Array<Uint8Array | string | Array<Uint8Array | string>> = [
            withHead(junk(64)),
            head,
            `${head} file`,
            `${head} file user@host`,
            `${head} file user@host not-a-time v1.2`,
            `${head} file user@host ${now} v1.2 application/json {"seq": `,
            `${head} file user@host ${now} v1.2 application/json ["no", "end"`,
            withHead(new Uint8Array([0x20, 0xff, 0xfe, 0x80, 0x20])),
            withHead(junk(256 * 1024)),
            [withHead(junk(32)), withHead(junk(32))],
            "",
            junk(100),
          ];
          // every garbage frame really is rejected by the codec
          for (const g of garbage) {
            const first = Array.isArray(g) ? g[0] : g;
            let ok = true;
            try {
              Message.decode(first);
            } catch {
              ok = false;
            }
            assert(!ok, `garbage decodes: ${dec.decode(enc.encode(String(first)).slice(0, 80))}`);
          }
          let seq = 0;
          const valid = () => new Message(subject, "file", { seq: seq++ }).encode();
          // warm-up: valid messages until to-kafka (found through the nameserver) subscribed
          await until(async () => {
            if (pub.subscriberCount(head) > 0) return true;
            await pub.send(valid());
            return false;
          }, { timeoutMs: 20_000, intervalMs: 100, what: "to-kafka subscribed to the raw PUB" });
          const ROUNDS = 25;
          let junkSent = 0;
          for (let r = 0; r < ROUNDS; r++) {
            for (const g of garbage) {
              await pub.send(valid());
              await pub.send(g);
              junkSent++;
            }
          }
          await pub.send(valid());
          const sent = seq;
          // warm-up messages sent before the subscription were dropped by the PUB (no subscriber):
          // to-kafka must receive exactly the interleaved valid ones and produce them all
          const expected = ROUNDS * garbage.length + 1;
          const first = sent - expected;
          await until(() => {
            const s = lastStats(up);
            return s !== undefined && s.pending === 0 && s.produced === s.received &&
              s.received >= expected;
          }, { timeoutMs: 20_000, what: "to-kafka produced what it received" });
          const stats = lastStats(up)!;
          const got = await topicMessages(kafka, topic);
          const seqs = got.map((m) => seqOf(m)!);
          const missing = missingIn(seqs, first, sent - 1);
          assertEquals(await exitWithin(up, 0), null, "to-kafka still runs");
          assertEquals(missing, []);
          assertEquals(got.length, expected, "only the valid messages, once each");
          assertEquals(stats.received, expected, "received only valid messages");
          const { code } = await up.kill("SIGTERM");
          assertEquals(code, 0);
          await recordFault({
            area: "bridge",
            fault: "raw ZeroMQ PUB registered with the nameserver sends invalid posttroll frames " +
              "(truncated headers, bad time, bad JSON, bad UTF-8, 256 KiB junk, multipart, empty) " +
              "between valid ones to to-kafka",
            inputs: junkSent + sent,
            lost: missing.length,
            notes: `${junkSent} garbage frames dropped, ${got.length} valid messages in Kafka ` +
              `(every one from seq ${first} to ${sent - 1}), none else; to-kafka kept running, ` +
              `SIGTERM exit ${code}`,
          });
        } finally {
          await announce.stop();
          await pub.close();
        }
      },
    );

    await step(
      "full disk under from-kafka's state dir: forwarding goes on, state loads after",
      async () => {
        const topic = "posttroll.fault.disk";
        const subject = "/fault/disk";
        const root = Deno.uid() === 0;
        const mnt = await Deno.makeTempDir({ prefix: "bridge-faults-tmpfs-" });
        const mounted = root &&
          (await new Deno.Command("mount", {
            args: ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt],
            stdout: "null",
            stderr: "null",
          }).output()).success;
        if (!mounted) {
          console.log(
            `SKIPPED full-disk fault: ${
              root ? "`mount -t tmpfs` failed" : "not running as root"
            }; a small tmpfs is needed to fill the state directory's file system for real`,
          );
          await Deno.remove(mnt, { recursive: true });
          return;
        }
        const port = freePort();
        const state = `${mnt}/state`;
        const downArgs = ["from-kafka", ...plain, "--site", "b", "--topic", topic, "--port"].concat(
          [String(port), "--nameserver", "localhost", "--state-dir", state, "--start", "earliest"],
          ["--stats", "0.2"],
        );
        let down: Child | undefined;
        const sub = collector(b, port, subject);
        try {
          await createTopics(kafka, [topic]);
          down = await spawn(b, downArgs);
          const dedup =
            `${state}/posttroll-bridge.kafka_bridge.b.dedup` /* named after the consumer group */;
          assertEquals((await Deno.stat(dedup)).size, 8, "fresh state file: the magic only");
          // fill the file system: the filler takes every block left
          const filler = await Deno.open(`${mnt}/filler`, { write: true, create: true });
          const block = new Uint8Array(4096);
          let filled = 0;
          try {
            while (true) filled += await filler.write(block);
          } catch (e) {
            assert(String(e).includes("No space left"), String(e));
          } finally {
            filler.close();
          }
          const N = 400;
          const raws = Array.from(
            { length: N },
            (_, i) => new Message(subject, "file", { seq: i, uri: `/data/${i}.nc` }).encode(),
          );
          const t0 = Date.now();
          // in batches, so several flushes fail (the state file's first page holds ~170 ids)
          for (let i = 0; i < N; i += 40) {
            await produceRecords(kafka, topic, raws.slice(i, i + 40).map((value) => ({ value })));
            await until(() => sub.seqs.length >= Math.min(N, i + 40) || undefined, {
              timeoutMs: 20_000,
              what: `batch ${i / 40} at the subscriber (${sub.seqs.length})`,
            });
          }
          const forwardMs = Date.now() - t0;
          const missing = missingIn(sub.seqs, 0, N - 1);
          assertEquals(missing, []);
          await until(() => (lastStats(down!)?.commits ?? 0) >= N / 40 || undefined, {
            timeoutMs: 5000,
            what: "offsets committed",
          });
          const storeErrors = down.lines.filter((l) => l.includes("cannot persist ids"));
          assert(storeErrors.length >= 1, `no store error logged:\n${down.lines.join("\n")}`);
          assertStringIncludes(storeErrors[0], "No space left on device");
          assertStringIncludes(storeErrors[0], dedup);
          // rate-limited: one line per 10 s at most, although every batch's flush failed
          assert(
            storeErrors.length <= 1 + Math.floor(forwardMs / 10_000),
            `${storeErrors.length} store error lines in ${forwardMs} ms`,
          );
          const sizeFull = (await Deno.stat(dedup)).size;
          assert((sizeFull - 8) % 24 === 0, `state file cut back to whole records (${sizeFull})`);
          assert(sizeFull < 8 + N * 24, `the disk really was full (${sizeFull} bytes)`);
          // free the space; a graceful stop writes the ids still held
          await Deno.remove(`${mnt}/filler`);
          const stop1 = await down.kill("SIGTERM");
          assertEquals(stop1.code, 0, down.lines.join("\n"));
          const sizeAfter = (await Deno.stat(dedup)).size;
          assertEquals(sizeAfter, 8 + N * 24, "every id written at the graceful stop");
          // restart on the same state; the same messages again are all known
          down = await spawn(b, downArgs);
          assert(!down.lines.some((l) => /ERROR|CRITICAL/.test(l)), down.lines.join("\n"));
          await produceRecords(kafka, topic, raws.map((value) => ({ value })));
          await until(() => (lastStats(down!)?.duplicates ?? 0) >= N || undefined, {
            timeoutMs: 20_000,
            what: `${N} duplicates suppressed after the restart`,
          });
          const st = lastStats(down)!;
          assertEquals(st.published, 0);
          assertEquals(sub.seqs.length, N, "nothing republished after the restart");
          const stop2 = await down.kill("SIGTERM");
          assertEquals(stop2.code, 0);
          await recordFault({
            area: "bridge",
            fault: "from-kafka state dir on a full file system (64 KiB tmpfs filled by a file), " +
              "then space freed and a graceful restart",
            inputs: N,
            lost: missing.length,
            notes: `all ${N} republished while the disk was full (${forwardMs} ms, 10 batches); ` +
              `${storeErrors.length} DedupStoreError log line (ENOSPC, rate-limited); state file ` +
              `cut back to ${sizeFull} B of whole records; after freeing ${filled} B and SIGTERM ` +
              `(exit 0) it held all ${N} ids; restarted, the same ${N} records again were all ` +
              "suppressed as duplicates",
          });
        } finally {
          await down?.kill("SIGKILL");
          await sub.close();
          await new Deno.Command("umount", { args: [mnt], stdout: "null", stderr: "null" })
            .output();
          await Deno.remove(mnt, { recursive: true }).catch(() => {});
        }
      },
    );

    await step(
      "broker stopped and restarted under to-kafka and from-kafka; SIGTERM during and after",
      async () => {
        const subject = "/fault/outage";
        const topic = "posttroll.fault.outage";
        const termTopic = "faults-term";
        const CLOSE_S = 3;
        const port = freePort();
        const stateDir = await Deno.makeTempDir({ prefix: "bridge-faults-state-" });
        const up = await spawn(
          a,
          ["to-kafka", ...plain, "--site", "a", "-s", "outage_src"].concat([
            "--stats",
            "0.2",
          ]),
        );
        const term = await spawn(
          a,
          ["to-kafka", ...plain, "--site", "a", "-s", "outage_src"].concat([
            "--topic",
            termTopic,
            "--close-timeout",
            String(CLOSE_S),
            "--stats",
            "0.2",
          ]),
        );
        const down = await spawn(
          b,
          ["from-kafka", ...plain, "--site", "b", "--topic", topic].concat([
            "--port",
            String(port),
            "--nameserver",
            "localhost",
            "--state-dir",
            stateDir,
            "--start",
            "earliest",
            "--refresh",
            "0.3",
            "--stats",
            "0.2",
          ]),
        );
        const sub = collector(b, port, subject);
        const pub = await new NoisyPublisher("outage_src", {
          nameservers: ["localhost"],
          broadcastInterval: 0.5,
          config: a.setup.config,
        }).start();
        let seq = 0;
        let publishing = true;
        let rate = 10; // ms between messages
        const feeding = (async () => {
          while (publishing) {
            await pub.send(new Message(subject, "file", { seq: seq++ }).encode());
            await new Promise((r) => setTimeout(r, rate));
          }
        })();
        try {
          await until(
            () =>
              (lastStats(up)?.produced ?? 0) >= 20 && (lastStats(term)?.produced ?? 0) >= 20 &&
              sub.seqs.length >= 20,
            { timeoutMs: 30_000, what: "the path working before the outage" },
          );
          const stopT0 = Date.now();
          await kafka.stop();
          const outageStart = Date.now();
          const seqAtStop = seq;
          // keep publishing; SIGTERM the second uplink while it holds messages
          await until(() => (lastStats(term)?.pending ?? 0) >= 50, {
            timeoutMs: 15_000,
            what: "the second to-kafka holding messages",
          });
          const termT0 = Date.now();
          term.child.kill("SIGTERM");
          const termCode = await exitWithin(term, CLOSE_S * 1000 + 15_000);
          const termMs = Date.now() - termT0;
          await term.done;
          const termText = term.lines.join("\n");
          assertEquals(termCode, 1, termText);
          const stopped = lastStats(term)!;
          const report = term.lines.find((l) => l.includes("messages could not be delivered"));
          assert(report, `no undelivered report:\n${termText}`);
          const reported = Number(/(\d+) messages could not be delivered/.exec(report)![1]);
          assertEquals(reported, stopped.failed);
          assertEquals(stopped.received - stopped.produced - stopped.dropped, stopped.failed);
          assert(
            termMs >= CLOSE_S * 1000 - 500,
            `gave up after ${termMs} ms, before --close-timeout`,
          );
          assert(termMs < CLOSE_S * 1000 + 10_000, `gave up only after ${termMs} ms`);
          // the up/down bridges ride the outage out
          await until(() => (lastStats(up)?.retries ?? 0) > 0, {
            timeoutMs: 10_000,
            what: "to-kafka retrying",
          });
          const restartT0 = Date.now();
          await kafka.restart();
          const outageMs = Date.now() - outageStart;
          const seqAtRestart = seq;
          assertEquals(await exitWithin(up, 0), null, "to-kafka still runs");
          assertEquals(await exitWithin(down, 0), null, "from-kafka still runs");
          // what the stopped uplink says it delivered is what its topic holds, but for the produce
          // request in flight when the broker stopped: Kafka may have written it without
          // answering, and the bridge counts those records as undelivered (as Kafka's producer
          // reports such records failed). One request at a time (maxInFlight 1): at most the
          // records of a first refused attempt ("Kafka did not take N records")
          const termGot = (await topicMessages(kafka, termTopic)).map((m) => seqOf(m)!);
          const inTopic = new Set(termGot).size;
          const unknown = Math.max(
            0,
            ...term.lines.map((l) => Number(/Kafka did not take (\d+) records/.exec(l)?.[1] ?? 0)),
          );
          assert(
            inTopic >= stopped.produced && inTopic <= stopped.produced + unknown,
            `term topic holds ${inTopic}: acknowledged ${stopped.produced}, outcome unknown ` +
              `<= ${unknown}`,
          );
          // the reported count is what was held and never reached Kafka, but for those
          const neverReached = stopped.received - inTopic;
          assert(
            neverReached <= reported && neverReached >= reported - unknown,
            `${neverReached} never reached Kafka, ${reported} reported`,
          );
          // the first uplink delivers everything it held once the broker is back
          const heldAtRestart = lastStats(up)!;
          await until(() => (lastStats(up)?.produced ?? 0) >= heldAtRestart.received || undefined, {
            timeoutMs: 40_000,
            what: `to-kafka delivering the held messages (${JSON.stringify(lastStats(up))})`,
          });
          const recoverMs = Date.now() - restartT0;
          // then SIGTERM in the middle of a burst, broker up: what it received is delivered
          rate = 0;
          const burstFrom = seq;
          await until(() => seq >= burstFrom + 300, { timeoutMs: 20_000, what: "burst" });
          const beforeTerm = lastStats(up)!;
          const upStop = await up.kill("SIGTERM");
          publishing = false;
          await feeding;
          const burst = seq - burstFrom;
          const upFinal = lastStats(up)!;
          assertEquals(upStop.code, 0, up.lines.join("\n"));
          assertEquals(upFinal.failed, 0);
          assertEquals(upFinal.produced, upFinal.received);
          const got = (await topicMessages(kafka, topic)).map((m) => seqOf(m)!);
          const first = Math.min(...got);
          const last = first + upFinal.received - 1;
          const lost = missingIn(got, first, last);
          assertEquals(lost, [], "every message to-kafka received is in Kafka");
          assert(first < seqAtStop && last >= seqAtRestart, `range ${first}..${last}`);
          const dupsInKafka = got.length - new Set(got).size;
          // from-kafka republished every record of the topic to the subscriber at site B
          await until(() => missingIn(sub.seqs, first, last).length === 0 || undefined, {
            timeoutMs: 30_000,
            what: `the subscriber at B getting ${first}..${last} (missing ${
              missingIn(sub.seqs, first, last).length
            })`,
          });
          const subDups = sub.seqs.length - new Set(sub.seqs).size;
          const downStats = lastStats(down)!;
          const downStop = await down.kill("SIGTERM");
          assertEquals(downStop.code, 0);
          assert(upFinal.retries > 0, `retries ${upFinal.retries}`);
          await recordFault({
            area: "bridge",
            fault: "Kafka broker stopped and restarted under to-kafka (fed by NoisyPublisher at " +
              "100/s) and from-kafka (posttroll subscriber at site B)",
            inputs: upFinal.received,
            lost: lost.length,
            notes:
              `outage ${sec(outageMs)} (stop ${sec(outageStart - stopT0)}); ${
                seqAtRestart - seqAtStop
              } published during it; to-kafka retries ${upFinal.retries}, delivered the backlog ` +
              `${sec(recoverMs)} after the restart began; ${upFinal.received} received = ` +
              `${upFinal.produced} produced, seqs ${first}..${last} all in Kafka ` +
              `(${dupsInKafka} duplicate records); from-kafka restarts ${downStats.restarts}, ` +
              `all at the subscriber (${subDups} duplicates)`,
          });
          await recordFault({
            area: "bridge",
            fault: `SIGTERM to to-kafka while the broker is down (--close-timeout ${CLOSE_S})`,
            inputs: stopped.received,
            lost: reported,
            notes: `by design (broker down past the deadline): exit 1 after ${termMs} ms; logged ` +
              `"${reported} messages could not be delivered" = received ${stopped.received} - ` +
              `acknowledged ${stopped.produced}; its topic holds ${inTopic} (the acknowledged, ` +
              `plus ${inTopic - stopped.produced} written by Kafka unanswered as it stopped); ${
                term.lines.filter((l) => l.includes("not delivered to Kafka")).length
              } "not delivered" log lines (the first 3, then one per 10 s)`,
          });
          await recordFault({
            area: "bridge",
            fault: "SIGTERM to to-kafka in the middle of a burst (publisher at full speed), " +
              "broker up",
            inputs: upFinal.received,
            lost: lost.length,
            notes:
              `exit 0 after ${upStop.ms} ms; ${
                upFinal.received - beforeTerm.produced
              } messages acknowledged after the last stats line (<= 0.2 s before SIGTERM), all ` +
              `${upFinal.received} received acknowledged and in Kafka (burst ${burst} sent, ` +
              "the rest after its subscriber closed)",
          });
        } finally {
          publishing = false;
          await feeding;
          await pub.stop();
          await sub.close();
          await Deno.remove(stateDir, { recursive: true }).catch(() => {});
        }
      },
    );

    // a broker that accepts TCP connections but never answers (hung broker, half-open path):
    // SIGTERM must end both bridges within their deadlines (to-kafka: --close-timeout, then at
    // most 2 s for the producer; from-kafka: at most 5 s for the consumer), and to-kafka reports
    // the undelivered messages in a few lines, not one per message
    await step(
      "SIGTERM to both bridges while the broker hangs: bounded exit, one report",
      async () => {
        const CLOSE_S = 3;
        const up = await spawn(
          a,
          ["to-kafka", ...plain, "--site", "a", "-s", "hang_src"].concat([
            "--close-timeout",
            String(CLOSE_S),
            "--stats",
            "0.2",
          ]),
        );
        const down = await spawn(
          b,
          ["from-kafka", ...plain, "--site", "b", "--topic", "posttroll.fault.hang"].concat([
            // a group of its own: not the one a previous step's from-kafka may still be in
            "--group-id",
            "faults-hang",
            "--no-state",
            "--min-subscribers",
            "0",
            "--nameserver",
            "localhost",
            "--start",
            "earliest",
            "--refresh",
            "0.3",
            "--stats",
            "0.2",
          ]),
        );
        const pub = await new NoisyPublisher("hang_src", {
          nameservers: ["localhost"],
          broadcastInterval: 0.5,
          config: a.setup.config,
        }).start();
        let publishing = true;
        let seq = 0;
        const feeding = (async () => {
          while (publishing) {
            await pub.send(new Message("/fault/hang", "file", { seq: seq++ }).encode());
            await new Promise((r) => setTimeout(r, 10));
          }
        })();
        const [host, port] = kafka.plaintext.split(":");
        let silent: Deno.Listener | undefined;
        const held: Deno.Conn[] = [];
        try {
          await until(
            () => (lastStats(up)?.produced ?? 0) >= 20 && (lastStats(down)?.consumed ?? 0) > 0,
            { timeoutMs: 30_000, what: "to-kafka producing, from-kafka consuming" },
          );
          await kafka.stop();
          // the broker's port now accepts connections and never answers
          silent = Deno.listen({ hostname: host, port: Number(port) });
          (async () => {
            for await (const c of silent!) held.push(c);
          })().catch(() => {});
          await until(() => (lastStats(up)?.pending ?? 0) >= 50, {
            timeoutMs: 15_000,
            what: "to-kafka holding messages",
          });
          const limit = CLOSE_S * 1000 + 5000;
          const term = async (c: Child) => {
            const t0 = Date.now();
            c.child.kill("SIGTERM");
            const code = await exitWithin(c, limit);
            return { code, ms: Date.now() - t0 };
          };
          const [u, d] = await Promise.all([term(up), term(down)]);
          const failures: string[] = [];
          if (u.code === null) failures.push(`to-kafka still running ${u.ms} ms after SIGTERM`);
          else if (u.code !== 1) failures.push(`to-kafka exit ${u.code}`);
          if (d.code === null) failures.push(`from-kafka still running ${d.ms} ms after SIGTERM`);
          else if (d.code !== 0) failures.push(`from-kafka exit ${d.code}`);
          await up.kill("SIGKILL");
          const st = lastStats(up)!;
          const perMessage = up.lines.filter((l) => l.includes("not delivered to Kafka")).length;
          if (perMessage > 5) {
            failures.push(
              `to-kafka: ${perMessage} "not delivered" lines for ${st.failed} messages`,
            );
          }
          assertEquals(failures, []);
          await recordFault({
            area: "bridge",
            fault: `SIGTERM to to-kafka (--close-timeout ${CLOSE_S}) and from-kafka while the ` +
              "broker hangs (port accepts, never answers)",
            inputs: st.received,
            lost: st.failed,
            notes: `by design (broker unusable past the deadline): to-kafka exit ${u.code} after ` +
              `${u.ms} ms, ${st.failed} reported undelivered; from-kafka exit ${d.code} after ` +
              `${d.ms} ms`,
          });
        } finally {
          publishing = false;
          await feeding;
          await up.kill("SIGKILL");
          await down.kill("SIGKILL");
          silent?.close();
          for (const c of held) c.close();
          await pub.stop();
        }
      },
    );
  } finally {
    await Promise.all(children.map((c) => c.kill("SIGKILL").catch(() => {})));
  }
});
