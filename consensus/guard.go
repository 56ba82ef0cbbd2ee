package consensus

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"github.com/wnode/wnode/types"
)

// Step is the step of a round: propose, prevote or precommit. Steps are ordered, and so
// are (height, round, step) triples: a validator only ever signs at increasing triples.
type Step uint8

// The steps of a round.
const (
	StepPropose   Step = 1
	StepPrevote   Step = 2
	StepPrecommit Step = 3
)

// String returns a short human-readable form of the Step, for logs.
func (s Step) String() string {
	switch s {
	case StepPropose:
		return "propose"
	case StepPrevote:
		return "prevote"
	case StepPrecommit:
		return "precommit"
	}
	return fmt.Sprintf("step(%d)", uint8(s))
}

// LastSigned is what the double-sign guard remembers: the (height, round, step) of the
// last signature, what was signed and the signature.
type LastSigned struct {
	Height    uint64
	Round     int32
	Step      Step
	SignBytes types.Hash
	Sig       []byte
}

func (l *LastSigned) cmp(h uint64, r int32, s Step) int {
	switch {
	case h != l.Height:
		return cmpOrdered(h, l.Height)
	case r != l.Round:
		return cmpOrdered(r, l.Round)
	}
	return cmpOrdered(s, l.Step)
}

func cmpOrdered[T ~uint64 | ~int32 | ~uint8](a, b T) int {
	if a < b {
		return -1
	}
	if a > b {
		return 1
	}
	return 0
}

// ErrDoubleSign is returned by SignGuard.Sign when signing would conflict with an
// earlier signature: a lower (height, round, step), or the same one with other bytes.
var ErrDoubleSign = errors.New("refusing to sign: conflicts with an earlier signature")

// SignGuard is the last line of defence against double signing, as CometBFT's
// FilePV: it signs only at a (height, round, step) above the last one it signed, and
// persists that triple with the sign bytes and signature (fsync) before handing out the
// signature. Asked again for exactly the same bytes at the same triple (a restarted node
// redoing its last step), it returns the earlier signature. It is not safe for
// concurrent use.
type SignGuard struct {
	signer Signer
	store  GuardStore
	last   LastSigned
	has    bool
}

// NewSignGuard loads the guard's state from store.
func NewSignGuard(signer Signer, store GuardStore) (*SignGuard, error) {
	last, ok, err := store.Load()
	if err != nil {
		return nil, fmt.Errorf("load sign guard: %w", err)
	}
	return &SignGuard{signer: signer, store: store, last: last, has: ok}, nil
}

// Last returns the last signed state and whether there is one.
func (g *SignGuard) Last() (LastSigned, bool) { return g.last, g.has }

// Sign signs signBytes for (height, round, step) if that does not conflict with what was
// signed before, persisting the new state first. It returns ErrDoubleSign on conflict and
// a wrapped storage or signer error otherwise; in both cases nothing was signed.
func (g *SignGuard) Sign(height uint64, round int32, step Step, signBytes types.Hash) ([]byte, error) {
	if g.has {
		switch g.last.cmp(height, round, step) {
		case -1:
			return nil, fmt.Errorf("%w: h=%d r=%d %s is below the last signed h=%d r=%d %s",
				ErrDoubleSign, height, round, step, g.last.Height, g.last.Round, g.last.Step)
		case 0:
			if signBytes == g.last.SignBytes {
				return bytes.Clone(g.last.Sig), nil
			}
			return nil, fmt.Errorf("%w: other bytes already signed at h=%d r=%d %s", ErrDoubleSign, height, round, step)
		}
	}
	sig, err := g.signer.SignHash(signBytes)
	if err != nil {
		return nil, err
	}
	next := LastSigned{Height: height, Round: round, Step: step, SignBytes: signBytes, Sig: sig}
	if err := g.store.Save(next); err != nil {
		return nil, fmt.Errorf("persist sign guard: %w", err)
	}
	g.last, g.has = next, true
	return bytes.Clone(sig), nil
}

// FileOptions tune the files of FileWAL and FileGuardStore.
type FileOptions struct {
	// NoSync skips fsync. Data then survives a crash of the process but not of the
	// machine. Only for tests and simulations, where it saves ~0.3 ms per write.
	NoSync bool
}

// MemGuardStore is a GuardStore in memory, for nodes whose signatures need no crash
// protection (tests, throwaway dev chains).
type MemGuardStore struct {
	last LastSigned
	ok   bool
}

// Load returns what Save stored last.
func (m *MemGuardStore) Load() (LastSigned, bool, error) { return m.last, m.ok, nil }

// Save keeps last in memory.
func (m *MemGuardStore) Save(last LastSigned) error {
	m.last, m.ok = last, true
	return nil
}

// The guard file holds two fixed-size slots written alternately, each with a sequence
// number and a CRC, so that a write torn by a crash leaves the other slot intact:
//
//	magic "WNSG" | seq u64 | height u64 | round u32 | step u8 | signBytes [32] | sig [65] | crc32c u32
const (
	guardMagic    = "WNSG"
	guardSlotData = 4 + 8 + 8 + 4 + 1 + 32 + types.SignatureLen
	guardSlotSize = 128
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// FileGuardStore is a GuardStore in a small file (256 bytes): each Save overwrites the
// older of two slots in place and fsyncs, one fsync per signature.
type FileGuardStore struct {
	f    *os.File
	seq  uint64
	opts FileOptions
}

// OpenFileGuardStore opens or creates the guard file at path.
func OpenFileGuardStore(path string, opts FileOptions) (*FileGuardStore, error) {
	f, err := openDurable(path, opts)
	if err != nil {
		return nil, fmt.Errorf("open sign guard: %w", err)
	}
	return &FileGuardStore{f: f, opts: opts}, nil
}

// Load reads the newer intact slot.
func (s *FileGuardStore) Load() (LastSigned, bool, error) {
	var buf [2 * guardSlotSize]byte
	n, err := s.f.ReadAt(buf[:], 0)
	if err != nil && err != io.EOF {
		return LastSigned{}, false, fmt.Errorf("read sign guard: %w", err)
	}
	var (
		best LastSigned
		ok   bool
	)
	for i := 0; i < 2 && (i+1)*guardSlotSize <= n; i++ {
		slot := buf[i*guardSlotSize : (i+1)*guardSlotSize]
		l, seq, valid := decodeGuardSlot(slot)
		if valid && (!ok || seq > s.seq) {
			best, ok, s.seq = l, true, seq
		}
	}
	return best, ok, nil
}

// Save writes last into the older slot and fsyncs.
func (s *FileGuardStore) Save(last LastSigned) error {
	if len(last.Sig) != types.SignatureLen {
		return fmt.Errorf("save sign guard: signature is %d bytes", len(last.Sig))
	}
	s.seq++
	slot := encodeGuardSlot(s.seq, last)
	if _, err := s.f.WriteAt(slot, int64(s.seq%2)*guardSlotSize); err != nil {
		return fmt.Errorf("write sign guard: %w", err)
	}
	if !s.opts.NoSync {
		if err := syncData(s.f); err != nil {
			return fmt.Errorf("sync sign guard: %w", err)
		}
	}
	return nil
}

// Close closes the file.
func (s *FileGuardStore) Close() error { return s.f.Close() }

func encodeGuardSlot(seq uint64, l LastSigned) []byte {
	b := make([]byte, guardSlotSize)
	copy(b, guardMagic)
	binary.BigEndian.PutUint64(b[4:], seq)
	binary.BigEndian.PutUint64(b[12:], l.Height)
	binary.BigEndian.PutUint32(b[20:], uint32(l.Round))
	b[24] = byte(l.Step)
	copy(b[25:57], l.SignBytes[:])
	copy(b[57:57+types.SignatureLen], l.Sig)
	binary.BigEndian.PutUint32(b[guardSlotData:], crc32.Checksum(b[:guardSlotData], crcTable))
	return b
}

func decodeGuardSlot(b []byte) (LastSigned, uint64, bool) {
	if string(b[:4]) != guardMagic || binary.BigEndian.Uint32(b[guardSlotData:]) != crc32.Checksum(b[:guardSlotData], crcTable) {
		return LastSigned{}, 0, false
	}
	l := LastSigned{
		Height: binary.BigEndian.Uint64(b[12:]),
		Round:  int32(binary.BigEndian.Uint32(b[20:])),
		Step:   Step(b[24]),
		Sig:    bytes.Clone(b[57 : 57+types.SignatureLen]),
	}
	copy(l.SignBytes[:], b[25:57])
	return l, binary.BigEndian.Uint64(b[4:]), true
}

// openDurable opens or creates the file at path for reading and writing. When it creates
// the file it fsyncs the directory too (unless opts.NoSync), so the new file's name
// survives a crash before its first fsynced write is relied on.
func openDurable(path string, opts FileOptions) (*os.File, error) {
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if errors.Is(statErr, os.ErrNotExist) && !opts.NoSync {
		if err := syncDir(filepath.Dir(path)); err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}
