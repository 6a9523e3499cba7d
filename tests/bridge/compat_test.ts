// Compatibility of the posttroll <-> Kafka bridge with the Python reference peers and with data
// it does not control, against one real Kafka broker:
// - to-kafka's records are what hop-client 0.13 reads as a hop Blob (value = the posttroll
//   message bytes, hop's `_id`/`_sender`/`_format` headers, the bridge's posttroll_* headers),
//   and a Blob written by Python hop under a posttroll.* topic reaches a Python posttroll
//   subscriber through from-kafka;
// - a message that Python would re-encode differently travels byte for byte (publisher ->
//   to-kafka -> Kafka record -> from-kafka -> subscriber);
// - records that are not posttroll messages (garbage, JSON, empty, tombstone) are counted and
//   skipped, and the messages after them still arrive.
import { Buffer } from "node:buffer";
import { assert, assertEquals } from "@std/assert";
import { startKafka } from "../../testing/kafka.ts";
import { python, PythonProcess } from "../../testing/python.ts";
import { until } from "../../testing/net.ts";
import { testSetup } from "../../testing/posttroll.ts";
import { KafkaToPosttroll, messageIdentity, PosttrollToKafka } from "../../lib/bridge/mod.ts";
import { Message } from "../../lib/posttroll/message.ts";
import { Publisher } from "../../lib/posttroll/publisher.ts";
import { rawMessage, Subscriber } from "../../lib/posttroll/subscriber.ts";
import { authFile, createTopics, produceRecords, readRecords, take } from "./_sites.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const b64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const toB64 = (b: Uint8Array) => Buffer.from(b).toString("base64");

/** A log sink that keeps the bridge's lines for failure messages. */
function keepLog(): { lines: string[]; logger: (level: string, msg: string) => void } {
  const lines: string[] = [];
  return { lines, logger: (level, msg) => lines.push(`${level}: ${msg}`) };
}

// hop-client consumer: every record of the URL's topic from the beginning, as hop deserialises it
const HOP_READ = `
import base64, json, sys
from hop import Stream
from hop.auth import load_auth
from hop.io import StartPosition
url, authfile, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
b64 = lambda b: base64.b64encode(b).decode() if b is not None else None
import time
from confluent_kafka import KafkaError, KafkaException
# a fresh consumer group can meet a broker whose group coordinator is not ready yet
# (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS): before the first record, try again
TRANSIENT = {KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_NOT_AVAILABLE,
             KafkaError.COORDINATOR_LOAD_IN_PROGRESS}
got = 0
for attempt in range(5):
    stream = Stream(auth=load_auth(authfile), start_at=StartPosition.EARLIEST, until_eos=True)
    try:
        with stream.open(url, "r") as s:
            for payload, meta in s.read(metadata=True):
                content = payload.content if isinstance(payload.content, bytes) else None
                key = meta.key.encode() if isinstance(meta.key, str) else meta.key
                print(json.dumps({"model": type(payload).__name__, "content": b64(content),
                                  "key": b64(key), "topic": meta.topic,
                                  "headers": [[k, b64(v)] for k, v in (meta.headers or [])]}),
                      flush=True)
                got += 1
                if got >= n:
                    break
        break
    except KafkaException as e:
        if got > 0 or e.args[0].code() not in TRANSIENT or attempt == 4:
            raise
        print("retrying after", e.args[0].str(), file=sys.stderr, flush=True)
        time.sleep(1)
print("END", got, flush=True)
`;

// hop-client producer: posttroll messages encoded by Python posttroll, written as hop Blobs
const HOP_WRITE = `
import sys
from hop import Stream
from hop.auth import load_auth
from hop.models import Blob
from posttroll.message import Message
url, authfile, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with Stream(auth=load_auth(authfile)).open(url, "w") as s:
    for i in range(n):
        text = Message("/hop/python", "file", {"seq": i, "uri": "/data/%d.nc" % i}).encode()
        s.write(Blob(content=text.encode()))
        print("WROTE " + text, flush=True)
`;

// Python posttroll subscriber connected straight to one publisher address
const PY_SUBSCRIBER = `
import json, sys
from posttroll.subscriber import Subscriber
sub = Subscriber([sys.argv[1]], topics="")
print("ready", flush=True)
for msg in sub.recv(timeout=0.2):
    if msg is not None:
        print("GOT " + json.dumps([msg.subject, msg.data, msg.encode()]), flush=True)
`;

// Messages Python's posttroll would not reproduce byte for byte: spacing, number spellings,
// unescaped UTF-8, a time with an offset.
const ODD_MESSAGES = [
  "pytroll://bytes/exact file alice@host.example 2024-05-06T07:08:09.123456 v1.01 " +
  'application/json {"uri":"/data/x.nc" ,  "z": 1.50, "a":[1,2 ,3],  "e":"\\u00e9", "k":1e3}',
  "pytroll://bytes/exact info bob@h 2024-05-06T07:08:09.000001+02:00 v1.2 application/json " +
  '{ "name" : "é ✓ 雪", "nested": {"b":null,"a":true} }',
  "pytroll://bytes/exact beat carol@h 2024-05-06T07:08:10 v1.01 text/ascii   two  spaces ",
].map((m) => enc.encode(m));
// a large one (256 KiB of data: frames this size are not copied on the way)
ODD_MESSAGES.push(
  enc.encode(
    "pytroll://bytes/exact file erin@h 2024-05-06T07:08:12 v1.01 application/json " +
      `{"blob":  "${"x\\u00e9".repeat(37_449)}"}`,
  ),
);
// binary data that is not UTF-8 (decoded as ISO-8859-1 by posttroll, re-encoded as UTF-8)
ODD_MESSAGES.push(
  new Uint8Array([
    ...enc.encode(
      "pytroll://bytes/exact data dave@h 2024-05-06T07:08:11 v1.01 binary/octet-stream ",
    ),
    0xff,
    0x00,
    0xfe,
    0x80,
    0x0a,
    0x41,
  ]),
);

Deno.test("bridge compatibility with hop-client and Python posttroll, byte exactness, non-posttroll records", async (t) => {
  await using kafka = await startKafka();
  const { file: auth, url: authUrl } = await authFile(kafka);
  const sslPort = kafka.saslSsl.split(":")[1];
  const plainUrl = `kafka://${kafka.plaintext}/`;
  const setup = testSetup({ POSTTROLL_MULTICAST: "False" });
  const config = setup.config;

  await t.step(
    "to-kafka records read by hop-client: Blob of the exact bytes, hop and posttroll headers",
    async () => {
      const log = keepLog();
      await using pub = await new Publisher("tcp://127.0.0.1:0", { config }).start();
      await using up = await new PosttrollToKafka({
        url: authUrl,
        authfile: auth,
        nameserver: false,
        addresses: [`tcp://127.0.0.1:${pub.portNumber}`],
        site: "site-a",
        config,
        logger: log.logger,
      }).start();
      await until(() => pub.subscriberCount() >= 1, { what: "to-kafka subscribed" });
      const sent = [
        new Message("/hop/compat/a", "file", { uri: "/data/1.nc", n: 1 }).encode(),
        new Message("/hop/compat/a", "info", "ä text").encode(),
        new Message("/hop/compat/a", "beat").encode(),
      ];
      for (const s of sent) await pub.send(s);
      await until(() => up.stats.produced >= sent.length, {
        what: `records produced (${JSON.stringify(up.stats)}; ${log.lines.join("; ")})`,
      });
      const out = await python(HOP_READ, {
        args: [`kafka://alice@localhost:${sslPort}/posttroll.hop.compat.a`, auth, "3"],
        timeoutMs: 40_000,
      });
      const records = out.trim().split("\n").filter((l) => l.startsWith("{")).map((l) =>
        JSON.parse(l)
      );
      assertEquals(records.length, sent.length, out);
      for (let i = 0; i < sent.length; i++) {
        const r = records[i];
        const raw = enc.encode(sent[i]);
        assertEquals(r.model, "Blob", "hop deserialises the record as a Blob");
        assertEquals(b64(r.content), raw, "Blob content == the posttroll message bytes");
        assertEquals(dec.decode(b64(r.key)), "/hop/compat/a", "keyed by subject");
        const h = new Map<string, Uint8Array>(
          r.headers.map(([k, v]: [string, string]) => [k, b64(v)]),
        );
        assertEquals(h.get("_id"), messageIdentity(raw), "_id is the message identity (16 bytes)");
        assertEquals(h.get("_id")!.length, 16);
        assertEquals(dec.decode(h.get("_format")), "blob");
        assertEquals(dec.decode(h.get("_sender")), "alice");
        assertEquals(dec.decode(h.get("posttroll_subject")), "/hop/compat/a");
        assertEquals(dec.decode(h.get("posttroll_type")), Message.decode(sent[i]).type);
        assertEquals(dec.decode(h.get("posttroll_origin")), "site-a");
      }
      assertEquals(up.stats.failed, 0);
      // the same record as Python hop's Producer.pack makes (header order, values but _id, payload)
      const packed = JSON.parse(
        await python(
          `import base64, json, sys
from hop.auth import Auth
from hop.io import Producer
from hop.models import Blob
from posttroll.message import Message
raw = sys.argv[1].encode()
m = Message.decode(raw)
payload, headers = Producer.pack(Blob(content=raw), headers=[
    ("posttroll_subject", m.subject.encode()), ("posttroll_type", m.type.encode()),
    ("posttroll_origin", b"site-a")], auth=Auth("alice", "x"))
b64 = lambda b: base64.b64encode(b).decode()
print(json.dumps({"payload": b64(payload), "headers": [[k, b64(v)] for k, v in headers]}))`,
          { args: [sent[0]] },
        ),
      );
      assertEquals(records[0].content, packed.payload);
      assertEquals(
        records[0].headers.map(([k]: [string]) => k),
        packed.headers.map(([k]: [string]) => k),
      );
      assertEquals(
        records[0].headers.filter(([k]: [string]) => k !== "_id"),
        packed.headers.filter(([k]: [string]) => k !== "_id"),
      );
    },
  );

  await t.step(
    "hop-client Blob under posttroll.* -> from-kafka -> Python posttroll subscriber",
    async () => {
      const topic = "posttroll.hop.python";
      await createTopics(kafka, [topic]);
      const log = keepLog();
      await using down = await new KafkaToPosttroll({
        url: authUrl,
        authfile: auth,
        topics: [topic],
        site: "site-b",
        groupId: "compat-hop-python",
        start: "earliest",
        broadcastInterval: 0,
        announceHost: "127.0.0.1",
        refreshIntervalMs: 300,
        config,
        logger: log.logger,
      }).start();
      const sub = PythonProcess.spawn(PY_SUBSCRIBER, {
        env: setup.env,
        args: [`tcp://127.0.0.1:${down.port}`],
      });
      try {
        await sub.waitForLine((l) => l === "ready", 20_000);
        await until(() => down.subscriberCount >= 1, { what: "Python subscriber connected" });
        const n = 5;
        const out = await python(HOP_WRITE, {
          args: [`kafka://alice@localhost:${sslPort}/${topic}`, auth, String(n)],
          timeoutMs: 40_000,
        });
        const wrote = out.split("\n").filter((l) => l.startsWith("WROTE ")).map((l) => l.slice(6));
        assertEquals(wrote.length, n, out);
        const got: Array<[string, { seq: number }, string]> = [];
        for (let i = 0; i < n; i++) {
          const line = await sub.waitForLine((l) => l.startsWith("GOT "), 20_000).catch((e) => {
            throw new Error(`${(e as Error).message}\nbridge: ${log.lines.join("\n")}`);
          });
          got.push(JSON.parse(line.slice(4)));
        }
        assertEquals(got.map((g) => g[2]), wrote, "the subscriber got the messages hop wrote");
        assertEquals(got.map((g) => g[1].seq), [0, 1, 2, 3, 4]);
        assertEquals(down.stats.published, n);
        assertEquals(down.stats.invalid, 0);
      } finally {
        await sub.close();
      }
    },
  );

  await t.step(
    "byte exactness: publisher -> to-kafka -> record -> from-kafka -> subscriber",
    async () => {
      // precondition: Python's posttroll re-encodes each of them differently
      const same = await python(
        `import base64, sys
from posttroll.message import Message
for line in sys.stdin.read().split():
    raw = base64.b64decode(line)
    print(Message.decode(raw).encode().encode("utf-8") == raw)`,
        { stdin: ODD_MESSAGES.map(toB64).join("\n") },
      );
      assertEquals(same.trim().split("\n"), ODD_MESSAGES.map(() => "False"));

      const topic = "posttroll.bytes.exact";
      const log = keepLog();
      await using pub = await new Publisher("tcp://127.0.0.1:0", { config }).start();
      await using up = await new PosttrollToKafka({
        url: plainUrl,
        noauth: true,
        nameserver: false,
        addresses: [`tcp://127.0.0.1:${pub.portNumber}`],
        site: "site-a",
        config,
        logger: log.logger,
      }).start();
      await using down = await new KafkaToPosttroll({
        url: plainUrl,
        noauth: true,
        topics: [topic],
        site: "site-b",
        groupId: "compat-bytes",
        start: "earliest",
        broadcastInterval: 0,
        announceHost: "127.0.0.1",
        refreshIntervalMs: 300,
        config,
        logger: log.logger,
      }).start();
      await using sub = new Subscriber([`tcp://127.0.0.1:${down.port}`], { keepRaw: true, config });
      await until(() => down.subscriberCount >= 1, { what: "subscriber connected to from-kafka" });
      await until(() => pub.subscriberCount() >= 1, { what: "to-kafka subscribed" });
      // sent as bytes, not re-encoded; the first one twice more: a publisher may repeat identical
      // bytes (the same content within a microsecond), and each send must arrive
      const sends = [...ODD_MESSAGES, ODD_MESSAGES[0], ODD_MESSAGES[0]];
      for (const m of sends) await pub.send(m);

      const raws = (await take(
        sub,
        sends.length,
        30_000,
        () => `up ${JSON.stringify(up.stats)} down ${JSON.stringify(down.stats)}; ${log.lines}`,
      )).map((m) => rawMessage(m));
      const records = await readRecords(kafka, topic, sends.length);
      const ids = new Set(records.map((r) => r.headers.find(([k]) => k === "_id")![1].join(",")));
      assertEquals(ids.size, sends.length, "repeats of identical bytes get their own ids");
      for (let i = 0; i < sends.length; i++) {
        const bytes = sends[i];
        assertEquals(records[i].value, bytes, `record ${i} value is the message's bytes`);
        assertEquals(raws[i], bytes, `message ${i} republished byte for byte`);
        // no credential, no hop _sender
        assertEquals(records[i].headers.map(([k]) => k), [
          "posttroll_subject",
          "posttroll_type",
          "posttroll_origin",
          "_id",
          "_format",
        ]);
      }
    },
  );

  await t.step(
    "non-posttroll records are counted as invalid and skipped; later messages arrive",
    async () => {
      const topic = "posttroll.invalid.records";
      await createTopics(kafka, [topic]);
      const log = keepLog();
      await using down = await new KafkaToPosttroll({
        url: plainUrl,
        noauth: true,
        topics: [topic],
        site: "site-b",
        groupId: "compat-invalid",
        start: "earliest",
        broadcastInterval: 0,
        announceHost: "127.0.0.1",
        config,
        logger: log.logger,
      }).start();
      await using sub = new Subscriber([`tcp://127.0.0.1:${down.port}`], { config });
      await until(() => down.subscriberCount >= 1, { what: "subscriber connected to from-kafka" });
      const bad = [
        { value: new Uint8Array([0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28, 0x0a]) }, // not UTF-8
        { value: '{"uri": "/data/x.nc", "format": "blob"}' }, // JSON
        { value: "" }, // empty value
        { value: null }, // tombstone
        { value: "pytroll://half/a/message info" }, // truncated posttroll
      ];
      const good = Array.from(
        { length: 5 },
        (_, i) => new Message("/invalid/records", "file", { seq: i }).encode(),
      );
      await produceRecords(kafka, topic, [
        ...bad.map((r) => ({ key: "/invalid/records", ...r })),
        ...good.map((value) => ({ key: "/invalid/records", value })),
      ]);
      const got = (await take(sub, good.length, 30_000, () => JSON.stringify(down.stats)))
        .map((m) => m.encode());
      assertEquals(got, good);
      const s = down.stats;
      assertEquals(s.invalid, bad.length, JSON.stringify(s));
      assertEquals(s.published, good.length);
      assertEquals(s.consumed, bad.length + good.length);
      assert(log.lines.some((l) => l.includes("not a posttroll message")), log.lines.join("\n"));
    },
  );
});
