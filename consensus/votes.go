package consensus

import "github.com/wnode/wnode/types"

// voteSet tallies the votes of one type in one round: the first vote of each validator
// counts (a second, different one is evidence, not a vote), with the power behind each
// block hash and behind all votes.
type voteSet struct {
	votes map[types.Address]*types.Vote
	power map[types.Hash]uint64 // the zero hash is nil
	any   uint64
}

func newVoteSet() voteSet {
	return voteSet{votes: map[types.Address]*types.Vote{}, power: map[types.Hash]uint64{}}
}

func (s *voteSet) add(v *types.Vote, power uint64) {
	s.votes[v.Validator] = v
	s.power[v.BlockHash] += power
	s.any += power
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
