/**
 * The `nameserver` CLI: spawned with the binaries' permission flags, ready, answers a lookup
 * (also from Python and over IPv6), exits 0 within a second on SIGTERM/SIGINT; the `-d`
 * start/status/stop/restart controls from a shell.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { getPubAddress } from "../../lib/posttroll/nameserver.ts";
import { NoisyPublisher } from "../../lib/posttroll/publisher.ts";
import { binary } from "../../cli/binaries.ts";
import { python } from "../../testing/python.ts";
import { REPO_ROOT } from "../../testing/python.ts";
import { testSetup, until } from "../../testing/posttroll.ts";
import { Child } from "../../testing/child.ts";

const NS = binary("nameserver");

class Spawned extends Child {
  constructor(args: string[], env: Record<string, string>) {
    super(
      Deno.execPath(),
      ["run", ...NS.permissions, "--no-prompt", `${REPO_ROOT}/${NS.entry}`, ...args],
      env,
    );
  }
  ready(): Promise<unknown> {
    return this.line((l) => l.includes("Nameserver ready"));
  }
  stop(signal: Deno.Signal): Promise<{ code: number; ms: number }> {
    return this.kill(signal);
  }
}

for (
  const [label, args, signal] of [
    ["multicast (default)", ["-v"], "SIGTERM"],
    ["--no-multicast", ["--no-multicast"], "SIGINT"],
  ] as const
) {
  Deno.test(`nameserver CLI ${label}: ready, answers lookups, ${signal} -> exit 0 within 1 s`, async () => {
    const s = testSetup();
    const ns = new Spawned([...args], s.env);
    try {
      await ns.ready();
      assertEquals(await getPubAddress("nothing", { timeout: 5, config: s.config }), []);
      await using _pub = await new NoisyPublisher("cli_pub", {
        nameservers: (args as readonly string[]).includes("--no-multicast")
          ? ["localhost"]
          : undefined,
        broadcastInterval: 0.1,
        config: s.config,
      }).start();
      await until(async () =>
        (await getPubAddress("cli_pub", { timeout: 2, config: s.config })).length
      );
      const out = await python(
        `from posttroll.ns import get_pub_address
print(len(get_pub_address("cli_pub", timeout=5)))`,
        { env: s.env },
      );
      assertEquals(out.trim(), "1");
    } finally {
      const { code, ms } = await ns.stop(signal);
      assertEquals(code, 0, ns.lines.join("\n"));
      assert(ms < 1000, `exit took ${ms} ms`);
    }
    assert(ns.lines.some((l) => l.startsWith("Thanks for using pytroll/nameserver")));
  });
}

Deno.test("nameserver CLI: POSTTROLL_MULTICAST=False, --bind :: serves IPv6, -L, -l log file", async () => {
  const s = testSetup({ POSTTROLL_MULTICAST: "False" });
  const dir = await Deno.makeTempDir();
  const ns = new Spawned(["--bind", "::", "-L", "-l", `${dir}/ns.log`, "-v"], s.env);
  try {
    await until(
      () =>
        Deno.readTextFile(`${dir}/ns.log`).then((t) => t.includes("Nameserver ready")).catch(() =>
          false
        ),
      {
        timeoutMs: 20_000,
        what: "ready line in the log file",
      },
    );
    const text = await Deno.readTextFile(`${dir}/ns.log`);
    assertStringIncludes(text, "multicast off");
    assertEquals(await getPubAddress("x", { timeout: 5, nameserver: "::1", config: s.config }), []);
    assertEquals(
      await getPubAddress("x", { timeout: 5, nameserver: "127.0.0.1", config: s.config }),
      [],
    );
  } finally {
    const { code } = await ns.stop("SIGTERM");
    assertEquals(code, 0);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("nameserver CLI: bad option exits 2 with usage", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...NS.permissions, "--no-prompt", `${REPO_ROOT}/${NS.entry}`, "--bogus"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 2);
  assertStringIncludes(new TextDecoder().decode(out.stderr), "usage: nameserver");
});

Deno.test("nameserver CLI -d start/status/stop/restart from a shell (LSB status codes)", async () => {
  const s = testSetup();
  const dir = await Deno.makeTempDir();
  const pid = `${dir}/ns.pid`;
  const cmd = `"${Deno.execPath()}" run ${
    NS.permissions.join(" ")
  } --no-prompt "${REPO_ROOT}/${NS.entry}"`;
  const sh = async (script: string) => {
    const o = await new Deno.Command("sh", {
      args: ["-c", script],
      env: s.env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      code: o.code,
      out: new TextDecoder().decode(o.stdout) + new TextDecoder().decode(o.stderr),
    };
  };
  try {
    assertEquals((await sh(`${cmd} -d status --pid-file ${pid}`)).code, 3);
    const started = await sh(`${cmd} --no-multicast -d start --pid-file ${pid}`);
    assertEquals(started.code, 0, started.out);
    assertEquals((await sh(`${cmd} -d status --pid-file ${pid}`)).code, 0);
    await until(async () => {
      try {
        return Array.isArray(await getPubAddress("x", { timeout: 1, config: s.config }));
      } catch {
        return false;
      }
    }, { what: "daemon answering", timeoutMs: 20_000 });
    const firstPid = Number((await Deno.readTextFile(pid)).trim());
    const restarted = await sh(`${cmd} --no-multicast -d restart --pid-file ${pid}`);
    assertEquals(restarted.code, 0, restarted.out);
    const secondPid = Number((await Deno.readTextFile(pid)).trim());
    assert(secondPid !== firstPid);
    await until(async () => {
      try {
        return Array.isArray(await getPubAddress("x", { timeout: 1, config: s.config }));
      } catch {
        return false;
      }
    }, { what: "restarted daemon answering", timeoutMs: 20_000 });
    const stopped = await sh(`${cmd} -d stop --pid-file ${pid}`);
    assertEquals(stopped.code, 0, stopped.out);
    assertEquals((await sh(`${cmd} -d status --pid-file ${pid}`)).code, 3);
    assertStringIncludes(await Deno.readTextFile(`${dir}/ns.log`), "Nameserver ready");
    // a stale pid file: status 1
    await Deno.writeTextFile(pid, "999999\n");
    assertEquals((await sh(`${cmd} -d status --pid-file ${pid}`)).code, 1);
  } finally {
    await sh(`${cmd} -d stop --pid-file ${pid}`);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("systemd unit: DynamicUser, Restart=on-failure, EnvironmentFile, hardening; verifies", async () => {
  const unit = await Deno.readTextFile(`${REPO_ROOT}/deploy/systemd/posttroll-nameserver.service`);
  for (
    const line of [
      "DynamicUser=yes",
      "Restart=on-failure",
      "EnvironmentFile=-/etc/default/posttroll-nameserver",
      "ExecStart=/usr/local/bin/nameserver $NAMESERVER_ARGS",
      "NoNewPrivileges=yes",
      "ProtectSystem=strict",
      "KillSignal=SIGTERM",
    ]
  ) assert(unit.split("\n").includes(line), line);
  // V8 needs writable+executable memory: this must never be set
  assert(!unit.includes("MemoryDenyWriteExecute=yes"));
  let out;
  try {
    out = await new Deno.Command("systemd-analyze", {
      args: ["verify", `${REPO_ROOT}/deploy/systemd/posttroll-nameserver.service`],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch {
    return; // no systemd-analyze here
  }
  const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
  const problems = text.split("\n").filter((l) =>
    l.trim() && !l.includes("/usr/local/bin/nameserver")
  );
  assertEquals(problems, []);
});

Deno.test("nameserver CLI: TCP registration port taken -> multicast only, still serving", async () => {
  const s = testSetup();
  const blocker = Deno.listen({ hostname: "0.0.0.0", port: s.broadcastPort });
  const ns = new Spawned([], s.env);
  try {
    await ns.ready();
    assert(
      ns.lines.some((l) => l.includes("multicast on, direct registration off")),
      ns.lines.join("\n"),
    );
    assertEquals(await getPubAddress("x", { timeout: 5, config: s.config }), []);
  } finally {
    blocker.close();
    const { code } = await ns.stop("SIGTERM");
    assertEquals(code, 0);
  }
});
