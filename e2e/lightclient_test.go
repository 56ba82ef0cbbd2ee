package e2e

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"

	"github.com/wnode/wnode/client"
	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/internal/testutil"
	"github.com/wnode/wnode/node"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
)

// TestVerifyAfterSetChange: the dev validator changes its own power by vote, so the set
// that signs the chain is no longer the genesis set; `--verify` and `wnode verify` still
// verify answers against the genesis file (the light client follows the change), while
// a verifier pinned to the genesis set's hash refuses them.
func TestVerifyAfterSetChange(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, dir, "--dev")
	env := []string{"WNODE_RPC=" + n.url()}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := client.Dial(ctx, n.url())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	key, err := node.DataDir(dir).LoadNodeKey()
	if err != nil {
		t.Fatal(err)
	}
	val := crypto.PubkeyToAddress(key.PublicKey)
	gen := filepath.Join(dir, "genesis.json")
	g, err := genesis.Load(gen)
	if err != nil {
		t.Fatal(err)
	}
	genSet, err := g.ValidatorSet()
	if err != nil {
		t.Fatal(err)
	}

	// Fund the validator, which then proposes its own power change (it alone is more than
	// 2/3 of the power: it passes at once and takes effect two heights later).
	if _, r, err := c.Transact(ctx, genesis.DevKey(), &client.TxRequest{Kind: types.TxTransfer, To: val, Value: uint256.NewInt(1e18)}); err != nil || r.Status != 1 {
		t.Fatalf("fund the validator: %+v %v", r, err)
	}
	change := &types.ValidatorChange{Op: types.ValidatorPower, Address: val, Power: 13}
	if _, r, err := c.Transact(ctx, key, &client.TxRequest{Kind: types.TxValidatorPropose, Args: change.Encode(), GasLimit: 1_000_000}); err != nil || r.Status != 1 {
		t.Fatalf("propose: %+v %v", r, err)
	}
	testutil.WaitFor(t, 30*time.Second, "the new set to sign", func() bool {
		vs, err := c.Validators(ctx, rpctypes.LatestBlock)
		return err == nil && vs.Hash != genSet.Hash() && len(vs.Validators) == 1 && vs.Validators[0].Power == 13
	})

	hello := ok(t, env, "deploy", "../examples/hello/hello.wasm")
	saved := filepath.Join(t.TempDir(), "hello.json")
	if out := ok(t, env, "call", "--verify", "--genesis", gen, "--save", saved, hello, "hello", "set"); out != "hello, set" {
		t.Errorf("call --verify printed %q", out)
	}
	if out := ok(t, env, "account", "--verify", "--genesis", gen, val.Hex()); out == "" {
		t.Error("account --verify printed nothing")
	}
	// Offline, with no trust store: the genesis set's validator signed the new set's
	// blocks, so the bundle is reached from the genesis directly.
	if out := ok(t, nil, "verify", "--genesis", gen, "--trust-store", "off", saved); out != "hello, set" {
		t.Errorf("verify printed %q", out)
	}
	fails(t, nil, 1, "validator set mismatch", "verify", "--validators-hash", genSet.Hash().Hex(), saved)
}
