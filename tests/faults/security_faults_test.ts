// Fault suite, security: secrets never appear in logs or error messages. Damaged CURVE key files
// (truncated secret, a character outside Z85, public key missing) on the client and on the server,
// an intruder with an unknown key and a plain client against a secure nameserver: every error
// message (with its cause chain), every server log line and the nameserver CLI's stdout/stderr are
// searched for the secret keys. Refusal of unknown keys and plain clients itself is tested in
// tests/secure/refusal_test.ts and tests/posttroll/secure_transport_test.ts; auth.toml with unsafe
// permissions and Kafka passwords in kafka_faults_test.ts and tests/hop/auth_test.ts.
import { assert } from "@std/assert";
import { binary } from "../../cli/binaries.ts";
import { getPubAddress, NameServer } from "../../lib/posttroll/nameserver.ts";
import { generateKeyFiles } from "../../lib/posttroll/secure_keys.ts";
import { REPO_ROOT } from "../../testing/python.ts";
import { baseEnv, cliKeys, configOf, keyEnv, LogCollector } from "../secure/_helpers.ts";
import { Child } from "../../testing/child.ts";
import { recordFault } from "./_record.ts";
import { withTimeout } from "../../lib/_util/abort.ts";

/** Awaits `p` for at most `ms`: a step that hangs fails the test at once, naming the step. */
function step<T>(what: string, p: Promise<T>, ms = 20_000): Promise<T> {
  return withTimeout(p, ms, () => new Error(`${what}: still pending after ${ms} ms`));
}

function secretOf(text: string): string {
  return /secret-key = "(.{40})"/.exec(text)![1];
}

/** The message, name and causes of an error, as one string. */
function errorText(e: unknown): string {
  const parts: string[] = [];
  for (let c: unknown = e, i = 0; c !== undefined && i < 10; i++) {
    if (c instanceof Error) {
      parts.push(`${c.name}: ${c.message}`);
      c = c.cause;
    } else {
      parts.push(String(c));
      break;
    }
  }
  return parts.join(" <- ");
}

/** Damaged variants of a secret key file's text, with the secret strings each must not leak. */
function damaged(text: string): Array<[string, string]> {
  const secret = secretOf(text);
  const bad = secret.slice(0, 20) + "~" + secret.slice(21);
  return [
    ["secret truncated to 39 chars", text.replace(secret, secret.slice(0, 39))],
    ["secret with a non-Z85 character", text.replace(secret, bad)],
    ["secret 41 chars", text.replace(secret, secret + "A")],
    ["public key missing", text.replace(/\s*public-key = ".*"\n/, "\n")],
  ];
}

function assertNoSecret(where: string, text: string, secrets: string[]): void {
  for (const s of secrets) {
    // the whole key and any 30-character run of it
    for (let i = 0; i + 30 <= s.length; i += 5) {
      assert(!text.includes(s.slice(i, i + 30)), `${where}: secret key material leaked:\n${text}`);
    }
  }
}

Deno.test("fault security: no secret key material in errors, logs or CLI output", async () => {
  const dir = await Deno.makeTempDir({ prefix: "faults-sec-" });
  let checked = 0;
  try {
    const keys = await cliKeys(dir);
    const intruder = await generateKeyFiles("intruder", { directory: dir });
    const clientText = await Deno.readTextFile(keys.clientSecret);
    const serverText = await Deno.readTextFile(keys.serverSecret);
    const intruderText = await Deno.readTextFile(intruder.secretFile);
    const secrets = [secretOf(clientText), secretOf(serverText), secretOf(intruderText)];
    const env = { ...baseEnv({ POSTTROLL_BACKEND: "secure_zmq" }), ...keyEnv(keys) };
    const config = configOf(env);
    const log = new LogCollector();
    const ns = new NameServer({ config, logger: log.logger, multicastEnabled: false });
    const running = ns.run({ svc: ["tcp://127.0.0.1:40003"] }, "tcp://127.0.0.1");
    try {
      await step("nameserver ready", ns.ready);
      // the intruder (unknown key) and a plain client
      {
        using _ = config.set({ client_secret_key_file: intruder.secretFile });
        const e = await step(
          "intruder look-up (timeout 5 s)",
          getPubAddress("svc", { nameserver: "127.0.0.1", timeout: 5, config })
            .then(() => undefined, (e) => e),
        );
        assert(e, "intruder was answered");
        assertNoSecret("intruder error", errorText(e), secrets);
        checked++;
      }
      {
        using _ = config.set({ backend: "unsecure_zmq" });
        const port = env.POSTTROLL_SECURE_ZMQ_NAMESERVER_PORT;
        const e = await step(
          "plain client look-up (timeout 5 s)",
          getPubAddress("svc", { nameserver: `tcp://127.0.0.1:${port}`, timeout: 5, config })
            .then(() => undefined, (e) => e),
        );
        assert(e, "plain client was answered");
        assertNoSecret("plain client error", errorText(e), secrets);
        checked++;
      }
      // damaged client key files
      for (const [label, text] of damaged(clientText)) {
        const f = `${dir}/damaged.key_secret`;
        await Deno.writeTextFile(f, text);
        using _ = config.set({ client_secret_key_file: f });
        const e = await step(
          `look-up with client key ${label} (timeout 3 s)`,
          getPubAddress("svc", { nameserver: "127.0.0.1", timeout: 3, config })
            .then(() => undefined, (e) => e),
        );
        assert(e, `${label}: accepted`);
        assertNoSecret(`client key ${label}`, errorText(e), [
          ...secrets,
          secretOf(clientText).slice(0, 39),
        ]);
        checked++;
      }
    } finally {
      await step("nameserver stop()", ns.stop());
      await step("nameserver run() settling after stop()", running);
    }
    assert(log.lines.length > 0);
    assertNoSecret("nameserver log", log.lines.join("\n"), secrets);
    // damaged server key files: the in-process nameserver and the CLI refuse to start, quietly
    const NS = binary("nameserver");
    for (const [label, text] of damaged(serverText)) {
      const f = `${dir}/server-damaged.key_secret`;
      await Deno.writeTextFile(f, text);
      const env2 = { ...env, ...baseEnv({ POSTTROLL_BACKEND: "secure_zmq" }) };
      env2.POSTTROLL_SERVER_SECRET_KEY_FILE = f;
      // no multicast: a taken UDP port would fail run() for another reason than the key
      const ns2 = new NameServer({
        config: configOf(env2),
        logger: log.logger,
        multicastEnabled: false,
      });
      const e = await step(
        `nameserver with server key ${label}: run()`,
        ns2.run().then(() => ns2.ready).then(() => undefined, (e) => e),
      );
      await step(`nameserver with server key ${label}: stop()`, ns2.stop());
      assert(e, `server key ${label}: nameserver started`);
      assert(
        errorText(e).includes("server_secret_key_file"),
        `server key ${label}: refused for another reason: ${errorText(e)}`,
      );
      assertNoSecret(`server key ${label}`, errorText(e), secrets);
      const cli = new Child(
        Deno.execPath(),
        ["run", ...NS.permissions, "--no-prompt", `${REPO_ROOT}/${NS.entry}`, "-v"],
        { ...env2, NO_COLOR: "1" },
      );
      const status = await withTimeout(cli.child.status, 15_000, () => new Error("running"))
        .catch(() => null);
      const { code } = await step(
        `nameserver CLI with server key ${label}: exit and end of output after SIGKILL`,
        cli.kill("SIGKILL"),
      );
      assert(status !== null, `CLI with ${label} kept running:\n${cli.lines.join("\n")}`);
      assert(code !== 0, `CLI with ${label} exited 0`);
      assert(
        cli.lines.some((l) => l.includes("server_secret_key_file")),
        `CLI with ${label} refused for another reason:\n${cli.lines.join("\n")}`,
      );
      assertNoSecret(`nameserver CLI, server key ${label}`, cli.lines.join("\n"), secrets);
      checked += 2;
    }
    await recordFault({
      area: "security",
      fault: "intruder key, plain client, damaged client/server CURVE key files (posttroll " +
        "secure_zmq; library errors, server log, nameserver CLI output)",
      inputs: checked,
      lost: 0,
      notes: "no 30-character run of any secret key in any message, cause chain, log line or " +
        "CLI output; each damaged key file refused",
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
