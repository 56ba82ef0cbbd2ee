package main

import "github.com/urfave/cli/v2"

var benchCommand = &cli.Command{
	Name:  "bench",
	Usage: "measure a node: gateway calls and dev-mode transactions",
	Action: func(c *cli.Context) error {
		return usagef("bench: not yet")
	},
}
