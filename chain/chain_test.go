package chain

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"

	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/state"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm"
)

// workload returns deterministic txs for the block after c's head: the first block
// deploys counter, token and calls from alice; later ones mix increments, token
// transfers, cross-contract calls, failing txs and plain transfers.
func workload(t testing.TB, c *Chain) []*types.Tx {
	t.Helper()
	nonce := func(name string) uint64 {
		a, err := c.Account(addrOf(name), LatestHeight)
		if err != nil {
			t.Fatal(err)
		}
		return a.Nonce
	}
	height := c.Head().Height + 1
	an, bn, cn := nonce("alice"), nonce("bob"), nonce("carol")
	counter := types.ContractAddress(addrOf("alice"), 0)
	token := types.ContractAddress(addrOf("alice"), 1)
	calls := types.ContractAddress(addrOf("alice"), 2)
	tx := func(from string, n *uint64, tx *types.Tx) *types.Tx {
		tx.Nonce = *n
		*n++
		if tx.GasLimit == 0 {
			tx.GasLimit = workloadGas
		}
		return signTx(t, from, tx)
	}
	if height == 1 {
		supply := uint256.NewInt(1_000_000).Bytes32()
		return []*types.Tx{
			tx("alice", &an, &types.Tx{Kind: types.TxDeploy, Code: readContract(t, "counter")}),
			tx("alice", &an, &types.Tx{Kind: types.TxDeploy, Code: readContract(t, "token"), Args: supply[:]}),
			tx("alice", &an, &types.Tx{Kind: types.TxDeploy, Code: readContract(t, "calls")}),
		}
	}
	amount := uint256.NewInt(height).Bytes32()
	fwd := append(append(append([]byte{}, counter[:]...), 9), "increment"...)
	bob := addrOf("bob")
	var txs []*types.Tx
	for range 3 {
		txs = append(txs, tx("alice", &an, &types.Tx{Kind: types.TxInvoke, To: counter, Method: "increment"}))
	}
	txs = append(txs,
		tx("alice", &an, &types.Tx{Kind: types.TxInvoke, To: token, Method: "transfer", Args: append(bob[:], amount[:]...)}),
		tx("bob", &bn, &types.Tx{Kind: types.TxInvoke, To: calls, Method: "forward", Args: fwd}),
		tx("bob", &bn, &types.Tx{Kind: types.TxInvoke, To: token, Method: "transfer", Args: append(bob[:], make([]byte, 31)...)}), // reverts: bad input
		tx("carol", &cn, &types.Tx{Kind: types.TxTransfer, To: addrOf("dave"), Value: uint256.NewInt(height)}),
	)
	// Out of gas: the gas limit is exactly the intrinsic gas, so nothing is left for the
	// execution whatever the prices.
	oog := &types.Tx{Kind: types.TxInvoke, To: counter, Method: "increment", Nonce: cn}
	txs = append(txs, signIntrinsic(t, c, "carol", oog))
	return txs
}

// workloadGas is the gas limit of the workload's txs: generous, so that they do not
// depend on the gas prices; a block of them fits in testGenesis's block gas limit.
const workloadGas = 10_000_000

// signIntrinsic signs tx with a gas limit equal to its intrinsic gas (which depends on
// the encoded size, and so on the gas limit itself).
func signIntrinsic(t testing.TB, c *Chain, from string, tx *types.Tx) *types.Tx {
	t.Helper()
	tx.GasLimit = c.sched.Tx.Base
	for range 10 {
		signTx(t, from, tx)
		ig := c.sched.Intrinsic(uint64(tx.Size()), uint64(len(tx.Code)))
		if ig == tx.GasLimit {
			return tx
		}
		tx.GasLimit = ig
	}
	t.Fatal("intrinsic gas does not converge")
	return nil
}

// runWorkload produces n blocks of the workload on node and returns blocks and commits.
func runWorkload(t testing.TB, n *node, blocks int) ([]*types.Block, []*types.Commit) {
	t.Helper()
	var bs []*types.Block
	var cs []*types.Commit
	var last *types.Commit
	for range blocks {
		b, cm := produce(t, n, workload(t, n.c), last)
		bs, cs, last = append(bs, b), append(cs, cm), cm
	}
	return bs, cs
}

// TestReplayDeterminism re-executes the blocks of one node on fresh stores, with the
// compiler and with the interpreter: same headers (so same state and receipt roots),
// same receipts, same gas.
func TestReplayDeterminism(t *testing.T) {
	g := testGenesis(nil)
	a := openNode(t, "", newVM(t, vm.EngineCompiler), g, Options{})
	defer a.close()
	blocks, commits := runWorkload(t, a, 6)
	failed := 0
	for _, b := range blocks {
		rs, err := a.c.Receipts(b.Height())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if !r.Succeeded() {
				failed++
			}
		}
	}
	if failed < 10 {
		t.Fatalf("workload has only %d failed txs; it should exercise failures", failed)
	}
	for _, engine := range []vm.Engine{vm.EngineCompiler, vm.EngineInterpreter} {
		t.Run(engine.String(), func(t *testing.T) {
			r := openNode(t, "", newVM(t, engine), testGenesis(nil), Options{RecoveryWorkers: 3})
			defer r.close()
			ctx := context.Background()
			for i, b := range blocks {
				dec, err := types.DecodeBlock(b.Encode())
				if err != nil {
					t.Fatal(err)
				}
				if err := r.c.CommitBlock(ctx, dec, commits[i]); err != nil {
					t.Fatalf("block %d: %v", b.Height(), err)
				}
				if r.c.HeadHash() != b.Hash() {
					t.Fatalf("block %d: replay head %s, original %s", b.Height(), r.c.HeadHash(), b.Hash())
				}
				want, _ := a.c.Receipts(b.Height())
				got, err := r.c.Receipts(b.Height())
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(want) {
					t.Fatalf("block %d: %d receipts, want %d", b.Height(), len(got), len(want))
				}
				for j := range got {
					if !bytes.Equal(got[j].Encode(), want[j].Encode()) {
						t.Fatalf("block %d receipt %d: %+v, want %+v", b.Height(), j, got[j], want[j])
					}
				}
			}
		})
	}
}

// TestValidateBlockRejects checks that ValidateBlock and CommitBlock refuse blocks that
// are wrong in any one way, and leave the state untouched.
func TestValidateBlockRejects(t *testing.T) {
	ctx := context.Background()
	machine := newVM(t, vm.EngineCompiler)
	const blockGas = 5 * workloadGas
	g := testGenesis(func(g *genesis.Genesis) { g.Params.BlockGasLimit = blockGas })
	leader := openNode(t, "", machine, g, Options{})
	defer leader.close()
	follower := openNode(t, "", machine, g, Options{})
	defer follower.close()

	b1, c1 := produce(t, leader, workload(t, leader.c)[:1], nil) // deploys counter
	if err := follower.c.CommitBlock(ctx, b1, c1); err != nil {
		t.Fatal(err)
	}
	good, err := leader.c.BuildBlock(ctx, workload(t, leader.c)[:3], b1.Header.Time+1000, addrOf("v1"), c1)
	if err != nil {
		t.Fatal(err)
	}
	if len(good.Txs) != 3 {
		t.Fatalf("good block has %d txs", len(good.Txs))
	}

	// copyBlock returns a deep enough copy of good to mutate.
	copyBlock := func() *types.Block {
		b, err := types.DecodeBlock(good.Encode())
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	fixTxRoot := func(b *types.Block) { b.Header.TxRoot = types.TxRoot(b.Txs) }
	extra := func(from string, nonce, gasLimit uint64) *types.Tx {
		return signTx(t, from, &types.Tx{Kind: types.TxTransfer, To: addrOf("dave"), Nonce: nonce, GasLimit: gasLimit, Value: uint256.NewInt(1)})
	}
	weak := func() *types.Commit { // a commit by v0 alone: 10 of 30 power
		k := testKey("v0")
		v := &types.Vote{Type: types.PrecommitType, Height: 1, BlockHash: b1.Hash(), Validator: addrOf("v0")}
		if err := v.Sign(testChainID, k); err != nil {
			t.Fatal(err)
		}
		cm, err := types.NewCommit([]*types.Vote{v})
		if err != nil {
			t.Fatal(err)
		}
		return cm
	}

	cases := map[string]func(b *types.Block){
		"state root":       func(b *types.Block) { b.Header.StateRoot[0] ^= 1 },
		"receipt root":     func(b *types.Block) { b.Header.ReceiptRoot[0] ^= 1 },
		"tx root":          func(b *types.Block) { b.Header.TxRoot[0] ^= 1 },
		"time equal":       func(b *types.Block) { b.Header.Time = b1.Header.Time },
		"time backwards":   func(b *types.Block) { b.Header.Time = b1.Header.Time - 1 },
		"parent":           func(b *types.Block) { b.Header.ParentHash[0] ^= 1 },
		"height":           func(b *types.Block) { b.Header.Height++ },
		"chain id":         func(b *types.Block) { b.Header.ChainID++ },
		"validators hash":  func(b *types.Block) { b.Header.ValidatorsHash[0] ^= 1 },
		"next validators":  func(b *types.Block) { b.Header.NextValidatorsHash[0] ^= 1 },
		"proposer":         func(b *types.Block) { b.Header.Proposer = addrOf("alice") },
		"no last commit":   func(b *types.Block) { b.LastCommit, b.Header.LastCommitHash = nil, types.Hash{} },
		"last commit hash": func(b *types.Block) { b.Header.LastCommitHash[0] ^= 1 },
		"weak last commit": func(b *types.Block) { b.LastCommit = weak(); b.Header.LastCommitHash = b.LastCommit.Hash() },
		"dropped tx":       func(b *types.Block) { b.Txs = b.Txs[1:]; fixTxRoot(b) },
		"reordered txs":    func(b *types.Block) { b.Txs[0], b.Txs[1] = b.Txs[1], b.Txs[0]; fixTxRoot(b) },
		"nonce gap":        func(b *types.Block) { b.Txs = append(b.Txs, extra("bob", 7, 100_000)); fixTxRoot(b) },
		"replayed tx":      func(b *types.Block) { b.Txs = append(b.Txs, b1.Txs[0]); fixTxRoot(b) },
		"over block gas":   func(b *types.Block) { b.Txs = append(b.Txs, extra("bob", 0, blockGas)); fixTxRoot(b) },
		"cannot pay":       func(b *types.Block) { b.Txs = append(b.Txs, extra("dave", 0, 100_000)); fixTxRoot(b) },
		"other chain tx":   func(b *types.Block) { b.Txs[2].ChainID++; fixTxRoot(b) },
		"bad signature":    func(b *types.Block) { b.Txs[2].Sig[5] ^= 1; fixTxRoot(b) },
		"proposer of fees": func(b *types.Block) { b.Header.Proposer = addrOf("v2") }, // fees go elsewhere: state root differs
		"gas price too low": func(b *types.Block) {
			b.Txs = append(b.Txs, signTx(t, "bob", &types.Tx{Kind: types.TxTransfer, To: addrOf("dave"), GasLimit: 100_000, GasPrice: new(uint256.Int)}))
			fixTxRoot(b)
		},
	}
	rootBefore := follower.st
	_, root0 := rootBefore.Latest()
	bal0 := mustAccount(t, follower.c, "alice").Balance
	for name, mut := range cases {
		t.Run(name, func(t *testing.T) {
			b := copyBlock()
			mut(b)
			// Re-decode, as a block from the network would be (a mutated tx must not keep a
			// cached hash or sender).
			dec, err := types.DecodeBlock(b.Encode())
			if err == nil {
				b = dec
			}
			err = follower.c.ValidateBlock(ctx, b)
			if !errors.Is(err, types.ErrInvalidBlock) {
				t.Fatalf("ValidateBlock: %v, want ErrInvalidBlock", err)
			}
			if err := follower.c.CommitBlock(ctx, b, commitFor(t, b)); err == nil {
				t.Fatal("CommitBlock accepted the block")
			}
			if h, root := follower.st.Latest(); h != 1 || root != root0 || follower.c.Head().Height != 1 {
				t.Fatalf("state moved to %d %s", h, root)
			}
			if !mustAccount(t, follower.c, "alice").Balance.Eq(bal0) {
				t.Fatal("balance changed")
			}
		})
	}

	// The good block still validates and commits on the follower, which executes it
	// itself (nothing cached there).
	if err := follower.c.CommitBlock(ctx, copyBlock(), commitFor(t, good)); err != nil {
		t.Fatal(err)
	}
	if follower.c.HeadHash() != good.Hash() {
		t.Fatal("follower head is not the good block")
	}
	// A commit for another block, or signed by too little power, is refused.
	if err := leader.c.CommitBlock(ctx, good, c1); err == nil {
		t.Fatal("commit of block 1 accepted for block 2")
	}
}

func TestBuildBlockTime(t *testing.T) {
	n := openNode(t, "", newVM(t, vm.EngineCompiler), testGenesis(nil), Options{})
	defer n.close()
	gt := n.c.Head().Time
	// A proposer clock behind the parent still yields a strictly later block time.
	b, err := n.c.BuildBlock(context.Background(), nil, gt-5000, addrOf("v0"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.Header.Time != gt+1 {
		t.Fatalf("time %d, want %d", b.Header.Time, gt+1)
	}
	// Block 1 takes no last commit; block 2 needs one.
	if _, err := n.c.BuildBlock(context.Background(), nil, gt+1, addrOf("v0"), commitFor(t, b)); err == nil {
		t.Fatal("block 1 built with a last commit")
	}
	if err := n.c.CommitBlock(context.Background(), b, commitFor(t, b)); err != nil {
		t.Fatal(err)
	}
	if _, err := n.c.BuildBlock(context.Background(), nil, gt+2, addrOf("v0"), nil); err == nil {
		t.Fatal("block 2 built without a last commit")
	}
}

// TestReadAPI checks the block store and state reads against what was committed.
func TestReadAPI(t *testing.T) {
	n := openNode(t, "", newVM(t, vm.EngineCompiler), testGenesis(nil), Options{})
	defer n.close()
	events := make(chan *BlockEvent, 10)
	unsub := n.c.Subscribe(events)
	blocks, commits := runWorkload(t, n, 3)
	unsub()
	produce(t, n, nil, commits[2]) // after unsubscribing: no event

	for i, b := range blocks {
		ev := <-events
		if ev.Block.Hash() != b.Hash() || ev.Hash != b.Hash() || len(ev.Receipts) != len(b.Txs) || ev.Commit != commits[i] {
			t.Fatalf("event %d does not match block %d", i, b.Height())
		}
		got, err := n.c.BlockByNumber(b.Height())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Encode(), b.Encode()) {
			t.Fatalf("BlockByNumber(%d) differs", b.Height())
		}
		byHash, err := n.c.BlockByHash(b.Hash())
		if err != nil || byHash.Hash() != b.Hash() {
			t.Fatalf("BlockByHash: %v", err)
		}
		cm, err := n.c.CommitAt(b.Height())
		if err != nil || cm.Hash() != commits[i].Hash() {
			t.Fatalf("CommitAt(%d): %v", b.Height(), err)
		}
		for j, tx := range b.Txs {
			got, h, idx, err := n.c.TxByHash(tx.Hash())
			if err != nil || got.Hash() != tx.Hash() || h != b.Height() || idx != uint32(j) {
				t.Fatalf("TxByHash: %v %d %d", err, h, idx)
			}
			r, err := n.c.Receipt(tx.Hash())
			if err != nil || r.TxHash != tx.Hash() || r.Height != b.Height() || r.Index != uint64(j) {
				t.Fatalf("Receipt: %v %+v", err, r)
			}
		}
		rs, _ := n.c.Receipts(b.Height())
		if types.ReceiptRoot(rs) != b.Header.ReceiptRoot {
			t.Fatalf("stored receipts of %d do not match the receipt root", b.Height())
		}
	}
	select {
	case ev := <-events:
		t.Fatalf("event for block %d after unsubscribing", ev.Block.Height())
	default:
	}

	g0, err := n.c.BlockByNumber(0)
	if err != nil || g0.Header.Height != 0 || len(g0.Txs) != 0 || g0.Header.StateRoot == (types.Hash{}) {
		t.Fatalf("genesis block: %v %+v", err, g0)
	}
	if _, err := n.c.BlockByNumber(99); !errors.Is(err, ErrNotFound) {
		t.Fatalf("BlockByNumber(99): %v", err)
	}
	if _, err := n.c.BlockByHash(types.Hash{1}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("BlockByHash(unknown): %v", err)
	}
	if _, _, _, err := n.c.TxByHash(types.Hash{1}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("TxByHash(unknown): %v", err)
	}
	if _, err := n.c.Receipt(types.Hash{1}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Receipt(unknown): %v", err)
	}
	if _, err := n.c.CommitAt(0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("CommitAt(0): %v", err)
	}

	// State reads at a past and the latest height, with proofs.
	counter := types.ContractAddress(addrOf("alice"), 0)
	v1, ok, err := n.c.Storage(counter, []byte("count"), 2)
	if err != nil || !ok || !bytes.Equal(v1, []byte{0, 0, 0, 0, 0, 0, 0, 4}) { // 3 increments + 1 forwarded
		t.Fatalf("count at 2: %x %v %v", v1, ok, err)
	}
	v2, _, _ := n.c.Storage(counter, []byte("count"), LatestHeight)
	if !bytes.Equal(v2, []byte{0, 0, 0, 0, 0, 0, 0, 8}) {
		t.Fatalf("count at head: %x", v2)
	}
	code, err := n.c.Code(counter, LatestHeight)
	if err != nil || !bytes.Equal(code, readContract(t, "counter")) {
		t.Fatalf("Code: %v", err)
	}
	if code, err := n.c.Code(addrOf("dave"), LatestHeight); err != nil || code != nil {
		t.Fatalf("Code of a plain account: %x %v", code, err)
	}
	acc, err := n.c.Account(addrOf("nobody"), 1)
	if err != nil || acc.Nonce != 0 || !acc.Balance.IsZero() {
		t.Fatalf("absent account: %+v %v", acc, err)
	}
	for _, key := range [][]byte{state.AccountKey(addrOf("alice")), state.StorageKey(counter, []byte("count")), state.AccountKey(addrOf("nobody"))} {
		p, err := n.c.Proof(key, 2)
		if err != nil {
			t.Fatal(err)
		}
		hdr, _ := n.c.HeaderByNumber(2)
		if p.Root != hdr.StateRoot || p.Height != 2 {
			t.Fatalf("proof root %s, header %s", p.Root, hdr.StateRoot)
		}
		if err := p.Verify(); err != nil {
			t.Fatalf("proof of %x: %v", key, err)
		}
		p.Value = append(p.Value, 1)
		if err := p.Verify(); err == nil {
			t.Fatal("proof of a wrong value verified")
		}
	}
	if _, err := n.c.Account(addrOf("alice"), 99); !errors.Is(err, state.ErrFutureHeight) {
		t.Fatalf("future height: %v", err)
	}
}

func TestCallAndEstimate(t *testing.T) {
	ctx := context.Background()
	n := openNode(t, "", newVM(t, vm.EngineCompiler), testGenesis(nil), Options{CallGasCap: 10_000_000})
	defer n.close()
	_, commits := runWorkload(t, n, 2)
	counter := types.ContractAddress(addrOf("alice"), 0)

	res, err := n.c.Call(ctx, CallMsg{From: addrOf("dave"), To: counter, Method: "get"}, LatestHeight)
	if err != nil || res.Err != nil || !bytes.Equal(res.Output, []byte{0, 0, 0, 0, 0, 0, 0, 4}) {
		t.Fatalf("call get: %v %+v", err, res)
	}
	if res.Height != 2 || res.StateRoot != n.c.Head().StateRoot || res.GasUsed == 0 {
		t.Fatalf("call result metadata: %+v", res)
	}
	res, _ = n.c.Call(ctx, CallMsg{To: counter, Method: "get"}, 1)
	if !bytes.Equal(res.Output, make([]byte, 8)) {
		t.Fatalf("call at height 1: %x", res.Output)
	}
	res, _ = n.c.Call(ctx, CallMsg{To: counter, Method: "init"}, LatestHeight)
	if res.Err == nil {
		t.Fatal("call of init succeeded")
	}
	res, _ = n.c.Call(ctx, CallMsg{To: counter, Method: "increment", Gas: 100}, LatestHeight)
	if !errors.Is(res.Err, vm.ErrOutOfGas) {
		t.Fatalf("call with 100 gas: %v", res.Err)
	}

	// An estimate suffices, is close (it assumes the widest encoding of the tx's integers),
	// and one gas below what the tx then used is not enough.
	msgs := map[string]CallMsg{
		"invoke":   {From: addrOf("bob"), To: counter, Method: "increment"},
		"transfer": {From: addrOf("bob"), To: addrOf("dave"), Value: uint256.NewInt(5)},
		"deploy":   {From: addrOf("bob"), Code: readContract(t, "kv1"), Args: []byte("x")},
	}
	kinds := map[string]types.TxKind{"invoke": types.TxInvoke, "transfer": types.TxTransfer, "deploy": types.TxDeploy}
	last := commits[1]
	send := func(msg CallMsg, kind types.TxKind, gasLimit uint64) *types.Receipt {
		tx := &types.Tx{Kind: kind, To: msg.To, Method: msg.Method, Args: msg.Args, Code: msg.Code, Value: msg.Value,
			GasLimit: gasLimit, Nonce: mustAccount(t, n.c, "bob").Nonce}
		signTx(t, "bob", tx)
		var b *types.Block
		b, last = produce(t, n, []*types.Tx{tx}, last)
		rs, _ := n.c.Receipts(b.Height())
		if len(rs) == 0 {
			return nil
		}
		return rs[0]
	}
	for name, msg := range msgs {
		est, err := n.c.EstimateGas(ctx, msg, LatestHeight)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		r := send(msg, kinds[name], est)
		if r == nil || !r.Succeeded() {
			t.Fatalf("%s: tx with the estimate %d failed: %+v", name, est, r)
		}
		if r.GasUsed > est || est-r.GasUsed > 2000 {
			t.Fatalf("%s: estimate %d, used %d", name, est, r.GasUsed)
		}
		if r := send(msg, kinds[name], r.GasUsed-1); r != nil && r.Succeeded() {
			t.Fatalf("%s: tx with %d gas, less than it used, succeeded", name, r.GasUsed-1)
		}
	}
	// A message that fails whatever the gas reports why.
	_, err = n.c.EstimateGas(ctx, CallMsg{From: addrOf("bob"), To: counter, Method: "nope"}, LatestHeight)
	if !errors.Is(err, ErrExecution) {
		t.Fatalf("estimate of a missing method: %v", err)
	}
}

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	machine := newVM(t, vm.EngineCompiler)
	n := openNode(t, dir, machine, testGenesis(nil), Options{})
	runWorkload(t, n, 2)
	head := n.c.Head()
	n.close()

	n = openNode(t, dir, machine, testGenesis(nil), Options{})
	if n.c.HeadHash() != head.Hash() {
		t.Fatal("reopened head differs")
	}
	// It goes on from where it was.
	cm, err := n.c.CommitAt(LatestHeight)
	if err != nil {
		t.Fatal(err)
	}
	produce(t, n, workload(t, n.c), cm)
	n.close()

	// Another genesis is refused.
	db, err := state.OpenPebble(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := state.New(db, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	other := testGenesis(func(g *genesis.Genesis) { g.Params.BlockGasLimit++ })
	if _, err := New(db, st, machine, other, Options{}); !errors.Is(err, ErrGenesisMismatch) {
		t.Fatalf("other genesis: %v", err)
	}
}

// TestGenesisContracts checks that contracts in the genesis file are installed with
// their storage and admin, and that invalid genesis code is refused.
func TestGenesisContracts(t *testing.T) {
	machine := newVM(t, vm.EngineCompiler)
	kv := types.Address{0xc0, 0xde}
	g := testGenesis(func(g *genesis.Genesis) {
		g.Contracts = []genesis.Contract{{
			Address: kv, Code: genesis.Code{Bytes: readContract(t, "kv1")}, Admin: addrOf("alice"),
			Balance: genesis.AmountOf(42), Storage: genesis.Storage{{Key: []byte("k"), Value: []byte("v")}},
		}}
	})
	n := openNode(t, "", machine, g, Options{})
	defer n.close()
	res, err := n.c.Call(context.Background(), CallMsg{To: kv, Method: "get", Args: []byte("k")}, 0)
	if err != nil || res.Err != nil || string(res.Output) != "v" {
		t.Fatalf("genesis storage: %v %+v", err, res)
	}
	acc, _ := n.c.Account(kv, 0)
	if acc.Admin != addrOf("alice") || acc.Balance.Uint64() != 42 {
		t.Fatalf("genesis contract account %+v", acc)
	}

	bad := testGenesis(func(g *genesis.Genesis) {
		g.Contracts = []genesis.Contract{{Address: kv, Code: genesis.Code{Bytes: []byte("\x00asm\x01\x00\x00\x00\xff")}}}
	})
	db, _ := state.OpenMemPebble()
	defer db.Close()
	st, _ := state.New(db, state.Options{})
	if _, err := New(db, st, machine, bad, Options{}); !errors.Is(err, vm.ErrInvalidCode) {
		t.Fatalf("invalid genesis code: %v", err)
	}
	if st.Initialized() {
		t.Fatal("state written for a refused genesis")
	}
	if it, _ := db.NewIter(&pebble.IterOptions{}); it.First() {
		t.Fatalf("database not empty after a refused genesis: %x", it.Key())
	} else {
		it.Close()
	}
}

func TestDevGenesis(t *testing.T) {
	key := testKey("v0")
	g := genesis.Dev(genesis.DevChainID, &key.PublicKey)
	n := openNode(t, "", newVM(t, vm.EngineCompiler), g, Options{})
	defer n.close()
	acc, err := n.c.Account(genesis.DevAddress, 0)
	if err != nil || acc.Balance.ToBig().Cmp(genesis.DevBalance) != 0 {
		t.Fatalf("dev account: %+v %v", acc, err)
	}
	tx := &types.Tx{ChainID: genesis.DevChainID, Kind: types.TxTransfer, To: addrOf("bob"), GasLimit: 100_000,
		GasPrice: uint256.NewInt(1), Value: uint256.NewInt(1)}
	if err := tx.Sign(genesis.DevKey()); err != nil {
		t.Fatal(err)
	}
	b, err := n.c.BuildBlock(context.Background(), []*types.Tx{tx}, 0, crypto.PubkeyToAddress(key.PublicKey), nil)
	if err != nil || len(b.Txs) != 1 {
		t.Fatalf("dev transfer: %v", err)
	}
}

// TestConcurrentReads reads blocks, receipts, state and calls while blocks are being
// built and committed (run with -race).
func TestConcurrentReads(t *testing.T) {
	n := openNode(t, "", newVM(t, vm.EngineCompiler), testGenesis(nil), Options{})
	defer n.close()
	_, commits := runWorkload(t, n, 1)
	counter := types.ContractAddress(addrOf("alice"), 0)
	done := make(chan struct{})
	errs := make(chan error, 4)
	for range 3 {
		go func() {
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				head := n.c.Head()
				b, err := n.c.BlockByNumber(head.Height)
				if err == nil && b.Hash() != head.Hash() {
					err = errors.New("block at head height is not the head")
				}
				if err == nil {
					for _, tx := range b.Txs {
						if _, err = n.c.Receipt(tx.Hash()); err != nil {
							break
						}
					}
				}
				if err == nil {
					var res *CallResult
					res, err = n.c.Call(context.Background(), CallMsg{To: counter, Method: "get"}, head.Height)
					if err == nil && res.Err != nil {
						err = res.Err
					}
				}
				if err == nil {
					_, err = n.c.Account(addrOf("alice"), LatestHeight)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	last := commits[0]
	for range 5 {
		_, last = produce(t, n, workload(t, n.c), last)
	}
	close(done)
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestBlockBytesLimit checks max_tx_bytes and max_block_bytes: the proposer leaves out
// what does not fit, a validator rejects a block that exceeds them.
func TestBlockBytesLimit(t *testing.T) {
	ctx := context.Background()
	g := testGenesis(func(g *genesis.Genesis) { g.Params.MaxTxBytes, g.Params.MaxBlockBytes = 300, 400 })
	n := openNode(t, "", newVM(t, vm.EngineCompiler), g, Options{})
	defer n.close()
	var txs []*types.Tx
	for i := range 4 {
		txs = append(txs, signTx(t, "alice", &types.Tx{Kind: types.TxTransfer, To: addrOf("bob"), Nonce: uint64(i), GasLimit: 100_000, Value: uint256.NewInt(1)}))
	}
	big := signTx(t, "bob", &types.Tx{Kind: types.TxDeploy, Code: readContract(t, "counter"), GasLimit: 1_000_000})
	if big.Size() <= 300 {
		t.Fatalf("deploy tx of %d bytes is not over max_tx_bytes", big.Size())
	}
	size := uint64(txs[0].Size())
	fit := int(400 / size)
	b, err := n.c.BuildBlock(ctx, append([]*types.Tx{big}, txs...), 0, addrOf("v0"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Txs) != fit || b.Txs[0] != txs[0] {
		t.Fatalf("%d txs of %d bytes in a block of at most 400 bytes, want %d", len(b.Txs), size, fit)
	}
	over := &types.Block{Header: b.Header, Txs: txs[:fit+1]}
	over.Header.TxRoot = types.TxRoot(over.Txs)
	if err := n.c.ValidateBlock(ctx, over); !errors.Is(err, types.ErrInvalidBlock) {
		t.Fatalf("block over max_block_bytes: %v", err)
	}
	tooBig := &types.Block{Header: b.Header, Txs: []*types.Tx{big}}
	tooBig.Header.TxRoot = types.TxRoot(tooBig.Txs)
	if err := n.c.ValidateBlock(ctx, tooBig); !errors.Is(err, types.ErrInvalidBlock) {
		t.Fatalf("block with a tx over max_tx_bytes: %v", err)
	}
}

// TestEstimateBounds: a deploy estimate compiles on Options.ReadVM, never in the
// chain VM's memory or on-disk caches; a method whose success depends on the gas left
// gets an estimate within 1/64 above what it needs; a search past its gas budget stops
// and answers a limit that succeeded.
func TestEstimateBounds(t *testing.T) {
	ctx := context.Background()
	cacheDir := t.TempDir()
	machine, err := vm.New(ctx, vm.Config{CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer machine.Close(ctx)
	est := newVM(t, vm.EngineCompiler)
	n := openNode(t, "", machine, testGenesis(nil), Options{ReadVM: est})
	defer n.close()
	tx := signTx(t, "alice", &types.Tx{Kind: types.TxDeploy, Code: readContract(t, "gasleft"), GasLimit: 5_000_000,
		Nonce: mustAccount(t, n.c, "alice").Nonce})
	b, _ := produce(t, n, []*types.Tx{tx}, nil)
	rs, _ := n.c.Receipts(b.Height())
	if len(rs) != 1 || !rs[0].Succeeded() {
		t.Fatalf("deploy: %+v", rs)
	}
	needy := rs[0].ContractAddress

	files := func() int {
		k := 0
		filepath.WalkDir(cacheDir, func(_ string, d fs.DirEntry, _ error) error {
			if d != nil && !d.IsDir() {
				k++
			}
			return nil
		})
		return k
	}
	cached, onDisk := machine.CachedModules(), files()
	for i := range 3 { // three different modules: none may reach the chain VM's caches
		msg := []CallMsg{{Code: readContract(t, "kv1"), Args: []byte("x")}, {Code: readContract(t, "counter")}, {Code: readContract(t, "plain")}}[i]
		msg.From = addrOf("bob")
		if _, err := n.c.EstimateGas(ctx, msg, LatestHeight); err != nil {
			t.Fatal(err)
		}
	}
	if machine.CachedModules() != cached || files() != onDisk {
		t.Errorf("deploy estimates reached the chain VM: %d → %d modules in memory, %d → %d files on disk",
			cached, machine.CachedModules(), onDisk, files())
	}
	if est.CachedModules() != 3 {
		t.Errorf("estimate VM holds %d modules, want 3", est.CachedModules())
	}

	msg := CallMsg{From: addrOf("bob"), To: needy, Method: "needy"}
	g, err := n.c.EstimateGas(ctx, msg, LatestHeight)
	if err != nil {
		t.Fatal(err)
	}
	if g < 2_000_000 || g > 2_000_000+2_000_000/64+100_000 {
		t.Fatalf("estimate %d, want just above 2,000,000 (the method traps below it)", g)
	}
	n.c.opts.EstimateGasBudget = 1 // the first run already spends it
	capped, err := n.c.EstimateGas(ctx, msg, LatestHeight)
	if err != nil {
		t.Fatal(err)
	}
	if capped <= g {
		t.Fatalf("estimate with no budget left %d, want the cap (above %d)", capped, g)
	}
	if res, _ := n.c.Call(ctx, CallMsg{To: needy, Method: "needy", Gas: capped}, LatestHeight); res == nil || res.Err != nil {
		t.Fatalf("the capped estimate does not suffice: %+v", res)
	}
}
