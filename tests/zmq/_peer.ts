// Helpers for the ZeroMQ tests: pyzmq reference peers (peer.py) and small utilities.
import { PythonProcess } from "../harness/python.ts";

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
