package mixer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

// decodePCM decodes a file's audio to 48 kHz float samples of its left channel.
func decodePCM(t *testing.T, path string) []float64 {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-vn", "-f", "f32le", "-ar", "48000", "-ac", "2", "-").Output()
	if err != nil {
		t.Fatalf("decode audio: %v", err)
	}
	pcm := make([]float64, 0, len(out)/8)
	for i := 0; i+7 < len(out); i += 8 {
		pcm = append(pcm, float64(math.Float32frombits(binary.LittleEndian.Uint32(out[i:]))))
	}
	if len(pcm) < 48000 {
		t.Fatalf("only %d audio samples", len(pcm))
	}
	return pcm
}

// rms is the level of pcm between two times (seconds).
func rms(pcm []float64, from, to float64) float64 {
	a, b := int(from*48000), min(int(to*48000), len(pcm))
	if a >= b {
		return 0
	}
	var sum float64
	for _, v := range pcm[a:b] {
		sum += v * v
	}
	return math.Sqrt(sum / float64(b-a))
}

// gaps lists the 20 ms windows between from and to whose level is under
// a quarter of the median level there: drops of the tone.
func gaps(pcm []float64, from, to float64) []float64 {
	const win = 0.02
	var levels []float64
	for s := from; s+win <= to; s += win {
		levels = append(levels, rms(pcm, s, s+win))
	}
	sorted := append([]float64(nil), levels...)
	med := medianOf(sorted)
	var out []float64
	for i, l := range levels {
		if l < med/4 {
			out = append(out, from+float64(i)*win)
		}
	}
	return out
}

func medianOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	for i := range xs {
		for j := i + 1; j < len(xs); j++ {
			if xs[j] < xs[i] {
				xs[i], xs[j] = xs[j], xs[i]
			}
		}
	}
	return xs[len(xs)/2]
}

func peakOf(pcm []float64) float64 {
	peak := 0.0
	for _, v := range pcm {
		peak = max(peak, math.Abs(v))
	}
	return peak
}

func dBFS(v float64) float64 { return 20 * math.Log10(v) }

// TestLoudRoomDoesNotClip: four participants sending a tone with a gain of
// 8 each (a sum 32 times the clips' -18 dBFS) come out limited under -1 dBFS.
func TestLoudRoomDoesNotClip(t *testing.T) {
	clips := testenv.Inputs(t)
	m := newMixer(t, Config{Width: 320, Height: 180})
	var feeds []*feed
	for i := 1; i <= 4; i++ {
		id := fmt.Sprintf("p%d", i)
		if err := m.SetGain(id, 8); err != nil {
			t.Fatal(err)
		}
		feeds = append(feeds, startFeed(t, m, filepath.Join(clips, "p1.webm"), feedOptions{Participant: id, Duration: 3 * time.Second}))
	}
	rec := startRecording(t, m)
	for _, f := range feeds {
		f.wait(30 * time.Second)
	}
	pcm := decodePCM(t, rec.write(t, t.TempDir()))
	peak := peakOf(pcm)
	loud := rms(pcm, 0.5, 2.5)
	limited, skipped := m.limit.counts()
	t.Logf("peak %.3f (%.2f dBFS), rms %.3f, limited buffers %d", peak, dBFS(peak), loud, limited)
	if peak > math.Pow(10, -1.0/20) {
		t.Fatalf("peak %.2f dBFS, want at most -1 dBFS", dBFS(peak))
	}
	if loud < 0.1 { // four tones of random phase: their sum varies, but not down to the clips' 0.09
		t.Fatalf("rms %.3f: the loud room came out quiet", loud)
	}
	if limited == 0 || skipped != 0 {
		t.Fatalf("limiter: %d buffers limited, %d skipped", limited, skipped)
	}
}

// TestGain: a participant turned down to a quarter mid-stream is a quarter as loud.
func TestGain(t *testing.T) {
	clips := testenv.Inputs(t)
	m := newMixer(t, Config{Width: 320, Height: 180})
	for _, g := range []float64{-1, 11, math.NaN()} {
		if err := m.SetGain("p", g); !errors.Is(err, ErrInvalidGain) {
			t.Fatalf("SetGain(%v) = %v, want ErrInvalidGain", g, err)
		}
	}
	rec := startRecording(t, m)
	f := startFeed(t, m, filepath.Join(clips, "p1.webm"), feedOptions{Participant: "p", Duration: 4 * time.Second})
	time.Sleep(2 * time.Second)
	if err := m.SetGain("p", 0.25); err != nil {
		t.Fatal(err)
	}
	f.wait(30 * time.Second)
	pcm := decodePCM(t, rec.write(t, t.TempDir()))
	before, after := rms(pcm, 0.3, 1.7), rms(pcm, 2.3, 3.7)
	t.Logf("rms before %.4f after %.4f", before, after)
	if before < 0.03 || after/before < 0.15 || after/before > 0.4 {
		t.Fatalf("rms %.4f → %.4f, want a quarter after SetGain(0.25)", before, after)
	}
}

// TestMutedParticipant: a participant that stops sending audio (muted)
// contributes silence at once; the other's tone goes on without a gap and
// the room does not wait for the silent one.
func TestMutedParticipant(t *testing.T) {
	clips := testenv.Inputs(t)
	m := newMixer(t, Config{Width: 320, Height: 180})
	if err := m.SetGain("loud", 3); err != nil {
		t.Fatal(err)
	}
	rec := startRecording(t, m)
	steady := startFeed(t, m, filepath.Join(clips, "p1.webm"), feedOptions{Participant: "steady", Duration: 5 * time.Second})
	muted := startFeed(t, m, filepath.Join(clips, "p2.webm"), feedOptions{Participant: "loud", Duration: 1500 * time.Millisecond})
	select {
	case <-muted.done: // stops sending but stays in the room
	case <-time.After(20 * time.Second):
		t.Fatal("muted feed did not finish")
	}
	steady.wait(30 * time.Second)
	if st := m.Stats(); st.Inputs != 2 {
		t.Fatalf("%d inputs, want the muted participant's 2", st.Inputs)
	}
	pcm := decodePCM(t, rec.write(t, t.TempDir()))
	both, alone := rms(pcm, 0.4, 1.2), rms(pcm, 2.5, 4.5)
	t.Logf("rms with both %.4f, after the mute %.4f", both, alone)
	if alone < 0.02 || both < 1.6*alone {
		t.Fatalf("rms %.4f with both, %.4f after the mute: want the muted one's share gone and the other's tone left", both, alone)
	}
	if g := gaps(pcm, 0.3, 4.6); len(g) > 0 {
		t.Fatalf("tone drops at %v s", g)
	}
}
