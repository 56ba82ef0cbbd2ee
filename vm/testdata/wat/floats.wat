;; floats.wat: float operations whose NaN results differ across CPUs and engines unless
;; canonicalized. Every method returns the raw bits of its results (little-endian).
(module
  (import "wnode" "input_size" (func $input_size (result i32)))
  (import "wnode" "input_read" (func $input_read (param i32)))
  (import "wnode" "return_data" (func $return_data (param i32 i32)))
  (memory (export "memory") 1)
  (global $nanpay64 f64 (f64.const nan:0x4000000000001))
  (global $nanpay32 f32 (f32.const nan:0x200001))

  ;; nans: 16 NaN-producing f64/f32 operations, 8 bytes each.
  (func (export "nans") (local $z f64) (local $i f64) (local $zf f32)
    (local.set $i (f64.div (f64.const 1) (local.get $z)))             ;; +inf
    (f64.store (i32.const 0)   (f64.div (local.get $z) (local.get $z))) ;; 0/0
    (f64.store (i32.const 8)   (f64.sqrt (f64.const -1)))
    (f64.store (i32.const 16)  (f64.sub (local.get $i) (local.get $i))) ;; inf-inf
    (f64.store (i32.const 24)  (f64.mul (local.get $i) (local.get $z))) ;; inf*0
    (f64.store (i32.const 32)  (f64.add (global.get $nanpay64) (f64.const 1)))
    (f64.store (i32.const 40)  (f64.min (global.get $nanpay64) (f64.const 1)))
    (f64.store (i32.const 48)  (f64.max (f64.const 1) (f64.neg (global.get $nanpay64))))
    (f64.store (i32.const 56)  (f64.promote_f32 (global.get $nanpay32)))
    (f32.store (i32.const 64)  (f32.div (local.get $zf) (local.get $zf)))
    (f32.store (i32.const 68)  (f32.sqrt (f32.const -2)))
    (f32.store (i32.const 72)  (f32.demote_f64 (global.get $nanpay64)))
    (f32.store (i32.const 76)  (f32.mul (global.get $nanpay32) (f32.const 2)))
    (f64.store (i32.const 80)  (f64.nearest (global.get $nanpay64)))
    (f64.store (i32.const 88)  (f64.floor (f64.neg (global.get $nanpay64))))
    (f64.store (i32.const 96)  (f64.ceil (f64.div (f64.neg (local.get $i)) (local.get $i))))
    (f32.store (i32.const 104) (f32.trunc (global.get $nanpay32)))
    (f32.store (i32.const 108) (f32.min (f32.const 0) (global.get $nanpay32)))
    (call $return_data (i32.const 0) (i32.const 112)))

  ;; arith: input = two f64 (LE); output = a+b, a-b, a*b, a/b, sqrt(a), min, max, a as f32.
  (func (export "arith") (local $a f64) (local $b f64)
    (call $input_read (i32.const 0x100))
    (local.set $a (f64.load (i32.const 0x100)))
    (local.set $b (f64.load (i32.const 0x108)))
    (f64.store (i32.const 0)  (f64.add (local.get $a) (local.get $b)))
    (f64.store (i32.const 8)  (f64.sub (local.get $a) (local.get $b)))
    (f64.store (i32.const 16) (f64.mul (local.get $a) (local.get $b)))
    (f64.store (i32.const 24) (f64.div (local.get $a) (local.get $b)))
    (f64.store (i32.const 32) (f64.sqrt (local.get $a)))
    (f64.store (i32.const 40) (f64.min (local.get $a) (local.get $b)))
    (f64.store (i32.const 48) (f64.max (local.get $a) (local.get $b)))
    (f32.store (i32.const 56) (f32.demote_f64 (local.get $a)))
    (i64.store (i32.const 60) (i64.trunc_sat_f64_s (local.get $a)))
    (call $return_data (i32.const 0) (i32.const 68)))
)
