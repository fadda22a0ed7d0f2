package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

// apiClient talks to a node's JSON API with an admin token.
type apiClient struct {
	base, token string
	http        *http.Client
}

func addClientFlags(cmd *cobra.Command, c *apiClient) {
	cmd.PersistentFlags().StringVar(&c.base, "server", "http://127.0.0.1:8080", "Mosaic node URL (env MOSAIC_SERVER)")
	cmd.PersistentFlags().StringVar(&c.token, "token", "", "admin token (env MOSAIC_TOKEN)")
}

func (c *apiClient) init() {
	if v := os.Getenv("MOSAIC_SERVER"); v != "" && c.base == "http://127.0.0.1:8080" {
		c.base = v
	}
	if c.token == "" {
		c.token = os.Getenv("MOSAIC_TOKEN")
	}
	c.http = &http.Client{Timeout: 30 * time.Second}
}

func (c *apiClient) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.base, "/")+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if res.StatusCode >= 300 {
		var e struct{ Error string }
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, e.Error)
		}
		return fmt.Errorf("%s %s: %s", method, path, res.Status)
	}
	if out != nil && len(data) > 0 {
		return json.Unmarshal(data, out)
	}
	return nil
}

func printJSON(cmd *cobra.Command, v any) error {
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func roomsCmd() *cobra.Command {
	var c apiClient
	cmd := &cobra.Command{
		Use:   "rooms",
		Short: "List the rooms of a node",
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.init()
			var out any
			if err := c.do(cmd.Context(), http.MethodGet, "/api/rooms", nil, &out); err != nil {
				return err
			}
			return printJSON(cmd, out)
		},
	}
	addClientFlags(cmd, &c)
	return cmd
}

func recordCmd() *cobra.Command {
	var c apiClient
	cmd := &cobra.Command{Use: "record", Short: "Start, stop, list and inspect recordings"}
	addClientFlags(cmd, &c)
	var tracks bool
	start := &cobra.Command{
		Use: "start ROOM", Short: "Start recording a room", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c.init()
			var out any
			if err := c.do(cmd.Context(), http.MethodPost, "/api/rooms/"+args[0]+"/recordings", map[string]any{"tracks": tracks}, &out); err != nil {
				return err
			}
			return printJSON(cmd, out)
		},
	}
	start.Flags().BoolVar(&tracks, "tracks", false, "also record every participant's raw tracks")
	var wait bool
	stop := &cobra.Command{
		Use: "stop ID", Short: "Stop a recording", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c.init()
			var out map[string]any
			if err := c.do(cmd.Context(), http.MethodPost, "/api/recordings/"+args[0]+"/stop", nil, &out); err != nil {
				return err
			}
			if wait {
				return waitReady(cmd, &c, args[0])
			}
			return printJSON(cmd, out)
		},
	}
	stop.Flags().BoolVar(&wait, "wait", false, "wait until the recording is ready, with a progress bar")
	get := &cobra.Command{
		Use: "get ID", Short: "Show a recording with its playback URLs", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c.init()
			var out any
			if err := c.do(cmd.Context(), http.MethodGet, "/api/recordings/"+args[0], nil, &out); err != nil {
				return err
			}
			return printJSON(cmd, out)
		},
	}
	var room string
	ls := &cobra.Command{
		Use: "ls", Short: "List recordings",
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.init()
			path := "/api/recordings"
			if room != "" {
				path += "?room=" + room
			}
			var out any
			if err := c.do(cmd.Context(), http.MethodGet, path, nil, &out); err != nil {
				return err
			}
			return printJSON(cmd, out)
		},
	}
	ls.Flags().StringVar(&room, "room", "", "only this room's recordings")
	cmd.AddCommand(start, stop, get, ls)
	for _, mk := range recordCommands {
		cmd.AddCommand(mk(&c))
	}
	return cmd
}

// recordCommands are further `mosaic record` subcommands, each registered
// from its own file; they share the group's API client.
var recordCommands []func(*apiClient) *cobra.Command

// waitReady polls a recording until it is ready or failed, showing its
// segment uploads as a progress bar.
func waitReady(cmd *cobra.Command, c *apiClient, id string) error {
	bar := progressbar.NewOptions(-1, progressbar.OptionSetWriter(cmd.ErrOrStderr()), progressbar.OptionSetDescription("uploading"))
	for {
		var rec struct {
			State    string `json:"state"`
			Segments int    `json:"segments"`
			Uploaded int    `json:"segments_uploaded"`
			Error    string `json:"error"`
		}
		if err := c.do(cmd.Context(), http.MethodGet, "/api/recordings/"+id, nil, &rec); err != nil {
			return err
		}
		if rec.Segments > 0 {
			bar.ChangeMax(rec.Segments)
			_ = bar.Set(rec.Uploaded)
		}
		switch rec.State {
		case "ready":
			_ = bar.Finish()
			fmt.Fprintln(cmd.ErrOrStderr())
			var out any
			if err := c.do(cmd.Context(), http.MethodGet, "/api/recordings/"+id, nil, &out); err != nil {
				return err
			}
			return printJSON(cmd, out)
		case "failed":
			return fmt.Errorf("recording %s failed: %s", id, rec.Error)
		}
		select {
		case <-cmd.Context().Done():
			return cmd.Context().Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
