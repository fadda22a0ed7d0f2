// Package publisher is a WHIP client: it sends a WebM file or a live test
// pattern to a WHIP endpoint in real time, and (view.go) a WHEP client that
// counts what it receives. It backs `mosaic publish`, tests and load tools.
//
// Building needs cgo with libvpx and x264 found by pkg-config (libvpx-dev,
// libx264-dev); libopus is linked statically from the copy inside
// mediadevices, or from the system (pkg-config opus) with -tags dynamic.
package publisher

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

// Publish sends one participant's media to opts.URL until the file ends,
// opts.Duration of media was sent, or ctx ends (a normal stop: nil error).
// It POSTs a complete (non-trickle) offer, expects 201 with an SDP answer and
// a Location, and DELETEs that Location before returning. Error responses are
// *HTTPError with the server's message.
func Publish(ctx context.Context, opts Options) (Stats, error) {
	if err := opts.normalize(); err != nil {
		return Stats{}, err
	}
	p := &publication{opts: opts, log: opts.Log.With("url", opts.URL), c: &counters{}}
	return p.run(ctx)
}

// publication is the state of one Publish call; run owns it.
type publication struct {
	opts    Options
	log     *slog.Logger
	c       *counters
	pc      *webrtc.PeerConnection
	file    *fileSource
	pattern *patternSource
	video   *trackSender
	audio   *trackSender
	rtcp    sync.WaitGroup
}

func (p *publication) run(ctx context.Context) (Stats, error) {
	if err := p.openSource(); err != nil {
		return Stats{}, err
	}
	defer p.closeSource()

	pc, err := newPeerConnection(p.opts.ICEServers, packetCounterFactory{&p.c.packets})
	if err != nil {
		return Stats{}, err
	}
	p.pc = pc
	defer func() {
		_ = pc.Close()
		p.rtcp.Wait() // RTCP readers end with the connection
	}()
	if err := p.addTracks(); err != nil {
		return Stats{}, err
	}
	watch := watchConnection(pc)

	began := time.Now()
	setupCtx, cancel := context.WithTimeout(ctx, p.opts.ConnectTimeout)
	defer cancel()
	client := &http.Client{Timeout: p.opts.ConnectTimeout}
	defer client.CloseIdleConnections() // after the DELETE (defers run in reverse)
	var sent []webrtc.RTPCodecCapability
	for _, s := range []*trackSender{p.video, p.audio} {
		if s != nil {
			sent = append(sent, s.track.Codec())
		}
	}
	sess, err := negotiate(setupCtx, pc, client, p.opts.URL, p.opts.Token, sent...)
	if err != nil {
		return Stats{}, err
	}
	defer func() {
		if err := sess.delete(ctx); err != nil {
			p.log.Warn("leaving the session failed", "location", sess.location, "err", err)
		}
	}()
	if err := watch.wait(setupCtx, p.opts.ConnectTimeout); err != nil {
		if ctx.Err() != nil {
			return Stats{}, ctx.Err()
		}
		return Stats{}, fmt.Errorf("connect: %w", err)
	}
	setup := time.Since(began)
	p.log.Info("publishing", "location", sess.location, "setup", setup)

	p.video.startRTCP(&p.rtcp)
	p.audio.startRTCP(&p.rtcp)
	sendErr := p.send(ctx, watch)

	st := p.stats()
	st.SetupTime = setup
	p.log.Info("published", "duration", st.Duration, "video_frames", st.VideoFrames,
		"audio_frames", st.AudioFrames, "packets", st.PacketsSent, "plis", st.PLIsReceived, "nacks", st.NACKsReceived)
	return st, sendErr
}

func (p *publication) openSource() error {
	var err error
	if p.opts.File != "" {
		p.file, err = openFileSource(p.opts.File, p.opts.Loop, p.opts.Duration)
	} else {
		p.pattern, err = openTestPattern(p.opts.Codec)
	}
	return err
}

func (p *publication) closeSource() {
	if p.file != nil {
		_ = p.file.Close()
	}
	if p.pattern != nil {
		_ = p.pattern.Close()
	}
}

func (p *publication) addTracks() error {
	video, audio := true, true
	var videoCap webrtc.RTPCodecCapability
	if p.file != nil {
		video, audio = p.file.hasVideo(), p.file.hasAudio()
		videoCap = p.file.videoCapability()
	} else {
		videoCap = p.pattern.capability()
	}
	var err error
	if video {
		if p.video, err = addTrackSender(p.pc, videoCap, "video", p.c); err != nil {
			return err
		}
		if p.pattern != nil {
			fn := p.pattern.forceKeyframe
			p.video.onKeyframeRequest.Store(&fn)
		}
	}
	if audio {
		opusCap := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1"}
		if p.audio, err = addTrackSender(p.pc, opusCap, "audio", p.c); err != nil {
			return err
		}
	}
	return nil
}

// send runs the source until it ends, the connection fails or ctx ends,
// printing progress once a second.
func (p *publication) send(ctx context.Context, watch *connWatch) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if p.pattern != nil && p.opts.Duration > 0 {
		var c context.CancelFunc
		ctx, c = context.WithTimeout(ctx, p.opts.Duration)
		defer c()
	}
	errs := make(chan error, 2)
	var senders sync.WaitGroup
	start := time.Now()
	if p.file != nil {
		senders.Go(func() { errs <- p.file.run(ctx, p.video, p.audio) })
	} else {
		senders.Go(func() { errs <- p.pattern.pump(ctx, p.pattern.video, true, 90000, start, p.video) })
		senders.Go(func() { errs <- p.pattern.pump(ctx, p.pattern.audio, false, 48000, start, p.audio) })
	}
	done := make(chan struct{})
	go func() { senders.Wait(); close(done) }()

	progress := newProgress(p.opts.Progress, p.total())
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var firstErr error
	fail := func(err error) {
		if err != nil && firstErr == nil {
			firstErr = err
		}
		cancel()
	}
	failed := watch.failed
	for {
		select {
		case err := <-errs:
			fail(err) // a sender ended: with an error, or the file is over
		case <-failed:
			fail(ErrConnectionFailed)
			failed = nil
		case <-tick.C:
			progress.print(p.stats())
		case <-done:
			for len(errs) > 0 {
				fail(<-errs)
			}
			progress.print(p.stats())
			return firstErr
		}
	}
}

func (p *publication) total() time.Duration {
	if p.file != nil {
		return p.file.total()
	}
	return p.opts.Duration
}

// stats reads the counters.
func (p *publication) stats() Stats {
	st := Stats{
		Duration:      time.Duration(p.c.mediaTime.Load()),
		VideoFrames:   int(p.c.videoFrames.Load()),
		AudioFrames:   int(p.c.audioFrames.Load()),
		VideoBytes:    p.c.videoBytes.Load(),
		AudioBytes:    p.c.audioBytes.Load(),
		NACKsReceived: int(p.c.nacks.Load()),
		PLIsReceived:  int(p.c.plis.Load()),
		PacketsSent:   int(p.c.packets.Load()),
		RTT:           time.Duration(p.c.rtt.Load()),
	}
	return st
}
