package network

import (
	"context"
	"crypto/ecdsa"
	"testing"

	"github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/internal/testutil"
	"github.com/wnode/wnode/types"
)

// commitTestBlocks commits count empty blocks on c, certified by every key of vals,
// without consensus (for tests of the handler).
func commitTestBlocks(t testing.TB, c *chain.Chain, vals []*ecdsa.PrivateKey, count int) {
	t.Helper()
	for range count {
		commitTestBlockTxs(t, c, vals)
	}
}

// commitTestBlockTxs commits the next block of txs (all must be included) on c,
// certified by every key of vals.
func commitTestBlockTxs(t testing.TB, c *chain.Chain, vals []*ecdsa.PrivateKey, txs ...*types.Tx) {
	t.Helper()
	ctx := context.Background()
	head := c.Head()
	var last *types.Commit
	if head.Height > 0 {
		var err error
		if last, err = c.CommitAt(head.Height); err != nil {
			t.Fatal(err)
		}
	}
	b, err := c.BuildBlock(ctx, txs, head.Time+1000, testutil.Addr(vals[0]), last)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Txs) != len(txs) {
		t.Fatalf("block %d took %d of %d txs", b.Height(), len(b.Txs), len(txs))
	}
	if err := c.CommitBlock(ctx, b, testutil.Certify(t, b.Height(), 0, b.Hash(), vals...)); err != nil {
		t.Fatal(err)
	}
}
