// The deployment posttroll is made for, on separate hosts: a nameserver on host "ns", publishers
// on host "pub" that find their own address (ours and Python's) and announce it by multicast or
// by direct registration, subscribers on host "sub" (ours and Python's) that find the publishers
// by service name through the nameserver, and publishers on host "late" that start after the
// subscribers. Default ports and group, as deployed. Every message is counted: each subscriber
// gets each publisher's messages exactly once, and no address anyone announced or looked up is a
// loopback address. Once with our nameserver and once with Python's, for each kind of
// registration, each on its own test bed.
import { assertEquals } from "@std/assert";
import { TestBed } from "../../testing/hosts.ts";
import { addressLines, assertNoLoopback, expectAll, type Impl, Peers, uriHost } from "./_peers.ts";

const N = 200;
const IMPLS: Impl[] = ["ours", "python"];

async function deployment(nsImpl: Impl, direct: boolean): Promise<void> {
  await using bed = await TestBed.create({ hosts: ["ns", "pub", "sub", "late"] });
  const [nsHost, pubHost, subHost, lateHost] = bed.hosts;
  const nsAddr = nsHost.ipv4!;
  await using peers = new Peers();
  const { start } = peers;
  const ns = start(nsHost, nsImpl, "nameserver", direct ? ["--no-multicast"] : []);
  await ns.line((l) => l.includes("Nameserver ready"));
  const services = "svc_ours,svc_py";
  const subs = IMPLS.map((impl) => start(subHost, impl, "sub", [services, nsAddr]));
  const registration = direct ? [nsAddr] : [];
  const publish = async (host: typeof pubHost, round: number) => {
    const pubs = IMPLS.map((impl) =>
      start(host, impl, "pub", [
        `${impl}${round}`,
        impl === "ours" ? "svc_ours" : "svc_py",
        ...registration,
      ])
    );
    for (const p of pubs) {
      // the auto-detected address is the host's own on the test bed's network
      const uri = (await p.line((l) => l.startsWith("ready "))).slice(6);
      assertEquals(uriHost(uri), host.ipv4, `${p.impl} publisher's announced address`);
    }
    // every subscriber connected to every publisher (they send /warm until then)
    for (const s of subs) {
      for (const impl of IMPLS) await s.line((l) => l === `warm ${impl}${round}`, 60_000);
    }
    for (const p of pubs) await p.send(`send ${N}`);
    for (const p of pubs) await p.line((l) => l === `sent ${N}`);
    for (const s of subs) for (const impl of IMPLS) await expectAll(s, `${impl}${round}`, N);
    return pubs;
  };
  const first = await publish(pubHost, 1);
  const late = await publish(lateHost, 2); // started after the subscribers
  const expected = [...first, ...late].map((p) =>
    p.lines.find((l) => l.startsWith("ready "))!.slice(6)
  ).sort();
  for (const s of subs) {
    const seen = addressLines(s);
    for (const uris of seen) assertNoLoopback(uris, `${s.impl} subscriber`);
    assertEquals(seen.at(-1), expected, `${s.impl} subscriber's publishers`);
  }
  // the nameserver's answers, asked from the subscribers' host by both clients
  for (const impl of IMPLS) {
    for (const service of ["svc_ours", "svc_py"]) {
      const q = start(subHost, impl, "lookup", [service, nsAddr]);
      const uris = JSON.parse((await q.line((l) => l.startsWith("lookup "))).slice(7));
      assertNoLoopback(uris, `${impl} lookup of ${service}`);
      assertEquals(
        uris,
        expected.filter((u) =>
          [...first, ...late].find((p) => p.lines.includes(`ready ${u}`))!.impl ===
            (service === "svc_ours" ? "ours" : "python")
        ),
      );
    }
  }
  peers.assertNoLoopback();
}

for (const direct of [false, true]) {
  const how = direct ? "direct registration" : "multicast";
  Deno.test(`hosts: nameserver (ours, Python), publishers on another host announcing by ${how}, subscribers on a third, late publishers`, async () => {
    // one test bed after the other: a dozen processes starting at once is already a burst of
    // CPU for the tests running beside these ones
    for (const nsImpl of IMPLS) await deployment(nsImpl, direct);
  });
}
