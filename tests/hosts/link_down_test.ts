// Hosts whose link goes down and comes back, silently (the switch port goes down: no FIN, no RST,
// as with a pulled cable). With tcp_keepalive configured (idle 1 s, interval 1 s, 2 probes) the
// subscribers (ours and Python's) drop the dead connections, reconnect when the publishers' host
// is back and get every message sent after that exactly once; publishers never block while their
// subscribers are unreachable. Then the nameserver's host drops off and returns, and a
// publisher started after that is still found by every subscriber.
import { assert, assertEquals } from "@std/assert";
import { TestBed } from "../../testing/hosts.ts";
import { until } from "../../testing/net.ts";
import {
  addressLines,
  assertNoLoopback,
  dataCounts,
  expectAll,
  type Impl,
  type Peer,
  Peers,
} from "./_peers.ts";

const N = 200;
const IMPLS: Impl[] = ["ours", "python"];
const KEEPALIVE = {
  POSTTROLL_TCP_KEEPALIVE: "1",
  POSTTROLL_TCP_KEEPALIVE_IDLE: "1",
  POSTTROLL_TCP_KEEPALIVE_INTVL: "1",
  POSTTROLL_TCP_KEEPALIVE_CNT: "2",
};

Deno.test("hosts: a publisher host and the nameserver host drop off the network and come back; subscribers reconnect", async () => {
  await using bed = await TestBed.create({ hosts: ["ns", "pub", "sub", "late"] });
  const [nsHost, pubHost, subHost, lateHost] = bed.hosts;
  await using peers = new Peers(KEEPALIVE);
  const { start } = peers;
  const warms = (s: Peer, id: string) => s.lines.filter((l) => l === `warm ${id}`).length;
  await start(nsHost, "ours", "nameserver").line((l) => l.includes("Nameserver ready"));
  const subs = IMPLS.map((impl) => start(subHost, impl, "sub", ["svc", nsHost.ipv4!]));
  const pubs = IMPLS.map((impl) => start(pubHost, impl, "pub", [impl, "svc"]));
  for (const s of subs) {
    for (const impl of IMPLS) await s.line((l) => l === `warm ${impl}`, 60_000);
  }
  for (const p of pubs) await p.send(`send ${N} .before`);
  for (const s of subs) for (const impl of IMPLS) await expectAll(s, `${impl}.before`, N);

  // the publishers' host drops off: long enough for keepalive to declare the connections dead
  await pubHost.down();
  const downAt = Date.now();
  for (const p of pubs) await p.send(`send ${N} .during`);
  for (const p of pubs) {
    // sending goes on while nobody can be reached
    await p.line((l) => l === `sent ${N}`, 5_000);
  }
  await new Promise((r) => setTimeout(r, 6_000));
  await pubHost.up();
  const upAt = Date.now();
  // each subscriber hears each publisher again (a new "warm" line after the silence)
  for (const s of subs) {
    for (const impl of IMPLS) {
      await until(() => warms(s, impl) >= 2, {
        what: `${s.impl} subscriber hears ${impl} publisher after the outage`,
        timeoutMs: 30_000,
      });
    }
  }
  const recoveredMs = Date.now() - upAt;
  for (const p of pubs) await p.send(`send ${N} .after`);
  for (const s of subs) for (const impl of IMPLS) await expectAll(s, `${impl}.after`, N);
  // what was sent during the outage went into the old connections: had the subscribers kept
  // them (no keepalive), TCP would have delivered it after the outage. None arrived: they
  // dropped the dead connections and reconnected (posttroll keeps no history to resend)
  for (const s of subs) {
    for (const impl of IMPLS) {
      assertEquals(dataCounts(s).get(`${impl}.during`)?.size ?? 0, 0, `${s.impl}<-${impl}`);
    }
  }
  console.log(
    `outage ${upAt - downAt} ms; subscribers heard the publishers again ${recoveredMs} ms ` +
      "after the link came back",
  );

  // the nameserver's host drops off and returns; a publisher that starts afterwards is found
  await nsHost.down();
  await new Promise((r) => setTimeout(r, 6_000));
  await nsHost.up();
  const late = IMPLS.map((impl) => start(lateHost, impl, "pub", [`late_${impl}`, "svc"]));
  for (const s of subs) {
    for (const impl of IMPLS) await s.line((l) => l === `warm late_${impl}`, 60_000);
  }
  for (const p of late) await p.send(`send ${N}`);
  for (const s of subs) for (const impl of IMPLS) await expectAll(s, `late_${impl}`, N);
  for (const s of subs) {
    for (const u of addressLines(s)) assertNoLoopback(u, `${s.impl} subscriber`);
    assertEquals(addressLines(s).at(-1)!.length, 4);
  }
  assert(recoveredMs < 20_000);
  peers.assertNoLoopback();
});
