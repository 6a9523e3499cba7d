// Regression: TCP connections must disable Nagle's algorithm (libzmq sets TCP_NODELAY). With Nagle
// on, the small writes of a fresh REQ connection (greeting, READY, request) wait for the peer's
// delayed ACK, ~40 ms on Linux loopback, which made every nameserver look-up take ~44 ms.
// The bound below is 40x the normal round trip (~0.5 ms) and half the stall: it detects the
// defect, it is not a speed target (those live in bench/).
import { assertLess } from "@std/assert";
import { RepSocket, ReqSocket } from "../../lib/zmq/mod.ts";

Deno.test("zmq: a fresh REQ connection's round trip does not wait for delayed ACKs", async () => {
  await using rep = new RepSocket({ linger: 0 });
  const endpoint = await rep.bind("tcp://127.0.0.1:0");
  const serving = (async () => {
    for await (const msg of rep) await rep.send(msg);
  })();
  const times: number[] = [];
  for (let i = 0; i < 15; i++) {
    await using req = new ReqSocket({ linger: 0 });
    req.connect(endpoint);
    const t0 = performance.now();
    await req.send(`look-up ${i}`);
    await req.receive({ signal: AbortSignal.timeout(5000) });
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  assertLess(median, 20, `median fresh round trip ${median.toFixed(1)} ms: Nagle's algorithm on?`);
  await rep.close();
  await serving;
});
