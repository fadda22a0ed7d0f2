package mixer

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/go-gst/go-gst/gst"

	"github.com/mosaic-rtc/mosaic/internal/media"
)

// Graph changes; all of these run on the owner goroutine.

// addInput builds a branch, links it to a new aggregator pad and starts it.
func (m *Mixer) addInput(in *input) error {
	if m.closing {
		return ErrClosed
	}
	m.mu.Lock()
	m.nextID++
	in.id = m.nextID
	m.mu.Unlock()
	in.log = m.log.With("participant", in.info.Participant, "track", in.info.TrackID, "input", in.id, "codec", in.info.MimeType)
	if err := in.build(); err != nil {
		return err
	}
	agg := m.audiomixer
	if in.spec.kind == media.Video {
		agg = m.compositor
	}
	if err := m.pipeline.Add(in.bin.Element); err != nil {
		return fmt.Errorf("%w: add input bin: %w", ErrPipeline, err)
	}
	in.aggPad = agg.GetRequestPad("sink_%u")
	if in.aggPad == nil {
		m.discard(in)
		return fmt.Errorf("%w: %s gave no sink pad", ErrPipeline, agg.GetName())
	}
	if in.spec.kind == media.Video {
		if err := scaleLinear(in.aggPad); err != nil {
			m.discard(in)
			return err
		}
	}
	if err := linkPads(in.bin.GetStaticPad("src"), in.aggPad); err != nil {
		m.discard(in)
		return err
	}
	in.added = time.Now()
	m.mu.Lock()
	m.inputs[in.id] = in
	gain := m.gainOf(in.info.Participant)
	m.mu.Unlock()
	if in.spec.kind == media.Audio && gain != 1 {
		if err := in.applyGain(gain); err != nil {
			in.log.Warn("gain", "err", err)
		}
	}
	if in.spec.kind == media.Video {
		if err := m.applyLayout(); err != nil {
			in.log.Warn("layout", "err", err)
		}
	}
	if !in.bin.SyncStateWithParent() {
		m.mu.Lock()
		delete(m.inputs, in.id)
		m.mu.Unlock()
		m.discard(in)
		return fmt.Errorf("%w: input %d did not start", ErrPipeline, in.id)
	}
	m.pipeline.RecalculateLatency()
	if in.placeholder {
		in.log.Info("placeholder added")
		return nil
	}
	m.stats.inputsAdded.Add(1)
	in.log.Info("track added")
	if in.spec.kind == media.Video {
		in.keyframe.call()
	}
	m.syncPlaceholders(false)
	return nil
}

// removeInput takes a branch out of the running pipeline. With drain the
// branch is sent EOS first and given a moment to flush (its EOS is kept
// from the aggregator); a failed branch is torn down at once.
func (m *Mixer) removeInput(in *input, drain bool) error {
	m.mu.Lock()
	_, ok := m.inputs[in.id]
	delete(m.inputs, in.id)
	m.mu.Unlock()
	if !ok {
		return nil
	}
	if drain && in.src != nil {
		in.src.EndStream()
		select {
		case <-in.eos:
		case <-time.After(inputEOSTimeout):
			in.log.Warn("track did not drain in time; removing it anyway", "timeout", inputEOSTimeout)
		}
	}
	err := m.discard(in)
	if in.spec.kind == media.Video {
		if lerr := m.applyLayout(); lerr != nil {
			err = errors.Join(err, lerr)
		}
	}
	if in.placeholder {
		in.log.Info("placeholder removed")
		return err
	}
	in.log.Info("track removed", "decoded", in.decoded.read().buffers)
	if in.spec.kind == media.Video {
		m.mu.Lock()
		m.videoLeft[in.info.Participant] = time.Now()
		m.mu.Unlock()
	}
	m.syncPlaceholders(false)
	return err
}

// discard stops a branch, unlinks it, releases its pad and removes it.
func (m *Mixer) discard(in *input) error {
	err := setState(in.bin.Element, gst.StateNull, inputStateTimeout)
	if in.aggPad != nil {
		if ghost := in.bin.GetStaticPad("src"); ghost != nil {
			ghost.Unlink(in.aggPad)
		}
		in.aggPad.GetParentElement().ReleaseRequestPad(in.aggPad)
		in.aggPad = nil
	}
	if rerr := m.pipeline.Remove(in.bin.Element); rerr != nil {
		err = errors.Join(err, fmt.Errorf("%w: remove input %d: %w", ErrPipeline, in.id, rerr))
	}
	in.releaseMarks()
	return err
}

// lookSync lets every input's lip-sync look at its latest packet.
func (m *Mixer) lookSync() {
	m.mu.Lock()
	inputs := make([]*input, 0, len(m.inputs))
	for _, in := range m.inputs {
		if !in.placeholder {
			inputs = append(inputs, in)
		}
	}
	m.mu.Unlock()
	for _, in := range inputs {
		in.lookSync()
	}
}

// placements are the video inputs in the order the layout places them,
// with their tiles (same index) under the current layout.
func (m *Mixer) placements() (Layout, []*input, []Rect) {
	m.mu.Lock()
	layout := m.layout
	var videos []*input
	for _, in := range m.inputs {
		if in.spec.kind == media.Video {
			videos = append(videos, in)
		}
	}
	sort.Slice(videos, func(i, j int) bool { return videos[i].id < videos[j].id })
	focus := m.focusIndex(videos)
	m.mu.Unlock()
	return layout, videos, layout.tiles(len(videos), focus, m.cfg.Width, m.cfg.Height)
}

// applyLayout places every video input according to the current layout.
func (m *Mixer) applyLayout() error {
	layout, videos, tiles := m.placements()
	var errs []error
	for i, in := range videos {
		t := tiles[i]
		if in.aggPad == nil {
			continue
		}
		props := []prop{p("zorder", i+1), p("sizing-policy", "keep-aspect-ratio")}
		if t.W <= 0 || t.H <= 0 {
			props = append(props, p("alpha", 0.0))
		} else {
			props = append(props, p("alpha", 1.0), p("xpos", t.X), p("ypos", t.Y), p("width", t.W), p("height", t.H))
		}
		if err := setProps(in.aggPad, props...); err != nil {
			errs = append(errs, err)
		}
		aspect := "0/1"
		if layout.fit() == FitCrop && t.W > 0 && t.H > 0 {
			aspect = fmt.Sprintf("%d/%d", t.W, t.H)
		}
		if err := setProps(in.crop, p("aspect-ratio", aspect)); err != nil {
			errs = append(errs, err)
		}
		if in.nameOverlay != nil {
			if err := setProps(in.nameOverlay, p("font-desc", nameFont(t.W))); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

var inputName = regexp.MustCompile(`^in(\d+)(-|$)`)

// inputOf finds the input an element belongs to by its name.
func (m *Mixer) inputOf(name string) *input {
	match := inputName.FindStringSubmatch(name)
	if match == nil {
		return nil
	}
	id, err := strconv.Atoi(match[1])
	if err != nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.inputs[id]
}

// handleMessage reacts to the bus: an input's error removes that input; any
// other error is the room's and is logged.
func (m *Mixer) handleMessage(msg *gst.Message) {
	switch msg.Type() {
	case gst.MessageError:
		gerr := msg.ParseError()
		if in := m.inputOf(msg.Source()); in != nil {
			in.log.Error("track failed; removing it", "element", msg.Source(), "err", gerr.Error(), "debug", gerr.DebugString())
			m.stats.inputsFailed.Add(1)
			in.keyframe.stop()
			in.closed.Store(true)
			if err := m.removeInput(in, false); err != nil {
				in.log.Warn("remove failed track", "err", err)
			}
			return
		}
		m.log.Error("pipeline error", "element", msg.Source(), "err", gerr.Error(), "debug", gerr.DebugString())
	case gst.MessageWarning:
		gerr := msg.ParseWarning()
		if in := m.inputOf(msg.Source()); in != nil {
			in.log.Debug("track warning", "element", msg.Source(), "err", gerr.Error())
			if in.spec.kind == media.Video {
				in.keyframe.call()
			}
			return
		}
		m.log.Warn("pipeline warning", "element", msg.Source(), "err", gerr.Error())
	case gst.MessageEOS:
		m.eosOnce.Do(func() { close(m.eos) })
	case gst.MessageLatency:
		m.pipeline.RecalculateLatency()
	}
}
