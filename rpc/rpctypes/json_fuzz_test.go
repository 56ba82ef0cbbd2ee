package rpctypes

import (
	"encoding/json"
	"testing"
)

// FuzzAddressParam: a JSON address parameter is accepted exactly when ParseAddress
// accepts the string (one parser for JSON-RPC and the gateway), with the same address;
// CallArgs and EventFilter decode their addresses the same way and never panic.
func FuzzAddressParam(f *testing.F) {
	for _, s := range []string{
		"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
		"0xF39FD6E51AAD88F6F4CE6AB8827279CFFFB92266", "0xf39fd6e51aad88F6F4ce6aB8827279cffFb92266",
		"f39fd6e51aad88f6f4ce6ab8827279cfffb92266", "0x", "", "0xzz",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		raw, _ := json.Marshal(s)
		var a AddressParam
		jerr := json.Unmarshal(raw, &a)
		want, perr := ParseAddress(s)
		if (jerr == nil) != (perr == nil) || jerr == nil && [20]byte(a) != [20]byte(want) {
			t.Fatalf("%q: JSON %v (%x), ParseAddress %v (%x)", s, jerr, a, perr, want)
		}
		var ca CallArgs
		cerr := json.Unmarshal([]byte(`{"to":`+string(raw)+`,"method":"m"}`), &ca)
		if (cerr == nil) != (perr == nil) || cerr == nil && (ca.To == nil || *ca.To != want || ca.Method != "m") {
			t.Fatalf("%q: CallArgs %v %+v, ParseAddress %v", s, cerr, ca, perr)
		}
		var ef EventFilter
		eerr := json.Unmarshal([]byte(`{"contracts":[`+string(raw)+`]}`), &ef)
		if (eerr == nil) != (perr == nil) || eerr == nil && (len(ef.Contracts) != 1 || ef.Contracts[0] != want) {
			t.Fatalf("%q: EventFilter %v %+v, ParseAddress %v", s, eerr, ef, perr)
		}
	})
}
