package publisher

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	pmedia "github.com/pion/webrtc/v4/pkg/media"
)

// frame is one encoded access unit (video) or packet (audio) to send.
type frame struct {
	video    bool
	data     []byte
	pts      time.Duration // media time since the start of the source
	duration time.Duration // until the next frame of the same track
	keyframe bool
}

// counters are shared between the senders and the progress reporter.
type counters struct {
	videoFrames, audioFrames atomic.Int64
	videoBytes, audioBytes   atomic.Int64
	nacks, plis              atomic.Int64
	packets                  atomic.Int64 // RTP packets sent
	rtt                      atomic.Int64 // last round-trip time, nanoseconds
	mediaTime                atomic.Int64 // max pts+duration sent, nanoseconds
}

// trackSender sends frames of one track and reads its RTCP feedback.
type trackSender struct {
	track  *webrtc.TrackLocalStaticSample
	sender *webrtc.RTPSender
	video  bool
	c      *counters
	// onKeyframeRequest is called for each PLI/FIR (may be nil).
	onKeyframeRequest atomic.Pointer[func()]
	done              chan struct{}
}

func addTrackSender(pc *webrtc.PeerConnection, capability webrtc.RTPCodecCapability, id string, c *counters) (*trackSender, error) {
	track, err := webrtc.NewTrackLocalStaticSample(capability, id, "mosaic-publish")
	if err != nil {
		return nil, fmt.Errorf("new %s track: %w", id, err)
	}
	tr, err := pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return nil, fmt.Errorf("add %s track: %w", id, err)
	}
	return &trackSender{
		track:  track,
		sender: tr.Sender(),
		video:  track.Kind() == webrtc.RTPCodecTypeVideo,
		c:      c,
		done:   make(chan struct{}),
	}, nil
}

// startRTCP runs the RTCP reader until the PeerConnection closes.
func (s *trackSender) startRTCP(wg *sync.WaitGroup) {
	if s == nil {
		return
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(s.done)
		for {
			pkts, _, err := s.sender.ReadRTCP()
			if err != nil {
				return // the PeerConnection closed
			}
			now := time.Now()
			for _, p := range pkts {
				switch p := p.(type) {
				case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
					s.c.plis.Add(1)
					if fn := s.onKeyframeRequest.Load(); fn != nil {
						(*fn)()
					}
				case *rtcp.TransportLayerNack:
					s.c.nacks.Add(1)
				case *rtcp.ReceiverReport:
					for _, r := range p.Reports {
						if rtt, ok := rttFromReport(r, now); ok {
							s.c.rtt.Store(int64(rtt))
						}
					}
				}
			}
		}
	}()
}

// write sends one frame; pion packetizes it, and its duration advances the
// RTP timestamp of the next frame.
func (s *trackSender) write(f frame) error {
	if err := s.track.WriteSample(pmedia.Sample{Data: f.data, Duration: f.duration}); err != nil {
		return fmt.Errorf("write sample: %w", err)
	}
	n := int64(len(f.data))
	if s.video {
		s.c.videoFrames.Add(1)
		s.c.videoBytes.Add(n)
	} else {
		s.c.audioFrames.Add(1)
		s.c.audioBytes.Add(n)
	}
	end := int64(f.pts + f.duration)
	for {
		cur := s.c.mediaTime.Load()
		if end <= cur || s.c.mediaTime.CompareAndSwap(cur, end) {
			break
		}
	}
	return nil
}
