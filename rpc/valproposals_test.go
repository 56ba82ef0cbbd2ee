package rpc_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wnode/wnode/client"
	"github.com/wnode/wnode/internal/testutil"
	"github.com/wnode/wnode/rpc"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
)

// proposalBackend is a fakeBackend with open validator proposals 1…n: it answers as many
// as it is asked for.
type proposalBackend struct {
	*fakeBackend
	n       uint64
	maxGot  int  // the largest max it was asked for
	ignored bool // answers from id 1 whatever after is
}

func (b *proposalBackend) ValidatorProposals(after uint64, max int) ([]rpctypes.ValidatorProposalJSON, error) {
	if max > b.maxGot {
		b.maxGot = max
	}
	if b.ignored {
		after = 0
	}
	var out []rpctypes.ValidatorProposalJSON
	for id := after + 1; id <= b.n && len(out) < max; id++ {
		out = append(out, rpctypes.ValidatorProposalJSON{ID: hexutil.Uint64(id), Op: "add"})
	}
	return out, nil
}

func (b *proposalBackend) Validators(uint64) (*types.ValidatorSet, error) {
	return nil, errors.New("no validator sets here")
}

// TestValidatorProposalsPaged: wn_getValidatorProposals answers at most
// rpc.MaxValidatorProposals proposals, those above afterId; paging by the last id gets
// them all, once each, in order.
func TestValidatorProposalsPaged(t *testing.T) {
	const n = 2*rpc.MaxValidatorProposals + 17
	b := &proposalBackend{fakeBackend: newFakeBackend(), n: n}
	s := serveProposals(t, b)
	var got []rpctypes.ValidatorProposalJSON
	params := `[]`
	for range n {
		var page []rpctypes.ValidatorProposalJSON
		s.result(t, "wn_getValidatorProposals", params, &page)
		if len(page) > rpc.MaxValidatorProposals {
			t.Fatalf("an answer of %d proposals, max %d", len(page), rpc.MaxValidatorProposals)
		}
		got = append(got, page...)
		if len(page) < rpc.MaxValidatorProposals {
			break
		}
		params = fmt.Sprintf(`["%s"]`, page[len(page)-1].ID)
	}
	if len(got) != n {
		t.Fatalf("pages hold %d proposals, want %d", len(got), n)
	}
	for i, p := range got {
		if uint64(p.ID) != uint64(i+1) {
			t.Fatalf("proposal %d has id %d", i, uint64(p.ID))
		}
	}
	if b.maxGot > rpc.MaxValidatorProposals {
		t.Fatalf("the backend was asked for %d proposals", b.maxGot)
	}
	if a := s.request(t, "wn_getValidatorProposals", `["not a number"]`); a.Error == nil {
		t.Fatal("a bad afterId accepted")
	}
}

// serveProposals serves b on loopback until the test ends.
func serveProposals(t *testing.T, b *proposalBackend) *testServer {
	t.Helper()
	key, _ := crypto.GenerateKey()
	reg := prometheus.NewRegistry()
	srv, err := rpc.NewServer(rpc.Config{}, b, rpc.NewResultSigner(key, 7), reg, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(testutil.Listen(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Close(ctx)
	})
	return &testServer{srv: srv, url: "http://" + srv.Addr()}
}

// TestClientValidatorProposalsPages: client.ValidatorProposals pages through every open
// proposal, in order; more than client.MaxValidatorProposalPages answers, or a node that
// ignores afterId, is an error, not a loop.
func TestClientValidatorProposalsPages(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	list := func(b *proposalBackend) ([]rpctypes.ValidatorProposalJSON, error) {
		s := serveProposals(t, b)
		c, err := client.Dial(ctx, s.url)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ValidatorProposals(ctx)
	}
	for _, n := range []uint64{0, 5, rpc.MaxValidatorProposals, 2*rpc.MaxValidatorProposals + 17} {
		ps, err := list(&proposalBackend{fakeBackend: newFakeBackend(), n: n})
		if err != nil {
			t.Fatalf("%d proposals: %v", n, err)
		}
		if ps == nil || uint64(len(ps)) != n {
			t.Fatalf("%d proposals: got %d (nil %v)", n, len(ps), ps == nil)
		}
		for i, p := range ps {
			if uint64(p.ID) != uint64(i+1) {
				t.Fatalf("%d proposals: proposal %d has id %d", n, i, uint64(p.ID))
			}
		}
	}
	const most = client.MaxValidatorProposalPages * rpc.MaxValidatorProposals
	if ps, err := list(&proposalBackend{fakeBackend: newFakeBackend(), n: most}); err != nil || len(ps) != most {
		t.Fatalf("%d proposals: got %d, %v", most, len(ps), err)
	}
	if _, err := list(&proposalBackend{fakeBackend: newFakeBackend(), n: most + 1}); err == nil || !strings.Contains(err.Error(), "more than 100 non-empty answers") {
		t.Fatalf("%d proposals: %v", most+1, err)
	}
	if _, err := list(&proposalBackend{fakeBackend: newFakeBackend(), n: 3, ignored: true}); err == nil || !strings.Contains(err.Error(), "not above afterId") {
		t.Fatalf("a node ignoring afterId: %v", err)
	}
}
