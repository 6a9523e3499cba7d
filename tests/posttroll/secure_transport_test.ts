/**
 * The transport under the `secure_zmq` backend (CURVE keys from key files), mirroring posttroll's
 * tests/test_secure_zmq_backend.py, plus a Python peer reading the same key files.
 */
import { assertEquals } from "@std/assert";
import { PosttrollConfig } from "../../lib/posttroll/config.ts";
import { Message } from "../../lib/posttroll/message.ts";
import { getPubAddress, NameServer } from "../../lib/posttroll/nameserver.ts";
import { createPublisherFromDictConfig, Publisher } from "../../lib/posttroll/publisher.ts";
import { createSubscriberFromDictConfig, Subscriber } from "../../lib/posttroll/subscriber.ts";
import { generateKeyFiles } from "../../lib/posttroll/secure_keys.ts";
import { PythonProcess } from "../../testing/python.ts";
import { testSetup } from "../../testing/posttroll.ts";

async function keys(dir: string): Promise<Record<string, string>> {
  const server = await generateKeyFiles("server", { directory: dir });
  const client = await generateKeyFiles("client", { directory: dir });
  return {
    POSTTROLL_BACKEND: "secure_zmq",
    POSTTROLL_CLIENT_SECRET_KEY_FILE: client.secretFile,
    POSTTROLL_CLIENTS_PUBLIC_KEYS_DIRECTORY: dir,
    POSTTROLL_SERVER_PUBLIC_KEY_FILE: server.publicFile,
    POSTTROLL_SERVER_SECRET_KEY_FILE: server.secretFile,
  };
}

async function firstMessage(sub: Subscriber, send: () => Promise<void>): Promise<Message> {
  for (let i = 0; i < 200; i++) {
    await send();
    const it = sub.recv(0.05);
    const { value } = await it.next();
    await it.return();
    if (value) return value;
  }
  throw new Error("nothing received");
}

Deno.test("test_ipc_pubsub_with_sec (+ factories, test_switch_to_secure_zmq_backend)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const s = testSetup(await keys(dir));
    const address = `ipc://${dir}/bla.ipc`;
    await using sub = await createSubscriberFromDictConfig(
      { addresses: address, topics: "", nameserver: false, port: 10202 },
      { config: s.config },
    );
    const pub = createPublisherFromDictConfig({ address, nameservers: false, port: 1789 }, {
      config: s.config,
    }) as Publisher;
    await using _p = await pub.start();
    const got = await firstMessage(
      sub,
      () => pub.send(new Message("/hi", "string", "very sensitive message")),
    );
    assertEquals(got.data, "very sensitive message");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("secure pub/sub: a client whose key is not authorized receives nothing", async () => {
  const dir = await Deno.makeTempDir();
  const other = await Deno.makeTempDir();
  try {
    const env = await keys(dir);
    const intruder = await generateKeyFiles("intruder", { directory: other });
    const s = testSetup(env);
    const bad = new PosttrollConfig({
      env: { ...s.env, POSTTROLL_CLIENT_SECRET_KEY_FILE: intruder.secretFile },
      paths: [],
    });
    await using pub = await new Publisher("tcp://127.0.0.1:0", { config: s.config }).start();
    await using good = new Subscriber(`tcp://127.0.0.1:${pub.portNumber}`, { config: s.config });
    await using evil = new Subscriber(`tcp://127.0.0.1:${pub.portNumber}`, { config: bad });
    await firstMessage(good, () => pub.send(new Message("/x", "info", "secret")));
    for (let i = 0; i < 5; i++) await pub.send(new Message("/x", "info", "secret"));
    const it = evil.recv(0.2);
    assertEquals((await it.next()).value, null);
    await it.return();
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(other, { recursive: true });
  }
});

Deno.test("test_secure_tcp_nameserver and test_switch_to_secure_backend_for_nameserver", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const env = await keys(dir);
    const s = testSetup({ ...env, POSTTROLL_BACKEND: "unsecure_zmq" });
    const ns = new NameServer({ config: s.config });
    const svc = ["some", "addresses"];
    const running = ns.run(
      { cool_unsecure_service: svc, cool_secure_service: svc },
      "tcp://localhost",
    );
    try {
      assertEquals((await ns.ready).length, 2);
      assertEquals(
        await getPubAddress("cool_unsecure_service", {
          nameserver: "tcp://localhost",
          config: s.config,
        }) as unknown,
        svc,
      );
      using _ = s.config.set({ backend: "secure_zmq" });
      assertEquals(
        await getPubAddress("cool_secure_service", {
          nameserver: "tcp://localhost",
          config: s.config,
        }) as unknown,
        svc,
      );
      assertEquals(
        await getPubAddress("some_name", { nameserver: "localhost", config: s.config }),
        [],
      );
    } finally {
      await ns.stop();
      await running;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("secure interop: our secure Publisher -> Python secure Subscriber (same key files)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const s = testSetup(await keys(dir));
    await using pub = await new Publisher("tcp://127.0.0.1:0", { config: s.config }).start();
    await using py = PythonProcess.spawn(
      `import sys
from posttroll.subscriber import Subscriber
sub = Subscriber([sys.argv[1]], topics="")
print("ready", flush=True)
for msg in sub.recv(0.1):
    if msg is not None:
        print("GOT", msg.data, flush=True)
        break
sub.stop()
`,
      { args: [`tcp://127.0.0.1:${pub.portNumber}`], env: s.env },
    );
    await py.waitForLine((l) => l === "ready", 15_000);
    let line: string | undefined;
    for (let i = 0; i < 200 && !line; i++) {
      await pub.send(new Message("/sec", "info", "curve ok"));
      line = await py.readLine(50).catch(() => undefined);
    }
    assertEquals(line, "GOT curve ok");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
