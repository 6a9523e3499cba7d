/**
 * Runs the fault suite (tests/faults/) with `FAULT_SUMMARY` set and prints a markdown table of the
 * faults injected, inputs tried and messages lost. `--from <file.jsonl>` renders an existing file
 * without running the tests.
 *
 * Usage: `deno task faults:summary [--from file.jsonl] [--write docs/FAULTS.md]` (`--write`
 * replaces the table between the `<!-- fault-summary:start/end -->` markers of that file).
 *
 * @module
 */
import type { FaultRecord } from "./_record.ts";

/**
 * Merges records with the same area and fault and renders the table.
 *
 * @param records the JSON-line records
 * @returns markdown
 * @example
 * ```ts
 * renderTable([{ area: "codec", fault: "random bytes", inputs: 10, lost: 0 }]);
 * ```
 */
export function renderTable(records: FaultRecord[]): string {
  const merged = new Map<string, FaultRecord & { runs: number }>();
  for (const r of records) {
    const key = `${r.area}\u0000${r.fault}`;
    const m = merged.get(key);
    if (m) {
      m.inputs += r.inputs;
      m.lost += r.lost;
      m.runs++;
      if (r.notes && !m.notes?.includes(r.notes)) {
        m.notes = [m.notes, r.notes].filter(Boolean).join("; ");
      }
    } else merged.set(key, { ...r, runs: 1 });
  }
  const rows = [...merged.values()].sort((a, b) =>
    a.area === b.area ? 0 : a.area < b.area ? -1 : 1
  );
  const lines = [
    "| area | fault injected | inputs tried | messages lost | notes |",
    "| --- | --- | ---: | ---: | --- |",
  ];
  for (const r of rows) {
    const esc = (s: string) => s.replaceAll("|", "\\|");
    lines.push(
      `| ${r.area} | ${esc(r.fault)} | ${r.inputs} | ${r.lost} | ${esc(r.notes ?? "")} |`,
    );
  }
  const total = rows.reduce((n, r) => n + r.inputs, 0);
  const lost = rows.reduce((n, r) => n + r.lost, 0);
  lines.push(`| **total** | ${rows.length} faults | ${total} | ${lost} | |`);
  return lines.join("\n");
}

const START = "<!-- fault-summary:start -->";
const END = "<!-- fault-summary:end -->";

async function main(args: string[]): Promise<number> {
  let file: string;
  const from = args.indexOf("--from");
  let code = 0;
  if (from >= 0) {
    file = args[from + 1];
  } else {
    file = await Deno.makeTempFile({ prefix: "fault-summary-", suffix: ".jsonl" });
    const dir = new URL(".", import.meta.url).pathname;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["test", "--allow-all", dir],
      env: { FAULT_SUMMARY: file },
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    code = out.code;
  }
  const text = await Deno.readTextFile(file);
  const records = text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as FaultRecord);
  const table = renderTable(records);
  console.log(table);
  const write = args.indexOf("--write");
  if (write >= 0) {
    const doc = args[write + 1];
    const md = await Deno.readTextFile(doc);
    const start = md.indexOf(START), end = md.indexOf(END);
    if (start < 0 || end < start) throw new Error(`${doc} has no ${START} ... ${END} markers`);
    await Deno.writeTextFile(
      doc,
      md.slice(0, start + START.length) + "\n" + table + "\n" + md.slice(end),
    );
    await new Deno.Command(Deno.execPath(), { args: ["fmt", doc], stderr: "null" }).output();
    console.error(`table written to ${doc}`);
  }
  if (code !== 0) console.error(`fault suite failed (exit ${code}); the table shows what ran`);
  return code;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
