/**
 * CPU cost of from-kafka's duplicate check per record at steady state: `has` + `add` of a new
 * 16-byte id on a memory-only `DedupStore` already holding its default capacity (100,000 ids), so
 * every add also forgets the oldest id.
 *
 * ```
 * deno bench --allow-all bench/dedup_bench.ts
 * ```
 *
 * @module
 */
import { DedupStore } from "../lib/bridge/dedup.ts";

const store = await DedupStore.open(null);
const id = new Uint8Array(16);
const view = new DataView(id.buffer);
let n = 0;
const next = () => {
  n++;
  view.setUint32(0, n);
  view.setUint32(8, Math.imul(n, 0x9e3779b1));
  return id;
};
while (store.size < store.capacity) store.add(next());

Deno.bench("DedupStore has + add at capacity (100,000 ids)", () => {
  const x = next();
  if (!store.has(x)) store.add(x);
});
