/**
 * `deno task compile [--target T ...] [--all-targets] [--smoke]`: builds the single-file
 * executables into `dist/` with `deno compile` and the permissions of `cli/binaries.ts`.
 *
 * `deno compile` needs a runtime base (`denort`), which it downloads unless the environment
 * variable `DENORT_BIN` points at one. Without network access and without `DENORT_BIN`, `--smoke`
 * (what CI runs) does not build: it runs the same entry modules with `deno run` and exactly the
 * same permission flags, checks `--help` and `--version`, and says that it did so.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { BINARIES, type Binary, denoFlags } from "../cli/binaries.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const VERSION: string = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).version;

/** Targets `--all-targets` builds (need the runtime bases from the internet). */
const ALL_TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
];

async function run(
  cmd: string,
  args: string[],
  cwd?: string,
): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

async function compile(b: Binary, target?: string): Promise<string> {
  const out = target ? `${ROOT}dist/${target}/${b.name}` : `${ROOT}dist/${b.name}`;
  const args = [
    "compile",
    ...denoFlags(b),
    "--no-prompt",
    ...(target ? ["--target", target] : []),
    "--output",
    out,
    `${ROOT}${b.entry}`,
  ];
  console.log(`deno ${args.join(" ")}`);
  const r = await run(Deno.execPath(), args);
  if (r.code !== 0) {
    const hint = Deno.env.get("DENORT_BIN")
      ? ""
      : "\n`deno compile` needs its runtime base (denort): it downloads one unless " +
        "DENORT_BIN names a denort binary of the same Deno version. Without either, " +
        "`deno task install` puts the same executables on PATH with `deno install --global`.";
    throw new Error(`compiling ${b.name} failed:\n${r.out}${hint}`);
  }
  return out;
}

/** Runs `--help` and `--version` from an empty directory; returns the version line. */
async function smoke(name: string, command: string[]): Promise<string> {
  const empty = await Deno.makeTempDir({ prefix: `smoke-${name}-` });
  try {
    const help = await run(command[0], [...command.slice(1), "--help"], empty);
    if (help.code !== 0 || !help.out.toLowerCase().includes("usage")) {
      throw new Error(`${name} --help failed (exit ${help.code}):\n${help.out}`);
    }
    const version = await run(command[0], [...command.slice(1), "--version"], empty);
    if (version.code !== 0 || !version.out.includes(VERSION)) {
      throw new Error(
        `${name} --version failed or lacks ${VERSION} (exit ${version.code}):\n${version.out}`,
      );
    }
    return version.out.trim().split("\n")[0];
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      target: { type: "string", multiple: true },
      "all-targets": { type: "boolean" },
      smoke: { type: "boolean" },
    },
  });
  const denort = Deno.env.get("DENORT_BIN");
  const targets: (string | undefined)[] = values["all-targets"]
    ? ALL_TARGETS
    : values.target?.length
    ? values.target
    : [undefined];

  if (values.smoke && !denort) {
    console.log(
      "DENORT_BIN is not set and the runtime base cannot be downloaded here: not building binaries;\n" +
        "running the same entry modules with `deno run` and the same permission flags instead.",
    );
    for (const b of BINARIES) {
      const v = await smoke(b.name, [
        Deno.execPath(),
        "run",
        ...denoFlags(b),
        "--no-prompt",
        `${ROOT}${b.entry}`,
      ]);
      console.log(`  deno run ${denoFlags(b).join(" ")} ${b.entry}: --help ok, --version: ${v}`);
    }
    return 0;
  }

  for (const target of targets) {
    for (const b of BINARIES) {
      const out = await compile(b, target);
      if (values.smoke && !target) {
        const v = await smoke(b.name, [out]);
        console.log(`  ${out}: --help ok, --version: ${v}`);
      }
    }
  }
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    Deno.exit(1);
  }
}
