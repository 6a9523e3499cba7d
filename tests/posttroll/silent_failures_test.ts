// Failures a publisher used to keep to itself: a nameserver that does not answer its
// registration (now a warning on stderr by default), secure_zmq registration without client keys
// (now reported, naming them), and a registration still in flight when the program closes the
// publisher (the process used to stay alive for the whole registration timeout).
import { assert, assertEquals } from "@std/assert";
import { PosttrollConfig } from "../../lib/posttroll/config.ts";
import { generateKeyFiles } from "../../lib/posttroll/secure_keys.ts";
import { NoisyPublisher } from "../../lib/posttroll/publisher.ts";
import { Child } from "../../testing/child.ts";
import { freePort, until } from "../../testing/net.ts";
import { testSetup } from "../../testing/posttroll.ts";

const PUBLISHER = new URL("../../lib/posttroll/publisher.ts", import.meta.url).href;
const CONFIG_MOD = new URL("../../lib/posttroll/config.ts", import.meta.url).href;
const DENO_JSON = new URL("../../deno.json", import.meta.url).pathname;

/**
 * Spawns a program (with the repository's import map) that starts a NoisyPublisher `name`
 * registering with `nameservers`, then runs `after` (the publisher is `pub`; `extra` adds options).
 */
async function publisherProgram(
  dir: string,
  name: string,
  nameservers: string[],
  after: string,
  extra = "",
): Promise<Child> {
  const { env } = testSetup();
  await Deno.writeTextFile(
    `${dir}/pub.ts`,
    `import { NoisyPublisher } from "${PUBLISHER}";
import { PosttrollConfig } from "${CONFIG_MOD}";
const config = new PosttrollConfig({ env: ${JSON.stringify(env)} });
const pub = await new NoisyPublisher(${JSON.stringify(name)}, {
  nameservers: ${JSON.stringify(nameservers)}, config, announceHost: "127.0.0.1", ${extra}
}).start();
${after}`,
  );
  const args = ["run", "-A", "--no-prompt", "--config", DENO_JSON, `${dir}/pub.ts`];
  return new Child(Deno.execPath(), args);
}

/** A TCP port that accepts connections and never answers (a hung nameserver). */
function silentServer(): { port: number; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  (async () => {
    try {
      for await (const c of listener) conns.push(c);
    } catch { /* closed */ }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
    },
  };
}

Deno.test("a nameserver that never acknowledges is reported on stderr by default", async () => {
  const hung = silentServer();
  const dir = await Deno.makeTempDir();
  try {
    const child = await publisherProgram(
      dir,
      "quiet_one",
      [`127.0.0.1:${hung.port}`],
      `console.log("started");\nawait new Promise((r) => setTimeout(r, 60_000));`,
    );
    try {
      await child.line((l) => l === "started");
      // the registration timeout is 10 s
      const warning = await child.line((l) => l.startsWith("WARNING posttroll:"), 30_000);
      assertEquals(
        warning,
        `WARNING posttroll: NoisyPublisher quiet_one: no acknowledge from the nameserver at ` +
          `tcp://127.0.0.1:${hung.port} within 10 s (is one running there, with direct ` +
          `registration on?)`,
      );
    } finally {
      await child.kill();
    }
  } finally {
    hung.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("secure_zmq registration without client keys is reported, naming them", async () => {
  const { env } = testSetup();
  const config = new PosttrollConfig({ env: { ...env, POSTTROLL_BACKEND: "secure_zmq" } });
  const errors: string[] = [];
  const keys = await generateKeyFiles("server", { directory: await Deno.makeTempDir() });
  using _ = config.set({
    server_secret_key_file: keys.secretFile,
    clients_public_keys_directory: keys.publicFile.replace(/\/[^/]*$/, ""),
  });
  await using _pub = await new NoisyPublisher("secure_one", {
    nameservers: ["localhost"],
    config,
    announceHost: "127.0.0.1",
    onError: (e) => errors.push(`${e.name}: ${e.message}`),
  }).start();
  await until(() => errors.length > 0, { what: "the registration error" });
  assertEquals(
    errors[0],
    `RegistrationError: registering with the nameserver at tcp://localhost:${env.POSTTROLL_BROADCAST_PORT} ` +
      "under secure_zmq needs this client's keys: Missing config parameter 'client_secret_key_file'",
  );
  await Deno.remove(keys.publicFile.replace(/\/[^/]*$/, ""), { recursive: true });
});

Deno.test("close() with a registration in flight: the program ends at once, not after the timeout", async () => {
  const hung = silentServer();
  const dir = await Deno.makeTempDir();
  try {
    const child = await publisherProgram(
      dir,
      "short_lived",
      [`127.0.0.1:${hung.port}`, `127.0.0.1:${freePort()}`],
      // the first registration is waiting for its ack when close() is called
      `await new Promise((r) => setTimeout(r, 300));\nawait pub.close();\nconsole.log("closed");`,
      `onError: (e) => console.log("onError", e.message),`,
    );
    await child.line((l) => l === "closed", 30_000);
    const closedAt = performance.now();
    const status = await child.child.status;
    const lingered = performance.now() - closedAt;
    await child.done;
    assertEquals(status.code, 0, child.lines.join("\n"));
    // before: the registration's 10 s timer kept the process alive
    assert(lingered < 3000, `the process lived ${lingered.toFixed(0)} ms after close()`);
    assertEquals(child.lines.filter((l) => l.startsWith("onError")), [], "aborting is no error");
  } finally {
    hung.close();
    await Deno.remove(dir, { recursive: true });
  }
});
