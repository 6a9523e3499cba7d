import { assertEquals, assertThrows } from "@std/assert";
import {
  collectEnv,
  ConfigError,
  loadYamlParser,
  PosttrollConfig,
  UnsupportedBackendError,
} from "../../lib/posttroll/config.ts";
import { parsePythonLiteral, parsePythonLiteralOrString } from "../../lib/posttroll/pyliteral.ts";
import { python } from "../../testing/python.ts";

Deno.test("pyliteral: values like ast.literal_eval", () => {
  const cases: Array<[string, unknown]> = [
    [" 1", 1],
    ["1 # c", 1],
    ['"a" "b"', "ab"],
    ["(1)", 1],
    ["-0x1F", -31],
    ["1_000", 1000],
    ["1e3", 1000],
    [".5", 0.5],
    ["{1: 2}", { "1": 2 }],
    ["(1,)", [1]],
    ["()", []],
    ["[1,]", [1]],
    ["True", true],
    ["None", null],
    ["+5", 5],
    ["- 5", -5],
    ['r"a\\n"', "a\\n"],
    ['"""x"""', "x"],
    ["0o7", 7],
    ["0b101", 5],
    ["'\\x41\\u00e9\\N{BULLET}\\t'", "Aé•\t"],
    ["{'a': [1, 2.5, 'x'], 'b': {'c': None}}", { a: [1, 2.5, "x"], b: { c: null } }],
    ["12345678901234567890", 12345678901234567890n],
  ];
  for (const [src, want] of cases) assertEquals(parsePythonLiteral(src), want, src);
  assertEquals(parsePythonLiteral("{1, 2}"), new Set([1, 2]));
  assertEquals(parsePythonLiteral("set()"), new Set());
  assertEquals(parsePythonLiteral("b'x\\x00'"), new Uint8Array([120, 0]));
});

Deno.test("pyliteral: non-literals stay raw strings like donfig", () => {
  for (
    const s of ["localhost", "127.0.0.1", "225.0.0.1", "none", "inf", "07", "", "  ", "1j", "f(1)"]
  ) {
    assertEquals(parsePythonLiteralOrString(s), s, s);
  }
});

Deno.test("pyliteral: agrees with Python on a corpus", async () => {
  const corpus = [
    "5557",
    "'x'",
    "[1, 'two', 3.5, None, True]",
    "{'a': {'b': [1, (2, 3)]}}",
    "-12.5e-3",
    "0xff",
    "'caf\\u00e9'",
    '"it\'s"',
    "[]",
    "{}",
    "(1, 2)",
    "1_0",
  ];
  const out = await python(
    `import ast, json, sys
for line in sys.stdin.read().split("\\n"):
    v = ast.literal_eval(line)
    print(json.dumps(v))`,
    { stdin: corpus.join("\n") },
  );
  const lines = out.trim().split("\n");
  corpus.forEach((src, i) => assertEquals(parsePythonLiteral(src), JSON.parse(lines[i]), src));
});

Deno.test("config: defaults, env parsing and nesting", () => {
  const c = new PosttrollConfig({
    env: {
      POSTTROLL_NAMESERVER_PORT: "16001",
      POSTTROLL_MC_GROUP: "226.0.0.1",
      POSTTROLL_A__B_C: "[1, 'x']",
      POSTTROLL_MULTICAST_INTERFACE: "127.0.0.1",
      OTHER: "1",
    },
  });
  assertEquals(c.backend(), "unsecure_zmq");
  assertEquals(c.nameserverPort(), 16001);
  assertEquals(c.get("nameserver_port"), 16001);
  assertEquals(c.mcGroup(), "226.0.0.1");
  assertEquals(c.get("a.b_c"), [1, "x"]);
  assertEquals(c.get("a.b-c"), [1, "x"]); // donfig's - / _ equivalence
  assertEquals(c.multicastInterface(), "127.0.0.1");
  assertEquals(c.broadcastPort(), 21200);
  assertEquals(c.addressPublishPort(), 16543);
  assertEquals(c.secureNameserverPort(), 5558);
  assertEquals(c.pubMinPort(), 49152);
  assertEquals(c.pubMaxPort(), 65536);
  assertEquals(c.mcTtl(), 31);
  assertThrows(() => c.get("missing"), ConfigError);
  assertEquals(c.get("missing", 3), 3);
  assertEquals(collectEnv({ POSTTROLL_X: "True" }), { x: true });
});

Deno.test("config: legacy NAMESERVER_PORT, PYTROLL_MC_GROUP, PYTROLL_MC_TTL", () => {
  const c = new PosttrollConfig({
    env: { NAMESERVER_PORT: "7000", PYTROLL_MC_GROUP: "226.0.0.13", PYTROLL_MC_TTL: "4" },
  });
  assertEquals(c.nameserverPort(), 7000);
  assertEquals(c.mcGroup(), "226.0.0.13");
  assertEquals(c.mcTtl(), 4);
  // the POSTTROLL_ keys win over the legacy ones
  const d = new PosttrollConfig({
    env: {
      NAMESERVER_PORT: "7000",
      POSTTROLL_NAMESERVER_PORT: "7001",
      PYTROLL_MC_GROUP: "226.0.0.13",
      POSTTROLL_MC_GROUP: "227.0.0.1",
    },
  });
  assertEquals(d.nameserverPort(), 7001);
  assertEquals(d.mcGroup(), "227.0.0.1");
});

Deno.test("config: set() is scoped with using and restores on dispose", () => {
  const c = new PosttrollConfig({ env: { POSTTROLL_BROADCAST_PORT: "1" } });
  {
    using _ = c.set({ broadcast_port: 2, "x.y": 3, new_key: "v" });
    assertEquals(c.broadcastPort(), 2);
    assertEquals(c.get("x.y"), 3);
    {
      using _inner = c.set({ broadcast_port: 4 });
      assertEquals(c.broadcastPort(), 4);
    }
    assertEquals(c.broadcastPort(), 2);
  }
  assertEquals(c.broadcastPort(), 1);
  assertEquals(c.has("x"), false);
  assertEquals(c.has("new_key"), false);
  c.set({ kept: 1 }); // not disposed: stays, like donfig's config.set(...) outside `with`
  assertEquals(c.get("kept"), 1);
  // string values for ports, as posttroll's tests use
  using _s = c.set({ pub_min_port: "40000", pub_max_port: "40001" });
  assertEquals([c.pubMinPort(), c.pubMaxPort()], [40000, 40001]);
});

Deno.test("config: unknown backend raises a typed error", () => {
  const c = new PosttrollConfig({ env: {} });
  using _ = c.set({ backend: "spurious_backend" });
  const e = assertThrows(() => c.backend(), UnsupportedBackendError);
  assertEquals(e.backend, "spurious_backend");
});

Deno.test("config: tcp_keepalive settings, None skipped", () => {
  const c = new PosttrollConfig({ env: {} });
  assertEquals(c.tcpKeepalive(), {});
  {
    using _ = c.set({
      tcp_keepalive: 1,
      tcp_keepalive_cnt: 10,
      tcp_keepalive_idle: 1,
      tcp_keepalive_intvl: 1,
    });
    assertEquals(c.tcpKeepalive(), { keepalive: 1, count: 10, idle: 1, interval: 1 });
  }
  using _ = c.set({ tcp_keepalive: null });
  assertEquals(c.tcpKeepalive(), {});
});

Deno.test("config: JSON and YAML files, env wins, POSTTROLL_CONFIG path", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(
      `${dir}/a.json`,
      JSON.stringify({ nameserver_port: 1, mc_group: "226.0.0.2" }),
    );
    Deno.writeTextFileSync(
      `${dir}/b.yaml`,
      "nameserver_port: 2\nauthorized_client_addresses:\n  - 127.0.0.1\nflag: yes\n",
    );
    Deno.writeTextFileSync(`${dir}/ignored.txt`, "nameserver_port: 9");
    await loadYamlParser();
    const c = new PosttrollConfig({ env: {}, paths: [dir] });
    assertEquals(c.nameserverPort(), 2);
    assertEquals(c.mcGroup(), "226.0.0.2");
    assertEquals(c.authorizedClientAddresses(), ["127.0.0.1"]);
    assertEquals(c.get("flag"), true); // YAML 1.1 like PyYAML
    const d = new PosttrollConfig({ env: { POSTTROLL_NAMESERVER_PORT: "3" }, paths: [dir] });
    assertEquals(d.nameserverPort(), 3);
    Deno.writeTextFileSync(`${dir}/single.json`, JSON.stringify({ broadcast_port: 5 }));
    const e = new PosttrollConfig({
      env: {
        POSTTROLL_CONFIG: `${dir}/single.json`,
        POSTTROLL_ROOT_CONFIG: `${dir}/none`,
        HOME: `${dir}/nohome`,
      },
      paths: undefined,
    });
    // with an explicit env, the default search path is not used unless asked:
    assertEquals(e.broadcastPort(), 21200);
    Deno.writeTextFileSync(`${dir}/bad.json`, "[1]");
    assertThrows(
      () => new PosttrollConfig({ env: {}, paths: [`${dir}/bad.json`] }).get("x", 1),
      ConfigError,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("config: same values as Python donfig for the same environment", async () => {
  const env = {
    POSTTROLL_NAMESERVER_PORT: "16001",
    POSTTROLL_MC_GROUP: "226.0.0.1",
    POSTTROLL_TCP_KEEPALIVE: "1",
    POSTTROLL_AUTHORIZED_CLIENT_ADDRESSES: "['127.0.0.1', 'localhost']",
    POSTTROLL_A__B: "{'c': (1, 2)}",
    POSTTROLL_ROOT_CONFIG: "/nonexistent-posttroll",
  };
  const out = await python(
    `import json
from posttroll import config
d = config.to_dict()
print(json.dumps({k: d[k] for k in ["nameserver_port", "mc_group", "tcp_keepalive", "authorized_client_addresses", "a", "backend"]}))`,
    { env: { ...env, HOME: "/nonexistent-home" } },
  );
  const c = new PosttrollConfig({ env });
  const ours = Object.fromEntries(
    ["nameserver_port", "mc_group", "tcp_keepalive", "authorized_client_addresses", "a", "backend"]
      .map((k) => [k, c.get(k)]),
  );
  assertEquals(ours, JSON.parse(out));
});

Deno.test("config: message_version reaches the codec only from the shared config", async () => {
  const { config } = await import("../../lib/posttroll/config.ts");
  const { Message } = await import("../../lib/posttroll/message.ts");
  const other = new PosttrollConfig({ env: { POSTTROLL_MESSAGE_VERSION: "v1.2" } });
  other.get("backend");
  assertEquals(new Message("/a", "info", { x: 1 }).version, "v1.01");
  {
    using _ = config.set({ message_version: "v1.2" });
    assertEquals(new Message("/a", "info", { x: 1 }).version, "v1.2");
  }
  assertEquals(new Message("/a", "info", { x: 1 }).version, "v1.01");
});

Deno.test("config: YAML in the default search path is read without loadYamlParser; elsewhere the error says to call it", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(`${dir}/p.yaml`, "nameserver_port: 4242\nflag: on\n");
    const code = `
      import { config, PosttrollConfig } from ${
      JSON.stringify(new URL("../../lib/posttroll/config.ts", import.meta.url).href)
    };
      const out = { port: config.nameserverPort(), flag: config.get("flag", null) };
      let explicit = "";
      try {
        new PosttrollConfig({ env: {}, paths: [${JSON.stringify(dir)}] }).nameserverPort();
      } catch (e) {
        explicit = e.name + ": " + e.message;
      }
      console.log(JSON.stringify({ ...out, explicit }));
    `;
    const run = async (env: Record<string, string>) => {
      const o = await new Deno.Command(Deno.execPath(), {
        args: ["eval", code],
        env: {
          DENO_DIR: Deno.env.get("DENO_DIR") ??
            `${Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME")}/.cache`}/deno`,
          POSTTROLL_ROOT_CONFIG: `${dir}/none`,
          HOME: `${dir}/nohome`,
          ...env,
        },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assertEquals(o.code, 0, new TextDecoder().decode(o.stderr));
      return JSON.parse(new TextDecoder().decode(o.stdout));
    };
    // POSTTROLL_CONFIG names the directory: the parser is loaded when the module loads
    const found = await run({ POSTTROLL_CONFIG: dir });
    assertEquals([found.port, found.flag, found.explicit], [4242, true, ""]);
    // no YAML in the default search path: an explicit YAML path fails naming the remedy
    const notFound = await run({ POSTTROLL_CONFIG: `${dir}/none` });
    assertEquals(notFound.port, 5557);
    assertEquals(
      notFound.explicit,
      `ConfigError: The YAML config file ${JSON.stringify(`${dir}/p.yaml`)} was not in the ` +
        "default search path when the configuration module loaded: await loadYamlParser() " +
        "before reading it",
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
