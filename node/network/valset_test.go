package network_test

import (
	"crypto/ecdsa"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"

	"github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/internal/testutil"
	"github.com/wnode/wnode/types"
)

// TestValidatorSetChange runs four validators and a fifth node on loopback and changes
// the set by vote underneath them: the fifth is voted in and signs from the switch
// height on, never before; one of the four is voted out, its signatures stop counting at
// its switch height and it is then killed; a validator stopped before that switch and
// restarted after it catches up across it; blocks go on and every node agrees on every
// header.
func TestValidatorSetChange(t *testing.T) {
	tc := testutil.NewTestChain(t, 4, 0)
	newcomer := testutil.Key(t)
	keys := append(slices.Clone(tc.Vals), newcomer)
	for _, k := range keys { // validators pay the gas of their votes
		tc.Gen.Accounts = append(tc.Gen.Accounts, genesis.Account{Address: testutil.Addr(k), Balance: genesis.AmountOf(1e18)})
	}
	nodes := make([]*testNode, len(keys))
	dirs := make([]string, len(keys))
	for i, k := range keys {
		dirs[i] = t.TempDir()
		var boot []string
		if i > 0 {
			boot = nodes[0].net.Addrs()
		}
		nodes[i] = startNode(t, fmt.Sprintf("v%d", i), tc.Gen, dirs[i], k, nodeOptions{bootnodes: boot, noSync: true})
	}
	waitHeight(t, 30*time.Second, 2, nodes...)
	if nodes[4].node.Validator() {
		t.Fatal("the newcomer is a validator before any vote")
	}
	nonces := map[*ecdsa.PrivateKey]uint64{}
	send := func(from int, kind types.TxKind, args []byte) *types.Tx {
		k := keys[from]
		tx := testutil.SignTx(t, k, &types.Tx{Nonce: nonces[k], GasLimit: 200_000, Kind: kind, Args: args})
		nonces[k]++
		if err := nodes[from].pool.Add(tx); err != nil {
			t.Fatal(err)
		}
		return tx
	}
	// passed waits for the txs' successful receipts on the live nodes and returns the
	// height at which one of them passed its proposal and the effective height.
	passed := func(live []*testNode, txs ...*types.Tx) (height, effective uint64) {
		for _, tx := range txs {
			r := waitCommitted(t, tx.Hash(), live...)
			if !r.Succeeded() {
				t.Fatalf("validator tx failed: %s", r.Error)
			}
			for _, e := range r.Events {
				if string(e.Topic) == chain.TopicValidatorPassed {
					var ev struct {
						ID, Effective uint64
						Hash          types.Hash
					}
					if err := rlp.DecodeBytes(e.Data, &ev); err != nil {
						t.Fatal(err)
					}
					height, effective = r.Height, ev.Effective
				}
			}
		}
		if height == 0 {
			t.Fatal("the proposal did not pass")
		}
		return height, effective
	}
	signers := func(n *testNode, h uint64) []types.Address {
		cm, err := n.chain.CommitAt(h)
		if err != nil {
			t.Fatal(err)
		}
		var out []types.Address
		for i := range cm.Sigs {
			out = append(out, cm.Vote(i).Validator)
		}
		return out
	}

	// Vote the newcomer in: 30 of 40 passes.
	pk := crypto.CompressPubkey(&newcomer.PublicKey)
	add := &types.ValidatorChange{Op: types.ValidatorAdd, Address: testutil.Addr(newcomer), PubKey: pk, Power: 10}
	p1 := send(0, types.TxValidatorPropose, add.Encode())
	waitCommitted(t, p1.Hash(), nodes...)
	vote := func(id uint64) []byte { return (&types.ValidatorVote{ProposalID: id}).Encode() }
	h1, e1 := passed(nodes, send(1, types.TxValidatorVote, vote(1)), send(2, types.TxValidatorVote, vote(1)))
	if e1 != h1+2 {
		t.Fatalf("passed at %d, effective %d", h1, e1)
	}
	t.Logf("add passed at %d, effective at %d", h1, e1)
	waitHeight(t, 30*time.Second, e1+1, nodes...)
	for _, n := range nodes {
		if hdr, _ := n.chain.HeaderByNumber(e1 - 1); hdr.NextValidatorsHash == hdr.ValidatorsHash {
			t.Fatalf("%s: header %d does not announce the new set", n.name, e1-1)
		}
	}
	for h := uint64(1); h < e1; h++ {
		if slices.Contains(signers(nodes[0], h), testutil.Addr(newcomer)) {
			t.Fatalf("the newcomer signed height %d, before its switch height %d", h, e1)
		}
	}
	// It signs from then on: some commit after the switch holds its signature.
	testutil.WaitFor(t, 30*time.Second, "a commit signed by the newcomer", func() bool {
		for h := e1; h <= nodes[0].height(); h++ {
			if slices.Contains(signers(nodes[0], h), testutil.Addr(newcomer)) {
				return true
			}
		}
		return false
	})
	if !nodes[4].node.Validator() {
		t.Fatal("the newcomer's node does not know it is a validator")
	}

	// Vote v3 out: v0, v1, v2 are 30 of 50, not enough; the newcomer's vote passes it.
	leaving := tc.Vals[3]
	remove := &types.ValidatorChange{Op: types.ValidatorRemove, Address: testutil.Addr(leaving)}
	p2 := send(0, types.TxValidatorPropose, remove.Encode())
	waitCommitted(t, p2.Hash(), nodes...)
	v1, v2 := send(1, types.TxValidatorVote, vote(2)), send(2, types.TxValidatorVote, vote(2))
	waitCommitted(t, v2.Hash(), nodes...)
	waitCommitted(t, v1.Hash(), nodes...)
	if ps, _ := nodes[0].chain.ValidatorProposals(0, 10); len(ps) != 1 {
		t.Fatalf("open proposals %d, want 1 (30 of 50 does not pass)", len(ps))
	}
	h2, e2 := passed(nodes, send(4, types.TxValidatorVote, vote(2)))
	t.Logf("remove passed at %d, effective at %d", h2, e2)
	// v2 stops before the switch and comes back after it.
	nodes[2].stop()
	live := []*testNode{nodes[0], nodes[1], nodes[3], nodes[4]}
	waitHeight(t, 30*time.Second, e2+2, live...)
	for h := e2; h <= e2+2; h++ {
		if slices.Contains(signers(nodes[0], h), testutil.Addr(leaving)) {
			t.Fatalf("the removed validator's signature is in the commit of %d (switch at %d)", h, e2)
		}
	}
	// Kill the removed validator: the other four go on.
	nodes[3].stop()
	live = []*testNode{nodes[0], nodes[1], nodes[4]}
	waitHeight(t, 30*time.Second, nodes[0].height()+2, live...)
	nodes[2] = startNode(t, "v2'", tc.Gen, dirs[2], tc.Vals[2], nodeOptions{bootnodes: nodes[0].net.Addrs(), noSync: true})
	live = append(live, nodes[2])
	target := nodes[0].height() + 3
	waitHeight(t, 60*time.Second, target, live...)

	for h := uint64(1); h <= target; h++ {
		want, err := nodes[0].chain.HeaderByNumber(h)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range live[1:] {
			got, err := n.chain.HeaderByNumber(h)
			if err != nil {
				t.Fatal(err)
			}
			if got.Hash() != want.Hash() {
				t.Fatalf("%s: header %d differs", n.name, h)
			}
		}
		vs, err := nodes[2].chain.ValidatorsAt(h)
		if err != nil || vs.Hash() != want.ValidatorsHash {
			t.Fatalf("restarted node: set of %d: %v", h, err)
		}
	}
	if vs := nodes[0].chain.Validators(); vs.Len() != 4 || vs.Power(testutil.Addr(leaving)) != 0 || vs.Power(testutil.Addr(newcomer)) != 10 {
		t.Fatalf("final set of %d validators", vs.Len())
	}
}
