package main

import (
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"
)

// healthCmd probes a health endpoint (for container health checks, where no
// curl is installed).
func healthCmd() *cobra.Command {
	var url string
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Exit 0 if a health endpoint answers 200",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if url == "" {
				url = os.Getenv("MOSAIC_HEALTH_URL")
			}
			if url == "" {
				url = "http://127.0.0.1:8080/healthz"
			}
			c := &http.Client{Timeout: 3 * time.Second}
			res, err := c.Get(url)
			if err != nil {
				return err
			}
			defer res.Body.Close()
			if res.StatusCode != http.StatusOK {
				return fmt.Errorf("%s: %s", url, res.Status)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&url, "url", "", "health URL (env MOSAIC_HEALTH_URL; default http://127.0.0.1:8080/healthz)")
	return cmd
}
