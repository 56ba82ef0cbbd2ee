package main

import (
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"
	"github.com/wnode/wnode/devkit"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
)

var (
	newCommand = &cli.Command{
		Name:      "new",
		Usage:     "make a contract project in ./NAME: a hello method, its test, the build file and the SDK",
		ArgsUsage: "NAME",
		Flags:     []cli.Flag{langFlag},
		Action:    newAction,
	}
	buildCommand = &cli.Command{
		Name:  "build",
		Usage: "build the project's contract and check it with the node's deploy rules",
		Description: "Runs the language's compiler (clang, cargo or the project's pinned asc; $CLANG,\n" +
			"$CARGO, $RUSTC and $NPM override them), keeps only the metadata among custom\n" +
			"sections, writes build/NAME.wasm and prints its size, methods and any deploy rule it breaks.",
		ArgsUsage: " ",
		Action:    buildAction,
	}
	testCommand = &cli.Command{
		Name:      "test",
		Usage:     "run the project's test.txt against its build on an in-memory chain (real VM and gas)",
		ArgsUsage: " ",
		Action:    testAction,
	}
	contractCommand = &cli.Command{
		Name:      "contract",
		Usage:     "describe a deployed contract: code hash and size, admin, deploy height, methods and their metadata",
		ArgsUsage: "ADDRESS",
		Flags:     flags(clientFlags, []cli.Flag{heightFlag}),
		Action:    contractAction,
	}
)

func newAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return usagef("want one NAME")
	}
	lang := devkit.Lang(c.String(langFlag.Name))
	p, err := devkit.New(".", c.Args().First(), lang)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "made %s (%s): cd %s && wnode build && wnode test && wnode deploy\n", p.Dir, p.Source(), p.Name)
	return nil
}

func loadProject() (*devkit.Project, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	return devkit.Load(wd)
}

func buildAction(c *cli.Context) error {
	if c.NArg() != 0 {
		return usagef("build takes no arguments: run it in a project")
	}
	p, err := loadProject()
	if err != nil {
		return err
	}
	r, err := p.Build(c.Context, c.App.ErrWriter)
	if err != nil {
		return err
	}
	r.Print(c.App.Writer)
	if r.Violation != nil {
		return fmt.Errorf("%s would be refused at deploy", r.Path)
	}
	return nil
}

func testAction(c *cli.Context) error {
	if c.NArg() != 0 {
		return usagef("test takes no arguments: run it in a project")
	}
	p, err := loadProject()
	if err != nil {
		return err
	}
	return p.Test(c.App.Writer)
}

// projectWasm is the build of the project around the working directory, for a deploy
// with no FILE.
func projectWasm() (string, error) {
	p, err := loadProject()
	if err != nil {
		return "", usagef("want FILE.wasm, or run deploy in a project: %v", err)
	}
	if _, err := os.Stat(p.Wasm()); err != nil {
		return "", fmt.Errorf("no build of %s: run wnode build first", p.Name)
	}
	return p.Wasm(), nil
}

func contractAction(c *cli.Context) error {
	addr, height, err := addressAt(c, "want one ADDRESS")
	if err != nil {
		return err
	}
	s, err := dial(c)
	if err != nil {
		return err
	}
	defer s.close()
	ct, err := s.node.Contract(s.ctx, addr, height)
	if err != nil {
		return s.wrap(err)
	}
	if ct == nil {
		return fmt.Errorf("no contract at %s", addr.Hex())
	}
	return s.p.result(ct, func(w io.Writer) {
		fmt.Fprintf(w, "address    %s\ncode hash  %s\ncode size  %d bytes\nadmin      %s\n", ct.Address.Hex(), ct.CodeHash.Hex(), uint64(ct.CodeSize), ct.Admin.Hex())
		if ct.DeployHeight != nil {
			fmt.Fprintf(w, "deployed   block %d\n", uint64(*ct.DeployHeight))
		} else {
			fmt.Fprintln(w, "deployed   (unknown to this node)")
		}
		fmt.Fprintln(w, "methods")
		for _, name := range ct.Methods {
			if m, ok := ct.Metadata.Method(name); ok {
				fmt.Fprintf(w, "  %-16s %-6s %s -> %s  %s\n", name, m.Kind, m.Input, m.Output, m.Doc)
			} else {
				fmt.Fprintf(w, "  %-16s (no metadata)\n", name)
			}
		}
	})
}

// addressAt parses the one ADDRESS argument of a command and its --height; usage is the
// error when the argument count is wrong.
func addressAt(c *cli.Context, usage string) (types.Address, rpctypes.BlockNumber, error) {
	if c.NArg() != 1 {
		return types.Address{}, 0, usagef("%s", usage)
	}
	addr, err := rpctypes.ParseAddress(c.Args().First())
	if err != nil {
		return types.Address{}, 0, usagef("ADDRESS: %v", err)
	}
	height, err := parseHeight(c.String(heightFlag.Name))
	return addr, height, err
}
