/**
 * Small network helpers for tests: free loopback ports and bounded readiness probes.
 *
 * @module
 */

/** Returns a TCP port that was free on `hostname` a moment ago (the OS picks it). */
export function freePort(hostname = "127.0.0.1"): number {
  const l = Deno.listen({ hostname, port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Returns a UDP port that was free on `hostname` a moment ago. */
export function freeUdpPort(hostname = "127.0.0.1"): number {
  const l = Deno.listenDatagram({ hostname, port: 0, transport: "udp" });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * Polls `probe` every `intervalMs` until it returns a truthy value and returns that value; throws
 * after `timeoutMs`. An error thrown by the probe ends the wait at once.
 */
export async function until<T>(
  probe: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 20, what = "condition" } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const v = await probe();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Polls `probe` every `intervalMs` until it returns true, or throws after `timeoutMs`. A probe that
 * throws counts as "not ready yet" (a server still starting refuses connections).
 */
export async function waitFor(
  probe: () => boolean | Promise<boolean>,
  { timeoutMs = 10_000, intervalMs = 50, what = "condition" } = {},
): Promise<void> {
  const tolerant = async () => {
    try {
      return await probe();
    } catch {
      return false;
    }
  };
  await until(tolerant, { timeoutMs, intervalMs, what });
}

/** True when a TCP connection to `hostname:port` succeeds. */
export async function tcpOpen(hostname: string, port: number): Promise<boolean> {
  try {
    const c = await Deno.connect({ hostname, port });
    c.close();
    return true;
  } catch {
    return false;
  }
}
