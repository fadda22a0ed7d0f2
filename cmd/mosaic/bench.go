package main

import "github.com/spf13/cobra"

// benchCommands are the `mosaic bench` tools; each registers itself from its
// own file.
var benchCommands []func() *cobra.Command

func benchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure Mosaic on this machine (ingest, mixing, latency, load)",
	}
	for _, mk := range benchCommands {
		cmd.AddCommand(mk())
	}
	return cmd
}
