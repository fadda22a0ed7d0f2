package bench

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"time"
)

// MakeClip writes a camera-like clip into dir with ffmpeg: 1280x720 30 fps
// VP8 at about 1.5 Mbit/s and Opus 48 kHz stereo, seconds long.
func MakeClip(ctx context.Context, dir string, seconds int) (string, error) {
	out := filepath.Join(dir, "bench.webm")
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", fmt.Sprint(seconds), "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8",
		"-b:v", "1500k", "-g", "60", "-c:a", "libopus", "-b:a", "48k", "-ac", "2", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("make clip with ffmpeg: %w: %s", err, b)
	}
	return out, nil
}
