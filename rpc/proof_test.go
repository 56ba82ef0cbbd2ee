package rpc_test

import (
	"net/http"
	"testing"

	"github.com/wnode/wnode/rpc"
	"github.com/wnode/wnode/rpc/rpctypes"
)

// A backend without proofs (rpc.ProofBackend) answers the proof methods, and the
// gateway's witness, with a clear refusal; its plain answers are unchanged.
func TestProofsUnsupported(t *testing.T) {
	s := startServer(t, rpc.Config{})
	addr := "0x00000000000000000000000000000000000000c0"
	for _, c := range []struct{ method, params string }{
		{"wn_getProof", `["` + addr + `", []]`},
		{"wn_getCommit", `["latest"]`},
		{"wn_getValidators", `["latest"]`},
		{"wn_getReceiptProof", `["0x` + "11" + `00000000000000000000000000000000000000000000000000000000000000"]`},
		{"wn_callWitness", `[{"to":"` + addr + `","method":"m"}]`},
	} {
		if a := s.request(t, c.method, c.params); a.Error == nil || a.Error.Code != rpctypes.CodeProofsUnsupported {
			t.Errorf("%s: %+v, want code %d", c.method, a.Error, rpctypes.CodeProofsUnsupported)
		}
	}
	if status, body := post(t, s.url+"/fn/"+addr+"/m?witness=1", "application/octet-stream", ""); status != http.StatusNotImplemented {
		t.Errorf("gateway witness: %d %s", status, body)
	}
}
