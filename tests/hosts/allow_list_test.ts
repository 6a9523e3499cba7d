// The secure backend (secure_zmq, CURVE) across hosts with `authorized_client_addresses` naming
// the subscribers' host: the nameserver (ours), the address receiver's port and the publishers
// (ours and Python's) serve the subscribers there and nobody else. An intruder host holding valid
// client keys learns no address from the nameserver and, connecting straight to the publishers,
// receives nothing — from our publisher and from Python's — while the subscribers on the allowed
// host get every message exactly once.
import { assertEquals } from "@std/assert";
import { TestBed } from "../../testing/hosts.ts";
import { cliKeys, keyEnv } from "../secure/_helpers.ts";
import {
  addressLines,
  assertNoLoopback,
  dataCounts,
  expectAll,
  type Impl,
  Peers,
  uriHost,
} from "./_peers.ts";

const N = 200;
const IMPLS: Impl[] = ["ours", "python"];

Deno.test("hosts: secure backend with authorized_client_addresses: allowed host gets all, an intruder with valid keys nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hosts-allow-" });
  try {
    await using bed = await TestBed.create({ hosts: ["ns", "pub", "sub", "intruder"] });
    const [ns, pubHost, subHost, intruder] = bed.hosts;
    const env = {
      POSTTROLL_BACKEND: "secure_zmq",
      ...keyEnv(await cliKeys(dir)),
      POSTTROLL_AUTHORIZED_CLIENT_ADDRESSES: `['${subHost.ipv4}']`,
    };
    await using peers = new Peers(env);
    const { start } = peers;
    await start(ns, "ours", "nameserver").line((l) => l.includes("Nameserver ready"));
    const subs = IMPLS.map((impl) => start(subHost, impl, "sub", ["svc_ours,svc_py", ns.ipv4!]));
    const pubs = IMPLS.map((impl) =>
      start(pubHost, impl, "pub", [impl, impl === "ours" ? "svc_ours" : "svc_py"])
    );
    const uris: string[] = [];
    for (const p of pubs) uris.push((await p.line((l) => l.startsWith("ready "))).slice(6));
    assertEquals(uris.map(uriHost), [pubHost.ipv4, pubHost.ipv4]);
    // the intruder: the same keys, through the nameserver and straight to the publishers
    const intruders = IMPLS.flatMap((impl) => [
      start(intruder, impl, "sub", ["svc_ours,svc_py", ns.ipv4!]),
      start(intruder, impl, "dsub", [uris.join(",")]),
    ]);
    for (const s of subs) {
      for (const impl of IMPLS) await s.line((l) => l === `warm ${impl}`, 60_000);
    }
    for (const p of pubs) await p.send(`send ${N}`);
    for (const s of subs) for (const impl of IMPLS) await expectAll(s, impl, N);
    for (const s of subs) {
      for (const u of addressLines(s)) assertNoLoopback(u, `${s.impl} subscriber`);
      assertEquals(addressLines(s).at(-1), [...uris].sort());
    }
    // the same messages (and /warm ten times a second throughout) were offered to the intruders
    for (const s of intruders) {
      assertEquals(dataCounts(s).size, 0, `${s.impl} ${s.role} on the intruder host got data`);
      assertEquals(s.lines.filter((l) => l.startsWith("warm ")), [], `${s.impl} ${s.role}`);
    }
    for (const impl of IMPLS) {
      const q = start(intruder, impl, "lookup", ["svc_ours", ns.ipv4!, "2"]);
      assertEquals(
        await q.line((l) => l.startsWith("lookup")),
        impl === "ours" ? "lookup-error AuthRefusedError" : "lookup-error TimeoutError",
      );
      const ok = start(subHost, impl, "lookup", ["svc_ours", ns.ipv4!]);
      assertEquals(
        await ok.line((l) => l.startsWith("lookup")),
        `lookup ${JSON.stringify([uris[0]])}`,
      );
    }
    peers.assertNoLoopback();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
