// `nameserver -L` (restrict to localhost) with real remote hosts: multicast announcements from the
// nameserver's own host are listed, the same announcements from another host are dropped (both
// implementations). Ours also refuses other hosts' direct registrations and requests, as the help
// of both says ("accept connections only from localhost"); Python's -L filters only multicast
// announcements and answers anyone (recorded here). A nameserver without -L on the same network
// shows that the remote announcements and registrations are on the wire.
import { assertEquals } from "@std/assert";
import { TestBed } from "../../testing/hosts.ts";
import { until } from "../../testing/net.ts";
import { type Impl, Peers, uriHost } from "./_peers.ts";

Deno.test("hosts: nameserver -L lists its own host's publishers only (ours and Python's)", async () => {
  await using bed = await TestBed.create({ hosts: ["ns_ours", "ns_py", "open", "remote"] });
  const remote = bed.host("remote"), open = bed.host("open");
  await using peers = new Peers();
  const { start, lookup } = peers;
  const nsOf: Record<Impl, typeof open> = {
    ours: bed.host("ns_ours"),
    python: bed.host("ns_py"),
  };
  const nameservers = [
    start(nsOf.ours, "ours", "nameserver", ["-L"]),
    start(nsOf.python, "python", "nameserver", ["-L"]),
    start(open, "ours", "nameserver"),
  ];
  for (const n of nameservers) await n.line((l) => l.includes("Nameserver ready"));
  // a publisher on each nameserver's host, and remote ones (both implementations), multicast
  for (const impl of ["ours", "python"] as const) {
    start(nsOf[impl], impl, "pub", [`local_${impl}`, `svc_local_${impl}`]);
    start(remote, impl, "pub", [`remote_${impl}`, "svc_remote"]);
  }
  start(remote, "ours", "pub", [
    "remote_direct",
    "svc_remote_direct",
    `${bed.host("ns_ours").ipv4},${open.ipv4}`,
  ]);
  // the remote announcements reach the network: the open nameserver lists both
  await until(
    async () => (await lookup(open, "ours", "svc_remote", open.ipv4!)).split(",").length === 2,
    {
      what: "the open nameserver lists both remote publishers",
      timeoutMs: 30_000,
    },
  );
  for (const impl of ["ours", "python"] as const) {
    const ns = nsOf[impl];
    // asked on its own host (localhost), by both clients
    for (const client of ["ours", "python"] as const) {
      await until(async () => {
        const got = JSON.parse(
          (await lookup(ns, client, `svc_local_${impl}`, "localhost")).slice(7),
        );
        return got.length === 1 && uriHost(got[0]) === ns.ipv4;
      }, { what: `${impl} -L nameserver lists the local publisher`, timeoutMs: 30_000 });
      assertEquals(
        await lookup(ns, client, "svc_remote", "localhost"),
        "lookup []",
        `${impl} -L`,
      );
      // the other nameserver's host is another host too
      const other = impl === "ours" ? "python" : "ours";
      assertEquals(await lookup(ns, client, `svc_local_${other}`, "localhost"), "lookup []");
    }
  }
  // direct registration from another host: refused by ours (the open one takes it)
  await until(
    async () =>
      (await lookup(open, "ours", "svc_remote_direct", open.ipv4!)).split(",").length === 1,
    { what: "the open nameserver lists the directly registering publisher", timeoutMs: 30_000 },
  );
  assertEquals(
    await lookup(nsOf.ours, "ours", "svc_remote_direct", "localhost"),
    "lookup []",
  );
  // requests from another host: ours refuses them (our client says so at once, Python's times
  // out); Python's -L answers them
  for (const client of ["ours", "python"] as const) {
    assertEquals(
      await lookup(remote, client, "svc_local_ours", nsOf.ours.ipv4!, { seconds: 2 }),
      client === "ours" ? "lookup-error AuthRefusedError" : "lookup-error TimeoutError",
    );
    const py = await lookup(remote, client, "svc_local_python", nsOf.python.ipv4!, { seconds: 2 });
    assertEquals(JSON.parse(py.slice(7)).map(uriHost), [nsOf.python.ipv4]);
  }
  peers.assertNoLoopback();
});
