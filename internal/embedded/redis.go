package embedded

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// RedisConfig configures the redis-server child process.
type RedisConfig struct {
	// Dir holds the append-only file; the server runs in it.
	Dir string
	// Port on 127.0.0.1; 0 picks a free one.
	Port int
	// Bin is the redis-server executable (default: redis-server on PATH).
	Bin string
	// StartTimeout bounds the wait for PING to answer (default 15s);
	// StopTimeout the wait after SIGTERM before SIGKILL (default 10s).
	StartTimeout, StopTimeout time.Duration
	Log                       *slog.Logger
}

// Redis is a running redis-server child process.
type Redis struct {
	addr     string
	cmd      *exec.Cmd
	stop     chan struct{}
	stopOnce sync.Once
	exited   chan struct{} // closed once the process is gone
	done     chan struct{} // closed once the owner goroutine is gone
	waitErr  error
	timeout  time.Duration
	log      *slog.Logger
}

// StartRedis starts redis-server bound to 127.0.0.1 with append-only
// persistence in Dir and returns once it answers PING. It lives until Close
// or until ctx ends.
func StartRedis(ctx context.Context, cfg RedisConfig) (*Redis, error) {
	if cfg.Dir == "" {
		return nil, fmt.Errorf("%w: redis needs Dir", ErrConfig)
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("%w: redis port %d", ErrConfig, cfg.Port)
	}
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("embedded redis: %w", err)
	}
	bin := cfg.Bin
	if bin == "" {
		bin = "redis-server"
	}
	if bin, err = exec.LookPath(bin); err != nil {
		return nil, fmt.Errorf("%w: redis-server: %w", ErrConfig, err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Port))
	if cfg.Port == 0 {
		if addr, err = freeLoopbackAddr(); err != nil {
			return nil, err
		}
	}
	_, port, _ := net.SplitHostPort(addr)

	r := &Redis{addr: addr, stop: make(chan struct{}), exited: make(chan struct{}), done: make(chan struct{}),
		timeout: cfg.StopTimeout, log: log.With("component", "redis", "addr", addr)}
	if r.timeout <= 0 {
		r.timeout = 10 * time.Second
	}
	out := &lineLogger{log: r.log}
	r.cmd = exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--protected-mode", "no",
		"--dir", dir, "--appendonly", "yes", "--save", "", "--daemonize", "no")
	r.cmd.Dir = dir
	r.cmd.Stdout, r.cmd.Stderr = out, out
	// If this process dies without Close (kill -9, a crash), the child is
	// told to shut down too, cleanly, so its append-only file is complete.
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("embedded redis: start: %w", err)
	}
	go func() {
		r.waitErr = r.cmd.Wait()
		out.flush()
		close(r.exited)
	}()
	go r.run(ctx)

	timeout := cfg.StartTimeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := waitPing(wctx, addr, r.exited); err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("embedded redis: %w (%v)", err, r.waitErr)
	}
	r.log.Info("redis ready", "dir", dir)
	return r, nil
}

// run owns the process: it stops it on Close or when ctx ends.
func (r *Redis) run(ctx context.Context) {
	defer close(r.done)
	select {
	case <-r.exited:
		r.log.Warn("redis exited", "err", r.waitErr)
		return
	case <-ctx.Done():
	case <-r.stop:
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(r.timeout):
		r.log.Warn("redis did not stop after SIGTERM, killing it")
		_ = r.cmd.Process.Kill()
		<-r.exited
	}
}

// Addr is 127.0.0.1:PORT.
func (r *Redis) Addr() string { return r.addr }

// URL is redis://127.0.0.1:PORT/0.
func (r *Redis) URL() string { return "redis://" + r.addr + "/0" }

// Close stops the server (SIGTERM, then SIGKILL after StopTimeout) and
// waits until the process is gone.
func (r *Redis) Close() error {
	r.stopOnce.Do(func() { close(r.stop) })
	<-r.done
	var exit *exec.ExitError
	if r.waitErr != nil && !errors.As(r.waitErr, &exit) {
		return fmt.Errorf("embedded redis: %w", r.waitErr)
	}
	return nil
}

func waitPing(ctx context.Context, addr string, exited <-chan struct{}) error {
	for {
		err := ping(addr)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s: %w", ErrNotReady, addr, err)
		case <-exited:
			return fmt.Errorf("%w before answering PING", ErrExited)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 250*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("answer %q", strings.TrimSpace(line))
	}
	return nil
}

// lineLogger turns the child's output into one slog record per line.
type lineLogger struct {
	mu  sync.Mutex
	buf []byte
	log *slog.Logger
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.emit(l.buf[:i])
		l.buf = l.buf[i+1:]
	}
	if len(l.buf) > 4096 {
		l.emit(l.buf)
		l.buf = nil
	}
	return len(p), nil
}

func (l *lineLogger) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.emit(l.buf)
		l.buf = nil
	}
}

func (l *lineLogger) emit(line []byte) {
	if s := strings.TrimSpace(string(line)); s != "" {
		l.log.Debug("redis-server", "line", s)
	}
}
