;; The text inside a JSON string literal, for the common case of ASCII characters from U+0020 and
;; the one-character escapes (an igwn-alert alert: Python's json.dumps of GraceDB's alert JSON text):
;; unescaped in place, 64 or 16 bytes at a time where there is nothing to undo.
;; Memory: the JavaScript side copies the n bytes between the quotes to offset 0 (growing the
;; memory as needed) and decodes the result from offset 0.
;; Regenerate the bytes module with `deno run -A scripts/gen_wasm.ts`.
(module
  (memory (export "memory") 1)
  ;; lanes holding a quote, a backslash, a control character or a byte from 0x80 (negative)
  (func $special (param $v v128) (result v128)
    (v128.or
      (v128.or
        (i8x16.lt_s (local.get $v) (i8x16.splat (i32.const 0x20)))
        (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x22))))
      (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x5c)))))
  ;; unescape(n): the length of the unescaped text written from offset 0, or -1 when the bytes
  ;; hold anything else than ASCII from 0x20 (a quote only escaped) and the escapes \" \\ \/ \b \f
  ;; \n \r \t (the caller then lets JSON.parse decide: \u escapes, non-ASCII, invalid text)
  (func (export "unescape") (param $n i32) (result i32)
    (local $i i32) (local $o i32) (local $v v128) (local $stop i32) (local $c i32)
    (local $end16 i32) (local $end64 i32)
    (local $a v128) (local $b v128) (local $c2 v128) (local $d v128)
    (local.set $end16 (i32.sub (local.get $n) (i32.const 16)))
    (local.set $end64 (i32.sub (local.get $n) (i32.const 64)))
    (block $done
      (loop $blocks
        ;; 64 bytes with no quote, backslash, control or non-ASCII byte move as they are
        (block $slow
          (loop $fast64
            (br_if $slow (i32.gt_s (local.get $i) (local.get $end64)))
            (local.set $a (v128.load (local.get $i)))
            (local.set $b (v128.load offset=16 (local.get $i)))
            (local.set $c2 (v128.load offset=32 (local.get $i)))
            (local.set $d (v128.load offset=48 (local.get $i)))
            (br_if $slow (v128.any_true (v128.or (v128.or (call $special (local.get $a))
                                                           (call $special (local.get $b)))
                                                  (v128.or (call $special (local.get $c2))
                                                           (call $special (local.get $d))))))
            (v128.store (local.get $o) (local.get $a))
            (v128.store offset=16 (local.get $o) (local.get $b))
            (v128.store offset=32 (local.get $o) (local.get $c2))
            (v128.store offset=48 (local.get $o) (local.get $d))
            (local.set $i (i32.add (local.get $i) (i32.const 64)))
            (local.set $o (i32.add (local.get $o) (i32.const 64)))
            (br $fast64)))
        (if (i32.le_s (local.get $i) (local.get $end16))
          (then
            (local.set $v (v128.load (local.get $i)))
            (if (i32.eqz (v128.any_true (call $special (local.get $v))))
              (then
                (v128.store (local.get $o) (local.get $v))
                (local.set $i (i32.add (local.get $i) (i32.const 16)))
                (local.set $o (i32.add (local.get $o) (i32.const 16)))
                (br $blocks)))
            (local.set $stop (i32.add (local.get $i) (i32.const 16))))
          (else
            (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
            (local.set $stop (local.get $n))))
        ;; byte by byte up to the end of this block (an escape may end one byte past it)
        (loop $bytes
          (local.set $c (i32.load8_u (local.get $i)))
          (if (i32.eq (local.get $c) (i32.const 0x5c))
            (then
              (if (i32.ge_u (i32.add (local.get $i) (i32.const 1)) (local.get $n))
                (then (return (i32.const -1))))
              (local.set $c (i32.load8_u offset=1 (local.get $i)))
              (block $mapped
                (br_if $mapped (i32.eq (local.get $c) (i32.const 0x22)))
                (br_if $mapped (i32.eq (local.get $c) (i32.const 0x5c)))
                (br_if $mapped (i32.eq (local.get $c) (i32.const 0x2f)))
                (if (i32.eq (local.get $c) (i32.const 0x62))
                  (then (local.set $c (i32.const 0x08)) (br $mapped)))
                (if (i32.eq (local.get $c) (i32.const 0x66))
                  (then (local.set $c (i32.const 0x0c)) (br $mapped)))
                (if (i32.eq (local.get $c) (i32.const 0x6e))
                  (then (local.set $c (i32.const 0x0a)) (br $mapped)))
                (if (i32.eq (local.get $c) (i32.const 0x72))
                  (then (local.set $c (i32.const 0x0d)) (br $mapped)))
                (if (i32.eq (local.get $c) (i32.const 0x74))
                  (then (local.set $c (i32.const 0x09)) (br $mapped)))
                (return (i32.const -1)))
              (i32.store8 (local.get $o) (local.get $c))
              (local.set $i (i32.add (local.get $i) (i32.const 2))))
            (else
              (if (i32.or
                    (i32.or (i32.lt_u (local.get $c) (i32.const 0x20))
                            (i32.ge_u (local.get $c) (i32.const 0x80)))
                    (i32.eq (local.get $c) (i32.const 0x22)))
                (then (return (i32.const -1))))
              (i32.store8 (local.get $o) (local.get $c))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))))
          (local.set $o (i32.add (local.get $o) (i32.const 1)))
          (br_if $bytes (i32.lt_u (local.get $i) (local.get $stop))))
        (br $blocks)))
    (local.get $o)))
