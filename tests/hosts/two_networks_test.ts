// A host on two networks: a receiving station with its default route on the operations network
// ("ops") and a second interface on the processing network ("proc"), where the nameserver and the
// subscribers are; the networks do not route to each other. `multicast_interface` chooses where
// announcements go, and the address announced must be the one the subscribers can reach:
//
// - ours with multicast_interface = the proc address: announced into proc, with the proc address;
// - ours registering directly with proc's nameserver: POSTTROLL_ANNOUNCE_HOST names the proc
//   address (getOwnIp alone finds the default route's ops address, as Python's get_own_ip does);
// - Python's with no settings: announced into ops (the default route), with the ops address;
// - Python's with multicast_interface = the proc address: announced into proc, but with the ops
//   address, which the subscribers cannot reach (posttroll has no setting for it: recorded).
//
// On the receiving side, nameservers on two-network hosts ("hubs", ours and Python's) with
// multicast_interface = their proc address join the group there only: they list what is announced
// into proc and nothing announced into ops; ours also has `--bind <proc address>`, so its requests,
// address notices and direct registrations are served there and not on its ops address.
// getOwnIp equals get_own_ip() on the station.
import { assertEquals } from "@std/assert";
import { TestBed } from "../../testing/hosts.ts";
import { until } from "../../testing/net.ts";
import { addressLines, assertNoLoopback, expectAll, type Peer, Peers, uriHost } from "./_peers.ts";

const N = 200;

Deno.test("hosts: two networks: multicast_interface picks the network and the announced address; announce_host for direct registration", async () => {
  await using bed = await TestBed.create({
    networks: ["ops", "proc"],
    hosts: [
      { name: "station", networks: ["ops", "proc"] }, // default route into ops
      { name: "opsns", networks: ["ops"] },
      { name: "ns", networks: ["proc"] },
      { name: "sub", networks: ["proc"] },
      { name: "hub_ours", networks: ["ops", "proc"] },
      { name: "hub_py", networks: ["ops", "proc"] },
    ],
  });
  const station = bed.host("station"), ns = bed.host("ns"), opsns = bed.host("opsns");
  const opsAddr = station.link("ops").ipv4!, procAddr = station.link("proc").ipv4!;
  await using peers = new Peers();
  const { start } = peers;
  const lookup = peers.lookupUris;
  const hubs = { ours: bed.host("hub_ours"), python: bed.host("hub_py") };
  const hubProc = { ours: hubs.ours.link("proc").ipv4!, python: hubs.python.link("proc").ipv4! };
  const nameservers = [
    start(ns, "ours", "nameserver"),
    start(opsns, "python", "nameserver"),
    // our hub also puts every TCP port on its proc address only (--bind)
    ...(["ours", "python"] as const).map((impl) =>
      start(hubs[impl], impl, "nameserver", impl === "ours" ? ["--bind", hubProc.ours] : [], {
        POSTTROLL_MULTICAST_INTERFACE: hubProc[impl],
      })
    ),
  ];
  for (const n of nameservers) await n.line((l) => l.includes("Nameserver ready"));
  const subs = [
    ...(["ours", "python"] as const).map((impl) =>
      start(bed.host("sub"), impl, "sub", ["svc_two", ns.ipv4!])
    ),
    // through our hub's bound address: requests (5557) and address notices (16543)
    start(bed.host("sub"), "ours", "sub", ["svc_two", hubProc.ours]),
  ];
  const mcif = { POSTTROLL_MULTICAST_INTERFACE: procAddr };
  const oursMc = start(station, "ours", "pub", ["ours_mc", "svc_two"], mcif);
  const oursDirect = start(station, "ours", "pub", [
    "ours_direct",
    "svc_two",
    `${ns.ipv4},${hubProc.ours}`, // direct registration (21200/TCP) on the bound address too
  ], {
    POSTTROLL_ANNOUNCE_HOST: procAddr,
  });
  const pyPlain = start(station, "python", "pub", ["py_plain", "svc_ops"]);
  const pyMcif = start(station, "python", "pub", ["py_mcif", "svc_pyif"], mcif);
  const announced = async (p: Peer) =>
    uriHost((await p.line((l) => l.startsWith("ready "))).slice(6));
  assertEquals(await announced(oursMc), procAddr);
  assertEquals(await announced(oursDirect), procAddr);
  assertEquals(await announced(pyPlain), opsAddr);
  assertEquals(await announced(pyMcif), opsAddr);

  // the subscribers on proc get everything from both of ours, exactly once
  for (const s of subs) {
    for (const id of ["ours_mc", "ours_direct"]) await s.line((l) => l === `warm ${id}`, 60_000);
  }
  for (const p of [oursMc, oursDirect]) await p.send(`send ${N}`);
  for (const s of subs) for (const id of ["ours_mc", "ours_direct"]) await expectAll(s, id, N);
  for (const s of subs) {
    for (const uris of addressLines(s)) assertNoLoopback(uris, `${s.impl} subscriber`);
    assertEquals(addressLines(s).at(-1)!.map(uriHost), [procAddr, procAddr]);
  }

  // where the announcements went: proc's nameserver (ours) has the proc-side ones, the ops
  // nameserver (Python's) the default-route one; asked by both clients from each network
  await until(async () => (await lookup(station, "python", "svc_ops", opsns.ipv4!)).length, {
    what: "the ops nameserver lists Python's plain publisher",
    timeoutMs: 30_000,
  });
  await until(async () => (await lookup(ns, "ours", "svc_pyif", ns.ipv4!)).length, {
    what: "proc's nameserver lists Python's publisher with multicast_interface",
    timeoutMs: 30_000,
  });
  for (const impl of ["ours", "python"] as const) {
    const two = await lookup(bed.host("sub"), impl, "svc_two", ns.ipv4!);
    assertEquals(two.map(uriHost), [procAddr, procAddr]);
    assertEquals(await lookup(bed.host("sub"), impl, "svc_ops", ns.ipv4!), []);
    // Python announces its default route's address into proc, out of the subscribers' reach
    assertEquals((await lookup(bed.host("sub"), impl, "svc_pyif", ns.ipv4!)).map(uriHost), [
      opsAddr,
    ]);
    assertEquals(
      (await lookup(station, impl, "svc_ops", opsns.ipv4!)).map(uriHost),
      [opsAddr],
    );
    // ours went to proc only (multicast_interface) or straight to proc's nameserver
    assertEquals(await lookup(station, impl, "svc_two", opsns.ipv4!), []);
  }
  // the hubs joined the group on proc only
  for (const hubImpl of ["ours", "python"] as const) {
    const hub = hubs[hubImpl];
    const at = hubProc[hubImpl];
    await until(async () => (await lookup(hub, "ours", "svc_pyif", at)).length, {
      what: `the ${hubImpl} hub lists Python's publisher announcing into proc`,
      timeoutMs: 30_000,
    });
    const uri = (p: Peer) => p.lines.find((l) => l.startsWith("ready "))!.slice(6);
    for (const impl of ["ours", "python"] as const) {
      const two = await lookup(hub, impl, "svc_two", at);
      // ours_direct registered with our hub only
      assertEquals(two, hubImpl === "ours" ? [uri(oursMc), uri(oursDirect)].sort() : [uri(oursMc)]);
      assertEquals(await lookup(hub, impl, "svc_ops", at), [], `${hubImpl} hub`);
    }
  }
  // our hub answers on its proc address only
  assertEquals(
    await peers.lookup(hubs.ours, "ours", "svc_two", hubs.ours.link("ops").ipv4!, { seconds: 2 }),
    "lookup-error TimeoutError",
  );
  // getOwnIp on the two-network station: the default route's address, as Python's
  const ownIps = await Promise.all(
    (["ours", "python"] as const).map((impl) =>
      start(station, impl, "ownip").line((l) => l.startsWith("ownip "))
    ),
  );
  assertEquals(ownIps, [`ownip ${opsAddr}`, `ownip ${opsAddr}`]);
  peers.assertNoLoopback();
});
