package consensus

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"log/slog"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/wnode/wnode/types"
)

// Application is the replicated state machine that consensus orders blocks for. The node
// implements it over the chain. Blocks are opaque bytes to consensus; their hash is what
// validators vote on.
//
// All methods are called from the goroutine that drives the State, one at a time.
type Application interface {
	// ProposeBlock builds and executes a block for height (taking pending transactions),
	// with the given time in unix milliseconds, and returns its bytes and hash. Building
	// must not change the committed state: the block may never be decided.
	ProposeBlock(ctx context.Context, height uint64, round int32, timeMs uint64) (block []byte, hash types.Hash, err error)
	// ValidateBlock decodes and re-executes a proposed block on top of the last committed
	// state and returns its hash; an error (or a hash other than the proposed one) makes
	// this validator prevote nil. It must not change the committed state. Consensus calls
	// it once per distinct block of the height (again after a restart). For a block that
	// already carries a valid commit certificate (block sync), ctx is marked Certified:
	// the block is decided, so checks that depend on this node alone (its clock) must
	// not refuse it; only execution to the certified hash counts.
	ValidateBlock(ctx context.Context, height uint64, block []byte) (types.Hash, error)
	// Commit persists the decided block of height with its commit certificate (applying
	// its state changes); an error stops consensus (the node cannot go on without its
	// chain). When it returns, the block is the application's last: ProposeBlock and
	// ValidateBlock of the next height build on it. It need not be durable yet: a crash
	// may lose it, with the blocks committed after it, but never a part of a block nor a
	// block without those before it. Consensus calls WaitDurable before it signs anything
	// of a later height and before the WAL drops the height's records (see WAL.Reset), so
	// a lost block is decided again from the WAL and the network after a restart, as
	// after a crash before Commit.
	Commit(ctx context.Context, height uint64, block []byte, commit *types.Commit) error
	// WaitDurable returns once every block Commit returned for survives a crash, and what
	// the application held when it was opened (a crashed process may have left writes
	// that no sync covered). An error stops consensus.
	WaitDurable() error
	// HasPendingTxs reports whether transactions wait for a block (for block cadence).
	HasPendingTxs() bool
	// Validators returns the validator set of height: the set whose members propose,
	// vote and sign the commit of that height. Consensus asks, when it enters height h
	// (after h-1 is committed), for the sets of h and h+1; both must be known then (the
	// chain decides a set change two heights ahead). The answer for a height never
	// changes.
	Validators(height uint64) (*types.ValidatorSet, error)
}

// Signer signs 32-byte digests with the validator's key (the node key). The State never
// calls it directly: every signature goes through the double-sign guard.
type Signer interface {
	// Address is the validator address of the key.
	Address() types.Address
	// SignHash returns a 65-byte [R || S || V] signature of hash with low S.
	SignHash(hash types.Hash) ([]byte, error)
}

// Broadcaster sends consensus messages to every peer, best effort: gossip may drop,
// duplicate and reorder them (periodic re-broadcast makes up for it). Broadcast must not
// block on the network and must not call back into the State; the message must be
// treated as read-only.
type Broadcaster interface {
	Broadcast(m *Message)
}

// Clock gives the State the time and delivers its timeouts. Virtual in simulations, wall
// time in the node (see Runner).
type Clock interface {
	// Now returns the current time; block times are its unix milliseconds.
	Now() time.Time
	// Schedule arranges for HandleTimeout(t) to be called once t.Duration has passed. It
	// must not block or call back into the State synchronously. Timeouts that arrive after
	// the State has moved on are ignored, so they need not be cancelled.
	Schedule(t Timeout)
}

// Syncer fetches decided blocks the State has no way to decide by itself: it learnt of a
// commit certificate for a height it has not decided but never saw the block, or it is
// more than a height behind. The p2p layer implements it with block sync and feeds each
// block back through ApplySyncedBlock, in height order.
type Syncer interface {
	// NeedSync asks for every block from the State's current height up to height. It must
	// not block; repeated calls for the same height may come and should be deduplicated.
	NeedSync(height uint64)
}

// WAL is the consensus write-ahead log: an append-only log of opaque records of the
// current height, replayed on restart. FileWAL implements it.
type WAL interface {
	// Append adds one record; with sync set it and every earlier record are durable
	// (fsync) before Append returns.
	Append(rec []byte, sync bool) error
	// ReadAll returns the intact records in order; a torn or corrupt tail is dropped.
	ReadAll() ([][]byte, error)
	// Reset is called once a height is committed: it drops every record, or keeps them
	// for a while (FileWAL does: replay skips records of decided heights). Before it drops
	// anything it calls durable, which returns once the committed blocks are durable (the
	// records of a height are what decides it again if a crash loses its commit), and it
	// drops nothing if durable fails.
	Reset(durable func() error) error
}

// StartSyncWAL is a WAL that can sync while its caller does other work (FileWAL is
// one). A precommit leaves only once the guard holds it and its WAL record is durable:
// with a StartSyncWAL the two syncs run at the same time instead of one after the other
// (State.sign).
type StartSyncWAL interface {
	WAL
	// AppendStartSync appends rec and starts a sync of it and every earlier record; wait,
	// called once, returns when they are durable. No other method is called before.
	AppendStartSync(rec []byte) (wait func() error, err error)
}

// GuardStore persists the double-sign guard's last signed message. FileGuardStore
// implements it.
type GuardStore interface {
	// Load returns the last saved state, or ok=false when nothing was ever saved.
	Load() (last LastSigned, ok bool, err error)
	// Save durably replaces the saved state (fsync) before returning.
	Save(last LastSigned) error
}

// Deps are the effects a State performs, behind interfaces so that the same code runs in
// a deterministic simulation and in the node.
type Deps struct {
	App         Application
	Signer      Signer      // nil for a node that follows consensus without voting
	Guard       GuardStore  // required with a Signer
	WAL         WAL         // required
	Broadcaster Broadcaster // required
	Clock       Clock       // required (NewRunner provides a real one)
	Syncer      Syncer      // optional: without it a lagging node waits for gossip
	Logger      *slog.Logger
}

// KeySigner is a Signer over an in-memory secp256k1 private key.
type KeySigner struct {
	key  *ecdsa.PrivateKey
	addr types.Address
}

// NewKeySigner returns a Signer for key.
func NewKeySigner(key *ecdsa.PrivateKey) *KeySigner {
	return &KeySigner{key: key, addr: crypto.PubkeyToAddress(key.PublicKey)}
}

// Address returns the key's address.
func (s *KeySigner) Address() types.Address { return s.addr }

// SignHash signs hash (about 50 µs); go-ethereum's signatures are always low-S.
func (s *KeySigner) SignHash(hash types.Hash) ([]byte, error) {
	sig, err := crypto.Sign(hash[:], s.key)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return sig, nil
}

type certifiedKey struct{}

// withCertified marks ctx for ValidateBlock of a block under a verified commit
// certificate.
func withCertified(ctx context.Context) context.Context {
	return context.WithValue(ctx, certifiedKey{}, true)
}

// Certified reports whether Application.ValidateBlock was called for a block whose commit
// certificate consensus has verified (more than 2/3 of the power signed it): the block is
// decided, and must not be refused for what only this node sees, such as its clock being
// behind the block's time.
func Certified(ctx context.Context) bool {
	v, _ := ctx.Value(certifiedKey{}).(bool)
	return v
}
