package bench

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// mixClips returns the reference clips p1.webm… in dir, at least long
// seconds long, making them with the make-inputs script when missing (or
// too short: then longer ones go into a subdirectory).
func mixClips(ctx context.Context, dir, script string, long time.Duration) ([]string, error) {
	clips, _ := filepath.Glob(filepath.Join(dir, "p*.webm"))
	if len(clips) > 0 {
		d, err := clipSeconds(ctx, clips[0])
		if err != nil {
			return nil, err
		}
		if d >= long.Seconds() {
			return clips, nil
		}
		dir = filepath.Join(dir, fmt.Sprintf("%ds", int(math.Ceil(long.Seconds()))))
		if clips, _ = filepath.Glob(filepath.Join(dir, "p*.webm")); len(clips) > 0 {
			return clips, nil
		}
	}
	if _, err := os.Stat(script); err != nil {
		return nil, fmt.Errorf("%w: no clips in %s and no make-inputs script: %w", ErrBadConfig, dir, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	secs := strconv.Itoa(max(10, int(math.Ceil(long.Seconds()))+1))
	if out, err := exec.CommandContext(ctx, "bash", script, dir, secs, "4").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%s: %w: %s", script, err, out)
	}
	clips, _ = filepath.Glob(filepath.Join(dir, "p*.webm"))
	if len(clips) == 0 {
		return nil, fmt.Errorf("%w: %s made no clips in %s", ErrNoMedia, script, dir)
	}
	return clips, nil
}

// clipSeconds is a media file's duration from ffprobe.
func clipSeconds(ctx context.Context, path string) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-show_entries", "format=duration",
		"-of", "default=noprint_wrappers=1:nokey=1", path).Output()
	if err != nil {
		return 0, fmt.Errorf("ffprobe %s: %w", path, err)
	}
	d, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		return 0, fmt.Errorf("ffprobe %s: duration %q: %w", path, out, err)
	}
	return d, nil
}
