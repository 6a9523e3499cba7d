// OAUTHBEARER where hop's auth.toml asks for it (`token_endpoint`): the client gets a token from the
// endpoint (OIDC client credentials: the credential's username and password as client id and
// secret, HTTP Basic) and logs in with it; a refused client is an AuthError naming the endpoint.
// The broker's OAUTHBEARER listener validates unsigned JWTs (Kafka's unsecured handler); the token
// endpoint is a small HTTP server of the test.
import { assert, assertEquals, assertRejects } from "@std/assert";
import { startKafka } from "../../testing/kafka.ts";
import { AuthError, IgwnAlertClient } from "../../lib/igwn_alert/mod.ts";
import { authEntry, authHome, createTopics } from "./_helpers.ts";

const b64url = (o: unknown) =>
  btoa(JSON.stringify(o)).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");

Deno.test("OAUTHBEARER: token from hop's token_endpoint, publish and listen", async () => {
  await using kafka = await startKafka({ oauth: true });
  await createTopics(kafka, ["gracedb.oauth"]);
  const requests: string[] = [];
  await using endpoint = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      const auth = req.headers.get("authorization") ?? "";
      const body = await req.text();
      requests.push(`${auth} ${body}`);
      if (
        auth !== `Basic ${btoa("pipeline:s3cret")}` ||
        !body.includes("grant_type=client_credentials")
      ) {
        return new Response("{}", { status: 401 });
      }
      const now = Math.floor(Date.now() / 1000);
      const token = `${b64url({ alg: "none" })}.${
        b64url({ sub: "pipeline", iat: now, exp: now + 3600 })
      }.`;
      return Response.json({ access_token: token, token_type: "bearer", expires_in: 3600 });
    },
  );
  const tokenUrl = `http://127.0.0.1:${endpoint.addr.port}/token`;
  const [host, port] = kafka.oauth!.split(":");
  const home = await authHome(
    authEntry({
      username: "pipeline",
      password: "s3cret",
      hostname: `${host}:${port}`,
      protocol: "SASL_PLAINTEXT",
    }) + `token_endpoint = "${tokenUrl}"\n`,
  );
  const env = { get: (k: string) => (k === "XDG_CONFIG_HOME" ? home.dir : undefined) };
  try {
    await using client = new IgwnAlertClient({
      server: `kafka://${host}:${port}/`,
      env,
      logger: () => {},
    });
    assertEquals(client.credential()?.kafkaMechanism, "OAUTHBEARER");
    let got: unknown;
    await client.listen((_t, payload) => {
      got = payload;
      client.stop();
    }, { topics: "oauth", onReady: () => void client.publish("oauth", '{"uid": "S-oauth"}') });
    assertEquals(got, '{"uid": "S-oauth"}');
    assert(requests.length >= 1 && requests.every((r) => r.startsWith("Basic ")));
    // a wrong secret: the endpoint refuses, the client says so (without the secret)
    const bad = await authHome(
      authEntry({
        username: "pipeline",
        password: "wrong",
        hostname: `${host}:${port}`,
        protocol: "SASL_PLAINTEXT",
      }) + `token_endpoint = "${tokenUrl}"\n`,
    );
    try {
      const refused = new IgwnAlertClient({
        server: `kafka://${host}:${port}/`,
        env: { get: (k: string) => (k === "XDG_CONFIG_HOME" ? bad.dir : undefined) },
        logger: () => {},
        timeoutMs: 5000,
      });
      const e = await assertRejects(() => refused.getTopics(), AuthError);
      assert(e.message.includes(tokenUrl) && !e.message.includes("wrong"), e.message);
    } finally {
      await Deno.remove(bad.dir, { recursive: true });
    }
  } finally {
    await Deno.remove(home.dir, { recursive: true });
  }
});
