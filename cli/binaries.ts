/**
 * The one definition of the project's executables: entry module and the narrowest Deno permissions
 * each needs. `deno task compile` builds them with these flags, and CI runs the same entry modules
 * with `deno run` and the same flags when no runtime base (`DENORT_BIN`) is available.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { BINARIES } from "./binaries.ts";
 * const ns = BINARIES.find((b) => b.name === "nameserver")!;
 * assertEquals(ns.entry, "cli/nameserver.ts");
 * assertEquals(ns.permissions.includes("--allow-all"), false); // never broader than needed
 * ```
 *
 * @module
 */

/** An executable built from an entry module. */
export interface Binary {
  /** File name of the executable (under `dist/`). */
  name: string;
  /** Entry module, relative to the repository root. */
  entry: string;
  /** Deno permission flags, as narrow as the program allows. */
  permissions: string[];
  /**
   * Runtime flags (V8 settings) compiled into the executable and given to `deno run` of the
   * entry module alike (see {@linkcode denoFlags}), each with the measurement that justifies it.
   */
  runtimeFlags?: string[];
  /** One line for `--help` listings. */
  summary: string;
}

/** The executables: the design card's three, the posttroll <-> Kafka bridge and the `posttroll` tool. */
export const BINARIES: readonly Binary[] = [
  {
    name: "igwn-alert",
    entry: "cli/igwn_alert.ts",
    summary: "LIGO/Virgo/KAGRA GraceDB alert client (listen, topics, send) over Kafka",
    permissions: [
      // Kafka brokers (any host the user names).
      "--allow-net",
      // HOME, XDG_CONFIG_HOME, NETRC, USER and the like, for hop's auth.toml and .netrc.
      "--allow-env",
      // auth.toml, .netrc, CA bundles, alert files to send, handlers files.
      "--allow-read",
      // listen --output-dir and --dead-letter write alert files.
      "--allow-write",
      // listen --exec and --handlers run the programs the user names for each alert.
      "--allow-run",
      // hostname for client ids.
      "--allow-sys=hostname",
    ],
  },
  {
    name: "nameserver",
    entry: "cli/nameserver.ts",
    summary: "PostTroll nameserver (address book on port 5557, multicast or direct registration)",
    permissions: [
      // ZeroMQ REP/PUB sockets and UDP multicast.
      "--allow-net",
      // POSTTROLL_* configuration.
      "--allow-env",
      // config files, secure-backend key files, its own pid file.
      "--allow-read",
      // log file and pid file.
      "--allow-write",
      // own address for announcements (from the interfaces: Deno reads the routing table in
      // /proc only with --allow-all, see lib/posttroll/own_ip.ts); login name and hostname for
      // message senders.
      "--allow-sys=hostname,networkInterfaces,uid",
      // `-d start` re-executes itself in the background.
      "--allow-run",
    ],
    runtimeFlags: [
      // A young generation of 2 x 2 MiB (V8's default grows to 2 x 16 MiB): a flood of 20,000
      // distinct 1 KiB multicast announcements grew the nameserver's RSS by 105 MiB instead of
      // 180 MiB (60,000: 138 instead of 213), idle RSS unchanged (57 MiB); look-ups/s in
      // bench/README.md (tests/faults/nameserver_attacks_test.ts, bench/e2e --only nameserver).
      "--v8-flags=--max-semi-space-size=2",
    ],
  },
  {
    name: "posttroll-bridge",
    entry: "cli/posttroll_bridge.ts",
    summary: "posttroll <-> Kafka bridge (to-kafka, from-kafka) for durable fan-out between sites",
    permissions: [
      // Kafka brokers, ZeroMQ sockets, the nameserver.
      "--allow-net",
      // POSTTROLL_* configuration; HOME, XDG_*, NETRC, HOP_CONFIG_DIR for credentials;
      // STATE_DIRECTORY for the state file.
      "--allow-env",
      // config files, auth.toml, .netrc, CA bundles, key files, the state file.
      "--allow-read",
      // the duplicate-suppression state file.
      "--allow-write",
      // own address for announcements (from the interfaces, as for the nameserver); login name
      // and hostname for the site name.
      "--allow-sys=hostname,networkInterfaces,uid",
    ],
    runtimeFlags: [
      // A young generation of 2 x 2 MiB: 200,000 short messages through one to-kafka and one
      // from-kafka peaked at 227-314 MiB (to-kafka) and 269-293 MiB (from-kafka) instead of
      // 325-342 and 312-378 MiB, CPU per message within the runs' spread (to-kafka 20.7-24.8 vs
      // 19.9-23.7 µs, from-kafka 17.8-24.3 vs 17.0-19.4 µs), three alternating rounds
      // (bench/README.md, kafka session 4). Capping the old space instead reached 141-179 MiB
      // but cost +25-150 % CPU per message.
      "--v8-flags=--max-semi-space-size=2",
    ],
  },
  {
    name: "posttroll",
    entry: "cli/posttroll.ts",
    summary: "operator tool: listen to messages, send one, list the nameserver's services",
    permissions: [
      // ZeroMQ sockets, the nameserver, UDP multicast announcements, the --metrics server.
      "--allow-net",
      // POSTTROLL_* configuration.
      "--allow-env",
      // config files and secure-backend key files.
      "--allow-read",
      // own address for `send`'s announcements; login name and hostname for message senders.
      "--allow-sys=hostname,networkInterfaces,uid",
    ],
    runtimeFlags: [
      // A young generation of 2 x 2 MiB, as for the nameserver: 5,000 look-ups on fresh REQ
      // sockets (what `services` does per call) peaked at 77-78 MiB instead of 97-101 MiB, at the
      // same look-ups/s (1,419-2,055 vs 1,014-2,148, load 8-10); bench/README.md "memory".
      // No tier-up flag is added: earlier Maglev/TurboFan, Sparkplug for all, eager feedback
      // vectors and other semi-spaces shortened no warm-up of the publisher and subscriber
      // without costing p99, 64 KiB throughput or memory (bench/e2e/posttroll_warmup.ts,
      // bench/README.md "Session 10 (tier, #21)").
      "--v8-flags=--max-semi-space-size=2",
    ],
  },
  {
    name: "posttroll-generate-keys",
    entry: "cli/posttroll_generate_keys.ts",
    summary: "create a CurveZMQ key pair (NAME.key, NAME.key_secret) for the secure_zmq backend",
    permissions: [
      // the target directory: checks it exists and the files do not.
      "--allow-read",
      // NAME.key and NAME.key_secret.
      "--allow-write",
    ],
  },
];

/**
 * Every flag of a binary for `deno compile` or `deno run` of its entry module: its permissions,
 * then its runtime flags.
 *
 * @param b the binary
 * @returns the flags
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { binary, denoFlags } from "./binaries.ts";
 * assert(denoFlags(binary("nameserver")).includes("--allow-net"));
 * ```
 */
export function denoFlags(b: Binary): string[] {
  return [...b.permissions, ...(b.runtimeFlags ?? [])];
}

/** Looks a binary up by name; throws for an unknown name. */
export function binary(name: string): Binary {
  const b = BINARIES.find((x) => x.name === name);
  if (!b) throw new Error(`unknown binary ${JSON.stringify(name)}`);
  return b;
}
