package chain

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"

	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/state"
	"github.com/wnode/wnode/types"
)

// valHarness drives a chain whose validator set changes: every block is proposed by the
// proposer of its height's set and committed by all members of that set.
type valHarness struct {
	t      testing.TB
	n      *node
	keys   map[types.Address]string // address -> test key name
	nonces map[string]uint64
	last   *types.Commit
}

// valNames are the test keys that may become validators; all are funded.
var valNames = []string{"v0", "v1", "v2", "v3", "v4", "v5"}

func newValHarness(t testing.TB, dir string, genesisVals []string, mod func(*genesis.Genesis)) *valHarness {
	t.Helper()
	g := testGenesis(func(g *genesis.Genesis) {
		g.Validators = nil
		for _, v := range genesisVals {
			k := testKey(v)
			g.Validators = append(g.Validators, genesis.Validator{
				Address: crypto.PubkeyToAddress(k.PublicKey), PubKey: crypto.CompressPubkey(&k.PublicKey), Power: 10, Name: v,
			})
		}
		for _, v := range valNames {
			g.Accounts = append(g.Accounts, genesis.Account{Address: addrOf(v), Balance: genesis.AmountOf(testFunds)})
		}
		if mod != nil {
			mod(g)
		}
	})
	n := openNode(t, dir, newVM(t, 0), g, Options{})
	h := &valHarness{t: t, n: n, keys: map[types.Address]string{}, nonces: map[string]uint64{}}
	t.Cleanup(func() { h.n.close() })
	for _, v := range append(slices.Clone(valNames), testAccounts...) {
		h.keys[addrOf(v)] = v
	}
	return h
}

func (h *valHarness) tx(from string, kind types.TxKind, args []byte) *types.Tx {
	tx := signTx(h.t, from, &types.Tx{Kind: kind, Nonce: h.nonces[from], GasLimit: 1_000_000, Args: args})
	h.nonces[from]++
	return tx
}

func (h *valHarness) propose(from string, ch types.ValidatorChange) *types.Tx {
	return h.tx(from, types.TxValidatorPropose, ch.Encode())
}

func (h *valHarness) vote(from string, id uint64) *types.Tx {
	return h.tx(from, types.TxValidatorVote, (&types.ValidatorVote{ProposalID: id}).Encode())
}

func addChange(name string, power uint64) types.ValidatorChange {
	k := testKey(name)
	return types.ValidatorChange{Op: types.ValidatorAdd, Address: addrOf(name), PubKey: crypto.CompressPubkey(&k.PublicKey), Power: power}
}

// commitBy signs blk's precommits with the named keys.
func (h *valHarness) commitBy(blk *types.Block, names ...string) *types.Commit {
	h.t.Helper()
	var votes []*types.Vote
	for _, name := range names {
		vote := &types.Vote{Type: types.PrecommitType, Height: blk.Height(), BlockHash: blk.Hash(), Validator: addrOf(name)}
		if err := vote.Sign(testChainID, testKey(name)); err != nil {
			h.t.Fatal(err)
		}
		votes = append(votes, vote)
	}
	c, err := types.NewCommit(votes)
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// members returns the key names of the validators of vs.
func (h *valHarness) members(vs *types.ValidatorSet) []string {
	var out []string
	for i := range vs.Len() {
		out = append(out, h.keys[vs.At(i).Address])
	}
	return out
}

// build builds the next block of txs (all must be included) without committing it.
func (h *valHarness) build(txs ...*types.Tx) *types.Block {
	h.t.Helper()
	head := h.n.c.Head()
	vs, err := h.n.c.ValidatorsAt(head.Height + 1)
	if err != nil {
		h.t.Fatal(err)
	}
	blk, err := h.n.c.BuildBlock(context.Background(), txs, head.Time+1000, vs.Proposer(head.Height+1, 0).Address, h.last)
	if err != nil {
		h.t.Fatal(err)
	}
	if len(blk.Txs) != len(txs) {
		h.t.Fatalf("block %d took %d of %d txs", blk.Height(), len(blk.Txs), len(txs))
	}
	return blk
}

// block builds and commits the next block of txs, signed by the whole set of its
// height, and returns its receipts.
func (h *valHarness) block(txs ...*types.Tx) []*types.Receipt {
	h.t.Helper()
	blk := h.build(txs...)
	vs, _ := h.n.c.ValidatorsAt(blk.Height())
	cm := h.commitBy(blk, h.members(vs)...)
	if err := h.n.c.CommitBlock(context.Background(), blk, cm); err != nil {
		h.t.Fatal(err)
	}
	h.last = cm
	rs, err := h.n.c.Receipts(blk.Height())
	if err != nil {
		h.t.Fatal(err)
	}
	return rs
}

func (h *valHarness) height() uint64 { return h.n.c.Head().Height }

func (h *valHarness) set(height uint64) *types.ValidatorSet {
	h.t.Helper()
	vs, err := h.n.c.ValidatorsAt(height)
	if err != nil {
		h.t.Fatal(err)
	}
	return vs
}

func (h *valHarness) open() []*ValidatorProposal {
	h.t.Helper()
	ps, err := h.n.c.ValidatorProposals(0, 1<<20)
	if err != nil {
		h.t.Fatal(err)
	}
	return ps
}

func wantOK(t *testing.T, r *types.Receipt) {
	t.Helper()
	if r.Status != types.ReceiptSuccess {
		t.Fatalf("tx %d of block %d failed: %s", r.Index, r.Height, r.Error)
	}
}

func wantFail(t *testing.T, r *types.Receipt, text string) {
	t.Helper()
	if r.Status != types.ReceiptFailed || r.Error != text {
		t.Fatalf("tx %d of block %d: status %d error %q, want failure %q", r.Index, r.Height, r.Status, r.Error, text)
	}
	if len(r.Events) != 0 {
		t.Fatalf("failed tx has %d events", len(r.Events))
	}
}

func topics(r *types.Receipt) []string {
	var out []string
	for _, e := range r.Events {
		out = append(out, string(e.Topic))
	}
	return out
}

func names(vs *types.ValidatorSet, h *valHarness) string { return strings.Join(h.members(vs), ",") }

// checkHistory checks that ValidatorsAt of every committed height is the set its header
// names, and that each header's NextValidatorsHash is the set of the next height.
func (h *valHarness) checkHistory() {
	h.t.Helper()
	for height := uint64(0); height <= h.height(); height++ {
		hdr, err := h.n.c.HeaderByNumber(height)
		if err != nil {
			h.t.Fatal(err)
		}
		if got := h.set(height).Hash(); got != hdr.ValidatorsHash {
			h.t.Fatalf("ValidatorsAt(%d) = %s, header says %s", height, got, hdr.ValidatorsHash)
		}
		if got := h.set(height + 1).Hash(); got != hdr.NextValidatorsHash {
			h.t.Fatalf("ValidatorsAt(%d) = %s, header %d's next says %s", height+1, got, height, hdr.NextValidatorsHash)
		}
	}
}

// TestValidatorAddPassesAboveTwoThirds: three validators of power 10; a proposal has 20
// (exactly 2/3) after one vote and does not pass; the third vote passes it at height H,
// header H+1 names the new set as next, and it signs from H+2 on, not before.
func TestValidatorAddPassesAboveTwoThirds(t *testing.T) {
	h := newValHarness(t, "", []string{"v0", "v1", "v2"}, nil)
	old := h.set(1)
	rs := h.block(h.propose("v0", addChange("v3", 10)))
	wantOK(t, rs[0])
	if got := topics(rs[0]); !slices.Equal(got, []string{TopicValidatorProposed, TopicValidatorVoted}) {
		t.Fatalf("propose events %v", got)
	}
	ps := h.open()
	if len(ps) != 1 || ps[0].ID != 1 || ps[0].Proposer != addrOf("v0") || ps[0].Expires != 1+genesis.DefaultParams().ValidatorProposalBlocks-1 {
		t.Fatalf("open proposals %+v", ps)
	}
	rs = h.block(h.vote("v1", 1)) // 20 of 30: exactly 2/3, not more
	wantOK(t, rs[0])
	if got := topics(rs[0]); !slices.Equal(got, []string{TopicValidatorVoted}) {
		t.Fatalf("vote events %v", got)
	}
	if h.set(h.height()+2) != old || len(h.open()) != 1 || len(h.open()[0].Voters) != 2 {
		t.Fatal("a proposal with exactly 2/3 of the power passed")
	}
	rs = h.block(h.vote("v2", 1))
	H := h.height()
	wantOK(t, rs[0])
	if got := topics(rs[0]); !slices.Equal(got, []string{TopicValidatorVoted, TopicValidatorPassed}) {
		t.Fatalf("passing vote events %v", got)
	}
	var passed struct {
		ID, Effective uint64
		Hash          types.Hash
	}
	if err := rlp.DecodeBytes(rs[0].Events[1].Data, &passed); err != nil || passed.ID != 1 || passed.Effective != H+2 {
		t.Fatalf("passed event %+v, %v", passed, err)
	}
	if len(h.open()) != 0 {
		t.Fatal("passed proposal still open")
	}
	if h.set(H+1) != old || h.set(H+2).Len() != 4 || h.set(H+2).Hash() != passed.Hash {
		t.Fatalf("sets after the pass: H+1 %s, H+2 %s", names(h.set(H+1), h), names(h.set(H+2), h))
	}
	if _, err := h.n.c.ValidatorsAt(H + 3); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ValidatorsAt beyond head+2: %v", err)
	}

	// Block H+1 is signed by the old set: the new validator's signature is refused.
	blk := h.build()
	if blk.Header.NextValidatorsHash != passed.Hash || blk.Header.ValidatorsHash != old.Hash() {
		t.Fatal("header H+1 does not name the new set as next")
	}
	if err := h.n.c.CommitBlock(context.Background(), blk, h.commitBy(blk, "v0", "v1", "v2", "v3")); err == nil {
		t.Fatal("block H+1 committed with the signature of a validator added for H+2")
	}
	cm := h.commitBy(blk, "v0", "v1", "v2")
	if err := h.n.c.CommitBlock(context.Background(), blk, cm); err != nil {
		t.Fatal(err)
	}
	h.last = cm
	// Block H+2: the new set; three of the four (30 of 40) are a quorum, two are not.
	blk = h.build()
	if blk.Header.ValidatorsHash != passed.Hash {
		t.Fatal("header H+2 is not signed by the new set")
	}
	if err := h.n.c.CommitBlock(context.Background(), blk, h.commitBy(blk, "v0", "v3")); err == nil {
		t.Fatal("20 of 40 committed block H+2")
	}
	cm = h.commitBy(blk, "v1", "v2", "v3")
	if err := h.n.c.CommitBlock(context.Background(), blk, cm); err != nil {
		t.Fatal(err)
	}
	h.last = cm
	// The new validator votes from H+2 on.
	wantOK(t, h.block(h.propose("v3", types.ValidatorChange{Op: types.ValidatorPower, Address: addrOf("v3"), Power: 12}))[0])
	h.checkHistory()
}

// TestValidatorRemoveSwitchHeight: a removed validator still signs the block of H+1 and
// no longer from H+2; it can vote until then, not after.
func TestValidatorRemoveSwitchHeight(t *testing.T) {
	h := newValHarness(t, "", []string{"v0", "v1", "v2", "v3"}, nil)
	remove := types.ValidatorChange{Op: types.ValidatorRemove, Address: addrOf("v3")}
	wantOK(t, h.block(h.propose("v1", remove))[0])
	rs := h.block(h.vote("v2", 1), h.vote("v3", 1)) // 30 of 40 after v3's own vote
	wantOK(t, rs[0])
	wantOK(t, rs[1])
	if got := topics(rs[1]); !slices.Contains(got, TopicValidatorPassed) {
		t.Fatalf("events %v", got)
	}
	H := h.height()
	// H+1: v3 still a validator, its vote on a new proposal is accepted and its
	// signature counts (v0 and v3 with v1: 30 of 40).
	blk := h.build(h.propose("v3", types.ValidatorChange{Op: types.ValidatorPower, Address: addrOf("v0"), Power: 11}))
	cm := h.commitBy(blk, "v0", "v1", "v3")
	if err := h.n.c.CommitBlock(context.Background(), blk, cm); err != nil {
		t.Fatalf("block H+1 signed with the leaving validator: %v", err)
	}
	h.last = cm
	if rs, _ := h.n.c.Receipts(H + 1); rs[0].Status != types.ReceiptSuccess {
		t.Fatalf("leaving validator's proposal at H+1: %s", rs[0].Error)
	}
	// H+2: v3's signature is refused, and so is its vote.
	blk = h.build(h.vote("v3", 2))
	if err := h.n.c.CommitBlock(context.Background(), blk, h.commitBy(blk, "v0", "v1", "v3")); err == nil {
		t.Fatal("block H+2 committed with a removed validator's signature")
	}
	cm = h.commitBy(blk, "v0", "v1", "v2")
	if err := h.n.c.CommitBlock(context.Background(), blk, cm); err != nil {
		t.Fatal(err)
	}
	h.last = cm
	rs, _ = h.n.c.Receipts(H + 2)
	wantFail(t, rs[0], errTextNotValidator)
	// The proposal of the removed validator stays open, but its vote no longer counts:
	// v1 and v2 with it would be 30 of 40 before, are 20 of 30 now, and v0's makes 30.
	rs = h.block(h.vote("v1", 2), h.vote("v2", 2))
	if slices.Contains(topics(rs[1]), TopicValidatorPassed) {
		t.Fatal("the removed proposer's vote was counted")
	}
	rs = h.block(h.vote("v0", 2))
	if !slices.Contains(topics(rs[0]), TopicValidatorPassed) {
		t.Fatalf("events %v", topics(rs[0]))
	}
	h.block()
	h.block()
	if vs := h.set(h.height()); vs.Len() != 3 || vs.Power(addrOf("v0")) != 11 {
		t.Fatalf("final set %s", names(vs, h))
	}
	h.checkHistory()
}

// TestValidatorRules: every refusal leaves a failed receipt, no events and no change.
func TestValidatorRules(t *testing.T) {
	t.Run("non-validator", func(t *testing.T) {
		h := newValHarness(t, "", []string{"v0", "v1", "v2", "v3"}, nil)
		wantFail(t, h.block(h.propose("alice", addChange("v4", 1)))[0], errTextNotValidator)
		wantOK(t, h.block(h.propose("v0", addChange("v4", 1)))[0])
		wantFail(t, h.block(h.vote("v5", 1))[0], errTextNotValidator)
		if ps := h.open(); len(ps) != 1 || len(ps[0].Voters) != 1 {
			t.Fatalf("open %+v", ps)
		}
	})
	t.Run("duplicate vote", func(t *testing.T) {
		h := newValHarness(t, "", []string{"v0", "v1", "v2", "v3"}, nil)
		wantOK(t, h.block(h.propose("v0", addChange("v4", 1)))[0])
		wantFail(t, h.block(h.vote("v0", 1))[0], errTextAlreadyVoted)
		wantOK(t, h.block(h.vote("v1", 1))[0])
		wantFail(t, h.block(h.vote("v1", 1))[0], errTextAlreadyVoted)
		wantFail(t, h.block(h.propose("v2", addChange("v4", 1)))[0], errTextDuplicate)
		wantFail(t, h.block(h.vote("v2", 9))[0], errTextNoProposal)
	})
	t.Run("empty set", func(t *testing.T) {
		h := newValHarness(t, "", []string{"v0"}, nil)
		// One validator: its proposal passes at once, and would empty the set.
		wantFail(t, h.block(h.propose("v0", types.ValidatorChange{Op: types.ValidatorRemove, Address: addrOf("v0")}))[0], errTextEmptySet)
		if len(h.open()) != 0 || h.set(h.height()+2).Len() != 1 {
			t.Fatal("refused proposal changed the state")
		}
	})
	t.Run("more than a third", func(t *testing.T) {
		h := newValHarness(t, "", []string{"v0", "v1", "v2", "v3"}, nil)
		wantFail(t, h.block(h.propose("v0", addChange("v4", 14)))[0], errTextMovesTooMuch)
		wantFail(t, h.block(h.propose("v0", types.ValidatorChange{Op: types.ValidatorPower, Address: addrOf("v1"), Power: 24}))[0], errTextMovesTooMuch)
		wantOK(t, h.block(h.propose("v0", addChange("v4", 13)))[0]) // 13 ≤ 40/3
		wantFail(t, h.block(h.propose("v0", types.ValidatorChange{Op: types.ValidatorRemove, Address: addrOf("v5")}))[0], errTextNotMember)
		wantFail(t, h.block(h.propose("v0", addChange("v1", 5)))[0], errTextAlreadyMember)
		wantFail(t, h.block(h.propose("v0", types.ValidatorChange{Op: types.ValidatorPower, Address: addrOf("v1"), Power: 10}))[0], errTextPowerUnchanged)
	})
	t.Run("two passes in one block move too much", func(t *testing.T) {
		// Each change moves 1/3 of the power; the second to pass in the same block
		// would make 2/3 between the sets of H+1 and H+2 and is refused.
		h := newValHarness(t, "", []string{"v0", "v1", "v2"}, nil)
		rs := h.block(h.propose("v0", types.ValidatorChange{Op: types.ValidatorRemove, Address: addrOf("v2")}),
			h.propose("v1", addChange("v3", 10)))
		wantOK(t, rs[0])
		wantOK(t, rs[1])
		rs = h.block(h.vote("v1", 1), h.vote("v2", 1), h.vote("v0", 2), h.vote("v2", 2))
		wantOK(t, rs[0])
		wantOK(t, rs[1])
		wantOK(t, rs[2])
		wantFail(t, rs[3], errTextMovesTooMuch)
		H := h.height()
		if got := names(h.set(H+2), h); got != names(mustSet(t, "v0", "v1"), h) {
			t.Fatalf("set of H+2: %s", got)
		}
		// Once the first change is in force, v2 is no longer a validator.
		h.block()
		h.block()
		wantFail(t, h.block(h.vote("v2", 2))[0], errTextNotValidator)
		wantFail(t, h.block(h.vote("v0", 2))[0], errTextAlreadyVoted)
		h.checkHistory()
	})
	t.Run("too many open", func(t *testing.T) {
		h := newValHarness(t, "", []string{"v0", "v1", "v2", "v3"}, nil)
		var txs []*types.Tx
		for p := uint64(1); p <= MaxOpenProposals+1; p++ {
			txs = append(txs, h.propose("v0", addChange("v4", p)))
		}
		rs := h.block(txs...)
		for _, r := range rs[:MaxOpenProposals] {
			wantOK(t, r)
		}
		wantFail(t, rs[MaxOpenProposals], errTextTooManyOpen)
		wantOK(t, h.block(h.propose("v1", addChange("v4", 9)))[0])
	})
	t.Run("expiry", func(t *testing.T) {
		h := newValHarness(t, "", []string{"v0", "v1", "v2", "v3"}, func(g *genesis.Genesis) { g.Params.ValidatorProposalBlocks = 3 })
		wantOK(t, h.block(h.propose("v0", addChange("v4", 1)))[0]) // at 1, last height 3
		wantOK(t, h.block(h.propose("v0", addChange("v5", 1)))[0]) // at 2, last height 4
		h.block()
		if len(h.open()) != 1 || h.open()[0].ID != 2 {
			t.Fatalf("open at height 3: %+v", h.open())
		}
		wantFail(t, h.block(h.vote("v1", 1))[0], errTextNoProposal) // height 4
		rs := h.block(h.vote("v1", 2), h.vote("v2", 2))             // height 5: expired
		wantFail(t, rs[0], errTextNoProposal)
		wantFail(t, rs[1], errTextNoProposal)
		// A failed tx changes nothing; the next validator tx that succeeds deletes the
		// expired proposals from the state.
		if b, _, _ := h.n.c.Storage(types.ValidatorsAccount, proposalKey(1), LatestHeight); b == nil {
			t.Fatal("expired proposal deleted by a failed tx")
		}
		wantOK(t, h.block(h.propose("v3", addChange("v5", 2)))[0])
		for id := uint64(1); id <= 2; id++ {
			if b, _, _ := h.n.c.Storage(types.ValidatorsAccount, proposalKey(id), LatestHeight); b != nil {
				t.Fatalf("expired proposal %d still stored", id)
			}
		}
		if ps := h.open(); len(ps) != 1 || ps[0].ID != 3 {
			t.Fatalf("open %+v", ps)
		}
	})
}

func mustSet(t *testing.T, names ...string) *types.ValidatorSet {
	t.Helper()
	var vals []types.Validator
	for _, n := range names {
		k := testKey(n)
		v, err := types.NewValidator(crypto.CompressPubkey(&k.PublicKey), 10)
		if err != nil {
			t.Fatal(err)
		}
		vals = append(vals, v)
	}
	vs, err := types.NewValidatorSet(vals)
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

// TestValidatorSetReopen: a chain reopened at any height across a switch recovers the
// sets of head, head+1 and head+2 and goes on.
func TestValidatorSetReopen(t *testing.T) {
	dir := t.TempDir()
	h := newValHarness(t, dir, []string{"v0", "v1", "v2"}, nil)
	h.block(h.propose("v0", addChange("v3", 10)))
	h.block(h.vote("v1", 1), h.vote("v2", 1))
	H := h.height()
	for range 3 {
		want := [3]*types.ValidatorSet{h.set(h.height()), h.set(h.height() + 1), h.set(h.height() + 2)}
		h.n.close()
		h.n = openNode(t, dir, newVM(t, 0), h.n.c.Genesis(), Options{})
		for i, vs := range want {
			if got := h.set(h.height() + uint64(i)); got.Hash() != vs.Hash() {
				t.Fatalf("after reopen at %d (switch at %d): set of head+%d differs", h.height(), H+2, i)
			}
		}
		h.block()
	}
	h.checkHistory()

	// A store without history (as state sync leaves it) gets it back from the state's
	// sets on opening.
	want := [3]*types.ValidatorSet{h.set(h.height()), h.set(h.height() + 1), h.set(h.height() + 2)}
	if err := h.n.db.DeleteRange(heightKey(tagValidators, 0), heightKey(tagValidators, ^uint64(0)), nil); err != nil {
		t.Fatal(err)
	}
	h.n.close()
	h.n = openNode(t, dir, newVM(t, 0), h.n.c.Genesis(), Options{})
	for i, vs := range want {
		if got := h.set(h.height() + uint64(i)); got.Hash() != vs.Hash() {
			t.Fatalf("set of head+%d differs after the history was rebuilt", i)
		}
	}
	h.block()
	h.checkHistory()
}

func TestMovedPower(t *testing.T) {
	a := mustSet(t, "v0", "v1", "v2")
	b := mustSet(t, "v0", "v1", "v3")
	if got := MovedPower(a, b); got != 20 {
		t.Fatalf("moved %d, want 20", got)
	}
	if got := MovedPower(a, a); got != 0 {
		t.Fatalf("moved %d, want 0", got)
	}
}

// TestValidatorReaddedVotesAgain: a validator's votes on open proposals do not survive
// its removal: re-added, it starts with no votes and must vote again. Otherwise a vote
// cast before it left (possibly with a key it left for) would count again with
// whatever power it comes back with.
func TestValidatorReaddedVotesAgain(t *testing.T) {
	h := newValHarness(t, "", []string{"v0", "v1", "v2", "v3"}, nil)
	// Proposal 1, voted by v1 and v3: 20 of 40.
	wantOK(t, h.block(h.propose("v1", types.ValidatorChange{Op: types.ValidatorPower, Address: addrOf("v0"), Power: 11}))[0])
	wantOK(t, h.block(h.vote("v3", 1))[0])
	// v3 is removed (proposal 2), then added back (proposal 3) with the same key.
	wantOK(t, h.block(h.propose("v0", types.ValidatorChange{Op: types.ValidatorRemove, Address: addrOf("v3")}))[0])
	rs := h.block(h.vote("v1", 2), h.vote("v2", 2))
	if !slices.Contains(topics(rs[1]), TopicValidatorPassed) {
		t.Fatalf("removal did not pass: %v", topics(rs[1]))
	}
	h.block()
	h.block()
	if _, ok := h.set(h.height()).Index(addrOf("v3")); ok {
		t.Fatal("v3 still a validator")
	}
	wantOK(t, h.block(h.propose("v0", addChange("v3", 10)))[0])
	rs = h.block(h.vote("v1", 3), h.vote("v2", 3))
	if !slices.Contains(topics(rs[1]), TopicValidatorPassed) {
		t.Fatalf("re-add did not pass: %v", topics(rs[1]))
	}
	h.block()
	h.block()
	if _, ok := h.set(h.height()).Index(addrOf("v3")); !ok {
		t.Fatal("v3 not back")
	}
	ps := h.open()
	if len(ps) != 1 || ps[0].ID != 1 || slices.Contains(ps[0].Voters, addrOf("v3")) {
		t.Fatalf("open proposals after the re-add: %+v", ps)
	}
	// v2's vote makes 20 of 40 (v1, v2): v3's vote from before its removal no longer counts.
	rs = h.block(h.vote("v2", 1))
	wantOK(t, rs[0])
	if slices.Contains(topics(rs[0]), TopicValidatorPassed) {
		t.Fatal("a vote cast before the voter was removed counted after it was re-added")
	}
	// v3 votes again, now as a member of the current set: 30 of 40 passes.
	rs = h.block(h.vote("v3", 1))
	wantOK(t, rs[0])
	if !slices.Contains(topics(rs[0]), TopicValidatorPassed) {
		t.Fatalf("events %v", topics(rs[0]))
	}
	h.checkHistory()
}

// newLargeSetHarness starts a chain whose genesis adds MaxValidators validators
// ("big0", "big1", ...) to the harness's own, and returns it with their names.
func newLargeSetHarness(tb testing.TB) (*valHarness, []string) {
	var names []string
	for i := range types.MaxValidators {
		names = append(names, fmt.Sprintf("big%d", i))
	}
	h := newValHarness(tb, "", nil, func(g *genesis.Genesis) {
		for _, name := range names {
			k := testKey(name)
			g.Validators = append(g.Validators, genesis.Validator{
				Address: crypto.PubkeyToAddress(k.PublicKey), PubKey: crypto.CompressPubkey(&k.PublicKey), Power: 10, Name: name,
			})
		}
	})
	return h, names
}

// TestValidatorTxCostOfALargeSet: a validator tx reads the stored sets of the state;
// with the largest set (MaxValidators) decoding them for every tx cost about 250 µs and
// a thousand allocations, where its intrinsic gas pays for a transfer's few µs: any
// funded account could fill blocks with failing votes at a hundred times the work their
// gas pays for. Sets already decoded are found by their stored bytes, so the cost does
// not grow with the set.
func TestValidatorTxCostOfALargeSet(t *testing.T) {
	h, _ := newLargeSetHarness(t)
	view, err := h.n.st.Reader(0)
	if err != nil {
		t.Fatal(err)
	}
	sdb := state.NewStateDB(view)
	vote := (&types.ValidatorVote{ProposalID: 1}).Encode()
	run := func() {
		_, failure, fault := h.n.c.valTx(sdb, 1, types.TxValidatorVote, addrOf("alice"), vote)
		if fault != nil || failure == nil || failure.Error() != errTextNotValidator {
			t.Fatalf("vote of a non-validator: failure %v, fault %v", failure, fault)
		}
	}
	run()
	if allocs := testing.AllocsPerRun(20, run); allocs > 50 {
		t.Fatalf("a validator tx against a set of %d allocates %.0f times", types.MaxValidators, allocs)
	}
}

// TestValidatorHistoryCache: looking sets up in the history returns the decoded set
// kept for its entry (the same value) for the maxHistorySets used last, however many
// other sets were looked up before; concurrent lookups of one set decode it once; a
// reopened store gives the same sets.
func TestValidatorHistoryCache(t *testing.T) {
	dir := t.TempDir()
	h := newValHarness(t, dir, []string{"v0", "v1", "v2", "v3"}, nil)
	// maxHistorySets+1 changes, one per block: v0's power goes 11, 10, 11, …
	const changes = maxHistorySets + 1
	var effective []uint64
	for i := range changes {
		id := uint64(i + 1)
		power := uint64(11 - i%2)
		rs := h.block(h.propose("v1", types.ValidatorChange{Op: types.ValidatorPower, Address: addrOf("v0"), Power: power}),
			h.vote("v2", id), h.vote("v3", id))
		if !slices.Contains(topics(rs[2]), TopicValidatorPassed) {
			t.Fatalf("change %d did not pass: %v", id, topics(rs[2]))
		}
		effective = append(effective, h.height()+ValidatorSwitchDelay)
	}
	h.block()
	h.block()
	h.block()
	c := h.n.c
	lookup := func(height uint64) *types.ValidatorSet {
		t.Helper()
		vs, err := h.n.c.ValidatorsAt(height)
		if err != nil {
			t.Fatal(err)
		}
		return vs
	}
	// Every set once (more than the cache holds), then the newest maxHistorySets again:
	// each is the value kept, not a new decoding.
	first := map[uint64]*types.ValidatorSet{}
	for _, e := range effective {
		first[e] = lookup(e)
	}
	for _, e := range effective[1:] {
		if lookup(e) != first[e] {
			t.Fatalf("set of %d decoded again after %d other lookups (cache of %d)", e, changes-1, maxHistorySets)
		}
	}
	if lookup(effective[0]) == first[effective[0]] {
		t.Fatalf("the least recently used set was kept beyond the bound of %d", maxHistorySets)
	}
	// Concurrent lookups of a set not kept decode it once.
	e := effective[1]
	const n = 8
	got := make([]*types.ValidatorSet, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i], _ = c.ValidatorsAt(e) })
	}
	wg.Wait()
	for i := range got {
		if got[i] == nil || got[i] != got[0] {
			t.Fatalf("concurrent lookups of set %d got distinct values", e)
		}
	}
	h.checkHistory()
	// Reopened, the store gives the same sets.
	hashes := map[uint64]types.Hash{}
	for _, e := range effective {
		hashes[e] = lookup(e).Hash()
	}
	h.n.close()
	h.n = openNode(t, dir, newVM(t, 0), h.n.c.Genesis(), Options{})
	for _, e := range effective {
		if got := lookup(e).Hash(); got != hashes[e] {
			t.Fatalf("set of %d after reopening: %s, was %s", e, got, hashes[e])
		}
	}
}

// BenchmarkValidatorsAtHistory: the set of a past height with MaxValidators members.
// "kept" finds it decoded; "decoded" drops it from the cache first (a lookup of more
// past sets than the cache keeps).
func BenchmarkValidatorsAtHistory(b *testing.B) {
	h, names := newLargeSetHarness(b)
	for _, name := range names {
		h.keys[addrOf(name)] = name
	}
	h.block()
	h.block()
	c := h.n.c
	lookup := func() {
		if vs, err := c.ValidatorsAt(0); err != nil || vs.Len() != types.MaxValidators {
			b.Fatal(vs, err)
		}
	}
	b.Run("kept", func(b *testing.B) {
		lookup()
		b.ReportAllocs()
		for b.Loop() {
			lookup()
		}
	})
	b.Run("decoded", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c.sets.forgetHistory(0)
			lookup()
		}
	})
}

// TestValidatorProposalsPaged: proposals of a validator removed since stay open until
// they expire, so the open list can exceed MaxOpenProposals per validator of the set;
// ValidatorProposals answers it in pages of at most max, by id.
func TestValidatorProposalsPaged(t *testing.T) {
	h := newValHarness(t, "", []string{"v0", "v1", "v2", "v3"}, nil)
	var txs []*types.Tx
	for p := uint64(1); p <= MaxOpenProposals; p++ {
		txs = append(txs, h.propose("v3", addChange("v4", p)))
	}
	h.block(txs...)
	id := uint64(MaxOpenProposals + 1)
	rs := h.block(h.propose("v0", types.ValidatorChange{Op: types.ValidatorRemove, Address: addrOf("v3")}), h.vote("v1", id), h.vote("v2", id))
	if !slices.Contains(topics(rs[2]), TopicValidatorPassed) {
		t.Fatalf("removal did not pass: %v", topics(rs[2]))
	}
	h.block()
	h.block()
	txs = nil
	for p := uint64(1); p <= MaxOpenProposals; p++ {
		txs = append(txs, h.propose("v0", addChange("v4", MaxOpenProposals+p)),
			h.propose("v1", addChange("v5", p)), h.propose("v2", addChange("v5", MaxOpenProposals+p)))
	}
	for _, r := range h.block(txs...) {
		wantOK(t, r)
	}
	all := h.open()
	members := h.set(h.height() + 1).Len()
	if want := MaxOpenProposals * (members + 1); len(all) != want || len(all) <= MaxOpenProposals*members {
		t.Fatalf("%d open proposals with %d validators, want %d", len(all), members, want)
	}
	var paged []*ValidatorProposal
	after := uint64(0)
	for {
		page, err := h.n.c.ValidatorProposals(after, 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 5 {
			t.Fatalf("page of %d, max 5", len(page))
		}
		paged = append(paged, page...)
		if len(page) < 5 {
			break
		}
		after = page[len(page)-1].ID
	}
	if len(paged) != len(all) {
		t.Fatalf("pages hold %d proposals, the list %d", len(paged), len(all))
	}
	for i := range all {
		if paged[i].ID != all[i].ID || (i > 0 && all[i].ID <= all[i-1].ID) {
			t.Fatalf("proposal %d: paged id %d, listed %d", i, paged[i].ID, all[i].ID)
		}
	}
	if ps, err := h.n.c.ValidatorProposals(^uint64(0), 5); err != nil || len(ps) != 0 {
		t.Fatalf("after the greatest id: %v %v", ps, err)
	}
	if _, err := h.n.c.ValidatorProposals(0, 0); err == nil {
		t.Fatal("max 0 accepted")
	}
}
