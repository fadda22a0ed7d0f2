package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/mosaic-rtc/mosaic/internal/auth"
)

func tokenCmd() *cobra.Command {
	var room, identity, role, secret, dataDir string
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Print a signed access token",
		Long: `Print a signed access token for a room and a role (publish, view or admin).
The key is --secret, or the one that mosaic serve keeps in --data-dir.`,
		Example: "  mosaic token --room demo --role publish --identity alice --ttl 1h",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := prepare(cmd); err != nil {
				return err
			}
			r, err := auth.ParseRole(role)
			if err != nil {
				return err
			}
			key := []byte(secret)
			if len(key) == 0 {
				if key, err = auth.LoadOrCreateSecret(dataDir); err != nil {
					return err
				}
			}
			iss, err := auth.NewIssuer(key)
			if err != nil {
				return err
			}
			if identity == "" {
				identity = string(r)
			}
			tok, err := iss.Mint(room, identity, r, ttl)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			return nil
		},
	}
	f := cmd.Flags()
	f.String("config", "", "config file of `name: value` lines")
	f.StringVar(&room, "room", "", "room the token opens (* for every room)")
	f.StringVar(&role, "role", "publish", "publish, view or admin")
	f.StringVar(&identity, "identity", "", "who holds the token (shown as the participant's name)")
	f.DurationVar(&ttl, "ttl", time.Hour, "how long the token is valid")
	f.StringVar(&secret, "secret", "", "token signing key (default: the data dir's)")
	f.StringVar(&dataDir, "data-dir", "./data", "data dir of mosaic serve (holds the key)")
	_ = cmd.MarkFlagRequired("room")
	annotateEnv(cmd)
	return cmd
}
