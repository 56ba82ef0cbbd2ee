package p2p

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/libp2p/go-libp2p/core/connmgr"
	lcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/core/sec"
	basichost "github.com/libp2p/go-libp2p/p2p/host/basic"
	"github.com/libp2p/go-libp2p/p2p/host/eventbus"
	"github.com/libp2p/go-libp2p/p2p/host/observedaddrs"
	"github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoremem"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	"github.com/libp2p/go-libp2p/p2p/net/upgrader"
	"github.com/libp2p/go-libp2p/p2p/protocol/identify"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/quicreuse"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
	quicgo "github.com/quic-go/quic-go"
)

// newLibp2pHost builds the node's libp2p host from its parts (peerstore, resource
// manager, swarm with the TCP and QUIC transports, Noise, Yamux, the basic host with
// identify and ping) and starts it listening on addrs. It is what libp2p.New builds for
// the options wnode gave it (its identity and listen addresses, TCP and QUIC, Noise,
// Yamux, cm, no relay, user agent "wnode"), without three things wnode never used:
//
//   - the libp2p package and its config package, which link every transport libp2p has
//     (WebTransport, WebRTC with pion, WebSocket) and the fx/dig dependency injection
//     they are assembled with, whatever the options: 2.5 MB of machine code, 5.7 MB
//     of the binary's mapped code and tables with its metadata, nearly all resident in
//     every node (docs/rationale/localnet.md, "Memory of a node, session 7");
//   - libp2p's Prometheus metrics, which it registers with the process's default
//     registry, which nothing serves (the node's /metrics has a registry of its own);
//   - the AutoNAT v1 client, which only feeds hole punching and relays, both off.
//
// The resource manager keeps libp2p's defaults (limits scaled to the machine's memory
// and file descriptors, the bundled services' limits for identify and ping).
func newLibp2pHost(priv lcrypto.PrivKey, addrs []ma.Multiaddr, cm connmgr.ConnManager) (h host.Host, err error) {
	id, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		return nil, err
	}
	// Everything built so far is closed, newest first, if a later step fails.
	var undo []func() error
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				_ = undo[i]()
			}
		}
	}()
	ps, err := pstoremem.NewPeerstore()
	if err != nil {
		return nil, err
	}
	undo = append(undo, ps.Close)
	if err := ps.AddPrivKey(id, priv); err != nil {
		return nil, err
	}
	if err := ps.AddPubKey(id, priv.GetPublic()); err != nil {
		return nil, err
	}
	limits := rcmgr.DefaultLimits
	serviceLimits(&limits)
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits.AutoScale()))
	if err != nil {
		return nil, err
	}
	undo = append(undo, rm.Close)
	bus := eventbus.NewBus()
	// The QUIC connection manager owns the UDP sockets: it is closed after the swarm.
	resetKey, tokenKey, err := quicKeys(priv)
	if err != nil {
		return nil, err
	}
	qcm, err := quicreuse.NewConnManager(resetKey, tokenKey,
		quicreuse.ConnContext(func(ctx context.Context, ci *quicgo.ClientInfo) (context.Context, error) {
			addr, err := quicreuse.ToQuicMultiaddr(ci.RemoteAddr, quicgo.Version1)
			if err != nil {
				addr = nil // the resource manager decides without it
			}
			scope, err := rm.OpenConnection(network.DirInbound, false, addr)
			if err != nil {
				return ctx, err
			}
			ctx = network.WithConnManagementScope(ctx, scope)
			context.AfterFunc(ctx, scope.Done)
			return ctx, nil
		}),
		quicreuse.VerifySourceAddress(func(a net.Addr) bool { return rm.VerifySourceAddress(a) }),
	)
	if err != nil {
		return nil, err
	}
	undo = append(undo, qcm.Close)
	sw, err := swarm.NewSwarm(id, ps, bus,
		swarm.WithResourceManager(rm),
		// As libp2p.New: stop dialling UDP or IPv6 addresses while nearly every such dial fails.
		swarm.WithUDPBlackHoleSuccessCounter(&swarm.BlackHoleSuccessCounter{N: 100, MinSuccesses: 5, Name: "UDP"}),
		swarm.WithIPv6BlackHoleSuccessCounter(&swarm.BlackHoleSuccessCounter{N: 100, MinSuccesses: 5, Name: "IPv6"}),
	)
	if err != nil {
		return nil, err
	}
	undo = append(undo, sw.Close)
	muxers := []upgrader.StreamMuxer{{ID: yamux.ID, Muxer: yamux.DefaultTransport}}
	nt, err := noise.New(noise.ID, priv, muxers)
	if err != nil {
		return nil, err
	}
	upg, err := upgrader.New([]sec.SecureTransport{nt}, muxers, nil, rm, nil)
	if err != nil {
		return nil, err
	}
	tcpT, err := tcp.NewTCPTransport(upg, rm, nil)
	if err != nil {
		return nil, err
	}
	quicT, err := quic.NewTransport(priv, qcm, nil, nil, rm)
	if err != nil {
		return nil, err
	}
	if err := sw.AddTransport(tcpT); err != nil {
		return nil, err
	}
	if err := sw.AddTransport(quicT); err != nil {
		return nil, err
	}
	obs, err := observedaddrs.NewManager(bus, sw)
	if err != nil {
		return nil, err
	}
	undo = append(undo, obs.Close)
	bh, err := basichost.NewHost(sw, &basichost.HostOpts{
		EventBus:             bus,
		ConnManager:          cm,
		EnablePing:           true,
		UserAgent:            "wnode",
		ObservedAddrsManager: obs,
	})
	if err != nil {
		return nil, err
	}
	// From here the basic host's Close closes the swarm, the connection manager, the
	// peerstore and the resource manager.
	undo = []func() error{qcm.Close, obs.Close, bh.Close}
	if err := sw.Listen(addrs...); err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	obs.Start(sw)
	bh.Start()
	return &basicHost{BasicHost: bh, obs: obs, qcm: qcm}, nil
}

// basicHost closes what the basic host does not own: the observed-address manager and
// the QUIC connection manager (after the swarm, which uses its sockets). Close may be
// called more than once.
type basicHost struct {
	*basichost.BasicHost
	obs       *observedaddrs.Manager
	qcm       *quicreuse.ConnManager
	closeOnce sync.Once
	closeErr  error
}

func (h *basicHost) Close() error {
	h.closeOnce.Do(func() {
		h.closeErr = errors.Join(h.obs.Close(), h.BasicHost.Close(), h.qcm.Close())
	})
	return h.closeErr
}

// serviceLimits adds the resource manager's limits of the services the host runs, as
// libp2p.SetDefaultServiceLimits does for them: identify and ping.
func serviceLimits(c *rcmgr.ScalingLimitConfig) {
	c.AddServiceLimit(identify.ServiceName,
		rcmgr.BaseLimit{StreamsInbound: 64, StreamsOutbound: 64, Streams: 128, Memory: 4 << 20},
		rcmgr.BaseLimitIncrease{StreamsInbound: 64, StreamsOutbound: 64, Streams: 128, Memory: 4 << 20})
	c.AddServicePeerLimit(identify.ServiceName,
		rcmgr.BaseLimit{StreamsInbound: 16, StreamsOutbound: 16, Streams: 32, Memory: 1 << 20},
		rcmgr.BaseLimitIncrease{})
	for _, id := range [...]protocol.ID{identify.ID, identify.IDPush} {
		c.AddProtocolLimit(id,
			rcmgr.BaseLimit{StreamsInbound: 64, StreamsOutbound: 64, Streams: 128, Memory: 4 << 20},
			rcmgr.BaseLimitIncrease{StreamsInbound: 64, StreamsOutbound: 64, Streams: 128, Memory: 4 << 20})
		c.AddProtocolPeerLimit(id,
			rcmgr.BaseLimit{StreamsInbound: 16, StreamsOutbound: 16, Streams: 32, Memory: 32 * (256<<20 + 16<<10)},
			rcmgr.BaseLimitIncrease{})
	}
	pingBase := rcmgr.BaseLimit{StreamsInbound: 64, StreamsOutbound: 64, Streams: 64, Memory: 4 << 20}
	pingInc := rcmgr.BaseLimitIncrease{StreamsInbound: 64, StreamsOutbound: 64, Streams: 64, Memory: 4 << 20}
	pingPeer := rcmgr.BaseLimit{StreamsInbound: 2, StreamsOutbound: 3, Streams: 4, Memory: 32 * (256<<20 + 16<<10)}
	c.AddServiceLimit(ping.ServiceName, pingBase, pingInc)
	c.AddProtocolLimit(ping.ID, pingBase, pingInc)
	c.AddServicePeerLimit(ping.ServiceName, pingPeer, rcmgr.BaseLimitIncrease{})
	c.AddProtocolPeerLimit(ping.ID, pingPeer, rcmgr.BaseLimitIncrease{})
}

// quicKeys derives the QUIC stateless-reset and token keys from the host key, as
// libp2p's config does, so that a restarted node resets the connections of its previous
// run and accepts its address-validation tokens.
func quicKeys(priv lcrypto.PrivKey) (reset quicgo.StatelessResetKey, token quicgo.TokenGeneratorKey, err error) {
	raw, err := priv.Raw()
	if err != nil {
		return reset, token, err
	}
	r, err := hkdf.Key(sha256.New, raw, nil, "libp2p quic stateless reset key", len(reset))
	if err != nil {
		return reset, token, err
	}
	t, err := hkdf.Key(sha256.New, raw, nil, "libp2p quic token generator key", len(token))
	if err != nil {
		return reset, token, err
	}
	copy(reset[:], r)
	copy(token[:], t)
	return reset, token, nil
}
