/**
 * `secure_zmq` refusals on loopback: unknown CURVE keys and plain (NULL) clients get nothing from
 * a secure publisher or nameserver, each refusal is logged by the server through its `logger`
 * option, refused clients of ours are told (status event, warning, `AuthRefusedError`), and
 * `authorized_client_addresses` admits listed addresses only.
 */
import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { ConfigError } from "../../lib/posttroll/config.ts";
import { Message } from "../../lib/posttroll/message.ts";
import { AuthRefusedError, getPubAddress, NameServer } from "../../lib/posttroll/nameserver.ts";
import { Publisher } from "../../lib/posttroll/publisher.ts";
import { subscribe, Subscriber, type SubscriberStatus } from "../../lib/posttroll/subscriber.ts";
import { generateKeyFiles, loadCertificate } from "../../lib/posttroll/secure_keys.ts";
import { PythonProcess } from "../../testing/python.ts";
import { baseEnv, cliKeys, configOf, keyEnv, LogCollector, sendLoop, until } from "./_helpers.ts";

async function firstStatus(
  sub: Subscriber,
  type: SubscriberStatus["type"],
): Promise<SubscriberStatus> {
  for await (const s of sub.status()) if (s.type === type) return s;
  throw new Error(`subscriber closed before a ${type} status`);
}

/** Messages `sub` gets within `ms`. */
async function drain(sub: Subscriber, ms: number): Promise<number> {
  let n = 0;
  const signal = AbortSignal.timeout(ms);
  for await (const m of sub.recv(ms / 1000, { signal })) {
    if (m === null) break;
    n++;
  }
  return n;
}

Deno.test("unknown CURVE keys and plain clients (ours and Python's) get nothing; the publisher logs each refusal", async () => {
  const dir = await Deno.makeTempDir();
  const other = await Deno.makeTempDir();
  try {
    const keys = await cliKeys(dir);
    const env = { ...baseEnv(), ...keyEnv(keys), POSTTROLL_BACKEND: "secure_zmq" };
    const config = configOf(env);
    const log = new LogCollector();
    await using pub = await new Publisher("tcp://127.0.0.1:0", { config, logger: log.logger })
      .start();
    const uri = `tcp://127.0.0.1:${pub.portNumber}`;
    const ours = await generateKeyFiles("our_intruder", { directory: other });
    const theirs = await generateKeyFiles("py_intruder", { directory: other });
    const sender = sendLoop(() => pub.send(new Message("/sec/x", "info", "secret")));
    try {
      // our clients: one authorized, one with an unknown key, one plain
      const badLog = new LogCollector();
      const plainLog = new LogCollector();
      await using good = new Subscriber(uri, { config });
      await using intruder = new Subscriber(uri, {
        config: configOf({ ...env, POSTTROLL_CLIENT_SECRET_KEY_FILE: ours.secretFile }),
        logger: badLog.logger,
      });
      await using plain = new Subscriber(uri, {
        config: configOf({ ...env, POSTTROLL_BACKEND: "unsecure_zmq" }),
        logger: plainLog.logger,
      });
      const refused = await firstStatus(intruder, "refused");
      assert(refused.type === "refused" && refused.error.kind === "auth");
      assertEquals(refused.error.reason, "peer refused: 400");
      const mismatch = await firstStatus(plain, "refused");
      assert(mismatch.type === "refused" && mismatch.error.kind === "mechanism");
      assertEquals(badLog.matching("refused us").length, 1); // once, not per reconnection
      assertEquals(plainLog.matching("different backends").length, 1);
      assert((await drain(good, 300)) > 0);
      assertEquals(await drain(intruder, 300), 0);
      assertEquals(await drain(plain, 10), 0);

      // Python's clients: posttroll secure Subscriber with an unknown key, pyzmq plain SUB
      await using py = PythonProcess.spawn(
        `import sys, zmq
from posttroll import config
from posttroll.subscriber import Subscriber
uri, bad_key = sys.argv[1], sys.argv[2]
good = Subscriber([uri], topics="")
with config.set(client_secret_key_file=bad_key):
    bad = Subscriber([uri], topics="")
plain = zmq.Context.instance().socket(zmq.SUB)
plain.setsockopt(zmq.SUBSCRIBE, b"")
plain.connect(uri)
n = 0
for msg in good.recv(0.1):
    if msg is not None:
        n += 1
    if n >= 5:
        break
bad_n = 0
for m in bad.recv(0.3):
    if m is None:
        break
    bad_n += 1
plain_n = 0
while plain.poll(300):
    plain.recv()
    plain_n += 1
print("good", n, "bad", bad_n, "plain", plain_n, flush=True)
plain.close(0)
good.stop()
bad.stop()
`,
        { args: [uri, theirs.secretFile], env },
      );
      assertEquals(await py.readLine(20_000), "good 5 bad 0 plain 0");
    } finally {
      await sender.stop();
    }
    const ourKey = (await loadCertificate(ours.publicFile)).publicKey;
    const pyKey = (await loadCertificate(theirs.publicFile)).publicKey;
    for (const key of [ourKey, pyKey]) {
      const lines = log.matching(`refused CURVE client key ${key} from 127.0.0.1`);
      assert(lines.length >= 1, `no refusal logged for ${key}:\n${log.lines.join("\n")}`);
      for (const l of lines) {
        assert(/^(warning|debug): Publisher tcp:\/\/127\.0\.0\.1:0: refused/.test(l), l);
        assert(l.endsWith(`not in clients_public_keys_directory ${keys.clientsDir}`), l);
      }
    }
    // every refusal is logged, but as a warning once a minute per kind, whatever the key (clients
    // retrying every 100 ms, or a flood of fresh keys, cannot flood the log); the rest as debug
    const warnings = log.matching("refused CURVE client key").filter((l) =>
      l.startsWith("warning: ")
    );
    assertEquals(warnings.length, 1, log.lines.join("\n"));
    // both plain clients (ours, pyzmq's) are logged as mechanism refusals
    assert(log.matching("security mechanism mismatch").length >= 2, log.lines.join("\n"));
    const goodKey = (await loadCertificate(`${keys.clientsDir}/client.key`)).publicKey;
    assertEquals(log.matching(goodKey), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(other, { recursive: true });
  }
});

Deno.test("authorized_client_addresses: only listed addresses are admitted (secure and plain backends)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const keys = await cliKeys(dir);
    const env = { ...baseEnv(), ...keyEnv(keys), POSTTROLL_BACKEND: "secure_zmq" };
    const config = configOf(env);
    // 1. list = [127.0.0.1]: a Python secure client from 127.0.0.1 reads, the same client
    //    connecting from 127.0.0.2 (libzmq source address) is refused and logged
    {
      using _ = config.set({ authorized_client_addresses: ["127.0.0.1"] });
      const log = new LogCollector();
      await using pub = await new Publisher("tcp://127.0.0.1:0", { config, logger: log.logger })
        .start();
      const sender = sendLoop(() => pub.send(new Message("/allow", "info", 1)));
      try {
        await using py = PythonProcess.spawn(
          `import sys
from posttroll.subscriber import Subscriber
port = sys.argv[1]
near = Subscriber([f"tcp://127.0.0.1:{port}"], topics="")
far = Subscriber([f"tcp://127.0.0.2:0;127.0.0.1:{port}"], topics="")
n = 0
for m in near.recv(0.1):
    if m is not None:
        n += 1
    if n >= 3:
        break
far_n = 0
for m in far.recv(0.3):
    if m is None:
        break
    far_n += 1
print("near", n, "far", far_n, flush=True)
near.stop()
far.stop()
`,
          { args: [String(pub.portNumber)], env },
        );
        assertEquals(await py.readLine(20_000), "near 3 far 0");
      } finally {
        await sender.stop();
      }
      const lines = log.matching("refused 127.0.0.2: not in authorized_client_addresses");
      assert(lines.length >= 1, log.lines.join("\n"));
      assertEquals(log.matching("refused 127.0.0.1"), []);
    }
    // 2. list = [127.0.0.2]: our authorized key from 127.0.0.1 is refused, and told so;
    //    with the plain backend too (posttroll puts the allow list on unsecure sockets as well)
    for (const backend of ["secure_zmq", "unsecure_zmq"]) {
      using _ = config.set({ backend, authorized_client_addresses: ["127.0.0.2"] });
      const log = new LogCollector();
      await using pub = await new Publisher("tcp://127.0.0.1:0", { config, logger: log.logger })
        .start();
      await using sub = new Subscriber(`tcp://127.0.0.1:${pub.portNumber}`, { config });
      const st = await firstStatus(sub, "refused");
      assert(st.type === "refused" && st.error.kind === "auth", backend);
      await until(
        () => log.matching("refused 127.0.0.1: not in authorized_client_addresses")[0],
        "log",
      );
    }
    // 3. list = [localhost] (resolved to 127.0.0.1): admitted
    {
      using _ = config.set({ authorized_client_addresses: ["localhost"] });
      await using pub = await new Publisher("tcp://127.0.0.1:0", { config }).start();
      await using sub = new Subscriber(`tcp://127.0.0.1:${pub.portNumber}`, { config });
      await firstStatus(sub, "connected");
      assertEquals(sub.refused.size, 0);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("our NameServer: unknown key and plain client on the secure port fail fast with AuthRefusedError and are logged", async () => {
  const dir = await Deno.makeTempDir();
  const other = await Deno.makeTempDir();
  try {
    const keys = await cliKeys(dir);
    const env = { ...baseEnv(), ...keyEnv(keys) };
    const config = configOf(env);
    const log = new LogCollector();
    const ns = new NameServer({ config, logger: log.logger });
    const running = ns.run({ svc: ["tcp://127.0.0.1:40003"] }, "tcp://127.0.0.1");
    try {
      await ns.ready;
      using _ = config.set({ backend: "secure_zmq" });
      assertEquals(
        await getPubAddress("svc", { nameserver: "127.0.0.1", timeout: 5, config }) as unknown,
        ["tcp://127.0.0.1:40003"],
      );
      const intruder = await generateKeyFiles("intruder", { directory: other });
      {
        using _i = config.set({ client_secret_key_file: intruder.secretFile });
        const e = await assertRejects(
          () => getPubAddress("svc", { nameserver: "127.0.0.1", timeout: 10, config }),
          AuthRefusedError,
          "refused us",
        );
        assertEquals(e.kind, "auth");
      }
      const port = env.POSTTROLL_SECURE_ZMQ_NAMESERVER_PORT;
      {
        using _p = config.set({ backend: "unsecure_zmq" });
        const e = await assertRejects(
          () =>
            getPubAddress("svc", { nameserver: `tcp://127.0.0.1:${port}`, timeout: 10, config }),
          AuthRefusedError,
        );
        assertEquals(e.kind, "mechanism");
      }
      const key = (await loadCertificate(intruder.publicFile)).publicKey;
      assert(log.matching(`Nameserver (secure): refused CURVE client key ${key}`).length >= 1);
      await until(
        () => log.matching("Nameserver (secure): refused a client")[0],
        "plain-client refusal in the log",
      );
    } finally {
      await ns.stop();
      await running;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(other, { recursive: true });
  }
});

Deno.test("missing key settings raise ConfigError like posttroll's ConfigurationError", async () => {
  const env = { ...baseEnv(), POSTTROLL_BACKEND: "secure_zmq" };
  await assertRejects(
    () => new Publisher("tcp://127.0.0.1:0", { config: configOf(env) }).start(),
    ConfigError,
    "Missing config parameter 'server_secret_key_file'",
  );
  await assertRejects(
    () =>
      new Publisher("tcp://127.0.0.1:0", {
        config: configOf({ ...env, POSTTROLL_SERVER_SECRET_KEY_FILE: "/x.key_secret" }),
      }).start(),
    ConfigError,
    "Missing config parameter 'clients_public_keys_directory'",
  );
  assertThrows(
    () => new Subscriber("tcp://127.0.0.1:1", { config: configOf(env) }),
    ConfigError,
    "Missing config parameter 'client_secret_key_file'",
  );
  assertThrows(
    () =>
      new Subscriber("tcp://127.0.0.1:1", {
        config: configOf({ ...env, POSTTROLL_CLIENT_SECRET_KEY_FILE: "/x.key_secret" }),
      }),
    ConfigError,
    "Missing config parameter 'server_public_key_file'",
  );
});

Deno.test("subscribe({ services, addrListener }) with an unknown key: AuthRefusedError at once, and a refused address listener is a status event", async () => {
  const dir = await Deno.makeTempDir();
  const other = await Deno.makeTempDir();
  try {
    const keys = await cliKeys(dir);
    const env: Record<string, string> = {
      ...baseEnv(),
      ...keyEnv(keys),
      POSTTROLL_BACKEND: "secure_zmq",
    };
    // a whole secure nameserver: its address receiver publishes the address announcements
    const ns = new NameServer({ config: configOf(env), multicastEnabled: false });
    const running = ns.run(undefined, "tcp://127.0.0.1");
    try {
      await ns.ready;
      const intruder = await generateKeyFiles("intruder", { directory: other });
      const config = configOf({ ...env, POSTTROLL_CLIENT_SECRET_KEY_FILE: intruder.secretFile });
      const log = new LogCollector();
      const t0 = Date.now();
      const e = await assertRejects(
        () =>
          subscribe({
            services: "address_receiver",
            addrListener: true,
            nameserver: "127.0.0.1",
            timeout: 30,
            config,
            logger: log.logger,
          }),
        AuthRefusedError,
        "refused us",
      );
      assertEquals(e.kind, "auth");
      assert(Date.now() - t0 < 20_000, "it did not wait for the 30 s look-up timeout");
      // the address listener alone (the nameserver's address publisher refuses us too)
      await using sub = new Subscriber([], { config, logger: log.logger });
      const port = env.POSTTROLL_ADDRESS_PUBLISH_PORT;
      sub.addHookSub(`tcp://127.0.0.1:${port}`, ["pytroll://address"], () => {});
      let timer: ReturnType<typeof setTimeout> | undefined;
      const refused = await Promise.race([
        firstStatus(sub, "refused"),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error("no refused status within 20 s")), 20_000);
        }),
      ]).finally(() => clearTimeout(timer));
      assert(refused.type === "refused" && refused.error.kind === "auth");
      assertEquals(refused.uri, `tcp://127.0.0.1:${port}`);
      assert(log.matching("warning: Subscriber: tcp://127.0.0.1:" + port).length >= 1);
    } finally {
      await ns.stop();
      await running;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(other, { recursive: true });
  }
});
