// A checkout is importable from a project outside it, as the README says (the package is not on
// JSR yet): `links` in the project's deno.json points the JSR name at the checkout, whose own
// import map (npm dependencies) then applies. Every subpath of the exports map is imported,
// type-checked and run from a temporary directory.
import { assertEquals, assertStringIncludes } from "@std/assert";
import { REPO_ROOT } from "../../testing/python.ts";

Deno.test("a project outside the checkout imports every export through deno.json links", async () => {
  const exports: Record<string, string> = JSON.parse(
    await Deno.readTextFile(`${REPO_ROOT}/deno.json`),
  ).exports;
  const dir = await Deno.makeTempDir({ prefix: "outside-" });
  try {
    await Deno.writeTextFile(
      `${dir}/deno.json`,
      JSON.stringify({
        links: [REPO_ROOT],
        imports: { "@pytroll-deno/messaging": "jsr:@pytroll-deno/messaging@^0.1.0" },
      }),
    );
    const names = Object.keys(exports).map((k) => k.replace(/^\.\/?/, ""));
    const lines = names.map((n, i) =>
      `import * as m${i} from "jsr:@pytroll-deno/messaging@^0.1.0${n ? "/" + n : ""}";`
    );
    lines.push(
      `import { Message } from "@pytroll-deno/messaging";`,
      `const counts = [${names.map((_, i) => `Object.keys(m${i}).length`).join(", ")}];`,
      `console.log(JSON.stringify(counts));`,
      `console.log(new Message("/outside", "info", { ok: true }).encode().split(" ")[0]);`,
    );
    await Deno.writeTextFile(`${dir}/main.ts`, lines.join("\n") + "\n");
    const env = { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" };
    const check = await new Deno.Command(Deno.execPath(), {
      args: ["check", "main.ts"],
      cwd: dir,
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(check.code, 0, new TextDecoder().decode(check.stderr));
    // importing needs no permission (the shared configuration reads the environment on first use)
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["run", "main.ts"],
      cwd: dir,
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(run.stdout);
    assertEquals(run.code, 0, new TextDecoder().decode(run.stderr) + out);
    const counts: number[] = JSON.parse(out.split("\n")[0]);
    for (const [i, n] of counts.entries()) {
      if (n === 0) throw new Error(`export "${names[i] || "."}" has no names`);
    }
    assertStringIncludes(out, "pytroll://outside");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
