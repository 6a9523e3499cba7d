// The bridge as systemd services: both directions started the way
// deploy/systemd/posttroll-bridge@.service does (ExecStart with $BRIDGE_ARGS word-split from the
// EnvironmentFile, a clean environment, the credential in $CREDENTIALS_DIRECTORY with mode 0400,
// the state in $STATE_DIRECTORY, the compiled binary's permission flags), a message from a
// publisher through Kafka (SASL_SSL) to a subscriber of the bridge's service, then SIGTERM as
// `systemctl stop` does: both exit 0 well within TimeoutStopSec.
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { binary } from "../../cli/binaries.ts";
import { Message } from "../../lib/posttroll/message.ts";
import { NoisyPublisher } from "../../lib/posttroll/publisher.ts";
import { Subscriber } from "../../lib/posttroll/subscriber.ts";
import { getPubAddress } from "../../lib/posttroll/nameserver.ts";
import { startKafka } from "../../testing/kafka.ts";
import { until } from "../../testing/net.ts";
import { REPO_ROOT } from "../../testing/python.ts";
import { testSetup } from "../../testing/posttroll.ts";
import { startNameServer } from "../faults/_posttroll.ts";
import { denoDir, expandExec, parseUnit } from "./_unit.ts";

const UNIT = `${REPO_ROOT}/deploy/systemd/posttroll-bridge@.service`;

Deno.test("systemd unit (bridge): settings that matter are present", async () => {
  const svc = parseUnit(await Deno.readTextFile(UNIT)).Service;
  assertEquals(svc.Restart, "on-failure");
  assertEquals(svc.DynamicUser, "yes");
  assertEquals(svc.StateDirectory, "posttroll-bridge");
  assertStringIncludes(svc.LoadCredential, "auth.toml:");
  assertStringIncludes(svc.EnvironmentFile, "/etc/default/posttroll-bridge-%i");
  assert(svc.ExecStart.startsWith("/usr/local/bin/posttroll-bridge "), svc.ExecStart);
  assert(Number(svc.TimeoutStopSec) > 10, "longer than to-kafka's default close timeout");
});

Deno.test("systemd unit (bridge): to-kafka and from-kafka as the unit starts them; SIGTERM -> exit 0", async () => {
  const svc = parseUnit(await Deno.readTextFile(UNIT)).Service;
  await using kafka = await startKafka();
  const port = kafka.saslSsl.split(":")[1];
  const s = testSetup({ POSTTROLL_MULTICAST: "False" });
  const ns = await startNameServer(s, { multicastEnabled: false });
  const creds = await Deno.makeTempDir({ prefix: "bridge-creds-" });
  const state = await Deno.makeTempDir({ prefix: "bridge-state-" });
  await Deno.writeTextFile(
    `${creds}/auth.toml`,
    `[[auth]]\nusername = "alice"\npassword = "alice-secret"\nprotocol = "SASL_SSL"\n` +
      `mechanism = "SCRAM-SHA-512"\nssl_ca_location = "${kafka.caFile}"\n`,
  );
  await Deno.chmod(`${creds}/auth.toml`, 0o400); // as systemd's credential store leaves it
  const bin = binary("posttroll-bridge");
  const dir = await denoDir();
  const url = `kafka://localhost:${port}/`;
  const start = (args: string) => {
    // what an operator puts into /etc/default/posttroll-bridge-<instance>
    const envFile = { ...s.env, BRIDGE_ARGS: args };
    const argv = expandExec(svc.ExecStart, envFile);
    assertEquals(argv[0], "/usr/local/bin/posttroll-bridge");
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...bin.permissions,
        "--no-prompt",
        `${REPO_ROOT}/${bin.entry}`,
        ...argv.slice(1),
      ],
      clearEnv: true,
      env: {
        ...envFile,
        PATH: "/usr/bin:/bin",
        DENO_DIR: dir,
        CREDENTIALS_DIRECTORY: creds,
        STATE_DIRECTORY: state,
        NO_COLOR: "1",
      },
      cwd: "/",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    return { child, out: child.output() };
  };
  const up = start(`to-kafka --kafka ${url} --site a -s unit_test_pub -l debug`);
  const down = start(`from-kafka --kafka ${url} --site b --nameserver localhost -l debug`);
  let stopped = false;
  try {
    await using pub = await new NoisyPublisher("unit_test_pub", {
      nameservers: ["localhost"],
      broadcastInterval: 0.2,
      config: s.config,
    }).start();
    // the from-kafka publisher registers as kafka_bridge
    const addrs = await until(
      async () => {
        const r = await getPubAddress("kafka_bridge", { timeout: 1, config: s.config });
        return r.length ? r : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: "from-kafka registered as kafka_bridge" },
    );
    await using sub = new Subscriber([addrs[0].URI as string], { config: s.config });
    // publish until one arrives (the to-kafka subscription and topic creation take a moment)
    let got: Message | undefined;
    const deadline = Date.now() + 45_000;
    let i = 0;
    while (!got && Date.now() < deadline) {
      await pub.send(new Message("/unit/test", "info", { i: i++ }));
      for await (const m of sub.recv(0.3)) {
        if (m) got = m;
        break;
      }
    }
    assert(got, "a message crossed the bridge");
    assertEquals(got.subject, "/unit/test");
    const t0 = performance.now();
    up.child.kill("SIGTERM");
    down.child.kill("SIGTERM");
    stopped = true;
    const [u, d] = await Promise.all([up.out, down.out]);
    const ms = performance.now() - t0;
    const text = (r: Deno.CommandOutput) =>
      new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
    assertEquals(u.code, 0, text(u));
    assertEquals(d.code, 0, text(d));
    assert(ms < Number(svc.TimeoutStopSec) * 1000, `stopping took ${Math.round(ms)} ms`);
    assertStringIncludes(text(d), `state ${state}/`);
    const files = [...Deno.readDirSync(state)].map((e) => e.name);
    assert(files.some((f) => f.endsWith(".dedup")), `state file in $STATE_DIRECTORY: ${files}`);
  } finally {
    if (!stopped) {
      up.child.kill("SIGKILL");
      down.child.kill("SIGKILL");
    }
    await Promise.allSettled([up.out, down.out]);
    await ns.close();
    await Deno.remove(creds, { recursive: true }).catch(() => {});
    await Deno.remove(state, { recursive: true }).catch(() => {});
  }
});
