package p2p

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/wnode/wnode/internal/testutil"
)

func testPeerID(t *testing.T) peer.ID {
	t.Helper()
	id, err := PeerIDFromKey(testutil.Key(t))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func addrs(t *testing.T, ss ...string) []ma.Multiaddr {
	t.Helper()
	var out []ma.Multiaddr
	for _, s := range ss {
		out = append(out, ma.StringCast(s))
	}
	return out
}

// TestPeerStore checks the known-peers file: bounded to the most recently seen peers,
// addresses bounded and validated, kept across a reopen, a bad file refused without
// harm and replaced on the next save.
func TestPeerStore(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "peers.json")
	s, err := OpenPeerStore(path, 4)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var ids []peer.ID
	for i := range 10 {
		id := testPeerID(t)
		ids = append(ids, id)
		if !s.Seen(id, addrs(t, fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", 1000+i)), t0.Add(time.Duration(i)*time.Second)) {
			t.Fatalf("peer %d not new", i)
		}
	}
	if s.Seen(ids[9], addrs(t, "/ip4/127.0.0.1/tcp/1009"), t0.Add(time.Hour)) {
		t.Error("same peer, same addresses reported as fresh")
	}
	// A peer with no usable address is not recorded; twenty addresses are cut to eight.
	if s.Seen(testPeerID(t), nil, t0.Add(2*time.Hour)) {
		t.Error("peer without addresses recorded")
	}
	var many []string
	for i := range 20 {
		many = append(many, fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", 2000+i))
	}
	many = append([]string{"/ip4/127.0.0.1/tcp/1/p2p/" + ids[0].String()}, many...) // names another peer: dropped
	big := testPeerID(t)
	s.Seen(big, addrs(t, many...), t0.Add(3*time.Hour))

	got := s.Peers()
	if len(got) != 4 {
		t.Fatalf("%d peers kept, want 4", len(got))
	}
	want := []string{big.String(), ids[9].String(), ids[8].String(), ids[7].String()}
	for i, p := range got {
		if p.ID != want[i] {
			t.Fatalf("peer %d is %s, want %s (most recent first)", i, p.ID, want[i])
		}
	}
	if len(got[0].Addrs) != maxPeerAddrs || got[0].Addrs[0] != "/ip4/127.0.0.1/tcp/2000" {
		t.Errorf("addresses of a peer with 21: %v", got[0].Addrs)
	}
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}

	// Restart: the same peers, the same order; and the file is written once, atomically.
	s2, err := OpenPeerStore(path, 4)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(s2.Peers()) != fmt.Sprint(got) {
		t.Errorf("after reopen:\n%v\nwant\n%v", s2.Peers(), got)
	}
	if ais := s2.AddrInfos(); len(ais) != 4 || ais[1].ID != ids[9] || len(ais[1].Addrs) != 1 {
		t.Errorf("addr infos: %v", ais)
	}
	// A smaller bound on reopen keeps the most recent.
	s3, err := OpenPeerStore(path, 2)
	if err != nil || len(s3.Peers()) != 2 || s3.Peers()[1].ID != ids[9].String() {
		t.Errorf("reopen with max 2: %v %v", s3.Peers(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("data dir holds %v, want only peers.json", entries)
	}

	// A malformed file is an error, the store starts empty, the next save replaces it.
	os.WriteFile(path, []byte(`{"not":"a list"`), 0o600)
	bad, err := OpenPeerStore(path, 4)
	if err == nil || len(bad.Peers()) != 0 {
		t.Fatalf("malformed file: %v, %d peers", err, len(bad.Peers()))
	}
	bad.Seen(ids[0], addrs(t, "/ip4/127.0.0.1/tcp/1"), t0)
	if err := bad.Save(); err != nil {
		t.Fatal(err)
	}
	if s4, err := OpenPeerStore(path, 4); err != nil || len(s4.Peers()) != 1 {
		t.Errorf("after replacing a bad file: %v %v", s4.Peers(), err)
	}
	// An oversized file is refused before it is parsed.
	os.WriteFile(path, []byte("["+strings.Repeat(" ", maxPeersFile)+"]"), 0o600)
	if _, err := OpenPeerStore(path, 4); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized file: %v", err)
	}
	// A missing file is an empty store.
	if s5, err := OpenPeerStore(filepath.Join(dir, "none.json"), 4); err != nil || len(s5.Peers()) != 0 {
		t.Errorf("missing file: %v %v", s5.Peers(), err)
	}
}

func startDiscoveryHost(t *testing.T, key *ecdsa.PrivateKey, peersFile string, boot ...string) *Host {
	t.Helper()
	n, err := New(context.Background(), key, Config{
		ChainID: testChain, ListenAddrs: tcpLoop, Bootnodes: boot, ReconnectInterval: 200 * time.Millisecond,
		DiscoveryInterval: 200 * time.Millisecond, PeersFile: peersFile,
	}, &testHandler{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// TestPeerExchange starts a hub and four nodes that know only the hub: by peer exchange
// each meets the three others, so closing the hub leaves them connected; a node
// restarted without bootnodes finds the others again from its known-peers file.
func TestPeerExchange(t *testing.T) {
	hub := startDiscoveryHost(t, testutil.Key(t), "")
	dir := t.TempDir()
	keys := make([]*ecdsa.PrivateKey, 4)
	leaves := make([]*Host, 4)
	start := time.Now()
	for i := range leaves {
		keys[i] = testutil.Key(t)
		leaves[i] = startDiscoveryHost(t, keys[i], filepath.Join(dir, fmt.Sprintf("peers%d.json", i)), hub.Addrs()[0])
	}
	testutil.WaitFor(t, 20*time.Second, "every node to have 4 peers", func() bool {
		for _, l := range leaves {
			if l.PeerCount() < 4 {
				return false
			}
		}
		return true
	})
	t.Logf("5 nodes, 1 bootnode: every node had 4 peers %v after start", time.Since(start).Round(time.Millisecond))

	hub.Close()
	testutil.WaitFor(t, 10*time.Second, "the hub's peers to notice it left", func() bool {
		for _, l := range leaves {
			if l.PeerCount() != 3 {
				return false
			}
		}
		return true
	})

	// Restart leaf 0 with no bootnode: it dials the peers it remembers.
	if err := leaves[0].Close(); err != nil {
		t.Fatal(err)
	}
	known, err := OpenPeerStore(filepath.Join(dir, "peers0.json"), 0)
	if err != nil || len(known.Peers()) < 3 {
		t.Fatalf("leaf 0 remembers %v (%v)", known.Peers(), err)
	}
	again := startDiscoveryHost(t, keys[0], filepath.Join(dir, "peers0.json"))
	testutil.WaitFor(t, 10*time.Second, "the restarted node to reconnect", func() bool { return again.PeerCount() == 3 })
}

// TestTargetPeers checks that a node stops dialling discovered peers at its target.
func TestTargetPeers(t *testing.T) {
	hub := startDiscoveryHost(t, testutil.Key(t), "")
	for range 4 {
		startDiscoveryHost(t, testutil.Key(t), "", hub.Addrs()[0])
	}
	n, err := New(context.Background(), testutil.Key(t), Config{
		ChainID: testChain, ListenAddrs: tcpLoop, Bootnodes: hub.Addrs(), TargetPeers: 2,
		DiscoveryInterval: 100 * time.Millisecond,
	}, &testHandler{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	testutil.WaitFor(t, 10*time.Second, "two peers", func() bool { return n.PeerCount() >= 2 })
	// Ten more rounds: the others may dial it (inbound), but it dials no one more; with
	// the others at target 8 they do, so count only its outbound connections.
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		out := 0
		for _, p := range n.Peers() {
			if !p.Inbound {
				out++
			}
		}
		if out > 2 {
			t.Fatalf("%d outbound peers with target 2", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// FuzzDecodeExchange feeds peer-exchange answers (outside input) to the decoder: it
// never panics and never returns more than MaxExchangePeers peers, each with a valid ID
// and 1 to maxPeerAddrs addresses.
func FuzzDecodeExchange(f *testing.F) {
	f.Add([]byte(`[]`))
	f.Add([]byte(`[{"id":"16Uiu2HAmFkwLVsVh6gGPmSm9R3X4scJ5thVdKfWYeJsKa5Jgq3hX","addrs":["/ip4/127.0.0.1/tcp/1"]}]`))
	f.Add([]byte(`[{"id":"x","addrs":["/ip4/1.2.3.4/tcp/1/p2p/x"]},{"id":"","addrs":null}]`))
	f.Add([]byte(`{"id":1}`))
	f.Add([]byte(`[` + strings.Repeat(`{"id":"16Uiu2HAmFkwLVsVh6gGPmSm9R3X4scJ5thVdKfWYeJsKa5Jgq3hX","addrs":["/ip4/127.0.0.1/tcp/1"]},`, 20) + `{}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		peers, err := decodeExchange(data)
		if err != nil {
			return
		}
		if len(peers) > MaxExchangePeers {
			t.Fatalf("%d peers", len(peers))
		}
		for _, p := range peers {
			if _, err := peer.Decode(p.ID); err != nil {
				t.Fatalf("invalid id %q kept", p.ID)
			}
			if len(p.Addrs) == 0 || len(p.Addrs) > maxPeerAddrs {
				t.Fatalf("%d addrs kept", len(p.Addrs))
			}
			if _, ok := p.addrInfo(); !ok {
				t.Fatalf("undialable peer kept: %v", p)
			}
		}
	})
}
