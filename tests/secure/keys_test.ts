// Key files for the secure_zmq backend: our CLI's files read by pyzmq (and the pair is valid),
// pyzmq's files read by us, permissions, and the CLI's refusals.
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { main } from "../../cli/posttroll_generate_keys.ts";
import {
  generateKeyFiles,
  KeyFileError,
  loadCertificate,
  loadPublicKeys,
  parseCertificate,
} from "../../lib/posttroll/secure_keys.ts";
import { python } from "../../testing/python.ts";

Deno.test("posttroll-generate-keys: files pyzmq loads, a valid pair, secret file 0600", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assertEquals(await main(["server", "-d", dir]), 0);
    assertEquals((await Deno.stat(`${dir}/server.key_secret`)).mode! & 0o777, 0o600);
    const out = await python(
      `import sys, zmq, zmq.auth
pub, _ = zmq.auth.load_certificate(sys.argv[1] + "/server.key")
pub2, sec = zmq.auth.load_certificate(sys.argv[1] + "/server.key_secret")
assert pub == pub2 and sec is not None
assert zmq.curve_public(sec) == pub, "secret key does not match public key"
print(pub.decode())`,
      { args: [dir] },
    );
    const ours = await loadCertificate(`${dir}/server.key_secret`);
    assertEquals(out.trim(), ours.publicKey);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("key files written by pyzmq's create_certificates are read here", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = await python(
      `import sys, zmq.auth
zmq.auth.create_certificates(sys.argv[1], "client1", metadata={"owner": "ops"})
zmq.auth.create_certificates(sys.argv[1], "client2")
for n in ("client1", "client2"):
    p, s = zmq.auth.load_certificate(f"{sys.argv[1]}/{n}.key_secret")
    print(p.decode(), s.decode())`,
      { args: [dir] },
    );
    const lines = out.trim().split("\n").map((l) => l.split(" "));
    const c1 = await loadCertificate(`${dir}/client1.key_secret`);
    assertEquals([c1.publicKey, c1.secretKey], lines[0]);
    assertEquals(await loadPublicKeys(dir), new Set([lines[0][0], lines[1][0]]));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("generate keys: refusals are clear errors and nothing is overwritten", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assertRejects(
      () => generateKeyFiles("x", { directory: `${dir}/missing` }),
      KeyFileError,
      "does not exist",
    );
    const first = await generateKeyFiles("x", { directory: dir });
    await assertRejects(
      () => generateKeyFiles("x", { directory: dir }),
      KeyFileError,
      "already exists",
    );
    assertEquals((await loadCertificate(first.publicFile)).publicKey, first.publicKey);
    assertEquals(await main(["x", "-d", dir]), 1);
    assertEquals(await main([]), 2);
    assertEquals(await main(["a", "b"]), 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("certificate parser: pyzmq's rules and malformed keys", () => {
  const pub = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
  assertEquals(parseCertificate(`# c\ncurve\n\tpublic-key =\t'${pub}' \n`).publicKey, pub);
  const e1 = (() => {
    try {
      parseCertificate("metadata\ncurve\n");
    } catch (e) {
      return e as Error;
    }
  })();
  assert(e1 instanceof KeyFileError);
  assertStringIncludes(e1.message, "No public key");
  let threw = false;
  try {
    parseCertificate(`curve\n    public-key = "tooshort"\n`);
  } catch (e) {
    threw = e instanceof KeyFileError;
  }
  assert(threw, "a malformed key must be a KeyFileError");
});

/** Spawns the CLI with the permissions of its executable. */
function spawnCli(args: string[], cwd?: string): Promise<Deno.CommandOutput> {
  const cli = new URL("../../cli/posttroll_generate_keys.ts", import.meta.url).pathname;
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", cli, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
}

Deno.test("posttroll-generate-keys CLI: spawned as users run it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const run = (args: string[]) => spawnCli(args, dir);
    const ok = await run(["node"]);
    assertEquals(ok.code, 0);
    await Deno.stat(`${dir}/node.key`);
    const again = await run(["node"]);
    assertEquals(again.code, 1);
    assertStringIncludes(new TextDecoder().decode(again.stderr), "already exists");
    const help = await run(["--help"]);
    assertStringIncludes(new TextDecoder().decode(help.stdout), "usage: posttroll-generate-keys");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("posttroll-generate-keys: a missing directory names --parents; -p creates it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const run = (args: string[]) => spawnCli(args);
    const refused = await run(["server", "-d", `${dir}/etc/posttroll`]);
    assertEquals(refused.code, 1);
    assertStringIncludes(new TextDecoder().decode(refused.stderr), "pass --parents");
    const made = await run(["server", "-d", `${dir}/etc/posttroll`, "--parents"]);
    assertEquals(made.code, 0, new TextDecoder().decode(made.stderr));
    assertEquals((await Deno.stat(`${dir}/etc/posttroll/server.key_secret`)).mode! & 0o777, 0o600);
    assertEquals((await Deno.stat(`${dir}/etc/posttroll/server.key`)).mode! & 0o777, 0o644);
    assertEquals(await main(["client1", "-d", `${dir}/etc/posttroll/clients`, "-p"]), 0);
    assert((await Deno.stat(`${dir}/etc/posttroll/clients/client1.key`)).isFile);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
