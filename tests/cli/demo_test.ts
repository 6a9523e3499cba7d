// The README's first command: the demo chain (nameserver, publisher, subscriber) on loopback.
import { assertEquals, assertStringIncludes } from "@std/assert";
import { main } from "../../cli/demo.ts";

Deno.test("demo: direct registration, in-process", async () => {
  assertEquals(await main(["--count", "3"]), 0);
});

Deno.test("demo: spawned like `deno task demo`, with multicast on 127.0.0.1", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../../cli/demo.ts", import.meta.url).pathname, "--multicast"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr) + text);
  assertStringIncludes(text, "5 messages published, found by service name and received");
  assertStringIncludes(text, 'demo_service is at ["tcp://127.0.0.1:');
});
