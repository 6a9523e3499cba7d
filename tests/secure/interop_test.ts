/**
 * `secure_zmq` interop with Python posttroll 1.16 over CURVE on loopback: key files made by our
 * CLI read by Python, key files made by pyzmq read by us, and nameserver look-ups on the secure
 * port in both directions.
 */
import { assert, assertEquals, assertInstanceOf, assertRejects } from "@std/assert";
import { Message } from "../../lib/posttroll/message.ts";
import {
  AuthRefusedError,
  getPubAddress,
  NameServer,
  NameserverTimeoutError,
} from "../../lib/posttroll/nameserver.ts";
import { Publisher } from "../../lib/posttroll/publisher.ts";
import { Subscriber } from "../../lib/posttroll/subscriber.ts";
import { generateKeyFiles } from "../../lib/posttroll/secure_keys.ts";
import { PythonProcess, runPython } from "../../testing/python.ts";
import { baseEnv, cliKeys, configOf, keyEnv, LogCollector, sendLoop, until } from "./_helpers.ts";

Deno.test("CLI keys + config.set(backend=secure_zmq): Python secure Subscriber reads our secure Publisher", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const keys = await cliKeys(dir);
    const env = baseEnv();
    const config = configOf(env);
    // backend and key files chosen by config.set (Python: `with config.set(backend=...)`)
    using _ = config.set({
      backend: "secure_zmq",
      server_secret_key_file: keys.serverSecret,
      clients_public_keys_directory: keys.clientsDir,
    });
    const log = new LogCollector();
    await using pub = await new Publisher("tcp://127.0.0.1:0", { config, logger: log.logger })
      .start();
    await using py = PythonProcess.spawn(
      `import sys
from posttroll.subscriber import Subscriber
sub = Subscriber([sys.argv[1]], topics="/sec")
print("ready", flush=True)
for msg in sub.recv(0.1):
    if msg is not None:
        print("GOT", msg.subject, msg.data["n"], flush=True)
        break
sub.stop()
`,
      {
        args: [`tcp://127.0.0.1:${pub.portNumber}`],
        env: { ...env, ...keyEnv(keys), POSTTROLL_BACKEND: "secure_zmq" },
      },
    );
    await py.waitForLine((l) => l === "ready", 15_000);
    const sender = sendLoop(() => pub.send(new Message("/sec/cli", "info", { n: 7 })));
    try {
      assertEquals(await py.readLine(15_000), "GOT /sec/cli 7");
    } finally {
      await sender.stop();
    }
    assertEquals(log.matching("refused"), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pyzmq keys: our secure Subscriber reads a Python secure Publisher; an unknown key is refused and told so", async () => {
  const dir = await Deno.makeTempDir();
  const other = await Deno.makeTempDir();
  try {
    const env = baseEnv();
    await using py = PythonProcess.spawn(
      `import sys, time, zmq.auth
from posttroll import config
from posttroll.message import Message
from posttroll.publisher import Publisher
d = sys.argv[1]
spub, ssec = zmq.auth.create_certificates(d, "server")
cpub, csec = zmq.auth.create_certificates(d, "client")
with config.set(backend="secure_zmq", server_secret_key_file=ssec, clients_public_keys_directory=d):
    pub = Publisher("tcp://127.0.0.1:0")
    pub.start()
    print("ready", pub.port_number, flush=True)
    for i in range(800):
        pub.send(str(Message("/py/secure", "info", {"i": i})))
        time.sleep(0.025)
    pub.stop()
`,
      { args: [dir], env },
    );
    const port = Number((await py.waitForLine((l) => l.startsWith("ready"), 15_000)).split(" ")[1]);
    const uri = `tcp://127.0.0.1:${port}`;
    // keys written by pyzmq's create_certificates, read by our key loader
    const good = configOf({
      ...env,
      POSTTROLL_BACKEND: "secure_zmq",
      POSTTROLL_CLIENT_SECRET_KEY_FILE: `${dir}/client.key_secret`,
      POSTTROLL_SERVER_PUBLIC_KEY_FILE: `${dir}/server.key`,
    });
    const intruderKeys = await generateKeyFiles("intruder", { directory: other });
    const bad = configOf({
      ...env,
      POSTTROLL_BACKEND: "secure_zmq",
      POSTTROLL_CLIENT_SECRET_KEY_FILE: intruderKeys.secretFile,
      POSTTROLL_SERVER_PUBLIC_KEY_FILE: `${dir}/server.key`,
    });
    const badLog = new LogCollector();
    await using sub = new Subscriber(uri, { config: good, topics: "/py" });
    await using intruder = new Subscriber(uri, { config: bad, logger: badLog.logger });
    const got: Message[] = [];
    for await (const m of sub.recv(0.1)) {
      if (m) got.push(m);
      if (got.length >= 3) break;
    }
    assertEquals(got[0].subject, "/py/secure");
    // libzmq's ZAP refusal reaches our client as an ERROR command: reported, not silent
    const st = await (async () => {
      for await (const s of intruder.status()) if (s.type === "refused") return s;
    })();
    assert(st);
    assertEquals(st.uri, uri);
    assertEquals(st.error.kind, "auth");
    assertInstanceOf(intruder.refused.get(uri), AuthRefusedError);
    assertEquals(badLog.matching("refused us").length, 1);
    const it = intruder.recv(0.3);
    assertEquals((await it.next()).value, null);
    await it.return();
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(other, { recursive: true });
  }
});

Deno.test("secure nameserver port: Python get_pub_address (secure_zmq) -> our NameServer, unknown key logged", async () => {
  const dir = await Deno.makeTempDir();
  const other = await Deno.makeTempDir();
  try {
    const keys = await cliKeys(dir);
    const env = { ...baseEnv(), ...keyEnv(keys) }; // backend unsecure_zmq: both ports bound
    const log = new LogCollector();
    const ns = new NameServer({ config: configOf(env), logger: log.logger });
    const svc = ["tcp://127.0.0.1:40001"];
    const running = ns.run({ secure_service: svc }, "tcp://127.0.0.1");
    try {
      const endpoints = await ns.ready;
      assertEquals(endpoints.length, 2);
      assert(endpoints[1].endsWith(`:${env.POSTTROLL_SECURE_ZMQ_NAMESERVER_PORT}`));
      const intruder = await generateKeyFiles("intruder", { directory: other });
      const out = await runPython(
        `import json, sys
from posttroll import config
from posttroll.ns import get_pub_address
print(json.dumps(get_pub_address("secure_service", timeout=10, nameserver="127.0.0.1")), flush=True)
with config.set(client_secret_key_file=sys.argv[1]):
    try:
        get_pub_address("secure_service", timeout=1, nameserver="127.0.0.1")
        print("intruder answered", flush=True)
    except TimeoutError:
        print("intruder timed out", flush=True)
`,
        {
          args: [intruder.secretFile],
          env: { ...env, POSTTROLL_BACKEND: "secure_zmq" },
          timeoutMs: 30_000,
        },
      );
      assertEquals(out.stdout.trim().split("\n"), [JSON.stringify(svc), "intruder timed out"]);
      const refusals = log.matching("refused CURVE client key");
      assert(refusals.length >= 1, log.lines.join("\n"));
      assert(refusals[0].startsWith("warning: Nameserver (secure): refused CURVE client key"));
      assert(refusals[0].includes(keys.clientsDir));
    } finally {
      await ns.stop();
      await running;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(other, { recursive: true });
  }
});

Deno.test("secure nameserver port: our getPubAddress -> Python posttroll.ns.NameServer; refusals are typed errors", async () => {
  const dir = await Deno.makeTempDir();
  const other = await Deno.makeTempDir();
  try {
    const keys = await cliKeys(dir);
    const env = { ...baseEnv(), ...keyEnv(keys) };
    await using py = PythonProcess.spawn(
      `import sys, threading
from posttroll.ns import NameServer
ns = NameServer()
svc = ["tcp://127.0.0.1:40002"]
t = threading.Thread(target=ns.run, args=(dict(py_secure=svc), "tcp://127.0.0.1"))
t.start()
print("started", flush=True)
sys.stdin.read()
ns.stop()
t.join()
`,
      { env },
    );
    await py.waitForLine((l) => l === "started", 15_000);
    const config = configOf(env);
    using _ = config.set({ backend: "secure_zmq" });
    // a look-up on the secure port works once Python's nameserver has bound it
    const addrs = await until(async () => {
      try {
        return await getPubAddress("py_secure", { nameserver: "127.0.0.1", timeout: 1, config });
      } catch {
        return undefined;
      }
    }, "Python's secure nameserver");
    assertEquals(addrs as unknown, ["tcp://127.0.0.1:40002"]);
    // an unknown key: libzmq's ZAP says no, we fail fast with AuthRefusedError, not a timeout
    const intruder = await generateKeyFiles("intruder", { directory: other });
    using _i = config.set({ client_secret_key_file: intruder.secretFile });
    const t0 = Date.now();
    const err = await assertRejects(
      () => getPubAddress("py_secure", { nameserver: "127.0.0.1", timeout: 10, config }),
      AuthRefusedError,
    );
    assertEquals(err.kind, "auth");
    assert(Date.now() - t0 < 5000, `refusal took ${Date.now() - t0} ms`);
    // a plain client on the secure port gets no answer (libzmq drops the connection after the
    // greeting without an ERROR command, so this one is a timeout, as in Python)
    using _p = config.set({ backend: "unsecure_zmq" });
    const port = env.POSTTROLL_SECURE_ZMQ_NAMESERVER_PORT;
    await assertRejects(
      () =>
        getPubAddress("py_secure", { nameserver: `tcp://127.0.0.1:${port}`, timeout: 1, config }),
      NameserverTimeoutError,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(other, { recursive: true });
  }
});
