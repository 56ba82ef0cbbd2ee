package network

import (
	"fmt"
	"testing"
	"time"
)

func TestZZDebug(t *testing.T) {
	tc := newTestChain(t, 4, 2)
	var nodes []*testNode
	for i, k := range tc.vals {
		var boot []string
		if i > 0 {
			boot = nodes[0].net.Addrs()
		}
		nodes = append(nodes, startNode(t, fmt.Sprintf("v%d", i), tc.gen, t.TempDir(), k, nodeOptions{validator: true, bootnodes: boot, noSync: true}))
	}
	start := time.Now()
	for time.Since(start) < 20*time.Second {
		time.Sleep(500 * time.Millisecond)
		line := fmt.Sprintf("%5.1fs", time.Since(start).Seconds())
		for _, n := range nodes {
			st := n.runner.Status()
			s := n.net.Stats()
			line += fmt.Sprintf(" | h=%d r=%d s=%v acc=%d ign=%d rej=%d und=%d drop=%d q=%d", st.Height, st.Round, st.Step, s.ConsensusAccepted, s.ConsensusIgnored, s.ConsensusRejected, s.ConsensusUndelivered, n.runner.Dropped(), n.net.out.len())
		}
		t.Log(line)
	}
}
