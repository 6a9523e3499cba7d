// `deno bench -A bench/codec_bench.ts`: encode and decode of the three codec shapes, with a bare
// JSON.parse of the same payload as the reference in each group.
import { Message } from "../lib/posttroll/message.ts";
import { shapes } from "./_codec_shapes.ts";

for (const shape of shapes()) {
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
  Deno.bench({
    group: `encode: ${shape.name}`,
    name: "Message.encode",
    fn: () => {
      shape.message.encode();
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
