// `deno bench -A bench/codec_bench.ts`: encode and decode of the three codec shapes, with a bare
// JSON.parse of the same payload as the reference in each group, and for JSON data the target of
// the decode fast path: JSON.parse plus posttroll's datetime pass (applyDatetimeDecoder).
import { Message, PyDateTime } from "../lib/posttroll/message.ts";
import { applyDatetimeDecoder } from "../lib/posttroll/pyjson.ts";
import { type Shape, shapes } from "./_codec_shapes.ts";

/** The end-to-end bench's file event (bench/e2e/shapes.json: 20 fields, 4 datetimes, 828 B). */
function e2eFileEvent(): Shape {
  const s = JSON.parse(Deno.readTextFileSync(new URL("e2e/shapes.json", import.meta.url)))
    .file_event;
  const data = { ...s.data };
  for (const k of s.datetimes) data[k] = PyDateTime.fromisoformat(data[k]);
  const message = new Message(s.subject, s.type, data, {
    sender: "bench@host",
    time: PyDateTime.fromisoformat("2026-11-25T01:10:19.500000"),
  });
  const raw = message.encode();
  return {
    name: `e2e file event (${new TextEncoder().encode(raw).length} B)`,
    message,
    json: raw.slice(raw.indexOf("application/json ") + 17),
    py: "",
  };
}

// the UTF-8 conversion flattens the encoded string (a string built by + is a tree of pieces)
const utf8 = new TextEncoder();
const out = new Uint8Array(1 << 20);

for (const shape of [...shapes(), e2eFileEvent()]) {
  // a flat string, as decoded from received bytes
  const raw = new TextDecoder().decode(new TextEncoder().encode(shape.message.encode()));
  const json = shape.json;
  Deno.bench({
    group: `decode: ${shape.name}`,
    name: "Message.decode",
    fn: () => {
      Message.decode(raw);
    },
  });
  Deno.bench({
    group: `decode: ${shape.name}`,
    name: "JSON.parse (reference)",
    baseline: true,
    fn: () => {
      JSON.parse(json);
    },
  });
  if (shape.message.encode().includes(" application/json ")) {
    Deno.bench({
      group: `decode: ${shape.name}`,
      name: "JSON.parse + datetime pass (target)",
      fn: () => {
        applyDatetimeDecoder(JSON.parse(json));
      },
    });
  }
  Deno.bench({
    group: `encode + decode: ${shape.name}`,
    name: "Message.decode(Message.encode())",
    fn: () => {
      Message.decode(shape.message.encode());
    },
  });
  Deno.bench({
    group: `encode: ${shape.name}`,
    name: "Message.encode",
    fn: () => {
      shape.message.encode();
    },
  });
  Deno.bench({
    group: `encode: ${shape.name}`,
    name: "Message.encode + UTF-8 into a buffer (what a publisher pays)",
    fn: () => {
      utf8.encodeInto(shape.message.encode(), out);
    },
  });
  Deno.bench({
    group: `encode: ${shape.name}`,
    name: "JSON.stringify (reference)",
    baseline: true,
    fn: () => {
      JSON.stringify(shape.message.data);
    },
  });
}
