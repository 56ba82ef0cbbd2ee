package node

import (
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/internal/atomicfile"
	"github.com/wnode/wnode/p2p"
	"github.com/wnode/wnode/types"
)

// A localnet is a development network of N validators on loopback, one data dir per
// node under one directory (`wnode localnet`):
//
//	DIR/localnet.json   this description (LocalnetFile)
//	DIR/genesis.json    the shared genesis: chain 1337, the N validators, the dev account
//	DIR/node0 … nodeN-1 data dirs; each config.toml sets the node's RPC and p2p ports,
//	                    its bootnodes (all the others) and the consensus timing
//
// so that `wnode start --datadir DIR/node2` alone restarts one of its nodes. It runs
// the dev chain id, so clients sign with the public dev account by default.

// LocalnetFile is the description of a localnet inside its directory.
const LocalnetFile = "localnet.json"

// MaxLocalnetNodes bounds the nodes of a localnet: every node runs every transaction,
// so more nodes than this on one machine only measure the machine.
const MaxLocalnetNodes = 64

// DefaultLocalnetBasePort is node0's RPC port: the client's default RPC URL reaches it.
const DefaultLocalnetBasePort = 8545

// Localnet describes a localnet: its chain and nodes.
type Localnet struct {
	Dir         string         `json:"-"` // the directory it was loaded from
	ChainID     uint64         `json:"chainId"`
	GenesisHash types.Hash     `json:"genesisHash"`
	BasePort    int            `json:"basePort"`
	Nodes       []LocalnetNode `json:"nodes"`
}

// LocalnetNode is one node of a localnet.
type LocalnetNode struct {
	Name    string        `json:"name"`    // node0, node1, …
	DataDir string        `json:"dataDir"` // relative to the localnet's directory
	Address types.Address `json:"address"` // validator address
	PubKey  string        `json:"pubKey"`  // compressed, 0x hex
	PeerID  string        `json:"peerId"`
	RPCAddr string        `json:"rpcAddr"` // host:port of JSON-RPC, /fn/, /health
	P2PAddr string        `json:"p2pAddr"` // multiaddr with /p2p/<id>: a bootnode
}

// RPCURL is the node's JSON-RPC URL.
func (n LocalnetNode) RPCURL() string { return "http://" + n.RPCAddr }

// Path is the node's data dir.
func (l *Localnet) Path(n LocalnetNode) string { return filepath.Join(l.Dir, n.DataDir) }

// LocalnetOptions shape a new localnet. Zero values take the defaults noted.
type LocalnetOptions struct {
	Nodes    int // validators; required when creating
	BasePort int // node i: RPC on BasePort+i, p2p on BasePort+Nodes+i (default 8545)
	// Consensus is written to every node's config.toml (zero values: consensus defaults).
	Consensus ConsensusConfig
}

// ErrLocalnetMismatch is returned by OpenLocalnet when the directory holds a localnet
// other than the one asked for.
var ErrLocalnetMismatch = errors.New("localnet mismatch")

// LoadLocalnet reads the localnet in dir.
func LoadLocalnet(dir string) (*Localnet, error) {
	data, err := os.ReadFile(filepath.Join(dir, LocalnetFile))
	if err != nil {
		return nil, fmt.Errorf("localnet %s: %w", dir, err)
	}
	var l Localnet
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("localnet %s: %s: %w", dir, LocalnetFile, err)
	}
	if len(l.Nodes) == 0 || len(l.Nodes) > MaxLocalnetNodes {
		return nil, fmt.Errorf("localnet %s: %s lists %d nodes", dir, LocalnetFile, len(l.Nodes))
	}
	for _, n := range l.Nodes {
		if n.DataDir == "" || filepath.IsAbs(n.DataDir) || strings.Contains(n.DataDir, "..") || n.RPCAddr == "" {
			return nil, fmt.Errorf("localnet %s: %s: bad node %q", dir, LocalnetFile, n.Name)
		}
	}
	l.Dir = dir
	return &l, nil
}

// OpenLocalnet returns the localnet in dir, creating it when dir holds none: node keys,
// the shared genesis, every node's data dir and config.toml, then LocalnetFile (last,
// so an interrupted creation is simply redone: node keys are kept and the genesis of
// the same keys is the same). An existing localnet is returned as it is (created is
// false); asking it for another number of nodes is an ErrLocalnetMismatch. It costs a
// few milliseconds per node.
func OpenLocalnet(dir string, opts LocalnetOptions) (l *Localnet, created bool, err error) {
	if _, err := os.Stat(filepath.Join(dir, LocalnetFile)); err == nil {
		l, err := LoadLocalnet(dir)
		if err != nil {
			return nil, false, err
		}
		if opts.Nodes != 0 && opts.Nodes != len(l.Nodes) {
			return nil, false, fmt.Errorf("%w: %s holds a localnet of %d nodes, not %d (use another directory, or --nodes %d)",
				ErrLocalnetMismatch, dir, len(l.Nodes), opts.Nodes, len(l.Nodes))
		}
		return l, false, nil
	}
	if opts.Nodes < 1 || opts.Nodes > MaxLocalnetNodes {
		return nil, false, fmt.Errorf("localnet: %d nodes: want 1 to %d", opts.Nodes, MaxLocalnetNodes)
	}
	if opts.BasePort == 0 {
		opts.BasePort = DefaultLocalnetBasePort
	}
	if opts.BasePort < 1024 || opts.BasePort+2*opts.Nodes > 65535 {
		return nil, false, fmt.Errorf("localnet: base port %d: want 1024 to %d", opts.BasePort, 65535-2*opts.Nodes)
	}
	if err := os.MkdirAll(dir, dataDirPerm); err != nil {
		return nil, false, fmt.Errorf("localnet: %w", err)
	}
	l = &Localnet{Dir: dir, ChainID: genesis.DevChainID, BasePort: opts.BasePort}
	pubs := make([]*ecdsa.PublicKey, opts.Nodes)
	for i := range opts.Nodes {
		name := "node" + strconv.Itoa(i)
		d := DataDir(filepath.Join(dir, name))
		if err := os.MkdirAll(string(d), dataDirPerm); err != nil {
			return nil, false, fmt.Errorf("localnet: %w", err)
		}
		key, _, err := d.nodeKey()
		if err != nil {
			return nil, false, fmt.Errorf("localnet %s: %w", name, err)
		}
		id, err := p2p.PeerIDFromKey(key)
		if err != nil {
			return nil, false, fmt.Errorf("localnet %s: peer id: %w", name, err)
		}
		pubs[i] = &key.PublicKey
		p2pPort := opts.BasePort + opts.Nodes + i
		l.Nodes = append(l.Nodes, LocalnetNode{
			Name: name, DataDir: name, Address: crypto.PubkeyToAddress(key.PublicKey),
			PubKey: hexutil.Encode(crypto.CompressPubkey(&key.PublicKey)), PeerID: id.String(),
			RPCAddr: "127.0.0.1:" + strconv.Itoa(opts.BasePort+i),
			P2PAddr: fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", p2pPort, id),
		})
	}
	g := genesis.Dev(genesis.DevChainID, pubs...)
	if err := g.Validate(); err != nil {
		return nil, false, fmt.Errorf("localnet genesis: %w", err)
	}
	gpath := filepath.Join(dir, GenesisFile)
	if err := g.Save(gpath); err != nil {
		return nil, false, fmt.Errorf("localnet genesis: %w", err)
	}
	l.GenesisHash = g.Hash()
	for i, n := range l.Nodes {
		if _, err := Init(l.Path(n), false, gpath); err != nil {
			return nil, false, fmt.Errorf("localnet %s: %w", n.Name, err)
		}
		var boot []string
		for j, o := range l.Nodes {
			if j != i {
				boot = append(boot, o.P2PAddr)
			}
		}
		listen := fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", opts.BasePort+opts.Nodes+i)
		if err := atomicfile.Write(filepath.Join(l.Path(n), ConfigFileName), localnetConfig(n, listen, boot, opts.Consensus), 0o644); err != nil {
			return nil, false, fmt.Errorf("localnet %s: config: %w", n.Name, err)
		}
	}
	data, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return nil, false, err
	}
	if err := atomicfile.Write(filepath.Join(dir, LocalnetFile), append(data, '\n'), 0o644); err != nil {
		return nil, false, fmt.Errorf("localnet: %w", err)
	}
	return l, true, nil
}

// localnetConfig is the config.toml of a localnet node: loopback ports, every other
// node as a bootnode, and the consensus timing asked for.
func localnetConfig(n LocalnetNode, listen string, boot []string, cc ConsensusConfig) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s of a wnode localnet (written by `wnode localnet`; edit while the network is stopped)\n\n", n.Name)
	fmt.Fprintf(&b, "[rpc]\naddr = %q\n\n", n.RPCAddr)
	fmt.Fprintf(&b, "[p2p]\nlisten = [%q]\nbootnodes = [", listen)
	for i, a := range boot {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", a)
	}
	b.WriteString("]\n")
	durations := []struct {
		key string
		v   time.Duration
	}{
		{"timeout_propose", cc.TimeoutPropose}, {"timeout_propose_delta", cc.TimeoutProposeDelta},
		{"timeout_prevote", cc.TimeoutPrevote}, {"timeout_prevote_delta", cc.TimeoutPrevoteDelta},
		{"timeout_precommit", cc.TimeoutPrecommit}, {"timeout_precommit_delta", cc.TimeoutPrecommitDelta},
		{"min_block_interval", cc.MinBlockInterval}, {"heartbeat", cc.Heartbeat}, {"rebroadcast_interval", cc.RebroadcastInterval},
	}
	b.WriteString("\n[consensus]\n# zero or absent: the defaults (see docs/cli.md)\n")
	for _, d := range durations {
		if d.v != 0 {
			fmt.Fprintf(&b, "%s = %q\n", d.key, d.v.String())
		}
	}
	return []byte(b.String())
}
