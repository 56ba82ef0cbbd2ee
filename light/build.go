package light

import (
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/types"
)

// The builders below make bundles out of what a chain returns; a node serves them.

// NewReadOf returns the StateRead of a chain state proof.
func NewReadOf(p *chain.StateProof) StateRead {
	r := StateRead{Key: p.Key, Proof: p.Proof.Encode()}
	if p.Value != nil {
		v := hexutil.Bytes(p.Value)
		r.Value = &v
	}
	return r
}

// NewAccountBundle returns the bundle of addr's account proof and the proofs of storage
// keys (chain.Chain.Proof of state.StorageKey(addr, keys[i])) under cert.
func NewAccountBundle(addr types.Address, account *chain.StateProof, keys [][]byte, storage []*chain.StateProof, cert Certificate) *AccountBundle {
	b := &AccountBundle{Kind: KindAccount, Version: BundleVersion, Address: addr, Account: NewReadOf(account),
		Storage: make([]StateRead, len(storage)), Cert: cert}
	for i, p := range storage {
		b.Storage[i] = NewReadOf(p)
		b.Storage[i].Key = nonNil(keys[i])
	}
	return b
}

// NewReceiptBundle returns the bundle of a receipt proof under cert.
func NewReceiptBundle(p *chain.ReceiptProof, cert Certificate) *ReceiptBundle {
	path := p.Path
	if path == nil {
		path = []types.Hash{}
	}
	return &ReceiptBundle{Kind: KindReceipt, Version: BundleVersion, Receipt: p.Receipt.Encode(),
		Index: hexutil.Uint64(p.Index), Total: hexutil.Uint64(p.Total), Path: path, Cert: cert}
}

// NewCallBundle returns the bundle of a witnessed call (chain.Chain.CallWitness) under
// cert. msg.Gas must be the gas the call ran with (chain.Chain.CallGas).
func NewCallBundle(msg chain.CallMsg, res *chain.CallResult, w *chain.Witness, cert Certificate) *CallBundle {
	b := &CallBundle{Kind: KindCall, Version: BundleVersion,
		Call:   Call{From: msg.From, To: msg.To, Method: msg.Method, Args: nonNil(msg.Args), Gas: hexutil.Uint64(msg.Gas)},
		Result: Outcome{Output: nonNil(res.Output), GasUsed: hexutil.Uint64(res.GasUsed), Events: make([]Event, len(res.Events))},
		Reads:  make([]StateRead, len(w.Reads)), Cert: cert}
	if msg.Value != nil && !msg.Value.IsZero() {
		b.Call.Value = (*hexutil.U256)(msg.Value)
	}
	if res.Err != nil {
		b.Result.Error = res.Err.Error()
	}
	for i, e := range res.Events {
		b.Result.Events[i] = Event{Contract: e.Contract, Topic: nonNil(e.Topic), Data: nonNil(e.Data)}
	}
	for i, p := range w.Reads {
		b.Reads[i] = NewReadOf(p)
	}
	return b
}

func nonNil(b []byte) hexutil.Bytes {
	if b == nil {
		return hexutil.Bytes{}
	}
	return b
}
