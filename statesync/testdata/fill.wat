;; fill.wat: writes many storage keys, to build large states for the state sync
;; measurements (statesync/bench_test.go).
;;   fill: input = start (u32 LE) | count (u32 LE); for i in [start, start+count) writes
;;         key i (8 bytes, i64 LE) with a 32-byte value derived from i
(module
  (import "wnode" "input_read" (func $input_read (param i32)))
  (import "wnode" "storage_write" (func $storage_write (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (func (export "fill") (local $i i32) (local $end i32)
    (call $input_read (i32.const 0))
    (local.set $i (i32.load (i32.const 0)))
    (local.set $end (i32.add (local.get $i) (i32.load (i32.const 4))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        ;; key at 0x100: i as i64
        (i64.store (i32.const 0x100) (i64.extend_i32_u (local.get $i)))
        ;; value at 0x200: four i64 mixing i
        (i64.store (i32.const 0x200) (i64.mul (i64.extend_i32_u (local.get $i)) (i64.const 0x9E3779B97F4A7C15)))
        (i64.store (i32.const 0x208) (i64.xor (i64.load (i32.const 0x200)) (i64.const 0x5851F42D4C957F2D)))
        (i64.store (i32.const 0x210) (i64.rotl (i64.load (i32.const 0x200)) (i64.const 17)))
        (i64.store (i32.const 0x218) (i64.extend_i32_u (local.get $i)))
        (call $storage_write (i32.const 0x100) (i32.const 8) (i32.const 0x200) (i32.const 32))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))))
