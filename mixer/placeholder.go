package mixer

import (
	"fmt"
	"sort"
	"time"

	"github.com/go-gst/go-gst/gst"

	"github.com/mosaic-rtc/mosaic/internal/media"
)

// Placeholders. A participant who sends audio but no video still gets a
// tile: a neutral card with their name, so the grid counts everyone who is
// in the call. The card is a live solid-colour test source with a centred
// text overlay; it is an input like a camera (same layout, same removal),
// owned by the mixer instead of by ingest, and it goes away as soon as the
// participant's camera arrives or their audio leaves. A card appears only
// after placeholderDelay without video, so a camera that arrives just
// after the microphone, or leaves just before it, causes no flicker.
const (
	placeholderDelay  = time.Second
	placeholderWidth  = 320
	placeholderHeight = 180
	// PlaceholderColor is the card's colour (0xRRGGBB), a dark blue-grey.
	PlaceholderColor = 0x37474f
	placeholderFont  = "Sans Bold 28"
)

// syncPlaceholders removes the cards of participants who now have video
// or no audio, and (with add) gives one to each participant who has had
// audio and no video for placeholderDelay. Owner goroutine only.
func (m *Mixer) syncPlaceholders(add bool) {
	now := time.Now()
	m.mu.Lock()
	audio, video := map[string]string{}, map[string]bool{}
	since := map[string]time.Time{} // oldest audio track
	have := map[string]*input{}
	for _, in := range m.inputs {
		switch {
		case in.placeholder:
			have[in.info.Participant] = in
		case in.spec.kind == media.Video:
			video[in.info.Participant] = true
		default:
			audio[in.info.Participant] = in.label()
			if t, ok := since[in.info.Participant]; !ok || in.added.Before(t) {
				since[in.info.Participant] = in.added
			}
		}
	}
	var missing []string
	for participant := range audio {
		if !add || video[participant] || have[participant] != nil {
			continue
		}
		if now.Sub(since[participant]) < placeholderDelay || now.Sub(m.videoLeft[participant]) < placeholderDelay {
			continue
		}
		missing = append(missing, participant)
	}
	for participant := range m.videoLeft {
		if _, ok := audio[participant]; !ok {
			delete(m.videoLeft, participant)
		}
	}
	m.mu.Unlock()
	sort.Strings(missing)
	for participant, in := range have {
		if _, ok := audio[participant]; ok && !video[participant] {
			continue
		}
		in.closed.Store(true)
		if err := m.removeInput(in, false); err != nil {
			in.log.Warn("remove placeholder", "err", err)
		}
	}
	if m.closing {
		return
	}
	for _, participant := range missing {
		in := &input{m: m, placeholder: true, eos: make(chan struct{}),
			info: media.TrackInfo{Room: m.cfg.Room, Participant: participant, Name: audio[participant],
				TrackID: "placeholder", Kind: media.Video}}
		in.spec.kind = media.Video
		in.keyframe = newLimiter(keyframeInterval, func() {})
		if err := m.addInput(in); err != nil {
			m.log.Warn("placeholder", "participant", participant, "err", err)
		}
	}
}

// buildPlaceholder makes the card's branch: solid colour → size → crop →
// name → queue, in a bin with a ghost "src" pad like a camera's.
func (in *input) buildPlaceholder() error {
	in.bin = gst.NewBin(fmt.Sprintf("in%d", in.id))
	src, err := element("videotestsrc", in.name("card"), p("is-live", true), p("pattern", "solid-color"),
		p("foreground-color", uint32(0xff000000|PlaceholderColor)))
	if err != nil {
		return err
	}
	caps, err := element("capsfilter", in.name("caps"), p("caps", fmt.Sprintf(
		"video/x-raw,format=I420,width=%d,height=%d,framerate=%d/1,pixel-aspect-ratio=1/1",
		placeholderWidth, placeholderHeight, in.m.cfg.FPS)))
	if err != nil {
		return err
	}
	crop, err := element("aspectratiocrop", in.name("crop"))
	if err != nil {
		return err
	}
	in.crop = crop
	name, err := element("textoverlay", in.name("name"), p("text", in.label()), p("valignment", "center"),
		p("halignment", "center"), p("shaded-background", false), p("font-desc", placeholderFont))
	if err != nil {
		return err
	}
	q, err := element("queue", in.name("queue"), p("leaky", "downstream"),
		p("max-size-time", inputQueueTime.Nanoseconds()), p("max-size-buffers", 0), p("max-size-bytes", 0))
	if err != nil {
		return err
	}
	chain := []*gst.Element{src, caps, crop, name, q}
	if err := in.bin.AddMany(chain...); err != nil {
		return fmt.Errorf("%w: add placeholder elements: %w", ErrPipeline, err)
	}
	if err := linkChain(chain...); err != nil {
		return err
	}
	in.queueSrc = q.GetStaticPad("src")
	ghost := gst.NewGhostPad("src", in.queueSrc)
	if ghost == nil || !in.bin.AddPad(ghost.Pad) {
		return fmt.Errorf("%w: placeholder %d: ghost pad", ErrPipeline, in.id)
	}
	return nil
}
