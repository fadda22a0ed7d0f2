package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

func init() { recordCommands = append(recordCommands, composeCmd) }

// composition is the part of a composition the command reads.
type composition struct {
	ID       string  `json:"id"`
	State    string  `json:"state"`
	Progress float64 `json:"progress"`
	DoneS    float64 `json:"done_s"`
	TotalS   float64 `json:"total_s"`
	Error    string  `json:"error"`
}

func composeCmd(c *apiClient) *cobra.Command {
	var (
		layout             string
		width, height, fps int
		from, to           time.Duration
		wait               bool
	)
	cmd := &cobra.Command{
		Use:   "compose ID",
		Short: "Render a recording's raw tracks again with another layout, size or range",
		Long: `Queue a composition of a recording made with --tracks: its participants' raw
tracks rendered again by a worker into compositions/{cid}.mp4. --layout takes a
kind (grid, speaker, presentation) or a layout as JSON. With --wait, follow its
progress and print the finished composition with its download URL.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c.init()
			body := map[string]any{"width": width, "height": height, "fps": fps, "from_s": from.Seconds(), "to_s": to.Seconds()}
			if json.Valid([]byte(layout)) {
				body["layout"] = json.RawMessage(layout)
			} else {
				body["layout"] = layout
			}
			var created composition
			base := "/api/recordings/" + args[0] + "/compositions"
			if err := c.do(cmd.Context(), http.MethodPost, base, body, &created); err != nil {
				return err
			}
			if !wait {
				return printJSON(cmd, created)
			}
			return waitComposition(cmd, c, base+"/"+created.ID)
		},
	}
	f := cmd.Flags()
	f.StringVar(&layout, "layout", "grid", "grid, speaker, presentation, or a layout as JSON")
	f.IntVar(&width, "width", 0, "picture width (default 1280)")
	f.IntVar(&height, "height", 0, "picture height (default 720)")
	f.IntVar(&fps, "fps", 0, "frame rate (default 30)")
	f.DurationVar(&from, "from", 0, "start of the range, from the recording's start")
	f.DurationVar(&to, "to", 0, "end of the range (0: the recording's end)")
	f.BoolVar(&wait, "wait", false, "wait until it is done, with a progress bar")
	return cmd
}

// waitComposition polls a composition until it settles, showing the media
// time rendered as a progress bar.
func waitComposition(cmd *cobra.Command, c *apiClient, path string) error {
	bar := progressbar.NewOptions(1000, progressbar.OptionSetWriter(cmd.ErrOrStderr()),
		progressbar.OptionSetDescription("rendering"), progressbar.OptionShowElapsedTimeOnFinish())
	for {
		var comp composition
		if err := c.do(cmd.Context(), http.MethodGet, path, nil, &comp); err != nil {
			return err
		}
		_ = bar.Set(int(comp.Progress * 10))
		if comp.TotalS > 0 {
			bar.Describe(fmt.Sprintf("rendering %.0f/%.0f s", comp.DoneS, comp.TotalS))
		}
		switch comp.State {
		case "done":
			_ = bar.Finish()
			fmt.Fprintln(cmd.ErrOrStderr())
			var out any
			if err := c.do(cmd.Context(), http.MethodGet, path, nil, &out); err != nil {
				return err
			}
			return printJSON(cmd, out)
		case "failed":
			return fmt.Errorf("composition %s failed: %s", comp.ID, comp.Error)
		case "cancelled":
			return fmt.Errorf("composition %s was cancelled", comp.ID)
		}
		select {
		case <-cmd.Context().Done():
			return cmd.Context().Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
