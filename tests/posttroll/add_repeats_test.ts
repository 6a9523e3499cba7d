// The nameserver's repeated add notices (1, 3, 7, 15, 31 s after an address appears) reach
// subscribers for every new address, also for one announced while the repeats due at that moment
// are being sent (sending to a subscriber that does not keep up yields to the event loop, and
// announcements are handled meanwhile).
import { AddressReceiver } from "../../lib/posttroll/address_receiver.ts";
import { Message } from "../../lib/posttroll/message.ts";
import { ReqSocket, SubSocket } from "../../lib/zmq/mod.ts";
import { testSetup, until } from "../../testing/posttroll.ts";

Deno.test("address receiver: add notices repeated for addresses announced while repeats are being sent", async () => {
  const s = testSetup();
  await using _rec = await new AddressReceiver({
    multicastEnabled: false,
    doHeartbeat: false,
    config: s.config,
  }).start();
  const at = `tcp://127.0.0.1:${s.addressPort}`;
  // a subscriber that never reads: once its buffers are full, sending to it yields
  await using stuck = new SubSocket({ maxBufferedBytes: 4096 });
  stuck.subscribe("pytroll://address");
  stuck.connect(at);
  await using sub = new SubSocket();
  sub.subscribe("pytroll://address");
  sub.connect(at);
  await using req = new ReqSocket();
  req.connect(`tcp://127.0.0.1:${s.broadcastPort}`);
  const notices = new Map<string, number>();
  const reading = (async () => {
    try {
      for (;;) {
        const [f] = await sub.receive();
        const uri = (Message.decode(f).data as { URI: string }).URI;
        notices.set(uri, (notices.get(uri) ?? 0) + 1);
      }
    } catch { /* closed */ }
  })();
  let port = 1;
  const register = async () => {
    const uri = `tcp://192.0.2.1:${port++}`;
    const data = { URI: uri, service: ["p"], padding: "x".repeat(7000) };
    await req.send(new Message("/address/p", "info", data).encode());
    await req.receive();
    return uri;
  };
  const first = await register();
  await until(() => notices.has(first), { what: "the first add notice" });
  // many addresses at once: their repeats fall due together, and fill the stuck subscriber
  for (let i = 0; i < 500; i++) await register();
  // then a steady stream of new ones, some arriving while those repeats are being sent
  const times = new Map<string, number>();
  const end = Date.now() + 6_000;
  while (Date.now() < end) {
    times.set(await register(), Date.now());
    await new Promise((r) => setTimeout(r, 10));
  }
  // the first repeat is due 1 s after an address appeared and goes out at the next check (every
  // 2 s): each address of the first half of the stream gets its add and at least one repeat.
  // The wait only allows for a slow machine: an address dropped from the repeats never gets one
  const checked = [...times].filter(([, t]) => t < end - 3_000).map(([u]) => u);
  const missing = () => checked.filter((u) => (notices.get(u) ?? 0) < 2);
  await until(() => missing().length === 0, {
    timeoutMs: 20_000,
    what: `a repeated add notice for each of ${checked.length} addresses`,
  }).catch((e) => {
    const m = missing();
    throw new Error(`${(e as Error).message}: ${m.length} never repeated, e.g. ${m.slice(0, 3)}`);
  });
  await sub.close();
  await reading;
});
