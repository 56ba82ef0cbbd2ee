// Command verifier is the dashboard's in-browser light client: package light compiled
// to WebAssembly (GOOS=js GOARCH=wasm), loaded by the contract page to check a call's
// answer without trusting the node that served it. `go generate ./ui` builds it into
// the dashboard's assets; see docs/rationale/ui.md.
//
// It checks what `wnode call --verify` checks, with the same code: the commit's signatures
// over the header by a validator set reached from the trust root (with the genesis as
// root, a light.Client follows validator set changes, fetching the certificates it needs
// from the node's JSON-RPC; with a validator set hash, that one set), every read's proof
// against the header's state root, and the call re-executed (metered, on wazero's
// interpreter) on those proven reads alone, compared with the node's claimed output, gas,
// error and events.
package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/wnode/wnode/gas"
	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/light"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm"
)

// Request is one verification: the trust root the user holds, the genesis document the
// node served (used only when it hashes to Root), the bundle, and the call the page asked.
type Request struct {
	Root    string // 0x hash: the chain's genesis hash or its validator set's hash
	Genesis []byte // the node's genesis JSON; may be nil when Root is a validators hash
	RPC     string // the node's JSON-RPC URL, the source of headers between root and answer
	// post sends a JSON-RPC request to RPC (see rpcSource); nil: no source of headers.
	post   func(ctx context.Context, body []byte) ([]byte, int, error)
	Bundle []byte // the /fn/ gateway's witness answer
	To     string // the contract asked
	Method string
	Args   []byte
}

// Result is what the page shows. OK is true only when every check passed.
type Result struct {
	OK        bool   `json:"ok"`
	Error     string `json:"error,omitempty"` // the named failure, e.g. "output mismatch"
	Detail    string `json:"detail,omitempty"`
	RootKind  string `json:"rootKind,omitempty"` // "genesis" or "validators"
	Output    string `json:"output,omitempty"`   // 0x hex of the verified output
	CallError string `json:"callError,omitempty"`
	GasUsed   uint64 `json:"gasUsed"`
	Height    uint64 `json:"height"`
	Time      uint64 `json:"time"`
	ChainID   uint64 `json:"chainId"`
	BlockHash string `json:"blockHash,omitempty"`
}

// sentinels name every way a check can fail (light's errors, and the trust root's).
var sentinels = []error{
	light.ErrMalformed, light.ErrChain, light.ErrHeight, light.ErrValidators, light.ErrBlockHash,
	light.ErrSignature, light.ErrPower, light.ErrRoot, light.ErrProof, light.ErrWitnessMissing,
	light.ErrOutput, light.ErrGas, light.ErrCallError, light.ErrEvents, light.ErrQuestion,
	light.ErrNextValidators, light.ErrTrustLevel, light.ErrFork, light.ErrTime, light.ErrExpired,
	light.ErrBeforeRoot, light.ErrNoSource, errTrustRoot,
}

var errTrustRoot = errors.New("light: bad trust root")

// name returns the short name of the sentinel err wraps ("output mismatch"), or
// "verification failed".
func name(err error) string {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return strings.TrimPrefix(s.Error(), "light: ")
		}
	}
	return "verification failed"
}

// checker verifies a call bundle: a light.Client (genesis root) or a light.Verifier
// (one validator set).
type checker interface {
	VerifyCall(ctx context.Context, b *light.CallBundle, want *light.Call) (*light.CallResult, *light.Verified, error)
}

// verifiers keeps one checker (with its VM and the contracts it compiled, and for a
// client the heights it verified) per trust root and node.
type verifiers struct {
	mu sync.Mutex
	m  map[[3]string]checker
}

// get returns the checker of root: when the genesis document hashes to root, a
// light.Client from the genesis (its validators, chain id and gas schedule), following
// set changes with headers from rpc; else root is taken as one validator set's hash (any
// chain id, the default gas schedule, no set changes followed), as `wnode verify
// --validators-hash` does.
func (vs *verifiers) get(ctx context.Context, root types.Hash, gen []byte, rpc string, post func(context.Context, []byte) ([]byte, int, error)) (checker, string, error) {
	if root == (types.Hash{}) {
		return nil, "", fmt.Errorf("%w: no trust root", errTrustRoot)
	}
	var g *genesis.Genesis
	if len(gen) > 0 {
		if p, err := genesis.Parse(gen, ""); err == nil && p.Validate() == nil && p.Hash() == root {
			g = p
		}
	}
	kind := "validators"
	if g != nil {
		kind = "genesis"
	}
	vs.mu.Lock()
	defer vs.mu.Unlock()
	key := [3]string{root.Hex(), kind, rpc}
	if c, ok := vs.m[key]; ok {
		return c, kind, nil
	}
	var sched *gas.Schedule
	var err error
	if g != nil {
		sched, err = scheduleOf(g.Params.GasScheduleVersion)
	} else {
		sched, err = scheduleOf(0)
	}
	if err != nil {
		return nil, kind, fmt.Errorf("%w: %v", errTrustRoot, err)
	}
	// wazero's compiler targets native code; in the browser only its interpreter runs. Gas
	// is metered by instructions the VM inserts, so both engines charge the same (vm tests).
	machine, err := vm.New(ctx, vm.Config{Engine: vm.EngineInterpreter, Schedule: sched})
	if err != nil {
		return nil, kind, err
	}
	var c checker
	if g != nil {
		var st *light.TrustedState
		if st, err = light.GenesisState(g); err == nil {
			var src light.Source
			if post != nil {
				src = &rpcSource{post: post}
			}
			c, err = light.NewClient(st, src, light.ClientOptions{GasScheduleVersion: g.Params.GasScheduleVersion,
				Verifier: light.Options{VM: machine}})
		}
	} else {
		c, err = light.New(light.Trust{ValidatorsHash: root}, light.Options{VM: machine})
	}
	if err != nil {
		machine.Close(ctx)
		return nil, kind, fmt.Errorf("%w: %v", errTrustRoot, err)
	}
	if vs.m == nil {
		vs.m = map[[3]string]checker{}
	}
	vs.m[key] = c
	return c, kind, nil
}

func (vs *verifiers) verify(ctx context.Context, req *Request) *Result {
	res, err := vs.check(ctx, req)
	if err != nil {
		return &Result{Error: name(err), Detail: err.Error(), RootKind: res.RootKind}
	}
	return res
}

func (vs *verifiers) check(ctx context.Context, req *Request) (*Result, error) {
	res := &Result{}
	var root types.Hash
	if err := root.UnmarshalText([]byte(strings.TrimSpace(req.Root))); err != nil {
		return res, fmt.Errorf("%w: %q is not a 32-byte 0x hash", errTrustRoot, req.Root)
	}
	v, kind, err := vs.get(ctx, root, req.Genesis, req.RPC, req.post)
	res.RootKind = kind
	if err != nil {
		return res, err
	}
	var to types.Address
	if err := to.UnmarshalText([]byte(req.To)); err != nil {
		return res, fmt.Errorf("%w: contract %q: %v", light.ErrQuestion, req.To, err)
	}
	b, err := light.Decode(req.Bundle)
	if err != nil {
		return res, err
	}
	cb, ok := b.(*light.CallBundle)
	if !ok {
		return res, fmt.Errorf("%w: a %T, not a call's answer", light.ErrMalformed, b)
	}
	// The gateway calls from the zero address with its gas cap: the page asks no gas.
	want := &light.Call{To: to, Method: req.Method, Args: req.Args}
	got, info, err := v.VerifyCall(ctx, cb, want)
	if err != nil {
		return res, err
	}
	res.OK = true
	res.Output = hexutil.Encode(got.Output)
	res.CallError = got.Err
	res.GasUsed = got.GasUsed
	res.Height, res.Time, res.ChainID = info.Height, info.Time, info.ChainID
	res.BlockHash = info.BlockHash.Hex()
	return res, nil
}

// scheduleOf is the gas schedule of version (0: the default), as light.New picks it.
func scheduleOf(version uint32) (*gas.Schedule, error) {
	if version == 0 {
		return gas.Default(), nil
	}
	return gas.ByVersion(version)
}
