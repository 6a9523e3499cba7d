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
import { killAll, type Plans, PYTHON, ROOT, warmCompileCaches } from "./_peer.ts";
import { POSTTROLL_PLANS, posttrollGroup } from "./_posttroll.ts";
import { NAMESERVER_PLANS, nameserverGroup } from "./_nameserver.ts";
import { IGWN_PLANS, igwnGroup } from "./_igwn.ts";
import { STARTUP_PLANS, startupGroup } from "./_startup.ts";
import { BRIDGE_PLANS, bridgeGroup } from "./_bridge.ts";
import { renderTable, type Row } from "./_table.ts";

type Log = (s: string) => void;
type GroupRun = (quick: boolean, log: Log) => Promise<Row[]>;

/** A group's runner with its quick or full plan. */
function withPlans<P>(run: (plan: P, log: Log) => Promise<Row[]>, plans: Plans<P>): GroupRun {
  return (quick, log) => run(quick ? plans.quick : plans.full, log);
}

/** The groups, in the order they run. */
const GROUPS = {
  posttroll: withPlans(posttrollGroup, POSTTROLL_PLANS),
  nameserver: withPlans(nameserverGroup, NAMESERVER_PLANS),
  igwn: withPlans(igwnGroup, IGWN_PLANS),
  startup: withPlans(startupGroup, STARTUP_PLANS),
  bridge: withPlans(bridgeGroup, BRIDGE_PLANS),
};
type Group = keyof typeof GROUPS;
const GROUP_NAMES = Object.keys(GROUPS) as Group[];

function parseArgs(args: string[]): { quick: boolean; only: Set<Group> } {
  let quick = false;
  const only = new Set<Group>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--quick") quick = true;
    else if (a === "--only" || a.startsWith("--only=")) {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : args[++i];
      for (const g of (v ?? "").split(",").map((s) => s.trim()).filter(Boolean)) {
        if (!(GROUP_NAMES as string[]).includes(g)) {
          throw new Error(`unknown group "${g}" (groups: ${GROUP_NAMES.join(", ")})`);
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
  if (only.size === 0) { for (const g of GROUP_NAMES) only.add(g); }
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
  await warmCompileCaches(log);
  try {
    for (const [name, run] of Object.entries(GROUPS)) {
      if (only.has(name as Group)) rows.push(...await run(quick, log));
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
