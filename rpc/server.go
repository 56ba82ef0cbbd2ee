package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/wnode/wnode/gas"
	"github.com/wnode/wnode/rpc/rpctypes"
)

// Config is the RPC server's configuration. The zero value of a field means its default.
type Config struct {
	// Addr is the listen address of JSON-RPC (HTTP and WebSocket), /fn/, /metrics and
	// /health. Default 127.0.0.1:8545.
	Addr string
	// CORSOrigins are the browser origins allowed to use JSON-RPC over HTTP ("*": any).
	// Default none: only non-browser clients and same-origin pages; a request with
	// another Origin is refused (403).
	CORSOrigins []string
	// WSOrigins are the browser origins allowed to open a JSON-RPC WebSocket ("*": any).
	// Default none, as CORSOrigins.
	WSOrigins []string
	// FnCORSOrigins are the browser origins allowed to use the /fn/ gateway. Default "*":
	// the gateway serves read-only, signed answers, meant to be called from web pages.
	FnCORSOrigins []string
	// BodyLimit bounds a request body or WebSocket message, bytes. Default 5 MiB.
	BodyLimit int
	// BatchLimit bounds the items of a batch request. Default 1000.
	BatchLimit int
	// BatchResponseLimit bounds the bytes of a batch's answers. Default 25 MB.
	BatchResponseLimit int
	// RequestTimeout bounds the time spent on one request (one batch). Default 10 s.
	RequestTimeout time.Duration
	// GasCap is the most gas a call or gas estimate may use; a request asking for more is
	// capped, one asking for none gets the cap. Default gas.DefaultCallCap.
	GasCap uint64

	// ExecSlots bounds the read-only executions (/fn/, wn_call, wn_estimateGas) running at
	// once. Default DefaultExecSlots(): half the Go processors, at least 1.
	ExecSlots int
	// ExecQueue bounds the executions waiting for a slot; past it a request is refused
	// at once (503, CodeBusy). Default max(8, 4 × ExecSlots).
	ExecQueue int
	// ExecQueueWait bounds the time an execution waits for a slot before it is refused
	// (503, CodeBusy). Default 250 ms.
	ExecQueueWait time.Duration
	// ExecPerClient bounds the executions one client runs and waits for together; past it
	// the client is refused at once (429, CodeBusy). Default max(2, (ExecSlots+ExecQueue)/2): one client never holds more than half of the slots and queue places.
	ExecPerClient int
	// ExecTimeBudget bounds the time one execution may run, besides its gas (checked at
	// every host call and contract call). Default 2 s, about 40 times what the default gas
	// cap takes.
	ExecTimeBudget time.Duration
	// ExecShare is the share of each slot's processor that read-only work may use, in
	// (0, 1]: after an execution of d, its slot stays taken d × (1/ExecShare − 1) more.
	// Default 0.5 (DefaultExecShare); 1: no rest.
	ExecShare float64
	// ExecFastLane is how long an execution first runs inline, on the request's own
	// goroutine at normal priority, before it is stopped and run again from the start on
	// an execution thread at nice 10 (the hand-over to a thread costs a short call more than
	// the call itself; see docs/rationale/gateway.md). Overflows are rate-limited; past
	// the limit every execution goes straight to the threads. Default 1 ms
	// (DefaultExecFastLane); negative: off.
	ExecFastLane time.Duration
	// ClientHeader names a header set by a trusted reverse proxy (X-Forwarded-For,
	// X-Real-IP) whose last value identifies the client for fairness instead of the
	// remote IP. Default none: only set it behind a proxy that overwrites it.
	ClientHeader string

	// SubsPerConn bounds the subscriptions of one WebSocket connection. Default 32.
	SubsPerConn int
	// SubsTotal bounds the subscriptions of the server. Default 2,048.
	SubsTotal int

	// FnCache is how many successful /fn/ answers (of inputs and outputs up to 2 KiB)
	// are kept to be served again while the head stays at their height: a hot function
	// runs and is signed once per block. Default DefaultFnCache; negative turns it off.
	FnCache int
}

// Defaults of Config, copied from go-ethereum's where it has one.
const (
	DefaultAddr               = "127.0.0.1:8545"
	DefaultBodyLimit          = 5 << 20
	DefaultBatchLimit         = 1000
	DefaultBatchResponseLimit = 25_000_000
	DefaultRequestTimeout     = 10 * time.Second
	DefaultSubsPerConn        = 32
	DefaultSubsTotal          = 2048
	DefaultFnCache            = 1024
)

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.FnCORSOrigins == nil {
		c.FnCORSOrigins = []string{"*"}
	}
	if c.BodyLimit <= 0 {
		c.BodyLimit = DefaultBodyLimit
	}
	if c.BatchLimit <= 0 {
		c.BatchLimit = DefaultBatchLimit
	}
	if c.BatchResponseLimit <= 0 {
		c.BatchResponseLimit = DefaultBatchResponseLimit
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.GasCap == 0 {
		c.GasCap = gas.DefaultCallCap
	}
	if c.ExecSlots <= 0 {
		c.ExecSlots = DefaultExecSlots()
	}
	if c.ExecQueue <= 0 {
		c.ExecQueue = max(8, 4*c.ExecSlots)
	}
	if c.ExecQueueWait <= 0 {
		c.ExecQueueWait = DefaultExecQueueWait
	}
	if c.ExecPerClient <= 0 {
		c.ExecPerClient = max(2, (c.ExecSlots+c.ExecQueue)/2)
	}
	if c.ExecShare <= 0 || c.ExecShare > 1 {
		c.ExecShare = DefaultExecShare
	}
	if c.ExecTimeBudget <= 0 {
		c.ExecTimeBudget = DefaultExecTimeBudget
	}
	if c.ExecFastLane == 0 {
		c.ExecFastLane = DefaultExecFastLane
	}
	if c.SubsPerConn <= 0 {
		c.SubsPerConn = DefaultSubsPerConn
	}
	if c.SubsTotal <= 0 {
		c.SubsTotal = DefaultSubsTotal
	}
	if c.FnCache == 0 {
		c.FnCache = DefaultFnCache
	}
	return c
}

// Server serves JSON-RPC over HTTP and WebSocket, the /fn/ gateway, /metrics and /health
// on one address. Create it with NewServer, start it with Start, stop it with Close.
type Server struct {
	cfg     Config
	backend Backend
	signer  *ResultSigner
	log     *slog.Logger
	metrics *metrics
	gather  prometheus.Gatherer

	rpc     *gethrpc.Server
	mux     *http.ServeMux
	handler http.Handler

	mu       sync.Mutex
	http     *http.Server
	listener net.Listener

	admit *admission

	answers *fnAnswers // nil: no cache
	threads *execThreads
	fast    *fastLane

	quit       chan struct{}  // closed by Close (under mu): ends subscriptions
	subs       sync.WaitGroup // Add only under mu with quit open
	subCount   int            // guarded by mu
	subPerConn map[string]int // by connection (remote address); guarded by mu
}

// NewServer builds a server over backend. signer signs call results and receipts. Metrics
// are registered with reg and /metrics serves gather (both may be nil: no registration,
// an empty /metrics). log may be nil (no logs).
func NewServer(cfg Config, backend Backend, signer *ResultSigner, reg prometheus.Registerer, gather prometheus.Gatherer, log *slog.Logger) (*Server, error) {
	if backend == nil || signer == nil {
		return nil, errors.New("rpc: backend and signer are required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("rpc: register metrics: %w", err)
	}
	s := &Server{
		cfg: cfg, backend: backend, signer: signer, log: log, metrics: m, gather: gather,
		rpc: gethrpc.NewServer(), quit: make(chan struct{}), subPerConn: map[string]int{},
		admit:   newAdmission(cfg.ExecSlots, cfg.ExecQueue, cfg.ExecPerClient, cfg.ExecQueueWait, m.admission),
		answers: newFnAnswers(cfg.FnCache),
		threads: newExecThreads(cfg.ExecSlots),
		fast:    newFastLane(cfg.ExecFastLane),
	}
	s.rpc.SetBatchLimits(cfg.BatchLimit, cfg.BatchResponseLimit)
	s.rpc.SetHTTPBodyLimit(cfg.BodyLimit)
	s.rpc.SetWebsocketReadLimit(int64(cfg.BodyLimit))
	if err := s.rpc.RegisterName("wn", &wnAPI{s}); err != nil {
		return nil, fmt.Errorf("rpc: register wn: %w", err)
	}
	if err := s.rpc.RegisterName("net", &netAPI{s}); err != nil {
		return nil, fmt.Errorf("rpc: register net: %w", err)
	}
	s.handler = s.routes()
	return s, nil
}

// Config returns the server's configuration with defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// Handler returns the server's HTTP handler (all routes), for tests and embedding.
func (s *Server) Handler() http.Handler { return s.handler }

// Handle serves pattern (an http.ServeMux pattern, e.g. "/ui/") with h beside the
// server's own routes. It is how the node adds pages (package ui) without this package
// knowing them. A pattern that conflicts with a route panics, as http.ServeMux does.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	s.mux = mux
	// Origins are checked here (wsOrigins, rpcCORS.allows): go-ethereum's own check lets
	// any port of localhost in by default, and knows nothing of same-origin pages (the
	// dashboard).
	ws := s.rpc.WebsocketHandler([]string{"*"})
	wsOrigins := newCORS(s.cfg.WSOrigins, "")
	rpcCORS := newCORS(s.cfg.CORSOrigins, "POST, GET, OPTIONS")
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		// A browser page of another origin may not use JSON-RPC unless allowed: its
		// "simple" POSTs need no preflight, and a WebSocket has none at all.
		if isWebsocket(r) {
			if !wsOrigins.allows(r) {
				http.Error(w, fmt.Sprintf("origin %s not allowed on WebSocket: see --rpc.wsorigins", strconv.Quote(firstN(r.Header.Get("Origin"), 100))), http.StatusForbidden)
				return
			}
			ws.ServeHTTP(w, r)
			return
		}
		if !rpcCORS.allows(r) {
			http.Error(w, fmt.Sprintf("origin %s not allowed: see --rpc.corsdomain", strconv.Quote(firstN(r.Header.Get("Origin"), 100))), http.StatusForbidden)
			return
		}
		if rpcCORS.handle(w, r) {
			return
		}
		if r.ContentLength > int64(s.cfg.BodyLimit) {
			s.tooLarge(w, r, fmt.Sprintf("request body of %d bytes is over the limit of %d bytes", r.ContentLength, s.cfg.BodyLimit))
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
		defer cancel()
		s.rpc.ServeHTTP(w, r.WithContext(ctx))
	})
	fnCORS := newCORS(s.cfg.FnCORSOrigins, "GET, POST, OPTIONS")
	mux.HandleFunc("/fn/{address}/{method}", func(w http.ResponseWriter, r *http.Request) {
		if fnCORS.handle(w, r) {
			return
		}
		s.serveFn(w, r)
	})
	mux.HandleFunc("GET /health", s.serveHealth)
	if s.gather != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.gather, promhttp.HandlerOpts{}))
	} else {
		mux.Handle("GET /metrics", promhttp.HandlerFor(prometheus.NewRegistry(), promhttp.HandlerOpts{}))
	}
	return s.withClient(mux)
}

// maxDrain is the most of an oversized body the server reads to let the client see its
// 413 (a connection closed while the client still writes loses the answer).
const maxDrain = 64 << 20

// tooLarge answers 413 with msg, reads the body up to maxDrain and closes the connection.
func (s *Server) tooLarge(w http.ResponseWriter, r *http.Request, msg string) {
	s.metrics.tooLarge.Inc()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Connection", "close")
	w.WriteHeader(http.StatusRequestEntityTooLarge)
	io.WriteString(w, msg+"\n")
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	io.Copy(io.Discard, io.LimitReader(r.Body, maxDrain))
}

// sameOrigin reports whether the request's Origin is the server's own address as the
// browser reached it (scheme http or https, the Host it asked for).
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	u, err := url.Parse(o)
	if o == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Path != "" {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

func isWebsocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket") &&
		strings.Contains(strings.ToLower(r.Header.Get("Connection")), "upgrade")
}

// Start listens on the configured address and serves in the background. It returns once
// the listener is bound (so a port of 0 is resolved; see Addr).
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("rpc: listen on %s: %w", s.cfg.Addr, err)
	}
	return s.Serve(ln)
}

// Serve serves on ln in the background.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.http != nil {
		return errors.New("rpc: server already started")
	}
	s.listener = ln
	s.http = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       s.cfg.RequestTimeout + 5*time.Second,
		WriteTimeout:      s.cfg.RequestTimeout + time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	srv := s.http
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("rpc server stopped", "err", err)
		}
	}()
	s.log.Info("RPC listening", "addr", ln.Addr().String())
	if !isLoopback(ln.Addr()) {
		s.log.Warn("RPC IS LISTENING ON A NON-LOOPBACK ADDRESS: anyone who can reach it can call JSON-RPC, /fn/ and /metrics; put it behind a firewall or a proxy, or use --rpc.addr 127.0.0.1:PORT",
			"addr", ln.Addr().String())
	}
	return nil
}

// Addr is the bound listen address, or the configured one before Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener != nil {
		return s.listener.Addr().String()
	}
	return s.cfg.Addr
}

// Close stops accepting requests, ends subscriptions and WebSocket connections, and waits
// for requests in flight until ctx is done.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	srv := s.http
	select {
	case <-s.quit:
	default:
		close(s.quit)
	}
	s.mu.Unlock()
	var err error
	if srv != nil {
		err = srv.Shutdown(ctx)
	}
	s.rpc.Stop()
	s.threads.close()
	s.subs.Wait()
	return err
}

func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	head := s.backend.Head()
	body := map[string]any{"chainId": s.backend.ChainID()}
	if head != nil {
		body["height"] = head.Height
		body["headTime"] = head.Time
	}
	status := http.StatusOK
	if err := s.backend.Health(); err != nil {
		status = http.StatusServiceUnavailable
		body["status"] = "unavailable"
		body["error"] = err.Error()
	} else {
		body["status"] = "ok"
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

// cors answers CORS preflight requests and decorates the others, for a fixed list of
// allowed origins ("*" allows any).
type cors struct {
	any     bool
	origins map[string]bool
	methods string
}

func newCORS(origins []string, methods string) *cors {
	c := &cors{origins: map[string]bool{}, methods: methods}
	for _, o := range origins {
		o = strings.ToLower(strings.TrimRight(strings.TrimSpace(o), "/"))
		if o == "*" {
			c.any = true
		} else if o != "" {
			c.origins[o] = true
		}
	}
	return c
}

// allows reports whether a request may be served: it has no Origin (not a browser), an
// allowed one, or its own host's (a same-origin page).
func (c *cors) allows(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || c.any || c.origins[strings.ToLower(origin)] {
		return true
	}
	return sameOrigin(r)
}

// exposed are the gateway's headers a page may read.
const exposedHeaders = "X-Wnode-Height, X-Wnode-Gas-Used, X-Wnode-State-Root, X-Wnode-Chain-Id, X-Wnode-Signer, X-Wnode-Signature, X-Wnode-Error, X-Wnode-Format"

// handle sets CORS headers for an allowed origin and reports whether the request was a
// preflight that it answered.
func (c *cors) handle(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	allowed := origin != "" && (c.any || c.origins[strings.ToLower(origin)])
	h := w.Header()
	h.Add("Vary", "Origin")
	if allowed {
		if c.any {
			h.Set("Access-Control-Allow-Origin", "*")
		} else {
			h.Set("Access-Control-Allow-Origin", origin)
		}
		h.Set("Access-Control-Expose-Headers", exposedHeaders)
	}
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	if allowed {
		h.Set("Access-Control-Allow-Methods", c.methods)
		h.Set("Access-Control-Allow-Headers", "Content-Type, "+rpctypes.HeaderWitness)
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
	} else {
		http.Error(w, "origin not allowed", http.StatusForbidden)
	}
	return true
}

// isLoopback reports whether addr is a loopback TCP address (127.0.0.0/8, ::1).
func isLoopback(addr net.Addr) bool {
	ta, ok := addr.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// firstN is s cut to at most n bytes, for quoting outside input in messages.
func firstN(s string, n int) string { return s[:min(len(s), n)] }
