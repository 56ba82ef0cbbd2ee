;; badmigrate.wat: an upgrade whose migrate writes key "migrated" and then reverts
;; "no way", so the upgrade must leave the old code and storage untouched.
;;   version: output "v3"
(module
  (import "wnode" "return_data" (func $return_data (param i32 i32)))
  (import "wnode" "revert" (func $revert (param i32 i32)))
  (import "wnode" "storage_write" (func $storage_write (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "migratedno wayv3")
  (func (export "migrate")
    (call $storage_write (i32.const 0) (i32.const 8) (i32.const 8) (i32.const 6))
    (call $revert (i32.const 8) (i32.const 6)))
  (func (export "version") (call $return_data (i32.const 14) (i32.const 2))))
