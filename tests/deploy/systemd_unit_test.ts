// The nameserver as a systemd service: start it the way deploy/systemd/posttroll-nameserver.service
// does (ExecStart with $NAMESERVER_ARGS word-split from the EnvironmentFile, a clean environment,
// the compiled binary's permissions), check it serves, then SIGTERM as `systemctl stop` does and
// require a clean exit (code 0) within one second.
import { assert, assertEquals, assertLess, assertStringIncludes } from "@std/assert";
import { binary } from "../../cli/binaries.ts";
import { PosttrollConfig } from "../../lib/posttroll/config.ts";
import { getPubAddress } from "../../lib/posttroll/nameserver.ts";
import { freePort, waitFor } from "../harness/net.ts";
import { REPO_ROOT } from "../harness/python.ts";

const UNIT = `${REPO_ROOT}/deploy/systemd/posttroll-nameserver.service`;

/** Reads `[Section] Key=Value` pairs of a unit file (last assignment wins, like systemd). */
function parseUnit(text: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) continue;
    const m = /^\[(.+)\]$/.exec(line);
    if (m) {
      section = m[1];
      out[section] ??= {};
      continue;
    }
    const i = line.indexOf("=");
    if (i > 0) out[section][line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

/** systemd's ExecStart expansion: `$VAR` is split into words, `${VAR}` stays one word. */
function expandExec(exec: string, env: Record<string, string>): string[] {
  const words: string[] = [];
  for (const w of exec.split(/\s+/).filter(Boolean)) {
    const unbraced = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(w);
    if (unbraced) words.push(...(env[unbraced[1]] ?? "").split(/\s+/).filter(Boolean));
    else words.push(w.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, k) => env[k] ?? ""));
  }
  return words;
}

Deno.test("systemd unit: hardening and restart settings are present", async () => {
  const unit = parseUnit(await Deno.readTextFile(UNIT));
  const svc = unit.Service;
  assertEquals(svc.Type, "simple");
  assertEquals(svc.Restart, "on-failure");
  assertEquals(svc.DynamicUser, "yes");
  assertEquals(svc.KillSignal ?? "SIGTERM", "SIGTERM");
  assertStringIncludes(svc.EnvironmentFile, "/etc/default/posttroll-nameserver");
  for (const k of ["NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp"]) {
    assert(svc[k], `${k} should be set`);
  }
  assert(svc.ExecStart.startsWith("/usr/local/bin/nameserver"), svc.ExecStart);
  assertEquals(unit.Install.WantedBy, "multi-user.target");
});

Deno.test("systemd unit: starts as the unit does, serves, exits 0 within 1 s of SIGTERM", async () => {
  const unit = parseUnit(await Deno.readTextFile(UNIT));
  const ports = {
    POSTTROLL_NAMESERVER_PORT: String(freePort()),
    POSTTROLL_BROADCAST_PORT: String(freePort()),
    POSTTROLL_ADDRESS_PUBLISH_PORT: String(freePort()),
  };
  // What an operator puts into /etc/default/posttroll-nameserver.
  const envFile: Record<string, string> = {
    ...ports,
    POSTTROLL_MULTICAST: "False",
    NAMESERVER_ARGS: "-L --bind 127.0.0.1",
  };
  const argv = expandExec(unit.Service.ExecStart, envFile);
  assertEquals(argv[0], "/usr/local/bin/nameserver");
  // The compiled binary when `deno task compile` built one, else the same entry module with the
  // same permission flags (the binary's own are baked in at compile time).
  const bin = binary("nameserver");
  const compiled = `${REPO_ROOT}/dist/nameserver`;
  const hasBinary = await Deno.stat(compiled).then(() => true, () => false);
  const cmd = hasBinary ? [compiled] : [
    Deno.execPath(),
    "run",
    ...bin.permissions,
    "--no-prompt",
    `${REPO_ROOT}/${bin.entry}`,
  ];
  const child = new Deno.Command(cmd[0], {
    args: [...cmd.slice(1), ...argv.slice(1)],
    clearEnv: true,
    env: { ...envFile, PATH: "/usr/bin:/bin", DENO_DIR: Deno.env.get("DENO_DIR") ?? "" },
    cwd: "/",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = child.output();
  let stopped = false;
  try {
    const config = new PosttrollConfig({
      env: { ...ports },
    });
    await waitFor(
      async () =>
        Array.isArray(await getPubAddress("", { timeout: 0.5, nameserver: "127.0.0.1", config })),
      { timeoutMs: 20_000, intervalMs: 100, what: "nameserver to answer" },
    );
    const t0 = performance.now();
    child.kill("SIGTERM");
    stopped = true;
    const result = await out;
    const elapsed = performance.now() - t0;
    const text = new TextDecoder().decode(result.stdout) + new TextDecoder().decode(result.stderr);
    assertEquals(result.code, 0, `exit code; output:\n${text}`);
    assertLess(elapsed, 1000, `took ${Math.round(elapsed)} ms to stop`);
    assert(text.trim().length > 0, "logs go to stdout/stderr for the journal");
  } finally {
    if (!stopped) {
      child.kill("SIGKILL");
      await out;
    }
  }
});
