// Interoperability with the Python reference (igwn-alert 0.7.0 / hop-client 0.13.0) through the
// SASL_SSL listener with the per-run CA, credentials from a hop auth.toml (mode 0600) that both
// sides read: Python publishes -> we listen; we publish -> Python listens; record headers compared
// byte by byte.
import { assert, assertEquals } from "@std/assert";
import { startKafka } from "../../testing/kafka.ts";
import { python, PythonProcess } from "../../testing/python.ts";
import { IgwnAlertClient } from "../../lib/igwn_alert/mod.ts";
import { pack } from "../../lib/hop/mod.ts";
import { main } from "../../cli/igwn_alert.ts";
import { authEntry, authHome, createTopics, readRaw } from "./_helpers.ts";

const ALERT = JSON.stringify({
  uid: "S240615dg",
  alert_type: "new",
  data: { far: 1.5e-10, instruments: ["H1", "L1"], name: "é ✓" },
  object: { superevent_id: "S240615dg" },
});

Deno.test("interop with Python igwn-alert over SASL_SSL", async (t) => {
  await using kafka = await startKafka();
  const [host, port] = kafka.saslSsl.split(":");
  await createTopics(kafka, ["gracedb.superevent", "gracedb.cbc_gstlal", "gracedb.raw"]);
  const { dir } = await authHome(
    authEntry({
      username: "alice",
      password: "alice-secret",
      hostname: `localhost:${port}`,
      protocol: "SASL_SSL",
      ssl_ca_location: kafka.caFile,
    }),
  );
  const pyEnv = { XDG_CONFIG_HOME: dir, HOME: dir };
  const env = { get: (k: string) => (pyEnv as Record<string, string>)[k] };
  const ours = { server: `kafka://${host}/`, port: Number(port), env, logger: () => {} };
  const pyClient = `from igwn_alert import client
c = client(server="kafka://${host}/", port=${port}, group="gracedb")`;

  try {
    await t.step("Python publish -> our listen gets the same payload", async () => {
      await using c = new IgwnAlertClient(ours);
      const got: Array<[string, unknown]> = [];
      await c.listen((topic, payload) => {
        got.push([topic, payload]);
        if (got.length === 2) c.stop();
      }, {
        topics: ["superevent", "cbc_gstlal"],
        onReady: () => {
          python(
            `${pyClient}
import sys
c.publish("superevent", sys.argv[1])
c.publish("cbc_gstlal", {"dict": [1, 2.5]})`,
            { env: pyEnv, args: [ALERT] },
          ).catch((e) => {
            console.error(e);
            c.stop();
          });
        },
      });
      got.sort((a, b) => a[0].localeCompare(b[0]));
      assertEquals(got, [["cbc_gstlal", { dict: [1, 2.5] }], ["superevent", ALERT]]);
    });

    await t.step(
      "our publish and our CLI send -> Python listen gets the same payload",
      async () => {
        const py = PythonProcess.spawn(
          `${pyClient}
import json, sys
def cb(topic, payload):
    print(json.dumps([topic, payload]), flush=True)
print("LISTENING", flush=True)
c.listen(cb, ["superevent"])`,
          { env: pyEnv },
        );
        try {
          await py.waitForLine((l) => l === "LISTENING", 20_000);
          await using c = new IgwnAlertClient(ours);
          // Python starts at LATEST once its consumer is assigned: probe until it sees one.
          let first = "";
          for (let i = 0; i < 60 && !first; i++) {
            await c.publish("superevent", `probe-${i}`);
            first = await py.readLine(500).catch(() => "");
          }
          assert(
            first.startsWith('["superevent", "probe-'),
            `python never got a probe: ${py.stderr}`,
          );
          await c.publish("superevent", ALERT);
          const line = await py.waitForLine((l) => !l.includes("probe-"), 15_000);
          assertEquals(JSON.parse(line), ["superevent", ALERT]);
          // our CLI `send`: Python's listener gets json.dumps(file text), as from Python's CLI
          const file = `${dir}/alert.json`;
          await Deno.writeTextFile(file, ALERT + "\n");
          const err: string[] = [];
          const code = await main([
            "-s",
            `kafka://${host}/`,
            "-p",
            port,
            "send",
            "superevent",
            file,
          ], {
            out: () => {},
            err: (t) => err.push(t),
            env,
          });
          assertEquals(code, 0, err.join("\n"));
          const sent = await py.waitForLine((l) => !l.includes("probe-"), 15_000);
          const expected = await python("import json,sys; print(json.dumps(sys.stdin.read()))", {
            stdin: ALERT + "\n",
          });
          assertEquals(JSON.parse(sent), ["superevent", expected.trimEnd()]);
        } finally {
          await py.close();
        }
      },
    );

    await t.step("record headers and value byte-equal to Python's producer", async () => {
      await python(
        `${pyClient}
import sys
c.publish("raw", sys.argv[1])`,
        { env: pyEnv, args: [ALERT] },
      );
      await using c = new IgwnAlertClient(ours);
      await c.publish("raw", ALERT);
      const [pyRec, ourRec] = await readRaw(kafka, "gracedb.raw", 2);
      assertEquals(ourRec.headers.map(([k]) => k), pyRec.headers.map(([k]) => k));
      assertEquals(pyRec.headers.map(([k]) => k), ["_id", "_sender", "_format"]);
      assertEquals(ourRec.headers[0][1].length, 16);
      assertEquals(pyRec.headers[0][1].length, 16);
      assertEquals(ourRec.headers[0][1][6] >> 4, 4); // UUID version 4, like uuid.uuid4()
      for (let i = 1; i < pyRec.headers.length; i++) {
        assertEquals(ourRec.headers[i][1], pyRec.headers[i][1], pyRec.headers[i][0]);
      }
      assertEquals(ourRec.value, pyRec.value);
      assertEquals(pack(ALERT, { sender: "alice" }).value, pyRec.value);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
