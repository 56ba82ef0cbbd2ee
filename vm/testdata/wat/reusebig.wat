;; reusebig.wat: a contract with a memory above 256 KiB (8 pages), whose reused instances
;; are reset by giving the pages past 256 KiB back to the kernel, and with a data segment
;; past 256 KiB, which the reset must restore afterwards (reuse_test.go). peek returns 24
;; bytes: the 8 bytes at 0x1000 and at 0x60000 (zero after instantiation) and at 0x50000
;; (the data segment, "BIGDATA!").
(module
  (import "wnode" "return_data" (func $return_data (param i32 i32)))
  (memory (export "memory") 8 8)
  (data (i32.const 0x50000) "BIGDATA!")
  (func $peek
    (i64.store (i32.const 0x900) (i64.load (i32.const 0x1000)))
    (i64.store (i32.const 0x908) (i64.load (i32.const 0x60000)))
    (i64.store (i32.const 0x910) (i64.load (i32.const 0x50000)))
    (call $return_data (i32.const 0x900) (i32.const 24)))
  (func $dirty
    (i64.store (i32.const 0x1000) (i64.const -1))
    (i64.store (i32.const 0x60000) (i64.const 0xaaaaaaaaaaaaaaaa))
    (i64.store (i32.const 0x7fff8) (i64.const -1))
    (i64.store (i32.const 0x50000) (i64.const 0x5858585858585858)))
  (func (export "peek") (call $peek))
  (func (export "poke") (call $dirty) (call $peek))
  (func (export "poke_trap") (call $dirty) (unreachable))
)
