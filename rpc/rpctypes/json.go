package rpctypes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/holiman/uint256"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm/metadata"
)

// JSON shapes of the RPC answers. Field names are camelCase; bytes and quantities are
// 0x-prefixed hex, as in Ethereum's JSON-RPC.

// BlockNumber is a block parameter: "latest" (also "finalized" and "safe": a BFT block
// is final once committed), "earliest" (0), a hex quantity "0x1a" or a JSON integer.
// Latest is -1.
type BlockNumber int64

// LatestBlock is the BlockNumber of the head.
const LatestBlock BlockNumber = -1

// UnmarshalJSON parses a block parameter, with a clear error for anything else.
func (b *BlockNumber) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] != '"' {
		var n uint64
		if err := json.Unmarshal(data, &n); err != nil {
			return fmt.Errorf("block number: want \"latest\", \"earliest\", a hex quantity or an integer, got %s", truncate(string(data), 40))
		}
		if n > 1<<62 {
			return fmt.Errorf("block number %d too large", n)
		}
		*b = BlockNumber(n)
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("block number: %w", err)
	}
	switch strings.ToLower(s) {
	case "latest", "finalized", "safe":
		*b = LatestBlock
		return nil
	case "earliest":
		*b = 0
		return nil
	case "pending":
		return fmt.Errorf("block number \"pending\" is not supported: committed blocks are final, use \"latest\"")
	}
	n, err := hexutil.DecodeUint64(s)
	if err != nil {
		return fmt.Errorf("block number %q: want \"latest\", \"earliest\" or a hex quantity: %v", truncate(s, 40), err)
	}
	if n > 1<<62 {
		return fmt.Errorf("block number %d too large", n)
	}
	*b = BlockNumber(n)
	return nil
}

// MarshalJSON writes "latest" or a hex quantity.
func (b BlockNumber) MarshalJSON() ([]byte, error) {
	if b < 0 {
		return []byte(`"latest"`), nil
	}
	return json.Marshal(hexutil.Uint64(b))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// HeaderJSON is a block header.
type HeaderJSON struct {
	Hash           types.Hash     `json:"hash"`
	ChainID        hexutil.Uint64 `json:"chainId"`
	Height         hexutil.Uint64 `json:"height"`
	Time           hexutil.Uint64 `json:"time"` // unix milliseconds
	ParentHash     types.Hash     `json:"parentHash"`
	Proposer       types.Address  `json:"proposer"`
	TxRoot         types.Hash     `json:"txRoot"`
	StateRoot      types.Hash     `json:"stateRoot"`
	ReceiptRoot    types.Hash     `json:"receiptRoot"`
	ValidatorsHash types.Hash     `json:"validatorsHash"`
	// NextValidatorsHash is the hash of the set that signs the next block.
	NextValidatorsHash types.Hash `json:"nextValidatorsHash"`
	LastCommitHash     types.Hash `json:"lastCommitHash"`
}

// TxJSON is a transaction. BlockHeight, BlockHash and Index are null while it is pending.
type TxJSON struct {
	Hash        types.Hash      `json:"hash"`
	From        *types.Address  `json:"from"` // null when the signature does not recover
	ChainID     hexutil.Uint64  `json:"chainId"`
	Nonce       hexutil.Uint64  `json:"nonce"`
	GasPrice    *hexutil.U256   `json:"gasPrice"`
	Gas         hexutil.Uint64  `json:"gas"`
	Kind        string          `json:"kind"` // transfer, deploy, invoke or upgrade
	To          *types.Address  `json:"to"`   // null for a deploy
	Value       *hexutil.U256   `json:"value"`
	Method      string          `json:"method"`
	Args        hexutil.Bytes   `json:"args"`
	Code        hexutil.Bytes   `json:"code,omitempty"`
	Sig         hexutil.Bytes   `json:"sig"`
	BlockHeight *hexutil.Uint64 `json:"blockHeight"`
	BlockHash   *types.Hash     `json:"blockHash"`
	Index       *hexutil.Uint64 `json:"index"`
}

// EventJSON is an event emitted by a contract.
type EventJSON struct {
	Contract types.Address `json:"contract"`
	Topic    hexutil.Bytes `json:"topic"`
	Data     hexutil.Bytes `json:"data"`
}

// Signature is the serving node's signature over a result (see SignedResult).
type Signature struct {
	Signer    types.Address `json:"signer"`
	Signature hexutil.Bytes `json:"signature"`
}

// ReceiptJSON is a transaction's receipt, signed by the serving node over
// (chainId, height, stateRoot, keccak256(RLP(receipt))).
type ReceiptJSON struct {
	TxHash          types.Hash     `json:"txHash"`
	Status          hexutil.Uint64 `json:"status"` // 1 success, 0 failure
	GasUsed         hexutil.Uint64 `json:"gasUsed"`
	Output          hexutil.Bytes  `json:"output"`
	Error           string         `json:"error"`
	Events          []EventJSON    `json:"events"`
	ContractAddress *types.Address `json:"contractAddress"` // null unless a deploy succeeded
	Height          hexutil.Uint64 `json:"height"`
	Index           hexutil.Uint64 `json:"index"`
	BlockHash       types.Hash     `json:"blockHash"`
	StateRoot       types.Hash     `json:"stateRoot"`
	ChainID         hexutil.Uint64 `json:"chainId"`
	Signature
}

// Receipt rebuilds the consensus receipt from its JSON form.
func (r *ReceiptJSON) Receipt() *types.Receipt {
	out := &types.Receipt{
		TxHash: r.TxHash, Status: uint64(r.Status), GasUsed: uint64(r.GasUsed), Output: r.Output,
		Error: r.Error, Height: uint64(r.Height), Index: uint64(r.Index),
	}
	if len(out.Output) == 0 {
		out.Output = nil
	}
	if r.ContractAddress != nil {
		out.ContractAddress = *r.ContractAddress
	}
	for _, e := range r.Events {
		out.Events = append(out.Events, types.Event{Contract: e.Contract, Topic: emptyToNil(e.Topic), Data: emptyToNil(e.Data)})
	}
	return out
}

func emptyToNil(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// SignedResult returns the statement the receipt's signature covers.
func (r *ReceiptJSON) SignedResult() *SignedResult {
	return &SignedResult{
		ChainID: uint64(r.ChainID), Kind: KindReceipt, Height: uint64(r.Height),
		StateRoot: r.StateRoot, ResultHash: r.Receipt().Hash(), Signer: r.Signer, Signature: r.Signature.Signature,
	}
}

// AccountJSON is an account at a height.
type AccountJSON struct {
	Address  types.Address  `json:"address"`
	Nonce    hexutil.Uint64 `json:"nonce"`
	Balance  *hexutil.U256  `json:"balance"`
	CodeHash types.Hash     `json:"codeHash"` // zero for a plain account
	Admin    types.Address  `json:"admin"`    // zero for none
	Height   hexutil.Uint64 `json:"height"`
}

// ContractJSON is the answer of wn_getContract: what a tool needs to call a contract.
type ContractJSON struct {
	Address  types.Address  `json:"address"`
	CodeHash types.Hash     `json:"codeHash"`
	CodeSize hexutil.Uint64 `json:"codeSize"` // bytes of the original (uncompressed) code
	Admin    types.Address  `json:"admin"`    // zero for none
	// DeployHeight is the block of the deploy transaction; null when this node's block
	// store has no record of it (a database older than the index).
	DeployHeight *hexutil.Uint64 `json:"deployHeight"`
	// Methods are the callable exports, sorted (init and migrate are not callable).
	Methods []string `json:"methods"`
	// Metadata is the parsed wnode.meta section (docs/spec/metadata.md); null when the
	// code has none.
	Metadata *metadata.Metadata `json:"metadata"`
	Height   hexutil.Uint64     `json:"height"` // the state this answer read
}

// CallArgs are the parameters of wn_call and wn_estimateGas. Code is for
// wn_estimateGas only: the code of a deploy (no to) or an upgrade (with to).
type CallArgs struct {
	From   *types.Address  `json:"from,omitempty"`
	To     *types.Address  `json:"to,omitempty"`
	Method string          `json:"method,omitempty"`
	Args   hexutil.Bytes   `json:"args,omitempty"`
	Value  *hexutil.U256   `json:"value,omitempty"`
	Gas    *hexutil.Uint64 `json:"gas,omitempty"`
	Code   hexutil.Bytes   `json:"code,omitempty"`
}

// CallResultJSON is a signed call answer: the output, the gas used, the events the call
// would emit, and the serving node's signature over (chainId, height, stateRoot,
// CallResultHash(from, to, method, args, value, output, gasUsed)).
type CallResultJSON struct {
	Output    hexutil.Bytes  `json:"output"`
	GasUsed   hexutil.Uint64 `json:"gasUsed"`
	Events    []EventJSON    `json:"events"`
	Logs      []string       `json:"logs"`
	Height    hexutil.Uint64 `json:"height"`
	StateRoot types.Hash     `json:"stateRoot"`
	ChainID   hexutil.Uint64 `json:"chainId"`
	Signature
}

// SignedResult returns the statement the call's signature covers, given the call's
// arguments (a missing from is the zero address, a missing value zero; gas is not part
// of it: the server caps it).
func (r *CallResultJSON) SignedResult(args *CallArgs) *SignedResult {
	var from, to types.Address
	if args.From != nil {
		from = *args.From
	}
	if args.To != nil {
		to = *args.To
	}
	return &SignedResult{
		ChainID: uint64(r.ChainID), Kind: KindCall, Height: uint64(r.Height), StateRoot: r.StateRoot,
		ResultHash: CallResultHash(from, to, args.Method, args.Args, (*uint256.Int)(args.Value), r.Output, uint64(r.GasUsed)),
		Signer:     r.Signer, Signature: r.Signature.Signature,
	}
}

// NodeInfoJSON is the answer of wn_nodeInfo.
type NodeInfoJSON struct {
	Name        string         `json:"name"`
	ChainID     hexutil.Uint64 `json:"chainId"`
	GenesisHash types.Hash     `json:"genesisHash"`
	Dev         bool           `json:"dev"`
	Validator   bool           `json:"validator"`
	Signer      types.Address  `json:"signer"` // the node key's address: signs results and votes
	PeerID      string         `json:"peerId"`
	ListenAddrs []string       `json:"listenAddrs"`
	Height      hexutil.Uint64 `json:"height"`
	HeadHash    types.Hash     `json:"headHash"`
	HeadTime    hexutil.Uint64 `json:"headTime"`
	Peers       hexutil.Uint64 `json:"peers"`
	GasPrice    *hexutil.U256  `json:"gasPrice"` // the lowest gas price the mempool accepts
	GasCap      hexutil.Uint64 `json:"gasCap"`   // the most gas a call may use
}

// EventFilter selects the events of wn_subscribe("events", filter). Empty fields match
// everything.
type EventFilter struct {
	Contracts []types.Address `json:"contracts"`
	Topics    []hexutil.Bytes `json:"topics"`
}

// EventNotification is one event of an "events" subscription.
//
// A block-level event has a zero TxHash: TopicValidatorApplied.
type EventNotification struct {
	EventJSON
	TxHash     types.Hash     `json:"txHash"`
	Height     hexutil.Uint64 `json:"height"`
	BlockHash  types.Hash     `json:"blockHash"`
	TxIndex    hexutil.Uint64 `json:"txIndex"`
	EventIndex hexutil.Uint64 `json:"eventIndex"` // position among the tx's events
}

// AddressParam is an address parameter of JSON-RPC, parsed by ParseAddress as on the
// gateway: a mixed-case address must carry a valid EIP-55 checksum.
type AddressParam types.Address

// UnmarshalJSON parses a JSON string with ParseAddress.
func (a *AddressParam) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("bad address: want a string of 0x and 40 hex digits")
	}
	addr, err := ParseAddress(s)
	if err != nil {
		return err
	}
	*a = AddressParam(addr)
	return nil
}

// UnmarshalJSON decodes CallArgs, parsing from and to with ParseAddress.
func (a *CallArgs) UnmarshalJSON(b []byte) error {
	type plain CallArgs
	var aux struct {
		plain
		From *AddressParam `json:"from,omitempty"`
		To   *AddressParam `json:"to,omitempty"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*a = CallArgs(aux.plain)
	a.From, a.To = (*types.Address)(aux.From), (*types.Address)(aux.To)
	return nil
}

// UnmarshalJSON decodes an EventFilter, parsing contracts with ParseAddress.
func (f *EventFilter) UnmarshalJSON(b []byte) error {
	var aux struct {
		Contracts []AddressParam  `json:"contracts"`
		Topics    []hexutil.Bytes `json:"topics"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	f.Topics = aux.Topics
	f.Contracts = nil
	for _, c := range aux.Contracts {
		f.Contracts = append(f.Contracts, types.Address(c))
	}
	return nil
}

// TopicValidatorApplied is the topic of the event wn_subscribe("events") sends, from the
// system account types.ValidatorsAccount, at the first height signed by a new validator
// set: data is RLP [height, validatorsHash]. The other validator events
// ("validator/proposed", "validator/voted", "validator/passed") are receipts' events.
const TopicValidatorApplied = "validator/applied"
