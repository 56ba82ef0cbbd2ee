package network_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/holiman/uint256"
	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/wnode/wnode/consensus"
	"github.com/wnode/wnode/internal/testutil"
	"github.com/wnode/wnode/node/network"
	"github.com/wnode/wnode/p2p"
	"github.com/wnode/wnode/types"
)

// TestNetwork runs four validators, each with its own database, VM, chain, mempool,
// consensus and p2p host on loopback, and checks what a user of the network sees:
// blocks are committed; a transfer, a contract deploy and an invocation submitted to
// one node are committed everywhere with the same receipts and state roots; hostile
// gossip is rejected and the network keeps working; a stopped validator does not stop
// the others and, restarted on its data dir, catches up by block sync; a non-validator
// joining late syncs from genesis to the same state.
func TestNetwork(t *testing.T) {
	tc := testutil.NewTestChain(t, 4, 2)
	var nodes []*testNode
	dirs := make([]string, 4)
	for i, k := range tc.Vals {
		dirs[i] = t.TempDir()
		var boot []string
		if i > 0 {
			boot = nodes[0].net.Addrs()
		}
		nodes = append(nodes, startNode(t, fmt.Sprintf("v%d", i), tc.Gen, dirs[i], k, nodeOptions{bootnodes: boot, noSync: true}))
	}
	waitHeight(t, 30*time.Second, 3, nodes...)
	t.Logf("height 3 on all validators; peers of v0: %d", nodes[0].net.PeerCount())
	if n := nodes[0].net.PeerCount(); n != 3 {
		t.Errorf("v0 has %d peers, want 3", n)
	}

	alice, bob := tc.Accounts[0], tc.Accounts[1]
	carol := testutil.Key(t)

	// A transfer submitted to v1.
	transfer := testutil.SignTx(t, alice, &types.Tx{Nonce: 0, GasLimit: 100_000, Kind: types.TxTransfer, To: testutil.Addr(carol), Value: uint256.NewInt(777)})
	if err := nodes[1].pool.Add(transfer); err != nil {
		t.Fatal(err)
	}
	rcpt := waitCommitted(t, transfer.Hash(), nodes...)
	if !rcpt.Succeeded() {
		t.Fatalf("transfer failed: %s", rcpt.Error)
	}
	for _, n := range nodes {
		acc, err := n.chain.Account(testutil.Addr(carol), rcpt.Height)
		if err != nil || acc.Balance.Uint64() != 777 {
			t.Fatalf("%s: carol's balance at %d: %v %v", n.name, rcpt.Height, acc, err)
		}
	}

	// A counter deployed through v2 and incremented through v3.
	deploy := testutil.SignTx(t, bob, &types.Tx{Nonce: 0, GasLimit: 5_000_000, Kind: types.TxDeploy, Code: testutil.ExampleWasm(t, "counter")})
	if err := nodes[2].pool.Add(deploy); err != nil {
		t.Fatal(err)
	}
	if r := waitCommitted(t, deploy.Hash(), nodes...); !r.Succeeded() {
		t.Fatalf("deploy failed: %s", r.Error)
	}
	counter := types.ContractAddress(testutil.Addr(bob), 0)
	inc := testutil.SignTx(t, bob, &types.Tx{Nonce: 1, GasLimit: 300_000, Kind: types.TxInvoke, To: counter, Method: "increment"})
	if err := nodes[3].pool.Add(inc); err != nil {
		t.Fatal(err)
	}
	r := waitCommitted(t, inc.Hash(), nodes...)
	if !r.Succeeded() || !bytes.Equal(r.Output, binary.BigEndian.AppendUint64(nil, 1)) {
		t.Fatalf("increment: status %d output %x error %q", r.Status, r.Output, r.Error)
	}

	hostileGossip(t, tc, nodes)

	// Stop v3: the three others hold 3/4 of the power and go on.
	stopped := nodes[3]
	stopped.stop()
	h := nodes[0].height()
	live := nodes[:3]
	waitHeight(t, 30*time.Second, h+3, live...)
	t.Logf("v3 stopped at %d; the others reached %d", stopped.chain.Head().Height, nodes[0].height())

	// Restart v3 on its data dir: it catches up by block sync and votes again.
	restarted := startNode(t, "v3'", tc.Gen, dirs[3], tc.Vals[3], nodeOptions{bootnodes: nodes[0].net.Addrs(), noSync: true})
	nodes[3] = restarted
	target := nodes[0].height()
	waitHeight(t, 30*time.Second, target, restarted)
	if s := restarted.net.Stats(); s.BlocksSynced == 0 {
		t.Errorf("v3 caught up from %d to %d without block sync: %+v", h, target, s)
	}
	t.Logf("v3 restarted and caught up to %d (%d blocks synced)", restarted.height(), restarted.net.Stats().BlocksSynced)

	// A non-validator joins late with an empty data dir and syncs from genesis.
	observer := startNode(t, "observer", tc.Gen, t.TempDir(), testutil.Key(t), nodeOptions{bootnodes: nodes[1].net.Addrs(), noSync: true})
	target = nodes[0].height()
	waitHeight(t, 30*time.Second, target, observer)
	if s := observer.net.Stats(); s.BlocksSynced < target/2 {
		t.Errorf("observer synced only %d blocks to reach %d", s.BlocksSynced, target)
	}
	t.Logf("observer synced %d blocks to %d", observer.net.Stats().BlocksSynced, observer.height())

	// Everyone keeps going, together, and agrees on every header.
	all := append(slices.Clone(nodes), observer)
	waitHeight(t, 30*time.Second, nodes[0].height()+2, all...)
	top := all[0].height()
	for _, n := range all {
		top = min(top, n.height())
	}
	for height := uint64(1); height <= top; height++ {
		want, err := nodes[0].chain.HeaderByNumber(height)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range all[1:] {
			got, err := n.chain.HeaderByNumber(height)
			if err != nil {
				t.Fatal(err)
			}
			if got.Hash() != want.Hash() {
				t.Fatalf("%s: header %d is %s, v0 has %s (state roots %s, %s)", n.name, height, got.Hash(), want.Hash(), got.StateRoot, want.StateRoot)
			}
		}
	}
	for _, n := range all {
		if s := n.net.Stats(); s.BadSyncBlocks != 0 {
			t.Errorf("%s: %d bad sync blocks from honest peers", n.name, s.BadSyncBlocks)
		}
	}
	t.Logf("%d nodes agree on %d headers", len(all), top)
}

// waitCommitted waits until every node has the tx's receipt and checks that they are
// identical, as are the state roots of the block that holds it.
func waitCommitted(t *testing.T, hash types.Hash, nodes ...*testNode) *types.Receipt {
	t.Helper()
	testutil.WaitFor(t, 30*time.Second, fmt.Sprintf("receipt of %s everywhere", hash), func() bool {
		for _, n := range nodes {
			// The receipt is readable a moment before the head moves to its block.
			if r, err := n.chain.Receipt(hash); err != nil || n.height() < r.Height {
				return false
			}
		}
		return true
	})
	first, _ := nodes[0].chain.Receipt(hash)
	root, err := nodes[0].chain.HeaderByNumber(first.Height)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes[1:] {
		r, _ := n.chain.Receipt(hash)
		if !bytes.Equal(r.Encode(), first.Encode()) {
			t.Fatalf("%s: receipt %+v, %s has %+v", n.name, r, nodes[0].name, first)
		}
		hd, err := n.chain.HeaderByNumber(first.Height)
		if err != nil {
			t.Fatal(err)
		}
		if hd.StateRoot != root.StateRoot {
			t.Fatalf("%s: state root %s at %d, %s has %s", n.name, hd.StateRoot, first.Height, nodes[0].name, root.StateRoot)
		}
	}
	return first
}

// hostileGossip connects a plain libp2p peer with gossipsub and no validators to v0 and
// makes it gossip malformed consensus messages, wrongly signed votes, votes of a
// non-validator and a proposal by a validator out of turn: v0 rejects each, scores the
// peer down, and the network keeps committing blocks.
func hostileGossip(t *testing.T, tc *testutil.TestChain, nodes []*testNode) {
	t.Helper()
	target := nodes[0]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	topic, evil := hostilePeer(ctx, t, target, p2p.ConsensusTopic(testutil.ChainID))

	outsider := testutil.Key(t)
	next := target.height() + 1
	hash := types.Hash{0xee}
	forged := testutil.SignVote(t, tc.Vals[1], types.PrecommitType, next, 0, hash)
	forged.Validator = testutil.Addr(tc.Vals[2])
	proposer := target.chain.Validators().Proposer(next, 0).Address
	var outOfTurn *types.Proposal
	for _, k := range tc.Vals {
		if testutil.Addr(k) != proposer {
			outOfTurn = &types.Proposal{Height: next, POLRound: -1, BlockHash: hash, Block: []byte("x"), Proposer: testutil.Addr(k)}
			if err := outOfTurn.Sign(testutil.ChainID, k); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	// p2p graylists a peer after four rejected messages, so it sends four, each a
	// different fault: garbage, a forged signature, a non-validator's vote and a
	// proposal out of turn. Gossipsub may drop a message published before the peers
	// exchanged subscriptions: each is published again (new bytes: another Resend
	// stamp) until v0 has rejected it.
	hostile := []func(stamp uint64) []byte{
		func(stamp uint64) []byte { return fmt.Appendf(nil, "garbage %d", stamp) },
		func(stamp uint64) []byte {
			return testutil.EncodeMsg(t, &consensus.Message{Vote: forged, Resend: stamp})
		},
		func(stamp uint64) []byte {
			return testutil.EncodeMsg(t, &consensus.Message{Vote: testutil.SignVote(t, outsider, types.PrecommitType, next, 0, hash), Resend: stamp})
		},
		func(stamp uint64) []byte {
			return testutil.EncodeMsg(t, &consensus.Message{Proposal: outOfTurn, Resend: stamp})
		},
	}
	before := target.net.Stats()
	h := target.height()
	// The counts are cumulative from the start: an extra rejection of a slow attempt
	// counts for the next message instead of graylisting the peer before it is sent.
	for i, msg := range hostile {
		want := before.ConsensusRejected + uint64(i) + 1
		publishUntil(ctx, t, topic, msg, fmt.Sprintf("hostile message %d rejected", i),
			func() bool { return target.net.Stats().ConsensusRejected >= want })
	}
	after := target.net.Stats()
	testutil.WaitFor(t, 10*time.Second, "hostile peer scored down", func() bool { return target.net.PeerScore(evil) < 0 })
	waitHeight(t, 30*time.Second, h+2, nodes...)
	t.Logf("hostile peer rejected %d times, score %.0f; blocks go on", after.ConsensusRejected-before.ConsensusRejected, target.net.PeerScore(evil))
}

// hostilePeer connects a plain libp2p peer with gossipsub and no validators to target,
// joined to topic, and returns the topic and the peer's ID. It lives until ctx is done.
func hostilePeer(ctx context.Context, t *testing.T, target *testNode, name string) (*pubsub.Topic, peer.ID) {
	t.Helper()
	evil, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { evil.Close() })
	ps, err := pubsub.NewGossipSub(ctx, evil, append(p2p.WireOptions(consensus.MaxMessageSize), pubsub.WithFloodPublish(true))...)
	if err != nil {
		t.Fatal(err)
	}
	topic, err := ps.Join(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := topic.Subscribe(); err != nil {
		t.Fatal(err)
	}
	addr, err := ma.NewMultiaddr(target.net.Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	ai, err := peer.AddrInfoFromP2pAddr(addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := evil.Connect(ctx, *ai); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "target in the hostile peer's topic", func() bool { return slices.Contains(topic.ListPeers(), ai.ID) })
	return topic, evil.ID()
}

// publishUntil publishes msg(attempt) for attempt 0, 1, ... until done holds, waiting up
// to 100 ms for it after each: gossipsub may drop a message published before the peers
// exchanged subscriptions, so each attempt has new bytes. It fails the test after 100.
func publishUntil(ctx context.Context, t *testing.T, topic *pubsub.Topic, msg func(uint64) []byte, what string, done func() bool) {
	t.Helper()
	for attempt := uint64(0); !done(); attempt++ {
		if attempt == 100 {
			t.Fatalf("%s: not after %d attempts", what, attempt)
		}
		_ = topic.Publish(ctx, msg(attempt))
		testutil.Eventually(100*time.Millisecond, done)
	}
}

// TestHostileTxGossip: a peer gossiping garbage and batches that hide a wrongly signed
// or wrong-chain tx among valid ones is rejected and scored down; none of the valid txs of
// those batches enters the pool; the node keeps committing.
func TestHostileTxGossip(t *testing.T) {
	tc := testutil.NewTestChain(t, 1, 1)
	target := startNode(t, "v0", tc.Gen, t.TempDir(), tc.Vals[0], nodeOptions{noSync: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	transfer := func(nonce uint64, mod func(*types.Tx)) *types.Tx {
		tx := &types.Tx{Nonce: nonce, GasLimit: 100_000, Kind: types.TxTransfer, To: types.Address{7}, Value: uint256.NewInt(1)}
		if mod != nil {
			mod(tx)
		}
		return testutil.SignTx(t, tc.Accounts[0], tx)
	}
	// Each message is made new bytes by a different valid tx (the nonce), since gossipsub
	// may drop a message published before the peers exchanged subscriptions.
	hostile := []func(n uint64) []byte{
		func(n uint64) []byte { return fmt.Appendf(nil, "garbage %d", n) },
		func(n uint64) []byte {
			bad := transfer(n, nil)
			bad.Sig = append([]byte(nil), bad.Sig...)
			bad.Sig[64] = 5
			return types.EncodeTxs([]*types.Tx{transfer(n, nil), bad})
		},
		func(n uint64) []byte {
			return types.EncodeTxs([]*types.Tx{transfer(n, nil), transfer(n+1, func(tx *types.Tx) { tx.ChainID++ })})
		},
		func(n uint64) []byte {
			return types.EncodeTxs([]*types.Tx{transfer(n, func(tx *types.Tx) { tx.GasLimit = 1 }), transfer(n+1, nil)})
		},
	}
	h := target.height()
	// One hostile peer per kind, published to until that peer is scored down: a slow
	// attempt rejected twice graylists only its own peer.
	for i, msg := range hostile {
		topic, evil := hostilePeer(ctx, t, target, p2p.TxTopic(testutil.ChainID))
		publishUntil(ctx, t, topic, msg, fmt.Sprintf("hostile peer %d scored down", i), func() bool { return target.net.PeerScore(evil) < 0 })
	}
	if s := target.net.Stats(); s.TxsAccepted != 0 || target.pool.Len() != 0 {
		t.Fatalf("valid txs of rejected batches were taken: %+v, pool %d", s, target.pool.Len())
	}
	waitHeight(t, 30*time.Second, h+2, target)
}

// TestTxBeforePeers: a transaction submitted to a node that has no peer yet is gossiped
// once it connects, and reaches the validator's block.
func TestTxBeforePeers(t *testing.T) {
	tc := testutil.NewTestChain(t, 1, 1)
	validator := startNode(t, "v0", tc.Gen, t.TempDir(), tc.Vals[0], nodeOptions{noSync: true})
	lonely := startNode(t, "rpc", tc.Gen, t.TempDir(), testutil.Key(t), nodeOptions{noSync: true})
	tx := testutil.SignTx(t, tc.Accounts[0], &types.Tx{GasLimit: 100_000, Kind: types.TxTransfer, To: types.Address{7}, Value: uint256.NewInt(1)})
	if err := lonely.pool.Add(tx); err != nil {
		t.Fatal(err)
	}
	if lonely.net.PeerCount() != 0 {
		t.Fatal("the node without bootnodes has peers")
	}
	if err := lonely.net.Connect(context.Background(), validator.net.Addrs()[0]); err != nil {
		t.Fatal(err)
	}
	r := waitCommitted(t, tx.Hash(), validator, lonely)
	if !r.Succeeded() {
		t.Fatalf("transfer failed: %s", r.Error)
	}
	if s := validator.net.Stats(); s.TxsAccepted != 1 {
		t.Fatalf("the validator took %d txs from gossip, want 1: %+v", s.TxsAccepted, s)
	}
}

// TestTxGossipBatches: txs a node accepts in a burst reach its peer in a few gossip
// messages, each tx once. The sending node's clock is driven by the test: a first tx
// waits out the gossip warm-up in the backlog; the burst after it goes through the timed
// batches.
func TestTxGossipBatches(t *testing.T) {
	const n = 60
	tc := testutil.NewTestChain(t, 1, 1)
	validator := startNode(t, "v0", tc.Gen, t.TempDir(), tc.Vals[0], nodeOptions{noSync: true})
	clock := testutil.NewClock(time.Now())
	full := startNode(t, "full", tc.Gen, t.TempDir(), testutil.Key(t), nodeOptions{noSync: true, bootnodes: validator.net.Addrs(), clock: clock})
	testutil.WaitFor(t, 10*time.Second, "peers", func() bool { return full.net.PeerCount() > 0 })
	var txs []*types.Tx
	for i := range n + 1 {
		txs = append(txs, testutil.SignTx(t, tc.Accounts[0], &types.Tx{Nonce: uint64(i), GasLimit: 100_000, Kind: types.TxTransfer, To: types.Address{7}, Value: uint256.NewInt(1)}))
	}
	// received waits until the validator has taken count txs from gossip, moving the
	// sender's clock on by a batch interval at every poll.
	received := func(count uint64) {
		testutil.WaitFor(t, 20*time.Second, fmt.Sprintf("%d txs gossiped", count), func() bool {
			clock.Advance(10 * time.Millisecond)
			return validator.net.Stats().TxsAccepted >= count
		})
	}
	if err := full.pool.Add(txs[0]); err != nil {
		t.Fatal(err)
	}
	received(1)
	warm := full.net.Stats()
	for _, tx := range txs[1:] {
		if err := full.pool.Add(tx); err != nil {
			t.Fatal(err)
		}
	}
	received(n + 1)
	waitCommitted(t, txs[n].Hash(), validator, full)
	got, sent := validator.net.Stats(), full.net.Stats()
	if got.TxsAccepted != n+1 || got.TxsRejected != 0 {
		t.Fatalf("the validator took %d txs from gossip (rejected %d), want %d", got.TxsAccepted, got.TxsRejected, n+1)
	}
	if batches := sent.TxBatchesPublished - warm.TxBatchesPublished; batches == 0 || batches > n/4 {
		t.Fatalf("%d txs went out in %d gossip messages", n, batches)
	}
	t.Logf("%d txs in %d gossip messages", n, sent.TxBatchesPublished-warm.TxBatchesPublished)
}

// TestTxRegossip: a tx whose gossip was lost (here: marked as taken from gossip, so
// this node never published it) is gossiped again after the regossip interval and
// committed by the validator, which never had it otherwise.
func TestTxRegossip(t *testing.T) {
	tc := testutil.NewTestChain(t, 1, 1)
	validator := startNode(t, "v0", tc.Gen, t.TempDir(), tc.Vals[0], nodeOptions{noSync: true})
	full := startNode(t, "full", tc.Gen, t.TempDir(), testutil.Key(t), nodeOptions{noSync: true, bootnodes: validator.net.Addrs(),
		regossip: 300 * time.Millisecond})
	tx := testutil.SignTx(t, tc.Accounts[0], &types.Tx{GasLimit: 100_000, Kind: types.TxTransfer, To: types.Address{7}, Value: uint256.NewInt(1)})
	full.net.MarkGossiped(tx)
	if err := full.pool.Add(tx); err != nil {
		t.Fatal(err)
	}
	r := waitCommitted(t, tx.Hash(), validator, full)
	if !r.Succeeded() {
		t.Fatalf("transfer failed: %s", r.Error)
	}
	if s := full.net.Stats(); s.TxsRegossiped == 0 || s.TxBatchesPublished == 0 {
		t.Fatalf("committed without a regossip: %+v", s)
	}
}

// liar is a p2p handler of the right chain that claims to be far ahead and serves the
// honest chain's blocks with their commits, each block altered.
type liar struct{ honest *testNode }

func (l liar) CheckTx(peer.ID, []byte) (any, error) { return nil, p2p.ErrIgnore }
func (l liar) DeliverTx(any, peer.ID)               {}
func (l liar) CheckConsensus([]byte) (any, error)   { return nil, p2p.ErrIgnore }
func (l liar) DeliverConsensus(any, peer.ID)        {}
func (l liar) Status() p2p.Status {
	st := l.honest.net.Handler().Status()
	st.Height += 100
	return st
}
func (l liar) SyncBlocks(from uint64, max int) ([]p2p.SyncBlock, error) {
	blocks, err := l.honest.net.Handler().SyncBlocks(from, max)
	for i := range blocks {
		b, _ := types.DecodeBlock(blocks[i].Block)
		b.Header.Time++ // the commit certifies another hash
		blocks[i].Block = b.Encode()
	}
	return blocks, err
}

// TestSyncFromLiar: a node that syncs from a peer serving altered blocks under valid
// commit certificates refuses them, leaves that peer aside and syncs from an honest one.
func TestSyncFromLiar(t *testing.T) {
	tc := testutil.NewTestChain(t, 1, 0)
	honest := startNode(t, "v0", tc.Gen, t.TempDir(), tc.Vals[0], nodeOptions{noSync: true})
	waitHeight(t, 30*time.Second, 5, honest)
	lh, err := p2p.New(context.Background(), testutil.Key(t), p2p.Config{ChainID: testutil.ChainID, ListenAddrs: loopback, Logger: testutil.Logger("liar")}, liar{honest})
	if err != nil {
		t.Fatal(err)
	}
	defer lh.Close()
	late := startNode(t, "late", tc.Gen, t.TempDir(), testutil.Key(t), nodeOptions{bootnodes: append(lh.Addrs(), honest.net.Addrs()...), noSync: true})
	target := honest.height()
	waitHeight(t, 30*time.Second, target, late)
	s := late.net.Stats()
	if s.BadSyncBlocks == 0 {
		t.Fatalf("the liar's blocks were never refused: %+v", s)
	}
	for h := uint64(1); h <= target; h++ {
		a, _ := honest.chain.HeaderByNumber(h)
		b, err := late.chain.HeaderByNumber(h)
		if err != nil || a.Hash() != b.Hash() {
			t.Fatalf("header %d differs: %v", h, err)
		}
	}
	t.Logf("synced %d blocks, refused %d batches from the liar", s.BlocksSynced, s.BadSyncBlocks)
}

// TestSyncBadPeerTimeout drives block sync's clock: a peer that served altered blocks is
// left out of the polls until badPeerTimeout has passed on the node's clock, then asked
// again (and refused again); an honest peer connected later serves the chain.
func TestSyncBadPeerTimeout(t *testing.T) {
	tc := testutil.NewTestChain(t, 1, 0)
	honest := startNode(t, "v0", tc.Gen, t.TempDir(), tc.Vals[0], nodeOptions{noSync: true})
	waitHeight(t, 30*time.Second, 3, honest)
	lh, err := p2p.New(context.Background(), testutil.Key(t), p2p.Config{ChainID: testutil.ChainID, ListenAddrs: loopback, Logger: testutil.Logger("liar")}, liar{honest})
	if err != nil {
		t.Fatal(err)
	}
	defer lh.Close()
	clock := testutil.NewClock(time.Now())
	late := startNode(t, "late", tc.Gen, t.TempDir(), testutil.Key(t), nodeOptions{bootnodes: lh.Addrs(), noSync: true, clock: clock})
	// drive waits for cond, moving the late node's clock on by a sync interval per poll.
	drive := func(what string, cond func() bool) {
		t.Helper()
		testutil.WaitFor(t, 30*time.Second, what, func() bool {
			clock.Advance(250 * time.Millisecond)
			return cond()
		})
	}
	drive("the liar's blocks refused", func() bool { return late.net.Stats().BadSyncBlocks >= 1 })
	drive("a poll without the liar", func() bool { return late.net.Sync().PeerHeight == 0 })
	if s := late.net.Stats(); s.BadSyncBlocks != 1 || late.height() != 0 {
		t.Fatalf("within the timeout: %d bad batches, height %d", s.BadSyncBlocks, late.height())
	}
	clock.Advance(network.BadPeerTimeout)
	drive("the liar asked again after the timeout", func() bool { return late.net.Stats().BadSyncBlocks >= 2 })
	if err := late.net.Connect(context.Background(), honest.net.Addrs()[0]); err != nil {
		t.Fatal(err)
	}
	target := honest.height()
	drive("sync from the honest peer", func() bool { return late.height() >= target })
}

// TestTxRecoveredOncePerNode: every validator recovers the sender of every tx it did not
// sign exactly once (from gossip, or from the block when the block came first), however
// many copies reach it: gossip relays, a re-gossip, the proposal, the commit. Signature
// recovery is most of a node's CPU per tx, so a second recovery anywhere on the path
// (say, the block's txs decoded and recovered although the pool holds them) shows here.
// Blocks come at most every 1.5 s, so that gossip usually brings the txs before their
// block (the path a loaded network takes; a block that comes first is recovered from, and
// its gossiped copies are then known). A recovery may be repeated when a tx's gossip
// arrives between the validation and the commit of its block (the pool no longer has it,
// and it is not yet committed): some slack.
func TestTxRecoveredOncePerNode(t *testing.T) {
	const perSender = 30
	tc := testutil.NewTestChain(t, 4, 2)
	slowBlocks := func(chainID uint64, vals *types.ValidatorSet) consensus.Config {
		c := fastConsensus(chainID, vals)
		c.MinBlockInterval = 1500 * time.Millisecond
		c.Heartbeat = max(c.Heartbeat, c.MinBlockInterval)
		return c
	}
	var nodes []*testNode
	for i, k := range tc.Vals {
		var boot []string
		if i > 0 {
			boot = nodes[0].net.Addrs()
		}
		nodes = append(nodes, startNode(t, fmt.Sprintf("v%d", i), tc.Gen, t.TempDir(), k, nodeOptions{bootnodes: boot, noSync: true, consensus: slowBlocks}))
	}
	waitHeight(t, 30*time.Second, 2, nodes...)
	testutil.WaitFor(t, 10*time.Second, "a full mesh", func() bool {
		for _, n := range nodes {
			if n.net.PeerCount() != 3 {
				return false
			}
		}
		return true
	})
	// Signed here, so the submitting node has their senders cached (Tx.Sign): only the
	// three other validators recover each.
	var last []*types.Tx
	start := types.SenderRecoveries()
	for s, key := range tc.Accounts {
		for i := range perSender {
			tx := testutil.SignTx(t, key, &types.Tx{Nonce: uint64(i), GasLimit: 100_000, Kind: types.TxTransfer, To: types.Address{9}, Value: uint256.NewInt(1)})
			if err := nodes[s].pool.Add(tx); err != nil {
				t.Fatal(err)
			}
			if i == perSender-1 {
				last = append(last, tx)
			}
		}
	}
	for _, tx := range last {
		waitCommitted(t, tx.Hash(), nodes...)
	}
	n := uint64(perSender * len(tc.Accounts))
	got := types.SenderRecoveries() - start
	t.Logf("%d txs, %d sender recoveries on 4 validators", n, got)
	if got < 3*n || got > 3*n+3*n/10 {
		t.Fatalf("%d sender recoveries for %d txs on 4 validators, want 3 per tx (one per validator that did not sign it)", got, n)
	}
}
