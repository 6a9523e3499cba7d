// `deno task install`: every executable of cli/binaries.ts as a `deno install --global` launcher
// with exactly its permission flags, runnable from a directory outside the checkout; and
// `--uninstall` removes them.
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { BINARIES, denoFlags } from "../../cli/binaries.ts";
import { REPO_ROOT } from "../../testing/python.ts";

const DENO_DIR = Deno.execPath().replace(/\/[^/]*$/, "");

async function run(args: string[], cwd: string, env: Record<string, string> = {}) {
  const r = await new Deno.Command(args[0], {
    args: args.slice(1),
    cwd,
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

/** The flags of a launcher's `exec deno run ... 'file:///...'` line, before `--config`. */
function launcherFlags(text: string): { flags: string[]; entry: string } {
  const line = text.split("\n").find((l) => l.startsWith("exec deno run "));
  assert(line, `no exec line in launcher:\n${text}`);
  const words = line.slice("exec deno run ".length).split(" ");
  const entry = words.find((w) => w.startsWith("'file://"))!.slice(1, -1);
  const flags = words.filter((w) =>
    w.startsWith("--allow-") || w.startsWith("--deny-") || w.startsWith("--v8-flags=")
  );
  return { flags, entry };
}

Deno.test("install: each executable with exactly the flags of cli/binaries.ts; uninstall", async () => {
  const root = await Deno.makeTempDir({ prefix: "install-root-" });
  const outside = await Deno.makeTempDir({ prefix: "install-cwd-" });
  try {
    const inst = await run(
      [Deno.execPath(), "run", "-A", `${REPO_ROOT}/scripts/install.ts`, "--root", root],
      outside,
      { PATH: `/usr/bin:/bin`, HOME: outside },
    );
    assertEquals(inst.code, 0, inst.out);
    assertStringIncludes(inst.out, `${root}/bin is not on PATH`);
    assertStringIncludes(inst.out, "the launchers run `deno` from PATH, which has none");
    for (const b of BINARIES) {
      const { flags, entry } = launcherFlags(await Deno.readTextFile(`${root}/bin/${b.name}`));
      assertEquals(flags.sort(), denoFlags(b).sort(), b.name);
      assertEquals(entry, `file://${REPO_ROOT}/${b.entry}`);
      // runs from outside the checkout, with only the launchers' and deno's folders on PATH
      const v = await run([b.name, "--version"], outside, {
        PATH: `${root}/bin:${DENO_DIR}:/usr/bin:/bin`,
        HOME: outside,
      });
      assertEquals(v.code, 0, `${b.name} --version: ${v.out}`);
      assertStringIncludes(v.out, "0.");
    }
    const un = await run(
      [
        Deno.execPath(),
        "run",
        "-A",
        `${REPO_ROOT}/scripts/install.ts`,
        "--root",
        root,
        "--uninstall",
      ],
      outside,
      { PATH: `/usr/bin:/bin`, HOME: outside },
    );
    assertEquals(un.code, 0, un.out);
    for (const b of BINARIES) {
      assertEquals(
        await Deno.stat(`${root}/bin/${b.name}`).then(() => true, () => false),
        false,
        `${b.name} still installed`,
      );
    }
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("install: an unknown executable name is refused with the known ones", async () => {
  const r = await run(
    [Deno.execPath(), "run", "-A", `${REPO_ROOT}/scripts/install.ts`, "nameservr"],
    REPO_ROOT,
    { PATH: `/usr/bin:/bin`, HOME: "/nonexistent" },
  );
  assertEquals(r.code, 2, r.out);
  assertStringIncludes(r.out, 'unknown binary "nameservr"');
  assertStringIncludes(r.out, "posttroll-generate-keys");
});
