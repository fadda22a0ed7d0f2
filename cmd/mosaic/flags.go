package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// envName is the environment variable for a flag: --media-port → MOSAIC_MEDIA_PORT.
func envName(flag string) string {
	return "MOSAIC_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// bindEnv fills every flag the command line did not set from its MOSAIC_…
// environment variable, then from the config file's values: flags win over
// the environment, which wins over the file.
func bindEnv(cmd *cobra.Command, file map[string]string) error {
	var errs []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Name == "help" || f.Name == "config" {
			return
		}
		v, ok := os.LookupEnv(envName(f.Name))
		if !ok {
			v, ok = file[f.Name]
		}
		if !ok {
			return
		}
		if err := f.Value.Set(v); err != nil {
			errs = append(errs, fmt.Sprintf("%s=%q: %v", envName(f.Name), v, err))
		}
	})
	if len(errs) > 0 {
		return fmt.Errorf("bad configuration: %s", strings.Join(errs, "; "))
	}
	return nil
}

// annotateEnv appends the environment variable to every flag's help text.
func annotateEnv(cmd *cobra.Command) {
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Name == "help" {
			return
		}
		f.Usage = fmt.Sprintf("%s (env %s)", f.Usage, envName(f.Name))
	})
}
