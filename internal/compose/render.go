// Package compose renders a recording's raw per-participant tracks into a
// new composite after the call: any layout, size and time range, as fast as
// the machine goes, with each participant's audio and video in sync by its
// sender reports and participants placed on one clock.
package compose

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/go-gst/go-gst/gst"
)

// stallTimeout is how long the render may go without output progress.
const stallTimeout = 90 * time.Second

// progressEvery is how often Spec.Progress is called while rendering.
const progressEvery = 250 * time.Millisecond

// Render writes the composition described by s to s.Out. It returns once
// the file is complete (or ctx ends, or the pipeline fails; then no file is
// left behind).
func Render(ctx context.Context, s Spec) error {
	_, err := render(ctx, s)
	return err
}

// render is Render, giving back the graph it ran (for its counters).
func render(ctx context.Context, s Spec) (*graph, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	pl, err := plan(ctx, &s)
	if err != nil {
		return nil, err
	}
	total := pl.total
	log := s.Log.With("out", s.Out, "tracks", len(pl.tracks), "duration", total, "layout_steps", len(pl.steps))
	g, err := buildGraph(&s, pl)
	if err != nil {
		return nil, err
	}
	started := time.Now()
	err = g.run(ctx, &s, total)
	if serr := stop(g.p); err == nil {
		err = serr
	}
	part := s.Out + ".part"
	if err != nil {
		os.Remove(part)
		return nil, fmt.Errorf("compose %s: %w", s.Out, err)
	}
	if err := os.Rename(part, s.Out); err != nil {
		os.Remove(part)
		return nil, fmt.Errorf("compose %s: %w", s.Out, err)
	}
	took := time.Since(started)
	log.Info("composition rendered", "took", took.Round(time.Millisecond), "speed", fmt.Sprintf("%.1fx", total.Seconds()/took.Seconds()),
		"video_frames_decoded", g.decoded.Load())
	return g, nil
}

// run plays the graph and owns its bus until EOS, an error, ctx's end or a
// stall.
func (g *graph) run(ctx context.Context, s *Spec, total time.Duration) error {
	if err := g.p.SetState(gst.StatePlaying); err != nil {
		return fmt.Errorf("%w: play: %w", ErrPipeline, err)
	}
	bus := g.p.GetPipelineBus()
	var reported time.Duration = -1
	lastProgress, lastReport := time.Now(), time.Time{}
	report := func(force bool) {
		done := time.Duration(g.done.Load())
		if done != reported {
			lastProgress = time.Now()
		}
		if s.Progress != nil && (force || (done != reported && time.Since(lastReport) >= progressEvery)) {
			s.Progress(done, total)
			lastReport = time.Now()
		}
		reported = done
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-g.linkErr:
			return err
		default:
		}
		report(false)
		if time.Since(lastProgress) > stallTimeout {
			return fmt.Errorf("%w: no output for %s at %s of %s", ErrFrozen, stallTimeout, reported, total)
		}
		msg := bus.TimedPop(gst.ClockTime(100 * time.Millisecond))
		if msg == nil {
			continue
		}
		switch msg.Type() {
		case gst.MessageEOS:
			g.done.Store(int64(total))
			report(true)
			return nil
		case gst.MessageError:
			return busError(msg)
		case gst.MessageWarning:
			if w := msg.ParseWarning(); w != nil {
				s.Log.Warn("compose pipeline warning", "source", msg.Source(), "warning", w.Error())
			}
		}
	}
}
