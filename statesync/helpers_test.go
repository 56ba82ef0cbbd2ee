package statesync

import (
	"os"
	"path/filepath"
)

func mkdirAll(dir, name string) error { return os.MkdirAll(filepath.Join(dir, name), 0o755) }

func exists(dir, name string) bool {
	_, err := os.Stat(filepath.Join(dir, name))
	return err == nil
}
