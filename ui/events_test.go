package ui_test

import (
	"context"
	"encoding/binary"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wnode/wnode/client"
	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm/metadata"
)

// TestEventsDecoded: a contract whose metadata describes its event topics has its events
// shown decoded on the transaction page (a u64 as a number, text as escaped text), an
// event whose data is not of the declared format raw with the mismatch named, and an
// undescribed topic raw. The echo contract emits its input as both topic and data.
func TestEventsDecoded(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code, err := os.ReadFile("testdata/echo.wasm")
	if err != nil {
		t.Fatal(err)
	}
	meta := "v1 method echo change bytes bytes Emits and returns its input.\n" +
		"v1 event counter! u64 The count.\n" +
		"v1 event <b>x</b> text Markup, shown as text.\n" +
		"v1 event short u64 Declared u64, emitted with 5 bytes.\n"
	if code, err = metadata.Set(code, []byte(meta), false); err != nil {
		t.Fatal(err)
	}
	_, r, err := fx.c.Transact(ctx, genesis.DevKey(), &client.TxRequest{Kind: types.TxDeploy, Code: code})
	if err != nil || r.ContractAddress == nil {
		t.Fatalf("deploy echo with event metadata: %v %+v", err, r)
	}
	echo := *r.ContractAddress
	page := func(input string) string {
		t.Helper()
		tx, r, err := fx.c.Transact(ctx, genesis.DevKey(), &client.TxRequest{Kind: types.TxInvoke, To: echo, Method: "echo", Args: []byte(input)})
		if err != nil || len(r.Events) != 1 {
			t.Fatalf("echo %q: %v %+v", input, err, r)
		}
		resp, body := fetch(t, "GET", "/ui/tx/"+tx.Hash().Hex())
		if resp.StatusCode != 200 {
			t.Fatalf("tx page of echo %q: %d", input, resp.StatusCode)
		}
		i := strings.Index(body, `id="events"`)
		if i < 0 {
			t.Fatalf("tx page of echo %q has no events table", input)
		}
		return body[i:]
	}

	n := strconv.FormatUint(binary.BigEndian.Uint64([]byte("counter!")), 10)
	if ev := page("counter!"); !strings.Contains(ev, `<pre class="text ev-decoded">`+n+`</pre>`) || !strings.Contains(ev, "u64, as the contract's metadata") || !strings.Contains(ev, "The count.") {
		t.Errorf("u64 event not decoded to %s: %.1500s", n, ev)
	}
	if ev := page("<b>x</b>"); !strings.Contains(ev, `<pre class="text ev-decoded">&lt;b&gt;x&lt;/b&gt;</pre>`) || strings.Contains(ev, "<b>") {
		t.Errorf("text event not shown as escaped text: %.1500s", ev)
	}
	if ev := page("short"); strings.Contains(ev, "ev-decoded") || !strings.Contains(ev, `not what the metadata says: output 0x73686f7274 is not 8 bytes (format u64)`) {
		t.Errorf("u64 event of 5 bytes: %.1500s", ev)
	}
	if ev := page("other"); strings.Contains(ev, "ev-decoded") || strings.Contains(ev, "ev-mismatch") || !strings.Contains(ev, `<pre class="text">other</pre>`) {
		t.Errorf("undescribed topic: %.1500s", ev)
	}
}
