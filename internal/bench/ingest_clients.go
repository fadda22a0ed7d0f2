package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/publisher"
)

// ClientsConfig configures RunIngestClients: Count WHIP publishers of one
// looping clip.
type ClientsConfig struct {
	URL, Token, File string
	Count            int
	Duration         time.Duration // media each publisher sends
	// Stagger spaces the publishers' starts (default 20 ms).
	Stagger time.Duration
	Log     *slog.Logger
}

// ClientArgs renders the configuration as the client process's arguments.
func ClientArgs(c ClientsConfig) []string {
	return []string{"--url", c.URL, "--token", c.Token, "--file", c.File,
		"--count", strconv.Itoa(c.Count), "--duration", c.Duration.String()}
}

// ParseClientArgs reads ClientArgs' arguments.
func ParseClientArgs(args []string) (ClientsConfig, error) {
	var c ClientsConfig
	fs := flag.NewFlagSet("ingest-clients", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.URL, "url", "", "WHIP URL")
	fs.StringVar(&c.Token, "token", "", "publish token")
	fs.StringVar(&c.File, "file", "", "WebM clip")
	fs.IntVar(&c.Count, "count", 1, "publishers")
	fs.DurationVar(&c.Duration, "duration", time.Minute, "media per publisher")
	if err := fs.Parse(args); err != nil {
		return c, fmt.Errorf("%w: %v", ErrBadConfig, err)
	}
	if c.URL == "" || c.File == "" || c.Count < 1 {
		return c, fmt.Errorf("%w: ingest clients need --url, --file and --count >= 1", ErrBadConfig)
	}
	return c, nil
}

// RunIngestClients publishes Count copies of the clip until ctx ends or
// their duration is sent; it returns the first error of a publisher.
func RunIngestClients(ctx context.Context, c ClientsConfig) error {
	if c.Stagger <= 0 {
		c.Stagger = 20 * time.Millisecond
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	var wg sync.WaitGroup
	errs := make([]error, c.Count)
	for i := range c.Count {
		select {
		case <-ctx.Done():
		case <-time.After(c.Stagger):
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := publisher.Publish(ctx, publisher.Options{URL: c.URL, Token: c.Token, File: c.File,
				Loop: true, Duration: c.Duration, Log: c.Log.With("publisher", i)})
			if err != nil && ctx.Err() == nil {
				errs[i] = fmt.Errorf("publisher %d: %w", i, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
