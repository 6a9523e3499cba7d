/**
 * Small network helpers for tests: free loopback ports and bounded readiness probes.
 *
 * @module
 */

/**
 * The kernel's ephemeral port range (`net.ipv4.ip_local_port_range`): where it picks the local port
 * of every outgoing connection and of every bind to port 0.
 */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range").trim()
      .split(/\s+/).map(Number);
    if (lo > 0 && hi >= lo) return [lo, hi];
  } catch { /* not Linux: the IANA range */ }
  return [49152, 65535];
}

/**
 * Returns a port that was free on `hostname` a moment ago, for a server the test starts next.
 * It is drawn at random from the 12,000 ports below the kernel's ephemeral range, never from the
 * range itself: between this check and the server's bind, any process on the machine may connect
 * somewhere or bind port 0, and the kernel hands those ports out of that range (a port it just
 * handed to us and we closed is as likely as any other). Only another explicit choice of the same
 * port in the same moment can take it from us.
 */
function pickPort(hostname: string, free: (port: number) => boolean): number {
  const [lo] = ephemeralRange();
  const base = Math.max(1024, lo - 12_000);
  for (let tries = 0; tries < 1_000; tries++) {
    const port = base + Math.floor(Math.random() * (lo - base));
    if (free(port)) return port;
  }
  throw new Error(`no free port on ${hostname} in ${base}-${lo - 1}`);
}

function bindable(close: () => void): boolean {
  try {
    close();
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse || e instanceof Deno.errors.PermissionDenied) {
      return false;
    }
    throw e;
  }
}

/** Returns a TCP port that was free on `hostname` a moment ago (see `pickPort`). */
export function freePort(hostname = "127.0.0.1"): number {
  return pickPort(hostname, (port) => bindable(() => Deno.listen({ hostname, port }).close()));
}

/** Returns a UDP port that was free on `hostname` a moment ago (see `pickPort`). */
export function freeUdpPort(hostname = "127.0.0.1"): number {
  return pickPort(
    hostname,
    (port) => bindable(() => Deno.listenDatagram({ hostname, port, transport: "udp" }).close()),
  );
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
