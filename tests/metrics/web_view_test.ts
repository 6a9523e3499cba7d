/**
 * The nameserver's web view in a real headless Debian chromium: a publisher registers and then
 * expires, and the open page shows it appear and disappear without reloading; the rate chart draws
 * the subjects counted by a `posttroll listen --metrics` instance. The screenshot is kept in
 * `.cache/test-logs/web_view.png` (docs/web_view.png is one of these).
 */
import { assert, assertEquals } from "@std/assert";
import { REPO_ROOT } from "../../testing/python.ts";
import { Child } from "../../testing/child.ts";
import { freePort } from "../../testing/net.ts";
import { Chromium } from "../../testing/chromium.ts";
import { testSetup, until } from "../../testing/posttroll.ts";
import { NoisyPublisher } from "../../lib/posttroll/publisher.ts";
import { Message, PyDateTime } from "../../lib/posttroll/message.ts";

const ROWS = `[...document.querySelectorAll("#services tbody tr")].map((tr) => ({
  uri: tr.dataset.uri, cells: [...tr.cells].map((c) => c.textContent) }))`;

Deno.test("web view: chromium shows a publisher appear and expire live; the rate chart draws", async () => {
  const s = testSetup({ POSTTROLL_MULTICAST: "False" });
  const nsPort = freePort();
  const listenPort = freePort();
  const listen = Child.binary(
    "posttroll",
    ["listen", "--metrics", `127.0.0.1:${listenPort}`],
    s.env,
  );
  const ns = Child.binary("nameserver", [
    "--no-multicast",
    "--max-age",
    "3",
    "--metrics",
    `127.0.0.1:${nsPort}`,
    "--rates-from",
    `http://127.0.0.1:${listenPort}/metrics`,
  ], s.env);
  const pubs: NoisyPublisher[] = [];
  try {
    await ns.line((l) => l.includes("Nameserver ready"));
    await using browser = await Chromium.launch(`http://127.0.0.1:${nsPort}/`);
    await until(
      () =>
        browser.evaluate<string>(`document.getElementById("state")?.textContent ?? ""`)
          .then((t) => t === "live"),
      { timeoutMs: 30_000, what: "the page to connect" },
    );
    // a marker that a reload would wipe
    await browser.evaluate(`window.__noReload = 42`);
    // without multicast the nameserver registers its own address_receiver: wait for that row
    const own = await until(async () => {
      const rows = await browser.evaluate<Array<{ uri: string; cells: string[] }>>(ROWS);
      return rows.find((r) => r.cells[0] === "address_receiver")?.uri;
    }, { timeoutMs: 20_000, what: "the address_receiver row" });

    const mkPub = async (name: string, aliases: string[]) => {
      const p = await new NoisyPublisher(name, {
        aliases,
        nameservers: ["localhost"],
        broadcastInterval: 0.5,
        config: s.config,
      }).start();
      pubs.push(p);
      return p;
    };
    const viirs = await mkPub("viirs_l1b", ["polar"]);
    const avhrr = await mkPub("avhrr_hrpt", []);
    const uris = new Map(
      [viirs, avhrr].map((p) => [p, (Message.decode(p.announcement!).data as { URI: string }).URI]),
    );
    const uriOf = (p: NoisyPublisher) => uris.get(p)!;
    const shown = await until(async () => {
      const rows = await browser.evaluate<Array<{ uri: string; cells: string[] }>>(ROWS);
      const mine = rows.filter((r) => r.uri !== own);
      return mine.length === 2 ? mine : undefined;
    }, { timeoutMs: 20_000, what: "both publishers on the page" });
    assertEquals(shown.map((r) => [r.uri, r.cells[0], r.cells[1]]), [
      [uriOf(avhrr), "avhrr_hrpt", "–"],
      [uriOf(viirs), "viirs_l1b", "polar"],
    ]);
    assert(/^\d+s$/.test(shown[0].cells[3]), shown[0].cells[3]);
    assertEquals(
      await browser.evaluate<string>(`document.getElementById("counts").textContent`),
      "5 services, 3 addresses", // ours (3 names) and address_receiver with its alias
    );

    // messages for the chart: the listen instance counts them, the nameserver scrapes it
    const send = async () => {
      for (let i = 0; i < 5; i++) {
        await viirs.send(
          new Message("/polar/viirs/l1b", "file", {
            uri: `/data/v${i}.h5`,
            start_time: PyDateTime.now(),
          }),
        );
      }
      await avhrr.send(new Message("/polar/avhrr/hrpt", "file", { uri: "/data/a.hrp" }));
    };
    const lines = await until(async () => {
      await send();
      const n = await browser.evaluate<string[]>(
        `[...document.querySelectorAll("#rates polyline")].map((p) => p.dataset.subject)`,
      );
      // (the listener follows every service: the nameserver's own announcements count too)
      return n.includes("/polar/viirs/l1b") && n.includes("/polar/avhrr/hrpt") ? n : undefined;
    }, { timeoutMs: 40_000, intervalMs: 250, what: "our two subjects in the rate chart" });
    // the busiest subject is drawn first
    assertEquals(lines[0], "/polar/viirs/l1b");
    // a few points of history, for the picture
    await until(async () => {
      await send();
      const points = await browser.evaluate<string>(
        `document.querySelector("#rates polyline")?.getAttribute("points") ?? ""`,
      );
      return points.split(" ").length >= 3;
    }, { timeoutMs: 40_000, intervalMs: 250, what: "three points of rate history" });
    // readable on a phone: nothing wider than the screen
    assert(
      await browser.evaluate<boolean>(
        `document.documentElement.scrollWidth <= window.innerWidth`,
      ),
      "the page scrolls sideways on a phone-sized screen",
    );
    await Deno.mkdir(`${REPO_ROOT}/.cache/test-logs`, { recursive: true });
    const phone = await browser.screenshot();
    assertEquals([...phone.slice(1, 4)], [80, 78, 71]); // "PNG"
    await Deno.writeFile(`${REPO_ROOT}/.cache/test-logs/web_view_phone.png`, phone);
    await browser.send("Emulation.setDeviceMetricsOverride", {
      width: 1100,
      height: 820,
      deviceScaleFactor: 1,
      mobile: false,
    });
    await Deno.writeFile(`${REPO_ROOT}/.cache/test-logs/web_view.png`, await browser.screenshot());

    // one publisher stops announcing: after max-age it expires and leaves the page
    await avhrr.stop();
    await until(async () => {
      const rows = await browser.evaluate<Array<{ uri: string }>>(ROWS);
      return !rows.some((r) => r.uri === uriOf(avhrr)) && rows.some((r) => r.uri === uriOf(viirs));
    }, { timeoutMs: 20_000, what: "the expired publisher to leave the page" });
    assertEquals(await browser.evaluate<number>(`window.__noReload`), 42);
  } finally {
    for (const p of pubs) await p.stop();
    assertEquals((await ns.kill("SIGTERM")).code, 0, ns.lines.join("\n"));
    // an idle listen (no message for a while) exits 0 on SIGTERM
    assertEquals((await listen.kill("SIGTERM")).code, 0, listen.lines.join("\n"));
  }
});
