// getOwnIp: each method on routing tables and interface lists as the kernel writes them, and the
// real answer on this machine compared with Python posttroll's get_own_ip() (with all
// permissions, as here, and with the executables' narrow ones). The same comparison inside every
// test-bed host is in tests/hosts/own_ip_test.ts.
import { assert, assertEquals, assertMatch, assertRejects } from "@std/assert";
import { ConfigError } from "../../lib/posttroll/config.ts";
import { Message } from "../../lib/posttroll/message.ts";
import { getOwnIp, isLoopbackAddress, type OwnIpOptions } from "../../lib/posttroll/own_ip.ts";
import { NoisyPublisher, Publisher } from "../../lib/posttroll/publisher.ts";
import { tcpEndpoint } from "../../lib/posttroll/_sockets.ts";
import { SubSocket } from "../../lib/zmq/mod.ts";
import { python, REPO_ROOT } from "../../testing/python.ts";
import { testSetup, until } from "../../testing/posttroll.ts";

// /proc/net/route as Linux prints it on little-endian hosts (addresses in host byte order)
const HEAD = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT";
const V4_ONE = [
  HEAD,
  "lan0\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0", // default via 10.0.0.1
  "lan0\t0000000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0", // 10.0.0.0/24
].join("\n");
const V6_DEFAULT = [
  "fd420000000000000000000000000000 40 00000000000000000000000000000000 00 " +
  "00000000000000000000000000000000 00000100 00000001 00000000 00000001     lan0",
  "00000000000000000000000000000000 00 00000000000000000000000000000000 00 " +
  "fd4200000000000000000000000000fe 00000400 00000002 00000000 00000003     lan0",
  "00000000000000000000000000000000 00 00000000000000000000000000000000 00 " +
  "00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo",
].join("\n");
const LITTLE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function iface(
  name: string,
  address: string,
  prefix: number,
  family: "IPv4" | "IPv6" = address.includes(":") ? "IPv6" : "IPv4",
): Deno.NetworkInterfaceInfo {
  return {
    name,
    family,
    address,
    netmask: "",
    scopeid: family === "IPv6" ? 0 : null,
    cidr: `${address}/${prefix}`,
    mac: "00:00:00:00:00:00",
  };
}

const LO = [iface("lo", "127.0.0.1", 8), iface("lo", "::1", 128)];

/** Options over fixed tables; warnings collected in `warnings`. */
function system(
  tables: { route?: string; ipv6?: string } | undefined,
  interfaces: Deno.NetworkInterfaceInfo[],
  host: { name?: string; ip?: string } = {},
): OwnIpOptions & { warnings: string[] } {
  const warnings: string[] = [];
  return {
    warnings,
    readRoutes: (path) => {
      if (!tables) return Promise.reject(new Deno.errors.NotCapable("Requires all access"));
      const t = path.endsWith("ipv6_route") ? tables.ipv6 : tables.route;
      return t === undefined ? Promise.reject(new Deno.errors.NotFound(path)) : Promise.resolve(t);
    },
    interfaces: () => [...LO, ...interfaces],
    hostname: () => host.name ?? "station",
    lookup: () => host.ip ? Promise.resolve(host.ip) : Promise.reject(new Error("gaierror")),
    warn: (m) => warnings.push(m),
  };
}

Deno.test("getOwnIp: the default route's interface, the address on the gateway's subnet", {
  ignore: !LITTLE,
}, async () => {
  const s = system({ route: V4_ONE }, [
    iface("lan0", "192.168.5.5", 24), // another subnet on the same interface, listed first
    iface("lan0", "10.0.0.7", 24),
    iface("lan1", "172.16.0.9", 16),
  ]);
  assertEquals(await getOwnIp(s), "10.0.0.7");
  assertEquals(s.warnings, []);
});

Deno.test("getOwnIp: the longest prefix, then the lowest metric, decide the route", {
  ignore: !LITTLE,
}, async () => {
  const ifs = [
    iface("a0", "10.0.0.7", 24),
    iface("b0", "10.9.0.7", 24),
    iface("c0", "8.8.0.2", 16),
  ];
  const table = [
    HEAD,
    "a0\t00000000\t0100000A\t0003\t0\t0\t200\t00000000\t0\t0\t0", // default, metric 200
    "b0\t00000000\t0100090A\t0003\t0\t0\t100\t00000000\t0\t0\t0", // default, metric 100
  ];
  assertEquals(await getOwnIp(system({ route: table.join("\n") }, ifs)), "10.9.0.7");
  // 8.8.0.0/16 on c0 holds 8.8.8.8: more specific than any default route
  table.push("c0\t00000808\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0");
  assertEquals(await getOwnIp(system({ route: table.join("\n") }, ifs)), "8.8.0.2");
  // a route that is down does not count
  table[3] = table[3].replace("\t0001\t", "\t0000\t");
  assertEquals(await getOwnIp(system({ route: table.join("\n") }, ifs)), "10.9.0.7");
});

Deno.test("getOwnIp: an unreachable (reject) route means no route, as connect() fails", {
  ignore: !LITTLE,
}, async () => {
  const table = [HEAD, "*\t00000000\t00000000\t0201\t0\t0\t0\t00000000\t0\t0\t0"].join("\n");
  const s = system({ route: table, ipv6: "" }, [iface("lan0", "10.0.0.7", 24)], {
    ip: "10.0.0.7",
  });
  assertEquals(await getOwnIp(s), "10.0.0.7"); // from the host name
});

Deno.test("getOwnIp: IPv6-only host: the IPv6 default route's interface, global before ULA", async () => {
  const s = system({ route: HEAD, ipv6: V6_DEFAULT }, [
    iface("lan0", "fe80::1", 64),
    iface("lan0", "fd42::5", 64),
    iface("lan0", "2001:db8::5", 64),
  ]);
  assertEquals(await getOwnIp(s), "2001:db8::5");
  const ula = system({ route: HEAD, ipv6: V6_DEFAULT }, [iface("lan0", "fd42::5", 64)]);
  assertEquals(await getOwnIp(ula), "fd42::5");
});

Deno.test("getOwnIp: routing table unreadable (narrow permissions): the interfaces", async () => {
  const one = system(undefined, [iface("lan0", "fe80::1", 64), iface("lan0", "10.0.0.7", 24)]);
  assertEquals(await getOwnIp(one), "10.0.0.7");
  assertEquals(one.warnings, []);
  const two = system(undefined, [iface("lan0", "10.0.0.7", 24), iface("lan1", "10.1.0.7", 24)]);
  assertEquals(await getOwnIp(two), "10.0.0.7");
  assertEquals(two.warnings.length, 1);
  assertMatch(two.warnings[0], /lan0, lan1.*POSTTROLL_ANNOUNCE_HOST/);
  const v6 = system(undefined, [iface("lan0", "fd42::5", 64)]);
  assertEquals(await getOwnIp(v6), "fd42::5");
});

Deno.test("getOwnIp: no route: the host name unless it is loopback, then 127.0.0.1 with a warning", async () => {
  const noRoute = { route: HEAD, ipv6: "" };
  assertEquals(await getOwnIp(system(noRoute, [], { ip: "192.168.1.50" })), "192.168.1.50");
  for (const ip of ["127.0.0.1", "127.0.1.1", undefined]) {
    const s = system(noRoute, [], { ip });
    assertEquals(await getOwnIp(s), "127.0.0.1");
    assertEquals(s.warnings.length, 1);
    assertMatch(s.warnings[0], /127\.0\.0\.1.*POSTTROLL_ANNOUNCE_HOST.*announceHost/);
  }
});

Deno.test("isLoopbackAddress", () => {
  for (const a of ["127.0.0.1", "127.0.1.1", "::1", "::ffff:127.0.0.1"]) {
    assert(isLoopbackAddress(a));
  }
  for (const a of ["192.0.2.2", "fd00::2", "::ffff:10.0.0.1"]) assert(!isLoopbackAddress(a), a);
});

async function pythonOwnIp(): Promise<string> {
  return (await python("from posttroll.publisher import get_own_ip; print(get_own_ip())")).trim();
}

Deno.test("getOwnIp equals Python's get_own_ip() on this machine", async () => {
  const [ours, theirs] = await Promise.all([getOwnIp(), pythonOwnIp()]);
  assertEquals(ours, theirs);
});

Deno.test("getOwnIp with the executables' permissions equals Python's on this machine", async () => {
  // cli/binaries.ts: the nameserver and the bridge run with --allow-sys=hostname,networkInterfaces
  // and without --allow-all, so the routing table is out of reach and the interfaces decide
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(
      file,
      `import { getOwnIp } from "${REPO_ROOT}/lib/posttroll/own_ip.ts";\n` +
        `console.log(await getOwnIp());\n`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", "--allow-sys=hostname,networkInterfaces", file],
      env: { DENO_NO_UPDATE_CHECK: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(out.success, new TextDecoder().decode(out.stderr));
    assertEquals(new TextDecoder().decode(out.stdout).trim(), await pythonOwnIp());
  } finally {
    await Deno.remove(file);
  }
});

// ---- the address a NoisyPublisher announces, and where it listens ----

function announcedUri(pub: NoisyPublisher): string {
  return (Message.decode(pub.announcement!).data as { URI: string }).URI;
}

Deno.test("NoisyPublisher with nothing set announces getOwnIp(), not loopback, here", async () => {
  const { config } = testSetup({ POSTTROLL_MULTICAST_INTERFACE: "" });
  using _ = config.set({ multicast_interface: null });
  await using pub = await new NoisyPublisher("svc", { broadcastInterval: 0, config }).start();
  const uri = announcedUri(pub);
  assertEquals(uri, `tcp://${await getOwnIp()}:${pub.portNumber}`);
  assert(!isLoopbackAddress(uri.slice(6, uri.lastIndexOf(":"))), uri);
});

Deno.test("NoisyPublisher announced host: option, then announce_host, then multicast_interface", async () => {
  const { config } = testSetup({ POSTTROLL_MULTICAST_INTERFACE: "127.0.0.1" });
  const start = (opts: { announceHost?: string; nameservers?: string[] } = {}) =>
    new NoisyPublisher("svc", { broadcastInterval: 0, config, ...opts }).start();
  {
    // multicast announcements go out of multicast_interface: its address is the one announced
    await using pub = await start();
    assertEquals(announcedUri(pub), `tcp://127.0.0.1:${pub.portNumber}`);
  }
  {
    // direct registration: multicast_interface plays no part
    await using pub = await start({ nameservers: ["127.0.0.1"] });
    assertEquals(announcedUri(pub), `tcp://${await getOwnIp()}:${pub.portNumber}`);
  }
  using _ = config.set({ announce_host: "fd00:0:0:7::5" });
  {
    await using pub = await start({ nameservers: ["127.0.0.1"] });
    assertEquals(announcedUri(pub), `tcp://[fd00:0:0:7::5]:${pub.portNumber}`);
  }
  {
    await using pub = await start({ announceHost: "station.example.org" });
    assertEquals(announcedUri(pub), `tcp://station.example.org:${pub.portNumber}`);
  }
});

Deno.test("announce_host that is not a host fails at start, naming the setting", async () => {
  for (const bad of ["", "tcp://10.0.0.1", "10.0.0.1:5000", "a host", "[::1"]) {
    const { config } = testSetup({ POSTTROLL_ANNOUNCE_HOST: bad });
    const e = await assertRejects(
      () => new NoisyPublisher("svc", { broadcastInterval: 0, config }).start(),
      ConfigError,
    );
    assertEquals((e as ConfigError).key, "announce_host", bad);
    assertMatch((e as Error).message, /announce_host/);
  }
  const { config } = testSetup({ POSTTROLL_ANNOUNCE_HOST: "[fd00::5]" });
  assertEquals(config.announceHost(), "fd00::5");
});

Deno.test("Publisher on tcp://* accepts IPv4 and IPv6 subscribers (posttroll: IPv4 only)", async () => {
  await using pub = await new Publisher("tcp://*:0").start();
  const port = pub.portNumber!;
  for (const host of ["127.0.0.1", "::1"]) {
    await using sub = new SubSocket();
    sub.subscribe("");
    sub.connect(tcpEndpoint(host, port));
    const got = (async () => new TextDecoder().decode((await sub.receive())[0]))();
    await until(() => pub.subscriberCount() > 0, { what: `subscriber over ${host}` });
    await pub.send("pytroll://x info u@h 2020-01-01T00:00:00 v1.01");
    assertMatch(await got, /^pytroll:\/\/x info/);
    await sub.close();
    await until(() => pub.subscriberCount() === 0, { what: "subscriber gone" });
  }
});
