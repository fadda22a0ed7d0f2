package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/mosaic-rtc/mosaic/internal/mediatest"
)

// storedManifest is what the fault tests read back from manifest.json.
type storedManifest struct {
	DurationS float64 `json:"duration_s"`
	Segments  []struct {
		Index     int     `json:"index"`
		DurationS float64 `json:"duration_s"`
		Size      int64   `json:"size"`
		SHA256    string  `json:"sha256"`
		Key       string  `json:"key"`
	} `json:"segments"`
}

// checkStored verifies a ready recording in the store: one object per
// segment, each with the size and checksum of the manifest and playable,
// no multipart upload left open, and a composite; it returns the
// composite's probe.
func checkStored(t *testing.T, s *server, room string, ready recordingView) *mediatest.Info {
	t.Helper()
	prefix := "recordings/" + room + "/" + ready.ID + "/"
	objs := s.objects(prefix)
	data := s.getObject(prefix + "manifest.json")
	var m storedManifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	segObjects := 0
	for k := range objs {
		if ok, _ := filepath.Match(prefix+"seg-*.mp4", k); ok {
			segObjects++
		}
	}
	if segObjects != len(m.Segments) || len(m.Segments) != ready.Segments || ready.Uploaded != ready.Segments {
		t.Fatalf("%d segment objects, manifest %d, API %d (%d uploaded): %v", segObjects, len(m.Segments), ready.Segments, ready.Uploaded, objs)
	}
	dir := t.TempDir()
	for i, seg := range m.Segments {
		if seg.Index != i+1 {
			t.Errorf("manifest segment %d has index %d: a gap or a duplicate", i+1, seg.Index)
		}
		body := s.getObject(seg.Key)
		sum := sha256.Sum256(body)
		if int64(len(body)) != seg.Size || hex.EncodeToString(sum[:]) != seg.SHA256 {
			t.Errorf("segment %d: stored %d bytes sha %x, manifest %d bytes sha %s", seg.Index, len(body), sum[:4], seg.Size, seg.SHA256)
			continue
		}
		path := filepath.Join(dir, filepath.Base(seg.Key))
		if err := os.WriteFile(path, body, 0o644); err != nil {
			t.Fatal(err)
		}
		if info := mediatest.Probe(t, path); info.Video() == nil || info.Duration <= 0 {
			t.Errorf("segment %d does not decode: %+v", seg.Index, info)
		} else if math.Abs(info.Duration-seg.DurationS) > 0.5 && seg.DurationS > 0 {
			t.Errorf("segment %d lasts %.2f s, manifest says %.2f s", seg.Index, info.Duration, seg.DurationS)
		}
	}
	for up := range s.minio().ListIncompleteUploads(context.Background(), "mosaic", prefix, true) {
		if up.Err != nil {
			t.Logf("list incomplete uploads: %v", up.Err)
			break
		}
		t.Errorf("multipart upload left open: %s", up.Key)
	}
	return compositeOf(t, ready)
}

// getObject reads a whole object of the mosaic bucket.
func (s *server) getObject(key string) []byte {
	s.t.Helper()
	obj, err := s.minio().GetObject(context.Background(), "mosaic", key, minio.GetObjectOptions{})
	if err != nil {
		s.t.Fatalf("get %s: %v", key, err)
	}
	defer obj.Close()
	data, err := io.ReadAll(obj)
	if err != nil {
		s.t.Fatalf("get %s: %v", key, err)
	}
	return data
}

// slowProxy forwards TCP connections to target, the client-to-server
// direction throttled to rate bytes per second; Up counts those bytes.
type slowProxy struct {
	Addr string
	Up   atomic.Int64
	ln   net.Listener
}

func startSlowProxy(t *testing.T, target string, rate int) *slowProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &slowProxy{Addr: ln.Addr().String(), ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c, target, rate)
		}
	}()
	return p
}

func (p *slowProxy) serve(c net.Conn, target string, rate int) {
	defer c.Close()
	u, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer u.Close()
	go func() {
		_, _ = io.Copy(c, u)
		c.Close()
	}()
	const chunk = 4096
	buf := make([]byte, chunk)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := u.Write(buf[:n]); werr != nil {
				return
			}
			p.Up.Add(int64(n))
			time.Sleep(time.Duration(float64(n) / float64(rate) * float64(time.Second)))
		}
		if err != nil {
			return
		}
	}
}

// lastPacketTime is the time of the last packet of a media file's first
// stream: the length of a file whose header has no duration (a Matroska
// file cut by a crash).
func lastPacketTime(t *testing.T, path string) float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-select_streams", "0",
		"-show_entries", "packet=pts_time", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	last := 0.0
	for _, line := range strings.Fields(string(out)) {
		if v, err := strconv.ParseFloat(strings.Trim(line, ","), 64); err == nil && v > last {
			last = v
		}
	}
	return last
}
