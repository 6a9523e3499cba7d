// Every `@example` of lib/, cli/ and mod.ts is a test: `deno test --doc` runs each block (type
// checking is `deno task check`'s `deno check --doc`). Examples start what they need on loopback
// and free ports (publishers, nameservers on `tcp://127.0.0.1:0`, multicast on 127.0.0.1); those
// that need Kafka find a broker at `$KAFKA` (host:port, PLAINTEXT), which this test starts.
import { assert } from "@std/assert";
import { startKafka } from "../../testing/kafka.ts";
import { REPO_ROOT } from "../../testing/python.ts";

const DIRS = ["lib/", "cli/", "mod.ts"];

Deno.test("every @example runs and passes (deno test --doc)", async () => {
  await using kafka = await startKafka();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["test", "--doc", "--allow-all", "--no-check", "--parallel", ...DIRS],
    cwd: REPO_ROOT,
    env: { KAFKA: kafka.plaintext, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const failures = text.split("\n").filter((l) => / => \.\/|FAILED|error:/.test(l));
  assert(out.success, `deno test --doc failed:\n${failures.join("\n")}\n${text.slice(-4000)}`);
  const passed = /ok \| (\d+) passed/.exec(text);
  assert(passed && Number(passed[1]) > 400, `too few examples ran: ${passed?.[0]}`);
});
