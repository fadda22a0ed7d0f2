package mixer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"testing"
)

// probeInfo is what ffprobe says about a file.
type probeInfo struct {
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
	Streams []struct {
		CodecType string `json:"codec_type"`
		CodecName string `json:"codec_name"`
		Width     int    `json:"width"`
		Height    int    `json:"height"`
		Duration  string `json:"duration"`
	} `json:"streams"`
}

func (p probeInfo) duration() float64 {
	d, _ := strconv.ParseFloat(p.Format.Duration, 64)
	return d
}

func probe(t testing.TB, path string) probeInfo {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var info probeInfo
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatalf("ffprobe json: %v", err)
	}
	return info
}

// decodeFrames decodes a file to rgb24 frames of w x h at fps.
func decodeFrames(t testing.TB, path string, w, h, fps int) [][]byte {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command("ffmpeg", "-v", "error", "-i", path, "-an", "-vf", fmt.Sprintf("fps=%d,scale=%d:%d", fps, w, h),
		"-f", "rawvideo", "-pix_fmt", "rgb24", "-")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffmpeg decode %s: %v: %s", path, err, stderr.String())
	}
	size := w * h * 3
	var frames [][]byte
	for len(out) >= size {
		frames = append(frames, out[:size])
		out = out[size:]
	}
	return frames
}

// regionMean is the mean colour of a rectangle of an rgb24 frame.
func regionMean(frame []byte, w int, r rect) (float64, float64, float64) {
	var sr, sg, sb, n float64
	for y := r.Y; y < r.Y+r.H; y++ {
		for x := r.X; x < r.X+r.W; x++ {
			i := (y*w + x) * 3
			sr += float64(frame[i])
			sg += float64(frame[i+1])
			sb += float64(frame[i+2])
			n++
		}
	}
	if n == 0 {
		return 0, 0, 0
	}
	return sr / n, sg / n, sb / n
}
