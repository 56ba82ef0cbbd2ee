package light

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/wnode/wnode/types"
)

// Bundle kinds (the "kind" field).
const (
	KindCall    = "call"
	KindAccount = "account"
	KindReceipt = "receipt"
)

// BundleVersion is the version of the bundle format this package writes and reads.
const BundleVersion = 1

// MaxBundleSize bounds a bundle document: MaxWitnessKeys proofs and values of a call fit
// well below it.
const MaxBundleSize = 64 << 20

// Certificate proves a header: the header, the commit certificate that decided it and the
// validator set that signed it. Header and Commit are their canonical RLP encodings, the
// bytes that are hashed and signed.
type Certificate struct {
	Header     hexutil.Bytes `json:"header"`
	Commit     hexutil.Bytes `json:"commit"`
	Validators []Validator   `json:"validators"`
}

// Validator is a member of a validator set.
type Validator struct {
	Address types.Address  `json:"address"`
	PubKey  hexutil.Bytes  `json:"pubKey"` // compressed secp256k1, 33 bytes
	Power   hexutil.Uint64 `json:"power"`
}

// NewCertificate builds the certificate of hdr.
func NewCertificate(hdr *types.Header, commit *types.Commit, vs *types.ValidatorSet) Certificate {
	c := Certificate{Header: hdr.Encode(), Commit: commit.Encode(), Validators: make([]Validator, vs.Len())}
	for i := range vs.Len() {
		v := vs.At(i)
		c.Validators[i] = Validator{Address: v.Address, PubKey: v.PubKey, Power: hexutil.Uint64(v.Power)}
	}
	return c
}

// StateRead is one state tree key (state.AccountKey, CodeKey or StorageKey) with its value
// (null: absent) and the encoded state.Proof of it.
type StateRead struct {
	Key   hexutil.Bytes  `json:"key"`
	Value *hexutil.Bytes `json:"value"`
	Proof hexutil.Bytes  `json:"proof"`
}

// Call is the read-only call a CallBundle answers. Gas is the limit the node ran it with
// (its cap applied); a verifier re-runs it with exactly that.
type Call struct {
	From   types.Address  `json:"from"`
	To     types.Address  `json:"to"`
	Method string         `json:"method"`
	Args   hexutil.Bytes  `json:"args"`
	Value  *hexutil.U256  `json:"value"`
	Gas    hexutil.Uint64 `json:"gas"`
}

// Outcome is what a node says a call did.
type Outcome struct {
	Output  hexutil.Bytes  `json:"output"`
	GasUsed hexutil.Uint64 `json:"gasUsed"`
	Error   string         `json:"error"` // "" on success; else the revert, trap or out-of-gas reason
	Events  []Event        `json:"events"`
}

// Event is an event a call emitted.
type Event struct {
	Contract types.Address `json:"contract"`
	Topic    hexutil.Bytes `json:"topic"`
	Data     hexutil.Bytes `json:"data"`
}

// CallBundle is a read-only call's answer with its witness: the call, what the node says
// it did, every state key it read with proofs, and the certificate of the height it ran
// on. It is self-contained: Verifier.VerifyCall needs nothing else.
type CallBundle struct {
	Kind    string      `json:"kind"`
	Version int         `json:"version"`
	Call    Call        `json:"call"`
	Result  Outcome     `json:"result"`
	Reads   []StateRead `json:"reads"`
	Cert    Certificate `json:"certificate"`
}

// AccountBundle is an account and some of its storage with proofs (wn_getProof). Account
// is the read of state.AccountKey(Address); Storage[i].Key is a contract storage key
// (not a tree key).
type AccountBundle struct {
	Kind    string        `json:"kind"`
	Version int           `json:"version"`
	Address types.Address `json:"address"`
	Account StateRead     `json:"account"`
	Storage []StateRead   `json:"storage"`
	Cert    Certificate   `json:"certificate"`
}

// ReceiptBundle is a receipt (its RLP encoding) with its Merkle audit path to the
// ReceiptRoot of the certified header: it is receipt Index of Total in the block.
type ReceiptBundle struct {
	Kind    string         `json:"kind"`
	Version int            `json:"version"`
	Receipt hexutil.Bytes  `json:"receipt"`
	Index   hexutil.Uint64 `json:"index"`
	Total   hexutil.Uint64 `json:"total"`
	Path    []types.Hash   `json:"path"`
	Cert    Certificate    `json:"certificate"`
}

// Decode decodes a bundle document strictly: one JSON object of a known kind and
// version, no unknown fields, no trailing data, at most MaxBundleSize bytes. It returns a
// *CallBundle, *AccountBundle or *ReceiptBundle. It never panics.
func Decode(data []byte) (any, error) {
	if len(data) > MaxBundleSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrMalformed, len(data), MaxBundleSize)
	}
	var head struct {
		Kind    string `json:"kind"`
		Version int    `json:"version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if head.Version != BundleVersion {
		return nil, fmt.Errorf("%w: version %d, this client reads %d", ErrMalformed, head.Version, BundleVersion)
	}
	var out any
	switch head.Kind {
	case KindCall:
		out = new(CallBundle)
	case KindAccount:
		out = new(AccountBundle)
	case KindReceipt:
		out = new(ReceiptBundle)
	default:
		return nil, fmt.Errorf("%w: unknown kind %q", ErrMalformed, truncate(head.Kind, 40))
	}
	if err := decodeStrict(data, out); err != nil {
		return nil, err
	}
	return out, nil
}

func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: trailing data after the bundle", ErrMalformed)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
