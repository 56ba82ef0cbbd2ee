package consensus

import (
	"fmt"
	"math"

	"github.com/ethereum/go-ethereum/rlp"
)

// walKind tags a WAL record.
type walKind uint8

const (
	walReceived walKind = 1 // a message from a peer, written before it is counted
	walOwn      walKind = 2 // a message this validator signed, written (a precommit synced) before it is sent
	walTimeout  walKind = 3 // a round timeout, written before it takes effect
)

// walRecord is one entry of the WAL: RLP [kind, body] with body the wire encoding of the
// message, or RLP [timeoutKind, height, round] for a timeout.
type walRecord struct {
	kind    walKind
	msg     *Message
	timeout Timeout
}

type walRecordRLP struct {
	Kind uint8
	Body []byte
}

type walTimeoutRLP struct {
	Kind   uint8
	Height uint64
	Round  uint32
}

func (r walRecord) height() uint64 {
	if r.kind == walTimeout {
		return r.timeout.Height
	}
	return r.msg.Height()
}

func encodeWALRecord(r walRecord) ([]byte, error) {
	var (
		body []byte
		err  error
	)
	if r.kind == walTimeout {
		body, err = rlp.EncodeToBytes(&walTimeoutRLP{uint8(r.timeout.Kind), r.timeout.Height, uint32(r.timeout.Round)})
	} else {
		body, err = EncodeMessage(r.msg)
	}
	if err != nil {
		return nil, err
	}
	return rlp.EncodeToBytes(&walRecordRLP{uint8(r.kind), body})
}

func decodeWALRecord(b []byte) (walRecord, error) {
	var w walRecordRLP
	if err := rlp.DecodeBytes(b, &w); err != nil {
		return walRecord{}, fmt.Errorf("wal record: %w", err)
	}
	r := walRecord{kind: walKind(w.Kind)}
	switch r.kind {
	case walReceived, walOwn:
		m, err := DecodeMessage(w.Body)
		if err != nil {
			return walRecord{}, fmt.Errorf("wal record: %w", err)
		}
		r.msg = m
	case walTimeout:
		var t walTimeoutRLP
		if err := rlp.DecodeBytes(w.Body, &t); err != nil {
			return walRecord{}, fmt.Errorf("wal timeout record: %w", err)
		}
		if t.Round > math.MaxInt32 {
			return walRecord{}, fmt.Errorf("wal timeout record: round %d out of range", t.Round)
		}
		r.timeout = Timeout{Kind: TimeoutKind(t.Kind), Height: t.Height, Round: int32(t.Round)}
	default:
		return walRecord{}, fmt.Errorf("wal record: unknown kind %d", w.Kind)
	}
	return r, nil
}
