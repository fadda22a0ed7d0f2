package publisher

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressLine(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, 10*time.Second)
	p.lastAt = time.Now().Add(-time.Second)
	p.print(Stats{Duration: 1500 * time.Millisecond, VideoBytes: 100_000, AudioBytes: 25_000, PacketsSent: 120, VideoFrames: 45, AudioFrames: 75})
	p.print(Stats{Duration: 1500 * time.Millisecond, VideoBytes: 100_000, AudioBytes: 25_000, PacketsSent: 120, VideoFrames: 45, AudioFrames: 75})
	out := b.String()
	if strings.Count(out, "\n") != 1 {
		t.Fatalf("want one line (the repeat is dropped), got %q", out)
	}
	for _, want := range []string{"sent 0:02 / 0:10", "1000 kbit/s", "120 packets", "45 video / 75 audio frames"} {
		if !strings.Contains(out, want) {
			t.Errorf("%q lacks %q", out, want)
		}
	}
	if got := clock(3725 * time.Second); got != "1:02:05" {
		t.Errorf("clock = %q", got)
	}
	newProgress(nil, 0).print(Stats{}) // no writer: nothing, no panic
}
