package publisher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/pion/webrtc/v4"
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
	s := &fileSource{path: path, loop: loop, limit: limit, r: r}
	if err := s.fill(); err != nil { // bad frames at the start fail before connecting
		_ = r.Close()
		return nil, err
	}
	return s, nil
}

func (s *fileSource) hasVideo() bool { return s.r.video != nil }
func (s *fileSource) hasAudio() bool { return s.r.audio != nil }

// videoCapability is the RTP codec of the file's video track.
func (s *fileSource) videoCapability() webrtc.RTPCodecCapability {
	if s.r.video != nil && s.r.video.avc != nil {
		return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: s.r.video.avc.fmtp()}
	}
	return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
}

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
	// sleep waits until media time at; false when ctx ended.
	sleep := func(at time.Duration) bool {
		if wait := time.Until(start.Add(at)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return false
			}
		}
		return ctx.Err() == nil
	}
	var sent time.Duration // end of the last frame sent
	for {
		f, err := s.next()
		if errors.Is(err, io.EOF) || (err == nil && s.limit > 0 && f.pts >= s.limit) {
			sleep(sent) // the last frame lasts its duration
			return nil
		}
		if err != nil {
			return err
		}
		if !sleep(f.pts) {
			return nil
		}
		sent = max(sent, f.pts+f.duration)
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
	if err := s.fill(); err != nil {
		return frame{}, err
	}
	if len(s.buf) == 0 {
		return frame{}, io.EOF
	}
	f := s.buf[0]
	s.buf = s.buf[1:]
	return f, nil
}

// fill reads ahead until the buffer spans the reorder window or the file ended.
func (s *fileSource) fill() error {
	for !s.eof && (len(s.buf) == 0 || s.buf[len(s.buf)-1].pts-s.buf[0].pts < reorderWindow) {
		f, err := s.read()
		if errors.Is(err, io.EOF) {
			s.eof = true
			break
		}
		if err != nil {
			return err
		}
		i, _ := slices.BinarySearchFunc(s.buf, f.pts, func(a frame, pts time.Duration) int {
			return cmpDuration(a.pts, pts+1) // after frames with the same pts
		})
		s.buf = slices.Insert(s.buf, i, f)
	}
	return nil
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
