package testenv

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestRedisStartsAndRestarts(t *testing.T) {
	r := StartRedis(t)
	if err := waitRedis(r.Addr, time.Second); err != nil {
		t.Fatal(err)
	}
	r.Stop()
	if c, err := net.DialTimeout("tcp", r.Addr, 200*time.Millisecond); err == nil {
		c.Close()
		t.Fatal("redis still accepting after Stop")
	}
	r.Start()
	if err := waitRedis(r.Addr, time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestS3Starts(t *testing.T) {
	s := StartS3(t)
	if err := WaitTCP(s.Endpoint, time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestInputs(t *testing.T) {
	dir := Inputs(t)
	for _, n := range []string{"p1.webm", "p2.webm", "p3.webm", "p4.webm"} {
		st, err := os.Stat(filepath.Join(dir, n))
		if err != nil || st.Size() < 100_000 {
			t.Fatalf("%s: %v (size %v)", n, err, st)
		}
	}
}
