package node

import (
	"crypto/ecdsa"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/internal/atomicfile"
	"github.com/wnode/wnode/types"
)

// Layout of a data dir.
const (
	KeystoreDir   = "keystore"        // account keys (Web3 Secret Storage)
	NodeKeyFile   = "node.key"        // the node key, hex, mode 0600
	DBDir         = "db"              // Pebble: state and blocks
	WasmCacheDir  = "wasm-cache"      // compiled contracts (a cache: safe to delete)
	WALFile       = "consensus.wal"   // consensus write-ahead log of the recent heights
	GuardFile     = "consensus.guard" // double-sign guard: the last signed message
	GenesisFile   = "genesis.json"    // the chain's genesis
	PeersFile     = "peers.json"      // peers this node was connected to (p2p.PeerStore)
	SnapshotsDir  = "snapshots"       // state snapshots served to joining nodes (--snapshots)
	DevPassword   = ""                // password of the dev account in a dev keystore
	dataDirPerm   = 0o700
	secretFilePer = 0o600
)

// ErrNotInitialized is returned when a data dir has no genesis.json: run `wnode init`.
var ErrNotInitialized = errors.New("data dir not initialized")

// DataDir is a node's data directory.
type DataDir string

// Path returns the path of name inside the data dir.
func (d DataDir) Path(name string) string { return filepath.Join(string(d), name) }

// Initialized reports whether the data dir holds a genesis.
func (d DataDir) Initialized() bool {
	_, err := os.Stat(d.Path(GenesisFile))
	return err == nil
}

// LoadNodeKey reads the node key.
func (d DataDir) LoadNodeKey() (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(d.Path(NodeKeyFile))
	if err != nil {
		return nil, fmt.Errorf("node key: %w", err)
	}
	k, err := crypto.HexToECDSA(strings.TrimPrefix(strings.TrimSpace(string(b)), "0x"))
	if err != nil {
		return nil, fmt.Errorf("node key %s: %w", d.Path(NodeKeyFile), err)
	}
	return k, nil
}

// nodeKey loads the node key, creating it when absent.
func (d DataDir) nodeKey() (key *ecdsa.PrivateKey, created bool, err error) {
	k, err := d.LoadNodeKey()
	if err == nil {
		return k, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, err
	}
	k, err = crypto.GenerateKey()
	if err != nil {
		return nil, false, fmt.Errorf("generate node key: %w", err)
	}
	data := hex.EncodeToString(crypto.FromECDSA(k)) + "\n"
	if err := atomicfile.Write(d.Path(NodeKeyFile), []byte(data), secretFilePer); err != nil {
		return nil, false, fmt.Errorf("write node key: %w", err)
	}
	return k, true, nil
}

// LoadGenesis reads and validates the data dir's genesis.
func (d DataDir) LoadGenesis() (*genesis.Genesis, error) {
	if !d.Initialized() {
		return nil, fmt.Errorf("%w: %s has no %s (run `wnode init` or `wnode start --dev`)", ErrNotInitialized, d, GenesisFile)
	}
	g, err := genesis.Load(d.Path(GenesisFile))
	if err != nil {
		return nil, err
	}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", d.Path(GenesisFile), err)
	}
	return g, nil
}

// InitResult says what Init found or created.
type InitResult struct {
	DataDir     string
	NodeAddress types.Address // the node key's address: validator and result signer
	NodePubKey  []byte        // compressed, 33 bytes
	ChainID     uint64
	GenesisHash types.Hash
	Created     bool // the data dir was initialized now
	NoGenesis   bool // only the node key exists: the dir needs a genesis (Init with one)
	Dev         bool
	DevAccount  types.Address // dev chains: the funded account, imported into the keystore
}

// Init initialises dir, or checks an initialised one: it creates the node key and
// genesis.json — a dev genesis whose only validator is this node when dev is set, a copy
// of genesisPath otherwise — and, for a dev chain, imports the dev account into the
// keystore (password DevPassword). With neither dev nor genesisPath it creates only the
// node key (NoGenesis is set): its public key goes into the network's genesis, which a
// second Init then installs. An initialised dir is kept; asking for a dev chain in a dir
// holding another chain, or for a genesis other than the one it holds, is an error.
func Init(dir string, dev bool, genesisPath string) (*InitResult, error) {
	d := DataDir(dir)
	if err := os.MkdirAll(dir, dataDirPerm); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	key, _, err := d.nodeKey()
	if err != nil {
		return nil, err
	}
	res := &InitResult{DataDir: dir, NodeAddress: crypto.PubkeyToAddress(key.PublicKey), NodePubKey: crypto.CompressPubkey(&key.PublicKey)}

	var g *genesis.Genesis
	if d.Initialized() {
		if g, err = d.LoadGenesis(); err != nil {
			return nil, err
		}
		if dev && !genesis.IsDevChain(g.ChainID) {
			return nil, fmt.Errorf("data dir %s holds chain %d, not a dev chain: use another --datadir for --dev", dir, g.ChainID)
		}
		if genesisPath != "" {
			given, err := loadGenesisFile(genesisPath)
			if err != nil {
				return nil, err
			}
			if given.Hash() != g.Hash() {
				return nil, fmt.Errorf("data dir %s already holds genesis %s; %s has %s", dir, g.Hash(), genesisPath, given.Hash())
			}
		}
	} else {
		switch {
		case genesisPath != "":
			if g, err = loadGenesisFile(genesisPath); err != nil {
				return nil, err
			}
			if dev && !genesis.IsDevChain(g.ChainID) {
				return nil, fmt.Errorf("--dev with genesis %s of chain %d: a dev chain has id %d", genesisPath, g.ChainID, genesis.DevChainID)
			}
		case dev:
			g = genesis.Dev(genesis.DevChainID, &key.PublicKey)
			if err := g.Validate(); err != nil {
				return nil, fmt.Errorf("dev genesis: %w", err)
			}
		default:
			res.NoGenesis = true
			return res, nil
		}
		data, err := g.Marshal()
		if err != nil {
			return nil, fmt.Errorf("encode genesis: %w", err)
		}
		if err := atomicfile.Write(d.Path(GenesisFile), data, 0o644); err != nil {
			return nil, fmt.Errorf("write genesis: %w", err)
		}
		res.Created = true
	}
	res.ChainID, res.GenesisHash = g.ChainID, g.Hash()
	if genesis.IsDevChain(g.ChainID) {
		res.Dev, res.DevAccount = true, genesis.DevAddress
		if err := importDevAccount(d); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func loadGenesisFile(path string) (*genesis.Genesis, error) {
	g, err := genesis.Load(path)
	if err != nil {
		return nil, fmt.Errorf("genesis %s: %w", path, err)
	}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("genesis %s: %w", path, err)
	}
	return g, nil
}

// importDevAccount puts the public dev key into the keystore, once.
func importDevAccount(d DataDir) error {
	ks := keystore.NewKeyStore(d.Path(KeystoreDir), keystore.LightScryptN, keystore.LightScryptP)
	if ks.HasAddress(genesis.DevAddress) {
		return nil
	}
	if _, err := ks.ImportECDSA(genesis.DevKey(), DevPassword); err != nil && !errors.Is(err, keystore.ErrAccountAlreadyExists) {
		return fmt.Errorf("import dev account: %w", err)
	}
	return nil
}
