// Package statesync is state sync: a node takes snapshots of its state every few blocks
// and serves them to peers (Snapshots, a p2p.SnapshotSource), and a node joining the
// network rebuilds its state from a peer's snapshot instead of replaying every block
// since genesis (Sync), after checking the snapshot against a header certified by the
// trusted validator set. As CometBFT's statesync, with the snapshot format of package
// state (docs/spec/wire.md, "State snapshots").
package statesync

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"golang.org/x/time/rate"

	"github.com/wnode/wnode/p2p"
	"github.com/wnode/wnode/state"
)

// Defaults of SnapshotOptions.
const (
	DefaultInterval = 1000
	DefaultKeep     = 2
	// DefaultBytesPerSecond paces a snapshot: a state of 10^6 keys (62 MiB) takes about
	// 30 s, well within the default interval, and takes a small share of a core away
	// from block execution instead of a whole one (docs/rationale/statesync.md).
	DefaultBytesPerSecond = 2 << 20
	// MinBytesPerSecond is the slowest pace a snapshot may be given: a state of 62 MiB
	// takes about 16 min at it, the time of the default interval at 1 block a second.
	MinBytesPerSecond = 64 << 10
)

// SnapshotOptions configure Snapshots.
type SnapshotOptions struct {
	// Interval: a snapshot is taken of every height that is a multiple of it (0:
	// DefaultInterval).
	Interval uint64
	// Keep is how many snapshots are kept, the newest (0: DefaultKeep).
	Keep int
	// BytesPerSecond paces the export (0: DefaultBytesPerSecond, negative: as fast as it
	// goes); a positive pace below MinBytesPerSecond is an error.
	BytesPerSecond int
	Logger         *slog.Logger
}

// Snapshots are the snapshots a node took, in a directory: one subdirectory per height
// holding the manifest and one file per chunk, written under a temporary name and renamed
// when complete, so a crash never leaves a snapshot that looks whole. It serves them on
// /wnode/snapshot/1 (it is a p2p.SnapshotSource). Safe for concurrent use.
type Snapshots struct {
	dir  string
	st   *state.Store
	opts SnapshotOptions
	log  *slog.Logger

	mu      sync.Mutex
	list    []snapshot // newest first
	running bool
	wg      sync.WaitGroup
	taken   []Taken // the last few, for measurements
}

type snapshot struct {
	info     p2p.SnapshotInfo
	manifest []byte
}

// Taken records one snapshot taken: its height, size and how long it took.
type Taken struct {
	Height uint64
	Chunks int
	Bytes  int64
	Pairs  uint64
	Took   time.Duration
	Err    error
}

// OpenSnapshots opens (creating it) the snapshot directory dir of the state st: it drops
// what an interrupted snapshot left and the snapshots beyond Keep.
func OpenSnapshots(dir string, st *state.Store, opts SnapshotOptions) (*Snapshots, error) {
	if opts.Interval == 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Keep <= 0 {
		opts.Keep = DefaultKeep
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.BytesPerSecond == 0 {
		opts.BytesPerSecond = DefaultBytesPerSecond
	}
	if opts.BytesPerSecond > 0 && opts.BytesPerSecond < MinBytesPerSecond {
		return nil, fmt.Errorf("statesync: a snapshot pace of %d bytes a second: the least is %d (or negative: unpaced)", opts.BytesPerSecond, MinBytesPerSecond)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("statesync: %w", err)
	}
	s := &Snapshots{dir: dir, st: st, opts: opts, log: opts.Logger}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("statesync: %w", err)
	}
	for _, e := range ents {
		h, err := strconv.ParseUint(e.Name(), 10, 64)
		if err != nil || !e.IsDir() {
			// An interrupted snapshot (height.tmp) or a stranger: remove it.
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return nil, fmt.Errorf("statesync: %w", err)
			}
			continue
		}
		b, err := readBounded(filepath.Join(dir, e.Name(), "manifest"), state.MaxSnapshotManifestSize)
		var m *state.Manifest
		if err == nil {
			m, err = state.DecodeManifest(b)
		}
		if err != nil || m.Height != h {
			s.log.Warn("statesync: dropping an unreadable snapshot", "height", h, "err", err)
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return nil, fmt.Errorf("statesync: %w", err)
			}
			continue
		}
		s.list = append(s.list, snapshot{info: info(m, b), manifest: b})
	}
	slices.SortFunc(s.list, func(a, b snapshot) int { return cmp.Compare(b.info.Height, a.info.Height) })
	if err := s.prune(); err != nil {
		return nil, err
	}
	return s, nil
}

func info(m *state.Manifest, enc []byte) p2p.SnapshotInfo {
	return p2p.SnapshotInfo{Height: m.Height, Format: m.Format, Chunks: uint64(len(m.ChunkHashes)), ManifestHash: crypto.Keccak256Hash(enc)}
}

func readBounded(path string, limit int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > int64(limit) {
		return nil, fmt.Errorf("%s: %d bytes exceed %d", path, fi.Size(), limit)
	}
	b := make([]byte, fi.Size())
	if _, err := f.ReadAt(b, 0); err != nil && fi.Size() > 0 {
		return nil, err
	}
	return b, nil
}

// prune removes the snapshots beyond Keep.
func (s *Snapshots) prune() error {
	s.mu.Lock()
	var drop []snapshot
	if len(s.list) > s.opts.Keep {
		drop = slices.Clone(s.list[s.opts.Keep:])
		s.list = s.list[:s.opts.Keep]
	}
	s.mu.Unlock()
	for _, d := range drop {
		if err := os.RemoveAll(filepath.Join(s.dir, strconv.FormatUint(d.info.Height, 10))); err != nil {
			return fmt.Errorf("statesync: remove snapshot %d: %w", d.info.Height, err)
		}
	}
	return nil
}

// Committed tells Snapshots that height was committed: at a multiple of Interval it
// starts taking a snapshot of it in the background, unless one is still being taken
// (then this height is skipped). It returns at once; block commits never wait for a
// snapshot, which reads a pinned Pebble snapshot of the version (state.Store.Export).
func (s *Snapshots) Committed(ctx context.Context, height uint64) {
	if height == 0 || height%s.opts.Interval != 0 {
		return
	}
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		s.log.Warn("statesync: snapshot still running, skipping height", "height", height)
		return
	}
	s.running = true
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		_, err := s.Take(ctx, height)
		s.mu.Lock()
		s.running = false
		s.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			s.log.Error("statesync: snapshot failed", "height", height, "err", err)
		}
	}()
}

// Wait waits for a snapshot started by Committed to end.
func (s *Snapshots) Wait() { s.wg.Wait() }

// BytesPerSecond is the pace of the snapshots' export (SnapshotOptions.BytesPerSecond
// with its default filled in): negative when they are not paced.
func (s *Snapshots) BytesPerSecond() int { return s.opts.BytesPerSecond }

// History returns the snapshots taken by this process, oldest first.
func (s *Snapshots) History() []Taken {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.taken)
}

// Take takes the snapshot of height now and keeps it (replacing one of the same height).
func (s *Snapshots) Take(ctx context.Context, height uint64) (*state.Manifest, error) {
	start := time.Now()
	t := Taken{Height: height}
	m, err := s.take(ctx, height, &t)
	t.Took, t.Err = time.Since(start), err
	s.mu.Lock()
	s.taken = append(s.taken, t)
	if len(s.taken) > 16 {
		s.taken = s.taken[1:]
	}
	s.mu.Unlock()
	if err == nil {
		s.log.Info("statesync: snapshot taken", "height", height, "chunks", t.Chunks, "bytes", t.Bytes, "pairs", t.Pairs, "took", t.Took.Round(time.Millisecond))
	}
	return m, err
}

func (s *Snapshots) take(ctx context.Context, height uint64, t *Taken) (*state.Manifest, error) {
	name := strconv.FormatUint(height, 10)
	tmp := filepath.Join(s.dir, name+".tmp")
	if err := os.RemoveAll(tmp); err != nil {
		return nil, fmt.Errorf("statesync: %w", err)
	}
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("statesync: %w", err)
	}
	fail := func(err error) (*state.Manifest, error) {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("statesync: snapshot %d: %w", height, err)
	}
	i := 0
	var pace *rate.Limiter
	if s.opts.BytesPerSecond > 0 {
		pace = rate.NewLimiter(rate.Limit(s.opts.BytesPerSecond), max(s.opts.BytesPerSecond, state.MaxSnapshotChunkSize))
	}
	m, err := s.st.Export(ctx, height, func(chunk []byte) error {
		if pace != nil {
			if err := pace.WaitN(ctx, len(chunk)); err != nil {
				return err
			}
		}
		t.Bytes += int64(len(chunk))
		err := os.WriteFile(filepath.Join(tmp, strconv.Itoa(i)), chunk, 0o644)
		i++
		return err
	})
	if err != nil {
		return fail(err)
	}
	t.Chunks, t.Pairs = len(m.ChunkHashes), m.Pairs
	enc := m.Encode()
	if err := writeSynced(filepath.Join(tmp, "manifest"), enc); err != nil {
		return fail(err)
	}
	final := filepath.Join(s.dir, name)
	s.mu.Lock()
	s.list = slices.DeleteFunc(s.list, func(x snapshot) bool { return x.info.Height == height })
	s.mu.Unlock()
	if err := os.RemoveAll(final); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return fail(err)
	}
	s.mu.Lock()
	s.list = append(s.list, snapshot{info: info(m, enc), manifest: enc})
	slices.SortFunc(s.list, func(a, b snapshot) int { return cmp.Compare(b.info.Height, a.info.Height) })
	s.mu.Unlock()
	return m, s.prune()
}

func writeSynced(path string, b []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}

// Snapshots lists the kept snapshots, newest first (p2p.SnapshotSource).
func (s *Snapshots) Snapshots() []p2p.SnapshotInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]p2p.SnapshotInfo, len(s.list))
	for i, x := range s.list {
		out[i] = x.info
	}
	return out
}

// Manifest returns the encoded manifest of the snapshot at height, nil if not kept.
func (s *Snapshots) Manifest(height uint64) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.list {
		if x.info.Height == height {
			return bytes.Clone(x.manifest), nil
		}
	}
	return nil, nil
}

// Chunk returns chunk index of the snapshot at height, nil if not kept.
func (s *Snapshots) Chunk(height, index uint64) ([]byte, error) {
	s.mu.Lock()
	var found *p2p.SnapshotInfo
	for _, x := range s.list {
		if x.info.Height == height {
			found = &x.info
		}
	}
	s.mu.Unlock()
	if found == nil || index >= found.Chunks {
		return nil, nil
	}
	b, err := readBounded(filepath.Join(s.dir, strconv.FormatUint(height, 10), strconv.FormatUint(index, 10)), state.MaxSnapshotChunkSize)
	if errors.Is(err, fs.ErrNotExist) { // pruned meanwhile
		return nil, nil
	}
	return b, err
}
