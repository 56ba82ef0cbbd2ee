package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/wnode/wnode/light"
)

// maxRPCAnswer bounds one JSON-RPC answer the source reads (a certificate: a header, a
// commit and a validator set).
const maxRPCAnswer = 8 << 20

// rpcSource is a light.Source over the node's JSON-RPC (wn_getCommit, wn_getValidators),
// as client.Client is: the headers a light.Client needs to follow validator set changes
// between its root and an answer's height. Nothing it returns is trusted.
type rpcSource struct {
	// post sends a JSON-RPC request to the node and returns the answer's body (at most
	// maxRPCAnswer+1 bytes read) and HTTP status. In the browser it is the page's
	// same-origin fetch (main_js.go): not net/http, which would add 1.3 MB of gzipped
	// Wasm for two requests.
	post func(ctx context.Context, body []byte) ([]byte, int, error)
}

func (s *rpcSource) call(ctx context.Context, method string, height uint64, out any) error {
	req, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": []any{height}})
	if err != nil {
		return err
	}
	body, status, err := s.post(ctx, req)
	if err != nil {
		return fmt.Errorf("%s %d: %w", method, height, err)
	}
	if len(body) > maxRPCAnswer {
		return fmt.Errorf("%s %d: answer larger than %d bytes", method, height, maxRPCAnswer)
	}
	var ans struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return fmt.Errorf("%s %d: HTTP %d: %v", method, height, status, err)
	}
	if ans.Error != nil {
		return fmt.Errorf("%s %d: %s (%d)", method, height, ans.Error.Message, ans.Error.Code)
	}
	return json.Unmarshal(ans.Result, out)
}

// Certificate implements light.Source.
func (s *rpcSource) Certificate(ctx context.Context, height uint64) (*light.Certificate, error) {
	var cm struct {
		Header hexutil.Bytes `json:"header"`
		Commit hexutil.Bytes `json:"commit"`
	}
	if err := s.call(ctx, "wn_getCommit", height, &cm); err != nil {
		return nil, err
	}
	var vs struct {
		Validators []light.Validator `json:"validators"`
	}
	if err := s.call(ctx, "wn_getValidators", height, &vs); err != nil {
		return nil, err
	}
	return &light.Certificate{Header: cm.Header, Commit: cm.Commit, Validators: vs.Validators}, nil
}
