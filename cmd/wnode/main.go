// Command wnode runs a wnode node and talks to one: keys, deploys, invocations, calls,
// blocks and receipts. Run `wnode --help` or `wnode COMMAND --help`.
//
// The command only parses flags and calls packages: node (run a node, lay out a
// localnet), client (talk to a node), loadgen (bench). To add a command: define its
// flags in flags.go, in a shared category or, for flags only it has, in a category of
// its own added to envScope (which gives them WNODE_<COMMAND>_<NAME>); write its
// *cli.Command and action in a file of its own, which turns flags into a call of a
// package and prints the result with a printer (output.go: result to stdout, JSON with
// --json, narration to stderr; usagef for bad usage, exit code 2); list it in newApp.
// TestEveryFlagHasItsEnvVar checks the new flags.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
	"github.com/wnode/wnode/client"
	"github.com/wnode/wnode/node"
)

func main() {
	os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr))
}

// run runs the CLI and returns the process exit code: 0 success, 1 failure, 2 usage.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	var err error
	if len(args) > 1 && !strings.HasPrefix(args[1], "-") && app.Command(args[1]) == nil && args[1] != "help" && args[1] != "h" {
		err = usagef("unknown command %q (see `wnode --help`)", args[1])
	} else {
		err = app.Run(reorderArgs(app, args))
	}
	if err == nil {
		return 0
	}
	code := 1
	var ue usageError
	if errors.As(err, &ue) {
		code = 2
	}
	msg := err.Error()
	if errors.Is(err, client.ErrNoNode) {
		msg += "\n(is a node running? start one with `wnode start --dev`, or point --rpc at one)"
	}
	if wantJSON(args) {
		e := map[string]any{"error": err.Error()}
		if c := client.ErrorCode(err); c != 0 {
			e["code"] = c
		}
		json.NewEncoder(stdout).Encode(e)
	}
	fmt.Fprintln(stderr, "error:", msg)
	return code
}

// wantJSON reports whether --json was asked for (on the command line or in WNODE_JSON),
// so that errors are also printed as JSON.
func wantJSON(args []string) bool {
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "--json" || a == "-json" || a == "--json=true" {
			return true
		}
	}
	v := strings.ToLower(os.Getenv("WNODE_JSON"))
	return v == "1" || v == "true"
}

// usageError is a mistake in the command line (exit code 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:    "wnode",
		Usage:   "a decentralized serverless node: deploy WebAssembly functions, invoke them, call them",
		Version: node.Version,
		Description: "Start a development node with `wnode start --dev`, then in another terminal:\n" +
			"  wnode deploy examples/hello/hello.wasm\n" +
			"  wnode invoke <address> hello world\n" +
			"  wnode call <address> hello world\n" +
			"  curl -d world http://127.0.0.1:8545/fn/<address>/hello",
		Reader:               stdin,
		Writer:               stdout,
		ErrWriter:            stderr,
		Suggest:              true,
		EnableBashCompletion: true,
		ExitErrHandler:       func(*cli.Context, error) {}, // run prints errors and exits
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			name := "wnode"
			if c.Command != nil && c.Command.Name != "" && c.Command.Name != "wnode" {
				name += " " + c.Command.FullName()
			}
			return usagef("%v (see `%s --help`)", err, name)
		},
		Commands: []*cli.Command{
			initCommand, startCommand,
			accountCommand,
			newCommand, buildCommand, testCommand,
			transferCommand, deployCommand, invokeCommand, callCommand, upgradeCommand, contractCommand,
			receiptCommand, blockCommand, statusCommand, verifyCommand, validatorCommand,
			genesisCommand, localnetCommand, benchCommand,
		},
	}
	setUsageErrors(app.Commands, app.OnUsageError)
	setEnvVars(app.Commands)
	return app
}

// setUsageErrors makes every command report flag mistakes as a short usage error (exit
// code 2) instead of printing its whole help.
func setUsageErrors(cmds []*cli.Command, f cli.OnUsageErrorFunc) {
	for _, c := range cmds {
		c.OnUsageError = f
		setUsageErrors(c.Subcommands, f)
	}
}

// reorderArgs moves flags given after a command's positional arguments in front of
// them (urfave/cli stops parsing flags at the first argument), so that
// `wnode call ADDR get --json` works like `wnode call --json ADDR get`. Everything after
// "--" stays positional, so arguments that start with "-" can be passed.
func reorderArgs(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	// Flags before the command name are moved after it: they are all command flags.
	if strings.HasPrefix(args[1], "-") && !isHelpOrVersion(args[1]) {
		for j := 2; j < len(args); j++ {
			if args[j] == "--" {
				break
			}
			if app.Command(args[j]) != nil {
				moved := append([]string{args[0], args[j]}, args[1:j]...)
				args = append(moved, args[j+1:]...)
				break
			}
		}
	}
	out := []string{args[0]}
	i := 1
	cmds := app.Commands
	var cmd *cli.Command
	// Walk down the command names.
	for i < len(args) {
		var next *cli.Command
		for _, c := range cmds {
			if c.HasName(args[i]) {
				next = c
			}
		}
		if next == nil {
			break
		}
		cmd = next
		out = append(out, args[i])
		cmds = cmd.Subcommands
		i++
	}
	if cmd == nil {
		return args
	}
	takesValue := map[string]bool{}
	for _, f := range cmd.Flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			takesValue[n] = !isBool
		}
	}
	var flagArgs, positional []string
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if len(a) > 1 && a[0] == '-' && !isNumber(a) {
			flagArgs = append(flagArgs, a)
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") && takesValue[name] && i+1 < len(args) {
				i++
				flagArgs = append(flagArgs, args[i])
			}
			continue
		}
		positional = append(positional, a)
	}
	out = append(out, flagArgs...)
	if len(positional) > 0 {
		out = append(out, "--") // nothing after this is a flag
	}
	return append(out, positional...)
}

// isNumber reports whether a looks like a negative number (an argument, not a flag).
func isNumber(a string) bool {
	for _, r := range a[1:] {
		if (r < '0' || r > '9') && r != '.' {
			return false
		}
	}
	return true
}

func isHelpOrVersion(a string) bool {
	switch a {
	case "-h", "--help", "-help", "-v", "--version", "-version", "--generate-bash-completion":
		return true
	}
	return false
}
