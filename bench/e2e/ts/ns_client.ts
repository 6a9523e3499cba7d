/**
 * Nameserver look-up peer of the end-to-end bench (Deno side): `lookups --count N --seconds D`
 * runs N sequential getPubAddress("bench", nameserver "127.0.0.1") calls (port from
 * POSTTROLL_NAMESERVER_PORT) and prints {"event":"result", n, seconds, latencies_us, vmhwm_kb}.
 *
 * @module
 */
import { getPubAddress } from "../../../lib/posttroll/nameserver.ts";
import { emit, parseArgs, statusKb, vmHwmKb } from "./_common.ts";

const { opts } = parseArgs(Deno.args);
const count = Number(opts.count ?? 1000);
const seconds = Number(opts.seconds ?? 10);
const first = await getPubAddress("bench", { timeout: 5, nameserver: "127.0.0.1" });
if (!first.length || first[0].URI !== "tcp://127.0.0.1:40000") {
  emit({ event: "result", error: `unexpected lookup result: ${JSON.stringify(first)}` });
  Deno.exit(0);
}
const idleRssKb = statusKb("VmRSS"); // after one look-up: ready, before the run
const lat: number[] = [];
const deadline = performance.now() + seconds * 1000;
const t0 = performance.now();
for (let i = 0; i < count; i++) {
  const a = performance.now();
  const addr = await getPubAddress("bench", { timeout: 5, nameserver: "127.0.0.1" });
  const b = performance.now();
  if (!addr.length) {
    emit({ event: "result", error: "empty lookup result" });
    Deno.exit(0);
  }
  lat.push(Math.round((b - a) * 1000));
  if (b > deadline) break;
}
const total = (performance.now() - t0) / 1000;
emit({
  event: "result",
  n: lat.length,
  seconds: total,
  latencies_us: lat,
  vmhwm_kb: vmHwmKb(),
  idle_rss_kb: idleRssKb,
});
Deno.exit(0);
