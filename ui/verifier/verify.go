// Command verifier is the dashboard's in-browser light client: package light compiled
// to WebAssembly (GOOS=js GOARCH=wasm), loaded by the contract page to check a call's
// answer without trusting the node that served it. `go generate ./ui` builds it into
// the dashboard's assets; see docs/rationale/ui.md.
//
// It checks exactly what light.Verifier.VerifyCall checks: the commit's signatures over
// the header by the trusted validator set, every read's proof against the header's state
// root, and the call re-executed (metered, on wazero's interpreter) on those proven reads
// alone, compared with the node's claimed output, gas, error and events.
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
	Bundle  []byte // the /fn/ gateway's witness answer
	To      string // the contract asked
	Method  string
	Args    []byte
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
	errTrustRoot,
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

// verifiers keeps one verifier (and its VM, with the contracts it compiled) per trust.
type verifiers struct {
	mu sync.Mutex
	m  map[light.Trust]*light.Verifier
}

func (vs *verifiers) get(ctx context.Context, t light.Trust) (*light.Verifier, error) {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	if v, ok := vs.m[t]; ok {
		return v, nil
	}
	sched, err := scheduleOf(t)
	if err != nil {
		return nil, err
	}
	// wazero's compiler targets native code; in the browser only its interpreter runs. Gas
	// is metered by instructions the VM inserts, so both engines charge the same (vm tests).
	machine, err := vm.New(ctx, vm.Config{Engine: vm.EngineInterpreter, Schedule: sched})
	if err != nil {
		return nil, err
	}
	v, err := light.New(t, light.Options{VM: machine})
	if err != nil {
		machine.Close(ctx)
		return nil, err
	}
	if vs.m == nil {
		vs.m = map[light.Trust]*light.Verifier{}
	}
	vs.m[t] = v
	return v, nil
}

// trust turns the user's root into a light.Trust: when the genesis document hashes to
// root, the chain's validators, chain id and gas schedule from it; else root is taken as
// the validator set's hash (any chain id, the default gas schedule).
func trust(root types.Hash, gen []byte) (light.Trust, string, error) {
	if root == (types.Hash{}) {
		return light.Trust{}, "", fmt.Errorf("%w: no trust root", errTrustRoot)
	}
	if len(gen) > 0 {
		g, err := genesis.Parse(gen, "")
		if err == nil {
			err = g.Validate()
		}
		if err == nil && g.Hash() == root {
			t, err := light.TrustGenesis(g)
			if err != nil {
				return light.Trust{}, "", fmt.Errorf("%w: %v", errTrustRoot, err)
			}
			return t, "genesis", nil
		}
	}
	return light.Trust{ValidatorsHash: root}, "validators", nil
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
	t, kind, err := trust(root, req.Genesis)
	if err != nil {
		return res, err
	}
	res.RootKind = kind
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
	v, err := vs.get(ctx, t)
	if err != nil {
		return res, fmt.Errorf("light: %w", err)
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

// scheduleOf is the gas schedule the trusted chain runs calls with (as light.New picks it).
func scheduleOf(t light.Trust) (*gas.Schedule, error) {
	if t.GasScheduleVersion == 0 {
		return gas.Default(), nil
	}
	return gas.ByVersion(t.GasScheduleVersion)
}
