package mixer

import (
	"encoding/hex"
	"fmt"
	"regexp"
	"time"

	"github.com/go-gst/go-gst/gst"

	"github.com/mosaic-rtc/mosaic/internal/media"
)

// Audio format inside the room: every input is converted to it before the
// mixer. Float, so that a loud sum does not wrap before the limiter.
const (
	audioRate      = 48000
	audioChannels  = 2
	aacBitrate     = 128000
	opusBitrate    = 64000
	opusComplexity = 5
)

func rawAudioCaps() string {
	return fmt.Sprintf("audio/x-raw,format=F32LE,layout=interleaved,rate=%d,channels=%d", audioRate, audioChannels)
}

func rawVideoCaps(c Config) string {
	return fmt.Sprintf("video/x-raw,format=I420,width=%d,height=%d,framerate=%d/1,pixel-aspect-ratio=1/1", c.Width, c.Height, c.FPS)
}

// aacPriming is each AAC encoder's delay (priming samples at 48 kHz),
// measured by decoding a beep from its output.
var aacPriming = map[string]time.Duration{
	"avenc_aac": 1024 * time.Second / audioRate,
	"voaacenc":  1536 * time.Second / audioRate,
}

// aggregatorLatency is the extra time compositor and audiomixer wait for
// late inputs on top of the latency their inputs report.
const aggregatorLatency = 100 * time.Millisecond

// audioAlignment and audioDiscontWait: an audio input whose timestamps are
// off its sample count by more than audioAlignment for audioDiscontWait is
// realigned to them.
const (
	audioAlignment   = 2 * time.Millisecond
	audioDiscontWait = 200 * time.Millisecond
)

// buildVideo makes background → compositor → encoder → appsink.
func (m *Mixer) buildVideo() error {
	c := m.cfg
	bg, err := element("videotestsrc", "bg-video", p("pattern", "black"), p("is-live", true))
	if err != nil {
		return err
	}
	// The background only clocks the compositor (it keeps producing frames
	// in an empty room); the black comes from the compositor's own fill, so
	// the source is tiny and its pad fully transparent, never blended.
	bgCaps, err := element("capsfilter", "bg-video-caps", p("caps", fmt.Sprintf(
		"video/x-raw,format=I420,width=16,height=16,framerate=%d/1,pixel-aspect-ratio=1/1", c.FPS)))
	if err != nil {
		return err
	}
	comp, err := element("compositor", "compositor", p("background", "black"),
		p("latency", aggregatorLatency.Nanoseconds()))
	if err != nil {
		return err
	}
	outCaps, err := element("capsfilter", "video-caps", p("caps", rawVideoCaps(c)))
	if err != nil {
		return err
	}
	q, err := element("queue", "video-enc-queue", p("leaky", "downstream"),
		p("max-size-buffers", 3), p("max-size-bytes", 0), p("max-size-time", 0))
	if err != nil {
		return err
	}
	if err := m.stats.countOverruns(q); err != nil {
		return err
	}
	enc, tail, err := m.videoEncoder()
	if err != nil {
		return err
	}
	sink, err := outputSink("video-sink")
	if err != nil {
		return err
	}
	chain := append([]*gst.Element{comp, outCaps, q, enc}, tail...)
	chain = append(chain, sink)
	if err := m.pipeline.AddMany(append(chain, bg, bgCaps)...); err != nil {
		return fmt.Errorf("%w: add video output: %w", ErrPipeline, err)
	}
	if err := linkChain(bg, bgCaps); err != nil {
		return err
	}
	bgPad := comp.GetRequestPad("sink_%u")
	if bgPad == nil {
		return fmt.Errorf("%w: compositor gave no pad for the background", ErrPipeline)
	}
	if err := setProps(bgPad, p("zorder", 0), p("alpha", 0.0)); err != nil {
		return err
	}
	if err := linkPads(bgCaps.GetStaticPad("src"), bgPad); err != nil {
		return err
	}
	if err := linkChain(chain...); err != nil {
		return err
	}
	m.compositor, m.encoder = comp, enc
	codec := m.cfg.VideoCodec
	m.handoff.attach(sink, m.publish(media.Video, codec))
	return nil
}

// videoEncoder returns the encoder and what follows it up to the appsink.
func (m *Mixer) videoEncoder() (*gst.Element, []*gst.Element, error) {
	c := m.cfg
	if c.VideoCodec == media.VP8 {
		enc, err := element("vp8enc", "video-encoder",
			p("deadline", 1), p("cpu-used", 8), p("end-usage", "cbr"),
			p("target-bitrate", c.VideoBitrateKbps*1000), p("keyframe-max-dist", c.keyframeFrames()),
			p("error-resilient", "default"), p("lag-in-frames", 0), p("threads", 2))
		return enc, nil, err
	}
	enc, err := element("x264enc", "video-encoder",
		p("speed-preset", "veryfast"), p("tune", "zerolatency"), p("bitrate", c.VideoBitrateKbps),
		p("key-int-max", c.keyframeFrames()), p("bframes", 0))
	if err != nil {
		return nil, nil, err
	}
	profile, err := element("capsfilter", "video-profile", p("caps", "video/x-h264,profile=constrained-baseline"))
	if err != nil {
		return nil, nil, err
	}
	parse, err := element("h264parse", "video-parse", p("config-interval", -1))
	if err != nil {
		return nil, nil, err
	}
	format, err := element("capsfilter", "video-format", p("caps", "video/x-h264,stream-format=byte-stream,alignment=au"))
	if err != nil {
		return nil, nil, err
	}
	return enc, []*gst.Element{profile, parse, format}, nil
}

// buildAudio makes silence → audiomixer → limiter → tee → AAC and Opus appsinks.
func (m *Mixer) buildAudio() error {
	bg, err := element("audiotestsrc", "bg-audio", p("wave", "silence"), p("is-live", true),
		p("samplesperbuffer", audioRate/50))
	if err != nil {
		return err
	}
	bgCaps, err := element("capsfilter", "bg-audio-caps", p("caps", rawAudioCaps()))
	if err != nil {
		return err
	}
	// By default the mixer keeps an input's samples back to back unless its
	// timestamps stray 40 ms for a second, which would swallow lip-sync
	// corrections (pad offsets) and let an input's sample clock drift up to
	// 40 ms from its sender's; the jitterbuffer's timestamps are smooth, so
	// follow them closely.
	mix, err := element("audiomixer", "audiomixer", p("latency", aggregatorLatency.Nanoseconds()),
		p("alignment-threshold", audioAlignment.Nanoseconds()), p("discont-wait", audioDiscontWait.Nanoseconds()))
	if err != nil {
		return err
	}
	mixCaps, err := element("capsfilter", "audio-caps", p("caps", rawAudioCaps()))
	if err != nil {
		return err
	}
	tee, err := element("tee", "audio-tee")
	if err != nil {
		return err
	}
	aacName := "avenc_aac"
	if !hasFactory(aacName) {
		aacName = "voaacenc"
	}
	m.aacPriming = aacPriming[aacName]
	aacQ, err := element("queue", "aac-queue", p("leaky", "downstream"), p("max-size-time", time.Second.Nanoseconds()))
	if err != nil {
		return err
	}
	aacConv, err := element("audioconvert", "aac-convert")
	if err != nil {
		return err
	}
	aac, err := element(aacName, "aac-encoder", p("bitrate", aacBitrate))
	if err != nil {
		return err
	}
	aacCaps, err := element("capsfilter", "aac-caps", p("caps", "audio/mpeg,mpegversion=4,stream-format=raw"))
	if err != nil {
		return err
	}
	aacSink, err := outputSink("aac-sink")
	if err != nil {
		return err
	}
	opusQ, err := element("queue", "opus-queue", p("leaky", "downstream"), p("max-size-time", time.Second.Nanoseconds()))
	if err != nil {
		return err
	}
	opusConv, err := element("audioconvert", "opus-convert")
	if err != nil {
		return err
	}
	// Complexity 5 of 10: half the encoder's CPU for a mix that is speech at
	// 64 kbit/s, where the difference is not audible.
	opus, err := element("opusenc", "opus-encoder", p("bitrate", opusBitrate), p("frame-size", 20),
		p("complexity", opusComplexity))
	if err != nil {
		return err
	}
	opusSink, err := outputSink("opus-sink")
	if err != nil {
		return err
	}
	if err := m.pipeline.AddMany(bg, bgCaps, mix, mixCaps, tee, aacQ, aacConv, aac, aacCaps, aacSink, opusQ, opusConv, opus, opusSink); err != nil {
		return fmt.Errorf("%w: add audio output: %w", ErrPipeline, err)
	}
	for _, chain := range [][]*gst.Element{{bg, bgCaps, mix, mixCaps, tee}, {tee, aacQ, aacConv, aac, aacCaps, aacSink}, {tee, opusQ, opusConv, opus, opusSink}} {
		if err := linkChain(chain...); err != nil {
			return err
		}
	}
	m.audiomixer = mix
	if err := m.limit.attach(mixCaps.GetStaticPad("src")); err != nil {
		return err
	}
	aacSink.GetStaticPad("sink").AddProbe(gst.PadProbeTypeEventDownstream, m.onAACCaps)
	m.handoff.attach(aacSink, m.publish(media.Audio, media.AAC))
	m.handoff.attach(opusSink, m.publish(media.Audio, media.Opus))
	return nil
}

// outputSink is an appsink that never blocks or clocks the pipeline.
func outputSink(name string) (*gst.Element, error) {
	return element("appsink", name, p("sync", false), p("async", false), p("max-buffers", 64),
		p("drop", true), p("enable-last-sample", false), p("emit-signals", false))
}

// publish puts one encoded buffer on Output(). It runs on the handoff goroutine.
func (m *Mixer) publish(kind media.Kind, codec media.Codec) func(outSample) {
	return func(s outSample) {
		if !s.hasPTS {
			m.stats.untimed.Add(1)
			return
		}
		out := media.Sample{Kind: kind, Codec: codec, Data: s.data, PTS: s.pts, DTS: s.pts,
			Keyframe: kind == media.Audio || !s.delta}
		if codec == media.AAC {
			// Decoders output the encoder's priming samples first; start
			// the AAC timeline that much earlier so the sound lines up.
			// The frame that then starts before the room's time 0 holds
			// the priming and is left out: stamped 0, it would share its
			// timestamp with the next, and a muxer laying frames end to
			// end would put all the sound after it one frame late.
			if out.PTS < m.aacPriming {
				return
			}
			out.PTS -= m.aacPriming
			out.DTS = out.PTS
		}
		if s.hasDTS {
			out.DTS = s.dts
		}
		if s.hasDur {
			out.Duration = s.duration
		}
		m.stats.countOutput(codec, out.Keyframe)
		m.out.Publish(out)
	}
}

var codecDataRe = regexp.MustCompile(`codec_data=\(buffer\)([0-9a-fA-F]+)`)

// onAACCaps records the AudioSpecificConfig from the AAC caps.
func (m *Mixer) onAACCaps(_ *gst.Pad, info *gst.PadProbeInfo) gst.PadProbeReturn {
	ev := info.GetEvent()
	if ev == nil || ev.Type() != gst.EventTypeCaps {
		return gst.PadProbeOK
	}
	caps := ev.ParseCaps()
	if caps == nil {
		return gst.PadProbeOK
	}
	match := codecDataRe.FindStringSubmatch(caps.String())
	if match == nil {
		return gst.PadProbeOK
	}
	asc, err := hex.DecodeString(match[1])
	if err != nil {
		return gst.PadProbeOK
	}
	m.infoMu.Lock()
	first := m.info.AudioConfig == nil
	m.info.AudioConfig = asc
	m.infoMu.Unlock()
	if first {
		close(m.aacReady)
	}
	return gst.PadProbeOK
}
