package main

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// Every flag of every command can be set from the environment, by the variable the rule
// gives (envVar), and one variable means one flag name everywhere.
func TestEveryFlagHasItsEnvVar(t *testing.T) {
	app := newApp(nil, io.Discard, io.Discard)
	byVar := map[string]string{} // variable -> flag name
	flags := map[cli.Flag]bool{}
	var walk func(path string, cmds []*cli.Command)
	walk = func(path string, cmds []*cli.Command) {
		for _, c := range cmds {
			name := strings.TrimSpace(path + " " + c.Name)
			inCmd := map[string]string{}
			for _, f := range c.Flags {
				flags[f] = true
				env := f.(interface{ GetEnvVars() []string }).GetEnvVars()
				if len(env) == 0 || env[0] != envVar(f) || !strings.HasPrefix(env[0], "WNODE_") {
					t.Errorf("%s --%s: environment %v, want %s first", name, f.Names()[0], env, envVar(f))
					continue
				}
				for _, v := range env {
					if other, ok := byVar[v]; ok && other != f.Names()[0] {
						t.Errorf("%s: %s sets both --%s and --%s", name, v, other, f.Names()[0])
					}
					byVar[v] = f.Names()[0]
					if other, ok := inCmd[v]; ok {
						t.Errorf("%s: %s sets --%s and --%s", name, v, other, f.Names()[0])
					}
					inCmd[v] = f.Names()[0]
				}
			}
			walk(name, c.Subcommands)
		}
	}
	walk("wnode", app.Commands)
	// Every flag is defined in flags.go, and its variable comes from the rule only: none
	// is written by hand.
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	flagLit := regexp.MustCompile(`cli\.[A-Za-z0-9]+Flag\{`)
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(src), "EnvVars:") {
			t.Errorf("%s sets EnvVars by hand: leave them to setEnvVars", file)
		}
		if file != "flags.go" && flagLit.Match(src) {
			t.Errorf("%s defines a flag: define it in flags.go", file)
		}
	}
	if len(flags) < 60 {
		t.Errorf("walked %d flags: the walk misses commands", len(flags))
	}
	for _, want := range []string{"WNODE_RPC", "WNODE_RPC_ADDR", "WNODE_DATADIR", "WNODE_LOCALNET_DATADIR", "WNODE_LOCALNET_DIR",
		"WNODE_GENESIS_OUT", "WNODE_OUT", "WNODE_BENCH_RATE", "WNODE_FULL"} {
		if byVar[want] == "" {
			t.Errorf("no flag reads %s", want)
		}
	}
}

// A variable set in the environment reaches the flag, for a flag that had none before
// the rule (--full) and for a scoped one.
func TestEnvVarSetsFlag(t *testing.T) {
	t.Setenv("WNODE_BENCH_RATE", "123.5")
	t.Setenv("WNODE_FULL", "true")
	app := newApp(nil, io.Discard, io.Discard)
	var rate float64
	var full bool
	benchCommand.Action = func(c *cli.Context) error { rate = c.Float64(loadRateFlag.Name); return nil }
	blockCommand.Action = func(c *cli.Context) error { full = c.Bool(fullFlag.Name); return nil }
	defer func() { benchCommand.Action, blockCommand.Action = benchLoad, blockAction }()
	if err := app.Run([]string{"wnode", "bench"}); err != nil || rate != 123.5 {
		t.Errorf("bench --rate from WNODE_BENCH_RATE: %v, %v", rate, err)
	}
	if err := app.Run([]string{"wnode", "block"}); err != nil || !full {
		t.Errorf("block --full from WNODE_FULL: %v, %v", full, err)
	}
}
