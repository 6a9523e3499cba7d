// Our side of the multi-host tests: one process per role, run inside a test-bed host. Settings come
// from POSTTROLL_* variables, as a deployed program's would. Lines on stdout tell the test what
// happens (the Python peers in _peers.ts print the same lines):
//
//   ownip                          -> "ownip <address>"
//   pub <id> <service> [ns,ns...]  -> "ready <announced URI>"; stdin "send <n> [tag]": n messages
//                                     /data {"pub": id + tag, "i": 0..n-1}, then "sent <n>"; a
//                                     /warm {"pub": id} message every 100 ms throughout
//   sub <services,...> [ns]        -> "addresses <sorted URIs as JSON>" whenever they change,
//                                     "warm <pub id>" for the first /warm of each publisher and
//                                     again after a second without one (reconnected),
//                                     "data <pub id + tag> <i>" for each /data message
//   dsub <uri,...>                 -> as sub, straight to these publishers (no nameserver)
//   lookup <service> <ns> [secs]   -> "lookup <URIs as JSON>" (getPubAddress), or
//                                     "lookup-error <error name>"
//   tail <uri> <topic>             -> "msg <subject> <data as JSON>" for each message (a plain
//                                     Subscriber; settings such as tcp_keepalive from POSTTROLL_*)
//   lookuploop <service> <ns> <n>  -> looks `service` up until stdin closes: "lookup-ok" when it
//                                     has n records, "lookup-fail <why>" otherwise
//   mcsend <text>                  -> one datagram to the group on broadcast_port
//   mcrecv                         -> "listening", then "GOT <text> <sender address>"
import { lines } from "../../testing/lines.ts";
import { getOwnIp } from "../../lib/posttroll/own_ip.ts";
import { NoisyPublisher } from "../../lib/posttroll/publisher.ts";
import { subscribe } from "../../lib/posttroll/subscriber.ts";
import { getPubAddress } from "../../lib/posttroll/nameserver.ts";
import { Message } from "../../lib/posttroll/message.ts";
import {
  getConfiguredBroadcastPort,
  MulticastReceiver,
  MulticastSender,
} from "../../lib/posttroll/multicast.ts";

const [role, ...args] = Deno.args;
const out = (line: string) => console.log(line);

async function stdinLines(onLine: (l: string) => Promise<void>): Promise<void> {
  for await (const line of lines(Deno.stdin.readable)) await onLine(line.trim());
}

if (role === "ownip") {
  out(`ownip ${await getOwnIp()}`);
} else if (role === "pub") {
  const [id, service, ns] = args;
  const pub = await new NoisyPublisher(service, {
    broadcastInterval: 0.5,
    nameservers: ns ? ns.split(",") : undefined,
  }).start();
  out(`ready ${(Message.decode(pub.announcement!).data as { URI: string }).URI}`);
  const warm = setInterval(() => {
    pub.send(new Message("/warm", "info", { pub: id })).catch(() => {});
  }, 100);
  await stdinLines(async (line) => {
    const [cmd, n, tag = ""] = line.split(" ");
    if (cmd !== "send") return;
    for (let i = 0; i < Number(n); i++) {
      await pub.send(new Message("/data", "info", { pub: id + tag, i }));
    }
    await pub.flushed();
    out(`sent ${n}`);
  });
  clearInterval(warm);
  await pub.stop();
} else if (role === "sub" || role === "dsub") {
  const [services, ns] = args;
  await using sub = await subscribe(
    role === "sub"
      ? {
        services: services.split(","),
        topics: ["/data", "/warm"],
        addrListener: true,
        nameserver: ns ?? "localhost",
        timeout: 2,
      }
      : { addresses: args[0].split(","), topics: ["/data", "/warm"], nameserver: false },
  );
  let last = "";
  const warmed = new Map<string, number>();
  for await (const m of sub.recv(0.1)) {
    const uris = JSON.stringify(sub.addresses.map((a) => a.URI).sort());
    if (uris !== last) out(`addresses ${(last = uris)}`);
    if (!m) continue;
    const d = m.data as { pub: string; i?: number };
    if (m.subject === "/warm") {
      if (Date.now() - (warmed.get(d.pub) ?? 0) > 1000) out(`warm ${d.pub}`);
      warmed.set(d.pub, Date.now());
    } else if (m.subject === "/data") out(`data ${d.pub} ${d.i}`);
  }
} else if (role === "lookup") {
  const [service, ns, secs] = args;
  try {
    const recs = await getPubAddress(service, { nameserver: ns, timeout: Number(secs ?? 5) });
    out(`lookup ${JSON.stringify(recs.map((r) => r.URI).sort())}`);
  } catch (e) {
    out(`lookup-error ${(e as Error).name}`);
  }
} else if (role === "tail") {
  await using sub = await subscribe({ addresses: [args[0]], topics: args[1], nameserver: false });
  for await (const m of sub.recv(0.1)) {
    if (m) out(`msg ${m.subject} ${JSON.stringify(m.data)}`);
  }
} else if (role === "lookuploop") {
  const [service, ns, n] = args;
  let stop = false;
  const closed = stdinLines(() => Promise.resolve()).then(() => stop = true);
  while (!stop) {
    try {
      const r = await getPubAddress(service, { nameserver: ns, timeout: 3 });
      out(r.length === Number(n) ? "lookup-ok" : `lookup-fail ${r.length} records`);
    } catch (e) {
      out(`lookup-fail ${(e as Error).name}: ${(e as Error).message}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  await closed;
} else if (role === "mcsend") {
  await using s = new MulticastSender(getConfiguredBroadcastPort());
  await s.send(args[0]);
} else if (role === "mcrecv") {
  await using r = await MulticastReceiver.open(getConfiguredBroadcastPort());
  out("listening");
  const d = await r.settimeout(20).receive();
  out(`GOT ${d.data} ${d.address}`);
} else {
  console.error(`unknown role ${role}`);
  Deno.exit(2);
}
