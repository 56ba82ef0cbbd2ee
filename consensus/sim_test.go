package consensus

import (
	"bytes"
	"container/heap"
	"context"
	"crypto/ecdsa"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/wnode/wnode/types"
)

// The simulation runs 4–7 validators (some with unequal powers) on a virtual clock over a
// seeded, adversarial network: random delays (hence reordering), drops, duplicates,
// partitions that heal, crash-restarts that replay the WAL from real files (losing what
// was not fsynced), and in most seeds one Byzantine validator that equivocates. It checks
// after every event:
//
//   - agreement: no two honest nodes commit different blocks at one height, and every
//     commit carries a valid certificate;
//   - no honest validator ever signs two different messages for one (height, round, type),
//     across crashes (every signed message on the wire is checked);
//   - no honest node's message is ever rejected as invalid by another;
//
// and liveness: once the last partition has healed and every node is up again, every
// honest node commits simKeepGoing more heights within simLivenessBound of virtual time.
//
// `go test` runs simSeeds seeds; -soak=N (or WNODE_SOAK=N) runs N more, e.g.
// go test ./consensus -run TestSimulation -soak=5000 -timeout 2h.
var soakFlag = flag.Int("soak", 0, "extra simulation seeds to run (also env WNODE_SOAK)")

// simTrace (WNODE_SIM_TRACE=1) logs commits and block sync, shown when a seed fails.
var simTrace = os.Getenv("WNODE_SIM_TRACE") != ""

const (
	simSeeds          = 50
	simChaos          = 30 * time.Second // partitions, crashes and restarts happen before this
	simKeepGoing      = 3                // heights every honest node must commit after the chaos
	simLivenessBound  = 60 * time.Second // virtual time allowed for them (3000-seed soak: max 20 s)
	simInvalidPayload = "bad!"           // blocks whose payload starts so are invalid
)

func TestSimulation(t *testing.T) {
	seeds := simSeeds
	if raceEnabled {
		seeds = 10 // the race detector makes each seed ~10x slower
	}
	extra := *soakFlag
	if v := os.Getenv("WNODE_SOAK"); v != "" && extra == 0 {
		extra, _ = strconv.Atoi(v)
	}
	for seed := uint64(1); seed <= uint64(seeds+extra); seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			runSimulation(t, seed, randomSimParams(seed))
		})
	}
}

// simParams describe one simulated network.
type simParams struct {
	n          int
	powers     []uint64
	byzantine  int // index of the Byzantine validator, -1 for none
	drop, dup  float64
	maxDelay   time.Duration
	partitions int // partition episodes during the chaos
	crashes    int // crash-restart episodes during the chaos
	extra      int // nodes that are not validators at genesis (candidates for additions)
	changes    int // validator set change requests during the chaos (simvals_test.go)
}

func (p simParams) String() string {
	s := fmt.Sprintf("n=%d powers=%v byzantine=%d drop=%.2f dup=%.2f maxDelay=%v partitions=%d crashes=%d",
		p.n, p.powers, p.byzantine, p.drop, p.dup, p.maxDelay, p.partitions, p.crashes)
	if p.extra > 0 || p.changes > 0 {
		s += fmt.Sprintf(" extra=%d changes=%d", p.extra, p.changes)
	}
	return s
}

func randomSimParams(seed uint64) simParams {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	p := simParams{n: 4 + rng.IntN(4), byzantine: -1}
	p.powers = equalPowers(p.n)
	if rng.IntN(2) == 0 {
		for i := range p.powers {
			p.powers[i] = 1 + uint64(rng.IntN(5))
		}
	}
	var total uint64
	for _, pw := range p.powers {
		total += pw
	}
	if rng.IntN(8) != 0 {
		// The Byzantine validator holds less than a third of the power.
		for _, i := range rng.Perm(p.n) {
			if 3*p.powers[i] < total {
				p.byzantine = i
				break
			}
		}
	}
	p.drop = rng.Float64() * 0.15
	p.dup = rng.Float64() * 0.1
	p.maxDelay = time.Duration(20+rng.IntN(400)) * time.Millisecond
	p.partitions = rng.IntN(4)
	p.crashes = rng.IntN(4)
	return p
}

// sim is one simulated network: nodes, the virtual clock and the event queue.
type sim struct {
	t      testing.TB
	seed   uint64
	p      simParams
	rng    *rand.Rand
	now    time.Time
	events eventQueue
	seq    uint64
	dir    string

	keys  []*ecdsa.PrivateKey
	vals  *types.ValidatorSet // the genesis set
	cfg   Config
	nodes []*simNode
	group []int // partition group of each node; nil when healed

	decided map[uint64]types.Hash  // height -> block committed by the honest nodes
	setHash map[uint64]types.Hash  // height -> hash of the set the honest nodes derived for it
	changes simChanges             // validator set change requests (simvals_test.go)
	signed  map[signKey]types.Hash // what each honest validator signed, by (h, r, type)
	log     []string               // notable events, printed on failure
	stats   struct{ delivered, dropped, commits, crashes, saveCrashes, syncs int }
}

type signKey struct {
	who    types.Address
	height uint64
	round  int32
	typ    types.SignedMsgType
}

type event struct {
	at  time.Time
	seq uint64
	fn  func()
}

type eventQueue []event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(event)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

func (s *sim) after(d time.Duration, fn func()) {
	s.seq++
	heap.Push(&s.events, event{s.now.Add(d), s.seq, fn})
}

func (s *sim) logf(format string, args ...any) {
	s.log = append(s.log, fmt.Sprintf("%9.3fs ", s.now.Sub(testEpoch).Seconds())+fmt.Sprintf(format, args...))
}

func (s *sim) fatalf(format string, args ...any) {
	s.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d (%s) at %v: %s\n", s.seed, s.p, s.now.Sub(testEpoch), fmt.Sprintf(format, args...))
	for _, n := range s.nodes {
		st := "down"
		if n.up {
			st = fmt.Sprintf("%+v", n.st.Status())
		}
		fmt.Fprintf(&b, "  node %d byz=%v height=%d %s\n", n.i, n.byz, n.app.height(), st)
	}
	from := max(0, len(s.log)-200)
	for _, l := range s.log[from:] {
		b.WriteString("  " + l + "\n")
	}
	s.t.Fatal(b.String())
}

func (s *sim) honest() []*simNode {
	var out []*simNode
	for _, n := range s.nodes {
		if !n.byz {
			out = append(out, n)
		}
	}
	return out
}

func (s *sim) connected(a, b int) bool { return s.group == nil || s.group[a] == s.group[b] }

func (s *sim) delay() time.Duration {
	d := time.Millisecond + time.Duration(s.rng.Int64N(int64(s.p.maxDelay)))
	if s.rng.IntN(20) == 0 {
		d += time.Duration(s.rng.Int64N(int64(2 * time.Second))) // a slow path
	}
	return d
}

// send puts an encoded message on the wire from node `from` to node `to`.
func (s *sim) send(from, to int, b []byte) {
	if !s.connected(from, to) || s.rng.Float64() < s.p.drop {
		s.stats.dropped++
		return
	}
	copies := 1
	if s.rng.Float64() < s.p.dup {
		copies = 2
	}
	for range copies {
		s.after(s.delay(), func() { s.deliver(from, to, b) })
	}
}

func (s *sim) deliver(from, to int, b []byte) {
	n := s.nodes[to]
	if !n.up || !n.firstSight(b) {
		return
	}
	s.stats.delivered++
	m, err := DecodeMessage(b)
	if err != nil {
		if !s.nodes[from].byz {
			s.fatalf("node %d's message from honest node %d does not decode: %v", to, from, err)
		}
		return
	}
	err = n.st.HandleMessage(context.Background(), m)
	if err != nil && errors.Is(err, ErrInvalidMessage) {
		if !s.nodes[from].byz {
			s.fatalf("node %d rejects %v from honest node %d: %v", to, m, from, err)
		}
		return
	}
	n.check(err)
}

// checkSigned records what an honest validator signed and fails on a conflict.
func (s *sim) checkSigned(n *simNode, m *Message) {
	if n.byz {
		return
	}
	var (
		k  signKey
		sb types.Hash
	)
	switch m.Kind() {
	case MsgProposal:
		p := m.Proposal
		k, sb = signKey{p.Proposer, p.Height, p.Round, types.ProposalType}, p.SignBytes(testChainID)
	case MsgVote:
		v := m.Vote
		k, sb = signKey{v.Validator, v.Height, v.Round, v.Type}, v.SignBytes(testChainID)
	default:
		return
	}
	if k.who != n.addr {
		return // another validator's vote relayed with a proposal (its POL)
	}
	if prev, ok := s.signed[k]; ok && prev != sb {
		s.fatalf("honest node %d signed two different %s messages at h=%d r=%d: %v", n.i, k.typ, k.height, k.round, m)
	}
	s.signed[k] = sb
}

// simNode is one validator: its durable parts (application store, WAL and guard files)
// survive crashes, its State does not.
type simNode struct {
	s     *sim
	i     int
	key   *ecdsa.PrivateKey
	addr  types.Address
	byz   bool
	app   *simApp
	st    *State
	inc   int // incarnation: effects of a crashed incarnation are dropped
	up    bool
	wal   *FileWAL
	guard *FileGuardStore
	// walSynced is how much of the WAL file is durable; a crash loses the rest.
	walSynced int64
	// crashOnSend arms a crash at the next broadcast: after the message was signed and
	// persisted, before it leaves.
	crashOnSend bool
	// crashOnSave arms a crash at the next save of a precommit in the guard: before the
	// guard holds it, with its WAL record written and perhaps synced.
	crashOnSave bool
	syncing     bool
	// seen models gossipsub's duplicate filter (message ID = keccak256 of the bytes,
	// remembered for simSeenTTL): a node neither publishes nor accepts bytes it has seen.
	// It is lost in a crash, like the libp2p host.
	seen map[types.Hash]time.Time
}

// simSeenTTL is gossipsub's seen-messages TTL as the p2p package configures it.
const simSeenTTL = 2 * time.Minute

// firstSight records the bytes b as seen by n and reports whether they were new.
func (n *simNode) firstSight(b []byte) bool {
	if n.seen == nil {
		n.seen = map[types.Hash]time.Time{}
	}
	id := crypto.Keccak256Hash(b)
	if at, ok := n.seen[id]; ok && n.s.now.Sub(at) < simSeenTTL {
		return false
	}
	if len(n.seen) > 4096 {
		for k, at := range n.seen {
			if n.s.now.Sub(at) >= simSeenTTL {
				delete(n.seen, k)
			}
		}
	}
	n.seen[id] = n.s.now
	return true
}

var errCrashed = errors.New("simulated crash")

func (n *simNode) alive(inc int) bool { return n.up && n.inc == inc }

// check fails the simulation on an unexpected error of a live node.
func (n *simNode) check(err error) {
	if err == nil || !n.up {
		return
	}
	n.s.fatalf("node %d: %v", n.i, err)
}

func (n *simNode) start() {
	s := n.s
	n.inc++
	inc := n.inc
	n.up = true
	var err error
	opts := FileOptions{NoSync: true} // durability is modelled by walSynced instead
	if n.wal, err = OpenWAL(filepath.Join(s.dir, fmt.Sprintf("node%d.wal", n.i)), opts); err != nil {
		s.fatalf("node %d: %v", n.i, err)
	}
	if n.i%2 == 1 {
		n.wal.truncateAbove = 0 // truncate at every height: Reset waits for durability
	}
	n.walSynced = n.wal.Size()
	if n.guard, err = OpenFileGuardStore(filepath.Join(s.dir, fmt.Sprintf("node%d.guard", n.i)), opts); err != nil {
		s.fatalf("node %d: %v", n.i, err)
	}
	h, c := n.app.last()
	var guard GuardStore = &simGuard{n, inc}
	if n.byz {
		guard = &MemGuardStore{} // the Byzantine node signs what it likes anyway
	}
	n.st, err = New(s.cfg, Deps{
		App: n.app, Signer: NewKeySigner(n.key), Guard: guard, WAL: &simWAL{n, inc},
		Broadcaster: &simBroadcaster{n, inc}, Clock: &simClock{n, inc}, Syncer: &simSyncer{n, inc},
	}, h, c)
	if err != nil {
		s.fatalf("node %d: %v", n.i, err)
	}
	n.check(n.st.Start(context.Background()))
}

// crash kills the node: its State is gone, the unsynced tail of its WAL is torn off at a
// random point, and it restarts after a while.
func (n *simNode) crash(restartAfter time.Duration) {
	s := n.s
	s.stats.crashes++
	s.logf("node %d crashes at height %d", n.i, n.app.height())
	n.up = false
	n.syncing = false
	n.seen = nil
	n.app.crash()
	size := n.wal.Size()
	n.wal.Close()
	n.guard.Close()
	keep := n.walSynced
	if size > keep {
		keep += s.rng.Int64N(size - keep + 1)
	}
	if err := os.Truncate(filepath.Join(s.dir, fmt.Sprintf("node%d.wal", n.i)), keep); err != nil {
		s.fatalf("truncate wal: %v", err)
	}
	s.after(restartAfter, func() {
		s.logf("node %d restarts at height %d", n.i, n.app.height())
		n.start()
	})
}

type simClock struct {
	n   *simNode
	inc int
}

func (c *simClock) Now() time.Time { return c.n.s.now }

func (c *simClock) Schedule(t Timeout) {
	c.n.s.after(t.Duration, func() {
		if c.n.alive(c.inc) {
			c.n.check(c.n.st.HandleTimeout(context.Background(), t))
		}
	})
}

type simWAL struct {
	n   *simNode
	inc int
}

func (w *simWAL) Append(rec []byte, sync bool) error {
	if !w.n.alive(w.inc) {
		return errCrashed
	}
	if err := w.n.wal.Append(rec, sync); err != nil {
		return err
	}
	if sync {
		w.n.walSynced = w.n.wal.Size()
	}
	return nil
}

// AppendStartSync appends rec; the sync it starts is over when wait is called (the
// guard's save runs in between, and may crash the node: see crashOnSave), unless the node
// crashed, whose crash kept a random part of the unsynced tail.
func (w *simWAL) AppendStartSync(rec []byte) (func() error, error) {
	if !w.n.alive(w.inc) {
		return nil, errCrashed
	}
	if err := w.n.wal.Append(rec, false); err != nil {
		return nil, err
	}
	size := w.n.wal.Size()
	return func() error {
		if !w.n.alive(w.inc) {
			return errCrashed
		}
		w.n.walSynced = size
		return nil
	}, nil
}

func (w *simWAL) ReadAll() ([][]byte, error) {
	if !w.n.alive(w.inc) {
		return nil, errCrashed
	}
	return w.n.wal.ReadAll()
}

func (w *simWAL) Reset(durable func() error) error {
	if !w.n.alive(w.inc) {
		return errCrashed
	}
	// A truncation is not synced (see FileWAL.Reset): a crash may bring old records
	// back, which replay ignores. Most Resets keep the file as it is.
	if err := w.n.wal.Reset(func() error {
		if err := durable(); err != nil {
			return err
		}
		if w.n.app.durable < len(w.n.app.blocks) {
			w.n.s.fatalf("node %d truncates its WAL with blocks not durable", w.n.i)
		}
		return nil
	}); err != nil {
		return err
	}
	w.n.walSynced = min(w.n.walSynced, w.n.wal.Size())
	return nil
}

type simGuard struct {
	n   *simNode
	inc int
}

func (g *simGuard) Load() (LastSigned, bool, error) {
	if !g.n.alive(g.inc) {
		return LastSigned{}, false, errCrashed
	}
	return g.n.guard.Load()
}

func (g *simGuard) Save(l LastSigned) error {
	if !g.n.alive(g.inc) {
		return errCrashed
	}
	// Nothing of a height is signed before the blocks below it are durable: a crash could
	// otherwise take the node back below what its guard says it signed.
	if a := g.n.app; a.durable < len(a.blocks) {
		g.n.s.fatalf("node %d signs at height %d with blocks %d..%d not durable", g.n.i, l.Height, a.durable+1, len(a.blocks))
	}
	if g.n.crashOnSave && l.Step == StepPrecommit {
		// Crash before the guard holds the precommit, while its WAL record (written
		// and being synced beside the save, State.sign) may or may not be durable.
		g.n.crashOnSave = false
		g.n.s.stats.saveCrashes++
		g.n.crash(time.Duration(1+g.n.s.rng.IntN(5)) * time.Second)
		return errCrashed
	}
	return g.n.guard.Save(l)
}

type simSyncer struct {
	n   *simNode
	inc int
}

// NeedSync asks a random other node for the missing blocks over the simulated network
// (subject to partitions and delays); the blocks come back with their commits and go
// through ApplySyncedBlock.
func (y *simSyncer) NeedSync(height uint64) {
	n, s := y.n, y.n.s
	if !n.alive(y.inc) || n.syncing {
		return
	}
	n.syncing = true
	peer := s.nodes[(n.i+1+s.rng.IntN(len(s.nodes)-1))%len(s.nodes)]
	if simTrace {
		s.logf("node %d (at %d) asks node %d for blocks up to %d", n.i, n.app.height(), peer.i, height)
	}
	s.after(s.delay(), func() {
		if !peer.up || !s.connected(n.i, peer.i) {
			n.syncing = false
			return
		}
		from := n.app.height() + 1
		blocks := peer.app.blocksFrom(from, height)
		s.after(s.delay(), func() {
			n.syncing = false
			if !n.alive(y.inc) || len(blocks) == 0 {
				return
			}
			s.stats.syncs++
			for _, b := range blocks {
				err := n.st.ApplySyncedBlock(context.Background(), b.block, b.commit)
				if simTrace {
					s.logf("node %d applies synced block %d: %v", n.i, b.height, err)
				}
				if errors.Is(err, ErrAlreadyDecided) || errors.Is(err, ErrHeightGap) {
					continue
				}
				n.check(err)
			}
		})
	})
}

type simBroadcaster struct {
	n   *simNode
	inc int
}

func (b *simBroadcaster) Broadcast(m *Message) {
	n, s := b.n, b.n.s
	if !n.alive(b.inc) {
		return
	}
	if n.crashOnSend && m.Kind() != MsgCommit {
		// Crash between persisting a signed message and sending it: the most delicate
		// point for double signing after the restart.
		n.crashOnSend = false
		n.crash(time.Duration(1+s.rng.IntN(5)) * time.Second)
		return
	}
	s.checkSigned(n, m)
	if n.byz {
		n.byzantineSend(m)
		return
	}
	enc, err := EncodeMessage(m)
	if err != nil {
		s.fatalf("encode: %v", err)
	}
	if !n.firstSight(enc) {
		return // gossipsub does not publish what it has seen
	}
	for _, peer := range s.nodes {
		if peer != n {
			s.send(n.i, peer.i, enc)
		}
	}
}

// byzantineSend is how the Byzantine validator sends: often it equivocates, sending a
// conflicting version (another block, nil instead of a block, an invalid block) signed
// with its raw key to some peers and the real message to the others; sometimes it sends
// garbage or votes in random far rounds.
func (n *simNode) byzantineSend(m *Message) {
	s := n.s
	real, _ := EncodeMessage(m)
	var fake []byte
	switch m.Kind() {
	case MsgProposal:
		if s.rng.IntN(3) != 0 {
			p := *m.Proposal
			block, hash := n.app.makeBlock(p.Height, p.Round, s.rng.IntN(2) == 0)
			p.Block, p.BlockHash, p.POLRound = block, hash, -1
			if err := p.Sign(testChainID, n.key); err != nil {
				s.fatalf("byzantine sign: %v", err)
			}
			fake, _ = EncodeMessage(&Message{Proposal: &p})
		}
	case MsgVote:
		if m.Vote.Validator != n.addr {
			break // another validator's vote, relayed as a POL
		}
		if s.rng.IntN(2) == 0 {
			v := *m.Vote
			switch {
			case !v.IsNil() && s.rng.IntN(2) == 0:
				v.BlockHash = types.Hash{}
			default:
				v.BlockHash = crypto.Keccak256Hash(v.BlockHash[:], []byte{byte(s.rng.IntN(256))})
			}
			if err := v.Sign(testChainID, n.key); err != nil {
				s.fatalf("byzantine sign: %v", err)
			}
			fake, _ = EncodeMessage(&Message{Vote: &v})
		}
		if s.rng.IntN(10) == 0 {
			// A vote in a far round: alone it must not drag anyone there.
			v := *m.Vote
			v.Round += int32(2 + s.rng.IntN(50))
			if err := v.Sign(testChainID, n.key); err == nil {
				far, _ := EncodeMessage(&Message{Vote: &v})
				for _, peer := range s.nodes {
					if peer != n {
						s.send(n.i, peer.i, far)
					}
				}
			}
		}
	}
	if s.rng.IntN(20) == 0 {
		garbage := bytes.Clone(real)
		garbage[s.rng.IntN(len(garbage))] ^= byte(1 + s.rng.IntN(255))
		real = garbage
	}
	for _, peer := range s.nodes {
		if peer == n {
			continue
		}
		b := real
		if fake != nil && s.rng.IntN(2) == 0 {
			b = fake
		}
		s.send(n.i, peer.i, b)
	}
}

// simApp is the fake application of a node. Blocks are RLP [height, round, proposer,
// payload] with a random payload; the hash is keccak256 of the bytes. Payloads starting
// with simInvalidPayload fail validation (only the Byzantine node makes such blocks).
// The committed blocks are the node's durable chain.
type simApp struct {
	n       *simNode
	blocks  []committedBlock
	durable int // blocks made durable by WaitDurable; a crash keeps them and a random part of the rest
	pending bool
	// sets[h] is the validator set of height h, derived from the committed blocks: a
	// block of height h may carry a set change, which takes effect at h+2.
	sets map[uint64]*types.ValidatorSet
}

type simBlock struct {
	Height   uint64
	Round    uint32
	Proposer types.Address
	Payload  []byte
	Change   []byte // RLP of a simChange, or empty
}

// set returns the validator set of height h, known up to the committed height + 2.
func (a *simApp) set(h uint64) *types.ValidatorSet {
	if a.sets == nil {
		a.sets = map[uint64]*types.ValidatorSet{0: a.n.s.vals, 1: a.n.s.vals, 2: a.n.s.vals}
	}
	return a.sets[h]
}

func (a *simApp) makeBlock(h uint64, r int32, invalid bool) ([]byte, types.Hash) {
	payload := make([]byte, 8+a.n.s.rng.IntN(24))
	for i := range payload {
		payload[i] = byte(a.n.s.rng.IntN(256))
	}
	if invalid {
		copy(payload, simInvalidPayload)
	}
	var change []byte
	if ch := a.n.s.changes.forBlock(a, h, invalid); ch != nil {
		change = ch.encode()
	}
	b, err := rlp.EncodeToBytes(&simBlock{h, uint32(r), a.n.addr, payload, change})
	if err != nil {
		a.n.s.fatalf("encode block: %v", err)
	}
	return b, crypto.Keccak256Hash(b)
}

func (a *simApp) ProposeBlock(_ context.Context, h uint64, r int32, _ uint64) ([]byte, types.Hash, error) {
	b, hash := a.makeBlock(h, r, false)
	return b, hash, nil
}

func (a *simApp) ValidateBlock(_ context.Context, h uint64, b []byte) (types.Hash, error) {
	var blk simBlock
	if err := rlp.DecodeBytes(b, &blk); err != nil {
		return types.Hash{}, err
	}
	if blk.Height != h {
		return types.Hash{}, fmt.Errorf("block of height %d at %d", blk.Height, h)
	}
	if _, ok := a.set(h).Index(blk.Proposer); !ok {
		return types.Hash{}, errors.New("proposer is not a validator")
	}
	if len(blk.Change) > 0 {
		ch, err := decodeSimChange(blk.Change)
		if err != nil {
			return types.Hash{}, err
		}
		if _, err := ch.apply(a.n.s, a.set(h+1)); err != nil {
			return types.Hash{}, fmt.Errorf("set change refused: %w", err)
		}
	}
	if bytes.HasPrefix(blk.Payload, []byte(simInvalidPayload)) {
		return types.Hash{}, errors.New("invalid payload")
	}
	return crypto.Keccak256Hash(b), nil
}

func (a *simApp) Commit(_ context.Context, h uint64, b []byte, c *types.Commit) error {
	s := a.n.s
	if want := uint64(len(a.blocks)) + 1; h != want {
		s.fatalf("node %d commits height %d, expected %d", a.n.i, h, want)
	}
	if err := c.Verify(testChainID, a.set(h)); err != nil || c.Height != h {
		s.fatalf("node %d commits height %d with a bad certificate: %v", a.n.i, h, err)
	}
	hash := crypto.Keccak256Hash(b)
	if hash != c.BlockHash {
		s.fatalf("node %d commits a block that is not the certified one", a.n.i)
	}
	if !a.n.byz {
		if prev, ok := s.decided[h]; ok && prev != hash {
			s.fatalf("AGREEMENT VIOLATED at height %d: node %d commits %s, another honest node %s", h, a.n.i, hash.TerminalString(), prev.TerminalString())
		}
		s.decided[h] = hash
	}
	a.blocks = append(a.blocks, committedBlock{h, bytes.Clone(b), c})
	// The set of h+2: that of h+1, changed by the block's change if it carries one (a
	// block with a change the rules refuse never validates, so it cannot be committed).
	next := a.set(h + 1)
	var blk simBlock
	if err := rlp.DecodeBytes(b, &blk); err == nil && len(blk.Change) > 0 {
		ch, err := decodeSimChange(blk.Change)
		if err != nil {
			s.fatalf("node %d commits a block with an undecodable change: %v", a.n.i, err)
		}
		if next, err = ch.apply(s, next); err != nil {
			s.fatalf("node %d commits a block whose change breaks the rules: %v", a.n.i, err)
		}
		s.changes.applied(a, ch, h)
	}
	a.sets[h+2] = next
	if !a.n.byz {
		if prev, ok := s.setHash[h+2]; ok && prev != next.Hash() {
			s.fatalf("SET AGREEMENT VIOLATED at height %d: node %d derives another validator set", h+2, a.n.i)
		}
		s.setHash[h+2] = next.Hash()
	}
	if simTrace {
		s.logf("node %d commits %d %s r=%d", a.n.i, h, hash.TerminalString(), c.Round)
	}
	a.pending = false
	s.stats.commits++
	return nil
}

func (a *simApp) HasPendingTxs() bool { return a.pending }

func (a *simApp) WaitDurable() error {
	if !a.n.up {
		return errCrashed
	}
	a.durable = len(a.blocks)
	return nil
}

// crash keeps the durable blocks and a random prefix of the others (the background
// sync may have covered some of them; the store's log keeps blocks in order).
func (a *simApp) crash() {
	keep := a.durable + a.n.s.rng.IntN(len(a.blocks)-a.durable+1)
	if keep < len(a.blocks) {
		a.n.s.logf("node %d loses blocks %d..%d that were not durable", a.n.i, keep+1, len(a.blocks))
	}
	a.blocks = a.blocks[:keep]
	a.durable = keep
	for h := range a.sets {
		if h > uint64(keep)+2 {
			delete(a.sets, h)
		}
	}
}

func (a *simApp) Validators(h uint64) (*types.ValidatorSet, error) {
	if vs := a.set(h); vs != nil {
		return vs, nil
	}
	return nil, fmt.Errorf("validator set of height %d not known at height %d", h, a.height())
}

func (a *simApp) height() uint64 { return uint64(len(a.blocks)) }

func (a *simApp) last() (uint64, *types.Commit) {
	if len(a.blocks) == 0 {
		return 0, nil
	}
	b := a.blocks[len(a.blocks)-1]
	return b.height, b.commit
}

func (a *simApp) blocksFrom(from, to uint64) []committedBlock {
	var out []committedBlock
	for h := from; h <= to && h <= a.height(); h++ {
		out = append(out, a.blocks[h-1])
	}
	return out
}

func newSim(t testing.TB, seed uint64, p simParams) *sim {
	s := &sim{t: t, seed: seed, p: p, rng: rand.New(rand.NewPCG(seed, 0xc0ffee)), now: testEpoch, dir: t.TempDir(),
		decided: map[uint64]types.Hash{}, signed: map[signKey]types.Hash{}, setHash: map[uint64]types.Hash{}}
	s.keys = testKeys(t, p.n+p.extra)
	s.vals = testValidators(t, s.keys[:p.n], p.powers)
	s.cfg = DefaultConfig(testChainID)
	for i, k := range s.keys {
		n := &simNode{s: s, i: i, key: k, addr: crypto.PubkeyToAddress(k.PublicKey), byz: i == p.byzantine}
		n.app = &simApp{n: n}
		s.nodes = append(s.nodes, n)
	}
	return s
}

// scheduleChaos plans the partitions, crashes and transaction arrivals.
func (s *sim) scheduleChaos() {
	// Partition episodes, one after another, each healed before the chaos ends.
	at := time.Duration(0)
	for range s.p.partitions {
		at += time.Duration(s.rng.Int64N(int64(simChaos / time.Duration(s.p.partitions+1))))
		dur := time.Duration(1+s.rng.IntN(8)) * time.Second
		if at+dur > simChaos {
			break
		}
		groups := make([]int, len(s.nodes))
		for i := range groups {
			groups[i] = s.rng.IntN(2)
		}
		s.after(at, func() {
			s.group = groups
			s.logf("partition %v", groups)
		})
		s.after(at+dur, func() {
			s.group = nil
			s.logf("healed")
		})
		at += dur
	}
	// Crashes of honest nodes, some of them right after signing, before sending.
	honest := s.honest()
	for range s.p.crashes {
		n := honest[s.rng.IntN(len(honest))]
		when := time.Duration(s.rng.Int64N(int64(simChaos - 10*time.Second)))
		down := time.Duration(1+s.rng.IntN(8)) * time.Second
		mode := s.rng.IntN(4) // 0, 1: now; 2: on send; 3: on the guard's save of a precommit
		s.after(when, func() {
			if !n.up {
				return
			}
			switch mode {
			case 2:
				n.crashOnSend = true
				return
			case 3:
				n.crashOnSave = true
				return
			}
			n.crash(down)
		})
	}
	// Transactions arrive now and then, at every node (the mempool gossip is instant
	// here); in between, blocks come at the heartbeat.
	var txs func()
	txs = func() {
		for _, n := range s.nodes {
			n.app.pending = true
			if n.up {
				n.check(n.st.TxsAvailable(context.Background()))
			}
		}
		s.after(time.Duration(100+s.rng.IntN(4000))*time.Millisecond, txs)
	}
	s.after(time.Duration(s.rng.IntN(1000))*time.Millisecond, txs)
}

func (s *sim) step() bool {
	if len(s.events) == 0 {
		return false
	}
	e := heap.Pop(&s.events).(event)
	s.now = e.at
	e.fn()
	return true
}

func runSimulation(t testing.TB, seed uint64, p simParams) { runSimulationWith(t, seed, p) }

// runSimulationWith runs one seed and returns the simulation for more checks.
func runSimulationWith(t testing.TB, seed uint64, p simParams) *sim {
	s := newSim(t, seed, p)
	for _, n := range s.nodes {
		n.start()
	}
	s.scheduleChaos()
	if p.changes > 0 {
		s.scheduleChanges()
	}
	chaosEnd := s.now.Add(simChaos)
	for s.now.Before(chaosEnd) && s.step() {
	}
	// Every node is up again (a crash-on-send armed at the very end may still fire,
	// restart it by hand) and the network is whole.
	for _, n := range s.nodes {
		n.crashOnSend, n.crashOnSave = false, false
		if !n.up {
			n.start()
		}
	}
	s.group = nil
	var target uint64
	for _, n := range s.honest() {
		target = max(target, n.app.height())
	}
	target += simKeepGoing
	s.logf("chaos over; every honest node must reach height %d", target)
	deadline := s.now.Add(simLivenessBound)
	for {
		done := true
		for _, n := range s.honest() {
			if n.app.height() < target {
				done = false
			}
		}
		if done {
			break
		}
		if !s.now.Before(deadline) || !s.step() {
			s.fatalf("LIVENESS: honest nodes did not all reach height %d within %v after the chaos", target, simLivenessBound)
		}
	}
	// Requested set changes are all decided or refused while blocks go on.
	for len(s.changes.queue) > 0 {
		if !s.now.Before(deadline.Add(simLivenessBound)) || !s.step() {
			s.fatalf("LIVENESS: %d requested validator set changes still pending", len(s.changes.queue))
		}
	}
	for _, n := range s.nodes {
		if n.up {
			n.wal.Close()
			n.guard.Close()
		}
	}
	if testing.Verbose() {
		t.Logf("%s: height %d reached %v after the chaos; %d delivered, %d dropped, %d commits, %d crashes (%d in a precommit's save), %d syncs, %d evidence at node 0",
			p, target, s.now.Sub(chaosEnd), s.stats.delivered, s.stats.dropped, s.stats.commits, s.stats.crashes, s.stats.saveCrashes,
			s.stats.syncs, len(s.nodes[0].st.Evidence()))
	}
	return s
}
