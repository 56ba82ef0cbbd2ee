;; bench.wat: CPU and host-call workloads for benchmarks, with their input/output:
;;   loop:  input n (u32); runs n iterations of an xorshift step; output the final state (u64).
;;   sort:  input n (u32); fills n u32 with an LCG and insertion-sorts them; output the
;;          checksum sum(a[i]*i) (u64).
;;   sread: input n (u32); reads key "k" n times with storage_read; output the last result.
;;   hello: output "hello".
;;   sread_many: input n (u32); reads the n distinct keys "w" ‖ i as u64 big-endian
;;          (storage.wasm's key format) once each (vcap 32); output the sum of the results.
(module
  (import "wnode" "input_size" (func $input_size (result i32)))
  (import "wnode" "input_read" (func $input_read (param i32)))
  (import "wnode" "return_data" (func $return_data (param i32 i32)))
  (import "wnode" "storage_read" (func $storage_read (param i32 i32 i32 i32) (result i64)))
  (memory (export "memory") 1)
  (data (i32.const 0) "hellok")

  (func $n (result i32)
    (call $input_read (i32.const 0x100))
    (i32.load (i32.const 0x100)))

  (func (export "hello") (call $return_data (i32.const 0) (i32.const 5)))

  (func (export "loop") (local $i i32) (local $n i32) (local $x i64)
    (local.set $n (call $n))
    (local.set $x (i64.const 88172645463325252))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $x (i64.xor (local.get $x) (i64.shl (local.get $x) (i64.const 13))))
        (local.set $x (i64.xor (local.get $x) (i64.shr_u (local.get $x) (i64.const 7))))
        (local.set $x (i64.xor (local.get $x) (i64.shl (local.get $x) (i64.const 17))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (i64.store (i32.const 0x200) (local.get $x))
    (call $return_data (i32.const 0x200) (i32.const 8)))

  (func (export "sort") (local $n i32) (local $i i32) (local $j i32) (local $v i32) (local $s i32) (local $sum i64)
    (local.set $n (call $n))
    (if (i32.gt_u (local.get $n) (i32.const 16000)) (then unreachable))
    (local.set $s (i32.const 12345))
    ;; fill a[i] at 0x400 + 4i
    (block $d1 (loop $l1
      (br_if $d1 (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $s (i32.add (i32.mul (local.get $s) (i32.const 1103515245)) (i32.const 12345)))
      (i32.store (i32.add (i32.const 0x400) (i32.shl (local.get $i) (i32.const 2))) (local.get $s))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l1)))
    ;; insertion sort (unsigned)
    (local.set $i (i32.const 1))
    (block $d2 (loop $l2
      (br_if $d2 (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $v (i32.load (i32.add (i32.const 0x400) (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $j (local.get $i))
      (block $d3 (loop $l3
        (br_if $d3 (i32.eqz (local.get $j)))
        (br_if $d3 (i32.le_u
          (i32.load (i32.add (i32.const 0x3fc) (i32.shl (local.get $j) (i32.const 2))))
          (local.get $v)))
        (i32.store (i32.add (i32.const 0x400) (i32.shl (local.get $j) (i32.const 2)))
          (i32.load (i32.add (i32.const 0x3fc) (i32.shl (local.get $j) (i32.const 2)))))
        (local.set $j (i32.sub (local.get $j) (i32.const 1)))
        (br $l3)))
      (i32.store (i32.add (i32.const 0x400) (i32.shl (local.get $j) (i32.const 2))) (local.get $v))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l2)))
    ;; checksum
    (local.set $i (i32.const 0))
    (block $d4 (loop $l4
      (br_if $d4 (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $sum (i64.add (local.get $sum)
        (i64.mul (i64.extend_i32_u (i32.load (i32.add (i32.const 0x400) (i32.shl (local.get $i) (i32.const 2)))))
                 (i64.extend_i32_u (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l4)))
    (i64.store (i32.const 0x200) (local.get $sum))
    (call $return_data (i32.const 0x200) (i32.const 8)))

  (func (export "sread") (local $i i32) (local $n i32) (local $r i64)
    (local.set $n (call $n))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $r (call $storage_read (i32.const 5) (i32.const 1) (i32.const 0x300) (i32.const 64)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (i64.store (i32.const 0x200) (local.get $r))
    (call $return_data (i32.const 0x200) (i32.const 8)))

  (func (export "sread_many") (local $i i32) (local $n i32) (local $sum i64)
    (local.set $n (call $n))
    (i32.store8 (i32.const 0x380) (i32.const 0x77)) ;; "w"
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        ;; big-endian u64 of i at 0x381 (high 4 bytes stay zero)
        (i32.store8 (i32.const 0x385) (i32.shr_u (local.get $i) (i32.const 24)))
        (i32.store8 (i32.const 0x386) (i32.shr_u (local.get $i) (i32.const 16)))
        (i32.store8 (i32.const 0x387) (i32.shr_u (local.get $i) (i32.const 8)))
        (i32.store8 (i32.const 0x388) (local.get $i))
        (local.set $sum (i64.add (local.get $sum)
          (call $storage_read (i32.const 0x380) (i32.const 9) (i32.const 0x300) (i32.const 32))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (i64.store (i32.const 0x200) (local.get $sum))
    (call $return_data (i32.const 0x200) (i32.const 8)))
)
