package consensus

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// MaxWALRecordSize bounds one WAL record: a message of MaxMessageSize plus the record's
// own envelope. A frame announcing more is treated as corruption.
const MaxWALRecordSize = MaxMessageSize + 1024

const walFrameHeader = 8 // length u32 | crc32c u32 of the payload

// FileWAL is a WAL in one append-only file of frames
//
//	length u32 (big endian) | crc32c(payload) u32 | payload
//
// Opening it drops a torn or corrupt tail (a crash mid-write), truncating the file at
// the last intact frame so that new records never follow garbage. Append with sync
// syncs (fdatasync, about 0.3 ms on an SSD). Reset truncates the file only once it holds
// more than walTruncateAbove bytes: records of a decided height are ignored by replay
// anyway (which is also why the truncation needs no sync of its own), and truncating a
// file whose blocks were just synced costs ext4 a wait for its journal on the critical
// path of every height. Not safe for concurrent use.
type FileWAL struct {
	f             *os.File
	size          int64
	opts          FileOptions
	truncateAbove int64
}

// walTruncateAbove is the size above which Reset truncates the WAL: a thousand heights
// at 1,000 tx/s; reading and decoding that much at a restart takes about 0.2 s.
const walTruncateAbove = 16 << 20

// OpenWAL opens or creates the WAL at path and repairs a torn tail.
func OpenWAL(path string, opts FileOptions) (*FileWAL, error) {
	f, err := openDurable(path, opts)
	if err != nil {
		return nil, fmt.Errorf("open wal: %w", err)
	}
	w := &FileWAL{f: f, opts: opts, truncateAbove: walTruncateAbove}
	_, good, err := w.scan(false)
	if err != nil {
		f.Close()
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat wal: %w", err)
	}
	if fi.Size() != good {
		if err := f.Truncate(good); err != nil {
			f.Close()
			return nil, fmt.Errorf("truncate torn wal tail: %w", err)
		}
		if !opts.NoSync {
			if err := syncData(f); err != nil {
				f.Close()
				return nil, fmt.Errorf("sync wal: %w", err)
			}
		}
	}
	w.size = good
	return w, nil
}

// scan reads frames from the start and returns their payloads (if keep) and the offset
// just after the last intact one.
func (w *FileWAL) scan(keep bool) ([][]byte, int64, error) {
	r := bufio.NewReaderSize(io.NewSectionReader(w.f, 0, 1<<62), 64<<10)
	var (
		recs [][]byte
		off  int64
		hdr  [walFrameHeader]byte
	)
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return recs, off, nil
			}
			return nil, 0, fmt.Errorf("read wal: %w", err)
		}
		n := binary.BigEndian.Uint32(hdr[:4])
		if n > MaxWALRecordSize {
			return recs, off, nil
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(r, payload); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return recs, off, nil
			}
			return nil, 0, fmt.Errorf("read wal: %w", err)
		}
		if crc32.Checksum(payload, crcTable) != binary.BigEndian.Uint32(hdr[4:]) {
			return recs, off, nil
		}
		if keep {
			recs = append(recs, payload)
		}
		off += walFrameHeader + int64(n)
	}
}

// ReadAll returns every record in order.
func (w *FileWAL) ReadAll() ([][]byte, error) {
	recs, _, err := w.scan(true)
	return recs, err
}

// Append writes one record at the end of the log, and syncs (fdatasync) when sync is set.
func (w *FileWAL) Append(rec []byte, sync bool) error {
	if len(rec) > MaxWALRecordSize {
		return fmt.Errorf("wal record of %d bytes exceeds %d", len(rec), MaxWALRecordSize)
	}
	buf := make([]byte, walFrameHeader+len(rec))
	binary.BigEndian.PutUint32(buf, uint32(len(rec)))
	binary.BigEndian.PutUint32(buf[4:], crc32.Checksum(rec, crcTable))
	copy(buf[walFrameHeader:], rec)
	if _, err := w.f.WriteAt(buf, w.size); err != nil {
		return fmt.Errorf("append wal: %w", err)
	}
	w.size += int64(len(buf))
	if sync && !w.opts.NoSync {
		if err := syncData(w.f); err != nil {
			return fmt.Errorf("sync wal: %w", err)
		}
	}
	return nil
}

// AppendStartSync writes rec at the end of the log like Append and starts syncing the
// file (fdatasync) in the background; wait, to be called once, returns when rec and every
// earlier record are durable. No other method may be called before wait returned.
func (w *FileWAL) AppendStartSync(rec []byte) (wait func() error, err error) {
	if err := w.Append(rec, false); err != nil {
		return nil, err
	}
	if w.opts.NoSync {
		return func() error { return nil }, nil
	}
	done := make(chan error, 1)
	go func() { done <- syncData(w.f) }()
	return func() error {
		if err := <-done; err != nil {
			return fmt.Errorf("sync wal: %w", err)
		}
		return nil
	}, nil
}

// Reset drops the records of the height just committed: it truncates the log once it
// holds more than walTruncateAbove bytes, after durable returns, and otherwise keeps
// them for replay to skip.
func (w *FileWAL) Reset(durable func() error) error {
	if w.size <= w.truncateAbove {
		return nil
	}
	if err := durable(); err != nil {
		return fmt.Errorf("reset wal: %w", err)
	}
	if err := w.f.Truncate(0); err != nil {
		return fmt.Errorf("reset wal: %w", err)
	}
	w.size = 0
	return nil
}

// Size returns the length of the log file in bytes.
func (w *FileWAL) Size() int64 { return w.size }

// Close closes the file.
func (w *FileWAL) Close() error { return w.f.Close() }
