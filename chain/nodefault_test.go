package chain

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm"
)

// TestCompileFailureAbandonsBlock: a node that cannot compile valid code (its on-disk
// compile cache is broken) must not turn that into a failed receipt, which would give it
// other roots than every other node: validation, block building and gas estimation fail
// with vm.ErrInternal (not types.ErrInvalidBlock, not ErrExecution) and change nothing.
func TestCompileFailureAbandonsBlock(t *testing.T) {
	ctx := context.Background()
	leader := openNode(t, "", newVM(t, vm.EngineCompiler), testGenesis(nil), Options{})
	defer leader.close()

	dir := filepath.Join(t.TempDir(), "cache")
	broken, err := vm.New(ctx, vm.Config{CacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer broken.Close(ctx)
	follower := openNode(t, "", broken, testGenesis(nil), Options{})
	defer follower.close()
	// The cache folder becomes a file: every compilation fails to write its cache entry.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}

	deploy := signTx(t, "alice", &types.Tx{Kind: types.TxDeploy, Code: readContract(t, "counter"), GasLimit: workloadGas})
	b1, c1 := produce(t, leader, []*types.Tx{deploy}, nil)
	internal := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, vm.ErrInternal) || errors.Is(err, types.ErrInvalidBlock) || errors.Is(err, ErrExecution) {
			t.Fatalf("%s: %v, want vm.ErrInternal only", what, err)
		}
	}
	internal("ValidateBlock", follower.c.ValidateBlock(ctx, b1))
	internal("CommitBlock", follower.c.CommitBlock(ctx, b1, c1))

	other := signTx(t, "alice", &types.Tx{Kind: types.TxDeploy, Code: readContract(t, "token"), GasLimit: workloadGas})
	_, err = follower.c.BuildBlock(ctx, []*types.Tx{other}, 0, addrOf("v0"), nil)
	internal("BuildBlock", err)

	_, err = follower.c.EstimateGas(ctx, CallMsg{From: addrOf("bob"), Code: readContract(t, "kv1")}, LatestHeight)
	internal("EstimateGas", err)

	if h, _ := follower.st.Latest(); h != 0 || follower.c.Head().Height != 0 {
		t.Fatalf("follower state moved to %d", h)
	}
}
