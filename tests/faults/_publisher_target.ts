// A posttroll Publisher in its own process, as an attack target (tests/faults/_targets.ts): binds
// a random port on 127.0.0.1, prints `port <n>`, then sends `/target info {"seq": n}` every 50 ms.
// POSTTROLL_* settings come from the environment.
import { PosttrollConfig } from "../../lib/posttroll/config.ts";
import { Message } from "../../lib/posttroll/message.ts";
import { Publisher } from "../../lib/posttroll/publisher.ts";

const config = new PosttrollConfig({ env: Deno.env.toObject(), paths: [] });
const pub = await new Publisher("tcp://127.0.0.1:0", {
  name: "target",
  config,
  logger: (level, message) => console.log(`${level}: ${message}`),
}).start();
console.log(`port ${pub.portNumber}`);
for (let seq = 0;; seq++) {
  await pub.send(new Message("/target", "info", { seq }));
  await new Promise((r) => setTimeout(r, 50));
}
