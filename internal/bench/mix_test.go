package bench

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/testenv"
	"github.com/mosaic-rtc/mosaic/mixer"
)

// TestRunMix: two clips through a small room for 2 s, then the bare script;
// both costs are measured and printed.
func TestRunMix(t *testing.T) {
	var out bytes.Buffer
	cfg := MixConfig{Inputs: 2, Duration: 2 * time.Second, ClipDir: testenv.Inputs(t),
		BareScript: filepath.Join(testenv.RepoRoot(), "..", "shared", "bench", "bare-composite.sh"), Out: &out,
		MixerConfig: mixer.Config{Width: 640, Height: 360}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := RunMix(ctx, cfg)
	if err != nil {
		t.Fatalf("RunMix: %v\n%s", err, out.String())
	}
	t.Logf("%+v\n%s", res, out.String())
	if res.MediaSeconds < 1.5 || res.MixerCPUPerSecond() <= 0 || res.OutputFPS < 20 {
		t.Fatalf("mixer figures %+v", res)
	}
	if res.BareSeconds < 5 || res.BareCPUPerSecond() <= 0 || res.Ratio() <= 0 {
		t.Fatalf("bare figures %+v", res)
	}
	for _, want := range []string{"mixer: 2 inputs", "bare:  2 inputs", "ratio: "} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestRunMixRejectsBadConfig(t *testing.T) {
	for _, cfg := range []MixConfig{
		{Inputs: 0, Duration: time.Second},
		{Inputs: 65, Duration: time.Second},
		{Inputs: 1, Duration: time.Millisecond},
	} {
		if _, err := RunMix(context.Background(), cfg); !errors.Is(err, ErrBadConfig) {
			t.Errorf("RunMix(%+v) = %v, want ErrBadConfig", cfg, err)
		}
	}
	_, err := RunMix(context.Background(), MixConfig{Inputs: 1, Duration: time.Second, ClipDir: t.TempDir(), MakeInputs: "/nonexistent.sh"})
	if !errors.Is(err, ErrBadConfig) {
		t.Fatalf("no clips and no script: %v, want ErrBadConfig", err)
	}
}

// TestDriftShortRun plays a 10 s clip through the drift tool: every
// second's flash finds its beep, the recorded composite is in sync, and the
// figures are printed.
func TestDriftShortRun(t *testing.T) {
	var out strings.Builder
	res, err := RunDrift(t.Context(), DriftConfig{Duration: 9500 * time.Millisecond, Segment: 3 * time.Second,
		Clip: filepath.Join(testenv.Inputs(t), "p1.webm"), Out: &out})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Log(out.String())
	if len(res.Points) < 6 {
		t.Fatalf("%d flash/beep pairs from 3 s to 9.5 s, want at least 6", len(res.Points))
	}
	if res.Worst > 40*time.Millisecond {
		t.Fatalf("worst A/V offset %s, want within 40 ms (%v)", res.Worst, res.Points)
	}
	if !strings.Contains(out.String(), "ms per hour") {
		t.Fatalf("no drift figure printed:\n%s", out.String())
	}
}
