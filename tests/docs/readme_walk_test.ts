// The README walk: every fenced shell and TypeScript block of README.md and of the Markdown files
// it links (transitively) runs as written, in document order, against local peers (a nameserver,
// the harness Kafka broker, the Python peers) in a scratch environment outside the checkout
// (tests/docs/_walk.ts). A block that cannot run here carries a marker saying why; the marker
// language is in tests/docs/_walk_parse.ts and /work/notes/CONVENTIONS.md:
//
//   <!-- walk: skip REASON -->            not run (the reason is printed)
//   <!-- walk: static REASON -->          checked, not run: bash -n, `deno task`s and repo files it
//                                         names exist; TypeScript type-checked
//   <!-- walk: replace FROM => TO -->     literal substitution before running; TO may use
//                                         ${WALK_*} variables and ${WALK_PORT_<ANY>} (a free port)
//   <!-- walk: file PATH -->              write the block to PATH (relative: $WALK_PROJECT; ~/: $HOME)
//   <!-- walk: needs kafka|nameserver|python|denort -->
//   <!-- walk: background [READY-REGEX] -->  leave it running once READY-REGEX was printed
//   <!-- walk: until REGEX -->            run until REGEX is printed, then stop it (SIGTERM)
//   <!-- walk: expect REGEX -->           the output must match
//   <!-- walk: feed COMMAND -->           run COMMAND every 2 s while the block runs
//   <!-- walk: exit CODE -->              expected exit code (default 0)
//   <!-- walk: timeout SECONDS -->        default 120
//   <!-- walk: cwd DIR -->                working directory (default: checkout; ts: $WALK_PROJECT)
//
// A TypeScript block whose first line is a comment ending in `deno run <flags> <file>.ts` is saved
// as <file>.ts in $WALK_PROJECT and run with exactly that command; other TypeScript blocks are
// type-checked there.
//
// WALK_DOCS=README.md,docs/X.md walks only those documents (while writing a recipe).
import { assert } from "@std/assert";
import { REPO_ROOT } from "../../testing/python.ts";
import { Walk } from "./_walk.ts";
import { blockKind, linkedDocs, parseBlocks } from "./_walk_parse.ts";

/** README.md and the repository's Markdown files it links, directly or through other docs. */
async function documents(): Promise<string[]> {
  const out = ["README.md"];
  for (let i = 0; i < out.length; i++) {
    const text = await Deno.readTextFile(`${REPO_ROOT}/${out[i]}`);
    for (const d of linkedDocs(out[i], text)) {
      if (!out.includes(d)) out.push(d);
    }
  }
  return out;
}

Deno.test("README walk: every shell and TypeScript block works as written", async (t) => {
  await using walk = await Walk.create();
  const summary: string[] = [];
  const only = Deno.env.get("WALK_DOCS")?.split(",").map((d) => d.trim());
  for (const doc of await documents()) {
    if (only && !only.includes(doc)) continue;
    let text: string;
    try {
      text = await Deno.readTextFile(`${REPO_ROOT}/${doc}`);
    } catch {
      throw new Error(`a link points to ${doc}, which does not exist`);
    }
    for (const block of parseBlocks(doc, text)) {
      if (blockKind(block) === "ignored" && !block.directives.length) continue;
      const name = `${doc}:${block.line} ${block.lang}`;
      await t.step(name, async () => {
        const r = await walk.run(block);
        const line = `${name}: ${r.status}${r.note ? ` (${r.note})` : ""}, ${r.ms} ms`;
        summary.push(line);
        console.log(line);
      });
    }
  }
  const failures = walk.backgroundFailures();
  assert(failures.length === 0, failures.map((f) => f.message).join("\n"));
  const counts = new Map<string, number>();
  for (const l of summary) {
    const status = l.split(": ")[1].split(/[ ,]/)[0];
    counts.set(status, (counts.get(status) ?? 0) + 1);
  }
  console.log(`README walk: ${[...counts].map(([k, v]) => `${v} ${k}`).join(", ")}`);
});
