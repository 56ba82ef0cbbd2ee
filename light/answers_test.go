package light_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/light"
	"github.com/wnode/wnode/types"
)

// mixedSource serves a generated chain's certificates up to its last height and a real
// chain's above it: a history in which the set of the root (u0-u3) was replaced, a
// quarter at a time, by the real chain's set (v0-v3).
type mixedSource struct {
	t       testing.TB
	g       *genChain
	tc      *testChain
	fetched []uint64
}

func (s *mixedSource) Certificate(_ context.Context, h uint64) (*light.Certificate, error) {
	s.fetched = append(s.fetched, h)
	if h < uint64(len(s.g.certs)) {
		if h == 0 {
			return nil, errors.New("no certificate at 0")
		}
		return s.g.certs[h], nil
	}
	if h > s.tc.c.Head().Height {
		return nil, fmt.Errorf("no header %d", h)
	}
	c := s.tc.cert(s.t, h)
	return &c, nil
}

// TestClientAnswersAfterSetChanges verifies real answers (a call re-executed on its
// witness, an account, a receipt) at heights whose set shares no member with the root's:
// the client bisects through the set changes, fetching headers, and keeps the height so
// that a new client verifies the next answers without fetching.
func TestClientAnswersAfterSetChanges(t *testing.T) {
	tc := newTestChain(t, testChainID)
	for tc.c.Head().Height < 23 {
		tc.produce(t, nil)
	}
	inc := tc.invoke(t, "alice", "counter", "increment", nil)
	tc.produce(t, []*types.Tx{inc}) // height 24

	u := powers{"u0": 10, "u1": 10, "u2": 10, "u3": 10}
	step := func(p powers, out, in string) powers {
		q := powers{}
		for k, v := range p {
			if k != out {
				q[k] = v
			}
		}
		q[in] = 10
		return q
	}
	s1 := step(u, "u0", "v0")
	s2 := step(s1, "u1", "v1")
	s3 := step(s2, "u2", "v2")
	s4 := step(s3, "u3", "v3") // the real chain's set
	// Heights 1-15, each at the time the real chain's block of that height has: the real
	// 16 and later follow them.
	g := newGenChainAt(t, slices.Concat(repeat(4, u), repeat(3, s1), repeat(3, s2), repeat(3, s3), repeat(3, s4)), tc.g.GenesisTime)

	ctx := context.Background()
	src := &mixedSource{t: t, g: g, tc: tc}
	store := &light.FileStore{Path: filepath.Join(t.TempDir(), "trust.json"), Root: light.RootID(g.root())}
	now := func() time.Time { return time.UnixMilli(int64(tc.c.Head().Time)).Add(time.Second) }
	lc, err := light.NewClient(g.root(), src, light.ClientOptions{Now: now, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close(ctx)

	// The static verifier of the root's set refuses the answer; the client follows.
	counter := tc.contracts["counter"]
	cb := roundTrip(t, tc.callBundle(t, chain.CallMsg{To: counter, Method: "get"}))
	res, info, err := lc.VerifyCall(ctx, cb, &light.Call{To: counter, Method: "get", Gas: cb.Call.Gas})
	if err != nil {
		t.Fatal(err)
	}
	if got := binary.BigEndian.Uint64(res.Output); got != 3 || info.Height != 24 {
		t.Fatalf("counter %d at %d", got, info.Height)
	}
	if len(src.fetched) < 2 || slices.Contains(src.fetched, 24) {
		t.Errorf("fetched %v: want a bisection through the generated heights, not the answer's own", src.fetched)
	}
	t.Logf("bisection fetched %v", src.fetched)

	ab := roundTrip(t, tc.accountBundle(t, counter, []byte("count")))
	if _, _, err := lc.VerifyAccount(ctx, ab, counter); err != nil {
		t.Fatal(err)
	}
	rb := roundTrip(t, tc.receiptBundle(t, inc.Hash()))
	if r, _, err := lc.VerifyReceipt(ctx, rb, inc.Hash()); err != nil || r.TxHash != inc.Hash() {
		t.Fatalf("receipt: %v", err)
	}

	// A new client (another run) starts from the stored height 24.
	src.fetched = nil
	lc2, err := light.NewClient(g.root(), src, light.ClientOptions{Now: now, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	defer lc2.Close(ctx)
	if _, _, err := lc2.Verify(ctx, cb); err != nil || len(src.fetched) != 0 {
		t.Fatalf("from the store: %v, fetched %v", err, src.fetched)
	}
}
