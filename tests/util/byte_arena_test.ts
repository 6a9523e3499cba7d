// ByteArena (lib/_util/byte_arena.ts): pieces carved out of shared blocks stay intact until they
// are released, in any order; blocks are used again once everything in them was released, so
// the blocks in use follow the bytes held, not the bytes ever taken.
import { assert, assertEquals } from "@std/assert";
import { ByteArena } from "../../lib/_util/byte_arena.ts";
import { rng } from "../_rng.ts";

Deno.test("ByteArena: held pieces keep their bytes while others are taken and released in any order", () => {
  const arena = new ByteArena(4096, 4);
  const random = rng(17);
  const held: Array<{ piece: Uint8Array; mark: number }> = [];
  let mark = 0;
  let maxInUse = 0;
  for (let step = 0; step < 50_000; step++) {
    if (held.length < 200 && (held.length === 0 || random() < 0.52)) {
      const n = 1 + Math.floor(random() * (random() < 0.05 ? 3000 : 300));
      mark = (mark + 1) & 0xff;
      const src = new Uint8Array(n).fill(mark);
      const piece = random() < 0.5 ? arena.copy(src) : arena.take(n);
      if (piece.length !== n) throw new Error(`length ${piece.length} for ${n}`);
      piece.fill(mark);
      held.push({ piece, mark });
    } else {
      // release a random held piece (not in the order taken), checking it was left intact
      const i = Math.floor(random() * held.length);
      const { piece, mark: m } = held[i];
      held[i] = held[held.length - 1];
      held.pop();
      if (!piece.every((b) => b === m)) throw new Error(`piece of ${piece.length} overwritten`);
      arena.release(piece);
    }
    maxInUse = Math.max(maxInUse, arena.blocksInUse);
  }
  // at most 200 pieces of up to 1024 bytes in blocks (larger ones have arrays of their own):
  // the blocks in use stay near what is held, not what was ever taken (~7.5 MB here)
  assert(maxInUse <= 200, `blocks in use ${maxInUse}`);
  for (const { piece } of held) arena.release(piece);
  assert(arena.blocksInUse <= 1, `after releasing everything: ${arena.blocksInUse}`);
});

Deno.test("ByteArena: a block is used again once all its pieces are back; foreign arrays are ignored", () => {
  const arena = new ByteArena(1024, 2); // pieces up to 256 bytes come from blocks
  const a = Array.from({ length: 5 }, () => arena.take(200)); // 1000 bytes: block A
  const b = arena.take(200); // does not fit behind them: block B
  assert(a.every((p) => p.buffer === a[0].buffer) && b.buffer !== a[0].buffer);
  assertEquals(arena.blocksInUse, 2);
  for (const p of a) arena.release(p); // A is not current: it goes back
  assertEquals(arena.blocksInUse, 1);
  arena.release(new Uint8Array(10)); // not from the arena
  arena.release(a[0]); // released twice: ignored (its block has nothing out)
  const c = Array.from({ length: 5 }, () => arena.take(200)); // 4 fill B, the 5th reuses A
  assertEquals(c.slice(0, 4).map((p) => p.buffer === b.buffer), [true, true, true, true]);
  assertEquals(c[4].buffer, a[0].buffer);
  arena.release(b);
  for (const p of c) arena.release(p);
  assertEquals(arena.take(100).byteOffset, 0, "the current block starts over once empty");
  const own = arena.take(2000); // above maxPiece: an array of its own
  assertEquals([own.byteLength, own.buffer.byteLength], [2000, 2000]);
});
