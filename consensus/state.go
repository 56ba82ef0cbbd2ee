package consensus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"time"

	"github.com/wnode/wnode/types"
)

// TimeoutKind says which timer fired.
type TimeoutKind uint8

// The timers of a State.
const (
	TimeoutKindPropose     TimeoutKind = 1 // Algorithm 1 OnTimeoutPropose
	TimeoutKindPrevote     TimeoutKind = 2 // OnTimeoutPrevote
	TimeoutKindPrecommit   TimeoutKind = 3 // OnTimeoutPrecommit
	TimeoutKindCadence     TimeoutKind = 4 // the round-0 proposer checks whether to propose now
	TimeoutKindRebroadcast TimeoutKind = 5 // re-send own current messages
)

// String returns a short human-readable form of the TimeoutKind, for logs.
func (k TimeoutKind) String() string {
	switch k {
	case TimeoutKindPropose:
		return "propose"
	case TimeoutKindPrevote:
		return "prevote"
	case TimeoutKindPrecommit:
		return "precommit"
	case TimeoutKindCadence:
		return "cadence"
	case TimeoutKindRebroadcast:
		return "rebroadcast"
	}
	return fmt.Sprintf("timeout(%d)", uint8(k))
}

// Timeout is a timer the State asked its Clock for; the Clock hands it back through
// HandleTimeout after Duration.
type Timeout struct {
	Kind     TimeoutKind
	Height   uint64
	Round    int32
	Duration time.Duration
}

// Errors callers branch on. Errors about bad input from peers wrap ErrInvalidMessage.
var (
	// ErrNotStarted is returned by handlers called before Start.
	ErrNotStarted = errors.New("consensus not started")
	// ErrAlreadyDecided is returned by ApplySyncedBlock for a height already decided.
	ErrAlreadyDecided = errors.New("height already decided")
	// ErrHeightGap is returned by ApplySyncedBlock for a block above the current height.
	ErrHeightGap = errors.New("block is not for the current height")
	// ErrBlockMismatch is returned by ApplySyncedBlock when the block does not execute
	// to the hash its commit certifies.
	ErrBlockMismatch = errors.New("block does not match its commit")
)

// Status is a snapshot of where a State is.
type Status struct {
	Height      uint64 // the height being decided (last committed + 1)
	Round       int32
	Step        Step
	LockedRound int32 // -1: not locked
	LockedValue types.Hash
	ValidRound  int32 // -1: none
	ValidValue  types.Hash
}

type blockInfo struct {
	data           []byte
	checked, valid bool
}

type ownKey struct {
	round int32
	typ   types.SignedMsgType
}

// decidable is a block of the current height that more than 2/3 precommitted in round:
// counted here, or proven by a commit certificate received whole (commit). Counting alone
// can fall short when an equivocating validator's other precommit was counted first.
type decidable struct {
	round  int32
	hash   types.Hash
	commit *types.Commit
}

// State is Tendermint consensus (Buchman, Kwon, Milosevic, "The latest gossip on BFT
// consensus", 2018, Algorithm 1) for one validator, as an explicit state machine: its
// inputs are messages (HandleMessage), timeouts (HandleTimeout), "transactions are
// pending" notices (TxsAvailable) and blocks fetched by block sync (ApplySyncedBlock);
// its effects go through Deps. Each input runs the upon-rules of the algorithm until no
// rule fires. It is deterministic given its inputs and the Application's answers.
//
// A State is not safe for concurrent use: one goroutine drives it (Runner in the node,
// the event loop in the simulation). Its memory is bounded by the number of rounds of
// the current height times the number of validators.
type State struct {
	cfg      Config
	vals     *types.ValidatorSet // the set of height
	nextVals *types.ValidatorSet // the set of height+1
	deps     Deps
	log      *slog.Logger
	guard    *SignGuard
	self     types.Address
	voter    bool // self is a validator of height with a signer

	// Algorithm 1 variables.
	height      uint64
	round       int32
	step        Step
	lockedRound int32
	lockedValue types.Hash
	validRound  int32
	validValue  types.Hash

	rounds     map[int32]*roundState
	decidables []decidable                       // blocks with 2/3+ precommits (lines 49-54)
	future     map[types.Address]*[2]*types.Vote // latest prevote/precommit beyond the window
	maxRound   map[types.Address]int32           // highest round each validator voted in
	skipDirty  bool                              // maxRound changed since the last round-skip check
	blocks     map[types.Hash]*blockInfo         // blocks of this height by hash
	own        map[ownKey]*Message               // what this validator signed at this height
	invalidLog map[types.Hash]bool               // blocks decided by others that we find invalid (logged once)
	syncAsked  bool                              // NeedSync called for a missing decided block
	heightAt   time.Time                         // when this height started
	prevAt     time.Time                         // when the previous height started (MinBlockInterval counts from it)
	timeline   timeline                          // when this height's steps happened, for the "committed" log line
	cadence    struct {                          // round-0 proposer waiting for txs or the heartbeat
		waiting bool
		at      time.Time // earliest cadence timer pending
	}

	next       []*Message            // verified messages for height+1
	nextCount  map[types.Address]int // per validator, in next
	lastCommit *types.Commit         // certificate of height-1
	evidence   []DuplicateVoteEvidence
	evSeen     map[evidenceKey]bool
	evCount    int // evidence ever recorded
	started    bool
	replaying  bool // Start is replaying the WAL: own messages are not re-sent one by one
	// undurable: the Application may hold committed blocks that are not durable yet
	// (Commit need not sync; and at start, what a crashed process left): nothing is
	// signed before WaitDurable returns (see durable).
	undurable bool
	fatal     error // set once; the State then refuses all input

	replayHook func(rec walRecord, skipped bool) // tests observe replay
}

// New returns a State that will decide height lastHeight+1, lastHeight being the height
// of the last block the Application committed (0 before the first) and lastCommit its
// certificate (nil before the first). Call Start before anything else.
func New(cfg Config, deps Deps, lastHeight uint64, lastCommit *types.Commit) (*State, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if deps.App == nil || deps.WAL == nil || deps.Broadcaster == nil || deps.Clock == nil {
		return nil, fmt.Errorf("%w: App, WAL, Broadcaster and Clock are required", ErrConfig)
	}
	if lastHeight > 0 && (lastCommit == nil || lastCommit.Height != lastHeight) {
		return nil, fmt.Errorf("%w: last commit does not match last height %d", ErrConfig, lastHeight)
	}
	s := &State{cfg: cfg, deps: deps, log: deps.Logger, lastCommit: lastCommit, undurable: true}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if deps.Signer != nil {
		if deps.Guard == nil {
			return nil, fmt.Errorf("%w: a Signer needs a GuardStore", ErrConfig)
		}
		g, err := NewSignGuard(deps.Signer, deps.Guard)
		if err != nil {
			return nil, err
		}
		s.guard = g
		s.self = deps.Signer.Address()
	}
	s.evSeen = map[evidenceKey]bool{}
	if err := s.resetHeight(lastHeight + 1); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return s, nil
}

// Start replays the WAL records of the current height (reconstructing locks, votes and
// own signed messages after a restart), enters the current round, re-sends this
// validator's messages of that round and starts the re-broadcast timer.
func (s *State) Start(ctx context.Context) error {
	if s.started {
		return errors.New("consensus already started")
	}
	raw, err := s.deps.WAL.ReadAll()
	if err != nil {
		return fmt.Errorf("read wal: %w", err)
	}
	recs := make([]walRecord, 0, len(raw))
	for i, b := range raw {
		rec, err := decodeWALRecord(b)
		if err != nil {
			s.log.Warn("skipping undecodable wal record", "index", i, "err", err)
			continue
		}
		recs = append(recs, rec)
	}
	// Own messages first: when replay reaches the point where this validator signed, it
	// re-uses what it signed instead of signing (or building a block) again.
	for _, rec := range recs {
		if rec.kind == walOwn && rec.msg.Height() == s.height {
			s.own[ownKeyOf(rec.msg)] = rec.msg
		}
	}
	// The last signed message is in the guard whole: the WAL's copy of a proposal or a
	// prevote is not synced (see sendOwn) and may have been lost with the WAL's tail.
	if m := s.guardMessage(); m != nil && s.own[ownKeyOf(m)] == nil {
		s.own[ownKeyOf(m)] = m
		recs = append(recs, walRecord{kind: walOwn, msg: m})
	}
	s.started, s.replaying = true, true
	s.startRound(ctx, 0)
	s.process(ctx)
	for _, rec := range recs {
		if s.fatal != nil {
			return s.fatal
		}
		current := rec.height() == s.height
		if s.replayHook != nil {
			s.replayHook(rec, !current)
		}
		if !current {
			continue
		}
		switch rec.kind {
		case walReceived:
			if err := s.addMessage(ctx, rec.msg, false, true); err != nil {
				s.log.Warn("invalid message in wal", "msg", rec.msg, "err", err)
			}
		case walOwn:
			s.addOwn(ctx, rec.msg)
		case walTimeout:
			s.applyTimeout(ctx, rec.timeout, true)
		}
		s.process(ctx)
	}
	s.replaying = false
	if s.fatal != nil {
		return s.fatal
	}
	s.rebroadcast()
	s.deps.Clock.Schedule(Timeout{Kind: TimeoutKindRebroadcast, Duration: s.cfg.RebroadcastInterval})
	s.log.Info("consensus started", "height", s.height, "round", s.round, "step", s.step, "walRecords", len(recs))
	return nil
}

// HandleMessage processes a message from a peer. An error wrapping ErrInvalidMessage
// means the message was bad (the State is unchanged); any other error is fatal (storage
// or application failure) and is returned by every later call too. Messages for other
// heights are ignored or kept for the next height; a commit certificate for a height this
// node cannot decide triggers Syncer.NeedSync.
func (s *State) HandleMessage(ctx context.Context, m *Message) error {
	if err := s.usable(); err != nil {
		return err
	}
	err := s.addMessage(ctx, m, false, false)
	s.process(ctx)
	if s.fatal != nil {
		return s.fatal
	}
	return err
}

// HandleTimeout processes a timer the State scheduled earlier. Timeouts of past steps,
// rounds or heights are ignored.
func (s *State) HandleTimeout(ctx context.Context, t Timeout) error {
	if err := s.usable(); err != nil {
		return err
	}
	s.applyTimeout(ctx, t, false)
	s.process(ctx)
	return s.fatal
}

// TxsAvailable tells the State that transactions are pending, so that a round-0
// proposer waiting for the heartbeat may propose as soon as MinBlockInterval allows.
func (s *State) TxsAvailable(ctx context.Context) error {
	if err := s.usable(); err != nil {
		return err
	}
	s.tryPropose(ctx)
	s.process(ctx)
	return s.fatal
}

// ApplySyncedBlock decides the current height with a block fetched by block sync: it
// verifies the commit certificate (more than 2/3 of the power for this height), has the
// Application re-execute the block and checks it yields the certified hash, then commits
// it and moves to the next height. Blocks of decided heights give ErrAlreadyDecided,
// blocks beyond the current height ErrHeightGap, a bad commit ErrInvalidMessage and a
// block that does not match ErrBlockMismatch; none of these change the State.
func (s *State) ApplySyncedBlock(ctx context.Context, block []byte, commit *types.Commit) error {
	if err := s.usable(); err != nil {
		return err
	}
	if commit == nil {
		return fmt.Errorf("%w: no commit", ErrInvalidMessage)
	}
	switch {
	case commit.Height < s.height:
		return fmt.Errorf("%w: %d (at %d)", ErrAlreadyDecided, commit.Height, s.height)
	case commit.Height > s.height:
		return fmt.Errorf("%w: block %d, at %d", ErrHeightGap, commit.Height, s.height)
	}
	if err := commit.Verify(s.cfg.ChainID, s.vals); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	// A block this node already executed (it had the proposal) is not executed again.
	if b := s.blocks[commit.BlockHash]; b == nil || !b.checked || !b.valid {
		hash, err := s.deps.App.ValidateBlock(withCertified(ctx), s.height, block)
		if err != nil {
			return fmt.Errorf("%w: height %d: %w", ErrBlockMismatch, s.height, err)
		}
		if hash != commit.BlockHash {
			return fmt.Errorf("%w: height %d executes to %s, commit is for %s", ErrBlockMismatch, s.height, hash.TerminalString(), commit.BlockHash.TerminalString())
		}
		s.blocks[hash] = &blockInfo{data: block, checked: true, valid: true}
	}
	s.decide(ctx, commit.BlockHash, commit)
	s.process(ctx)
	return s.fatal
}

// Status returns where the State is.
func (s *State) Status() Status {
	return Status{Height: s.height, Round: s.round, Step: s.step, LockedRound: s.lockedRound,
		LockedValue: s.lockedValue, ValidRound: s.validRound, ValidValue: s.validValue}
}

// LastCommit returns the commit certificate of the last decided height (nil before the
// first).
func (s *State) LastCommit() *types.Commit { return s.lastCommit }

// Evidence returns a copy of the equivocations seen so far, oldest first (at most
// Config.MaxEvidence).
func (s *State) Evidence() []DuplicateVoteEvidence { return slices.Clone(s.evidence) }

// Err returns the fatal error that stopped the State, if any.
func (s *State) Err() error { return s.fatal }

func (s *State) usable() error {
	if s.fatal != nil {
		return s.fatal
	}
	if !s.started {
		return ErrNotStarted
	}
	return nil
}

func (s *State) fail(err error) {
	if s.fatal == nil {
		s.fatal = err
		s.log.Error("consensus stopped", "height", s.height, "err", err)
	}
}

// resetHeight clears everything of the previous height and enters height h (without
// starting round 0): it takes the validator sets of h and h+1 from the Application
// (the set of h was the next set of h-1 when there is one), so a validator removed at h
// no longer counts and one added at h starts signing.
func (s *State) resetHeight(h uint64) error {
	vals := s.nextVals
	if vals == nil || s.height+1 != h {
		var err error
		if vals, err = s.deps.App.Validators(h); err != nil {
			return fmt.Errorf("validator set of height %d: %w", h, err)
		}
	}
	next, err := s.deps.App.Validators(h + 1)
	if err != nil {
		return fmt.Errorf("validator set of height %d: %w", h+1, err)
	}
	if vals == nil || next == nil {
		return fmt.Errorf("%w: no validator set for height %d or %d", ErrConfig, h, h+1)
	}
	if s.vals != nil && s.vals.Hash() != vals.Hash() {
		s.log.Info("validator set changed", "height", h, "validators", vals.Len(), "power", vals.TotalPower(), "hash", vals.Hash())
	}
	s.vals, s.nextVals = vals, next
	_, s.voter = s.vals.Index(s.self)
	s.voter = s.voter && s.guard != nil
	s.height, s.round, s.step = h, 0, StepPropose
	s.lockedRound, s.lockedValue = -1, types.Hash{}
	s.validRound, s.validValue = -1, types.Hash{}
	s.rounds = map[int32]*roundState{}
	s.decidables = nil
	s.future = map[types.Address]*[2]*types.Vote{}
	s.maxRound = map[types.Address]int32{}
	s.skipDirty = false
	s.blocks = map[types.Hash]*blockInfo{}
	s.own = map[ownKey]*Message{}
	s.invalidLog = map[types.Hash]bool{}
	s.syncAsked = false
	s.cadence.waiting = false
	s.cadence.at = time.Time{}
	now := s.deps.Clock.Now()
	s.prevAt = s.heightAt
	if s.prevAt.IsZero() {
		s.prevAt = now // the first height of this run: the interval counts from the start
	}
	s.heightAt = now
	s.timeline = timeline{}
	return nil
}

func (s *State) roundState(r int32) *roundState {
	rs := s.rounds[r]
	if rs == nil {
		rs = newRoundState()
		s.rounds[r] = rs
	}
	return rs
}

// process runs the upon-rules until none fires.
func (s *State) process(ctx context.Context) {
	for s.fatal == nil && s.applyRules(ctx) {
	}
}

// applyRules fires the first applicable upon-rule of Algorithm 1 and reports whether one
// fired. Line numbers refer to the paper.
func (s *State) applyRules(ctx context.Context) bool {
	// Lines 49-54: 2/3+ precommits for a block in any round, and the block: decide.
	for _, d := range s.decidables {
		if s.blocks[d.hash] == nil {
			if !s.syncAsked {
				s.syncAsked = true
				s.askSync(s.height)
			}
			continue
		}
		if !s.valid(ctx, d.hash) {
			if !s.invalidLog[d.hash] {
				s.invalidLog[d.hash] = true
				s.log.Error("2/3+ precommitted a block this node finds invalid; waiting for block sync",
					"height", s.height, "round", d.round, "block", d.hash)
			}
			continue
		}
		s.decide(ctx, d.hash, d.commit)
		return true
	}
	// Lines 55-56: f+1 validators are in a higher round: skip to it.
	if r := s.skipRound(); r > s.round {
		s.startRound(ctx, r)
		return true
	}
	rs := s.roundState(s.round)
	if s.step == StepPropose {
		for _, p := range rs.proposals {
			v := p.BlockHash
			// Lines 22-27: a fresh proposal.
			if p.POLRound == -1 {
				ok := s.valid(ctx, v) && (s.lockedRound == -1 || s.lockedValue == v)
				s.prevote(choose(ok, v))
				return true
			}
			// Lines 28-33: a re-proposal with a proof-of-lock from an earlier round.
			if vr := p.POLRound; vr < s.round {
				if prs := s.rounds[vr]; prs != nil && s.vals.HasQuorum(prs.prevotes.power[v]) {
					ok := s.valid(ctx, v) && (s.lockedRound <= vr || s.lockedValue == v)
					s.prevote(choose(ok, v))
					return true
				}
			}
		}
	}
	// Lines 34-35: 2/3+ prevotes of any kind: start the prevote timer, once.
	if s.step == StepPrevote && !rs.prevoteTimeoutSet && s.vals.HasQuorum(rs.prevotes.any) {
		rs.prevoteTimeoutSet = true
		s.schedule(TimeoutKindPrevote, s.cfg.PrevoteTimeout(s.round))
	}
	// Lines 36-43: the proposal and 2/3+ prevotes for it: lock and precommit (if still
	// prevoting), and remember it as the valid value, once per round.
	if s.step >= StepPrevote && !rs.lockRuleDone {
		for _, p := range rs.proposals {
			v := p.BlockHash
			if s.vals.HasQuorum(rs.prevotes.power[v]) && s.valid(ctx, v) {
				rs.lockRuleDone = true
				if s.step == StepPrevote {
					s.lockedValue, s.lockedRound = v, s.round
					s.precommit(v)
				}
				s.validValue, s.validRound = v, s.round
				return true
			}
		}
	}
	// Lines 44-46: 2/3+ prevotes for nil: precommit nil.
	if s.step == StepPrevote && s.vals.HasQuorum(rs.prevotes.power[types.Hash{}]) {
		s.precommit(types.Hash{})
		return true
	}
	// Lines 47-48: 2/3+ precommits of any kind: start the precommit timer, once.
	if !rs.precommitTimeoutSet && s.vals.HasQuorum(rs.precommits.any) {
		rs.precommitTimeoutSet = true
		s.schedule(TimeoutKindPrecommit, s.cfg.PrecommitTimeout(s.round))
	}
	return false
}

func choose(ok bool, v types.Hash) types.Hash {
	if ok {
		return v
	}
	return types.Hash{}
}

// valid is valid(v) of the paper: the Application re-executes the block, once.
func (s *State) valid(ctx context.Context, h types.Hash) bool {
	b := s.blocks[h]
	if b == nil {
		return false
	}
	if !b.checked {
		got, err := s.deps.App.ValidateBlock(ctx, s.height, b.data)
		s.mark(&s.timeline.validated)
		b.checked = true
		b.valid = err == nil && got == h
		if !b.valid {
			s.log.Warn("invalid block proposed", "height", s.height, "block", h, "executesTo", got, "err", err)
		}
	}
	return b.valid
}

// skipRound returns the highest round above the current one in which (or beyond which)
// validators holding more than 1/3 of the power have voted, or -1.
func (s *State) skipRound() int32 {
	if !s.skipDirty {
		return -1
	}
	s.skipDirty = false
	type vr struct {
		round int32
		power uint64
	}
	var ahead []vr
	for a, r := range s.maxRound {
		if r > s.round {
			ahead = append(ahead, vr{r, s.vals.Power(a)})
		}
	}
	slices.SortFunc(ahead, func(a, b vr) int { return cmpOrdered(b.round, a.round) })
	var acc uint64
	for _, x := range ahead {
		acc += x.power
		if s.vals.HasOneThird(acc) {
			return x.round
		}
	}
	return -1
}

// startRound is StartRound(round) of the paper, with block cadence for round 0.
func (s *State) startRound(ctx context.Context, r int32) {
	s.round, s.step = r, StepPropose
	s.cadence.waiting = false
	s.skipDirty = true
	// Votes kept from beyond the window may now be inside it.
	for i := range s.vals.Len() {
		a := s.vals.At(i).Address
		slot := s.future[a]
		if slot == nil {
			continue
		}
		for t, v := range slot {
			if v != nil && v.Round <= r+futureRoundWindow {
				slot[t] = nil
				if err := s.addVote(v, true, false); err != nil {
					s.log.Warn("dropping kept vote", "vote", v, "err", err)
				}
			}
		}
		if slot[0] == nil && slot[1] == nil {
			delete(s.future, a)
		}
	}
	// Every validator, the proposer too, sets the propose timer: if the proposer fails to
	// build or sign a block it still moves on with the others.
	d := s.cfg.ProposeTimeout(r)
	if r == 0 {
		// The round-0 proposer may wait up to the heartbeat for transactions.
		d += max(0, s.cfg.Heartbeat-s.deps.Clock.Now().Sub(s.heightAt))
	}
	s.schedule(TimeoutKindPropose, d)
	if s.voter && s.vals.Proposer(s.height, r).Address == s.self {
		if r == 0 && s.own[ownKey{0, types.ProposalType}] == nil {
			s.cadence.waiting = true
			s.tryPropose(ctx)
		} else {
			s.propose(ctx)
		}
	}
}

// tryPropose proposes in round 0 once the cadence allows: if transactions are pending,
// once MinBlockInterval has passed since the previous height started (so a height whose
// work took longer than the interval is followed at once); otherwise once Heartbeat has
// passed since this height started.
func (s *State) tryPropose(ctx context.Context) {
	if !s.cadence.waiting || s.round != 0 || s.step != StepPropose {
		return
	}
	now := s.deps.Clock.Now()
	pending := s.deps.App.HasPendingTxs()
	if now.Sub(s.heightAt) >= s.cfg.Heartbeat || (pending && now.Sub(s.prevAt) >= s.cfg.MinBlockInterval) {
		s.cadence.waiting = false
		s.propose(ctx)
		return
	}
	at := s.heightAt.Add(s.cfg.Heartbeat)
	if pending {
		at = s.prevAt.Add(s.cfg.MinBlockInterval)
	}
	if s.cadence.at.IsZero() || at.Before(s.cadence.at) || !s.cadence.at.After(now) {
		s.cadence.at = at
		s.schedule(TimeoutKindCadence, at.Sub(now))
	}
}

func (s *State) schedule(k TimeoutKind, d time.Duration) {
	s.deps.Clock.Schedule(Timeout{Kind: k, Height: s.height, Round: s.round, Duration: d})
}

// propose signs and sends this validator's proposal for the current round: the valid
// value if there is one (with its POL round), else a new block from the Application.
func (s *State) propose(ctx context.Context) {
	key := ownKey{s.round, types.ProposalType}
	if m := s.own[key]; m != nil {
		s.resendOwn(m)
		return
	}
	var (
		block []byte
		hash  types.Hash
		pol   = int32(-1)
	)
	if s.validRound >= 0 {
		hash, pol = s.validValue, s.validRound
		block = s.blocks[hash].data
	} else {
		var err error
		now := s.deps.Clock.Now().UnixMilli()
		start := s.deps.Clock.Now()
		s.mark(&s.timeline.propose)
		block, hash, err = s.deps.App.ProposeBlock(ctx, s.height, s.round, uint64(max(now, 0)))
		if s.timeline.build == 0 {
			s.timeline.build = s.deps.Clock.Now().Sub(start)
		}
		if err != nil {
			s.log.Error("cannot build a block; not proposing", "height", s.height, "round", s.round, "err", err)
			return
		}
		if len(block) == 0 || len(block) > types.MaxProposalBlockSize || hash == (types.Hash{}) {
			s.log.Error("application built an unusable block; not proposing", "height", s.height, "size", len(block), "hash", hash)
			return
		}
		if b := s.blocks[hash]; b == nil || !b.checked {
			s.blocks[hash] = &blockInfo{data: block, checked: true, valid: true}
		}
	}
	m := &Message{Proposal: &types.Proposal{Height: s.height, Round: s.round, POLRound: pol, BlockHash: hash, Block: block, Proposer: s.self}}
	ok, logged := s.sign(m)
	if !ok {
		return
	}
	s.sendOwn(m, key, logged)
}

// prevote sends a prevote for v (zero: nil) and moves to the prevote step.
func (s *State) prevote(v types.Hash) {
	s.step = StepPrevote
	s.vote(types.PrevoteType, v)
}

// precommit sends a precommit for v (zero: nil) and moves to the precommit step.
func (s *State) precommit(v types.Hash) {
	s.step = StepPrecommit
	s.vote(types.PrecommitType, v)
}

func (s *State) vote(t types.SignedMsgType, v types.Hash) {
	if !s.voter {
		return
	}
	key := ownKey{s.round, t}
	if m := s.own[key]; m != nil {
		if m.Vote.BlockHash != v {
			// Replay diverged from the original run (the WAL lost what led to the vote, the
			// guard kept the vote): keep what was signed.
			s.log.Error("not signing a conflicting vote; re-sending the earlier one", "earlier", m.Vote, "wanted", v)
		}
		s.resendOwn(m)
		return
	}
	m := &Message{Vote: &types.Vote{Type: t, Height: s.height, Round: s.round, BlockHash: v, Validator: s.self}}
	ok, logged := s.sign(m)
	if !ok {
		return
	}
	s.sendOwn(m, key, logged)
	if t == types.PrevoteType {
		s.mark(&s.timeline.prevote)
	} else {
		s.mark(&s.timeline.precommit)
	}
}

// sign signs m (a proposal or a vote of this validator) through the double-sign guard,
// which persists it whole. A refusal is logged and skipped (the message is simply not
// sent); a storage failure is fatal. With a StartSyncWAL, a precommit's WAL record is
// written (logged) once the precommit is signed and synced while the guard saves it, so
// that its two syncs overlap instead of following each other: before it leaves, both are
// over, as before (a crash between them never let anything leave, whichever was first;
// see docs/rationale/consensus.md, "Persistence").
func (s *State) sign(m *Message) (ok, logged bool) {
	if err := s.durable(); err != nil {
		s.fail(err)
		return false, false
	}
	var before func() (func() error, error)
	if w, async := s.deps.WAL.(StartSyncWAL); async && m.Vote != nil && m.Vote.Type == types.PrecommitType {
		before = func() (func() error, error) {
			b, err := encodeWALRecord(walRecord{kind: walOwn, msg: m})
			if err != nil {
				return nil, fmt.Errorf("wal: %w", err)
			}
			wait, err := w.AppendStartSync(b)
			if err != nil {
				return nil, fmt.Errorf("wal: %w", err)
			}
			logged = true
			return func() error {
				start := s.deps.Clock.Now()
				err := wait()
				s.timeline.wal += s.deps.Clock.Now().Sub(start)
				if err != nil {
					return fmt.Errorf("wal: %w", err)
				}
				return nil
			}, nil
		}
	}
	start := s.deps.Clock.Now()
	err := s.guard.signMessage(s.cfg.ChainID, m, before)
	s.timeline.sign += s.deps.Clock.Now().Sub(start)
	if errors.Is(err, ErrDoubleSign) {
		s.log.Error("double-sign guard refused", "height", s.height, "round", s.round, "signing", m, "err", err)
		return false, false
	}
	if err != nil {
		s.fail(err)
		return false, false
	}
	return true, logged
}

// durable waits until the blocks the Application committed are durable, once after each
// commit (and once after start): nothing of a height is signed before the previous
// height's block survives a crash, the order crash safety needs. Commit does not wait for
// the disk, so the sync runs in the background while the next height starts (the
// proposer builds its block, the others wait for it), and this wait is usually over
// before it begins.
func (s *State) durable() error {
	if !s.undurable {
		return nil
	}
	start := s.deps.Clock.Now()
	if err := s.deps.App.WaitDurable(); err != nil {
		return fmt.Errorf("height %d: wait for the committed blocks to be durable: %w", s.height, err)
	}
	s.timeline.durable += s.deps.Clock.Now().Sub(start)
	s.undurable = false
	return nil
}

// sendOwn logs a freshly signed message to the WAL (unless sign did: logged), then sends
// it and counts it. The guard already holds the message whole (a restarted validator
// re-sends it from there), so only a precommit's record is synced before it leaves: that
// sync makes durable every record before it, the proposal and the prevotes that made
// this validator lock, so replay restores the lock.
func (s *State) sendOwn(m *Message, key ownKey, logged bool) {
	s.own[key] = m
	if !logged && !s.walAppend(walOwn, m, key.typ == types.PrecommitType) {
		return
	}
	s.broadcast(m, false)
	s.addOwn(context.Background(), m)
}

// broadcast sends one of this validator's messages (resend: again, see Message.Resend).
// A proposal of a valid value goes
// with the 2/3+ prevotes of its POL round: the validators that missed them (gossip drops,
// restarts) need them to accept it (line 28), and nobody re-sends votes of past rounds
// otherwise. Without this, honest validators locked on a value and others that never saw
// its POL can block each other forever.
func (s *State) broadcast(m *Message, resend bool) {
	if resend {
		c := *m
		c.Resend = uint64(max(1, s.deps.Clock.Now().UnixMilli()))
		m = &c
	}
	s.deps.Broadcaster.Broadcast(m)
	p := m.Proposal
	if p == nil || p.POLRound < 0 {
		return
	}
	rs := s.rounds[p.POLRound]
	if rs == nil {
		return
	}
	// Relayed votes are re-sends by definition: their bytes must differ from what their
	// signers sent, or gossip would drop them as already seen.
	stamp := uint64(max(1, s.deps.Clock.Now().UnixMilli()))
	for i := range s.vals.Len() {
		if v := rs.prevotes.voteFor(s.vals.At(i).Address, p.BlockHash); v != nil {
			s.deps.Broadcaster.Broadcast(&Message{Vote: v, Resend: stamp})
		}
	}
}

// guardMessage returns the message the guard signed last if it is of the current height
// and is what the guard's state says was signed, else nil.
func (s *State) guardMessage() *Message {
	if s.guard == nil {
		return nil
	}
	last, ok := s.guard.Last()
	if !ok || last.Height != s.height || len(last.Msg) == 0 {
		return nil
	}
	m, err := DecodeMessage(last.Msg)
	if err == nil {
		var (
			sb   types.Hash
			sig  []byte
			step Step
			r    int32
		)
		switch {
		case m.Proposal != nil:
			p := m.Proposal
			sb, sig, step, r = p.SignBytes(s.cfg.ChainID), p.Sig, StepPropose, p.Round
			if p.Proposer != s.self {
				err = errors.New("proposal of another validator")
			}
		case m.Vote != nil:
			v := m.Vote
			sb, sig, step, r = v.SignBytes(s.cfg.ChainID), v.Sig, StepPrevote, v.Round
			if v.Type == types.PrecommitType {
				step = StepPrecommit
			}
			if v.Validator != s.self {
				err = errors.New("vote of another validator")
			}
		default:
			err = errors.New("neither a proposal nor a vote")
		}
		if err == nil && (m.Height() != last.Height || r != last.Round || step != last.Step || sb != last.SignBytes || !bytes.Equal(sig, last.Sig)) {
			err = errors.New("not what the guard signed")
		}
	}
	if err != nil {
		s.log.Warn("ignoring the sign guard's message", "height", last.Height, "round", last.Round, "step", last.Step, "err", err)
		return nil
	}
	m.Resend = 0
	return m
}

// resendOwn sends again a message signed earlier (it is already in the WAL). During
// replay it is only counted: Start re-sends the current round's messages at the end.
func (s *State) resendOwn(m *Message) {
	if !s.replaying {
		s.broadcast(m, true)
	}
	s.addOwn(context.Background(), m)
}

// addOwn counts one of this validator's own messages. Replaying an own precommit for a
// block also restores the lock it stands for, even if the messages that led to it were
// lost with the tail of the WAL, and even if the block itself was lost with them (the
// guard's precommit, whose WAL record was not synced yet): the lock is a hash that only
// restricts prevotes, and the precommit is re-sent, so the lock must hold with it.
func (s *State) addOwn(_ context.Context, m *Message) {
	switch m.Kind() {
	case MsgProposal:
		_ = s.addProposal(m.Proposal, true, true)
	case MsgVote:
		v := m.Vote
		_ = s.addVote(v, true, true)
		if v.Type == types.PrecommitType && !v.IsNil() && v.Round > s.lockedRound {
			s.lockedValue, s.lockedRound = v.BlockHash, v.Round
		}
	}
	s.own[ownKeyOf(m)] = m
}

func ownKeyOf(m *Message) ownKey {
	if m.Proposal != nil {
		return ownKey{m.Proposal.Round, types.ProposalType}
	}
	return ownKey{m.Vote.Round, m.Vote.Type}
}

// addMessage validates m and records it; it runs no rule. verified skips signature
// checks (own or already checked messages); logged says it is already in the WAL.
func (s *State) addMessage(ctx context.Context, m *Message, verified, logged bool) error {
	switch m.Kind() {
	case MsgProposal:
		return s.addProposal(m.Proposal, verified, logged)
	case MsgVote:
		return s.addVote(m.Vote, verified, logged)
	case MsgCommit:
		return s.addCommit(m.Commit, logged)
	}
	return fmt.Errorf("%w: message must carry exactly one of proposal, vote, commit", ErrInvalidMessage)
}

func (s *State) addProposal(p *types.Proposal, verified, logged bool) error {
	if err := p.ValidateBasic(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	if p.Height != s.height {
		if p.Height == s.height+1 {
			return s.bufferNext(&Message{Proposal: p}, p.Proposer, verified)
		}
		return nil
	}
	if want := s.vals.Proposer(p.Height, p.Round).Address; p.Proposer != want {
		return fmt.Errorf("%w: proposal h=%d r=%d by %s, the proposer is %s", ErrInvalidMessage, p.Height, p.Round, p.Proposer, want)
	}
	if p.Round > s.round+futureRoundWindow {
		return nil
	}
	rs := s.roundState(p.Round)
	for _, q := range rs.proposals {
		if q.BlockHash == p.BlockHash && q.POLRound == p.POLRound {
			return nil // duplicate
		}
	}
	if !verified {
		if err := p.Verify(s.cfg.ChainID, s.vals); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidMessage, err)
		}
	}
	if len(rs.proposals) > 0 {
		first := rs.proposals[0]
		s.addEvidence(DuplicateVoteEvidence{Type: types.ProposalType, Validator: p.Proposer, Height: p.Height, Round: p.Round,
			A: SignedValue{first.BlockHash, first.POLRound, first.Sig}, B: SignedValue{p.BlockHash, p.POLRound, p.Sig}})
		if len(rs.proposals) >= maxProposalsPerRound {
			return nil
		}
	}
	if !logged && !s.walAppend(walReceived, &Message{Proposal: p}, false) {
		return s.fatal
	}
	rs.proposals = append(rs.proposals, p)
	s.mark(&s.timeline.proposal)
	if s.blocks[p.BlockHash] == nil {
		s.blocks[p.BlockHash] = &blockInfo{data: p.Block}
	}
	return nil
}

func (s *State) addVote(v *types.Vote, verified, logged bool) error {
	if err := v.ValidateBasic(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	if v.Height != s.height {
		if v.Height == s.height+1 {
			return s.bufferNext(&Message{Vote: v}, v.Validator, verified)
		}
		return nil
	}
	power := s.vals.Power(v.Validator)
	if power == 0 {
		return fmt.Errorf("%w: vote by %s, not a validator", ErrInvalidMessage, v.Validator)
	}
	if v.Round > s.round+futureRoundWindow {
		return s.addFutureVote(v, verified)
	}
	set := s.roundState(v.Round).set(v.Type)
	if set.has(v.Validator, v.BlockHash) {
		return nil // duplicate
	}
	if prev := set.votes[v.Validator]; prev != nil {
		if !verified {
			if err := v.Verify(s.cfg.ChainID, s.vals); err != nil {
				return fmt.Errorf("%w: %w", ErrInvalidMessage, err)
			}
		}
		s.addEvidence(voteEvidence(prev, v))
		if !v.IsNil() && s.blocks[v.BlockHash] == nil {
			return nil // a conflicting vote for a block nobody showed us: evidence only
		}
	} else if !verified {
		if err := v.Verify(s.cfg.ChainID, s.vals); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidMessage, err)
		}
	}
	if !logged && !s.walAppend(walReceived, &Message{Vote: v}, false) {
		return s.fatal
	}
	s.countVote(set, v, power)
	return nil
}

// countVote adds a verified vote to its set and notes what it makes possible.
func (s *State) countVote(set *voteSet, v *types.Vote, power uint64) {
	before := set.power[v.BlockHash]
	set.add(v, power)
	if v.Type == types.PrecommitType && !v.IsNil() && !s.vals.HasQuorum(before) && s.vals.HasQuorum(set.power[v.BlockHash]) {
		s.decidables = append(s.decidables, decidable{round: v.Round, hash: v.BlockHash})
	}
	if r, ok := s.maxRound[v.Validator]; !ok || v.Round > r {
		s.maxRound[v.Validator] = v.Round
		s.skipDirty = true
	}
}

// addFutureVote keeps a vote of a round beyond the window: only the latest per validator
// and type, for skipping rounds.
func (s *State) addFutureVote(v *types.Vote, verified bool) error {
	slot := s.future[v.Validator]
	if slot == nil {
		slot = new([2]*types.Vote)
	}
	i := 0
	if v.Type == types.PrecommitType {
		i = 1
	}
	if cur := slot[i]; cur != nil && cur.Round >= v.Round {
		if cur.Round > v.Round || cur.BlockHash == v.BlockHash {
			return nil
		}
		if !verified {
			if err := v.Verify(s.cfg.ChainID, s.vals); err != nil {
				return fmt.Errorf("%w: %w", ErrInvalidMessage, err)
			}
		}
		s.addEvidence(voteEvidence(cur, v))
		return nil
	}
	if !verified {
		if err := v.Verify(s.cfg.ChainID, s.vals); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidMessage, err)
		}
	}
	slot[i] = v
	s.future[v.Validator] = slot
	if r, ok := s.maxRound[v.Validator]; !ok || v.Round > r {
		s.maxRound[v.Validator] = v.Round
		s.skipDirty = true
	}
	return nil
}

// addCommit handles a commit certificate: for the current height its precommits are
// counted (deciding if the block is known); for a later height block sync is asked for.
func (s *State) addCommit(c *types.Commit, logged bool) error {
	if err := c.ValidateBasic(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	if c.Height < s.height {
		return nil
	}
	if c.Height == s.height {
		for _, d := range s.decidables {
			if d.hash == c.BlockHash && d.commit != nil {
				s.syncAsked = false // still no block: the decision rule asks block sync again
				return nil          // already have a certificate
			}
		}
	}
	switch {
	case c.Height > s.height+1:
		// The set of that height may not be known yet: the commit is checked against
		// the next set, and one it does not verify against is ignored (the sync's
		// status polling finds the gap anyway).
		if c.Verify(s.cfg.ChainID, s.nextVals) == nil {
			s.askSync(c.Height)
		}
		return nil
	case c.Height == s.height+1:
		if err := c.Verify(s.cfg.ChainID, s.nextVals); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidMessage, err)
		}
		s.askSync(c.Height)
		return nil
	}
	if err := c.Verify(s.cfg.ChainID, s.vals); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	if !logged && !s.walAppend(walReceived, &Message{Commit: c}, false) {
		return s.fatal
	}
	// The certificate decides the height by itself once the block is known. Its
	// precommits are also counted (into their round whatever the window: a valid commit
	// is rare and bounded), which may record evidence.
	s.decidables = append([]decidable{{round: c.Round, hash: c.BlockHash, commit: c}}, s.decidables...)
	set := s.roundState(c.Round).set(types.PrecommitType)
	for i := range c.Sigs {
		v := c.Vote(i)
		if set.has(v.Validator, v.BlockHash) {
			continue
		}
		if prev := set.votes[v.Validator]; prev != nil {
			s.addEvidence(voteEvidence(prev, v))
		}
		s.countVote(set, v, s.vals.Power(v.Validator))
	}
	s.syncAsked = false // if the block is missing, the decision rule asks block sync
	return nil
}

// bufferNext keeps a verified message of the next height, a few per validator.
func (s *State) bufferNext(m *Message, from types.Address, verified bool) error {
	if s.nextCount == nil {
		s.nextCount = map[types.Address]int{}
	}
	if s.nextCount[from] >= maxBufferedPerValidator {
		return nil
	}
	if !verified {
		if err := VerifyMessage(s.cfg.ChainID, s.nextVals, m); err != nil {
			return err
		}
	}
	s.nextCount[from]++
	s.next = append(s.next, m)
	return nil
}

func (s *State) askSync(h uint64) {
	if s.deps.Syncer != nil {
		s.deps.Syncer.NeedSync(h)
	}
}

func voteEvidence(a, b *types.Vote) DuplicateVoteEvidence {
	return DuplicateVoteEvidence{Type: a.Type, Validator: a.Validator, Height: a.Height, Round: a.Round,
		A: SignedValue{BlockHash: a.BlockHash, Sig: a.Sig}, B: SignedValue{BlockHash: b.BlockHash, Sig: b.Sig}}
}

func (s *State) addEvidence(e DuplicateVoteEvidence) {
	k := evidenceKey{e.Type, e.Validator, e.Height, e.Round}
	if s.evSeen[k] {
		return
	}
	s.log.Warn("equivocation", "evidence", e.String())
	if len(s.evidence) >= s.cfg.MaxEvidence {
		old := s.evidence[0]
		delete(s.evSeen, evidenceKey{old.Type, old.Validator, old.Height, old.Round})
		s.evidence = s.evidence[1:]
	}
	s.evSeen[k] = true
	s.evidence = append(s.evidence, e)
	s.evCount++
}

// applyTimeout is OnTimeoutPropose / OnTimeoutPrevote / OnTimeoutPrecommit of the paper,
// plus the cadence and re-broadcast timers.
func (s *State) applyTimeout(ctx context.Context, t Timeout, logged bool) {
	if t.Kind == TimeoutKindRebroadcast {
		if !logged {
			s.rebroadcast()
			s.deps.Clock.Schedule(Timeout{Kind: TimeoutKindRebroadcast, Duration: s.cfg.RebroadcastInterval})
		}
		return
	}
	if t.Height != s.height || t.Round != s.round {
		return
	}
	switch t.Kind {
	case TimeoutKindPropose:
		if s.step != StepPropose {
			return
		}
		if !logged && !s.walAppendTimeout(t) {
			return
		}
		s.prevote(types.Hash{})
	case TimeoutKindPrevote:
		if s.step != StepPrevote {
			return
		}
		if !logged && !s.walAppendTimeout(t) {
			return
		}
		s.precommit(types.Hash{})
	case TimeoutKindPrecommit:
		if s.round == math.MaxInt32 {
			return // unreachable in practice: 2^31 rounds of at least 500 ms
		}
		if !logged && !s.walAppendTimeout(t) {
			return
		}
		s.startRound(ctx, s.round+1)
	case TimeoutKindCadence:
		s.cadence.at = time.Time{}
		s.tryPropose(ctx)
	}
}

// rebroadcast re-sends this validator's proposal and votes of the current round and the
// commit of the previous height. It also re-sends those of earlier rounds of this height
// down to the lowest round some other validator is known to be in (its highest vote;
// round 0 if nothing was heard from it): a validator left behind in an earlier round by
// lost messages needs that round's votes to finish it, and cannot skip ahead unless more
// than 1/3 of the power is ahead of it.
func (s *State) rebroadcast() {
	from := s.round
	for i := range s.vals.Len() {
		a := s.vals.At(i).Address
		if a == s.self {
			continue
		}
		from = min(from, s.maxRound[a]) // 0 when never heard from
	}
	for r := from; r <= s.round; r++ {
		for _, t := range []types.SignedMsgType{types.ProposalType, types.PrevoteType, types.PrecommitType} {
			if m := s.own[ownKey{r, t}]; m != nil {
				s.broadcast(m, true)
			}
		}
	}
	if s.lastCommit != nil {
		s.broadcast(&Message{Commit: s.lastCommit}, true)
	}
}

// timeline is when the steps of a height first happened, as durations since the height
// started (zero: did not happen), plus how long building this validator's proposal
// took. The "committed" log line carries it: on a localnet, the lines of the four nodes
// show where the time of each height goes (propagation, execution, signatures with
// their fsyncs, vote round trips, the commit).
type timeline struct {
	build                                            time.Duration
	proposal, validated, prevote, precommit, decided time.Duration
	// Durations, not marks: propose is when this validator started building its
	// proposal; sign the time spent in the double-sign guard (its fsyncs, and the
	// precommit's WAL sync that runs beside the guard's) and wal in synced WAL appends
	// (with a StartSyncWAL: the wait for the precommit's WAL sync once the guard's was
	// over, a part of sign), summed over the height; commit the Application's commit and
	// reset the WAL's; durable the wait for the previous height's commit to be durable
	// before the first signature (its sync runs in the background).
	propose, sign, wal, commit, reset, durable time.Duration
}

// mark records now into a timeline field, the first time only.
func (s *State) mark(d *time.Duration) {
	if *d == 0 {
		*d = max(s.deps.Clock.Now().Sub(s.heightAt), 1)
	}
}

// decide commits the block hash of the current height with its certificate (built from
// the counted precommits when nil) and enters the next height.
func (s *State) decide(ctx context.Context, hash types.Hash, commit *types.Commit) {
	if commit == nil {
		var err error
		if commit, err = s.buildCommit(hash); err != nil {
			s.fail(err)
			return
		}
	}
	b := s.blocks[hash]
	s.mark(&s.timeline.decided)
	commitAt := s.deps.Clock.Now()
	if err := s.deps.App.Commit(ctx, s.height, b.data, commit); err != nil {
		s.fail(fmt.Errorf("commit height %d: %w", s.height, err))
		return
	}
	s.timeline.commit = s.deps.Clock.Now().Sub(commitAt)
	s.undurable = true
	resetAt := s.deps.Clock.Now()
	if err := s.deps.WAL.Reset(s.durable); err != nil {
		s.fail(fmt.Errorf("reset wal after height %d: %w", s.height, err))
		return
	}
	s.timeline.reset = s.deps.Clock.Now().Sub(resetAt)
	tl := s.timeline
	s.log.Info("committed", "height", s.height, "round", commit.Round, "block", hash, "sigs", len(commit.Sigs),
		"took", s.deps.Clock.Now().Sub(s.heightAt), "build", tl.build, "proposal", tl.proposal, "validated", tl.validated,
		"prevote", tl.prevote, "precommit", tl.precommit, "decided", tl.decided,
		"propose", tl.propose, "sign", tl.sign, "wal", tl.wal, "commit", tl.commit, "reset", tl.reset, "durable", tl.durable)
	s.lastCommit = commit
	next := s.next
	s.next, s.nextCount = nil, nil
	if err := s.resetHeight(s.height + 1); err != nil {
		s.fail(err)
		return
	}
	s.startRound(ctx, 0)
	for _, m := range next {
		if err := s.addMessage(ctx, m, true, false); err != nil {
			s.log.Debug("dropping buffered message", "msg", m, "err", err)
		}
		if s.fatal != nil {
			return
		}
	}
}

// buildCommit makes the certificate of the first round with 2/3+ precommits for hash.
func (s *State) buildCommit(hash types.Hash) (*types.Commit, error) {
	for _, d := range s.decidables {
		if d.hash != hash {
			continue
		}
		set := &s.rounds[d.round].precommits
		var votes []*types.Vote
		for i := range s.vals.Len() {
			if v := set.voteFor(s.vals.At(i).Address, hash); v != nil {
				votes = append(votes, v)
			}
		}
		return types.NewCommit(votes)
	}
	return nil, fmt.Errorf("build commit: no 2/3+ precommits for %s", hash)
}

func (s *State) walAppend(kind walKind, m *Message, sync bool) bool {
	b, err := encodeWALRecord(walRecord{kind: kind, msg: m})
	if err == nil {
		start := s.deps.Clock.Now()
		err = s.deps.WAL.Append(b, sync)
		if sync {
			s.timeline.wal += s.deps.Clock.Now().Sub(start)
		}
	}
	if err != nil {
		s.fail(fmt.Errorf("wal: %w", err))
		return false
	}
	return true
}

func (s *State) walAppendTimeout(t Timeout) bool {
	b, err := encodeWALRecord(walRecord{kind: walTimeout, timeout: t})
	if err == nil {
		err = s.deps.WAL.Append(b, false)
	}
	if err != nil {
		s.fail(fmt.Errorf("wal: %w", err))
		return false
	}
	return true
}
