package consensus

import (
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/rlp"
	"github.com/wnode/wnode/types"
)

// MsgKind tags the content of a Message on the wire.
type MsgKind uint8

// The consensus message kinds.
const (
	MsgProposal MsgKind = 1 // a proposal with its block
	MsgVote     MsgKind = 2 // a prevote or precommit
	MsgCommit   MsgKind = 3 // a commit certificate of a decided height (catch-up)
)

// String returns a short human-readable form of the MsgKind, for logs.
func (k MsgKind) String() string {
	switch k {
	case MsgProposal:
		return "proposal"
	case MsgVote:
		return "vote"
	case MsgCommit:
		return "commit"
	}
	return fmt.Sprintf("msgkind(%d)", uint8(k))
}

// MaxMessageSize bounds an encoded Message: a proposal with the largest block plus the
// envelope. The gossip layer must accept messages of this size on the consensus topic.
const MaxMessageSize = types.MaxProposalSize + 64

// ErrInvalidMessage is wrapped by every error about a malformed or wrongly signed
// message from outside: the sender (peer) is at fault, the State is unchanged.
var ErrInvalidMessage = errors.New("invalid consensus message")

// Message is what validators gossip on the consensus topic: exactly one of a proposal, a
// vote or a commit certificate. Wire form: RLP [kind, body, resend] with body the RLP
// encoding of the content (see types.Proposal, types.Vote, types.Commit).
//
// Resend is 0 when a message is first sent and the sender's clock (unix ms) when it
// re-sends it. It is not signed and consensus ignores it; it exists so that a re-sent
// message has new bytes, hence a new gossip message ID: gossipsub drops a message whose
// ID it has seen (for minutes), which would silently swallow every re-broadcast.
type Message struct {
	Proposal *types.Proposal
	Vote     *types.Vote
	Commit   *types.Commit
	Resend   uint64
}

type messageRLP struct {
	Kind   uint8
	Body   []byte
	Resend uint64
}

// Kind returns which content the message carries (0 if none or several).
func (m *Message) Kind() MsgKind {
	switch {
	case m.Proposal != nil && m.Vote == nil && m.Commit == nil:
		return MsgProposal
	case m.Proposal == nil && m.Vote != nil && m.Commit == nil:
		return MsgVote
	case m.Proposal == nil && m.Vote == nil && m.Commit != nil:
		return MsgCommit
	}
	return 0
}

// Height returns the height the message is about.
func (m *Message) Height() uint64 {
	switch m.Kind() {
	case MsgProposal:
		return m.Proposal.Height
	case MsgVote:
		return m.Vote.Height
	case MsgCommit:
		return m.Commit.Height
	}
	return 0
}

// String returns a short human-readable form of the Message, for logs.
func (m *Message) String() string {
	switch m.Kind() {
	case MsgProposal:
		return m.Proposal.String()
	case MsgVote:
		return m.Vote.String()
	case MsgCommit:
		return fmt.Sprintf("commit{h=%d r=%d %s sigs=%d}", m.Commit.Height, m.Commit.Round, m.Commit.BlockHash.TerminalString(), len(m.Commit.Sigs))
	}
	return "message{invalid}"
}

// EncodeMessage returns the wire encoding of m; it fails only when m does not carry
// exactly one content.
func EncodeMessage(m *Message) ([]byte, error) {
	var body []byte
	switch m.Kind() {
	case MsgProposal:
		body = m.Proposal.Encode()
	case MsgVote:
		body = m.Vote.Encode()
	case MsgCommit:
		body = m.Commit.Encode()
	default:
		return nil, fmt.Errorf("%w: message must carry exactly one of proposal, vote, commit", ErrInvalidMessage)
	}
	b, err := rlp.EncodeToBytes(&messageRLP{uint8(m.Kind()), body, m.Resend})
	if err != nil {
		return nil, fmt.Errorf("encode message: %w", err)
	}
	return b, nil
}

// DecodeMessage strictly decodes a wire message: at most MaxMessageSize bytes, canonical
// RLP without trailing bytes, a known kind and a body that its type's strict decoder
// accepts (sizes, field ranges, 65-byte signatures). Signatures are not checked (see
// VerifyMessage). Every error wraps ErrInvalidMessage. It never panics.
func DecodeMessage(b []byte) (*Message, error) {
	if len(b) > MaxMessageSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrInvalidMessage, len(b), MaxMessageSize)
	}
	var w messageRLP
	if err := rlp.DecodeBytes(b, &w); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidMessage, err)
	}
	var (
		m   = Message{Resend: w.Resend}
		err error
	)
	switch MsgKind(w.Kind) {
	case MsgProposal:
		m.Proposal, err = types.DecodeProposal(w.Body)
	case MsgVote:
		m.Vote, err = types.DecodeVote(w.Body)
	case MsgCommit:
		m.Commit, err = types.DecodeCommit(w.Body)
	default:
		return nil, fmt.Errorf("%w: unknown kind %d", ErrInvalidMessage, w.Kind)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	return &m, nil
}

// VerifyMessage checks everything about m that needs only the chain: the signer is a
// validator of vals and the signature(s) are valid; a proposal is by the proposer of its
// round; a commit has valid precommits from more than 2/3 of the power. It is stateless,
// so the gossip layer can run it as a topic validator before relaying. It costs one
// public-key recovery (about 25 µs) per signature.
func VerifyMessage(chainID uint64, vals *types.ValidatorSet, m *Message) error {
	var err error
	switch m.Kind() {
	case MsgProposal:
		p := m.Proposal
		if want := vals.Proposer(p.Height, p.Round).Address; p.Proposer != want {
			return fmt.Errorf("%w: proposal h=%d r=%d by %s, the proposer is %s", ErrInvalidMessage, p.Height, p.Round, p.Proposer, want)
		}
		err = p.Verify(chainID, vals)
	case MsgVote:
		err = m.Vote.Verify(chainID, vals)
	case MsgCommit:
		err = m.Commit.Verify(chainID, vals)
	default:
		return fmt.Errorf("%w: message must carry exactly one of proposal, vote, commit", ErrInvalidMessage)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	return nil
}
