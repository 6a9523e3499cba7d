// The nameserver as a systemd service: start it the way deploy/systemd/posttroll-nameserver.service
// does (ExecStart with $NAMESERVER_ARGS word-split from the EnvironmentFile, a clean environment,
// the compiled binary's permissions), check it serves, then SIGTERM as `systemctl stop` does and
// require a clean exit (code 0) within one second.
import { assert, assertEquals, assertLess, assertStringIncludes } from "@std/assert";
import { binary } from "../../cli/binaries.ts";
import { PosttrollConfig } from "../../lib/posttroll/config.ts";
import { getPubAddress } from "../../lib/posttroll/nameserver.ts";
import { freePort, waitFor } from "../../testing/net.ts";
import { REPO_ROOT } from "../../testing/python.ts";
import { expandExec, parseUnit } from "./_unit.ts";

const UNIT = `${REPO_ROOT}/deploy/systemd/posttroll-nameserver.service`;

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
