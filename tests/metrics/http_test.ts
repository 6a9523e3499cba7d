/**
 * The metrics HTTP server: routes, keep-alive, refusals, event streams, and serveMetrics.
 * (Hostile clients — slowloris, floods, streams that never read — are in tests/faults/.)
 */
import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import {
  CONTENT_TYPE,
  EventStream,
  HttpServer,
  MetricsError,
  Registry,
  serveMetrics,
} from "../../lib/metrics/mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Sends raw bytes and reads until the server closes (or `until` matches). */
async function raw(
  port: number,
  text: string,
  until?: RegExp,
): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(enc.encode(text));
    let out = "";
    const buf = new Uint8Array(65536);
    while (true) {
      const n = await conn.read(buf);
      if (n === null) break;
      out += dec.decode(buf.subarray(0, n));
      if (until?.test(out)) break;
    }
    return out;
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

Deno.test("http: GET, HEAD, 404, 405, keep-alive and pipelined requests", async () => {
  await using server = HttpServer.listen({
    routes: { "/a": (r) => ({ body: `a ${r.query.get("x")}\n`, headers: { "X-T": "1" } }) },
    headers: { "X-Frame-Options": "DENY" },
  });
  const res = await fetch(`${server.url}a?x=1`);
  assertEquals(res.status, 200);
  assertEquals(res.headers.get("x-t"), "1");
  assertEquals(res.headers.get("x-frame-options"), "DENY");
  assertEquals(await res.text(), "a 1\n");
  assertEquals(await fetch(`${server.url}b`).then(async (r) => [r.status, await r.text()]), [
    404,
    "not found\n",
  ]);
  const head = await fetch(`${server.url}a`, { method: "HEAD" });
  assertEquals([head.status, head.headers.get("content-length"), await head.text()], [
    200,
    "7", // "a null\n"
    "",
  ]);
  const post = await raw(server.port, "POST /a HTTP/1.1\r\nHost: x\r\n\r\n");
  assert(post.startsWith("HTTP/1.1 405 "), post);
  // two pipelined requests on one connection, the second closing it
  const two = await raw(
    server.port,
    "GET /a?x=1 HTTP/1.1\r\nHost: x\r\n\r\nGET /a?x=2 HTTP/1.1\r\nConnection: close\r\n\r\n",
  );
  assertEquals(two.match(/HTTP\/1.1 200 OK/g)?.length, 2, two);
  assert(two.endsWith("a 2\n"), two);
});

Deno.test("http: bodies, oversized heads and garbage are refused and the connection closed", async () => {
  await using server = HttpServer.listen({
    routes: { "/": () => ({ body: "ok" }) },
    maxHeadBytes: 1024,
  });
  const body = await raw(server.port, "GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
  assert(body.startsWith("HTTP/1.1 413 "), body);
  const chunked = await raw(server.port, "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
  assert(chunked.startsWith("HTTP/1.1 413 "), chunked);
  const big = await raw(server.port, `GET / HTTP/1.1\r\nX: ${"a".repeat(5000)}\r\n\r\n`);
  assert(big.startsWith("HTTP/1.1 431 "), big);
  const garbage = await raw(server.port, "\x16\x03\x01 hello\r\n\r\n");
  assert(garbage.startsWith("HTTP/1.1 400 "), garbage);
  const http2 = await raw(server.port, "GET / HTTP/2.0\r\n\r\n");
  assert(http2.startsWith("HTTP/1.1 505 "), http2);
  assertEquals(await (await fetch(server.url)).text(), "ok");
});

Deno.test("http: a route that throws answers 500 and the server goes on", async () => {
  await using server = HttpServer.listen({
    routes: {
      "/boom": () => {
        throw new Error("kaput");
      },
      "/": () => ({ body: "ok" }),
    },
  });
  const r = await fetch(`${server.url}boom`);
  assertEquals([r.status, await r.text()], [500, "internal error: kaput\n"]);
  assertEquals(await (await fetch(server.url)).text(), "ok");
});

Deno.test("http: event streams get the snapshot, then each event; closing ends them", async () => {
  const stream = new EventStream({ onConnect: () => "event: hello\ndata: {}\n\n" });
  await using server = HttpServer.listen({ routes: { "/events": () => ({ stream }) } });
  const res = await fetch(`${server.url}events`);
  assertEquals(res.headers.get("content-type"), "text/event-stream");
  const reader = res.body!.getReader();
  let text = "";
  const readUntil = async (s: string) => {
    while (!text.includes(s)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended before ${s}: ${text}`);
      text += dec.decode(value);
    }
  };
  await readUntil("event: hello\ndata: {}\n\n");
  assertEquals(stream.clients, 1);
  stream.send("tick", "line one\nline two");
  await readUntil("event: tick\ndata: line one\ndata: line two\n\n");
  stream.close();
  while (!(await reader.read()).done) { /* drain */ }
  assertEquals(server.stats.streams, 0);
});

Deno.test("serveMetrics: /metrics with the 0.0.4 content type; a taken port names the setting", async () => {
  const registry = new Registry();
  registry.counter({ name: "hits_total", help: "Hits." }).inc(4);
  await using server = serveMetrics({ listen: "127.0.0.1:0", registry });
  const res = await fetch(`${server.url}metrics`);
  assertEquals(res.headers.get("content-type"), CONTENT_TYPE);
  assertStringIncludes(await res.text(), "hits_total 4\n");
  const err = assertThrows(
    () => serveMetrics({ listen: `127.0.0.1:${server.port}`, registry }),
    MetricsError,
  );
  assertStringIncludes(err.message, `--metrics 127.0.0.1:${server.port}: cannot listen`);
});
