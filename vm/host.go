package vm

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"
	"github.com/tetratelabs/wazero/api"

	"github.com/wnode/wnode/gas"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm/internal/prepare"
	"github.com/wnode/wnode/vm/internal/wasm"
)

// Limits of the host ABI. Exceeding one traps deterministically ("trap: <what> ...").
// They bound what one call can make a node hold in memory; gas bounds the time. The
// storage functions also trap on a key or value over types.MaxStorageKeySize or
// types.MaxStorageValueSize, before the StateDB sees it: the state would refuse it with
// a sticky error that abandons the whole block.
const (
	// MaxInputSize bounds a call's input (top-level and the args of the call import).
	MaxInputSize = 1 << 20
	// MaxOutputSize bounds return_data and a revert message.
	MaxOutputSize = 1 << 20
	// MaxMethodSize bounds the method name given to the call import.
	MaxMethodSize = 256
	// MaxTopicSize and MaxEventDataSize bound one event; MaxEvents bounds the events one
	// top-level call emits across all its frames (those of failed frames included), and
	// MaxEventBytes their topic and data bytes. With MaxOutputSize they bound a receipt
	// (output + events, about 5 MiB encoded) well below types.MaxReceiptSize, which
	// chain's tests assert.
	MaxTopicSize     = 256
	MaxEventDataSize = 64 << 10
	MaxEvents        = 1024
	MaxEventBytes    = 4 << 20
	// MaxLogLine and MaxLogs bound debug output kept with Env.Debug: longer lines are
	// truncated, later lines dropped. Gas and bounds checks are the same with Debug off.
	MaxLogLine = 1 << 10
	MaxLogs    = 1024
	// MaxCallMemory bounds the linear memory held by the suspended frames of one
	// top-level call (each frame that is waiting in the call import): a call import that
	// would go above it fails with the stack code (4) instead of starting the callee.
	// Without it, 64 nested frames of 16 MiB each would hold 1 GiB per call.
	MaxCallMemory = 64 << 20
)

type hostFn struct {
	fn      api.GoModuleFunc
	params  []api.ValueType
	results []api.ValueType
}

func frameOf(ctx context.Context) *frame { return ctx.Value(frameKey{}).(*frame) }

// charge takes cost gas from the instance's gas global, or traps out of gas. It also
// stops the call when its context is done (every host function charges first).
func (f *frame) charge(cost uint64) {
	if f.done != nil {
		select {
		case <-f.done:
			panic(&nodeError{fmt.Errorf("%w: %w", ErrCanceled, f.Context.Err())})
		default:
		}
	}
	left := int64(f.gas.Get())
	if left < 0 || uint64(left) < cost {
		f.gas.Set(0)
		panic(errHostOOG)
	}
	f.gas.Set(uint64(left) - cost)
}

// read returns a view of n bytes of memory at ptr (valid until the next memory.grow),
// or traps out of bounds.
func (f *frame) read(ptr, n uint32) []byte {
	b, ok := f.mem.Read(ptr, n)
	if !ok {
		panic(errHostOOB)
	}
	return b
}

// write copies b into memory at ptr, or traps out of bounds.
func (f *frame) write(ptr uint32, b []byte) {
	if !f.mem.Write(ptr, b) {
		panic(errHostOOB)
	}
}

func perByte(l gas.Linear, n uint64) uint64 { return gas.Linear{PerKiB: l.PerKiB}.Cost(n) }

// accountPrice is the price of an account access by balance or transfer: Balance when
// the account is cold in the top-level call, BalanceWarm when warm.
func accountPrice(h *gas.Host, warm bool) uint64 {
	if warm {
		return h.BalanceWarm.Base
	}
	return h.Balance.Base
}

func limit(what string, n uint32, max int) {
	if int64(n) > int64(max) {
		panic(trap(fmt.Sprintf("%s of %d bytes exceeds %d", what, n, max)))
	}
}

// hostFunctions returns the host ABI v1, priced by s.
func hostFunctions(s *gas.Schedule) map[string]hostFn {
	h := &s.Host
	fns := map[string]hostFn{}
	// The signature of each function is prepare.HostFuncs's, the table the validator
	// checks imports against: one definition of the ABI.
	def := func(name string, fn func(f *frame, stack []uint64)) {
		ft, ok := prepare.HostFuncs[name]
		if !ok {
			panic("vm: host function " + name + " is not in ABI v1 (prepare.HostFuncs)")
		}
		fns[name] = hostFn{
			fn:      func(ctx context.Context, _ api.Module, stack []uint64) { fn(frameOf(ctx), stack) },
			params:  valueTypes(ft.Params),
			results: valueTypes(ft.Results),
		}
	}
	addr20 := func(name string, cost gas.Linear, get func(f *frame) types.Address) {
		def(name, func(f *frame, st []uint64) {
			f.charge(cost.Base)
			a := get(f)
			f.write(uint32(st[0]), a[:])
		})
	}

	def("input_size", func(f *frame, st []uint64) {
		f.charge(h.InputSize.Base)
		st[0] = uint64(len(f.input))
	})
	def("input_read", func(f *frame, st []uint64) {
		f.charge(h.InputRead.Cost(uint64(len(f.input))))
		f.write(uint32(st[0]), f.input)
	})
	def("return_data", func(f *frame, st []uint64) {
		n := uint32(st[1])
		limit("return data", n, MaxOutputSize)
		f.charge(h.ReturnData.Cost(uint64(n)))
		f.output = append(f.output[:0], f.read(uint32(st[0]), n)...)
	})
	def("revert", func(f *frame, st []uint64) {
		n := uint32(st[1])
		limit("revert message", n, MaxOutputSize)
		f.charge(h.Revert.Cost(uint64(n)))
		panic(&RevertError{Msg: string(f.read(uint32(st[0]), n))})
	})
	def("storage_read", func(f *frame, st []uint64) {
		klen := uint32(st[1])
		limit("storage key", klen, types.MaxStorageKeySize)
		key := f.read(uint32(st[0]), klen)
		price := h.StorageRead
		if f.x.slotWarm(f.contract, key) {
			price = h.StorageReadWarm
		}
		f.charge(price.Cost(uint64(klen)))
		f.x.warmSlot(f.contract, key)
		val, ok := f.x.env.State.GetStorage(f.contract, key)
		if !ok {
			st[0] = math.MaxUint64 // -1
			return
		}
		n := min(uint64(len(val)), uint64(uint32(st[3])))
		f.charge(perByte(price, n))
		f.write(uint32(st[2]), val[:n])
		st[0] = uint64(len(val))
	})
	def("storage_write", func(f *frame, st []uint64) {
		klen, vlen := uint32(st[1]), uint32(st[3])
		limit("storage key", klen, types.MaxStorageKeySize)
		limit("storage value", vlen, types.MaxStorageValueSize)
		f.charge(h.StorageWrite.Cost(uint64(klen) + uint64(vlen)))
		key := f.read(uint32(st[0]), klen)
		val := f.read(uint32(st[2]), vlen)
		f.x.warmSlot(f.contract, key)
		f.x.env.State.SetStorage(f.contract, clone(key), clone(val))
	})
	def("storage_delete", func(f *frame, st []uint64) {
		klen := uint32(st[1])
		limit("storage key", klen, types.MaxStorageKeySize)
		f.charge(h.StorageDelete.Cost(uint64(klen)))
		key := f.read(uint32(st[0]), klen)
		f.x.warmSlot(f.contract, key)
		f.x.env.State.DeleteStorage(f.contract, clone(key))
	})
	addr20("caller", h.Caller, func(f *frame) types.Address { return f.caller })
	addr20("origin", h.Origin, func(f *frame) types.Address { return f.x.env.Tx.Origin })
	addr20("self_address", h.SelfAddress, func(f *frame) types.Address { return f.contract })
	def("value", func(f *frame, st []uint64) {
		f.charge(h.Value.Base)
		f.value.WriteToArray32(&f.scratch)
		f.write(uint32(st[0]), f.scratch[:])
	})
	def("balance", func(f *frame, st []uint64) {
		a := types.Address(f.read(uint32(st[0]), 20))
		f.charge(accountPrice(h, f.x.accountWarm(a)))
		f.x.warmAccount(a)
		f.x.env.State.GetBalance(a).WriteToArray32(&f.scratch)
		f.write(uint32(st[1]), f.scratch[:])
	})
	def("transfer", func(f *frame, st []uint64) {
		to := types.Address(f.read(uint32(st[0]), 20))
		f.charge(h.Transfer.Base)
		f.charge(accountPrice(h, f.x.accountWarm(to)))
		f.x.warmAccount(to)
		amount := new(uint256.Int).SetBytes32(f.read(uint32(st[1]), 32))
		sdb := f.x.env.State
		if sdb.GetBalance(f.contract).Lt(amount) {
			st[0] = 1
			return
		}
		if !amount.IsZero() {
			sdb.SubBalance(f.contract, amount)
			sdb.AddBalance(to, amount)
		}
		st[0] = 0
	})
	def("block_height", func(f *frame, st []uint64) {
		f.charge(h.BlockHeight.Base)
		st[0] = f.x.env.Block.Height
	})
	def("block_time", func(f *frame, st []uint64) {
		f.charge(h.BlockTime.Base)
		st[0] = f.x.env.Block.Time
	})
	def("emit", func(f *frame, st []uint64) {
		tlen, dlen := uint32(st[1]), uint32(st[3])
		limit("event topic", tlen, MaxTopicSize)
		limit("event data", dlen, MaxEventDataSize)
		f.charge(h.Emit.Cost(uint64(tlen) + uint64(dlen)))
		if f.x.events >= MaxEvents {
			panic(trap(fmt.Sprintf("more than %d events", MaxEvents)))
		}
		if f.x.eventBytes+uint64(tlen)+uint64(dlen) > MaxEventBytes {
			panic(trap(fmt.Sprintf("events of more than %d bytes", MaxEventBytes)))
		}
		f.x.events++
		f.x.eventBytes += uint64(tlen) + uint64(dlen)
		f.events = append(f.events, types.Event{
			Contract: f.contract,
			Topic:    clone(f.read(uint32(st[0]), tlen)),
			Data:     clone(f.read(uint32(st[2]), dlen)),
		})
	})
	def("call", hostCall(h))
	def("result_size", func(f *frame, st []uint64) {
		f.charge(h.ResultSize.Base)
		st[0] = uint64(len(f.result))
	})
	def("result_read", func(f *frame, st []uint64) {
		f.charge(h.ResultRead.Cost(uint64(len(f.result))))
		f.write(uint32(st[0]), f.result)
	})
	def("sha256", func(f *frame, st []uint64) {
		n := uint32(st[1])
		f.charge(h.Sha256.Cost(uint64(n)))
		sum := sha256.Sum256(f.read(uint32(st[0]), n))
		f.write(uint32(st[2]), sum[:])
	})
	def("keccak256", func(f *frame, st []uint64) {
		n := uint32(st[1])
		f.charge(h.Keccak256.Cost(uint64(n)))
		sum := crypto.Keccak256Hash(f.read(uint32(st[0]), n))
		f.write(uint32(st[2]), sum[:])
	})
	def("ecrecover", func(f *frame, st []uint64) {
		f.charge(h.Ecrecover.Base)
		hash := clone(f.read(uint32(st[0]), 32))
		sig := clone(f.read(uint32(st[1]), 65))
		a, ok := recoverAddress(hash, sig)
		if !ok {
			st[0] = 1
			return
		}
		f.write(uint32(st[2]), a[:])
		st[0] = 0
	})
	def("gas_left", func(f *frame, st []uint64) {
		f.charge(h.GasLeft.Base)
		st[0] = f.gas.Get()
	})
	def("log", func(f *frame, st []uint64) {
		n := uint32(st[1])
		f.charge(h.Log.Cost(uint64(n)))
		line := f.read(uint32(st[0]), n)
		if f.x.env.Debug && len(f.x.logs) < MaxLogs {
			f.x.logs = append(f.x.logs, string(line[:min(len(line), MaxLogLine)]))
		}
	})
	return fns
}

// hostCall is the call import: a synchronous call of another contract.
//
// Gas: the callee gets min(requested, available - available/64) where available is the
// caller's gas after the call's own charge (EIP-150: a caller always keeps 1/64 to handle
// the failure); requested <= 0 means "all it may get". The gas the callee uses is then
// taken from the caller. The callee's changes are undone when it fails; the caller goes on
// with a non-zero result code (see callCode), and result_read gives the callee's output
// (or its revert message).
func hostCall(h *gas.Host) func(f *frame, st []uint64) {
	return func(f *frame, st []uint64) {
		mlen, alen := uint32(st[2]), uint32(st[4])
		limit("method name", mlen, MaxMethodSize)
		limit("call input", alen, MaxInputSize)
		f.charge(h.Call.Cost(uint64(mlen) + uint64(alen)))
		to := types.Address(f.read(uint32(st[0]), 20))
		method := string(f.read(uint32(st[1]), mlen))
		args := clone(f.read(uint32(st[3]), alen))
		var value uint256.Int
		value.SetBytes32(f.read(uint32(st[5]), 32))
		requested := int64(st[6])
		f.result = nil
		if method == methodInit || method == methodMigrate {
			st[0] = callNotFound
			return
		}
		held := f.x.memory + uint64(f.mem.Size())
		if held > MaxCallMemory {
			st[0] = callStack
			return
		}
		left := f.gas.Get() // >= 0: charge succeeded
		avail := left - left/64
		g := avail
		if requested > 0 && uint64(requested) < avail {
			g = uint64(requested)
		}
		f.x.memory = held
		out, used, events, err := f.x.run(f.Context, f.depth+1, f.contract, to, method, args, &value, g)
		f.x.memory = held - uint64(f.mem.Size())
		f.gas.Set(left - used)
		if errors.Is(err, ErrCanceled) || errors.Is(err, ErrInternal) {
			panic(&nodeError{err}) // node-local: abort the whole call, never a result code
		}
		var rev *RevertError
		switch {
		case err == nil:
			f.events = append(f.events, events...)
			f.result = out
		case errors.As(err, &rev):
			f.result = []byte(rev.Msg)
		}
		st[0] = uint64(uint32(callCode(err)))
	}
}

// recoverAddress returns the signer of hash for a 65-byte [R || S || V] signature with
// V in {0, 1} (27 and 28 are accepted too) and low S.
func recoverAddress(hash, sig []byte) (types.Address, bool) {
	v := sig[64]
	if v >= 27 {
		v -= 27
	}
	r := new(uint256.Int).SetBytes32(sig[:32])
	s := new(uint256.Int).SetBytes32(sig[32:64])
	if !crypto.ValidateSignatureValues(v, r.ToBig(), s.ToBig(), true) {
		return types.Address{}, false
	}
	norm := append(sig[:64:64], v)
	pub, err := crypto.SigToPub(hash, norm)
	if err != nil {
		return types.Address{}, false
	}
	return crypto.PubkeyToAddress(*pub), true
}

// checkABI verifies that every function of ABI v1 (prepare.HostFuncs, the imports the
// validator allows) is implemented; def took each signature from that table.
func checkABI(fns map[string]hostFn) error {
	for name := range prepare.HostFuncs {
		if _, ok := fns[name]; !ok {
			return fmt.Errorf("ABI function %s not implemented", name)
		}
	}
	return nil
}

// valueTypes converts the validator's value types to wazero's (the same bytes: 0x7f
// i32, 0x7e i64, as wasm.ValType documents).
func valueTypes(ts []wasm.ValType) []api.ValueType {
	out := make([]api.ValueType, len(ts))
	for i, t := range ts {
		out[i] = api.ValueType(t)
	}
	return out
}

func clone(b []byte) []byte { return append([]byte{}, b...) }

// instantiateHost builds and instantiates the "wnode" host module once per runtime.
func (v *VM) instantiateHost(ctx context.Context) error {
	v.hostFns = hostFunctions(v.sched)
	if err := checkABI(v.hostFns); err != nil {
		return fmt.Errorf("vm: host module: %w", err)
	}
	b := v.rt.NewHostModuleBuilder(prepare.HostModule)
	for name, h := range v.hostFns {
		b.NewFunctionBuilder().WithGoModuleFunction(h.fn, h.params, h.results).Export(name)
	}
	if _, err := b.Instantiate(ctx); err != nil {
		return fmt.Errorf("vm: host module: %w", err)
	}
	return nil
}
