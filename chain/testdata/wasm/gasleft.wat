;; gasleft.wat: a method whose success depends on the gas left, for gas estimation.
;;   needy: traps unless at least 2,000,000 gas is left on entry, then burns a little.
(module
  (import "wnode" "gas_left" (func $gas_left (result i64)))
  (memory (export "memory") 1)
  (func (export "needy") (local $i i32)
    (if (i64.lt_u (call $gas_left) (i64.const 2000000)) (then unreachable))
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 1000))))))
