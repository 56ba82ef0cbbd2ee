package p2p

import (
	"math"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

// scoreParams penalize what a hostile peer can do cheaply: invalid messages (the
// validators' rejects) weigh heavily and decay slowly, so a peer that sends a handful of
// malformed or wrongly signed messages drops below the gossip and graylist thresholds and
// is ignored; honest peers score around zero. Time in mesh and delivery rewards are left
// off: a small validator network has no use for them and they make scores harder to read.
//
// appScore adds what the node learnt of a peer outside gossip (Host.Penalize: a lying
// snapshot server, a bad block in sync), with weight 1.
func scoreParams(appScore func(peer.ID) float64, topics ...string) *pubsub.PeerScoreParams {
	p := &pubsub.PeerScoreParams{
		SkipAtomicValidation:      true,
		Topics:                    map[string]*pubsub.TopicScoreParams{},
		AppSpecificScore:          appScore,
		AppSpecificWeight:         1,
		DecayInterval:             time.Second,
		DecayToZero:               0.01,
		RetainScore:               10 * time.Minute,
		SeenMsgTTL:                SeenMessagesTTL,
		BehaviourPenaltyWeight:    -10,
		BehaviourPenaltyThreshold: 6,
		BehaviourPenaltyDecay:     0.9,
	}
	for _, t := range topics {
		p.Topics[t] = &pubsub.TopicScoreParams{
			SkipAtomicValidation: true,
			TopicWeight:          1,
			// gossipsub divides by the quantum even when the weight is zero.
			TimeInMeshQuantum:              time.Second,
			TimeInMeshCap:                  1,
			InvalidMessageDeliveriesWeight: -100,
			InvalidMessageDeliveriesDecay:  0.99,
		}
	}
	return p
}

// scoreThresholds: below -100 a peer's gossip is ignored, below -500 nothing is published
// to it, below -1000 it is graylisted (all its messages dropped). One invalid message costs
// -100 (squared counter × weight), so four rejects graylist a peer.
func scoreThresholds() *pubsub.PeerScoreThresholds {
	return &pubsub.PeerScoreThresholds{
		GossipThreshold:   -100,
		PublishThreshold:  -500,
		GraylistThreshold: -1000,
		AcceptPXThreshold: 10,
	}
}

// Penalties from Host.Penalize decay by half every penaltyHalfLife.
const penaltyHalfLife = 10 * time.Minute

// Penalty weights for what a peer did wrong outside gossip.
const (
	// PenaltyBadData: the peer sent data that fails verification (a chunk whose hash is
	// not the manifest's, a manifest or snapshot whose root is not the certified one).
	// Two of them put the peer below the graylist threshold.
	PenaltyBadData = 600
	// PenaltyUnavailable: the peer did not answer a request it advertised it could.
	PenaltyUnavailable = 50
)

type penalty struct {
	value float64
	at    time.Time
}

func (p penalty) now(t time.Time) float64 {
	return p.value * math.Exp2(-t.Sub(p.at).Seconds()/penaltyHalfLife.Seconds())
}

// Penalize lowers p's score by weight (one of the Penalty constants): the application
// found p lying or failing. The penalty enters gossipsub's score (below -1000 a peer is
// graylisted) and PeerPenalty, and halves every 10 minutes.
func (n *Host) Penalize(p peer.ID, weight float64, reason string) {
	now := time.Now()
	n.scoreMu.Lock()
	n.penalties[p] = penalty{value: n.penalties[p].now(now) + weight, at: now}
	v := n.penalties[p].value
	n.scoreMu.Unlock()
	n.log.Info("p2p: peer penalized", "peer", p, "reason", reason, "penalty", v)
}

// PeerPenalty returns p's current penalty from Penalize (0 when none).
func (n *Host) PeerPenalty(p peer.ID) float64 {
	n.scoreMu.Lock()
	defer n.scoreMu.Unlock()
	return n.penalties[p].now(time.Now())
}

// Penalties returns the current penalty of every peer Penalize penalized, for a host
// that takes over from this one (Config.Penalties).
func (n *Host) Penalties() map[peer.ID]float64 {
	now := time.Now()
	n.scoreMu.Lock()
	defer n.scoreMu.Unlock()
	out := make(map[peer.ID]float64, len(n.penalties))
	for p, v := range n.penalties {
		out[p] = v.now(now)
	}
	return out
}

func (n *Host) appScore(p peer.ID) float64 { return -n.PeerPenalty(p) }

// SeenMessagesTTL is how long gossipsub remembers a message it has seen (to drop it if it
// comes again) and a delivery of it (for the score), instead of libp2p's 2 minutes.
// Peers re-send a message only within gossipsub's message cache window (5 heartbeats,
// 5 s) or after network delays far shorter than this; a message coming later is checked
// again by the topic validators, which drop known txs (pool, recent blocks) and stale or
// known consensus messages. Both caches hold an entry per message, 200-400 messages a
// second on a 4-validator localnet at 1,000 tx/s, and drop expired entries once a
// minute: after two minutes at that load they held 22 MB of a node's heap with 2
// minutes, 6 MB with 30 s (docs/rationale/node.md).
const SeenMessagesTTL = 30 * time.Second
