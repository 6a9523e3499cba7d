;; CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), slicing by 8.
;; Memory layout: bytes 0-8191 hold the eight 256-entry tables (little-endian u32, filled by the
;; JavaScript side at instantiation: T0 at 0, Tk at k * 1024); the data to checksum is copied
;; after them, one chunk at a time.
;; Regenerate the bytes module with `deno run -A scripts/gen_wasm.ts`.
(module
  (memory (export "memory") 1)
  ;; crc(p, n, prev): the CRC-32C of what gave `prev` (0 to start) followed by the n bytes at p
  (func (export "crc") (param $p i32) (param $n i32) (param $prev i32) (result i32)
    (local $c i32) (local $end i32) (local $lo i32) (local $hi i32)
    (local.set $c (i32.xor (local.get $prev) (i32.const -1)))
    (local.set $end (i32.add (local.get $p) (i32.and (local.get $n) (i32.const -8))))
    (block $tail
      (loop $eight
        (br_if $tail (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $lo (i32.xor (local.get $c) (i32.load (local.get $p))))
        (local.set $hi (i32.load offset=4 (local.get $p)))
        (local.set $c
          (i32.xor (i32.xor (i32.xor (i32.xor (i32.xor (i32.xor (i32.xor (i32.load offset=7168 (i32.shl (i32.and (local.get $lo) (i32.const 255)) (i32.const 2)))
          (i32.load offset=6144 (i32.shl (i32.and (i32.shr_u (local.get $lo) (i32.const 8)) (i32.const 255)) (i32.const 2))))
          (i32.load offset=5120 (i32.shl (i32.and (i32.shr_u (local.get $lo) (i32.const 16)) (i32.const 255)) (i32.const 2))))
          (i32.load offset=4096 (i32.shl (i32.shr_u (local.get $lo) (i32.const 24)) (i32.const 2))))
          (i32.load offset=3072 (i32.shl (i32.and (local.get $hi) (i32.const 255)) (i32.const 2))))
          (i32.load offset=2048 (i32.shl (i32.and (i32.shr_u (local.get $hi) (i32.const 8)) (i32.const 255)) (i32.const 2))))
          (i32.load offset=1024 (i32.shl (i32.and (i32.shr_u (local.get $hi) (i32.const 16)) (i32.const 255)) (i32.const 2))))
          (i32.load offset=0 (i32.shl (i32.shr_u (local.get $hi) (i32.const 24)) (i32.const 2)))))
        (local.set $p (i32.add (local.get $p) (i32.const 8)))
        (br $eight)))
    (local.set $end (i32.add (local.get $end) (i32.and (local.get $n) (i32.const 7))))
    (block $done
      (loop $one
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $c
          (i32.xor
            (i32.load (i32.shl (i32.and (i32.xor (local.get $c) (i32.load8_u (local.get $p)))
                                        (i32.const 255))
                               (i32.const 2)))
            (i32.shr_u (local.get $c) (i32.const 8))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $one)))
    (i32.xor (local.get $c) (i32.const -1))))
