package vm_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/holiman/uint256"

	"github.com/wnode/wnode/state"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm"
)

// BenchmarkStorageOnState calibrates the storage prices against the real state (Pebble,
// in memory: a lower bound for a node on disk): storage writes including the commit of
// the block that holds them into the authenticated tree, cold reads (a fresh overlay
// per call, so every key is read through the tree), and cold balance reads of present
// accounts (warm.wasm's 'b' ops, one call per round). It logs ns and gas per operation.
func BenchmarkStorageOnState(b *testing.B) {
	ctx := context.Background()
	const keys = 2000
	db, err := state.OpenMemPebble()
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	st, err := state.New(db, state.Options{KeepVersions: 4})
	if err != nil {
		b.Fatal(err)
	}
	v := newVM(b, vm.EngineCompiler)
	commit := func(height uint64, sdb *state.StateDB) {
		u, err := st.Prepare(height, sdb.Changes())
		if err != nil {
			b.Fatal(err)
		}
		if err := st.Commit(u, nil); err != nil {
			b.Fatal(err)
		}
	}
	sdb := state.NewStateDB(state.Empty)
	sdb.SetCode(cStorage, wasmFile(b, "testdata/c/storage.wasm"))
	sdb.SetCode(benAddr, wasmFile(b, "testdata/wat/bench.wasm"))
	sdb.SetCode(warmAddr, wasmFile(b, "testdata/wat/warm.wasm"))
	const accts = 2000 // present accounts for cold balance reads
	var balScript []byte
	for i := uint64(0); i < accts; i++ {
		var a types.Address
		copy(a[:], le64be(i+1))
		a[19] = 0xba
		sdb.AddBalance(a, uint256.NewInt(i+1))
		balScript = append(balScript, opBalance(a)...)
	}
	for i := uint64(0); i <= keys; i++ { // the keys sread_many reads, in storage.wasm's format
		sdb.SetStorage(benAddr, append([]byte("w"), le64be(i)...), bytes.Repeat(le64be(i), 4))
	}
	commit(0, sdb)
	e := &vm.Env{Tx: vm.TxContext{Origin: alice}}
	run := func(sdb *state.StateDB, to types.Address, method string, in []byte) (time.Duration, uint64) {
		e.State = sdb
		t0 := time.Now()
		r := v.Call(ctx, e, vm.Call{Caller: alice, Contract: to, Method: method, Input: in, Gas: 1e12})
		d := time.Since(t0)
		if r.Err != nil || sdb.Err() != nil {
			b.Fatal(r.Err, sdb.Err())
		}
		return d, r.GasUsed
	}
	var writeNs, writeGas, readNs, readGas, balNs, balGas float64
	height := uint64(0)
	for i := 0; i < b.N; i++ {
		// writes: keys fresh keys at a new offset, call + commit of the block
		view, _ := st.Reader(height)
		sdb := state.NewStateDB(view)
		t1, g1 := run(sdb, cStorage, "writes", cat(le64(1), le64(uint64(i*keys))))
		c1 := time.Now()
		commit(height+1, sdb)
		t1 += time.Since(c1)
		view, _ = st.Reader(height + 1)
		sdb = state.NewStateDB(view)
		t2, g2 := run(sdb, cStorage, "writes", cat(le64(keys+1), le64(uint64(i*keys+1))))
		c2 := time.Now()
		commit(height+2, sdb)
		t2 += time.Since(c2)
		height += 2
		writeNs += float64(t2-t1) / keys
		writeGas += float64(g2-g1) / keys
		// cold reads of present keys
		view, _ = st.Reader(height)
		r1, h1 := run(state.NewStateDB(view), benAddr, "sread_many", le32(1))
		r2, h2 := run(state.NewStateDB(view), benAddr, "sread_many", le32(keys+1))
		readNs += float64(r2-r1) / keys
		readGas += float64(h2-h1) / keys
		// cold balance reads of present accounts
		a1, g1b := run(state.NewStateDB(view), warmAddr, "ops", balScript[:21])
		a2, g2b := run(state.NewStateDB(view), warmAddr, "ops", balScript)
		balNs += float64(a2-a1) / (accts - 1)
		balGas += float64(g2b-g1b) / (accts - 1)
	}
	n := float64(b.N)
	b.ReportMetric(writeNs/n, "ns/write")
	b.ReportMetric(writeGas/n, "gas/write")
	b.ReportMetric(writeGas/writeNs, "gas/ns-write")
	b.ReportMetric(readNs/n, "ns/cold-read")
	b.ReportMetric(readGas/n, "gas/cold-read")
	b.ReportMetric(readGas/readNs, "gas/ns-read")
	b.ReportMetric(balNs/n, "ns/cold-balance")
	b.ReportMetric(balGas/n, "gas/cold-balance")
	b.ReportMetric(balGas/balNs, "gas/ns-balance")
}
