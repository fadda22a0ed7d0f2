package main

import (
	"fmt"
	"time"

	"github.com/go-gst/go-gst/gst"
	"github.com/go-gst/go-gst/gst/app"
)

// The picture carries its send time: 16 black/white blocks across the
// middle of the frame encode the milliseconds since the bench started,
// halved (2 ms steps, wrapping every 131 s).
const (
	stampW, stampH   = 640, 360
	stampBits        = 16
	stampBlockW      = 32
	stampX0          = 64       // first block's left edge
	stampY0, stampY1 = 132, 180 // the code; a copy 64 rows below checks the read
	stampCopy        = 64
	stampStep        = 2 * time.Millisecond
	stampWrap        = 1 << stampBits
)

func stampCode(d time.Duration) uint16 { return uint16(d / stampStep) }

// stampAge is how long ago code was stamped, given the code for now.
func stampAge(now, code uint16) time.Duration {
	return time.Duration(uint16(now-code)) * stampStep
}

// drawStamp fills an I420 frame: the code (twice) in the Y plane on grey,
// or on noise (which makes the composite's encoder spend its whole bitrate,
// as a real picture does).
func drawStamp(frame []byte, code uint16, noise bool) {
	y := frame[:stampW*stampH]
	seed := uint32(code)*2654435761 + 1
	for i := range y {
		if noise {
			seed ^= seed << 13
			seed ^= seed >> 17
			seed ^= seed << 5
			y[i] = 64 + byte(seed>>24)/4
		} else {
			y[i] = 96
		}
	}
	for _, off := range []int{0, stampCopy} {
		for b := 0; b < stampBits; b++ {
			v := byte(16)
			if code&(1<<(stampBits-1-b)) != 0 {
				v = 235
			}
			x0 := stampX0 + b*stampBlockW
			for row := stampY0 + off; row < stampY1+off; row++ {
				line := y[row*stampW+x0 : row*stampW+x0+stampBlockW]
				for i := range line {
					line[i] = v
				}
			}
		}
	}
	uv := frame[stampW*stampH:]
	for i := range uv {
		uv[i] = 128
	}
}

// readStamp reads the code from a GRAY8 frame of w×h showing the stamped
// picture scaled to the whole frame; ok is false when the two copies
// disagree (a damaged or misplaced picture).
func readStamp(gray []byte, w, h int) (uint16, bool) {
	row := func(off int) uint16 {
		var code uint16
		yc := ((stampY0+stampY1)/2 + off) * h / stampH
		for b := 0; b < stampBits; b++ {
			xc := (stampX0 + b*stampBlockW + stampBlockW/2) * w / stampW
			sum, n := 0, 0
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					sum += int(gray[(yc+dy)*w+xc+dx])
					n++
				}
			}
			if sum/n > 128 {
				code |= 1 << (stampBits - 1 - b)
			}
		}
		return code
	}
	a, b := row(0), row(stampCopy)
	return a, a == b
}

// gstChain is a small GStreamer pipeline between an appsrc and an appsink.
type gstChain struct {
	p    *gst.Pipeline
	src  *app.Source
	sink *app.Sink
}

// newGstChain builds appsrc(caps) → elements… → appsink(sinkCaps).
func newGstChain(name, caps, sinkCaps string, elems ...[2]any) (*gstChain, error) {
	gst.Init(nil)
	p, err := gst.NewPipeline(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	src, err := gst.NewElementWithName("appsrc", "src")
	if err != nil {
		return nil, fmt.Errorf("%s: appsrc: %w", name, err)
	}
	src.SetArg("format", "time")
	if err := src.SetProperty("caps", gst.NewCapsFromString(caps)); err != nil {
		return nil, fmt.Errorf("%s: caps: %w", name, err)
	}
	_ = src.SetProperty("is-live", true)
	chain := []*gst.Element{src}
	for _, e := range elems {
		el, err := gst.NewElement(e[0].(string))
		if err != nil {
			return nil, fmt.Errorf("%s: element %s: %w", name, e[0], err)
		}
		if props, ok := e[1].(map[string]string); ok {
			for k, v := range props {
				el.SetArg(k, v)
			}
		}
		chain = append(chain, el)
	}
	sink, err := gst.NewElementWithName("appsink", "sink")
	if err != nil {
		return nil, fmt.Errorf("%s: appsink: %w", name, err)
	}
	_ = sink.SetProperty("sync", false)
	if sinkCaps != "" {
		_ = sink.SetProperty("caps", gst.NewCapsFromString(sinkCaps))
	}
	chain = append(chain, sink)
	if err := p.AddMany(chain...); err != nil {
		return nil, fmt.Errorf("%s: add: %w", name, err)
	}
	for i := 0; i+1 < len(chain); i++ {
		if err := chain[i].Link(chain[i+1]); err != nil {
			return nil, fmt.Errorf("%s: link %s → %s: %w", name, chain[i].GetName(), chain[i+1].GetName(), err)
		}
	}
	if err := p.SetState(gst.StatePlaying); err != nil {
		return nil, fmt.Errorf("%s: play: %w", name, err)
	}
	if ret, _ := p.GetState(gst.StatePlaying, gst.ClockTime(5*time.Second)); ret == gst.StateChangeFailure {
		return nil, fmt.Errorf("%s: does not play", name)
	}
	return &gstChain{p: p, src: app.SrcFromElement(src), sink: app.SinkFromElement(sink)}, nil
}

func (c *gstChain) push(data []byte, pts time.Duration) error {
	buf := gst.NewBufferFromBytes(data)
	buf.SetPresentationTimestamp(gst.ClockTime(pts))
	if ret := c.src.PushBuffer(buf); ret != gst.FlowOK {
		return fmt.Errorf("push: %s", ret)
	}
	return nil
}

// pull returns the next output buffer's bytes, or nil at the end.
func (c *gstChain) pull(timeout time.Duration) []byte {
	s := c.sink.TryPullSample(gst.ClockTime(timeout))
	if s == nil {
		return nil
	}
	return s.GetBuffer().Bytes()
}

// close ends the stream and stops the pipeline (bounded).
func (c *gstChain) close() {
	c.src.EndStream()
	_ = c.p.SetState(gst.StateNull)
	c.p.GetState(gst.StateNull, gst.ClockTime(5*time.Second))
}
