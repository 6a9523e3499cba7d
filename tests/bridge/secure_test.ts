// The bridge between two sites that run posttroll's secure backend (CurveZMQ, `secure_zmq`) with
// keys from our `posttroll-generate-keys`: a Python secure publisher at site A, to-kafka as a
// CURVE client, Kafka over SASL_SSL, from-kafka as a CURVE server at site B, and a Python secure
// subscriber there. A subscriber at B whose key is not authorized gets nothing: the bridge opens
// no hole.
import { assertEquals } from "@std/assert";
import { startKafka } from "../../testing/kafka.ts";
import { PythonProcess } from "../../testing/python.ts";
import type { Child } from "../../testing/child.ts";
import { freePort } from "../../testing/net.ts";
import { cliKeys, keyEnv } from "../secure/_helpers.ts";
import { generateKeyFiles } from "../../lib/posttroll/secure_keys.ts";
import { authFile, startBridge, startSite } from "./_sites.ts";

const N = 40;

const PUBLISHER = `
import sys, time
from posttroll.publisher import Publisher
from posttroll.message import Message
# posttroll 1.16 cannot register directly with a nameserver under secure_zmq (multicast only), so
# site A's to-kafka is given the publisher's address
pub = Publisher("tcp://127.0.0.1:" + sys.argv[1], name="secure_data")
pub.start()
print("started", flush=True)
sys.stdin.readline()
for i in range(${N}):
    pub.send(Message("/secure/data", "file", {"seq": i}).encode())
    time.sleep(0.02)
print("done", flush=True)
sys.stdin.readline()
pub.stop()
`;

// straight to the bridge's port: an unknown key is refused by the nameserver as well
const DIRECT_SUBSCRIBER = `
import sys
from posttroll.subscriber import Subscriber
sub = Subscriber([sys.argv[1]], topics="/secure")
print("ready", flush=True)
for msg in sub.recv(timeout=0.2):
    if msg is not None:
        print("GOT %d" % msg.data["seq"], flush=True)
`;

const SUBSCRIBER = `
from posttroll.subscriber import Subscribe
with Subscribe("kafka_bridge", topics="/secure", addr_listener=True, nameserver="localhost") as sub:
    print("ready", flush=True)
    for msg in sub.recv(timeout=0.2):
        if msg is not None:
            print("GOT %d" % msg.data["seq"], flush=True)
`;

Deno.test("bridge between two secure_zmq sites (CURVE both sides, Python peers)", async () => {
  await using kafka = await startKafka();
  const { file, url } = await authFile(kafka);
  const keyDir = await Deno.makeTempDir({ prefix: "bridge-keys-" });
  const keys = await cliKeys(keyDir);
  const secure = { ...keyEnv(keys), POSTTROLL_BACKEND: "secure_zmq" };
  const a = await startSite("a", secure);
  const b = await startSite("b", secure);
  const children: Child[] = [a.nameserver, b.nameserver];
  const pys: PythonProcess[] = [];
  try {
    const common = ["--kafka", url, "--auth-file", file, "--stats", "0.5"];
    const pubPort = freePort();
    const downPort = freePort();
    children.push(
      await startBridge(a, [
        "to-kafka",
        ...common,
        "--site",
        "a",
        "--no-nameserver",
        "-a",
        `tcp://127.0.0.1:${pubPort}`,
      ]),
    );
    const down = await startBridge(b, [
      "from-kafka",
      ...common,
      "--site",
      "b",
      "--nameserver",
      "localhost",
      "--no-state",
      "--port",
      String(downPort),
      "--start",
      "earliest",
      "--refresh",
      "0.3",
    ]);
    children.push(down);
    const sub = PythonProcess.spawn(SUBSCRIBER, { env: b.env });
    // the same subscriber with a key site B does not know: must get nothing
    const intruder = await generateKeyFiles("intruder", { directory: keyDir });
    const plain = PythonProcess.spawn(DIRECT_SUBSCRIBER, {
      env: { ...b.env, POSTTROLL_CLIENT_SECRET_KEY_FILE: intruder.secretFile },
      args: [`tcp://127.0.0.1:${downPort}`],
    });
    pys.push(sub, plain);
    await sub.waitForLine((l) => l === "ready", 20_000);
    await plain.waitForLine((l) => l === "ready", 20_000);
    const pub = PythonProcess.spawn(PUBLISHER, { env: a.env, args: [String(pubPort)] });
    pys.push(pub);
    await pub.waitForLine((l) => l === "started", 20_000);
    // let to-kafka's CURVE connection and subscription reach the publisher
    await new Promise((r) => setTimeout(r, 1500));
    await pub.writeLine("go");
    await pub.waitForLine((l) => l === "done", 30_000);
    const seqs = new Set<number>();
    while (seqs.size < N) seqs.add(Number((await sub.readLine(30_000)).slice(4)));
    assertEquals(seqs.size, N);
    assertEquals(
      plain.seen.filter((l) => l.startsWith("GOT")),
      [],
      "unauthorized subscriber got nothing",
    );
    await pub.writeLine("");
  } finally {
    for (const p of pys) await p.close().catch(() => {});
    await Promise.all(children.map((c) => c.kill("SIGKILL").catch(() => {})));
    await Deno.remove(keyDir, { recursive: true }).catch(() => {});
  }
});
