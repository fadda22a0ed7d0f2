// Package mediatest decodes media files with ffprobe/ffmpeg so tests can look
// at what was really produced: streams, durations, pixels, and the sync
// markers of the reference clips (a white flash and a 1760 Hz beep starting at
// the same instant every second).
package mediatest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"math"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Stream is one stream as ffprobe reports it.
type Stream struct {
	Index      int
	CodecType  string // "video" | "audio"
	CodecName  string // "h264", "aac", "vp8", "opus"
	Width      int
	Height     int
	Duration   float64
	Frames     int // nb_frames when the container tells it (0 otherwise)
	SampleRate int
	Channels   int
}

// Info is a file's container-level description.
type Info struct {
	Format   string
	Duration float64
	Size     int64
	Streams  []Stream
}

// Video is the first video stream, or nil.
func (i *Info) Video() *Stream { return i.first("video") }

// Audio is the first audio stream, or nil.
func (i *Info) Audio() *Stream { return i.first("audio") }

func (i *Info) first(kind string) *Stream {
	for k := range i.Streams {
		if i.Streams[k].CodecType == kind {
			return &i.Streams[k]
		}
	}
	return nil
}

func run(timeout time.Duration, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, lastLines(stderr.String(), 5))
	}
	return out, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ProbeFile runs ffprobe on path.
func ProbeFile(path string) (*Info, error) {
	out, err := run(2*time.Minute, "ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", path)
	if err != nil {
		return nil, err
	}
	var raw struct {
		Format struct {
			FormatName string `json:"format_name"`
			Duration   string `json:"duration"`
			Size       string `json:"size"`
		} `json:"format"`
		Streams []struct {
			Index      int    `json:"index"`
			CodecType  string `json:"codec_type"`
			CodecName  string `json:"codec_name"`
			Width      int    `json:"width"`
			Height     int    `json:"height"`
			Duration   string `json:"duration"`
			NbFrames   string `json:"nb_frames"`
			SampleRate string `json:"sample_rate"`
			Channels   int    `json:"channels"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		return nil, fmt.Errorf("ffprobe json: %w", err)
	}
	info := &Info{Format: raw.Format.FormatName}
	info.Duration, _ = strconv.ParseFloat(raw.Format.Duration, 64)
	info.Size, _ = strconv.ParseInt(raw.Format.Size, 10, 64)
	for _, s := range raw.Streams {
		st := Stream{Index: s.Index, CodecType: s.CodecType, CodecName: s.CodecName, Width: s.Width, Height: s.Height, Channels: s.Channels}
		st.Duration, _ = strconv.ParseFloat(s.Duration, 64)
		st.Frames, _ = strconv.Atoi(s.NbFrames)
		st.SampleRate, _ = strconv.Atoi(s.SampleRate)
		info.Streams = append(info.Streams, st)
	}
	return info, nil
}

// Probe is ProbeFile that fails the test on error.
func Probe(t testing.TB, path string) *Info {
	t.Helper()
	info, err := ProbeFile(path)
	if err != nil {
		t.Fatalf("probe %s: %v", path, err)
	}
	return info
}

// Frames decodes every video frame of path scaled to w×h, as rgb24.
// fps > 0 resamples to that frame rate; 0 keeps the file's frames.
func Frames(t testing.TB, path string, w, h int, fps float64) [][]byte {
	t.Helper()
	frames, err := DecodeFrames(path, w, h, fps)
	if err != nil {
		t.Fatal(err)
	}
	return frames
}

// DecodeFrames is Frames without a test.
func DecodeFrames(path string, w, h int, fps float64) ([][]byte, error) {
	vf := fmt.Sprintf("scale=%d:%d:flags=area,format=rgb24", w, h)
	if fps > 0 {
		vf = fmt.Sprintf("fps=%g,", fps) + vf
	}
	out, err := run(5*time.Minute, "ffmpeg", "-v", "error", "-i", path, "-an", "-vf", vf, "-fps_mode", "passthrough", "-f", "rawvideo", "-")
	if err != nil {
		return nil, err
	}
	size := w * h * 3
	if len(out)%size != 0 {
		return nil, fmt.Errorf("decoded %d bytes, not a multiple of a %dx%d frame", len(out), w, h)
	}
	frames := make([][]byte, 0, len(out)/size)
	for off := 0; off < len(out); off += size {
		frames = append(frames, out[off:off+size])
	}
	return frames, nil
}

// Pixel returns the colour at (x, y) of an rgb24 frame w pixels wide.
func Pixel(frame []byte, w, x, y int) (r, g, b uint8) {
	o := (y*w + x) * 3
	return frame[o], frame[o+1], frame[o+2]
}

// MeanRGB is the average colour of rect in an rgb24 frame w pixels wide.
func MeanRGB(frame []byte, w int, rect image.Rectangle) (r, g, b float64) {
	var n float64
	for y := rect.Min.Y; y < rect.Max.Y; y++ {
		for x := rect.Min.X; x < rect.Max.X; x++ {
			pr, pg, pb := Pixel(frame, w, x, y)
			r += float64(pr)
			g += float64(pg)
			b += float64(pb)
			n++
		}
	}
	if n == 0 {
		return 0, 0, 0
	}
	return r / n, g / n, b / n
}

// IsBlack reports whether rect of the frame is (nearly) black.
func IsBlack(frame []byte, w int, rect image.Rectangle) bool {
	r, g, b := MeanRGB(frame, w, rect)
	return r < 20 && g < 20 && b < 20
}

// frameTimes lists the presentation time of every decoded video frame.
func frameTimes(path string) ([]float64, error) {
	out, err := run(5*time.Minute, "ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "frame=best_effort_timestamp_time", "-of", "csv=p=0", path)
	if err != nil {
		return nil, err
	}
	var ts []float64
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(line), ","))
		if line == "" || line == "N/A" {
			continue
		}
		v, err := strconv.ParseFloat(line, 64)
		if err != nil {
			return nil, fmt.Errorf("frame time %q: %w", line, err)
		}
		ts = append(ts, v)
	}
	return ts, nil
}

// FlashTimes returns the times (seconds) at which region of the picture turns
// white — the reference clips' sync flash. An empty region means the whole
// picture. Region is in the video's own pixels.
func FlashTimes(t testing.TB, path string, region image.Rectangle) []float64 {
	t.Helper()
	ts, err := DetectFlashes(path, region)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// DetectFlashes is FlashTimes without a test.
func DetectFlashes(path string, region image.Rectangle) ([]float64, error) {
	times, lumas, err := Lumas(path, region)
	if err != nil {
		return nil, err
	}
	var flashes []float64
	prevWhite := false
	for i, l := range lumas {
		white := l > flashLuma
		if white && !prevWhite {
			flashes = append(flashes, times[i])
		}
		prevWhite = white
	}
	return flashes, nil
}

// flashLuma is the mean luma above which a picture counts as white.
const flashLuma = 215

// Lumas returns every decoded video frame's time (seconds) and mean luma
// (0-255) over region (empty: the whole picture).
func Lumas(path string, region image.Rectangle) (times, lumas []float64, err error) {
	vf := "scale=32:18:flags=area,format=gray"
	if !region.Empty() {
		vf = fmt.Sprintf("crop=%d:%d:%d:%d,", region.Dx(), region.Dy(), region.Min.X, region.Min.Y) + vf
	}
	out, err := run(5*time.Minute, "ffmpeg", "-v", "error", "-i", path, "-an", "-vf", vf, "-fps_mode", "passthrough", "-f", "rawvideo", "-")
	if err != nil {
		return nil, nil, err
	}
	times, err = frameTimes(path)
	if err != nil {
		return nil, nil, err
	}
	const size = 32 * 18
	n := len(out) / size
	if n != len(times) {
		return nil, nil, fmt.Errorf("decoded %d frames but ffprobe lists %d frame times", n, len(times))
	}
	lumas = make([]float64, n)
	for i := range lumas {
		var sum float64
		for _, v := range out[i*size : (i+1)*size] {
			sum += float64(v)
		}
		lumas[i] = sum / size
	}
	return times, lumas, nil
}

// DescribeLumas summarizes a video's brightness for a failure message: the
// frame count and time span, and each second's brightest frame.
func DescribeLumas(path string, region image.Rectangle) string {
	times, lumas, err := Lumas(path, region)
	if err != nil {
		return err.Error()
	}
	if len(times) == 0 {
		return "no video frames"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d frames from %.3f to %.3f s; brightest frame of each second:", len(times), times[0], times[len(times)-1])
	sec, best := -1, 0
	flush := func() {
		if sec >= 0 {
			fmt.Fprintf(&b, " %.0f@%.3f", lumas[best], times[best])
		}
	}
	for i, ts := range times {
		if s := int(ts); s != sec {
			flush()
			sec, best = s, i
		} else if lumas[i] > lumas[best] {
			best = i
		}
	}
	flush()
	return b.String()
}

// BeepTimes returns the onset times (seconds) of the 1760 Hz beeps in the
// file's first audio stream.
func BeepTimes(t testing.TB, path string) []float64 {
	t.Helper()
	ts, err := DetectBeeps(path)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// DetectBeeps is BeepTimes without a test.
func DetectBeeps(path string) ([]float64, error) {
	const rate = 48000
	out, err := run(5*time.Minute, "ffmpeg", "-v", "error", "-i", path, "-vn", "-ac", "1", "-ar", strconv.Itoa(rate), "-f", "s16le", "-")
	if err != nil {
		return nil, err
	}
	// The audio stream may start later than the container's zero.
	start := 0.0
	if out2, err := run(time.Minute, "ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries", "stream=start_time", "-of", "csv=p=0", path); err == nil {
		start, _ = strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(string(out2)), ",")), 64)
	}
	// A negative start is the codec's delay (Opus pre-skip), which the decoder
	// drops: the first decoded sample is at 0.
	start = math.Max(start, 0)
	samples := make([]float64, len(out)/2)
	for i := range samples {
		samples[i] = float64(int16(uint16(out[2*i])|uint16(out[2*i+1])<<8)) / 32768
	}
	const win, hop = 240, 48 // 5 ms windows every 1 ms
	var powers []float64
	for off := 0; off+win <= len(samples); off += hop {
		powers = append(powers, goertzel(samples[off:off+win], 1760, rate))
	}
	if len(powers) == 0 {
		return nil, nil
	}
	// The threshold is a fifth of the typical beep: the median of the
	// loudest moment of each second. A burst that is not a beep (the start
	// of an Opus stream decoded without its history clips for some 30 ms)
	// moves the loudest window of the file but not that median.
	const perSecond = rate / hop
	var blockPeaks []float64
	for i := 0; i < len(powers); i += perSecond {
		blockPeaks = append(blockPeaks, slices.Max(powers[i:min(i+perSecond, len(powers))]))
	}
	peak := slices.Max(powers)
	if peak <= 1e-9 {
		return nil, nil
	}
	thr := max(0.2*Median(blockPeaks), 0.01*peak)
	var beeps []float64
	lastOn, on := 0.0, false
	for i, p := range powers {
		t := start + float64(i*hop)/rate
		if p > thr && (!on || t-lastOn > 0.5) {
			// onset: the centre of the first window where the tone crosses
			// the threshold (about where the tone starts)
			beeps = append(beeps, t+float64(win)/2/rate)
			lastOn, on = t, true
		}
	}
	return beeps, nil
}

func goertzel(x []float64, freq, rate float64) float64 {
	k := 2 * math.Cos(2*math.Pi*freq/rate)
	var s1, s2 float64
	for _, v := range x {
		s0 := v + k*s1 - s2
		s2, s1 = s1, s0
	}
	return (s1*s1 + s2*s2 - k*s1*s2) / float64(len(x)*len(x))
}

// AVOffsets pairs every flash with the nearest beep (within 0.5 s) and returns
// beep − flash in seconds: positive means the sound comes late.
func AVOffsets(flashes, beeps []float64) []float64 {
	var offs []float64
	for _, f := range flashes {
		best, bestAbs := 0.0, math.Inf(1)
		for _, b := range beeps {
			if d := math.Abs(b - f); d < bestAbs {
				best, bestAbs = b-f, d
			}
		}
		if bestAbs <= 0.5 {
			offs = append(offs, best)
		}
	}
	return offs
}

// Median of xs (0 for none).
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
