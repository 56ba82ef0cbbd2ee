package consensus

import (
	"os"
	"runtime"
	"testing"
)

// TestFileWALAppendStartSyncReportsSync: the wait of AppendStartSync returns the result
// of the sync it started, not before it: on a file whose sync fails (/dev/null, which
// does not support synchronization), wait returns the error. A wait that did not wait for
// the background fdatasync would return nil here, and a precommit would leave before its
// WAL record is durable.
func TestFileWALAppendStartSyncReportsSync(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("relies on fdatasync failing on /dev/null (Linux)")
	}
	f, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Skip(err)
	}
	if syncData(f) == nil {
		f.Close()
		t.Skip("syncing /dev/null does not fail here")
	}
	w := &FileWAL{f: f, truncateAbove: walTruncateAbove}
	defer w.Close()
	wait, err := w.AppendStartSync(walRecords(1)[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := wait(); err == nil {
		t.Fatal("wait returned nil although the sync it started failed")
	}
	// With NoSync there is nothing to wait for.
	w.opts.NoSync = true
	if wait, err = w.AppendStartSync(walRecords(1)[0]); err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Fatalf("NoSync: %v", err)
	}
}
