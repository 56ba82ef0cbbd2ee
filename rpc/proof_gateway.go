package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wnode/wnode/rpc/rpctypes"
)

// wantsWitness reports whether a gateway request asks for the witness bundle: the query
// parameter witness or the header X-Wnode-Witness, set to 1 or true.
func wantsWitness(r *http.Request) bool {
	on := func(v string) bool { v = strings.ToLower(v); return v == "1" || v == "true" }
	return on(r.URL.Query().Get("witness")) || on(r.Header.Get(rpctypes.HeaderWitness))
}

// serveFnWitness answers a gateway call with its light.CallBundle as one JSON document
// (Content-Type application/json, status 200): the call on the latest state, its outcome
// — a revert, trap or out-of-gas is part of the outcome and also named in X-Wnode-Error —,
// every state key it read with proofs, and the certificate of the height, so that a
// client trusting only the chain's genesis can check it (package light, wnode verify).
// X-Wnode-Height and X-Wnode-Gas-Used are set as for a plain answer. Errors are plain
// text: 501 the node serves no proofs, 503 not ready or no certificate yet, 504 timeout,
// 507 the call read too many keys, 500 anything else.
func (s *Server) serveFnWitness(w http.ResponseWriter, r *http.Request, req *CallRequest, height uint64) error {
	fail := func(status int, e error) error {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(status)
		io.WriteString(w, e.Error()+"\n")
		return e
	}
	p, err := s.prover()
	if err != nil {
		return fail(http.StatusNotImplemented, err)
	}
	if height == 0 {
		return fail(http.StatusServiceUnavailable, fmt.Errorf("%w: no block committed yet", ErrNoCommit))
	}
	b, err := s.callWitness(r.Context(), p, req, height)
	if err != nil {
		var be *BusyError
		var re *Error
		switch {
		case errors.As(err, &be):
			w.Header().Set("Retry-After", strconv.Itoa(int(be.RetryAfter/time.Second)))
			return fail(be.Status, be)
		case errors.As(err, &re) && re.Code == rpctypes.CodeTimeout:
			return fail(http.StatusGatewayTimeout, re)
		case errors.Is(err, context.DeadlineExceeded):
			return fail(http.StatusGatewayTimeout, err)
		case errors.Is(err, ErrWitnessTooLarge):
			return fail(http.StatusInsufficientStorage, err)
		case errors.Is(err, ErrNotReady), errors.Is(err, ErrUnknownBlock), errors.Is(err, ErrNoCommit), errors.Is(err, ErrPruned):
			return fail(http.StatusServiceUnavailable, err)
		}
		return fail(http.StatusInternalServerError, err)
	}
	body, err := json.Marshal(b)
	if err != nil {
		return fail(http.StatusInternalServerError, err)
	}
	h := w.Header()
	h.Set(rpctypes.HeaderHeight, strconv.FormatUint(height, 10))
	h.Set(rpctypes.HeaderGasUsed, strconv.FormatUint(uint64(b.Result.GasUsed), 10))
	if b.Result.Error != "" {
		h.Set(rpctypes.HeaderError, headerSafe(b.Result.Error))
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method != http.MethodHead {
		w.Write(body)
	}
	return nil
}
