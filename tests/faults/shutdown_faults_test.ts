// Fault suite, shutdown: SIGTERM to the nameserver CLI while it is busy (four clients looking up
// in a loop, a publisher registering, stalled TCP connections held open) exits 0 within one second;
// the clients see answers or a bounded timeout, never a hang. The igwn-alert CLI cases (listen
// receiving, send of several files) are in kafka_faults_test.ts, which has the broker.
import { assert, assertEquals } from "@std/assert";
import { binary } from "../../cli/binaries.ts";
import { getPubAddress, NameserverTimeoutError } from "../../lib/posttroll/nameserver.ts";
import { NoisyPublisher } from "../../lib/posttroll/publisher.ts";
import { REPO_ROOT } from "../../testing/python.ts";
import { testSetup, until } from "../../testing/posttroll.ts";
import { Child } from "../../testing/child.ts";
import { closeQuietly, greeting, holdOpen } from "./_zmtp.ts";
import { recordFault } from "./_record.ts";

Deno.test("fault shutdown: SIGTERM to the nameserver CLI while it serves lookups", async () => {
  const s = testSetup();
  const NS = binary("nameserver");
  const ns = new Child(
    Deno.execPath(),
    ["run", ...NS.permissions, "--no-prompt", `${REPO_ROOT}/${NS.entry}`],
    { ...s.env, NO_COLOR: "1" },
  );
  const conns: Deno.TcpConn[] = [];
  let stop = false;
  let answered = 0, timedOut = 0;
  const other: string[] = [];
  await using _pub = await new NoisyPublisher("busy", {
    broadcastInterval: 0.1,
    announceHost: "127.0.0.1",
    config: s.config,
  }).start();
  let clients: Promise<void>[] = [];
  try {
    await ns.line((l) => l.includes("Nameserver ready"));
    await until(async () =>
      (await getPubAddress("busy", { timeout: 1, config: s.config })).length === 1
    );
    clients = Array.from({ length: 4 }, async () => {
      while (!stop) {
        try {
          await getPubAddress("busy", { timeout: 1, config: s.config });
          answered++;
        } catch (e) {
          if (e instanceof NameserverTimeoutError) timedOut++;
          else other.push(String(e));
          if (stop) return;
        }
      }
    });
    for (let i = 0; i < 20; i++) conns.push(await holdOpen(s.nameserverPort, [greeting()]));
    const before = answered;
    await until(() => answered >= before + 20, { what: "busy serving" });
    const { code, ms } = await ns.kill("SIGTERM");
    const t0 = Date.now();
    stop = true;
    await Promise.all(clients);
    const clientsMs = Date.now() - t0;
    assertEquals(code, 0, ns.lines.join("\n"));
    assert(ms < 1000, `SIGTERM -> exit took ${ms} ms`);
    assertEquals(other, []);
    assert(clientsMs < 2500, `clients took ${clientsMs} ms to notice`);
    await recordFault({
      area: "shutdown",
      fault: "SIGTERM to the nameserver CLI with 4 clients looking up, 20 stalled connections",
      inputs: answered + timedOut,
      lost: 0,
      notes: `exit ${code} after ${ms} ms; ${answered} lookups answered, ${timedOut} in flight ` +
        `at the signal ended in NameserverTimeoutError (1 s), none hung`,
    });
  } finally {
    stop = true;
    await Promise.allSettled(clients);
    for (const c of conns) closeQuietly(c);
    await ns.kill("SIGKILL");
  }
});
