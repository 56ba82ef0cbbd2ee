// Command wasmmeta copies a module's metadata section (vm/metadata) onto another module.
// scripts/build-contracts.sh uses it after re-encoding a module through wabt, which drops
// every custom section:
//
//	go run ./scripts/wasmmeta FROM.wasm TO.wasm
//
// It parses the section first, so a build with a malformed one fails here, and leaves TO
// unchanged when FROM has none.
package main

import (
	"fmt"
	"os"

	"github.com/wnode/wnode/vm/metadata"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "wasmmeta:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: wasmmeta FROM.wasm TO.wasm")
	}
	from, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	data, err := metadata.Find(from)
	if err != nil || data == nil {
		return err
	}
	if _, err := metadata.Parse(data); err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	to, err := os.ReadFile(args[1])
	if err != nil {
		return err
	}
	out, err := metadata.Set(to, data, false)
	if err != nil {
		return fmt.Errorf("%s: %w", args[1], err)
	}
	return os.WriteFile(args[1], out, 0o644)
}
