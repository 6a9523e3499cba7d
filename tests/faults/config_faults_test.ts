// Fault suite, configuration: a wrong setting fails at start-up with a message that names it and a
// non-zero exit, never a silent default. Each case starts our nameserver CLI and Python posttroll's
// nameserver with the same environment and arguments; ours must exit non-zero within 10 s naming
// the setting, Python's outcome is recorded beside it.
import { assert, assertNotEquals } from "@std/assert";
import { binaryArgs } from "../../testing/child.ts";
import { generateKeyFiles } from "../../lib/posttroll/secure_keys.ts";
import { REPO_ROOT } from "../../testing/python.ts";
import { testSetup } from "../../testing/posttroll.ts";
import { COMPARE } from "./_targets.ts";
import { recordFault } from "./_record.ts";

interface Case {
  what: string;
  env?: Record<string, string>;
  args?: string[];
  /** Text our error message must contain (the setting's name). */
  names: string;
}

const keyDir = await Deno.makeTempDir({ prefix: "config-faults-" });
await Deno.writeTextFile(`${keyDir}/garbage.key_secret`, "not a certificate\n");
const server = await generateKeyFiles("server", { directory: keyDir });

/**
 * A case that sets `setting` (its `POSTTROLL_` variable) to `value`, with `env` beside it; our
 * error must name the setting.
 */
function bad(what: string, setting: string, value: string, env: Record<string, string> = {}): Case {
  return { what, env: { ...env, [`POSTTROLL_${setting.toUpperCase()}`]: value }, names: setting };
}

const keysDirectory = { POSTTROLL_CLIENTS_PUBLIC_KEYS_DIRECTORY: keyDir };

const CASES: Case[] = [
  bad("empty nameserver port", "nameserver_port", ""),
  bad("blank nameserver port", "nameserver_port", " "),
  bad("non-numeric nameserver port", "nameserver_port", "abc"),
  bad("nameserver port out of range", "nameserver_port", "70000"),
  bad("empty address publish port", "address_publish_port", ""),
  bad(
    "authorized_client_addresses resolving to nothing",
    "authorized_client_addresses",
    "['no-such-host.invalid']",
  ),
  bad(
    "server secret key file missing",
    "server_secret_key_file",
    `${keyDir}/missing.key_secret`,
    keysDirectory,
  ),
  bad(
    "server secret key file garbage",
    "server_secret_key_file",
    `${keyDir}/garbage.key_secret`,
    keysDirectory,
  ),
  bad(
    "clients public keys directory missing",
    "clients_public_keys_directory",
    `${keyDir}/missing`,
    { POSTTROLL_SERVER_SECRET_KEY_FILE: server.secretFile },
  ),
  bad("negative keepalive idle", "tcp_keepalive_idle", "-5", { POSTTROLL_TCP_KEEPALIVE: "1" }),
  bad("keepalive neither -1, 0 nor 1", "tcp_keepalive", "2"),
  {
    what: "unwritable log file",
    args: ["-l", "/nonexistent/dir/ns.log"],
    names: "/nonexistent/dir/ns.log",
  },
];

interface Run {
  code: number | "running";
  text: string;
}

async function start(impl: "ours" | "python", c: Case): Promise<Run> {
  const s = testSetup();
  const args = ["--no-multicast", ...(c.args ?? [])];
  const [cmd, argv] = impl === "ours"
    ? [Deno.execPath(), binaryArgs("nameserver", args)]
    : [`${REPO_ROOT}/.cache/venv/bin/nameserver`, args];
  const child = new Deno.Command(cmd, {
    args: argv,
    env: { ...s.env, ...c.env, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  const out = await child.output();
  clearTimeout(timer);
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.signal === "SIGKILL" ? "running" : out.code, text };
}

function lastError(text: string): string {
  const lines = text.trim().split("\n").filter((l) => /error/i.test(l) && !/^\s+File /.test(l));
  return (lines.at(-1) ?? text.trim().split("\n").at(-1) ?? "").slice(0, 160);
}

Deno.test("fault config: wrong settings fail at start-up naming the setting", async () => {
  const rows: string[] = [];
  const failures: string[] = [];
  for (const c of CASES) {
    const ours = await start("ours", c);
    const py = COMPARE ? await start("python", c) : undefined;
    const named = ours.text.includes(c.names);
    if (ours.code === "running" || ours.code === 0 || !named) {
      failures.push(`${c.what}: exit ${ours.code}, output:\n${ours.text.slice(-600)}`);
    }
    rows.push(
      `${c.what}: ours exit ${ours.code} "${lastError(ours.text)}"` +
        (py ? `; Python exit ${py.code === "running" ? "none (runs)" : py.code}` : ""),
    );
  }
  await recordFault({
    area: "config",
    fault:
      "nameserver start-up with a wrong setting (ports, allow list, keys, keepalive, log file)",
    inputs: CASES.length,
    lost: failures.length,
    notes: rows.join("; "),
  });
  assertNotEquals(rows.length, 0);
  assert(failures.length === 0, failures.join("\n\n"));
});

globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(keyDir, { recursive: true });
  } catch { /* gone */ }
});
