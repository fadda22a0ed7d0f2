// Package e2e runs the real mosaic binary as users do: serve, publish,
// record, and checks what lands in the object store by decoding it.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

const testSecret = "e2e-test-secret-0123456789abcdef"

// server is a running `mosaic serve` with its own Redis and S3.
type server struct {
	t       *testing.T
	bin     string
	base    string
	dataDir string
	redis   *testenv.RedisServer
	s3      *testenv.S3
	proc    *testenv.Proc
	args    []string
	admin   string
}

func startServer(t *testing.T, extra ...string) *server {
	t.Helper()
	s := &server{t: t, bin: testenv.MosaicBin(t), dataDir: t.TempDir(), redis: testenv.StartRedis(t), s3: testenv.StartS3(t)}
	port := testenv.FreePort(t)
	s.base = fmt.Sprintf("http://127.0.0.1:%d", port)
	s.args = append([]string{"serve",
		"--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--media-port", fmt.Sprint(testenv.FreeUDPPort(t)),
		"--data-dir", s.dataDir,
		"--redis-url", s.redis.URL,
		"--s3-endpoint", s.s3.Endpoint, "--s3-access-key", s.s3.AccessKey, "--s3-secret-key", s.s3.SecretKey,
		"--secret", testSecret,
		"--log-level", "debug",
	}, extra...)
	s.start()
	s.admin = s.token("*", "admin")
	return s
}

func (s *server) start() {
	s.t.Helper()
	s.proc = testenv.Run(s.t, nil, s.bin, s.args...)
	if _, err := s.proc.WaitLine("Mosaic is running", 90*time.Second); err != nil {
		s.t.Fatalf("serve did not start: %v\n%s", err, s.proc.Tail(40))
	}
}

func (s *server) token(room, role string) string {
	s.t.Helper()
	out, err := runCmd(s.bin, "token", "--secret", testSecret, "--room", room, "--role", role, "--identity", role+"-e2e")
	if err != nil {
		s.t.Fatalf("mosaic token: %v: %s", err, out)
	}
	return strings.TrimSpace(out)
}

func runCmd(bin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := execCommand(ctx, bin, args...).CombinedOutput()
	return string(out), err
}

// call does a JSON API request and decodes the answer into out.
func (s *server) call(method, path, token string, body any, out any) int {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.base+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			s.t.Fatalf("%s %s: %d, body %q: %v", method, path, res.StatusCode, data, err)
		}
	}
	return res.StatusCode
}

func (s *server) minio() *minio.Client {
	s.t.Helper()
	c, err := minio.New(s.s3.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s.s3.AccessKey, s.s3.SecretKey, ""), Region: s.s3.Region})
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

// objects lists the keys under prefix in the mosaic bucket.
func (s *server) objects(prefix string) map[string]int64 {
	s.t.Helper()
	out := map[string]int64{}
	for obj := range s.minio().ListObjects(context.Background(), "mosaic", minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			s.t.Fatalf("list %s: %v", prefix, obj.Err)
		}
		out[obj.Key] = obj.Size
	}
	return out
}

// download fetches a URL into dir/name.
func download(t *testing.T, url, dir, name string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("download %s: %v", url, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("download %s: %s", url, res.Status)
	}
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(f, res.Body); err != nil {
		t.Fatal(err)
	}
	return path
}

type recordingView struct {
	ID        string  `json:"id"`
	Room      string  `json:"room"`
	State     string  `json:"state"`
	DurationS float64 `json:"duration_s"`
	Segments  int     `json:"segments"`
	Uploaded  int     `json:"segments_uploaded"`
	Error     string  `json:"error"`
	Files     []struct {
		Name string `json:"name"`
		Size int64  `json:"size"`
		URL  string `json:"url"`
	} `json:"files"`
}

// waitState polls a recording until it reaches state (or fails).
func (s *server) waitState(id, state string, timeout time.Duration) recordingView {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	var rec recordingView
	for time.Now().Before(deadline) {
		rec = recordingView{}
		if code := s.call("GET", "/api/recordings/"+id, s.admin, nil, &rec); code != http.StatusOK {
			s.t.Fatalf("get recording: %d", code)
		}
		if rec.State == state {
			return rec
		}
		if rec.State == "failed" {
			s.t.Fatalf("recording failed: %+v", rec)
		}
		time.Sleep(250 * time.Millisecond)
	}
	s.t.Fatalf("recording %s still %q after %s (want %q): %+v", id, rec.State, timeout, state, rec)
	return rec
}
