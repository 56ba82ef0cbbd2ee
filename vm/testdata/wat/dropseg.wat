;; dropseg.wat: a contract that drops its passive data segment (data.drop), the one
;; change to an instance that the VM cannot undo: its instances are never reused
;; (reuse_test.go). "load" copies the segment into memory and returns it; "drop_load"
;; drops it first, so its memory.init traps.
(module
  (import "wnode" "return_data" (func $return_data (param i32 i32)))
  (memory (export "memory") 1)
  (data $seg "SEGM")
  (func $load
    (memory.init $seg (i32.const 0x100) (i32.const 0) (i32.const 4))
    (call $return_data (i32.const 0x100) (i32.const 4)))
  (func (export "load") (call $load))
  (func (export "drop_load") (data.drop $seg) (call $load))
)
