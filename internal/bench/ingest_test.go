package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

// childEnv makes the test binary run the publishers instead of the tests.
const childEnv = "MOSAIC_BENCH_INGEST_CLIENTS"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		c, err := ParseClientArgs(os.Args[1:])
		if err == nil {
			err = RunIngestClients(ctx, c)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestRunIngest(t *testing.T) {
	clip := filepath.Join(testenv.Inputs(t), "p1.webm")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := RunIngest(ctx, IngestConfig{
		Publishers: 3, Duration: 4 * time.Second, Clip: clip,
		Clients: func(args []string) *exec.Cmd {
			c := exec.Command(os.Args[0], args...)
			c.Env = append(os.Environ(), childEnv+"=1")
			return c
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	if res.Connected != 3 {
		t.Errorf("%d of 3 publishers connected", res.Connected)
	}
	// The reference clip is 720p VP8 with Opus: some hundreds of kbit/s.
	if res.BitratePerPublisher < 100e3 || res.BitratePerPublisher > 20e6 {
		t.Errorf("bitrate per publisher %.0f bit/s", res.BitratePerPublisher)
	}
	if res.ServerCPU <= 0 || res.CoresUsed <= 0 || res.CoresUsed > 4 || res.PublishersPerCore <= 0 {
		t.Errorf("cpu %v, cores %.3f, per core %.1f", res.ServerCPU, res.CoresUsed, res.PublishersPerCore)
	}
	if res.CoresPerGbps <= 0 {
		t.Errorf("cores per Gbit/s %v", res.CoresPerGbps)
	}
	if res.SetupP50 <= 0 || res.SetupP95 < res.SetupP50 || res.SetupMax < res.SetupP95 || res.SetupMax > time.Minute {
		t.Errorf("setup p50 %v p95 %v max %v", res.SetupP50, res.SetupP95, res.SetupMax)
	}
	if res.Window < 4*time.Second {
		t.Errorf("window %v", res.Window)
	}
}

func TestIngestConfigRefused(t *testing.T) {
	for _, c := range []IngestConfig{
		{Publishers: -1, Clip: "x"},
		{Publishers: 1},
		{Publishers: 1, Clip: "/does/not/exist.webm", Clients: func([]string) *exec.Cmd { return nil }},
		{Publishers: 1, Clip: os.Args[0]},
	} {
		if _, err := RunIngest(context.Background(), c); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
	if _, err := ParseClientArgs([]string{"--count", "0", "--url", "u", "--file", "f"}); err == nil {
		t.Error("zero publishers accepted")
	}
	c, err := ParseClientArgs(ClientArgs(ClientsConfig{URL: "u", Token: "t", File: "f", Count: 5, Duration: time.Second}))
	if err != nil || c.URL != "u" || c.Token != "t" || c.File != "f" || c.Count != 5 || c.Duration != time.Second {
		t.Errorf("round trip %+v %v", c, err)
	}
}

func TestPercentile(t *testing.T) {
	d := []time.Duration{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}
	for _, tc := range []struct{ p, want int }{{50, 5}, {95, 10}, {100, 10}, {10, 1}} {
		if got := percentile(d, tc.p); got != time.Duration(tc.want) {
			t.Errorf("p%d = %v, want %v", tc.p, got, tc.want)
		}
	}
	if percentile(nil, 50) != 0 {
		t.Error("percentile of nothing")
	}
}
