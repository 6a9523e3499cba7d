// Smoke test of the Python reference-peer harness: a Python posttroll publisher and subscriber pair
// on loopback, started from the harness; the test reads what the subscriber printed.
import { assertEquals, assertStringIncludes } from "@std/assert";
import { freePort } from "../../testing/net.ts";
import { python, PythonProcess } from "../../testing/python.ts";

Deno.test("python harness: reference versions installed", async () => {
  const out = await python(
    `import importlib.metadata as m
import hop, igwn_alert.client, posttroll.publisher, zmq  # the peers import, not just install
print(m.version("posttroll"), m.version("igwn-alert"))`,
  );
  assertEquals(out.trim(), "1.16.0 0.7.0");
});

Deno.test("python harness: posttroll publisher -> subscriber on loopback", async () => {
  const port = freePort();
  await using sub = PythonProcess.spawn(
    `import sys
from posttroll.subscriber import Subscriber
sub = Subscriber([f"tcp://127.0.0.1:${port}"], "/smoke")
print("ready", flush=True)
for msg in sub.recv(timeout=0.2):
    if msg is not None:
        print(msg.encode(), flush=True)
        break
sub.close()`,
  );
  assertEquals(await sub.readLine(15_000), "ready");
  await using pub = PythonProcess.spawn(
    `import time
from posttroll.publisher import Publisher
from posttroll.message import Message
pub = Publisher("tcp://127.0.0.1:${port}")
pub.start()
print("started", flush=True)
for i in range(200):
    pub.send(Message("/smoke/test", "info", {"n": i}).encode())
    time.sleep(0.05)
pub.stop()`,
  );
  assertEquals(await pub.readLine(15_000), "started");
  const line = await sub.readLine(15_000);
  assertStringIncludes(line, "pytroll://smoke/test info ");
  assertStringIncludes(line, "application/json");
});
