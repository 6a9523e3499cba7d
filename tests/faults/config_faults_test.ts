// Fault suite, configuration: a wrong setting fails at start-up with a message that names it and a
// non-zero exit, never a silent default. Each case starts our nameserver CLI and Python posttroll's
// nameserver with the same environment and arguments; ours must exit non-zero within 10 s naming
// the setting, Python's outcome is recorded beside it.
import { assert, assertNotEquals } from "@std/assert";
import { binary, denoFlags } from "../../cli/binaries.ts";
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

const CASES: Case[] = [
  {
    what: "empty nameserver port",
    env: { POSTTROLL_NAMESERVER_PORT: "" },
    names: "nameserver_port",
  },
  {
    what: "blank nameserver port",
    env: { POSTTROLL_NAMESERVER_PORT: " " },
    names: "nameserver_port",
  },
  {
    what: "non-numeric nameserver port",
    env: { POSTTROLL_NAMESERVER_PORT: "abc" },
    names: "nameserver_port",
  },
  {
    what: "nameserver port out of range",
    env: { POSTTROLL_NAMESERVER_PORT: "70000" },
    names: "nameserver_port",
  },
  {
    what: "empty address publish port",
    env: { POSTTROLL_ADDRESS_PUBLISH_PORT: "" },
    names: "address_publish_port",
  },
  {
    what: "authorized_client_addresses resolving to nothing",
    env: { POSTTROLL_AUTHORIZED_CLIENT_ADDRESSES: "['no-such-host.invalid']" },
    names: "authorized_client_addresses",
  },
  {
    what: "server secret key file missing",
    env: {
      POSTTROLL_SERVER_SECRET_KEY_FILE: `${keyDir}/missing.key_secret`,
      POSTTROLL_CLIENTS_PUBLIC_KEYS_DIRECTORY: keyDir,
    },
    names: "server_secret_key_file",
  },
  {
    what: "server secret key file garbage",
    env: {
      POSTTROLL_SERVER_SECRET_KEY_FILE: `${keyDir}/garbage.key_secret`,
      POSTTROLL_CLIENTS_PUBLIC_KEYS_DIRECTORY: keyDir,
    },
    names: "server_secret_key_file",
  },
  {
    what: "clients public keys directory missing",
    env: {
      POSTTROLL_SERVER_SECRET_KEY_FILE: server.secretFile,
      POSTTROLL_CLIENTS_PUBLIC_KEYS_DIRECTORY: `${keyDir}/missing`,
    },
    names: "clients_public_keys_directory",
  },
  {
    what: "negative keepalive idle",
    env: { POSTTROLL_TCP_KEEPALIVE: "1", POSTTROLL_TCP_KEEPALIVE_IDLE: "-5" },
    names: "tcp_keepalive_idle",
  },
  {
    what: "keepalive neither -1, 0 nor 1",
    env: { POSTTROLL_TCP_KEEPALIVE: "2" },
    names: "tcp_keepalive",
  },
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
  const NS = binary("nameserver");
  const args = ["--no-multicast", ...(c.args ?? [])];
  const [cmd, argv] = impl === "ours"
    ? [Deno.execPath(), [
      "run",
      ...denoFlags(NS),
      "--no-prompt",
      `${REPO_ROOT}/${NS.entry}`,
      ...args,
    ]]
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
