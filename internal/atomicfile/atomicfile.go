// Package atomicfile writes small files so that a crash leaves either the old or the
// new content, never a mix: the node key, the genesis, localnet configs, the known
// peers and the light client's trust store.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write writes data to path with permissions perm through a temporary file in the same
// directory, synced, then renamed over path. On error path is unchanged and the
// temporary file is removed.
func Write(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
