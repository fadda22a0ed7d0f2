package cluster

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/self/stat;
// it is 100 on every Linux architecture Go supports.
const clockTicks = 100

// cpuSampler turns /proc/self/stat into a load: CPU seconds per wall second
// divided by the number of cores (0..1 for a process that uses them all).
type cpuSampler struct {
	path   string
	last   time.Duration
	lastAt time.Time
	cores  int
	prev   float64
}

func newCPUSampler() *cpuSampler {
	s := &cpuSampler{path: "/proc/self/stat", cores: runtime.NumCPU()}
	s.last, _ = s.read()
	s.lastAt = time.Now()
	return s
}

// sample returns the load since the previous sample.
func (s *cpuSampler) sample() (float64, error) {
	cpu, err := s.read()
	if err != nil {
		return 0, err
	}
	now := time.Now()
	wall := now.Sub(s.lastAt)
	if wall < minSampleWindow || s.cores <= 0 {
		// Too short a window says nothing (a first heartbeat right after
		// start would divide start-up work by a few microseconds).
		return s.prev, nil
	}
	used := cpu - s.last
	s.last, s.lastAt = cpu, now
	s.prev = min(max(used.Seconds()/wall.Seconds()/float64(s.cores), 0), 1)
	return s.prev, nil
}

// minSampleWindow is the shortest wall time a load is measured over.
const minSampleWindow = 500 * time.Millisecond

// read is the process's user plus system CPU time.
func (s *cpuSampler) read() (time.Duration, error) {
	b, err := os.ReadFile(s.path)
	if err != nil {
		return 0, fmt.Errorf("cpu: %w", err)
	}
	return parseStat(b)
}

// parseStat reads utime and stime (fields 14 and 15) of a /proc/PID/stat
// line. The command name (field 2) is in parentheses and may hold spaces,
// so fields are counted after its closing parenthesis.
func parseStat(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("cpu: stat line without command name")
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state), so field N is f[N-3].
	if len(f) < 13 {
		return 0, fmt.Errorf("cpu: stat line has %d fields after the name", len(f))
	}
	ut, err1 := strconv.ParseUint(string(f[11]), 10, 64)
	st, err2 := strconv.ParseUint(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("cpu: bad utime/stime %q %q", f[11], f[12])
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}
