package compose

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/go-gst/go-gst/gst"
)

// outputs maps a decoded (or demuxed) stream kind to the chain that takes
// it into the muxer.
type outputs map[string][]elementSpec

// mp4Job is a one-pass file-to-MP4 pipeline: filesrc → demuxer (qtdemux,
// or decodebin stopping at caps) → per-kind chain → mp4mux → filesink.
// A kind the file lacks ends its muxer pad, so the file still finishes.
type mp4Job struct {
	in, out string
	decode  string // decodebin caps; "" demuxes only
	chains  outputs
	pads    map[string]string // kind → mp4mux pad template
}

func remux(ctx context.Context, in, out, prefix string, chain []elementSpec, pad string) error {
	kind := strings.TrimSuffix(prefix, "/")
	return mp4Job{in: in, out: out, chains: outputs{kind: chain}, pads: map[string]string{kind: pad}}.run(ctx)
}

func transcode(ctx context.Context, in, out string, width, height int) error {
	caps := gst.NewCapsFromString(fmt.Sprintf("video/x-raw,width=%d,height=%d,pixel-aspect-ratio=1/1", width, height))
	return mp4Job{in: in, out: out, decode: "video/x-raw;audio/mpeg", chains: outputs{
		"video": {el("videoconvert", nil), el("videoscale", map[string]any{"add-borders": true}), el("capsfilter", map[string]any{"caps": caps}),
			el("x264enc", map[string]any{"speed-preset": "veryfast", "bitrate": max(300, width*height/1000)}), el("h264parse", nil)},
		"audio": {el("aacparse", nil)},
	}, pads: map[string]string{"video": "video_%u", "audio": "audio_%u"}}.run(ctx)
}

func (j mp4Job) run(ctx context.Context) error {
	if _, err := os.Stat(j.in); err != nil {
		return fmt.Errorf("%w: %w", ErrTrack, err)
	}
	initGst()
	p, err := gst.NewPipeline("compose-mp4")
	if err != nil {
		return fmt.Errorf("%w: new pipeline: %w", ErrPipeline, err)
	}
	defer stop(p)
	demux := el("qtdemux", nil)
	if j.decode != "" {
		demux = el("decodebin", map[string]any{"caps": gst.NewCapsFromString(j.decode)})
	}
	src, err := addChain(p, el("filesrc", map[string]any{"location": j.in}), demux)
	if err != nil {
		return err
	}
	sink, err := addChain(p, el("mp4mux", map[string]any{"faststart": true}),
		el("filesink", map[string]any{"location": j.out + ".part", "sync": false, "async": false}))
	if err != nil {
		return err
	}
	heads := map[string]*gst.Pad{}
	for kind, specs := range j.chains {
		chain, err := addChain(p, specs...)
		if err != nil {
			return err
		}
		if err := linkRequest(chain[len(chain)-1], sink[0], j.pads[kind]); err != nil {
			return err
		}
		heads[kind] = chain[0].GetStaticPad("sink")
	}
	linkErr := make(chan error, 4)
	discard := func(pad *gst.Pad) error {
		fake, err := newElement("fakesink", map[string]any{"sync": false, "async": false})
		if err == nil {
			err = p.Add(fake)
		}
		if err == nil {
			fake.SyncStateWithParent()
			err = linkPads(pad, fake.GetStaticPad("sink"))
		}
		return err
	}
	if _, err := src[1].Connect("pad-added", func(_ *gst.Element, pad *gst.Pad) {
		caps := pad.GetCurrentCaps()
		kind := ""
		if caps != nil {
			kind, _, _ = strings.Cut(caps.String(), "/")
		}
		head := heads[kind]
		var err error
		if head == nil || head.IsLinked() {
			err = discard(pad)
		} else {
			err = linkPads(pad, head)
		}
		if err != nil {
			linkErr <- err
		}
	}); err != nil {
		return fmt.Errorf("%w: pad-added: %w", ErrPipeline, err)
	}
	if _, err := src[1].Connect("no-more-pads", func(_ *gst.Element) {
		for _, head := range heads {
			if !head.IsLinked() {
				head.SendEvent(gst.NewEOSEvent())
			}
		}
	}); err != nil {
		return fmt.Errorf("%w: no-more-pads: %w", ErrPipeline, err)
	}
	if err := p.SetState(gst.StatePlaying); err != nil {
		return fmt.Errorf("%w: play: %w", ErrPipeline, err)
	}
	err = waitEOS(ctx, p, linkErr, decodeTimeout)
	if serr := stop(p); err == nil {
		err = serr
	}
	if err != nil {
		os.Remove(j.out + ".part")
		return fmt.Errorf("compose: %s → %s: %w", j.in, j.out, err)
	}
	return os.Rename(j.out+".part", j.out)
}

// waitEOS owns p's bus until EOS, an error, ctx's end or the timeout.
func waitEOS(ctx context.Context, p *gst.Pipeline, linkErr <-chan error, timeout time.Duration) error {
	bus := p.GetPipelineBus()
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-linkErr:
			return err
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: not done within %s", ErrFrozen, timeout)
		}
		msg := bus.TimedPop(gst.ClockTime(100 * time.Millisecond))
		if msg == nil {
			continue
		}
		switch msg.Type() {
		case gst.MessageEOS:
			return nil
		case gst.MessageError:
			return busError(msg)
		}
	}
}
