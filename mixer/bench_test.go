package mixer

import (
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMix mixes N participants (VP8 + Opus, real time) into a 720p
// H.264 composite. One op is 3 s of room time; cpu-s/s is the process's CPU
// per second of room time (feeders' demuxing included), out-fps the
// composite's frame rate.
func BenchmarkMix(b *testing.B) {
	clips := testenv.Inputs(b)
	for _, n := range []int{1, 4} {
		b.Run(fmt.Sprintf("inputs=%d", n), func(b *testing.B) {
			var cpu, wall time.Duration
			var frames uint64
			for range b.N {
				m := newMixer(b, Config{})
				r := m.Output().Subscribe("bench", 4096)
				go func() {
					for range r.C {
					}
				}()
				start, cpu0, f0 := time.Now(), cpuTime(), m.Stats().VideoFrames
				var feeds []*feed
				for i := range n {
					feeds = append(feeds, startFeed(b, m, filepath.Join(clips, fmt.Sprintf("p%d.webm", i%4+1)),
						feedOptions{Duration: 3 * time.Second}))
				}
				for _, f := range feeds {
					f.wait(time.Minute)
				}
				wall += time.Since(start)
				cpu += cpuTime() - cpu0
				frames += m.Stats().VideoFrames - f0
				r.Close()
			}
			b.ReportMetric(cpu.Seconds()/wall.Seconds(), "cpu-s/s")
			b.ReportMetric(float64(frames)/wall.Seconds(), "out-fps")
		})
	}
}
