package compose

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"log/slog"
	"math"
	"os"
	"sort"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/media"
	"github.com/mosaic-rtc/mosaic/jobs"
)

// Post is the GStreamer jobs.PostMedia.
type Post struct {
	Log *slog.Logger
}

var _ jobs.PostMedia = Post{}

// Contact sheet geometry: 4x4 thumbnails of 320x180.
const (
	sheetCols, sheetRows = 4, 4
	thumbW, thumbH       = 320, 180
)

// AudioOnly copies the AAC of video into an M4A without re-encoding:
//
//	filesrc → qtdemux → aacparse → mp4mux → filesink (video → fakesink)
func (Post) AudioOnly(ctx context.Context, video, out string) error {
	return remux(ctx, video, out, "audio/", []elementSpec{el("aacparse", nil)}, "audio_%u")
}

// ContactSheet writes a JPEG of 4x4 frames spread evenly over video.
func (Post) ContactSheet(ctx context.Context, video, out string) error {
	ext, err := scan(ctx, video)
	if err != nil {
		return err
	}
	n := sheetCols * sheetRows
	step := ext.length() / time.Duration(n)
	sheet := image.NewRGBA(image.Rect(0, 0, sheetCols*thumbW, sheetRows*thumbH))
	k := 0
	caps := fmt.Sprintf("video/x-raw,format=RGBA,width=%d,height=%d,pixel-aspect-ratio=1/1", thumbW, thumbH)
	err = decodeEach(ctx, video, "video", caps, 0, func(pts time.Duration, data []byte) bool {
		if pts-ext.shift-ext.first < time.Duration(k)*step || len(data) < thumbW*thumbH*4 {
			return true
		}
		x, y := (k%sheetCols)*thumbW, (k/sheetCols)*thumbH
		for row := 0; row < thumbH; row++ {
			copy(sheet.Pix[(y+row)*sheet.Stride+x*4:], data[row*thumbW*4:(row+1)*thumbW*4])
		}
		k++
		return k < n
	})
	if err != nil {
		return err
	}
	if k == 0 {
		return fmt.Errorf("%w: %s has no video frame", ErrTrack, video)
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, sheet, &jpeg.Options{Quality: 80}); err != nil {
		return fmt.Errorf("compose: contact sheet: %w", err)
	}
	return writeFile(out, b.Bytes())
}

// Rendition re-encodes video at height (width from 16:9), keeping its AAC.
func (Post) Rendition(ctx context.Context, video, out string, height int) error {
	width := int(math.Round(float64(height)*16/9/2)) * 2
	return transcode(ctx, video, out, width, height)
}

// Speech detection: 50 ms windows louder than speechDBFS are speech;
// turns closer than turnGap merge, shorter than minTurn are dropped.
const (
	speechWindow = 50 * time.Millisecond
	speechDBFS   = -45.0
	turnGap      = 500 * time.Millisecond
	minTurn      = 200 * time.Millisecond
)

// Speakers says who spoke when, from each audio track's loudness, on the
// recording's timeline (tracks placed as Render places them).
func (Post) Speakers(ctx context.Context, tracks []jobs.RenderTrack) ([]jobs.SpeakerTurn, error) {
	var files []TrackFile
	for _, t := range tracks {
		if f := trackFile(t); f.Kind == media.Audio {
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		return nil, nil
	}
	placed, _, err := place(ctx, files)
	if err != nil {
		return nil, err
	}
	var turns []jobs.SpeakerTurn
	for _, t := range placed {
		levels, err := loudness(ctx, t.Path, speechWindow, 0)
		if err != nil {
			return nil, err
		}
		turns = append(turns, speechTurns(t.Participant, levels, t.offset-t.shift)...)
	}
	sortTurns(turns)
	return turns, nil
}

// Waveform is the peak loudness of video's audio in n buckets, 0..1.
func (Post) Waveform(ctx context.Context, video string, n int) ([]float64, error) {
	ext, err := scan(ctx, video)
	if err != nil {
		return nil, err
	}
	if n <= 0 {
		return nil, fmt.Errorf("%w: %d waveform buckets", ErrSpec, n)
	}
	bucket := max(ext.length()/time.Duration(n), time.Millisecond)
	levels, err := loudness(ctx, video, bucket, 0)
	if err != nil {
		return nil, err
	}
	out := make([]float64, n)
	for i, l := range levels {
		if i < n {
			out[i] = math.Round(l.peak*1000) / 1000
		}
	}
	return out, nil
}

// level is one window of audio: its start, RMS in dBFS and peak (0..1).
type level struct {
	at   time.Duration
	dbfs float64
	peak float64
}

// loudness decodes path's audio (from about seek on) to mono float and
// measures each window.
func loudness(ctx context.Context, path string, window, seek time.Duration) ([]level, error) {
	const rate = 16000
	per := max(int(window.Seconds()*rate), 1)
	var out []level
	var sum, peak float64
	var count int
	var start time.Duration = -1
	flush := func() {
		if count == 0 {
			return
		}
		rms := math.Sqrt(sum / float64(count))
		out = append(out, level{at: start, dbfs: 20 * math.Log10(max(rms, 1e-9)), peak: min(peak, 1)})
		sum, peak, count = 0, 0, 0
		start += time.Duration(per) * time.Second / rate
	}
	err := decodeEach(ctx, path, "audio", fmt.Sprintf("audio/x-raw,format=F32LE,channels=1,rate=%d", rate), seek, func(pts time.Duration, data []byte) bool {
		if start < 0 {
			start = pts
		}
		for i := 0; i+4 <= len(data); i += 4 {
			v := float64(math.Float32frombits(uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24))
			sum += v * v
			peak = max(peak, math.Abs(v))
			count++
			if count == per {
				flush()
			}
		}
		return true
	})
	flush()
	return out, err
}

// speechTurns turns one participant's levels into turns on the recording's
// timeline (offset added).
func speechTurns(who string, levels []level, offset time.Duration) []jobs.SpeakerTurn {
	var turns []jobs.SpeakerTurn
	var cur *jobs.SpeakerTurn
	for _, l := range levels {
		if l.dbfs < speechDBFS {
			continue
		}
		at := (l.at + offset).Seconds()
		end := at + speechWindow.Seconds()
		if cur != nil && at-cur.EndS <= turnGap.Seconds() {
			cur.EndS = end
			continue
		}
		if cur != nil && cur.EndS-cur.StartS >= minTurn.Seconds() {
			turns = append(turns, *cur)
		}
		cur = &jobs.SpeakerTurn{Participant: who, StartS: at, EndS: end}
	}
	if cur != nil && cur.EndS-cur.StartS >= minTurn.Seconds() {
		turns = append(turns, *cur)
	}
	for i := range turns {
		turns[i].StartS = math.Round(max(turns[i].StartS, 0)*1000) / 1000
		turns[i].EndS = math.Round(turns[i].EndS*1000) / 1000
	}
	return turns
}

func sortTurns(t []jobs.SpeakerTurn) {
	sort.SliceStable(t, func(a, b int) bool { return t[a].StartS < t[b].StartS })
}

func writeFile(out string, data []byte) error {
	tmp := out + ".part"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("compose: %w", err)
	}
	if err := os.Rename(tmp, out); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("compose: %w", err)
	}
	return nil
}
