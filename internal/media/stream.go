package media

import (
	"sync"
	"sync/atomic"
)

// Stream fans encoded samples out to readers. Publish never blocks: each
// reader has its own buffer, and a reader that falls behind loses samples
// (counted in Dropped) instead of slowing the others.
type Stream struct {
	mu      sync.Mutex
	readers map[*Reader]struct{}
	closed  bool
	// OnSubscribe, when set, is called after a reader is added (for example to
	// force a keyframe so the new reader can start decoding).
	OnSubscribe func(*Reader)
}

// Reader receives a Stream's samples on C until it or the stream is closed.
type Reader struct {
	Name    string
	C       <-chan Sample
	c       chan Sample
	s       *Stream
	once    sync.Once
	dropped atomic.Uint64
}

// NewStream returns an open stream with no readers.
func NewStream() *Stream { return &Stream{readers: map[*Reader]struct{}{}} }

// Subscribe adds a reader with room for buf samples. On a closed stream the
// reader's channel is closed at once.
func (s *Stream) Subscribe(name string, buf int) *Reader {
	if buf < 1 {
		buf = 1
	}
	c := make(chan Sample, buf)
	r := &Reader{Name: name, C: c, c: c, s: s}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		r.once.Do(func() { close(c) })
		return r
	}
	s.readers[r] = struct{}{}
	hook := s.OnSubscribe
	s.mu.Unlock()
	if hook != nil {
		hook(r)
	}
	return r
}

// Publish hands the sample to every reader that has room for it.
func (s *Stream) Publish(smp Sample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for r := range s.readers {
		select {
		case r.c <- smp:
		default:
			r.dropped.Add(1)
		}
	}
}

// Readers is the number of readers.
func (s *Stream) Readers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.readers)
}

// Close closes every reader's channel; later subscribers get a closed one.
func (s *Stream) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	for r := range s.readers {
		delete(s.readers, r)
		r.once.Do(func() { close(r.c) })
	}
}

// Close removes the reader and closes its channel.
func (r *Reader) Close() {
	r.s.mu.Lock()
	delete(r.s.readers, r)
	r.s.mu.Unlock()
	r.once.Do(func() { close(r.c) })
}

// Dropped is how many samples this reader lost for being full.
func (r *Reader) Dropped() uint64 { return r.dropped.Load() }
