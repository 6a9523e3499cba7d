// The producer's own Kafka wire path (lib/kafka/wire/): CRC-32C against known vectors and the
// client library's, SCRAM against RFC 7677's exchange, framing with several requests in flight
// against a loopback peer, and the whole client (ApiVersions, SASL, Metadata, InitProducerId,
// Produce) against the harness broker over PLAINTEXT and SASL_SSL with SCRAM-SHA-512.
import { Buffer } from "node:buffer";
import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { crc32c as libraryCrc32c } from "@platformatic/kafka";
import { Auth } from "../../lib/hop/auth.ts";
import { AuthError } from "../../lib/hop/errors.ts";
import { withAdmin } from "../../lib/kafka/admin.ts";
import { KafkaCluster } from "../../lib/kafka/cluster.ts";
import {
  BrokerConnectionError,
  KafkaProtocolError,
  UnknownTopicError,
} from "../../lib/kafka/errors.ts";
import { encodeProduceRequest } from "../../lib/kafka/produce_request.ts";
import { API } from "../../lib/kafka/wire/apis.ts";
import { ProducerWire } from "../../lib/kafka/wire/client.ts";
import { KafkaReader, ResponseFormatError } from "../../lib/kafka/wire/codec.ts";
import { BrokerConnection } from "../../lib/kafka/wire/connection.ts";
import { crc32c } from "../../lib/kafka/wire/crc32c.ts";
import { ScramClient, ScramError } from "../../lib/kafka/wire/scram.ts";
import { startKafka } from "../../testing/kafka.ts";

Deno.test("crc32c: RFC 3720 vectors, every length 0-300 and 1 MB against the library's", () => {
  const enc = new TextEncoder();
  assertEquals(crc32c(enc.encode("123456789")), 0xe3069283);
  assertEquals(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assertEquals(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assertEquals(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assertEquals(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
  assertEquals(crc32c(new Uint8Array(0)), 0);
  const data = crypto.getRandomValues(new Uint8Array(65536));
  for (let n = 0; n <= 300; n++) {
    const b = data.subarray(7, 7 + n); // unaligned views too
    assertEquals(crc32c(b), libraryCrc32c(Buffer.from(b)), `length ${n}`);
  }
  const big = new Uint8Array(1_000_003);
  for (let i = 0; i < big.length; i += 65536) {
    big.set(data.subarray(0, Math.min(65536, big.length - i)), i);
  }
  assertEquals(crc32c(big), libraryCrc32c(Buffer.from(big)));
  // continued over pieces
  assertEquals(crc32c(big.subarray(70_001), crc32c(big.subarray(0, 70_001))), crc32c(big));
});

Deno.test("scram: RFC 7677 exchange, refusals and a wrong server signature", async () => {
  const c = new ScramClient("SHA-256", "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
  assertEquals(c.first(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  const serverFirst =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
  assertEquals(
    await c.final(serverFirst),
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," +
      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
  );
  await c.verify("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  await assertRejects(() => c.verify("v=AAAA"), ScramError, "signature");
  await assertRejects(() => c.verify("e=invalid-proof"), ScramError, "invalid-proof");
  // a server nonce that does not extend ours
  const d = new ScramClient("SHA-512", "a,b=c", "pw", "abc");
  assertEquals(d.first(), "n,,n=a=2Cb=3Dc,r=abc");
  await assertRejects(() => d.final("r=xyz,s=AAAA,i=4096"), ScramError, "nonce");
});

Deno.test("codec: a short response is a ResponseFormatError", () => {
  assertThrows(() => new KafkaReader(new Uint8Array([0, 5, 97])).string(), ResponseFormatError);
  assertThrows(
    () => new KafkaReader(new Uint8Array([0, 0, 0, 9])).arrayLength(false),
    ResponseFormatError,
  );
});

Deno.test("connection: pipelined requests get their own answers; a peer that stops answering fails them", async () => {
  // a loopback peer that answers each request frame with its correlation id and api key, in
  // order, in one write of several frames (split reads and coalesced frames both happen)
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const seen: number[][] = [];
  let answer = true;
  const serving = (async () => {
    for await (const conn of listener) {
      (async () => {
        let buf = new Uint8Array(0);
        const chunk = new Uint8Array(7); // tiny reads: frames arrive in pieces
        while (true) {
          const n = await conn.read(chunk).catch(() => null);
          if (n === null) break;
          const next = new Uint8Array(buf.length + n);
          next.set(buf);
          next.set(chunk.subarray(0, n), buf.length);
          buf = next;
          const out: number[] = [];
          while (buf.length >= 4) {
            const v = new DataView(buf.buffer, buf.byteOffset);
            const size = v.getInt32(0);
            if (buf.length < 4 + size) break;
            const key = v.getInt16(4), version = v.getInt16(6), id = v.getInt32(8);
            seen.push([key, version, id, size]);
            buf = buf.slice(4 + size);
            // response header v0 + body: the api key
            out.push(0, 0, 0, 6, id >>> 24, (id >> 16) & 255, (id >> 8) & 255, id & 255, 0, key);
          }
          if (out.length && answer) await conn.write(new Uint8Array(out)).catch(() => {});
        }
      })();
    }
  })();
  const { port } = listener.addr as Deno.NetAddr;
  const conn = await BrokerConnection.open({ host: "127.0.0.1", port }, {
    clientId: "wire-test",
    connectTimeoutMs: 2000,
    timeoutMs: 1000,
    broker: `127.0.0.1:${port}`,
  });
  try {
    const answers = await Promise.all(
      [1, 2, 3, 4, 5].map(async (key) =>
        (await conn.request(key, 2, false, new Uint8Array(key * 1000), { api: `k${key}` }))
          .int16()
      ),
    );
    assertEquals(answers, [1, 2, 3, 4, 5]);
    assertEquals(seen.map(([k, v]) => [k, v]), [[1, 2], [2, 2], [3, 2], [4, 2], [5, 2]]);
    // sizes: header (2+2+4+2+9 "wire-test") + body
    assertEquals(seen.map((s) => s[3]), [1, 2, 3, 4, 5].map((k) => 19 + k * 1000));
    assertEquals(new Set(seen.map((s) => s[2])).size, 5);
    // the body written in place, after room for the header
    const room = 4 + 19 + 1;
    const framed = new Uint8Array(room + 3).subarray(room);
    framed.set([7, 8, 9]);
    assertEquals(
      (await conn.request(9, 9, true, framed, {
        api: "k9",
        headRoom: true,
        flexibleResponse: false,
      })).int16(),
      9,
    );
    assertEquals(seen.at(-1)?.[3], 4 + 19 + 1 - 4 + 3);
    answer = false;
    const late = await assertRejects(
      () => conn.request(1, 0, false, new Uint8Array(1), { api: "Silent" }),
      BrokerConnectionError,
    );
    assertStringIncludes(late.message, "no answer to Silent within 1000 ms");
    assert(conn.closed);
    await assertRejects(
      () => conn.request(1, 0, false, new Uint8Array(1), { api: "After" }),
      BrokerConnectionError,
    );
  } finally {
    conn.close();
    listener.close();
    await serving.catch(() => {});
  }
});

Deno.test("ProducerWire against the harness broker: PLAINTEXT and SASL_SSL SCRAM-SHA-512", async (t) => {
  await using kafka = await startKafka();
  const topic = `wire-${crypto.randomUUID()}`;
  const cluster = new KafkaCluster({ url: `kafka://${kafka.plaintext}/`, noauth: true });
  // setup through the client library's admin: a just-started broker under a loaded suite may
  // close its first connections ("Listing topics failed: Connection closed"), so try again
  for (let i = 0;; i++) {
    try {
      await withAdmin(cluster, "create", (a) => a.createTopics([{ topic, partitions: 2 }]));
      break;
    } catch (e) {
      if (!(e instanceof BrokerConnectionError) || !e.retriable || i >= 4) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  const settings = { clientId: "wire-test", connectTimeoutMs: 5000, requestTimeoutMs: 5000 };

  const produceTwice = async (wire: ProducerWire) => {
    const leaders = (await wire.metadata([topic], false)).get(topic)!.leaders;
    assertEquals(leaders.length, 2);
    await wire.ready();
    const version = wire.version(API.Produce, "Produce");
    // a new broker's transaction coordinator first loads its log (retriable, as the producer does)
    let id;
    for (let i = 0;; i++) {
      try {
        id = await wire.initProducerId();
        break;
      } catch (e) {
        if (!(e instanceof KafkaProtocolError) || !e.retriable || i > 100) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert(id.producerId >= 0n);
    const room = wire.produceHeadRoom(version);
    const record = { value: new TextEncoder().encode("hello"), headers: [] };
    const body = (seq: number) =>
      encodeProduceRequest([{ topic, partition: 1, records: [record, record] }], {
        version,
        acks: -1,
        timeoutMs: 5000,
        timestamp: Date.now(),
        crc32c,
        producer: { ...id, baseSequence: () => seq },
        buffer: (size) => new Uint8Array(room + size).subarray(room),
      });
    const conn = await wire.broker(leaders[1]);
    await wire.produce(conn, version, body(0));
    // the same sequence again: the broker knows it (DUPLICATE_SEQUENCE_NUMBER counts as acked)
    await wire.produce(conn, version, body(0));
    await wire.produce(conn, version, body(2));
  };

  await t.step("PLAINTEXT: metadata, producer id, produce, duplicate acknowledged", async () => {
    const wire = new ProducerWire({ brokers: [kafka.plaintext], ...settings });
    try {
      await produceTwice(wire);
      await assertRejects(() => wire.metadata(["no-such-topic"], false), UnknownTopicError);
    } finally {
      wire.close();
    }
    const ends = await withAdmin(cluster, "offsets", (a) => a.offsets([topic], "latest"));
    assertEquals(ends.get(`${topic}:1`), 4n); // 2 batches of 2, the resent one not written
  });

  const user = kafka.users[0];
  const auth = new Auth({
    username: user.username,
    password: user.password,
    sslCaLocation: kafka.caFile,
  });
  await t.step("SASL_SSL SCRAM-SHA-512: login with the harness CA and produce", async () => {
    const wire = new ProducerWire({
      brokers: [kafka.saslSsl],
      ...settings,
      tls: { caCerts: [kafka.caPem] },
      sasl: { mechanism: "SCRAM-SHA-512", username: user.username, password: user.password },
      auth,
    });
    try {
      await produceTwice(wire);
    } finally {
      wire.close();
    }
  });

  await t.step("SASL_SSL: a wrong password is an AuthError without the password", async () => {
    const wire = new ProducerWire({
      brokers: [kafka.saslSsl],
      ...settings,
      tls: { caCerts: [kafka.caPem] },
      sasl: { mechanism: "SCRAM-SHA-512", username: user.username, password: "wrong-pw" },
      auth,
    });
    try {
      const e = await assertRejects(() => wire.ready(), AuthError);
      assertStringIncludes(e.message, `authentication failed for user '${user.username}'`);
      assertStringIncludes(e.message, "SCRAM-SHA-512");
      assert(!e.message.includes("wrong-pw"), e.message);
    } finally {
      wire.close();
    }
  });

  await t.step(
    "SASL_SSL: a CA that did not sign the broker's certificate is a TLS error",
    async () => {
      const wire = new ProducerWire({
        brokers: [kafka.saslSsl],
        ...settings,
        tls: { caCerts: [] }, // the system's roots: the harness CA is not among them
        sasl: { mechanism: "SCRAM-SHA-512", username: user.username, password: user.password },
        auth,
      });
      try {
        const e = await assertRejects(() => wire.ready(), BrokerConnectionError);
        assertStringIncludes(e.message, "TLS connection to");
        assertEquals(e.retriable, false);
      } finally {
        wire.close();
      }
    },
  );

  await t.step("an unreachable broker is a retriable BrokerConnectionError", async () => {
    const wire = new ProducerWire({ brokers: ["127.0.0.1:1"], ...settings });
    try {
      const e = await assertRejects(() => wire.ready(), BrokerConnectionError);
      assert(e.retriable);
    } finally {
      wire.close();
    }
  });
});
