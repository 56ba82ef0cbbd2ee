package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/holiman/uint256"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
)

// Client is a typed client of a wnode node's JSON-RPC API and /fn/ gateway, over HTTP or
// WebSocket (subscriptions need WebSocket). It is safe for concurrent use.
type Client struct {
	raw  *gethrpc.Client
	http *http.Client
	base string // http(s)://host:port of the gateway
}

// ErrNoNode is wrapped by Dial's and the client's errors when nothing answers at the URL:
// the connection is refused, reset or closed before an answer.
var ErrNoNode = errors.New("no node answering")

// ErrTimeout is wrapped by the client's errors when the context's deadline passes before
// the node answers (a slow or overloaded node, or a deadline too short for the request).
// The error also wraps context.DeadlineExceeded and names the URL and the time waited.
var ErrTimeout = errors.New("timed out")

// Dial connects to the node at rawURL (http://, https://, ws:// or wss://; a bare
// host:port means http://). Over HTTP nothing is sent until the first call.
func Dial(ctx context.Context, rawURL string) (*Client, error) {
	if !strings.Contains(rawURL, "://") {
		rawURL = "http://" + rawURL
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("bad RPC URL %q: want http://host:port or ws://host:port", rawURL)
	}
	transport := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
	}
	hc := &http.Client{Transport: transport}
	var base string
	switch u.Scheme {
	case "http", "https":
		base = u.Scheme + "://" + u.Host
	case "ws":
		base = "http://" + u.Host
	case "wss":
		base = "https://" + u.Host
	default:
		return nil, fmt.Errorf("bad RPC URL %q: scheme must be http, https, ws or wss", rawURL)
	}
	start := time.Now()
	c, err := gethrpc.DialOptions(ctx, rawURL, gethrpc.WithHTTPClient(hc))
	if err != nil {
		if cerr := ctxError(ctx, "dial", rawURL, start); cerr != nil {
			return nil, cerr
		}
		return nil, fmt.Errorf("dial %s: %w: %v", rawURL, ErrNoNode, err)
	}
	return &Client{raw: c, http: hc, base: base}, nil
}

// Close closes the connection.
func (c *Client) Close() { c.raw.Close() }

// Raw returns the underlying go-ethereum client, for methods without a typed wrapper.
func (c *Client) Raw() *gethrpc.Client { return c.raw }

func (c *Client) call(ctx context.Context, result any, method string, args ...any) error {
	start := time.Now()
	err := c.raw.CallContext(ctx, result, method, args...)
	if err == nil {
		return nil
	}
	var re gethrpc.Error
	if errors.As(err, &re) {
		return err
	}
	var he gethrpc.HTTPError
	if errors.As(err, &he) {
		return fmt.Errorf("%s: HTTP %s", method, strings.TrimSpace(string(he.Body)))
	}
	return c.unreachable(ctx, method, start, err)
}

// unreachable says why a call of method, started at start, got no answer: the
// context ended (see ctxError), nothing answered (ErrNoNode), or something else.
func (c *Client) unreachable(ctx context.Context, method string, start time.Time, err error) error {
	if cerr := ctxError(ctx, method, c.base, start); cerr != nil {
		return cerr
	}
	var ne net.Error
	var oe *net.OpError
	if errors.As(err, &oe) || errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%s: %w at %s: %v", method, ErrNoNode, c.base, err)
	}
	return fmt.Errorf("%s: %w", method, err)
}

// ctxError is the error of a request to url that got no answer because ctx ended, or nil
// when ctx has not ended. It is asked before anything else: an expired deadline also
// surfaces as a net.Error, which would otherwise read as "no node answering" although
// the node is there, only slow.
func ctxError(ctx context.Context, what, url string, start time.Time) error {
	switch err := ctx.Err(); {
	case errors.Is(err, context.DeadlineExceeded):
		waited := time.Since(start).Round(10 * time.Millisecond)
		return fmt.Errorf("%s: %w after %s waiting for %s: %w", what, ErrTimeout, waited, url, err)
	case err != nil:
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// ErrorCode returns the JSON-RPC error code of err, or 0 when it is not a JSON-RPC error.
func ErrorCode(err error) int {
	var re gethrpc.Error
	if errors.As(err, &re) {
		return re.ErrorCode()
	}
	return 0
}

// ChainID is wn_chainId.
func (c *Client) ChainID(ctx context.Context) (uint64, error) {
	var v hexutil.Uint64
	err := c.call(ctx, &v, "wn_chainId")
	return uint64(v), err
}

// BlockNumber is wn_blockNumber.
func (c *Client) BlockNumber(ctx context.Context) (uint64, error) {
	var v hexutil.Uint64
	err := c.call(ctx, &v, "wn_blockNumber")
	return uint64(v), err
}

// GasPrice is wn_gasPrice.
func (c *Client) GasPrice(ctx context.Context) (*uint256.Int, error) {
	var v hexutil.U256
	if err := c.call(ctx, &v, "wn_gasPrice"); err != nil {
		return nil, err
	}
	return (*uint256.Int)(&v), nil
}

// NodeInfo is wn_nodeInfo.
func (c *Client) NodeInfo(ctx context.Context) (*rpctypes.NodeInfoJSON, error) {
	var v rpctypes.NodeInfoJSON
	if err := c.call(ctx, &v, "wn_nodeInfo"); err != nil {
		return nil, err
	}
	return &v, nil
}

// Account is wn_getAccount.
func (c *Client) Account(ctx context.Context, addr types.Address, num rpctypes.BlockNumber) (*rpctypes.AccountJSON, error) {
	var v rpctypes.AccountJSON
	if err := c.call(ctx, &v, "wn_getAccount", addr, num); err != nil {
		return nil, err
	}
	return &v, nil
}

// PendingNonce is wn_getPendingNonce.
func (c *Client) PendingNonce(ctx context.Context, addr types.Address) (uint64, error) {
	var v hexutil.Uint64
	err := c.call(ctx, &v, "wn_getPendingNonce", addr)
	return uint64(v), err
}

// Code is wn_getCode.
func (c *Client) Code(ctx context.Context, addr types.Address, num rpctypes.BlockNumber) ([]byte, error) {
	var v hexutil.Bytes
	err := c.call(ctx, &v, "wn_getCode", addr, num)
	return v, err
}

// Contract is wn_getContract: code hash and size, admin, deploy height, methods and
// metadata of the contract at addr; nil when there is none.
func (c *Client) Contract(ctx context.Context, addr types.Address, num rpctypes.BlockNumber) (*rpctypes.ContractJSON, error) {
	var v *rpctypes.ContractJSON
	err := c.call(ctx, &v, "wn_getContract", addr, num)
	return v, err
}

// Storage is wn_getStorage; ok is false when the key is absent.
func (c *Client) Storage(ctx context.Context, addr types.Address, key []byte, num rpctypes.BlockNumber) (value []byte, ok bool, err error) {
	var v *hexutil.Bytes
	if err := c.call(ctx, &v, "wn_getStorage", addr, hexutil.Bytes(key), num); err != nil {
		return nil, false, err
	}
	if v == nil {
		return nil, false, nil
	}
	return *v, true, nil
}

// SendTransaction is wn_sendRawTransaction of tx's encoding.
func (c *Client) SendTransaction(ctx context.Context, tx *types.Tx) (types.Hash, error) {
	var h types.Hash
	err := c.call(ctx, &h, "wn_sendRawTransaction", hexutil.Bytes(tx.Encode()))
	return h, err
}

// Transaction is wn_getTransaction; nil when unknown.
func (c *Client) Transaction(ctx context.Context, h types.Hash) (*rpctypes.TxJSON, error) {
	var v *rpctypes.TxJSON
	err := c.call(ctx, &v, "wn_getTransaction", h)
	return v, err
}

// Receipt is wn_getTransactionReceipt; nil when unknown or pending. The receipt's
// signature is not checked here: see VerifyReceipt.
func (c *Client) Receipt(ctx context.Context, h types.Hash) (*rpctypes.ReceiptJSON, error) {
	var v *rpctypes.ReceiptJSON
	err := c.call(ctx, &v, "wn_getTransactionReceipt", h)
	return v, err
}

// ErrTxDropped is returned by WaitReceipt when the node holds the transaction neither in
// its pool nor in a block: it will not include it. Its nonce was used meanwhile by
// another transaction of the sender (one built against a node a block behind gets a
// nonce already used, and the node drops it once the block arrives), or the pool
// evicted it; another node holding it may still include it.
var ErrTxDropped = errors.New("transaction dropped")

// dropCheck is how often WaitReceipt asks whether the node still knows the transaction;
// it reports ErrTxDropped after two answers in a row that it does not.
const dropCheck = time.Second

// WaitReceipt polls for the receipt of h until it exists or ctx ends. It polls every
// millisecond for the first 50 ms (a dev node commits within a few), then backs off to
// every 100 ms. Every second it also asks the node for the transaction
// (wn_getTransaction): a transaction the node no longer knows twice in a row will get no
// receipt from it, and WaitReceipt returns ErrTxDropped instead of waiting for ctx.
func (c *Client) WaitReceipt(ctx context.Context, h types.Hash) (*rpctypes.ReceiptJSON, error) {
	start := time.Now()
	checked, unknown := start, 0
	for {
		r, err := c.Receipt(ctx, h)
		if err != nil {
			return nil, err
		}
		if r != nil {
			return r, nil
		}
		if time.Since(checked) >= dropCheck {
			checked = time.Now()
			tx, err := c.Transaction(ctx, h)
			if err != nil {
				return nil, err
			}
			if tx != nil {
				unknown = 0
			} else if unknown++; unknown >= 2 {
				return nil, fmt.Errorf("%w: the node holds %s neither in its pool nor in a block, so it will not include it "+
					"(its nonce was used by another transaction of the sender, or the pool evicted it)", ErrTxDropped, h)
			}
		}
		wait := time.Millisecond
		if el := time.Since(start); el > 50*time.Millisecond {
			wait = min(el/10, 100*time.Millisecond)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("wait for receipt of %s: %w", h, ctx.Err())
		case <-t.C:
		}
	}
}

// VerifyReceipt checks that r carries a valid signature of its signer over its content.
func VerifyReceipt(r *rpctypes.ReceiptJSON) error {
	if err := rpctypes.VerifySignedResult(r.SignedResult()); err != nil {
		return fmt.Errorf("receipt %s: %w", r.TxHash, err)
	}
	return nil
}

// Call is wn_call. The answer's signature is checked (rpctypes.VerifySignedResult).
func (c *Client) Call(ctx context.Context, args rpctypes.CallArgs, num rpctypes.BlockNumber) (*rpctypes.CallResultJSON, error) {
	var v rpctypes.CallResultJSON
	if err := c.call(ctx, &v, "wn_call", args, num); err != nil {
		return nil, err
	}
	if err := rpctypes.VerifySignedResult(v.SignedResult(&args)); err != nil {
		return nil, fmt.Errorf("call answer: %w", err)
	}
	return &v, nil
}

// EstimateGas is wn_estimateGas.
func (c *Client) EstimateGas(ctx context.Context, args rpctypes.CallArgs, num rpctypes.BlockNumber) (uint64, error) {
	var v hexutil.Uint64
	err := c.call(ctx, &v, "wn_estimateGas", args, num)
	return uint64(v), err
}

// BlockResult is a block as the client reads it: the header and either the transaction
// hashes or the whole transactions.
type BlockResult struct {
	rpctypes.HeaderJSON
	TxHashes []types.Hash
	Txs      []*rpctypes.TxJSON // only when asked for full transactions
}

// Block is wn_getBlockByNumber; nil above the head.
func (c *Client) Block(ctx context.Context, num rpctypes.BlockNumber, full bool) (*BlockResult, error) {
	var raw json.RawMessage
	if err := c.call(ctx, &raw, "wn_getBlockByNumber", num, full); err != nil {
		return nil, err
	}
	return decodeBlockResult(raw, full)
}

// BlockByHash is wn_getBlockByHash; nil when unknown.
func (c *Client) BlockByHash(ctx context.Context, h types.Hash, full bool) (*BlockResult, error) {
	var raw json.RawMessage
	if err := c.call(ctx, &raw, "wn_getBlockByHash", h, full); err != nil {
		return nil, err
	}
	return decodeBlockResult(raw, full)
}

func decodeBlockResult(raw json.RawMessage, full bool) (*BlockResult, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var w struct {
		rpctypes.HeaderJSON
		Transactions []json.RawMessage `json:"transactions"`
	}
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, fmt.Errorf("decode block: %w", err)
	}
	out := &BlockResult{HeaderJSON: w.HeaderJSON}
	for _, t := range w.Transactions {
		if full {
			var tx rpctypes.TxJSON
			if err := json.Unmarshal(t, &tx); err != nil {
				return nil, fmt.Errorf("decode block tx: %w", err)
			}
			out.Txs = append(out.Txs, &tx)
			out.TxHashes = append(out.TxHashes, tx.Hash)
		} else {
			var h types.Hash
			if err := json.Unmarshal(t, &h); err != nil {
				return nil, fmt.Errorf("decode block tx hash: %w", err)
			}
			out.TxHashes = append(out.TxHashes, h)
		}
	}
	return out, nil
}

// SubscribeNewHeads is wn_subscribe("newHeads") (WebSocket only).
func (c *Client) SubscribeNewHeads(ctx context.Context, ch chan<- *rpctypes.HeaderJSON) (*gethrpc.ClientSubscription, error) {
	return c.raw.Subscribe(ctx, "wn", ch, "newHeads")
}

// SubscribeEvents is wn_subscribe("events", filter) (WebSocket only).
func (c *Client) SubscribeEvents(ctx context.Context, filter rpctypes.EventFilter, ch chan<- *rpctypes.EventNotification) (*gethrpc.ClientSubscription, error) {
	return c.raw.Subscribe(ctx, "wn", ch, "events", filter)
}

// FnResult is the answer of a /fn/ gateway call.
type FnResult struct {
	Output    []byte
	Height    uint64
	StateRoot types.Hash
	GasUsed   uint64
	ChainID   uint64
	Signer    types.Address
	Signature []byte
}

// SignedResult returns the statement the gateway's signature covers for a call of
// method on to with input.
func (r *FnResult) SignedResult(to types.Address, method string, input []byte) *rpctypes.SignedResult {
	return &rpctypes.SignedResult{
		ChainID: r.ChainID, Kind: rpctypes.KindCall, Height: r.Height, StateRoot: r.StateRoot,
		ResultHash: rpctypes.CallResultHash(types.Address{}, to, method, input, nil, r.Output, r.GasUsed),
		Signer:     r.Signer, Signature: r.Signature,
	}
}

// FnError is a gateway answer other than 200: its HTTP status and message.
type FnError struct {
	Status  int
	Message string
}

func (e *FnError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message) }

// Fn calls POST /fn/{to}/{method} with input as body and checks the answer's signature.
func (c *Client) Fn(ctx context.Context, to types.Address, method string, input []byte) (*FnResult, error) {
	u := c.base + "/fn/" + to.Hex() + "/" + url.PathEscape(method)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(input))
	if err != nil {
		return nil, fmt.Errorf("fn: %w", err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		if cerr := ctxError(ctx, "fn", c.base, start); cerr != nil {
			return nil, cerr
		}
		return nil, fmt.Errorf("fn: %w at %s: %v", ErrNoNode, c.base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("fn: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &FnError{Status: resp.StatusCode, Message: strings.TrimSpace(string(body))}
	}
	res, err := parseFnHeaders(resp.Header)
	if err != nil {
		return nil, err
	}
	res.Output = body
	if err := rpctypes.VerifySignedResult(res.SignedResult(to, method, input)); err != nil {
		return nil, fmt.Errorf("fn answer: %w", err)
	}
	return res, nil
}

func parseFnHeaders(h http.Header) (*FnResult, error) {
	var r FnResult
	var err error
	num := func(name string) uint64 {
		if err != nil {
			return 0
		}
		var v uint64
		v, err = strconv.ParseUint(h.Get(name), 10, 64)
		if err != nil {
			err = fmt.Errorf("fn answer: bad %s header %q", name, h.Get(name))
		}
		return v
	}
	r.Height, r.GasUsed, r.ChainID = num(rpctypes.HeaderHeight), num(rpctypes.HeaderGasUsed), num(rpctypes.HeaderChainID)
	if err != nil {
		return nil, err
	}
	root, err := hexutil.Decode(h.Get(rpctypes.HeaderStateRoot))
	if err != nil || len(root) != 32 {
		return nil, fmt.Errorf("fn answer: bad %s header", rpctypes.HeaderStateRoot)
	}
	r.StateRoot = types.Hash(root)
	if r.Signer, err = rpctypes.ParseAddress(h.Get(rpctypes.HeaderSigner)); err != nil {
		return nil, fmt.Errorf("fn answer: bad %s header: %v", rpctypes.HeaderSigner, err)
	}
	if r.Signature, err = hexutil.Decode(h.Get(rpctypes.HeaderSignature)); err != nil {
		return nil, fmt.Errorf("fn answer: bad %s header", rpctypes.HeaderSignature)
	}
	return &r, nil
}
