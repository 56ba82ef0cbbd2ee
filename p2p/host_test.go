package p2p

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	lcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/protocol/identify"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/wnode/wnode/internal/testutil"
)

// TestHostAsLibp2pNew guards newLibp2pHost against drifting from what libp2p.New builds
// for the options wnode used to give it (a go-libp2p upgrade that adds a service, a
// protocol or a limit to its defaults shows up here): the same peer ID, protocols,
// event types, resource limits of the system, transient, service and protocol scopes,
// and a host of each kind connect over TCP (Noise, Yamux) and QUIC and identify each
// other, as nodes of both builds do during an upgrade.
func TestHostAsLibp2pNew(t *testing.T) {
	key := testutil.Key(t)
	priv, err := NodeKeyToLibp2p(key)
	if err != nil {
		t.Fatal(err)
	}
	listen := []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}
	newCM := func() *connmgr.BasicConnMgr {
		cm, err := connmgr.NewConnManager(48, 64, connmgr.WithGracePeriod(20*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		return cm
	}
	ref, err := libp2p.New(libp2p.Identity(priv), libp2p.ListenAddrStrings(listen...),
		libp2p.Transport(tcp.NewTCPTransport), libp2p.Transport(quic.NewTransport),
		libp2p.Security(noise.ID, noise.New), libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.ConnectionManager(newCM()), libp2p.DisableRelay(), libp2p.UserAgent("wnode"))
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	build := func(k lcrypto.PrivKey) host.Host {
		var addrs []ma.Multiaddr
		for _, s := range listen {
			addrs = append(addrs, ma.StringCast(s))
		}
		h, err := newLibp2pHost(k, addrs, newCM())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		return h
	}
	h := build(priv)
	if h.ID() != ref.ID() {
		t.Fatalf("peer ID %s, libp2p.New's %s", h.ID(), ref.ID())
	}
	protocols := func(h host.Host) []protocol.ID { ps := h.Mux().Protocols(); slices.Sort(ps); return ps }
	if got, want := protocols(h), protocols(ref); !slices.Equal(got, want) {
		t.Errorf("protocols %v, libp2p.New's %v", got, want)
	}
	events := func(h host.Host) []string {
		var ev []string
		for _, e := range h.EventBus().GetAllEventTypes() {
			ev = append(ev, fmt.Sprint(e))
		}
		slices.Sort(ev)
		return ev
	}
	if got, want := events(h), events(ref); !slices.Equal(got, want) {
		t.Errorf("event types %v, libp2p.New's %v", got, want)
	}
	limits := func(h host.Host) map[string]rcmgr.Limit {
		rm, ok := h.Network().ResourceManager().(network.ResourceScopeViewer)
		if !ok {
			t.Fatalf("resource manager %T has no scopes to view", h.Network().ResourceManager())
		}
		out := map[string]rcmgr.Limit{}
		keep := func(name string) func(s network.ResourceScope) error {
			return func(s network.ResourceScope) error {
				l, ok := s.(interface{ Limit() rcmgr.Limit })
				if !ok {
					return fmt.Errorf("scope %s: %T has no limit", name, s)
				}
				out[name] = l.Limit()
				return nil
			}
		}
		errs := []error{rm.ViewSystem(keep("system")), rm.ViewTransient(keep("transient"))}
		for _, s := range []string{identify.ServiceName, ping.ServiceName} {
			errs = append(errs, rm.ViewService(s, func(sc network.ServiceScope) error { return keep("service " + s)(sc) }))
		}
		for _, p := range []protocol.ID{identify.ID, identify.IDPush, ping.ID} {
			errs = append(errs, rm.ViewProtocol(p, func(sc network.ProtocolScope) error { return keep("protocol " + string(p))(sc) }))
		}
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		return out
	}
	got, want := limits(h), limits(ref)
	for name, l := range want {
		if fmt.Sprint(got[name]) != fmt.Sprint(l) {
			t.Errorf("%s limit %+v, libp2p.New's %+v", name, got[name], l)
		}
	}

	// A host of each kind (other keys than ref's) dials ref over each transport.
	otherKey, err := NodeKeyToLibp2p(testutil.Key(t))
	if err != nil {
		t.Fatal(err)
	}
	other := build(otherKey)
	ids := other.(interface{ IDService() identify.IDService }).IDService()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, a := range ref.Addrs() {
		other.Network().ClosePeer(ref.ID())
		if err := other.Connect(ctx, peer.AddrInfo{ID: ref.ID(), Addrs: []ma.Multiaddr{a}}); err != nil {
			t.Fatalf("connect to libp2p.New's host at %s: %v", a, err)
		}
		conns := other.Network().ConnsToPeer(ref.ID())
		if len(conns) != 1 {
			t.Fatalf("%d connections to %s", len(conns), a)
		}
		st := conns[0].ConnState()
		if _, err := a.ValueForProtocol(ma.P_TCP); err == nil && (st.Security != noise.ID || st.StreamMultiplexer != yamux.ID) {
			t.Fatalf("over TCP: security %q, muxer %q", st.Security, st.StreamMultiplexer)
		}
		select {
		case <-ids.IdentifyWait(conns[0]):
		case <-ctx.Done():
			t.Fatalf("identify over %s: %v", a, ctx.Err())
		}
		if av, err := other.Peerstore().Get(ref.ID(), "AgentVersion"); err != nil || av != "wnode" {
			t.Fatalf("agent version of libp2p.New's host over %s: %v, %v", a, av, err)
		}
	}
}
