// Test peer: binds a posttroll Publisher on 127.0.0.1:<port>, waits for one subscriber, sends
// <count> file events as fast as it can, prints "done <ms>", and stays up until killed (so the
// subscriber can drain what is queued). An optional third argument paces the sending (msg/s).
import { Message } from "../../lib/posttroll/message.ts";
import { Publisher } from "../../lib/posttroll/publisher.ts";
import { PosttrollConfig } from "../../lib/posttroll/config.ts";

const [port, count, rate = 0] = Deno.args.map(Number);
const config = new PosttrollConfig({ env: {}, paths: [] });
const pub = await new Publisher(`tcp://127.0.0.1:${port}`, { config }).start();
console.log("bound");
while (pub.subscriberCount() < 1) await new Promise((r) => setTimeout(r, 20));
const t0 = performance.now();
for (let i = 0; i < count; i++) {
  await pub.send(new Message("/burst/data", "file", { seq: i, uri: `/data/${i}.nc` }));
  // paced (rate > 0: messages per second, checked every 100 messages)
  if (rate > 0 && i % 100 === 99) {
    const ahead = t0 + ((i + 1) / rate) * 1000 - performance.now();
    if (ahead > 0) await new Promise((r) => setTimeout(r, ahead));
  }
}
console.log(`done ${Math.round(performance.now() - t0)}`);
await new Promise(() => {});
