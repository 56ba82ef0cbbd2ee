package rpc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rlp"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
)

// wnAPI is the "wn" namespace. Each exported method is the JSON-RPC method
// wn_<lowerCamelCase name>; the go-ethereum server decodes params into the arguments
// (trailing pointer arguments are optional) and encodes the results.
type wnAPI struct{ s *Server }

// resolve turns an optional block parameter into a height at or below the head.
func (a *wnAPI) resolve(num *rpctypes.BlockNumber) (uint64, error) {
	head := a.s.backend.Head()
	if head == nil {
		return 0, &Error{Code: rpctypes.CodeNotReady, Message: "node not ready: no head block"}
	}
	if num == nil || *num < 0 {
		return head.Height, nil
	}
	if uint64(*num) > head.Height {
		return 0, newError(rpctypes.CodeUnknownBlock, "unknown block: %d is above the head %d", *num, head.Height)
	}
	return uint64(*num), nil
}

// ChainId is wn_chainId: the chain id.
func (a *wnAPI) ChainId() hexutil.Uint64 { //nolint:revive // JSON-RPC method name
	return hexutil.Uint64(a.s.backend.ChainID())
}

// BlockNumber is wn_blockNumber: the height of the latest committed block.
func (a *wnAPI) BlockNumber() (hexutil.Uint64, error) {
	head := a.s.backend.Head()
	if head == nil {
		return 0, &Error{Code: rpctypes.CodeNotReady, Message: "node not ready: no head block"}
	}
	return hexutil.Uint64(head.Height), nil
}

// GasPrice is wn_gasPrice: the lowest gas price the node's mempool accepts.
func (a *wnAPI) GasPrice() *hexutil.U256 { return u256(a.s.backend.GasPrice()) }

// NodeInfo is wn_nodeInfo: facts about the node and its head.
func (a *wnAPI) NodeInfo() (*rpctypes.NodeInfoJSON, error) {
	b := a.s.backend
	info := b.NodeInfo()
	head := b.Head()
	if head == nil {
		return nil, &Error{Code: rpctypes.CodeNotReady, Message: "node not ready: no head block"}
	}
	addrs := info.ListenAddrs
	if addrs == nil {
		addrs = []string{}
	}
	return &rpctypes.NodeInfoJSON{
		Name: info.Name, ChainID: hexutil.Uint64(b.ChainID()), GenesisHash: info.GenesisHash,
		Dev: info.Dev, Validator: info.Validator, Signer: a.s.signer.Address(), PeerID: info.PeerID,
		ListenAddrs: addrs, Height: hexutil.Uint64(head.Height), HeadHash: head.Hash(),
		HeadTime: hexutil.Uint64(head.Time), Peers: hexutil.Uint64(len(b.Peers())),
		GasPrice: u256(b.GasPrice()), GasCap: hexutil.Uint64(a.s.cfg.GasCap),
	}, nil
}

// GetBlockByNumber is wn_getBlockByNumber(block, full?): the block, or null above the head.
// full selects whole transactions instead of their hashes.
func (a *wnAPI) GetBlockByNumber(num rpctypes.BlockNumber, full *bool) (_ *BlockJSON, err error) {
	defer a.s.metrics.observe("wn_getBlockByNumber", time.Now(), &err)
	head := a.s.backend.Head()
	if head == nil {
		return nil, &Error{Code: rpctypes.CodeNotReady, Message: "node not ready: no head block"}
	}
	h := head.Height
	if num >= 0 {
		if uint64(num) > head.Height {
			return nil, nil
		}
		h = uint64(num)
	}
	b, err := a.s.backend.BlockByNumber(h)
	if err != nil {
		return nil, toRPCError(fmt.Errorf("block %d: %w", h, err))
	}
	return NewBlockJSON(b, full != nil && *full), nil
}

// GetBlockByHash is wn_getBlockByHash(hash, full?): the block, or null when unknown.
func (a *wnAPI) GetBlockByHash(hash types.Hash, full *bool) (_ *BlockJSON, err error) {
	defer a.s.metrics.observe("wn_getBlockByHash", time.Now(), &err)
	b, err := a.s.backend.BlockByHash(hash)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, toRPCError(fmt.Errorf("block %s: %w", hash, err))
	}
	return NewBlockJSON(b, full != nil && *full), nil
}

// GetAccount is wn_getAccount(address, block?): nonce, balance, code hash and admin.
func (a *wnAPI) GetAccount(arg rpctypes.AddressParam, num *rpctypes.BlockNumber) (_ *rpctypes.AccountJSON, err error) {
	addr := types.Address(arg)
	defer a.s.metrics.observe("wn_getAccount", time.Now(), &err)
	h, err := a.resolve(num)
	if err != nil {
		return nil, err
	}
	acc, err := a.s.backend.Account(addr, h)
	if err != nil {
		return nil, toRPCError(fmt.Errorf("account %s at %d: %w", addr, h, err))
	}
	return &rpctypes.AccountJSON{
		Address: addr, Nonce: hexutil.Uint64(acc.Nonce), Balance: u256(acc.Balance),
		CodeHash: acc.CodeHash, Admin: acc.Admin, Height: hexutil.Uint64(h),
	}, nil
}

// GetPendingNonce is wn_getPendingNonce(address): the nonce of the address's next
// transaction, counting its transactions waiting in the mempool.
func (a *wnAPI) GetPendingNonce(arg rpctypes.AddressParam) (_ hexutil.Uint64, err error) {
	addr := types.Address(arg)
	defer a.s.metrics.observe("wn_getPendingNonce", time.Now(), &err)
	n, err := a.s.backend.PendingNonce(addr)
	if err != nil {
		return 0, toRPCError(fmt.Errorf("pending nonce of %s: %w", addr, err))
	}
	return hexutil.Uint64(n), nil
}

// GetCode is wn_getCode(address, block?): the contract's original code ("0x" when none).
func (a *wnAPI) GetCode(arg rpctypes.AddressParam, num *rpctypes.BlockNumber) (_ hexutil.Bytes, err error) {
	addr := types.Address(arg)
	defer a.s.metrics.observe("wn_getCode", time.Now(), &err)
	h, err := a.resolve(num)
	if err != nil {
		return nil, err
	}
	code, err := a.s.backend.Code(addr, h)
	if err != nil {
		return nil, toRPCError(fmt.Errorf("code of %s at %d: %w", addr, h, err))
	}
	return nonNil(code), nil
}

// GetContract is wn_getContract(address, block?): the contract's code hash and size,
// admin, deploy height, callable methods and metadata; null when there is no contract at
// the address.
func (a *wnAPI) GetContract(ctx context.Context, addr types.Address, num *rpctypes.BlockNumber) (_ *rpctypes.ContractJSON, err error) {
	defer a.s.metrics.observe("wn_getContract", time.Now(), &err)
	h, err := a.resolve(num)
	if err != nil {
		return nil, err
	}
	ci, err := a.s.backend.Contract(ctx, addr, h)
	if err != nil {
		return nil, toRPCError(fmt.Errorf("contract %s at %d: %w", addr, h, err))
	}
	if ci == nil {
		return nil, nil
	}
	out := &rpctypes.ContractJSON{Address: addr, CodeHash: ci.CodeHash, CodeSize: hexutil.Uint64(ci.CodeSize),
		Admin: ci.Admin, Methods: ci.Methods, Metadata: ci.Metadata, Height: hexutil.Uint64(h)}
	if out.Methods == nil {
		out.Methods = []string{}
	}
	if ci.DeployKnown {
		dh := hexutil.Uint64(ci.DeployHeight)
		out.DeployHeight = &dh
	}
	return out, nil
}

// GetStorage is wn_getStorage(address, key, block?): the value under key in the
// contract's storage, or null when absent.
func (a *wnAPI) GetStorage(arg rpctypes.AddressParam, key hexutil.Bytes, num *rpctypes.BlockNumber) (_ *hexutil.Bytes, err error) {
	addr := types.Address(arg)
	defer a.s.metrics.observe("wn_getStorage", time.Now(), &err)
	h, err := a.resolve(num)
	if err != nil {
		return nil, err
	}
	v, ok, err := a.s.backend.Storage(addr, key, h)
	if err != nil {
		return nil, toRPCError(fmt.Errorf("storage of %s at %d: %w", addr, h, err))
	}
	if !ok {
		return nil, nil
	}
	b := nonNil(v)
	return &b, nil
}

// SendRawTransaction is wn_sendRawTransaction(rlpHex): decodes, validates and adds the
// transaction to the mempool, and returns its hash. The transaction is not yet executed:
// poll wn_getTransactionReceipt or subscribe to newHeads.
func (a *wnAPI) SendRawTransaction(ctx context.Context, raw hexutil.Bytes) (_ types.Hash, err error) {
	defer a.s.metrics.observe("wn_sendRawTransaction", time.Now(), &err)
	tx, err := types.DecodeTx(raw)
	if err != nil {
		return types.Hash{}, &Error{Code: rpctypes.CodeTxInvalid, Message: err.Error()}
	}
	if err := tx.ValidateBasic(a.s.backend.ChainID()); err != nil {
		return types.Hash{}, &Error{Code: rpctypes.CodeTxInvalid, Message: err.Error()}
	}
	if err := a.s.backend.SendTransaction(ctx, tx); err != nil {
		return types.Hash{}, toRPCError(fmt.Errorf("tx %s rejected: %w", tx.Hash(), err))
	}
	return tx.Hash(), nil
}

// GetTransaction is wn_getTransaction(hash): the transaction, pending or included, or
// null when unknown.
func (a *wnAPI) GetTransaction(hash types.Hash) (_ *rpctypes.TxJSON, err error) {
	defer a.s.metrics.observe("wn_getTransaction", time.Now(), &err)
	tx, loc, err := a.s.backend.Transaction(hash)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, toRPCError(fmt.Errorf("tx %s: %w", hash, err))
	}
	return NewTxJSON(tx, loc), nil
}

// GetTransactionReceipt is wn_getTransactionReceipt(hash): the signed receipt of an
// included transaction, or null when it is unknown or still pending.
func (a *wnAPI) GetTransactionReceipt(hash types.Hash) (_ *rpctypes.ReceiptJSON, err error) {
	defer a.s.metrics.observe("wn_getTransactionReceipt", time.Now(), &err)
	r, hdr, err := a.s.backend.Receipt(hash)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, toRPCError(fmt.Errorf("receipt %s: %w", hash, err))
	}
	return a.s.receiptJSON(r, hdr)
}

func (s *Server) receiptJSON(r *types.Receipt, hdr *types.Header) (*rpctypes.ReceiptJSON, error) {
	sr, err := s.signer.Sign(rpctypes.KindReceipt, hdr.Height, hdr.StateRoot, r.Hash())
	if err != nil {
		return nil, toRPCError(err)
	}
	out := &rpctypes.ReceiptJSON{
		TxHash: r.TxHash, Status: hexutil.Uint64(r.Status), GasUsed: hexutil.Uint64(r.GasUsed),
		Output: nonNil(r.Output), Error: r.Error, Events: newEventsJSON(r.Events),
		Height: hexutil.Uint64(r.Height), Index: hexutil.Uint64(r.Index), BlockHash: hdr.Hash(),
		StateRoot: hdr.StateRoot, ChainID: hexutil.Uint64(sr.ChainID),
		Signature: rpctypes.Signature{Signer: sr.Signer, Signature: sr.Signature},
	}
	if r.ContractAddress != (types.Address{}) {
		ca := r.ContractAddress
		out.ContractAddress = &ca
	}
	return out, nil
}

// callRequest checks CallArgs and applies the gas cap. A call needs to and method; an
// estimate may instead carry code (deploy, upgrade) or neither (transfer).
func (s *Server) callRequest(args *rpctypes.CallArgs, estimate bool) (*CallRequest, error) {
	switch {
	case !estimate && args.To == nil:
		return nil, newError(rpctypes.CodeInvalidParams, "invalid call: missing \"to\"")
	case !estimate && args.Method == "":
		return nil, newError(rpctypes.CodeInvalidParams, "invalid call: missing \"method\"")
	case !estimate && len(args.Code) > 0:
		return nil, newError(rpctypes.CodeInvalidParams, "invalid call: \"code\" is for wn_estimateGas only")
	case estimate && args.To == nil && len(args.Code) == 0:
		return nil, newError(rpctypes.CodeInvalidParams, "invalid estimate: give \"to\", or \"code\" for a deploy")
	case estimate && len(args.Code) > 0 && args.Method != "":
		return nil, newError(rpctypes.CodeInvalidParams, "invalid estimate: a deploy or upgrade (\"code\") takes no \"method\"")
	case len(args.Method) > types.MaxMethodLen:
		return nil, newError(rpctypes.CodeInvalidParams, "invalid call: method is %d bytes, limit %d", len(args.Method), types.MaxMethodLen)
	case len(args.Args) > types.MaxArgsSize:
		return nil, newError(rpctypes.CodeInvalidParams, "invalid call: args are %d bytes, limit %d", len(args.Args), types.MaxArgsSize)
	case len(args.Code) > types.MaxCodeSize:
		return nil, newError(rpctypes.CodeInvalidParams, "invalid estimate: code is %d bytes, limit %d", len(args.Code), types.MaxCodeSize)
	}
	req := newCallRequest(args)
	req.Gas = s.cfg.GasCap
	if args.Gas != nil && uint64(*args.Gas) < s.cfg.GasCap {
		req.Gas = uint64(*args.Gas)
	}
	if estimate && args.Gas == nil {
		req.Gas = 0 // the chain's own bounds: intrinsic gas + cap, block gas limit
	}
	return req, nil
}

// Call is wn_call({from, to, method, args, value, gas}, block?): runs a read-only call on
// the state after block and returns its output and gas used, signed by the node. Its state
// changes are discarded. A failed call is an error with code rpctypes.CodeExecutionFailed.
func (a *wnAPI) Call(ctx context.Context, args rpctypes.CallArgs, num *rpctypes.BlockNumber) (_ *rpctypes.CallResultJSON, err error) {
	defer a.s.metrics.observe("wn_call", time.Now(), &err)
	req, err := a.s.callRequest(&args, false)
	if err != nil {
		return nil, err
	}
	h, err := a.resolve(num)
	if err != nil {
		return nil, err
	}
	res, sr, err := a.s.call(ctx, req, h)
	if err != nil {
		return nil, toRPCError(err)
	}
	logs := res.Logs
	if logs == nil {
		logs = []string{}
	}
	return &rpctypes.CallResultJSON{
		Output: nonNil(res.Output), GasUsed: hexutil.Uint64(res.GasUsed), Events: newEventsJSON(res.Events),
		Logs: logs, Height: hexutil.Uint64(res.Height), StateRoot: res.StateRoot, ChainID: hexutil.Uint64(sr.ChainID),
		Signature: rpctypes.Signature{Signer: sr.Signer, Signature: sr.Signature},
	}, nil
}

// call runs and signs a call with the per-request timeout. Its errors are the backend's
// (an *ExecutionError, ...), or one wrapping context.DeadlineExceeded on timeout.
func (s *Server) call(ctx context.Context, req *CallRequest, height uint64) (*CallResult, *rpctypes.SignedResult, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	var res *CallResult
	err := s.execute(ctx, "call", func(ctx context.Context) (err error) {
		res, err = s.backend.Call(ctx, req, height)
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("call %s.%s: request timed out after %s: %w", req.To.Hex(), req.Method, s.cfg.RequestTimeout, context.DeadlineExceeded)
		}
		return nil, nil, err
	}
	sr, err := s.signer.Sign(rpctypes.KindCall, res.Height, res.StateRoot,
		rpctypes.CallResultHash(req.From, req.To, req.Method, req.Args, req.Value, res.Output, res.GasUsed))
	if err != nil {
		return nil, nil, err
	}
	return res, sr, nil
}

// execute runs f in an execution slot (admission control: it may wait for one, or fail
// with a *BusyError) under the per-execution time budget, which ends f's context. An
// execution stopped by the budget fails with CodeTimeout. f must be read-only: it runs
// first in the fast lane (Config.ExecFastLane) and, when it outlasts it, once more on an
// execution thread.
func (s *Server) execute(ctx context.Context, what string, f func(ctx context.Context) error) error {
	release, err := s.admit.acquire(ctx, clientKey(ctx))
	if err != nil {
		var be *BusyError
		if errors.As(err, &be) {
			// A refusal is answered after a short delay: a client retrying at once,
			// whatever Retry-After says, then costs the node a few requests per second
			// per connection instead of thousands.
			t := time.NewTimer(refusalDelay)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
		return err
	}
	start := time.Now()
	// With a share below 1, the slot rests in proportion to the time it ran, so read-only
	// work uses at most that share of each slot's processor.
	defer func() { release(restAfter(time.Since(start), s.cfg.ExecShare)) }()
	if s.fast.open() {
		// The fast lane: most calls end well within it, and running them here spares the
		// two cross-thread wake-ups of a hand-over. A call still running at its end is
		// stopped and run again from the start on a thread: read-only work, so running it
		// twice changes nothing, and the answer always comes from one whole execution.
		fctx, cancel := context.WithTimeout(ctx, min(s.fast.limit, s.cfg.ExecTimeBudget))
		err = f(fctx)
		overflow := fctx.Err() != nil && ctx.Err() == nil
		cancel()
		if !overflow {
			s.metrics.admission.lane.WithLabelValues("fast").Inc()
			return err
		}
		s.fast.overflowed()
		s.metrics.admission.lane.WithLabelValues("overflow").Inc()
	} else {
		s.metrics.admission.lane.WithLabelValues("thread").Inc()
	}
	bctx, cancel := context.WithTimeout(ctx, s.cfg.ExecTimeBudget)
	defer cancel()
	done := make(chan struct{})
	s.threads.run(func() {
		defer close(done)
		err = f(bctx)
	})
	<-done
	if err != nil && bctx.Err() != nil && ctx.Err() == nil {
		s.metrics.admission.overrun.Inc()
		return &Error{Code: rpctypes.CodeTimeout, Message: fmt.Sprintf("%s: ran past the time budget of one execution (%v)", what, s.cfg.ExecTimeBudget)}
	}
	return err
}

// EstimateGas is wn_estimateGas({from, to, method, args, value, gas, code}, block?): the
// gas limit a transaction needs to succeed — an invoke (to, method), a deploy (code), an
// upgrade (to, code) or a transfer (to) — intrinsic gas included, or a
// rpctypes.CodeExecutionFailed error when it fails even with the gas cap.
func (a *wnAPI) EstimateGas(ctx context.Context, args rpctypes.CallArgs, num *rpctypes.BlockNumber) (_ hexutil.Uint64, err error) {
	defer a.s.metrics.observe("wn_estimateGas", time.Now(), &err)
	req, err := a.s.callRequest(&args, true)
	if err != nil {
		return 0, err
	}
	h, err := a.resolve(num)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, a.s.cfg.RequestTimeout)
	defer cancel()
	var gas uint64
	err = a.s.execute(ctx, "estimate gas", func(ctx context.Context) (err error) {
		gas, err = a.s.backend.EstimateGas(ctx, req, h)
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			return 0, &Error{Code: rpctypes.CodeTimeout, Message: fmt.Sprintf("estimate gas: request timed out after %s", a.s.cfg.RequestTimeout)}
		}
		return 0, toRPCError(err)
	}
	return hexutil.Uint64(gas), nil
}

// NewHeads is wn_subscribe("newHeads"): a notification with the header of every block
// committed from now on. WebSocket only.
func (a *wnAPI) NewHeads(ctx context.Context) (*gethrpc.Subscription, error) {
	return a.s.subscribe(ctx, func(n *gethrpc.Notifier, id gethrpc.ID, ev *ChainEvent) error {
		return n.Notify(id, NewHeaderJSON(ev.Block.Header, ev.Block.Hash))
	})
}

// Events is wn_subscribe("events", filter?): a notification for every event emitted by a
// committed transaction that matches filter (contracts and topics; empty matches all),
// and a "validator/applied" event of types.ValidatorsAccount at the first height of a
// new validator set. WebSocket only.
func (a *wnAPI) Events(ctx context.Context, filter *rpctypes.EventFilter) (*gethrpc.Subscription, error) {
	var f rpctypes.EventFilter
	if filter != nil {
		f = *filter
	}
	if len(f.Contracts) > 1000 || len(f.Topics) > 1000 {
		return nil, newError(rpctypes.CodeInvalidParams, "event filter: at most 1000 contracts and 1000 topics")
	}
	contracts := map[types.Address]bool{}
	for _, c := range f.Contracts {
		contracts[c] = true
	}
	topics := map[string]bool{}
	for _, t := range f.Topics {
		topics[string(t)] = true
	}
	match := func(c types.Address, topic []byte) bool {
		return (len(contracts) == 0 || contracts[c]) && (len(topics) == 0 || topics[string(topic)])
	}
	var lastVals types.Hash // the set of the previous block this subscription saw
	return a.s.subscribe(ctx, func(n *gethrpc.Notifier, id gethrpc.ID, ev *ChainEvent) error {
		// The first block whose header names another set than its parent's: a validator
		// set change takes effect. Not a tx's event: txHash is zero.
		hdr := ev.Block.Header
		if lastVals == (types.Hash{}) && hdr.Height > 0 {
			if parent, err := a.s.backend.BlockByNumber(hdr.Height - 1); err == nil {
				lastVals = parent.Header.ValidatorsHash
			}
		}
		applied := lastVals != (types.Hash{}) && hdr.ValidatorsHash != lastVals
		lastVals = hdr.ValidatorsHash
		if topic := []byte(rpctypes.TopicValidatorApplied); applied && match(types.ValidatorsAccount, topic) {
			data, _ := rlp.EncodeToBytes([]any{hdr.Height, hdr.ValidatorsHash})
			err := n.Notify(id, &rpctypes.EventNotification{
				EventJSON: rpctypes.EventJSON{Contract: types.ValidatorsAccount, Topic: topic, Data: data},
				Height:    hexutil.Uint64(hdr.Height), BlockHash: ev.Block.Hash,
			})
			if err != nil {
				return err
			}
		}
		for _, r := range ev.Receipts {
			for i, e := range r.Events {
				if !match(e.Contract, e.Topic) {
					continue
				}
				err := n.Notify(id, &rpctypes.EventNotification{
					EventJSON: rpctypes.EventJSON{Contract: e.Contract, Topic: nonNil(e.Topic), Data: nonNil(e.Data)},
					TxHash:    r.TxHash, Height: hexutil.Uint64(r.Height), BlockHash: ev.Block.Hash,
					TxIndex: hexutil.Uint64(r.Index), EventIndex: hexutil.Uint64(i),
				})
				if err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// subscriptionBuffer is how many blocks a subscriber may fall behind before it misses
// some (see Backend.SubscribeChain).
const subscriptionBuffer = 256

// subscribe starts a subscription that calls send for every committed block until the
// client unsubscribes, the connection closes or the server stops.
func (s *Server) subscribe(ctx context.Context, send func(*gethrpc.Notifier, gethrpc.ID, *ChainEvent) error) (*gethrpc.Subscription, error) {
	n, ok := gethrpc.NotifierFromContext(ctx)
	if !ok {
		return nil, gethrpc.ErrNotificationsUnsupported
	}
	conn := gethrpc.PeerInfoFromContext(ctx).RemoteAddr
	// The check of quit, the caps and subs.Add happen under mu, which Close holds to
	// close quit: no Add can follow Close's Wait.
	s.mu.Lock()
	select {
	case <-s.quit:
		s.mu.Unlock()
		return nil, &Error{Code: rpctypes.CodeNotReady, Message: "server shutting down"}
	default:
	}
	if s.subPerConn[conn] >= s.cfg.SubsPerConn {
		s.mu.Unlock()
		s.metrics.subsDrop.WithLabelValues("conn").Inc()
		return nil, &Error{Code: rpctypes.CodeBusy, Message: fmt.Sprintf("too many subscriptions on this connection: at most %d", s.cfg.SubsPerConn),
			Data: map[string]any{"retryAfter": int(RetryAfter / time.Second)}}
	}
	if s.subCount >= s.cfg.SubsTotal {
		s.mu.Unlock()
		s.metrics.subsDrop.WithLabelValues("total").Inc()
		return nil, &Error{Code: rpctypes.CodeBusy, Message: fmt.Sprintf("the node serves its maximum of %d subscriptions", s.cfg.SubsTotal),
			Data: map[string]any{"retryAfter": int(RetryAfter / time.Second)}}
	}
	s.subPerConn[conn]++
	s.subCount++
	s.subs.Add(1)
	s.mu.Unlock()

	sub := n.CreateSubscription()
	ch := make(chan *ChainEvent, subscriptionBuffer)
	unsubscribe := s.backend.SubscribeChain(ch)
	s.metrics.subs.Inc()
	go func() {
		defer s.subs.Done()
		defer func() {
			s.mu.Lock()
			s.subCount--
			if s.subPerConn[conn]--; s.subPerConn[conn] <= 0 {
				delete(s.subPerConn, conn)
			}
			s.mu.Unlock()
		}()
		defer s.metrics.subs.Dec()
		defer unsubscribe()
		var last uint64
		for {
			select {
			case ev := <-ch:
				// A gap in heights means the backend skipped this subscriber: its buffer
				// was full, so the client reads slower than blocks come. It is dropped
				// rather than served a stream with holes.
				h := ev.Block.Header.Height
				if last != 0 && h != last+1 {
					s.metrics.subsDrop.WithLabelValues("slow").Inc()
					s.log.Debug("subscription dropped: client too slow", "conn", conn, "missed", h-last-1)
					return
				}
				last = h
				if err := send(n, sub.ID, ev); err != nil {
					return
				}
			case <-sub.Err():
				return
			case <-s.quit:
				return
			}
		}
	}()
	return sub, nil
}

// netAPI is the "net" namespace.
type netAPI struct{ s *Server }

// PeerCount is net_peerCount: the number of connected peers.
func (a *netAPI) PeerCount() hexutil.Uint64 { return hexutil.Uint64(len(a.s.backend.Peers())) }

// Peers is net_peers: the connected peers.
func (a *netAPI) Peers() []PeerInfo {
	p := a.s.backend.Peers()
	if p == nil {
		p = []PeerInfo{}
	}
	return p
}

// Version is net_version: the chain id in decimal, as Ethereum tools expect.
func (a *netAPI) Version() string { return fmt.Sprint(a.s.backend.ChainID()) }

func isNotFound(err error) bool { return err != nil && errors.Is(err, ErrNotFound) }
