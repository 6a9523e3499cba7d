// The test bed itself: hosts reach each other over IPv4 and IPv6 and nothing else, multicast
// flows between them, getOwnIp equals Python's get_own_ip() in every host (and, on the IPv6-only
// host where Python has no answer, finds the IPv6 address), and everything is gone after close.
import { assert, assertEquals, assertNotEquals } from "@std/assert";
import { TestBed } from "../../testing/hosts.ts";
import { Peer } from "./_peers.ts";

Deno.test("test bed: addresses, isolation, multicast between hosts, own IP like Python", async () => {
  await using bed = await TestBed.create({
    hosts: ["a", "b", "c", { name: "v6", ipv4: false }],
  });
  const [a, b, c, v6] = bed.hosts;
  assertEquals([a.ipv4, b.ipv4, c.ipv4, v6.ipv4], [
    "198.18.1.1",
    "198.18.1.2",
    "198.18.1.3",
    undefined,
  ]);
  assertEquals(v6.ipv6, "fd18:1::4");

  // unicast both families between hosts; nothing beyond the test bed's networks
  const reach = (to: string) =>
    `import socket, sys
s = socket.socket(socket.AF_INET6 if ":" in "${to}" else socket.AF_INET)
s.settimeout(3)
try:
    s.connect(("${to}", 9))
    print("connected")
except ConnectionRefusedError:
    print("refused")
except OSError as e:
    print("unreachable", e.errno)
`;
  assertEquals((await a.python(reach(b.ipv4!))).stdout.trim(), "refused"); // b answered: RST
  assertEquals((await a.python(reach(v6.ipv6!))).stdout.trim(), "refused");
  // the machine's own addresses and the internet are out of reach
  for (const outside of ["192.0.2.2", "8.8.8.8", "fd00::2"]) {
    assert((await a.python(reach(outside))).stdout.startsWith("unreachable"), outside);
  }

  // own IP: ours (all permissions: the routing table; the executables' permissions: the
  // interfaces) against Python's get_own_ip(), in every host
  const narrow = ["--allow-sys=hostname,networkInterfaces", "--allow-env", "--allow-read"];
  for (const h of bed.hosts) {
    const py = Peer.start(h, "python", "ownip");
    const ours = Peer.start(h, "ours", "ownip");
    const oursNarrow = h.deno(
      new URL("./_peer.ts", import.meta.url).pathname,
      ["ownip"],
      { permissions: narrow },
    );
    const [p, o, n] = await Promise.all([
      py.line((l) => l.startsWith("ownip ")),
      ours.line((l) => l.startsWith("ownip ")),
      oursNarrow.line((l) => l.startsWith("ownip ")),
    ]);
    await Promise.all([py.close(), ours.close(), oursNarrow.kill("SIGTERM")]);
    if (h === v6) {
      // no IPv4 route: Python falls back to the host name (here: loopback); ours takes the
      // IPv6 default route's address
      assertEquals(p, "ownip 127.0.0.1");
      assertEquals(o, `ownip ${h.ipv6}`);
    } else {
      assertEquals(p, `ownip ${h.ipv4}`, h.name);
      assertEquals(o, p, h.name);
    }
    assertEquals(n, o, `${h.name}, narrow permissions`);
  }

  // multicast over the bridge, both directions between Python and ours, default interface
  for (const sender of ["python", "ours"] as const) {
    await using pyRx = Peer.start(b, "python", "mcrecv");
    await using ourRx = Peer.start(c, "ours", "mcrecv");
    await Promise.all([pyRx.line((l) => l === "listening"), ourRx.line((l) => l === "listening")]);
    const text = `hello-from-${sender}`;
    const heard = (p: Peer) => p.lines.find((l) => l.startsWith("GOT"));
    // a datagram may go out before the receivers' joins have settled: repeat until both heard
    for (let i = 0; i < 20 && !(heard(pyRx) && heard(ourRx)); i++) {
      await using tx = Peer.start(a, sender, "mcsend", [text]);
      await tx.exited();
    }
    assertEquals(heard(pyRx), `GOT ${text} ${a.ipv4}`);
    assertEquals(heard(ourRx), `GOT ${text} ${a.ipv4}`);
  }

  // down: the host is cut off silently; up: back
  await b.down();
  assertNotEquals((await a.python(reach(b.ipv4!))).stdout.trim(), "refused");
  await b.up();
  assertEquals((await a.python(reach(b.ipv4!))).stdout.trim(), "refused");

  // close removes every namespace of the bed
  const names = [bed.switch, ...bed.hosts.map((h) => h.netns)];
  await bed.close();
  const list = new TextDecoder().decode(
    (await new Deno.Command("ip", { args: ["netns", "list"], stdout: "piped" }).output()).stdout,
  );
  for (const n of names) assert(!list.includes(n), `${n} left behind`);
});
