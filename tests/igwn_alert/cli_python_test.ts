// The igwn-alert CLI beside Python igwn-alert 0.7.0 where a new user hit differences: the
// server URL's port (honoured, -p overrides), `listen -j` key order (Python keeps document order),
// a file with a UTF-8 byte-order mark (sent as \ufeff, like Python), `<subcommand> --help`
// (argparse's description of the arguments; listen's handling options come after it), and a warning naming an auth.toml skipped for its
// permissions (Python skips it silently).
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { startKafka } from "../../testing/kafka.ts";
import { python, runPython } from "../../testing/python.ts";
import { main } from "../../cli/igwn_alert.ts";
import { IgwnAlertClient } from "../../lib/igwn_alert/mod.ts";
import { authEntry, authHome, createTopics, readRaw, until } from "./_helpers.ts";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) } };
}

/**
 * Runs Python's `igwn-alert` with `args` (its `-p` arrives as a string, which its client refuses:
 * the client gets it as the int it asks for).
 */
function pythonCli(args: string[], env: Record<string, string> = {}) {
  return runPython(
    `import sys
import igwn_alert.tool as tool
client = tool.client
tool.client = lambda **kw: client(**{**kw, "port": int(kw["port"])})
sys.argv[0] = "igwn-alert"
tool.main(sys.argv[1:])`,
    { args, env: { COLUMNS: "80", ...env } },
  );
}

Deno.test("igwn-alert CLI: <subcommand> --help describes the arguments as Python's argparse", async () => {
  for (const sub of ["listen", "topics", "subscriptions", "unsubscribe", "send"]) {
    const py = await pythonCli([sub, "--help"]);
    assertEquals(py.code, 0, py.stderr);
    const c = capture();
    assertEquals(await main([sub, "--help"], c.io), 0);
    if (sub === "listen") {
      // Python's description of every argument, then ours of the handling options beyond it
      const ours = c.out.join("\n");
      const [, ...pyRest] = py.stdout.trimEnd().split("\n\n");
      assert(ours.startsWith("usage: igwn-alert listen [-h] "), ours);
      for (const part of pyRest) assertStringIncludes(ours, part);
      assertStringIncludes(ours, "--exec CMD");
    } else {
      assertEquals(c.out.join("\n"), py.stdout.trimEnd(), sub);
    }
    const short = capture();
    assertEquals(await main([sub, "-h"], short.io), 0);
    assertEquals(short.out, c.out);
  }
});

Deno.test("igwn-alert CLI beside Python: URL port, -j key order, BOM, skipped auth.toml", async (t) => {
  await using kafka = await startKafka();
  const [host, port] = kafka.plaintext.split(":");
  await createTopics(kafka, ["gracedb.order", "gracedb.bom", "gracedb.pybom", "gracedb.port"]);
  const home = await Deno.makeTempDir({ prefix: "igwn-cli-py-" });
  const env = {
    get: (k: string) => ({ XDG_CONFIG_HOME: home, HOME: home } as Record<string, string>)[k],
  };
  try {
    await t.step("-s kafka://host:PORT/ goes to PORT; -p overrides it", async () => {
      // the URL's port alone (Python 0.7's listen/send would go to 9092)
      const file = `${home}/p.json`;
      await Deno.writeTextFile(file, '{"uid": "P1"}');
      let c = capture();
      assertEquals(
        await main(["--no-auth", "-s", `kafka://${host}:${port}/`, "send", "port", file], {
          ...c.io,
          env,
        }),
        0,
        c.err.join("\n"),
      );
      c = capture();
      assertEquals(
        await main(["--no-auth", "-s", `kafka://${host}:${port}/`, "topics"], { ...c.io, env }),
        0,
      );
      assertStringIncludes(c.out.join("\n"), "port");
      // a wrong port in the URL, the right one with -p
      c = capture();
      assertEquals(
        await main(["--no-auth", "-s", `kafka://${host}:1/`, "-p", port, "topics"], {
          ...c.io,
          env,
        }),
        0,
        c.err.join("\n"),
      );
      // and the other way round: -p wins over a right URL port
      c = capture();
      assertEquals(
        await main(["--no-auth", "-s", `kafka://${host}:${port}/`, "-p", "1", "topics"], {
          ...c.io,
          env,
        }),
        1,
      );
      assertStringIncludes(c.err.at(-1)!, `cannot reach Kafka broker ${host}:1`);
      // Python's topics honours the URL's port too: the same list
      const py = await pythonCli(["--no-auth", "-s", `kafka://${host}:${port}/`, "topics"]);
      assertEquals(py.code, 0, py.stderr);
      const ours = capture();
      await main(["--no-auth", "-s", `kafka://${host}:${port}/`, "topics"], { ...ours.io, env });
      // (ours sorted, Python in metadata order)
      const lines = (text: string) => text.trimEnd().split("\n");
      assertEquals(lines(ours.out.join("\n")).sort(), lines(py.stdout).sort());
    });

    await t.step("listen -j keeps the document's key order, as Python's json", async () => {
      const alert = '{"3": "three", "1": {"b": 1, "10": [1.0, 2e-05], "2": null}, "10": "ten", ' +
        '"a": "\u00e9"}';
      const ctl = new AbortController();
      const printed: string[] = [];
      const c = capture();
      const listening = main(
        ["--no-auth", "-s", `kafka://${host}:${port}/`, "-j", "listen", "order"],
        {
          out: (text) => {
            printed.push(text);
            ctl.abort();
          },
          err: c.io.err,
          env,
          signal: ctl.signal,
          handleSignals: false,
        },
      );
      // the listener starts at the end of the topic: publish until it prints one
      const pub = new IgwnAlertClient({
        noauth: true,
        server: `kafka://${host}:${port}/`,
        logger: () => {},
      });
      const t0 = Date.now();
      while (printed.length === 0 && Date.now() - t0 < 30_000) {
        await pub.publish("order", alert);
        await until(() => printed.length > 0, 300).catch(() => {});
      }
      assertEquals(await listening, 0, c.err.join("\n"));
      const py = await python(
        `import json,sys
print(json.dumps(json.loads(sys.stdin.read()), indent=4))`,
        { stdin: alert },
      );
      assertEquals(printed, [`New message from topic gracedb.order:\n${py.trimEnd()}`]);
    });

    await t.step("a file starting with a UTF-8 BOM is sent as Python sends it", async () => {
      const file = `${home}/bom.json`;
      const text = '{"uid": "S-BOM", "n": "\u00e9"}';
      await Deno.writeFile(
        file,
        new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode(text)]),
      );
      const c = capture();
      assertEquals(
        await main(["--no-auth", "-s", `kafka://${host}:${port}/`, "send", "bom", file], {
          ...c.io,
          env,
        }),
        0,
        c.err.join("\n"),
      );
      const py = await pythonCli([
        "--no-auth",
        "-s",
        `kafka://${host}/`,
        "-p",
        port,
        "send",
        "pybom",
        file,
      ]);
      assertEquals(py.code, 0, py.stderr);
      const [ours] = await readRaw(kafka, "gracedb.bom", 1);
      const [theirs] = await readRaw(kafka, "gracedb.pybom", 1);
      assertEquals(new TextDecoder().decode(ours.value), new TextDecoder().decode(theirs.value));
      // the mark is there, escaped (Python's ensure_ascii), not dropped
      assertStringIncludes(new TextDecoder().decode(ours.value), "ufeff{");
    });

    await t.step("an auth.toml skipped for its permissions is named in a warning", async () => {
      await Deno.mkdir(`${home}/hop`, { recursive: true });
      const { file } = await authHome(authEntry({ username: "a", password: "b" }));
      const toml = `${home}/hop/auth.toml`;
      await Deno.copyFile(file, toml);
      await Deno.remove(file.replace(/\/hop\/auth\.toml$/, ""), { recursive: true });
      await Deno.chmod(toml, 0o644);
      const c = capture();
      // no -u, no --no-auth: the cascade skips the file, finds no .netrc, goes unauthenticated
      assertEquals(
        await main(["-s", `kafka://${host}:${port}/`, "topics"], { ...c.io, env }),
        0,
        c.err.join("\n"),
      );
      const warnings = c.err.join("\n");
      assertStringIncludes(warnings, `${toml} was skipped`);
      assertStringIncludes(warnings, "unsafe permissions");
      assertStringIncludes(warnings, "No authentication found");
      // Python says nothing about the file
      const py = await pythonCli(["-s", `kafka://${host}:${port}/`, "topics"], {
        XDG_CONFIG_HOME: home,
        HOME: home,
      });
      assert(!py.stderr.includes("unsafe"), py.stderr);
    });
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
