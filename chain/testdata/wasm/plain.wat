;; plain.wat: no init, no migrate.
;;   version: output "v0"
(module
  (import "wnode" "return_data" (func $return_data (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "v0")
  (func (export "version") (call $return_data (i32.const 0) (i32.const 2))))
