// The README's first command on a machine that has nothing but npm (or nothing but a Deno >= 2.9):
// `./dev demo` in a fresh copy of the checkout, with a scrubbed PATH that holds no java, mvn or
// python, installs only what the demo needs and runs it; `./dev test`'s peer step names each
// missing prerequisite with the Debian/Ubuntu command that installs it.
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { REPO_ROOT } from "../../testing/python.ts";

/** Tools `./dev` and `.ci/install deno` use, besides node/npm or deno. */
const BASE_TOOLS = [
  "bash",
  "sh",
  "env",
  "dirname",
  "cat",
  "sed",
  "head",
  "grep",
  "rm",
  "mkdir",
  "cut",
  "wc",
  "id",
  "ls",
  "sort",
  "tr",
  "sha256sum",
];

function which(cmd: string): string {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/bin", "/bin"])) {
    try {
      if (Deno.statSync(`${dir}/${cmd}`).isFile) return `${dir}/${cmd}`;
    } catch { /* next */ }
  }
  throw new Error(`${cmd} not found`);
}

/** A directory of symlinks to exactly these commands: the scrubbed PATH. */
async function toolDir(root: string, tools: string[], links: Record<string, string> = {}) {
  const dir = await Deno.makeTempDir({ dir: root, prefix: "bin-" });
  for (const t of tools) await Deno.symlink(which(t), `${dir}/${t}`);
  for (const [name, target] of Object.entries(links)) await Deno.symlink(target, `${dir}/${name}`);
  return dir;
}

/** A fresh copy of the checkout: tracked and new files, nothing ignored (no .cache). */
async function freshCopy(root: string): Promise<string> {
  const dest = `${root}/clone`;
  await Deno.mkdir(dest);
  const files = await new Deno.Command("git", {
    args: ["ls-files", "-co", "--exclude-standard", "-z"],
    cwd: REPO_ROOT,
    stdout: "piped",
  }).output();
  for (const f of new TextDecoder().decode(files.stdout).split("\0")) {
    if (!f || f === ".cache") continue;
    const target = `${dest}/${f}`;
    await Deno.mkdir(target.replace(/\/[^/]*$/, ""), { recursive: true });
    const info = await Deno.lstat(`${REPO_ROOT}/${f}`).catch(() => undefined);
    if (!info?.isFile) continue; // deleted in the work tree, or a symlink
    await Deno.copyFile(`${REPO_ROOT}/${f}`, target);
    await Deno.chmod(target, info.mode! & 0o777);
  }
  return dest;
}

async function run(cwd: string, path: string, args: string[], env: Record<string, string> = {}) {
  const r = await new Deno.Command(args[0], {
    args: args.slice(1),
    cwd,
    clearEnv: true,
    env: { HOME: Deno.env.get("HOME") ?? "/root", PATH: path, NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
}

async function absent(cmds: string[], path: string, cwd: string) {
  for (const c of cmds) {
    const r = await run(cwd, path, [`${path.split(":")[0]}/bash`, "-c", `command -v ${c}`]);
    assertEquals(r.code, 1, `${c} is on the scrubbed PATH: ${r.out}`);
  }
}

const EXTERNAL = ["java", "mvn", "python3", "python", "pip", "deno"];

Deno.test("fresh machine with only npm: ./dev demo fetches Deno, not Kafka or Python", async () => {
  const root = await Deno.makeTempDir({ prefix: "fresh-npm-" });
  try {
    const bin = await toolDir(root, [...BASE_TOOLS, "node", "npm"]);
    const clone = await freshCopy(root);
    await absent(EXTERNAL, bin, clone);
    const r = await run(clone, bin, ["./dev", "demo"]);
    assertEquals(r.code, 0, r.err + r.out);
    assertStringIncludes(r.out, "5 messages published, found by service name and received");
    assertStringIncludes(r.err, "[install] deno: fetching deno@2.9.6 from the npm registry");
    assert(/\[install\] deno: 2\.9\.6 in \.cache\/deno \(\d+ s\)/.test(r.err), r.err);
    for (const peer of ["kafka", "venv", "m2"]) {
      assertEquals(await Deno.stat(`${clone}/.cache/${peer}`).then(() => true, () => false), false);
    }
    // a second run finds everything in place and says nothing about installing
    const again = await run(clone, bin, ["./dev", "demo", "-n", "2"]);
    assertEquals(again.code, 0, again.err + again.out);
    assertEquals(again.err.includes("[install]"), false, again.err);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("fresh machine with a Deno >= 2.9 on PATH (no npm): ./dev demo uses it", async () => {
  const root = await Deno.makeTempDir({ prefix: "fresh-deno-" });
  try {
    const bin = await toolDir(root, BASE_TOOLS, { deno: Deno.execPath() });
    const clone = await freshCopy(root);
    await absent(["java", "mvn", "python3", "python", "npm", "node"], bin, clone);
    const r = await run(clone, bin, ["./dev", "demo", "-n", "2"]);
    assertEquals(r.code, 0, r.err + r.out);
    assertStringIncludes(r.out, "2 messages published");
    assertEquals(await Deno.stat(`${clone}/.cache/deno`).then(() => true, () => false), false);
    assertEquals((await Deno.readTextFile(`${clone}/.cache/deno-bin`)).trim(), bin);
    // `./dev test` needs the peers: each missing prerequisite is named with its apt-get command
    const kafka = await run(clone, bin, ["bash", ".ci/install", "peers"]);
    assertEquals(kafka.code, 1, kafka.err);
    assertStringIncludes(kafka.err, "java is missing (the test Kafka broker runs on Java 17)");
    assertStringIncludes(kafka.err, "apt-get install -y openjdk-17-jre-headless");
    const python = await run(clone, bin, ["bash", ".ci/install", "python"], { HOME: root });
    assertEquals(python.code, 1, python.err);
    assertStringIncludes(python.err, "Python >= 3.12 is missing");
    assertStringIncludes(python.err, "apt-get install -y python3 python3-venv");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("fresh machine without npm or Deno: the missing npm is named", async () => {
  const root = await Deno.makeTempDir({ prefix: "fresh-none-" });
  try {
    const bin = await toolDir(root, BASE_TOOLS);
    const clone = await freshCopy(root);
    const r = await run(clone, bin, ["./dev", "demo"]);
    assertEquals(r.code, 1, r.err + r.out);
    assertStringIncludes(
      r.err,
      "npm is missing (it fetches Deno 2.9.6, and no deno >= 2.9 is on PATH)",
    );
    assertStringIncludes(r.err, "apt-get install -y npm");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
