package types

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/holiman/uint256"
)

// TxKind says what a transaction does.
type TxKind uint8

// Transaction kinds, fixed by the wire spec (docs/spec/wire.md).
const (
	TxTransfer TxKind = 0 // move value to To
	TxDeploy   TxKind = 1 // create a contract from Code, run its init with Args
	TxInvoke   TxKind = 2 // call Method of contract To with Args and Value
	TxUpgrade  TxKind = 3 // admin only: replace the code of To, run its migrate
	// TxValidatorPropose: a validator proposes a validator set change (Args: a
	// ValidatorChange); its proposer's vote is counted with it.
	TxValidatorPropose TxKind = 4
	// TxValidatorVote: a validator votes for an open proposal (Args: a ValidatorVote).
	TxValidatorVote TxKind = 5
)

func (k TxKind) String() string {
	switch k {
	case TxTransfer:
		return "transfer"
	case TxDeploy:
		return "deploy"
	case TxInvoke:
		return "invoke"
	case TxUpgrade:
		return "upgrade"
	case TxValidatorPropose:
		return "validatorPropose"
	case TxValidatorVote:
		return "validatorVote"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Size limits of a transaction, enforced by DecodeTx and ValidateBasic so that nothing
// larger ever reaches the mempool, gossip or execution.
const (
	MaxTxSize    = 1 << 20   // encoded transaction, bytes
	MaxMethodLen = 128       // method name, bytes
	MaxArgsSize  = 256 << 10 // call arguments, bytes
	MaxCodeSize  = 900 << 10 // deployed code as sent (raw or gzip), bytes; the VM limits further
	SignatureLen = 65        // [R || S || V], V in {0, 1}
)

// Errors returned when a transaction is malformed or wrongly signed.
var (
	ErrTxTooLarge       = errors.New("tx too large")
	ErrInvalidSig       = errors.New("invalid signature")
	ErrInvalidKind      = errors.New("invalid tx kind")
	ErrInvalidTxField   = errors.New("invalid tx field")
	ErrWrongChainID     = errors.New("wrong chain id")
	errMissingSignature = fmt.Errorf("%w: missing", ErrInvalidSig)
)

// Tx is a signed transaction: RLP list [chainID, nonce, gasPrice, gasLimit, kind, to,
// value, method, args, code, sig]. The signature covers keccak256 of the RLP of every field
// before sig. A Tx is immutable once signed; Hash and Sender are cached.
type Tx struct {
	ChainID  uint64
	Nonce    uint64
	GasPrice *uint256.Int
	GasLimit uint64
	Kind     TxKind
	To       Address // zero for deploy
	Value    *uint256.Int
	Method   string
	Args     []byte
	Code     []byte
	Sig      []byte

	hash   atomic.Pointer[Hash]
	sender atomic.Pointer[Address]
	size   atomic.Int64 // encoded size once known; 0 = not yet
}

// txRLP is the wire layout of Tx; unsigned is the same without Sig.
type txRLP struct {
	ChainID  uint64
	Nonce    uint64
	GasPrice *uint256.Int
	GasLimit uint64
	Kind     uint8
	To       Address
	Value    *uint256.Int
	Method   string
	Args     []byte
	Code     []byte
	Sig      []byte
}

type txUnsignedRLP struct {
	ChainID  uint64
	Nonce    uint64
	GasPrice *uint256.Int
	GasLimit uint64
	Kind     uint8
	To       Address
	Value    *uint256.Int
	Method   string
	Args     []byte
	Code     []byte
}

func u256OrZero(v *uint256.Int) *uint256.Int {
	if v == nil {
		return new(uint256.Int)
	}
	return v
}

// SigningHash is keccak256 of the RLP of every field before the signature.
func (tx *Tx) SigningHash() Hash { return signingHash(tx) }

// Encode returns the canonical RLP encoding of the whole transaction.
func (tx *Tx) Encode() []byte { return encodeTx(tx, true) }

// Hash is keccak256 of the RLP of the whole transaction, signature included.
func (tx *Tx) Hash() Hash {
	if h := tx.hash.Load(); h != nil {
		return *h
	}
	h := crypto.Keccak256Hash(tx.Encode())
	tx.hash.Store(&h)
	return h
}

// Size is the length of the transaction's encoding in bytes, cached after the first call
// (a signed Tx is immutable).
func (tx *Tx) Size() int {
	if n := tx.size.Load(); n > 0 {
		return int(n)
	}
	n := len(tx.Encode())
	tx.size.Store(int64(n))
	return n
}

// Sign signs tx with key, filling Sig. Call it after every other field is set.
func (tx *Tx) Sign(key *ecdsa.PrivateKey) error {
	sig, err := crypto.Sign(tx.SigningHash().Bytes(), key)
	if err != nil {
		return fmt.Errorf("sign tx: %w", err)
	}
	tx.Sig = sig
	tx.hash.Store(nil)
	tx.size.Store(0)
	addr := crypto.PubkeyToAddress(key.PublicKey)
	tx.sender.Store(&addr)
	return nil
}

// Sender recovers the signer's address from Sig, enforcing 65 bytes, V in {0,1} and low S.
// The result is cached; recovery costs 25-50 µs, the largest cost of a tx on a node.
func (tx *Tx) Sender() (Address, error) {
	if a := tx.sender.Load(); a != nil {
		return *a, nil
	}
	senderRecoveries.Add(1)
	addr, err := RecoverAddress(tx.SigningHash(), tx.Sig)
	if err != nil {
		return Address{}, err
	}
	tx.sender.Store(&addr)
	return addr, nil
}

// senderRecoveries counts the recoveries Sender made in this process.
var senderRecoveries atomic.Uint64

// SenderRecoveries is the number of tx senders this process has recovered from their
// signatures (Sender without a cached result). A node should recover each tx once,
// however many copies of it reach the node by RPC, gossip and blocks; the network tests
// check it with this count.
func SenderRecoveries() uint64 { return senderRecoveries.Load() }

// RecoverAddress returns the address that produced sig over hash. The signature must be
// 65 bytes [R || S || V] with V in {0, 1}, R and S in range and S in the lower half of the
// curve order (no malleable signatures).
func RecoverAddress(hash Hash, sig []byte) (Address, error) {
	if len(sig) == 0 {
		return Address{}, errMissingSignature
	}
	if len(sig) != SignatureLen {
		return Address{}, fmt.Errorf("%w: length %d, want %d", ErrInvalidSig, len(sig), SignatureLen)
	}
	var r, s uint256.Int
	r.SetBytes(sig[:32])
	s.SetBytes(sig[32:64])
	if v := sig[64]; v > 1 || r.IsZero() || s.IsZero() || !r.Lt(secp256k1N) || s.Gt(secp256k1HalfN) {
		return Address{}, fmt.Errorf("%w: r, s or v out of range (high S?)", ErrInvalidSig)
	}
	// Ecrecover answers the public key as libsecp256k1 computed it, a point on the curve:
	// going through crypto.SigToPub would check that again with math/big, 7% of a
	// recovery, as go-ethereum's own sender recovery knows.
	pub, err := crypto.Ecrecover(hash.Bytes(), sig)
	if err != nil {
		return Address{}, fmt.Errorf("%w: %v", ErrInvalidSig, err)
	}
	if len(pub) != 65 || pub[0] != 4 {
		return Address{}, fmt.Errorf("%w: recovered key of %d bytes", ErrInvalidSig, len(pub))
	}
	var addr Address
	copy(addr[:], crypto.Keccak256(pub[1:])[12:])
	return addr, nil
}

// secp256k1N is the order of the secp256k1 group, secp256k1HalfN half of it: the bounds
// of a signature's r and (low) s.
var (
	secp256k1N     = uint256.MustFromHex("0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
	secp256k1HalfN = new(uint256.Int).Rsh(secp256k1N, 1)
)

// ValidateBasic checks everything about tx that needs no state: sizes, kind, the fields
// each kind requires and forbids, the chain id and the signature. It recovers the sender.
func (tx *Tx) ValidateBasic(chainID uint64) error {
	if err := tx.CheckFields(chainID); err != nil {
		return err
	}
	if _, err := tx.Sender(); err != nil {
		return err
	}
	return nil
}

// CheckFields is ValidateBasic without the signature: chain id, sizes, kind and the fields
// each kind requires and forbids. It costs no signature recovery.
func (tx *Tx) CheckFields(chainID uint64) error {
	if tx.ChainID != chainID {
		return fmt.Errorf("%w: tx has %d, chain is %d", ErrWrongChainID, tx.ChainID, chainID)
	}
	return tx.validateFields()
}

func (tx *Tx) validateFields() error {
	if len(tx.Method) > MaxMethodLen {
		return fmt.Errorf("%w: method is %d bytes, limit %d", ErrInvalidTxField, len(tx.Method), MaxMethodLen)
	}
	if len(tx.Args) > MaxArgsSize {
		return fmt.Errorf("%w: args are %d bytes, limit %d", ErrInvalidTxField, len(tx.Args), MaxArgsSize)
	}
	if len(tx.Code) > MaxCodeSize {
		return fmt.Errorf("%w: code is %d bytes, limit %d", ErrInvalidTxField, len(tx.Code), MaxCodeSize)
	}
	var zero Address
	switch tx.Kind {
	case TxTransfer:
		if tx.Method != "" || len(tx.Args) != 0 || len(tx.Code) != 0 {
			return fmt.Errorf("%w: transfer takes no method, args or code", ErrInvalidTxField)
		}
	case TxDeploy:
		if tx.To != zero {
			return fmt.Errorf("%w: deploy must have an empty to", ErrInvalidTxField)
		}
		if len(tx.Code) == 0 {
			return fmt.Errorf("%w: deploy without code", ErrInvalidTxField)
		}
		if tx.Method != "" {
			return fmt.Errorf("%w: deploy takes no method", ErrInvalidTxField)
		}
	case TxInvoke:
		if tx.Method == "" {
			return fmt.Errorf("%w: invoke without method", ErrInvalidTxField)
		}
		if len(tx.Code) != 0 {
			return fmt.Errorf("%w: invoke takes no code", ErrInvalidTxField)
		}
	case TxUpgrade:
		if tx.To == zero {
			return fmt.Errorf("%w: upgrade without contract address", ErrInvalidTxField)
		}
		if len(tx.Code) == 0 {
			return fmt.Errorf("%w: upgrade without code", ErrInvalidTxField)
		}
		if tx.Method != "" {
			return fmt.Errorf("%w: upgrade takes no method", ErrInvalidTxField)
		}
	case TxValidatorPropose, TxValidatorVote:
		if tx.To != zero || tx.Method != "" || len(tx.Code) != 0 || (tx.Value != nil && !tx.Value.IsZero()) {
			return fmt.Errorf("%w: %s takes no to, method, code or value", ErrInvalidTxField, tx.Kind)
		}
		var err error
		if tx.Kind == TxValidatorPropose {
			_, err = DecodeValidatorChange(tx.Args)
		} else {
			_, err = DecodeValidatorVote(tx.Args)
		}
		if err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: %d", ErrInvalidKind, uint8(tx.Kind))
	}
	return nil
}

// DecodeTx strictly decodes a transaction: canonical RLP only, no trailing bytes, size
// limits, a known kind with well-formed fields. It does not check the signature (see
// ValidateBasic), so it is cheap enough to run on every gossiped byte.
//
// It reads the fields straight off the RLP (rlp.Split*) into one allocation for the Tx
// and its numbers and one for its byte fields: every tx is decoded at least twice per
// node (gossip or RPC, then the proposal), and decoding through reflection cost 13
// allocations and a re-encoding to check canonicity. Every element is checked canonical
// as it is read (sizes by rlp.Split, integers without leading zeros), so the encoding
// of a decoded tx is the input itself.
func DecodeTx(b []byte) (*Tx, error) {
	if len(b) > MaxTxSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTxTooLarge, len(b), MaxTxSize)
	}
	d, err := decodeTxFields(b)
	if err != nil {
		return nil, fmt.Errorf("decode tx: %w", err)
	}
	tx := &d.tx
	if err := tx.validateFields(); err != nil {
		return nil, fmt.Errorf("decode tx: %w", err)
	}
	if len(tx.Sig) != SignatureLen {
		return nil, fmt.Errorf("decode tx: %w: length %d, want %d", ErrInvalidSig, len(tx.Sig), SignatureLen)
	}
	d.hash = crypto.Keccak256Hash(b)
	tx.hash.Store(&d.hash)
	tx.size.Store(int64(len(b)))
	return tx, nil
}

// decodedTx is a Tx with its numbers and hash, allocated together by DecodeTx.
type decodedTx struct {
	tx              Tx
	gasPrice, value uint256.Int
	hash            Hash
}

// errTxFields is the error of a tx that is not an RLP list of the 11 fields.
var errTxFields = errors.New("not a list of the 11 tx fields")

// decodeTxFields reads the RLP list [chainID, nonce, gasPrice, gasLimit, kind, to,
// value, method, args, code, sig] with nothing after it, each element canonical.
func decodeTxFields(b []byte) (*decodedTx, error) {
	body, rest, err := rlp.SplitList(b)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%d trailing bytes", len(rest))
	}
	d := new(decodedTx)
	tx := &d.tx
	if tx.ChainID, body, err = rlp.SplitUint64(body); err != nil {
		return nil, fmt.Errorf("chain id: %w", err)
	}
	if tx.Nonce, body, err = rlp.SplitUint64(body); err != nil {
		return nil, fmt.Errorf("nonce: %w", err)
	}
	if body, err = splitU256(body, &d.gasPrice); err != nil {
		return nil, fmt.Errorf("gas price: %w", err)
	}
	tx.GasPrice = &d.gasPrice
	if tx.GasLimit, body, err = rlp.SplitUint64(body); err != nil {
		return nil, fmt.Errorf("gas limit: %w", err)
	}
	var kind uint64
	if kind, body, err = rlp.SplitUint64(body); err != nil {
		return nil, fmt.Errorf("kind: %w", err)
	}
	if kind > 0xff {
		return nil, fmt.Errorf("kind: %d does not fit a byte", kind)
	}
	tx.Kind = TxKind(kind)
	var to []byte
	if to, body, err = splitString(body); err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	if len(to) != len(tx.To) {
		return nil, fmt.Errorf("to: %d bytes, want %d", len(to), len(tx.To))
	}
	copy(tx.To[:], to)
	if body, err = splitU256(body, &d.value); err != nil {
		return nil, fmt.Errorf("value: %w", err)
	}
	tx.Value = &d.value
	var method, args, code, sig []byte
	if method, body, err = splitString(body); err != nil {
		return nil, fmt.Errorf("method: %w", err)
	}
	if args, body, err = splitString(body); err != nil {
		return nil, fmt.Errorf("args: %w", err)
	}
	if code, body, err = splitString(body); err != nil {
		return nil, fmt.Errorf("code: %w", err)
	}
	if sig, body, err = splitString(body); err != nil {
		return nil, fmt.Errorf("sig: %w", err)
	}
	if len(body) != 0 {
		return nil, errTxFields
	}
	tx.Method = string(method)
	// The byte fields are copied (the input may be a gossip batch or a block, which a
	// pooled tx must not keep alive) into one buffer, never empty, so that each field is
	// a non-nil slice as reflection decoding made it.
	buf := make([]byte, 0, len(args)+len(code)+len(sig)+1)
	tx.Args, buf = appendField(buf, args)
	tx.Code, buf = appendField(buf, code)
	tx.Sig, _ = appendField(buf, sig)
	return d, nil
}

// appendField appends f to buf and returns its copy, with no room to grow into the
// fields after it.
func appendField(buf, f []byte) (field, next []byte) {
	n := len(buf)
	buf = append(buf, f...)
	return buf[n:len(buf):len(buf)], buf
}

// splitString is rlp.SplitString, with a missing element an error of its own.
func splitString(b []byte) (content, rest []byte, err error) {
	if len(b) == 0 {
		return nil, nil, errTxFields
	}
	return rlp.SplitString(b)
}

// splitU256 reads a canonical RLP integer of at most 256 bits into x.
func splitU256(b []byte, x *uint256.Int) (rest []byte, err error) {
	content, rest, err := splitString(b)
	if err != nil {
		return nil, err
	}
	switch {
	case len(content) > 32:
		return nil, fmt.Errorf("%d bytes, more than 256 bits", len(content))
	case len(content) > 0 && content[0] == 0:
		return nil, rlp.ErrCanonInt
	}
	x.SetBytes(content)
	return rest, nil
}

// ContractAddress is the address of the contract deployed by sender with nonce:
// keccak256(RLP[sender, nonce])[12:].
func ContractAddress(sender Address, nonce uint64) Address {
	b, _ := rlp.EncodeToBytes([]any{sender, nonce})
	return Address(crypto.Keccak256(b)[12:])
}
