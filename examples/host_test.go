// Package examples holds the example contracts; its tests run every committed contract
// (examples/ and vm/testdata/c/) on wazero against a small in-memory host, so that the
// input/output formats documented at the top of each source are pinned by Go baselines
// independently of package vm. The host here is deliberately naive (no gas, no NaN
// canonicalization); package vm's own tests check the real one.
package examples

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"os"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// maxFrames mirrors the ABI's call-depth limit of 64 contract frames.
const maxFrames = 64

// fakeGasLeft is what gas_left returns; calls.c passes 63/64 of it to callees.
const fakeGasLeft = 1_000_000_000

type addr [20]byte

type event struct {
	contract addr
	topic    string
	data     []byte
}

// revertError is how the host's revert import unwinds the contract (a host panic,
// returned by wazero as an error wrapping it).
type revertError struct{ msg []byte }

func (e *revertError) Error() string { return fmt.Sprintf("revert: %q", e.msg) }

// trapError stands for a bad pointer handed to the host.
type trapError struct{ what string }

func (e *trapError) Error() string { return "host trap: " + e.what }

// chain is the world: contract code and per-contract storage, plus what the host
// functions report about the environment.
type chain struct {
	t        *testing.T
	rt       wazero.Runtime
	code     map[addr]wazero.CompiledModule
	storage  map[addr]map[string][]byte
	balances map[addr][32]byte
	events   []event
	logs     []string
	origin   addr
	height   int64
	time     int64
}

// frame is one contract execution: what the host imports see during it.
type frame struct {
	c      *chain
	self   addr
	caller addr
	value  [32]byte
	input  []byte
	output []byte
	result []byte // output of the last call made by this frame
	depth  int
}

type frameKey struct{}

func frameOf(ctx context.Context) *frame { return ctx.Value(frameKey{}).(*frame) }

func read(m api.Module, ptr, n uint32) []byte {
	b, ok := m.Memory().Read(ptr, n)
	if !ok {
		panic(&trapError{fmt.Sprintf("read [%d, +%d) out of memory", ptr, n)})
	}
	return append([]byte(nil), b...)
}

func write(m api.Module, ptr uint32, b []byte) {
	if !m.Memory().Write(ptr, b) {
		panic(&trapError{fmt.Sprintf("write [%d, +%d) out of memory", ptr, len(b))})
	}
}

func newChain(t *testing.T) *chain {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().WithCloseOnContextDone(true))
	t.Cleanup(func() { rt.Close(ctx) })
	c := &chain{
		t: t, rt: rt,
		code:     map[addr]wazero.CompiledModule{},
		storage:  map[addr]map[string][]byte{},
		balances: map[addr][32]byte{},
		origin:   addr{0x0a},
		height:   7,
		time:     1_700_000_000_123,
	}
	b := rt.NewHostModuleBuilder("wnode")
	fn := func(name string, f any) { b.NewFunctionBuilder().WithFunc(f).Export(name) }
	fn("input_size", func(ctx context.Context) int32 { return int32(len(frameOf(ctx).input)) })
	fn("input_read", func(ctx context.Context, m api.Module, p uint32) { write(m, p, frameOf(ctx).input) })
	fn("return_data", func(ctx context.Context, m api.Module, p, n uint32) { frameOf(ctx).output = read(m, p, n) })
	fn("revert", func(ctx context.Context, m api.Module, p, n uint32) { panic(&revertError{read(m, p, n)}) })
	fn("storage_read", func(ctx context.Context, m api.Module, kp, kn, vp, vcap uint32) int64 {
		f := frameOf(ctx)
		v, ok := f.c.storage[f.self][string(read(m, kp, kn))]
		if !ok {
			return -1
		}
		write(m, vp, v[:min(len(v), int(vcap))])
		return int64(len(v))
	})
	fn("storage_write", func(ctx context.Context, m api.Module, kp, kn, vp, vn uint32) {
		f := frameOf(ctx)
		s := f.c.storage[f.self]
		if s == nil {
			s = map[string][]byte{}
			f.c.storage[f.self] = s
		}
		s[string(read(m, kp, kn))] = read(m, vp, vn)
	})
	fn("storage_delete", func(ctx context.Context, m api.Module, kp, kn uint32) {
		f := frameOf(ctx)
		delete(f.c.storage[f.self], string(read(m, kp, kn)))
	})
	fn("caller", func(ctx context.Context, m api.Module, p uint32) { a := frameOf(ctx).caller; write(m, p, a[:]) })
	fn("origin", func(ctx context.Context, m api.Module, p uint32) { a := frameOf(ctx).c.origin; write(m, p, a[:]) })
	fn("self_address", func(ctx context.Context, m api.Module, p uint32) { a := frameOf(ctx).self; write(m, p, a[:]) })
	fn("value", func(ctx context.Context, m api.Module, p uint32) { v := frameOf(ctx).value; write(m, p, v[:]) })
	fn("balance", func(ctx context.Context, m api.Module, ap, op uint32) {
		v := frameOf(ctx).c.balances[addr(read(m, ap, 20))]
		write(m, op, v[:])
	})
	fn("transfer", func(ctx context.Context, m api.Module, ap, vp uint32) int32 {
		// The fake host only records transfers of zero and reports 1 otherwise.
		v := read(m, vp, 32)
		for _, b := range v {
			if b != 0 {
				return 1
			}
		}
		read(m, ap, 20)
		return 0
	})
	fn("block_height", func(ctx context.Context) int64 { return frameOf(ctx).c.height })
	fn("block_time", func(ctx context.Context) int64 { return frameOf(ctx).c.time })
	fn("emit", func(ctx context.Context, m api.Module, tp, tn, dp, dn uint32) {
		f := frameOf(ctx)
		f.c.events = append(f.c.events, event{f.self, string(read(m, tp, tn)), read(m, dp, dn)})
	})
	fn("call", func(ctx context.Context, m api.Module, ap, mp, mn, argp, argn, vp uint32, gas int64) int32 {
		f := frameOf(ctx)
		to := addr(read(m, ap, 20))
		method := string(read(m, mp, mn))
		args := read(m, argp, argn)
		value := [32]byte(read(m, vp, 32))
		_ = gas // no gas here; package vm treats gas <= 0 as "all that may be given"
		out, err := f.c.run(ctx, f.depth+1, f.self, to, method, args, value)
		f.result = out
		if err != nil {
			var re *revertError
			if errors.As(err, &re) {
				f.result = re.msg
			}
			return 1
		}
		return 0
	})
	fn("result_size", func(ctx context.Context) int32 { return int32(len(frameOf(ctx).result)) })
	fn("result_read", func(ctx context.Context, m api.Module, p uint32) { write(m, p, frameOf(ctx).result) })
	fn("sha256", func(ctx context.Context, m api.Module, p, n, o uint32) {
		h := sha256.Sum256(read(m, p, n))
		write(m, o, h[:])
	})
	fn("keccak256", func(ctx context.Context, m api.Module, p, n, o uint32) {
		write(m, o, crypto.Keccak256(read(m, p, n)))
	})
	fn("ecrecover", func(ctx context.Context, m api.Module, hp, sp, op uint32) int32 {
		pub, err := crypto.SigToPub(read(m, hp, 32), read(m, sp, 65))
		if err != nil {
			return 1
		}
		a := crypto.PubkeyToAddress(*pub)
		write(m, op, a[:])
		return 0
	})
	fn("gas_left", func(ctx context.Context) int64 { return fakeGasLeft })
	fn("log", func(ctx context.Context, m api.Module, p, n uint32) {
		f := frameOf(ctx)
		f.c.logs = append(f.c.logs, string(read(m, p, n)))
	})
	if _, err := b.Instantiate(ctx); err != nil {
		t.Fatalf("instantiate host module: %v", err)
	}
	return c
}

// deploy compiles the .wasm file at path and places it at a.
func (c *chain) deploy(a addr, path string) {
	c.t.Helper()
	wasm, err := os.ReadFile(path)
	if err != nil {
		c.t.Fatal(err)
	}
	cm, err := c.rt.CompileModule(context.Background(), wasm)
	if err != nil {
		c.t.Fatalf("compile %s: %v", path, err)
	}
	c.code[a] = cm
}

// run executes method of the contract at to in a fresh instance; on any failure every
// storage change and event of the frame (and its callees) is undone.
func (c *chain) run(ctx context.Context, depth int, caller, to addr, method string, input []byte, value [32]byte) ([]byte, error) {
	if depth > maxFrames {
		return nil, errors.New("call depth exceeded")
	}
	cm, ok := c.code[to]
	if !ok {
		return nil, fmt.Errorf("no contract at %x", to)
	}
	snapStorage := map[addr]map[string][]byte{}
	for a, s := range c.storage {
		snapStorage[a] = maps.Clone(s)
	}
	snapEvents := len(c.events)

	f := &frame{c: c, self: to, caller: caller, value: value, input: input, depth: depth}
	fctx := context.WithValue(ctx, frameKey{}, f)
	mod, err := c.rt.InstantiateModule(fctx, cm, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		return nil, fmt.Errorf("instantiate: %w", err)
	}
	defer mod.Close(fctx)
	fnc := mod.ExportedFunction(method)
	if fnc == nil {
		err = fmt.Errorf("no method %q", method)
	} else {
		_, err = fnc.Call(fctx)
	}
	if err != nil {
		c.storage = snapStorage
		c.events = c.events[:snapEvents]
		return nil, err
	}
	return f.output, nil
}

// call runs a top-level call from the origin account with a deadline (which is what
// stops an endless loop here, in place of gas).
func (c *chain) call(to addr, method string, input []byte) ([]byte, error) {
	return c.callFrom(c.origin, to, method, input)
}

func (c *chain) callFrom(from, to addr, method string, input []byte) ([]byte, error) {
	return c.callWithin(10*time.Second, from, to, method, input)
}

func (c *chain) callWithin(d time.Duration, from, to addr, method string, input []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return c.run(ctx, 1, from, to, method, input, [32]byte{})
}

// mustCall is call that fails the test on an error.
func (c *chain) mustCall(to addr, method string, input []byte) []byte {
	c.t.Helper()
	out, err := c.call(to, method, input)
	if err != nil {
		c.t.Fatalf("%s(%x): %v", method, input, err)
	}
	return out
}

// mustRevert is call that expects a revert with exactly msg.
func (c *chain) mustRevert(to addr, method string, input []byte, msg string) {
	c.t.Helper()
	_, err := c.call(to, method, input)
	var re *revertError
	if !errors.As(err, &re) {
		c.t.Fatalf("%s(%x): want revert %q, got %v", method, input, msg, err)
	}
	if string(re.msg) != msg {
		c.t.Fatalf("%s(%x): revert %q, want %q", method, input, re.msg, msg)
	}
}
