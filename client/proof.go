package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/wnode/wnode/light"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
)

// The proof methods return bundles as the raw JSON the node sent: decode and verify them
// with package light (light.Decode, light.Verifier), which trusts the chain's genesis,
// not the node; the bytes can be saved as they are and verified later (wnode verify).

// maxBundle bounds a bundle answer read from the gateway.
const maxBundle = 64 << 20

// ProofBundle is wn_getProof(addr, keys, block): the account and storage bundle.
func (c *Client) ProofBundle(ctx context.Context, addr types.Address, keys [][]byte, num rpctypes.BlockNumber) (json.RawMessage, error) {
	ks := make([]hexutil.Bytes, len(keys))
	for i, k := range keys {
		ks[i] = k
	}
	var raw json.RawMessage
	if err := c.call(ctx, &raw, "wn_getProof", addr, ks, num); err != nil {
		return nil, err
	}
	return raw, nil
}

// ReceiptBundle is wn_getReceiptProof(txHash); nil when the tx is unknown or pending.
func (c *Client) ReceiptBundle(ctx context.Context, txHash types.Hash) (json.RawMessage, error) {
	var raw json.RawMessage
	if err := c.call(ctx, &raw, "wn_getReceiptProof", txHash); err != nil {
		return nil, err
	}
	if string(raw) == "null" {
		return nil, nil
	}
	return raw, nil
}

// CallBundle is wn_callWitness(args, block): the call with its witness.
func (c *Client) CallBundle(ctx context.Context, args rpctypes.CallArgs, num rpctypes.BlockNumber) (json.RawMessage, error) {
	var raw json.RawMessage
	if err := c.call(ctx, &raw, "wn_callWitness", args, num); err != nil {
		return nil, err
	}
	return raw, nil
}

// Commit is wn_getCommit(block).
func (c *Client) Commit(ctx context.Context, num rpctypes.BlockNumber) (*rpctypes.CommitJSON, error) {
	var v rpctypes.CommitJSON
	if err := c.call(ctx, &v, "wn_getCommit", num); err != nil {
		return nil, err
	}
	return &v, nil
}

// Validators is wn_getValidators(block).
func (c *Client) Validators(ctx context.Context, num rpctypes.BlockNumber) (*rpctypes.ValidatorsJSON, error) {
	var v rpctypes.ValidatorsJSON
	if err := c.call(ctx, &v, "wn_getValidators", num); err != nil {
		return nil, err
	}
	return &v, nil
}

// MaxValidatorProposalPages is the most non-empty answers ValidatorProposals takes: with
// the node's 100 proposals an answer, 10 000 open proposals.
const MaxValidatorProposalPages = 100

// ValidatorProposals is wn_getValidatorProposals paged through: all the open validator
// set change proposals with their votes, in id order. It asks with afterId = the last id
// received until an answer is empty; more than MaxValidatorProposalPages non-empty
// answers is an error (ValidatorProposalsAfter pages by hand). The answers are read one
// after the other, not at one height: a proposal that passes or expires meanwhile may
// still be listed.
func (c *Client) ValidatorProposals(ctx context.Context) ([]rpctypes.ValidatorProposalJSON, error) {
	all := []rpctypes.ValidatorProposalJSON{}
	var after uint64
	for pages := 0; ; pages++ {
		page, err := c.ValidatorProposalsAfter(ctx, after)
		if err != nil {
			return nil, err
		}
		if len(page) == 0 {
			return all, nil
		}
		if pages == MaxValidatorProposalPages {
			break
		}
		all = append(all, page...)
		after = uint64(page[len(page)-1].ID)
	}
	return nil, fmt.Errorf("wn_getValidatorProposals: more than %d non-empty answers (%d proposals so far, up to id %d)", MaxValidatorProposalPages, len(all), after)
}

// ValidatorProposalsAfter is one wn_getValidatorProposals answer: the open validator set
// change proposals with an id above after, in id order, as many as the node answers at
// once (100 for wnode); a full answer may be followed by more. An answer out of id order
// or not above after is an error.
func (c *Client) ValidatorProposalsAfter(ctx context.Context, after uint64) ([]rpctypes.ValidatorProposalJSON, error) {
	var v []rpctypes.ValidatorProposalJSON
	if err := c.call(ctx, &v, "wn_getValidatorProposals", hexutil.Uint64(after)); err != nil {
		return nil, err
	}
	last := after
	for _, p := range v {
		if uint64(p.ID) <= last {
			return nil, fmt.Errorf("wn_getValidatorProposals after %d: proposal %d after %d (not above afterId, or out of order)", after, uint64(p.ID), last)
		}
		last = uint64(p.ID)
	}
	if v == nil {
		v = []rpctypes.ValidatorProposalJSON{}
	}
	return v, nil
}

// FnBundle calls POST /fn/{to}/{method}?witness=1 and returns the call's bundle.
func (c *Client) FnBundle(ctx context.Context, to types.Address, method string, input []byte) (json.RawMessage, error) {
	u := c.base + "/fn/" + to.Hex() + "/" + url.PathEscape(method) + "?witness=1"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(input))
	if err != nil {
		return nil, fmt.Errorf("fn: %w", err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fn: %w at %s: %v", ErrNoNode, c.base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBundle))
	if err != nil {
		return nil, fmt.Errorf("fn: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &FnError{Status: resp.StatusCode, Message: strings.TrimSpace(string(body))}
	}
	return body, nil
}

// Certificate is the node as a light.Source: the header at height with the commit that
// decided it (wn_getCommit) and the validator set that signed it (wn_getValidators). It
// checks nothing: light.Client checks all of it.
func (c *Client) Certificate(ctx context.Context, height uint64) (*light.Certificate, error) {
	if height > math.MaxInt64 {
		return nil, fmt.Errorf("certificate: height %d out of range", height)
	}
	cm, err := c.Commit(ctx, rpctypes.BlockNumber(height))
	if err != nil {
		return nil, err
	}
	vs, err := c.Validators(ctx, rpctypes.BlockNumber(height))
	if err != nil {
		return nil, err
	}
	cert := &light.Certificate{Header: cm.Header, Commit: cm.Commit, Validators: make([]light.Validator, len(vs.Validators))}
	for i, v := range vs.Validators {
		cert.Validators[i] = light.Validator{Address: v.Address, PubKey: v.PubKey, Power: v.Power}
	}
	return cert, nil
}

var _ light.Source = (*Client)(nil)
