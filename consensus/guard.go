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
// last signature, what was signed, the signature and the signed message itself.
type LastSigned struct {
	Height    uint64
	Round     int32
	Step      Step
	SignBytes types.Hash
	Sig       []byte
	// Msg is the encoded Message (EncodeMessage, signature included) that was signed,
	// so that a restarted validator re-sends exactly what it signed even if the WAL lost
	// it. Empty when the signature was asked for without a message (SignGuard.Sign) or
	// saved by a version before December 2026.
	Msg []byte
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
// persists that triple with the sign bytes, the signature and (SignMessage) the signed
// message (synced) before handing out the signature. Asked again for exactly the same bytes at the same triple (a restarted node
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
	return g.sign(height, round, step, signBytes, nil, nil)
}

// SignMessage signs m (a proposal or a vote of chainID, its signature unset) like Sign,
// sets its signature, and persists the whole message with the guard's state, before
// returning: after a crash, Last gives it back whole. Asked again for the same bytes at
// the same (height, round, step), it sets the earlier signature.
func (g *SignGuard) SignMessage(chainID uint64, m *Message) error {
	return g.signMessage(chainID, m, nil)
}

// signMessage is SignMessage; before, if set, runs once m carries its signature and
// before the guard's state is saved, and the wait it returns (if any) is called once the
// save is done, whatever its outcome: consensus uses it to write a precommit's WAL
// record and sync it while the guard saves (State.sign). before does not run when the
// guard refuses or hands back an earlier signature.
func (g *SignGuard) signMessage(chainID uint64, m *Message, before func() (wait func() error, err error)) error {
	var (
		h      uint64
		r      int32
		step   Step
		sb     types.Hash
		setSig func([]byte)
	)
	switch {
	case m.Proposal != nil && m.Vote == nil && m.Commit == nil:
		p := m.Proposal
		h, r, step, sb = p.Height, p.Round, StepPropose, p.SignBytes(chainID)
		setSig = func(sig []byte) { p.Sig = sig }
	case m.Vote != nil && m.Proposal == nil && m.Commit == nil:
		v := m.Vote
		step = StepPrevote
		if v.Type == types.PrecommitType {
			step = StepPrecommit
		} else if v.Type != types.PrevoteType {
			return fmt.Errorf("sign: vote of type %d", v.Type)
		}
		h, r, sb = v.Height, v.Round, v.SignBytes(chainID)
		setSig = func(sig []byte) { v.Sig = sig }
	default:
		return errors.New("sign: a message to sign is one proposal or one vote")
	}
	sig, err := g.sign(h, r, step, sb, func(sig []byte) ([]byte, error) {
		setSig(sig)
		return EncodeMessage(m)
	}, before)
	if err != nil {
		return err
	}
	setSig(sig)
	return nil
}

func (g *SignGuard) sign(height uint64, round int32, step Step, signBytes types.Hash, encode func(sig []byte) ([]byte, error),
	before func() (func() error, error)) ([]byte, error) {
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
	if encode != nil {
		if next.Msg, err = encode(bytes.Clone(sig)); err != nil {
			return nil, fmt.Errorf("sign: encode message: %w", err)
		}
	}
	var wait func() error
	if before != nil {
		if wait, err = before(); err != nil {
			return nil, err
		}
	}
	if err = g.store.Save(next); err != nil {
		err = fmt.Errorf("persist sign guard: %w", err)
	} else {
		g.last, g.has = next, true
	}
	if wait != nil {
		// Waited for even when the save failed: the caller may not touch what runs (the
		// WAL) before it is over.
		if werr := wait(); err == nil {
			err = werr
		}
	}
	if err != nil {
		return nil, err
	}
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
	last.Sig, last.Msg = bytes.Clone(last.Sig), bytes.Clone(last.Msg)
	m.last, m.ok = last, true
	return nil
}

// The guard file holds two slots written alternately, each with a sequence number and a
// CRC over the whole slot, so that a write torn by a crash leaves the other slot intact.
// A slot is a fixed header followed by the signed message:
//
//	magic "WNS2" | seq u64 | height u64 | round u32 | step u8 | signBytes [32] | sig [65] |
//	msgLen u32 | crc32c u32 (of everything before it and the message) | message
//
// Slot 0 starts at offset 0, slot 1 at guardSlotStride (room for the largest message;
// the file is sparse, a vote's slot is a few hundred bytes). Files of the first format
// (before December 2026: two 128-byte slots at 0 and 128, magic "WNSG", no message)
// are still read; the first save in the new format supersedes them by sequence number.
const (
	guardMagic      = "WNS2"
	guardHeaderData = 4 + 8 + 8 + 4 + 1 + 32 + types.SignatureLen + 4
	guardHeaderSize = guardHeaderData + 4
	// guardSlotStride is part of the file format, hence a literal: derived from
	// MaxMessageSize, a larger proposal limit would move slot 1 and a file written before
	// would load from slot 0 alone, one signature behind when slot 1 held the last one.
	guardSlotStride = 8<<20 + 4<<10
	guardMagicV1    = "WNSG"
	guardSlotDataV1 = 4 + 8 + 8 + 4 + 1 + 32 + types.SignatureLen
	guardSlotSizeV1 = 128
)

// A slot must hold the largest message: raising MaxMessageSize past it needs a new
// guard format (this fails to compile then).
var _ [guardSlotStride - guardHeaderSize - MaxMessageSize]struct{}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// FileGuardStore is a GuardStore in a small sparse file: each Save overwrites the older
// of two slots in place and syncs, one fdatasync per signature.
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

// Load reads the newer intact slot (of either format).
func (s *FileGuardStore) Load() (LastSigned, bool, error) {
	var (
		best LastSigned
		ok   bool
	)
	consider := func(l LastSigned, seq uint64) {
		if !ok || seq > s.seq {
			best, ok, s.seq = l, true, seq
		}
	}
	for _, off := range []int64{0, guardSlotStride} {
		l, seq, valid, err := s.readSlot(off)
		if err != nil {
			return LastSigned{}, false, err
		}
		if valid {
			consider(l, seq)
		}
	}
	var v1 [2 * guardSlotSizeV1]byte
	n, err := s.f.ReadAt(v1[:], 0)
	if err != nil && err != io.EOF {
		return LastSigned{}, false, fmt.Errorf("read sign guard: %w", err)
	}
	fromV1 := false
	for i := 0; i < 2 && (i+1)*guardSlotSizeV1 <= n; i++ {
		if l, seq, valid := decodeGuardSlotV1(v1[i*guardSlotSizeV1 : (i+1)*guardSlotSizeV1]); valid {
			if !ok || seq > s.seq {
				fromV1 = true
			}
			consider(l, seq)
		}
	}
	// Slot 0 overlaps both first-format slots: a save there torn by a crash would leave
	// no intact state. The first save after a first-format state goes to slot 1 (an odd
	// sequence number); the one after it, to slot 0, has slot 1 to fall back on.
	if fromV1 && s.seq%2 == 1 {
		s.seq++
	}
	return best, ok, nil
}

// readSlot reads and checks the slot at off; a missing, torn or corrupt slot is not valid.
func (s *FileGuardStore) readSlot(off int64) (LastSigned, uint64, bool, error) {
	var hdr [guardHeaderSize]byte
	if n, err := s.f.ReadAt(hdr[:], off); n < len(hdr) {
		if err != nil && err != io.EOF {
			return LastSigned{}, 0, false, fmt.Errorf("read sign guard: %w", err)
		}
		return LastSigned{}, 0, false, nil
	}
	if string(hdr[:4]) != guardMagic {
		return LastSigned{}, 0, false, nil
	}
	n := binary.BigEndian.Uint32(hdr[guardHeaderData-4:])
	if n > MaxMessageSize {
		return LastSigned{}, 0, false, nil
	}
	msg := make([]byte, n)
	if got, err := s.f.ReadAt(msg, off+guardHeaderSize); got < len(msg) {
		if err != nil && err != io.EOF {
			return LastSigned{}, 0, false, fmt.Errorf("read sign guard: %w", err)
		}
		return LastSigned{}, 0, false, nil
	}
	crc := crc32.Update(crc32.Checksum(hdr[:guardHeaderData], crcTable), crcTable, msg)
	if crc != binary.BigEndian.Uint32(hdr[guardHeaderData:]) {
		return LastSigned{}, 0, false, nil
	}
	l := decodeGuardState(hdr[:])
	if n > 0 {
		l.Msg = msg
	}
	return l, binary.BigEndian.Uint64(hdr[4:]), true, nil
}

// Save writes last into the older slot and syncs.
func (s *FileGuardStore) Save(last LastSigned) error {
	if len(last.Sig) != types.SignatureLen {
		return fmt.Errorf("save sign guard: signature is %d bytes", len(last.Sig))
	}
	if len(last.Msg) > MaxMessageSize {
		return fmt.Errorf("save sign guard: message is %d bytes, limit %d", len(last.Msg), MaxMessageSize)
	}
	s.seq++
	slot := encodeGuardSlot(s.seq, last)
	if _, err := s.f.WriteAt(slot, int64(s.seq%2)*guardSlotStride); err != nil {
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
	b := make([]byte, guardHeaderSize+len(l.Msg))
	copy(b, guardMagic)
	binary.BigEndian.PutUint64(b[4:], seq)
	binary.BigEndian.PutUint64(b[12:], l.Height)
	binary.BigEndian.PutUint32(b[20:], uint32(l.Round))
	b[24] = byte(l.Step)
	copy(b[25:57], l.SignBytes[:])
	copy(b[57:57+types.SignatureLen], l.Sig)
	binary.BigEndian.PutUint32(b[guardHeaderData-4:], uint32(len(l.Msg)))
	copy(b[guardHeaderSize:], l.Msg)
	crc := crc32.Update(crc32.Checksum(b[:guardHeaderData], crcTable), crcTable, l.Msg)
	binary.BigEndian.PutUint32(b[guardHeaderData:], crc)
	return b
}

func decodeGuardSlotV1(b []byte) (LastSigned, uint64, bool) {
	if string(b[:4]) != guardMagicV1 || binary.BigEndian.Uint32(b[guardSlotDataV1:]) != crc32.Checksum(b[:guardSlotDataV1], crcTable) {
		return LastSigned{}, 0, false
	}
	return decodeGuardState(b), binary.BigEndian.Uint64(b[4:]), true
}

// decodeGuardState reads the signed state that both formats' slots carry at the same
// offsets after their magic and sequence number: height, round, step, sign bytes and
// signature.
func decodeGuardState(b []byte) LastSigned {
	l := LastSigned{
		Height: binary.BigEndian.Uint64(b[12:]),
		Round:  int32(binary.BigEndian.Uint32(b[20:])),
		Step:   Step(b[24]),
		Sig:    bytes.Clone(b[57 : 57+types.SignatureLen]),
	}
	copy(l.SignBytes[:], b[25:57])
	return l
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
