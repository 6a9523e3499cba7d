// hop credentials: auth.toml parsing/permissions/locations, select_matching_auth (compared with
// hop's own function on the same inputs), netrc lookup.
import { assert, assertEquals, assertInstanceOf, assertThrows } from "@std/assert";
import {
  AmbiguousCredentialError,
  Auth,
  AuthError,
  configPath,
  CredentialFileError,
  loadAuth,
  netrcLookup,
  parseAuthToml,
  parseNetrc,
  selectMatchingAuth,
} from "../../lib/hop/mod.ts";
import { python } from "../../testing/python.ts";

const TOML = `
[[auth]]
username = "alice"
password = "alice-secret"
hostname = "kafka.example.org"
protocol = "SASL_SSL"
ssl_ca_location = "/tmp/ca.pem"

[[auth]]
username = "bob"
password = "bob-secret"
hostname = "kafka.example.org:9093"
mechanism = "SCRAM-SHA-256"
protocol = "SASL_PLAINTEXT"
ssl_ca_location = "/ignored.pem"

[[auth]]
username = "carol"
password = "carol-secret"

[[auth]]
username = "dave"
password = "dave-secret"
`;

function env(vars: Record<string, string>) {
  return { get: (k: string) => vars[k] };
}

Deno.test("auth.toml: fields, defaults and hop's spelling", () => {
  const [a, b, c] = parseAuthToml(TOML);
  assertEquals(a.username, "alice");
  assertEquals(a.password, "alice-secret");
  assertEquals(a.protocol, "SASL_SSL");
  assertEquals(a.mechanism, "SCRAM_SHA_512");
  assertEquals(a.kafkaMechanism, "SCRAM-SHA-512");
  assertEquals(a.sslCaLocation, "/tmp/ca.pem");
  assertEquals(b.mechanism, "SCRAM_SHA_256");
  assertEquals(b.ssl, false);
  assertEquals(b.sslCaLocation, undefined); // hop ignores it with SASL_PLAINTEXT
  assertEquals(c.hostname, "");
  // legacy single [auth] table
  const [legacy] = parseAuthToml('[auth]\nusername = "u"\npassword = "p"\n');
  assertEquals(legacy.username, "u");
  // token endpoint implies OAUTHBEARER
  const [tok] = parseAuthToml(
    '[[auth]]\nusername = "u"\npassword = "p"\ntoken_endpoint = "https://t"\n',
  );
  assertEquals(tok.mechanism, "OAUTHBEARER");
  // the password never shows in string forms
  for (const s of [String(a), JSON.stringify(a), Deno.inspect(a)]) {
    assert(!s.includes("alice-secret"), s);
  }
  const missing = assertThrows(
    () => parseAuthToml('[[auth]]\nusername = "u"\n'),
    CredentialFileError,
    "missing auth property 'password'",
  );
  assertEquals(missing.problem, "malformed");
  assertThrows(() => parseAuthToml("[other]\nx = 1\n"), CredentialFileError, "no auth section");
  const bad = assertThrows(
    () => parseAuthToml('[[auth]]\npassword = "leaky-secret\n'),
    CredentialFileError,
  );
  assert(!bad.message.includes("leaky-secret"));
});

Deno.test("loadAuth: locations, config.toml fallback and hop's permission mask", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hop-auth-" });
  try {
    const e = env({ XDG_CONFIG_HOME: dir, HOME: "/nonexistent" });
    assertEquals(configPath("auth", e), `${dir}/hop/auth.toml`);
    assertEquals(configPath("auth", env({ HOME: "/home/x" })), "/home/x/.config/hop/auth.toml");
    const nf = assertThrows(() => loadAuth(undefined, { env: e }), CredentialFileError);
    assertEquals(nf.problem, "not-found");
    await Deno.mkdir(`${dir}/hop`);
    // [auth] inside config.toml is used when auth.toml is absent
    await Deno.writeTextFile(`${dir}/hop/config.toml`, '[auth]\nusername = "g"\npassword = "p"\n', {
      mode: 0o600,
    });
    await Deno.chmod(`${dir}/hop/config.toml`, 0o600);
    assertEquals(loadAuth(undefined, { env: e })[0].username, "g");
    const file = `${dir}/hop/auth.toml`;
    await Deno.writeTextFile(file, TOML);
    for (const mode of [0o644, 0o640, 0o604, 0o755, 0o4600, 0o1600]) {
      await Deno.chmod(file, mode);
      const err = assertThrows(() => loadAuth(undefined, { env: e }), CredentialFileError);
      assertEquals(err.problem, "unsafe-permissions");
      assert(err.message.includes("has unsafe permissions"), err.message);
      assert(err.message.includes("Please correct it to 0600"));
    }
    for (const mode of [0o600, 0o400, 0o700]) {
      await Deno.chmod(file, mode);
      assertEquals(loadAuth(undefined, { env: e }).length, 4);
    }
    // same verdicts and message as hop's load_auth
    await Deno.chmod(file, 0o644);
    const py = await python(
      `from hop.auth import load_auth
try:
    load_auth("${file}")
except RuntimeError as e:
    print(e)`,
    );
    const ours = assertThrows(() => loadAuth(file), CredentialFileError);
    assertEquals(ours.message, py.trimEnd());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("selectMatchingAuth agrees with hop's select_matching_auth", async () => {
  const creds = parseAuthToml(
    TOML + `
[[auth]]
username = "erin"
password = "x"
hostname = "other.example.org:9092"
`,
  );
  const queries: Array<[string, string | null]> = [
    ["kafka.example.org", null],
    ["kafka.example.org:9092", null],
    ["kafka.example.org:9093", null],
    ["kafka.example.org:9094", null],
    ["other.example.org", null],
    ["other.example.org:9092", "erin"],
    ["unknown.example.org:9092", null],
    ["unknown.example.org:9092", "carol"],
    ["unknown.example.org:9092", "zed"],
    ["kafka.example.org", "bob"],
  ];
  const tomlFile = await Deno.makeTempFile();
  await Deno.writeTextFile(
    tomlFile,
    TOML + `
[[auth]]
username = "erin"
password = "x"
hostname = "other.example.org:9092"
`,
  );
  await Deno.chmod(tomlFile, 0o600);
  try {
    const out = await python(
      `import json,sys
from hop.auth import load_auth, select_matching_auth, AmbiguousCredentialError
creds = load_auth(sys.argv[1])
for host, user in json.loads(sys.stdin.read()):
    try:
        print(json.dumps(["ok", select_matching_auth(creds, host, user).username]))
    except AmbiguousCredentialError as e:
        print(json.dumps(["ambiguous", str(e)]))
    except RuntimeError as e:
        print(json.dumps(["none", str(e)]))`,
      { args: [tomlFile], stdin: JSON.stringify(queries) },
    );
    const expected = out.trim().split("\n").map((l) => JSON.parse(l));
    queries.forEach(([host, user], i) => {
      let got: [string, string];
      try {
        got = ["ok", selectMatchingAuth(creds, host, user ?? undefined).username];
      } catch (e) {
        assertInstanceOf(e, AuthError);
        got = [e instanceof AmbiguousCredentialError ? "ambiguous" : "none", e.message];
      }
      assertEquals(got, expected[i], `${host} ${user}`);
    });
  } finally {
    await Deno.remove(tomlFile);
  }
});

Deno.test("netrc: parsing and igwn-alert's lookup by whole server string", async () => {
  const n = parseNetrc(`# comment
machine kafka://kafka.test/ login u1 password p1
machine other
  login u2
  password "p 2"
macdef init
  something here

default login d password dp
`);
  assertEquals(n.machines.get("kafka://kafka.test/"), { login: "u1", password: "p1" });
  assertEquals(n.machines.get("other")?.password, "p 2");
  assertEquals(n.default?.login, "d");
  const file = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(file, "machine kafka://kafka.test/ login u1 password p1\n");
    await Deno.chmod(file, 0o600);
    assertEquals(netrcLookup("kafka://kafka.test/", file)?.login, "u1");
    assertEquals(netrcLookup("kafka://other/", file), undefined);
    assertEquals(netrcLookup("kafka://kafka.test/", undefined, env({ NETRC: file }))?.login, "u1");
    await Deno.chmod(file, 0o644);
    const e = assertThrows(() => netrcLookup("kafka://kafka.test/", file), CredentialFileError);
    assertEquals(e.problem, "unsafe-permissions");
    assertEquals(
      assertThrows(() => netrcLookup("x", "/nonexistent/netrc"), CredentialFileError).problem,
      "not-found",
    );
  } finally {
    await Deno.remove(file);
  }
  assertEquals(new Auth({ username: "u", password: "p" }).ssl, true);
});
