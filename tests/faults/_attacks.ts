// Attacks on listening posttroll sockets, the way a hostile or broken peer on the LAN would make
// them, written with raw TCP/UDP and hand-made ZMTP bytes (tests/faults/_zmtp.ts) so they do what
// no well-behaved peer does: oversized and endless input, floods of connections, subscriptions
// and commands, peers that never read. Every attack returns what it sent; the caller measures the
// target (tests/faults/_targets.ts).
import dgram from "node:dgram";
import { closeQuietly, command, frame, greeting, ready, request, writeAll } from "./_zmtp.ts";
import { concatBytes } from "../../lib/_util/bytes.ts";
import { lines } from "../../testing/lines.ts";

const enc = new TextEncoder();

/** A connection an attack keeps open, and the bytes it wrote. */
export interface Held {
  /** The connections (empty when they are held by a child process). */
  conns: Deno.TcpConn[];
  /** Connections opened. */
  opened: number;
  bytes: number;
  /** Closes every connection. */
  close(): void;
}

function held(conns: Deno.TcpConn[], bytes: number): Held {
  return { conns, opened: conns.length, bytes, close: () => conns.forEach(closeQuietly) };
}

/**
 * Writes `next()` chunks until `bytes` are written, `ms` pass (a peer that stops reading) or the
 * peer drops the connection; returns the bytes the kernel took.
 */
async function writeFor(
  c: Deno.Conn,
  next: () => Uint8Array,
  bytes: number,
  ms: number,
): Promise<number> {
  const end = Date.now() + ms;
  let sent = 0;
  while (sent < bytes && Date.now() < end) {
    const chunk = next();
    let off = 0;
    while (off < chunk.length) {
      const w = c.write(chunk.subarray(off)).catch(() => -1);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const t = new Promise<number>((
        r,
      ) => (timer = setTimeout(() => r(-2), Math.max(1, end - Date.now()))));
      const n = await Promise.race([w, t]);
      clearTimeout(timer);
      if (n < 0) return sent;
      off += n;
      sent += n;
    }
  }
  return sent;
}

/** A posttroll address announcement whose data carries `junk` bytes of 0x7F (JSON allows them). */
export function junkAnnouncement(uri: string, junk: number, service = "junk"): Uint8Array {
  const head = enc.encode(
    `pytroll://address/${service} info attacker@lan 2026-12-06T00:00:00 v1.01 application/json ` +
      `{"URI": "${uri}", "service": ["${service}"], "junk": "`,
  );
  const tail = enc.encode(`"}`);
  const out = new Uint8Array(head.length + junk + tail.length);
  out.set(head);
  out.fill(0x7f, head.length, head.length + junk);
  out.set(tail, head.length + junk);
  return out;
}

/**
 * One direct registration (REQ-style request on the TCP `broadcast_port`) carrying `junk` bytes
 * of 0x7F; waits up to `ms` for the written bytes to be taken, then closes.
 */
export async function bigRegistration(port: number, junk: number, ms = 20_000): Promise<number> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await writeAll(c, greeting());
    await writeAll(c, ready("REQ"));
    const body = request(junkAnnouncement("tcp://198.51.100.1:1", junk));
    return await writeFor(c, () => body, body.length, ms);
  } catch {
    return 0;
  } finally {
    closeQuietly(c);
  }
}

/**
 * `n` multicast announcements with distinct URIs, each a full 1,024-byte datagram padded with
 * 0x7F bytes (6 bytes each once the nameserver re-encodes them as `\u007f`).
 */
export function junkDatagrams(port: number, group: string, n: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket("udp4");
    s.bind(0, "127.0.0.1", async () => {
      try {
        s.setMulticastInterface("127.0.0.1");
        let sent = 0;
        // 5,000 per second: a flood, but slow enough for the kernel's receive buffer
        for (let i = 0; i < n; i += 100) {
          await Promise.all(
            Array.from({ length: Math.min(100, n - i) }, (_, j) => {
              const a = junkAnnouncement(`tcp://198.51.100.${(i + j) % 250}:${1 + i + j}`, 0);
              const d = junkAnnouncement(
                `tcp://198.51.100.${(i + j) % 250}:${1 + i + j}`,
                1024 - a.length,
              );
              sent += d.length;
              return new Promise<void>((ok, ko) => s.send(d, port, group, (e) => e ? ko(e) : ok()));
            }),
          );
          await new Promise((r) => setTimeout(r, 20));
        }
        s.close(() => resolve(sent));
      } catch (e) {
        s.close();
        reject(e);
      }
    });
  });
}

/**
 * Opens `n` connections; with `handshake`, each completes the ZMTP greeting and READY as a
 * `socketType` peer, then stays silent.
 */
export async function idleConnections(
  port: number,
  n: number,
  options: { handshake?: boolean; socketType?: string } = {},
): Promise<Held> {
  const conns: Deno.TcpConn[] = [];
  let bytes = 0;
  const hello = options.handshake
    ? [greeting(1), ready(options.socketType ?? "REQ")]
    : [] as Uint8Array[];
  for (let i = 0; i < n; i += 100) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, n - i) }, async () => {
        try {
          const c = await Deno.connect({ hostname: "127.0.0.1", port });
          for (const b of hello) {
            await writeAll(c, b);
            bytes += b.length;
          }
          return c;
        } catch {
          return undefined;
        }
      }),
    );
    for (const c of batch) if (c) conns.push(c);
  }
  return held(conns, bytes);
}

/**
 * One SUB peer (ZMTP 3.1) that sends `n` distinct SUBSCRIBE commands (`pytroll://attack/<i>`)
 * and never reads.
 */
export async function subscriptionFlood(port: number, n: number, ms = 30_000): Promise<Held> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeAll(c, greeting(1));
  await writeAll(c, ready("SUB"));
  let i = 0;
  const batch = () => {
    const parts: Uint8Array[] = [];
    for (let k = 0; k < 1000 && i < n; k++, i++) {
      parts.push(command("SUBSCRIBE", enc.encode(`pytroll://attack/${i}`)));
    }
    return concatBytes(parts);
  };
  let bytes = 0;
  while (i < n) {
    const sent = await writeFor(c, batch, 1, ms);
    if (sent === 0) break;
    bytes += sent;
  }
  return held([c], bytes);
}

/**
 * One DEALER peer that pipelines `n` look-up requests for `service` and never reads a reply.
 */
export async function pipelinedLookups(
  port: number,
  n: number,
  service: string,
  ms = 20_000,
): Promise<Held> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeAll(c, greeting(1));
  await writeAll(c, ready("DEALER"));
  const one = request(
    `pytroll://oper/ns request attacker@lan 2026-12-06T00:00:00 v1.01 application/json ` +
      `{"service": ${JSON.stringify(service)}}`,
  );
  const per = 100;
  const chunk = new Uint8Array(one.length * per);
  for (let k = 0; k < per; k++) chunk.set(one, k * one.length);
  const bytes = await writeFor(c, () => chunk, one.length * n, ms);
  return held([c], bytes);
}

/**
 * One peer (ZMTP 3.1, as `socketType`) that sends PING commands with a 16-byte context, `bytes` in
 * all, and never reads the PONGs.
 */
export async function pingFlood(
  port: number,
  bytes: number,
  socketType = "DEALER",
  ms = 30_000,
): Promise<Held> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeAll(c, greeting(1));
  await writeAll(c, ready(socketType));
  const ping = command(
    "PING",
    new Uint8Array([0, 0, ...crypto.getRandomValues(new Uint8Array(16))]),
  );
  const per = 4096;
  const chunk = new Uint8Array(ping.length * per);
  for (let k = 0; k < per; k++) chunk.set(ping, k * ping.length);
  const sent = await writeFor(c, () => chunk, bytes, ms);
  return held([c], sent);
}

/**
 * One peer that sends a single multipart message of `frames` frames of `frameBytes` each (every
 * frame below the per-frame limit), and never finishes it.
 */
export async function endlessMultipart(
  port: number,
  frameBytes: number,
  frames: number,
  socketType = "DEALER",
  ms = 30_000,
): Promise<Held> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeAll(c, greeting(1));
  await writeAll(c, ready(socketType));
  await writeAll(c, new Uint8Array([1, 0])); // empty delimiter, MORE
  const f = frame(new Uint8Array(frameBytes).fill(0x61), { more: true });
  const sent = await writeFor(c, () => f, frameBytes * frames, ms);
  return held([c], sent);
}

/**
 * {@linkcode idleConnections} from a child process (the test runner's own descriptors stay as
 * they are: other fault tests count them); `close()` ends the child and its connections.
 */
export async function idleConnectionsApart(
  port: number,
  n: number,
  options: { handshake?: boolean; socketType?: string } = {},
): Promise<Held> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      new URL("./_connect_flood.ts", import.meta.url).pathname,
      String(port),
      String(n),
      options.handshake ? options.socketType ?? "REQ" : "-",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  const out = lines(child.stdout);
  const line = (await out.next()).value ?? "";
  out.return(undefined).catch(() => {}); // cancels stdout: nothing more is read
  const [, opened, bytes] = line.trim().split(" ");
  let closed = false;
  return {
    conns: [],
    opened: Number(opened) || 0,
    bytes: Number(bytes) || 0,
    close: () => {
      if (closed) return;
      closed = true;
      writer.close().catch(() => {});
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      child.status.catch(() => {});
    },
  };
}
