/**
 * Harness for the Python reference peers (posttroll 1.16.0, igwn-alert 0.7.0, hop-client, pyzmq)
 * installed by `.ci/install` into the ignored virtual environment `.cache/venv`.
 *
 * Tests run short Python programs against our implementation: {@linkcode runPython} for a program
 * that ends by itself, {@linkcode PythonProcess.spawn} for a peer that keeps running (publisher,
 * subscriber, nameserver) whose stdout the test reads line by line.
 *
 * @module
 */
import { eachLine } from "./lines.ts";

/** Absolute path of the repository root. */
export const REPO_ROOT: string = new URL("../", import.meta.url).pathname.replace(/\/$/, "");

/** Path of the Python interpreter that has the reference peers installed. */
export function pythonPath(): string {
  const override = Deno.env.get("PEERS_PYTHON");
  const path = override ?? `${REPO_ROOT}/.cache/venv/bin/python`;
  try {
    Deno.statSync(path);
  } catch {
    throw new Error(
      `Python reference peers are not installed (${path} missing): run \`bash .ci/install peers\` (or \`./dev test\`, which does)`,
    );
  }
  return path;
}

/** Result of a finished Python program. */
export interface PythonResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options for running Python code. */
export interface PythonOptions {
  /** Extra command-line arguments (`sys.argv[1:]`). */
  args?: string[];
  /** Text written to the program's stdin (then closed). */
  stdin?: string | Uint8Array;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Kill the program after this many ms. @default 60000 */
  timeoutMs?: number;
  /** Working directory. */
  cwd?: string;
  /** Network namespace to run in (a test-bed host's, see `hosts.ts`). @default this one */
  netns?: string;
}

/** The command and arguments that run `python -c code args` (inside `netns` when given). */
function pythonCommand(code: string, opts: PythonOptions): [string, string[]] {
  const argv = [pythonPath(), "-c", code, ...(opts.args ?? [])];
  return opts.netns ? ["ip", ["netns", "exec", opts.netns, ...argv]] : [argv[0], argv.slice(1)];
}

/** Runs `code` with the reference interpreter and returns its exit code and output. */
export async function runPython(code: string, opts: PythonOptions = {}): Promise<PythonResult> {
  const [program, args] = pythonCommand(code, opts);
  const cmd = new Deno.Command(program, {
    args,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { PYTHONUNBUFFERED: "1", ...opts.env },
    cwd: opts.cwd,
  });
  const child = cmd.spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, opts.timeoutMs ?? 60_000);
  try {
    if (opts.stdin !== undefined) {
      const w = child.stdin.getWriter();
      await w.write(
        typeof opts.stdin === "string" ? new TextEncoder().encode(opts.stdin) : opts.stdin,
      );
      await w.close();
    }
    const out = await child.output();
    return {
      code: out.code,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `code` and returns its stdout; throws with stderr when it exits non-zero. */
export async function python(code: string, opts: PythonOptions = {}): Promise<string> {
  const r = await runPython(code, opts);
  if (r.code !== 0) {
    throw new Error(
      `python exited with ${r.code}\n--- stderr ---\n${r.stderr}\n--- stdout ---\n${r.stdout}`,
    );
  }
  return r.stdout;
}

/** A long-running Python peer whose stdout is read line by line. */
export class PythonProcess implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #lines: string[] = [];
  #waiters: Array<() => void> = [];
  #stderr = "";
  #ended = false;
  readonly #done: Promise<void>;
  /** Every stdout line seen so far. */
  readonly seen: string[] = [];

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    const out = eachLine(child.stdout, (line) => {
      this.#lines.push(line);
      this.seen.push(line);
      this.#wake();
    });
    const err = eachLine(child.stderr, (line) => {
      this.#stderr += line + "\n";
      this.#wake();
    });
    this.#done = Promise.all([out, err]).then(() => {
      this.#ended = true;
      this.#wake();
    });
  }

  /** Starts `code` under the reference interpreter. */
  static spawn(code: string, opts: Omit<PythonOptions, "stdin" | "timeoutMs"> = {}): PythonProcess {
    const [program, args] = pythonCommand(code, opts);
    const child = new Deno.Command(program, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { PYTHONUNBUFFERED: "1", ...opts.env },
      cwd: opts.cwd,
    }).spawn();
    return new PythonProcess(child);
  }

  /** Process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Resolves when the program ends by itself (its output read to the end). */
  async exited(): Promise<Deno.CommandStatus> {
    const status = await this.#child.status;
    await this.#done;
    return status;
  }

  /** What the program wrote to stderr so far. */
  get stderr(): string {
    return this.#stderr;
  }

  #wake() {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Next unread stdout line; throws on timeout or when the program ended. */
  async readLine(timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.#lines.length === 0) {
      if (this.#ended) {
        throw new Error(`python peer ended before printing a line; stderr:\n${this.#stderr}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `no line from python peer within ${timeoutMs} ms; stderr:\n${this.#stderr}`,
        );
      }
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
    return this.#lines.shift()!;
  }

  /** Reads lines until one satisfies `pred` and returns it. */
  async waitForLine(pred: (line: string) => boolean, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const line = await this.readLine(Math.max(1, deadline - Date.now()));
      if (pred(line)) return line;
    }
  }

  /** Writes a line to the program's stdin. */
  async writeLine(line: string): Promise<void> {
    const w = this.#child.stdin.getWriter();
    try {
      await w.write(new TextEncoder().encode(line + "\n"));
    } finally {
      w.releaseLock();
    }
  }

  /** Sends a signal to the program. */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    try {
      this.#child.kill(signal);
    } catch { /* already ended */ }
  }

  /** Ends the program (SIGTERM, then SIGKILL after `graceMs`) and waits for it. */
  async close(graceMs = 3000): Promise<Deno.CommandStatus> {
    try {
      await this.#child.stdin.close();
    } catch { /* closed */ }
    this.kill("SIGTERM");
    const t = setTimeout(() => this.kill("SIGKILL"), graceMs);
    try {
      const status = await this.#child.status;
      await this.#done;
      return status;
    } finally {
      clearTimeout(t);
    }
  }

  /** Same as {@linkcode close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
