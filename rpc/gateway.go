package rpc

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/ethereum/go-ethereum/common/hexutil"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm/metadata"
)

// The function gateway: POST /fn/{address}/{method} with the raw argument bytes as body,
// or GET /fn/{address}/{method}?input=TEXT (or ?hex=0x…), runs a read-only call on the
// latest state and answers the raw output with the headers
//
//	X-Wnode-Height      the height of the state the call ran on (decimal)
//	X-Wnode-State-Root  that block's state root (0x hex)
//	X-Wnode-Gas-Used    gas used (decimal)
//	X-Wnode-Chain-Id    the chain id (decimal)
//	X-Wnode-Signer      the serving node's address
//	X-Wnode-Signature   its signature (0x hex, 65 bytes) of the call, see rpctypes.SignedResult;
//	                    the call's from is the zero address and its value zero
//
// Errors are plain text with an HTTP status: 400 bad address, method or input; 404 no
// contract or no such method; 405 other HTTP methods; 413 input over types.MaxArgsSize;
// 422 the call reverted, trapped or ran out of gas (X-Wnode-Error says why, X-Wnode-Gas-Used
// how much it used); 429 this client already holds its share of execution slots, 503 every
// slot busy and the queue full or the wait over (both with Retry-After), or node not
// ready; 504 timeout or the per-execution time budget spent; 500 anything else.
//
// With ?witness=1 or the header X-Wnode-Witness: 1 it answers instead the call's
// light.CallBundle as JSON (see serveFnWitness).

func (s *Server) serveFn(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var err error
	defer func() { s.metrics.observe("fn", start, &err) }()
	fail := func(status int, e error) {
		err = e
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(status)
		io.WriteString(w, e.Error()+"\n")
	}

	to, perr := rpctypes.ParseAddress(r.PathValue("address"))
	if perr != nil {
		fail(http.StatusBadRequest, perr)
		return
	}
	method := r.PathValue("method")
	if method == "" || len(method) > types.MaxMethodLen {
		fail(http.StatusBadRequest, fmt.Errorf("bad method name: want 1 to %d bytes", types.MaxMethodLen))
		return
	}
	var input []byte
	switch r.Method {
	case http.MethodPost:
		tooLarge := fmt.Sprintf("input larger than %d bytes", types.MaxArgsSize)
		if r.ContentLength > types.MaxArgsSize {
			err = errors.New(tooLarge)
			s.tooLarge(w, r, tooLarge)
			return
		}
		input, perr = io.ReadAll(io.LimitReader(r.Body, types.MaxArgsSize+1))
		if perr != nil {
			fail(http.StatusBadRequest, fmt.Errorf("read input: %v", perr))
			return
		}
		if len(input) > types.MaxArgsSize { // a chunked body: no length announced
			err = errors.New(tooLarge)
			s.tooLarge(w, r, tooLarge)
			return
		}
	case http.MethodGet, http.MethodHead:
		q := r.URL.Query()
		if h := q.Get("hex"); h != "" {
			input, perr = hexutil.Decode(h)
			if perr != nil {
				fail(http.StatusBadRequest, fmt.Errorf("bad hex input: %v", perr))
				return
			}
		} else {
			input = []byte(q.Get("input"))
		}
		if len(input) > types.MaxArgsSize {
			fail(http.StatusRequestEntityTooLarge, fmt.Errorf("input larger than %d bytes", types.MaxArgsSize))
			return
		}
	default:
		w.Header().Set("Allow", "GET, POST, OPTIONS")
		fail(http.StatusMethodNotAllowed, fmt.Errorf("method %s not allowed: use GET or POST", r.Method))
		return
	}

	head := s.backend.Head()
	if head == nil {
		fail(http.StatusServiceUnavailable, errors.New("node not ready: no head block"))
		return
	}
	req := &CallRequest{To: to, Method: method, Args: input, Gas: s.cfg.GasCap}
	if wantsWitness(r) {
		err = s.serveFnWitness(w, r, req, head.Height)
		return
	}
	key, cacheable := s.answers.key(head.Height, to, method, input)
	if cacheable {
		if a, ok := s.answers.get(key); ok {
			s.writeFnAnswer(w, r, a)
			return
		}
	}
	res, sr, cerr := s.call(r.Context(), req, head.Height)
	if cerr != nil {
		var ee *ExecutionError
		var be *BusyError
		var re *Error
		switch {
		case errors.As(cerr, &be):
			w.Header().Set("Retry-After", strconv.Itoa(int(be.RetryAfter/time.Second)))
			fail(be.Status, be)
		case errors.As(cerr, &re) && re.Code == rpctypes.CodeTimeout:
			fail(http.StatusGatewayTimeout, re)
		case errors.As(cerr, &ee):
			w.Header().Set(rpctypes.HeaderGasUsed, strconv.FormatUint(ee.GasUsed, 10))
			w.Header().Set(rpctypes.HeaderError, headerSafe(ee.Error()))
			if ee.NotFound {
				fail(http.StatusNotFound, ee)
			} else {
				fail(http.StatusUnprocessableEntity, ee)
			}
		case errors.Is(cerr, context.DeadlineExceeded):
			fail(http.StatusGatewayTimeout, cerr)
		case errors.Is(cerr, ErrNotReady), errors.Is(cerr, ErrUnknownBlock):
			fail(http.StatusServiceUnavailable, cerr)
		default:
			fail(http.StatusInternalServerError, cerr)
		}
		return
	}
	a := &fnAnswer{
		height: []string{strconv.FormatUint(res.Height, 10)}, stateRoot: []string{res.StateRoot.Hex()},
		gasUsed: []string{strconv.FormatUint(res.GasUsed, 10)}, chainID: []string{strconv.FormatUint(sr.ChainID, 10)},
		signer:      []string{s.signer.hex}, // the EIP-55 form, computed once
		signature:   []string{hexutil.Encode(sr.Signature)},
		contentType: []string{contentType(res, method)}, length: []string{strconv.Itoa(len(res.Output))},
		output: res.Output,
	}
	if m, ok := res.Metadata.Method(method); ok {
		a.format = []string{string(m.Output)}
	}
	// The state at a height never changes and execution is deterministic: the same call
	// on the same height is the same answer, signature included, until the head moves.
	if cacheable && res.Height == head.Height {
		s.answers.add(key, a)
	}
	s.writeFnAnswer(w, r, a)
}

// fnAnswer is a successful gateway answer, its header values ready to serve (each a
// one-element slice that http.Header can hold as is, shared by every answer served
// from the cache: net/http only reads them).
type fnAnswer struct {
	height, stateRoot, gasUsed, chainID, signer, signature []string
	contentType, format, length                            []string
	output                                                 []byte
}

var (
	noStore = []string{"no-store"}
	noSniff = []string{"nosniff"}
)

// writeFnAnswer writes a (the header keys are in canonical form: no Set needed).
func (s *Server) writeFnAnswer(w http.ResponseWriter, r *http.Request, a *fnAnswer) {
	h := w.Header()
	h[rpctypes.HeaderHeight] = a.height
	h[rpctypes.HeaderStateRoot] = a.stateRoot
	h[rpctypes.HeaderGasUsed] = a.gasUsed
	h[rpctypes.HeaderChainID] = a.chainID
	h[rpctypes.HeaderSigner] = a.signer
	h[rpctypes.HeaderSignature] = a.signature
	h["Cache-Control"] = noStore
	h["X-Content-Type-Options"] = noSniff
	h["Content-Type"] = a.contentType
	if a.format != nil {
		h[rpctypes.HeaderFormat] = a.format
	}
	h["Content-Length"] = a.length
	if r.Method != http.MethodHead {
		w.Write(a.output)
	}
}

// fnAnswers caches recent successful gateway answers by (height, contract, method,
// input), so that a hot function is executed and signed once per block rather than once
// per request. Failed calls are not cached: every one of them runs (and is admitted)
// again. Nil when the cache is off.
type fnAnswers struct {
	lru *lru.Cache[string, *fnAnswer]
}

// maxCachedInput is the largest input (and output) whose answer is cached: the
// cache's memory is at most its size times twice this, plus headers.
const maxCachedInput = 2 << 10

func newFnAnswers(size int) *fnAnswers {
	if size <= 0 {
		return nil
	}
	c, err := lru.New[string, *fnAnswer](size)
	if err != nil {
		panic(err) // only for a size <= 0
	}
	return &fnAnswers{lru: c}
}

// key is the cache key of a call, and whether its answer may be cached.
func (c *fnAnswers) key(height uint64, to types.Address, method string, input []byte) (string, bool) {
	if c == nil || len(input) > maxCachedInput {
		return "", false
	}
	b := make([]byte, 0, 8+len(to)+1+len(method)+1+len(input))
	b = binary.BigEndian.AppendUint64(b, height)
	b = append(b, to[:]...)
	b = append(b, byte(len(method)))
	b = append(b, method...)
	b = append(b, input...)
	return string(b), true
}

func (c *fnAnswers) get(key string) (*fnAnswer, bool) { return c.lru.Get(key) }

func (c *fnAnswers) add(key string, a *fnAnswer) {
	if len(a.output) <= maxCachedInput {
		c.lru.Add(key, a)
	}
}

// contentType is the media type of a call's output: the one of the output format the
// method declares in the contract's metadata when the bytes are of that format (UTF-8
// text, valid JSON), otherwise text when the bytes are UTF-8 and octet-stream when not.
func contentType(res *CallResult, method string) string {
	if m, ok := res.Metadata.Method(method); ok {
		switch m.Output {
		case metadata.JSON:
			if json.Valid(res.Output) {
				return m.Output.ContentType()
			}
		case metadata.Text:
			if utf8.Valid(res.Output) {
				return m.Output.ContentType()
			}
		default:
			return m.Output.ContentType()
		}
		return "application/octet-stream"
	}
	if utf8.Valid(res.Output) {
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}

// headerSafe makes s usable as a header value: printable ASCII, at most 256 bytes.
func headerSafe(s string) string {
	b := make([]byte, 0, min(len(s), 256))
	for i := 0; i < len(s) && len(b) < 256; i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			c = '?'
		}
		b = append(b, c)
	}
	return string(b)
}
