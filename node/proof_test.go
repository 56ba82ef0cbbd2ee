package node_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/wnode/wnode/client"
	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/internal/testutil"
	"github.com/wnode/wnode/light"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
)

// TestProofsOnRealNode serves every proof method from a dev node (Pebble, wazero) and
// verifies each answer with package light, trusting only the node's genesis; then the
// errors a client can cause, pruned heights included.
func TestProofsOnRealNode(t *testing.T) {
	cfg := startConfig(t.TempDir())
	cfg.StateHistory = 3
	n, c := startWith(t, cfg)
	defer stop(t, n, c)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dev := genesis.DevKey()
	trust, err := light.TrustGenesis(n.Genesis())
	if err != nil {
		t.Fatal(err)
	}
	v, err := light.New(trust, light.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close(ctx)

	_, dr, err := c.Transact(ctx, dev, &client.TxRequest{Kind: types.TxDeploy, Code: testutil.ExampleWasm(t, "counter")})
	if err != nil || dr.Status != 1 {
		t.Fatalf("deploy: %+v %v", dr, err)
	}
	counter := *dr.ContractAddress
	tx, ir, err := c.Transact(ctx, dev, &client.TxRequest{Kind: types.TxInvoke, To: counter, Method: "increment"})
	if err != nil || ir.Status != 1 {
		t.Fatalf("increment: %+v %v", ir, err)
	}

	// The witnessed call, over JSON-RPC and the gateway.
	args := rpctypes.CallArgs{To: &counter, Method: "get"}
	raw, err := c.CallBundle(ctx, args, rpctypes.LatestBlock)
	if err != nil {
		t.Fatal(err)
	}
	b, err := light.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	res, info, err := v.VerifyCall(ctx, b.(*light.CallBundle), &light.Call{To: counter, Method: "get"})
	if err != nil || binary.BigEndian.Uint64(res.Output) != 1 || info.Height < 2 {
		t.Fatalf("wn_callWitness: %+v %+v %v", res, info, err)
	}
	// The light client over the node (client.Client as its light.Source), from the
	// genesis: the header of the answer's height, and the answer again.
	root, err := light.GenesisState(n.Genesis())
	if err != nil {
		t.Fatal(err)
	}
	lc, err := light.NewClient(root, c, light.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close(ctx)
	if hdr, err := lc.VerifyHeaderAt(ctx, info.Height); err != nil || hdr.Hash() != info.BlockHash {
		t.Fatalf("light client header %d: %v", info.Height, err)
	}
	if res, _, err := lc.VerifyCall(ctx, b.(*light.CallBundle), &light.Call{To: counter, Method: "get"}); err != nil || binary.BigEndian.Uint64(res.Output) != 1 {
		t.Fatalf("light client call: %+v %v", res, err)
	}
	raw, err = c.FnBundle(ctx, counter, "get", nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, err = light.Decode(raw); err != nil {
		t.Fatal(err)
	}
	if res, _, err := v.VerifyCall(ctx, b.(*light.CallBundle), &light.Call{To: counter, Method: "get"}); err != nil || binary.BigEndian.Uint64(res.Output) != 1 {
		t.Fatalf("/fn/?witness=1: %+v %v", res, err)
	}
	// The gateway also takes the header; a failed call is a verifiable outcome.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.RPCAddr()+"/fn/"+counter.Hex()+"/nope", nil)
	req.Header.Set(rpctypes.HeaderWitness, "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get(rpctypes.HeaderError) == "" {
		t.Fatalf("witness of a missing method: %d %s", resp.StatusCode, body)
	}
	if b, err = light.Decode(body); err != nil {
		t.Fatal(err)
	}
	if res, _, err := v.VerifyCall(ctx, b.(*light.CallBundle), nil); err != nil || !strings.Contains(res.Err, "nope") {
		t.Fatalf("witness of a missing method: %+v %v", res, err)
	}

	// Account with storage, and the receipt.
	raw, err = c.ProofBundle(ctx, counter, [][]byte{[]byte("count"), []byte("absent")}, rpctypes.LatestBlock)
	if err != nil {
		t.Fatal(err)
	}
	if b, err = light.Decode(raw); err != nil {
		t.Fatal(err)
	}
	acc, _, err := v.VerifyAccount(b.(*light.AccountBundle), counter)
	if err != nil || binary.BigEndian.Uint64(acc.Storage["count"]) != 1 || acc.Storage["absent"] != nil || acc.CodeHash == (types.Hash{}) {
		t.Fatalf("wn_getProof: %+v %v", acc, err)
	}
	raw, err = c.ReceiptBundle(ctx, tx.Hash())
	if err != nil || raw == nil {
		t.Fatalf("wn_getReceiptProof: %s %v", raw, err)
	}
	if b, err = light.Decode(raw); err != nil {
		t.Fatal(err)
	}
	if r, _, err := v.VerifyReceipt(b.(*light.ReceiptBundle), tx.Hash()); err != nil || r.Status != 1 {
		t.Fatalf("wn_getReceiptProof: %+v %v", r, err)
	}
	if raw, err := c.ReceiptBundle(ctx, types.Hash{1}); err != nil || raw != nil {
		t.Fatalf("receipt proof of an unknown tx: %s %v", raw, err)
	}

	// wn_getCommit and wn_getValidators make a certificate light accepts.
	cm, err := c.Commit(ctx, rpctypes.BlockNumber(info.Height))
	if err != nil {
		t.Fatal(err)
	}
	vs, err := c.Validators(ctx, rpctypes.BlockNumber(info.Height))
	if err != nil || len(vs.Validators) != 1 || vs.Hash != trust.ValidatorsHash || vs.Validators[0].Address != n.Address() {
		t.Fatalf("wn_getValidators: %+v %v", vs, err)
	}
	cert := light.Certificate{Header: cm.Header, Commit: cm.Commit}
	for _, x := range vs.Validators {
		cert.Validators = append(cert.Validators, light.Validator{Address: x.Address, PubKey: x.PubKey, Power: x.Power})
	}
	if hdr, err := v.VerifyHeader(&cert); err != nil || hdr.Height != info.Height || hdr.Hash() != cm.Hash || hdr.Time != uint64(cm.Time) {
		t.Fatalf("wn_getCommit: %+v %v", hdr, err)
	}

	// Errors a client can cause.
	url := "http://" + n.RPCAddr()
	for _, bad := range []struct{ method, params string }{
		{"wn_getCommit", `["0x0"]`},
		{"wn_getProof", fmt.Sprintf(`[%q, [], "0x0"]`, counter.Hex())},
		{"wn_callWitness", fmt.Sprintf(`[{"to":%q,"method":"get"}, "0x0"]`, counter.Hex())},
	} {
		if _, e := rawCall(t, url, bad.method, bad.params); e == nil || e.Code != rpctypes.CodeNoCommit {
			t.Errorf("%s%s: %+v, want code %d", bad.method, bad.params, e, rpctypes.CodeNoCommit)
		}
	}
	long := hexutil.Encode(make([]byte, 257))
	for _, bad := range []struct {
		method, params string
		code           int
	}{
		{"wn_getCommit", `["0xffff"]`, rpctypes.CodeUnknownBlock},
		{"wn_getCommit", `[]`, rpctypes.CodeInvalidParams},
		{"wn_getCommit", `["latest", 1]`, rpctypes.CodeInvalidParams},
		{"wn_getProof", fmt.Sprintf(`[%q, [%q]]`, counter.Hex(), long), rpctypes.CodeInvalidParams},
		{"wn_getProof", fmt.Sprintf(`[%q, [%s]]`, counter.Hex(), strings.Repeat(`"0x01",`, 256)+`"0x01"`), rpctypes.CodeInvalidParams},
		{"wn_getProof", `["0x12", []]`, rpctypes.CodeInvalidParams},
		{"wn_callWitness", `[{"method":"get"}]`, rpctypes.CodeInvalidParams},
		{"wn_getReceiptProof", `["0x12"]`, rpctypes.CodeInvalidParams},
	} {
		if _, e := rawCall(t, url, bad.method, bad.params); e == nil || e.Code != bad.code {
			t.Errorf("%s%s: %+v, want code %d", bad.method, bad.params, e, bad.code)
		}
	}

	// Past the state history (3 heights), proofs of old heights name the oldest one.
	old := info.Height
	for i := 0; i < 4; i++ {
		if _, r, err := c.Transact(ctx, dev, &client.TxRequest{Kind: types.TxInvoke, To: counter, Method: "increment"}); err != nil || r.Status != 1 {
			t.Fatalf("increment: %+v %v", r, err)
		}
	}
	head, err := c.BlockNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, e := rawCall(t, url, "wn_getProof", fmt.Sprintf(`[%q, [], "%s"]`, counter.Hex(), hexutil.Uint64(old)))
	var data struct{ Oldest hexutil.Uint64 }
	if e == nil || e.Code != rpctypes.CodePruned || json.Unmarshal(e.Data, &data) != nil || uint64(data.Oldest) != head-2 ||
		!strings.Contains(e.Message, fmt.Sprintf("oldest provable height is %d", head-2)) {
		t.Fatalf("proof of pruned height %d (head %d): %+v", old, head, e)
	}
	_, err = c.CallBundle(ctx, args, rpctypes.BlockNumber(old))
	if client.ErrorCode(err) != rpctypes.CodePruned {
		t.Fatalf("witness at pruned height: %v", err)
	}
	// The commit of a pruned height is still served: blocks are kept.
	if _, err := c.Commit(ctx, rpctypes.BlockNumber(old)); err != nil {
		t.Fatal(err)
	}
}
