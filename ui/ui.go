// Package ui is the node's dashboard: read-only HTML pages about the chain, its blocks,
// transactions, accounts and contracts, served under /ui/ by the node's RPC server.
//
// Pages are rendered on the server with html/template from templates embedded in the
// binary; one small script (assets/static/ui.js, no framework, no build step) keeps the
// overview live from the newHeads subscription, and a contract's page adds contract.js,
// which calls its methods through the /fn/ gateway and checks each answer in the browser
// with package light compiled to WebAssembly (ui/verifier, loaded by verify.js at the
// first checked call). Every value that comes from the chain (contract output, events, method
// names, arguments) is rendered as text or hex by html/template's contextual escaping,
// and a strict Content-Security-Policy forbids inline script. The pages only read: a
// handler never changes the node's state, and only GET and HEAD are served.
package ui

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/rpc"
	"github.com/wnode/wnode/types"
)

// Backend is what the dashboard reads from the node: the RPC server's backend plus the
// facts only the dashboard shows. The node implements it; every method must be safe for
// concurrent use and errors follow rpc.Backend's conventions (rpc.ErrNotFound,
// rpc.ErrUnknownBlock).
type Backend interface {
	rpc.Backend

	// Commit returns the commit certificate of the block at height (≥ 1): the
	// precommit signatures that decided it.
	Commit(height uint64) (*types.Commit, error)
	// Validators returns the validator set that signs the block at height.
	Validators(height uint64) (*types.ValidatorSet, error)
	// BlockReceipts returns the receipts of the block at height, in transaction order.
	BlockReceipts(height uint64) ([]*types.Receipt, error)
	// MempoolStats counts the transactions in the mempool: executable ones (pending) and
	// ones waiting for an earlier nonce (queued).
	MempoolStats() (pending, queued int)
	// DataDirSize is the bytes of the node's data directory (it walks the directory).
	DataDirSize() (int64, error)
}

// Prefix is the path under which the dashboard is served.
const Prefix = "/ui/"

// Limits of what one page reads, so that a request costs the node a bounded amount.
const (
	// RecentBlocks is the number of blocks in the overview's list and in a page of /ui/blocks.
	RecentBlocks = 20
	// SignedBlocks is the number of recent blocks whose signers the overview shows.
	SignedBlocks = 10
	// BlockTxsPage is the number of transactions shown on one page of a block.
	BlockTxsPage = 200
	// ScanBlocks and ScanTxs bound the search for an address's recent transactions: at
	// most ScanBlocks blocks back from the head and ScanTxs transactions in all.
	ScanBlocks = 256
	ScanTxs    = 20_000
	// AddressTxs is the number of recent transactions an address page lists.
	AddressTxs = 25
	// MaxShownBytes bounds the bytes of one value (output, argument, event) shown in full.
	MaxShownBytes = 64 << 10
	// DecodeContracts bounds the contracts whose metadata a transaction page reads to
	// decode events; events of further contracts are shown raw.
	DecodeContracts = 16
)

// CSP is the Content-Security-Policy of every answer: scripts, styles, images and
// connections (JSON-RPC, the newHeads WebSocket, /fn/) only from the node itself, no
// inline script or style, no plugins, no framing.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// CSPVerifier is the policy of a contract's page: CSP plus 'wasm-unsafe-eval', which lets
// the page compile the verifier's WebAssembly (fetched from 'self') and nothing else
// (no eval of script text).
const CSPVerifier = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// VerifierFile is the name of the in-browser verifier (ui/verifier built for js/wasm by
// `go generate ./ui`) among the static assets. A binary built without it serves contract
// pages that say so and verify nothing. It is embedded gzipped (VerifierFile + ".gz", a
// third of the size) and served so: Content-Encoding gzip, or inflated for a client that
// does not accept it.
const VerifierFile = "verifier.wasm"

// testVerifier, when set (by the package's tests), is served as VerifierFile instead of
// the embedded one: tests build the verifier, gzipped, from the current sources.
var testVerifier []byte

//go:embed assets
var assets embed.FS

// Options configure the dashboard.
type Options struct {
	// Logger receives errors of the backend (nil: none).
	Logger *slog.Logger
	// Now is the clock (nil: time.Now); tests pass a fixed one.
	Now func() time.Time
	// Genesis is the chain's genesis, served at /ui/api/genesis so that a browser holding
	// its hash can take the chain's validators, chain id and gas schedule from it (nil:
	// not served; the browser's trust root must then be the validator set's hash).
	Genesis *genesis.Genesis
}

// Handler serves the dashboard. Create it with New and mount it at Prefix.
type Handler struct {
	b     Backend
	log   *slog.Logger
	now   func() time.Time
	mux   *http.ServeMux
	pages map[string]*template.Template
	// static maps an asset's name to its version (a hash prefix of its content), so
	// that pages can link it with a query string and let browsers cache it; files holds
	// the assets' bytes.
	static  map[string]string
	files   map[string]*asset
	genesis []byte // the genesis document, nil when not served

	recentMu sync.Mutex
	recent   *recent

	sizeMu   sync.Mutex
	size     int64
	sizeTime time.Time
}

// New builds the dashboard over b.
func New(b Backend, opts Options) (*Handler, error) {
	if b == nil {
		return nil, errors.New("ui: backend is required")
	}
	h := &Handler{b: b, log: opts.Logger, now: opts.Now, static: map[string]string{}, files: map[string]*asset{}}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	static, err := fs.Sub(assets, "assets/static")
	if err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(static, ".")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		data, err := embedded(static, e.Name())
		if err != nil {
			return nil, err
		}
		h.addStatic(e.Name(), data)
	}
	if testVerifier != nil {
		h.addStatic(VerifierFile+".gz", string(testVerifier))
	}
	if a := h.files[VerifierFile]; a != nil {
		// Nothing reads the verifier until a browser asks for it: out of the resident set.
		if n := dropResident(a.data); n > 0 {
			h.log.Debug("ui: verifier pages unmapped", "bytes", n)
		}
	}
	if opts.Genesis != nil {
		if h.genesis, err = opts.Genesis.Marshal(); err != nil {
			return nil, err
		}
	}
	if err := h.parseTemplates(); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ui/{$}", h.serveOverview)
	mux.HandleFunc("GET /ui/blocks", h.serveBlocks)
	mux.HandleFunc("GET /ui/block/{id}", h.serveBlock)
	mux.HandleFunc("GET /ui/tx/{hash}", h.serveTx)
	mux.HandleFunc("GET /ui/address/{addr}", h.serveAddress)
	mux.HandleFunc("GET /ui/search", h.serveSearch)
	mux.HandleFunc("GET /ui/api/status", h.serveStatus)
	mux.HandleFunc("GET /ui/api/genesis", h.serveGenesis)
	mux.HandleFunc("GET /ui/static/{file}", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("file")
		a, ok := h.files[name]
		if !ok {
			h.fail(w, r, http.StatusNotFound, "no such file")
			return
		}
		hd := w.Header()
		if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
			hd.Set("Content-Type", ct) // else ServeContent sniffs
		}
		hd.Set("Cache-Control", "public, max-age=86400")
		if a.cold {
			defer dropResident(a.data) // read for this answer only
		}
		var body io.ReadSeeker = strings.NewReader(a.data)
		if a.gzipped {
			hd.Add("Vary", "Accept-Encoding")
			if acceptsGzip(r) {
				hd.Set("Content-Encoding", "gzip")
			} else {
				zr, err := gzip.NewReader(body)
				var b []byte
				if err == nil {
					b, err = io.ReadAll(zr)
				}
				if err != nil {
					h.fail(w, r, http.StatusInternalServerError, "%s: %v", name, err)
					return
				}
				body = bytes.NewReader(b)
			}
		}
		http.ServeContent(w, r, name, time.Time{}, body)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			h.fail(w, r, http.StatusMethodNotAllowed, "the dashboard only reads: use GET")
			return
		}
		h.fail(w, r, http.StatusNotFound, "no such page")
	})
	h.mux = mux
	return h, nil
}

// ServeHTTP serves a dashboard request with the security headers every answer carries.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", CSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	if !strings.HasPrefix(r.URL.Path, Prefix) && r.URL.Path+"/" != Prefix {
		h.fail(w, r, http.StatusNotFound, "no such page")
		return
	}
	h.mux.ServeHTTP(w, r)
}

// asset is a static file's bytes, gzipped when its embedded name ends in ".gz".
type asset struct {
	// data is an embedded file's bytes as embed holds them, in the binary's read-only
	// data, not a copy on the heap (see embedded).
	data    string
	gzipped bool
	// cold: the verifier, which no page needs until a browser asks for it; its pages are
	// dropped from the resident set at start and after each read (dropResident), and
	// its version is hashed on first use.
	cold    bool
	verOnce sync.Once
	ver     string
}

// version is a prefix of the hash of a's bytes, which pages put in the query string of
// the asset's URL so that browsers may cache it.
func (a *asset) version() string {
	a.verOnce.Do(func() {
		hs := sha256.New()
		buf := make([]byte, 64<<10)
		for i := 0; i < len(a.data); i += len(buf) {
			n := copy(buf, a.data[i:])
			hs.Write(buf[:n])
		}
		a.ver = hex.EncodeToString(hs.Sum(nil)[:6])
		if a.cold {
			dropResident(a.data)
		}
	})
	return a.ver
}

// addStatic registers an embedded file; name.gz is served as name, compressed.
func (h *Handler) addStatic(name, data string) {
	a := &asset{data: data}
	if n, ok := strings.CutSuffix(name, ".gz"); ok {
		name, a.gzipped = n, true
	}
	h.files[name] = a
	if name == VerifierFile {
		a.cold = true
		return
	}
	h.static[name] = a.version()
}

// embedded returns the bytes of the file name of fsys, an embed.FS, without copying them
// when it can: embed.FS.ReadFile copies a file to the heap (3.2 MB for the verifier, held
// by every node for its lifetime), while the string embed keeps points into the binary's
// read-only data. It takes that string from the opened file through reflect (embed's
// file has been {name, data string; hash} since Go 1.16), checks its length against
// Stat, and falls back to a copy if the layout is not the one expected.
func embedded(fsys fs.FS, name string) (string, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	if s, ok := embeddedString(f); ok && int64(len(s)) == st.Size() {
		return s, nil
	}
	b, err := io.ReadAll(f)
	return string(b), err
}

// embeddedString is the data field of the *file an embed.FS's opened file points to.
func embeddedString(f fs.File) (string, bool) {
	v := reflect.ValueOf(f)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return "", false
	}
	p := v.Elem().FieldByName("f")
	if p.Kind() != reflect.Pointer || p.IsNil() || p.Elem().Kind() != reflect.Struct {
		return "", false
	}
	d := p.Elem().FieldByName("data")
	if d.Kind() != reflect.String {
		return "", false
	}
	return d.String(), true
}

// acceptsGzip reports whether the request's Accept-Encoding lists gzip (with a nonzero
// quality).
func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for _, e := range strings.Split(v, ",") {
			name, params, _ := strings.Cut(strings.TrimSpace(e), ";")
			if strings.EqualFold(strings.TrimSpace(name), "gzip") && strings.ReplaceAll(params, " ", "") != "q=0" {
				return true
			}
		}
	}
	return false
}

// serveGenesis is /ui/api/genesis: the chain's genesis as JSON (code inline), for the
// in-browser verifier, which uses it only when it hashes to the user's trust root.
func (h *Handler) serveGenesis(w http.ResponseWriter, r *http.Request) {
	if h.genesis == nil {
		h.fail(w, r, http.StatusNotFound, "this node does not serve its genesis")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(h.genesis)
}

// errPage is the model of the error page.
type errPage struct {
	Status int
	Title  string
	Msg    string
}

// fail answers an error page (or JSON for /ui/api/) with status.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if strings.HasPrefix(r.URL.Path, "/ui/api/") {
		writeJSON(w, status, map[string]string{"error": msg})
		return
	}
	h.render(w, status, "error", "", errPage{Status: status, Title: http.StatusText(status), Msg: msg})
}

// failErr answers err from the backend: not found (404), not ready (503), else 500.
func (h *Handler) failErr(w http.ResponseWriter, r *http.Request, what string, err error) {
	switch {
	case errors.Is(err, rpc.ErrNotFound), errors.Is(err, rpc.ErrUnknownBlock):
		h.fail(w, r, http.StatusNotFound, "%s not found", what)
	case errors.Is(err, rpc.ErrNotReady):
		h.fail(w, r, http.StatusServiceUnavailable, "node not ready: %v", err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		h.fail(w, r, http.StatusServiceUnavailable, "%s: %v", what, err)
	default:
		h.log.Warn("ui: backend error", "what", what, "err", err)
		h.fail(w, r, http.StatusInternalServerError, "%s: internal error", what)
	}
}

// dataDirSize is the data dir's size, walked at most every 10 s.
func (h *Handler) dataDirSize() int64 {
	h.sizeMu.Lock()
	defer h.sizeMu.Unlock()
	now := h.now()
	if h.sizeTime.IsZero() || now.Sub(h.sizeTime) > 10*time.Second || now.Before(h.sizeTime) {
		size, err := h.b.DataDirSize()
		if err != nil {
			h.log.Warn("ui: data dir size", "err", err)
			size = -1
		}
		h.size, h.sizeTime = size, now
	}
	return h.size
}
