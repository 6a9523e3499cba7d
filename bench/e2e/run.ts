/**
 * End-to-end benchmarks: ours against the Python originals (posttroll 1.16, igwn-alert 0.7) and
 * the raw transports (pyzmq, @platformatic/kafka), every peer in its own process, loopback only.
 *
 * ```sh
 * deno task bench:e2e            # full run (~7 min)
 * deno task bench:e2e --quick    # short run (~2.5 min)
 * deno task bench:e2e --only posttroll,nameserver   # groups: posttroll nameserver igwn startup bridge
 * ```
 *
 * Prints one markdown table on stdout (progress goes to stderr).
 *
 * @module
 */
import { killAll, PYTHON, ROOT } from "./_peer.ts";
import { posttrollGroup } from "./_posttroll.ts";
import { nameserverGroup } from "./_nameserver.ts";
import { igwnGroup } from "./_igwn.ts";
import { startupGroup } from "./_startup.ts";
import { bridgeGroup } from "./_bridge.ts";
import { renderTable, type Row } from "./_table.ts";

const GROUPS = ["posttroll", "nameserver", "igwn", "startup", "bridge"] as const;
type Group = typeof GROUPS[number];

function parseArgs(args: string[]): { quick: boolean; only: Set<Group> } {
  let quick = false;
  const only = new Set<Group>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--quick") quick = true;
    else if (a === "--only" || a.startsWith("--only=")) {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : args[++i];
      for (const g of (v ?? "").split(",").map((s) => s.trim()).filter(Boolean)) {
        if (!(GROUPS as readonly string[]).includes(g)) {
          throw new Error(`unknown group "${g}" (groups: ${GROUPS.join(", ")})`);
        }
        only.add(g as Group);
      }
    } else if (a === "-h" || a === "--help") {
      console.log(
        "usage: deno task bench:e2e [--quick] [--only posttroll,nameserver,igwn,startup,bridge]",
      );
      Deno.exit(0);
    } else throw new Error(`unknown argument "${a}"`);
  }
  if (only.size === 0) { for (const g of GROUPS) only.add(g); }
  return { quick, only };
}

function loadavg(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  } catch {
    return "?";
  }
}

/** One line per fact about the machine and the peers' versions. */
async function machineInfo(): Promise<string[]> {
  const cpu = /^model name\s*:\s*(.*)$/m.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1] ?? "?";
  const mem = /^MemTotal:\s*(\d+)/m.exec(Deno.readTextFileSync("/proc/meminfo"))?.[1];
  const py = await new Deno.Command(PYTHON, {
    args: [
      "-c",
      "import sys, zmq, importlib.metadata as m, confluent_kafka as ck\n" +
      "print(sys.version.split()[0], zmq.__version__, zmq.zmq_version(), m.version('posttroll'), " +
      "m.version('igwn-alert'), m.version('hop-client'), m.version('confluent-kafka'), ck.libversion()[0])",
    ],
    stdout: "piped",
    stderr: "null",
  }).output().then((o) => new TextDecoder().decode(o.stdout).trim().split(" ")).catch(() => []);
  let kafka = "?";
  try {
    for (const e of Deno.readDirSync(`${ROOT}/.cache/kafka/lib`)) {
      const m = /^kafka_[\d.]+-([\d.]+)\.jar$/.exec(e.name);
      if (m) kafka = m[1];
    }
  } catch { /* not installed */ }
  const java = await new Deno.Command("java", { args: ["-version"], stderr: "piped" }).output()
    .then((o) => new TextDecoder().decode(o.stderr).split("\n")[0]).catch(() => "?");
  const kafkaClient =
    JSON.parse(Deno.readTextFileSync(`${ROOT}/deno.json`)).imports?.["@platformatic/kafka"] ?? "?";
  return [
    `cpu: ${navigator.hardwareConcurrency} x ${cpu}; memory ${
      mem ? (Number(mem) / 1048576).toFixed(1) : "?"
    } GiB; load average ${loadavg()}`,
    `deno ${Deno.version.deno} (v8 ${Deno.version.v8}); ${kafkaClient}`,
    `python ${py[0]}; pyzmq ${py[1]} / libzmq ${py[2]}; posttroll ${py[3]}; igwn-alert ${
      py[4]
    }; hop-client ${py[5]}; confluent-kafka ${py[6]} / librdkafka ${py[7]}`,
    `kafka ${kafka} (KRaft, single node, PLAINTEXT listener); ${java}`,
  ];
}

async function main(): Promise<number> {
  const { quick, only } = parseArgs(Deno.args);
  const t0 = performance.now();
  const log = (s: string) =>
    console.error(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${s}`);
  const onSignal = () => {
    killAll().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const rows: Row[] = [];
  for (const line of await machineInfo()) log(line);
  try {
    if (only.has("posttroll")) {
      rows.push(
        ...await posttrollGroup(
          quick
            ? {
              count: { short: 60_000, file_event: 30_000, binary64k: 1_500 },
              seconds: 1.5,
              latencyCount: 2_000,
              latencyWarm: 300,
              rate: 1000,
            }
            : {
              count: { short: 400_000, file_event: 200_000, binary64k: 6_000 },
              seconds: 5,
              latencyCount: 10_000,
              latencyWarm: 1_000,
              rate: 1000,
            },
          log,
        ),
      );
    }
    if (only.has("nameserver")) {
      rows.push(
        ...await nameserverGroup(
          quick ? { lookups: 1_000, seconds: 3 } : {
            lookups: 5_000,
            seconds: 10,
          },
          log,
        ),
      );
    }
    if (only.has("igwn")) {
      rows.push(
        ...await igwnGroup(
          quick
            ? {
              count: { "1k": 5_000, "64k": 500 },
              seconds: 5,
              cutoff: 8,
              latencyCount: 200,
              latencyWarm: 20,
              rate: 100,
              perCallCount: 20,
            }
            : {
              count: { "1k": 30_000, "64k": 3_000 },
              seconds: 10,
              cutoff: 20,
              latencyCount: 1_000,
              latencyWarm: 50,
              rate: 100,
              perCallCount: 100,
            },
          log,
        ),
      );
    }
    if (only.has("startup")) {
      rows.push(...await startupGroup({ runs: quick ? 3 : 7, readyRuns: quick ? 3 : 7 }, log));
    }
    if (only.has("bridge")) {
      rows.push(
        ...await bridgeGroup(
          quick
            ? {
              count: { short: 30_000, file_event: 20_000 },
              seconds: 3,
              window: { short: 8_000, file_event: 2_000 },
              latencyCount: 500,
              latencyWarm: 100,
              rate: 100,
              saslSsl: true,
            }
            : {
              count: { short: 200_000, file_event: 100_000 },
              seconds: 10,
              window: { short: 8_000, file_event: 2_000 },
              latencyCount: 3_000,
              latencyWarm: 200,
              rate: 100,
              saslSsl: true,
            },
          log,
        ),
      );
    }
  } finally {
    await killAll();
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
  log(`done in ${((performance.now() - t0) / 1000).toFixed(0)} s; load average ${loadavg()}`);
  console.log(renderTable(rows));
  return 0;
}

if (import.meta.main) Deno.exit(await main());
