package rpc_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wnode/wnode/internal/testutil"
	"github.com/wnode/wnode/rpc"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
)

// proposalBackend is a fakeBackend with open validator proposals 1…n: it answers as many
// as it is asked for.
type proposalBackend struct {
	*fakeBackend
	n      uint64
	maxGot int // the largest max it was asked for
}

func (b *proposalBackend) ValidatorProposals(after uint64, max int) ([]rpctypes.ValidatorProposalJSON, error) {
	if max > b.maxGot {
		b.maxGot = max
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
	s := &testServer{srv: srv, url: "http://" + srv.Addr()}
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
