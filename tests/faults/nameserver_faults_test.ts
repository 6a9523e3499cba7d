// Fault suite, nameserver: faults below the posttroll layer on the REP port (half-open TCP,
// handshakes cut at every byte, a ZMTP peer that announces a huge frame and stops, garbage that is
// not ZMTP, wrong socket types), floods of thousands of distinct publishers (multicast datagrams
// and direct registrations) with a short max_age, and announcements from a non-local host (the
// multi-host test bed, testing/hosts.ts). A client does correct lookups throughout: every
// one must succeed. tests/posttroll/robustness_test.ts covers garbage *messages* on these ports.
import { assert, assertEquals } from "@std/assert";
import { getPubAddress } from "../../lib/posttroll/nameserver.ts";
import { NoisyPublisher } from "../../lib/posttroll/publisher.ts";
import { ReqSocket } from "../../lib/zmq/mod.ts";
import { testSetup, until } from "../../testing/posttroll.ts";
import { announcement, lookupLoop, sendDatagrams, startNameServer } from "./_posttroll.ts";
import { closeQuietly, greeting, holdOpen, longFrameHeader, ready } from "./_zmtp.ts";
import { TestBed } from "../../testing/hosts.ts";
import { Peers } from "../hosts/_peers.ts";
import { recordFault } from "./_record.ts";

const MB = 1024 * 1024;

Deno.test("fault nameserver: half-open, cut handshakes, stalled huge frames and non-ZMTP garbage on the REP port", async () => {
  const s = testSetup();
  const { ns, close } = await startNameServer(s, { maxAge: 600, multicastEnabled: false });
  ns.addressReceiver!.book.receive(announcement("svc", "tcp://127.0.0.1:1"));
  const port = s.nameserverPort;
  const lookups = lookupLoop(s, "svc");
  const conns: Deno.TcpConn[] = [];
  const rss0 = Deno.memoryUsage().rss;
  const fds = () => [...Deno.readDirSync("/proc/self/fd")].length;
  let injected = 0;
  let stopMs = -1;
  try {
    await until(() => lookups.ok >= 3, { what: "first lookups" });
    const fd0 = fds();
    const g = greeting();
    const r = ready("REQ");
    // half-open: connected, silent
    for (let i = 0; i < 100; i++) conns.push(await holdOpen(port));
    // greeting cut at every byte
    for (let i = 1; i < 64; i++) conns.push(await holdOpen(port, [g.subarray(0, i)]));
    // greeting complete, READY cut at every byte
    for (let i = 1; i < r.length; i++) conns.push(await holdOpen(port, [g, r.subarray(0, i)]));
    // full handshake, then a request whose body frame announces 255 MiB and stops after 3 bytes
    // (50 connections: 12.5 GiB announced in all)
    for (let i = 0; i < 50; i++) {
      conns.push(
        await holdOpen(port, [
          g,
          r,
          new Uint8Array([1, 0]),
          longFrameHeader(255 * MB),
          g.slice(0, 3),
        ]),
      );
    }
    // a frame beyond the engine's limit, a PUB peer (wrong socket type), an unknown mechanism
    conns.push(await holdOpen(port, [g, r, new Uint8Array([1, 0]), longFrameHeader(2 ** 40)]));
    conns.push(await holdOpen(port, [g, ready("PUB")]));
    const plain = g.slice();
    plain.set(new TextEncoder().encode("BOGUS"), 12);
    conns.push(await holdOpen(port, [plain]));
    // not ZMTP at all: random bytes, then closed at once (100 connections)
    for (let i = 0; i < 100; i++) {
      const c = await holdOpen(port, [crypto.getRandomValues(new Uint8Array(1 + i * 7))]);
      closeQuietly(c);
    }
    injected = conns.length + 100;
    // lookups keep succeeding while all of that is held open
    const before = lookups.ok;
    await until(() => lookups.ok >= before + 10, { what: "lookups during the faults" });
    const rssGrowth = (Deno.memoryUsage().rss - rss0) / MB;
    // the 50 announced 255 MiB bodies must not be resident (the engine allocates lazily or not
    // at all); coarse bound
    assert(rssGrowth < 400, `RSS grew by ${rssGrowth.toFixed(0)} MB`);
    // a storm of 300 concurrent lookups on top: all answered. The loop waits meanwhile: a look-up
    // of its own would queue behind the storm, and its 3 s bound would time the whole storm,
    // whose clients share this process (and a loaded machine) with the nameserver
    await lookups.pause();
    const storm = await Promise.all(
      Array.from({ length: 300 }, () => getPubAddress("svc", { timeout: 10, config: s.config })),
    );
    assertEquals(storm.filter((r) => r.length === 1).length, 300);
    lookups.resume();
    const afterStorm = lookups.ok;
    await until(() => lookups.ok >= afterStorm + 3, { what: "lookups after the storm" });
    // the faulty peers go away: the server releases every connection (no descriptor leak)
    const fdsHeld = fds();
    for (const c of conns.splice(0)) closeQuietly(c);
    await until(() => fds() <= fd0 + 10, {
      what: `descriptors back to ${fd0} (now ${fds()}, ${fdsHeld} while held)`,
    });
    const fdsAfter = fds();
    // stop never hangs with stalled connections open
    for (let i = 0; i < 50; i++) conns.push(await holdOpen(port, i % 2 ? [g] : []));
    const stats = await lookups.stop();
    stopMs = await close();
    assert(stopMs < 1000, `stop took ${stopMs} ms with ${conns.length} stalled connections`);
    assertEquals(stats.failures, []);
    await recordFault({
      area: "nameserver",
      fault:
        "REP port: half-open TCP, greeting/READY cut at every byte, 50 stalled 255 MiB frames, " +
        "oversized frame, wrong socket type, bad mechanism, non-ZMTP garbage; 300 concurrent " +
        "lookups on top",
      inputs: injected + 300,
      lost: stats.failures.length,
      notes:
        `${stats.ok} looped + 300 concurrent lookups during the faults, all answered; RSS +${
          rssGrowth.toFixed(0)
        } MB; descriptors ${fd0} -> ${fdsHeld} (held) -> ${fdsAfter} (released); stop ${stopMs} ms ` +
        `with ${conns.length} stalled connections`,
    });
  } finally {
    for (const c of conns) closeQuietly(c);
    await lookups.stop();
    if (stopMs < 0) await close();
  }
});

Deno.test("fault nameserver: floods of thousands of distinct publishers; entries expire and memory is freed", async () => {
  const s = testSetup();
  const { ns, close } = await startNameServer(s, {
    maxAge: 3,
    multicastEnabled: true,
    directRegistration: true,
  });
  const book = ns.addressReceiver!.book;
  // the service the lookup client asks for stays alive by announcing itself (direct registration)
  await using _svc = await new NoisyPublisher("svc", {
    nameservers: [`127.0.0.1:${s.broadcastPort}`],
    broadcastInterval: 0.2,
    config: s.config,
  }).start();
  await until(() => book.size === 1, { what: "svc registered" });
  const lookups = lookupLoop(s, "svc");
  const N_UDP = 2000, N_TCP = 300, ROUNDS = 3;
  const heaps: number[] = [];
  const peaks: number[] = [];
  let datagrams = 0;
  try {
    await using req = new ReqSocket({ linger: 0 });
    req.connect(`tcp://127.0.0.1:${s.broadcastPort}`);
    for (let round = 0; round < ROUNDS; round++) {
      const udp = Array.from(
        { length: N_UDP },
        (_, i) =>
          announcement(`f${round}_${i}`, `tcp://127.0.0.1:${10000 + i}/${round}`, ["flood"]),
      );
      // direct registrations, one REQ/REP round trip each
      for (let i = 0; i < N_TCP; i++) {
        await req.send(
          announcement(`d${round}_${i}`, `tcp://127.0.0.2:${10000 + i}/${round}`, ["flood"]),
          { signal: AbortSignal.timeout(3000) },
        );
        assertEquals(
          new TextDecoder().decode(
            (await req.receive({
              signal: AbortSignal.timeout(3000),
            }))[0],
          ),
          "ok",
        );
      }
      // datagrams: a flood drops some (kernel buffer, receive queue), so what is missing is sent
      // again, as publishers re-announce every 2 s in real life
      const deadline = Date.now() + 20_000;
      while (book.size < N_UDP + N_TCP + 1) {
        const have = new Set(book.uris);
        const missing = udp.filter((_, i) => !have.has(`tcp://127.0.0.1:${10000 + i}/${round}`));
        datagrams += missing.length;
        await sendDatagrams(s.broadcastPort, s.group, missing, 200);
        await new Promise((r) => setTimeout(r, 100));
        assert(Date.now() < deadline, `only ${book.size} of ${N_UDP + N_TCP + 1} entries`);
      }
      peaks.push(book.size);
      assertEquals(
        (await getPubAddress("flood", { timeout: 5, config: s.config })).length,
        N_UDP + N_TCP,
      );
      // silence: every flood entry expires, only svc stays
      await until(() => book.size === 1, {
        what: `round ${round}: flood expired`,
        timeoutMs: 15_000,
      });
      heaps.push(Deno.memoryUsage().heapUsed / MB);
    }
    const stats = await lookups.stop();
    assertEquals(stats.failures, []);
    assertEquals(ns.addressReceiver!.get("flood"), []);
    // coarse: the heap after the last round is not growing round over round
    assert(
      heaps[ROUNDS - 1] < heaps[0] + 64,
      `heap per round (MB): ${heaps.map((h) => h.toFixed(0))}`,
    );
    await recordFault({
      area: "nameserver",
      fault: `flood: ${N_UDP} multicast + ${N_TCP} direct-registration publishers per round, ` +
        `${ROUNDS} rounds, max_age 3 s`,
      inputs: ROUNDS * N_TCP + datagrams,
      lost: stats.failures.length,
      notes: `book peaked at ${peaks.join("/")} entries, back to 1 (svc) after each round; ` +
        `heap after rounds ${heaps.map((h) => h.toFixed(0)).join("/")} MB; ${stats.ok} lookups ` +
        `during the floods, all answered; ${
          datagrams - ROUNDS * N_UDP
        } datagrams re-sent after drops`,
    });
  } finally {
    await lookups.stop();
    await close();
  }
});

const REMOTE_PY = String.raw`
import socket, sys, zmq
from posttroll.message import Message
host, bport, nsport = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
msg = Message("/address/remote", "info", {"URI": "tcp://198.18.0.2:9", "service": ["remote"]}).encode()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(5):
    s.sendto(msg.encode(), (host, bport))
ctx = zmq.Context()
def ask(port, text):
    r = ctx.socket(zmq.REQ)
    r.setsockopt(zmq.LINGER, 0)
    r.setsockopt(zmq.RCVTIMEO, 1500)
    r.connect("tcp://%s:%d" % (host, port))
    r.send_string(text)
    try:
        return r.recv_string()
    except zmq.Again:
        return "timeout"
    finally:
        r.close()
reg = Message("/address/remote2", "info", {"URI": "tcp://198.18.0.2:10", "service": ["remote2"]}).encode()
print("reg", ask(bport, reg))
ans = ask(nsport, Message("/oper/ns", "request", {"service": "local"}).encode())
print("lookup", ans if ans == "timeout" else ans.split(" ")[1])
`;

Deno.test("fault nameserver: announcements and requests from a non-local host (test-bed hosts)", async (t) => {
  await using bed = await TestBed.create({ hosts: ["ns", "remote"] });
  const [nsHost, remote] = bed.hosts;
  for (const restrict of [true, false]) {
    await t.step(`restrictToLocalhost: ${restrict}`, async () => {
      // our nameserver (the CLI, default ports: multicast and direct registration) with a
      // publisher of "local" on its own host, looked up from that host throughout
      await using peers = new Peers();
      const ns = peers.start(nsHost, "ours", "nameserver", restrict ? ["-L"] : []);
      await ns.line((l) => l.includes("Nameserver ready"));
      peers.start(nsHost, "ours", "pub", ["local", "local"]);
      const lookups = peers.start(nsHost, "ours", "lookuploop", ["local", "localhost", "1"]);
      await lookups.line((l) => l === "lookup-ok");
      const out = await remote.python(REMOTE_PY, { args: [nsHost.ipv4!, "21200", "5557"] });
      assert(out.code === 0, out.stdout + out.stderr);
      const lines = out.stdout.trim().split("\n");
      // give a stray datagram time to be processed, then look at what got in
      await new Promise((r) => setTimeout(r, 300));
      const listed = (service: string) => peers.lookup(nsHost, "ours", service, "localhost");
      if (restrict) {
        assertEquals(lines, ["reg timeout", "lookup timeout"]);
        assertEquals(await listed("remote"), "lookup []");
        assertEquals(await listed("remote2"), "lookup []");
      } else {
        assertEquals(lines, ["reg ok", "lookup info"]);
        assertEquals(await listed("remote"), 'lookup ["tcp://198.18.0.2:9"]');
        assertEquals(await listed("remote2"), 'lookup ["tcp://198.18.0.2:10"]');
      }
      await lookups.close();
      // from the first answer that lists the local publisher on (it announces every 0.5 s)
      const after = lookups.lines.slice(lookups.lines.indexOf("lookup-ok"));
      const ok = after.filter((l) => l === "lookup-ok").length;
      const failures = after.filter((l) => l.startsWith("lookup-fail"));
      assertEquals(failures, []);
      await recordFault({
        area: "nameserver",
        fault: `non-local host (test-bed host), restrictToLocalhost ${restrict}: ` +
          "5 unicast datagrams, 1 direct registration, 1 lookup",
        inputs: 7,
        lost: failures.length,
        notes: restrict
          ? `from ${remote.ipv4}: all refused/dropped; ${ok} local lookups meanwhile, all answered`
          : "control: the same inputs are accepted without the restriction",
      });
    });
  }
});
