/**
 * `deno task install [--root DIR] [NAME ...]` puts the executables of `cli/binaries.ts` on `PATH`
 * without `deno compile`: `deno install --global` writes a small launcher per executable that runs
 * this checkout's entry module with exactly the flags of `cli/binaries.ts` (permissions and runtime
 * flags, `denoFlags`) and this
 * checkout's `deno.json` (its import map). `deno task install --uninstall [NAME ...]` removes them.
 *
 * The launchers run the `deno` found on `PATH`, and the checkout must stay where it is (they point
 * into it); after `git pull`, nothing needs reinstalling.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { BINARIES, type Binary, binary, denoFlags } from "../cli/binaries.ts";

const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");

const USAGE = `usage: deno task install [--root DIR] [--uninstall] [NAME ...]

Installs (or with --uninstall removes) the executables ${BINARIES.map((b) => b.name).join(", ")}
with \`deno install --global\` and the permission flags of cli/binaries.ts. Without NAME: all.
--root DIR installs into DIR/bin (default: $DENO_INSTALL_ROOT, else ~/.deno).`;

/** The `deno install` arguments for one executable (exported for the test). */
export function installArgs(b: Binary, root?: string): string[] {
  return [
    "install",
    "--global",
    "--force",
    ...(root ? ["--root", root] : []),
    "--name",
    b.name,
    "--config",
    `${ROOT}/deno.json`,
    ...denoFlags(b),
    "--no-prompt",
    `${ROOT}/${b.entry}`,
  ];
}

function binDir(root: string | undefined): string {
  const r = root ?? Deno.env.get("DENO_INSTALL_ROOT") ?? `${Deno.env.get("HOME") ?? "~"}/.deno`;
  return `${r.replace(/\/$/, "")}/bin`;
}

function onPath(dir: string): boolean {
  return (Deno.env.get("PATH") ?? "").split(":").some((p) => p.replace(/\/$/, "") === dir);
}

function findOnPath(name: string): string | undefined {
  for (const p of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!p) continue;
    try {
      if (Deno.statSync(`${p}/${name}`).isFile) return `${p}/${name}`;
    } catch { /* not here */ }
  }
  return undefined;
}

async function deno(args: string[]): Promise<{ ok: boolean; out: string }> {
  const r = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  return { ok: r.success, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

/**
 * Installs or uninstalls; returns the exit code.
 *
 * @param args command-line arguments
 * @returns 0 on success
 */
export async function main(args: string[]): Promise<number> {
  let values, positionals;
  try {
    ({ values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        root: { type: "string" },
        uninstall: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    console.error(`${USAGE}\ninstall: error: ${(e as Error).message}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  let chosen: Binary[];
  try {
    chosen = positionals.length ? positionals.map(binary) : [...BINARIES];
  } catch (e) {
    console.error(`install: ${(e as Error).message} (known: ${BINARIES.map((b) => b.name)})`);
    return 2;
  }
  const dir = binDir(values.root);
  for (const b of chosen) {
    if (values.uninstall) {
      const r = await deno([
        "uninstall",
        "--global",
        ...(values.root ? ["--root", values.root] : []),
        b.name,
      ]);
      if (!r.ok && !/not found|No installation found/i.test(r.out)) {
        console.error(`uninstalling ${b.name} failed:\n${r.out}`);
        return 1;
      }
      console.log(r.ok ? `removed ${dir}/${b.name}` : `${b.name} was not installed in ${dir}`);
      continue;
    }
    const r = await deno(installArgs(b, values.root));
    if (!r.ok) {
      console.error(`installing ${b.name} failed:\n${r.out}`);
      return 1;
    }
    console.log(`${dir}/${b.name}: deno run ${denoFlags(b).join(" ")} ${b.entry}`);
  }
  if (!values.uninstall) {
    if (!onPath(dir)) console.log(`\n${dir} is not on PATH: export PATH="${dir}:$PATH"`);
    if (!findOnPath("deno")) {
      const denoDir = Deno.execPath().replace(/\/[^/]*$/, "");
      console.log(
        `the launchers run \`deno\` from PATH, which has none: export PATH="${denoDir}:$PATH"`,
      );
    }
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
