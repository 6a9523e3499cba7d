/**
 * A real headless Debian `chromium` for web page tests, driven over the DevTools protocol:
 * {@linkcode Chromium.launch} opens a URL with a fresh profile and no traffic of its own (no
 * Google hosts: background networking, component updates, sync and QUIC off), then
 * {@linkcode Chromium.evaluate} runs expressions in the page and {@linkcode Chromium.screenshot}
 * takes a PNG. `.ci/install` installs the package when missing.
 *
 * @module
 */
import { until } from "./net.ts";

/** Path of the browser: `CHROMIUM` or the Debian package's. */
export function chromiumPath(): string {
  const p = Deno.env.get("CHROMIUM") ?? "/usr/bin/chromium";
  try {
    Deno.statSync(p);
  } catch {
    throw new Error(
      `chromium not found at ${p}: run \`bash .ci/install\` (installs Debian's chromium)`,
    );
  }
  return p;
}

/** A headless browser showing one page. */
export class Chromium implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #profile: string;
  readonly #ws: WebSocket;
  #id = 0;
  readonly #pending = new Map<
    number,
    (v: { result?: unknown; error?: { message: string } }) => void
  >();

  private constructor(child: Deno.ChildProcess, profile: string, ws: WebSocket) {
    this.#child = child;
    this.#profile = profile;
    this.#ws = ws;
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data as string);
      if (msg.id !== undefined) this.#pending.get(msg.id)?.(msg);
    };
  }

  /**
   * Starts chromium on `url` with a window of `width`×`height` CSS pixels.
   */
  static async launch(url: string, { width = 420, height = 860 } = {}): Promise<Chromium> {
    const profile = await Deno.makeTempDir({ prefix: "chromium-profile-" });
    const child = new Deno.Command(chromiumPath(), {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-default-apps",
        "--mute-audio",
        `--user-data-dir=${profile}`,
        "--remote-debugging-port=0",
        "--remote-debugging-address=127.0.0.1",
        `--window-size=${width},${height}`,
        url,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      // chromium writes the port it chose into the profile
      const port = await until(() => {
        try {
          return Deno.readTextFileSync(`${profile}/DevToolsActivePort`).split("\n")[0] || undefined;
        } catch {
          return undefined;
        }
      }, { timeoutMs: 30_000, what: "chromium's DevToolsActivePort" });
      const target = await until(async () => {
        const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as Array<
          { type: string; url: string; webSocketDebuggerUrl: string }
        >;
        return list.find((t) => t.type === "page" && t.url.startsWith(url.slice(0, 20)));
      }, { timeoutMs: 30_000, what: "the page target" });
      const ws = new WebSocket(target.webSocketDebuggerUrl);
      await new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = reject;
      });
      return new Chromium(child, profile, ws);
    } catch (e) {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      await child.status;
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      throw e;
    }
  }

  /** Sends a DevTools command and returns its result. */
  async send(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = ++this.#id;
    const reply = new Promise<{ result?: unknown; error?: { message: string } }>((r) =>
      this.#pending.set(id, r)
    );
    this.#ws.send(JSON.stringify({ id, method, params }));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const msg = await Promise.race([
      reply,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${method}: no answer in 15 s`)), 15_000);
      }),
    ]).finally(() => {
      clearTimeout(timer);
      this.#pending.delete(id);
    });
    if (msg.error) throw new Error(`${method}: ${msg.error.message}`);
    return msg.result;
  }

  /** Evaluates `expression` in the page and returns its (JSON) value. */
  async evaluate<T = unknown>(expression: string): Promise<T> {
    const r = await this.send("Runtime.evaluate", { expression, returnByValue: true }) as {
      result: { value: T };
      exceptionDetails?: { text: string };
    };
    if (r.exceptionDetails) throw new Error(`evaluate: ${r.exceptionDetails.text}`);
    return r.result.value;
  }

  /** A PNG of the page as shown. */
  async screenshot(): Promise<Uint8Array> {
    const r = await this.send("Page.captureScreenshot", { format: "png" }) as { data: string };
    return Uint8Array.from(atob(r.data), (c) => c.charCodeAt(0));
  }

  /** Closes the browser and removes its profile. */
  async close(): Promise<void> {
    try {
      this.#ws.close();
    } catch { /* closed */ }
    try {
      this.#child.kill("SIGTERM");
    } catch { /* gone */ }
    const t = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* gone */ }
    }, 5000);
    await this.#child.status;
    clearTimeout(t);
    await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
  }

  /** Same as {@linkcode close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
