// A NoisyPublisher in its own process (so a test can SIGKILL it): announces `name` and sends
// `/counter info {"seq": n, "port": p, "pid": pid}` every 5 ms. Prints `port <n>` when ready.
// Usage: deno run -A tests/faults/_pub_child.ts <name> [port] [announce host]
//   (POSTTROLL_* from the environment; port 0 or absent: random; host default 127.0.0.1)
import { PosttrollConfig } from "../../lib/posttroll/config.ts";
import { Message } from "../../lib/posttroll/message.ts";
import { NoisyPublisher } from "../../lib/posttroll/publisher.ts";

const config = new PosttrollConfig({ env: Deno.env.toObject(), paths: [] });
const pub = await new NoisyPublisher(Deno.args[0], {
  port: Number(Deno.args[1] ?? 0),
  broadcastInterval: 0.2,
  announceHost: Deno.args[2] ?? "127.0.0.1",
  config,
}).start();
console.log(`port ${pub.portNumber}`);
for (let seq = 0;; seq++) {
  await pub.send(new Message("/counter", "info", { seq, port: pub.portNumber, pid: Deno.pid }));
  await new Promise((r) => setTimeout(r, 5));
}
