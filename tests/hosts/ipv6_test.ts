// IPv6-only hosts. Our nameserver with `--bind ::` serves requests (5557), direct registrations
// (21200/TCP) and address notices (16543) over IPv6, and on a host without IPv4 it carries on
// without multicast (posttroll's multicast is IPv4). Our publishers find their IPv6 address and
// listen on tcp://* for both families: subscribers on IPv6-only hosts (ours and Python's) get all
// messages through either nameserver, and a subscriber on another dual-stack host gets the same
// publisher over IPv4. Python's peers speak IPv6 only with zmq.IPV6 set on posttroll's context
// (posttroll never sets it); its publishers cannot serve from an IPv6-only host at all, since
// get_own_ip() is IPv4-only and falls back to loopback there (tests/hosts/testbed_test.ts).
import { assertEquals } from "@std/assert";
import { TestBed } from "../../testing/hosts.ts";
import { addressLines, assertNoLoopback, expectAll, type Impl, Peers, uriHost } from "./_peers.ts";

const N = 200;
const IMPLS: Impl[] = ["ours", "python"];
const V6 = { PEER_ZMQ_IPV6: "1" };

Deno.test("hosts: IPv6-only hosts: nameserver --bind ::, publishers announce IPv6 and listen on both families", async () => {
  await using bed = await TestBed.create({
    hosts: [
      { name: "ns6", ipv4: false },
      { name: "pyns6", ipv4: false },
      { name: "pub6", ipv4: false },
      { name: "sub6", ipv4: false },
      "dual",
      "dual2",
    ],
  });
  const [ns6, pyns6, pub6, sub6, dual, dual2] = bed.hosts;
  await using peers = new Peers();
  const { start } = peers;
  const ours = start(ns6, "ours", "nameserver", ["--bind", "::"]);
  const py = start(pyns6, "python", "nameserver", ["--no-multicast"], V6);
  await ours.line((l) => l.includes("Nameserver ready"));
  await py.line((l) => l.includes("Nameserver ready"));
  // no IPv4 route on the host: no multicast; direct registration goes on
  assertEquals(
    ours.lines.filter((l) => l.includes("Multicast unavailable")).length,
    1,
    ours.lines.join("\n"),
  );
  const subs = [ns6, pyns6].flatMap((ns) =>
    IMPLS.map((impl) => start(sub6, impl, "sub", ["svc6", ns.ipv6!], V6))
  );
  const both = `${ns6.ipv6},${pyns6.ipv6}`;
  const pubs = [
    start(pub6, "ours", "pub", ["v6only", "svc6", both]),
    // a dual-stack publisher: its default route finds the IPv4 address, so it is told to
    // announce the IPv6 one; it listens on both
    start(dual, "ours", "pub", ["dual", "svc6", both], { POSTTROLL_ANNOUNCE_HOST: dual.ipv6! }),
  ];
  const uris: string[] = [];
  for (const p of pubs) uris.push((await p.line((l) => l.startsWith("ready "))).slice(6));
  assertEquals(uris.map(uriHost), [pub6.ipv6, dual.ipv6]);
  const port = uris[1].slice(uris[1].lastIndexOf(":") + 1);
  const v4subs = IMPLS.map((impl) => start(dual2, impl, "dsub", [`tcp://${dual.ipv4}:${port}`]));
  for (const s of subs) {
    for (const id of ["v6only", "dual"]) await s.line((l) => l === `warm ${id}`, 60_000);
  }
  for (const s of v4subs) await s.line((l) => l === "warm dual", 60_000);
  for (const p of pubs) await p.send(`send ${N}`);
  for (const s of subs) for (const id of ["v6only", "dual"]) await expectAll(s, id, N);
  for (const s of v4subs) await expectAll(s, "dual", N);
  for (const s of subs) {
    for (const u of addressLines(s)) assertNoLoopback(u, `${s.impl} subscriber`);
    assertEquals(addressLines(s).at(-1), [...uris].sort());
  }
  for (const [ns, impl] of [[ns6, "ours"], [ns6, "python"], [pyns6, "ours"]] as const) {
    const q = start(sub6, impl, "lookup", ["svc6", ns.ipv6!], V6);
    assertEquals(
      await q.line((l) => l.startsWith("lookup")),
      `lookup ${JSON.stringify([...uris].sort())}`,
    );
  }
  peers.assertNoLoopback();
});
