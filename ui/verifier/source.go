package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/wnode/wnode/light"
)

// maxRPCAnswer bounds one JSON-RPC answer the source reads (a certificate: a header, a
// commit and a validator set).
const maxRPCAnswer = 8 << 20

// rpcSource is a light.Source over the node's JSON-RPC (wn_getCommit, wn_getValidators),
// as client.Client is: the headers a light.Client needs to follow validator set changes
// between its root and an answer's height. Nothing it returns is trusted; in the browser
// its requests are the page's same-origin fetches.
type rpcSource struct {
	url string // the node's JSON-RPC endpoint
	hc  *http.Client
}

func (s *rpcSource) call(ctx context.Context, method string, height uint64, out any) error {
	req, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": []any{height}})
	if err != nil {
		return err
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(req))
	if err != nil {
		return err
	}
	r.Header.Set("Content-Type", "application/json")
	resp, err := s.hc.Do(r)
	if err != nil {
		return fmt.Errorf("%s %d: %w", method, height, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxRPCAnswer+1))
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
		return fmt.Errorf("%s %d: HTTP %d: %v", method, height, resp.StatusCode, err)
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
