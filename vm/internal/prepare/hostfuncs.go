package prepare

import "github.com/wnode/wnode/vm/internal/wasm"

// HostModule is the only module a contract may import from.
const HostModule = "wnode"

// HostFuncs is contract ABI v1: every function a contract may import from HostModule,
// with its exact signature. Pointers and lengths are i32 offsets into the contract's
// memory. wasm.ValType values equal wazero's api.ValueType values (0x7f i32, 0x7e i64).
// Prepare rejects any other import, and any of these with another signature. Treat the
// map as read-only.
var HostFuncs = map[string]wasm.FuncType{
	"input_size":     sig(nil, i32),
	"input_read":     sig(is(i32)),
	"return_data":    sig(is(i32, i32)),
	"revert":         sig(is(i32, i32)),
	"storage_read":   sig(is(i32, i32, i32, i32), i64),
	"storage_write":  sig(is(i32, i32, i32, i32)),
	"storage_delete": sig(is(i32, i32)),
	"caller":         sig(is(i32)),
	"origin":         sig(is(i32)),
	"self_address":   sig(is(i32)),
	"value":          sig(is(i32)),
	"balance":        sig(is(i32, i32)),
	"transfer":       sig(is(i32, i32), i32),
	"block_height":   sig(nil, i64),
	"block_time":     sig(nil, i64),
	"emit":           sig(is(i32, i32, i32, i32)),
	"call":           sig(is(i32, i32, i32, i32, i32, i32, i64), i32),
	"result_size":    sig(nil, i32),
	"result_read":    sig(is(i32)),
	"sha256":         sig(is(i32, i32, i32)),
	"keccak256":      sig(is(i32, i32, i32)),
	"ecrecover":      sig(is(i32, i32, i32), i32),
	"gas_left":       sig(nil, i64),
	"log":            sig(is(i32, i32)),
}

const (
	i32 = wasm.I32
	i64 = wasm.I64
)

func is(ts ...wasm.ValType) []wasm.ValType { return ts }

func sig(params []wasm.ValType, results ...wasm.ValType) wasm.FuncType {
	if len(results) == 0 {
		results = nil
	}
	return wasm.FuncType{Params: params, Results: results}
}
