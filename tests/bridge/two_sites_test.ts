// The bridge's acceptance test: a Python posttroll publisher at site A reaches a Python posttroll
// subscriber at site B through two to-kafka bridges (an HA pair), a real Kafka broker (SASL_SSL,
// SCRAM-SHA-512, credentials from a hop auth.toml) and a from-kafka bridge; one to-kafka bridge
// and the from-kafka bridge are killed (SIGKILL) and restarted in the middle. Every message must
// arrive; copies from the pair and redeliveries after the restart are suppressed.
import { assert, assertEquals } from "@std/assert";
import { startKafka } from "../../testing/kafka.ts";
import { PythonProcess } from "../../testing/python.ts";
import { freePort, until } from "../../testing/net.ts";
import type { Child } from "../../testing/child.ts";
import { authFile, lastStats, startBridge, startSite } from "./_sites.ts";

const N = 900;
const RATE = 150; // messages per second: 6 s of traffic

const PUBLISHER = `
import sys, time, select
from posttroll.publisher import NoisyPublisher
from posttroll.message import Message
pub = NoisyPublisher("sat_data", nameservers=["localhost"], broadcast_interval=0.5)
pub.start()
print("started", flush=True)
n, rate = int(sys.argv[1]), float(sys.argv[2])
while True:
    r, _, _ = select.select([sys.stdin], [], [], 0.1)
    if r and sys.stdin.readline().strip() == "go":
        break
    pub.send(Message("/warmup", "info", {"t": time.time()}).encode())
subjects = ["/oper/polar/avhrr", "/oper/polar/viirs", "/oper/geo/seviri_\\u00e9"]
t0 = time.time()
for i in range(n):
    pub.send(Message(subjects[i % 3], "file", {"seq": i, "uri": "/data/%d.nc" % i}).encode())
    print("SENT %d" % i, flush=True)
    delay = t0 + (i + 1) / rate - time.time()
    if delay > 0:
        time.sleep(delay)
print("done", flush=True)
sys.stdin.readline()
pub.stop()
`;

const SUBSCRIBER = `
import json
from posttroll.subscriber import Subscribe
with Subscribe("kafka_bridge", topics="", addr_listener=True, nameserver="localhost") as sub:
    print("ready", flush=True)
    for msg in sub.recv(timeout=0.2):
        if msg is None:
            continue
        if msg.subject == "/warmup":
            print("WARM", flush=True)
            continue
        print("GOT " + json.dumps([msg.subject, msg.data["seq"], msg.encode()]), flush=True)
`;

Deno.test("bridge: Python publisher at site A -> Kafka -> Python subscriber at site B, bridges restarted mid-way, nothing lost", async () => {
  await using kafka = await startKafka();
  const { file, url } = await authFile(kafka);
  const a = await startSite("a");
  const b = await startSite("b");
  const stateDir = await Deno.makeTempDir({ prefix: "bridge-state-" });
  const downPort = freePort();
  const children: Child[] = [a.nameserver, b.nameserver];
  const pys: PythonProcess[] = [];
  try {
    const upArgs = (n: number) =>
      [
        "to-kafka",
        "--kafka",
        url,
        "--auth-file",
        file,
        "--site",
        "a",
        "-s",
        "sat_data",
        "--stats",
        "0.5",
        "--partitions",
        "2",
      ].concat(n ? [] : []);
    const downArgs = [
      "from-kafka",
      "--kafka",
      url,
      "--auth-file",
      file,
      "--site",
      "b",
      "--nameserver",
      "localhost",
      "--port",
      String(downPort),
      "--state-dir",
      stateDir,
      "--start",
      "earliest",
      "--refresh",
      "0.5",
      "--stats",
      "0.5",
    ];
    let up1 = await startBridge(a, upArgs(1));
    const up2 = await startBridge(a, upArgs(2));
    children.push(up1, up2);
    let down = await startBridge(b, downArgs);
    children.push(down);

    const sub = PythonProcess.spawn(SUBSCRIBER, { env: b.env });
    pys.push(sub);
    await sub.waitForLine((l) => l === "ready", 20_000);
    const pub = PythonProcess.spawn(PUBLISHER, { env: a.env, args: [String(N), String(RATE)] });
    pys.push(pub);
    await pub.waitForLine((l) => l === "started", 20_000);
    // the whole path is up when warm-up messages arrive at B and both uplinks receive them
    await sub.waitForLine((l) => l === "WARM", 60_000);
    await until(() => (lastStats(up1)?.received ?? 0) > 0 && (lastStats(up2)?.received ?? 0) > 0, {
      timeoutMs: 20_000,
      what: "both to-kafka bridges receiving",
    });
    await pub.writeLine("go");

    const sent = () => pub.seen.filter((l) => l.startsWith("SENT ")).length;
    await until(() => sent() >= N / 3 || undefined, { timeoutMs: 30_000, what: "a third sent" });
    // one uplink dies and comes back; the other carries the traffic meanwhile
    await up1.kill("SIGKILL");
    up1 = await startBridge(a, upArgs(1));
    children.push(up1);
    await until(() => sent() >= (2 * N) / 3 || undefined, { timeoutMs: 30_000, what: "2/3 sent" });
    // the downlink dies mid-stream and comes back on the same port and state
    await down.kill("SIGKILL");
    down = await startBridge(b, downArgs);
    children.push(down);
    await pub.waitForLine((l) => l === "done", 60_000);

    const got = () =>
      sub.seen.filter((l) => l.startsWith("GOT ")).map((l) => JSON.parse(l.slice(4)));
    await until(() => new Set(got().map((g) => g[1])).size >= N || undefined, {
      timeoutMs: 60_000,
      what: `all ${N} messages at site B (have ${new Set(got().map((g) => g[1])).size})`,
    });
    const seqs = got().map((g) => g[1] as number);
    const unique = new Set(seqs);
    assertEquals(unique.size, N, "every message arrived");
    for (let i = 0; i < N; i++) assert(unique.has(i), `message ${i} lost`);
    const dups = seqs.length - unique.size;
    // a SIGKILL between republishing and syncing the state can repeat the messages of the
    // batch in hand; everything else (copies from the HA pair, redeliveries) is suppressed
    assert(dups <= 20, `${dups} duplicates reached the subscriber`);
    // what arrived is what was sent, re-encoded identically by Python
    for (const [subject, seq, raw] of got()) {
      assert(String(raw).startsWith(`pytroll:/${subject} file `), raw);
      assert(String(raw).includes(`"seq": ${seq},`), raw);
    }
    // stop gracefully: exit 0 and final counters
    await pub.writeLine("");
    const downStats = lastStats(down);
    const codes = await Promise.all([up1, up2, down].map((c) => c.kill("SIGTERM")));
    for (const c of codes) assertEquals(c.code, 0);
    // no to-kafka, the one killed mid-way included, failed to deliver a message (the HA pair
    // creates the topics concurrently: the one told "already exists" produces right after)
    for (const c of children) {
      const failed = c.lines.filter((l) => l.includes("not delivered"));
      assertEquals(failed, [], "messages a to-kafka bridge could not deliver");
    }
    const final = lastStats(down)!;
    assert(final.duplicates > 0, `the HA pair's copies were suppressed: ${JSON.stringify(final)}`);
    assertEquals(final.ownSite, 0);
    console.log(
      `two sites: ${N} sent, ${unique.size} received, ${dups} duplicates at B; ` +
        `downlink after restart ${JSON.stringify(downStats)}`,
    );
  } finally {
    for (const p of pys) await p.close().catch(() => {});
    await Promise.all(children.map((c) => c.kill("SIGKILL").catch(() => {})));
    await Deno.remove(stateDir, { recursive: true }).catch(() => {});
  }
});
