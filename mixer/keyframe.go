package mixer

import (
	"sync"
	"time"
)

// limiter runs fn at most once per interval. A call inside the interval is
// not lost: it is deferred to the end of the interval (once, however many
// calls came).
type limiter struct {
	interval time.Duration
	fn       func()

	mu      sync.Mutex
	last    time.Time
	pending *time.Timer
	stopped bool
}

func newLimiter(interval time.Duration, fn func()) *limiter {
	return &limiter{interval: interval, fn: fn}
}

func (l *limiter) call() {
	l.mu.Lock()
	if l.stopped || l.pending != nil {
		l.mu.Unlock()
		return
	}
	wait := l.interval - time.Since(l.last)
	if wait <= 0 {
		l.last = time.Now()
		l.mu.Unlock()
		l.fn()
		return
	}
	defer l.mu.Unlock()
	l.pending = time.AfterFunc(wait, func() {
		l.mu.Lock()
		l.pending = nil
		if l.stopped {
			l.mu.Unlock()
			return
		}
		l.last = time.Now()
		l.mu.Unlock()
		l.fn()
	})
}

// stop cancels a deferred call; later calls do nothing.
func (l *limiter) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopped = true
	if l.pending != nil {
		l.pending.Stop()
		l.pending = nil
	}
}
