;; warm.wat: scripts of storage and account accesses, for the warm/cold pricing tests.
;; Method "ops": the input is a script run left to right; each op is one letter and its
;; operands:
;;   'r' k    storage_read of the 1-byte key k (value copied to scratch, up to 32 bytes)
;;   'w' k    storage_write of the 1-byte key k with the 1-byte value k
;;   'd' k    storage_delete of the 1-byte key k
;;   'b' a20  balance of address a
;;   't' a20  transfer of 0 to address a
;;   'c' n s  call "ops" of this contract with the n-byte script s (all the gas it may
;;            get, value 0; the result code is ignored)
;;   'f'      revert (empty message)
;; Anything else traps. Two scripts that differ only in keys or addresses execute the
;; same instructions, so their gas differs only by host prices.
(module
  (import "wnode" "input_size" (func $input_size (result i32)))
  (import "wnode" "input_read" (func $input_read (param i32)))
  (import "wnode" "revert" (func $revert (param i32 i32)))
  (import "wnode" "storage_read" (func $storage_read (param i32 i32 i32 i32) (result i64)))
  (import "wnode" "storage_write" (func $storage_write (param i32 i32 i32 i32)))
  (import "wnode" "storage_delete" (func $storage_delete (param i32 i32)))
  (import "wnode" "self_address" (func $self_address (param i32)))
  (import "wnode" "balance" (func $balance (param i32 i32)))
  (import "wnode" "transfer" (func $transfer (param i32 i32) (result i32)))
  (import "wnode" "call" (func $call (param i32 i32 i32 i32 i32 i32 i64) (result i32)))
  (memory (export "memory") 1)
  ;; 0x100: self address; 0x200: "ops"; 0x300: 32 zero bytes (amount, value);
  ;; 0x400: scratch; 0x1000: the script.
  (data (i32.const 0x200) "ops")

  (func (export "ops") (local $p i32) (local $end i32) (local $op i32)
    (call $self_address (i32.const 0x100))
    (call $input_read (i32.const 0x1000))
    (local.set $p (i32.const 0x1000))
    (local.set $end (i32.add (i32.const 0x1000) (call $input_size)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $op (i32.load8_u (local.get $p)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (if (i32.eq (local.get $op) (i32.const 0x72)) ;; 'r'
          (then
            (drop (call $storage_read (local.get $p) (i32.const 1) (i32.const 0x400) (i32.const 32)))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $next)))
        (if (i32.eq (local.get $op) (i32.const 0x77)) ;; 'w'
          (then
            (call $storage_write (local.get $p) (i32.const 1) (local.get $p) (i32.const 1))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $next)))
        (if (i32.eq (local.get $op) (i32.const 0x64)) ;; 'd'
          (then
            (call $storage_delete (local.get $p) (i32.const 1))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $next)))
        (if (i32.eq (local.get $op) (i32.const 0x62)) ;; 'b'
          (then
            (call $balance (local.get $p) (i32.const 0x400))
            (local.set $p (i32.add (local.get $p) (i32.const 20)))
            (br $next)))
        (if (i32.eq (local.get $op) (i32.const 0x74)) ;; 't'
          (then
            (drop (call $transfer (local.get $p) (i32.const 0x300)))
            (local.set $p (i32.add (local.get $p) (i32.const 20)))
            (br $next)))
        (if (i32.eq (local.get $op) (i32.const 0x63)) ;; 'c'
          (then
            (drop (call $call (i32.const 0x100) (i32.const 0x200) (i32.const 3)
              (i32.add (local.get $p) (i32.const 1)) (i32.load8_u (local.get $p))
              (i32.const 0x300) (i64.const 0)))
            (local.set $p (i32.add (local.get $p) (i32.add (i32.const 1) (i32.load8_u (local.get $p)))))
            (br $next)))
        (if (i32.eq (local.get $op) (i32.const 0x66)) ;; 'f'
          (then (call $revert (i32.const 0x400) (i32.const 0))))
        unreachable)))
)
