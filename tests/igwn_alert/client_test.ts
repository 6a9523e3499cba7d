// IgwnAlertClient against a real Kafka broker: publish/listen over SASL_SSL with the per-run CA,
// credentials (auth.toml, wrong password, CA mismatch), topics of a group, sessions, warnings.
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { startKafka } from "../../testing/kafka.ts";
import {
  type Alert,
  Auth,
  AuthError,
  BrokerConnectionError,
  IgwnAlertClient,
  IgwnAlertOptionError,
  type IgwnAlertWarning,
  SessionError,
  UnknownTopicError,
} from "../../lib/igwn_alert/mod.ts";
import { authEntry, authHome, createTopics, readRaw, until } from "./_helpers.ts";
import { Blob, hopHeaders, JSONBlob, unpack } from "../../lib/hop/mod.ts";

const quiet = () => {};

Deno.test("igwn-alert client against a real broker", async (t) => {
  await using kafka = await startKafka();
  const [host, sslPort] = kafka.saslSsl.split(":");
  const [, saslPort] = kafka.saslPlaintext.split(":");
  await createTopics(kafka, [
    "gracedb.superevent",
    "gracedb.cbc_gstlal",
    "gracedb-test.superevent",
    "xgracedb.other",
    "gracedb-playground.superevent",
  ]);
  const { dir } = await authHome(
    authEntry({
      username: "alice",
      password: "alice-secret",
      hostname: `localhost:${sslPort}`,
      protocol: "SASL_SSL",
      ssl_ca_location: kafka.caFile,
    }) + authEntry({
      username: "alice",
      password: "alice-secret",
      hostname: `localhost:${saslPort}`,
      protocol: "SASL_PLAINTEXT",
    }),
  );
  const env = { get: (k: string) => (k === "XDG_CONFIG_HOME" ? dir : undefined) };
  const opts = { server: `kafka://${host}/`, port: Number(sslPort), env, logger: quiet };

  try {
    await t.step("publish then listen over SASL_SSL, payload and hop headers", async () => {
      await using client = new IgwnAlertClient(opts);
      assertEquals(client.credential()?.sslCaLocation, kafka.caFile);
      const got: Alert[] = [];
      const alert = JSON.stringify({ uid: "S240101a", alert_type: "new", data: { é: 1 } });
      const listening = client.listen((topic, payload, a) => {
        got.push(a);
        assertEquals(topic, "superevent");
        assertEquals(payload, alert);
        client.stop();
      }, { topics: ["superevent"], onReady: () => void client.publish("superevent", alert) });
      await listening;
      assertEquals(got.length, 1);
      assertEquals(got[0].kafkaTopic, "gracedb.superevent");
      assertEquals(got[0].hop.sender, "alice");
      assertEquals(got[0].hop.format, "json");
      const [raw] = await readRaw(kafka, "gracedb.superevent", 1);
      assertEquals(raw.headers.map(([k]) => k), ["_id", "_sender", "_format"]);
      assertEquals(raw.headers[0][1].length, 16);
      const m = unpack(raw);
      assert(m instanceof JSONBlob && m.content === alert);
      assertEquals(hopHeaders(raw).id, got[0].hop.id);
    });

    await t.step("alerts() iterator, test messages skipped, start earliest", async () => {
      await using client = new IgwnAlertClient(opts);
      await client.publish("cbc_gstlal", "one");
      await client.publish("cbc_gstlal", "test-only", { test: true });
      await client.publish("cbc_gstlal", "two");
      const seen: unknown[] = [];
      for await (const a of client.alerts({ topics: "cbc_gstlal", start: "earliest" })) {
        seen.push(a.payload);
        if (seen.length === 2) break;
      }
      assertEquals(seen, ["one", "two"]);
    });

    await t.step(
      "at-least-once: an alert not acknowledged is delivered again to the group",
      async () => {
        await using client = new IgwnAlertClient({
          ...opts,
          group: "atleastonce",
          consumerGroup: "alo-group",
        });
        await createTopics(kafka, ["atleastonce.alo"]);
        await client.publish("alo", "first");
        await client.publish("alo", "second");
        const take = async (n: number) => {
          const out: unknown[] = [];
          for await (const a of client.alerts({ topics: "alo", start: "earliest" })) {
            out.push(a.payload);
            if (out.length === n) break; // the n-th alert is not acknowledged
          }
          return out;
        };
        assertEquals(await take(1), ["first"]);
        assertEquals(await take(2), ["first", "second"]); // "first" again, now acknowledged
        assertEquals(await take(1), ["second"]);
      },
    );

    await t.step("start position: a timestamp", async () => {
      await using client = new IgwnAlertClient({ ...opts, group: "atleastonce" });
      await createTopics(kafka, ["atleastonce.ts"]);
      await client.publish("ts", "old");
      let oldTs = 0;
      for await (const a of client.alerts({ topics: "ts", start: "earliest" })) {
        oldTs = a.timestamp;
        break;
      }
      await until(() => Date.now() > oldTs + 2, 1000, "the clock to pass the old record");
      await client.publish("ts", "new");
      for await (const a of client.alerts({ topics: "ts", start: new Date(oldTs + 1) })) {
        assertEquals(a.payload, "new");
        break;
      }
    });

    await t.step("SASL_PLAINTEXT entry selected by host:port", async () => {
      const c = new IgwnAlertClient({ ...opts, port: Number(saslPort) });
      assertEquals(c.credential()?.protocol, "SASL_PLAINTEXT");
      assertEquals(await c.getTopics(), ["cbc_gstlal", "superevent"]);
    });

    await t.step("getTopics: exact group prefix only", async () => {
      const c = new IgwnAlertClient(opts);
      assertEquals(await c.getTopics(), ["cbc_gstlal", "superevent"]);
      assertEquals(await c.getTopics("gracedb-test"), ["superevent"]);
      assertEquals(await c.getTopics("test"), []);
    });

    await t.step("wrong password after a successful login gives AuthError", async () => {
      const good = new Auth({
        username: "alice",
        password: "alice-secret",
        sslCaLocation: kafka.caFile,
      });
      const ok = new IgwnAlertClient({ ...opts, auth: good });
      assertEquals((await ok.getTopics()).length, 2);
      // same username, wrong password, in the same process (kafkajs reuses config objects)
      const bad = new IgwnAlertClient({
        ...opts,
        auth: new Auth({ username: "alice", password: "wrong-pw", sslCaLocation: kafka.caFile }),
      });
      const e = await assertRejects(() => bad.getTopics(), AuthError);
      assertStringIncludes(e.message, "authentication failed for user 'alice'");
      assert(!e.message.includes("wrong-pw"));
      await assertRejects(() => bad.publish("superevent", "x"), AuthError);
      await assertRejects(() => bad.listen(undefined, { topics: "superevent" }), AuthError);
      // and the good one still works afterwards
      assertEquals((await ok.getTopics()).length, 2);
    });

    await t.step(
      "CA mismatch and unreachable broker give BrokerConnectionError quickly",
      async () => {
        const otherCa = await Deno.makeTempFile({ suffix: ".pem" });
        await new Deno.Command("openssl", {
          args: [
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "/dev/null",
            "-out",
            otherCa,
            "-days",
            "1",
            "-subj",
            "/CN=other-ca",
          ],
          stdout: "null",
          stderr: "null",
        }).output();
        const c = new IgwnAlertClient({
          ...opts,
          auth: new Auth({ username: "alice", password: "alice-secret", sslCaLocation: otherCa }),
          timeoutMs: 8000,
        });
        const e = await assertRejects(() => c.getTopics(), BrokerConnectionError);
        assertStringIncludes(e.message, "TLS");
        await Deno.remove(otherCa);
        const started = Date.now();
        const down = new IgwnAlertClient({
          noauth: true,
          server: "kafka://127.0.0.1/",
          port: 1,
          timeoutMs: 3000,
          logger: quiet,
        });
        await assertRejects(() => down.getTopics(), BrokerConnectionError);
        assert(Date.now() - started < 6000);
      },
    );

    await t.step("unknown topic", async () => {
      const c = new IgwnAlertClient(opts);
      await assertRejects(() => c.publish("nope", "x"), UnknownTopicError, "gracedb.nope");
      await assertRejects(() => c.listen(undefined, { topics: ["nope"] }), UnknownTopicError);
      // Python's positional form listen(callback, topic)
      await assertRejects(() => c.listen(() => {}, "nope"), UnknownTopicError, "gracedb.nope");
      await assertRejects(() => c.listen(() => {}, ["superevent", "nope2"]), UnknownTopicError);
    });

    await t.step("sessions: connect / publishToTopic / flushByTopic / disconnect", async () => {
      const warnings: IgwnAlertWarning[] = [];
      await using c = new IgwnAlertClient({ ...opts, onWarning: (w) => warnings.push(w) });
      await assertRejects(
        () => c.publishToTopic("superevent", "x"),
        SessionError,
        "No active sessions. Please connect before publishing to a topic.",
      );
      await assertRejects(() => c.flushByTopic("superevent"), SessionError, "No active sessions.");
      await c.connect(["superevent", "cbc_gstlal"]);
      // a session's producer is idempotent: the broker gave it a producer id over SASL_SSL (SCRAM)
      const producer = c.sessions.get("superevent")!.batcher;
      assert(producer.idempotent);
      assert(producer.producerId !== undefined && producer.producerId >= 0n);
      await assertRejects(
        () => c.publishToTopic("other", "x"),
        SessionError,
        "Not connected to topic other. Please connect before publishing to a topic.",
      );
      await c.publishToTopic("superevent", "s1");
      await c.flushByTopic("superevent");
      await c.disconnect("cbc_gstlal");
      await c.disconnect("cbc_gstlal");
      assertEquals(warnings, [{
        category: "UserWarning",
        message: "Not currently connected to topic cbc_gstlal",
      }]);
      await c.disconnect();
      assertEquals([...c.sessions.keys()], ["superevent"]);
    });

    await t.step("non-JSON payloads: model passed on with Python's warning", async () => {
      const warnings: IgwnAlertWarning[] = [];
      await using c = new IgwnAlertClient({ ...opts, onWarning: (w) => warnings.push(w) });
      let got: unknown;
      await c.listen((_t, payload) => {
        got = payload;
        c.stop();
      }, {
        topics: "superevent",
        onReady: () => void c.publish("superevent", new Uint8Array([0xde, 0xad])),
      });
      assertInstanceOf(got, Blob);
      assertEquals((got as Blob).content, new Uint8Array([0xde, 0xad]));
      assertEquals(warnings, [{
        category: "UserWarning",
        message:
          "Payload is not valid json: the JSON object must be str, bytes or bytearray, not Blob",
      }]);
    });

    await t.step("listen without callback prints Python's format", async () => {
      const printed: string[] = [];
      await using c = new IgwnAlertClient({
        ...opts,
        jsonpp: true,
        print: (text) => {
          printed.push(text);
          c.stop();
        },
      });
      await c.listen(undefined, {
        topics: ["superevent"],
        onReady: () => void c.publish("superevent", '{"a": [1.0, "\u00e9"]}'),
      });
      assertEquals(printed, [
        'New message from topic gracedb.superevent:\n{\n    "a": [\n        1.0,\n        "\\u00e9"\n    ]\n}',
      ]);
    });

    await t.step(
      "listen with a wrong password ends with AuthError, not endless retries",
      async () => {
        const c = new IgwnAlertClient({
          ...opts,
          auth: new Auth({ username: "alice", password: "bad", sslCaLocation: kafka.caFile }),
          retryOnFatal: true,
          listenRetries: 3,
          retryWait: 0.05,
        });
        await assertRejects(() => c.listen(undefined, { topics: "superevent" }), AuthError);
        // an AbortSignal stops a healthy listener
        const ok = new IgwnAlertClient(opts);
        const ctl = new AbortController();
        let ready = false;
        await ok.listen(() => {}, {
          topics: "superevent",
          signal: ctl.signal,
          onReady: () => {
            ready = true;
            ctl.abort();
          },
        });
        assert(ready);
      },
    );

    await t.step("deprecated methods warn like Python", () => {
      const warnings: IgwnAlertWarning[] = [];
      const c = new IgwnAlertClient({ ...opts, onWarning: (w) => warnings.push(w) });
      c.getSubscriptions();
      c.subscribe("a");
      c.unsubscribe("a");
      c.delete();
      assertEquals(warnings.map((w) => w.category), Array(4).fill("DeprecationWarning"));
      assertEquals(
        warnings[0].message,
        "This feature is deprecated. Please refer to the client.listen() method",
      );
      assertEquals(warnings[2].message, "This feature is deprecated.");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("options are validated at construction; credential order", async () => {
  assertThrows(
    () => new IgwnAlertClient({ noauth: true, port: "9092" as unknown as number }),
    IgwnAlertOptionError,
    '"port"',
  );
  assertThrows(
    () => new IgwnAlertClient({ noauth: true, server: 5 as unknown as string }),
    TypeError,
    '"server" must be str',
  );
  assertThrows(
    () => new IgwnAlertClient({ noauth: true, group: 1 as unknown as string }),
    IgwnAlertOptionError,
  );
  assertThrows(() => new IgwnAlertClient({ noauth: true, batchTimeout: -1 }), IgwnAlertOptionError);
  assertThrows(
    () => new IgwnAlertClient({ username: "u" }),
    IgwnAlertOptionError,
    "You must provide both a username and a password for basic authentication.",
  );
  const c = new IgwnAlertClient({ noauth: true, group: "g" });
  assertEquals(c.topicUrl(["a", "b"]), "kafka://kafka.scimma.org:9092/g.a,g.b");
  assertEquals(c.baseUrl, "kafka://kafka.scimma.org:9092/g");
  assertEquals(c.credential(), null);
  const up = new IgwnAlertClient({ username: "u", password: "p" });
  assertEquals(up.credential()?.username, "u");
  // nothing configured and no netrc: Python's warning, unauthenticated
  const empty = await Deno.makeTempDir();
  const warnings: IgwnAlertWarning[] = [];
  const none = new IgwnAlertClient({
    env: { get: (k) => ({ XDG_CONFIG_HOME: empty, HOME: empty } as Record<string, string>)[k] },
    onWarning: (w) => warnings.push(w),
  });
  assertEquals(none.credential(), null);
  assertEquals(
    warnings[0].message,
    "No authentication found. Proceeding with unathenticated session",
  );
  // netrc entry for the whole server string
  await Deno.writeTextFile(`${empty}/.netrc`, "machine kafka://kafka.test/ login nu password np\n");
  await Deno.chmod(`${empty}/.netrc`, 0o600);
  const viaNetrc = new IgwnAlertClient({
    server: "kafka://kafka.test/",
    env: { get: (k) => ({ XDG_CONFIG_HOME: empty, HOME: empty } as Record<string, string>)[k] },
  });
  assertEquals(viaNetrc.credential()?.username, "nu");
  // authfile with bad permissions
  await Deno.writeTextFile(`${empty}/auth.toml`, authEntry({ username: "a", password: "b" }));
  await Deno.chmod(`${empty}/auth.toml`, 0o644);
  assertThrows(
    () => new IgwnAlertClient({ authfile: `${empty}/auth.toml` }),
    Error,
    "unsafe permissions",
  );
  await Deno.remove(empty, { recursive: true });
  assertInstanceOf(new IgwnAlertClient({ noauth: true }), IgwnAlertClient);
});

Deno.test("clientOptions: fresh SASL objects per client, TLS per credential, OAUTHBEARER", async () => {
  const { KafkaCluster } = await import("../../lib/kafka/cluster.ts");
  const cluster = new KafkaCluster({ url: "kafka://h:1/", noauth: true });
  const auth = new Auth({ username: "u", password: "p", protocol: "SASL_PLAINTEXT" });
  const a = cluster.clientOptions(auth);
  const b = cluster.clientOptions(auth);
  assert(a.sasl !== b.sasl);
  assertEquals(a.tls, undefined);
  assertEquals(Object.keys(a.sasl!).sort(), ["mechanism", "password", "username"]);
  assertEquals(a.sasl!.mechanism, "SCRAM-SHA-512");
  const tls = cluster.clientOptions(new Auth({ username: "u", password: "p" }));
  assertEquals(tls.tls, {});
  assertEquals(cluster.clientOptions(null).sasl, undefined);
  // hop's token_endpoint: OAUTHBEARER with a token from the endpoint
  const oauth = cluster.clientOptions(
    new Auth({ username: "u", password: "p", tokenEndpoint: "https://t.example/token" }),
  );
  assertEquals(oauth.sasl!.mechanism, "OAUTHBEARER");
  assertEquals(typeof (oauth.sasl as { token?: unknown }).token, "function");
  assertThrows(
    () =>
      cluster.clientOptions(
        new Auth({ username: "u", password: "p", mechanism: "GSSAPI" }),
      ),
    AuthError,
    "GSSAPI",
  );
});
