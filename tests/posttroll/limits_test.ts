// The nameserver's bounds, free of I/O where they can be: the address book's entry and size
// limits (the least recently announced entry makes room, oversize announcements are refused and
// counted), replies over the size limit answered with an error reply that Python clients read as
// "no address" and ours raise, rate-limited logging keyed by kind, and settings checked at start.
import { assert, assertEquals, assertThrows } from "@std/assert";
import {
  AddressBook,
  nameserverReply,
  NameserverReplyError,
} from "../../lib/posttroll/address_book.ts";
import { ConfigError, PosttrollConfig } from "../../lib/posttroll/config.ts";
import { Message } from "../../lib/posttroll/message.ts";
import { getPubAddress, NameServer } from "../../lib/posttroll/nameserver.ts";
import { limitedLog, LogLimiter } from "../../lib/_util/log_limit.ts";
import { python } from "../../testing/python.ts";
import { testSetup } from "../../testing/posttroll.ts";

function announce(i: number, extra: Record<string, unknown> = {}): string {
  return new Message(`/address/svc${i}`, "info", {
    URI: `tcp://10.0.0.1:${40000 + i}`,
    service: [`svc${i}`, "all"],
    ...extra,
  }).encode();
}

Deno.test("address book: at max entries the entry announced least recently makes room", () => {
  const book = new AddressBook({ maxEntries: 3 });
  for (let i = 0; i < 3; i++) assertEquals(book.receive(announce(i)).status, "added");
  book.receive(announce(0)); // refreshed: now the most recent
  const r = book.receive(announce(3));
  assertEquals(r.status, "added");
  const removal = Message.decode(r.evicted!);
  assertEquals((removal.data as Record<string, unknown>).URI, "tcp://10.0.0.1:40001");
  assertEquals((removal.data as Record<string, unknown>).status, false);
  assertEquals(book.size, 3);
  assertEquals(book.evicted, 1);
  assertEquals(book.uris.sort(), [0, 2, 3].map((i) => `tcp://10.0.0.1:${40000 + i}`));
});

Deno.test("address book: entries over max entry size are refused (sized as re-encoded, \\u escapes)", () => {
  const book = new AddressBook({ maxEntrySize: 2000 });
  // 300 x U+007F is 300 bytes on the wire but 1,800 once re-encoded with ensure_ascii
  assertEquals(book.receive(announce(1, { junk: "\x7f".repeat(300) })).status, "added");
  const r = book.receive(announce(2, { junk: "\x7f".repeat(400) }));
  assertEquals(r.status, "refused");
  assert(r.reason!.includes("address_book_max_entry_size 2000"), r.reason);
  assertEquals(book.refused, 1);
  assertEquals(book.size, 1);
});

Deno.test("address book: reply size is known without encoding, and matches the encoded reply", () => {
  const book = new AddressBook();
  for (let i = 0; i < 50; i++) book.receive(announce(i));
  const all = nameserverReply(new Message("/oper/ns", "request", { service: "" }).encode(), book);
  const data = Message.decode(all.reply);
  assertEquals((data.data as unknown[]).length, 50);
  const estimate = book.replySize("");
  const mime = " application/json ";
  const real = all.reply.length - all.reply.indexOf(mime) - mime.length; // Python's JSON text
  // within 20 % (entries are measured by their announcement, its header standing for the
  // record's name and receive_time)
  assert(Math.abs(estimate - real) / real < 0.2, `estimate ${estimate}, real ${real}`);
  assert(book.replySize("svc7") < estimate / 40);
});

Deno.test("nameserver reply over the limit: an error reply, Python reads no address, ours raise", async () => {
  const book = new AddressBook();
  for (let i = 0; i < 100; i++) book.receive(announce(i));
  const req = new Message("/oper/ns", "request", { service: "all" }).encode();
  const small = nameserverReply(req, book, { maxReplySize: 1000 });
  assertEquals(small.kind, "too-large");
  const m = Message.decode(small.reply);
  assert(small.reply.startsWith("pytroll://oper/ns error "));
  assertEquals([m.subject, m.type, m.data], ["/oper/ns", "error", ""]);
  const one = nameserverReply(
    new Message("/oper/ns", "request", { service: "svc3" }).encode(),
    book,
    { maxReplySize: 1000 },
  );
  assertEquals(one.kind, undefined);
  assertEquals((Message.decode(one.reply).data as unknown[]).length, 1);
  // Python posttroll's client: get_pub_address returns the (empty) data
  const out = await python(
    `import sys
from posttroll.message import Message
print(repr(Message(rawstr=sys.argv[1]).data))`,
    { args: [small.reply] },
  );
  assertEquals(out.trim(), "''");

  // our client raises NameserverReplyError
  const s = testSetup({ POSTTROLL_NAMESERVER_MAX_BUFFERED_BYTES: "1000" });
  const ns = new NameServer({ multicastEnabled: false, config: s.config });
  const running = ns.run(book);
  try {
    await ns.ready;
    const e = await getPubAddress("all", { timeout: 3, config: s.config }).catch((e) => e);
    assert(e instanceof NameserverReplyError, String(e));
    assertEquals((await getPubAddress("svc3", { timeout: 3, config: s.config })).length, 1);
  } finally {
    await ns.stop();
    await running;
  }
});

Deno.test("log limiter: one line per kind and window, then the count of those left out", () => {
  let t = 0;
  const l = new LogLimiter({ windowMs: 1000, perWindow: 2, now: () => t });
  assertEquals(l.admit("a"), { log: true, suppressed: 0 });
  assertEquals(l.admit("a"), { log: true, suppressed: 0 });
  assertEquals(l.admit("a"), { log: false, suppressed: 0 });
  assertEquals(l.admit("b").log, true); // another kind has its own budget
  t = 999;
  assertEquals(l.admit("a").log, false);
  t = 1000;
  assertEquals(l.admit("a"), { log: true, suppressed: 2 });
  const lines: string[] = [];
  const log = limitedLog((level, m) => lines.push(`${level} ${m}`), { quiet: true });
  let built = 0;
  for (let i = 0; i < 1000; i++) {
    log("refused key", "warning", () => {
      built++;
      return `refused key ${i}`;
    });
  }
  assertEquals(lines, ["warning refused key 0"]);
  assertEquals(built, 1); // suppressed lines are not even built
});

Deno.test("config: wrong values are ConfigErrors naming the setting", () => {
  const bad: Array<[Record<string, string>, string]> = [
    [{ POSTTROLL_NAMESERVER_PORT: "" }, "nameserver_port"],
    [{ POSTTROLL_NAMESERVER_PORT: "  " }, "nameserver_port"],
    [{ POSTTROLL_NAMESERVER_PORT: "abc" }, "nameserver_port"],
    [{ POSTTROLL_NAMESERVER_PORT: "70000" }, "nameserver_port"],
    [{ POSTTROLL_NAMESERVER_PORT: "-1" }, "nameserver_port"],
    [{ NAMESERVER_PORT: "" }, "NAMESERVER_PORT"],
    [{ POSTTROLL_BROADCAST_PORT: "1.5" }, "broadcast_port"],
    [{ POSTTROLL_ADDRESS_PUBLISH_PORT: "" }, "address_publish_port"],
    [{ POSTTROLL_SECURE_ZMQ_NAMESERVER_PORT: "x" }, "secure_zmq_nameserver_port"],
    [{ POSTTROLL_PUB_MIN_PORT: "60000", POSTTROLL_PUB_MAX_PORT: "50000" }, "pub_min_port"],
    [{ POSTTROLL_TCP_KEEPALIVE: "2" }, "tcp_keepalive"],
    [{ POSTTROLL_TCP_KEEPALIVE_IDLE: "-5" }, "tcp_keepalive_idle"],
    [{ POSTTROLL_TCP_KEEPALIVE_CNT: "-2" }, "tcp_keepalive_cnt"],
    [{ POSTTROLL_TCP_KEEPALIVE_INTVL: "" }, "tcp_keepalive_intvl"],
    [{ POSTTROLL_MAX_CONNECTIONS: "0" }, "max_connections"],
    [{ POSTTROLL_NAMESERVER_MAX_MESSAGE_SIZE: "lots" }, "nameserver_max_message_size"],
    [{ POSTTROLL_ADDRESS_BOOK_MAX_ENTRIES: "-3" }, "address_book_max_entries"],
  ];
  for (const [env, key] of bad) {
    const c = new PosttrollConfig({ env, paths: [] });
    const e = assertThrows(() => c.validate(), ConfigError);
    assert(e.message.includes(key), `${JSON.stringify(env)}: ${e.message}`);
  }
  // -1 is libzmq's "system default" for the keepalive timings: accepted, left unset
  const ok = new PosttrollConfig({
    env: { POSTTROLL_TCP_KEEPALIVE: "1", POSTTROLL_TCP_KEEPALIVE_IDLE: "-1" },
    paths: [],
  });
  ok.validate();
  assertEquals(ok.tcpKeepalive(), { keepalive: 1 });
  new PosttrollConfig({ env: {}, paths: [] }).validate();
});

Deno.test("config: an allow list that resolves to nothing stops the nameserver at start", async () => {
  const s = testSetup({ POSTTROLL_AUTHORIZED_CLIENT_ADDRESSES: "['no-such-host.invalid']" });
  const ns = new NameServer({ multicastEnabled: false, config: s.config });
  const e = await ns.run().catch((e) => e);
  assert(e instanceof ConfigError, String(e));
  assertEquals(e.key, "authorized_client_addresses");
  // one unresolvable host among resolvable ones is a warning, not an error
  const lines: string[] = [];
  const s2 = testSetup({
    POSTTROLL_AUTHORIZED_CLIENT_ADDRESSES: "['no-such-host.invalid', '127.0.0.1']",
  });
  const ns2 = new NameServer({
    multicastEnabled: false,
    config: s2.config,
    logger: (level, m) => lines.push(`${level}: ${m}`),
  });
  const running = ns2.run();
  try {
    await ns2.ready;
    assertEquals((await getPubAddress("x", { timeout: 3, config: s2.config })).length, 0);
    assert(
      lines.some((l) => /^warning: .*cannot resolve no-such-host\.invalid/.test(l)),
      lines.join("\n"),
    );
  } finally {
    await ns2.stop();
    await running;
  }
});
