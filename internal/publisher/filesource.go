package publisher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// reorderWindow is how far ahead of the next frame the file source reads, so
// that frames of both tracks leave in timestamp order.
const reorderWindow = 300 * time.Millisecond

// fileSource plays a WebM file in real time: every frame leaves at
// start + pts, video and audio against the same start instant, which keeps
// their offset in the file (lip-sync) on the wire.
type fileSource struct {
	path   string
	loop   bool
	limit  time.Duration // 0: no limit
	r      *webmReader
	offset time.Duration // media time at which the current pass began
	end    time.Duration // end of the latest frame read (offset included)
	passN  int           // frames read in the current pass
	eof    bool
	buf    []frame // sorted by pts
}

func openFileSource(path string, loop bool, limit time.Duration) (*fileSource, error) {
	r, err := openWebM(path)
	if err != nil {
		return nil, err
	}
	return &fileSource{path: path, loop: loop, limit: limit, r: r}, nil
}

func (s *fileSource) hasVideo() bool { return s.r.video != nil }
func (s *fileSource) hasAudio() bool { return s.r.audio != nil }

// total is the length that will be sent, 0 if unbounded or unknown.
func (s *fileSource) total() time.Duration {
	switch {
	case s.limit > 0 && (s.loop || s.r.duration == 0 || s.limit < s.r.duration):
		return s.limit
	case s.loop:
		return 0
	default:
		return s.r.duration
	}
}

func (s *fileSource) Close() error { return s.r.Close() }

// run sends the file until it ends, the limit is reached or ctx ends.
func (s *fileSource) run(ctx context.Context, video, audio *trackSender) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	start := time.Now()
	for {
		f, err := s.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if s.limit > 0 && f.pts >= s.limit {
			return nil
		}
		if wait := time.Until(start.Add(f.pts)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return nil
			}
		} else if ctx.Err() != nil {
			return nil
		}
		dst := audio
		if f.video {
			dst = video
		}
		if err := dst.write(f); err != nil {
			return err
		}
	}
}

// next returns the frame with the lowest pts among those read ahead.
func (s *fileSource) next() (frame, error) {
	for !s.eof && (len(s.buf) == 0 || s.buf[len(s.buf)-1].pts-s.buf[0].pts < reorderWindow) {
		f, err := s.read()
		if errors.Is(err, io.EOF) {
			s.eof = true
			break
		}
		if err != nil {
			return frame{}, err
		}
		i, _ := slices.BinarySearchFunc(s.buf, f.pts, func(a frame, pts time.Duration) int {
			return cmpDuration(a.pts, pts+1) // after frames with the same pts
		})
		s.buf = slices.Insert(s.buf, i, f)
	}
	if len(s.buf) == 0 {
		return frame{}, io.EOF
	}
	f := s.buf[0]
	s.buf = s.buf[1:]
	return f, nil
}

// read returns the next frame in file order, restarting the file when looping.
func (s *fileSource) read() (frame, error) {
	for {
		f, err := s.r.next()
		if err == nil {
			f.pts += s.offset
			s.end = max(s.end, f.pts+f.duration)
			s.passN++
			return f, nil
		}
		if !errors.Is(err, io.EOF) || !s.loop || s.passN == 0 {
			return frame{}, err
		}
		_ = s.r.Close()
		r, err := openWebM(s.path)
		if err != nil {
			return frame{}, fmt.Errorf("reopen for loop: %w", err)
		}
		s.r, s.offset, s.passN = r, s.end, 0
	}
}

func cmpDuration(a, b time.Duration) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
