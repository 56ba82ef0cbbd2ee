package light

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/holiman/uint256"
	"github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/state"
	"github.com/wnode/wnode/types"
)

// verifyRead checks one state read against root and returns its value (nil: absent).
func verifyRead(root types.Hash, r *StateRead) ([]byte, error) {
	p, err := state.DecodeProof(r.Proof)
	if err != nil {
		return nil, fmt.Errorf("%w: proof of %s: %v", ErrMalformed, describeKey(r.Key), err)
	}
	var val []byte
	if r.Value != nil {
		val = []byte(*r.Value)
		if val == nil {
			val = []byte{}
		}
	}
	if err := state.VerifyProof(root, r.Key, val, p); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrProof, describeKey(r.Key), err)
	}
	return val, nil
}

// describeKey names a state tree key for error messages.
func describeKey(k []byte) string {
	switch {
	case len(k) == 21 && k[0] == state.AccountPrefix:
		return "account " + types.Address(k[1:21]).Hex()
	case len(k) == 33 && k[0] == state.CodePrefix:
		return "code " + types.Hash(k[1:33]).Hex()
	case len(k) >= 21 && k[0] == state.StoragePrefix:
		return fmt.Sprintf("storage %s key %s", types.Address(k[1:21]).Hex(), hexutil.Encode(k[21:]))
	}
	return "key " + hexutil.Encode(k)
}

// Account is a verified account with the storage values asked for.
type Account struct {
	Address  types.Address
	Nonce    uint64
	Balance  *uint256.Int
	CodeHash types.Hash
	Admin    types.Address
	// Storage maps each proven storage key (as a string) to its value; absent keys map
	// to nil.
	Storage map[string][]byte
}

// VerifyAccount checks an account bundle: the header by its certificate, then the account
// and every storage value by their proofs against its state root. addr is the address
// asked about.
func (v *Verifier) VerifyAccount(b *AccountBundle, addr types.Address) (*Account, *Verified, error) {
	return v.verifyAccount(b, addr, v.VerifyHeader)
}

// headerFunc verifies the certificate of an answer and returns its header: the
// Verifier's own check against its one trusted set, or a Client's.
type headerFunc func(*Certificate) (*types.Header, error)

func (v *Verifier) verifyAccount(b *AccountBundle, addr types.Address, header headerFunc) (*Account, *Verified, error) {
	if b.Address != addr {
		return nil, nil, fmt.Errorf("%w: asked for %s, answer is for %s", ErrQuestion, addr, b.Address)
	}
	hdr, err := header(&b.Cert)
	if err != nil {
		return nil, nil, err
	}
	if !bytes.Equal(b.Account.Key, state.AccountKey(addr)) {
		return nil, nil, fmt.Errorf("%w: account proof is for %s", ErrQuestion, describeKey(b.Account.Key))
	}
	enc, err := verifyRead(hdr.StateRoot, &b.Account)
	if err != nil {
		return nil, nil, err
	}
	out := &Account{Address: addr, Balance: new(uint256.Int), Storage: make(map[string][]byte, len(b.Storage))}
	if enc != nil {
		a, err := state.DecodeAccount(enc)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: account %s: %v", ErrMalformed, addr, err)
		}
		out.Nonce, out.Balance, out.CodeHash, out.Admin = a.Nonce, a.Balance, a.CodeHash, a.Admin
	}
	for i := range b.Storage {
		s := &b.Storage[i]
		if len(s.Key) > types.MaxStorageKeySize {
			return nil, nil, fmt.Errorf("%w: storage key of %d bytes", ErrMalformed, len(s.Key))
		}
		tk := state.StorageKey(addr, s.Key)
		r := StateRead{Key: tk, Value: s.Value, Proof: s.Proof}
		val, err := verifyRead(hdr.StateRoot, &r)
		if err != nil {
			return nil, nil, err
		}
		out.Storage[string(s.Key)] = val
	}
	return out, verified(hdr), nil
}

// VerifyReceipt checks a receipt bundle: the header by its certificate, then the receipt
// by its Merkle path to the header's receipt root. txHash is the transaction asked about.
func (v *Verifier) VerifyReceipt(b *ReceiptBundle, txHash types.Hash) (*types.Receipt, *Verified, error) {
	return v.verifyReceipt(b, txHash, v.VerifyHeader)
}

func (v *Verifier) verifyReceipt(b *ReceiptBundle, txHash types.Hash, header headerFunc) (*types.Receipt, *Verified, error) {
	hdr, err := header(&b.Cert)
	if err != nil {
		return nil, nil, err
	}
	r, err := types.DecodeReceipt(b.Receipt)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: receipt: %v", ErrMalformed, err)
	}
	if r.TxHash != txHash {
		return nil, nil, fmt.Errorf("%w: asked for tx %s, receipt is of %s", ErrQuestion, txHash, r.TxHash)
	}
	if r.Height != hdr.Height || r.Index != uint64(b.Index) {
		return nil, nil, fmt.Errorf("%w: receipt says block %d index %d, proof is for block %d index %d",
			ErrHeight, r.Height, r.Index, hdr.Height, uint64(b.Index))
	}
	if len(b.Path) > 64 {
		return nil, nil, fmt.Errorf("%w: Merkle path of %d hashes", ErrMalformed, len(b.Path))
	}
	if !types.VerifyMerkleProof(hdr.ReceiptRoot, r.Hash(), uint64(b.Index), uint64(b.Total), b.Path) {
		return nil, nil, fmt.Errorf("%w: receipt %d of %d does not lead to the receipt root %s of block %d",
			ErrProof, uint64(b.Index), uint64(b.Total), hdr.ReceiptRoot, hdr.Height)
	}
	return r, verified(hdr), nil
}

// CallResult is a verified call's outcome.
type CallResult struct {
	Output  []byte
	GasUsed uint64
	Err     string // "" when the call succeeded
	Events  []types.Event
}

// witnessState is the state a re-executed call runs on: the proven reads, nothing else.
type witnessState map[string][]byte

func (w witnessState) Get(key []byte) ([]byte, error) {
	v, ok := w[string(key)]
	if !ok {
		return nil, &missingKey{key: key}
	}
	return v, nil
}

// missingKey is the error of a read of a key the witness does not hold.
type missingKey struct{ key []byte }

func (e *missingKey) Error() string { return "missing from the witness: " + describeKey(e.key) }

// VerifyCall checks a call bundle: the header by its certificate, every read by its proof
// against the header's state root, then re-executes the call on those reads alone and
// compares its output, gas used, error and events with the node's claim. want, when not
// nil, is the call asked: the bundle must answer it (its gas may be lower, the node's
// cap). Cost: the header check, one proof check per read, and the call (with a cold VM,
// the compilation of each contract it enters).
func (v *Verifier) VerifyCall(ctx context.Context, b *CallBundle, want *Call) (*CallResult, *Verified, error) {
	return v.verifyCall(ctx, b, want, v.VerifyHeader)
}

func (v *Verifier) verifyCall(ctx context.Context, b *CallBundle, want *Call, header headerFunc) (*CallResult, *Verified, error) {
	if want != nil {
		if err := sameCall(want, &b.Call); err != nil {
			return nil, nil, err
		}
	}
	c := &b.Call
	switch {
	case uint64(c.Gas) > v.opts.MaxGas:
		return nil, nil, fmt.Errorf("%w: call gas %d above the verifier's limit %d", ErrMalformed, uint64(c.Gas), v.opts.MaxGas)
	case len(c.Method) == 0 || len(c.Method) > types.MaxMethodLen:
		return nil, nil, fmt.Errorf("%w: method of %d bytes", ErrMalformed, len(c.Method))
	case len(c.Args) > types.MaxArgsSize:
		return nil, nil, fmt.Errorf("%w: args of %d bytes", ErrMalformed, len(c.Args))
	case len(b.Reads) > chain.MaxWitnessKeys:
		return nil, nil, fmt.Errorf("%w: %d reads, limit %d", ErrMalformed, len(b.Reads), chain.MaxWitnessKeys)
	}
	hdr, err := header(&b.Cert)
	if err != nil {
		return nil, nil, err
	}
	w := make(witnessState, len(b.Reads))
	for i := range b.Reads {
		r := &b.Reads[i]
		if _, dup := w[string(r.Key)]; dup {
			return nil, nil, fmt.Errorf("%w: %s read twice", ErrMalformed, describeKey(r.Key))
		}
		val, err := verifyRead(hdr.StateRoot, r)
		if err != nil {
			return nil, nil, err
		}
		w[string(r.Key)] = val
	}
	machine, err := v.machine(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("light: %w", err)
	}
	msg := chain.CallMsg{From: c.From, To: c.To, Method: c.Method, Args: c.Args, Gas: uint64(c.Gas)}
	if c.Value != nil {
		msg.Value = (*uint256.Int)(c.Value)
	}
	res, err := chain.ExecCall(ctx, machine, hdr, w, msg, true)
	if err != nil {
		var mk *missingKey
		if errors.As(err, &mk) {
			return nil, nil, fmt.Errorf("%w: %s (re-executing %s.%s)", ErrWitnessMissing, describeKey(mk.key), c.To.Hex(), c.Method)
		}
		return nil, nil, fmt.Errorf("light: re-execute %s.%s: %w", c.To, c.Method, err)
	}
	got := &CallResult{Output: res.Output, GasUsed: res.GasUsed, Events: res.Events}
	if res.Err != nil {
		got.Err = res.Err.Error()
	}
	claim := &b.Result
	switch {
	case got.Err != claim.Error:
		return nil, nil, fmt.Errorf("%w: node says %q, re-execution gives %q", ErrCallError, errText(claim.Error), errText(got.Err))
	case !bytes.Equal(got.Output, claim.Output):
		return nil, nil, fmt.Errorf("%w: node says %s, re-execution gives %s", ErrOutput, short(claim.Output), short(got.Output))
	case got.GasUsed != uint64(claim.GasUsed):
		return nil, nil, fmt.Errorf("%w: node says %d, re-execution uses %d", ErrGas, uint64(claim.GasUsed), got.GasUsed)
	}
	if err := sameEvents(claim.Events, got.Events); err != nil {
		return nil, nil, err
	}
	return got, verified(hdr), nil
}

func errText(s string) string {
	if s == "" {
		return "success"
	}
	return s
}

func short(b []byte) string {
	if len(b) > 64 {
		return hexutil.Encode(b[:64]) + "…"
	}
	return hexutil.Encode(b)
}

func sameEvents(claim []Event, got []types.Event) error {
	if len(claim) != len(got) {
		return fmt.Errorf("%w: node says %d events, re-execution emits %d", ErrEvents, len(claim), len(got))
	}
	for i, e := range got {
		c := claim[i]
		if c.Contract != e.Contract || !bytes.Equal(c.Topic, e.Topic) || !bytes.Equal(c.Data, e.Data) {
			return fmt.Errorf("%w: event %d differs", ErrEvents, i)
		}
	}
	return nil
}

// sameCall reports whether got answers the call want.
func sameCall(want, got *Call) error {
	wv, gv := new(uint256.Int), new(uint256.Int)
	if want.Value != nil {
		wv = (*uint256.Int)(want.Value)
	}
	if got.Value != nil {
		gv = (*uint256.Int)(got.Value)
	}
	switch {
	case want.From != got.From, want.To != got.To, want.Method != got.Method, !bytes.Equal(want.Args, got.Args), !wv.Eq(gv):
		return fmt.Errorf("%w: asked %s.%s, the bundle answers %s.%s with other from, args or value", ErrQuestion, want.To, want.Method, got.To, got.Method)
	case want.Gas != 0 && got.Gas != want.Gas:
		// Exactly the gas asked: a contract may read the gas it has left (gas_left), so a
		// run with less is an answer to another question.
		return fmt.Errorf("%w: asked gas %d, the bundle ran with %d", ErrQuestion, uint64(want.Gas), uint64(got.Gas))
	}
	return nil
}

// Verify checks any decoded bundle (see Decode) without a question to match: the
// offline check of a saved answer. It returns a *CallResult, *Account or *types.Receipt.
func (v *Verifier) Verify(ctx context.Context, bundle any) (any, *Verified, error) {
	return v.verify(ctx, bundle, v.VerifyHeader)
}

func (v *Verifier) verify(ctx context.Context, bundle any, header headerFunc) (any, *Verified, error) {
	switch b := bundle.(type) {
	case *CallBundle:
		return v.verifyCall(ctx, b, nil, header)
	case *AccountBundle:
		return v.verifyAccount(b, b.Address, header)
	case *ReceiptBundle:
		r, err := types.DecodeReceipt(b.Receipt)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: receipt: %v", ErrMalformed, err)
		}
		return v.verifyReceipt(b, r.TxHash, header)
	}
	return nil, nil, fmt.Errorf("%w: %T is not a bundle", ErrMalformed, bundle)
}

// ProvenReader is a state.Reader of the state under Root that trusts nothing it is
// given: Fetch supplies the read of a key (its value and proof, from a node or a saved
// bundle) and Get returns the value only once its proof against Root checks out. A failed
// fetch or proof is the read's error, which a state.StateDB over the reader records
// (StateDB.Err). It reads each key once. Not safe for concurrent use.
type ProvenReader struct {
	Root  types.Hash
	Fetch func(key []byte) (*StateRead, error)

	seen map[string][]byte
}

// Get implements state.Reader.
func (r *ProvenReader) Get(key []byte) ([]byte, error) {
	if v, ok := r.seen[string(key)]; ok {
		return v, nil
	}
	sr, err := r.Fetch(key)
	if err != nil {
		return nil, fmt.Errorf("light: fetch %s: %w", describeKey(key), err)
	}
	if !bytes.Equal(sr.Key, key) {
		return nil, fmt.Errorf("%w: asked for %s, given %s", ErrQuestion, describeKey(key), describeKey(sr.Key))
	}
	v, err := verifyRead(r.Root, sr)
	if err != nil {
		return nil, err
	}
	if r.seen == nil {
		r.seen = make(map[string][]byte)
	}
	r.seen[string(key)] = v
	return v, nil
}
