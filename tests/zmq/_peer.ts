// Helpers for the ZeroMQ tests: pyzmq reference peers (peer.py) and small utilities.
import { PythonProcess } from "../../testing/python.ts";

const CODE = Deno.readTextFileSync(new URL("./peer.py", import.meta.url));

/** A running pyzmq peer and the endpoint it bound or connected to. */
export interface Peer {
  proc: PythonProcess;
  endpoint: string;
  /** Next JSON message line (frames as latin-1 strings). */
  next(timeoutMs?: number): Promise<string[]>;
  /** Waits for "done <n>" and returns n. */
  done(timeoutMs?: number): Promise<number>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts peer.py with `cfg` and waits for its "ready" line. */
export async function startPeer(cfg: Record<string, unknown>): Promise<Peer> {
  const proc = PythonProcess.spawn(CODE, { args: [JSON.stringify(cfg)] });
  let endpoint: string;
  try {
    const line = await proc.waitForLine((l) => l.startsWith("ready "), 15_000);
    endpoint = line.slice(6);
  } catch (e) {
    await proc.close();
    throw e;
  }
  return {
    proc,
    endpoint,
    async next(timeoutMs = 10_000) {
      const l = await proc.waitForLine((l) => l.startsWith("["), timeoutMs);
      return JSON.parse(l);
    },
    async done(timeoutMs = 20_000) {
      const l = await proc.waitForLine((l) => l.startsWith("done "), timeoutMs);
      return Number(l.slice(5));
    },
    async [Symbol.asyncDispose]() {
      await proc.close(1000);
    },
  };
}

const dec = new TextDecoder("latin1");
/** Frames as latin-1 strings. */
export function text(frames: Uint8Array[]): string[] {
  return frames.map((f) => dec.decode(f));
}

/** A fresh ipc path in a temp directory (removed by the returned cleanup). */
export function ipcPath(): { path: string; cleanup: () => void } {
  const dir = Deno.makeTempDirSync({ prefix: "zmqtest" });
  return {
    path: `${dir}/s.sock`,
    cleanup: () => Deno.removeSync(dir, { recursive: true }),
  };
}

import { buildGreeting } from "../../lib/zmq/greeting.ts";
import { buildReady } from "../../lib/zmq/command.ts";
import { encodeFrame, FLAG_COMMAND, FrameDecoder } from "../../lib/zmq/frame.ts";
import type { SocketEvent, ZmqSocket } from "../../lib/zmq/mod.ts";

/** Writes all of `data`. */
export async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

/**
 * Does a NULL handshake by hand on `conn` (ZMTP 3.`minor`) as `socketType` and returns the decoder
 * holding whatever followed the peer's READY.
 */
export async function rawHandshake(
  conn: Deno.Conn,
  socketType: string,
  minor = 1,
): Promise<FrameDecoder> {
  const g = buildGreeting("NULL", false);
  g[11] = minor;
  await writeAll(conn, g);
  await writeAll(conn, encodeFrame(buildReady(socketType), FLAG_COMMAND));
  const d = new FrameDecoder();
  const buf = new Uint8Array(4096);
  while (d.take(64) === null) {
    const n = await conn.read(buf);
    if (n === null) throw new Error("closed during greeting");
    d.push(buf.subarray(0, n));
  }
  while (!d.next()) {
    const n = await conn.read(buf);
    if (n === null) throw new Error("closed during handshake");
    d.push(buf.subarray(0, n));
  }
  return d;
}

/** Waits for the first event of `type` on `sock` (bounded). */
export async function waitEvent<T extends SocketEvent["type"]>(
  sock: ZmqSocket,
  type: T,
  timeoutMs = 5000,
): Promise<Extract<SocketEvent, { type: T }>> {
  const it = sock.events()[Symbol.asyncIterator]();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`no ${type} event within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    while (true) {
      const r = await Promise.race([it.next(), timeout]);
      if (r.done) throw new Error(`events ended before ${type}`);
      if (r.value.type === type) return r.value as Extract<SocketEvent, { type: T }>;
    }
  } finally {
    clearTimeout(timer);
  }
}
