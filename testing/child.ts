// A spawned child process whose stdout/stderr lines are collected, for tests that wait for its
// output and then signal or kill it.
import { until } from "./net.ts";
import { binary, denoFlags } from "../cli/binaries.ts";

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
    const read = async (s: ReadableStream<Uint8Array>) => {
      let buf = "";
      for await (const chunk of s.pipeThrough(new TextDecoderStream())) {
        buf += chunk;
        let i;
        while ((i = buf.indexOf("\n")) >= 0) {
          this.lines.push(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      }
      if (buf) this.lines.push(buf);
    };
    this.done = Promise.all([read(this.child.stdout), read(this.child.stderr)]).then(() => {});
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
    const b = binary(name);
    const root = new URL("../", import.meta.url).pathname;
    return new Child(
      Deno.execPath(),
      ["run", ...denoFlags(b), "--no-prompt", `${root}${b.entry}`, ...args],
      env,
    );
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
