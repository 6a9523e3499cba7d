// The peers of the multi-host tests, ours and Python posttroll 1.16's, in every role, with the
// same command lines and the same output lines (see _peer.ts for the protocol), so a test runs a
// deployment once per mix of implementations and reads both alike.
import { assert } from "@std/assert";
import type { Host } from "../../testing/hosts.ts";
import type { Child } from "../../testing/child.ts";
import type { PythonProcess } from "../../testing/python.ts";
import { until } from "../../testing/net.ts";
import { binary } from "../../cli/binaries.ts";
import { isLoopbackAddress } from "../../lib/posttroll/own_ip.ts";

/** Which implementation runs a role. */
export type Impl = "ours" | "python";

const REPO = new URL("../../", import.meta.url).pathname;
const PEER = `${REPO}tests/hosts/_peer.ts`;
const NAMESERVER = `${REPO}cli/nameserver.ts`;

const PY_COMMON = String.raw`
import os, sys, json, threading, time
from posttroll.message import Message
def out(*a):
    print(*a, flush=True)
def host(h):
    # posttroll writes "tcp://" + host + ":" + port: IPv6 literals need their brackets
    return "[%s]" % h if ":" in h and not h.startswith("[") else h
if os.environ.get("PEER_ZMQ_IPV6"):
    # posttroll 1.16 never sets zmq.IPV6, so its sockets are IPv4-only; a user can turn it on
    # for every socket of posttroll's context (binds of tcp://* then take IPv6 too)
    import zmq
    from posttroll.backends.zmq import get_context
    get_context().setsockopt(zmq.IPV6, 1)
`;

const PY: Record<string, string> = {
  ownip: PY_COMMON + String.raw`
from posttroll.publisher import get_own_ip
out("ownip", get_own_ip())
`,
  pub: PY_COMMON + String.raw`
from posttroll.publisher import NoisyPublisher, get_own_ip
pid, service = sys.argv[1], sys.argv[2]
ns = sys.argv[3].split(",") if len(sys.argv) > 3 and sys.argv[3] else None
pub = NoisyPublisher(service, broadcast_interval=0.5, nameservers=ns)
pub.start()
# what NoisyPublisher.start() put into its announcement
out("ready", "tcp://%s:%d" % (get_own_ip(), pub.port_number))
lock, stop = threading.Lock(), threading.Event()
def warm():
    while not stop.wait(0.1):
        with lock:
            pub.send(Message("/warm", "info", {"pub": pid}).encode())
threading.Thread(target=warm, daemon=True).start()
for line in sys.stdin:
    cmd, *rest = line.split()
    if cmd == "send":
        tag = rest[1] if len(rest) > 1 else ""
        with lock:
            for i in range(int(rest[0])):
                pub.send(Message("/data", "info", {"pub": pid + tag, "i": i}).encode())
        out("sent", rest[0])
stop.set()
pub.stop()
`,
  sub: PY_COMMON + String.raw`
from posttroll.subscriber import Subscribe
if sys.argv[0] == "dsub":
    ctx = Subscribe(addresses=sys.argv[1].split(","), topics=["/data", "/warm"], nameserver=False)
else:
    ns = host(sys.argv[2]) if len(sys.argv) > 2 else "localhost"
    ctx = Subscribe(sys.argv[1].split(","), topics=["/data", "/warm"], addr_listener=True,
                    nameserver=ns, timeout=2)
with ctx as sub:
    last, warmed = None, {}
    for msg in sub.recv(0.1):
        uris = json.dumps(sorted(a if isinstance(a, str) else a["URI"] for a in sub.addresses), separators=(",", ":"))
        if uris != last:
            last = uris
            out("addresses", uris)
        if msg is None:
            continue
        if msg.subject == "/warm":
            if time.monotonic() - warmed.get(msg.data["pub"], -10) > 1:
                out("warm", msg.data["pub"])
            warmed[msg.data["pub"]] = time.monotonic()
        elif msg.subject == "/data":
            out("data", msg.data["pub"], msg.data["i"])
`,
  lookup: PY_COMMON + String.raw`
from posttroll.ns import get_pub_address
try:
    recs = get_pub_address(sys.argv[1], timeout=float(sys.argv[3]) if len(sys.argv) > 3 else 5,
                           nameserver=host(sys.argv[2]))
    out("lookup", json.dumps(sorted(r["URI"] for r in (recs or [])), separators=(",", ":")))
except Exception as e:
    out("lookup-error", type(e).__name__)
`,
  mcsend: PY_COMMON + String.raw`
from posttroll.bbmcast import MulticastSender, get_configured_broadcast_port
s = MulticastSender(get_configured_broadcast_port())
s(sys.argv[1])
s.close()
`,
  mcrecv: PY_COMMON + String.raw`
from posttroll.bbmcast import MulticastReceiver, get_configured_broadcast_port
r = MulticastReceiver(get_configured_broadcast_port())
r.settimeout(20)
out("listening")
data, sender = r()
out("GOT", data, sender[0])
r.close()
`,
  // posttroll's nameserver script (argparse, NameServer, run) with a readiness line once it answers
  nameserver: PY_COMMON + String.raw`
import logging, threading
from posttroll.ns import NameServer
from posttroll.ns import get_pub_address
args = sys.argv[1:]
logging.basicConfig(level=logging.INFO)
ns = NameServer(multicast_enabled="--no-multicast" not in args, restrict_to_localhost="-L" in args)
threading.Thread(target=ns.run, daemon=True).start()
while True:
    try:
        get_pub_address("", timeout=1, nameserver="localhost")
        break
    except TimeoutError:
        pass
out("Nameserver ready")
sys.stdin.read()
ns.stop()
`,
};

/** A running peer: its output lines and a way to talk to it. */
export class Peer implements AsyncDisposable {
  /** Which implementation. */
  readonly impl: Impl;
  /** The role. */
  readonly role: string;
  /** Where it runs. */
  readonly host: Host;
  readonly #ours?: Child;
  readonly #py?: PythonProcess;

  private constructor(host: Host, impl: Impl, role: string, ours?: Child, py?: PythonProcess) {
    this.host = host;
    this.impl = impl;
    this.role = role;
    this.#ours = ours;
    this.#py = py;
  }

  /**
   * Starts `role` on `host`. Our nameserver is `cli/nameserver.ts` with exactly the permissions of
   * the `nameserver` executable; our other roles are `_peer.ts`.
   */
  static start(
    host: Host,
    impl: Impl,
    role: string,
    args: string[] = [],
    env: Record<string, string> = {},
  ): Peer {
    if (impl === "python") {
      // the role is sys.argv[0] (python -c sets it to "-c" otherwise)
      const code = `import sys; sys.argv[0] = ${JSON.stringify(role)}\n` +
        PY[role === "dsub" ? "sub" : role];
      return new Peer(host, impl, role, undefined, host.pythonPeer(code, { args, env }));
    }
    const child = role === "nameserver"
      ? host.deno(NAMESERVER, args, { env, permissions: binary("nameserver").permissions })
      : host.deno(PEER, [role, ...args], { env, stdin: true });
    return new Peer(host, impl, role, child);
  }

  /** Every output line so far (stdout; stderr too for ours). */
  get lines(): string[] {
    return this.#ours ? this.#ours.lines : this.#py!.seen;
  }

  /** What it wrote to stderr (Python's log). */
  get stderr(): string {
    return this.#py?.stderr ?? "";
  }

  /** Waits for a line matching `pred` (among all lines so far) and returns it. */
  line(pred: (l: string) => boolean, timeoutMs = 30_000): Promise<string> {
    return until(() => this.lines.find(pred), {
      timeoutMs,
      what: `${this.impl} ${this.role} on ${this.host.name}: a line; so far:\n` +
        `${this.lines.join("\n")}\n${this.stderr}`,
    });
  }

  /** Writes a command line to its stdin. */
  async send(line: string): Promise<void> {
    if (this.#ours) await this.#ours.writeLine(line);
    else await this.#py!.writeLine(line);
  }

  /** Waits until it ends by itself; returns its exit code. */
  async exited(): Promise<number> {
    if (this.#py) return (await this.#py.exited()).code;
    const status = await this.#ours!.child.status;
    await this.#ours!.done;
    return status.code;
  }

  /** Stops it (SIGTERM, SIGKILL after a grace period) and waits. */
  async close(): Promise<void> {
    if (this.#py) {
      await this.#py.close();
      return;
    }
    const c = this.#ours!;
    try {
      await c.child.stdin?.close();
    } catch { /* no stdin or closed */ }
    const t = setTimeout(() => c.kill("SIGKILL"), 3000);
    try {
      await c.kill("SIGTERM");
    } finally {
      clearTimeout(t);
    }
  }

  /** Same as {@linkcode close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * The peers of one test: started with the test's settings, stopped together when it ends (declare
 * it after the test bed: `await using peers = new Peers(env)`), checked together.
 */
export class Peers implements AsyncDisposable {
  /** Every peer started, in order. */
  readonly all: Peer[] = [];
  readonly #env: Record<string, string>;

  /** @param env POSTTROLL_* and other variables for every peer */
  constructor(env: Record<string, string> = {}) {
    this.#env = env;
  }

  /** Starts a peer (see {@linkcode Peer.start}); `env` adds to the shared settings. */
  readonly start = (
    host: Host,
    impl: Impl,
    role: string,
    args: string[] = [],
    env: Record<string, string> = {},
  ): Peer => {
    const p = Peer.start(host, impl, role, args, { ...this.#env, ...env });
    this.all.push(p);
    return p;
  };

  /**
   * Asks nameserver `at` for `service` from `from` with `impl`'s client.
   *
   * @returns the line: `lookup [URIs]` or `lookup-error <error name>`
   */
  readonly lookup = async (
    from: Host,
    impl: Impl,
    service: string,
    at: string,
    options: { seconds?: number; env?: Record<string, string> } = {},
  ): Promise<string> => {
    const q = this.start(
      from,
      impl,
      "lookup",
      [service, at, String(options.seconds ?? 5)],
      options.env,
    );
    return await q.line((l) => l.startsWith("lookup"), 30_000);
  };

  /** Like {@linkcode lookup}, the URIs (throws when the look-up failed). */
  readonly lookupUris = async (
    ...a: Parameters<Peers["lookup"]>
  ): Promise<string[]> => {
    const line = await this.lookup(...a);
    assert(line.startsWith("lookup ["), line);
    return JSON.parse(line.slice(7));
  };

  /** See {@linkcode assertNoLoopbackAnywhere}. */
  assertNoLoopback(): void {
    assertNoLoopbackAnywhere(this.all);
  }

  /** Stops every peer. */
  async close(): Promise<void> {
    await Promise.all(this.all.map((p) => p.close()));
  }

  /** Same as {@linkcode close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** The host part of `tcp://host:port` (brackets removed). */
export function uriHost(uri: string): string {
  const m = /^tcp:\/\/(?:\[([^\]]+)\]|([^:/]+)):\d+$/.exec(uri);
  assert(m, `not a tcp URI: ${uri}`);
  return m[1] ?? m[2];
}

/**
 * Fails when any URI names a loopback address: every address here was announced by, or looked
 * up for, a peer on another host.
 */
export function assertNoLoopback(uris: string[], context: string): void {
  for (const u of uris) {
    assert(!isLoopbackAddress(uriHost(u)), `${context}: loopback address ${u} for a remote peer`);
  }
}

/**
 * Fails when any peer announced (`ready`), was told (`addresses`) or looked up (`lookup`) a
 * loopback address. Call at the end of a test with every peer it started: all of them run on
 * separate hosts from the ones they talk to.
 */
export function assertNoLoopbackAnywhere(peers: Peer[]): void {
  for (const p of peers) {
    const where = `${p.impl} ${p.role} on ${p.host.name}`;
    for (const l of p.lines) {
      if (l.startsWith("ready ")) assertNoLoopback([l.slice(6)], where);
      else if (l.startsWith("addresses ")) assertNoLoopback(JSON.parse(l.slice(10)), where);
      else if (l.startsWith("lookup [")) assertNoLoopback(JSON.parse(l.slice(7)), where);
    }
  }
}

/** The URIs of every `addresses ...` line a subscriber printed. */
export function addressLines(p: Peer): string[][] {
  return p.lines.filter((l) => l.startsWith("addresses ")).map((l) => JSON.parse(l.slice(10)));
}

/** How many times each `data <pub> <i>` line came, per publisher id. */
export function dataCounts(p: Peer): Map<string, Map<number, number>> {
  const out = new Map<string, Map<number, number>>();
  for (const l of p.lines) {
    if (!l.startsWith("data ")) continue;
    const [, pub, i] = l.split(" ");
    const m = out.get(pub) ?? new Map<number, number>();
    m.set(Number(i), (m.get(Number(i)) ?? 0) + 1);
    out.set(pub, m);
  }
  return out;
}

/**
 * Waits until `sub` received /data 0..n-1 from publisher `pub`, then checks each came once.
 *
 * @returns nothing; throws with the counts when a message is missing (after the timeout) or
 * came twice
 */
export async function expectAll(sub: Peer, pub: string, n: number, timeoutMs = 30_000) {
  await until(() => (dataCounts(sub).get(pub)?.size ?? 0) >= n, {
    timeoutMs,
    what: `${sub.impl} subscriber on ${sub.host.name}: ${n} messages from ${pub} ` +
      `(got ${dataCounts(sub).get(pub)?.size ?? 0})`,
  });
  const counts = dataCounts(sub).get(pub)!;
  const wrong = [...counts].filter(([i, c]) => c !== 1 || i < 0 || i >= n);
  assert(wrong.length === 0, `${sub.impl} subscriber: from ${pub} not exactly once: ${wrong}`);
}
