/**
 * The `posttroll` operator CLI against real peers: a Python nameserver and Python publishers for
 * `listen` and `services` (output compared with what Python prints for the same messages and
 * records), a Python `Subscribe` receiving `send`, and the secure_zmq backend. Spawned with the
 * exact permissions of cli/binaries.ts.
 */
import { assert, assertEquals, assertMatch } from "@std/assert";
import { PythonProcess, REPO_ROOT } from "../../testing/python.ts";
import { binary } from "../../cli/binaries.ts";
import { Child } from "../../testing/child.ts";
import { testSetup, until } from "../../testing/posttroll.ts";
import { baseEnv, cliKeys, configOf, keyEnv } from "../secure/_helpers.ts";
import { NameServer } from "../../lib/posttroll/nameserver.ts";
import { NoisyPublisher } from "../../lib/posttroll/publisher.ts";
import { subscribe } from "../../lib/posttroll/subscriber.ts";
import { Message } from "../../lib/posttroll/message.ts";

const CLI = binary("posttroll");

async function finished(c: Child, timeoutMs = 30_000): Promise<number> {
  const t = setTimeout(() => c.kill("SIGKILL"), timeoutMs);
  try {
    const { code } = await c.child.status;
    await c.done;
    return code;
  } finally {
    clearTimeout(t);
  }
}

/** A Python nameserver (posttroll 1.16, direct registration) printing "ready". */
function pythonNameserver(env: Record<string, string>, maxAge = 60): PythonProcess {
  return PythonProcess.spawn(
    `
import datetime as dt, threading
from posttroll.ns import NameServer
ns = NameServer(max_age=dt.timedelta(seconds=${maxAge}), multicast_enabled=False)
threading.Timer(0.5, lambda: print("ready", flush=True)).start()
ns.run()
`,
    { env },
  );
}

/**
 * A Python NoisyPublisher registering directly; each time it reads a line on stdin it sends one
 * message and prints its str() and the --json line Python would write for it.
 */
const PY_PUBLISHER = `
import json, sys, datetime as dt
from posttroll.message import Message
from posttroll.publisher import Publish
name, aliases = sys.argv[1], sys.argv[2:]
with Publish(name, 0, aliases=aliases, nameservers=["localhost"], broadcast_interval=60) as pub:
    print("started", flush=True)
    n = 0
    for line in sys.stdin:
        n += 1
        msg = Message("/test/listen/%s" % name, "file", {
            "uri": "/data/f%d.h5" % n, "n": n, "ratio": 1.0, "station": "norrk\\u00f6ping",
            "start_time": dt.datetime(2026, 11, 25, 10, n), "nested": {"a": [1, None, True]},
        })
        pub.send(str(msg))
        print("SENT " + str(msg), flush=True)
        msg = Message.decode(str(msg))  # as a Python subscriber sees it
        print("JSON " + json.dumps({"subject": msg.subject, "type": msg.type, "sender": msg.sender,
            "time": msg.time, "version": msg.version, "data": msg.data},
            default=lambda d: d.isoformat()), flush=True)
`;

Deno.test("posttroll listen: text and --json lines equal what Python prints for the same messages", async () => {
  const s = testSetup({ POSTTROLL_MULTICAST: "False" });
  await using ns = pythonNameserver(s.env);
  await ns.waitForLine((l) => l === "ready", 20_000);
  // the listeners start before the publisher exists: they must follow it when it registers
  const text = Child.binary("posttroll", ["listen", "-n", "3", "-t", "/test/listen"], s.env);
  const json = Child.binary("posttroll", ["listen", "-n", "3", "--json", "-s", "pypub"], s.env);
  await using pub = PythonProcess.spawn(PY_PUBLISHER, { env: s.env, args: ["pypub", "alias1"] });
  try {
    await pub.waitForLine((l) => l === "started", 20_000);
    const sent: string[] = [];
    const sentJson: string[] = [];
    // keep sending until both listeners have exited (they may join late: PUB/SUB keeps no history)
    let done = false;
    const codes = Promise.all([finished(text, 60_000), finished(json, 60_000)]).finally(() =>
      done = true
    );
    while (!done) {
      await pub.writeLine("go");
      sent.push((await pub.waitForLine((l) => l.startsWith("SENT "))).slice(5));
      sentJson.push((await pub.waitForLine((l) => l.startsWith("JSON "))).slice(5));
      await new Promise((r) => setTimeout(r, 100));
    }
    assertEquals(await codes, [0, 0], [...text.lines, ...json.lines].join("\n"));
    assertEquals(text.lines.length, 3, text.lines.join("\n"));
    const first = sent.indexOf(text.lines[0]);
    assert(first >= 0, `not a message Python sent: ${text.lines[0]}\nsent:\n${sent.join("\n")}`);
    assertEquals(text.lines, sent.slice(first, first + 3));
    assertEquals(json.lines.length, 3, json.lines.join("\n"));
    const uri = (await until(async () => {
      const addrs = await import("../../lib/posttroll/nameserver.ts").then((m) =>
        m.getPubAddress("pypub", { config: s.config, timeout: 5 })
      );
      return addrs[0]?.URI as string | undefined;
    }))!;
    const j0 = sentJson.findIndex((l) => json.lines[0].startsWith(l.slice(0, -1)));
    assert(j0 >= 0, `no Python JSON matches ${json.lines[0]}\n${sentJson.join("\n")}`);
    json.lines.forEach((line, i) => {
      const m = /^(.*), "address": "([^"]*)", "received": "([^"]*)"}$/.exec(line);
      assert(m, line);
      assertEquals(m[1] + "}", sentJson[j0 + i]);
      assertEquals(m[2], uri);
      assertMatch(m[3], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$/);
    });
  } finally {
    await text.kill("SIGKILL");
    await json.kill("SIGKILL");
  }
});

Deno.test("posttroll send: a Python Subscribe receives exactly the message printed; data from stdin", async () => {
  const s = testSetup({ POSTTROLL_MULTICAST: "False" });
  const ns = new NameServer({ multicastEnabled: false, config: s.config });
  const running = ns.run();
  await ns.ready;
  await using sub = PythonProcess.spawn(
    `
from posttroll.subscriber import Subscribe
print("subscribing", flush=True)
with Subscribe("posttroll_send", topics="/test/send", addr_listener=True, nameserver="localhost", timeout=1) as sub:
    for msg in sub.recv(1):
        if msg is not None:
            print("GOT " + str(msg), flush=True)
`,
    { env: s.env },
  );
  try {
    await sub.waitForLine((l) => l === "subscribing", 20_000);
    const one = Child.binary(
      "posttroll",
      ["send", "/test/send/one", "file", '{"uri": "/data/a.h5", "ratio": 1.0, "n": [1, 2]}'],
      s.env,
    );
    assertEquals(await finished(one), 0, one.lines.join("\n"));
    const got = (await sub.waitForLine((l) => l.startsWith("GOT "), 20_000)).slice(4);
    assertEquals(got, one.lines[0]);
    assertMatch(
      got,
      /^pytroll:\/\/test\/send\/one file \S+ \S+ v1\.01 application\/json {"uri": "\/data\/a\.h5", "ratio": 1\.0, "n": \[1, 2\]}$/,
    );
    // data from stdin, a JSON string: a text/ascii message
    const two = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...CLI.permissions,
        "--no-prompt",
        `${REPO_ROOT}/${CLI.entry}`,
        "send",
        "/test/send/two",
        "info",
        "-",
      ],
      env: s.env,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = two.stdin.getWriter();
    await w.write(new TextEncoder().encode('"hello  world"'));
    await w.close();
    const out = await two.output();
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    const printed = new TextDecoder().decode(out.stdout).trim();
    assert(printed.endsWith(" text/ascii hello  world"), printed);
    assertEquals((await sub.waitForLine((l) => l.startsWith("GOT "), 20_000)).slice(4), printed);
  } finally {
    await ns.stop();
    await running;
  }
});

Deno.test("posttroll send: no subscriber within --timeout exits 1 and says nothing was sent", async () => {
  const s = testSetup({ POSTTROLL_MULTICAST: "False" });
  const ns = new NameServer({ multicastEnabled: false, config: s.config });
  const running = ns.run();
  await ns.ready;
  try {
    const c = Child.binary("posttroll", ["send", "/x", "info", '"hi"', "--timeout", "1.5"], s.env);
    assertEquals(await finished(c), 1);
    assert(
      c.lines.some((l) => l.includes("0 of 1 subscribers to /x connected within 1.5 s")),
      c.lines.join("\n"),
    );
    const bad = Child.binary("posttroll", ["send", "/x", "info", "not json"], s.env);
    assertEquals(await finished(bad), 2);
    assert(bad.lines.some((l) => l.includes("DATA is not JSON")), bad.lines.join("\n"));
  } finally {
    await ns.stop();
    await running;
  }
});

Deno.test("posttroll services: --json equals Python's get_pub_address; the table lists each record", async () => {
  const s = testSetup({ POSTTROLL_MULTICAST: "False" });
  await using ns = pythonNameserver(s.env);
  await ns.waitForLine((l) => l === "ready", 20_000);
  await using a = PythonProcess.spawn(PY_PUBLISHER, { env: s.env, args: ["svc_a", "alias_x"] });
  await using b = PythonProcess.spawn(PY_PUBLISHER, { env: s.env, args: ["svc_b"] });
  await a.waitForLine((l) => l === "started", 20_000);
  await b.waitForLine((l) => l === "started", 20_000);
  const pyList = `
import json
from posttroll.ns import get_pub_address
print(json.dumps(get_pub_address("", timeout=5, nameserver="localhost"), default=lambda d: d.isoformat()))
`;
  const { python } = await import("../../testing/python.ts");
  // the Python nameserver lists itself ("address_receiver") and refreshes that record every 2 s:
  // ask Python, then us, until both answers fall between two refreshes
  let expected = "";
  let ours: string[] = [];
  for (let attempt = 0; attempt < 10; attempt++) {
    expected = (await python(pyList, { env: s.env })).trim();
    if (JSON.parse(expected).length !== 3) {
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    const j = Child.binary("posttroll", ["services", "--json"], s.env);
    assertEquals(await finished(j), 0, j.lines.join("\n"));
    ours = j.lines;
    if (ours.length === 1 && ours[0] === expected) break;
  }
  assertEquals(ours, [expected]);
  const t = Child.binary("posttroll", ["services"], s.env);
  assertEquals(await finished(t), 0, t.lines.join("\n"));
  const records = JSON.parse(expected) as Array<{ URI: string }>;
  const uriOf = (name: string) => records.find((r) => JSON.stringify(r).includes(name))!.URI;
  const rows = t.lines.map((l) => l.split(/\s{2,}/));
  assertEquals(rows[0], ["SERVICE", "ALIASES", "ADDRESS", "AGE", "VERSION", "BACKEND"]);
  assertEquals(rows.slice(1).map((r) => [r[0], r[1], r[2], r[4], r[5]]), [
    ["address_receiver", "addresses", uriOf("address_receiver"), "v1.2", "unsecure_zmq"],
    ["svc_a", "alias_x", uriOf("svc_a"), "v1.2", "unsecure_zmq"],
    ["svc_b", "-", uriOf("svc_b"), "v1.2", "unsecure_zmq"],
  ]);
  for (const r of rows.slice(1)) assertMatch(r[3], /^\d+s$/);
  // no nameserver: exit 1 and a message naming it
  const none = Child.binary("posttroll", [
    "services",
    "--nameserver",
    "127.0.0.1",
    "--timeout",
    "0.5",
  ], {
    ...s.env,
    POSTTROLL_NAMESERVER_PORT: String(s.addressPort + 0),
  });
  const code = await finished(none);
  assertEquals(code, 1, none.lines.join("\n"));
  assert(none.lines.some((l) => l.includes("nameserver 127.0.0.1")), none.lines.join("\n"));
});

Deno.test("posttroll listen, services and send under secure_zmq: CURVE keys from POSTTROLL_* settings", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const keys = await cliKeys(dir);
    const env = baseEnv({ ...keyEnv(keys), POSTTROLL_BACKEND: "secure_zmq" });
    const config = configOf(env);
    const ns = new NameServer({ multicastEnabled: true, directRegistration: true, config });
    const running = ns.run();
    await ns.ready;
    try {
      await using pub = await new NoisyPublisher("secure_pub", {
        nameservers: ["localhost"],
        broadcastInterval: 0.2,
        config,
      }).start();
      const svc = Child.binary("posttroll", ["services"], env);
      assertEquals(await finished(svc), 0, svc.lines.join("\n"));
      assert(svc.lines.some((l) => /^secure_pub\s.*\ssecure_zmq$/.test(l)), svc.lines.join("\n"));
      const listen = Child.binary("posttroll", ["listen", "-s", "secure_pub", "-n", "1"], env);
      let n = 0;
      while (listen.lines.length === 0) {
        await pub.send(new Message("/secure/x", "info", `m${n++}`).encode());
        await new Promise((r) => setTimeout(r, 100));
        if (n > 300) break;
      }
      assertEquals(await finished(listen), 0, listen.lines.join("\n"));
      assertMatch(listen.lines[0], /^pytroll:\/\/secure\/x info \S+ \S+ v1\.01 text\/ascii m\d+$/);
      // send: registered with the secure nameserver, read by a CURVE subscriber of ours
      await using sub = await subscribe({
        services: "posttroll_send",
        topics: "/secure/y",
        addrListener: true,
        timeout: 1,
        config,
      });
      const send = Child.binary("posttroll", ["send", "/secure/y", "info", '"over curve"'], env);
      const it = sub[Symbol.asyncIterator]();
      const got = await it.next();
      assertEquals(await finished(send), 0, send.lines.join("\n"));
      assertEquals(got.value.encode(), send.lines[0]);
    } finally {
      await ns.stop();
      await running;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("posttroll listen: SIGINT and SIGTERM end it within 2 s in every state", async () => {
  const s = testSetup({ POSTTROLL_MULTICAST: "False" });
  const exits = async (c: Child, signal: Deno.Signal, ready: (l: string[]) => boolean) => {
    await until(() => ready(c.lines), { timeoutMs: 20_000, what: "the state to test" });
    const { code, ms } = await c.kill(signal);
    assertEquals(code, 0, `${signal}: ${c.lines.join("\n")}`);
    assert(ms < 2000, `${signal}: exit took ${ms} ms`);
  };
  // 1. still looking up a nameserver that is not there (--timeout 30)
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    const c = Child.binary(
      "posttroll",
      ["listen", "--timeout", "30", "--metrics", "127.0.0.1:0"],
      s.env,
    );
    const t0 = Date.now();
    await exits(c, signal, () => Date.now() - t0 > 1500);
  }
  const ns = new NameServer({ multicastEnabled: false, config: s.config });
  const running = ns.run();
  await ns.ready;
  try {
    // 2. idle: following the nameserver, no publisher
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      const c = Child.binary("posttroll", ["listen", "--timeout", "0.5"], s.env);
      const t0 = Date.now();
      await exits(c, signal, () => Date.now() - t0 > 2500);
    }
    // 3. printing a steady stream of messages
    await using pub = await new NoisyPublisher("busy", {
      nameservers: ["localhost"],
      broadcastInterval: 0.2,
      config: s.config,
    }).start();
    let sending = true;
    const sender = (async () => {
      for (let i = 0; sending; i++) {
        await pub.send(new Message("/busy", "info", `m${i}`).encode());
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    try {
      for (const signal of ["SIGINT", "SIGTERM"] as const) {
        const c = Child.binary("posttroll", ["listen", "-s", "busy"], s.env);
        await exits(c, signal, (l) => l.length >= 20);
      }
    } finally {
      sending = false;
      await sender;
    }
  } finally {
    await ns.stop();
    await running;
  }
});
