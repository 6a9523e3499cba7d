// Every `@example` of lib/, cli/ and mod.ts is a test: `deno test --doc` runs each block (type
// checking is `deno task check`'s `deno check --doc`). Examples start what they need on loopback
// and free ports (publishers, nameservers, multicast on 127.0.0.1); those that need Kafka find a
// broker at `$KAFKA` (host:port, PLAINTEXT). tests/docs/_examples.ts starts that broker and runs
// them one at a time, inside a host of their own (a network namespace of the test bed): an
// example picks its free ports a moment before it binds them, and no other test's connections
// or port-0 binds can take one in between (a CI run once failed on exactly that).
import { assert } from "@std/assert";
import { TestBed } from "../../testing/hosts.ts";

Deno.test("every @example runs and passes (deno test --doc)", async () => {
  await using bed = await TestBed.create({ hosts: ["docs"] });
  const out = await bed.host("docs").run(Deno.execPath(), ["run", "-A", "tests/docs/_examples.ts"]);
  const text = out.stdout + out.stderr;
  const failures = text.split("\n").filter((l) => / => \.\/|FAILED|error:/.test(l));
  assert(out.code === 0, `deno test --doc failed:\n${failures.join("\n")}\n${text.slice(-4000)}`);
  const passed = /ok \| (\d+) passed/.exec(text);
  assert(passed && Number(passed[1]) > 400, `too few examples ran: ${passed?.[0]}`);
});
