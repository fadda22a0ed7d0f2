// Command mosaic is Mosaic's one binary: the server, the job worker, a
// publisher, token minting and the API client.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	root := &cobra.Command{
		Use:           "mosaic",
		Short:         "Mosaic records and mixes WebRTC rooms into one composite",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(serveCmd(), workerCmd(), publishCmd(), tokenCmd(), roomsCmd(), recordCmd(), benchCmd(), healthCmd(), drainCmd(), versionCmd())
	if err := root.ExecuteContext(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "mosaic:", err)
		os.Exit(1)
	}
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Run:   func(cmd *cobra.Command, _ []string) { fmt.Fprintln(cmd.OutOrStdout(), "mosaic", version) },
	}
}

// prepare applies the config file and the environment to a command's flags.
func prepare(cmd *cobra.Command) error {
	path, _ := cmd.Flags().GetString("config")
	if path == "" {
		path = os.Getenv("MOSAIC_CONFIG")
	}
	file, err := readConfigFile(path)
	if err != nil {
		return err
	}
	return bindEnv(cmd, file)
}
