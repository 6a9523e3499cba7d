// Unit tests of the bridge's subject -> Kafka topic mapping (lib/bridge/topics.ts): escaping,
// depth, fixed topics, the inverse over seeded random subjects, Kafka's name rules (including its
// `.`/`_` collision rule) and, at the end, a real broker creating and serving produced names.
import { assert, assertEquals, assertMatch, assertNotEquals, assertThrows } from "@std/assert";
import { startKafka } from "../../testing/kafka.ts";
import { plainCluster } from "../../testing/kafka_records.ts";
import { withAdmin } from "../../lib/kafka/admin.ts";
import { KafkaConsumer } from "../../lib/kafka/consumer.ts";
import { KafkaProducer } from "../../lib/kafka/producer.ts";
import {
  DEFAULT_TOPIC_PREFIX,
  MAX_TOPIC_LENGTH,
  subjectToTopic,
  topicHasPrefix,
  topicToSubject,
  validateTopicMapping,
  validateTopicName,
} from "../../lib/bridge/topics.ts";
import { BridgeOptionError } from "../../lib/bridge/errors.ts";
import { rng } from "../_rng.ts";

const KAFKA_NAME = /^[A-Za-z0-9._-]+$/;

/** Kafka's own checks on a topic name (Topic.validate). */
function assertKafkaName(name: string, what = name): void {
  assertMatch(name, KAFKA_NAME, `illegal characters in ${what}`);
  assert(name.length >= 1 && name.length <= MAX_TOPIC_LENGTH, `length ${name.length} of ${what}`);
  assert(name !== "." && name !== "..", `${what} is . or ..`);
  validateTopicName(name);
}

/** Kafka refuses a topic equal to an existing one once `.` and `_` are read as one character. */
function collisionKey(name: string): string {
  return name.replaceAll(".", "_");
}

const ASCII = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const PUNCT = "._- ~:@%+,=!#$&'()*;?[]{}|\\\"<>^`\t";
const UNICODE = ["é", "ü", "ß", "Å", "中", "文", "\u00a0", "\u0301", "€", "😀", "𝔘", "\u{10ffff}"];

function randomChar(r: () => number): string {
  const x = r();
  if (x < 0.55) return ASCII[Math.floor(r() * ASCII.length)];
  if (x < 0.8) return PUNCT[Math.floor(r() * PUNCT.length)];
  if (x < 0.9) return UNICODE[Math.floor(r() * UNICODE.length)];
  // any scalar value (no surrogates), from each UTF-8 length class
  const ranges: Array<[number, number]> = [[0x80, 0x7ff], [0x800, 0xd7ff], [0xe000, 0xffff], [
    0x10000,
    0x10ffff,
  ]];
  const [lo, hi] = ranges[Math.floor(r() * ranges.length)];
  return String.fromCodePoint(lo + Math.floor(r() * (hi - lo + 1)));
}

function randomSubject(r: () => number): string {
  const n = Math.floor(r() * 7); // 0..6 components ("/" when none)
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const len = r() < 0.1 ? 0 : r() < 0.05 ? 40 + Math.floor(r() * 60) : Math.floor(r() * 12);
    let c = "";
    for (let j = 0; j < len; j++) c += randomChar(r);
    parts.push(c);
  }
  return "/" + parts.join("/");
}

Deno.test("topics: plain subjects, prefix, subjects without the leading slash", () => {
  assertEquals(DEFAULT_TOPIC_PREFIX, "posttroll");
  assertEquals(subjectToTopic("/oper/polar/avhrr"), "posttroll.oper.polar.avhrr");
  assertEquals(subjectToTopic("/oper"), "posttroll.oper");
  assertEquals(subjectToTopic("/"), "posttroll");
  assertEquals(subjectToTopic("/Oper/NOAA19/l1b"), "posttroll.Oper.NOAA19.l1b");
  assertEquals(subjectToTopic("/oper/polar", { prefix: "site-a" }), "site-a.oper.polar");
  assertEquals(subjectToTopic("/oper/polar", { prefix: "a.b_c" }), "a.b_c.oper.polar");
  // a relative subject maps like the absolute one
  assertEquals(subjectToTopic("oper/polar"), "posttroll.oper.polar");
});

Deno.test("topics: depth keeps the first components; a fixed topic overrides prefix and depth", () => {
  const s = "/oper/polar/direct_readout/norrkoping";
  assertEquals(subjectToTopic(s, { depth: 1 }), "posttroll.oper");
  assertEquals(subjectToTopic(s, { depth: 2 }), "posttroll.oper.polar");
  assertEquals(subjectToTopic(s, { depth: 3 }), "posttroll.oper.polar.direct-5Freadout");
  assertEquals(subjectToTopic(s, { depth: 99 }), subjectToTopic(s));
  assertEquals(subjectToTopic(s, { depth: 2, prefix: "eu" }), "eu.oper.polar");
  // siblings share the depth topic
  assertEquals(
    subjectToTopic("/oper/polar/viirs", { depth: 2 }),
    subjectToTopic("/oper/polar/avhrr", { depth: 2 }),
  );
  assertEquals(subjectToTopic(s, { topic: "all-of-it", prefix: "x", depth: 1 }), "all-of-it");
  assertEquals(subjectToTopic("/", { topic: "all-of-it" }), "all-of-it");
  // depth applies to escaped, empty components as well
  assertEquals(subjectToTopic("/a//b/c", { depth: 2 }), "posttroll.a.");
  assertEquals(topicToSubject(subjectToTopic(s, { depth: 2 })), "/oper/polar");
});

Deno.test("topics: every byte outside [A-Za-z0-9] is escaped as -XX of its UTF-8, empty components kept", () => {
  // every ASCII code (and DEL / controls): letters and digits stay, anything else is -XX
  for (let c = 1; c < 128; c++) {
    const ch = String.fromCharCode(c);
    if (ch === "/") continue; // the separator
    const topic = subjectToTopic(`/x${ch}y`);
    const want = /[A-Za-z0-9]/.test(ch)
      ? `posttroll.x${ch}y`
      : `posttroll.x-${c.toString(16).toUpperCase().padStart(2, "0")}y`;
    assertEquals(topic, want, `char code ${c}`);
    assertKafkaName(topic);
    assertEquals(topicToSubject(topic), `/x${ch}y`, `char code ${c}`);
  }
  assertEquals(subjectToTopic("/a.b/c d"), "posttroll.a-2Eb.c-20d");
  assertEquals(subjectToTopic("/direct_readout"), "posttroll.direct-5Freadout");
  assertEquals(subjectToTopic("/dr-avhrr"), "posttroll.dr-2Davhrr");
  assertEquals(subjectToTopic("/a.b_c-d e"), "posttroll.a-2Eb-5Fc-2Dd-20e");
  // non-ASCII: each UTF-8 byte
  assertEquals(subjectToTopic("/é"), "posttroll.-C3-A9");
  assertEquals(subjectToTopic("/seviri_é"), "posttroll.seviri-5F-C3-A9");
  assertEquals(subjectToTopic("/€"), "posttroll.-E2-82-AC");
  assertEquals(subjectToTopic("/😀"), "posttroll.-F0-9F-98-80");
  assertEquals(subjectToTopic("/中文/x"), "posttroll.-E4-B8-AD-E6-96-87.x");
  // empty components are kept (and so distinct subjects stay distinct)
  assertEquals(subjectToTopic("/a//b"), "posttroll.a..b");
  assertEquals(subjectToTopic("/a/"), "posttroll.a.");
  assertEquals(subjectToTopic("//a"), "posttroll..a");
  assertEquals(subjectToTopic("//"), "posttroll..");
  assertNotEquals(subjectToTopic("/a//b"), subjectToTopic("/a/b"));
  assertNotEquals(subjectToTopic("/a/"), subjectToTopic("/a"));
  for (const s of ["/a//b", "/a/", "//a", "//", "/"]) {
    assertKafkaName(subjectToTopic(s));
    assertEquals(topicToSubject(subjectToTopic(s)), s);
  }
});

Deno.test("topics: no two subjects give names Kafka calls colliding ('.' and '_' read as one)", () => {
  // pairs that collided when '_' was the escape character: Kafka refuses the second topic
  const pairs = [
    ["/a.b", "/a/2Eb"],
    ["/oper/polar/direct_readout", "/oper/polar/direct/5Freadout"],
    ["/a_b", "/a/5Fb"],
    ["/x/_", "/x//5F"],
  ];
  for (const [a, b] of pairs) {
    const ta = subjectToTopic(a);
    const tb = subjectToTopic(b);
    assertNotEquals(collisionKey(ta), collisionKey(tb), `${a} (${ta}) vs ${b} (${tb})`);
  }
  // and none after the prefix carries '_' at all (except the cut marker)
  for (const s of ["/a_b", "/_/__", "/x.y_z"]) assert(!subjectToTopic(s).includes("_"), s);
});

Deno.test("topics: topicToSubject inverts subjectToTopic over 4000 seeded random subjects", () => {
  const r = rng(20261125);
  const seen = new Map<string, string>(); // collision key -> subject
  let cut = 0;
  let whole = 0;
  for (let i = 0; i < 4000; i++) {
    const subject = randomSubject(r);
    const prefix = i % 4 === 0 ? "site-b.pt" : DEFAULT_TOPIC_PREFIX;
    const topic = subjectToTopic(subject, { prefix });
    assertKafkaName(topic, `topic of ${JSON.stringify(subject)}`);
    assert(topicHasPrefix(topic, prefix), topic);
    if (topic.length === MAX_TOPIC_LENGTH && /_[0-9a-f]{16}$/.test(topic)) {
      cut++;
      assertEquals(topicToSubject(topic, prefix), undefined, `cut name ${topic}`);
    } else {
      whole++;
      assertEquals(topicToSubject(topic, prefix), subject, `topic ${topic}`);
    }
    // depth topics stand for the subject's first components
    const depth = 1 + (i % 3);
    const dt = subjectToTopic(subject, { prefix, depth });
    assertKafkaName(dt);
    const kept = (subject.slice(1) === "" ? [] : subject.slice(1).split("/")).slice(0, depth);
    // (a lone empty first component, `<prefix>.`, names no subject of its own)
    if (dt.length < MAX_TOPIC_LENGTH && !(kept.length === 1 && kept[0] === "")) {
      assertEquals(topicToSubject(dt, prefix), "/" + kept.join("/"));
    }
    // distinct subjects never collide in Kafka's eyes
    const key = `${prefix}|${collisionKey(topic)}`;
    const before = seen.get(key);
    if (before !== undefined) assertEquals(before, subject, `collision: ${topic}`);
    seen.set(key, subject);
  }
  assert(cut >= 20, `only ${cut} cut names generated`);
  assert(whole >= 3000, `only ${whole} whole names generated`);
});

Deno.test("topics: topicToSubject refuses foreign, cut and non-canonical names", () => {
  for (
    const t of [
      "other.oper",
      "posttrollx.oper",
      "posttroll.a-2", // truncated escape
      "posttroll.a-2e", // lower-case hex
      "posttroll.a-G1",
      "posttroll.-41", // needless escape of "A"
      "posttroll.-FF", // not UTF-8
      "posttroll.-C3", // cut UTF-8 sequence
      "posttroll.a_b", // '_' is never produced after the prefix
      "posttroll.", // "/" is "posttroll"
    ]
  ) assertEquals(topicToSubject(t), undefined, t);
  assertEquals(topicToSubject("posttroll"), "/");
  assertEquals(topicToSubject("site-a.oper.polar", "site-a"), "/oper/polar");
  assertEquals(topicToSubject("posttroll.oper", "site-a"), undefined);
});

Deno.test("topics: long subjects are cut to 249 characters and end in _ and a deterministic hash", async () => {
  const long1 = "/oper/" + "x".repeat(300);
  const long2 = "/oper/" + "x".repeat(299) + "y"; // differs after the cut point
  const t1 = subjectToTopic(long1);
  const t2 = subjectToTopic(long2);
  for (const t of [t1, t2]) {
    assertEquals(t.length, MAX_TOPIC_LENGTH);
    assertKafkaName(t);
    assertMatch(t, /^posttroll\.oper\.x+_[0-9a-f]{16}$/);
    assertEquals(topicToSubject(t), undefined);
  }
  assertEquals(subjectToTopic(long1), t1, "deterministic");
  assertNotEquals(t1, t2, "distinct long subjects, distinct names");
  assertEquals(t1.slice(0, 232), t2.slice(0, 232));
  // the hash is SHA-256 of the whole (uncut) name
  const whole = "posttroll.oper." + "x".repeat(300);
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(whole)),
  );
  const hex = Array.from(digest.slice(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
  assertEquals(t1, `${whole.slice(0, 232)}_${hex}`);
  // many long unicode subjects sharing a head: all distinct, all valid, none colliding
  const names = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const t = subjectToTopic(`/${"é".repeat(40)}/${"中".repeat(20)}/${i}`);
    assertKafkaName(t);
    assertEquals(t.length, MAX_TOPIC_LENGTH);
    names.add(collisionKey(t));
  }
  assertEquals(names.size, 200);
  // exactly 249 characters is not cut
  const fits = "/" + "a".repeat(MAX_TOPIC_LENGTH - "posttroll.".length);
  assertEquals(subjectToTopic(fits).length, MAX_TOPIC_LENGTH);
  assertEquals(topicToSubject(subjectToTopic(fits)), fits);
  assertEquals(subjectToTopic(fits + "a").length, MAX_TOPIC_LENGTH);
  assertEquals(topicToSubject(subjectToTopic(fits + "a")), undefined);
  // the longest allowed prefix survives the cut
  const prefix = "p".repeat(231);
  validateTopicMapping({ prefix });
  const tp = subjectToTopic("/" + "z".repeat(100), { prefix });
  assertKafkaName(tp);
  assert(topicHasPrefix(tp, prefix), tp);
});

Deno.test("topics: validateTopicName and validateTopicMapping reject bad names, prefixes, depths", () => {
  for (const ok of ["a", "posttroll", "a.b_c-D9", "x".repeat(249), "...", ".a"]) {
    validateTopicName(ok);
  }
  for (
    const bad of ["", ".", "..", "a b", "a/b", "é", "a:b", "x".repeat(250), 7 as unknown as string]
  ) {
    assertThrows(() => validateTopicName(bad), BridgeOptionError, "not a valid Kafka topic name");
  }
  const e = assertThrows(() => validateTopicName("a b", "topic prefix"), BridgeOptionError);
  assert(e instanceof TypeError);
  assertMatch(e.message, /^topic prefix "a b"/);

  for (
    const ok of [
      {},
      { depth: 1 },
      { depth: 12 },
      { prefix: "site-a", depth: 3 },
      { topic: "one-topic" },
      { prefix: "p".repeat(231) },
    ]
  ) validateTopicMapping(ok);
  for (const prefix of ["", "bad prefix", "a/b", ".", "..", "é", "p".repeat(232)]) {
    assertThrows(() => validateTopicMapping({ prefix }), BridgeOptionError, "topic prefix");
  }
  for (const depth of [0, -1, 1.5, NaN, Infinity, "2" as unknown as number]) {
    assertThrows(() => validateTopicMapping({ depth }), BridgeOptionError, "topic depth");
  }
  assertThrows(() => validateTopicMapping({ topic: "no good" }), BridgeOptionError, "topic");
  assertThrows(() => validateTopicMapping({ topic: "" }), BridgeOptionError, "topic");
});

Deno.test("topics: topicHasPrefix is exact", () => {
  assert(topicHasPrefix("posttroll", "posttroll"));
  assert(topicHasPrefix("posttroll.oper", "posttroll"));
  assert(topicHasPrefix("posttroll.", "posttroll"));
  assert(!topicHasPrefix("posttrollx.oper", "posttroll"));
  assert(!topicHasPrefix("posttroll_oper", "posttroll"));
  assert(!topicHasPrefix("posttroll-oper", "posttroll"));
  assert(!topicHasPrefix("posttrol", "posttroll"));
  assert(!topicHasPrefix("xposttroll.oper", "posttroll"));
  assert(!topicHasPrefix("Posttroll.oper", "posttroll"));
  assert(topicHasPrefix("a.b.c", "a.b"));
  assert(!topicHasPrefix("a.bc", "a.b"));
  assert(!topicHasPrefix("a", "a.b"));
});

Deno.test("topics: a real Kafka broker creates the produced names and serves a record on each", async () => {
  const started = performance.now();
  await using broker = await startKafka({ autoCreateTopics: false });
  const subjects = [
    "/a.b", // these two pairs collided under the old '_' escape
    "/a/2Eb",
    "/oper/polar/direct_readout",
    "/oper/polar/direct/5Freadout",
    "/é/c d-e_f/😀", // escapes of every kind
    "/a//b/", // empty components
    "/", // the prefix itself
    "/oper/" + "x".repeat(300), // cut names
    "/oper/" + "x".repeat(299) + "y",
    `/${"é".repeat(60)}/${"中".repeat(30)}`,
  ];
  const topics = subjects.map((s) => subjectToTopic(s));
  assertEquals(new Set(topics).size, topics.length);
  const cluster = plainCluster(broker);
  // one request per name: Kafka refuses an invalid name, or one colliding with an existing
  // topic ('.' read as '_'; it does not compare the names within one request)
  const listed = new Set(
    await withAdmin(cluster, "create", async (admin) => {
      for (const topic of topics) {
        await admin.createTopics([{ topic, partitions: 1, replicas: 1 }]);
      }
      return await admin.listTopics();
    }),
  );
  for (const t of topics) assert(listed.has(t), `${t} not created`);

  const enc = new TextEncoder();
  {
    await using producer = new KafkaProducer(cluster);
    await Promise.all(topics.map((topic, i) =>
      producer.send({
        topic,
        key: enc.encode(subjects[i]),
        value: enc.encode(subjects[i]),
        headers: [],
      })
    ));
  }

  const got = new Map<string, string>();
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), 15_000);
  try {
    await new KafkaConsumer(cluster, {
      groupId: "topics-test",
      topics,
      start: "earliest",
      maxWaitMs: 100,
      signal: stop.signal,
    }).run((r) => {
      got.set(r.topic, new TextDecoder().decode(r.value!));
      if (got.size === topics.length) stop.abort();
    });
  } finally {
    clearTimeout(timer);
  }
  if (got.size < topics.length) {
    throw new Error(`only ${got.size}/${topics.length} records read in 15 s`);
  }
  for (let i = 0; i < topics.length; i++) assertEquals(got.get(topics[i]), subjects[i]);
  console.log(
    `broker round trip of ${topics.length} names: ${Math.round(performance.now() - started)} ms`,
  );
});
