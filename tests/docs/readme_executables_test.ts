// The README's table of executables names every executable of cli/binaries.ts with its entry
// module, and nothing else (a new CLI cannot land undocumented).
import { assertEquals } from "@std/assert";
import { BINARIES } from "../../cli/binaries.ts";
import { REPO_ROOT } from "../../testing/python.ts";

Deno.test("README: the executables table matches cli/binaries.ts", async () => {
  const text = await Deno.readTextFile(`${REPO_ROOT}/README.md`);
  const start = text.indexOf("| executable (");
  const lines = text.slice(start).split("\n").slice(2);
  const rows = lines.slice(0, lines.findIndex((l) => !l.startsWith("|")));
  const table = new Map<string, string>();
  for (const row of rows) {
    const [name, entry] = row.split("|").slice(1, 3).map((c) => c.trim());
    table.set(/`([^`]+)`/.exec(name)![1], /`([^`]+)`/.exec(entry)![1]);
  }
  assertEquals(
    [...table].sort(),
    BINARIES.map((b) => [b.name, b.entry] as [string, string]).sort(),
  );
});
