package consensus

import (
	"bytes"
	"container/heap"
	"context"
	"crypto/ecdsa"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/wnode/wnode/types"
)

const testChainID = 77

// testKeys returns n deterministic validator keys.
func testKeys(t testing.TB, n int) []*ecdsa.PrivateKey {
	t.Helper()
	keys := make([]*ecdsa.PrivateKey, n)
	for i := range keys {
		var seed [8]byte
		binary.BigEndian.PutUint64(seed[:], uint64(i))
		k, err := crypto.ToECDSA(crypto.Keccak256([]byte("wnode consensus test key"), seed[:]))
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = k
	}
	return keys
}

// testValidators returns the set of keys[i] with powers[i].
func testValidators(t testing.TB, keys []*ecdsa.PrivateKey, powers []uint64) *types.ValidatorSet {
	t.Helper()
	vals := make([]types.Validator, len(keys))
	for i, k := range keys {
		v, err := types.NewValidator(crypto.CompressPubkey(&k.PublicKey), powers[i])
		if err != nil {
			t.Fatal(err)
		}
		vals[i] = v
	}
	vs, err := types.NewValidatorSet(vals)
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

func equalPowers(n int) []uint64 {
	p := make([]uint64, n)
	for i := range p {
		p[i] = 1
	}
	return p
}

// testBlock is the fake application's block format: "name@height". Its hash is
// keccak256 of the bytes.
func testBlock(name string, h uint64) []byte { return fmt.Appendf(nil, "%s@%d", name, h) }

func testBlockHash(name string, h uint64) types.Hash {
	return crypto.Keccak256Hash(testBlock(name, h))
}

func parseTestBlock(b []byte) (string, uint64, error) {
	name, hs, ok := strings.Cut(string(b), "@")
	if !ok {
		return "", 0, errors.New("malformed block")
	}
	h, err := strconv.ParseUint(hs, 10, 64)
	if err != nil {
		return "", 0, errors.New("malformed block height")
	}
	return name, h, nil
}

type committedBlock struct {
	height uint64
	block  []byte
	commit *types.Commit
}

// testApp is a fake Application: blocks are "name@height", proposals are named
// "P<height>.<round>", blocks named in invalid fail validation.
type testApp struct {
	mu        sync.Mutex
	vals      *types.ValidatorSet // of every height
	invalid   map[string]bool
	pending   bool
	committed []committedBlock
	durable   int // committed blocks made durable by WaitDurable; a "lost" restart drops the rest
	validated int
	proposed  map[[2]uint64]int // proposals built per (height, round)
}

func newTestApp(vals *types.ValidatorSet) *testApp {
	return &testApp{vals: vals, invalid: map[string]bool{}, proposed: map[[2]uint64]int{}}
}

func (a *testApp) Validators(uint64) (*types.ValidatorSet, error) {
	if a.vals == nil {
		return nil, errors.New("no validator set")
	}
	return a.vals, nil
}

func (a *testApp) ProposeBlock(_ context.Context, h uint64, r int32, _ uint64) ([]byte, types.Hash, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := [2]uint64{h, uint64(r)}
	a.proposed[k]++
	// A second block for the same height and round is primed, so tests see the difference.
	b := testBlock(fmt.Sprintf("P%d.%d%s", h, r, strings.Repeat("'", a.proposed[k]-1)), h)
	return b, crypto.Keccak256Hash(b), nil
}

func (a *testApp) ValidateBlock(_ context.Context, h uint64, b []byte) (types.Hash, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.validated++
	name, bh, err := parseTestBlock(b)
	if err != nil {
		return types.Hash{}, err
	}
	if bh != h {
		return types.Hash{}, fmt.Errorf("block for height %d at height %d", bh, h)
	}
	if a.invalid[name] {
		return types.Hash{}, fmt.Errorf("block %s is invalid", name)
	}
	return crypto.Keccak256Hash(b), nil
}

func (a *testApp) Commit(_ context.Context, h uint64, b []byte, c *types.Commit) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if want := uint64(len(a.committed)) + 1; h != want {
		return fmt.Errorf("commit of height %d, expected %d", h, want)
	}
	a.committed = append(a.committed, committedBlock{h, bytes.Clone(b), c})
	a.pending = false
	return nil
}

func (a *testApp) WaitDurable() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.durable = len(a.committed)
	return nil
}

// crash drops the committed blocks WaitDurable did not make durable.
func (a *testApp) crash() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.committed = a.committed[:a.durable]
}

func (a *testApp) HasPendingTxs() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.pending
}

func (a *testApp) last() (uint64, *types.Commit) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.committed) == 0 {
		return 0, nil
	}
	c := a.committed[len(a.committed)-1]
	return c.height, c.commit
}

func (a *testApp) height() uint64 {
	h, _ := a.last()
	return h
}

// manualClock is a Clock whose time moves only when the test says so.
type manualClock struct {
	now    time.Time
	seq    int
	timers timerHeap
}

type pendingTimer struct {
	at  time.Time
	seq int
	t   Timeout
}

type timerHeap []pendingTimer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)   { *h = append(*h, x.(pendingTimer)) }
func (h *timerHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

var testEpoch = time.UnixMilli(1_700_000_000_000)

func newManualClock() *manualClock { return &manualClock{now: testEpoch} }

func (c *manualClock) Now() time.Time { return c.now }

func (c *manualClock) Schedule(t Timeout) {
	c.seq++
	heap.Push(&c.timers, pendingTimer{c.now.Add(t.Duration), c.seq, t})
}

// due pops the next timer due at or before until, advancing the clock to it.
func (c *manualClock) due(until time.Time) (Timeout, bool) {
	if len(c.timers) == 0 || c.timers[0].at.After(until) {
		return Timeout{}, false
	}
	pt := heap.Pop(&c.timers).(pendingTimer)
	if pt.at.After(c.now) {
		c.now = pt.at
	}
	return pt.t, true
}

// captureBroadcaster records what is broadcast.
type captureBroadcaster struct {
	mu   sync.Mutex
	msgs []*Message
}

func (b *captureBroadcaster) Broadcast(m *Message) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.msgs = append(b.msgs, m)
}

func (b *captureBroadcaster) take() []*Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := b.msgs
	b.msgs = nil
	return m
}

// memWAL is a WAL in memory that remembers how much of it was synced.
type memWAL struct {
	recs   [][]byte
	synced int
}

func (w *memWAL) Append(rec []byte, sync bool) error {
	w.recs = append(w.recs, bytes.Clone(rec))
	if sync {
		w.synced = len(w.recs)
	}
	return nil
}

func (w *memWAL) ReadAll() ([][]byte, error) {
	out := make([][]byte, len(w.recs))
	for i, r := range w.recs {
		out[i] = bytes.Clone(r)
	}
	return out, nil
}

// Reset keeps the records, as FileWAL does below its size bound (replay skips those of
// decided heights), and so does not wait for the committed blocks to be durable.
func (w *memWAL) Reset(func() error) error { return nil }

type syncRecorder struct{ heights []uint64 }

func (s *syncRecorder) NeedSync(h uint64) { s.heights = append(s.heights, h) }

// signVote returns a vote signed with key.
func signVote(t testing.TB, key *ecdsa.PrivateKey, typ types.SignedMsgType, h uint64, r int32, block types.Hash) *types.Vote {
	t.Helper()
	v := &types.Vote{Type: typ, Height: h, Round: r, BlockHash: block, Validator: crypto.PubkeyToAddress(key.PublicKey)}
	if err := v.Sign(testChainID, key); err != nil {
		t.Fatal(err)
	}
	return v
}

// signProposal returns a proposal signed with key.
func signProposal(t testing.TB, key *ecdsa.PrivateKey, h uint64, r, pol int32, block []byte) *types.Proposal {
	t.Helper()
	p := &types.Proposal{Height: h, Round: r, POLRound: pol, BlockHash: crypto.Keccak256Hash(block), Block: block,
		Proposer: crypto.PubkeyToAddress(key.PublicKey)}
	if err := p.Sign(testChainID, key); err != nil {
		t.Fatal(err)
	}
	return p
}
