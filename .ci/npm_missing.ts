// Prints the npm packages of deno.lock that Deno's cache (the directory given) lacks, skipping
// the ones for other platforms ("os"/"cpu" in the lock): what `deno install --frozen` would fetch.
// Used by .ci/install to say what it fetches, and to say nothing when nothing is missing.
const [denoDir] = Deno.args;
const lock = JSON.parse(Deno.readTextFileSync("deno.lock"));
const os = Deno.build.os === "windows" ? "win32" : Deno.build.os;
const cpu = ({ x86_64: "x64", aarch64: "arm64" } as Record<string, string>)[Deno.build.arch] ??
  Deno.build.arch;
const missing: string[] = [];
for (const [key, info] of Object.entries(lock.npm ?? {}) as [string, Record<string, string[]>][]) {
  if (info.os && !info.os.includes(os)) continue;
  if (info.cpu && !info.cpu.includes(cpu)) continue;
  const at = key.indexOf("@", key.startsWith("@") ? 1 : 0);
  const name = key.slice(0, at);
  const version = key.slice(at + 1).split("_")[0]; // "1.0.0_ajv@8.20.0": peer suffix
  try {
    Deno.statSync(`${denoDir}/npm/registry.npmjs.org/${name}/${version}`);
  } catch {
    missing.push(`${name}@${version}`);
  }
}
console.log(missing.join(" "));
