package devkit

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm/metadata"
	"github.com/wnode/wnode/wnodetest"
)

// TestFile is the project's test script.
const TestFile = "test.txt"

// failure is how the kit's Fatalf reaches Test.
type failure struct{ msg string }

// runT is the wnodetest.TB of a test run outside `go test`.
type runT struct{ cleanups []func() }

func (t *runT) Helper()                        {}
func (t *runT) Fatalf(format string, a ...any) { panic(failure{fmt.Sprintf(format, a...)}) }
func (t *runT) Cleanup(f func())               { t.cleanups = append(t.cleanups, f) }

// Test deploys the project's build on an in-memory chain (wnodetest) and runs
// test.txt: each line is "call|invoke METHOD [ARG] => WANT" or "... => revert: MSG",
// ARG and WANT in the formats the method's metadata declares (bytes as hex without it).
// It prints one line per step with its gas, and returns an error naming the first
// failing line.
func (p *Project) Test(w io.Writer) (err error) {
	code, err := os.ReadFile(p.Wasm())
	if err != nil {
		return fmt.Errorf("%w (run wnode build first)", err)
	}
	script, err := os.ReadFile(filepath.Join(p.Dir, TestFile))
	if err != nil {
		return err
	}
	return RunScript(w, code, string(script), TestFile)
}

// RunScript runs a test script (the format of Project.Test) against code.
func RunScript(w io.Writer, code []byte, script, name string) (err error) {
	t := &runT{}
	defer func() {
		for i := len(t.cleanups) - 1; i >= 0; i-- {
			t.cleanups[i]()
		}
	}()
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(failure)
			if !ok {
				panic(r)
			}
			err = fmt.Errorf("%s", f.msg)
		}
	}()
	c := wnodetest.New(t)
	dr := c.DeployReceipt(c.Account(0), code, nil)
	if dr.Status != types.ReceiptSuccess {
		return fmt.Errorf("deploy: %s", dr.Error)
	}
	addr := dr.ContractAddress
	fmt.Fprintf(w, "deploy: ok, gas %d\n", dr.GasUsed)
	var md *metadata.Metadata
	if data, err := metadata.Find(code); err == nil && data != nil {
		md, _ = metadata.Parse(data) // the deploy has checked it
	}
	sc := bufio.NewScanner(strings.NewReader(script))
	line, failed := 0, 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		where := fmt.Sprintf("%s:%d", name, line)
		lhs, want, ok := strings.Cut(text, "=>")
		fields := strings.SplitN(strings.TrimSpace(lhs), " ", 3)
		if !ok || len(fields) < 2 || (fields[0] != "call" && fields[0] != "invoke") {
			return fmt.Errorf("%s: want \"call|invoke METHOD [ARG] => WANT\"", where)
		}
		want = strings.TrimSpace(want)
		method, arg := fields[1], ""
		if len(fields) == 3 {
			arg = fields[2]
		}
		in, out := metadata.Bytes, metadata.Bytes
		if m, ok := md.Method(method); ok {
			in, out = m.Input, m.Output
		}
		args, err := metadata.ParseArg(in, arg)
		if err != nil {
			return fmt.Errorf("%s: argument: %v", where, err)
		}
		var output []byte
		var gas uint64
		var runErr string
		if fields[0] == "call" {
			r := c.Call(addr, method, args)
			output, gas = r.Output, r.GasUsed
			if r.Err != nil {
				runErr = r.Err.Error()
			}
		} else {
			r := c.Invoke(c.Account(0), addr, method, args)
			output, gas, runErr = r.Output, r.GasUsed, r.Error
		}
		got := ""
		if runErr != "" {
			got = runErr // "revert: MSG" for a revert
		} else if got, err = metadata.FormatOutput(out, output); err != nil {
			got = err.Error()
		}
		if got == want {
			fmt.Fprintf(w, "%s: ok, gas %d\n", where, gas)
			continue
		}
		failed++
		fmt.Fprintf(w, "%s: FAIL: %s %s: got %q, want %q\n", where, fields[0], method, got, want)
	}
	if failed > 0 {
		return fmt.Errorf("%d of the steps of %s failed", failed, name)
	}
	return nil
}
