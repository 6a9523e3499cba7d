// The igwn-alert CLI: in-process main() calls and one spawned subprocess (listen, SIGTERM).
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { startKafka } from "../../testing/kafka.ts";
import { python, REPO_ROOT } from "../../testing/python.ts";
import { main, VERSION_STRING } from "../../cli/igwn_alert.ts";
import { IgwnAlertClient } from "../../lib/igwn_alert/mod.ts";
import { authEntry, authHome, createTopics, until } from "./_helpers.ts";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) } };
}

Deno.test("igwn-alert CLI without a broker: usage, version, argument errors", async () => {
  let c = capture();
  assertEquals(await main(["-V"], c.io), 0);
  assertEquals(c.out, [VERSION_STRING]);
  assert(/^igwn-alert client \d+\.\d+\.\d+$/.test(VERSION_STRING));
  c = capture();
  assertEquals(await main(["-h"], c.io), 0);
  const py = await python(
    `import sys
from igwn_alert.tool import parser
p = parser()
p.prog = "igwn-alert"
print(p.format_help())`,
    { env: { COLUMNS: "80" } },
  );
  assertEquals(c.out[0].split("\n")[0], py.split("\n")[0]);
  assertEquals(c.out[0].split("\n").slice(0, 5), py.split("\n").slice(0, 5));
  c = capture();
  assertEquals(await main(["-p", "abc", "topics"], c.io), 2);
  assertEquals(c.err.at(-1), "igwn-alert: error: argument -p/--port: invalid int value: 'abc'");
  c = capture();
  assertEquals(await main([], c.io), 2);
  assertStringIncludes(c.err.at(-1)!, "the following arguments are required: action");
  c = capture();
  assertEquals(await main(["--no-auth", "bogus"], c.io), 2);
  c = capture();
  assertEquals(await main(["-l", "loud", "topics"], c.io), 2);
  c = capture();
  assertEquals(await main(["send", "-h"], c.io), 0);
  // the usage line, then the arguments described (compared with Python in cli_python_test.ts)
  assertEquals(
    c.out[0].split("\n")[0],
    "usage: igwn-alert send [-h] topic [topic ...] alertfile [alertfile ...]",
  );
  c = capture();
  assertEquals(await main(["--no-auth", "send", "superevent", "/nonexistent/alert.json"], c.io), 2);
  assertStringIncludes(c.err.at(-1)!, "can't open '/nonexistent/alert.json'");
  c = capture();
  assertEquals(await main(["--no-auth", "subscriptions"], c.io), 1);
  assertStringIncludes(c.err[0], "DeprecationWarning: This feature is deprecated. Please refer");
  c = capture();
  assertEquals(await main(["--no-auth", "unsubscribe"], c.io), 1);
  // unreachable broker: bounded time, clear message
  c = capture();
  const t0 = Date.now();
  assertEquals(await main(["--no-auth", "-s", "kafka://127.0.0.1/", "-p", "1", "topics"], c.io), 1);
  assert(Date.now() - t0 < 20_000);
  assertStringIncludes(c.err.at(-1)!, "cannot reach Kafka broker 127.0.0.1:1");
});

Deno.test("igwn-alert CLI against a real broker", async (t) => {
  await using kafka = await startKafka();
  const [host, port] = kafka.saslSsl.split(":");
  await createTopics(kafka, ["gracedb.superevent", "gracedb.cbc_gstlal", "gracedbx.other"]);
  const { dir } = await authHome(authEntry({
    username: "alice",
    password: "alice-secret",
    hostname: `localhost:${port}`,
    ssl_ca_location: kafka.caFile,
  }));
  const vars: Record<string, string> = { XDG_CONFIG_HOME: dir, HOME: dir };
  const env = { get: (k: string) => vars[k] };
  const base = ["-s", `kafka://${host}/`, "-p", port];
  try {
    await t.step("topics (auth.toml, -u selects the entry)", async () => {
      const c = capture();
      assertEquals(await main([...base, "-u", "alice", "topics"], { ...c.io, env }), 0);
      assertEquals(c.out, [
        "Topics for group gracedb associated with the current credential:",
        "cbc_gstlal\nsuperevent",
      ]);
    });

    await t.step("send several files to several topics; listen prints them", async () => {
      await Deno.writeTextFile(`${dir}/a1.json`, '{"uid": "S1"}');
      await Deno.writeTextFile(`${dir}/a2.json`, '{"uid": "S2"}');
      const c = capture();
      const ctl = new AbortController();
      const lines: string[] = [];
      let probes = 0;
      const listening = main([...base, "listen", "superevent", "cbc_gstlal"], {
        out: (t) => {
          if (t.endsWith("\nprobe")) {
            probes++;
            return;
          }
          lines.push(t);
          if (lines.length === 4) ctl.abort();
        },
        err: c.io.err,
        env,
        signal: ctl.signal,
        handleSignals: false,
      });
      // publish until the listener (start: latest) is assigned, then send the files
      const probe = new IgwnAlertClient({
        server: `kafka://${host}/`,
        port: Number(port),
        env,
        logger: () => {},
      });
      const s = capture();
      const t0 = Date.now();
      while (probes === 0 && Date.now() - t0 < 20_000) {
        await probe.publish("superevent", "probe");
        await until(() => probes > 0, 300).catch(() => {});
      }
      assertEquals(
        await main([
          ...base,
          "send",
          "superevent",
          "cbc_gstlal",
          `${dir}/a1.json`,
          `${dir}/a2.json`,
        ], {
          ...s.io,
          env,
        }),
        0,
        s.err.join("\n"),
      );
      assertEquals(await listening, 0, c.err.join("\n"));
      const expected = ['"{\\"uid\\": \\"S1\\"}"', '"{\\"uid\\": \\"S2\\"}"'];
      const got = lines.map((l) => l.split("\n"));
      for (const [head, body] of got) {
        assert(
          head === "New message from topic gracedb.superevent:" ||
            head === "New message from topic gracedb.cbc_gstlal:",
          head,
        );
        assert(expected.includes(body), body);
      }
      assertEquals(got.filter(([h]) => h.endsWith("superevent:")).length, 2);
    });

    await t.step("wrong password (auth.toml) and -n netrc: clear errors, exit 1", async () => {
      const bad = await authHome(authEntry({
        username: "alice",
        password: "not-the-password",
        hostname: `localhost:${port}`,
        ssl_ca_location: kafka.caFile,
      }));
      try {
        const c = capture();
        const code = await main([...base, "-u", "alice", "topics"], {
          ...c.io,
          env: { get: (k: string) => (k === "XDG_CONFIG_HOME" ? bad.dir : undefined) },
        });
        assertEquals(code, 1);
        assertStringIncludes(c.err.at(-1)!, "authentication failed for user 'alice'");
        assert(!c.err.join("\n").includes("not-the-password"));
      } finally {
        await Deno.remove(bad.dir, { recursive: true });
      }
      // -n reads the named file; the whole server string is the machine name
      const netrc = `${dir}/netrc`;
      await Deno.writeTextFile(netrc, "machine elsewhere login a password b\n");
      await Deno.chmod(netrc, 0o600);
      const missing = capture();
      assertEquals(await main([...base, "-n", netrc, "topics"], { ...missing.io, env }), 1);
      assertStringIncludes(
        missing.err.at(-1)!,
        `netrc information for kafka://${host}/ could not be found`,
      );
      // a netrc credential is SASL_SSL without a CA bundle: the per-run CA is unknown -> TLS error
      await Deno.writeTextFile(
        netrc,
        `machine kafka://${host}/ login alice password alice-secret\n`,
      );
      const tls = capture();
      assertEquals(await main([...base, "-n", netrc, "topics"], { ...tls.io, env }), 1);
      assertStringIncludes(tls.err.at(-1)!, "TLS connection to");
    });

    await t.step("unknown topic and bad credentials file", async () => {
      let c = capture();
      assertEquals(
        await main([...base, "-u", "alice", "send", "nope", `${dir}/a1.json`], { ...c.io, env }),
        1,
      );
      assertStringIncludes(c.err.at(-1)!, "topic gracedb.nope does not exist on the broker");
      await Deno.chmod(`${dir}/hop/auth.toml`, 0o644);
      c = capture();
      assertEquals(await main([...base, "-u", "alice", "topics"], { ...c.io, env }), 1);
      assertStringIncludes(c.err.at(-1)!, "has unsafe permissions");
      await Deno.chmod(`${dir}/hop/auth.toml`, 0o600);
    });

    await t.step("subprocess: deno run cli/igwn_alert.ts listen, -j, SIGTERM exits 0", async () => {
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          `${REPO_ROOT}/cli/igwn_alert.ts`,
          ...base,
          "-l",
          "info",
          "-j",
          "listen",
          "superevent",
        ],
        env: vars,
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const dec = new TextDecoder();
      let stdout = "";
      let stderr = "";
      const pumpOut = (async () => {
        for await (const ch of child.stdout) stdout += dec.decode(ch);
      })();
      const pumpErr = (async () => {
        for await (const ch of child.stderr) stderr += dec.decode(ch);
      })();
      try {
        await until(
          () => stderr.includes(" ready on gracedb.superevent"),
          30_000,
          "listener ready",
        );
        const c = new IgwnAlertClient({
          server: `kafka://${host}/`,
          port: Number(port),
          env,
          logger: () => {},
        });
        await c.publish("superevent", '{"uid": "S9", "n": [1, 2.0]}');
        await until(() => stdout.includes("}\n"), 15_000, "printed alert");
        assertEquals(
          stdout,
          'New message from topic gracedb.superevent:\n{\n    "uid": "S9",\n    "n": [\n        1,\n        2.0\n    ]\n}\n',
        );
        const t0 = Date.now();
        child.kill("SIGTERM");
        const status = await child.status;
        assertEquals(status.code, 0, stderr);
        assert(Date.now() - t0 < 5000, "stopped promptly");
        assert(!stderr.includes("TimeoutNegativeWarning"), stderr);
      } finally {
        try {
          child.kill("SIGKILL");
        } catch { /* exited */ }
        await child.status;
        await pumpOut;
        await pumpErr;
      }
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
