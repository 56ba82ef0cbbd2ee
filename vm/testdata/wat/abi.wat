;; abi.wat: exercises every host function of contract ABI v1.
;; Memory map: input is read at 0x1000 (max 60 KiB), scratch output at 0x10000 (page 1).
;; Integers in inputs and outputs are little-endian; amounts are 32-byte big-endian.
(module
  (import "wnode" "input_size" (func $input_size (result i32)))
  (import "wnode" "input_read" (func $input_read (param i32)))
  (import "wnode" "return_data" (func $return_data (param i32 i32)))
  (import "wnode" "revert" (func $revert (param i32 i32)))
  (import "wnode" "storage_read" (func $storage_read (param i32 i32 i32 i32) (result i64)))
  (import "wnode" "storage_write" (func $storage_write (param i32 i32 i32 i32)))
  (import "wnode" "storage_delete" (func $storage_delete (param i32 i32)))
  (import "wnode" "caller" (func $caller (param i32)))
  (import "wnode" "origin" (func $origin (param i32)))
  (import "wnode" "self_address" (func $self_address (param i32)))
  (import "wnode" "value" (func $value (param i32)))
  (import "wnode" "balance" (func $balance (param i32 i32)))
  (import "wnode" "transfer" (func $transfer (param i32 i32) (result i32)))
  (import "wnode" "block_height" (func $block_height (result i64)))
  (import "wnode" "block_time" (func $block_time (result i64)))
  (import "wnode" "emit" (func $emit (param i32 i32 i32 i32)))
  (import "wnode" "call" (func $call (param i32 i32 i32 i32 i32 i32 i64) (result i32)))
  (import "wnode" "result_size" (func $result_size (result i32)))
  (import "wnode" "result_read" (func $result_read (param i32)))
  (import "wnode" "sha256" (func $sha256 (param i32 i32 i32)))
  (import "wnode" "keccak256" (func $keccak256 (param i32 i32 i32)))
  (import "wnode" "ecrecover" (func $ecrecover (param i32 i32 i32) (result i32)))
  (import "wnode" "gas_left" (func $gas_left (result i64)))
  (import "wnode" "log" (func $log (param i32 i32)))
  (memory (export "memory") 2)

  ;; $in reads the input at 0x1000 and returns its length.
  (func $in (result i32)
    (call $input_read (i32.const 0x1000))
    (call $input_size))

  ;; echo: output = input.
  (func (export "echo") (call $return_data (i32.const 0x1000) (call $in)))
  ;; nothing: succeeds with empty output.
  (func (export "nothing"))
  ;; fail: revert with the input as message.
  (func (export "fail") (call $revert (i32.const 0x1000) (call $in)))
  ;; trap: unreachable.
  (func (export "trap") unreachable)

  ;; sread: input = key; output = i64 result of storage_read, then min(len, 256) value bytes.
  (func (export "sread") (local $n i64)
    (local.set $n (call $storage_read (i32.const 0x1000) (call $in) (i32.const 0x10008) (i32.const 256)))
    (i64.store (i32.const 0x10000) (local.get $n))
    (if (i64.lt_s (local.get $n) (i64.const 0)) (then (local.set $n (i64.const 0))))
    (if (i64.gt_s (local.get $n) (i64.const 256)) (then (local.set $n (i64.const 256))))
    (call $return_data (i32.const 0x10000) (i32.add (i32.const 8) (i32.wrap_i64 (local.get $n)))))
  ;; swrite: input = klen (u32) | key | value.
  (func (export "swrite") (local $n i32) (local $k i32)
    (local.set $n (call $in))
    (local.set $k (i32.load (i32.const 0x1000)))
    (call $storage_write
      (i32.const 0x1004) (local.get $k)
      (i32.add (i32.const 0x1004) (local.get $k))
      (i32.sub (i32.sub (local.get $n) (i32.const 4)) (local.get $k))))
  ;; swrite_fail: like swrite, then revert.
  (func (export "swrite_fail")
    (call $swrite_inner)
    (call $revert (i32.const 0) (i32.const 0)))
  (func $swrite_inner (local $n i32) (local $k i32)
    (local.set $n (call $in))
    (local.set $k (i32.load (i32.const 0x1000)))
    (call $storage_write
      (i32.const 0x1004) (local.get $k)
      (i32.add (i32.const 0x1004) (local.get $k))
      (i32.sub (i32.sub (local.get $n) (i32.const 4)) (local.get $k))))
  ;; sdelete: input = key.
  (func (export "sdelete") (call $storage_delete (i32.const 0x1000) (call $in)))

  ;; env: caller(20) | origin(20) | self(20) | value(32) | height(8) | time(8).
  (func (export "env")
    (call $caller (i32.const 0x10000))
    (call $origin (i32.const 0x10014))
    (call $self_address (i32.const 0x10028))
    (call $value (i32.const 0x1003c))
    (i64.store (i32.const 0x1005c) (call $block_height))
    (i64.store (i32.const 0x10064) (call $block_time))
    (call $return_data (i32.const 0x10000) (i32.const 108)))
  ;; balance: input = address; output = 32-byte balance.
  (func (export "balance")
    (drop (call $in))
    (call $balance (i32.const 0x1000) (i32.const 0x10000))
    (call $return_data (i32.const 0x10000) (i32.const 32)))
  ;; transfer: input = address(20) | amount(32); output = i32 result.
  (func (export "transfer")
    (drop (call $in))
    (i32.store (i32.const 0x10000) (call $transfer (i32.const 0x1000) (i32.const 0x1014)))
    (call $return_data (i32.const 0x10000) (i32.const 4)))
  ;; transfer_fail: transfer, then trap.
  (func (export "transfer_fail")
    (drop (call $in))
    (drop (call $transfer (i32.const 0x1000) (i32.const 0x1014)))
    unreachable)
  ;; emit: input = topic length (u32) | topic | data.
  (func (export "emit") (local $n i32) (local $t i32)
    (local.set $n (call $in))
    (local.set $t (i32.load (i32.const 0x1000)))
    (call $emit
      (i32.const 0x1004) (local.get $t)
      (i32.add (i32.const 0x1004) (local.get $t))
      (i32.sub (i32.sub (local.get $n) (i32.const 4)) (local.get $t))))
  ;; emit_n: input = count (u32); emits count events "flood" with a 4-byte index as data.
  (func (export "emit_n") (local $i i32) (local $n i32)
    (drop (call $in))
    (local.set $n (i32.load (i32.const 0x1000)))
    (i64.store (i32.const 0x10000) (i64.const 0x646f6f6c66)) ;; "flood"
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store (i32.const 0x10010) (local.get $i))
        (call $emit (i32.const 0x10000) (i32.const 5) (i32.const 0x10010) (i32.const 4))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l))))
  ;; call: input = address(20) | value(32) | gas(i64) | mlen(u32) | method | args.
  ;; output = i32 result code | result bytes.
  (func (export "call") (local $n i32) (local $m i32) (local $rc i32) (local $rs i32)
    (local.set $n (call $in))
    (local.set $m (i32.load (i32.const 0x103c)))
    (local.set $rc (call $call
      (i32.const 0x1000)
      (i32.const 0x1040) (local.get $m)
      (i32.add (i32.const 0x1040) (local.get $m))
      (i32.sub (i32.sub (local.get $n) (i32.const 0x40)) (local.get $m))
      (i32.const 0x1014)
      (i64.load (i32.const 0x1034))))
    (i32.store (i32.const 0x10000) (local.get $rc))
    (local.set $rs (call $result_size))
    (call $result_read (i32.const 0x10004))
    (call $return_data (i32.const 0x10000) (i32.add (i32.const 4) (local.get $rs))))
  ;; call_then_fail: like call, then revert (undoing the callee's changes too).
  (func (export "call_then_fail") (local $n i32) (local $m i32)
    (local.set $n (call $in))
    (local.set $m (i32.load (i32.const 0x103c)))
    (drop (call $call
      (i32.const 0x1000)
      (i32.const 0x1040) (local.get $m)
      (i32.add (i32.const 0x1040) (local.get $m))
      (i32.sub (i32.sub (local.get $n) (i32.const 0x40)) (local.get $m))
      (i32.const 0x1014)
      (i64.load (i32.const 0x1034))))
    (call $revert (i32.const 0) (i32.const 0)))
  ;; result_size_fresh: result_size before any call (0).
  (func (export "result_size_fresh")
    (i32.store (i32.const 0x10000) (call $result_size))
    (call $return_data (i32.const 0x10000) (i32.const 4)))
  ;; sha256 / keccak256: output = hash of input.
  (func (export "sha256") (call $sha256 (i32.const 0x1000) (call $in) (i32.const 0x10000))
    (call $return_data (i32.const 0x10000) (i32.const 32)))
  (func (export "keccak256") (call $keccak256 (i32.const 0x1000) (call $in) (i32.const 0x10000))
    (call $return_data (i32.const 0x10000) (i32.const 32)))
  ;; ecrecover: input = hash(32) | sig(65); output = i32 result | address(20).
  (func (export "ecrecover")
    (drop (call $in))
    (i32.store (i32.const 0x10000) (call $ecrecover (i32.const 0x1000) (i32.const 0x1020) (i32.const 0x10004)))
    (call $return_data (i32.const 0x10000) (i32.const 24)))
  ;; gas: output = gas_left (i64).
  (func (export "gas")
    (i64.store (i32.const 0x10000) (call $gas_left))
    (call $return_data (i32.const 0x10000) (i32.const 8)))
  ;; log: a debug line = input.
  (func (export "log") (call $log (i32.const 0x1000) (call $in)))

  ;; raw_*: input = the i32 arguments (little-endian) passed as-is, to test bounds checks.
  (func (export "raw_input_read") (drop (call $in))
    (call $input_read (i32.load (i32.const 0x1000))))
  (func (export "raw_return") (drop (call $in))
    (call $return_data (i32.load (i32.const 0x1000)) (i32.load (i32.const 0x1004))))
  (func (export "raw_revert") (drop (call $in))
    (call $revert (i32.load (i32.const 0x1000)) (i32.load (i32.const 0x1004))))
  (func (export "raw_storage_read") (drop (call $in))
    (drop (call $storage_read (i32.load (i32.const 0x1000)) (i32.load (i32.const 0x1004))
      (i32.load (i32.const 0x1008)) (i32.load (i32.const 0x100c)))))
  (func (export "raw_storage_write") (drop (call $in))
    (call $storage_write (i32.load (i32.const 0x1000)) (i32.load (i32.const 0x1004))
      (i32.load (i32.const 0x1008)) (i32.load (i32.const 0x100c))))
  (func (export "raw_storage_delete") (drop (call $in))
    (call $storage_delete (i32.load (i32.const 0x1000)) (i32.load (i32.const 0x1004))))
  (func (export "raw_caller") (drop (call $in)) (call $caller (i32.load (i32.const 0x1000))))
  (func (export "raw_origin") (drop (call $in)) (call $origin (i32.load (i32.const 0x1000))))
  (func (export "raw_self_address") (drop (call $in)) (call $self_address (i32.load (i32.const 0x1000))))
  (func (export "raw_value") (drop (call $in)) (call $value (i32.load (i32.const 0x1000))))
  (func (export "raw_balance") (drop (call $in))
    (call $balance (i32.load (i32.const 0x1000)) (i32.load (i32.const 0x1004))))
  (func (export "raw_transfer") (drop (call $in))
    (drop (call $transfer (i32.load (i32.const 0x1000)) (i32.load (i32.const 0x1004)))))
  (func (export "raw_emit") (drop (call $in))
    (call $emit (i32.load (i32.const 0x1000)) (i32.load (i32.const 0x1004))
      (i32.load (i32.const 0x1008)) (i32.load (i32.const 0x100c))))
  (func (export "raw_call") (drop (call $in))
    (drop (call $call (i32.load (i32.const 0x1000)) (i32.load (i32.const 0x1004))
      (i32.load (i32.const 0x1008)) (i32.load (i32.const 0x100c)) (i32.load (i32.const 0x1010))
      (i32.load (i32.const 0x1014)) (i64.const 100000))))
  (func (export "raw_result_read") (drop (call $in)) (call $result_read (i32.load (i32.const 0x1000))))
  (func (export "raw_sha256") (drop (call $in))
    (call $sha256 (i32.load (i32.const 0x1000)) (i32.load (i32.const 0x1004)) (i32.load (i32.const 0x1008))))
  (func (export "raw_keccak256") (drop (call $in))
    (call $keccak256 (i32.load (i32.const 0x1000)) (i32.load (i32.const 0x1004)) (i32.load (i32.const 0x1008))))
  (func (export "raw_ecrecover") (drop (call $in))
    (drop (call $ecrecover (i32.load (i32.const 0x1000)) (i32.load (i32.const 0x1004)) (i32.load (i32.const 0x1008)))))
  (func (export "raw_log") (drop (call $in))
    (call $log (i32.load (i32.const 0x1000)) (i32.load (i32.const 0x1004))))

  ;; _hidden is not a method (leading underscore).
  (func (export "_hidden"))

  ;; emit_big: input = count (u32) | dlen (u32); emits count events, topic "big", data the
  ;; dlen bytes at 0x10000 (dlen <= 64 KiB).
  (func (export "emit_big")
    (drop (call $in))
    (call $emit_big_n (i32.load (i32.const 0x1000)) (i32.load (i32.const 0x1004))))
  ;; emit_big_twice: input = address (20) | count (u32) | dlen (u32); calls emit_big of
  ;; that address with count | dlen (all gas, no value, traps unless it succeeds), then
  ;; emits as many events itself: the event limits span frames.
  (func (export "emit_big_twice")
    (drop (call $in))
    (if (call $call (i32.const 0x1000) (i32.const 0x100) (i32.const 8) (i32.const 0x1014) (i32.const 8)
          (i32.const 0x200) (i64.const 0))
      (then unreachable))
    (call $emit_big_n (i32.load (i32.const 0x1014)) (i32.load (i32.const 0x1018))))
  (func $emit_big_n (param $n i32) (param $len i32) (local $i i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (call $emit (i32.const 0x108) (i32.const 3) (i32.const 0x10000) (local.get $len))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l))))
  ;; 0x100: the method name "emit_big", 0x108: the topic "big"; 0x200: 32 zero bytes (value).
  (data (i32.const 0x100) "emit_bigbig")
)
