package p2p

import (
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

// scoreParams penalize what a hostile peer can do cheaply: invalid messages (the
// validators' rejects) weigh heavily and decay slowly, so a peer that sends a handful of
// malformed or wrongly signed messages drops below the gossip and graylist thresholds and
// is ignored; honest peers score around zero. Time in mesh and delivery rewards are left
// off: a small validator network has no use for them and they make scores harder to read.
func scoreParams(topics ...string) *pubsub.PeerScoreParams {
	p := &pubsub.PeerScoreParams{
		SkipAtomicValidation:      true,
		Topics:                    map[string]*pubsub.TopicScoreParams{},
		AppSpecificScore:          func(peer.ID) float64 { return 0 },
		DecayInterval:             time.Second,
		DecayToZero:               0.01,
		RetainScore:               10 * time.Minute,
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
