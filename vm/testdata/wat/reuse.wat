;; reuse.wat: a contract that leaves marks in every piece of instance state a call can
;; change (memory, the data segment's bytes, mutable globals, the memory's size, the
;; instrumenter's gas, trap and stack globals) and reports them, for the tests of
;; instance reuse (reuse_test.go). Every method returns (or would return) peek's 32
;; bytes: the 8 bytes at 0x800 (zero after instantiation), the 8 bytes at 0x200 (the
;; data segment, "DATADATA"), $g (i64, 7), $h (i32, 3), memory.size in pages (1).
(module
  (import "wnode" "return_data" (func $return_data (param i32 i32)))
  (import "wnode" "revert" (func $revert (param i32 i32)))
  (import "wnode" "self_address" (func $self_address (param i32)))
  (import "wnode" "call" (func $call (param i32 i32 i32 i32 i32 i32 i64) (result i32)))
  (import "wnode" "result_size" (func $result_size (result i32)))
  (import "wnode" "result_read" (func $result_read (param i32)))
  (memory (export "memory") 1 4)
  (global $g (mut i64) (i64.const 7))
  (global $h (mut i32) (i32.const 3))
  ;; 0x100: self address; 0x180: "peek"; 0x200: the data segment; 0x300: 32 zero
  ;; bytes (value); 0x800: the marker; 0x900: peek's output; 0xa00: a callee's result.
  (data (i32.const 0x180) "peek")
  (data (i32.const 0x200) "DATADATA")

  (func $peek
    (i64.store (i32.const 0x900) (i64.load (i32.const 0x800)))
    (i64.store (i32.const 0x908) (i64.load (i32.const 0x200)))
    (i64.store (i32.const 0x910) (global.get $g))
    (i32.store (i32.const 0x918) (global.get $h))
    (i32.store (i32.const 0x91c) (memory.size))
    (call $return_data (i32.const 0x900) (i32.const 32)))

  ;; $dirty changes everything a call can change but the memory's size.
  (func $dirty
    (i64.store (i32.const 0x800) (i64.const 0xaaaaaaaaaaaaaaaa))
    (i64.store (i32.const 0x200) (i64.const 0x5858585858585858)) ;; "XXXXXXXX"
    (i64.store (i32.const 0xfff8) (i64.const -1))                 ;; the last 8 bytes
    (global.set $g (i64.const 0x1234))
    (global.set $h (i32.const 99)))

  (func (export "peek") (call $peek))
  (func (export "poke") (call $dirty) (call $peek))
  (func (export "poke_trap") (call $dirty) (unreachable))
  (func (export "poke_revert") (call $dirty) (call $revert (i32.const 0x200) (i32.const 8)))
  (func (export "poke_oog") (call $dirty) (loop $forever (br $forever)))
  (func (export "grow")
    (drop (memory.grow (i32.const 1)))
    (i64.store (i32.const 0x10000) (i64.const -1))
    (call $dirty) (call $peek))
  ;; poke, then peek in a nested call of this same contract: the callee must see an
  ;; instance of its own, as after instantiation.
  (func (export "poke_call")
    (call $dirty)
    (call $self_address (i32.const 0x100))
    (drop (call $call (i32.const 0x100) (i32.const 0x180) (i32.const 4)
                      (i32.const 0) (i32.const 0) (i32.const 0x300) (i64.const 0)))
    (call $result_read (i32.const 0xa00))
    (call $return_data (i32.const 0xa00) (call $result_size)))
  ;; Unbounded recursion: the instrumenter's stack limit stops it (stack overflow).
  (func $deep (param $n i32) (result i32)
    (i32.add (call $deep (i32.add (local.get $n) (i32.const 1))) (i32.const 1)))
  (func (export "poke_deep") (call $dirty) (drop (call $deep (i32.const 0))))
  ;; 500 nested frames: fine from a fresh stack height, not from a leaked one.
  (func $rec (param $n i32)
    (if (local.get $n) (then (call $rec (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "rec") (call $rec (i32.const 500)) (call $peek))
)
