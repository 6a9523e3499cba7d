/**
 * The multi-host test bed: network namespaces ("hosts") joined by Linux bridges ("networks") that
 * live in a namespace of their own (the "switch"), so a test bed adds nothing to the machine's
 * own namespace and nothing in it can reach the machine's real interfaces. Each host gets an IPv4
 * address (198.18.<k>.<n>/24, the benchmarking range) and an IPv6 address (fd18:<k>::<n>/64, in
 * canonical form) on the k-th network (from 1), n its place in the spec (from 1), and a default
 * route into its first network
 * (towards the switch's address .254 / ::fe, which routes nowhere), so the kernel's source-address
 * selection — and with it Python's `get_own_ip()` and ours — works as on a real host. Multicast
 * snooping is off on the bridges, so group traffic reaches every port as on a plain LAN switch;
 * the switch does not forward between networks.
 *
 * Processes run inside a host with `ip netns exec`: {@linkcode Host.deno}, {@linkcode Host.python},
 * {@linkcode Host.run}. {@linkcode Host.down} takes a host off its network without a word (the
 * switch's port goes down: no FIN, no RST), {@linkcode TestBed.reboot} destroys a host's namespace
 * and creates it again with the same addresses.
 *
 * Needs root and `ip` (iproute2); {@linkcode TestBed.create} fails with {@linkcode TestBedError}
 * saying which is missing, never silently. Names are random (`pt<6 hex>-<host>`), so test beds of
 * concurrent runs never meet; {@linkcode TestBed.close} (or `await using`) removes everything,
 * also after a failed test.
 *
 * @example
 * ```ts ignore
 * await using bed = await TestBed.create({ hosts: ["a", "b"] });
 * const r = await bed.host("a").python("from posttroll.publisher import get_own_ip; print(get_own_ip())");
 * console.log(r.stdout.trim()); // "198.18.1.1"
 * ```
 *
 * @module
 */
import { Child } from "./child.ts";
import { type PythonOptions, PythonProcess, type PythonResult, runPython } from "./python.ts";

/** The test bed cannot be set up (not root, no `ip`, a command failed). */
export class TestBedError extends Error {
  /**
   * Creates the error.
   *
   * @param message what failed
   * @param options standard error options
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TestBedError";
  }
}

/** A network (one bridge) of the test bed. */
export interface NetworkSpec {
  /** Name used in specs and {@linkcode Host.link}. */
  name: string;
  /** Hosts on it get IPv4 addresses. @default true */
  ipv4?: boolean;
  /** Hosts on it get IPv6 addresses. @default true */
  ipv6?: boolean;
}

/** A host of the test bed. */
export interface HostSpec {
  /** Name used in {@linkcode TestBed.host}. */
  name: string;
  /** Networks it is on, in interface order (`lan0`, `lan1`, ...). @default the first network */
  networks?: string[];
  /** IPv4 addresses on its interfaces (false: an IPv6-only host). @default true */
  ipv4?: boolean;
  /** IPv6 addresses on its interfaces. @default true */
  ipv6?: boolean;
  /** The network its default routes go into (false: none). @default its first network */
  defaultRoute?: string | false;
}

/** What {@linkcode TestBed.create} builds. */
export interface TestBedSpec {
  /** The hosts (a bare name: on the first network, IPv4 and IPv6). */
  hosts: Array<string | HostSpec>;
  /** The networks. @default one network, "lan" */
  networks?: Array<string | NetworkSpec>;
}

/** One interface of a host. */
export interface Link {
  /** The network's name. */
  network: string;
  /** Interface name inside the host (`lan0`, ...). */
  iface: string;
  /** Its IPv4 address (undefined on IPv6-only hosts or networks). */
  ipv4?: string;
  /** Its IPv6 address (undefined on IPv4-only hosts or networks). */
  ipv6?: string;
}

/** A finished command's status and output. */
export interface RunResult {
  /** Exit code. */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/** Options of {@linkcode Host.deno}. */
export interface DenoOptions {
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Permission flags. @default ["-A"] */
  permissions?: string[];
  /** A pipe to its stdin ({@linkcode Child.writeLine}). @default false */
  stdin?: boolean;
}

const decoder = new TextDecoder();

async function exec(cmd: string, args: string[]): Promise<RunResult> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Runs `ip args`; throws {@linkcode TestBedError} with its error output when it fails. */
async function ip(...args: string[]): Promise<void> {
  const r = await exec("ip", args);
  if (r.code !== 0) {
    throw new TestBedError(`ip ${args.join(" ")} failed (exit ${r.code}): ${r.stderr.trim()}`);
  }
}

/** Refuses at once, with the reason, when the test bed cannot work here. */
async function preflight(): Promise<void> {
  if (Deno.uid() !== 0) {
    throw new TestBedError(
      `the multi-host test bed needs root (network namespaces, bridges); uid is ${Deno.uid()}`,
    );
  }
  try {
    await exec("ip", ["-V"]);
  } catch (e) {
    throw new TestBedError("the multi-host test bed needs `ip` (iproute2) on the PATH", {
      cause: e,
    });
  }
}

/** A host: a network namespace with one interface per network. */
export class Host {
  /** Name in the spec. */
  readonly name: string;
  /** The namespace's name (for `ip netns exec`). */
  readonly netns: string;
  /** Its interfaces, in spec order. */
  readonly links: readonly Link[];
  readonly #bed: TestBed;

  /** @ignore */
  constructor(bed: TestBed, name: string, netns: string, links: Link[]) {
    this.#bed = bed;
    this.name = name;
    this.netns = netns;
    this.links = links;
  }

  /** IPv4 address on its first network (undefined on an IPv6-only host). */
  get ipv4(): string | undefined {
    return this.links[0]?.ipv4;
  }

  /** IPv6 address on its first network (undefined on an IPv4-only host). */
  get ipv6(): string | undefined {
    return this.links[0]?.ipv6;
  }

  /** Its address on its first network: IPv4 when it has one, else IPv6. */
  get address(): string {
    return (this.ipv4 ?? this.ipv6)!;
  }

  /**
   * Its interface on `network`.
   *
   * @param network network name @default its first network
   * @returns the link
   */
  link(network?: string): Link {
    const l = network === undefined ? this.links[0] : this.links.find((x) => x.network === network);
    if (!l) throw new TestBedError(`host ${this.name} is not on network ${network}`);
    return l;
  }

  /** `cmd args` as arguments of `ip` that run it inside this host. */
  argv(cmd: string, args: string[] = []): string[] {
    return ["netns", "exec", this.netns, cmd, ...args];
  }

  /** Runs a command inside the host to completion. */
  run(cmd: string, args: string[] = []): Promise<RunResult> {
    return exec("ip", this.argv(cmd, args));
  }

  /** Starts a long-running command inside the host; its output lines are collected. */
  spawn(
    cmd: string,
    args: string[] = [],
    env: Record<string, string> = {},
    options: { stdin?: boolean } = {},
  ): Child {
    return new Child("ip", this.argv(cmd, args), env, options);
  }

  /**
   * Starts `deno run --no-check <permissions> <script> <args>` inside the host (scripts are
   * type-checked by `deno task check`, not at every start).
   */
  deno(script: string, args: string[] = [], opts: DenoOptions = {}): Child {
    return this.spawn(
      Deno.execPath(),
      ["run", "--no-check", "--no-prompt", ...(opts.permissions ?? ["-A"]), script, ...args],
      { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1", ...opts.env },
      { stdin: opts.stdin },
    );
  }

  /** Runs Python code with the reference peers inside the host to completion. */
  python(code: string, opts: Omit<PythonOptions, "netns"> = {}): Promise<PythonResult> {
    return runPython(code, { ...opts, netns: this.netns });
  }

  /** Starts a long-running Python peer inside the host (see {@linkcode PythonProcess}). */
  pythonPeer(
    code: string,
    opts: Omit<PythonOptions, "stdin" | "timeoutMs" | "netns"> = {},
  ): PythonProcess {
    return PythonProcess.spawn(code, { ...opts, netns: this.netns });
  }

  /**
   * Takes the host off `network` without a word: the switch's port to it goes down, so its
   * peers see no FIN or RST, as when a cable is pulled or a host loses power.
   *
   * @param network network name @default every network of the host
   */
  async down(network?: string): Promise<void> {
    for (const l of network === undefined ? this.links : [this.link(network)]) {
      await ip("-n", this.#bed.switch, "link", "set", this.#bed.portName(this, l), "down");
    }
  }

  /**
   * Puts the host back on `network`.
   *
   * @param network network name @default every network of the host
   */
  async up(network?: string): Promise<void> {
    for (const l of network === undefined ? this.links : [this.link(network)]) {
      await ip("-n", this.#bed.switch, "link", "set", this.#bed.portName(this, l), "up");
    }
  }
}

/** A set of hosts on private networks; see the module documentation. */
export class TestBed implements AsyncDisposable {
  /** Random id in every name (`pt<id>-...`). */
  readonly id: string;
  /** The switch namespace (holds the bridges). */
  readonly switch: string;
  readonly #networks: Required<NetworkSpec>[];
  readonly #specs: Required<HostSpec>[];
  readonly #hosts = new Map<string, Host>();
  #closed = false;

  private constructor(networks: Required<NetworkSpec>[], hosts: Required<HostSpec>[]) {
    this.id = Array.from(crypto.getRandomValues(new Uint8Array(3)))
      .map((b) => b.toString(16).padStart(2, "0")).join("");
    this.switch = `pt${this.id}-switch`;
    this.#networks = networks;
    this.#specs = hosts;
  }

  /**
   * Builds the networks and hosts. On failure everything made so far is removed.
   *
   * @param spec hosts and networks
   * @returns the test bed
   * @throws {TestBedError} when not root, `ip` is missing, or a step fails
   */
  static async create(spec: TestBedSpec): Promise<TestBed> {
    await preflight();
    const networks = (spec.networks ?? ["lan"]).map((n) => ({
      ipv4: true,
      ipv6: true,
      ...(typeof n === "string" ? { name: n } : n),
    }));
    const hosts = spec.hosts.map((h) => {
      const s = typeof h === "string" ? { name: h } : h;
      const nets = s.networks ?? [networks[0].name];
      for (const n of nets) {
        if (!networks.some((x) => x.name === n)) {
          throw new TestBedError(`host ${s.name}: unknown network ${n}`);
        }
      }
      return {
        networks: nets,
        ipv4: true,
        ipv6: true,
        defaultRoute: nets[0],
        ...s,
      } as Required<HostSpec>;
    });
    if (hosts.length > 250) throw new TestBedError("at most 250 hosts");
    const bed = new TestBed(networks, hosts);
    try {
      await ip("netns", "add", bed.switch);
      await ip("-n", bed.switch, "link", "set", "lo", "up");
      // the switch joins networks at layer 2 only: no routing between them
      await bed.sysctl(bed.switch, "net.ipv4.ip_forward", "0");
      await bed.sysctl(bed.switch, "net.ipv6.conf.all.forwarding", "0");
      for (const [i, n] of networks.entries()) {
        const br = `br${i}`;
        await ip(
          "-n",
          bed.switch,
          "link",
          "add",
          br,
          "type",
          "bridge",
          "mcast_snooping",
          "0",
          "stp_state",
          "0",
          "forward_delay",
          "0",
        );
        await ip("-n", bed.switch, "link", "set", br, "up");
        // the default routes' gateway (.254 / ::fe): a neighbour that answers ARP/ND and routes
        // nowhere
        if (n.ipv4) await ip("-n", bed.switch, "addr", "add", `198.18.${i + 1}.254/24`, "dev", br);
        if (n.ipv6) {
          await ip("-n", bed.switch, "addr", "add", `fd18:${i + 1}::fe/64`, "dev", br, "nodad");
        }
      }
      for (const h of hosts) await bed.#addHost(h);
    } catch (e) {
      await bed.close();
      throw e;
    }
    return bed;
  }

  /** The hosts, in spec order. */
  get hosts(): Host[] {
    return this.#specs.map((s) => this.#hosts.get(s.name)!);
  }

  /**
   * A host by name.
   *
   * @param name the name in the spec
   * @returns the host
   */
  host(name: string): Host {
    const h = this.#hosts.get(name);
    if (!h) throw new TestBedError(`no host ${name} in this test bed`);
    return h;
  }

  /** @ignore the switch's port of a host's link */
  portName(host: Host, link: Link): string {
    return `h${this.#specs.findIndex((s) => s.name === host.name)}${link.iface}`;
  }

  async sysctl(netns: string, key: string, value: string): Promise<void> {
    const r = await exec("ip", ["netns", "exec", netns, "sysctl", "-qw", `${key}=${value}`]);
    if (r.code !== 0) throw new TestBedError(`sysctl ${key}=${value} in ${netns}: ${r.stderr}`);
  }

  async #addHost(spec: Required<HostSpec>): Promise<Host> {
    const index = this.#specs.indexOf(spec);
    const netns = `pt${this.id}-${spec.name}`;
    await ip("netns", "add", netns);
    await ip("-n", netns, "link", "set", "lo", "up");
    const links: Link[] = [];
    const host = new Host(this, spec.name, netns, links);
    this.#hosts.set(spec.name, host);
    for (const [j, netName] of spec.networks.entries()) {
      const ni = this.#networks.findIndex((n) => n.name === netName);
      const net = this.#networks[ni];
      const link: Link = { network: netName, iface: `lan${j}` };
      const port = this.portName(host, link);
      await ip(
        "-n",
        this.switch,
        "link",
        "add",
        port,
        "type",
        "veth",
        "peer",
        "name",
        link.iface,
        // a fixed MAC per host and interface: a host that reboots keeps it, as a real NIC does,
        // so its neighbours' ARP/ND caches stay right
        "address",
        this.#mac(index, j),
        "netns",
        netns,
      );
      await ip("-n", this.switch, "link", "set", port, "master", `br${ni}`);
      await ip("-n", this.switch, "link", "set", port, "up");
      await ip("-n", netns, "link", "set", link.iface, "up");
      if (spec.ipv4 && net.ipv4) {
        link.ipv4 = `198.18.${ni + 1}.${index + 1}`;
        await ip("-n", netns, "addr", "add", `${link.ipv4}/24`, "dev", link.iface);
      }
      if (spec.ipv6 && net.ipv6) {
        link.ipv6 = `fd18:${ni + 1}::${(index + 1).toString(16)}`;
        await ip("-n", netns, "addr", "add", `${link.ipv6}/64`, "dev", link.iface, "nodad");
      }
      links.push(link);
      if (spec.defaultRoute === netName) {
        if (link.ipv4) {
          await ip("-n", netns, "route", "add", "default", "via", `198.18.${ni + 1}.254`);
        }
        if (link.ipv6) {
          await ip("-n", netns, "-6", "route", "add", "default", "via", `fd18:${ni + 1}::fe`);
        }
      }
    }
    return host;
  }

  /** Locally administered unicast MAC: 02, the bed's id, host index, interface index. */
  #mac(host: number, link: number): string {
    const id = this.id.match(/../g)!;
    return ["02", ...id, host.toString(16).padStart(2, "0"), link.toString(16).padStart(2, "0")]
      .join(":");
  }

  /**
   * Destroys a host's namespace (its processes must have ended: kill them first) and creates it
   * again with the same interfaces and addresses, as a host that rebooted.
   *
   * @param name the host
   * @returns the new host (the old object's namespace is gone)
   */
  async reboot(name: string): Promise<Host> {
    const old = this.host(name);
    await this.#removeHost(old);
    return await this.#addHost(this.#specs.find((s) => s.name === name)!);
  }

  async #removeHost(h: Host): Promise<void> {
    for (const l of h.links) {
      await exec("ip", ["-n", this.switch, "link", "del", this.portName(h, l)]);
    }
    await exec("ip", ["netns", "del", h.netns]);
    this.#hosts.delete(h.name);
  }

  /** Removes every host, the bridges and the switch (idempotent; never throws). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const h of [...this.#hosts.values()]) await this.#removeHost(h);
    await exec("ip", ["netns", "del", this.switch]);
  }

  /** Same as {@linkcode close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
