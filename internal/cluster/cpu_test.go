package cluster

import (
	"errors"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	for _, tc := range []struct {
		name string
		line string
		want time.Duration
		bad  bool
	}{
		{"plain", "1234 (mosaic) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 12 0 100 0 0", 3 * time.Second, false},
		{"name with spaces and parens", "77 (a b) (c)) R 1 1 1 0 -1 0 0 0 0 0 7 3 0 0", 100 * time.Millisecond, false},
		{"no name", "1234 mosaic S 1", 0, true},
		{"short", "1 (x) S 1 2 3", 0, true},
		{"not numbers", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 a b 0 0", 0, true},
		{"empty", "", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStat([]byte(tc.line))
			if tc.bad != (err != nil) {
				t.Fatalf("parseStat(%q) err = %v, want error %v", tc.line, err, tc.bad)
			}
			if got != tc.want {
				t.Fatalf("parseStat(%q) = %s, want %s", tc.line, got, tc.want)
			}
		})
	}
}

// A window too short to say anything keeps the previous load (a first
// heartbeat right after start must not read start-up work as overload).
func TestCPUSamplerIgnoresShortWindows(t *testing.T) {
	s := newCPUSampler()
	s.last -= 10 * time.Second // as if the process had worked hard just now
	if load, err := s.sample(); err != nil || load != 0 {
		t.Fatalf("load over a microseconds window = %.3f (%v), want the previous 0", load, err)
	}
}

// A busy loop shows up as load on this process; the sampler stays in 0..1.
func TestCPUSamplerSeesWork(t *testing.T) {
	s := newCPUSampler()
	end := time.Now().Add(600 * time.Millisecond)
	x := 0
	for time.Now().Before(end) {
		x++
	}
	load, err := s.sample()
	if err != nil {
		t.Fatal(err)
	}
	if load <= 0 || load > 1.01 {
		t.Fatalf("load after 600 ms of spinning on %d cores = %.3f, want in (0, 1]", s.cores, load)
	}
	s.path = "/nonexistent/stat"
	if _, err := s.sample(); err == nil || errors.Is(err, ErrBadConfig) {
		t.Fatalf("sample of a missing stat file: %v, want a read error", err)
	}
	_ = x
}

// A node over its CPU budget takes no new rooms; 1 turns the limit off.
func TestAcceptsCPU(t *testing.T) {
	for _, tc := range []struct {
		info NodeInfo
		want bool
	}{
		{NodeInfo{MaxCPU: 0.85, CPU: 0.5}, true},
		{NodeInfo{MaxCPU: 0.85, CPU: 0.9}, false},
		{NodeInfo{MaxCPU: 1, CPU: 1.2}, true},
		{NodeInfo{MaxCPU: 0.85, CPU: 0.1, Draining: true}, false},
		{NodeInfo{MaxCPU: 0.85, MaxRooms: 2, Rooms: 2}, false},
		{NodeInfo{MaxCPU: 0.85, MaxRooms: 2, Rooms: 1}, true},
		{NodeInfo{MaxCPU: 1, Lagging: 1}, false},
	} {
		if got := tc.info.Accepts(); got != tc.want {
			t.Errorf("%+v Accepts() = %v, want %v", tc.info, got, tc.want)
		}
	}
}
