// A network namespace joined to this one by a veth pair (198.18.x.y/30, the benchmarking range):
// a "remote host" on this machine for fault tests. Needs root and `ip`; `createNetns()` returns
// undefined when that is not available. Always `close()` it (removes the pair and the namespace).

async function ip(args: string[]): Promise<boolean> {
  const out = await new Deno.Command("ip", { args, stdout: "null", stderr: "null" }).output()
    .catch(() => ({ success: false }));
  return out.success;
}

/** A namespace with one veth link to the host. */
export interface Netns {
  /** Namespace name (for `ip netns exec`). */
  name: string;
  /** The host's end of the link. */
  hostIp: string;
  /** The namespace's end of the link. */
  remoteIp: string;
  /** Brings the host's end of the link down (a silent partition: no FIN, no RST). */
  down(): Promise<void>;
  /** Brings it up again. */
  up(): Promise<void>;
  /** `cmd args` run inside the namespace (argument list for `new Deno.Command("ip", ...)`). */
  execArgs(cmd: string, args: string[]): string[];
  /** Removes the link and the namespace. */
  close(): Promise<void>;
  /** Pass to {@linkcode createNetns} to get the same names and addresses again. */
  tag: Uint8Array;
}

/**
 * Creates a namespace and its link, or returns undefined (not root, no `ip`). With the `tag` of an
 * earlier (closed) one: the same names and addresses, as a host that rebooted.
 */
export async function createNetns(
  tag: Uint8Array = crypto.getRandomValues(new Uint8Array(2)),
): Promise<Netns | undefined> {
  const name = `pfault${tag[0]}_${tag[1]}`;
  const vA = `pfa${tag[0]}x${tag[1]}`, vB = `pfb${tag[0]}x${tag[1]}`;
  const base = (tag[1] % 60) * 4;
  const hostIp = `198.18.${tag[0]}.${base + 1}`, remoteIp = `198.18.${tag[0]}.${base + 2}`;
  const close = async () => {
    await ip(["link", "del", vA]);
    await ip(["netns", "del", name]);
  };
  const ok = await ip(["netns", "add", name]) &&
    await ip(["link", "add", vA, "type", "veth", "peer", "name", vB, "netns", name]) &&
    await ip(["addr", "add", `${hostIp}/30`, "dev", vA]) &&
    await ip(["link", "set", vA, "up"]) &&
    await ip(["-n", name, "addr", "add", `${remoteIp}/30`, "dev", vB]) &&
    await ip(["-n", name, "link", "set", vB, "up"]) &&
    await ip(["-n", name, "link", "set", "lo", "up"]);
  if (!ok) {
    await close();
    return undefined;
  }
  return {
    name,
    hostIp,
    remoteIp,
    down: async () => {
      if (!await ip(["link", "set", vA, "down"])) throw new Error(`cannot bring ${vA} down`);
    },
    up: async () => {
      if (!await ip(["link", "set", vA, "up"])) throw new Error(`cannot bring ${vA} up`);
    },
    execArgs: (cmd, args) => ["netns", "exec", name, cmd, ...args],
    close,
    tag,
  };
}
