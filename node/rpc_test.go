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
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"
	"github.com/wnode/wnode/client"
	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/internal/testutil"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
)

// rawCall posts one JSON-RPC request and returns the raw result or the error.
func rawCall(t *testing.T, url, method, params string) (json.RawMessage, *struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}) {
	t.Helper()
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":%q,"params":%s}`, method, params)
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    int             `json:"code"`
			Message string          `json:"message"`
			Data    json.RawMessage `json:"data"`
		} `json:"error"`
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("%s: answer %q: %v", method, b, err)
	}
	return a.Result, a.Error
}

// TestRPCOnRealNode runs every JSON-RPC method against a dev node (Pebble, wazero): good
// parameters, then the errors a client can cause, and subscriptions over WebSocket.
func TestRPCOnRealNode(t *testing.T) {
	n, c := startDev(t, t.TempDir())
	defer stop(t, n, c)
	url := "http://" + n.RPCAddr()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dev := genesis.DevKey()

	// Subscribe first, over WebSocket, so that the token's transfer shows up.
	ws, err := client.Dial(ctx, "ws://"+n.RPCAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	heads := make(chan *rpctypes.HeaderJSON, 64)
	hsub, err := ws.SubscribeNewHeads(ctx, heads)
	if err != nil {
		t.Fatal(err)
	}
	defer hsub.Unsubscribe()
	events := make(chan *rpctypes.EventNotification, 64)
	esub, err := ws.SubscribeEvents(ctx, rpctypes.EventFilter{Topics: []hexutil.Bytes{[]byte("transfer")}}, events)
	if err != nil {
		t.Fatal(err)
	}
	defer esub.Unsubscribe()

	// A token with a supply of 1000 minted to the dev account, then a transfer of 7.
	supply := binary.BigEndian.AppendUint64(nil, 1000)
	_, dr, err := c.Transact(ctx, dev, &client.TxRequest{Kind: types.TxDeploy, Code: testutil.ExampleWasm(t, "token"), Args: supply})
	if err != nil || dr.Status != 1 {
		t.Fatalf("deploy token: %+v %v", dr, err)
	}
	token := *dr.ContractAddress
	bob := types.Address{0xb0}
	tx, tr, err := c.Transact(ctx, dev, &client.TxRequest{Kind: types.TxInvoke, To: token, Method: "transfer",
		Args: append(bob.Bytes(), binary.BigEndian.AppendUint64(nil, 7)...)})
	if err != nil || tr.Status != 1 || len(tr.Events) != 1 {
		t.Fatalf("token transfer: %+v %v", tr, err)
	}

	// Subscriptions saw the blocks and both transfer events (mint at deploy, then ours).
	var got []*rpctypes.EventNotification
	for len(got) < 2 {
		select {
		case e := <-events:
			got = append(got, e)
		case err := <-esub.Err():
			t.Fatal(err)
		case <-ctx.Done():
			t.Fatalf("events: got %d", len(got))
		}
	}
	if got[1].TxHash != tx.Hash() || got[1].Contract != token || string(got[1].Topic) != "transfer" || len(got[1].Data) != 72 {
		t.Errorf("event = %+v", got[1])
	}
	select {
	case h := <-heads:
		if h.Height < 1 {
			t.Errorf("head %+v", h)
		}
	case <-ctx.Done():
		t.Fatal("no head")
	}

	// Every read method, good parameters.
	var u hexutil.Uint64
	res, e := rawCall(t, url, "wn_chainId", `[]`)
	if e != nil || json.Unmarshal(res, &u) != nil || uint64(u) != genesis.DevChainID {
		t.Errorf("chainId %s %v", res, e)
	}
	head, err := c.BlockNumber(ctx)
	if err != nil || head != uint64(tr.Height) {
		t.Errorf("blockNumber %d %v, want %d", head, err, uint64(tr.Height))
	}
	blk, err := c.Block(ctx, rpctypes.BlockNumber(tr.Height), true)
	if err != nil || len(blk.Txs) != 1 || blk.Txs[0].Hash != tx.Hash() || blk.Hash != tr.BlockHash || blk.StateRoot != tr.StateRoot {
		t.Fatalf("block %+v %v", blk, err)
	}
	byHash, err := c.BlockByHash(ctx, tr.BlockHash, false)
	if err != nil || byHash.Height != blk.Height || len(byHash.TxHashes) != 1 {
		t.Errorf("blockByHash %+v %v", byHash, err)
	}
	gen, err := c.Block(ctx, 0, false)
	if err != nil || gen.Height != 0 || len(gen.TxHashes) != 0 {
		t.Errorf("genesis block %+v %v", gen, err)
	}
	if b, err := c.Block(ctx, 1000, false); err != nil || b != nil {
		t.Errorf("block 1000: %+v %v", b, err)
	}
	acc, err := c.Account(ctx, genesis.DevAddress, rpctypes.LatestBlock)
	if err != nil || uint64(acc.Nonce) != 2 {
		t.Errorf("dev account %+v %v", acc, err)
	}
	old, err := c.Account(ctx, genesis.DevAddress, 0)
	if err != nil || old.Nonce != 0 || (*uint256.Int)(old.Balance).Cmp(uint256.MustFromBig(genesis.DevBalance)) != 0 {
		t.Errorf("dev account at genesis %+v %v", old, err)
	}
	if n, err := c.PendingNonce(ctx, genesis.DevAddress); err != nil || n != 2 {
		t.Errorf("pending nonce %d %v", n, err)
	}
	tacc, err := c.Account(ctx, token, rpctypes.LatestBlock)
	code, err2 := c.Code(ctx, token, rpctypes.LatestBlock)
	if err != nil || err2 != nil || tacc.Admin != genesis.DevAddress || crypto.Keccak256Hash(code) != tacc.CodeHash {
		t.Errorf("token account %+v code %d bytes (%v, %v)", tacc, len(code), err, err2)
	}
	bal, ok, err := c.Storage(ctx, token, append([]byte("b"), bob.Bytes()...), rpctypes.LatestBlock)
	if err != nil || !ok || new(uint256.Int).SetBytes(bal).Uint64() != 7 {
		t.Errorf("token storage %x %v %v", bal, ok, err)
	}
	if _, ok, err := c.Storage(ctx, token, []byte("nope"), rpctypes.LatestBlock); err != nil || ok {
		t.Errorf("absent storage: %v %v", ok, err)
	}
	gtx, err := c.Transaction(ctx, tx.Hash())
	if err != nil || gtx == nil || gtx.BlockHeight == nil || uint64(*gtx.BlockHeight) != uint64(tr.Height) || *gtx.From != genesis.DevAddress {
		t.Errorf("transaction %+v %v", gtx, err)
	}
	if price, err := c.GasPrice(ctx); err != nil || price.Uint64() != 1 {
		t.Errorf("gas price %v %v", price, err)
	}
	call, err := c.Call(ctx, rpctypes.CallArgs{To: &token, Method: "balance_of", Args: bob.Bytes()}, rpctypes.LatestBlock)
	if err != nil || new(uint256.Int).SetBytes(call.Output).Uint64() != 7 || call.Signer != n.Address() {
		t.Errorf("call %+v %v", call, err)
	}
	// At the block of the deploy, bob had nothing yet.
	call, err = c.Call(ctx, rpctypes.CallArgs{To: &token, Method: "balance_of", Args: bob.Bytes()}, rpctypes.BlockNumber(dr.Height))
	if err != nil || new(uint256.Int).SetBytes(call.Output).Uint64() != 0 || uint64(call.Height) != uint64(dr.Height) {
		t.Errorf("historical call %+v %v", call, err)
	}
	est, err := c.EstimateGas(ctx, rpctypes.CallArgs{From: &genesis.DevAddress, To: &token, Method: "transfer",
		Args: append(bob.Bytes(), binary.BigEndian.AppendUint64(nil, 1)...)}, rpctypes.LatestBlock)
	if err != nil || est == 0 || est > uint64(tr.GasUsed)*2 {
		t.Errorf("estimate %d %v (transfer used %d)", est, err, uint64(tr.GasUsed))
	}
	for _, m := range []string{"net_peerCount", "net_peers", "net_version", "wn_nodeInfo"} {
		if _, e := rawCall(t, url, m, `[]`); e != nil {
			t.Errorf("%s: %+v", m, e)
		}
	}

	// Errors a client can cause; the node keeps serving.
	tooHigh := s(tr.Height + 100)
	for _, tc := range []struct {
		method, params string
		code           int
	}{
		{"wn_getAccount", fmt.Sprintf(`[%q, %q]`, bob.Hex(), tooHigh), rpctypes.CodeUnknownBlock},
		{"wn_call", fmt.Sprintf(`[{"to":%q,"method":"nope"}]`, token.Hex()), rpctypes.CodeExecutionFailed},
		{"wn_call", fmt.Sprintf(`[{"to":%q,"method":"transfer","args":"0x00"}]`, token.Hex()), rpctypes.CodeExecutionFailed},
		{"wn_call", fmt.Sprintf(`[{"to":%q,"method":"get"}]`, bob.Hex()), rpctypes.CodeExecutionFailed},
		{"wn_estimateGas", fmt.Sprintf(`[{"from":%q,"to":%q,"method":"transfer","args":"0x00"}]`, bob.Hex(), token.Hex()), rpctypes.CodeExecutionFailed},
		{"wn_sendRawTransaction", fmt.Sprintf(`[%q]`, hexutil.Encode(tx.Encode())), rpctypes.CodeTxKnown},
		{"wn_sendRawTransaction", `["0xdeadbeef"]`, rpctypes.CodeTxInvalid},
		{"wn_getBlockByNumber", `["pending"]`, rpctypes.CodeInvalidParams},
		{"wn_nope", `[]`, rpctypes.CodeMethodNotFound},
	} {
		_, e := rawCall(t, url, tc.method, tc.params)
		if e == nil || e.Code != tc.code {
			t.Errorf("%s %s: %+v, want code %d", tc.method, tc.params, e, tc.code)
		}
	}
	// A stale nonce and a sender without funds.
	stale := &types.Tx{ChainID: genesis.DevChainID, Nonce: 0, GasPrice: uint256.NewInt(1), GasLimit: 100_000, Kind: types.TxTransfer,
		To: bob, Value: uint256.NewInt(1)}
	stale.Sign(dev)
	if _, err := c.SendTransaction(ctx, stale); client.ErrorCode(err) != rpctypes.CodeNonceTooLow {
		t.Errorf("stale nonce: %v", err)
	}
	poor, _ := crypto.GenerateKey()
	broke := &types.Tx{ChainID: genesis.DevChainID, GasPrice: uint256.NewInt(1), GasLimit: 100_000, Kind: types.TxTransfer, To: bob, Value: uint256.NewInt(1)}
	broke.Sign(poor)
	if _, err := c.SendTransaction(ctx, broke); client.ErrorCode(err) != rpctypes.CodeInsufficientFunds {
		t.Errorf("no funds: %v", err)
	}
	if _, err := c.ChainID(ctx); err != nil {
		t.Fatal(err)
	}
	// /health and /metrics of a real node.
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range []string{"wnode_chain_height", "wnode_chain_txs_total{status=\"success\"}", "wnode_chain_block_seconds_bucket",
		"wnode_mempool_txs{state=\"pending\"}", "wnode_rpc_request_duration_seconds_bucket", "go_goroutines",
		"wnode_p2p_gossip_txs_total{verdict=\"rejected\"}", "wnode_p2p_blocks_synced_total"} {
		if !strings.Contains(string(body), m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
}

func s(h hexutil.Uint64) string { return hexutil.EncodeUint64(uint64(h)) }
