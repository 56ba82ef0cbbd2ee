package consensus

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/wnode/wnode/types"
)

// TestRules drives one validator ("v0", the node under test) through scripted scenarios
// in testdata/rules, one file per rule of Algorithm 1 and per mechanism (cadence, WAL
// replay, catch-up, evidence). Other validators are the test's puppets: their signed
// messages are made up by the commands. Every command prints what the node did (messages
// sent, timers set, blocks committed, sync requests) and its status afterwards.
//
//	init n=4 [powers=(1,1,1,1)] [pending]   4 validators; v0 is the node under test
//	proposers [h=1] rounds=4                who proposes rounds 0..3
//	proposal r=0 block=A [pol=-1] [from=vX] [h=..]  (default: the round's proposer)
//	prevote|precommit r=0 block=A|nil from=(v1,v2) [h=..]
//	commit r=0 block=A from=(v1,v2,v3) [h=..]
//	timeout propose|prevote|precommit [r=..] [h=..]
//	tick 1s                                 advance the clock, firing due timers
//	rebroadcast on|off                      show re-broadcasts (default off)
//	txs                                     transactions arrive in the mempool
//	invalid block=B                         the application rejects block B
//	sync r=0 block=A from=(...) [h=..]      block sync hands over a block with its commit
//	restart [torn] [nowal] [lost]           crash and restart (WAL replay); torn loses
//	                                        what was not fsynced, nowal the whole WAL,
//	                                        lost the commits not yet durable
//	evidence                                equivocations recorded
func TestRules(t *testing.T) {
	datadriven.Walk(t, "testdata/rules", func(t *testing.T, path string) {
		d := &driver{}
		datadriven.RunTest(t, path, func(t *testing.T, td *datadriven.TestData) string {
			return d.run(t, td)
		})
	})
}

type driver struct {
	keys   []*ecdsa.PrivateKey
	vals   *types.ValidatorSet
	names  map[types.Address]string
	byName map[string]*ecdsa.PrivateKey
	blocks map[types.Hash]string
	cfg    Config
	app    *testApp
	clock  *manualClock
	bc     *captureBroadcaster
	wal    *memWAL
	guard  *MemGuardStore
	syncer *syncRecorder
	st     *State
	out    strings.Builder

	showRebroadcast bool // print re-broadcast timers and what they send

	timersSeen  int // highest timer sequence number printed
	commitsSeen int // application commits printed
}

func (d *driver) run(t *testing.T, td *datadriven.TestData) string {
	d.out.Reset()
	ctx := context.Background()
	var err error
	switch td.Cmd {
	case "init":
		n := 4
		td.MaybeScanArgs(t, "n", &n)
		powers := equalPowers(n)
		if arg, ok := td.Arg("powers"); ok {
			for i, v := range arg.Vals {
				powers[i], _ = strconv.ParseUint(v, 10, 64)
			}
		}
		d.init(t, n, powers)
		d.app.pending = td.HasArg("pending")
		err = d.start(t)
	case "proposers":
		h := d.height(t, td)
		var rounds int
		td.ScanArgs(t, "rounds", &rounds)
		for r := range rounds {
			fmt.Fprintf(&d.out, "h=%d r=%d: %s\n", h, r, d.names[d.vals.Proposer(h, int32(r)).Address])
		}
		return d.out.String()
	case "proposal":
		h, r := d.height(t, td), d.round(t, td)
		pol := -1
		td.MaybeScanArgs(t, "pol", &pol)
		key := d.keyOf(d.vals.Proposer(h, r).Address)
		if arg, ok := td.Arg("from"); ok {
			key = d.byName[arg.SingleVal(t)]
		}
		name := td.CmdArgs[argIndex(td, "block")].SingleVal(t)
		d.blocks[testBlockHash(name, h)] = name
		p := signProposal(t, key, h, r, int32(pol), testBlock(name, h))
		err = d.st.HandleMessage(ctx, &Message{Proposal: p})
	case "prevote", "precommit":
		typ := types.PrevoteType
		if td.Cmd == "precommit" {
			typ = types.PrecommitType
		}
		h, r, block := d.height(t, td), d.round(t, td), d.blockArg(t, td)
		arg, _ := td.Arg("from")
		for _, who := range arg.Vals {
			if e := d.st.HandleMessage(ctx, &Message{Vote: signVote(t, d.byName[who], typ, h, r, block)}); e != nil {
				err = errors.Join(err, e)
			}
		}
	case "commit":
		c := d.commit(t, td)
		err = d.st.HandleMessage(ctx, &Message{Commit: c})
	case "sync":
		c := d.commit(t, td)
		name := td.CmdArgs[argIndex(td, "block")].SingleVal(t)
		err = d.st.ApplySyncedBlock(ctx, testBlock(name, c.Height), c)
	case "timeout":
		kinds := map[string]TimeoutKind{"propose": TimeoutKindPropose, "prevote": TimeoutKindPrevote, "precommit": TimeoutKindPrecommit}
		err = d.st.HandleTimeout(ctx, Timeout{Kind: kinds[td.CmdArgs[0].Key], Height: d.height(t, td), Round: d.round(t, td)})
	case "tick":
		dur, e := time.ParseDuration(td.CmdArgs[0].Key)
		if e != nil {
			t.Fatal(e)
		}
		until := d.clock.now.Add(dur)
		for {
			to, ok := d.clock.due(until)
			if !ok {
				break
			}
			quiet := to.Kind == TimeoutKindRebroadcast && !d.showRebroadcast
			if !quiet {
				fmt.Fprintf(&d.out, "fire %s\n", d.timeout(to))
			}
			if e := d.st.HandleTimeout(ctx, to); e != nil {
				err = errors.Join(err, e)
			}
			if quiet {
				d.bc.take()
				d.newTimers()
			}
			d.flush()
		}
		d.clock.now = until
	case "rebroadcast":
		d.showRebroadcast = td.CmdArgs[0].Key == "on"
		return ""
	case "txs":
		d.app.pending = true
		err = d.st.TxsAvailable(ctx)
	case "invalid":
		d.app.invalid[td.CmdArgs[0].Vals[0]] = true
		return ""
	case "restart":
		d.clock.timers = nil
		if td.HasArg("torn") {
			d.wal.recs = d.wal.recs[:d.wal.synced] // what was not fsynced is lost
		}
		if td.HasArg("nowal") {
			d.wal.recs, d.wal.synced = nil, 0 // the WAL file is lost; the double-sign guard is not
		}
		if td.HasArg("lost") {
			d.app.crash()
			d.commitsSeen = min(d.commitsSeen, len(d.app.committed))
		}
		err = d.start(t)
	case "status":
	case "evidence":
		for _, e := range d.st.Evidence() {
			if err := e.Verify(testChainID, d.vals); err != nil {
				t.Fatalf("recorded evidence does not verify: %v", err)
			}
			fmt.Fprintf(&d.out, "%s h=%d r=%d by %s: %s vs %s\n", e.Type, e.Height, e.Round, d.names[e.Validator],
				d.blockName(e.A.BlockHash), d.blockName(e.B.BlockHash))
		}
		return d.out.String()
	default:
		t.Fatalf("unknown command %q", td.Cmd)
	}
	if err != nil {
		fmt.Fprintf(&d.out, "error: %v\n", err)
	}
	d.flush()
	d.status()
	return d.out.String()
}

func (d *driver) init(t *testing.T, n int, powers []uint64) {
	d.keys = testKeys(t, n)
	d.vals = testValidators(t, d.keys, powers)
	d.names = map[types.Address]string{}
	d.byName = map[string]*ecdsa.PrivateKey{}
	for i, k := range d.keys {
		name := fmt.Sprintf("v%d", i)
		d.names[crypto.PubkeyToAddress(k.PublicKey)] = name
		d.byName[name] = k
	}
	d.blocks = map[types.Hash]string{}
	d.cfg = DefaultConfig(testChainID)
	d.app, d.clock, d.bc = newTestApp(d.vals), newManualClock(), &captureBroadcaster{}
	d.wal, d.guard, d.syncer = &memWAL{}, &MemGuardStore{}, &syncRecorder{}
}

// start creates the node under test from the application's last committed height and
// whatever its WAL and guard hold, and starts it.
func (d *driver) start(t *testing.T) error {
	h, c := d.app.last()
	// Warnings and errors the node logs are part of the expected output, without attributes.
	logger := slog.New(slog.NewTextHandler(&d.out, &slog.HandlerOptions{
		Level: slog.LevelWarn,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && (a.Key == slog.LevelKey || a.Key == slog.MessageKey) {
				return a
			}
			return slog.Attr{}
		},
	}))
	st, err := New(d.cfg, Deps{App: d.app, Signer: NewKeySigner(d.keys[0]), Guard: d.guard, WAL: d.wal,
		Broadcaster: d.bc, Clock: d.clock, Syncer: d.syncer, Logger: logger}, h, c)
	if err != nil {
		t.Fatal(err)
	}
	d.st = st
	st.replayHook = func(rec walRecord, skipped bool) {
		if !skipped {
			fmt.Fprintf(&d.out, "replay %s\n", d.walRecord(rec))
		}
	}
	return st.Start(context.Background())
}

func argIndex(td *datadriven.TestData, key string) int {
	for i, a := range td.CmdArgs {
		if a.Key == key {
			return i
		}
	}
	return -1
}

func (d *driver) height(t *testing.T, td *datadriven.TestData) uint64 {
	h := d.st.Status().Height
	td.MaybeScanArgs(t, "h", &h)
	return h
}

func (d *driver) round(t *testing.T, td *datadriven.TestData) int32 {
	r := int(d.st.Status().Round)
	td.MaybeScanArgs(t, "r", &r)
	return int32(r)
}

func (d *driver) blockArg(t *testing.T, td *datadriven.TestData) types.Hash {
	name := td.CmdArgs[argIndex(td, "block")].SingleVal(t)
	if name == "nil" {
		return types.Hash{}
	}
	h := testBlockHash(name, d.height(t, td))
	d.blocks[h] = name
	return h
}

func (d *driver) commit(t *testing.T, td *datadriven.TestData) *types.Commit {
	h, r, block := d.height(t, td), d.round(t, td), d.blockArg(t, td)
	arg, _ := td.Arg("from")
	var votes []*types.Vote
	for _, who := range arg.Vals {
		votes = append(votes, signVote(t, d.byName[who], types.PrecommitType, h, r, block))
	}
	c, err := types.NewCommit(votes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (d *driver) keyOf(a types.Address) *ecdsa.PrivateKey { return d.byName[d.names[a]] }

func (d *driver) blockName(h types.Hash) string {
	if h == (types.Hash{}) {
		return "nil"
	}
	if n, ok := d.blocks[h]; ok {
		return n
	}
	return h.TerminalString()
}

// flush prints the node's effects since the last flush.
func (d *driver) flush() {
	for _, m := range d.bc.take() {
		relay := ""
		if m.Vote != nil && d.names[m.Vote.Validator] != "v0" {
			relay = " (relayed, by " + d.names[m.Vote.Validator] + ")"
		}
		if m.Resend != 0 {
			relay += " (resend)"
		}
		fmt.Fprintf(&d.out, "sent %s%s\n", d.msg(m), relay)
	}
	for _, pt := range d.newTimers() {
		fmt.Fprintf(&d.out, "timer %s in %v\n", d.timeout(pt.t), pt.at.Sub(d.clock.now))
	}
	for _, c := range d.newCommits() {
		name, _, _ := parseTestBlock(c.block)
		d.blocks[c.commit.BlockHash] = name
		fmt.Fprintf(&d.out, "COMMITTED h=%d %s r=%d sigs=%s\n", c.height, name, c.commit.Round, d.signers(c.commit))
	}
	for _, h := range d.syncer.heights {
		fmt.Fprintf(&d.out, "needsync %d\n", h)
	}
	d.syncer.heights = nil
}

// newTimers returns the timers set since the last call, in the order they were set.
func (d *driver) newTimers() []pendingTimer {
	var out []pendingTimer
	maxSeq := d.timersSeen
	for _, pt := range d.clock.timers {
		if pt.seq > d.timersSeen {
			out = append(out, pt)
			maxSeq = max(maxSeq, pt.seq)
		}
	}
	d.timersSeen = maxSeq
	slices.SortFunc(out, func(a, b pendingTimer) int { return a.seq - b.seq })
	return out
}

func (d *driver) newCommits() []committedBlock {
	d.app.mu.Lock()
	defer d.app.mu.Unlock()
	out := d.app.committed[d.commitsSeen:]
	d.commitsSeen = len(d.app.committed)
	return out
}

func (d *driver) signers(c *types.Commit) string {
	var names []string
	for _, s := range c.Sigs {
		names = append(names, d.names[s.Validator])
	}
	return "(" + strings.Join(names, ",") + ")"
}

func (d *driver) msg(m *Message) string {
	switch m.Kind() {
	case MsgProposal:
		p := m.Proposal
		return fmt.Sprintf("proposal h=%d r=%d %s pol=%d", p.Height, p.Round, d.blockNameOf(p.Block, p.BlockHash), p.POLRound)
	case MsgVote:
		v := m.Vote
		return fmt.Sprintf("%s h=%d r=%d %s", v.Type, v.Height, v.Round, d.blockName(v.BlockHash))
	case MsgCommit:
		c := m.Commit
		return fmt.Sprintf("commit h=%d r=%d %s sigs=%s", c.Height, c.Round, d.blockName(c.BlockHash), d.signers(c))
	}
	return "?"
}

func (d *driver) blockNameOf(b []byte, h types.Hash) string {
	if name, _, err := parseTestBlock(b); err == nil {
		d.blocks[h] = name
		return name
	}
	return h.TerminalString()
}

func (d *driver) timeout(t Timeout) string {
	if t.Kind == TimeoutKindRebroadcast {
		return "rebroadcast"
	}
	return fmt.Sprintf("%s h=%d r=%d", t.Kind, t.Height, t.Round)
}

func (d *driver) walRecord(rec walRecord) string {
	switch rec.kind {
	case walTimeout:
		return "timeout " + d.timeout(rec.timeout)
	case walOwn:
		return "own " + d.msg(rec.msg)
	}
	from := ""
	switch rec.msg.Kind() {
	case MsgProposal:
		from = " from " + d.names[rec.msg.Proposal.Proposer]
	case MsgVote:
		from = " from " + d.names[rec.msg.Vote.Validator]
	}
	return d.msg(rec.msg) + from
}

func (d *driver) status() {
	s := d.st.Status()
	lock, valid := "-", "-"
	if s.LockedRound >= 0 {
		lock = fmt.Sprintf("%s/%d", d.blockName(s.LockedValue), s.LockedRound)
	}
	if s.ValidRound >= 0 {
		valid = fmt.Sprintf("%s/%d", d.blockName(s.ValidValue), s.ValidRound)
	}
	fmt.Fprintf(&d.out, "status h=%d r=%d %s locked=%s valid=%s\n", s.Height, s.Round, s.Step, lock, valid)
}
