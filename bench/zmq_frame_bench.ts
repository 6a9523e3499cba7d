// `deno bench -A bench/zmq_frame_bench.ts`: the ZeroMQ engine's frame path without sockets —
// encoding messages into a connection's output buffer (as `send()` does per peer) and decoding
// them from a read buffer (as a connection's read loop does), for the sizes of the e2e bench
// (132 B short text, 828 B file event, 64 KiB binary), one frame and multipart, with a plain
// copy of the same bytes as the baseline of each group. Each iteration handles a batch of
// messages (64, or 4 at 64 KiB) as one read or one write would carry them.
import { FLAG_MORE, FrameDecoder, OutBuffer } from "../lib/zmq/frame.ts";

const SIZES: Array<[string, number, number]> = [
  ["132 B", 132, 64],
  ["828 B", 828, 64],
  ["64 KiB", 65625, 4],
];

// as the connections use them: 16 KiB zero-copy threshold, 256 KiB blocks
const ZERO_COPY_MIN = 16384;
const BLOCK = 262144;

for (const [label, size, batch] of SIZES) {
  const body = new Uint8Array(size).map((_, i) => i * 31);
  const topic = new TextEncoder().encode("pytroll://bench/topic");
  const one = [body];
  const multi = [topic, body, new Uint8Array(8)];
  const out = new OutBuffer(256, ZERO_COPY_MIN, BLOCK);
  const encodeAll = (frames: Uint8Array[]) => {
    for (let m = 0; m < batch; m++) {
      const last = frames.length - 1;
      for (let i = 0; i <= last; i++) out.frame(frames[i], i < last ? FLAG_MORE : 0);
    }
    let n = 0;
    for (const c of out.chunks()) n += c.length;
    out.reset();
    return n;
  };
  // the wire bytes of one batch, as one read brings them
  const wire = (frames: Uint8Array[]) => {
    const o = new OutBuffer(256);
    for (let m = 0; m < batch; m++) {
      const last = frames.length - 1;
      for (let i = 0; i <= last; i++) o.frame(frames[i], i < last ? FLAG_MORE : 0);
    }
    return o.bytes.slice(0, o.length);
  };
  const wireOne = wire(one);
  const wireMulti = wire(multi);
  const dec = new FrameDecoder({ initialSize: 2048, directMin: ZERO_COPY_MIN });
  const decodeAll = (bytes: Uint8Array) => {
    const view = dec.writable(bytes.length);
    view.set(bytes);
    dec.commit(bytes.length);
    let frames = 0;
    while (dec.next()) frames++;
    return frames;
  };
  const copy = new Uint8Array(wireOne.length);

  const cases: Array<[string, Array<[string, () => void]>]> = [
    ["encode", [["one frame", () => void encodeAll(one)], [
      "3-part message",
      () => void encodeAll(multi),
    ]]],
    ["decode", [["one frame", () => void decodeAll(wireOne)], [
      "3-part message",
      () => void decodeAll(wireMulti),
    ]]],
  ];
  for (const [what, fns] of cases) {
    const group = `${what} ${label} x${batch}`;
    Deno.bench({
      group,
      name: "copy of the wire bytes (baseline)",
      baseline: true,
      fn: () => {
        copy.set(wireOne);
      },
    });
    const api = what === "encode" ? "OutBuffer.frame" : "FrameDecoder.next";
    for (const [name, fn] of fns) Deno.bench({ group, name: `${api}, ${name}`, fn });
  }
}
