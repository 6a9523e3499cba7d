// Raw ZMTP 3.0 bytes for fault injection: a hand-made NULL-mechanism greeting and READY command,
// so a test can stop a peer at any byte of the handshake or of a frame.

/** The 64-byte ZMTP 3.0 greeting of a NULL-mechanism client. */
export function greeting(): Uint8Array {
  const g = new Uint8Array(64);
  g[0] = 0xff;
  g[8] = 0x01;
  g[9] = 0x7f;
  g[10] = 3; // major
  g[11] = 0; // minor
  g.set(new TextEncoder().encode("NULL"), 12);
  return g;
}

/** A READY command announcing `socketType`. */
export function ready(socketType: string): Uint8Array {
  const enc = new TextEncoder();
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
