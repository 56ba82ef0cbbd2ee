// Package gas holds wnode's gas schedule: one versioned table of prices. The VM counts
// gas in a global of each contract instance (see vm/internal/prepare), not here.
//
// Unit: 1 gas ≈ 1 ns of work on the reference machine (one x86-64 core of ~3 GHz running
// wazero's compiler engine). Prices are deliberately rounded up a little: they cover the
// work and the metering of it. Storage and bytes kept in blocks are priced above their CPU
// time because every node keeps them forever. The figures are calibrated by the VM's
// benchmarks; docs/rationale/vm-prepare.md records why each one is what it is.
//
// A schedule is consensus data: every node must charge the same gas for the same
// execution. Once released, a change of any figure is a new Version, never an edit of an
// old one (v1 was recalibrated in place before any release).
package gas

import (
	"fmt"
	"math"
	"math/bits"
)

// Linear is the cost of an operation on n bytes: Base + ceil(n * PerKiB / 1024) gas.
// Prices per KiB rather than per byte keep sub-gas per-byte prices (a memory copy moves a
// byte in a few hundredths of a nanosecond) exact in integers.
type Linear struct {
	Base   uint64 // gas per operation
	PerKiB uint64 // gas per 1024 bytes, charged pro rata (rounded up) per byte
}

// Cost returns Base + ceil(n*PerKiB/1024), saturating at math.MaxUint64 instead of
// overflowing. It costs a few integer operations.
func (l Linear) Cost(n uint64) uint64 {
	// ceil(hi:lo / 1024) = (hi:lo + 1023) >> 10, in 128 bits.
	hi, lo := bits.Mul64(n, l.PerKiB)
	lo, carry := bits.Add64(lo, 1023, 0)
	hi += carry // hi < 2^64-1 since n, PerKiB < 2^64: no wrap
	if hi>>10 != 0 {
		return math.MaxUint64
	}
	perBytes := hi<<54 | lo>>10
	sum, c := bits.Add64(l.Base, perBytes, 0)
	if c != 0 {
		return math.MaxUint64
	}
	return sum
}

// DefaultCallCap is the default bound on the gas of a read-only call or gas estimate
// (chain.Options.CallGasCap, the RPC's gas cap; like go-ethereum's RPC gas cap): about
// 50 ms of execution on the reference machine. It bounds what one request can make a
// node spend; operators may set another cap.
const DefaultCallCap = 50_000_000

// MilliGas is the number of milligas in one gas. Instruction prices are in milligas
// because most Wasm instructions take a fraction of a nanosecond.
const MilliGas = 1000

// CeilGas returns milli milligas rounded up to whole gas: ceil(milli / MilliGas). It is
// what a metering block whose instructions sum to milli milligas is charged.
func CeilGas(milli uint64) uint64 {
	g := milli / MilliGas
	if milli%MilliGas != 0 {
		g++
	}
	return g
}

// Instructions prices Wasm instructions. The per-instruction figures (Simple to DataDrop)
// are in milligas per executed instruction: the instrumenter (vm/internal/prepare) sums
// the milligas of a metering block's instructions and charges the block
// CeilGas(sum) gas once, at its start, so a block costs at most 1 gas more than the exact
// sum and a non-empty block at least 1 gas. The figures of memory.grow and the bulk memory
// instructions are in gas. Structural instructions (block, loop, else, end, nop) and
// unreachable are free: they compile to no work of their own.
type Instructions struct {
	// Simple: constants, drop, select, integer add/sub/and/or/xor/shifts/rotations,
	// comparisons, eqz, clz/ctz/popcnt, wrap/extend/sign-extension, reinterpret.
	Simple uint64
	// IntMul: i32.mul and i64.mul (a 3-cycle latency, against 1 for an add).
	IntMul uint64
	// Local: local.get, local.set, local.tee (registers, mostly free after compilation).
	Local uint64
	// Global: global.get, global.set.
	Global uint64
	// Load and Store: every memory load / store width (bounds check + access).
	Load  uint64
	Store uint64
	// Branch: br, br_if, br_table, if, return, plus the gas charge of the metering block a
	// branch target opens.
	Branch uint64
	// Call and CallIndirect: a direct call; an indirect call (table bounds and type check).
	// Both also pay the stack-limit bookkeeping the instrumenter adds to every function.
	Call         uint64
	CallIndirect uint64
	// IntDiv: i32/i64 div_s, div_u, rem_s, rem_u (20–90 cycles on x86-64).
	IntDiv uint64
	// Float: every f32/f64 operation but division and square root, including
	// comparisons, conversions and the NaN canonicalization the instrumenter adds.
	Float uint64
	// FloatDiv: f32/f64 div. FloatSqrt: f32/f64 sqrt.
	FloatDiv  uint64
	FloatSqrt uint64
	// MemorySize: memory.size. DataDrop: data.drop.
	MemorySize uint64
	DataDrop   uint64
	// MemoryGrowBase + MemoryGrowPerPage × pages added, in gas: memory.grow, charged
	// before the grow. A grow beyond the memory's maximum adds no page: it pays the base
	// only and returns -1.
	MemoryGrowBase    uint64
	MemoryGrowPerPage uint64
	// MemoryCopy, MemoryFill and MemoryInit, in gas: base + per byte on the length
	// operand, charged before the instruction runs (a trapping copy still pays).
	MemoryCopy Linear
	MemoryFill Linear
	MemoryInit Linear
}

// Host prices each host function of contract ABI v1 (module "wnode"). Base is charged on
// every call; PerKiB on the bytes the function reads or writes in contract memory or state
// (documented per field). Base includes the ~50 ns of a Wasm→Go host call in wazero.
type Host struct {
	InputSize Linear // no bytes
	InputRead Linear // bytes: the input copied out
	// ReturnData and Revert: bytes of the output/message; output lands in the receipt, so it
	// is priced like data kept in a block.
	ReturnData Linear
	Revert     Linear
	// StorageRead: bytes of key + bytes copied out, for a cold key: the first access to
	// (contract, key) in the top-level call. A cold read walks the authenticated tree.
	StorageRead Linear
	// StorageReadWarm: the same bytes, for a warm key, one the top-level call has already
	// read, written or deleted (EIP-2929 style): the value is then served from the
	// transaction's state overlay, ~1000x faster than a cold read. Warmth depends only on
	// the sequence of accesses in the call, never on a cache (see vm's host doc).
	StorageReadWarm Linear
	// StorageWrite: bytes of key + value. A write is kept forever by every node and
	// rewrites tree nodes up to the root, so it is priced far above a read.
	StorageWrite Linear
	// StorageDelete: bytes of the key.
	StorageDelete Linear
	Caller        Linear // no bytes
	Origin        Linear // no bytes
	SelfAddress   Linear // no bytes
	Value         Linear // no bytes
	// Balance: no bytes; a cold account read (the first access to the address in the
	// top-level call), priced like a cold storage read since it walks the same tree.
	// BalanceWarm: an address the call has already accessed (the origin, the caller, a
	// contract it ran or tried to call, an address read by balance or paid by transfer).
	Balance     Linear
	BalanceWarm Linear
	// Transfer: no bytes; two account writes. The recipient's account is read too: a
	// transfer also pays Balance or BalanceWarm for it, and warms it.
	Transfer    Linear
	BlockHeight Linear // no bytes
	BlockTime   Linear // no bytes
	// Emit: bytes of topic + data, kept in the receipt.
	Emit Linear
	// Call: bytes of method + args. Base covers instantiating the callee; the gas the
	// callee uses is charged on top.
	Call       Linear
	ResultSize Linear // no bytes
	ResultRead Linear // bytes: the result copied out
	Sha256     Linear // bytes hashed
	Keccak256  Linear // bytes hashed
	Ecrecover  Linear // no bytes (one secp256k1 public key recovery)
	GasLeft    Linear // no bytes
	Log        Linear // bytes of the message
}

// Tx prices what every transaction pays before any contract code runs.
type Tx struct {
	// Base: signature recovery (~50 µs), nonce and balance checks and updates.
	Base uint64
	// PerByte: every byte of the encoded tx, kept in a block and gossiped to every node.
	PerByte uint64
	// DeployPerCodeByte: deploy and upgrade, per byte of the (uncompressed) code kept in state.
	DeployPerCodeByte uint64
	// CompilePerCodeByte: deploy and upgrade, per byte of uncompressed code, for
	// validation, instrumentation and the size-proportional part of compilation by every
	// node.
	CompilePerCodeByte uint64
	// CompilePerBlock: deploy and upgrade, per control instruction of the code
	// (prepare's Module.Blocks), charged by the VM once the code is validated: wazero's
	// compile time follows that count (12–50 µs each) far more closely than the size.
	CompilePerBlock uint64
}

// Schedule is one version of wnode's gas prices. A Schedule is a plain value: copy it
// freely; never modify a published version in place.
type Schedule struct {
	// Version identifies the schedule. It is part of the VM version that keys the cache of
	// instrumented and compiled code, since instrumented code embeds instruction prices.
	Version uint32
	Instr   Instructions
	Host    Host
	Tx      Tx
}

// v1 is version 1 of the schedule. See the package doc for the unit and
// docs/rationale/vm-prepare.md for the reasons behind each figure.
var v1 = Schedule{
	Version: 1,
	Instr: Instructions{ // milligas, but memory.grow and bulk memory (gas)
		Simple:            120,
		IntMul:            1_000,
		Local:             20,
		Global:            200,
		Load:              1_000,
		Store:             300,
		Branch:            700,
		Call:              2_500,
		CallIndirect:      6_000,
		IntDiv:            6_000,
		Float:             1_500,
		FloatDiv:          9_000,
		FloatSqrt:         15_000,
		MemorySize:        1_000,
		DataDrop:          1_000,
		MemoryGrowBase:    200,
		MemoryGrowPerPage: 8_000,
		MemoryCopy:        Linear{Base: 10, PerKiB: 25},
		MemoryFill:        Linear{Base: 10, PerKiB: 15},
		MemoryInit:        Linear{Base: 10, PerKiB: 25},
	},
	Host: Host{
		InputSize:       Linear{Base: 60},
		InputRead:       Linear{Base: 80, PerKiB: 128},
		ReturnData:      Linear{Base: 80, PerKiB: 10_240},
		Revert:          Linear{Base: 80, PerKiB: 10_240},
		StorageRead:     Linear{Base: 40_000, PerKiB: 1_024},
		StorageReadWarm: Linear{Base: 200, PerKiB: 1_024},
		StorageWrite:    Linear{Base: 90_000, PerKiB: 40_960},
		StorageDelete:   Linear{Base: 80_000, PerKiB: 1_024},
		Caller:          Linear{Base: 60},
		Origin:          Linear{Base: 60},
		SelfAddress:     Linear{Base: 60},
		Value:           Linear{Base: 60},
		Balance:         Linear{Base: 40_000},
		BalanceWarm:     Linear{Base: 200},
		Transfer:        Linear{Base: 15_000},
		BlockHeight:     Linear{Base: 50},
		BlockTime:       Linear{Base: 50},
		Emit:            Linear{Base: 500, PerKiB: 10_240},
		Call:            Linear{Base: 25_000, PerKiB: 1_024},
		ResultSize:      Linear{Base: 60},
		ResultRead:      Linear{Base: 80, PerKiB: 128},
		Sha256:          Linear{Base: 150, PerKiB: 4_096},
		Keccak256:       Linear{Base: 200, PerKiB: 4_096},
		Ecrecover:       Linear{Base: 60_000},
		GasLeft:         Linear{Base: 50},
		Log:             Linear{Base: 100, PerKiB: 1_024},
	},
	Tx: Tx{
		Base:               60_000,
		PerByte:            20,
		DeployPerCodeByte:  200,
		CompilePerCodeByte: 200,
		CompilePerBlock:    25_000,
	},
}

// Default returns a copy of the current schedule (version 1).
func Default() *Schedule {
	s := v1
	return &s
}

// ByVersion returns a copy of the schedule with the given version, or an error when no
// such version exists.
func ByVersion(v uint32) (*Schedule, error) {
	switch v {
	case 1:
		return Default(), nil
	}
	return nil, fmt.Errorf("gas: unknown schedule version %d", v)
}

// MaxInstrCost bounds every instruction figure: each per-instruction price (milligas),
// the static parts of memory.grow and the bulk memory instructions once converted to
// milligas (Base × MilliGas), and their per-page / per-KiB prices (gas). So the
// instrumenter's block sums (< 2^32 instructions × 2^24) and its length × price
// products (< 2^32 × 2^24) cannot overflow a signed 64-bit global.
const MaxInstrCost = 1 << 24

// Validate reports whether the schedule is usable by the instrumenter: every instruction
// figure is within MaxInstrCost (see there), and branches and calls cost at least 1
// milligas, since every loop iteration executes a branch and every recursion a call:
// with a free branch an endless loop would never run out of gas (a block with a non-zero
// sum is charged at least 1 gas). It also checks that a warm access costs at least 1 gas
// and at most its cold price (StorageReadWarm against StorageRead, BalanceWarm against
// Balance, Base and PerKiB each): warmth is a discount for work already paid for, never a
// surcharge, and never free.
func (s *Schedule) Validate() error {
	i := &s.Instr
	if i.Branch == 0 || i.Call == 0 || i.CallIndirect == 0 {
		return fmt.Errorf("gas: schedule v%d: Instr.Branch, Call and CallIndirect must be at least 1", s.Version)
	}
	h := &s.Host
	for _, p := range []struct {
		name       string
		warm, cold Linear
	}{{"StorageRead", h.StorageReadWarm, h.StorageRead}, {"Balance", h.BalanceWarm, h.Balance}} {
		if p.warm.Base == 0 || p.warm.Base > p.cold.Base || p.warm.PerKiB > p.cold.PerKiB {
			return fmt.Errorf("gas: schedule v%d: Host.%sWarm %+v must cost at least 1 gas and at most Host.%s %+v",
				s.Version, p.name, p.warm, p.name, p.cold)
		}
	}
	const maxGas = MaxInstrCost / MilliGas
	figures := []struct {
		name  string
		v     uint64
		limit uint64
	}{
		{"Simple", i.Simple, MaxInstrCost}, {"IntMul", i.IntMul, MaxInstrCost},
		{"Local", i.Local, MaxInstrCost}, {"Global", i.Global, MaxInstrCost},
		{"Load", i.Load, MaxInstrCost}, {"Store", i.Store, MaxInstrCost},
		{"Branch", i.Branch, MaxInstrCost}, {"Call", i.Call, MaxInstrCost},
		{"CallIndirect", i.CallIndirect, MaxInstrCost}, {"IntDiv", i.IntDiv, MaxInstrCost},
		{"Float", i.Float, MaxInstrCost}, {"FloatDiv", i.FloatDiv, MaxInstrCost},
		{"FloatSqrt", i.FloatSqrt, MaxInstrCost}, {"MemorySize", i.MemorySize, MaxInstrCost},
		{"DataDrop", i.DataDrop, MaxInstrCost},
		{"MemoryGrowBase", i.MemoryGrowBase, maxGas}, {"MemoryGrowPerPage", i.MemoryGrowPerPage, MaxInstrCost},
		{"MemoryCopy.Base", i.MemoryCopy.Base, maxGas}, {"MemoryCopy.PerKiB", i.MemoryCopy.PerKiB, MaxInstrCost},
		{"MemoryFill.Base", i.MemoryFill.Base, maxGas}, {"MemoryFill.PerKiB", i.MemoryFill.PerKiB, MaxInstrCost},
		{"MemoryInit.Base", i.MemoryInit.Base, maxGas}, {"MemoryInit.PerKiB", i.MemoryInit.PerKiB, MaxInstrCost},
	}
	for _, f := range figures {
		if f.v > f.limit {
			return fmt.Errorf("gas: schedule v%d: Instr.%s = %d exceeds %d", s.Version, f.name, f.v, f.limit)
		}
	}
	return nil
}

// Intrinsic returns the gas a transaction pays before execution: Tx.Base, Tx.PerByte for
// each of txSize encoded bytes and, for a deploy or upgrade, DeployPerCodeByte and
// CompilePerCodeByte for each of codeSize uncompressed code bytes (0 for other kinds).
// The sum saturates at math.MaxUint64, which no gas limit can pay.
func (s *Schedule) Intrinsic(txSize, codeSize uint64) uint64 {
	g := s.Tx.Base
	g = addSat(g, mulSat(txSize, s.Tx.PerByte))
	g = addSat(g, mulSat(codeSize, s.Tx.DeployPerCodeByte))
	g = addSat(g, mulSat(codeSize, s.Tx.CompilePerCodeByte))
	return g
}

// CompileGas returns the gas of compiling code with the given number of control
// instructions (Tx.CompilePerBlock each), saturating at math.MaxUint64. The VM charges it
// at deploy and upgrade, after validation has counted them; Intrinsic charges the
// per-byte part before.
func (s *Schedule) CompileGas(blocks uint64) uint64 {
	return mulSat(blocks, s.Tx.CompilePerBlock)
}

func addSat(a, b uint64) uint64 {
	s, c := bits.Add64(a, b, 0)
	if c != 0 {
		return math.MaxUint64
	}
	return s
}

func mulSat(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	if hi != 0 {
		return math.MaxUint64
	}
	return lo
}
