package chain

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/holiman/uint256"
	"pgregory.net/rapid"

	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/state"
	"github.com/wnode/wnode/state/statetest"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm"
)

// parSenders sign the random blocks; v0 is also a proposer, so its fee account is read
// and written by its own txs.
var parSenders = []string{"alice", "bob", "carol", "v0", "p0", "p1", "p2", "p3", "p4", "p5"}

// parWorld is a set of chains on the same genesis, some executing in order, some in
// parallel, fed the same blocks.
type parWorld struct {
	builders []*node // builders[0] executes in order: the reference
	follower *node   // executes in parallel, validates builders[0]'s blocks
	last     *types.Commit
	counter  types.Address
	token    types.Address
	calls    types.Address
	traps    types.Address
}

func newParWorld(t *testing.T) *parWorld {
	machine := newVM(t, vm.EngineCompiler)
	g := testGenesis(func(g *genesis.Genesis) {
		for _, n := range parSenders[3:] {
			g.Accounts = append(g.Accounts, genesis.Account{Address: addrOf(n), Balance: genesis.AmountOf(testFunds)})
		}
	})
	w := &parWorld{}
	for _, workers := range []int{1, 2, 4} {
		n := openNode(t, "", machine, g, Options{ExecWorkers: workers})
		n.c.minParallel = 1
		t.Cleanup(n.close)
		w.builders = append(w.builders, n)
	}
	w.follower = openNode(t, "", machine, g, Options{ExecWorkers: 3})
	w.follower.c.minParallel = 1
	t.Cleanup(w.follower.close)

	alice := addrOf("alice")
	supply := binary.BigEndian.AppendUint64(nil, 1_000_000_000)
	w.block(t, []*types.Tx{
		signTx(t, "alice", &types.Tx{Kind: types.TxDeploy, Code: readContract(t, "counter"), GasLimit: 5_000_000, Nonce: 0}),
		signTx(t, "alice", &types.Tx{Kind: types.TxDeploy, Code: readContract(t, "token"), Args: supply, GasLimit: 10_000_000, Nonce: 1}),
		signTx(t, "alice", &types.Tx{Kind: types.TxDeploy, Code: readContract(t, "calls"), GasLimit: 10_000_000, Nonce: 2}),
		signTx(t, "alice", &types.Tx{Kind: types.TxDeploy, Code: readContract(t, "traps"), GasLimit: 10_000_000, Nonce: 3}),
	}, addrOf("v0"))
	w.counter, w.token = types.ContractAddress(alice, 0), types.ContractAddress(alice, 1)
	w.calls, w.traps = types.ContractAddress(alice, 2), types.ContractAddress(alice, 3)
	var txs []*types.Tx
	for i, n := range parSenders[1:] {
		txs = append(txs, signTx(t, "alice", &types.Tx{Kind: types.TxInvoke, To: w.token, Method: "transfer",
			Args: tokenArgs(addrOf(n), 1_000_000), GasLimit: 1_000_000, Nonce: uint64(4 + i)}))
	}
	w.block(t, txs, addrOf("v1"))
	return w
}

func tokenArgs(to types.Address, amount uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(nil), to[:]...), amount)
}

// block builds txs on every builder and checks that they made the same block (header
// roots: state, receipts, txs), that the follower validates it, and commits it
// everywhere. It returns the reference's receipts.
func (w *parWorld) block(t testing.TB, txs []*types.Tx, proposer types.Address) []*types.Receipt {
	t.Helper()
	ctx := context.Background()
	ref := w.builders[0].c
	var blocks []*types.Block
	for _, n := range w.builders {
		blk, err := n.c.BuildBlock(ctx, txs, ref.Head().Time+1000, proposer, w.last)
		if err != nil {
			t.Fatal(err)
		}
		blocks = append(blocks, blk)
	}
	cm := commitFor(t, blocks[0])
	want, err := ref.validateLocked(ctx, blocks[0])
	if err != nil {
		t.Fatal(err)
	}
	for i, blk := range blocks[1:] {
		if blk.Hash() == blocks[0].Hash() {
			continue
		}
		got, err := w.builders[i+1].c.validateLocked(ctx, blk)
		if err != nil {
			t.Fatal(err)
		}
		t.Fatalf("%d workers built another block than the sequential execution:\n%s", w.builders[i+1].c.opts.ExecWorkers, diffResults(want, got))
	}
	dec, err := types.DecodeBlock(blocks[0].Encode())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.follower.c.ValidateBlock(ctx, dec); err != nil {
		t.Fatalf("parallel follower rejects the sequential block: %v", err)
	}
	for _, n := range append(w.builders, w.follower) {
		if err := n.c.CommitBlock(ctx, blocks[0], cm); err != nil {
			t.Fatal(err)
		}
	}
	w.last = cm
	return want.receipts
}

func diffResults(want, got *results) string {
	var b strings.Builder
	fmt.Fprintf(&b, "txs %d vs %d, gas %d vs %d, state root %s vs %s\n", len(want.block.Txs), len(got.block.Txs),
		want.gasUsed, got.gasUsed, want.block.Header.StateRoot, got.block.Header.StateRoot)
	for i := range min(len(want.receipts), len(got.receipts)) {
		if w, g := want.receipts[i], got.receipts[i]; string(w.Encode()) != string(g.Encode()) {
			fmt.Fprintf(&b, "receipt %d: %+v\nvs %+v\n", i, w, g)
		}
	}
	return b.String()
}

// TestParallelMatchesSequential executes random blocks in order and on 2 and 4 workers
// and requires the same block: the same txs included, state root, receipts (status,
// gas, output, events, errors) and gas. The blocks mix independent and conflicting
// txs: native transfers (some to or from the proposer, some overdrawn), token transfers
// (some to one hot account, some reverting), counter increments (all conflicting), calls
// through another contract, endless loops out of gas, deploys, and txs the proposal
// drops (wrong nonce, gas limit below intrinsic, over the block gas left), and validator
// set proposals and votes (of a validator, and refused ones of others).
func TestParallelMatchesSequential(t *testing.T) {
	w := newParWorld(t)
	ref := w.builders[0].c
	counterCode := readContract(t, "counter")
	checks := 0
	rapid.Check(t, func(rt *rapid.T) {
		checks++
		nonces := map[string]uint64{}
		for _, n := range parSenders {
			a, err := ref.Account(addrOf(n), LatestHeight)
			if err != nil {
				rt.Fatal(err)
			}
			nonces[n] = a.Nonce
		}
		proposer := rapid.SampledFrom([]string{"v0", "v1"}).Draw(rt, "proposer")
		hot := rapid.SampledFrom(parSenders).Draw(rt, "hot")
		count := rapid.IntRange(2, 40).Draw(rt, "txs")
		txs := make([]*types.Tx, 0, count)
		for range count {
			from := rapid.SampledFrom(parSenders).Draw(rt, "from")
			to := addrOf(rapid.SampledFrom(append([]string{hot, hot, "fresh-" + fmt.Sprint(checks)}, parSenders...)).Draw(rt, "to"))
			tx := &types.Tx{Nonce: nonces[from], GasLimit: 2_000_000,
				GasPrice: uint256.NewInt(rapid.Uint64Range(1, 3).Draw(rt, "price"))}
			switch kind := rapid.IntRange(0, 10).Draw(rt, "kind"); kind {
			case 0, 1:
				tx.Kind, tx.To = types.TxTransfer, to
				tx.Value = uint256.NewInt(rapid.SampledFrom([]uint64{0, 1, 1000, 2 * testFunds}).Draw(rt, "value"))
				tx.GasLimit = 100_000
			case 2, 3:
				tx.Kind, tx.To, tx.Method = types.TxInvoke, w.token, "transfer"
				tx.Args = tokenArgs(to, rapid.SampledFrom([]uint64{1, 7, 100, 5_000_000}).Draw(rt, "amount"))
			case 4:
				tx.Kind, tx.To, tx.Method = types.TxInvoke, w.counter, "increment"
			case 5:
				tx.Kind, tx.To, tx.Method = types.TxInvoke, w.calls, "forward"
				tx.Args = append(append(append([]byte(nil), w.counter[:]...), 9), "increment"...)
			case 6:
				tx.Kind, tx.To, tx.Method = types.TxInvoke, w.traps, "infinite"
				tx.GasLimit = 300_000
			case 7:
				tx.Kind, tx.Code = types.TxDeploy, counterCode
				tx.GasLimit = 5_000_000
			case 8: // dropped from the proposal, or not: a nonce gap, or an intrinsic-gas shortfall
				tx.Kind, tx.To = types.TxTransfer, to
				tx.Value = uint256.NewInt(1)
				if rapid.Bool().Draw(rt, "gap") {
					tx.Nonce++
				} else {
					tx.GasLimit = 100
				}
			case 9:
				tx.Kind, tx.To, tx.Method = types.TxInvoke, w.token, "transfer"
				tx.Args = tokenArgs(to, 1)
				tx.GasLimit = rapid.Uint64Range(70_000, 200_000).Draw(rt, "tight gas") // some run out
			case 10: // validator txs: v0's proposals and votes share the open list; others fail
				tx.GasLimit = 200_000
				if rapid.Bool().Draw(rt, "propose") {
					tx.Kind = types.TxValidatorPropose
					tx.Args = (&types.ValidatorChange{Op: types.ValidatorPower, Address: addrOf("v1"),
						Power: rapid.Uint64Range(8, 12).Draw(rt, "power")}).Encode()
				} else {
					tx.Kind = types.TxValidatorVote
					tx.Args = (&types.ValidatorVote{ProposalID: rapid.Uint64Range(1, 6).Draw(rt, "proposal")}).Encode()
				}
			}
			txs = append(txs, signTx(t, from, tx))
			if tx.Nonce == nonces[from] && tx.GasLimit >= 100_000 {
				nonces[from]++
			}
		}
		w.block(t, txs, addrOf(proposer))
	})
	if checks == 0 {
		t.Fatal("no block executed")
	}
}

// TestParallelInvalidBlock: a block with a tx that fails its checks is refused with the
// same error by the sequential and the parallel validation.
func TestParallelInvalidBlock(t *testing.T) {
	w := newParWorld(t)
	ref := w.builders[0].c
	var txs []*types.Tx
	for i, n := range parSenders[1:] {
		txs = append(txs, signTx(t, n, &types.Tx{Kind: types.TxInvoke, To: w.token, Method: "transfer",
			Args: tokenArgs(addrOf("alice"), 1), GasLimit: 1_000_000, Nonce: 0}))
		if i == 5 { // bob's second tx, with bob's first nonce
			txs = append(txs, signTx(t, "bob", &types.Tx{Kind: types.TxTransfer, To: addrOf("carol"), GasLimit: 100_000, Nonce: 0}))
		}
	}
	blk, err := ref.BuildBlock(context.Background(), txs, ref.Head().Time+1000, addrOf("v0"), w.last)
	if err != nil {
		t.Fatal(err)
	}
	if len(blk.Txs) != len(txs)-1 {
		t.Fatalf("proposal holds %d txs, want %d (one dropped)", len(blk.Txs), len(txs)-1)
	}
	bad := *blk
	bad.Txs = txs
	bad.Header.TxRoot = types.TxRoot(txs)
	var errs []string
	for _, n := range append(w.builders, w.follower) {
		err := n.c.ValidateBlock(context.Background(), &bad)
		if err == nil {
			t.Fatalf("%d workers accept a block with a replayed nonce", n.c.opts.ExecWorkers)
		}
		errs = append(errs, err.Error())
	}
	for _, e := range errs[1:] {
		if e != errs[0] {
			t.Fatalf("parallel validation says %q, sequential %q", e, errs[0])
		}
	}
	if !strings.Contains(errs[0], "tx 6 ") || !strings.Contains(errs[0], "nonce 0") {
		t.Fatalf("error %q does not name tx 6 and its nonce", errs[0])
	}
}

// TestMVViewConformance runs the vm.StateDB conformance suite on a state.StateDB over
// an mvView: the world is split between the base state and writes of a lower position
// in the multi-version memory, so reads go through both.
func TestMVViewConformance(t *testing.T) {
	statetest.RunStateDB(t, func(t *testing.T, w *statetest.World) vm.StateDB {
		changes := statetest.WorldChanges(t, w)
		var low, high []state.Change
		for i, c := range changes {
			if i%2 == 0 {
				low = append(low, c)
			} else {
				high = append(high, c)
			}
		}
		st, _ := statetest.NewStore(t, state.Options{})
		statetest.Genesis(t, st, low)
		base, err := st.Reader(0)
		if err != nil {
			t.Fatal(err)
		}
		mv := newMVMemory(base, 0)
		mv.write(0, nil, nil, high, nil, nil)
		mv.write(2, nil, nil, []state.Change{{Key: state.AccountKey(types.Address{1}), Value: []byte{0xff}}}, nil, nil)
		return state.NewStateDB(&mvView{mv: mv, tx: 1})
	})
}

// TestMVMemoryCredits: a credit adds to the newest value below the reader, in
// position order, and the merged changes hold the sum.
func TestMVMemoryCredits(t *testing.T) {
	a := types.Address{7}
	key := state.AccountKey(a)
	mv := newMVMemory(state.Empty, 0)
	mv.write(1, nil, nil, nil, key, uint256.NewInt(5))
	mv.write(3, nil, nil, []state.Change{{Key: key, Value: state.EncodeAccount(&state.Account{Nonce: 1, Balance: uint256.NewInt(100)})}}, nil, nil)
	mv.write(4, nil, nil, nil, key, uint256.NewInt(2))
	keys := mv.write(6, nil, nil, nil, key, uint256.NewInt(1))
	balance := func(tx int) (uint64, bool) {
		enc, err := mv.read(key, tx)
		if err != nil {
			t.Fatal(err)
		}
		if enc == nil {
			return 0, false
		}
		acc, err := state.DecodeAccount(enc)
		if err != nil {
			t.Fatal(err)
		}
		return acc.Balance.Uint64(), true
	}
	for tx, want := range map[int]uint64{2: 5, 3: 5, 4: 100, 5: 102, 7: 103} {
		if got, ok := balance(tx); !ok || got != want {
			t.Errorf("balance read at %d: %d (present %v), want %d", tx, got, ok, want)
		}
	}
	if _, ok := balance(1); ok {
		t.Error("position 1 sees its own credit")
	}
	mv.write(6, keys, nil, nil, nil, nil) // the credit of 6 is withdrawn
	if got, _ := balance(7); got != 102 {
		t.Errorf("after withdrawing 6's credit: %d, want 102", got)
	}
	ch, err := mv.changes(7)
	if err != nil || len(ch) != 1 {
		t.Fatalf("changes: %v %v", ch, err)
	}
	if acc, _ := state.DecodeAccount(ch[0].Value); acc.Balance.Uint64() != 102 || acc.Nonce != 1 {
		t.Errorf("merged account %+v", acc)
	}
}

// TestMVNear: a worker's cache of keys serves a key no transaction has written, and
// stops serving it once one does: a later view reads the write, and a read taken from
// the cache before the write fails validation.
func TestMVNear(t *testing.T) {
	key := state.AccountKey(types.Address{9})
	parent := state.EncodeAccount(&state.Account{Nonce: 1, Balance: uint256.NewInt(10)})
	st, _ := statetest.NewStore(t, state.Options{})
	statetest.Genesis(t, st, []state.Change{{Key: key, Value: parent}})
	base, err := st.Reader(0)
	if err != nil {
		t.Fatal(err)
	}
	mv := newMVMemory(base, 0)
	var near mvNear
	read := func(v *mvView, tx int) []byte {
		v.reset(mv, nil, &near, tx, "")
		val, err := v.Get(bytes.Clone(key))
		if err != nil {
			t.Fatal(err)
		}
		return val
	}
	var v2, v3 mvView
	if got := read(&v2, 2); !bytes.Equal(got, parent) {
		t.Fatalf("first read %x, want the parent's %x", got, parent)
	}
	if near[nearSlot(key)] == nil {
		t.Fatal("the key is not in the worker's cache after a read")
	}
	if got := read(&v3, 3); !bytes.Equal(got, parent) || !v3.valid() {
		t.Fatalf("cached read %x (valid %v), want the parent's %x", got, v3.valid(), parent)
	}
	written := state.EncodeAccount(&state.Account{Nonce: 2, Balance: uint256.NewInt(5)})
	mv.write(1, nil, nil, []state.Change{{Key: key, Value: written}}, nil, nil)
	if v3.valid() {
		t.Fatal("a read of the parent value stays valid after a lower position wrote the key")
	}
	if got := read(&v3, 3); !bytes.Equal(got, written) || !v3.valid() {
		t.Fatalf("read after the write %x (valid %v), want %x", got, v3.valid(), written)
	}
	var v1 mvView
	if got := read(&v1, 1); !bytes.Equal(got, parent) {
		t.Fatalf("position 1 reads %x, want the parent's %x (its own write is not below it)", got, parent)
	}
}
