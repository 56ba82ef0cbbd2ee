//go:build !js

package state

import (
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestCommitNoSyncAndSync checks, on a file system that keeps only what was synced when
// it "crashes", that a CommitNoSync is readable at once but lost in a crash before Sync,
// that Sync makes it durable (with every earlier unsynced commit), and that a crash keeps
// a prefix of the commits, never one without those before it.
func TestCommitNoSyncAndSync(t *testing.T) {
	fs := vfs.NewCrashableMem()
	open := func(fs vfs.FS) (*pebble.DB, *Store) {
		t.Helper()
		o := PebbleOptions(fs)
		defer o.Cache.Unref()
		db, err := pebble.Open("db", o)
		if err != nil {
			t.Fatal(err)
		}
		s, err := New(db, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return db, s
	}
	commit := func(s *Store, h uint64, sync bool) {
		t.Helper()
		u, err := s.Prepare(h, []Change{{Key: fmt.Appendf(nil, "k%d", h), Value: []byte("v")}})
		if err != nil {
			t.Fatal(err)
		}
		if sync {
			err = s.Commit(u, nil)
		} else {
			err = s.CommitNoSync(u, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	db, s := open(fs)
	commit(s, 0, true)
	commit(s, 1, false)
	commit(s, 2, false)
	if h, _ := s.Latest(); h != 2 {
		t.Fatalf("latest %d after two unsynced commits, want 2", h)
	}
	if _, err := s.Reader(2); err != nil {
		t.Fatalf("unsynced version not readable: %v", err)
	}
	crashed := fs.CrashClone(vfs.CrashCloneCfg{})
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	commit(s, 3, false)
	synced := fs.CrashClone(vfs.CrashCloneCfg{})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		fs   vfs.FS
		want uint64
	}{{"crash before Sync", crashed, 0}, {"crash after Sync", synced, 2}} {
		db, s := open(c.fs)
		h, root := s.Latest()
		if h != c.want {
			t.Errorf("%s: latest %d, want %d", c.name, h, c.want)
		}
		if v, err := s.Reader(h); err != nil || v.Root() != root {
			t.Errorf("%s: version %d not readable whole: %v", c.name, h, err)
		}
		db.Close()
	}
}
