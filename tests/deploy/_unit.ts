// Reading systemd unit files the way systemd does, for the deploy tests.

/** Reads `[Section] Key=Value` pairs of a unit file (last assignment wins, like systemd). */
export function parseUnit(text: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) continue;
    const m = /^\[(.+)\]$/.exec(line);
    if (m) {
      section = m[1];
      out[section] ??= {};
      continue;
    }
    const i = line.indexOf("=");
    if (i > 0) out[section][line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

/** systemd's ExecStart expansion: `$VAR` is split into words, `${VAR}` stays one word. */
export function expandExec(exec: string, env: Record<string, string>): string[] {
  const words: string[] = [];
  for (const w of exec.split(/\s+/).filter(Boolean)) {
    const unbraced = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(w);
    if (unbraced) words.push(...(env[unbraced[1]] ?? "").split(/\s+/).filter(Boolean));
    else words.push(w.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, k) => env[k] ?? ""));
  }
  return words;
}

/** Deno's cache directory (`deno info`), for a service started with a clean environment. */
export async function denoDir(): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stdout: "piped" })
    .output();
  return JSON.parse(new TextDecoder().decode(out.stdout)).denoDir;
}
