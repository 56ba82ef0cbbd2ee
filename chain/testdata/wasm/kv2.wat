;; kv2.wat: version 2 of kv1 with a migrate.
;;   migrate: copies the value of key "init" to key "copy" (proving storage is kept
;;            across the upgrade) and writes key "migrated" = its input
;;   set, get: as in kv1
;;   version:  output "v2"
(module
  (import "wnode" "input_size" (func $input_size (result i32)))
  (import "wnode" "input_read" (func $input_read (param i32)))
  (import "wnode" "return_data" (func $return_data (param i32 i32)))
  (import "wnode" "storage_read" (func $storage_read (param i32 i32 i32 i32) (result i64)))
  (import "wnode" "storage_write" (func $storage_write (param i32 i32 i32 i32)))
  (memory (export "memory") 2)
  (data (i32.const 0) "initv2copymigrated")
  (func $in (result i32) (call $input_read (i32.const 0x1000)) (call $input_size))
  (func (export "migrate") (local $r i64) (local $n i32)
    (local.set $n (call $in))
    (local.set $r (call $storage_read (i32.const 0) (i32.const 4) (i32.const 0x8000) (i32.const 0x4000)))
    (if (i64.ge_s (local.get $r) (i64.const 0))
      (then (call $storage_write (i32.const 6) (i32.const 4) (i32.const 0x8000) (i32.wrap_i64 (local.get $r)))))
    (call $storage_write (i32.const 10) (i32.const 8) (i32.const 0x1000) (local.get $n)))
  (func (export "set") (local $n i32) (local $k i32)
    (local.set $n (call $in))
    (local.set $k (i32.load8_u (i32.const 0x1000)))
    (call $storage_write (i32.const 0x1001) (local.get $k)
      (i32.add (i32.const 0x1001) (local.get $k))
      (i32.sub (i32.sub (local.get $n) (i32.const 1)) (local.get $k))))
  (func (export "get") (local $r i64)
    (local.set $r (call $storage_read (i32.const 0x1000) (call $in) (i32.const 0x8000) (i32.const 0x4000)))
    (if (i64.lt_s (local.get $r) (i64.const 0)) (then (local.set $r (i64.const 0))))
    (call $return_data (i32.const 0x8000) (i32.wrap_i64 (local.get $r))))
  (func (export "version") (call $return_data (i32.const 4) (i32.const 2))))
