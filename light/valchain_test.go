package light_test

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/light"
	"github.com/wnode/wnode/types"
)

// chainSource serves a real chain's certificates, counting the fetches.
type chainSource struct {
	t       testing.TB
	tc      *testChain
	fetched []uint64
}

func (s *chainSource) Certificate(_ context.Context, h uint64) (*light.Certificate, error) {
	s.fetched = append(s.fetched, h)
	c := s.tc.cert(s.t, h)
	return &c, nil
}

// change passes a validator set change on tc by vote: proposed by the first member of
// the current set, voted by the next until more than 2/3 of the power is for it, then
// blocks until the new set signs.
func (tc *testChain) change(t testing.TB, ch types.ValidatorChange, nextID *uint64) {
	t.Helper()
	vs, err := tc.c.ValidatorsAt(tc.c.Head().Height + 1)
	if err != nil {
		t.Fatal(err)
	}
	members := memberNames(vs)
	id := *nextID
	*nextID++
	txs := []*types.Tx{tc.tx(t, members[0], &types.Tx{Kind: types.TxValidatorPropose, Args: ch.Encode(), GasLimit: 1_000_000})}
	power := vs.Power(addrOf(members[0]))
	for _, m := range members[1:] {
		if vs.HasQuorum(power) {
			break
		}
		txs = append(txs, tc.tx(t, m, &types.Tx{Kind: types.TxValidatorVote, Args: (&types.ValidatorVote{ProposalID: id}).Encode(), GasLimit: 1_000_000}))
		power += vs.Power(addrOf(m))
	}
	tc.produce(t, txs)
	passed := tc.c.Head().Height
	for tc.c.Head().Height < passed+chain.ValidatorSwitchDelay {
		tc.produce(t, nil)
	}
}

func addValidator(name string) types.ValidatorChange {
	k := testKey(name)
	return types.ValidatorChange{Op: types.ValidatorAdd, Address: addrOf(name), PubKey: crypto.CompressPubkey(&k.PublicKey), Power: 10}
}

// TestClientOnRealSetChanges runs a real chain (Pebble, wazero) whose validators are
// replaced one at a time by vote until none of the genesis set is left, and follows it
// with the light client from the genesis: every header verifies sequentially across the
// switches, an answer at the head verifies by bisection, and the lies a node could tell
// about the sets are refused.
func TestClientOnRealSetChanges(t *testing.T) {
	g := testGenesis(testChainID)
	for _, n := range keyNames {
		g.Accounts = append(g.Accounts, genesis.Account{Address: addrOf(n), Balance: genesis.AmountOf(1e18)})
	}
	tc := newTestChainOf(t, g)
	nextID := uint64(1)
	var switches []uint64 // first height of each new set
	for i, w := range []string{"w0", "w1", "w2", "w3"} {
		tc.change(t, addValidator(w), &nextID)
		switches = append(switches, tc.c.Head().Height)
		v := testValidators[i]
		tc.change(t, types.ValidatorChange{Op: types.ValidatorRemove, Address: addrOf(v)}, &nextID)
		switches = append(switches, tc.c.Head().Height)
	}
	inc := tc.invoke(t, "alice", "counter", "increment", nil)
	tc.produce(t, []*types.Tx{inc})
	head := tc.c.Head().Height
	final, err := tc.c.ValidatorsAt(head)
	if err != nil {
		t.Fatal(err)
	}
	if got := memberNames(final); len(got) != 4 || got[0] != "w0" {
		t.Fatalf("final set %v", got)
	}
	t.Logf("%d heights, sets switched at %v", head, switches)

	root, err := light.GenesisState(g)
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.UnixMilli(int64(tc.c.Head().Time)).Add(time.Second) }
	ctx := context.Background()

	// Sequentially, every header from the genesis.
	trusted := root
	for h := uint64(1); h <= head; h++ {
		c := tc.cert(t, h)
		lb := decodeCert(t, &c)
		if err := light.VerifyAdjacent(trusted, lb, now(), light.Rules{}); err != nil {
			t.Fatalf("height %d: %v", h, err)
		}
		trusted = &light.TrustedState{ChainID: lb.Header.ChainID, Height: h, Time: lb.Header.Time, Header: lb.Header,
			Validators: lb.Validators, NextValidatorsHash: lb.Header.NextValidatorsHash}
	}

	// An answer at the head: the genesis set's verifier refuses it, the client bisects.
	counter := tc.contracts["counter"]
	cb := roundTrip(t, tc.callBundle(t, chain.CallMsg{To: counter, Method: "get"}))
	if _, _, err := tc.verifier(t).VerifyCall(ctx, cb, nil); !errors.Is(err, light.ErrValidators) {
		t.Fatalf("static verifier: %v", err)
	}
	src := &chainSource{t: t, tc: tc}
	lc, err := light.NewClient(root, src, light.ClientOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close(ctx)
	res, info, err := lc.VerifyCall(ctx, cb, nil)
	if err != nil {
		t.Fatal(err)
	}
	if binary.BigEndian.Uint64(res.Output) != 3 || info.Height != head {
		t.Fatalf("counter %x at %d", res.Output, info.Height)
	}
	if len(src.fetched) == 0 || len(src.fetched) > 8 {
		t.Errorf("fetched %v: want a bisection (the genesis set signed none of the head)", src.fetched)
	}
	t.Logf("bisection from the genesis to %d fetched %v", head, src.fetched)
	rb := roundTrip(t, tc.receiptBundle(t, inc.Hash()))
	if _, _, err := lc.VerifyReceipt(ctx, rb, inc.Hash()); err != nil {
		t.Fatal(err)
	}

	// Lies about the sets, from a fresh client at the genesis.
	lie := func(name string, h, from uint64, mod func(c *light.Certificate), want error) {
		t.Helper()
		c := tc.cert(t, h)
		mod(&c)
		fresh, err := light.NewClient(root, &chainSource{t: t, tc: tc}, light.ClientOptions{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		defer fresh.Close(ctx)
		if from > 0 {
			if _, err := fresh.VerifyHeaderAt(ctx, from); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := fresh.VerifyCertificate(ctx, &c); !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", name, err, want)
		}
	}
	removedAt := switches[1] // v0's first height out of the set
	before, err := tc.c.ValidatorsAt(removedAt - 1)
	if err != nil {
		t.Fatal(err)
	}
	// v0 signs the header of its removal height along with the new set.
	lie("removed validator signs", removedAt, 0, func(c *light.Certificate) {
		hdr, _ := types.DecodeHeader(c.Header)
		c.Commit = signCommit(t, hdr.ChainID, hdr.Height, 0, hdr.Hash(), append(memberNames(decodeCert(t, c).Validators), "v0")).Encode()
	}, light.ErrSignature)
	// The node names the old set (v0 still in) as the one that signed after the switch.
	lie("old set claimed after the switch", removedAt, 0, func(c *light.Certificate) {
		old := light.NewCertificate(&types.Header{}, &types.Commit{}, before)
		c.Validators = old.Validators
	}, light.ErrValidators)
	// The old set signs a header of its own at the switch height: the header before it
	// named the new set next. (From further back, the old set's signatures would be
	// enough to skip to it: all of the trusted set signing a fork is beyond what a light
	// client can detect alone, the same as in CometBFT.)
	lie("old set signs a fork after the switch", removedAt, removedAt-1, func(c *light.Certificate) {
		hdr, _ := types.DecodeHeader(c.Header)
		hdr.ValidatorsHash, hdr.StateRoot = before.Hash(), types.Hash{0xf0}
		old := light.NewCertificate(hdr, signCommit(t, hdr.ChainID, hdr.Height, 0, hdr.Hash(), memberNames(before)), before)
		*c = old
	}, light.ErrNextValidators)
}
