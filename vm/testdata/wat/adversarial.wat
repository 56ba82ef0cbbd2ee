;; adversarial.wat: code that tries to hang, crash or exhaust the node. Every method must
;; end in a deterministic out of gas, stack overflow or trap.
(module
  (import "wnode" "input_size" (func $input_size (result i32)))
  (import "wnode" "input_read" (func $input_read (param i32)))
  (import "wnode" "return_data" (func $return_data (param i32 i32)))
  (import "wnode" "emit" (func $emit (param i32 i32 i32 i32)))
  (import "wnode" "call" (func $call (param i32 i32 i32 i32 i32 i32 i64) (result i32)))
  (import "wnode" "result_size" (func $result_size (result i32)))
  (import "wnode" "result_read" (func $result_read (param i32)))
  (import "wnode" "self_address" (func $self_address (param i32)))
  (import "wnode" "gas_left" (func $gas_left (result i64)))
  (import "wnode" "storage_write" (func $storage_write (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (table 2 funcref)
  (elem (i32.const 0) $indirect_rec $fib_i)
  (type $v (func))
  (type $ii (func (param i32) (result i32)))
  (data (i32.const 0) "recurse_depth")  ;; 13 bytes: the method name for self calls
  (data (i32.const 16) "recurse_trap")   ;; 12 bytes
  (data (i32.const 32) "grow_recurse")   ;; 12 bytes

  ;; loop: an infinite loop.
  (func (export "loop") (loop $l (br $l)))
  ;; host_loop: an infinite loop of cheap host calls.
  (func (export "host_loop") (loop $l (drop (call $gas_left)) (br $l)))
  ;; recurse: unbounded recursion.
  (func $recurse (export "recurse") (call $recurse))
  ;; recurse_locals: unbounded recursion with big frames.
  (func $recurse_locals (export "recurse_locals")
    (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    (call $recurse_locals))
  ;; fib: exponential recursion, fib(40).
  (func $fib (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                     (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
  (func (export "fib") (drop (call $fib (i32.const 40))))
  ;; indirect: unbounded recursion through call_indirect.
  (func $indirect_rec (call_indirect (type $v) (i32.const 0)))
  (func (export "indirect") (call $indirect_rec))
  ;; fib_indirect: exponential recursion through call_indirect.
  (func $fib_i (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add (call_indirect (type $ii) (i32.sub (local.get $n) (i32.const 1)) (i32.const 1))
                     (call_indirect (type $ii) (i32.sub (local.get $n) (i32.const 2)) (i32.const 1))))))
  (func (export "fib_indirect") (drop (call $fib_i (i32.const 40))))
  ;; grow_max: one memory.grow of 65535 pages (4 GiB); result (i32) as output.
  (func (export "grow_max")
    (i32.store (i32.const 0x100) (memory.grow (i32.const 65535)))
    (call $return_data (i32.const 0x100) (i32.const 4)))
  ;; grow_loop: memory.grow(1) forever, ignoring failures.
  (func (export "grow_loop") (loop $l (drop (memory.grow (i32.const 1))) (br $l)))
  ;; fill_huge: memory.fill of 4 GiB - 1 bytes (traps out of bounds if gas allows).
  (func (export "fill_huge") (memory.fill (i32.const 0) (i32.const 7) (i32.const -1)))
  ;; copy_huge: memory.copy of 4 GiB - 1 bytes.
  (func (export "copy_huge") (memory.copy (i32.const 0) (i32.const 1) (i32.const -1)))
  ;; fill_loop: memory.fill of the whole memory (64 KiB) forever.
  (func (export "fill_loop") (loop $l (memory.fill (i32.const 0) (i32.const 1) (i32.const 65536)) (br $l)))
  ;; return_huge: grows memory to input pages (u32) and returns all of it.
  (func (export "return_huge") (local $p i32)
    (call $input_read (i32.const 0x200))
    (local.set $p (i32.load (i32.const 0x200)))
    (drop (memory.grow (local.get $p)))
    (call $return_data (i32.const 0) (i32.mul (i32.add (local.get $p) (i32.const 1)) (i32.const 65536))))
  ;; emit_flood: emits 1 KiB events forever.
  (func (export "emit_flood")
    (loop $l (call $emit (i32.const 0) (i32.const 8) (i32.const 0) (i32.const 1024)) (br $l)))
  ;; write_flood: writes 1 KiB storage values under ever new keys forever.
  (func (export "write_flood") (local $i i32)
    (loop $l
      (i32.store (i32.const 0x300) (local.get $i))
      (call $storage_write (i32.const 0x300) (i32.const 4) (i32.const 0x400) (i32.const 1024))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
  ;; recurse_depth: calls itself with all its gas and input+1 (u32 depth, 0 at the top);
  ;; output = the deepest depth reached (u32) — the first frame whose call failed.
  (func (export "recurse_depth") (local $d i32)
    (call $input_read (i32.const 0x200))
    (local.set $d (i32.add (i32.load (i32.const 0x200)) (i32.const 1)))
    (i32.store (i32.const 0x204) (local.get $d))
    (call $self_address (i32.const 0x220))
    (if (i32.eqz (call $call (i32.const 0x220) (i32.const 0) (i32.const 13) (i32.const 0x204) (i32.const 4)
                   (i32.const 0x240) (call $gas_left)))
      (then
        (call $result_read (i32.const 0x204))
        (call $return_data (i32.const 0x204) (i32.const 4)))
      (else
        (call $return_data (i32.const 0x204) (i32.const 4)))))
  ;; grow_recurse: grows memory to 256 pages (16 MiB), then does what recurse_depth does
  ;; (calling grow_recurse): many frames holding big memories at once.
  (func (export "grow_recurse") (local $d i32)
    (drop (memory.grow (i32.const 255)))
    (call $input_read (i32.const 0x200))
    (local.set $d (i32.add (i32.load (i32.const 0x200)) (i32.const 1)))
    (i32.store (i32.const 0x204) (local.get $d))
    (call $self_address (i32.const 0x220))
    (if (i32.eqz (call $call (i32.const 0x220) (i32.const 32) (i32.const 12) (i32.const 0x204) (i32.const 4)
                   (i32.const 0x240) (call $gas_left)))
      (then
        (call $result_read (i32.const 0x204))
        (call $return_data (i32.const 0x204) (i32.const 4)))
      (else
        (call $return_data (i32.const 0x204) (i32.const 4)))))
  ;; recurse_trap: calls itself; traps when its call fails, so the failure climbs up.
  (func (export "recurse_trap")
    (call $self_address (i32.const 0x220))
    (if (call $call (i32.const 0x220) (i32.const 16) (i32.const 12) (i32.const 0) (i32.const 0)
          (i32.const 0x240) (call $gas_left))
      (then unreachable)))
  ;; traps of every kind
  (func (export "div_zero") (drop (i32.div_s (i32.const 1) (i32.const 0))))
  (func (export "int_overflow") (drop (i32.div_s (i32.const 0x80000000) (i32.const -1))))
  (func (export "bad_conversion") (drop (i32.trunc_f64_s (f64.const nan))))
  (func (export "oob_load") (drop (i32.load (i32.const 65535))))
  (func (export "oob_store") (i64.store (i32.const 65530) (i64.const 1)))
  (func (export "table_oob") (call_indirect (type $v) (i32.const 5)))
  (func (export "type_mismatch") (call_indirect (type $v) (i32.const 1)))
  (func (export "unreachable") unreachable)
)
