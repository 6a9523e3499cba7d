/**
 * MessageBroadcaster, AddressBroadcaster and AddressServiceBroadcaster: periodic sends by
 * multicast (on 127.0.0.1) and by direct registration to designated receivers.
 */
import { assert, assertEquals } from "@std/assert";
import {
  AddressBroadcaster,
  AddressServiceBroadcaster,
  designatedReceiverEndpoint,
  MessageBroadcaster,
  RegistrationError,
} from "../../lib/posttroll/broadcaster.ts";
import { Message } from "../../lib/posttroll/message.ts";
import { MulticastReceiver } from "../../lib/posttroll/multicast.ts";
import { RepSocket } from "../../lib/zmq/mod.ts";
import { testSetup } from "../../testing/posttroll.ts";

Deno.test("MessageBroadcaster: repeats by multicast every interval, stop ends it, interval 0 sends nothing", async () => {
  const s = testSetup();
  await using rx = await MulticastReceiver.open(0, s.group, { config: s.config });
  const b = new MessageBroadcaster("hello", rx.port, 0.05, null, { config: s.config });
  assertEquals(b.isRunning(), false);
  b.start();
  assert(b.isRunning());
  for (let i = 0; i < 3; i++) assertEquals((await rx.settimeout(2).receive()).data, "hello");
  await b.stop();
  assertEquals(b.isRunning(), false);
  const none = new MessageBroadcaster("nothing", rx.port, 0, null, { config: s.config }).start();
  assertEquals(none.isRunning(), false);
  await none.stop();
});

Deno.test("AddressBroadcaster: /address/<name> {URI: host:port} on the broadcast port", async () => {
  const s = testSetup();
  await using rx = await MulticastReceiver.open(s.broadcastPort, s.group, { config: s.config });
  await using b = new AddressBroadcaster("pub", ["127.0.0.1", 4000], 0.05, null, {
    config: s.config,
  });
  b.start();
  const m = Message.decode((await rx.settimeout(2).receive()).data);
  assertEquals([m.subject, m.type, m.data], ["/address/pub", "info", { URI: "127.0.0.1:4000" }]);
});

Deno.test("AddressServiceBroadcaster: direct registration to designated receivers expects ok", async () => {
  const s = testSetup();
  await using rep = new RepSocket({ linger: 0 });
  await rep.bind(`tcp://127.0.0.1:${s.broadcastPort}`);
  const errors: Error[] = [];
  await using b = new AddressServiceBroadcaster("svc", "tcp://127.0.0.1:5000", ["svc", "a"], 0.05, [
    "127.0.0.1",
  ], { config: s.config, onError: (e) => errors.push(e) });
  b.start();
  const [first] = await rep.receive({ signal: AbortSignal.timeout(5000) });
  const m = Message.decode(first);
  assertEquals(m.subject, "/address/svc");
  assertEquals(m.data, {
    URI: "tcp://127.0.0.1:5000",
    service: ["svc", "a"],
    supported_message_version: "v1.2",
    backend: "unsecure_zmq",
  });
  await rep.send("not ok");
  await rep.receive({ signal: AbortSignal.timeout(5000) }); // it comes back at the next interval
  await rep.send("ok");
  assert(errors.some((e) => e instanceof RegistrationError && e.message.includes("not ok")));
  assertEquals(
    b.announcement,
    first instanceof Uint8Array ? new TextDecoder().decode(first) : first,
  );
});

Deno.test("designated receiver endpoints: host, host:port, IPv6, full endpoints", () => {
  assertEquals(designatedReceiverEndpoint("localhost", 21200), "tcp://localhost:21200");
  assertEquals(designatedReceiverEndpoint("ns:1234", 21200), "tcp://ns:1234");
  assertEquals(designatedReceiverEndpoint("::1", 21200), "tcp://[::1]:21200");
  assertEquals(designatedReceiverEndpoint("[::1]:7", 21200), "tcp://[::1]:7");
  assertEquals(designatedReceiverEndpoint("tcp://h:1", 21200), "tcp://h:1");
});
