package consensus

import "github.com/wnode/wnode/types"

// voteSet tallies the votes of one type in one round. A validator's first vote counts
// for its block and towards "any". An equivocating validator's other votes are evidence,
// and also count for their own block when it is nil or a block this node knows (one per
// block, never twice towards "any"): Algorithm 1 counts messages, so a Byzantine
// validator's vote for v must count for v at every node that received it, whatever else
// it received first, or honest validators that saw different first votes could never
// agree on a POL again. Safety is unaffected: two quorums still share an honest
// validator. Only known blocks count so that a Byzantine validator cannot fill memory
// with votes for made-up hashes.
type voteSet struct {
	votes map[types.Address]*types.Vote   // first vote of each validator
	extra map[types.Address][]*types.Vote // its other, conflicting votes that count
	power map[types.Hash]uint64           // the zero hash is nil
	any   uint64
}

func newVoteSet() voteSet {
	return voteSet{votes: map[types.Address]*types.Vote{}, extra: map[types.Address][]*types.Vote{}, power: map[types.Hash]uint64{}}
}

// has reports whether the set counts a vote of a for block h.
func (s *voteSet) has(a types.Address, h types.Hash) bool {
	if v := s.votes[a]; v != nil && v.BlockHash == h {
		return true
	}
	for _, v := range s.extra[a] {
		if v.BlockHash == h {
			return true
		}
	}
	return false
}

// voteFor returns the counted vote of a for block h, or nil.
func (s *voteSet) voteFor(a types.Address, h types.Hash) *types.Vote {
	if v := s.votes[a]; v != nil && v.BlockHash == h {
		return v
	}
	for _, v := range s.extra[a] {
		if v.BlockHash == h {
			return v
		}
	}
	return nil
}

func (s *voteSet) add(v *types.Vote, power uint64) {
	if s.votes[v.Validator] == nil {
		s.votes[v.Validator] = v
		s.any += power
	} else {
		s.extra[v.Validator] = append(s.extra[v.Validator], v)
	}
	s.power[v.BlockHash] += power
}

// roundState is everything received for one round of the current height.
type roundState struct {
	prevotes, precommits voteSet
	// proposals from the round's proposer in arrival order: one from an honest proposer,
	// at most maxProposalsPerRound from an equivocating one.
	proposals []*types.Proposal

	// "for the first time" flags of the upon-rules of Algorithm 1.
	prevoteTimeoutSet   bool // line 34
	precommitTimeoutSet bool // line 47
	lockRuleDone        bool // line 36
}

func newRoundState() *roundState {
	return &roundState{prevotes: newVoteSet(), precommits: newVoteSet()}
}

func (r *roundState) set(t types.SignedMsgType) *voteSet {
	if t == types.PrevoteType {
		return &r.prevotes
	}
	return &r.precommits
}

// maxProposalsPerRound bounds what an equivocating proposer can make a node store per
// round; an honest proposer sends one.
const maxProposalsPerRound = 2

// futureRoundWindow: votes and proposals for rounds up to round+futureRoundWindow are
// kept in full. Of later rounds only each validator's latest vote per type is kept (it
// counts for skipping rounds); proposals are dropped (re-broadcast brings them back).
const futureRoundWindow = 1

// maxBufferedPerValidator bounds the messages kept per validator for the next height
// (received before this node decided the current one).
const maxBufferedPerValidator = 4
