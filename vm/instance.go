package vm

import (
	"bytes"
	"context"
	"fmt"
	"strconv"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/wnode/wnode/vm/internal/prepare"
	"github.com/wnode/wnode/vm/internal/wasm"
)

// Module instances are reused across calls (docs/rationale/vm.md, "Instance reuse").
// Instantiating a module per call cost most of a small call's time and bytes: wazero's
// module instance, its globals and, for the exported function, a call engine with a
// fresh 10 KiB stack. A reused instance is reset, after every call, to the state it had
// right after instantiation, so that no call can observe an earlier one:
//
//   - its linear memory: every byte zero again except the non-zero bytes instantiation
//     wrote (the data segments), kept once per compiled module as runs of bytes; an
//     instance whose memory grew is closed instead (wazero cannot shrink a memory);
//   - every mutable global, the instrumenter's gas, trap and stack globals included, set
//     back to its value after instantiation. The module compiled for reuse exports each
//     mutable global (exportGlobals) so that the VM can set it;
//   - nothing else can change: tables cannot (prepare refuses every table instruction),
//     and a module containing data.drop, the only instruction that changes an instance's
//     segments, is never reused. A closed instance (canceled in Interruptible mode) is
//     dropped.
//
// The host side holds nothing per instance: every call gets its own frame (the context
// wazero hands to host functions) with its env, caller, gas and state.

// globalExportPrefix names the exports exportGlobals adds: "__wnode_g" and the global's
// index. Contracts cannot export names starting with prepare.ReservedPrefix.
const globalExportPrefix = prepare.ReservedPrefix + "_g"

// Bounds of the idle instances the VM keeps (see codeCache).
const (
	// maxIdlePerEntry bounds the idle instances of one compiled module: enough for the
	// workers of a parallel block execution, a few nested calls of the same code and
	// concurrent read-only calls.
	maxIdlePerEntry = 4
	// maxIdle and maxIdleBytes bound them all: their number, and the sum of their linear
	// memories' sizes. A node serves strangers, who can deploy code with 16 MiB of
	// initial memory; at most 64 MiB of linear memory waits in idle instances.
	maxIdle      = 128
	maxIdleBytes = 64 << 20
)

// exportGlobals returns the instrumented module rewritten to export every mutable global
// that it does not export yet (as "__wnode_g<index>"), with the export names of all its
// mutable globals in index order. ok is false when instances of the module cannot be
// reset (it contains data.drop, or does not decode): it is then compiled as it is and
// instantiated for every call.
func exportGlobals(instrumented []byte) (out []byte, names []string, ok bool) {
	m, err := wasm.Decode(instrumented)
	if err != nil {
		return instrumented, nil, false
	}
	for i := range m.Code {
		for _, in := range m.Code[i].Body {
			if in.Op == wasm.OpDataDrop {
				return instrumented, nil, false
			}
		}
	}
	nImported := uint32(m.NumImported(wasm.KindGlobal))
	if nImported != 0 {
		return instrumented, nil, false // only host functions can be imported
	}
	exported := make(map[uint32]string)
	taken := make(map[string]bool, len(m.Exports))
	for _, ex := range m.Exports {
		taken[ex.Name] = true
		if ex.Kind == wasm.KindGlobal {
			if _, dup := exported[ex.Index]; !dup {
				exported[ex.Index] = ex.Name
			}
		}
	}
	changed := false
	for i, g := range m.Globals {
		if !g.Type.Mutable {
			continue
		}
		idx := uint32(i)
		name, ok := exported[idx]
		if !ok {
			name = globalExportPrefix + strconv.Itoa(i)
			if taken[name] {
				return instrumented, nil, false
			}
			m.Exports = append(m.Exports, wasm.Export{Name: name, Kind: wasm.KindGlobal, Index: idx})
			taken[name] = true
			changed = true
		}
		names = append(names, name)
	}
	if !changed {
		return instrumented, names, true
	}
	return wasm.Encode(m), names, true
}

// imageRun is a run of bytes of a memory right after instantiation; every byte outside
// the runs is zero.
type imageRun struct {
	off  uint32
	data []byte
}

// imageChunk is the granularity at which memoryImage looks for non-zero bytes.
const imageChunk = 64

// memoryImage returns the non-zero runs of buf (in chunks of imageChunk bytes).
func memoryImage(buf []byte) []imageRun {
	var runs []imageRun
	var zero [imageChunk]byte
	start := -1
	for off := 0; off < len(buf); off += imageChunk {
		end := min(off+imageChunk, len(buf))
		nonZero := !bytes.Equal(buf[off:end], zero[:end-off])
		switch {
		case nonZero && start < 0:
			start = off
		case !nonZero && start >= 0:
			runs = append(runs, imageRun{off: uint32(start), data: bytes.Clone(buf[start:off])})
			start = -1
		}
	}
	if start >= 0 {
		runs = append(runs, imageRun{off: uint32(start), data: bytes.Clone(buf[start:])})
	}
	return runs
}

// instance is one instantiation of a compiled contract, reused across calls when its
// entry is reusable.
type instance struct {
	mod     api.Module
	gas     api.MutableGlobal
	trap    api.Global
	mem     api.Memory    // nil when the module has no memory
	pm      *pooledMemory // mem's buffer
	memSize uint32        // the memory's size after instantiation, in bytes
	globals []api.MutableGlobal
	inits   []uint64                // the globals' values after instantiation
	fns     map[string]api.Function // exported functions used so far, each with its call engine
}

// instantiate creates an instance of e's module. ctx is the frame of the call that needs
// it (the memory allocator is looked up in it).
func (v *VM) instantiate(ctx context.Context, e *entry) (*instance, error) {
	alloc := &memoryCapture{pool: v.memPool}
	mod, err := v.rt.InstantiateModule(experimental.WithMemoryAllocator(ctx, alloc), e.compiled, v.modConfig)
	if err != nil {
		return nil, err
	}
	inst := &instance{mod: mod, mem: mod.Memory(), pm: alloc.got}
	gasG, ok1 := mod.ExportedGlobal(prepare.GasGlobal).(api.MutableGlobal)
	inst.gas, inst.trap = gasG, mod.ExportedGlobal(prepare.TrapGlobal)
	if !ok1 || inst.trap == nil {
		_ = mod.Close(ctx)
		return nil, fmt.Errorf("%s lacks the instrumentation globals", e.code.Hash)
	}
	if !e.reusable {
		return inst, nil
	}
	for _, name := range e.globalNames {
		g, ok := mod.ExportedGlobal(name).(api.MutableGlobal)
		if !ok {
			_ = mod.Close(ctx)
			return nil, fmt.Errorf("%s: global export %s missing", e.code.Hash, name)
		}
		inst.globals = append(inst.globals, g)
		inst.inits = append(inst.inits, g.Get())
	}
	if inst.mem != nil {
		inst.memSize = inst.mem.Size()
		e.imageOnce.Do(func() {
			buf, _ := inst.mem.Read(0, inst.memSize)
			e.image = memoryImage(buf)
		})
	}
	inst.fns = make(map[string]api.Function, 1)
	return inst, nil
}

// function returns the exported function name of the instance (nil if there is none),
// fetched once per instance: each one holds a call engine and its stack.
func (inst *instance) function(name string) api.Function {
	if inst.fns == nil {
		return inst.mod.ExportedFunction(name)
	}
	fn, ok := inst.fns[name]
	if !ok {
		fn = inst.mod.ExportedFunction(name)
		inst.fns[name] = fn
	}
	return fn
}

// reset puts the instance back in its state after instantiation and reports whether it
// may be reused: false when its module was closed or its memory grew.
func (inst *instance) reset(e *entry) bool {
	if inst.fns == nil || inst.mod.IsClosed() {
		return false
	}
	if inst.mem != nil {
		if inst.mem.Size() != inst.memSize {
			return false
		}
		buf, ok := inst.mem.Read(0, inst.memSize)
		if !ok {
			return false
		}
		if inst.pm != nil && len(buf) > clearLimit {
			// Past clearLimit, the pages go back to the kernel as when the memory is
			// freed: comparing a large memory costs more than a fresh instance.
			clearDirty(buf[:clearLimit])
			inst.pm.discard(clearLimit, uint64(len(buf)))
		} else {
			clearDirty(buf)
		}
		for _, r := range e.image {
			copy(buf[r.off:], r.data)
		}
	}
	for i, g := range inst.globals {
		g.Set(inst.inits[i])
	}
	return true
}

// clearPage is the granularity of clearDirty.
const clearPage = 4096

var zeroPage [clearPage]byte

// clearDirty zeroes buf, writing only the pages that are not zero yet. Comparing runs
// at memory speed without writing, so the pages a call did not touch stay clean in
// every core's cache (and, when never touched, unmapped: they read as the kernel's zero
// page).
func clearDirty(buf []byte) {
	for off := 0; off < len(buf); off += clearPage {
		p := buf[off:min(off+clearPage, len(buf))]
		if !bytes.Equal(p, zeroPage[:len(p)]) {
			clear(p)
		}
	}
}

// memoryCapture allocates an instance's memory from a pool and keeps it, so that the
// instance can give pages back to the kernel on reset.
type memoryCapture struct {
	pool *memoryPool
	got  *pooledMemory
}

// Allocate implements experimental.MemoryAllocator.
func (c *memoryCapture) Allocate(cap, max uint64) experimental.LinearMemory {
	m := c.pool.Allocate(cap, max)
	c.got, _ = m.(*pooledMemory)
	return m
}
