package light

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/wnode/wnode/internal/atomicfile"
	"github.com/wnode/wnode/types"
)

// ErrTrustStore: the trust store file does not decode, breaks a limit, belongs to
// another trust root, or cannot be written.
var ErrTrustStore = errors.New("light: bad trust store")

// Store keeps a client's trusted states across runs.
type Store interface {
	// Load returns the stored states, ascending by height; none when there are none.
	Load() ([]*TrustedState, error)
	// Save replaces the stored states.
	Save(states []*TrustedState) error
}

// TrustStoreVersion is the version of the trust store file this package writes and reads.
const TrustStoreVersion = 1

// MaxTrustStoreSize bounds a trust store file: MaxTrustedStates headers with sets of
// types.MaxValidators members (about 170 bytes each in JSON) fit in it.
const MaxTrustStoreSize = 4 << 20

// RootID identifies a trust root: the trust store of one root is not used with another.
// It hashes the chain id, the height, the header hash (zero at genesis) and the set.
func RootID(root *TrustedState) types.Hash {
	b := binary.BigEndian.AppendUint64(nil, root.ChainID)
	b = binary.BigEndian.AppendUint64(b, root.Height)
	h := root.Hash()
	vh := root.Validators.Hash()
	return crypto.Keccak256Hash([]byte("wnode light root"), b, h[:], vh[:])
}

// trustStoreJSON is the trust store file: the root it was verified from and the trusted
// states, each a header (RLP) with the set that signed it.
type trustStoreJSON struct {
	Version int           `json:"version"`
	Root    types.Hash    `json:"root"`
	States  []trustedJSON `json:"states"`
}

type trustedJSON struct {
	Header     hexutil.Bytes `json:"header"`
	Validators []Validator   `json:"validators"`
}

// EncodeTrustStore returns the trust store file of states verified from the root
// identified by root (RootID).
func EncodeTrustStore(root types.Hash, states []*TrustedState) ([]byte, error) {
	out := trustStoreJSON{Version: TrustStoreVersion, Root: root, States: make([]trustedJSON, 0, len(states))}
	for _, s := range states {
		if s.Header == nil {
			return nil, fmt.Errorf("%w: state %d has no header", ErrTrustStore, s.Height)
		}
		c := NewCertificate(s.Header, &types.Commit{}, s.Validators)
		out.States = append(out.States, trustedJSON{Header: c.Header, Validators: c.Validators})
	}
	return json.MarshalIndent(out, "", "  ")
}

// DecodeTrustStore decodes a trust store file strictly (at most MaxTrustStoreSize bytes,
// MaxTrustedStates states of one chain ascending by height, each set the one its header
// names) and checks it belongs to root. Errors wrap ErrTrustStore. It never panics.
func DecodeTrustStore(data []byte, root types.Hash) ([]*TrustedState, error) {
	if len(data) > MaxTrustStoreSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTrustStore, len(data), MaxTrustStoreSize)
	}
	var f trustStoreJSON
	if err := decodeStrict(data, &f); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTrustStore, err)
	}
	if f.Version != TrustStoreVersion {
		return nil, fmt.Errorf("%w: version %d, this client reads %d", ErrTrustStore, f.Version, TrustStoreVersion)
	}
	if f.Root != root {
		return nil, fmt.Errorf("%w: it is of trust root %s, not %s (another chain or trust root)", ErrTrustStore, f.Root, root)
	}
	if len(f.States) > MaxTrustedStates {
		return nil, fmt.Errorf("%w: %d states, limit %d", ErrTrustStore, len(f.States), MaxTrustedStates)
	}
	states := make([]*TrustedState, 0, len(f.States))
	for i, x := range f.States {
		hdr, err := types.DecodeHeader(x.Header)
		if err != nil {
			return nil, fmt.Errorf("%w: state %d: %v", ErrTrustStore, i, err)
		}
		if len(x.Validators) > types.MaxValidators {
			return nil, fmt.Errorf("%w: state %d: %d validators", ErrTrustStore, i, len(x.Validators))
		}
		vs, err := validatorSet(x.Validators)
		if err != nil {
			return nil, fmt.Errorf("%w: state %d: %v", ErrTrustStore, i, err)
		}
		if vs.Hash() != hdr.ValidatorsHash {
			return nil, fmt.Errorf("%w: state %d: the set is not the one header %d names", ErrTrustStore, i, hdr.Height)
		}
		if i > 0 {
			prev := states[i-1]
			if hdr.Height <= prev.Height || hdr.ChainID != prev.ChainID {
				return nil, fmt.Errorf("%w: state %d (chain %d, height %d) after chain %d height %d", ErrTrustStore, i,
					hdr.ChainID, hdr.Height, prev.ChainID, prev.Height)
			}
		}
		states = append(states, (&LightBlock{Header: hdr, Validators: vs}).state())
	}
	return states, nil
}

// FileStore is a Store in a file (written whole, atomically by rename), for the trust
// root Root (RootID).
type FileStore struct {
	Path string
	Root types.Hash
}

// Load reads the file; a missing file holds no states.
func (s *FileStore) Load() ([]*TrustedState, error) {
	f, err := os.Open(s.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("light: trust store: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxTrustStoreSize+1))
	if err != nil {
		return nil, fmt.Errorf("light: trust store %s: %w", s.Path, err)
	}
	states, err := DecodeTrustStore(data, s.Root)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Path, err)
	}
	return states, nil
}

// Save writes the states to the file, creating its directory.
func (s *FileStore) Save(states []*TrustedState) error {
	data, err := EncodeTrustStore(s.Root, states)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.Path), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(s.Path, data, 0o600)
}
