// Package genesis defines the genesis file of a wnode chain: its JSON format, strict
// parsing, validation, canonical hash and the initial state it describes (height 0).
package genesis

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/holiman/uint256"

	"github.com/wnode/wnode/gas"
	"github.com/wnode/wnode/types"
)

// MaxFileSize bounds a genesis file (contract code inlined as hex included).
const MaxFileSize = 64 << 20

// ErrInvalid is wrapped by every error Parse and Validate return about the content of a
// genesis file.
var ErrInvalid = errors.New("invalid genesis")

// Genesis is a parsed genesis file. Contract code given as a file path is read by Parse,
// so a Genesis is self-contained; MarshalJSON writes code as 0x hex.
type Genesis struct {
	ChainID     uint64      `json:"chain_id"`
	GenesisTime time.Time   `json:"genesis_time"` // RFC 3339; the genesis header's time
	Params      Params      `json:"params"`
	Validators  []Validator `json:"validators"`
	Accounts    []Account   `json:"accounts"`
	Contracts   []Contract  `json:"contracts"`
}

// Params are the consensus parameters every node must agree on. Fields missing from the
// file take the value of DefaultParams.
type Params struct {
	// BlockGasLimit bounds the gas of all transactions of a block (their gas limits at
	// pre-check, their gas used as included).
	BlockGasLimit uint64 `json:"block_gas_limit"`
	// MaxBlockBytes bounds the summed encoded size of a block's transactions.
	MaxBlockBytes uint64 `json:"max_block_bytes"`
	// MaxTxBytes bounds one encoded transaction (at most types.MaxTxSize).
	MaxTxBytes uint64 `json:"max_tx_bytes"`
	// MinGasPrice is the lowest gas price a block may include.
	MinGasPrice Amount `json:"min_gas_price"`
	// GasScheduleVersion selects the gas schedule (gas.ByVersion).
	GasScheduleVersion uint32 `json:"gas_schedule_version"`
	// ValidatorProposalBlocks is the number of blocks a validator set change proposal
	// stays open for votes: proposed at height h, it can pass up to height h + this - 1
	// and expires after (docs/rationale/validators.md).
	ValidatorProposalBlocks uint64 `json:"validator_proposal_blocks"`
}

// Limits of the params that Validate enforces.
const (
	// MaxBlockBytesLimit is the largest allowed MaxBlockBytes: blocks are gossiped and
	// synced whole, and types.MaxBlockSize caps what a node decodes.
	MaxBlockBytesLimit = 16 << 20
	// MinBlockGasLimit is the smallest allowed BlockGasLimit: enough for one deploy of a
	// small contract.
	MinBlockGasLimit = 1_000_000
	// MaxValidatorProposalBlocks bounds ValidatorProposalBlocks: about 3 years of 1 s
	// blocks, far more than any vote needs.
	MaxValidatorProposalBlocks = 100_000_000
)

// DefaultParams returns the parameters used for fields a genesis file leaves out. See
// docs/rationale/chain.md for the figures.
func DefaultParams() Params {
	return Params{
		BlockGasLimit:      500_000_000, // ~0.5 s of execution on the reference machine
		MaxBlockBytes:      4 << 20,
		MaxTxBytes:         types.MaxTxSize,
		MinGasPrice:        AmountOf(1),
		GasScheduleVersion: 1,
		// 14,400 blocks: 8 hours at the 2 s heartbeat of an idle chain, less under load.
		ValidatorProposalBlocks: 14_400,
	}
}

// Validator is a member of the initial validator set.
type Validator struct {
	// Address is derived from PubKey; the file may omit it, and when present it must match.
	Address types.Address `json:"address"`
	// PubKey is the 33-byte compressed secp256k1 public key, 0x hex.
	PubKey hexutil.Bytes `json:"pub_key"`
	// Power is the voting power, > 0.
	Power uint64 `json:"power"`
	// Name is a human-readable label; it is not part of consensus but is hashed.
	Name string `json:"name,omitempty"`
}

// Account is a funded account at genesis.
type Account struct {
	Address types.Address `json:"address"`
	Balance Amount        `json:"balance"`
	Nonce   uint64        `json:"nonce,omitempty"`
}

// Contract is a contract installed at genesis, with its storage. Its init is not run:
// the storage given here is its initial state.
type Contract struct {
	Address types.Address `json:"address"`
	// Code is raw Wasm. In the file it is 0x hex or a path to a .wasm file, relative to
	// the genesis file's directory.
	Code    Code          `json:"code"`
	Admin   types.Address `json:"admin,omitempty"`
	Balance Amount        `json:"balance,omitzero"`
	Storage Storage       `json:"storage,omitempty"`
}

// Code is contract code. In JSON it is a 0x hex string or a file path; Parse reads paths.
type Code struct {
	Bytes []byte
	path  string
}

// MarshalJSON writes the code as 0x hex.
func (c Code) MarshalJSON() ([]byte, error) { return json.Marshal(hexutil.Bytes(c.Bytes)) }

// UnmarshalJSON accepts 0x hex, or anything else as a path to be read by Parse.
func (c *Code) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("code: want a 0x hex string or a file path: %w", err)
	}
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		bs, err := hexutil.Decode(s)
		if err != nil {
			return fmt.Errorf("code: %w", err)
		}
		*c = Code{Bytes: bs}
		return nil
	}
	if s == "" {
		return errors.New("code: empty")
	}
	*c = Code{path: s}
	return nil
}

// StorageEntry is one key/value pair of a contract's genesis storage.
type StorageEntry struct {
	Key, Value []byte
}

// Storage is a contract's genesis storage: in JSON an object {"0xkey": "0xvalue"}. It
// keeps the file's order; duplicate keys are an error (caught at decoding and, after hex
// normalisation, by Validate).
type Storage []StorageEntry

// MarshalJSON writes the storage as a JSON object of 0x hex keys and values, in order.
func (s Storage) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(hexutil.Encode(e.Key))
		v, _ := json.Marshal(hexutil.Encode(e.Value))
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads a JSON object of 0x hex keys and values, keeping the file's order
// and rejecting duplicate keys (encoding/json would silently keep the last one).
func (s *Storage) UnmarshalJSON(b []byte) error {
	d := json.NewDecoder(bytes.NewReader(b))
	tok, err := d.Token()
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	if tok != json.Delim('{') {
		return errors.New("storage: want an object of 0x hex keys and values")
	}
	var out Storage
	seen := map[string]bool{}
	for d.More() {
		kt, err := d.Token()
		if err != nil {
			return fmt.Errorf("storage: %w", err)
		}
		ks := kt.(string) // object keys are always strings
		if seen[ks] {
			return fmt.Errorf("storage: duplicate key %q", ks)
		}
		seen[ks] = true
		var vs string
		if err := d.Decode(&vs); err != nil {
			return fmt.Errorf("storage %q: value: %w", ks, err)
		}
		k, err := hexutil.Decode(ks)
		if err != nil {
			return fmt.Errorf("storage key %q: %w", ks, err)
		}
		v, err := hexutil.Decode(vs)
		if err != nil {
			return fmt.Errorf("storage %q: value %q: %w", ks, vs, err)
		}
		out = append(out, StorageEntry{Key: k, Value: v})
	}
	if _, err := d.Token(); err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	*s = out
	return nil
}

// Amount is a uint256 quantity of the native coin. In JSON it is a decimal string
// ("1000"), a 0x hex string ("0x3e8") or a non-negative integer number (1000).
type Amount struct{ v uint256.Int }

// AmountOf returns the Amount n.
func AmountOf(n uint64) Amount {
	var a Amount
	a.v.SetUint64(n)
	return a
}

// AmountFromBig returns the Amount n; n must be in [0, 2^256).
func AmountFromBig(n *big.Int) (Amount, error) {
	var a Amount
	if n.Sign() < 0 || a.v.SetFromBig(n) {
		return Amount{}, fmt.Errorf("amount %s out of range", n)
	}
	return a, nil
}

// Int returns a copy of the amount as a uint256.
func (a Amount) Int() *uint256.Int { return new(uint256.Int).Set(&a.v) }

// IsZero reports whether the amount is zero (and lets omitzero drop it).
func (a Amount) IsZero() bool { return a.v.IsZero() }

// String returns the amount in decimal.
func (a Amount) String() string { return a.v.Dec() }

// MarshalJSON writes the amount as a decimal string.
func (a Amount) MarshalJSON() ([]byte, error) { return json.Marshal(a.v.Dec()) }

// UnmarshalJSON reads a decimal or 0x hex string, or an integer number.
func (a *Amount) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	if s == "" {
		return errors.New("amount: empty")
	}
	var v uint256.Int
	var err error
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		err = v.SetFromHex(s)
	} else {
		for _, r := range s {
			if r < '0' || r > '9' {
				return fmt.Errorf("amount %q: want a non-negative integer (decimal or 0x hex)", s)
			}
		}
		err = v.SetFromDecimal(s)
	}
	if err != nil {
		return fmt.Errorf("amount %q: %w", s, err)
	}
	a.v = v
	return nil
}

// Load reads and parses the genesis file at path; contract code paths are relative to
// the file's directory. It does not validate: call Validate.
func Load(path string) (*Genesis, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("genesis: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("genesis: %w", err)
	}
	if st.Size() > MaxFileSize {
		return nil, fmt.Errorf("genesis: %s is %d bytes, limit %d", path, st.Size(), MaxFileSize)
	}
	data := make([]byte, st.Size())
	if _, err := f.ReadAt(data, 0); err != nil {
		return nil, fmt.Errorf("genesis: read %s: %w", path, err)
	}
	g, err := Parse(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("genesis %s: %w", path, err)
	}
	return g, nil
}

// Parse decodes a genesis file strictly: unknown fields, trailing data and malformed
// values are errors. Contract code given as a path is read relative to dir; with dir ""
// paths are refused, which keeps parsing of untrusted bytes free of file access. Params
// missing from the file take DefaultParams. It does not validate: call Validate.
func Parse(data []byte, dir string) (*Genesis, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrInvalid, len(data), MaxFileSize)
	}
	g := &Genesis{Params: DefaultParams()}
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(g); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if rest := bytes.TrimSpace(data[d.InputOffset():]); len(rest) != 0 {
		return nil, fmt.Errorf("%w: trailing data after the JSON object", ErrInvalid)
	}
	for i := range g.Contracts {
		c := &g.Contracts[i]
		if c.Code.path == "" {
			continue
		}
		if dir == "" {
			return nil, fmt.Errorf("%w: contracts[%d]: code path %q not allowed here (use 0x hex)", ErrInvalid, i, c.Code.path)
		}
		p := c.Code.path
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		code, err := readCode(p)
		if err != nil {
			return nil, fmt.Errorf("%w: contracts[%d]: %v", ErrInvalid, i, err)
		}
		c.Code = Code{Bytes: code}
	}
	return g, nil
}

func readCode(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("code: %w", err)
	}
	if st.Size() > types.MaxCodeSize {
		return nil, fmt.Errorf("code %s: %d bytes, limit %d", path, st.Size(), types.MaxCodeSize)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("code: %w", err)
	}
	return b, nil
}

// Marshal returns the genesis as indented JSON, code inlined as hex. Parse(Marshal(g))
// gives a genesis with the same Hash.
func (g *Genesis) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("genesis: marshal: %w", err)
	}
	return append(b, '\n'), nil
}

// Save writes the genesis as JSON to path (mode 0644).
func (g *Genesis) Save(path string) error {
	b, err := g.Marshal()
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("genesis: %w", err)
	}
	return nil
}

var wasmMagic = []byte{0x00, 'a', 's', 'm'}

// Validate checks the genesis and returns every problem found (joined), each wrapping
// ErrInvalid and naming the entry at fault. It fills in validator addresses left empty.
func (g *Genesis) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...))
	}
	if g.ChainID == 0 {
		bad("chain_id is 0")
	}
	if g.GenesisTime.IsZero() {
		bad("genesis_time missing")
	} else if g.GenesisTime.UnixMilli() < 0 {
		bad("genesis_time %s is before 1970", g.GenesisTime)
	}

	p := &g.Params
	if p.BlockGasLimit < MinBlockGasLimit {
		bad("params.block_gas_limit %d is below %d", p.BlockGasLimit, MinBlockGasLimit)
	}
	if p.MaxTxBytes == 0 || p.MaxTxBytes > types.MaxTxSize {
		bad("params.max_tx_bytes %d must be in [1, %d]", p.MaxTxBytes, types.MaxTxSize)
	}
	if p.MaxBlockBytes < p.MaxTxBytes || p.MaxBlockBytes > MaxBlockBytesLimit {
		bad("params.max_block_bytes %d must be in [max_tx_bytes %d, %d]", p.MaxBlockBytes, p.MaxTxBytes, MaxBlockBytesLimit)
	}
	if _, err := gas.ByVersion(p.GasScheduleVersion); err != nil {
		bad("params.gas_schedule_version: %v", err)
	}
	if p.ValidatorProposalBlocks == 0 || p.ValidatorProposalBlocks > MaxValidatorProposalBlocks {
		bad("params.validator_proposal_blocks %d must be in [1, %d]", p.ValidatorProposalBlocks, MaxValidatorProposalBlocks)
	}

	if len(g.Validators) == 0 {
		bad("no validators")
	}
	if len(g.Validators) > types.MaxValidators {
		bad("%d validators, limit %d", len(g.Validators), types.MaxValidators)
	}
	seenVal := map[types.Address]int{}
	var totalPower uint64
	for i := range g.Validators {
		v := &g.Validators[i]
		pub, err := crypto.DecompressPubkey(v.PubKey)
		if err != nil {
			bad("validators[%d] (%s): pub_key must be a 33-byte compressed secp256k1 key: %v", i, v.Name, err)
			continue
		}
		addr := crypto.PubkeyToAddress(*pub)
		if v.Address == (types.Address{}) {
			v.Address = addr
		} else if v.Address != addr {
			bad("validators[%d] (%s): address %s does not match pub_key (address %s)", i, v.Name, v.Address, addr)
		}
		if j, dup := seenVal[addr]; dup {
			bad("validators[%d]: duplicate of validators[%d] (%s)", i, j, addr)
		}
		seenVal[addr] = i
		if v.Power == 0 {
			bad("validators[%d] (%s): power is 0", i, addr)
		}
		// Keep the total far from overflow so that 2/3 thresholds are exact.
		if totalPower += v.Power; totalPower > types.MaxTotalPower || v.Power > types.MaxTotalPower {
			bad("validators: total power exceeds %d", uint64(types.MaxTotalPower))
		}
	}

	seen := map[types.Address]string{}
	var supply uint256.Int
	addSupply := func(what string, a Amount) {
		if _, overflow := supply.AddOverflow(&supply, &a.v); overflow {
			bad("%s: balances overflow 2^256", what)
		}
	}
	for i, a := range g.Accounts {
		what := fmt.Sprintf("accounts[%d] (%s)", i, a.Address)
		if prev, dup := seen[a.Address]; dup {
			bad("%s: duplicate address (also %s)", what, prev)
		}
		seen[a.Address] = fmt.Sprintf("accounts[%d]", i)
		if a.Address == (types.Address{}) {
			bad("%s: zero address", what)
		}
		addSupply(what, a.Balance)
	}
	for i := range g.Contracts {
		c := &g.Contracts[i]
		what := fmt.Sprintf("contracts[%d] (%s)", i, c.Address)
		if prev, dup := seen[c.Address]; dup {
			bad("%s: duplicate address (also %s)", what, prev)
		}
		seen[c.Address] = fmt.Sprintf("contracts[%d]", i)
		if c.Address == (types.Address{}) {
			bad("%s: zero address", what)
		}
		if len(c.Code.Bytes) == 0 {
			bad("%s: no code", what)
		} else if !bytes.HasPrefix(c.Code.Bytes, wasmMagic) {
			bad("%s: code is not raw Wasm (no \\0asm header)", what)
		} else if len(c.Code.Bytes) > types.MaxCodeSize {
			bad("%s: code is %d bytes, limit %d", what, len(c.Code.Bytes), types.MaxCodeSize)
		}
		addSupply(what, c.Balance)
		keys := map[string]bool{}
		for _, e := range c.Storage {
			if keys[string(e.Key)] {
				bad("%s: duplicate storage key %#x", what, e.Key)
			}
			keys[string(e.Key)] = true
			if len(e.Key) == 0 || len(e.Key) > types.MaxStorageKeySize {
				bad("%s: storage key %#x must be 1 to %d bytes", what, e.Key, types.MaxStorageKeySize)
			}
			if len(e.Value) > types.MaxStorageValueSize {
				bad("%s: storage value of %#x is %d bytes, limit %d", what, e.Key, len(e.Value), types.MaxStorageValueSize)
			}
		}
	}
	return errors.Join(errs...)
}

// TimeMs is the genesis time in unix milliseconds: the time of the genesis header.
func (g *Genesis) TimeMs() uint64 { return uint64(g.GenesisTime.UnixMilli()) }

// canonical is the RLP layout hashed by Hash.
type canonical struct {
	Version    uint64
	ChainID    uint64
	TimeMs     uint64
	Params     canonicalParams
	Validators []canonicalValidator
	Accounts   []canonicalAccount
	Contracts  []canonicalContract
}

type canonicalParams struct {
	BlockGasLimit, MaxBlockBytes, MaxTxBytes uint64
	MinGasPrice                              *uint256.Int
	GasScheduleVersion                       uint64
	ValidatorProposalBlocks                  uint64
}

type canonicalValidator struct {
	Address types.Address
	PubKey  []byte
	Power   uint64
	Name    string
}

type canonicalAccount struct {
	Address types.Address
	Balance *uint256.Int
	Nonce   uint64
}

type canonicalContract struct {
	Address types.Address
	Code    []byte
	Admin   types.Address
	Balance *uint256.Int
	Storage [][2][]byte
}

// Hash is keccak256 of a canonical RLP encoding of the genesis (a format version, every
// field in file order, code as bytes), so two files that differ only in JSON layout,
// number notation or code given by path versus hex have the same hash. Nodes compare it
// to refuse peers of another network. Call it after Validate (which fills validator
// addresses).
func (g *Genesis) Hash() types.Hash {
	c := canonical{
		Version: 2, // 2: params gained validator_proposal_blocks
		ChainID: g.ChainID,
		TimeMs:  g.TimeMs(),
		Params: canonicalParams{
			g.Params.BlockGasLimit, g.Params.MaxBlockBytes, g.Params.MaxTxBytes,
			g.Params.MinGasPrice.Int(), uint64(g.Params.GasScheduleVersion),
			g.Params.ValidatorProposalBlocks,
		},
	}
	for _, v := range g.Validators {
		c.Validators = append(c.Validators, canonicalValidator{v.Address, v.PubKey, v.Power, v.Name})
	}
	for _, a := range g.Accounts {
		c.Accounts = append(c.Accounts, canonicalAccount{a.Address, a.Balance.Int(), a.Nonce})
	}
	for _, k := range g.Contracts {
		cc := canonicalContract{Address: k.Address, Code: k.Code.Bytes, Admin: k.Admin, Balance: k.Balance.Int()}
		for _, e := range k.Storage {
			cc.Storage = append(cc.Storage, [2][]byte{e.Key, e.Value})
		}
		c.Contracts = append(c.Contracts, cc)
	}
	b, err := rlp.EncodeToBytes(&c)
	if err != nil {
		panic(fmt.Sprintf("genesis: encode: %v", err)) // only fails on unsupported types
	}
	return crypto.Keccak256Hash(b)
}

// StateWriter is what InitialState needs of a state overlay; state.StateDB implements
// it. Code is stored by SetCode under its keccak256 hash.
type StateWriter interface {
	AddBalance(addr types.Address, amount *uint256.Int)
	SetNonce(addr types.Address, nonce uint64)
	SetCode(addr types.Address, code []byte)
	SetAdmin(addr, admin types.Address)
	SetStorage(contract types.Address, key, value []byte)
}

// InitialState writes the genesis accounts and contracts into w, in file order. The
// caller turns w's changes into the state of height 0. Contracts' init is not run and
// their code is stored as given; the chain validates it with the VM first.
func (g *Genesis) InitialState(w StateWriter) {
	for _, a := range g.Accounts {
		if !a.Balance.IsZero() {
			w.AddBalance(a.Address, a.Balance.Int())
		}
		if a.Nonce != 0 {
			w.SetNonce(a.Address, a.Nonce)
		}
	}
	for _, c := range g.Contracts {
		w.SetCode(c.Address, c.Code.Bytes)
		if c.Admin != (types.Address{}) {
			w.SetAdmin(c.Address, c.Admin)
		}
		if !c.Balance.IsZero() {
			w.AddBalance(c.Address, c.Balance.Int())
		}
		for _, e := range c.Storage {
			w.SetStorage(c.Address, e.Key, e.Value)
		}
	}
}

// ValidatorSet returns the initial validator set. Call it after Validate.
func (g *Genesis) ValidatorSet() (*types.ValidatorSet, error) {
	vals := make([]types.Validator, len(g.Validators))
	for i, v := range g.Validators {
		tv, err := types.NewValidator(v.PubKey, v.Power)
		if err != nil {
			return nil, fmt.Errorf("%w: validators[%d]: %w", ErrInvalid, i, err)
		}
		vals[i] = tv
	}
	vs, err := types.NewValidatorSet(vals)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return vs, nil
}

// PubKeys returns the validators' public keys, in order. Call it after Validate.
func (g *Genesis) PubKeys() ([]*ecdsa.PublicKey, error) {
	out := make([]*ecdsa.PublicKey, len(g.Validators))
	for i, v := range g.Validators {
		pub, err := crypto.DecompressPubkey(v.PubKey)
		if err != nil {
			return nil, fmt.Errorf("%w: validators[%d]: %v", ErrInvalid, i, err)
		}
		out[i] = pub
	}
	return out, nil
}
