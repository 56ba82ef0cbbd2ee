package types

// Contract storage limits, part of the consensus rules: the largest key and value one
// contract storage slot holds. The VM's storage host functions trap on anything larger
// before the state sees it; genesis refuses it; the state re-checks it and records a
// sticky error, so an oversized pair can never reach the tree. Defined here, below all
// three, so that they share one definition.
const (
	// MaxStorageKeySize is the largest contract storage key in bytes.
	MaxStorageKeySize = 256
	// MaxStorageValueSize is the largest contract storage value in bytes (64 KiB).
	MaxStorageValueSize = 64 << 10
)
