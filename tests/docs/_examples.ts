// Runs every `@example` of lib/, cli/ and mod.ts (`deno test --doc`, one at a time) with a Kafka
// broker of its own; tests/docs/examples_test.ts starts it inside a network namespace of its own.
// Exits with deno test's exit code; its output is deno test's.
import { startKafka } from "../../testing/kafka.ts";
import { REPO_ROOT } from "../../testing/python.ts";

const DIRS = ["lib/", "cli/", "mod.ts"];

await using kafka = await startKafka();
const out = await new Deno.Command(Deno.execPath(), {
  args: ["test", "--doc", "--allow-all", "--no-check", ...Deno.args, ...DIRS],
  cwd: REPO_ROOT,
  env: { KAFKA: kafka.plaintext, NO_COLOR: "1" },
  stdout: "inherit",
  stderr: "inherit",
}).output();
Deno.exitCode = out.code;
