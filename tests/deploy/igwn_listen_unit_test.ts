// The alert listener as a systemd service: started the way deploy/systemd/igwn-alert-listen@.service
// does (ExecStart with $IGWN_ALERT_ARGS and $LISTEN_ARGS word-split from the EnvironmentFile, %i
// and the unit's directories, a clean environment, the credential in $CREDENTIALS_DIRECTORY with
// mode 0400, the compiled binary's permission flags): an alert over SASL_SSL runs the instance's
// handler, then SIGTERM as `systemctl stop` sends it: exit 0 well within TimeoutStopSec.
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { binary } from "../../cli/binaries.ts";
import { IgwnAlertClient } from "../../lib/igwn_alert/mod.ts";
import { startKafka } from "../../testing/kafka.ts";
import { createTopics } from "../../testing/kafka_records.ts";
import { REPO_ROOT } from "../../testing/python.ts";
import { denoDir, expandExec, parseUnit } from "./_unit.ts";

const UNIT = `${REPO_ROOT}/deploy/systemd/igwn-alert-listen@.service`;

Deno.test("systemd unit (igwn-alert listen): settings that matter are present", async () => {
  const svc = parseUnit(await Deno.readTextFile(UNIT)).Service;
  assertEquals(svc.Restart, "on-failure");
  assertEquals(svc.DynamicUser, "yes");
  assertStringIncludes(svc.LoadCredential, "auth.toml:");
  assertStringIncludes(svc.EnvironmentFile, "/etc/default/igwn-alert-listen-%i");
  assert(svc.ExecStart.startsWith("/usr/local/bin/igwn-alert $IGWN_ALERT_ARGS listen "));
  assertStringIncludes(svc.ExecStart, "--handlers /etc/igwn-alert/%i.toml");
  assertStringIncludes(svc.ExecStart, "--dead-letter /var/lib/igwn-alert/%i/dead-letter");
  assertEquals(svc.StateDirectory, "igwn-alert/%i");
});

Deno.test("systemd unit (igwn-alert listen): an alert runs the instance's handler; SIGTERM -> exit 0", async () => {
  const svc = parseUnit(await Deno.readTextFile(UNIT)).Service;
  await using kafka = await startKafka();
  await createTopics(kafka, ["gracedb.unit"]);
  const port = kafka.saslSsl.split(":")[1];
  const root = await Deno.makeTempDir({ prefix: "igwn-unit-" });
  const etc = `${root}/etc/igwn-alert`;
  const varlib = `${root}/var/lib/igwn-alert`;
  const creds = `${root}/creds`;
  const handled = `${root}/handled`;
  await Deno.mkdir(etc, { recursive: true });
  await Deno.mkdir(creds);
  await Deno.mkdir(handled);
  const auth = `[[auth]]\nusername = "alice"\npassword = "alice-secret"\nprotocol = "SASL_SSL"\n` +
    `mechanism = "SCRAM-SHA-512"\nssl_ca_location = "${kafka.caFile}"\n`;
  await Deno.writeTextFile(`${creds}/auth.toml`, auth);
  await Deno.chmod(`${creds}/auth.toml`, 0o400); // as systemd's credential store leaves it
  await Deno.writeTextFile(
    `${etc}/pipeline.toml`,
    `[[handler]]\ntopic = "unit"\n` +
      `command = ["/bin/sh", "-c", "cat > ${handled}/$IGWN_ALERT_ID.json"]\ntimeout = 10\n`,
  );
  // what an operator puts into /etc/default/igwn-alert-listen-pipeline
  const envFile = {
    IGWN_ALERT_ARGS: `-s kafka://localhost:${port}/ -c alice-unit -l info`,
    LISTEN_ARGS: "--heartbeat 60 unit",
  };
  const argv = expandExec(svc.ExecStart.replaceAll("%i", "pipeline"), envFile).map((w) =>
    w.replace(/^\/etc\/igwn-alert/, etc).replace(/^\/var\/lib\/igwn-alert/, varlib)
  );
  assertEquals(argv[0], "/usr/local/bin/igwn-alert");
  const bin = binary("igwn-alert");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...bin.permissions, "--no-prompt", `${REPO_ROOT}/${bin.entry}`, ...argv.slice(1)],
    clearEnv: true,
    env: {
      PATH: "/usr/bin:/bin",
      DENO_DIR: await denoDir(),
      CREDENTIALS_DIRECTORY: creds,
      HOME: root,
      NO_COLOR: "1",
    },
    cwd: "/",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = child.output();
  let stopped = false;
  try {
    const publisher = new IgwnAlertClient({
      server: `kafka://localhost:${port}/`,
      authfile: `${creds}/auth.toml`,
      logger: () => {},
    });
    const files = () => [...Deno.readDirSync(handled)].map((e) => e.name);
    const deadline = Date.now() + 45_000;
    while (files().length === 0 && Date.now() < deadline) {
      await publisher.publish("unit", '{"uid": "S-unit"}').catch(() => {});
      await new Promise((r) => setTimeout(r, 500));
    }
    await publisher.close();
    assert(files().length > 0, "the handler ran");
    assertEquals(
      await Deno.readTextFile(`${handled}/${files()[0]}`),
      '{"uid": "S-unit"}',
    );
    const t0 = performance.now();
    child.kill("SIGTERM");
    stopped = true;
    const r = await out;
    const ms = performance.now() - t0;
    const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
    assertEquals(r.code, 0, text);
    assert(ms < Number(svc.TimeoutStopSec) * 1000, `stopping took ${Math.round(ms)} ms`);
  } finally {
    if (!stopped) child.kill("SIGKILL");
    await out.catch(() => {});
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
});
