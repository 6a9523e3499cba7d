// Raw ZMTP bytes for fault injection: hand-made NULL-mechanism greetings, READY and other command
// frames and message frames, so a test can stop a peer at any byte of the handshake or of a frame,
// or send what a well-behaved peer never would (floods of commands, pipelined requests).

const enc = new TextEncoder();

/** The 64-byte ZMTP greeting of a NULL-mechanism client (3.0 by default; 3.1 with `minor` 1). */
export function greeting(minor = 0): Uint8Array {
  const g = new Uint8Array(64);
  g[0] = 0xff;
  g[8] = 0x01;
  g[9] = 0x7f;
  g[10] = 3; // major
  g[11] = minor;
  g.set(enc.encode("NULL"), 12);
  return g;
}

/** A READY command announcing `socketType`. */
export function ready(socketType: string): Uint8Array {
  const name = enc.encode("Socket-Type");
  const value = enc.encode(socketType);
  const body = [5, ...enc.encode("READY"), name.length, ...name, 0, 0, 0, value.length, ...value];
  return new Uint8Array([0x04, body.length, ...body]);
}

/** A long-frame header announcing `size` body bytes (sent without the body). */
export function longFrameHeader(size: number, more = false): Uint8Array {
  const h = new Uint8Array(9);
  h[0] = 0x02 | (more ? 1 : 0);
  new DataView(h.buffer).setBigUint64(1, BigInt(size));
  return h;
}

/** One complete frame: header (short or long) and body. */
export function frame(
  body: Uint8Array,
  flags: { more?: boolean; command?: boolean } = {},
): Uint8Array {
  const f = (flags.more ? 1 : 0) | (flags.command ? 4 : 0);
  const long = body.length > 255;
  const out = new Uint8Array((long ? 9 : 2) + body.length);
  if (long) {
    out[0] = f | 2;
    new DataView(out.buffer).setBigUint64(1, BigInt(body.length));
    out.set(body, 9);
  } else {
    out[0] = f;
    out[1] = body.length;
    out.set(body, 2);
  }
  return out;
}

/** A command frame `name` + `data` (ZMTP 3.1: SUBSCRIBE, CANCEL, PING, ...). */
export function command(name: string, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const n = enc.encode(name);
  const body = new Uint8Array(1 + n.length + data.length);
  body[0] = n.length;
  body.set(n, 1);
  body.set(data, 1 + n.length);
  return frame(body, { command: true });
}

/** A request as a DEALER or REQ peer sends it to a REP socket: empty delimiter, then the body. */
export function request(body: string | Uint8Array): Uint8Array {
  const b = typeof body === "string" ? enc.encode(body) : body;
  const f = frame(b);
  const out = new Uint8Array(2 + f.length);
  out[0] = 1; // empty delimiter frame with MORE
  out.set(f, 2);
  return out;
}

/** Writes all of `bytes` (Deno may write part of a buffer). */
export async function writeAll(c: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await c.write(bytes.subarray(off));
}

/** Opens a TCP connection, writes `bytes` (errors ignored) and keeps it open. */
export async function holdOpen(port: number, bytes: Uint8Array[] = []): Promise<Deno.TcpConn> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  for (const b of bytes) await c.write(b).catch(() => 0);
  return c;
}

/** Closes a connection, ignoring "already closed". */
export function closeQuietly(c: Deno.Conn): void {
  try {
    c.close();
  } catch { /* closed */ }
}
