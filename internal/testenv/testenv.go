// Package testenv starts the real servers tests need — redis-server and the
// versitygw S3 server — on free loopback ports, and makes the reference clips.
// Everything it starts is stopped by t.Cleanup.
package testenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	rootOnce sync.Once
	root     string
)

// RepoRoot is the directory holding go.mod.
func RepoRoot() string {
	rootOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			panic(err)
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				root = dir
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				panic("testenv: go.mod not found above the working directory")
			}
			dir = parent
		}
	})
	return root
}

// CacheDir is a directory kept between test runs (.cache under the repo).
func CacheDir(t testing.TB, name string) string {
	t.Helper()
	dir := filepath.Join(RepoRoot(), ".cache", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("cache dir: %v", err)
	}
	return dir
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// FreeUDPPort returns a UDP port that was free a moment ago, with the TCP
// port of the same number free too.
func FreeUDPPort(t testing.TB) int {
	t.Helper()
	// The media port takes the same number for ICE-TCP on every address:
	// a port whose TCP side is taken is no use.
	for range 20 {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("free udp port: %v", err)
		}
		port := c.LocalAddr().(*net.UDPAddr).Port
		c.Close()
		if ln, err := net.Listen("tcp4", fmt.Sprintf(":%d", port)); err == nil {
			ln.Close()
			return port
		}
	}
	t.Fatal("free udp port: none whose tcp port is free too")
	return 0
}

// WaitTCP waits until addr accepts connections.
func WaitTCP(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not accepting connections after %s: %w", addr, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lockedBuild runs make() once across concurrently running test binaries,
// guarded by an flock on lockPath, unless out already exists.
func lockedBuild(t testing.TB, lockPath, out string, make func() error) {
	t.Helper()
	if _, err := os.Stat(out); err == nil {
		return
	}
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatalf("lock: %v", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatalf("flock: %v", err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(out); err == nil {
		return
	}
	if err := make(); err != nil {
		t.Fatalf("building %s: %v", out, err)
	}
}

// process is a child server process tied to a test.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func startProcess(t testing.TB, name string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(name, args...)
	logPath := filepath.Join(t.TempDir(), filepath.Base(name)+".log")
	lf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); lf.Close(); close(p.done) }()
	return p
}

func (p *process) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// Redis starts a redis-server on a free loopback port and returns its URL.
func Redis(t testing.TB) string {
	t.Helper()
	r := StartRedis(t)
	return r.URL
}

// RedisServer is a running redis-server that a test can stop and start again.
type RedisServer struct {
	URL  string
	Addr string
	t    testing.TB
	dir  string
	port int
	p    *process
}

// StartRedis starts a redis-server (persistence on, data in a temp dir).
func StartRedis(t testing.TB) *RedisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is not installed (run scripts/install-deps.sh): %v", err)
	}
	r := &RedisServer{t: t, dir: t.TempDir(), port: FreePort(t)}
	r.Addr = fmt.Sprintf("127.0.0.1:%d", r.port)
	r.URL = "redis://" + r.Addr + "/0"
	r.Start()
	t.Cleanup(r.Stop)
	return r
}

// Start (re)starts the server on its port with its data.
func (r *RedisServer) Start() {
	r.t.Helper()
	r.p = startProcess(r.t, "redis-server", "--port", fmt.Sprint(r.port), "--bind", "127.0.0.1",
		"--dir", r.dir, "--appendonly", "yes", "--save", "", "--daemonize", "no")
	if err := waitRedis(r.Addr, 15*time.Second); err != nil {
		r.t.Fatalf("redis: %v", err)
	}
}

// Stop stops the server (its data stays for Start).
func (r *RedisServer) Stop() {
	if r.p != nil {
		r.p.stop()
	}
}

func waitRedis(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			_ = c.SetDeadline(time.Now().Add(time.Second))
			_, _ = c.Write([]byte("PING\r\n"))
			line, rerr := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if rerr == nil && strings.HasPrefix(line, "+PONG") {
				return nil
			}
			err = errors.Join(rerr, fmt.Errorf("answer %q", line))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not answering PING after %s: %w", addr, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// S3 is a running versitygw server with the posix backend.
type S3 struct {
	Endpoint  string // host:port
	AccessKey string
	SecretKey string
	Region    string
	Dir       string
	t         testing.TB
	p         *process
}

// VersityGW returns the path of the versitygw binary, built once from the
// module pinned in go.mod.
func VersityGW(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(CacheDir(t, "bin"), "versitygw")
	lockedBuild(t, bin+".lock", bin, func() error {
		tmp := bin + ".tmp"
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", tmp, "github.com/versity/versitygw/cmd/versitygw")
		cmd.Dir = RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return os.Rename(tmp, bin)
	})
	return bin
}

// StartS3 starts a versitygw S3 server on a free loopback port.
func StartS3(t testing.TB) *S3 {
	t.Helper()
	s := &S3{
		Endpoint:  fmt.Sprintf("127.0.0.1:%d", FreePort(t)),
		AccessKey: "mosaictest",
		SecretKey: "mosaictest-secret-key",
		Region:    "us-east-1",
		Dir:       t.TempDir(),
		t:         t,
	}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Start (re)starts the server on its port with its data.
func (s *S3) Start() {
	s.t.Helper()
	bin := VersityGW(s.t)
	data, meta := filepath.Join(s.Dir, "data"), filepath.Join(s.Dir, "meta")
	for _, d := range []string{data, meta} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			s.t.Fatal(err)
		}
	}
	s.p = startProcess(s.t, bin, "--access", s.AccessKey, "--secret", s.SecretKey,
		"--region", s.Region, "--port", s.Endpoint, "--quiet", "posix", "--sidecar", meta, data)
	if err := WaitTCP(s.Endpoint, 20*time.Second); err != nil {
		s.t.Fatalf("versitygw: %v", err)
	}
}

// Stop stops the server; its data stays for Start.
func (s *S3) Stop() {
	if s.p != nil {
		s.p.stop()
	}
}

// Inputs returns a directory with the reference clips p1..p4.webm (10 s),
// made once by shared/bench/make-inputs.sh and kept in the cache.
func Inputs(t testing.TB) string {
	t.Helper()
	dir := CacheDir(t, "inputs")
	done := filepath.Join(dir, ".done")
	lockedBuild(t, filepath.Join(dir, ".lock"), done, func() error {
		script, err := makeInputsScript()
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", script, dir, "10", "4")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v: %s", script, err, out)
		}
		return os.WriteFile(done, nil, 0o644)
	})
	return dir
}

func makeInputsScript() (string, error) {
	for _, p := range []string{
		os.Getenv("MOSAIC_BENCH_DIR"),
		filepath.Join(RepoRoot(), "..", "shared", "bench"),
		filepath.Join(RepoRoot(), "scripts", "bench"),
	} {
		if p == "" {
			continue
		}
		s := filepath.Join(p, "make-inputs.sh")
		if _, err := os.Stat(s); err == nil {
			return s, nil
		}
	}
	return "", errors.New("make-inputs.sh not found (../shared/bench or $MOSAIC_BENCH_DIR)")
}
