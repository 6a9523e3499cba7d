;; Whether UTF-8 JSON text may hold an integral float token (see mayHaveIntegralFloat in
;; lib/pyjson/core.ts): 1 when some digit is followed by `e` or `E`, or by a `.` with a fraction
;; of zeros only (and no digit after them), 8 digits after it or 8 digits before it (FLOAT_MARK),
;; and the run of number-token bytes around it is delimited as a JSON number token is; else 0.
;; Memory: the caller copies the n bytes to offset 16 (the 16 bytes before stay zero).
;; Regenerate the bytes module with `deno run -A scripts/gen_wasm.ts`.
(module
  (memory (export "memory") 1)
  (func $digit (param $c i32) (result i32)
    (i32.lt_u (i32.sub (local.get $c) (i32.const 48)) (i32.const 10)))
  ;; a byte a number token may hold: a digit, `.`, `e`, `E`, `+`, `-`
  (func $inToken (param $c i32) (result i32)
    (i32.or
      (i32.or (call $digit (local.get $c)) (i32.eq (local.get $c) (i32.const 46)))
      (i32.or
        (i32.eq (i32.or (local.get $c) (i32.const 32)) (i32.const 101))
        (i32.or (i32.eq (local.get $c) (i32.const 43)) (i32.eq (local.get $c) (i32.const 45))))))
  ;; may come right before a number token's digits: `-`, `[`, `,`, `:`, whitespace
  (func $starts (param $c i32) (result i32)
    (i32.or
      (i32.or
        (i32.or (i32.eq (local.get $c) (i32.const 45)) (i32.eq (local.get $c) (i32.const 91)))
        (i32.or (i32.eq (local.get $c) (i32.const 44)) (i32.eq (local.get $c) (i32.const 58))))
      (i32.or
        (i32.or (i32.eq (local.get $c) (i32.const 32)) (i32.eq (local.get $c) (i32.const 10)))
        (i32.or (i32.eq (local.get $c) (i32.const 13)) (i32.eq (local.get $c) (i32.const 9))))))
  ;; may follow a number token: `,`, `]`, `}`, whitespace
  (func $ends (param $c i32) (result i32)
    (i32.or
      (i32.or
        (i32.or (i32.eq (local.get $c) (i32.const 44)) (i32.eq (local.get $c) (i32.const 93)))
        (i32.or (i32.eq (local.get $c) (i32.const 125)) (i32.eq (local.get $c) (i32.const 32))))
      (i32.or
        (i32.or (i32.eq (local.get $c) (i32.const 10)) (i32.eq (local.get $c) (i32.const 13)))
        (i32.eq (local.get $c) (i32.const 9)))))
  ;; whether the `.`, `e` or `E` at p (after a digit) is a FLOAT_MARK whose token is delimited;
  ;; the text is [16, $end)
  (func $candidate (param $p i32) (param $end i32) (result i32)
    (local $q i32) (local $s i32) (local $k i32)
    (block $mark
      (br_if $mark (i32.ne (i32.load8_u (local.get $p)) (i32.const 46)))
      ;; `.`: zeros only, then no digit
      (local.set $q (i32.add (local.get $p) (i32.const 1)))
      (block $zeros
        (loop $z
          (br_if $zeros (i32.ge_u (local.get $q) (local.get $end)))
          (br_if $zeros (i32.ne (i32.load8_u (local.get $q)) (i32.const 48)))
          (local.set $q (i32.add (local.get $q) (i32.const 1)))
          (br $z)))
      (if (i32.gt_u (local.get $q) (i32.add (local.get $p) (i32.const 1)))
        (then
          (br_if $mark (i32.ge_u (local.get $q) (local.get $end)))
          (br_if $mark (i32.eqz (call $digit (i32.load8_u (local.get $q)))))))
      ;; 8 digits after it
      (block $after
        (local.set $q (i32.add (local.get $p) (i32.const 1)))
        (local.set $k (i32.add (local.get $p) (i32.const 9)))
        (br_if $after (i32.gt_u (local.get $k) (local.get $end)))
        (loop $a
          (br_if $after (i32.eqz (call $digit (i32.load8_u (local.get $q)))))
          (local.set $q (i32.add (local.get $q) (i32.const 1)))
          (br_if $mark (i32.eq (local.get $q) (local.get $k)))
          (br $a)))
      ;; 8 digits before it
      (if (i32.lt_u (local.get $p) (i32.const 24)) (then (return (i32.const 0))))
      (local.set $q (i32.sub (local.get $p) (i32.const 8)))
      (loop $b
        (if (i32.eqz (call $digit (i32.load8_u (local.get $q)))) (then (return (i32.const 0))))
        (local.set $q (i32.add (local.get $q) (i32.const 1)))
        (br_if $b (i32.lt_u (local.get $q) (local.get $p)))))
    ;; the run of token bytes around p, delimited as a JSON number token
    (local.set $s (local.get $p))
    (block $left
      (loop $l
        (br_if $left (i32.le_u (local.get $s) (i32.const 16)))
        (br_if $left (i32.eqz (call $inToken (i32.load8_u (i32.sub (local.get $s) (i32.const 1))))))
        (local.set $s (i32.sub (local.get $s) (i32.const 1)))
        (br $l)))
    (local.set $k (i32.add (local.get $p) (i32.const 1)))
    (block $right
      (loop $r
        (br_if $right (i32.ge_u (local.get $k) (local.get $end)))
        (br_if $right (i32.eqz (call $inToken (i32.load8_u (local.get $k)))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $r)))
    (if (i32.gt_u (local.get $s) (i32.const 16))
      (then
        (if (i32.eqz (call $starts (i32.load8_u (i32.sub (local.get $s) (i32.const 1)))))
          (then (return (i32.const 0))))))
    (if (i32.ge_u (local.get $k) (local.get $end)) (then (return (i32.const 1))))
    (call $ends (i32.load8_u (local.get $k))))
  ;; marks(n): 1 when the n bytes at 16 may hold an integral float token, else 0
  (func (export "marks") (param $n i32) (result i32)
    (local $i i32) (local $end i32) (local $v v128) (local $bits i32) (local $p i32)
    (local $dot v128) (local $e v128) (local $lower v128) (local $zero v128) (local $ten v128)
    (local.set $dot (i8x16.splat (i32.const 46)))
    (local.set $e (i8x16.splat (i32.const 101)))
    (local.set $lower (i8x16.splat (i32.const 32)))
    (local.set $zero (i8x16.splat (i32.const 48)))
    (local.set $ten (i8x16.splat (i32.const 9)))
    (local.set $end (i32.add (local.get $n) (i32.const 16)))
    ;; 16 zero bytes after the text: the last block reads them (no mark there)
    (v128.store (local.get $end) (v128.const i64x2 0 0))
    (local.set $i (i32.const 16))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $v (v128.load (local.get $i)))
        ;; lanes holding `.`, `e` or `E` right after a digit
        (local.set $bits
          (i8x16.bitmask
            (v128.and
              (v128.or
                (i8x16.eq (local.get $v) (local.get $dot))
                (i8x16.eq (v128.or (local.get $v) (local.get $lower)) (local.get $e)))
              ;; the byte before is a digit: (b - 48) <= 9 unsigned, as min(x, 9) == x
              (i8x16.eq
                (i8x16.min_u
                  (local.tee $v (i8x16.sub (v128.load (i32.sub (local.get $i) (i32.const 1)))
                                           (local.get $zero)))
                  (local.get $ten))
                (local.get $v)))))
        (block $next
          (loop $each
            (br_if $next (i32.eqz (local.get $bits)))
            (local.set $p (i32.add (local.get $i) (i32.ctz (local.get $bits))))
            (local.set $bits (i32.and (local.get $bits) (i32.sub (local.get $bits) (i32.const 1))))
            (if (call $candidate (local.get $p) (local.get $end)) (then (return (i32.const 1))))
            (br $each)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $blocks)))
    (i32.const 0)))
