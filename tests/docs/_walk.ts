/**
 * The README walk's running half: runs the blocks that `_walk_parse.ts` read, in document order,
 * in one walk environment shared by all documents of the walk:
 *
 * - a scratch directory outside the repository (`$WALK_SCRATCH`), with its own `HOME` (so
 *   `deno task install`, `~/.config/hop/auth.toml` and pid files stay private), `$WALK_PROJECT`
 *   (a directory for the user's own Deno scripts: TypeScript blocks are saved and run there);
 * - `PATH` = `$HOME/.deno/bin`, the running Deno's folder, the system folders (no Python, Java or
 *   Maven unless a block `needs python`);
 * - private posttroll ports and multicast group (`POSTTROLL_NAMESERVER_PORT`,
 *   `POSTTROLL_ADDRESS_PUBLISH_PORT`, `POSTTROLL_BROADCAST_PORT`,
 *   `POSTTROLL_SECURE_ZMQ_NAMESERVER_PORT`, `POSTTROLL_MC_GROUP`, `POSTTROLL_MULTICAST_INTERFACE`),
 *   so the walk never meets a real nameserver or another test;
 * - every block starts from that environment (what a block exports or where it `cd`s does not
 *   carry over): shell blocks in the checkout, TypeScript blocks in `$WALK_PROJECT`.
 *
 * @module
 */
import { type KafkaBroker, startKafka } from "../../testing/kafka.ts";
import { createTopics } from "../igwn_alert/_helpers.ts";
import { freePort, tcpOpen, waitFor } from "../../testing/net.ts";
import { REPO_ROOT } from "../../testing/python.ts";
import {
  type Block,
  blockKind,
  directive,
  directives,
  type Need,
  tsCommand,
} from "./_walk_parse.ts";

/** What became of a block. */
export interface BlockResult {
  /** `ran`, `background` (still running), `skipped`, `static` (checked without running), `file`, `ignored`. */
  status: "ran" | "background" | "skipped" | "static" | "file" | "ignored";
  /** Why it was skipped, or what was checked. */
  note?: string;
  /** Milliseconds taken. */
  ms: number;
}

/** A block that did not work as written. */
export class WalkFailure extends Error {
  /**
   * @param block the block
   * @param message what went wrong
   * @param output what it printed
   */
  constructor(block: Block, message: string, output = "") {
    super(
      `${block.doc}:${block.line} (${block.lang} block): ${message}\n--- block\n${block.text}` +
        (output ? `--- output\n${output.slice(-6000)}` : ""),
    );
    this.name = "WalkFailure";
  }
}

const DEFAULT_TIMEOUT_S = 120;

/** A process group started for a block (bash under `setsid`), with its output. */
class Proc {
  readonly child: Deno.ChildProcess;
  output = "";
  code: number | undefined;
  readonly done: Promise<void>;
  constructor(script: string, cwd: string, env: Record<string, string>) {
    this.child = new Deno.Command("setsid", {
      args: ["bash", "-c", script],
      cwd,
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const read = async (s: ReadableStream<Uint8Array>) => {
      for await (const chunk of s.pipeThrough(new TextDecoderStream())) this.output += chunk;
    };
    this.done = Promise.all([read(this.child.stdout), read(this.child.stderr), this.child.status])
      .then(([, , st]) => {
        this.code = st.code;
      });
  }
  get running(): boolean {
    return this.code === undefined;
  }
  /** Waits until `pattern` appears in the output; false when the process ended or time ran out. */
  async waitFor(pattern: RegExp, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!pattern.test(this.output)) {
      if (!this.running || Date.now() > deadline) return pattern.test(this.output);
      await new Promise((r) => setTimeout(r, 50));
    }
    return true;
  }
  /** Waits for the end, at most `ms`; true when it ended. */
  async wait(ms: number): Promise<boolean> {
    let t: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<boolean>((r) => (t = setTimeout(() => r(false), ms)));
    const ended = await Promise.race([this.done.then(() => true), timeout]);
    clearTimeout(t);
    return ended;
  }
  /** SIGTERM to the whole group, SIGKILL after 5 s; resolves when it ended. */
  async stop(): Promise<void> {
    if (this.running) {
      try {
        Deno.kill(-this.child.pid, "SIGTERM");
      } catch { /* gone */ }
      if (!(await this.wait(5000))) {
        try {
          Deno.kill(-this.child.pid, "SIGKILL");
        } catch { /* gone */ }
      }
    }
    await this.done;
  }
}

function denoDir(): string {
  const out = new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stdout: "piped" })
    .outputSync();
  return JSON.parse(new TextDecoder().decode(out.stdout)).denoDir;
}

function randomGroup(): string {
  const b = crypto.getRandomValues(new Uint8Array(3));
  return `239.${b[0]}.${b[1]}.${1 + (b[2] % 250)}`;
}

/** The walk environment; see the module doc. `await using walk = await Walk.create()`. */
export class Walk implements AsyncDisposable {
  readonly scratch: string;
  readonly home: string;
  readonly project: string;
  #env: Record<string, string>;
  #background: Array<{ block: Block; proc: Proc }> = [];
  #kafka: KafkaBroker | undefined;
  #nameserver: Proc | undefined;

  private constructor(scratch: string, env: Record<string, string>) {
    this.scratch = scratch;
    this.home = `${scratch}/home`;
    this.project = `${scratch}/project`;
    this.#env = env;
  }

  /** Creates the scratch directory and the environment. */
  static async create(): Promise<Walk> {
    const scratch = await Deno.makeTempDir({ prefix: "readme-walk-" });
    const home = `${scratch}/home`;
    for (const d of [home, `${scratch}/project`, `${scratch}/tmp`, `${scratch}/run`]) {
      await Deno.mkdir(d, { recursive: true });
    }
    const denoBin = Deno.execPath().replace(/\/[^/]*$/, "");
    const ports = new Set<number>();
    while (ports.size < 4) ports.add(freePort());
    const [ns, pub, bc, sec] = [...ports];
    const env: Record<string, string> = {
      HOME: home,
      USER: Deno.env.get("USER") ?? "walker",
      LOGNAME: Deno.env.get("LOGNAME") ?? Deno.env.get("USER") ?? "walker",
      LANG: "C.UTF-8",
      PATH: `${home}/.deno/bin:${denoBin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:` +
        "/sbin:/bin",
      TMPDIR: `${scratch}/tmp`,
      XDG_RUNTIME_DIR: `${scratch}/run`,
      DENO_DIR: Deno.env.get("DENO_DIR") ?? denoDir(),
      DENO_NO_UPDATE_CHECK: "1",
      NO_COLOR: "1",
      POSTTROLL_NAMESERVER_PORT: String(ns),
      POSTTROLL_ADDRESS_PUBLISH_PORT: String(pub),
      POSTTROLL_BROADCAST_PORT: String(bc),
      POSTTROLL_SECURE_ZMQ_NAMESERVER_PORT: String(sec),
      POSTTROLL_MC_GROUP: randomGroup(),
      POSTTROLL_MULTICAST_INTERFACE: "127.0.0.1",
      WALK_SCRATCH: scratch,
      WALK_PROJECT: `${scratch}/project`,
      WALK_REPO: REPO_ROOT,
    };
    for (const k of ["DENORT_BIN", "npm_config_registry", "NPM_CONFIG_REGISTRY"]) {
      const v = Deno.env.get(k);
      if (v) env[k] = v;
    }
    return new Walk(scratch, env);
  }

  /** A copy of the current environment. */
  get env(): Record<string, string> {
    return { ...this.#env };
  }

  /**
   * `${NAME}` replaced by the walk variable or environment value NAME; `${WALK_PORT_<X>}`
   * allocates a free port the first time it is used and keeps it for the rest of the walk.
   */
  expand(text: string, block: Block): string {
    return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      if (name.startsWith("WALK_PORT_") && this.#env[name] === undefined) {
        this.#env[name] = String(freePort());
      }
      const v = this.#env[name];
      if (v === undefined) throw new WalkFailure(block, `\${${name}} is not a walk variable`);
      return v;
    });
  }

  /** The block's text after its `replace` markers (each must match at least once). */
  text(block: Block): string {
    let text = block.text;
    for (const r of directives(block, "replace")) {
      if (!text.includes(r.from)) {
        throw new WalkFailure(block, `replace: "${r.from}" does not occur in the block`);
      }
      text = text.replaceAll(r.from, this.expand(r.to, block));
    }
    return text;
  }

  async #need(need: Need, block: Block): Promise<string | undefined> {
    switch (need) {
      case "kafka":
        if (!this.#kafka) {
          const k = await startKafka();
          this.#kafka = k;
          const user = k.users[0];
          Object.assign(this.#env, {
            WALK_KAFKA: k.plaintext,
            WALK_KAFKA_SASL: k.saslPlaintext,
            WALK_KAFKA_SSL: k.saslSsl,
            WALK_KAFKA_SSL_PORT: k.saslSsl.split(":").pop()!,
            WALK_KAFKA_CA: k.caFile,
            WALK_KAFKA_USER: user.username,
            WALK_KAFKA_PASSWORD: user.password,
          });
        }
        return undefined;
      case "nameserver": {
        const port = Number(this.#env.POSTTROLL_NAMESERVER_PORT);
        if (this.#nameserver?.running || await tcpOpen("127.0.0.1", port)) return undefined;
        this.#nameserver = new Proc(
          `exec deno run -A ${REPO_ROOT}/cli/nameserver.ts --no-multicast -v`,
          this.scratch,
          this.#env,
        );
        await waitFor(() => tcpOpen("127.0.0.1", port), {
          timeoutMs: 30_000,
          what: "the walk's nameserver",
        }).catch((e) => {
          throw new WalkFailure(block, `${e.message}`, this.#nameserver?.output);
        });
        return undefined;
      }
      case "python": {
        const bin = `${REPO_ROOT}/.cache/venv/bin`;
        try {
          Deno.statSync(`${bin}/python`);
        } catch {
          throw new WalkFailure(block, `needs python: ${bin}/python missing (run ./dev test)`);
        }
        if (!this.#env.PATH.startsWith(`${bin}:`)) this.#env.PATH = `${bin}:${this.#env.PATH}`;
        this.#env.WALK_PYTHON = `${bin}/python`;
        return undefined;
      }
      case "denort":
        return this.#env.DENORT_BIN
          ? undefined
          : "needs deno compile's runtime base: DENORT_BIN is not set (CI runs `deno task compile --smoke`)";
    }
  }

  /** Runs (or skips, or writes) one block; throws {@linkcode WalkFailure} when it does not work. */
  async run(block: Block): Promise<BlockResult> {
    const t0 = Date.now();
    const ms = () => Date.now() - t0;
    const skip = directive(block, "skip");
    if (skip) return { status: "skipped", note: skip.reason, ms: 0 };
    const kind = blockKind(block);
    if (kind === "ignored") {
      if (block.directives.length) {
        throw new WalkFailure(
          block,
          `walk markers on a ${block.lang || "plain"} block without "file"`,
        );
      }
      return { status: "ignored", ms: 0 };
    }
    for (const n of directives(block, "needs")) {
      const missing = await this.#need(n.need, block);
      if (missing) return { status: "skipped", note: missing, ms: ms() };
    }
    const topics = directives(block, "kafkaTopics").flatMap((d) => d.topics);
    if (topics.length) {
      await this.#need("kafka", block);
      await createTopics(this.#kafka!, topics);
    }
    const text = this.text(block);
    if (kind === "file") {
      const path = this.#path(this.expand(directive(block, "file")!.path, block), this.project);
      await Deno.mkdir(path.replace(/\/[^/]*$/, ""), { recursive: true });
      await Deno.writeTextFile(path, text, { mode: 0o600 });
      await Deno.chmod(path, 0o600);
      return { status: "file", note: path, ms: ms() };
    }
    const statik = directive(block, "static");
    if (statik) {
      await this.#static(block, kind, text);
      return { status: "static", note: statik.reason, ms: ms() };
    }
    let script: string;
    let cwd: string;
    if (kind === "ts") {
      cwd = this.project;
      const cmd = tsCommand(block);
      const file = cmd?.file ?? `block_${block.line}.ts`;
      await Deno.writeTextFile(`${cwd}/${file}`, text);
      script = cmd ? cmd.command : `deno check ${file}`;
    } else {
      cwd = REPO_ROOT;
      script = text;
    }
    const cwdMarker = directive(block, "cwd");
    if (cwdMarker) cwd = this.#path(this.expand(cwdMarker.dir, block), REPO_ROOT);
    return await this.#exec(block, script, cwd, t0);
  }

  #path(p: string, base: string): string {
    if (p.startsWith("~/")) return `${this.home}/${p.slice(2)}`;
    return p.startsWith("/") ? p : `${base}/${p}`;
  }

  async #exec(block: Block, script: string, cwd: string, t0: number): Promise<BlockResult> {
    const background = directive(block, "background");
    const until = directive(block, "until");
    const seconds = directive(block, "timeout")?.seconds ?? DEFAULT_TIMEOUT_S;
    const proc = new Proc(`set -eo pipefail\n${script}`, cwd, this.#env);
    const feeds = directives(block, "feed").map((f) => this.#feed(f.command, proc));
    try {
      if (background) {
        if (!(await proc.waitFor(background.ready, seconds * 1000))) {
          await proc.stop();
          throw new WalkFailure(
            block,
            proc.running
              ? `no output matching /${background.ready.source}/ within ${seconds} s`
              : `ended (exit ${proc.code}) before printing /${background.ready.source}/`,
            proc.output,
          );
        }
        this.#background.push({ block, proc });
        return { status: "background", ms: Date.now() - t0 };
      }
      if (until) {
        const seen = await proc.waitFor(until.pattern, seconds * 1000);
        await proc.stop();
        if (!seen) {
          throw new WalkFailure(
            block,
            `no output matching /${until.pattern.source}/ within ${seconds} s (exit ${proc.code})`,
            proc.output,
          );
        }
      } else if (!(await proc.wait(seconds * 1000))) {
        await proc.stop();
        throw new WalkFailure(block, `still running after ${seconds} s`, proc.output);
      } else {
        const want = directive(block, "exit")?.code ?? 0;
        if (proc.code !== want) {
          throw new WalkFailure(block, `exit ${proc.code} (expected ${want})`, proc.output);
        }
      }
      for (const e of directives(block, "expect")) {
        if (!e.pattern.test(proc.output)) {
          throw new WalkFailure(block, `output does not match /${e.pattern.source}/`, proc.output);
        }
      }
      return { status: "ran", ms: Date.now() - t0 };
    } finally {
      await Promise.all(feeds);
    }
  }

  /** Runs `command` every 2 s while `proc` runs (for listeners that wait for input). */
  async #feed(command: string, proc: Proc): Promise<void> {
    while (proc.running) {
      const feeder = new Proc(`set -eo pipefail\n${command}`, this.scratch, this.#env);
      await feeder.wait(30_000);
      await feeder.stop();
      if (feeder.code !== 0) proc.output += `\n[walk feed exit ${feeder.code}] ${feeder.output}`;
      await proc.wait(2000);
    }
  }

  /** Checks a block without running it: shell syntax, tasks and files it names; TS type check. */
  async #static(block: Block, kind: "shell" | "ts", text: string): Promise<void> {
    if (kind === "ts") {
      const file = `${this.project}/static_${block.line}.ts`;
      await Deno.writeTextFile(file, text);
      await this.#exec(block, `deno check ${file}`, this.project, Date.now());
      return;
    }
    const syntax = await new Deno.Command("bash", { args: ["-n", "-c", text], stderr: "piped" })
      .output();
    if (!syntax.success) {
      throw new WalkFailure(block, "bash -n: " + new TextDecoder().decode(syntax.stderr));
    }
    const tasks = Object.keys(
      JSON.parse(await Deno.readTextFile(`${REPO_ROOT}/deno.json`)).tasks ?? {},
    );
    for (const m of text.matchAll(/(?:deno task|\.\/dev) ([\w:.-]+)/g)) {
      if (!tasks.includes(m[1])) throw new WalkFailure(block, `no deno task "${m[1]}"`);
    }
    for (const m of text.matchAll(/(?<![\w/.-])((?:[\w-]+\/)+[\w.-]+\.(?:ts|py|json|sh))\b/g)) {
      try {
        Deno.statSync(`${REPO_ROOT}/${m[1]}`);
      } catch {
        throw new WalkFailure(block, `${m[1]} does not exist in the checkout`);
      }
    }
  }

  /** Fails when a background block has ended with an error; then stops every process and peer. */
  async close(): Promise<void> {
    const failed = this.#background.filter(({ proc }) => !proc.running && proc.code !== 0);
    for (const { proc } of this.#background) await proc.stop();
    await this.#nameserver?.stop();
    await this.#kafka?.close();
    await Deno.remove(this.scratch, { recursive: true }).catch(() => {});
    if (failed.length) {
      const { block, proc } = failed[0];
      throw new WalkFailure(block, `background block ended with exit ${proc.code}`, proc.output);
    }
  }

  /** Background blocks that ended with an error so far. */
  backgroundFailures(): WalkFailure[] {
    return this.#background
      .filter(({ proc }) => !proc.running && proc.code !== 0)
      .map(({ block, proc }) =>
        new WalkFailure(block, `background block ended with exit ${proc.code}`, proc.output)
      );
  }

  /** Same as {@linkcode close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
