package chain

import (
	"context"
	"testing"

	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm"
)

// TestDeployChargesCompileGas: a deploy or upgrade pays, before its hook runs, the
// intrinsic gas of its code's size plus the compile gas of its control instructions
// (gas.Schedule.CompileGas(Code.Blocks)). One gas less fails out of gas without
// compiling anything; exactly that much leaves nothing for the hook.
func TestDeployChargesCompileGas(t *testing.T) {
	ctx := context.Background()
	machine := newVM(t, vm.EngineCompiler)
	n := openNode(t, "", machine, testGenesis(nil), Options{})
	defer n.close()
	sched := machine.Schedule()
	counter := newVM(t, vm.EngineCompiler) // another VM: machine's cache stays empty
	blocks := func(code []byte) uint64 {
		c, err := counter.Prepare(ctx, code)
		if err != nil {
			t.Fatal(err)
		}
		if c.Blocks == 0 {
			t.Fatal("code without control instructions")
		}
		return c.Blocks
	}
	// signCodeGas signs tx with gas limit codeGas + delta, where codeGas depends on the
	// encoded size and so on the gas limit itself.
	signCodeGas := func(tx *types.Tx, delta int64) (uint64, *types.Tx) {
		t.Helper()
		tx.GasLimit = 1
		for range 10 {
			signTx(t, "alice", tx)
			need := sched.Intrinsic(uint64(tx.Size()), uint64(len(tx.Code))) + sched.CompileGas(blocks(tx.Code))
			if want := uint64(int64(need) + delta); want != tx.GasLimit {
				tx.GasLimit = want
				continue
			}
			return need, tx
		}
		t.Fatal("gas limit does not converge")
		return 0, nil
	}
	var last *types.Commit
	run := func(tx *types.Tx) *types.Receipt {
		t.Helper()
		var b *types.Block
		b, last = produce(t, n, []*types.Tx{tx}, last)
		rs, err := n.c.Receipts(b.Height())
		if err != nil || len(rs) != 1 {
			t.Fatalf("receipts: %v %d", err, len(rs))
		}
		return rs[0]
	}
	nonce := func() uint64 { return mustAccount(t, n.c, "alice").Nonce }

	// One gas short: out of gas before compilation, the whole limit charged.
	_, tx := signCodeGas(&types.Tx{Kind: types.TxDeploy, Code: readContract(t, "kv1"), Nonce: nonce()}, -1)
	if r := run(tx); r.Succeeded() || r.Error != errTextIntrinsicOOG || r.GasUsed != tx.GasLimit {
		t.Fatalf("deploy one gas short: %+v", r)
	}
	if m := machine.CachedModules(); m != 0 {
		t.Fatalf("a deploy that cannot pay its compilation was compiled (%d modules cached)", m)
	}
	// Exactly the code's gas: the deploy is paid, its init gets no gas.
	_, tx = signCodeGas(&types.Tx{Kind: types.TxDeploy, Code: readContract(t, "kv1"), Nonce: nonce()}, 0)
	if r := run(tx); r.Succeeded() || r.Error != "out of gas" || r.GasUsed != tx.GasLimit {
		t.Fatalf("deploy with exactly its code gas: %+v", r)
	}
	// Enough: it succeeds and pays the code's gas plus its init.
	need, tx := signCodeGas(&types.Tx{Kind: types.TxDeploy, Code: readContract(t, "kv1"), Nonce: nonce()}, 1_000_000)
	kv := types.ContractAddress(addrOf("alice"), tx.Nonce)
	if r := run(tx); !r.Succeeded() || r.GasUsed <= need || r.GasUsed >= tx.GasLimit {
		t.Fatalf("deploy: %+v, code gas %d", r, need)
	}

	// An upgrade pays the same way for its new code.
	_, tx = signCodeGas(&types.Tx{Kind: types.TxUpgrade, To: kv, Code: readContract(t, "kv2"), Nonce: nonce()}, -1)
	if r := run(tx); r.Succeeded() || r.Error != errTextIntrinsicOOG || r.GasUsed != tx.GasLimit {
		t.Fatalf("upgrade one gas short: %+v", r)
	}
	need, tx = signCodeGas(&types.Tx{Kind: types.TxUpgrade, To: kv, Code: readContract(t, "kv2"), Nonce: nonce()}, 1_000_000)
	if r := run(tx); !r.Succeeded() || r.GasUsed <= need {
		t.Fatalf("upgrade: %+v, code gas %d", r, need)
	}
}
