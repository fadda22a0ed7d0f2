package publisher

import (
	"fmt"
	"io"
	"time"
)

// progress prints one line per call: media time sent, bitrate since the last
// line, packets sent.
type progress struct {
	w         io.Writer
	total     time.Duration
	lastAt    time.Time
	lastBytes int64
	printed   bool
}

func newProgress(w io.Writer, total time.Duration) *progress {
	return &progress{w: w, total: total, lastAt: time.Now()}
}

func (p *progress) print(st Stats) {
	if p.w == nil {
		return
	}
	now := time.Now()
	bytes := st.VideoBytes + st.AudioBytes
	if p.printed && bytes == p.lastBytes && now.Sub(p.lastAt) < time.Second {
		return // the final line would repeat the last one
	}
	p.printed = true
	kbps := 0.0
	if dt := now.Sub(p.lastAt).Seconds(); dt > 0 {
		kbps = float64(bytes-p.lastBytes) * 8 / dt / 1000
	}
	p.lastAt, p.lastBytes = now, bytes
	total := "--:--"
	if p.total > 0 {
		total = clock(p.total)
	}
	fmt.Fprintf(p.w, "sent %s / %s  %5.0f kbit/s  %d packets  %d video / %d audio frames\n",
		clock(st.Duration), total, kbps, st.PacketsSent, st.VideoFrames, st.AudioFrames)
}

// clock formats a duration as m:ss (h:mm:ss past an hour).
func clock(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
