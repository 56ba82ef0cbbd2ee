package consensus

import (
	"os"
	"testing"
)

// TestFileWALAppendStartSyncReportsSync: the wait of AppendStartSync returns the result
// of the sync it started, not before it: on a file whose sync fails (/dev/null, which
// does not support synchronization), wait returns the error. A wait that did not wait for
// the background fdatasync would return nil here, and a precommit would leave before its
// WAL record is durable. Linux only: fdatasync of a character device fails with EINVAL
// there; if it ever stops failing the test says so instead of passing.
func TestFileWALAppendStartSyncReportsSync(t *testing.T) {
	f, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if syncData(f) == nil {
		f.Close()
		t.Fatal("fdatasync of /dev/null succeeded: the test needs a file whose sync fails")
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
