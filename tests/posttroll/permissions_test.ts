// A program run without the permissions its posttroll configuration needs is told which flag is
// missing, instead of silently running without its POSTTROLL_* settings or config files (a
// secure_zmq backend quietly unsecure) or failing with "could not bind tcp://*".
import { assertEquals, assertStringIncludes } from "@std/assert";
import { freePort } from "../../testing/net.ts";

const LIB = new URL("../../lib/posttroll/", import.meta.url).href;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

/** Runs `code` as a module with exactly `flags`; returns its output (stdout + stderr). */
async function run(code: string, flags: string[], env: Record<string, string> = {}) {
  const dir = await Deno.makeTempDir({ prefix: "perm-" });
  try {
    await Deno.writeTextFile(`${dir}/main.ts`, code.replaceAll("LIB/", LIB));
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", "--config", CONFIG, ...flags, `${dir}/main.ts`],
      cwd: dir,
      env: { NO_COLOR: "1", ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const PUBLISH = `import { Publisher } from "LIB/publisher.ts";
try {
  await using pub = await new Publisher("tcp://*:0").start();
  console.log("bound", pub.portNumber);
} catch (e) {
  console.log(\`\${(e as Error).name}: \${(e as Error).message}\`);
}`;

Deno.test("no --allow-env: the POSTTROLL_* settings are not silently skipped", async () => {
  const r = await run(PUBLISH, ["--allow-net", "--allow-read"], {
    POSTTROLL_BACKEND: "secure_zmq",
  });
  assertEquals(r.code, 0, r.out);
  assertStringIncludes(
    r.out,
    "MissingPermissionError: posttroll configuration (the POSTTROLL_* variables) needs " +
      "environment access: run deno with --allow-env",
  );
});

Deno.test("no --allow-read: the config files are not silently skipped", async () => {
  const r = await run(PUBLISH, ["--allow-net", "--allow-env"]);
  assertStringIncludes(
    r.out,
    "MissingPermissionError: posttroll configuration (config files in /etc/posttroll) needs read " +
      "access to /etc/posttroll: run deno with --allow-read=/etc/posttroll (or --allow-read)",
  );
});

Deno.test("with --allow-env, POSTTROLL_BACKEND=secure_zmq is honoured (not quietly unsecure)", async () => {
  const r = await run(PUBLISH, ["--allow-net", "--allow-env", "--allow-read"], {
    POSTTROLL_BACKEND: "secure_zmq",
  });
  assertStringIncludes(r.out, "ConfigError: Missing config parameter 'server_secret_key_file'");
});

Deno.test("no --allow-net: binding names the flag, not 'could not bind tcp://*'", async () => {
  const r = await run(PUBLISH, ["--allow-env", "--allow-read"]);
  assertStringIncludes(
    r.out,
    "MissingPermissionError: Publisher tcp://*:0 (binding tcp://*:0) needs network access to " +
      "0.0.0.0: run deno with --allow-net=0.0.0.0 (or --allow-net)",
  );
  const ok = await run(PUBLISH, ["--allow-env", "--allow-read", "--allow-net=0.0.0.0,[::]"]);
  assertStringIncludes(ok.out, "bound ");
});

Deno.test("no --allow-net: a subscriber and a nameserver look-up name the flag", async () => {
  const port = freePort();
  const r = await run(
    `import { PosttrollConfig } from "LIB/config.ts";
import { Subscriber } from "LIB/subscriber.ts";
import { getPubAddress } from "LIB/nameserver.ts";
const config = new PosttrollConfig({ env: {} }); // explicit: reads no environment and no files
try {
  new Subscriber("tcp://127.0.0.1:${port}", { config });
} catch (e) {
  console.log(\`\${(e as Error).name}: \${(e as Error).message}\`);
}
await getPubAddress("x", { config, nameserver: "127.0.0.1", timeout: 1 })
  .catch((e) => console.log(\`\${e.name}: \${e.message}\`));`,
    [],
  );
  assertStringIncludes(
    r.out,
    `MissingPermissionError: Subscriber (connecting to tcp://127.0.0.1:${port}) needs network ` +
      `access to 127.0.0.1:${port}: run deno with --allow-net=127.0.0.1:${port} (or --allow-net)`,
  );
  assertStringIncludes(
    r.out,
    "MissingPermissionError: asking the nameserver at tcp://127.0.0.1:5557 needs network access",
  );
});
