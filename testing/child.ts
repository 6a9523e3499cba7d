// A spawned child process whose stdout/stderr lines are collected, for tests that wait for its
// output and then signal or kill it.
import { until } from "./net.ts";
import { eachLine } from "./lines.ts";
import { binary, denoFlags } from "../cli/binaries.ts";

/**
 * The `deno` arguments that run one of our executables (cli/binaries.ts) from its entry module
 * with exactly its flags (`denoFlags`), then `args`.
 */
export function binaryArgs(name: string, args: string[]): string[] {
  const b = binary(name);
  const root = new URL("../", import.meta.url).pathname;
  return ["run", ...denoFlags(b), "--no-prompt", `${root}${b.entry}`, ...args];
}

/** A child process with its output lines. */
export class Child {
  readonly lines: string[] = [];
  readonly child: Deno.ChildProcess;
  readonly done: Promise<void>;
  constructor(
    cmd: string,
    args: string[],
    env: Record<string, string> = {},
    options: { stdin?: boolean } = {},
  ) {
    this.child = new Deno.Command(cmd, {
      args,
      env,
      stdin: options.stdin ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const push = (line: string) => this.lines.push(line);
    this.done = Promise.all([
      eachLine(this.child.stdout, push),
      eachLine(this.child.stderr, push),
    ]).then(() => {});
  }
  /** Deno running `script` with all permissions. */
  static deno(script: string, args: string[], env: Record<string, string> = {}): Child {
    return new Child(Deno.execPath(), ["run", "-A", "--no-prompt", script, ...args], env);
  }
  /** Writes a line to the child's stdin (started with `stdin: true`). */
  async writeLine(line: string): Promise<void> {
    const w = this.child.stdin.getWriter();
    try {
      await w.write(new TextEncoder().encode(line + "\n"));
    } finally {
      w.releaseLock();
    }
  }
  /** One of our executables (cli/binaries.ts) under `deno run` with exactly its flags (`denoFlags`). */
  static binary(name: string, args: string[], env: Record<string, string> = {}): Child {
    return new Child(Deno.execPath(), binaryArgs(name, args), env);
  }
  /** Waits for a line matching `pred` and returns it. */
  line(pred: (l: string) => boolean, timeoutMs = 20_000): Promise<string> {
    return until(() => this.lines.find(pred), {
      timeoutMs,
      what: `output line; so far:\n${this.lines.join("\n")}`,
    });
  }
  /** Sends `signal`, waits for exit; returns the exit code and how long it took (ms). */
  async kill(signal: Deno.Signal = "SIGKILL"): Promise<{ code: number; ms: number }> {
    const t0 = Date.now();
    try {
      this.child.kill(signal);
    } catch { /* already gone */ }
    const status = await this.child.status;
    const ms = Date.now() - t0;
    await this.done;
    return { code: status.code, ms };
  }
}
