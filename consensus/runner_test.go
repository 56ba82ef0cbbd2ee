package consensus

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wnode/wnode/types"
)

// notifyApp wraps testApp to signal every commit on a channel.
type notifyApp struct {
	*testApp
	commits chan uint64
}

func (a *notifyApp) Commit(ctx context.Context, h uint64, b []byte, c *types.Commit) error {
	if err := a.testApp.Commit(ctx, h, b, c); err != nil {
		return err
	}
	select {
	case a.commits <- h:
	default:
	}
	return nil
}

func fastConfig(vals *types.ValidatorSet) Config {
	c := DefaultConfig(testChainID)
	c.TimeoutPropose, c.TimeoutProposeDelta = 200*time.Millisecond, 100*time.Millisecond
	c.TimeoutPrevote, c.TimeoutPrevoteDelta = 100*time.Millisecond, 50*time.Millisecond
	c.TimeoutPrecommit, c.TimeoutPrecommitDelta = 100*time.Millisecond, 50*time.Millisecond
	c.MinBlockInterval, c.Heartbeat = time.Millisecond, 20*time.Millisecond
	c.RebroadcastInterval = 50 * time.Millisecond
	return c
}

// waitHeight waits until every app has committed height h, or fails after the deadline.
func waitHeight(t *testing.T, apps []*notifyApp, h uint64, deadline time.Duration) {
	t.Helper()
	timeout := time.After(deadline)
	for _, a := range apps {
		for a.height() < h {
			select {
			case <-a.commits:
			case <-timeout:
				t.Fatalf("height %d not reached in %v (at %d)", h, deadline, a.height())
			}
		}
	}
}

// TestRunnerDev runs a single-validator chain on the wall clock with files, as the node
// does in --dev mode: every height commits on its own, and a restart resumes.
func TestRunnerDev(t *testing.T) {
	keys := testKeys(t, 1)
	vals := testValidators(t, keys, equalPowers(1))
	dir := t.TempDir()
	app := &notifyApp{testApp: newTestApp(vals), commits: make(chan uint64, 16)}
	app.pending = true
	run := func(heights uint64) {
		wal, err := OpenWAL(filepath.Join(dir, "consensus.wal"), FileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer wal.Close()
		guard, err := OpenFileGuardStore(filepath.Join(dir, "guard"), FileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer guard.Close()
		h, c := app.last()
		r, err := NewRunner(DevConfig(testChainID), Deps{App: app, Signer: NewKeySigner(keys[0]), Guard: guard,
			WAL: wal, Broadcaster: &captureBroadcaster{}}, h, c)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		for range heights {
			app.mu.Lock()
			app.pending = true
			app.mu.Unlock()
			r.TxsAvailable()
			waitHeight(t, []*notifyApp{app}, app.height()+1, 10*time.Second)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
		// The last commit's sync was not waited for by a signature (the next height waits
		// for the heartbeat): Run must wait for it before it returns, since the node
		// closes the database then.
		app.mu.Lock()
		durable, committed := app.durable, len(app.committed)
		app.mu.Unlock()
		if durable != committed {
			t.Fatalf("Run returned with blocks %d..%d not durable", durable+1, committed)
		}
		if st := r.Status(); st.Height != app.height()+1 {
			t.Errorf("status height %d, app at %d", st.Height, app.height())
		}
	}
	run(5)
	run(3) // restart on the same files
	if got := app.height(); got < 8 {
		t.Fatalf("height %d after two runs", got)
	}
	for _, c := range app.committed {
		if err := c.commit.Verify(testChainID, vals); err != nil {
			t.Fatalf("height %d: %v", c.height, err)
		}
	}
}

// loopback delivers every broadcast to the other Runners, asynchronously.
type loopback struct {
	mu      sync.Mutex
	runners []*Runner
	from    int
}

func (l *loopback) Broadcast(m *Message) {
	l.mu.Lock()
	rs := l.runners
	l.mu.Unlock()
	for i, r := range rs {
		if i != l.from {
			r.Deliver(m)
		}
	}
}

// TestRunnerNetwork runs four validators on the wall clock, connected in memory,
// concurrently (run with -race), and checks they agree on the first heights.
func TestRunnerNetwork(t *testing.T) {
	const n = 4
	keys := testKeys(t, n)
	vals := testValidators(t, keys, equalPowers(n))
	var (
		apps    []*notifyApp
		runners []*Runner
		links   []*loopback
	)
	for i := range n {
		app := &notifyApp{testApp: newTestApp(vals), commits: make(chan uint64, 64)}
		link := &loopback{from: i}
		r, err := NewRunner(fastConfig(vals), Deps{App: app, Signer: NewKeySigner(keys[i]), Guard: &MemGuardStore{},
			WAL: &memWAL{}, Broadcaster: link}, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		apps, runners, links = append(apps, app), append(runners, r), append(links, link)
	}
	for _, l := range links {
		l.mu.Lock()
		l.runners = runners
		l.mu.Unlock()
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for _, r := range runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- r.Run(ctx)
		}()
	}
	waitHeight(t, apps, 5, 20*time.Second)
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for h := range 5 {
		want := apps[0].committed[h].commit.BlockHash
		for i, a := range apps {
			if got := a.committed[h].commit.BlockHash; got != want {
				t.Fatalf("height %d: node %d committed %s, node 0 %s", h+1, i, got, want)
			}
		}
	}
	// Block sync through the Runner: a fifth, non-voting node catches up from the blocks.
	follower := &notifyApp{testApp: newTestApp(vals), commits: make(chan uint64, 8)}
	fr, err := NewRunner(fastConfig(vals), Deps{App: follower, WAL: &memWAL{}, Broadcaster: &captureBroadcaster{}}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	fctx, fcancel := context.WithCancel(context.Background())
	defer fcancel()
	done := make(chan error, 1)
	go func() { done <- fr.Run(fctx) }()
	for _, c := range apps[0].committed[:5] {
		if err := fr.ApplySyncedBlock(fctx, c.block, c.commit); err != nil {
			t.Fatalf("sync height %d: %v", c.height, err)
		}
	}
	if err := fr.ApplySyncedBlock(fctx, apps[0].committed[0].block, apps[0].committed[0].commit); !errors.Is(err, ErrAlreadyDecided) {
		t.Fatalf("re-sync of height 1: %v", err)
	}
	if st := fr.Status(); st.Height != 6 {
		t.Fatalf("follower at height %d", st.Height)
	}
	fcancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestNewRejects(t *testing.T) {
	keys := testKeys(t, 1)
	vals := testValidators(t, keys, equalPowers(1))
	deps := Deps{App: newTestApp(vals), WAL: &memWAL{}, Broadcaster: &captureBroadcaster{}, Clock: newManualClock()}
	bad := map[string]func(*Config, *Deps){
		"no validators":     func(_ *Config, d *Deps) { d.App = newTestApp(nil) },
		"zero timeout":      func(c *Config, _ *Deps) { c.TimeoutPrevote = 0 },
		"negative delta":    func(c *Config, _ *Deps) { c.TimeoutProposeDelta = -1 },
		"interval > beat":   func(c *Config, _ *Deps) { c.MinBlockInterval = c.Heartbeat + 1 },
		"no evidence room":  func(c *Config, _ *Deps) { c.MaxEvidence = 0 },
		"no wal":            func(_ *Config, d *Deps) { d.WAL = nil },
		"signer, no guard":  func(_ *Config, d *Deps) { d.Signer = NewKeySigner(keys[0]) },
		"no clock":          func(_ *Config, d *Deps) { d.Clock = nil },
		"no broadcaster":    func(_ *Config, d *Deps) { d.Broadcaster = nil },
		"no app":            func(_ *Config, d *Deps) { d.App = nil },
		"commit of another": nil,
	}
	for name, mut := range bad {
		cfg, d := DefaultConfig(testChainID), deps
		last := uint64(0)
		if mut == nil {
			last = 3 // without the commit of height 3
		} else {
			mut(&cfg, &d)
		}
		if _, err := New(cfg, d, last, nil); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: got %v, want ErrConfig", name, err)
		}
	}
	st, err := New(DefaultConfig(testChainID), deps, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.HandleMessage(context.Background(), &Message{}); !errors.Is(err, ErrNotStarted) {
		t.Fatalf("before Start: %v", err)
	}
}

func TestTimeoutGrowthCapped(t *testing.T) {
	c := DefaultConfig(testChainID)
	if got := c.ProposeTimeout(0); got != time.Second {
		t.Fatalf("round 0: %v", got)
	}
	if got := c.ProposeTimeout(4); got != 3*time.Second {
		t.Fatalf("round 4: %v", got)
	}
	for _, r := range []int32{300, 1 << 20, 1<<31 - 1} {
		if got := c.PrecommitTimeout(r); got != c.MaxTimeout {
			t.Fatalf("round %d: %v, want the cap %v", r, got, c.MaxTimeout)
		}
	}
	prev := time.Duration(0)
	for r := int32(0); r < 300; r++ {
		d := c.PrevoteTimeout(r)
		if d < prev {
			t.Fatalf("timeout shrinks at round %d", r)
		}
		prev = d
	}
}

// TestConfigErrorDeterministic: with several fields wrong, the error names the same one
// (the first in the documented order) on every run, not a random one.
func TestConfigErrorDeterministic(t *testing.T) {
	cfg := DefaultConfig(testChainID)
	cfg.TimeoutPropose, cfg.TimeoutPrevote, cfg.TimeoutPrecommit, cfg.Heartbeat = 0, 0, 0, 0
	cfg.TimeoutProposeDelta, cfg.MinBlockInterval = -1, -1
	for range 50 {
		err := cfg.validate()
		if err == nil || !strings.Contains(err.Error(), "TimeoutPropose must be positive") {
			t.Fatalf("got %v, want the TimeoutPropose error every time", err)
		}
	}
	cfg = DefaultConfig(testChainID)
	cfg.TimeoutPrevoteDelta, cfg.TimeoutPrecommitDelta, cfg.MinBlockInterval = -1, -1, -1
	for range 50 {
		if err := cfg.validate(); err == nil || !strings.Contains(err.Error(), "TimeoutPrevoteDelta") {
			t.Fatalf("got %v, want the TimeoutPrevoteDelta error every time", err)
		}
	}
}
