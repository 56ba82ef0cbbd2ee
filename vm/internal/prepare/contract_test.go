package prepare

import (
	"bytes"
	"context"
	"crypto/sha256"
	"os"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/wnode/wnode/gas"
)

// stubHost is a minimal host for testdata/contract.wasm: input, output, storage, sha256.
type stubHost struct {
	input, output []byte
	storage       map[string][]byte
}

func (h *stubHost) instantiate(t testing.TB, rt wazero.Runtime) {
	t.Helper()
	mem := func(m api.Module, ptr, n uint32) []byte {
		b, ok := m.Memory().Read(ptr, n)
		if !ok {
			panic("out of bounds")
		}
		return b
	}
	_, err := rt.NewHostModuleBuilder(HostModule).
		NewFunctionBuilder().WithFunc(func() int32 { return int32(len(h.input)) }).Export("input_size").
		NewFunctionBuilder().WithFunc(func(ctx context.Context, m api.Module, ptr uint32) {
		m.Memory().Write(ptr, h.input)
	}).Export("input_read").
		NewFunctionBuilder().WithFunc(func(ctx context.Context, m api.Module, ptr, n uint32) {
		h.output = append([]byte{}, mem(m, ptr, n)...)
	}).Export("return_data").
		NewFunctionBuilder().WithFunc(func(ctx context.Context, m api.Module, ptr, n, out uint32) {
		sum := sha256.Sum256(mem(m, ptr, n))
		m.Memory().Write(out, sum[:])
	}).Export("sha256").
		NewFunctionBuilder().WithFunc(func(ctx context.Context, m api.Module, k, kl, v, vl uint32) {
		h.storage[string(mem(m, k, kl))] = append([]byte{}, mem(m, v, vl)...)
	}).Export("storage_write").
		NewFunctionBuilder().WithFunc(func(ctx context.Context, m api.Module, k, kl, v, vcap uint32) int64 {
		val, ok := h.storage[string(mem(m, k, kl))]
		if !ok {
			return -1
		}
		m.Memory().Write(v, val[:min(len(val), int(vcap))])
		return int64(len(val))
	}).Export("storage_read").
		NewFunctionBuilder().WithFunc(func() int64 { return 42 }).Export("gas_left").
		Instantiate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
}

// TestContractRuns runs every method of a real clang-built contract, original and
// instrumented, on both engines, with several inputs: the outputs and storage agree.
func TestContractRuns(t *testing.T) {
	code, err := os.ReadFile("testdata/contract.wasm")
	if err != nil {
		t.Fatal(err)
	}
	pm, err := Prepare(code, gas.Default(), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	h := &stubHost{}
	var rts []wazero.Runtime
	for _, cfg := range []wazero.RuntimeConfig{wazero.NewRuntimeConfigInterpreter(), wazero.NewRuntimeConfigCompiler()} {
		rt := wazero.NewRuntimeWithConfig(ctx, cfg.WithCoreFeatures(api.CoreFeaturesV2))
		defer rt.Close(ctx)
		h.instantiate(t, rt)
		rts = append(rts, rt)
	}
	inputs := [][]byte{
		nil,
		[]byte("hello, wnode"),
		bytes.Repeat([]byte{0xff, 0x01, 0x80, 0x7f, 0x10, 0x33, 0x05}, 150),
	}
	for _, method := range pm.Methods {
		for _, in := range inputs {
			var want []byte
			var wantGas uint64
			for ri, rt := range rts {
				for i, bin := range [][]byte{code, pm.Instrumented} {
					h.input, h.output, h.storage = in, nil, map[string][]byte{}
					mod, err := rt.InstantiateWithConfig(ctx, bin, wazero.NewModuleConfig().WithName(""))
					if err != nil {
						t.Fatal(err)
					}
					if i == 1 {
						mod.ExportedGlobal(GasGlobal).(api.MutableGlobal).Set(1 << 40)
					}
					if _, err := mod.ExportedFunction(method).Call(ctx); err != nil {
						t.Fatalf("%s(%d bytes), engine %d, instrumented %d: %v", method, len(in), ri, i, err)
					}
					if h.output == nil {
						t.Fatalf("%s(%d bytes): return_data not called", method, len(in))
					}
					got := append(h.output, []byte(h.storage["h"])...)
					if ri == 0 && i == 0 {
						want = got
					} else if !bytes.Equal(got, want) {
						t.Fatalf("%s(%d bytes), engine %d, instrumented %d: output %x, want %x", method, len(in), ri, i, got, want)
					}
					if i == 1 {
						used := 1<<40 - mod.ExportedGlobal(GasGlobal).Get()
						if ri == 0 {
							wantGas = used
						} else if used != wantGas {
							t.Fatalf("%s: gas %d on the compiler, %d on the interpreter", method, used, wantGas)
						}
						if used == 0 {
							t.Fatalf("%s: no gas charged", method)
						}
					}
					mod.Close(ctx)
				}
			}
		}
	}
}
