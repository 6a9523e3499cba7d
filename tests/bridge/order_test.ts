// Delivery properties of the posttroll <-> Kafka bridge against one real Kafka broker:
// - per-subject order through a topic with several partitions (subjects interleaved);
// - from-kafka holds records while no posttroll subscriber is connected, and delivers them all
//   once one connects;
// - a site running both directions (CLI, same --site, one nameserver): each message reaches the
//   site's subscriber once, from-kafka skips the site's own records, and to-kafka does not
//   forward from-kafka's publisher back into Kafka.
import { assert, assertEquals } from "@std/assert";
import { type KafkaBroker, startKafka } from "../../testing/kafka.ts";
import { until } from "../../testing/net.ts";
import type { Child } from "../../testing/child.ts";
import { testSetup } from "../../testing/posttroll.ts";
import { KafkaToPosttroll, PosttrollToKafka } from "../../lib/bridge/mod.ts";
import { Message } from "../../lib/posttroll/message.ts";
import { NoisyPublisher, Publisher } from "../../lib/posttroll/publisher.ts";
import { NSSubscriber, Subscriber } from "../../lib/posttroll/subscriber.ts";
import {
  createTopics,
  lastStats,
  listTopics,
  produceRecords,
  recordCount,
  startBridge,
  startSite,
  take,
} from "./_sites.ts";

/** A log sink that keeps the bridge's lines for failure messages. */
function keepLog(): { lines: string[]; logger: (level: string, msg: string) => void } {
  const lines: string[] = [];
  return { lines, logger: (level, msg) => lines.push(`${level}: ${msg}`) };
}

Deno.test("bridge delivery: per-subject order over partitions, hold without subscribers, own site and loop prevention", async (t) => {
  await using kafka = await startKafka();
  const plainUrl = `kafka://${kafka.plaintext}/`;
  const setup = testSetup({ POSTTROLL_MULTICAST: "False" });
  const config = setup.config;

  await t.step(
    "3 interleaved subjects through a 3-partition topic keep their order, none lost",
    async () => {
      const subjects = ["/seq/alpha", "/seq/beta", "/seq/gamma"];
      const topic = "posttroll.seq"; // depth 1: all three subjects share it
      const log = keepLog();
      await using pub = await new Publisher("tcp://127.0.0.1:0", { config }).start();
      await using up = await new PosttrollToKafka({
        url: plainUrl,
        noauth: true,
        nameserver: false,
        addresses: [`tcp://127.0.0.1:${pub.portNumber}`],
        site: "site-a",
        depth: 1,
        partitions: 3,
        config,
        logger: log.logger,
      }).start();
      await using down = await new KafkaToPosttroll({
        url: plainUrl,
        noauth: true,
        topics: [topic],
        site: "site-b",
        groupId: "order-seq",
        start: "earliest",
        broadcastInterval: 0,
        announceHost: "127.0.0.1",
        refreshIntervalMs: 300,
        config,
        logger: log.logger,
      }).start();
      await using sub = new Subscriber([`tcp://127.0.0.1:${down.port}`], { config });
      await until(() => down.subscriberCount >= 1, { what: "subscriber connected to from-kafka" });
      await until(() => pub.subscriberCount() >= 1, { what: "to-kafka subscribed" });
      const total = 3000;
      const receiving = take(
        sub,
        total,
        60_000,
        () => `up ${JSON.stringify(up.stats)} down ${JSON.stringify(down.stats)}; ${log.lines}`,
      );
      // subjects in a pseudo-random interleaving (a fixed round-robin would line up with a
      // keyless round-robin partitioner and hide a lost key)
      let rnd = 12345;
      const next = new Map<string, number>(subjects.map((s) => [s, 0]));
      for (let i = 0; i < total; i++) {
        rnd = (rnd * 1103515245 + 12345) % 2147483648;
        const subject = subjects[(rnd >> 16) % subjects.length];
        const seq = next.get(subject)!;
        next.set(subject, seq + 1);
        await pub.send(new Message(subject, "file", { seq }));
        // flow control on the posttroll hop only (PUB drops beyond its high-water mark)
        if (i % 250 === 249) {
          await until(() => up.stats.received >= i + 1, { what: "to-kafka catching up" });
        }
      }
      const got = await receiving;
      const seqs = new Map<string, number[]>(subjects.map((s) => [s, []]));
      for (const m of got) {
        seqs.get(m.subject)!.push((m.data as { seq: number }).seq);
      }
      for (const s of subjects) {
        const n = next.get(s)!;
        assert(n > total / 5, `${s}: ${n} messages`);
        assertEquals(seqs.get(s), Array.from({ length: n }, (_, i) => i), `order of ${s}`);
      }
      // the topic has 3 partitions and the subjects really were spread over several of them
      const { partitions } = await recordCount(kafka, topic);
      assertEquals(partitions.length, 3);
      assert(partitions.filter((n) => n > 0).length >= 2, `records per partition ${partitions}`);
      assertEquals(partitions.reduce((a, b) => a + b, 0), total);
      assertEquals(down.stats.published, total);
    },
  );

  await t.step(
    "from-kafka holds records while no subscriber is connected, then delivers them all",
    async () => {
      const topic = "posttroll.hold.me";
      await createTopics(kafka, [topic]);
      const log = keepLog();
      await using down = await new KafkaToPosttroll({
        url: plainUrl,
        noauth: true,
        topics: [topic],
        site: "site-b",
        groupId: "order-hold",
        start: "earliest",
        minSubscribers: 1,
        sessionTimeoutMs: 6000, // the broker's minimum; the hold below outlasts it
        broadcastInterval: 0,
        announceHost: "127.0.0.1",
        config,
        logger: log.logger,
      }).start();
      const msgs = Array.from(
        { length: 40 },
        (_, i) => new Message("/hold/me", "file", { seq: i }).encode(),
      );
      await produceRecords(kafka, topic, msgs.slice(0, 20).map((value) => ({ value })));
      await until(() => down.stats.holds > 0, { timeoutMs: 20_000, what: "from-kafka holding" })
        .catch((e) => {
          throw new Error(`${e.message}: ${JSON.stringify(down.stats)}\n${log.lines.join("\n")}`);
        });
      // more records while it holds
      await produceRecords(kafka, topic, msgs.slice(20).map((value) => ({ value })));
      assertEquals(down.stats.published, 0, "nothing published without subscribers");
      assertEquals(down.stats.commits, 0, "nothing committed while holding");
      assert(log.lines.some((l) => l.includes("holding")), log.lines.join("\n"));
      // hold for longer than the session timeout (a duration under test, not a synchronisation)
      await new Promise((r) => setTimeout(r, 7000));
      assertEquals(down.stats.published, 0);
      assertEquals(down.stats.restarts, 0, `consumer restarted while holding: ${log.lines}`);
      await using sub = new Subscriber([`tcp://127.0.0.1:${down.port}`], { config });
      const got = await take(sub, msgs.length, 30_000, () => JSON.stringify(down.stats));
      assertEquals(got.map((m) => m.encode()), msgs);
      assertEquals(down.stats.published, msgs.length);
      assertEquals(down.stats.duplicates, 0);
      assert(down.stats.holds > 0);
    },
  );

  await t.step(
    "one site running both directions (CLI): each message once, own records skipped, no loop",
    async () => {
      const r = await runOneSite(kafka, "sitecheck");
      const ours = r.received.filter((m) => m.startsWith("pytroll://site/data"));
      const theirs = r.received.filter((m) => m.startsWith("pytroll://remote/data"));
      assertEquals(ours.sort(), [...r.sent].sort(), "own messages once, from the publisher");
      assertEquals(theirs.sort(), [...r.remote].sort(), "other site's messages once");
      // anything else is the site nameserver's own /address announcements, received directly
      const other = r.received.filter((m) => !ours.includes(m) && !theirs.includes(m));
      for (const m of other) assert(m.startsWith("pytroll://address/"), m);
      assert(r.downStats.ownSite >= r.sent.length, JSON.stringify(r.downStats));
      assertEquals(r.downStats.published, r.remote.length, JSON.stringify(r.downStats));
      // Kafka holds the original records only: nothing came back through from-kafka's publisher
      assertEquals(r.counts["sitecheck.site.data"], r.sent.length);
      assertEquals(
        r.counts["sitecheck.remote.data"],
        r.remote.length,
        "no echo of the remote ones",
      );
      // the site nameserver's own address publisher (service "address_receiver", as in Python
      // posttroll) is not forwarded: its site-local /address announcements stay at the site
      const addressTopics = Object.keys(r.counts).filter((t) => t.startsWith("sitecheck.address"));
      assertEquals(addressTopics, [], `forwarded: ${JSON.stringify(r.counts)}`);
      assertEquals(r.exitCodes, [0, 0]);
    },
  );
});

/** What a one-site run saw. */
interface OneSiteRun {
  sent: string[];
  remote: string[];
  received: string[];
  /** Records per topic under the prefix after the run. */
  counts: Record<string, number>;
  /** Records the site's to-kafka produced (its stats). */
  siteRecords: number;
  downStats: Record<string, number>;
  exitCodes: number[];
}

/**
 * One site: a nameserver, from-kafka and to-kafka (CLI, same --site, topic prefix `prefix`), a
 * NoisyPublisher and an all-services NSSubscriber; 30 messages published at the site and 5
 * records of another site produced to Kafka; returns what the subscriber got after a settle
 * period and what Kafka holds.
 */
async function runOneSite(kafka: KafkaBroker, prefix: string): Promise<OneSiteRun> {
  const plainUrl = `kafka://${kafka.plaintext}/`;
  const site = await startSite("s");
  const children: Child[] = [site.nameserver];
  const n = 30;
  try {
    // records another site's uplink produced, already waiting under the prefix
    const remoteTopic = `${prefix}.remote.data`;
    await createTopics(kafka, [remoteTopic]);
    const common = ["--kafka", plainUrl, "--no-auth", "--site", "s", "--prefix", prefix];
    const down = await startBridge(site, [
      "from-kafka",
      ...common,
      "--nameserver",
      "localhost",
      "--no-state",
      "--start",
      "earliest",
      "--refresh",
      "0.3",
      "--stats",
      "0.3",
    ]);
    children.push(down);
    const downPort = Number(/on port (\d+)/.exec(down.lines.find((l) => / ready: /.test(l))!)![1]);
    const up = await startBridge(site, ["to-kafka", ...common, "--stats", "0.3"]);
    children.push(up);
    await using pub = await new NoisyPublisher("sat_data", {
      nameservers: ["localhost"],
      broadcastInterval: 0.3,
      announceHost: "127.0.0.1",
      config: site.setup.config,
    }).start();
    await using ns = new NSSubscriber({
      services: "",
      addrListener: true,
      nameserver: "localhost",
      timeout: 2,
      config: site.setup.config,
    });
    const sub = await ns.start();
    // the site subscriber listens to both publishers; to-kafka only to the original one
    await until(
      () => pub.subscriberCount() >= 2 && sub.addresses.some((a) => a.URI.endsWith(`:${downPort}`)),
      { timeoutMs: 20_000, what: "site subscriber and to-kafka connected" },
    );
    await up.line((l) => /not forwarding .*kafka_bridge/.test(l), 20_000);
    const diag = () => `\nup:\n${up.lines.join("\n")}\ndown:\n${down.lines.join("\n")}`;
    const sent: string[] = [];
    for (let i = 0; i < n; i++) {
      const text = new Message("/site/data", "file", { seq: i }).encode();
      sent.push(text);
      await pub.send(text);
    }
    const remote = Array.from(
      { length: 5 },
      (_, i) => new Message("/remote/data", "file", { seq: i }).encode(),
    );
    await produceRecords(
      kafka,
      remoteTopic,
      remote.map((value) => ({
        key: "/remote/data",
        value,
        headers: { posttroll_origin: "elsewhere" },
      })),
    );
    const received: string[] = [];
    const want = () =>
      received.filter((m) => !m.startsWith("pytroll://address/")).length >= n + remote.length;
    while (!want()) {
      received.push(...(await take(sub, 1, 30_000, diag)).map((m) => m.encode()));
    }
    // settle: from-kafka has seen the site's own records, to-kafka has had time to echo
    await until(() => (lastStats(down)?.ownSite ?? 0) >= n, {
      timeoutMs: 20_000,
      what: `from-kafka skipping own records${diag()}`,
    });
    await new Promise((r) => setTimeout(r, 1500));
    received.push(...(await take(sub, 1000, 300).catch(() => [])).map((m) => m.encode()));
    const codes = await Promise.all([up, down].map((c) => c.kill("SIGTERM")));
    const counts: Record<string, number> = {};
    for (const topic of await listTopics(kafka)) {
      if (topic.startsWith(prefix + ".")) counts[topic] = (await recordCount(kafka, topic)).total;
    }
    return {
      sent,
      remote,
      received,
      counts,
      siteRecords: lastStats(up)?.produced ?? -1,
      downStats: lastStats(down) ?? {},
      exitCodes: codes.map((c) => c.code),
    };
  } finally {
    await Promise.all(children.map((c) => c.kill("SIGKILL").catch(() => {})));
  }
}
