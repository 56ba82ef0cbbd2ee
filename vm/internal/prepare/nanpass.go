package prepare

import (
	"slices"

	"github.com/wnode/wnode/vm/internal/wasm"
)

// Canonical NaNs: positive, quiet, zero payload.
const (
	CanonicalNaN32 uint32 = 0x7fc00000
	CanonicalNaN64 uint64 = 0x7ff8000000000000
)

// canonF32 reports whether op produces an f32 whose NaN bits the WebAssembly spec leaves
// to the implementation: arithmetic, sqrt, min/max, rounding and demotion. abs, neg,
// copysign, loads, constants and reinterpretations are bit-exact, and conversions from
// integers never produce a NaN.
func canonF32(op wasm.Opcode) bool {
	return (op >= wasm.OpF32Ceil && op <= wasm.OpF32Sqrt) || // ceil floor trunc nearest sqrt
		(op >= wasm.OpF32Add && op < wasm.OpF32Copysign) || // add sub mul div min max
		op == wasm.OpF32DemoteF64
}

// canonF64 is canonF32 for f64 results.
func canonF64(op wasm.Opcode) bool {
	return (op >= wasm.OpF64Ceil && op <= wasm.OpF64Sqrt) ||
		(op >= wasm.OpF64Add && op < wasm.OpF64Copysign) ||
		op == wasm.OpF64PromoteF32
}

// nanPass appends body to out, following every instruction of canonF32/canonF64 with
// local.tee t; const canonicalNaN; local.get t; local.get t; eq; select
// which keeps the value unless it is a NaN (x != x) and then puts the canonical NaN.
// tmp32 and tmp64 are scratch locals of type f32 and f64.
func nanPass(out, body []wasm.Instr, tmp32, tmp64 uint32) []wasm.Instr {
	n := 0
	for i := range body {
		if canonF32(body[i].Op) || canonF64(body[i].Op) {
			n++
		}
	}
	out = slices.Grow(out, len(body)+6*n)
	for _, in := range body {
		out = append(out, in)
		var t uint64
		var nan wasm.Instr
		var eq wasm.Opcode
		switch {
		case canonF32(in.Op):
			t, nan, eq = uint64(tmp32), wasm.Instr{Op: wasm.OpF32Const, Imm: uint64(CanonicalNaN32)}, wasm.OpF32Eq
		case canonF64(in.Op):
			t, nan, eq = uint64(tmp64), wasm.Instr{Op: wasm.OpF64Const, Imm: CanonicalNaN64}, wasm.OpF64Eq
		default:
			continue
		}
		out = append(out,
			wasm.Instr{Op: wasm.OpLocalTee, Imm: t},
			nan,
			wasm.Instr{Op: wasm.OpLocalGet, Imm: t},
			wasm.Instr{Op: wasm.OpLocalGet, Imm: t},
			wasm.Instr{Op: eq},
			wasm.Instr{Op: wasm.OpSelect},
		)
	}
	return out
}
