package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/wnode/wnode/rpc"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm/metadata"
)

// page is what every template gets: the page's name, the node's head for the header
// bar, and the page's own model.
type page struct {
	Name    string
	Title   string
	ChainID uint64
	Height  uint64
	Static  map[string]string
	Data    any
}

func (h *Handler) parseTemplates() error {
	funcs := template.FuncMap{
		"short":   short,
		"time":    fmtTime,
		"bytes":   showBytes,
		"hex":     hexutil.Encode,
		"inc":     func(i int) int { return i + 1 },
		"inc64":   func(i uint64) uint64 { return i + 1 },
		"add":     func(a, b int) int { return a + b },
		"pct":     func(a, b uint64) string { return pct(a, b) },
		"sizeStr": sizeStr,
	}
	h.pages = map[string]*template.Template{}
	names, err := fs.Glob(assets, "assets/*.html")
	if err != nil {
		return err
	}
	base, err := template.New("base.html").Funcs(funcs).ParseFS(assets, "assets/base.html")
	if err != nil {
		return fmt.Errorf("ui: parse base: %w", err)
	}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "assets/"), ".html")
		if name == "base" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(assets, n)
		if err != nil {
			return fmt.Errorf("ui: parse %s: %w", n, err)
		}
		h.pages[name] = t
	}
	return nil
}

// render executes the page template name into a buffer first, so that a template error
// becomes a clean 500 rather than half a page.
func (h *Handler) render(w http.ResponseWriter, status int, name, title string, data any) {
	p := page{Name: name, Title: title, ChainID: h.b.ChainID(), Static: h.static, Data: data}
	if head := h.b.Head(); head != nil {
		p.Height = head.Height
	}
	var buf bytes.Buffer
	if err := h.pages[name].ExecuteTemplate(&buf, "base.html", p); err != nil {
		h.log.Error("ui: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}

// head returns the head header or answers 503.
func (h *Handler) head(w http.ResponseWriter, r *http.Request) *types.Header {
	head := h.b.Head()
	if head == nil {
		h.fail(w, r, http.StatusServiceUnavailable, "node not ready: no head block")
	}
	return head
}

// ---- overview ----

// blockRow is a block in a list.
type blockRow struct {
	Height   uint64        `json:"height"`
	Hash     types.Hash    `json:"hash"`
	Time     uint64        `json:"time"` // unix ms
	Txs      int           `json:"txs"`
	Proposer types.Address `json:"proposer"`
}

// validatorRow is a validator with the recent blocks it signed.
type validatorRow struct {
	Address types.Address `json:"address"`
	Power   uint64        `json:"power"`
	Share   string        `json:"share"`
	Signed  []bool        `json:"signed"` // per height of status.SignedHeights
}

// status is the overview's live part, also served as JSON at /ui/api/status.
type status struct {
	Height         uint64         `json:"height"`
	HeadTime       uint64         `json:"headTime"`
	MempoolPending int            `json:"mempoolPending"`
	MempoolQueued  int            `json:"mempoolQueued"`
	Peers          int            `json:"peers"`
	Blocks         []blockRow     `json:"blocks"` // newest first
	SignedHeights  []uint64       `json:"signedHeights"`
	Validators     []validatorRow `json:"validators"`
}

type overview struct {
	status
	Info        rpc.NodeInfo
	PeerList    []rpc.PeerInfo
	DataDirSize int64
	IntervalMs  string // mean block interval over Blocks
	TxRate      string // tx/s over Blocks
	Points      string // JSON of [height, time, txs] of Blocks, oldest first, for the chart
	TotalPower  uint64
}

// recentBlocks returns the summaries of up to n blocks at and below top, newest first,
// stopping above stop (exclusive).
func (h *Handler) recentBlocks(top, stop uint64, n int) ([]blockRow, error) {
	var rows []blockRow
	for ht := top; ht > stop && len(rows) < n; ht-- {
		b, err := h.b.BlockByNumber(ht)
		if err != nil {
			return nil, err
		}
		rows = append(rows, blockRow{Height: ht, Hash: b.Hash, Time: b.Header.Time, Txs: len(b.Txs), Proposer: b.Header.Proposer})
	}
	return rows, nil
}

// recent is what the overview shows of the chain's last blocks at one head: computed once
// per head and shared by every tab (an open overview asks again at every new head).
// Blocks are final, so rows of heights already read are kept and only the new ones read.
type recent struct {
	height     uint64
	blocks     []blockRow // newest first, at most RecentBlocks
	signed     []uint64   // heights of sigs, newest first, at most SignedBlocks
	signers    []map[types.Address]bool
	validators *types.ValidatorSet
}

// recentAt returns the recent blocks and signers at head (the cache's, updated).
func (h *Handler) recentAt(head *types.Header) (*recent, error) {
	h.recentMu.Lock()
	defer h.recentMu.Unlock()
	old := h.recent
	if old != nil && old.height == head.Height {
		return old, nil
	}
	nr := &recent{height: head.Height}
	keep := uint64(0) // rows of old at heights ≤ keep are reused
	if old != nil && old.height < head.Height {
		keep = old.height
	}
	// New blocks first (read), then the old rows still in the window.
	var err error
	if nr.blocks, err = h.recentBlocks(head.Height, keep, RecentBlocks); err != nil {
		return nil, err
	}
	if old != nil && keep > 0 {
		for _, row := range old.blocks {
			if len(nr.blocks) >= RecentBlocks {
				break
			}
			nr.blocks = append(nr.blocks, row)
		}
	}
	for ht := head.Height; ht >= 1 && len(nr.signed) < SignedBlocks; ht-- {
		if old != nil && keep > 0 && ht <= keep {
			for i, oh := range old.signed {
				if oh <= ht && len(nr.signed) < SignedBlocks {
					nr.signed, nr.signers = append(nr.signed, oh), append(nr.signers, old.signers[i])
				}
			}
			break
		}
		c, err := h.b.Commit(ht)
		if err != nil {
			return nil, err
		}
		m := make(map[types.Address]bool, len(c.Sigs))
		for _, s := range c.Sigs {
			m[s.Validator] = true
		}
		nr.signed, nr.signers = append(nr.signed, ht), append(nr.signers, m)
	}
	if nr.validators, err = h.b.Validators(head.Height); err != nil {
		return nil, err
	}
	if old == nil || head.Height > old.height { // a request holding an older head does not roll the cache back
		h.recent = nr
	}
	return nr, nil
}

// status reads the live part of the overview; since > 0 limits the blocks to those above it.
func (h *Handler) status(head *types.Header, since uint64) (*status, error) {
	st := &status{Height: head.Height, HeadTime: head.Time, Peers: len(h.b.Peers())}
	st.MempoolPending, st.MempoolQueued = h.b.MempoolStats()
	rc, err := h.recentAt(head)
	if err != nil {
		return nil, err
	}
	st.Blocks = []blockRow{}
	for _, b := range rc.blocks {
		if since == 0 || b.Height > since {
			st.Blocks = append(st.Blocks, b)
		}
	}
	st.SignedHeights = rc.signed
	vals := rc.validators
	for _, v := range vals.Validators() {
		row := validatorRow{Address: v.Address, Power: v.Power, Share: pct(v.Power, vals.TotalPower())}
		for _, m := range rc.signers {
			row.Signed = append(row.Signed, m[v.Address])
		}
		st.Validators = append(st.Validators, row)
	}
	return st, nil
}

func (h *Handler) serveOverview(w http.ResponseWriter, r *http.Request) {
	head := h.head(w, r)
	if head == nil {
		return
	}
	st, err := h.status(head, 0)
	if err != nil {
		h.failErr(w, r, "overview", err)
		return
	}
	ov := &overview{status: *st, Info: h.b.NodeInfo(), PeerList: h.b.Peers(), DataDirSize: h.dataDirSize()}
	if vals, err := h.b.Validators(head.Height); err == nil {
		ov.TotalPower = vals.TotalPower()
	}
	ov.IntervalMs, ov.TxRate = "–", "–"
	if n := len(st.Blocks); n >= 2 {
		span := st.Blocks[0].Time - st.Blocks[n-1].Time
		txs := 0
		for _, b := range st.Blocks[:n-1] {
			txs += b.Txs
		}
		if span > 0 {
			ov.IntervalMs = strconv.FormatUint(span/uint64(n-1), 10)
			ov.TxRate = strconv.FormatFloat(float64(txs)*1000/float64(span), 'f', 1, 64)
		}
	}
	pts := make([][3]uint64, 0, len(st.Blocks))
	for i := len(st.Blocks) - 1; i >= 0; i-- {
		b := st.Blocks[i]
		pts = append(pts, [3]uint64{b.Height, b.Time, uint64(b.Txs)})
	}
	pj, _ := json.Marshal(pts)
	ov.Points = string(pj)
	h.render(w, http.StatusOK, "overview", "Overview", ov)
}

// serveStatus is /ui/api/status?since=H: the overview's live part as JSON, with the
// blocks above H (at most RecentBlocks). The page's script asks for it when a new head
// arrives.
func (h *Handler) serveStatus(w http.ResponseWriter, r *http.Request) {
	var since uint64
	if s := r.URL.Query().Get("since"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			h.fail(w, r, http.StatusBadRequest, "bad since %q: want a height", truncate(s, 40))
			return
		}
		since = v
	}
	head := h.head(w, r)
	if head == nil {
		return
	}
	st, err := h.status(head, since)
	if err != nil {
		h.failErr(w, r, "status", err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// ---- blocks ----

type blocksPage struct {
	Blocks []blockRow
	Newer  uint64 // before= of the newer page; 0: none
	Older  uint64 // before= of the older page; 0: none
}

// serveBlocks is /ui/blocks?before=H: RecentBlocks blocks below H (default: from the head).
func (h *Handler) serveBlocks(w http.ResponseWriter, r *http.Request) {
	head := h.head(w, r)
	if head == nil {
		return
	}
	top := head.Height
	if s := r.URL.Query().Get("before"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil || v == 0 {
			h.fail(w, r, http.StatusBadRequest, "bad before %q: want a height ≥ 1", truncate(s, 40))
			return
		}
		if v-1 < top {
			top = v - 1
		}
	}
	rows, err := h.recentBlocks(top, 0, RecentBlocks)
	if err != nil {
		h.failErr(w, r, "blocks", err)
		return
	}
	p := blocksPage{Blocks: rows}
	if top < head.Height {
		p.Newer = min(top+RecentBlocks+1, head.Height+1)
	}
	if n := len(rows); n > 0 && rows[n-1].Height > 1 {
		p.Older = rows[n-1].Height
	}
	h.render(w, http.StatusOK, "blocks", "Blocks", p)
}

type txRow struct {
	Hash    types.Hash
	Kind    string
	From    *types.Address
	To      types.Address
	HasTo   bool
	Method  string
	Status  string // "ok", "failed", "" (unknown)
	GasUsed uint64
}

type sigRow struct {
	Validator types.Address
	Power     uint64
	Signed    bool
	Sig       string
}

type blockPage struct {
	Header     *types.Header
	Hash       types.Hash
	Head       uint64
	TxCount    int
	Txs        []txRow
	From       int // index of Txs[0]
	NextFrom   int // 0: no next page
	PrevFrom   int // -1: no previous page
	Round      int32
	Sigs       []sigRow
	SignedPow  uint64
	TotalPow   uint64
	HasCommit  bool
	GasUsed    uint64
	HasReceipt bool
}

func (h *Handler) serveBlock(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	head := h.head(w, r)
	if head == nil {
		return
	}
	var blk *rpc.Block
	var err error
	switch {
	case isHash(id):
		blk, err = h.b.BlockByHash(common.HexToHash(id))
	case isDecimal(id):
		ht, perr := strconv.ParseUint(id, 10, 64)
		if perr != nil {
			h.fail(w, r, http.StatusBadRequest, "bad block %q: height out of range", truncate(id, 80))
			return
		}
		if ht > head.Height {
			h.fail(w, r, http.StatusNotFound, "block %d not found: the head is %d", ht, head.Height)
			return
		}
		blk, err = h.b.BlockByNumber(ht)
	default:
		h.fail(w, r, http.StatusBadRequest, "bad block %q: want a height (decimal) or a block hash (0x and 64 hex digits)", truncate(id, 80))
		return
	}
	if err != nil {
		h.failErr(w, r, "block "+truncate(id, 80), err)
		return
	}
	from := 0
	if s := r.URL.Query().Get("from"); s != "" {
		v, perr := strconv.Atoi(s)
		if perr != nil || v < 0 || (v > 0 && v >= len(blk.Txs)) {
			h.fail(w, r, http.StatusBadRequest, "bad from %q: want a transaction index in the block", truncate(s, 40))
			return
		}
		from = v
	}
	p := &blockPage{Header: blk.Header, Hash: blk.Hash, Head: head.Height, TxCount: len(blk.Txs), From: from, PrevFrom: -1}
	if from > 0 {
		p.PrevFrom = max(0, from-BlockTxsPage)
	}
	end := min(len(blk.Txs), from+BlockTxsPage)
	if end < len(blk.Txs) {
		p.NextFrom = end
	}
	var receipts []*types.Receipt
	if blk.Header.Height > 0 {
		if receipts, err = h.b.BlockReceipts(blk.Header.Height); err != nil {
			h.failErr(w, r, "receipts of block", err)
			return
		}
		p.HasReceipt = len(receipts) == len(blk.Txs)
		for _, rc := range receipts {
			p.GasUsed += rc.GasUsed
		}
	}
	for i := from; i < end; i++ {
		tx := blk.Txs[i]
		row := txRow{Hash: tx.Hash(), Kind: tx.Kind.String(), To: tx.To, HasTo: tx.Kind != types.TxDeploy, Method: tx.Method}
		if from, err := tx.Sender(); err == nil {
			row.From = &from
		}
		if p.HasReceipt {
			rc := receipts[i]
			row.GasUsed = rc.GasUsed
			row.Status = "failed"
			if rc.Succeeded() {
				row.Status = "ok"
			}
		}
		p.Txs = append(p.Txs, row)
	}
	if blk.Header.Height > 0 {
		c, cerr := h.b.Commit(blk.Header.Height)
		vals, verr := h.b.Validators(blk.Header.Height)
		if cerr == nil && verr == nil {
			p.HasCommit, p.Round, p.TotalPow = true, c.Round, vals.TotalPower()
			sigs := make(map[types.Address][]byte, len(c.Sigs))
			for _, s := range c.Sigs {
				sigs[s.Validator] = s.Sig
			}
			for _, v := range vals.Validators() {
				sr := sigRow{Validator: v.Address, Power: v.Power}
				if sig, ok := sigs[v.Address]; ok {
					sr.Signed, sr.Sig = true, hexutil.Encode(sig)
					p.SignedPow += v.Power
				}
				p.Sigs = append(p.Sigs, sr)
			}
		}
	}
	h.render(w, http.StatusOK, "block", fmt.Sprintf("Block %d", blk.Header.Height), p)
}

// ---- transaction ----

type eventRow struct {
	Contract types.Address
	Topic    shown
	Data     shown
	// Event is the emitting contract's description of the topic (Described), from its
	// metadata at block MetaAt; Decoded is the data read as Event.Data says, or Mismatch
	// why the data is not of that format (then only the raw data is shown).
	Event     metadata.Event
	Described bool
	MetaAt    uint64
	Decoded   shown
	Mismatch  string
}

// decodeEvents reads each event's data as the emitting contract's metadata says, for at
// most DecodeContracts contracts (their metadata as of block height, or the head's when
// that state is no longer kept). Events of other contracts stay raw.
func (h *Handler) decodeEvents(ctx context.Context, rows []eventRow, raw []types.Event, height, head uint64) {
	type meta struct {
		md *metadata.Metadata
		at uint64
	}
	metas := map[types.Address]*meta{}
	for i := range rows {
		ev := &rows[i]
		m, seen := metas[ev.Contract]
		if !seen {
			if len(metas) >= DecodeContracts {
				continue
			}
			m = &meta{}
			for _, at := range []uint64{height, head} {
				ci, err := h.b.Contract(ctx, ev.Contract, at)
				if err == nil {
					if ci != nil {
						m.md, m.at = ci.Metadata, at
					}
					break
				}
			}
			metas[ev.Contract] = m
		}
		e, ok := m.md.Event(raw[i].Topic)
		if !ok {
			continue
		}
		ev.Event, ev.Described, ev.MetaAt = e, true, m.at
		s, err := metadata.FormatOutput(e.Data, raw[i].Data)
		if err != nil {
			ev.Mismatch = err.Error()
			if len(ev.Mismatch) > 200 {
				ev.Mismatch = ev.Mismatch[:200] + "…"
			}
			continue
		}
		ev.Decoded = showText(s)
	}
}

type txPage struct {
	Hash     types.Hash
	Tx       *types.Tx
	From     *types.Address
	Value    string
	GasPrice string
	Args     shown
	CodeSize int
	Pending  bool
	Loc      *rpc.TxLocation
	Receipt  *types.Receipt
	Output   shown
	Events   []eventRow
	Fee      string
}

func (h *Handler) serveTx(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("hash")
	if !isHash(id) {
		h.fail(w, r, http.StatusBadRequest, "bad transaction hash %q: want 0x and 64 hex digits", truncate(id, 80))
		return
	}
	hash := common.HexToHash(id)
	tx, loc, err := h.b.Transaction(hash)
	if err != nil {
		h.failErr(w, r, "transaction "+id, err)
		return
	}
	p := &txPage{Hash: hash, Tx: tx, Args: showBytes(tx.Args), CodeSize: len(tx.Code), Pending: loc == nil, Loc: loc,
		Value: u256Str(tx.Value), GasPrice: u256Str(tx.GasPrice)}
	if from, err := tx.Sender(); err == nil {
		p.From = &from
	}
	if loc != nil {
		rc, _, err := h.b.Receipt(hash)
		if err != nil {
			h.failErr(w, r, "receipt of "+id, err)
			return
		}
		p.Receipt, p.Output = rc, showBytes(rc.Output)
		for _, ev := range rc.Events {
			p.Events = append(p.Events, eventRow{Contract: ev.Contract, Topic: showBytes(ev.Topic), Data: showBytes(ev.Data)})
		}
		if head := h.b.Head(); head != nil && len(p.Events) > 0 {
			h.decodeEvents(r.Context(), p.Events, rc.Events, loc.Height, head.Height)
		}
		if tx.GasPrice != nil {
			fee := tx.GasPrice.Clone()
			fee.Mul(fee, uint256FromU64(rc.GasUsed))
			p.Fee = fee.Dec()
		}
	}
	h.render(w, http.StatusOK, "tx", "Transaction "+short(hash), p)
}

// ---- address ----

type addrTx struct {
	Hash   types.Hash
	Height uint64
	Kind   string
	Method string
}

// method is a contract method with what its metadata says (zero fields without).
type method struct {
	Name string
	metadata.Method
	Described bool
}

type addressPage struct {
	Address  types.Address
	Height   uint64
	Balance  string
	Nonce    uint64
	CodeHash types.Hash
	IsCode   bool
	CodeSize int
	Admin    types.Address
	Methods  []method
	HasMeta  bool
	// DeployHeight is the block of the contract's deploy, when the store knows it.
	DeployHeight uint64
	DeployKnown  bool
	Txs          []addrTx
	Scanned      uint64 // blocks scanned for Txs
	ScanFrom     uint64 // lowest height scanned
	Truncated    bool   // the scan stopped at ScanTxs transactions
	// GenesisHash is what this node says its genesis hash is: the browser's trust root
	// on first use when the user has not given one (weaker: see docs/ui.md).
	GenesisHash types.Hash
	// HasVerifier: the binary embeds the in-browser verifier (go generate ./ui);
	// VerifierVersion is its version for the URL (computed on the first contract page).
	HasVerifier     bool
	VerifierVersion string
}

func (h *Handler) serveAddress(w http.ResponseWriter, r *http.Request) {
	addr, err := rpctypes.ParseAddress(r.PathValue("addr"))
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, "%v", err)
		return
	}
	head := h.head(w, r)
	if head == nil {
		return
	}
	acc, err := h.b.Account(addr, head.Height)
	if err != nil {
		h.failErr(w, r, "account", err)
		return
	}
	p := &addressPage{Address: addr, Height: head.Height, Balance: u256Str(acc.Balance), Nonce: acc.Nonce,
		CodeHash: acc.CodeHash, Admin: acc.Admin}
	if acc.CodeHash != (types.Hash{}) {
		ci, err := h.b.Contract(r.Context(), addr, head.Height)
		if err != nil {
			h.failErr(w, r, "contract", err)
			return
		}
		if ci != nil {
			// The verifier is WebAssembly: only a contract's page may compile it.
			w.Header().Set("Content-Security-Policy", CSPVerifier)
			p.GenesisHash = h.b.NodeInfo().GenesisHash
			if a := h.files[VerifierFile]; a != nil {
				p.HasVerifier, p.VerifierVersion = true, a.version()
			}
			p.IsCode, p.CodeSize, p.HasMeta = true, ci.CodeSize, ci.Metadata != nil
			p.DeployHeight, p.DeployKnown = ci.DeployHeight, ci.DeployKnown
			for _, n := range ci.Methods {
				m, ok := ci.Metadata.Method(n)
				p.Methods = append(p.Methods, method{Name: n, Method: m, Described: ok})
			}
		}
	}
	// Recent txs to the address: a bounded scan back from the head (there is no index by
	// address; see docs/rationale/ui.md).
	seen := 0
	ht := head.Height
	for ; ht >= 1 && head.Height-ht < ScanBlocks && seen < ScanTxs && len(p.Txs) < AddressTxs; ht-- {
		b, err := h.b.BlockByNumber(ht)
		if err != nil {
			h.failErr(w, r, "block", err)
			return
		}
		seen += len(b.Txs)
		for i := len(b.Txs) - 1; i >= 0 && len(p.Txs) < AddressTxs; i-- {
			tx := b.Txs[i]
			if tx.Kind != types.TxDeploy && tx.To == addr {
				p.Txs = append(p.Txs, addrTx{Hash: tx.Hash(), Height: ht, Kind: tx.Kind.String(), Method: tx.Method})
			}
		}
	}
	p.ScanFrom, p.Scanned, p.Truncated = ht+1, head.Height-ht, seen >= ScanTxs
	h.render(w, http.StatusOK, "address", "Address "+addr.Hex(), p)
}

// ---- search ----

// serveSearch is /ui/search?q=: a height, a block or transaction hash, or an address,
// answered with a redirect to its page.
func (h *Handler) serveSearch(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	switch {
	case q == "":
		h.fail(w, r, http.StatusBadRequest, "empty search: enter a block height, a block or transaction hash, or an address")
	case isDecimal(q):
		ht, err := strconv.ParseUint(q, 10, 64)
		head := h.b.Head()
		if err != nil || head == nil || ht > head.Height {
			h.fail(w, r, http.StatusNotFound, "no block at height %s", truncate(q, 40))
			return
		}
		http.Redirect(w, r, "/ui/block/"+q, http.StatusSeeOther)
	case isHash(q):
		hash := common.HexToHash(q)
		if _, _, err := h.b.Transaction(hash); err == nil {
			http.Redirect(w, r, "/ui/tx/"+hash.Hex(), http.StatusSeeOther)
			return
		}
		if _, err := h.b.BlockByHash(hash); err == nil {
			http.Redirect(w, r, "/ui/block/"+hash.Hex(), http.StatusSeeOther)
			return
		}
		h.fail(w, r, http.StatusNotFound, "no block or transaction with hash %s", hash.Hex())
	default:
		addr, err := rpctypes.ParseAddress(q)
		if err != nil {
			h.fail(w, r, http.StatusBadRequest, "%q is not a block height, a hash (0x and 64 hex digits) or an address (0x and 40)", truncate(q, 80))
			return
		}
		http.Redirect(w, r, "/ui/address/"+addr.Hex(), http.StatusSeeOther)
	}
}

// ---- helpers ----

func isDecimal(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isHash(s string) bool {
	if len(s) != 66 || (s[:2] != "0x" && s[:2] != "0X") {
		return false
	}
	for i := 2; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// truncate cuts s to at most n bytes for an error message, keeping it valid UTF-8.
func truncate(s string, n int) string {
	if len(s) <= n {
		return strings.ToValidUTF8(s, "?")
	}
	return strings.ToValidUTF8(s[:n], "?") + "…"
}
