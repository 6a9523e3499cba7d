// The README walk's marker language: what it reads, and that a mistyped or stale marker fails
// instead of quietly leaving a block unwalked.
import { assertEquals, assertThrows } from "@std/assert";
import { blockKind, linkedDocs, parseBlocks, tsCommand, WalkMarkerError } from "./_walk_parse.ts";
import { Walk, WalkFailure } from "./_walk.ts";

const DOC = `# Title

<!-- walk: skip needs a GraceDB account -->

\`\`\`sh
igwn-alert listen
\`\`\`

- a list item

  <!-- walk: needs kafka -->
  <!-- walk: replace kafka.example.org:9092 => \${WALK_KAFKA} -->

  \`\`\`sh
  igwn-alert -s kafka://kafka.example.org:9092/ topics
  \`\`\`

\`\`\`ts
// pub.ts: run with \`deno run --allow-net --allow-env pub.ts\`
console.log(1);
\`\`\`

\`\`\`json
{}
\`\`\`
See [the docs](docs/FAULTS.md#top) and [bench](../bench/README.md), not [web](https://x.org/a.md).
`;

Deno.test("walk markers: read with the block below them, indentation removed", () => {
  const blocks = parseBlocks("README.md", DOC);
  assertEquals(blocks.length, 4);
  assertEquals(blocks[0].directives, [{ kind: "skip", reason: "needs a GraceDB account" }]);
  assertEquals(blocks[0].line, 5);
  assertEquals(blocks[1].directives, [
    { kind: "needs", need: "kafka" },
    { kind: "replace", from: "kafka.example.org:9092", to: "${WALK_KAFKA}" },
  ]);
  assertEquals(blocks[1].text, "igwn-alert -s kafka://kafka.example.org:9092/ topics\n");
  assertEquals(blocks.map(blockKind), ["shell", "shell", "ts", "ignored"]);
  assertEquals(tsCommand(blocks[2]), {
    command: "deno run --allow-net --allow-env pub.ts",
    file: "pub.ts",
  });
  assertEquals(tsCommand(blocks[1]), undefined);
});

Deno.test("walk markers: mistakes are errors that name the line", () => {
  assertThrows(
    () => parseBlocks("R.md", "<!-- walk: skp typo -->\n\n```sh\nls\n```\n"),
    WalkMarkerError,
    'R.md:1: unknown walk marker "skp"',
  );
  assertThrows(
    () => parseBlocks("R.md", "<!-- walk: skip -->\n```sh\nls\n```\n"),
    WalkMarkerError,
    "needs a reason",
  );
  assertThrows(
    () => parseBlocks("R.md", "<!-- walk: skip why -->\nSome text.\n```sh\nls\n```\n"),
    WalkMarkerError,
    "must be followed by a fenced block",
  );
  assertThrows(
    () => parseBlocks("R.md", "<!-- walk: needs gracedb -->\n```sh\nls\n```\n"),
    WalkMarkerError,
    'unknown need "gracedb"',
  );
  assertThrows(
    () => parseBlocks("R.md", "<!-- walk: until ([ -->\n```sh\nls\n```\n"),
    WalkMarkerError,
    "bad pattern",
  );
});

Deno.test("walk: a replace marker whose text is gone from the block fails", async () => {
  await using walk = await Walk.create();
  const [block] = parseBlocks(
    "R.md",
    "<!-- walk: replace ns1.example.org => ${WALK_PORT_NS} -->\n```sh\necho localhost\n```\n",
  );
  assertThrows(() => walk.text(block), WalkFailure, '"ns1.example.org" does not occur');
  const [ok] = parseBlocks(
    "R.md",
    "<!-- walk: replace 5557 => ${WALK_PORT_NS} -->\n```sh\necho 5557 5557\n```\n",
  );
  const port = walk.env.WALK_PORT_NS;
  assertEquals(port, undefined);
  const text = walk.text(ok);
  assertEquals(text, `echo ${walk.env.WALK_PORT_NS} ${walk.env.WALK_PORT_NS}\n`);
  const [bad] = parseBlocks("R.md", "<!-- walk: replace a => ${NOPE} -->\n```sh\necho a\n```\n");
  assertThrows(() => walk.text(bad), WalkFailure, "${NOPE} is not a walk variable");
});

Deno.test("walk: links to repository Markdown files, resolved against the document", () => {
  assertEquals(linkedDocs("docs/X.md", DOC), ["docs/docs/FAULTS.md", "bench/README.md"]);
  assertEquals(linkedDocs("README.md", "[a](docs/A.md) [b](./docs/A.md#x)"), ["docs/A.md"]);
});

Deno.test("walk: a block that fails, hangs or prints the wrong thing fails the walk", async () => {
  await using walk = await Walk.create();
  const run = (md: string) => walk.run(parseBlocks("R.md", md)[0]);
  await run("```sh\ntrue\n```\n");
  const fail = await run("```sh\nfalse\necho after\n```\n").catch((e) => e);
  assertEquals(fail instanceof WalkFailure && fail.message.includes("exit 1 (expected 0)"), true);
  const hang = await run("<!-- walk: timeout 1 -->\n```sh\nsleep 30\n```\n").catch((e) => e);
  assertEquals(hang instanceof WalkFailure && hang.message.includes("still running"), true);
  const wrong = await run("<!-- walk: expect ^hello -->\n```sh\necho bye\n```\n").catch((e) => e);
  assertEquals(wrong instanceof WalkFailure && wrong.message.includes("does not match"), true);
  assertEquals((await run("<!-- walk: exit 3 -->\n```sh\nexit 3\n```\n")).status, "ran");
  const until = await run(
    "<!-- walk: until ^tick -->\n```sh\nwhile :; do echo tick; sleep 1; done\n```\n",
  );
  assertEquals(until.status, "ran");
  const stat = await run("<!-- walk: static x -->\n```sh\ndeno task no-such-task\n```\n")
    .catch((e) => e);
  assertEquals(
    stat instanceof WalkFailure && stat.message.includes('no deno task "no-such-task"'),
    true,
  );
  // the walk's environment: private HOME, no outside POSTTROLL settings, private ports
  const env = await run(
    '<!-- walk: expect HOME=.*readme-walk-.*/home -->\n```sh\necho "HOME=$HOME"; test -z "${POSTTROLL_BACKEND:-}"; test "$POSTTROLL_NAMESERVER_PORT" != 5557\n```\n',
  );
  assertEquals(env.status, "ran");
});
