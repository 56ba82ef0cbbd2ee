package network

import (
	"bytes"
	"errors"
	"testing"

	"github.com/holiman/uint256"

	"github.com/wnode/wnode/app"
	"github.com/wnode/wnode/consensus"
	"github.com/wnode/wnode/internal/testutil"
	"github.com/wnode/wnode/p2p"
	"github.com/wnode/wnode/types"
)

// FuzzCheckConsensus feeds arbitrary gossip to the consensus topic's check: it never
// panics, and what it accepts is a canonical encoding of a message that verifies
// against the validator set.
func FuzzCheckConsensus(f *testing.F) {
	tc := testutil.NewTestChain(f, 4, 0)
	h, _ := testHandler(f, tc, 3)
	hash := types.Hash{5}
	p := &types.Proposal{Height: 4, POLRound: -1, BlockHash: hash, Block: []byte("b"), Proposer: h.chain.Validators().Proposer(4, 0).Address}
	for _, k := range tc.Vals {
		if testutil.Addr(k) == p.Proposer {
			if err := p.Sign(testutil.ChainID, k); err != nil {
				f.Fatal(err)
			}
		}
	}
	for _, m := range []*consensus.Message{
		{Vote: testutil.SignVote(f, tc.Vals[0], types.PrevoteType, 4, 0, hash)},
		{Vote: testutil.SignVote(f, tc.Vals[1], types.PrecommitType, 5, 2, types.Hash{}), Resend: 99},
		{Proposal: p},
		{Commit: testutil.Certify(f, 4, 0, hash, tc.Vals[0], tc.Vals[1], tc.Vals[2])},
	} {
		f.Add(testutil.EncodeMsg(f, m))
	}
	f.Add([]byte{})
	f.Add([]byte{0xc2, 0x02, 0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := h.CheckConsensus(data)
		if err != nil {
			return
		}
		m := v.(*consensus.Message)
		if b, err := consensus.EncodeMessage(m); err != nil || !bytes.Equal(b, data) {
			t.Fatalf("accepted a non-canonical message: %v", err)
		}
		if err := consensus.VerifyMessage(testutil.ChainID, h.chain.Validators(), m); err != nil {
			t.Fatalf("accepted a message that does not verify: %v", err)
		}
	})
}

// FuzzCheckTx feeds arbitrary gossip to the transaction topic's check: it never panics,
// what it accepts is in the pool, and a batch it rejects outright changes nothing.
func FuzzCheckTx(f *testing.F) {
	tc := testutil.NewTestChain(f, 1, 1)
	c := testutil.MemChain(f, tc.Gen)
	pool := testutil.NewPool(tc.Gen, app.Accounts{Chain: c})
	h := &handler{chain: c, pool: pool, chainID: testutil.ChainID, genesisHash: tc.Gen.Hash(),
		stats: &stats{}}
	var seeds []*types.Tx
	for i, kind := range []types.TxKind{types.TxTransfer, types.TxInvoke, types.TxDeploy} {
		tx := &types.Tx{Nonce: uint64(i), GasLimit: 200_000, Kind: kind, Value: uint256.NewInt(1)}
		switch kind {
		case types.TxTransfer:
			tx.To = types.Address{1}
		case types.TxInvoke:
			tx.To, tx.Method, tx.Args, tx.Value = types.Address{2}, "run", []byte("args"), nil
		case types.TxDeploy:
			tx.Code, tx.Value = []byte("\x00asm\x01\x00\x00\x00"), nil
		}
		stx := testutil.SignTx(f, tc.Accounts[0], tx)
		seeds = append(seeds, stx)
		f.Add(stx.Encode())
	}
	f.Add([]byte{0xc0})
	f.Add(types.EncodeTxs(seeds))
	f.Fuzz(func(t *testing.T, data []byte) {
		before := pool.Len()
		v, err := h.CheckTx(testPeer, data)
		switch {
		case err == nil:
			txs := v.([]*types.Tx)
			if len(txs) == 0 {
				t.Fatal("accepted a batch without adding a tx")
			}
			for _, tx := range txs {
				if !bytes.Contains(data, tx.Encode()) || !pool.Has(tx.Hash()) {
					t.Fatal("accepted a tx that is not in the pool as gossiped")
				}
			}
		case !errors.Is(err, p2p.ErrIgnore):
			if pool.Len() != before {
				t.Fatalf("rejected a batch (%v) but the pool changed", err)
			}
		}
	})
}
