;; echo.wat: the dashboard's XSS test contract. Method echo returns its input and emits
;; one event whose topic and data are the input, so a page showing the tx's output and
;; events shows attacker-chosen bytes three times. Method hello answers "hello, world".
(module
  (import "wnode" "input_size" (func $input_size (result i32)))
  (import "wnode" "input_read" (func $input_read (param i32)))
  (import "wnode" "return_data" (func $return_data (param i32 i32)))
  (import "wnode" "emit" (func $emit (param i32 i32 i32 i32)))
  (memory (export "memory") 2)
  (data (i32.const 0) "hello, world")
  (func (export "echo") (local $n i32)
    (call $input_read (i32.const 0x1000))
    (local.set $n (call $input_size))
    (call $emit (i32.const 0x1000) (local.get $n) (i32.const 0x1000) (local.get $n))
    (call $return_data (i32.const 0x1000) (local.get $n)))
  (func (export "hello") (call $return_data (i32.const 0) (i32.const 12))))
