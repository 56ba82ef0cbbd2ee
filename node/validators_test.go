package node_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/holiman/uint256"

	"github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/client"
	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/internal/testutil"
	"github.com/wnode/wnode/node"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
)

// TestValidatorChangeOverRPC: on a dev node, its validator (the node key) adds a second
// validator by a transaction; the receipt carries the proposal's events, the events
// subscription sends them and "validator/applied" at the switch height, and
// wn_getValidators answers each height's set.
func TestValidatorChangeOverRPC(t *testing.T) {
	dir := t.TempDir()
	n, c := startDev(t, dir)
	defer stop(t, n, c)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := os.ReadFile(filepath.Join(dir, node.NodeKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	key, err := crypto.HexToECDSA(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	// The validator pays for its votes.
	if _, r, err := c.Transact(ctx, genesis.DevKey(), &client.TxRequest{Kind: types.TxTransfer, To: n.Address(), Value: uint256.NewInt(1e15)}); err != nil || uint64(r.Status) != types.ReceiptSuccess {
		t.Fatalf("fund the validator: %v %+v", err, r)
	}
	ws, err := client.Dial(ctx, "ws://"+n.RPCAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	events := make(chan *rpctypes.EventNotification, 16)
	sub, err := ws.SubscribeEvents(ctx, rpctypes.EventFilter{Contracts: []types.Address{types.ValidatorsAccount}}, events)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()

	newcomer := testutil.Key(t)
	ch := &types.ValidatorChange{Op: types.ValidatorAdd, Address: testutil.Addr(newcomer), PubKey: crypto.CompressPubkey(&newcomer.PublicKey), Power: 3}
	// A change of more than 1/3 is refused with the chain's reason.
	tooBig := *ch
	tooBig.Power = 4
	_, r, err := c.Transact(ctx, key, &client.TxRequest{Kind: types.TxValidatorPropose, Args: tooBig.Encode()})
	if err != nil || uint64(r.Status) != types.ReceiptFailed || r.Error != "the change would move more than 1/3 of the voting power" {
		t.Fatalf("too big a change: %v %+v", err, r)
	}
	_, r, err = c.Transact(ctx, key, &client.TxRequest{Kind: types.TxValidatorPropose, Args: ch.Encode()})
	if err != nil || uint64(r.Status) != types.ReceiptSuccess {
		t.Fatalf("propose: %v %+v", err, r)
	}
	var topics []string
	for _, e := range r.Events {
		topics = append(topics, string(e.Topic))
	}
	if !slices.Equal(topics, []string{chain.TopicValidatorProposed, chain.TopicValidatorVoted, chain.TopicValidatorPassed}) {
		t.Fatalf("receipt events %v", topics)
	}
	var passed struct {
		ID, Effective uint64
		Hash          types.Hash
	}
	if err := rlp.DecodeBytes(r.Events[2].Data, &passed); err != nil || passed.Effective != uint64(r.Height)+2 {
		t.Fatalf("passed %+v at %d: %v", passed, uint64(r.Height), err)
	}
	if ps, err := c.ValidatorProposals(ctx); err != nil || ps == nil || len(ps) != 0 {
		t.Fatalf("proposals after the pass: %v %v", ps, err)
	}

	// The subscription sends the three events, then the switch.
	var got []string
	for len(got) < 4 {
		select {
		case e := <-events:
			got = append(got, string(e.Topic))
			if string(e.Topic) == rpctypes.TopicValidatorApplied {
				if uint64(e.Height) != passed.Effective || e.TxHash != (types.Hash{}) {
					t.Fatalf("applied at %d (tx %s), want %d", uint64(e.Height), e.TxHash, passed.Effective)
				}
			}
		case err := <-sub.Err():
			t.Fatal(err)
		case <-ctx.Done():
			t.Fatalf("events so far %v", got)
		}
	}
	if !slices.Equal(got, []string{chain.TopicValidatorProposed, chain.TopicValidatorVoted, chain.TopicValidatorPassed, rpctypes.TopicValidatorApplied}) {
		t.Fatalf("subscription events %v", got)
	}

	// Height 0: the genesis header names the genesis set (it has no commit, but a set).
	gen, err := c.Validators(ctx, 0)
	if err != nil || uint64(gen.Height) != 0 || len(gen.Validators) != 1 || gen.Validators[0].Address != n.Address() {
		t.Fatalf("set of height 0: %+v %v", gen, err)
	}
	hdr0, err := n.Chain().HeaderByNumber(0)
	if err != nil {
		t.Fatal(err)
	}
	if gen.Hash != hdr0.ValidatorsHash {
		t.Fatalf("set of height 0 hashes to %s, the genesis header names %s", gen.Hash, hdr0.ValidatorsHash)
	}
	before, err := c.Validators(ctx, rpctypes.BlockNumber(passed.Effective-1))
	if err != nil || len(before.Validators) != 1 {
		t.Fatalf("set before the switch: %+v %v", before, err)
	}
	testutil.WaitFor(t, 30*time.Second, "the block after the switch", func() bool { return n.Chain().Head().Height > passed.Effective })
	after, err := c.Validators(ctx, rpctypes.BlockNumber(passed.Effective))
	if err != nil || len(after.Validators) != 2 || after.Hash != passed.Hash {
		t.Fatalf("set at the switch: %+v %v", after, err)
	}
	if _, err := c.Validators(ctx, rpctypes.BlockNumber(n.Chain().Head().Height+100)); err == nil {
		t.Fatal("a set far above the head was answered")
	}
}
