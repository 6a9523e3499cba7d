// The bridge configured the way an operator of an existing site would: no flags but the
// direction, settings from POSTTROLL_BRIDGE__* variables, and the Kafka credential from hop's
// default auth.toml ($XDG_CONFIG_HOME/hop/auth.toml, SASL_SSL with the broker's CA) — the file
// igwn-alert users already have.
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { Message } from "../../lib/posttroll/message.ts";
import { NoisyPublisher } from "../../lib/posttroll/publisher.ts";
import { Subscriber } from "../../lib/posttroll/subscriber.ts";
import { getPubAddress } from "../../lib/posttroll/nameserver.ts";
import { startKafka } from "../../testing/kafka.ts";
import { until } from "../../testing/net.ts";
import type { Child } from "../../testing/child.ts";
import { authFile, startBridge, startSite } from "./_sites.ts";

Deno.test("bridge configured by POSTTROLL_BRIDGE__* and hop's default auth.toml", async () => {
  await using kafka = await startKafka();
  const { file, url } = await authFile(kafka);
  const xdg = await Deno.makeTempDir({ prefix: "bridge-xdg-" });
  await Deno.mkdir(`${xdg}/hop`);
  await Deno.copyFile(file, `${xdg}/hop/auth.toml`);
  await Deno.chmod(`${xdg}/hop/auth.toml`, 0o600);
  const state = await Deno.makeTempDir({ prefix: "bridge-state-" });
  const site = await startSite("cfg");
  const children: Child[] = [site.nameserver];
  try {
    const env = {
      ...site.env,
      XDG_CONFIG_HOME: xdg,
      POSTTROLL_BRIDGE__KAFKA_URL: url,
      POSTTROLL_BRIDGE__TOPIC_PREFIX: "cfgtest",
      POSTTROLL_BRIDGE__STATE_DIR: state,
      POSTTROLL_BRIDGE__SERVICE: "from_elsewhere",
      POSTTROLL_BRIDGE__GROUP_ID: "cfg-group",
    };
    const up = await startBridge(
      { ...site, env: { ...env, POSTTROLL_BRIDGE__SITE: "north" } },
      ["to-kafka", "-s", "cfg_source"],
    );
    children.push(up);
    const down = await startBridge(
      { ...site, env: { ...env, POSTTROLL_BRIDGE__SITE: "south" } },
      ["from-kafka", "--nameserver", "localhost", "--start", "earliest", "--refresh", "0.3"],
    );
    children.push(down);
    const ready = down.lines.find((l) => l.includes("from-kafka ready"))!;
    assertStringIncludes(ready, "site south");
    assertStringIncludes(ready, "service from_elsewhere");
    assertStringIncludes(ready, "group cfg-group");
    assertStringIncludes(ready, `state ${state}/cfg-group.dedup`);
    assertStringIncludes(up.lines.find((l) => l.includes("to-kafka ready"))!, "site north");

    await using pub = await new NoisyPublisher("cfg_source", {
      nameservers: ["localhost"],
      broadcastInterval: 0.2,
      config: site.setup.config,
    }).start();
    const addrs = await until(async () => {
      const r = await getPubAddress("from_elsewhere", { timeout: 1, config: site.setup.config });
      return r.length ? r : undefined;
    }, { timeoutMs: 20_000, intervalMs: 200, what: "from-kafka registered as from_elsewhere" });
    await using sub = new Subscriber([addrs[0].URI as string], { config: site.setup.config });
    let got: Message | undefined;
    const deadline = Date.now() + 30_000;
    for (let i = 0; !got && Date.now() < deadline; i++) {
      await pub.send(new Message("/cfg/data", "info", { i }));
      for await (const m of sub.recv(0.3)) {
        if (m) got = m;
        break;
      }
    }
    assert(got, "a message crossed the bridge");
    assertEquals(got.subject, "/cfg/data");
    const codes = await Promise.all([up, down].map((c) => c.kill("SIGTERM")));
    assertEquals(codes.map((c) => c.code), [0, 0]);
    // the topic carries the configured prefix
    assert(up.lines.some((l) => l.includes("cfgtest.cfg.data")), up.lines.join("\n"));
  } finally {
    await Promise.all(children.map((c) => c.kill("SIGKILL").catch(() => {})));
    await Deno.remove(xdg, { recursive: true }).catch(() => {});
    await Deno.remove(state, { recursive: true }).catch(() => {});
  }
});
