package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

func drainCmd() *cobra.Command {
	var c apiClient
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "drain",
		Short: "Drain a node: no new rooms; it exits once its rooms end (or at the deadline) with its recordings finalized",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.init()
			if timeout < 0 {
				return fmt.Errorf("--timeout %s: want 0 (the node's --drain-timeout) or more", timeout)
			}
			var body any
			if timeout > 0 {
				body = map[string]float64{"timeout_s": timeout.Seconds()}
			}
			var out map[string]any
			if err := c.do(cmd.Context(), "POST", "/api/node/drain", body, &out); err != nil {
				return err
			}
			return printJSON(cmd, out)
		},
	}
	addClientFlags(cmd, &c)
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "how long the node's rooms may go on (0: the node's --drain-timeout)")
	return cmd
}
